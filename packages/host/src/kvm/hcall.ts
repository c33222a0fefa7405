// linux: arch/powerpc/kvm/book3s_hv.c kvmppc_pseries_do_hcall, do_h_register_vpa,
// kvmppc_update_vpas and init_vpa: the hypercalls KVM HV handles in the kernel.

import { MSR_EE } from "@stopsim/isa";
import * as U from "./abi.js";
import { type Action, BLOCK, HOST, RESUME } from "./entry-exit.js";
import { u64 } from "./kvm.js";
import type { KvmVcpu } from "./vcpu.js";
import { xicsHcall } from "./xics-on-xive.js";

/** linux: book3s_hv.c kvmppc_pseries_do_hcall */
/** Hcalls enabled by default (linux: book3s_hv.c default_hcall_list). */
export const DEFAULT_HCALLS = [
  U.H_REMOVE,
  U.H_ENTER,
  U.H_READ,
  U.H_PROTECT,
  U.H_BULK_REMOVE,
  U.H_GET_TCE,
  U.H_PUT_TCE,
  U.H_SET_DABR,
  U.H_CEDE,
  U.H_PROD,
  U.H_CONFER,
  U.H_REGISTER_VPA,
  ...U.XICS_HCALLS,
];
/** Hcalls this KVM implements in the kernel (kvmppc_hcall_impl_hv). */
export const IMPLEMENTED_HCALLS = new Set<number>([
  ...DEFAULT_HCALLS,
  U.H_CLEAR_REF,
  U.H_CLEAR_MOD,
  U.H_SET_MODE,
  U.H_LOGICAL_CI_LOAD,
  U.H_LOGICAL_CI_STORE,
  U.H_RANDOM,
]);

/** The hcalls kvmppc_pseries_do_hcall handles itself (the XICS ones have their own cost). */
const IN_KERNEL_HCALLS: ReadonlySet<number> = new Set([
  U.H_CEDE,
  U.H_PROD,
  U.H_REGISTER_VPA,
  U.H_CONFER,
  U.H_SET_DABR,
]);

export function doHcall(vcpu: KvmVcpu): Action {
  const req = Number(vcpu.gpr.get(3) & 0xffffffffn);
  const cpu = vcpu.cpu;
  if (cpu.sim.trace.enabled) {
    cpu.sim.trace.instant(cpu.track, "kvm_hcall_enter", "kvm", {
      vcpu: vcpu.id,
      req: `0x${req.toString(16)}`,
    });
  }
  if (req <= U.MAX_HCALL_OPCODE && !vcpu.vm.enabledHcalls.has(req)) return HOST;
  if (IN_KERNEL_HCALLS.has(req)) vcpu.exitWorkNs += cpu.cost(vcpu.h.costs.hcallNs);
  let ret: number;
  switch (req) {
    case U.H_CEDE: {
      // kvmppc_nested_cede (P9 path): the guest continues with MSR[EE] set
      vcpu.msr |= MSR_EE;
      vcpu.ceded = true;
      if (vcpu.prodded) {
        vcpu.prodded = false;
        vcpu.ceded = false;
      }
      // kvmppc_xive_rearm_escalation: may un-cede (an escalation still in flight)
      if (vcpu.ceded && vcpu.xive !== null && !vcpu.xive.rearmEscalation(vcpu.id)) vcpu.ceded = false;
      finishHcall(vcpu, U.H_SUCCESS);
      return vcpu.ceded && !vcpu.woken() ? BLOCK : endCede(vcpu);
    }
    case U.H_PROD: {
      const target = vcpu.vm.vcpus.get(Number(vcpu.gpr.get(4)));
      if (target === undefined) {
        ret = U.H_PARAMETER;
        break;
      }
      target.prodded = true;
      if (target.ceded) target.kickVcpu();
      ret = U.H_SUCCESS;
      break;
    }
    case U.H_REGISTER_VPA:
      ret = doHRegisterVpa(vcpu, vcpu.gpr.get(4), vcpu.gpr.get(5), vcpu.gpr.get(6));
      break;
    case U.H_CONFER:
    case U.H_SET_DABR:
      ret = U.H_SUCCESS;
      break;
    case U.H_IPI:
    case U.H_XIRR:
    case U.H_XIRR_X:
    case U.H_EOI:
    case U.H_CPPR:
    case U.H_IPOLL:
      if (!vcpu.vm.inKernelXics) return HOST;
      return xicsHcall(vcpu, req);
    default:
      // not handled in the kernel (H_RTAS, H_SET_MODE, H_LOGICAL_CI_*, ...): to userspace
      return HOST;
  }
  finishHcall(vcpu, ret);
  return RESUME;
}

