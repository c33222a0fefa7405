import type { DeviceTree } from "@stopsim/devicetree";
import {
  CPU_FTR_ARCH_300,
  CPU_FTR_HVMODE,
  CPU_FTR_NODSISRALIGN,
  CPU_FTR_P9_TLBIE_ERAT_BUG,
  CPU_FTR_REAL_LE,
  CPU_FTR_SMT,
  CPU_FTR_TM,
  MMU_FTR_TYPE_RADIX,
  PPC_FEATURE_32,
  PPC_FEATURE_64,
  PPC_FEATURE_ARCH_2_06,
  PPC_FEATURE_HAS_MMU,
  PPC_FEATURE_TRUE_LE,
  PPC_FEATURE2_ARCH_2_07,
  PPC_FEATURE2_ARCH_3_00,
  PVR_ARCH_207,
  PVR_ARCH_300,
} from "@stopsim/linux";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KernelConsole } from "../kernel/console.js";
import { guestTree, qemuTree } from "../test-helpers/fixtures.js";
import {
  DEFAULT_TB_FREQ,
  GuestBootPanic,
  IBM_PA_FEATURES,
  scanBootDevicetree,
  scanFeatures,
} from "./devtree.js";

const PVR_DD22 = 0x004e1202;

function scan(tree: DeviceTree, pvr = PVR_DD22, bootCpuidPhys = 0) {
  const console = new KernelConsole(
    () => 0,
    () => 0,
  );
  const params = scanBootDevicetree(tree, { pvr, hypervisorMode: false, bootCpuidPhys, console });
  return { params, console };
}

describe("scanBootDevicetree on the real QEMU pseries tree", () => {
  it("finds both cpus, the timebase, RTAS tokens and XICS", () => {
    const { params, console } = scan(qemuTree());
    expect(params.threads.map((t) => t.hwId)).toEqual([0, 1]);
    expect(params.threadsPerCore).toBe(1);
    expect(params.tbFreq).toBe(512_000_000);
    expect(params.decBits).toBe(56);
    expect(params.rtasTokens.get("start-cpu")).toBe(0x2006);
    expect(params.rtasTokens.get("ibm,os-term")).toBe(0x201f);
    expect(params.rtasTokens.get("query-cpu-stopped-state")).toBe(0x2005);
    expect(params.extendedOsTerm).toBe(true);
    expect(params.fwFeatures.has("FW_FEATURE_SPLPAR")).toBe(true);
    expect(params.interruptController).toBe("xics");
    expect(params.memoryBytes).toBe(0x40000000);
    expect(params.stopLitePermitted).toBe(false);
    expect(console.lines).toEqual([]);
  });

  it("derives the features as prom.c and cputable.c do for PVR 0x004e1202", () => {
    const { params } = scan(qemuTree());
    expect(params.cpuSpec.cpuName).toBe("POWER9 (raw)");
    expect(params.cpuFeatures & CPU_FTR_ARCH_300).toBe(CPU_FTR_ARCH_300);
    // a guest: MSR[HV] = 0 clears HVMODE
    expect(params.cpuFeatures & CPU_FTR_HVMODE).toBe(0n);
    // one thread per cpu node in this tree: no SMT
    expect(params.cpuFeatures & CPU_FTR_SMT).toBe(0n);
    // QEMU's pa-features byte 1 is 0x3f: bit 1 (0x40) clear -> the inverted entry keeps NODSISRALIGN
    expect(params.cpuFeatures & CPU_FTR_NODSISRALIGN).toBe(CPU_FTR_NODSISRALIGN);
    expect(params.cpuFeatures & CPU_FTR_REAL_LE).toBe(CPU_FTR_REAL_LE);
    expect(params.mmuFeatures & MMU_FTR_TYPE_RADIX).toBe(MMU_FTR_TYPE_RADIX);
  });

  it("reads SMT threads and the lite-stop permission", () => {
    const { params } = scan(guestTree({ cores: 2, threads: 4, stopLitePermitted: true }));
    expect(params.threads).toHaveLength(8);
    expect(params.threadsPerCore).toBe(4);
    expect(params.threads[5]).toMatchObject({ logical: 5, hwId: 5, core: 1, thread: 1 });
    expect(params.cpuFeatures & CPU_FTR_SMT).toBe(CPU_FTR_SMT);
    expect(params.stopLitePermitted).toBe(true);
  });

  it("uses the logical PVR of an architected cpu-version", () => {
    const p8 = scan(guestTree({ cpuVersion: PVR_ARCH_207 })).params;
    expect(p8.cpuSpec.cpuName).toBe("POWER8 (architected)");
    expect(p8.cpuFeatures & CPU_FTR_ARCH_300).toBe(0n);
    const p9 = scan(guestTree({ cpuVersion: PVR_ARCH_300 })).params;
    expect(p9.cpuSpec.cpuName).toBe("POWER9 (architected)");
    expect(p9.cpuFeatures & CPU_FTR_ARCH_300).toBe(CPU_FTR_ARCH_300);
  });
});

