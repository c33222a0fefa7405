// dt-cpu-features parsing decision by decision, on small hand-built trees, against what
// linux: arch/powerpc/kernel/dt_cpu_ftrs.c decides (process_cpufeatures_node's validation,
// cpufeatures_process_feature, feat_enable, feat_try_enable_unknown, cpufeatures_deps_enable,
// the enable handlers of dt_cpu_feature_match_table, cpufeatures_cpu_quirks and
// update_tlbie_feature_flag, cpufeatures_setup_start/finished).
import { DeviceTree, type DtNode } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import {
  chipById,
  LPCR_DPFD,
  LPCR_HEIC,
  LPCR_HVICE,
  LPCR_PECE_HVEE,
  LPCR_PECE0,
  LPCR_PECE1,
  LPCR_PECE2,
  LPCR_PECEDH,
  LPCR_VPM0,
  LPCR_VRMASD,
  PnvMachine,
} from "@stopsim/isa";
import {
  COMMON_USER_BASE,
  COMMON_USER_POWER9,
  COMMON_USER2_BASE,
  COMMON_USER2_POWER9,
  CPU_FTR_ALTIVEC,
  CPU_FTR_ARCH_300,
  CPU_FTR_CFAR,
  CPU_FTR_DAWR,
  CPU_FTR_DBELL,
  CPU_FTR_DSCR,
  CPU_FTR_FPU_UNAVAILABLE,
  CPU_FTR_HVMODE,
  CPU_FTR_MMCRA,
  CPU_FTR_NODSISRALIGN,
  CPU_FTR_P9_RADIX_PREFETCH_BUG,
  CPU_FTR_P9_TIDR,
  CPU_FTR_P9_TLBIE_ERAT_BUG,
  CPU_FTR_P9_TLBIE_STQ_BUG,
  CPU_FTR_P9_TM_HV_ASSIST,
  CPU_FTR_P9_TM_XER_SO_BUG,
  CPU_FTR_PKEY,
  CPU_FTR_POWER9_DD2_1,
  CPU_FTR_PURR,
  CPU_FTR_REAL_LE,
  CPU_FTR_SMT,
  CPU_FTR_SPURR,
  CPU_FTR_VMX_COPY,
  CPU_FTR_VSX,
  CPU_FTRS_DT_CPU_BASE,
  CPU_FTRS_POWER9,
  PPC_FEATURE_HAS_MMU,
  PPC_FEATURE_SMT,
  PPC_FEATURE_TRUE_LE,
  PPC_FEATURE2_ARCH_3_00,
} from "@stopsim/linux";
import { buildHostTree, parseFirmwareVersion } from "@stopsim/opal";
import { describe, expect, it } from "vitest";
import {
  buildKnowsIdleStopGuest,
  KVM_BUILDS,
  type KvmBuild,
  KvmBuildError,
  resolveKvmBuild,
} from "./build.js";
import { type DtCpuFtrsOptions, findCpuFeaturesNode, hasArch300, scanDtCpuFeatures } from "./dt-cpu-ftrs.js";
import { KernelLog } from "./log.js";

/** One feature node's properties; absent ones are left out of the node. */
interface Feat {
  isa?: number;
  usable?: number;
  hv?: number;
  os?: number;
  hfscr?: number;
  fscr?: number;
  hwcap?: number;
  deps?: string[];
  /** raw "isa" bytes (for malformed values) */
  isaRaw?: Uint8Array;
  /** raw "dependencies" bytes (for malformed values) */
  depsRaw?: Uint8Array;
}

const PR = 1;
const OS = 2;
const HV = 4;
const DD22 = 0x004e1202;
const DD23 = 0x004e1203;

/** A tree with /cpus/ibm,powerpc-cpu-features (isa `isa`) holding `feats` in order. */
function featuresTree(feats: Record<string, Feat>, isa = 3000): DeviceTree {
  const tree = new DeviceTree();
  const node = tree.root.addChild("cpus").addChild("ibm,powerpc-cpu-features");
  node.setPropStrings("compatible", ["ibm,powerpc-cpu-features"]);
  node.setPropU32("isa", isa);
  const nodes = new Map<string, DtNode>();
  for (const [name, f] of Object.entries(feats)) {
    const n = node.addChild(name);
    nodes.set(name, n);
    if (f.isa !== undefined) n.setPropU32("isa", f.isa);
    if (f.isaRaw !== undefined) n.setProp("isa", f.isaRaw);
    if (f.usable !== undefined) n.setPropU32("usable-privilege", f.usable);
    if (f.hv !== undefined) n.setPropU32("hv-support", f.hv);
    if (f.os !== undefined) n.setPropU32("os-support", f.os);
    if (f.hfscr !== undefined) n.setPropU32("hfscr-bit-nr", f.hfscr);
    if (f.fscr !== undefined) n.setPropU32("fscr-bit-nr", f.fscr);
    if (f.hwcap !== undefined) n.setPropU32("hwcap-bit-nr", f.hwcap);
  }
  for (const [name, f] of Object.entries(feats)) {
    const n = nodes.get(name) as DtNode;
    if (f.depsRaw !== undefined) n.setProp("dependencies", f.depsRaw);
    if (f.deps !== undefined)
      n.setPropU32("dependencies", ...f.deps.map((d) => tree.ensurePhandle(nodes.get(d) as DtNode)));
  }
  return tree;
}

const opts = (o: Partial<DtCpuFtrsOptions> = {}): DtCpuFtrsOptions => ({
  hvMode: true,
  pvr: DD23,
  knowsIdleStopGuest: true,
  ...o,
});

function scan(feats: Record<string, Feat>, o: Partial<DtCpuFtrsOptions> = {}, isa = 3000) {
  const log = new KernelLog(new Simulation());
  const spec = scanDtCpuFeatures(featuresTree(feats, isa), opts(o), log);
  return { spec, log };
}

