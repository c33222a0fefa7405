import { encodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import { chipById, LPCR_LD, PnvMachine, POWER9_DD23, PSSCR_EC, SPRN_LPCR } from "@stopsim/isa";
import {
  COMMON_USER_BASE,
  COMMON_USER2_BASE,
  CPU_FTR_ARCH_300,
  CPU_FTR_HVMODE,
  CPU_FTR_P9_TLBIE_ERAT_BUG,
  CPU_FTR_P9_TM_XER_SO_BUG,
  CPU_FTRS_POWER9,
  PPC_FEATURE_HAS_MMU,
  PPC_FEATURE_SMT,
  PPC_FEATURE_TRUE_LE,
  PPC_FEATURE2_ARCH_3_00,
} from "@stopsim/linux";
import { buildHostDtb, buildHostTree, parseFirmwareVersion } from "@stopsim/opal";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KvmBuildName } from "./build.js";
import { HostBootError } from "./errors.js";
import { bootHost } from "./host.js";
import { KVM_CAP_PPC_SMT, KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS } from "./kvm/uapi.js";

/** A fresh machine of `dd` and the firmware to build its tree. */
const opts = (dd: string, fw: "2020" | "new") => ({
  machine: new PnvMachine(new Simulation(), { chip: chipById(dd) }),
  firmware: parseFirmwareVersion(fw),
});
type Opts = ReturnType<typeof opts>;
/** Boots the host kernel on `o.machine` from `dtb` (default: the tree OPAL builds for it). */
const boot = (o: Opts, kernel: KvmBuildName, dtb: Uint8Array = buildHostDtb(o)) =>
  bootHost({ machine: o.machine, dtb, kernel });

