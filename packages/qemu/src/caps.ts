// sPAPR capabilities: the guest-visible machine features that must not depend on the host.
// qemu: hw/ppc/spapr_caps.c (capability_table, setters, .apply hooks, default_caps_with_cpu,
//       spapr_caps_post_migration, SPAPR_CAP_MIG_STATE), include/hw/ppc/spapr.h (SPAPR_CAP_* values).
// cap-stop-lite (SPAPR_CAP_STOP_LITE) is this project's new capability: guest use of the lite stop
// instruction (stop with PSSCR[ESL]=PSSCR[EC]=0), checked against the host kernel by its apply hook.

import { QemuError } from "./errors.js";
import { parseSize } from "./size.js";

export const SPAPR_CAP_HTM = 0x00;
export const SPAPR_CAP_VSX = 0x01;
export const SPAPR_CAP_DFP = 0x02;
export const SPAPR_CAP_CFPC = 0x03;
export const SPAPR_CAP_SBBC = 0x04;
export const SPAPR_CAP_IBS = 0x05;
export const SPAPR_CAP_HPT_MAXPAGESIZE = 0x06;
export const SPAPR_CAP_NESTED_KVM_HV = 0x07;
export const SPAPR_CAP_LARGE_DECREMENTER = 0x08;
export const SPAPR_CAP_CCF_ASSIST = 0x09;
export const SPAPR_CAP_FWNMI = 0x0a;
export const SPAPR_CAP_RPT_INVALIDATE = 0x0b;
/** New: guest use of the lite stop instruction. */
export const SPAPR_CAP_STOP_LITE = 0x0c;
export const SPAPR_CAP_NUM = 0x0d;

export const SPAPR_CAP_OFF = 0x00;
export const SPAPR_CAP_ON = 0x01;
export const SPAPR_CAP_BROKEN = 0x00;
export const SPAPR_CAP_WORKAROUND = 0x01;
export const SPAPR_CAP_FIXED = 0x02;
export const SPAPR_CAP_FIXED_IBS = 0x02;
export const SPAPR_CAP_FIXED_CCD = 0x03;
export const SPAPR_CAP_FIXED_NA = 0x04;

export type SpaprCapType = "bool" | "string" | "int";

/**
 * What a capability's apply hook may ask of the accelerator (KVM on the host): the queries QEMU's
 * kvmppc_* helpers make (qemu: target/ppc/kvm.c), answered through the host's KVM API.
 */
export interface KvmCapProbe {
  /** kvmppc_has_cap_htm: KVM_CAP_PPC_HTM. */
  hasCapHtm(): boolean;
  /** kvmppc_get_cap_safe_cache / _bounds_check / _indirect_branch / count_cache_flush_assist (KVM_PPC_GET_CPU_CHAR). */
  cpuChar(): {
    safeCache: number;
    safeBoundsCheck: number;
    safeIndirectBranch: number;
    countCacheFlushAssist: number;
  };
  /** kvmppc_has_cap_nested_kvm_hv / kvmppc_set_cap_nested_kvm_hv (KVM_CAP_PPC_NESTED_HV). */
  hasCapNestedKvmHv(): boolean;
  setCapNestedKvmHv(enable: boolean): number;
  /** kvmppc_get_cap_large_decr: the host's ibm,dec-bits (0 when none). */
  largeDecrBits(): number;
  /** kvmppc_get_fwnmi: KVM_CAP_PPC_FWNMI. */
  hasCapFwnmi(): boolean;
  /** kvmppc_has_cap_mmu_radix / kvmppc_has_cap_rpt_invalidate. */
  hasCapMmuRadix(): boolean;
  hasCapRptInvalidate(): boolean;
  /** The host kernel handles guest stop (natively or by trap and emulation): its guest-stop cap. */
  hasCapGuestStop(): boolean;
}

/** What the apply hooks know of the machine being built. */
export interface CapApplyContext {
  readonly kvm: KvmCapProbe;
  /** The CPU model's large decrementer size (pcc->lrg_decr_bits). */
  readonly modelDecrBits: number;
  /** Guest page size the RAM backend uses (qemu_minrampagesize; 64 KiB on POWER hosts). */
  readonly ramPageSize: number;
}

