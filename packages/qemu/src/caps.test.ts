// The spapr capabilities decision by decision: each apply hook against what the host's KVM offers
// (qemu: hw/ppc/spapr_caps.c cap_*_apply), the QOM setters and getters (spapr_cap_set_bool /
// _string / _pagesize), the cap levels QEMU reads from KVM_PPC_GET_CPU_CHAR (qemu: target/ppc/kvm.c
// parse_cap_ppc_*), the CPU models (target/ppc/cpu-models.c) and the machine types' help texts as
// qemu-system-ppc64 7.2 prints them.
import { describe, expect, it } from "vitest";
import {
  CAPABILITY_TABLE,
  type CapApplyContext,
  capByIndex,
  capByName,
  formatCapValue,
  type KvmCapProbe,
  parseBool,
  parseCapValue,
  SPAPR_CAP_NUM,
  type SpaprCapabilityInfo,
} from "./caps.js";
import { isKnownCpuModelName, resolveCpuModel } from "./cpu-models.js";
import { parseCpuChar } from "./kvm.js";
import {
  capsOfBuild,
  defaultCapsWithCpu,
  findMachine,
  MACHINE_TYPES,
  machineListHelp,
  machinePropertiesHelp,
  QEMU_BUILD_UPSTREAM,
} from "./machine.js";
import { qemuErrorOf } from "./test-helpers/errors.js";

type CpuChar = ReturnType<KvmCapProbe["cpuChar"]>;

/** A host whose KVM answers every query as told; a query the hook must not make throws. */
function probe(answers: Partial<KvmCapProbe> & { calls?: string[] } = {}): KvmCapProbe {
  const unexpected = (what: string) => () => {
    throw new Error(`unexpected KVM query ${what}`);
  };
  return {
    hasCapHtm: answers.hasCapHtm ?? unexpected("hasCapHtm"),
    cpuChar: answers.cpuChar ?? unexpected("cpuChar"),
    hasCapNestedKvmHv: answers.hasCapNestedKvmHv ?? unexpected("hasCapNestedKvmHv"),
    setCapNestedKvmHv: answers.setCapNestedKvmHv ?? unexpected("setCapNestedKvmHv"),
    largeDecrBits: answers.largeDecrBits ?? unexpected("largeDecrBits"),
    hasCapFwnmi: answers.hasCapFwnmi ?? unexpected("hasCapFwnmi"),
    hasCapMmuRadix: answers.hasCapMmuRadix ?? unexpected("hasCapMmuRadix"),
    hasCapRptInvalidate: answers.hasCapRptInvalidate ?? unexpected("hasCapRptInvalidate"),
    hasCapGuestStop: answers.hasCapGuestStop ?? unexpected("hasCapGuestStop"),
  };
}

function ctx(kvm: KvmCapProbe, over: Partial<CapApplyContext> = {}): CapApplyContext {
  return { kvm, modelDecrBits: 56, ramPageSize: 64 * 1024, ...over };
}

function cap(name: string): SpaprCapabilityInfo {
  const c = capByName(name);
  if (!c) throw new Error(`no cap ${name}`);
  return c;
}

const errorOf = qemuErrorOf;

const apply = (name: string, level: number, c: CapApplyContext) => cap(name).apply(level, c);

describe("boolean capabilities that ask KVM only when on", () => {
  const cases: [string, keyof KvmCapProbe, string][] = [
    ["htm", "hasCapHtm", "KVM implementation does not support Transactional Memory"],
    ["fwnmi", "hasCapFwnmi", "Firmware Assisted Non-Maskable Interrupts(FWNMI) not supported by KVM."],
    [
      "stop-lite",
      "hasCapGuestStop",
      "Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop)",
    ],
  ];
  for (const [name, query, reason] of cases) {
    it(`cap-${name}: off asks nothing, on needs KVM's ${query}`, () => {
      expect(apply(name, 0, ctx(probe()))).toEqual([]);
      expect(apply(name, 1, ctx(probe({ [query]: () => true })))).toEqual([]);
      const e = errorOf(() => apply(name, 1, ctx(probe({ [query]: () => false }))));
      expect(e.reason).toBe(reason);
      expect(e.hint).toBe(`Try appending -machine cap-${name}=off`);
    });
  }

  it("cap-vsx and cap-dfp: POWER9 has both, nothing to ask KVM at any level", () => {
    for (const name of ["vsx", "dfp"]) {
      expect(apply(name, 0, ctx(probe()))).toEqual([]);
      expect(apply(name, 1, ctx(probe()))).toEqual([]);
    }
  });
});