/** A plain feature every privilege level may use, without facility bits. */
const plain: Feat = { isa: 3000, usable: PR | OS | HV };

describe("finding the features node (fdt_find_cpu_features)", () => {
  it("needs the compatible string and an isa property; other nodes are ignored", () => {
    const tree = featuresTree({ smt: plain });
    const node = tree.requireNode("/cpus/ibm,powerpc-cpu-features");
    expect(findCpuFeaturesNode(tree)).toBe(node);
    // a second compatible in the list is fine
    node.setPropStrings("compatible", ["vendor,other", "ibm,powerpc-cpu-features"]);
    expect(findCpuFeaturesNode(tree)).toBe(node);
    node.setPropStrings("compatible", ["ibm,powerpc-cpu-features-v2"]);
    expect(findCpuFeaturesNode(tree)).toBeUndefined();
    node.setPropStrings("compatible", ["ibm,powerpc-cpu-features"]);
    node.removeProp("isa");
    expect(findCpuFeaturesNode(tree)).toBeUndefined();
  });

  it("a compatible that is not a string list is skipped, and a later good node still found", () => {
    const tree = featuresTree({ smt: plain });
    const bad = tree.root.addChild("aaa");
    bad.setProp("compatible", new Uint8Array([0x69, 0x62, 0x6d])); // no NUL terminator
    bad.setPropU32("isa", 3000);
    expect(findCpuFeaturesNode(tree)?.name).toBe("ibm,powerpc-cpu-features");
  });
});

describe("without a features node: the PVR cputable (identify_cpu)", () => {
  it("uses the POWER9 table entry with the idle and HVI wake-up LPCR bits, and says so", () => {
    const log = new KernelLog(new Simulation());
    const s = scanDtCpuFeatures(new DeviceTree(), opts(), log);
    expect(s.usingDtCpuFtrs).toBe(false);
    expect(s.isa).toBe(0);
    expect(s.cpuFeatures & CPU_FTRS_POWER9).toBe(CPU_FTRS_POWER9);
    expect(s.cpuUserFeatures).toBe(COMMON_USER_POWER9);
    expect(s.cpuUserFeatures2).toBe(COMMON_USER2_POWER9);
    const wake = LPCR_PECE0 | LPCR_PECE1 | LPCR_PECE2 | LPCR_PECEDH | LPCR_HVICE | LPCR_HEIC | LPCR_PECE_HVEE;
    expect(s.lpcr).toBe(wake);
    expect([s.hfscr, s.fscr, s.enableGuestStop, s.displayName]).toEqual([0n, 0n, false, undefined]);
    expect([s.enabledFeatures, s.disabledFeatures]).toEqual([[], []]);
    expect(log.at("info")).toEqual(["dt-cpu-ftrs: no ibm,powerpc-cpu-features node: using the PVR cputable"]);
  });
});

describe("cpufeatures_setup_cpu / setup_start / setup_finished", () => {
  it("starts from the dt base set; HV mode adds CPU_FTR_HVMODE; ISA 3.0B adds ARCH_300", () => {
    const { spec, log } = scan({});
    expect(spec.usingDtCpuFtrs).toBe(true);
    expect(spec.isa).toBe(3000);
    expect(spec.cpuFeatures & CPU_FTR_ARCH_300).toBe(CPU_FTR_ARCH_300);
    expect(hasArch300(spec)).toBe(true);
    expect(spec.cpuUserFeatures).toBe(COMMON_USER_BASE);
    expect(spec.cpuUserFeatures2).toBe((COMMON_USER2_BASE | PPC_FEATURE2_ARCH_3_00) >>> 0);
    expect(log.at("info")[0]).toBe("dt-cpu-ftrs: setup for ISA 3000");
    // no "hypervisor" node but MSR[HV]: cpufeatures_setup_finished's complaint (HVMODE is
    // already in from cpufeatures_setup_cpu, so no complaint here)
    expect(spec.cpuFeatures & CPU_FTR_HVMODE).toBe(CPU_FTR_HVMODE);
    expect(log.at("err")).toEqual([]);
  });

  it("an ISA below 3.0B (2.07) gets neither ARCH_300 nor PPC_FEATURE2_ARCH_3_00", () => {
    const { spec, log } = scan({}, {}, 2999);
    expect(hasArch300(spec)).toBe(false);
    expect(spec.cpuUserFeatures2).toBe(COMMON_USER2_BASE);
    expect(log.at("info")[0]).toBe("dt-cpu-ftrs: setup for ISA 2999");
  });

  it("without MSR[HV] the base has no HVMODE, and the hypervisor feature is refused", () => {
    const { spec, log } = scan({ hypervisor: { isa: 3000, usable: OS | PR } }, { hvMode: false });
    expect(spec.cpuFeatures & CPU_FTR_HVMODE).toBe(0n);
    expect(spec.disabledFeatures).toEqual(["hypervisor"]);
    expect(log.at("err")).toEqual([
      "dt-cpu-ftrs: CPU feature hypervisor present in device tree but HV mode not enabled in the CPU. Ignoring.",
    ]);
    expect(log.at("info")).toContain(
      "dt-cpu-ftrs: not enabling: hypervisor (disabled or unsupported by kernel)",
    );
  });

  it("the final feature word is logged as 16 hex digits", () => {
    const { spec, log } = scan({});
    const want = `dt-cpu-ftrs: final cpu/mmu features = 0x${spec.cpuFeatures.toString(16).padStart(16, "0")}`;
    expect(log.at("info")).toContain(want);
    expect(want).toMatch(/= 0x[0-9a-f]{16}$/);
  });

  it("the display name is taken when it is a non-empty string", () => {
    const named = (value: Uint8Array | string | undefined) => {
      const tree = featuresTree({});
      const node = tree.requireNode("/cpus/ibm,powerpc-cpu-features");
      if (typeof value === "string") node.setPropString("display-name", value);
      else if (value !== undefined) node.setProp("display-name", value);
      return scanDtCpuFeatures(tree, opts(), new KernelLog(new Simulation())).displayName;
    };
    expect(named("POWER9")).toBe("POWER9");
    expect(named("")).toBeUndefined();
    expect(named(undefined)).toBeUndefined();
    expect(named(new Uint8Array([0x50, 0x39]))).toBeUndefined(); // not NUL-terminated
  });
});