export interface SpaprCapabilityInfo {
  readonly index: number;
  /** Without the "cap-" prefix, e.g. "htm" (also the migration subsection suffix after "spapr/cap/"). */
  readonly name: string;
  /** The name of the vmstate subsection suffix (SPAPR_CAP_MIG_STATE sname): "nested_kvm_hv" ... */
  readonly migName: string;
  readonly description: string;
  readonly type: SpaprCapType;
  /** Possible values of a string cap, index = level (qemu: SpaprCapPossible). */
  readonly possible?: { readonly vals: readonly string[]; readonly help: string };
  /** Throws QemuError when the level cannot be provided; returns warnings otherwise. */
  readonly apply: (level: number, ctx: CapApplyContext) => string[];
}

function tryAppending(cap: string, value: string): string {
  return `Try appending -machine cap-${cap}=${value}`;
}

const cfpcPossible = {
  vals: ["broken", "workaround", "fixed"],
  help: "broken - no protection, workaround - workaround available, fixed - fixed in hardware",
};
const sbbcPossible = cfpcPossible;
const ibsPossible = {
  vals: ["broken", "workaround", "fixed-ibs", "fixed-ccd", "fixed-na"],
  help:
    "broken - no protection, workaround - count cache flush, fixed-ibs - indirect branch serialisation," +
    " fixed-ccd - cache count disabled, fixed-na - fixed in hardware (no longer applicable)",
};

// qemu: hw/ppc/spapr_caps.c cap_htm_apply
function capHtmApply(val: number, ctx: CapApplyContext): string[] {
  if (!val) return [];
  if (!ctx.kvm.hasCapHtm()) {
    throw new QemuError("KVM implementation does not support Transactional Memory", {
      hint: tryAppending("htm", "off"),
    });
  }
  return [];
}

// qemu: hw/ppc/spapr_caps.c cap_safe_cache_apply / cap_safe_bounds_check_apply / cap_safe_indirect_branch_apply
function tristateApply(
  cap: string,
  what: string,
  vals: readonly string[],
  pick: (c: ReturnType<KvmCapProbe["cpuChar"]>) => number,
) {
  return (val: number, ctx: CapApplyContext): string[] => {
    const kvmVal = pick(ctx.kvm.cpuChar());
    if (val > kvmVal) {
      throw new QemuError(`Requested ${what} capability level not supported by KVM`, {
        hint: tryAppending(cap, vals[kvmVal]),
      });
    }
    return [];
  };
}

// qemu: hw/ppc/spapr_caps.c cap_hpt_maxpagesize_apply / spapr_check_pagesize
function capHptMaxPageSizeApply(val: number, ctx: CapApplyContext): string[] {
  if (val < 12) throw new QemuError("Require at least 4kiB hpt-max-page-size");
  const warnings = val < 16 ? ["Many guests require at least 64kiB hpt-max-page-size"] : [];
  // KVM HV on POWER9 with a hash guest needs host-contiguous pages (kvmppc_hpt_needs_host_contiguous_pages)
  const max = 2 ** val;
  if (max > ctx.ramPageSize) {
    throw new QemuError(
      `Can't support ${max / 1024} kiB guest pages with ${ctx.ramPageSize / 1024} kiB host pages with this KVM implementation`,
    );
  }
  return warnings;
}

// qemu: hw/ppc/spapr_caps.c cap_nested_kvm_hv_apply
function capNestedKvmHvApply(val: number, ctx: CapApplyContext): string[] {
  if (!val) return [];
  if (!ctx.kvm.hasCapNestedKvmHv()) {
    throw new QemuError("KVM implementation does not support Nested-HV", {
      hint: tryAppending("nested-hv", "off"),
    });
  }
  if (ctx.kvm.setCapNestedKvmHv(true) < 0) {
    throw new QemuError("Error enabling cap-nested-hv with KVM", { hint: tryAppending("nested-hv", "off") });
  }
  return [];
}

// qemu: hw/ppc/spapr_caps.c cap_large_decr_apply
function capLargeDecrApply(val: number, ctx: CapApplyContext): string[] {
  if (!val) return [];
  const kvmNrBits = ctx.kvm.largeDecrBits();
  if (!kvmNrBits) {
    throw new QemuError("No large decrementer support", { hint: tryAppending("large-decr", "off") });
  }
  if (kvmNrBits !== ctx.modelDecrBits) {
    throw new QemuError(`KVM large decrementer size (${kvmNrBits}) differs to model (${ctx.modelDecrBits})`, {
      hint: tryAppending("large-decr", "off"),
    });
  }
  return [];
}

