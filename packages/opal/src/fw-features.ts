// The firmware feature settings of /ibm,opal/fw-features: speculation-mitigation facts that
// hostboot sets at IPL for the chip it finds and hands skiboot in the HDAT IPL parameters
// (IPLPARAMS_FEATURES: a name and a flags word each; hostboot src/usr/hdat/hdatiplparms.H).
// skiboot copies them without interpreting them: hdata/spira.c add_iplparams_features creates
// /ibm,opal/fw-features/<name> with an empty "enabled" property when flag bit 0 (PPC_BIT(0)) is
// set, "disabled" otherwise, and renames "tm-suspend-mode-enabled" to "tm-suspend-mode". The host
// kernel reads them (linux: arch/powerpc/platforms/powernv/setup.c pnv_setup_security_mitigations
// -> init_fw_feat_flags; arch/powerpc/kvm/powerpc.c kvmppc_get_cpu_char).
//
// Names and order follow skiboot's own description of a POWER9 DD2.3 in external/mambo/skiboot.tcl
// ("These values ~= P9N DD2.3, except for fw_count_cache_flush_assist=0 because it exercises more
// kernel code"): the DD2.3 values below are that table with the count cache flush assist on, as
// the comment says the real chip has it. Before DD2.3 (model values, no public table): the count
// cache is disabled by firmware instead of flushed (fw-count-cache-disabled enabled,
// needs-count-cache-flush-on-context-switch and fw-count-cache-flush-bcctr2,0,0 disabled); the
// other settings are the DD2.3 ones.

/** One IPLPARAMS_FEATURES entry: its name and flag bit 0. */
export interface IplFeature {
  readonly name: string;
  readonly enabled: boolean;
}

/** skiboot external/mambo/skiboot.tcl fw-features order, with P9N DD2.3 values. */
export const P9_DD23_IPL_FEATURES: readonly IplFeature[] = [
  { name: "speculation-policy-favor-security", enabled: true },
  { name: "needs-l1d-flush-msr-hv-1-to-0", enabled: true },
  { name: "needs-l1d-flush-msr-pr-0-to-1", enabled: true },
  { name: "fw-l1d-thread-split", enabled: true },
  { name: "needs-spec-barrier-for-bound-checks", enabled: true },
  { name: "fw-bcctrl-serialized", enabled: false },
  { name: "fw-count-cache-disabled", enabled: false },
  { name: "needs-count-cache-flush-on-context-switch", enabled: true },
  { name: "fw-count-cache-flush-bcctr2,0,0", enabled: true },
  { name: "inst-spec-barrier-ori31,31,0", enabled: true },
  { name: "inst-l1d-flush-trig2", enabled: true },
  { name: "inst-l1d-flush-ori30,30,0", enabled: false },
];

/** The count-cache settings that differ before DD2.3 (disabled by firmware, nothing to flush). */
const PRE_DD23_COUNT_CACHE: ReadonlyMap<string, boolean> = new Map([
  ["fw-count-cache-disabled", true],
  ["needs-count-cache-flush-on-context-switch", false],
  ["fw-count-cache-flush-bcctr2,0,0", false],
]);

/**
 * The feature settings hostboot reports for a POWER9 Nimbus of this PVR (PVR_VERS_MAJ bits 8-11,
 * PVR_VERS_MIN bits 0-7, skiboot include/processor.h).
 */
export function hostbootIplFeatures(pvr: number): IplFeature[] {
  const major = (pvr >>> 8) & 0xf;
  const minor = pvr & 0xff;
  const dd23 = major > 2 || (major === 2 && minor >= 3);
  return P9_DD23_IPL_FEATURES.map((f) =>
    dd23 ? { ...f } : { name: f.name, enabled: PRE_DD23_COUNT_CACHE.get(f.name) ?? f.enabled },
  );
}

/** hdata/spira.c add_iplparams_features: the node name skiboot gives a feature. */
export function skibootFwFeatureName(name: string): string {
  return name === "tm-suspend-mode-enabled" ? "tm-suspend-mode" : name;
}