describe("cap-nested-hv (cap_nested_kvm_hv_apply)", () => {
  it("needs KVM_CAP_PPC_NESTED_HV, then enables it on the VM and fails when that fails", () => {
    expect(apply("nested-hv", 0, ctx(probe()))).toEqual([]);
    const missing = errorOf(() => apply("nested-hv", 1, ctx(probe({ hasCapNestedKvmHv: () => false }))));
    expect(missing.reason).toBe("KVM implementation does not support Nested-HV");
    expect(missing.hint).toBe("Try appending -machine cap-nested-hv=off");
    const enabled: boolean[] = [];
    const ok = probe({
      hasCapNestedKvmHv: () => true,
      setCapNestedKvmHv: (on) => {
        enabled.push(on);
        return 0;
      },
    });
    expect(apply("nested-hv", 1, ctx(ok))).toEqual([]);
    expect(enabled).toEqual([true]);
    const refused = probe({ hasCapNestedKvmHv: () => true, setCapNestedKvmHv: () => -22 });
    const e = errorOf(() => apply("nested-hv", 1, ctx(refused)));
    expect(e.reason).toBe("Error enabling cap-nested-hv with KVM");
    expect(e.hint).toBe("Try appending -machine cap-nested-hv=off");
  });
});

describe("cap-large-decr (cap_large_decr_apply)", () => {
  it("needs KVM's large decrementer with the model's width", () => {
    expect(apply("large-decr", 0, ctx(probe()))).toEqual([]);
    expect(apply("large-decr", 1, ctx(probe({ largeDecrBits: () => 56 })))).toEqual([]);
    const none = errorOf(() => apply("large-decr", 1, ctx(probe({ largeDecrBits: () => 0 }))));
    expect(none.reason).toBe("No large decrementer support");
    expect(none.hint).toBe("Try appending -machine cap-large-decr=off");
    const narrow = errorOf(() => apply("large-decr", 1, ctx(probe({ largeDecrBits: () => 48 }))));
    expect(narrow.reason).toBe("KVM large decrementer size (48) differs to model (56)");
    expect(narrow.hint).toBe("Try appending -machine cap-large-decr=off");
    // the model's width is the context's, not a constant
    expect(apply("large-decr", 1, ctx(probe({ largeDecrBits: () => 48 }), { modelDecrBits: 48 }))).toEqual(
      [],
    );
  });
});

describe("cap-rpt-invalidate (cap_rpt_invalidate_apply)", () => {
  it("needs a radix-capable KVM first, then KVM_CAP_PPC_RPT_INVALIDATE", () => {
    expect(apply("rpt-invalidate", 0, ctx(probe()))).toEqual([]);
    const hash = errorOf(() => apply("rpt-invalidate", 1, ctx(probe({ hasCapMmuRadix: () => false }))));
    expect(hash.reason).toBe("H_RPT_INVALIDATE only supported on Radix");
    expect(hash.hint).toBeUndefined();
    const old = probe({ hasCapMmuRadix: () => true, hasCapRptInvalidate: () => false });
    const e = errorOf(() => apply("rpt-invalidate", 1, ctx(old)));
    expect(e.reason).toBe("KVM implementation does not support H_RPT_INVALIDATE");
    expect(e.hint).toBe("Try appending -machine cap-rpt-invalidate=off");
    const both = probe({ hasCapMmuRadix: () => true, hasCapRptInvalidate: () => true });
    expect(apply("rpt-invalidate", 1, ctx(both))).toEqual([]);
  });
});