describe("process_cpufeatures_node: malformed nodes are skipped with the kernel's warning", () => {
  const cases: [string, Feat, { hvMode?: boolean }, string][] = [
    ["missing isa", { usable: PR }, {}, "missing isa property"],
    ["missing usable-privilege", { isa: 3000 }, {}, "missing usable-privilege property"],
    ["HV feature in a guest", { isa: 3000, usable: HV }, { hvMode: false }, "HV feature passed to guest"],
    ["hfscr bit without hv-support", { isa: 3000, usable: HV, hfscr: 5 }, {}, "unwanted hfscr_bit_nr"],
    ["hv-support HFSCR without a bit", { isa: 3000, usable: HV, hv: 1 }, {}, "missing hfscr_bit_nr"],
    [
      "hv-support on an OS feature",
      { isa: 3000, usable: OS, hv: 1, hfscr: 5 },
      {},
      "unwanted hv_support/hfscr_bit_nr",
    ],
    [
      "hfscr bit on an OS feature",
      { isa: 3000, usable: OS, hfscr: 5 },
      {},
      "unwanted hv_support/hfscr_bit_nr",
    ],
    [
      "hv-support alone on an OS feature",
      { isa: 3000, usable: OS, hv: 1 },
      {},
      "unwanted hv_support/hfscr_bit_nr",
    ],
    [
      "os-support alone on an HV feature",
      { isa: 3000, usable: HV, os: 1 },
      {},
      "unwanted os_support/fscr_bit_nr",
    ],
    ["isa of two bytes", { isaRaw: new Uint8Array([0x0b, 0xb8]), usable: PR }, {}, "missing isa property"],
    ["fscr bit without os-support", { isa: 3000, usable: OS, fscr: 5 }, {}, "unwanted fscr_bit_nr"],
    ["os-support FSCR without a bit", { isa: 3000, usable: OS, os: 1 }, {}, "missing fscr_bit_nr"],
    [
      "os-support on an HV feature",
      { isa: 3000, usable: HV, os: 1, fscr: 5 },
      {},
      "unwanted os_support/fscr_bit_nr",
    ],
    ["fscr bit on an HV feature", { isa: 3000, usable: HV, fscr: 5 }, {}, "unwanted os_support/fscr_bit_nr"],
    ["hwcap bit without PR", { isa: 3000, usable: OS, hwcap: 3 }, {}, "unwanted hwcap_bit_nr"],
    ["hfscr bit beyond the register", { isa: 3000, usable: HV, hv: 1, hfscr: 64 }, {}, "bad hfscr_bit_nr 64"],
    ["fscr bit beyond the register", { isa: 3000, usable: OS, os: 1, fscr: 64 }, {}, "bad fscr_bit_nr 64"],
    ["hwcap bit beyond the words", { isa: 3000, usable: PR, hwcap: 64 }, {}, "bad hwcap_bit_nr 64"],
  ];
  for (const [what, f, o, warning] of cases)
    it(`${what}: "${warning}"`, () => {
      const { spec, log } = scan({ "zz-feature": f }, o);
      expect(log.at("warn")).toEqual([`dt-cpu-ftrs: zz-feature: ${warning}`]);
      // skipped: neither enabled nor listed as disabled
      expect(spec.enabledFeatures).toEqual([]);
      expect(spec.disabledFeatures).toEqual([]);
    });

  it("the limits themselves are valid: bit 63 of HFSCR/FSCR, hwcap bit 63, HV, OS and PR together", () => {
    const { spec, log } = scan({
      "zz-a": { isa: 3000, usable: HV | OS, hv: 1, hfscr: 63, os: 1, fscr: 63 },
      "zz-b": { isa: 3000, usable: PR | OS | HV, hwcap: 63 },
      "zz-c": { isa: 3000, usable: HV, hv: 1, hfscr: 0 },
    });
    expect(log.at("warn")).toEqual([]);
    expect(spec.enabledFeatures).toEqual(["zz-a", "zz-b", "zz-c"]);
    expect(spec.hfscr).toBe((1n << 63n) | 1n);
    expect(spec.fscr).toBe(1n << 63n);
    // hwcap bit 63 is word 1, bit 31 (unknown-feature path): AT_HWCAP2's top bit
    expect(spec.cpuUserFeatures2 >>> 31).toBe(1);
  });
});

