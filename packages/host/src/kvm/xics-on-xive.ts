// linux: arch/powerpc/kvm/book3s_xive_template.c GLUE(X_PFX,h_*) (and book3s_xive.c): the XICS
// presentation hcalls of a vCPU emulated on XIVE (H_IPI, H_XIRR, H_EOI, H_CPPR, H_IPOLL).

import * as U from "./abi.js";
import { type Action, RESUME } from "./entry-exit.js";
import { finishHcall } from "./hcall.js";
import type { KvmVcpu } from "./vcpu.js";

/** Highest-priority (numerically lowest) pending interrupt more favoured than CPPR. */
/** XICS hcalls of hcall_real_table (book3s_hv_rmhandlers.S of 2020). */
export const REAL_MODE_XICS_HCALLS: ReadonlySet<number> = new Set(U.XICS_HCALLS);

/** The XICS presentation controller state of one vCPU (ICP), emulated on XIVE. */
export interface Icp {
  cppr: number;
  mfrr: number;
  /** Accepted-but-not-EOIed source (XISR) and pending IPI priority. */
  xisr: number;
  /** A device interrupt raised through KVM_INTERRUPT (source number, priority). */
  extSource: number;
  extPriority: number;
}

export function icpBest(vcpu: KvmVcpu): { source: number; priority: number } | null {
  const c = vcpu.icp;
  let best: { source: number; priority: number } | null = null;
  if (c.mfrr < c.cppr) best = { source: U.XICS_IPI, priority: c.mfrr };
  if (c.extSource !== 0 && c.extPriority < c.cppr && (best === null || c.extPriority < best.priority)) {
    best = { source: c.extSource, priority: c.extPriority };
  }
  return best;
}

export function icpPending(vcpu: KvmVcpu): boolean {
  return icpBest(vcpu) !== null;
}

export function xicsHcall(vcpu: KvmVcpu, req: number): Action {
  const c = vcpu.icp;
  switch (req) {
    case U.H_IPI: {
      const target = vcpu.vm.vcpus.get(Number(vcpu.gpr.get(4)));
      if (target === undefined) {
        finishHcall(vcpu, U.H_PARAMETER);
        return RESUME;
      }
      target.icp.mfrr = Number(vcpu.gpr.get(5) & 0xffn);
      interruptStateChanged(target);
      finishHcall(vcpu, U.H_SUCCESS);
      return RESUME;
    }
    case U.H_XIRR:
    case U.H_XIRR_X: {
      // accept the most favoured pending interrupt: XIRR = CPPR << 24 | XISR
      const best = icpBest(vcpu);
      const oldCppr = c.cppr;
      let xisr = 0;
      if (best !== null) {
        xisr = best.source;
        c.cppr = best.priority;
        c.xisr = xisr;
        if (xisr !== U.XICS_IPI) c.extSource = 0; // edge-presented device source
      }
      finishHcall(vcpu, U.H_SUCCESS);
      vcpu.gpr.set(4, BigInt(((oldCppr << 24) | xisr) >>> 0));
      interruptStateChanged(vcpu);
      return RESUME;
    }
    case U.H_IPOLL: {
      const best = icpBest(vcpu);
      finishHcall(vcpu, U.H_SUCCESS);
      vcpu.gpr.set(4, BigInt(((c.cppr << 24) | (best?.source ?? 0)) >>> 0));
      vcpu.gpr.set(5, BigInt(c.mfrr));
      return RESUME;
    }
    case U.H_CPPR:
      c.cppr = Number(vcpu.gpr.get(4) & 0xffn);
      finishHcall(vcpu, U.H_SUCCESS);
      interruptStateChanged(vcpu);
      return RESUME;
    default: {
      // H_EOI: restore the CPPR from the XIRR, end the source
      const xirr = Number(vcpu.gpr.get(4) & 0xffffffffn);
      c.cppr = xirr >>> 24;
      c.xisr = 0;
      finishHcall(vcpu, U.H_SUCCESS);
      interruptStateChanged(vcpu);
      return RESUME;
    }
  }
}

/** The vCPU's pending-interrupt state changed: present it or wake the vCPU (XIVE escalation). */
export function interruptStateChanged(vcpu: KvmVcpu): void {
  const pending = icpPending(vcpu);
  if (vcpu.state === "guest") {
    vcpu.cpu.thread.setExternalInterrupt(pending);
  } else if (pending && (vcpu.state === "blocked" || vcpu.ceded)) {
    vcpu.kickVcpu();
  }
}
