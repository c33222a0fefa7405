// KVM_PPC_GET_CPU_CHAR on a PowerNV host: the speculation-mitigation characteristics KVM passes to
// userspace (QEMU's spapr cfpc/sbbc/ibs/ccf-assist caps).
// linux: arch/powerpc/kvm/powerpc.c kvmppc_get_cpu_char / have_fw_feat (v5.7): the children of
// /ibm,opal/fw-features, each with an empty "enabled" or "disabled" property.
import type { DeviceTree } from "@stopsim/devicetree";
import * as U from "./uapi.js";

/** struct kvm_ppc_cpu_char (linux: arch/powerpc/include/uapi/asm/kvm.h). */
export interface KvmPpcCpuChar {
  readonly character: bigint;
  readonly behaviour: bigint;
  readonly characterMask: bigint;
  readonly behaviourMask: bigint;
}

/** The firmware's fw-features: node name -> which of the two properties it carries. */
export type FwFeatures = ReadonlyMap<string, "enabled" | "disabled">;

/**
 * The fw-features the host kernel finds in its tree: the nodes under /ibm,opal/fw-features; null
 * without an /ibm,opal node or without its fw-features child (kvmppc_get_cpu_char then returns
 * the zeroed struct: "if (!fw_features) return 0;"), an empty map for an fw-features node
 * without children.
 */
export function readFwFeatures(tree: DeviceTree): FwFeatures | null {
  const fw = tree.getNode("/ibm,opal")?.getChild("fw-features");
  if (fw === undefined) return null;
  const out = new Map<string, "enabled" | "disabled">();
  for (const n of fw.children) {
    if (n.hasProp("enabled")) out.set(n.name, "enabled");
    else if (n.hasProp("disabled")) out.set(n.name, "disabled");
  }
  return out;
}

/** linux: arch/powerpc/kvm/powerpc.c kvmppc_get_cpu_char (the PowerNV branch). */
export function kvmppcGetCpuChar(fw: FwFeatures | null): KvmPpcCpuChar {
  if (fw === null) return { character: 0n, behaviour: 0n, characterMask: 0n, behaviourMask: 0n };
  const has = (state: "enabled" | "disabled", name: string): boolean => fw.get(name) === state;
  let character = 0n;
  if (has("enabled", "inst-spec-barrier-ori31,31,0")) character |= U.KVM_PPC_CPU_CHAR_SPEC_BAR_ORI31;
  if (has("enabled", "fw-bcctrl-serialized")) character |= U.KVM_PPC_CPU_CHAR_BCCTRL_SERIALISED;
  if (has("enabled", "inst-l1d-flush-ori30,30,0")) character |= U.KVM_PPC_CPU_CHAR_L1D_FLUSH_ORI30;
  if (has("enabled", "inst-l1d-flush-trig2")) character |= U.KVM_PPC_CPU_CHAR_L1D_FLUSH_TRIG2;
  if (has("enabled", "fw-l1d-thread-split")) character |= U.KVM_PPC_CPU_CHAR_L1D_THREAD_PRIV;
  if (has("enabled", "fw-count-cache-disabled")) character |= U.KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS;
  if (has("enabled", "fw-count-cache-flush-bcctr2,0,0")) character |= U.KVM_PPC_CPU_CHAR_BCCTR_FLUSH_ASSIST;
  const characterMask =
    U.KVM_PPC_CPU_CHAR_SPEC_BAR_ORI31 |
    U.KVM_PPC_CPU_CHAR_BCCTRL_SERIALISED |
    U.KVM_PPC_CPU_CHAR_L1D_FLUSH_ORI30 |
    U.KVM_PPC_CPU_CHAR_L1D_FLUSH_TRIG2 |
    U.KVM_PPC_CPU_CHAR_L1D_THREAD_PRIV |
    U.KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS |
    U.KVM_PPC_CPU_CHAR_BCCTR_FLUSH_ASSIST;
  let behaviour = 0n;
  if (has("enabled", "speculation-policy-favor-security")) behaviour |= U.KVM_PPC_CPU_BEHAV_FAVOUR_SECURITY;
  if (!has("disabled", "needs-l1d-flush-msr-pr-0-to-1")) behaviour |= U.KVM_PPC_CPU_BEHAV_L1D_FLUSH_PR;
  if (!has("disabled", "needs-spec-barrier-for-bound-checks"))
    behaviour |= U.KVM_PPC_CPU_BEHAV_BNDS_CHK_SPEC_BAR;
  if (has("enabled", "needs-count-cache-flush-on-context-switch"))
    behaviour |= U.KVM_PPC_CPU_BEHAV_FLUSH_COUNT_CACHE;
  const behaviourMask =
    U.KVM_PPC_CPU_BEHAV_FAVOUR_SECURITY |
    U.KVM_PPC_CPU_BEHAV_L1D_FLUSH_PR |
    U.KVM_PPC_CPU_BEHAV_BNDS_CHK_SPEC_BAR |
    U.KVM_PPC_CPU_BEHAV_FLUSH_COUNT_CACHE;
  return { character, behaviour, characterMask, behaviourMask };
}