describe("feat_enable on known features: facility bits and hwcaps", () => {
  it("sets the HFSCR and FSCR bits the node names and the hwcap bit in AT_HWCAP or AT_HWCAP2", () => {
    const { spec, log } = scan({
      "come-from-address-register": { isa: 3000, usable: HV | OS, hv: 1, hfscr: 7, os: 1, fscr: 9 },
      "event-based-branch-v3": { isa: 3000, usable: PR | OS | HV, hwcap: 3 },
      "vector-v3": { isa: 3000, usable: PR | OS | HV, hwcap: 32 + 5 },
    });
    expect(spec.hfscr).toBe(1n << 7n);
    expect(spec.fscr).toBe(1n << 9n);
    expect(spec.cpuUserFeatures).toBe((COMMON_USER_BASE | (1 << 3)) >>> 0);
    expect(spec.cpuUserFeatures2).toBe((COMMON_USER2_BASE | PPC_FEATURE2_ARCH_3_00 | (1 << 5)) >>> 0);
    expect(spec.cpuFeatures & CPU_FTR_CFAR).toBe(CPU_FTR_CFAR);
    expect(spec.enabledFeatures).toEqual([
      "come-from-address-register",
      "event-based-branch-v3",
      "vector-v3",
    ]);
    expect(log.at("debug")).toContain("dt-cpu-ftrs: enabling: come-from-address-register");
    expect(log.at("err")).toEqual([]);
  });

  it("an hwcap bit of a word past AT_HWCAP2 cannot be advertised (pr_err), the feature is still on", () => {
    const { spec, log } = scan({ "vector-v3": { isa: 3000, usable: PR | OS | HV, hwcap: 64 - 1 } });
    expect(spec.enabledFeatures).toEqual(["vector-v3"]);
    expect(log.at("err")).toEqual([]);
    // feat_enable's own message for a bit >= 64 cannot happen here (validation drops the node
    // first); the unknown-feature path's words are checked below
  });

  it("hwcaps are given to user-visible features only: no PR, no hwcap", () => {
    const { spec } = scan({ "vector-v3": { isa: 3000, usable: OS | HV } });
    expect(spec.cpuUserFeatures).toBe(COMMON_USER_BASE);
  });
});

describe("feat_try_enable_unknown: features this kernel has no handler for", () => {
  it("enables an unknown feature with an HFSCR/FSCR recipe, setting its bits and hwcap", () => {
    const { spec, log } = scan({
      "zz-future": { isa: 3100, usable: PR | OS | HV, hv: 1, hfscr: 12, os: 1, fscr: 13, hwcap: 32 + 2 },
    });
    expect(spec.enabledFeatures).toEqual(["zz-future"]);
    expect(spec.hfscr).toBe(1n << 12n);
    expect(spec.fscr).toBe(1n << 13n);
    expect(spec.cpuUserFeatures2 & (1 << 2)).toBe(1 << 2);
    expect(log.at("debug")).toContain("dt-cpu-ftrs: enabling: zz-future (unknown)");
  });

  it("enables an unknown feature that needs no facility bits, and an hwcap in word 0", () => {
    const { spec } = scan({ "zz-plain": { isa: 3000, usable: PR | OS | HV, hwcap: 4 } });
    expect(spec.enabledFeatures).toEqual(["zz-plain"]);
    expect([spec.hfscr, spec.fscr]).toEqual([0n, 0n]);
    expect(spec.cpuUserFeatures & (1 << 4)).toBe(1 << 4);
  });

  it("refuses an unknown hv-support or os-support recipe", () => {
    const { spec, log } = scan({
      "zz-hv": { isa: 3000, usable: HV, hv: 2, hfscr: 12 },
      "zz-os": { isa: 3000, usable: OS, os: 2, fscr: 13 },
    });
    expect(spec.disabledFeatures).toEqual(["zz-hv", "zz-os"]);
    expect(spec.enabledFeatures).toEqual([]);
    expect([spec.hfscr, spec.fscr]).toEqual([0n, 0n]);
    expect(log.at("info")).toContain("dt-cpu-ftrs: not enabling: zz-hv (unknown and unsupported by kernel)");
    expect(log.at("info")).toContain("dt-cpu-ftrs: not enabling: zz-os (unknown and unsupported by kernel)");
  });

  it("an hv recipe that is fine but an os recipe that is not leaves the feature off", () => {
    const { spec } = scan({ "zz-mixed": { isa: 3000, usable: HV | OS, hv: 1, hfscr: 12, os: 2, fscr: 13 } });
    expect(spec.disabledFeatures).toEqual(["zz-mixed"]);
    expect(spec.fscr).toBe(0n);
  });

  it("dt_cpu_ftrs=known: unknown features stay off, known ones still on", () => {
    const { spec } = scan({ "zz-plain": plain, smt: plain }, { enableUnknown: false });
    expect(spec.enabledFeatures).toEqual(["smt"]);
    expect(spec.disabledFeatures).toEqual(["zz-plain"]);
    expect(scan({ "zz-plain": plain }, { enableUnknown: true }).spec.enabledFeatures).toEqual(["zz-plain"]);
  });
});