describe("the speculation caps against KVM_PPC_GET_CPU_CHAR's levels", () => {
  // each cap reads its own field: the levels differ so that reading another one shows
  const host: CpuChar = { safeCache: 1, safeBoundsCheck: 2, safeIndirectBranch: 3, countCacheFlushAssist: 0 };
  const kvm = probe({ cpuChar: () => host });

  it("cap-cfpc accepts up to KVM's safe cache level and names that level in the hint", () => {
    expect(apply("cfpc", 0, ctx(kvm))).toEqual([]);
    expect(apply("cfpc", 1, ctx(kvm))).toEqual([]);
    const e = errorOf(() => apply("cfpc", 2, ctx(kvm)));
    expect(e.reason).toBe("Requested safe cache capability level not supported by KVM");
    expect(e.hint).toBe("Try appending -machine cap-cfpc=workaround");
  });

  it("cap-sbbc accepts KVM's bounds check level", () => {
    expect(apply("sbbc", 2, ctx(kvm))).toEqual([]);
    const low = probe({ cpuChar: () => ({ ...host, safeBoundsCheck: 0 }) });
    const e = errorOf(() => apply("sbbc", 1, ctx(low)));
    expect(e.reason).toBe("Requested safe bounds check capability level not supported by KVM");
    expect(e.hint).toBe("Try appending -machine cap-sbbc=broken");
  });

  it("cap-ibs compares with the indirect branch level and hints the five-value names", () => {
    expect(apply("ibs", 3, ctx(kvm))).toEqual([]);
    const e = errorOf(() => apply("ibs", 4, ctx(kvm)));
    expect(e.reason).toBe("Requested safe indirect branch capability level not supported by KVM");
    expect(e.hint).toBe("Try appending -machine cap-ibs=fixed-ccd");
  });

  it("cap-ccf-assist needs the flush assist, unless the host disabled the count cache", () => {
    const with1 = (c: Partial<CpuChar>) => probe({ cpuChar: () => ({ ...host, ...c }) });
    expect(apply("ccf-assist", 0, ctx(with1({ safeIndirectBranch: 1 })))).toEqual([]);
    expect(apply("ccf-assist", 1, ctx(with1({ countCacheFlushAssist: 1, safeIndirectBranch: 1 })))).toEqual(
      [],
    );
    // POWER9 DD2.3: count cache disabled (fixed-ccd), no assist needed
    expect(apply("ccf-assist", 1, ctx(with1({ safeIndirectBranch: 3 })))).toEqual([]);
    for (const ibs of [0, 1, 2, 4]) {
      const e = errorOf(() => apply("ccf-assist", 1, ctx(with1({ safeIndirectBranch: ibs }))));
      expect(e.reason).toBe("Requested count cache flush assist capability level not supported by KVM");
      expect(e.hint).toBe("Try appending -machine cap-ccf-assist=off");
    }
  });
});

describe("cap-hpt-max-page-size (cap_hpt_maxpagesize_apply, spapr_check_pagesize)", () => {
  const hpt = (shift: number, ramPageSize = 64 * 1024) =>
    apply("hpt-max-page-size", shift, ctx(probe(), { ramPageSize }));

  it("refuses less than 4 KiB and warns below 64 KiB", () => {
    expect(errorOf(() => hpt(11)).reason).toBe("Require at least 4kiB hpt-max-page-size");
    expect(hpt(12)).toEqual(["Many guests require at least 64kiB hpt-max-page-size"]);
    expect(hpt(15)).toEqual(["Many guests require at least 64kiB hpt-max-page-size"]);
    expect(hpt(16)).toEqual([]);
  });

  it("refuses guest pages larger than the host's RAM pages", () => {
    expect(errorOf(() => hpt(17)).reason).toBe(
      "Can't support 128 kiB guest pages with 64 kiB host pages with this KVM implementation",
    );
    expect(errorOf(() => hpt(24)).reason).toBe(
      "Can't support 16384 kiB guest pages with 64 kiB host pages with this KVM implementation",
    );
    // hugepage-backed RAM (16 MiB pages) allows 16 MiB guest pages
    expect(hpt(24, 16 << 20)).toEqual([]);
    expect(errorOf(() => hpt(16, 4096)).reason).toBe(
      "Can't support 64 kiB guest pages with 4 kiB host pages with this KVM implementation",
    );
  });
});