describe("bootHost from DTB bytes", () => {
  it("brings up one host CPU per thread, features and idle states from the tree", () => {
    const host = boot(opts("dd2.3", "new"), "fallback");
    expect(host.cpus).toHaveLength(8);
    expect(host.view.revision).toBe("POWER9 DD2.3");
    expect(host.cpuSpec.cpuFeatures & CPU_FTR_ARCH_300).toBe(CPU_FTR_ARCH_300);
    expect(host.cpuSpec.cpuFeatures & CPU_FTR_HVMODE).toBe(CPU_FTR_HVMODE);
    expect(host.enableGuestStop).toBe(true);
    expect(host.idleStates.map((s) => s.name)).toEqual([
      "snooze",
      "stop0_lite",
      "stop0",
      "stop1",
      "stop2",
      "stop4",
      "stop5",
    ]);
    expect(host.log.at("warn", "err")).toEqual([]);
  });

  it("AT_HWCAP/AT_HWCAP2 as dt_cpu_ftrs.c builds them: the base bits, ARCH_3_00, HAS_MMU, SMT, TRUE_LE", () => {
    const host = boot(opts("dd2.2", "2020"), "upstream-2020");
    const user = COMMON_USER_BASE | PPC_FEATURE_HAS_MMU | PPC_FEATURE_SMT | PPC_FEATURE_TRUE_LE;
    expect((host.cpuSpec.cpuUserFeatures & user) >>> 0).toBe(user >>> 0);
    const user2 = COMMON_USER2_BASE | PPC_FEATURE2_ARCH_3_00;
    expect((host.cpuSpec.cpuUserFeatures2 & user2) >>> 0).toBe(user2 >>> 0);
    // cpufeatures_cpu_quirks (update_tlbie_feature_flag) on POWER9, and the PVR table's set
    expect(host.cpuSpec.cpuFeatures & CPU_FTR_P9_TLBIE_ERAT_BUG).toBe(CPU_FTR_P9_TLBIE_ERAT_BUG);
    expect(CPU_FTRS_POWER9 & CPU_FTR_P9_TLBIE_ERAT_BUG).toBe(CPU_FTR_P9_TLBIE_ERAT_BUG);
  });

  it("enable_guest_stop needs both the feature (DD2.3 + new firmware) and a build that knows it", () => {
    const eg = (dd: string, fw: "2020" | "new", kernel: "fallback" | "upstream-2020") =>
      boot(opts(dd, fw), kernel).enableGuestStop;
    expect(eg("dd2.3", "new", "fallback")).toBe(true);
    expect(eg("dd2.3", "2020", "fallback")).toBe(false);
    expect(eg("dd2.2", "new", "fallback")).toBe(false);
    expect(eg("dd2.3", "new", "upstream-2020")).toBe(false);
  });

  it("host threads idle in stop states with the firmware PSSCR", () => {
    const host = boot(opts("dd2.3", "new"), "fallback");
    host.sim.runFor(50_000_000);
    for (const c of host.cpus) {
      expect(c.thread.stopped).toBe(true);
      expect(c.currentIdleState?.kind).toBe("stop");
      const st = c.currentIdleState;
      if (st === null) throw new Error("idle state");
      expect((c.thread.stopState?.psscr ?? 0n) & st.psscrMask).toBe(st.psscrVal & st.psscrMask);
    }
  });

  it("a truncated DTB fails with a HostBootError", () => {
    const o = opts("dd2.3", "new");
    const dtb = buildHostDtb(o);
    expect(() => boot(o, "fallback", dtb.slice(0, dtb.length >> 1))).toThrow(HostBootError);
    expect(() => boot(o, "fallback", dtb.slice(0, 20))).toThrow(/firmware device tree is invalid/);
  });

  it("any corruption either boots or fails with HostBootError, never another error", () => {
    const dtb = buildHostDtb(opts("dd2.2", "2020"));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: dtb.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        (pos, byte) => {
          const bad = dtb.slice();
          bad[pos] = byte;
          try {
            boot(opts("dd2.2", "2020"), "fallback", bad);
          } catch (e) {
            expect(e).toBeInstanceOf(HostBootError);
          }
        },
      ),
      // under `pnpm mutate` (STOPSIM_MUTATE) 40 corruptions: 400 boots per mutant take seconds each
      { numRuns: process.env.STOPSIM_MUTATE ? 40 : 400 },
    );
  });

  it("time_init: skiboot's ibm,dec-bits 56 gives a large decrementer, enabled in the host's LPCR", () => {
    const host = boot(opts("dd2.3", "new"), "fallback");
    expect(host.log.at("info")).toContain("time_init: 56 bit decrementer (max: 7fffffffffffff)");
    expect(host.cpuSpec.lpcr & LPCR_LD).toBe(LPCR_LD);
    for (const c of host.cpus) {
      expect(c.thread.getSpr(SPRN_LPCR) & LPCR_LD).toBe(LPCR_LD);
      expect(c.decMax).toBe(2 ** 52 - 1);
    }
  });

  it("time_init: without ibm,dec-bits, or with a width outside 32..64, the 32-bit decrementer", () => {
    for (const [bits, warned] of [
      [undefined, false],
      [31, true],
      [65, true],
      [32, false],
    ] as const) {
      const o = opts("dd2.3", "new");
      const tree = buildHostTree(o);
      for (const cpu of tree.requireNode("/cpus").children) {
        if (!cpu.hasProp("ibm,dec-bits")) continue;
        if (bits === undefined) cpu.removeProp("ibm,dec-bits");
        else cpu.setPropU32("ibm,dec-bits", bits);
      }
      const host = boot(o, "fallback", encodeDtb(tree));
      expect(host.log.at("info")).toContain("time_init: 32 bit decrementer (max: 7fffffff)");
      expect(host.log.at("warn").includes("time_init: firmware supplied invalid ibm,dec-bits")).toBe(warned);
      expect(host.cpuSpec.lpcr & LPCR_LD).toBe(0n);
      expect(host.cpus[0].decMax).toBe(0x7fffffff);
    }
  });

  it("a feature property with trailing bytes is read by its first cell, as be32_to_cpup does", () => {
    // found by the property above: a cell of five bytes
    const o = opts("dd2.2", "2020");
    const tree = buildHostTree(o);
    const feats = tree.requireNode("/cpus/ibm,powerpc-cpu-features");
    const node = feats.children.find((c) => c.hasProp("isa"));
    expect(node).toBeDefined();
    if (node === undefined) return;
    const isa = node.requireProp("isa").asU32();
    node.setProp("isa", new Uint8Array([isa >>> 24, (isa >>> 16) & 255, (isa >>> 8) & 255, isa & 255, 7]));
    const host = boot(o, "fallback", encodeDtb(tree));
    expect(host.cpuSpec.enabledFeatures).toContain(node.name);
  });

  it("a CPU whose interrupt server number is beyond a 15-bit PIR is left out with a warning", () => {
    // found by the property above: a corrupted ibm,ppc-interrupt-server#s
    const o = opts("dd2.2", "2020");
    const tree = buildHostTree(o);
    const cpus = tree.requireNode("/cpus").children.filter((c) => c.name.startsWith("PowerPC,POWER9"));
    const victim = cpus[cpus.length - 1];
    victim.setProp("ibm,ppc-interrupt-server#s", new Uint8Array([0x40, 0, 0, 0x10, 0x40, 0, 0, 0x11]));
    const host = boot(o, "fallback", encodeDtb(tree));
    expect(host.cores).toHaveLength(cpus.length - 1);
    expect(host.dmesg().some((l) => l.includes("is not a hardware thread: CPU ignored"))).toBe(true);
  });

  it("a corrupt facility bit number skips the feature node instead of crashing the boot", () => {
    // found by the property above: one byte of an hfscr-bit-nr turned it into a huge number
    const o = opts("dd2.2", "2020");
    const tree = buildHostTree(o);
    const feats = tree.requireNode("/cpus/ibm,powerpc-cpu-features");
    const node = feats.children.find((c) => c.hasProp("hfscr-bit-nr"));
    expect(node).toBeDefined();
    if (node === undefined) return;
    node.setPropU32("hfscr-bit-nr", 0x01000002);
    const host = boot(o, "fallback", encodeDtb(tree));
    expect(host.dmesg().some((l) => l.includes(`${node.name}: bad hfscr_bit_nr`))).toBe(true);
  });

  it("mismatched power-mgt arrays: the kernel drops the table, keeps snooze, and warns", () => {
    const o = opts("dd2.3", "new");
    const tree = buildHostTree(o);
    const pm = tree.requireNode("/ibm,opal/power-mgt");
    const lat = pm.requireProp("ibm,cpu-idle-state-latencies-ns").asU32Array();
    pm.setPropU32("ibm,cpu-idle-state-latencies-ns", ...lat.slice(0, lat.length - 1));
    const host = boot(o, "fallback", encodeDtb(tree));
    expect(host.idleStates.map((s) => s.name)).toEqual(["snooze"]);
    expect(host.log.at("warn")).toContain("cpuidle-powernv: missing ibm,cpu-idle-state-latencies-ns in DT");
    expect(host.log.at("warn")).toContain("cpuidle-powernv : Only Snooze is available");
  });

  it("a bad psscr value skips only that state, with the kernel's warning", () => {
    const o = opts("dd2.3", "new");
    const tree = buildHostTree(o);
    const pm = tree.requireNode("/ibm,opal/power-mgt");
    const names = pm.requireProp("ibm,cpu-idle-state-names").asStringList();
    const vals = pm.requireProp("ibm,cpu-idle-state-psscr").asU64Array();
    const i = names.indexOf("stop1");
    vals[i] = vals[i] & ~PSSCR_EC; // ESL without EC
    pm.setPropU64("ibm,cpu-idle-state-psscr", ...vals);
    const host = boot(o, "fallback", encodeDtb(tree));
    expect(host.idleStates.map((s) => s.name)).toEqual([
      "snooze",
      "stop0_lite",
      "stop0",
      "stop2",
      "stop4",
      "stop5",
    ]);
    expect(
      host.log.at("warn").some((l) => /Invalid psscr 0x[0-9a-f]{16} : ESL,EC bits unequal/.test(l)),
    ).toBe(true);
  });

  it("a feature node without usable-privilege is skipped with the kernel's warning", () => {
    const o = opts("dd2.3", "new");
    const tree = buildHostTree(o);
    const f = tree.requireNode("/cpus/ibm,powerpc-cpu-features/idle-stop-guest");
    f.removeProp("usable-privilege");
    const host = boot(o, "fallback", encodeDtb(tree));
    expect(host.enableGuestStop).toBe(false);
    expect(host.log.at("warn")).toContain("dt-cpu-ftrs: idle-stop-guest: missing usable-privilege property");
  });
});