describe("the enable handlers of dt_cpu_feature_match_table", () => {
  /** The spec after enabling only `name` (a plain node), against the spec of an empty tree. */
  const only = (name: string, f: Feat = plain, o: Partial<DtCpuFtrsOptions> = {}) => {
    const base = scan({}, o).spec;
    const { spec, log } = scan({ [name]: f }, o);
    return {
      spec,
      log,
      ftrOn: spec.cpuFeatures & ~base.cpuFeatures,
      ftrOff: base.cpuFeatures & ~spec.cpuFeatures,
      user: (spec.cpuUserFeatures & ~base.cpuUserFeatures) >>> 0,
    };
  };

  it("little-endian: CPU_FTR_REAL_LE and PPC_FEATURE_TRUE_LE", () => {
    const r = only("little-endian");
    expect(r.ftrOn).toBe(CPU_FTR_REAL_LE);
    expect(r.user).toBe(PPC_FEATURE_TRUE_LE);
  });

  it("smt: CPU_FTR_SMT and PPC_FEATURE_SMT", () => {
    const r = only("smt");
    expect(r.ftrOn).toBe(CPU_FTR_SMT);
    expect(r.user).toBe(PPC_FEATURE_SMT);
  });

  it("floating-point clears CPU_FTR_FPU_UNAVAILABLE; alignment-interrupt-dsisr clears NODSISRALIGN", () => {
    expect(CPU_FTRS_DT_CPU_BASE & CPU_FTR_FPU_UNAVAILABLE).toBe(CPU_FTR_FPU_UNAVAILABLE);
    expect(only("floating-point").ftrOff).toBe(CPU_FTR_FPU_UNAVAILABLE);
    expect(only("alignment-interrupt-dsisr").ftrOff).toBe(CPU_FTR_NODSISRALIGN);
  });

  it("vector and vector-scalar: ALTIVEC|VMX_COPY and VSX", () => {
    expect(only("vector").ftrOn).toBe(CPU_FTR_ALTIVEC | CPU_FTR_VMX_COPY);
    expect(only("vector-scalar").ftrOn).toBe(CPU_FTR_VSX);
  });

  it("processor-utilization-of-resources-register: PURR and SPURR", () => {
    expect(only("processor-utilization-of-resources-register").ftrOn).toBe(CPU_FTR_PURR | CPU_FTR_SPURR);
  });

  it("idle-stop and idle-nap: LPCR PECE0..2, the wake-up modes", () => {
    const pece = LPCR_PECE0 | LPCR_PECE1 | LPCR_PECE2;
    expect(only("idle-stop").spec.lpcr).toBe(pece);
    expect(only("idle-nap").spec.lpcr).toBe(pece);
  });

  it("hypervisor-virtualization-interrupt: HVICE, HEIC and PECE_HVEE", () => {
    expect(only("hypervisor-virtualization-interrupt").spec.lpcr).toBe(
      LPCR_HVICE | LPCR_HEIC | LPCR_PECE_HVEE,
    );
  });

  it("processor-control-facility(-v3): CPU_FTR_DBELL, LPCR_PECEDH, and its HFSCR bit", () => {
    for (const name of ["processor-control-facility", "processor-control-facility-v3"]) {
      const r = only(name, { isa: 3000, usable: HV | OS, hv: 1, hfscr: 8 });
      expect(r.ftrOn).toBe(CPU_FTR_DBELL);
      expect(r.spec.lpcr).toBe(LPCR_PECEDH);
      expect(r.spec.hfscr).toBe(1n << 8n);
    }
  });

  it("data-stream-control-register: HFSCR bit but never the FSCR bit, LPCR[DPFD] = 4", () => {
    const r = only("data-stream-control-register", {
      isa: 3000,
      usable: PR | OS | HV,
      hv: 1,
      hfscr: 2,
      os: 1,
      fscr: 2,
    });
    expect(r.ftrOn).toBe(CPU_FTR_DSCR);
    expect(r.spec.hfscr).toBe(1n << 2n);
    expect(r.spec.fscr).toBe(0n);
    expect(r.spec.lpcr & LPCR_DPFD).toBe(4n << 52n);
  });

  it("mmu-hash: HAS_MMU, LPCR VPM0 and VRMASD = 0x10 (L=1 LP=00)", () => {
    const r = only("mmu-hash");
    expect(r.user).toBe(PPC_FEATURE_HAS_MMU);
    expect(r.spec.lpcr).toBe(LPCR_VPM0 | (0x10n << 47n));
    expect(r.spec.lpcr & LPCR_VRMASD).toBe(0x10n << 47n);
  });

  it("mmu-radix and mmu-hash-v3: PPC_FEATURE_HAS_MMU", () => {
    expect(only("mmu-radix").user).toBe(PPC_FEATURE_HAS_MMU);
    // feat_enable_mmu_hash_v3 advertises the MMU too (a hash-only POWER9 tree has no mmu-radix)
    expect(only("mmu-hash-v3").user).toBe(PPC_FEATURE_HAS_MMU);
  });

  it("performance-monitor-power9/power8: HFSCR[PM] (PPC_BIT(60)) and CPU_FTR_MMCRA", () => {
    for (const name of ["performance-monitor-power9", "performance-monitor-power8"]) {
      const r = only(name);
      expect(r.spec.hfscr).toBe(1n << (63n - 60n));
      expect(r.ftrOn).toBe(CPU_FTR_MMCRA);
    }
  });

  it("the match table's feature bits: CFAR, TM assist, XER[SO] bug", () => {
    expect(only("come-from-address-register").ftrOn).toBe(CPU_FTR_CFAR);
    // on DD2.3 the quirks add neither, so what is on came from the table
    expect(only("tm-suspend-hypervisor-assist").ftrOn).toBe(CPU_FTR_P9_TM_HV_ASSIST);
    expect(only("tm-suspend-xer-so-bug").ftrOn).toBe(CPU_FTR_P9_TM_XER_SO_BUG);
  });

  it("system-call-vectored is disabled by this kernel (feat_disable)", () => {
    const r = only("system-call-vectored");
    expect(r.spec.disabledFeatures).toEqual(["system-call-vectored"]);
    expect(r.log.at("info")).toContain(
      "dt-cpu-ftrs: not enabling: system-call-vectored (disabled or unsupported by kernel)",
    );
  });

  it("hypervisor with MSR[HV]: enabled, HVMODE, no complaint", () => {
    const r = only("hypervisor", { isa: 3000, usable: HV });
    expect(r.spec.enabledFeatures).toEqual(["hypervisor"]);
    expect(r.spec.cpuFeatures & CPU_FTR_HVMODE).toBe(CPU_FTR_HVMODE);
    expect(r.log.at("err")).toEqual([]);
  });

  it("idle-stop-guest: enable_guest_stop only in a build that carries the handler", () => {
    const known = only(IDLE_STOP, plain, { knowsIdleStopGuest: true });
    expect(known.spec.enableGuestStop).toBe(true);
    expect(known.log.at("info")).toContain("dt-cpu-ftrs: enable_guest_stop = true");
    expect(known.log.at("debug")).toContain("dt-cpu-ftrs: enabling: idle-stop-guest");
    // a build without the handler enables it as an unknown feature: nothing reads it
    const unknown = only(IDLE_STOP, plain, { knowsIdleStopGuest: false });
    expect(unknown.spec.enableGuestStop).toBe(false);
    expect(unknown.log.at("debug")).toContain("dt-cpu-ftrs: enabling: idle-stop-guest (unknown)");
    expect(unknown.log.at("info").some((l) => l.startsWith("dt-cpu-ftrs: enable_guest_stop"))).toBe(false);
    // a build with the handler on a tree without the feature says false
    const absent = only("smt", plain, { knowsIdleStopGuest: true });
    expect(absent.log.at("info")).toContain("dt-cpu-ftrs: enable_guest_stop = false");
  });
});

