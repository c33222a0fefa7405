import { encodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import { chipById, PSSCR_EC } from "@stopsim/isa";
import {
  COMMON_USER_BASE,
  COMMON_USER2_BASE,
  CPU_FTR_ARCH_300,
  CPU_FTR_HVMODE,
  CPU_FTR_P9_TLBIE_ERAT_BUG,
  CPU_FTRS_POWER9,
  PPC_FEATURE_HAS_MMU,
  PPC_FEATURE_SMT,
  PPC_FEATURE_TRUE_LE,
  PPC_FEATURE2_ARCH_3_00,
} from "@stopsim/linux";
import { buildHostDtb, buildHostTree, parseFirmwareVersion } from "@stopsim/opal";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HostBootError } from "./errors.js";
import { bootHost } from "./host.js";

const opts = (dd: string, fw: "2020" | "new") => ({ chip: chipById(dd), firmware: parseFirmwareVersion(fw) });

describe("bootHost from DTB bytes", () => {
  it("brings up one host CPU per thread, features and idle states from the tree", () => {
    const sim = new Simulation();
    const host = bootHost({ sim, dtb: buildHostDtb(opts("dd2.3", "new")), kernel: "fallback" });
    expect(host.cpus).toHaveLength(8);
    expect(host.chip.dd).toBe("2.3");
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
    const host = bootHost({
      sim: new Simulation(),
      dtb: buildHostDtb(opts("dd2.2", "2020")),
      kernel: "upstream-2020",
    });
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
      bootHost({ sim: new Simulation(), dtb: buildHostDtb(opts(dd, fw)), kernel }).enableGuestStop;
    expect(eg("dd2.3", "new", "fallback")).toBe(true);
    expect(eg("dd2.3", "2020", "fallback")).toBe(false);
    expect(eg("dd2.2", "new", "fallback")).toBe(false);
    expect(eg("dd2.3", "new", "upstream-2020")).toBe(false);
  });

  it("host threads idle in stop states with the firmware PSSCR", () => {
    const sim = new Simulation();
    const host = bootHost({ sim, dtb: buildHostDtb(opts("dd2.3", "new")), kernel: "fallback" });
    sim.runFor(50_000_000);
    for (const c of host.cpus) {
      expect(c.thread.stopped).toBe(true);
      expect(c.currentIdleState?.kind).toBe("stop");
      const st = c.currentIdleState;
      if (st === null) throw new Error("idle state");
      expect((c.thread.stopState?.psscr ?? 0n) & st.psscrMask).toBe(st.psscrVal & st.psscrMask);
    }
  });

  it("a truncated DTB fails with a HostBootError", () => {
    const dtb = buildHostDtb(opts("dd2.3", "new"));
    const sim = new Simulation();
    expect(() => bootHost({ sim, dtb: dtb.slice(0, dtb.length >> 1), kernel: "fallback" })).toThrow(
      HostBootError,
    );
    expect(() => bootHost({ sim, dtb: dtb.slice(0, 20), kernel: "fallback" })).toThrow(
      /firmware device tree is invalid/,
    );
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
            bootHost({ sim: new Simulation(), dtb: bad, kernel: "fallback" });
          } catch (e) {
            expect(e).toBeInstanceOf(HostBootError);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("a feature property with trailing bytes is read by its first cell, as be32_to_cpup does", () => {
    // found by the property above: a cell of five bytes
    const tree = buildHostTree(opts("dd2.2", "2020"));
    const feats = tree.requireNode("/cpus/ibm,powerpc-cpu-features");
    const node = feats.children.find((c) => c.hasProp("isa"));
    expect(node).toBeDefined();
    if (node === undefined) return;
    const isa = node.requireProp("isa").asU32();
    node.setProp("isa", new Uint8Array([isa >>> 24, (isa >>> 16) & 255, (isa >>> 8) & 255, isa & 255, 7]));
    const host = bootHost({ sim: new Simulation(), dtb: encodeDtb(tree), kernel: "fallback" });
    expect(host.cpuSpec.enabledFeatures).toContain(node.name);
  });

  it("a CPU whose interrupt server number is beyond a 15-bit PIR is left out with a warning", () => {
    // found by the property above: a corrupted ibm,ppc-interrupt-server#s
    const tree = buildHostTree(opts("dd2.2", "2020"));
    const cpus = tree.requireNode("/cpus").children.filter((c) => c.name.startsWith("PowerPC,POWER9"));
    const victim = cpus[cpus.length - 1];
    victim.setProp("ibm,ppc-interrupt-server#s", new Uint8Array([0x40, 0, 0, 0x10, 0x40, 0, 0, 0x11]));
    const host = bootHost({ sim: new Simulation(), dtb: encodeDtb(tree), kernel: "fallback" });
    expect(host.cores).toHaveLength(cpus.length - 1);
    expect(host.dmesg().some((l) => l.includes("is not a hardware thread: CPU ignored"))).toBe(true);
  });

  it("a corrupt facility bit number skips the feature node instead of crashing the boot", () => {
    // found by the property above: one byte of an hfscr-bit-nr turned it into a huge number
    const tree = buildHostTree(opts("dd2.2", "2020"));
    const feats = tree.requireNode("/cpus/ibm,powerpc-cpu-features");
    const node = feats.children.find((c) => c.hasProp("hfscr-bit-nr"));
    expect(node).toBeDefined();
    if (node === undefined) return;
    node.setPropU32("hfscr-bit-nr", 0x01000002);
    const host = bootHost({ sim: new Simulation(), dtb: encodeDtb(tree), kernel: "fallback" });
    expect(host.dmesg().some((l) => l.includes(`${node.name}: bad hfscr_bit_nr`))).toBe(true);
  });

  it("mismatched power-mgt arrays: the kernel drops the table, keeps snooze, and warns", () => {
    const tree = buildHostTree(opts("dd2.3", "new"));
    const pm = tree.requireNode("/ibm,opal/power-mgt");
    const lat = pm.requireProp("ibm,cpu-idle-state-latencies-ns").asU32Array();
    pm.setPropU32("ibm,cpu-idle-state-latencies-ns", ...lat.slice(0, lat.length - 1));
    const host = bootHost({ sim: new Simulation(), dtb: encodeDtb(tree), kernel: "fallback" });
    expect(host.idleStates.map((s) => s.name)).toEqual(["snooze"]);
    expect(host.log.at("warn")).toContain("cpuidle-powernv: missing ibm,cpu-idle-state-latencies-ns in DT");
    expect(host.log.at("warn")).toContain("cpuidle-powernv : Only Snooze is available");
  });

  it("a bad psscr value skips only that state, with the kernel's warning", () => {
    const tree = buildHostTree(opts("dd2.3", "new"));
    const pm = tree.requireNode("/ibm,opal/power-mgt");
    const names = pm.requireProp("ibm,cpu-idle-state-names").asStringList();
    const vals = pm.requireProp("ibm,cpu-idle-state-psscr").asU64Array();
    const i = names.indexOf("stop1");
    vals[i] = vals[i] & ~PSSCR_EC; // ESL without EC
    pm.setPropU64("ibm,cpu-idle-state-psscr", ...vals);
    const host = bootHost({ sim: new Simulation(), dtb: encodeDtb(tree), kernel: "fallback" });
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
    const tree = buildHostTree(opts("dd2.3", "new"));
    const f = tree.requireNode("/cpus/ibm,powerpc-cpu-features/idle-stop-guest");
    f.removeProp("usable-privilege");
    const host = bootHost({ sim: new Simulation(), dtb: encodeDtb(tree), kernel: "fallback" });
    expect(host.enableGuestStop).toBe(false);
    expect(host.log.at("warn")).toContain("dt-cpu-ftrs: idle-stop-guest: missing usable-privilege property");
  });
});