describe("setters and getters of the cap properties", () => {
  it("bool caps take QEMU's boolean spellings and nothing else", () => {
    for (const v of ["on", "yes", "true", "y"]) expect(parseCapValue(cap("htm"), v)).toBe(1);
    for (const v of ["off", "no", "false", "n"]) expect(parseCapValue(cap("htm"), v)).toBe(0);
    expect(errorOf(() => parseCapValue(cap("fwnmi"), "ON")).reason).toBe(
      "Parameter 'cap-fwnmi' expects 'on' or 'off'",
    );
    expect(errorOf(() => parseBool("x", "")).reason).toBe("Parameter 'x' expects 'on' or 'off'");
  });

  it("string caps match their modes case-insensitively, answer '?' with the help", () => {
    expect(parseCapValue(cap("cfpc"), "broken")).toBe(0);
    expect(parseCapValue(cap("cfpc"), "FIXED")).toBe(2);
    expect(parseCapValue(cap("ibs"), "Fixed-CCD")).toBe(3);
    expect(parseCapValue(cap("ibs"), "fixed-na")).toBe(4);
    expect(parseCapValue(cap("sbbc"), "workaround")).toBe(1);
    // qemu-system-ppc64 7.2 -M pseries,cap-cfpc=? prints this help
    expect(errorOf(() => parseCapValue(cap("cfpc"), "?")).reason).toBe(
      "broken - no protection, workaround - workaround available, fixed - fixed in hardware",
    );
    expect(errorOf(() => parseCapValue(cap("ibs"), "?")).reason).toMatch(
      /^broken - no protection, workaround - count cache flush, fixed-ibs/,
    );
    expect(errorOf(() => parseCapValue(cap("sbbc"), "fixed-ibs")).reason).toBe(
      'Invalid capability mode "fixed-ibs" for cap-sbbc',
    );
    const listless: SpaprCapabilityInfo = { ...cap("cfpc"), possible: undefined };
    expect(() => parseCapValue(listless, "broken")).toThrow("cap-cfpc has no value list");
  });

  it("the page size cap takes a power-of-two size and stores its log2", () => {
    const hpt = cap("hpt-max-page-size");
    expect(parseCapValue(hpt, "4k")).toBe(12);
    expect(parseCapValue(hpt, "64K")).toBe(16);
    expect(parseCapValue(hpt, "16M")).toBe(24);
    expect(parseCapValue(hpt, "1")).toBe(0);
    expect(errorOf(() => parseCapValue(hpt, "0")).reason).toBe("cap-hpt-max-page-size must be a power of 2");
    expect(errorOf(() => parseCapValue(hpt, "96k")).reason).toBe(
      "cap-hpt-max-page-size must be a power of 2",
    );
    expect(errorOf(() => parseCapValue(hpt, "big")).reason).toBe(
      "Parameter 'cap-hpt-max-page-size' expects size",
    );
  });

  it("the getters show bools, mode names and the page size in bytes", () => {
    expect(formatCapValue(cap("htm"), 0)).toBe(false);
    expect(formatCapValue(cap("htm"), 1)).toBe(true);
    expect(formatCapValue(cap("ibs"), 4)).toBe("fixed-na");
    expect(formatCapValue(cap("cfpc"), 3)).toBe("invalid (3)");
    expect(formatCapValue(cap("hpt-max-page-size"), 16)).toBe(65536);
  });
});