// qemu: hw/ppc/spapr_caps.c cap_ccf_assist_apply
function capCcfAssistApply(val: number, ctx: CapApplyContext): string[] {
  const c = ctx.kvm.cpuChar();
  if (val > c.countCacheFlushAssist) {
    // count-cache-disabled hosts make the flush unnecessary: allowed (POWER9 DD2.3 vs DD2.2)
    if (c.safeIndirectBranch === SPAPR_CAP_FIXED_CCD) return [];
    throw new QemuError("Requested count cache flush assist capability level not supported by KVM", {
      hint: tryAppending("ccf-assist", "off"),
    });
  }
  return [];
}

// qemu: hw/ppc/spapr_caps.c cap_fwnmi_apply
function capFwnmiApply(val: number, ctx: CapApplyContext): string[] {
  if (!val) return [];
  if (!ctx.kvm.hasCapFwnmi()) {
    throw new QemuError("Firmware Assisted Non-Maskable Interrupts(FWNMI) not supported by KVM.", {
      hint: tryAppending("fwnmi", "off"),
    });
  }
  return [];
}

// qemu: hw/ppc/spapr_caps.c cap_rpt_invalidate_apply
function capRptInvalidateApply(val: number, ctx: CapApplyContext): string[] {
  if (!val) return [];
  if (!ctx.kvm.hasCapMmuRadix()) throw new QemuError("H_RPT_INVALIDATE only supported on Radix");
  if (!ctx.kvm.hasCapRptInvalidate()) {
    throw new QemuError("KVM implementation does not support H_RPT_INVALIDATE", {
      hint: tryAppending("rpt-invalidate", "off"),
    });
  }
  return [];
}

/**
 * cap-stop-lite: the agreed design of the thread. The host kernel must handle a guest `stop` with
 * PSSCR[ESL]=PSSCR[EC]=0, either natively (DD2.3 with idle-stop-guest) or by trapping and emulating
 * the wakeup (patch 1); KVM says so with its guest-stop capability (KVM_CHECK_EXTENSION only: the
 * host's policy is per kernel, there is nothing to enable per VM).
 */
function capStopLiteApply(val: number, ctx: CapApplyContext): string[] {
  if (!val) return [];
  if (!ctx.kvm.hasCapGuestStop()) {
    throw new QemuError(
      "Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop)",
      { hint: tryAppending("stop-lite", "off") },
    );
  }
  return [];
}

const noApply = (): string[] => [];

/** The capability table in SPAPR_CAP_* order (qemu: hw/ppc/spapr_caps.c capability_table). */
export const CAPABILITY_TABLE: readonly SpaprCapabilityInfo[] = [
  {
    index: SPAPR_CAP_HTM,
    name: "htm",
    migName: "htm",
    description: "Allow Hardware Transactional Memory (HTM)",
    type: "bool",
    apply: capHtmApply,
  },
  {
    index: SPAPR_CAP_VSX,
    name: "vsx",
    migName: "vsx",
    description: "Allow Vector Scalar Extensions (VSX)",
    type: "bool",
    // POWER9 always has VSX (env->insns_flags2 & PPC2_VSX)
    apply: noApply,
  },
  {
    index: SPAPR_CAP_DFP,
    name: "dfp",
    migName: "dfp",
    description: "Allow Decimal Floating Point (DFP)",
    type: "bool",
    apply: noApply,
  },
  {
    index: SPAPR_CAP_CFPC,
    name: "cfpc",
    migName: "cfpc",
    description: "Cache Flush on Privilege Change (broken, workaround, fixed)",
    type: "string",
    possible: cfpcPossible,
    apply: tristateApply("cfpc", "safe cache", cfpcPossible.vals, (c) => c.safeCache),
  },
  {
    index: SPAPR_CAP_SBBC,
    name: "sbbc",
    migName: "sbbc",
    description: "Speculation Barrier Bounds Checking (broken, workaround, fixed)",
    type: "string",
    possible: sbbcPossible,
    apply: tristateApply("sbbc", "safe bounds check", sbbcPossible.vals, (c) => c.safeBoundsCheck),
  },
  {
    index: SPAPR_CAP_IBS,
    name: "ibs",
    migName: "ibs",
    description: "Indirect Branch Speculation (broken, workaround, fixed-ibs,fixed-ccd, fixed-na)",
    type: "string",
    possible: ibsPossible,
    apply: tristateApply("ibs", "safe indirect branch", ibsPossible.vals, (c) => c.safeIndirectBranch),
  },
  {
    index: SPAPR_CAP_HPT_MAXPAGESIZE,
    name: "hpt-max-page-size",
    migName: "hpt_maxpagesize",
    description: "Maximum page size for Hash Page Table guests",
    type: "int",
    apply: capHptMaxPageSizeApply,
  },
  {
    index: SPAPR_CAP_NESTED_KVM_HV,
    name: "nested-hv",
    migName: "nested_kvm_hv",
    description: "Allow Nested KVM-HV",
    type: "bool",
    apply: capNestedKvmHvApply,
  },
  {
    index: SPAPR_CAP_LARGE_DECREMENTER,
    name: "large-decr",
    migName: "large_decr",
    description: "Allow Large Decrementer",
    type: "bool",
    apply: capLargeDecrApply,
  },
  {
    index: SPAPR_CAP_CCF_ASSIST,
    name: "ccf-assist",
    migName: "ccf_assist",
    description: "Count Cache Flush Assist via HW Instruction",
    type: "bool",
    apply: capCcfAssistApply,
  },
  {
    index: SPAPR_CAP_FWNMI,
    name: "fwnmi",
    migName: "fwnmi",
    description: "Implements PAPR FWNMI option",
    type: "bool",
    apply: capFwnmiApply,
  },
  {
    index: SPAPR_CAP_RPT_INVALIDATE,
    name: "rpt-invalidate",
    migName: "rpt_invalidate",
    description: "Allow H_RPT_INVALIDATE",
    type: "bool",
    apply: capRptInvalidateApply,
  },
  {
    index: SPAPR_CAP_STOP_LITE,
    name: "stop-lite",
    migName: "stop_lite",
    description: "Allow guest use of the lite stop instruction (stop0lite)",
    type: "bool",
    apply: capStopLiteApply,
  },
];