/** sizeof(struct dtl_entry) (linux: arch/powerpc/include/asm/lppaca.h). */
const DTL_ENTRY_SIZE = 48;

/**
 * linux: book3s_hv.c do_h_register_vpa (v5.7): a new area must be cache-line aligned, mapped and
 * long enough (its length: the be16 at offset 4 for a VPA, the be32 there for a DTL or SLB
 * shadow); a VPA must be at least sizeof(struct lppaca) = 640 bytes, a DTL one struct dtl_entry
 * (48 bytes); a DTL or SLB shadow needs a registered VPA (one whose deregistration is pending
 * is not), and a VPA cannot be deregistered while either is registered. set_vpa only
 * records the request: kvmppc_update_vpas applies it on the target's next guest entry, and for
 * a VPA init_vpa() then sets LPPACA_OLD_SHARED_PROC in its __old_status byte: every KVM guest
 * is a shared-processor LPAR.
 */
export function doHRegisterVpa(vcpu: KvmVcpu, flags: bigint, vcpuid: bigint, vpa: bigint): number {
  const subfunc = Number((flags >> U.H_VPA_FUNC_SHIFT) & U.H_VPA_FUNC_MASK);
  const addr = Number(vpa & 0x0fffffffffffffffn);
  let len = 0;
  const registering =
    subfunc === U.H_VPA_REG_VPA || subfunc === U.H_VPA_REG_DTL || subfunc === U.H_VPA_REG_SLB;
  if (registering) {
    if (addr % U.L1_CACHE_BYTES !== 0 || addr === 0) return U.H_PARAMETER;
    const l = subfunc === U.H_VPA_REG_VPA ? vcpu.vm.readGuestBe16(addr + 4) : vcpu.vm.readGuestBe32(addr + 4);
    // struct reg_vpa is 8 bytes; the whole area must be in guest memory
    if (l === undefined || l < 8 || !vcpu.vm.guestRangeMapped(addr, l)) return U.H_PARAMETER;
    len = l;
  }
  const target = vcpu.vm.vcpus.get(Number(vcpuid));
  if (target === undefined) return U.H_PARAMETER;
  const a = target.vpaAreas;
  switch (subfunc) {
    case U.H_VPA_REG_VPA:
      if (len < U.LPPACA_USED_SIZE) return U.H_PARAMETER;
      a.vpaNext = addr;
      break;
    case U.H_VPA_REG_DTL:
    case U.H_VPA_REG_SLB: {
      // a DTL holds at least one struct dtl_entry (48 bytes)
      if (subfunc === U.H_VPA_REG_DTL && len < DTL_ENTRY_SIZE) return U.H_PARAMETER;
      // vpa_is_registered: the pending request when one is pending (a deregistered VPA no longer
      // counts), else the applied one; vpaNext is always the latest request
      if (a.vpaNext === null) return U.H_RESOURCE;
      if (subfunc === U.H_VPA_REG_DTL) a.dtl = addr;
      else a.slbShadow = addr;
      break;
    }
    case U.H_VPA_DEREG_VPA:
      if (a.dtl !== null || a.slbShadow !== null) return U.H_RESOURCE;
      a.vpaNext = null;
      break;
    case U.H_VPA_DEREG_DTL:
      a.dtl = null;
      break;
    case U.H_VPA_DEREG_SLB:
      a.slbShadow = null;
      break;
    default:
      return U.H_PARAMETER;
  }
  a.updatePending = true;
  return U.H_SUCCESS;
}

/** linux: book3s_hv.c kvmppc_update_vpas + init_vpa, on guest entry. */
export function updateVpas(vcpu: KvmVcpu): void {
  const a = vcpu.vpaAreas;
  if (!a.updatePending) return;
  a.updatePending = false;
  a.vpa = a.vpaNext;
  if (a.vpa !== null) {
    // init_vpa: vpa->__old_status |= LPPACA_OLD_SHARED_PROC
    vcpu.vm.orGuestByte(a.vpa + U.LPPACA_OLD_STATUS_OFFSET, U.LPPACA_OLD_SHARED_PROC);
  }
}

export function endCede(vcpu: KvmVcpu): Action {
  vcpu.ceded = false;
  return RESUME;
}

export function finishHcall(vcpu: KvmVcpu, ret: number): void {
  vcpu.gpr.set(3, u64(BigInt(ret)));
  vcpu.hcallNeeded = false;
  vcpu.run_.exit_reason = U.KVM_EXIT_UNKNOWN;
}