describe("the capability table", () => {
  it("finds caps by property name with or without cap-, and by SPAPR_CAP_* index", () => {
    expect(capByName("cap-nested-hv")?.migName).toBe("nested_kvm_hv");
    expect(capByName("nested-hv")?.migName).toBe("nested_kvm_hv");
    expect(capByName("cap-")).toBeUndefined();
    expect(capByName("nested_kvm_hv")).toBeUndefined();
    for (let i = 0; i < SPAPR_CAP_NUM; i++) expect(capByIndex(i).index).toBe(i);
    expect(() => capByIndex(SPAPR_CAP_NUM)).toThrow(`no spapr capability with index ${SPAPR_CAP_NUM}`);
  });

  it("numbers and names the caps as QEMU's SPAPR_CAP_* and SPAPR_CAP_MIG_STATE do", () => {
    // qemu: include/hw/ppc/spapr.h SPAPR_CAP_HTM 0x00 ... SPAPR_CAP_RPT_INVALIDATE 0x0B;
    // hw/ppc/spapr_caps.c SPAPR_CAP_MIG_STATE(name, ...) gives the "spapr/cap/<name>" subsections
    expect(CAPABILITY_TABLE.map((c) => [c.index, `cap-${c.name}`, c.migName])).toEqual([
      [0, "cap-htm", "htm"],
      [1, "cap-vsx", "vsx"],
      [2, "cap-dfp", "dfp"],
      [3, "cap-cfpc", "cfpc"],
      [4, "cap-sbbc", "sbbc"],
      [5, "cap-ibs", "ibs"],
      [6, "cap-hpt-max-page-size", "hpt_maxpagesize"],
      [7, "cap-nested-hv", "nested_kvm_hv"],
      [8, "cap-large-decr", "large_decr"],
      [9, "cap-ccf-assist", "ccf_assist"],
      [10, "cap-fwnmi", "fwnmi"],
      [11, "cap-rpt-invalidate", "rpt_invalidate"],
      [12, "cap-stop-lite", "stop_lite"],
    ]);
  });
});

describe("the cpu-char levels QEMU reads from KVM (parse_cap_ppc_*)", () => {
  // linux: arch/powerpc/include/asm/hvcall.h, IBM bit numbering (PPC_BIT)
  const PPC_BIT = (n: number) => 1n << BigInt(63 - n);
  const CHAR = {
    specBarOri31: PPC_BIT(0),
    bcctrlSerialised: PPC_BIT(1),
    l1dFlushOri30: PPC_BIT(2),
    l1dFlushTrig2: PPC_BIT(3),
    l1dThreadPriv: PPC_BIT(4),
    cacheCountDis: PPC_BIT(7),
    bcctrFlushAssist: PPC_BIT(9),
  };
  const BEHAV = { l1dFlushPr: PPC_BIT(1), bndsChkSpecBar: PPC_BIT(2), flushCountCache: PPC_BIT(5) };
  const ALL = (1n << 64n) - 1n;
  const cc = (character: bigint, behaviour: bigint, characterMask = ALL, behaviourMask = ALL) =>
    parseCpuChar({ character, behaviour, characterMask, behaviourMask });

  it("knows nothing when KVM masks everything out: every level broken", () => {
    expect(cc(ALL, ALL, 0n, 0n)).toEqual({
      safeCache: 0,
      safeBoundsCheck: 0,
      safeIndirectBranch: 0,
      countCacheFlushAssist: 0,
    });
  });

  it("safe cache: fixed without the L1D flush on privilege change, workaround with a thread-private flush", () => {
    expect(cc(0n, 0n).safeCache).toBe(2);
    const flushPr = BEHAV.l1dFlushPr;
    expect(cc(CHAR.l1dThreadPriv | CHAR.l1dFlushOri30, flushPr).safeCache).toBe(1);
    expect(cc(CHAR.l1dThreadPriv | CHAR.l1dFlushTrig2, flushPr).safeCache).toBe(1);
    // POWER9 needs the thread-private flush (kvmppc_power8_host() is false)
    expect(cc(CHAR.l1dFlushOri30 | CHAR.l1dFlushTrig2, flushPr).safeCache).toBe(0);
    expect(cc(CHAR.l1dThreadPriv, flushPr).safeCache).toBe(0);
    // a characteristic outside the mask does not count
    expect(cc(CHAR.l1dThreadPriv | CHAR.l1dFlushOri30, flushPr, CHAR.l1dThreadPriv).safeCache).toBe(0);
    // behaviour outside its mask: the flush is not known to be unneeded
    expect(cc(0n, 0n, ALL, 0n).safeCache).toBe(0);
  });

  it("safe bounds check: fixed without the speculation barrier, workaround with ori31", () => {
    expect(cc(0n, 0n).safeBoundsCheck).toBe(2);
    expect(cc(CHAR.specBarOri31, BEHAV.bndsChkSpecBar).safeBoundsCheck).toBe(1);
    expect(cc(0n, BEHAV.bndsChkSpecBar).safeBoundsCheck).toBe(0);
    expect(cc(CHAR.specBarOri31, BEHAV.bndsChkSpecBar, 0n).safeBoundsCheck).toBe(0);
  });

  it("safe indirect branch: fixed-na, workaround, fixed-ccd, fixed-ibs in QEMU's order", () => {
    expect(cc(0n, 0n).safeIndirectBranch).toBe(4);
    expect(cc(CHAR.cacheCountDis | CHAR.bcctrlSerialised, BEHAV.flushCountCache).safeIndirectBranch).toBe(1);
    expect(cc(CHAR.cacheCountDis | CHAR.bcctrlSerialised, 0n).safeIndirectBranch).toBe(3);
    expect(cc(CHAR.cacheCountDis, 0n).safeIndirectBranch).toBe(3);
    expect(cc(CHAR.bcctrlSerialised, 0n).safeIndirectBranch).toBe(2);
    // fixed-na needs all three known to be absent: with the behaviour bit masked out it is broken
    expect(cc(0n, 0n, ALL, 0n).safeIndirectBranch).toBe(0);
    expect(cc(0n, 0n, CHAR.bcctrlSerialised).safeIndirectBranch).toBe(0);
    expect(cc(0n, 0n, CHAR.cacheCountDis).safeIndirectBranch).toBe(0);
  });

  it("count cache flush assist: the bcctr flush assist characteristic", () => {
    expect(cc(CHAR.bcctrFlushAssist, 0n).countCacheFlushAssist).toBe(1);
    expect(cc(ALL & ~CHAR.bcctrFlushAssist, 0n).countCacheFlushAssist).toBe(0);
    expect(cc(CHAR.bcctrFlushAssist, 0n, ALL & ~CHAR.bcctrFlushAssist).countCacheFlushAssist).toBe(0);
  });
});