const IDLE_STOP = "idle-stop-guest";

/** linux v5.7 arch/powerpc/kernel/dt_cpu_ftrs.c dt_cpu_feature_match_table, in its order. */
const LINUX_MATCH_TABLE = [
  "hypervisor",
  "big-endian",
  "little-endian",
  "smt",
  "interrupt-facilities",
  "timer-facilities",
  "timer-facilities-v3",
  "debug-facilities",
  "come-from-address-register",
  "branch-tracing",
  "floating-point",
  "vector",
  "vector-scalar",
  "vector-scalar-v3",
  "decimal-floating-point",
  "decimal-integer",
  "quadword-load-store",
  "vector-crypto",
  "mmu-hash",
  "mmu-radix",
  "mmu-hash-v3",
  "virtual-page-class-key-protection",
  "transactional-memory",
  "transactional-memory-v3",
  "tm-suspend-hypervisor-assist",
  "tm-suspend-xer-so-bug",
  "idle-nap",
  "alignment-interrupt-dsisr",
  "idle-stop",
  "machine-check-power8",
  "performance-monitor-power8",
  "data-stream-control-register",
  "event-based-branch",
  "target-address-register",
  "branch-history-rolling-buffer",
  "control-register",
  "processor-control-facility",
  "processor-control-facility-v3",
  "processor-utilization-of-resources-register",
  "no-execute",
  "strong-access-ordering",
  "cache-inhibited-large-page",
  "coprocessor-icswx",
  "hypervisor-virtualization-interrupt",
  "program-priority-register",
  "wait",
  "atomic-memory-operations",
  "branch-v3",
  "copy-paste",
  "decimal-floating-point-v3",
  "decimal-integer-v3",
  "fixed-point-v3",
  "floating-point-v3",
  "group-start-register",
  "pc-relative-addressing",
  "machine-check-power9",
  "performance-monitor-power9",
  "event-based-branch-v3",
  "random-number-generator",
  "system-call-vectored",
  "trace-interrupt-v3",
  "vector-v3",
  "vector-binary128",
  "vector-binary16",
  "wait-v3",
];

describe("the match table, row by row (dt_cpu_ftrs=known: only known features are enabled)", () => {
  it("every feature of the kernel's table has a handler that enables it; system-call-vectored's refuses", () => {
    const feats = Object.fromEntries(LINUX_MATCH_TABLE.map((n) => [n, plain]));
    const { spec, log } = scan({ ...feats, "zz-not-in-table": plain }, { enableUnknown: false });
    expect(spec.enabledFeatures).toEqual(LINUX_MATCH_TABLE.filter((n) => n !== "system-call-vectored"));
    expect(spec.disabledFeatures).toEqual(["system-call-vectored", "zz-not-in-table"]);
    expect(log.at("err")).toEqual([]);
    expect(log.at("debug").filter((l) => l.endsWith("(unknown)"))).toEqual([]);
  });

  it("handlers that clear LPCR bits clear only those: the wake-up bits set before stay", () => {
    const { spec } = scan({
      "idle-stop": plain,
      "hypervisor-virtualization-interrupt": plain,
      hypervisor: { isa: 3000, usable: HV },
      "mmu-hash-v3": plain,
      "mmu-hash": plain,
      "data-stream-control-register": plain,
    });
    expect(spec.lpcr).toBe(
      LPCR_PECE0 |
        LPCR_PECE1 |
        LPCR_PECE2 |
        LPCR_HVICE |
        LPCR_HEIC |
        LPCR_PECE_HVEE |
        LPCR_VPM0 |
        (0x10n << 47n) |
        (4n << 52n),
    );
    // the hypervisor handler adds HVMODE (already in the base) and takes nothing away
    const base = scan({}).spec.cpuFeatures;
    expect(scan({ hypervisor: { isa: 3000, usable: HV } }).spec.cpuFeatures).toBe(base);
  });
});