/** Levels indexed by SPAPR_CAP_* (qemu: SpaprCapabilities). */
export type SpaprCapabilities = readonly number[];

export function capByName(name: string): SpaprCapabilityInfo | undefined {
  const bare = name.startsWith("cap-") ? name.slice(4) : name;
  return CAPABILITY_TABLE.find((c) => c.name === bare);
}

export function capByIndex(index: number): SpaprCapabilityInfo {
  const c = CAPABILITY_TABLE[index];
  if (!c) throw new RangeError(`no spapr capability with index ${index}`);
  return c;
}

/** qapi: the boolean values QEMU's option visitor accepts (qapi/qapi-util.c qapi_bool_parse). */
export function parseBool(name: string, value: string): boolean {
  switch (value) {
    case "on":
    case "yes":
    case "true":
    case "y":
      return true;
    case "off":
    case "no":
    case "false":
    case "n":
      return false;
    default:
      throw new QemuError(`Parameter '${name}' expects 'on' or 'off'`);
  }
}

/**
 * Parses a cap property value into its level, like the cap's QOM setter
 * (qemu: spapr_cap_set_bool / spapr_cap_set_string / spapr_cap_set_pagesize).
 */
export function parseCapValue(cap: SpaprCapabilityInfo, value: string): number {
  const prop = `cap-${cap.name}`;
  switch (cap.type) {
    case "bool":
      return parseBool(prop, value) ? SPAPR_CAP_ON : SPAPR_CAP_OFF;
    case "string": {
      const possible = cap.possible;
      if (!possible) throw new RangeError(`cap-${cap.name} has no value list`);
      if (value === "?") throw new QemuError(possible.help);
      const i = possible.vals.findIndex((v) => v.toLowerCase() === value.toLowerCase());
      if (i < 0) throw new QemuError(`Invalid capability mode "${value}" for cap-${cap.name}`);
      return i;
    }
    case "int": {
      const size = parseSize(value);
      if (size === undefined) throw new QemuError(`Parameter '${prop}' expects size`);
      if (size === 0n || (size & (size - 1n)) !== 0n) {
        throw new QemuError(`cap-${cap.name} must be a power of 2`);
      }
      return size.toString(2).length - 1;
    }
  }
}

/** The value as the cap's QOM getter shows it: true/false, the mode string, or the page size. */
export function formatCapValue(cap: SpaprCapabilityInfo, level: number): boolean | string | number {
  switch (cap.type) {
    case "bool":
      return level !== SPAPR_CAP_OFF;
    case "string":
      return cap.possible?.vals[level] ?? `invalid (${level})`;
    case "int":
      return 2 ** level;
  }
}