describe("CPU models (-cpu)", () => {
  it("resolves POWER9 to power9_v2.0 without a host and to the host CPU under KVM", () => {
    // qemu-system-ppc64 7.2 -cpu help: power9_v2.0 PVR 004e1200, "power9 (alias for power9_v2.0)"
    expect(resolveCpuModel("POWER9", undefined)).toMatchObject({ name: "power9_v2.0", pvr: 0x004e1200 });
    expect(resolveCpuModel("power9_v1.0", undefined).pvr).toBe(0x004e0100);
    expect(resolveCpuModel("POWER9_V2.2", undefined).typeName).toBe("power9_v2.2-powerpc64-cpu");
    const host = resolveCpuModel("POWER9", 0x004e1203);
    expect(host).toEqual({
      name: "host",
      pvr: 0x004e1203,
      description: "POWER9 (host)",
      typeName: "host-powerpc64-cpu",
    });
    expect(resolveCpuModel("Host", 0x004e1202).pvr).toBe(0x004e1202);
    // a named model keeps its own PVR under KVM
    expect(resolveCpuModel("power9_v2.0", 0x004e1203).pvr).toBe(0x004e1200);
  });

  it("refuses unknown models and a host CPU that is no POWER9", () => {
    expect(errorOf(() => resolveCpuModel("power8", undefined)).reason).toBe(
      "unable to find CPU model 'power8'",
    );
    expect(errorOf(() => resolveCpuModel("host", undefined)).reason).toBe("unable to find CPU model 'host'");
    // a POWER8 host (PVR 0x004d....) has no POWER9 to offer
    expect(errorOf(() => resolveCpuModel("POWER9", 0x004d0200)).reason).toBe(
      "unable to find CPU model 'POWER9'",
    );
    expect(errorOf(() => resolveCpuModel("host", 0x014e1202)).reason).toBe("unable to find CPU model 'host'");
  });

  it("knows the names -cpu accepts on any POWER9 host", () => {
    for (const n of ["host", "HOST", "POWER9", "power9_v2.2", "Power9_V1.0"])
      expect(isKnownCpuModelName(n), n).toBe(true);
    for (const n of ["power8", "power9_v3.0", ""]) expect(isKnownCpuModelName(n), n).toBe(false);
  });
});