describe("cpufeatures_deps_enable: features with dependencies", () => {
  it("a feature whose dependency is enabled is enabled after it", () => {
    const { spec } = scan({
      "vector-scalar": { ...plain, deps: ["vector"] },
      vector: plain,
    });
    expect(spec.enabledFeatures).toEqual(["vector-scalar", "vector"]);
    expect(spec.cpuFeatures & CPU_FTR_VSX).toBe(CPU_FTR_VSX);
  });

  it("a feature whose dependency is disabled is disabled too, without running its handler", () => {
    const { spec, log } = scan({
      smt: { ...plain, deps: ["system-call-vectored"] },
      "system-call-vectored": plain,
    });
    expect(spec.disabledFeatures).toEqual(["smt", "system-call-vectored"]);
    expect(spec.cpuFeatures & CPU_FTR_SMT).toBe(0n);
    expect(log.at("debug").some((l) => l.includes("enabling: smt"))).toBe(false);
  });

  it("dependency chains resolve recursively, in either order", () => {
    const { spec } = scan({
      a: { ...plain, deps: ["b"] },
      b: { ...plain, deps: ["c"] },
      c: { ...plain, deps: ["system-call-vectored"] },
      "system-call-vectored": plain,
      d: { ...plain, deps: ["e"] },
      e: { ...plain, deps: ["smt"] },
      smt: plain,
    });
    expect(spec.disabledFeatures).toEqual(["a", "b", "c", "system-call-vectored"]);
    expect(spec.enabledFeatures).toEqual(["d", "e", "smt"]);
  });

  it("a dependency on a skipped (malformed) node is ignored; a dependency cycle terminates", () => {
    const { spec } = scan({
      smt: { ...plain, deps: ["broken"] },
      broken: { usable: PR },
      x: { ...plain, deps: ["y"] },
      y: { ...plain, deps: ["x"] },
    });
    expect(spec.enabledFeatures).toEqual(["smt", "x", "y"]);
  });

  it("a phandle no feature has, or a dependencies value of odd length, depends on nothing", () => {
    const tree = featuresTree({
      smt: plain,
      "little-endian": { ...plain, depsRaw: new Uint8Array([0, 0, 0]) },
    });
    tree.requireNode("/cpus/ibm,powerpc-cpu-features/smt").setPropU32("dependencies", 0x777);
    const s = scanDtCpuFeatures(tree, opts(), new KernelLog(new Simulation()));
    expect(s.enabledFeatures).toEqual(["smt", "little-endian"]);
  });

  it("a dependency disabled in the second pass (it has dependencies itself) disables its dependants", () => {
    const { spec } = scan({
      smt: { ...plain, deps: ["system-call-vectored"] },
      "system-call-vectored": { ...plain, depsRaw: new Uint8Array(0) },
    });
    expect(spec.disabledFeatures).toEqual(["smt", "system-call-vectored"]);
    expect(spec.cpuFeatures & CPU_FTR_SMT).toBe(0n);
  });

  it("a disabled dependency listed after an enabled one still disables the feature", () => {
    const { spec } = scan({
      smt: { ...plain, deps: ["vector", "system-call-vectored"] },
      vector: plain,
      "system-call-vectored": plain,
    });
    expect(spec.disabledFeatures).toEqual(["smt", "system-call-vectored"]);
    expect(spec.enabledFeatures).toEqual(["vector"]);
  });
});

describe("cpufeatures_cpu_quirks and update_tlbie_feature_flag, by PVR", () => {
  const quirks = (pvr: number) => scan({}, { pvr }).spec.cpuFeatures;
  const has = (pvr: number, ftr: bigint) => (quirks(pvr) & ftr) === ftr;

  it("Nimbus DD2.0: the radix prefetch bug, not DD2_1", () => {
    expect(has(0x004e0200, CPU_FTR_P9_RADIX_PREFETCH_BUG)).toBe(true);
    expect(has(0x004e0200, CPU_FTR_POWER9_DD2_1)).toBe(false);
    // bit 12 of the PVR (0x1000) is ignored by the DD comparisons
    expect(has(0x004e1200, CPU_FTR_P9_RADIX_PREFETCH_BUG)).toBe(true);
  });

  it("Nimbus DD2.1: DD2_1 and the radix prefetch bug", () => {
    for (const pvr of [0x004e0201, 0x004e1201]) {
      expect(has(pvr, CPU_FTR_POWER9_DD2_1)).toBe(true);
      expect(has(pvr, CPU_FTR_P9_RADIX_PREFETCH_BUG)).toBe(true);
    }
  });

  it("Nimbus DD2.2: TM assist, XER[SO] bug and DD2_1, no prefetch bug", () => {
    for (const pvr of [0x004e0202, DD22]) {
      expect(has(pvr, CPU_FTR_P9_TM_HV_ASSIST | CPU_FTR_P9_TM_XER_SO_BUG | CPU_FTR_POWER9_DD2_1)).toBe(true);
      expect(has(pvr, CPU_FTR_P9_RADIX_PREFETCH_BUG)).toBe(false);
    }
  });

  it("Nimbus DD2.3: only DD2_1 of the revision quirks", () => {
    expect(has(DD23, CPU_FTR_POWER9_DD2_1)).toBe(true);
    expect(has(DD23, CPU_FTR_P9_TM_HV_ASSIST)).toBe(false);
    expect(has(DD23, CPU_FTR_P9_TM_XER_SO_BUG)).toBe(false);
    expect(has(DD23, CPU_FTR_P9_RADIX_PREFETCH_BUG)).toBe(false);
  });

  it("every POWER9: no DAWR, TIDR and the tlbie ERAT bug; every CPU: PKEY", () => {
    expect(CPU_FTRS_DT_CPU_BASE & CPU_FTR_DAWR).toBe(CPU_FTR_DAWR);
    for (const pvr of [0x004e0200, DD22, DD23, 0x004e2102]) {
      expect(has(pvr, CPU_FTR_DAWR)).toBe(false);
      expect(has(pvr, CPU_FTR_P9_TIDR | CPU_FTR_P9_TLBIE_ERAT_BUG | CPU_FTR_PKEY)).toBe(true);
    }
    // a POWER8 PVR: none of the POWER9 quirks, DAWR kept
    const p8 = 0x004d0200;
    expect(has(p8, CPU_FTR_DAWR)).toBe(true);
    expect(has(p8, CPU_FTR_PKEY)).toBe(true);
    for (const f of [
      CPU_FTR_P9_TIDR,
      CPU_FTR_P9_TLBIE_ERAT_BUG,
      CPU_FTR_P9_TLBIE_STQ_BUG,
      CPU_FTR_POWER9_DD2_1,
    ])
      expect(has(p8, f)).toBe(false);
  });

  it("the tlbie store-queue bug: Nimbus below DD2.3, Cumulus below DD1.3, unknown POWER9 parts", () => {
    // Nimbus (PVR bits 0xe000 clear)
    expect(has(DD22, CPU_FTR_P9_TLBIE_STQ_BUG)).toBe(true);
    expect(has(DD23, CPU_FTR_P9_TLBIE_STQ_BUG)).toBe(false);
    expect(has(0x004e0203, CPU_FTR_P9_TLBIE_STQ_BUG)).toBe(false);
    // Cumulus (0x2000 set, 0xc000 clear)
    expect(has(0x004e2102, CPU_FTR_P9_TLBIE_STQ_BUG)).toBe(true);
    expect(has(0x004e2103, CPU_FTR_P9_TLBIE_STQ_BUG)).toBe(false);
    expect(has(0x004e2203, CPU_FTR_P9_TLBIE_STQ_BUG)).toBe(false);
    // neither (0x4000 set): WARN_ONCE("Unknown PVR") and the bug assumed
    expect(has(0x004e4203, CPU_FTR_P9_TLBIE_STQ_BUG)).toBe(true);
    expect(has(0x004e8203, CPU_FTR_P9_TLBIE_STQ_BUG)).toBe(true);
  });

  it("the cputable fallback also runs the quirks for its PVR", () => {
    const s = scanDtCpuFeatures(new DeviceTree(), opts({ pvr: 0x004e0201 }), new KernelLog(new Simulation()));
    expect(s.cpuFeatures & CPU_FTR_P9_RADIX_PREFETCH_BUG).toBe(CPU_FTR_P9_RADIX_PREFETCH_BUG);
    expect(s.cpuFeatures & CPU_FTR_DAWR).toBe(0n);
  });
});