describe("the host kernel on its machine: its view comes from the PVR and the tree", () => {
  it("runs on the machine's own threads, found by the PIRs the tree lists", () => {
    const o = opts("dd2.3", "new");
    const host = boot(o, "fallback");
    expect(host.threads).toEqual(o.machine.threads);
    expect(host.cores).toEqual(o.machine.cores.map((c) => c.core));
    expect(host.view.cores.map((c) => [c.path, c.chipId, c.pirs])).toEqual([
      ["/cpus/PowerPC,POWER9@0", 0, [0, 1, 2, 3]],
      ["/cpus/PowerPC,POWER9@4", 0, [4, 5, 6, 7]],
    ]);
  });

  it("a machine with another PVR gives another tree and another view", () => {
    const dd22 = boot(opts("dd2.2", "new"), "fallback");
    const dd23 = boot(opts("dd2.3", "new"), "fallback");
    expect([dd22.pvr, dd23.pvr]).toEqual([0x004e1202, 0x004e1203]);
    expect([dd22.view.cpuName, dd23.view.cpuName]).toEqual(["POWER9 (raw)", "POWER9 (raw)"]);
    expect(dd22.dmesg().some((l) => l.endsWith("cpu-version 0x004e1202: POWER9 DD2.2"))).toBe(true);
    expect(dd22.cpuSpec.cpuFeatures & CPU_FTR_P9_TM_XER_SO_BUG).toBe(CPU_FTR_P9_TM_XER_SO_BUG);
    expect(dd23.cpuSpec.cpuFeatures & CPU_FTR_P9_TM_XER_SO_BUG).toBe(0n);
    // the firmware's fw-features differ, and KVM reports what the tree says
    const cc = (h: typeof dd22) => h.kvm.createVm();
    const [v22, v23] = [cc(dd22), cc(dd23)];
    if (typeof v22 === "number" || typeof v23 === "number") throw new Error("createVm");
    expect(v22.getCpuChar().character & KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS).toBe(
      KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS,
    );
    expect(v23.getCpuChar().character & KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS).toBe(0n);
  });

  it("threads per core are the boot CPU node's interrupt servers, not a table", () => {
    const o = {
      machine: new PnvMachine(new Simulation(), { chip: chipById("dd2.3"), threadsPerCore: 2 }),
      firmware: parseFirmwareVersion("new"),
    };
    const host = boot(o, "fallback");
    expect(host.view.threadsPerCore).toBe(2);
    expect(host.cpus).toHaveLength(4);
    expect(host.kvm.checkExtension(KVM_CAP_PPC_SMT)).toBe(2);
    expect(host.dmesg().some((l) => l.endsWith("CPU maps initialized for 2 threads per core"))).toBe(true);
    // the same SMT4 hardware, a tree that lists two threads of each core: the kernel uses two
    const o4 = opts("dd2.3", "new");
    const listed = (n: number) => {
      const tree = buildHostTree(o4);
      for (const c of tree.requireNode("/cpus").children.filter((x) => x.name.startsWith("PowerPC,POWER9"))) {
        const pirs = c.requireProp("ibm,ppc-interrupt-server#s").asU32Array();
        c.setPropU32("ibm,ppc-interrupt-server#s", ...pirs.slice(0, n));
      }
      return encodeDtb(tree);
    };
    const two = boot(o4, "fallback", listed(2));
    expect(two.view.threadsPerCore).toBe(2);
    expect(two.cpus.map((c) => c.thread.pir)).toEqual([0, 1, 4, 5]);
    expect(two.kvm.checkExtension(KVM_CAP_PPC_SMT)).toBe(2);
    // three is not a power of two: cpu_init_thread_core_maps's BUG_ON
    expect(() => boot(opts("dd2.3", "new"), "fallback", listed(3))).toThrow(
      /kernel BUG in cpu_init_thread_core_maps: 3 threads per core/,
    );
  });

  it("a PIR the machine lacks leaves its CPU out; a thread listed twice or on another core is ignored", () => {
    const o = opts("dd2.3", "new");
    const tree = buildHostTree(o);
    const nodes = tree.requireNode("/cpus").children.filter((c) => c.name.startsWith("PowerPC,POWER9"));
    nodes[0].setPropU32("ibm,ppc-interrupt-server#s", 0, 1, 1, 4);
    nodes[1].setPropU32("ibm,ppc-interrupt-server#s", 0x7f0, 0x7f1);
    const host = boot(o, "fallback", encodeDtb(tree));
    expect(host.cpus.map((c) => c.thread.pir)).toEqual([0, 1]);
    expect(host.cores).toHaveLength(1);
    const warn = host.log.at("warn");
    expect(warn).toContain("/cpus/PowerPC,POWER9@0: interrupt server 0x1 is listed twice: ignored");
    expect(warn).toContain("/cpus/PowerPC,POWER9@0: interrupt server 0x4 is not a thread of core 0: ignored");
    expect(warn).toContain(
      "/cpus/PowerPC,POWER9@4: interrupt server 0x7f0 is not a hardware thread: CPU ignored",
    );
  });

  it("two nodes naming threads of one core share that core", () => {
    const o = opts("dd2.3", "new");
    const tree = buildHostTree(o);
    const nodes = tree.requireNode("/cpus").children.filter((c) => c.name.startsWith("PowerPC,POWER9"));
    nodes[0].setPropU32("ibm,ppc-interrupt-server#s", 0, 1);
    nodes[1].setPropU32("ibm,ppc-interrupt-server#s", 2, 3);
    const host = boot(o, "fallback", encodeDtb(tree));
    expect(host.cpus.map((c) => c.thread.pir)).toEqual([0, 1, 2, 3]);
    expect(host.cores).toEqual([o.machine.cores[0].core]);
  });

  it("the PVR is read from the boot thread: a tree that says otherwise only gets a warning", () => {
    const o = opts("dd2.3", "new");
    const tree = buildHostTree(o);
    tree.requireNode("/cpus/PowerPC,POWER9@0").setPropU32("cpu-version", 0x004e1202);
    const host = boot(o, "fallback", encodeDtb(tree));
    expect(host.pvr).toBe(0x004e1203);
    expect(host.log.at("warn")).toContain(
      "/cpus/PowerPC,POWER9@0: cpu-version 0x4e1202 differs from the boot CPU",
    );
  });

  it("without fw-features in the tree KVM reports no characteristics (kvmppc_get_cpu_char)", () => {
    const o = opts("dd2.3", "new");
    const tree = buildHostTree(o);
    const opal = tree.requireNode("/ibm,opal");
    const fw = opal.getChild("fw-features");
    if (fw === undefined) throw new Error("the firmware wrote no fw-features");
    opal.removeChild(fw);
    const host = boot(o, "fallback", encodeDtb(tree));
    const vm = host.kvm.createVm();
    if (typeof vm === "number") throw new Error("createVm");
    // "if (!fw_features) return 0;": the zeroed struct, masks and default behaviours included
    expect(vm.getCpuChar()).toEqual({ character: 0n, behaviour: 0n, characterMask: 0n, behaviourMask: 0n });
  });

  it("needs the machine, the machine's simulation, and a machine no other host kernel runs on", () => {
    const o = opts("dd2.3", "new");
    const dtb = buildHostDtb(o);
    for (const bad of [undefined, null, {}, 3])
      expect(() => bootHost({ machine: bad as unknown as PnvMachine, dtb, kernel: "fallback" })).toThrow(
        /machine is required/,
      );
    expect(() =>
      bootHost({ machine: o.machine, dtb: Array.from(dtb) as unknown as Uint8Array, kernel: "fallback" }),
    ).toThrow(/dtb must be the Uint8Array the firmware produced/);
    expect(() => bootHost({ machine: o.machine, sim: new Simulation(), dtb, kernel: "fallback" })).toThrow(
      /sim must be the machine's simulation/,
    );
    boot(o, "fallback", dtb);
    expect(() => boot(o, "fallback", dtb)).toThrow(/thread PIR 0x0 already runs a host kernel/);
  });

  it("a tree whose CPUs the machine does not have, or no CPU at all, cannot boot", () => {
    const o = opts("dd2.3", "new");
    const tree = buildHostTree(o);
    const nodes = tree.requireNode("/cpus").children.filter((c) => c.name.startsWith("PowerPC,POWER9"));
    for (const [i, n] of nodes.entries()) n.setPropU32("ibm,ppc-interrupt-server#s", 0x700 + 4 * i);
    expect(() => boot(o, "fallback", encodeDtb(tree))).toThrow(/no hardware thread could be started/);
    for (const n of nodes) tree.requireNode("/cpus").removeChild(n);
    expect(() => boot(opts("dd2.3", "new"), "fallback", encodeDtb(tree))).toThrow(
      /the device tree lists no usable CPU under \/cpus/,
    );
  });

  it("a machine whose boot thread is not a POWER9 fails the boot, naming the PVR", () => {
    const dtb = buildHostDtb(opts("dd2.3", "new"));
    const power8 = new PnvMachine(new Simulation(), { chip: { ...POWER9_DD23, pvr: 0x004d0200 } });
    expect(() => bootHost({ machine: power8, dtb, kernel: "fallback" })).toThrow(
      "cannot boot: PVR 0x004d0200 is not a POWER9 (version 0x004e): this kernel runs POWER9 PowerNV hosts only",
    );
  });

  it("one thread per core is logged in the singular, as the kernel does", () => {
    const o = {
      machine: new PnvMachine(new Simulation(), { chip: chipById("dd2.2"), threadsPerCore: 1 }),
      firmware: parseFirmwareVersion("2020"),
    };
    const host = boot(o, "upstream-2020");
    expect(host.dmesg().some((l) => l.endsWith("CPU maps initialized for 1 thread per core"))).toBe(true);
  });
});