describe("machine types", () => {
  it("finds a type by name or alias and refuses others with QEMU's hint", () => {
    expect(findMachine("pseries").name).toBe("pseries-5.1");
    expect(findMachine("pseries-4.2").name).toBe("pseries-4.2");
    const e = errorOf(() => findMachine("pseries-9.9"));
    expect(e.reason).toBe("unsupported machine type");
    expect(e.hint).toBe("Use -machine help to list supported machines");
  });

  it("lists the types as qemu-system-ppc64 -M help does: strcmp order, the alias right above its type", () => {
    const pad = (s: string) => s.padEnd(20);
    const d = "pSeries Logical Partition (PAPR compliant)";
    expect(machineListHelp().split("\n")).toEqual([
      "Supported machines are:",
      `${pad("pseries-4.2")} ${d}`,
      `${pad("pseries-5.0")} ${d}`,
      `${pad("pseries")} ${d} (alias of pseries-5.1)`,
      `${pad("pseries-5.1")} ${d} (default)`,
    ]);
  });

  it("lists the machine properties as qemu-system-ppc64 7.2 -M pseries,help prints them", () => {
    const text = machinePropertiesHelp(findMachine("pseries-5.0"), QEMU_BUILD_UPSTREAM).split("\n");
    expect(text[0]).toBe("pseries-5.0-machine options:");
    // the cap and dumpdtb lines as QEMU 7.2 prints them (sorted by property name); QEMU adds
    // ic-mode per instance (spapr_instance_init), so its class help leaves it out where this one lists it
    expect(text.slice(1)).toEqual([
      "  cap-ccf-assist=<bool>  - Count Cache Flush Assist via HW Instruction",
      "  cap-cfpc=<string>      - Cache Flush on Privilege Change (broken, workaround, fixed)",
      "  cap-dfp=<bool>         - Allow Decimal Floating Point (DFP)",
      "  cap-fwnmi=<bool>       - Implements PAPR FWNMI option",
      "  cap-hpt-max-page-size=<int> - Maximum page size for Hash Page Table guests",
      "  cap-htm=<bool>         - Allow Hardware Transactional Memory (HTM)",
      "  cap-ibs=<string>       - Indirect Branch Speculation (broken, workaround, fixed-ibs,fixed-ccd, fixed-na)",
      "  cap-large-decr=<bool>  - Allow Large Decrementer",
      "  cap-nested-hv=<bool>   - Allow Nested KVM-HV",
      "  cap-rpt-invalidate=<bool> - Allow H_RPT_INVALIDATE",
      "  cap-sbbc=<string>      - Speculation Barrier Bounds Checking (broken, workaround, fixed)",
      "  cap-vsx=<bool>         - Allow Vector Scalar Extensions (VSX)",
      "  dumpdtb=<string>       - Dump current dtb to a file and quit",
      "  ic-mode=<string>       - Specifies the interrupt controller mode (xics, xive, dual)",
    ]);
    const withStop = machinePropertiesHelp(findMachine("pseries"), {
      stopLiteCap: true,
      probeKvmCapStop: false,
    });
    expect(withStop).toContain(
      "  cap-stop-lite=<bool>   - Allow guest use of the lite stop instruction (stop0lite)",
    );
  });

  it("offers cap-stop-lite only in builds of the capability design, off by default in them otherwise", () => {
    const names = (stopLiteCap: boolean) =>
      capsOfBuild({ stopLiteCap, probeKvmCapStop: false }).map((c) => c.name);
    expect(names(true)).toContain("stop-lite");
    expect(names(false)).not.toContain("stop-lite");
    expect(names(false)).toHaveLength(SPAPR_CAP_NUM - 1);
    // defaultCapsWithCpu hands out a copy: changing it leaves the machine type alone
    const m = MACHINE_TYPES[0];
    const caps = defaultCapsWithCpu(m, { stopLiteCap: true, probeKvmCapStop: false });
    caps[0] = 7;
    expect(m.defaultCaps[0]).toBe(0);
  });
});