describe("the tree OPAL builds", () => {
  it("every feature node of the DD2.3 tree is valid for the host and the known ones are enabled", () => {
    const machine = new PnvMachine(new Simulation(), { chip: chipById("dd2.3") });
    const tree = buildHostTree({ machine, firmware: parseFirmwareVersion("new") });
    const log = new KernelLog(new Simulation());
    const s = scanDtCpuFeatures(tree, opts(), log);
    expect(log.at("warn", "err")).toEqual([]);
    expect(s.enabledFeatures).toContain("idle-stop-guest");
    expect(s.enableGuestStop).toBe(true);
    // skiboot lists system-call-vectored, which this (2020) kernel disables (feat_disable)
    expect(s.disabledFeatures).toEqual(["system-call-vectored"]);
  });
});

describe("KVM build presets (build.ts)", () => {
  it("the presets differ exactly where the designs differ", () => {
    const rows = Object.values(KVM_BUILDS).map((b) => [
      b.name,
      b.emulateStopTrap,
      b.psscrPolicy,
      b.reportsKvmCapStop,
      b.reportsGuestStopSupport,
      buildKnowsIdleStopGuest(b),
    ]);
    expect(rows).toEqual([
      // 2020 upstream: stop in a guest traps and nothing emulates it; PSSCR_EC always set
      ["upstream-2020", false, "always-set", false, false, false],
      // RFC patch 1: the trap is emulated
      ["patch1", true, "always-set", false, false, false],
      // RFC patch 2 as posted: ESL|EC cleared unconditionally
      ["patch2-as-posted", true, "always-clear", false, false, false],
      ["host-probed", false, "clear-if-enable-guest-stop", true, false, true],
      ["fallback", true, "clear-if-enable-guest-stop", false, true, true],
    ]);
    for (const [key, b] of Object.entries(KVM_BUILDS)) expect(b.name).toBe(key);
  });

  it("a build knows idle-stop-guest when its policy reads enable_guest_stop or KVM_CAP_STOP reports it", () => {
    const base: KvmBuild = KVM_BUILDS["upstream-2020"];
    expect(buildKnowsIdleStopGuest({ ...base, reportsKvmCapStop: true })).toBe(true);
    expect(buildKnowsIdleStopGuest({ ...base, psscrPolicy: "clear-if-enable-guest-stop" })).toBe(true);
    expect(buildKnowsIdleStopGuest({ ...base, reportsGuestStopSupport: true })).toBe(false);
  });

  it("resolves preset names and accepts a valid custom build as is", () => {
    expect(resolveKvmBuild("patch1")).toBe(KVM_BUILDS.patch1);
    const custom: KvmBuild = { ...KVM_BUILDS.fallback, name: "mine", emulateStopTrap: false };
    expect(resolveKvmBuild(custom)).toBe(custom);
    for (const p of ["always-set", "always-clear", "clear-if-enable-guest-stop"] as const)
      expect(resolveKvmBuild({ ...custom, psscrPolicy: p }).psscrPolicy).toBe(p);
  });

  it("an unknown preset name is refused, listing the presets", () => {
    expect(() => resolveKvmBuild("patch3" as never)).toThrow(KvmBuildError);
    expect(() => resolveKvmBuild("patch3" as never)).toThrow(
      "unknown KVM build 'patch3': use one of upstream-2020, patch1, patch2-as-posted, host-probed, fallback or pass a KvmBuild object",
    );
    // inherited object keys are not presets
    expect(() => resolveKvmBuild("toString" as never)).toThrow(KvmBuildError);
  });

  it("a custom build with a bad policy or a non-boolean switch is refused, naming the field", () => {
    const custom: KvmBuild = { ...KVM_BUILDS.fallback, name: "mine" };
    expect(() => resolveKvmBuild({ ...custom, psscrPolicy: "sometimes" as never })).toThrow(
      "KvmBuild 'mine': psscrPolicy 'sometimes' is not one of always-set, always-clear, clear-if-enable-guest-stop",
    );
    for (const key of ["emulateStopTrap", "reportsKvmCapStop", "reportsGuestStopSupport"] as const) {
      const bad = { ...custom, [key]: "yes" } as unknown as KvmBuild;
      expect(() => resolveKvmBuild(bad)).toThrow(KvmBuildError);
      expect(() => resolveKvmBuild(bad)).toThrow(`KvmBuild 'mine': ${key} must be a boolean, got yes`);
    }
    const err = (() => {
      try {
        resolveKvmBuild("nope" as never);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.name).toBe("KvmBuildError");
  });
});