describe("bad or missing properties", () => {
  it("panics like early_init_devtree when no cpu matches the boot cpu", () => {
    const tree = qemuTree();
    const cpus = tree.requireNode("/cpus");
    for (const c of [...cpus.children]) cpus.removeChild(c);
    expect(() => scan(tree)).toThrow(GuestBootPanic);
    try {
      scan(tree);
    } catch (e) {
      expect((e as GuestBootPanic).consoleLines).toContain("Failed to identify boot CPU !");
    }
  });

  it("panics when boot_cpuid_phys names no thread", () => {
    expect(() => scan(qemuTree(), PVR_DD22, 7)).toThrow(/Failed to identify boot CPU/);
  });

  it("falls back to 125 MHz with Linux's warning when timebase-frequency is missing", () => {
    const tree = qemuTree();
    for (const c of tree.requireNode("/cpus").children) c.removeProp("timebase-frequency");
    const { params, console } = scan(tree);
    expect(params.tbFreq).toBe(DEFAULT_TB_FREQ);
    expect(console.contains("WARNING: Estimating decrementer frequency (not found)")).toBe(true);
  });

  it("keeps 32-bit decrementer on invalid ibm,dec-bits", () => {
    const tree = qemuTree();
    for (const c of tree.requireNode("/cpus").children) c.setPropU32("ibm,dec-bits", 70);
    const { params, console } = scan(tree);
    expect(params.decBits).toBe(32);
    expect(console.contains("firmware supplied invalid ibm,dec-bits")).toBe(true);
  });

  it("AT_HWCAP/AT_HWCAP2 start from the cpu_spec's user features (COMMON_USER_POWER9) and the POWER9 set has TLBIE_ERAT_BUG", () => {
    const { params } = scan(qemuTree());
    const base =
      PPC_FEATURE_32 | PPC_FEATURE_64 | PPC_FEATURE_ARCH_2_06 | PPC_FEATURE_HAS_MMU | PPC_FEATURE_TRUE_LE;
    expect((params.userFeatures & base) >>> 0).toBe(base >>> 0);
    expect(params.userFeatures2 & PPC_FEATURE2_ARCH_3_00).toBe(PPC_FEATURE2_ARCH_3_00);
    expect((params.userFeatures2 & PPC_FEATURE2_ARCH_2_07) >>> 0).toBe(PPC_FEATURE2_ARCH_2_07);
    expect(params.cpuFeatures & CPU_FTR_P9_TLBIE_ERAT_BUG).toBe(CPU_FTR_P9_TLBIE_ERAT_BUG);
  });

  it("warns when there is no XICS presentation controller", () => {
    const tree = qemuTree();
    const ic = tree.requireNode("/interrupt-controller");
    tree.root.removeChild(ic);
    const { params, console } = scan(tree);
    expect(params.interruptController).toBe("none");
    expect(console.contains("XICS: Cannot find a Presentation Controller !")).toBe(true);
  });
});

describe("scan_features", () => {
  it("skips descriptors of other types and honours the length byte", () => {
    // descriptor type 1 (skipped), then type 0 with 6 bytes: byte 0 = 0x80 (MMU), byte 5 = 0x80 (LE)
    const ftrs = new Uint8Array([2, 1, 0xff, 0xff, 6, 0, 0x80, 0, 0, 0, 0, 0x80]);
    const set = { cpu: CPU_FTR_TM, mmu: 0n, user: 0, user2: 0 };
    scanFeatures(ftrs, IBM_PA_FEATURES, set);
    expect(set.cpu & CPU_FTR_REAL_LE).toBe(CPU_FTR_REAL_LE);
    // byte 22 is beyond the 6 bytes: TM left as it was
    expect(set.cpu & CPU_FTR_TM).toBe(CPU_FTR_TM);
    // byte 1 bit 1 clear -> inverted entry sets NODSISRALIGN
    expect(set.cpu & CPU_FTR_NODSISRALIGN).toBe(CPU_FTR_NODSISRALIGN);
  });

  it("never throws on arbitrary bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const set = { cpu: 0n, mmu: 0n, user: 0, user2: 0 };
        scanFeatures(bytes, IBM_PA_FEATURES, set);
        return typeof set.cpu === "bigint";
      }),
    );
  });
});
