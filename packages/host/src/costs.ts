// The modelled time the host kernel and KVM spend, in one table. Software layers charge time by
// scheduling their continuation later (docs/ARCHITECTURE.md, "Time"). Every value is a median in
// ns for a thread alone on its core; each use draws a log-normal jitter around it from the host's
// seeded stream and divides it by the thread's SMT speed (HostCpu.cost, @stopsim/isa smt.ts).
//
// Where the numbers come from (see README.md, "Cost table" and "Calibration"):
// - guestExitNs + exitHandling + guestEntryNs = one full KVM round trip (exit to the host's
//   virtual mode) on the 2020 POWER9 path. Public anchor: a virtual-mode NULL hcall round trip of
//   ~7,800 cycles (~2.0 us) on POWER9 after the 2021 entry/exit optimisations, which the series'
//   cover letter ("KVM: PPC: Book3S HV P9: entry/exit optimisations", N. Piggin) says halved
//   radix guest full entry/exit latency: ~4 us in 2020.
// - realModeSwitchNs + xicsHcallNs: the XICS hcalls the 2020 P9 path handled in real mode
//   (hcall_real_table in book3s_hv_rmhandlers.S), without the full exit.
// - The remaining values are calibrated so that the wake-up latencies of the RFC cover letter
//   (DOMAIN.md section 6) can emerge: Shared CEDE by IPI ~21.8 us and by timer ~29.2 us, when
//   the host thread sleeps in stop2 (10 us firmware exit latency, skiboot hw/slw.c).
// - Host idle-state exit latencies are not in this table: they are the firmware's
//   ibm,cpu-idle-state-latencies-ns values of the state the host thread slept in.

export interface HostCostTable {
  /** Guest interrupt to KVM's exit handler: save guest registers, switch MMU/SPR context. */
  readonly guestExitNs: number;
  /** kvmhv_p9_guest_entry: load guest SPRs, DEC/HDEC, LPCR, PSSCR and hrfid. */
  readonly guestEntryNs: number;
  /** kvmppc_handle_exit_hv work for each exit reason (kvm_exit tracepoint names). */
  readonly exitHandlingNs: Readonly<Record<string, number>>;
  /** Default handling time of an exit reason missing from exitHandlingNs. */
  readonly exitHandlingDefaultNs: number;
  /** In-kernel hcall (kvmppc_pseries_do_hcall) other than the XICS ones. */
  readonly hcallNs: number;
  /** XICS-on-XIVE hcalls (H_IPI, H_XIRR, H_EOI, H_CPPR, H_IPOLL): the real-mode handler itself. */
  readonly xicsHcallNs: number;
  /**
   * One direction of a real-mode hcall (hcall_try_real_mode): the guest exit up to the real-mode
   * handler, or fast_guest_return back; no switch to the host's virtual-mode context.
   */
  readonly realModeSwitchNs: number;
  /** Queueing an interrupt into the guest on entry (kvmppc_inject_interrupt_hv). */
  readonly injectInterruptNs: number;
  /** Blocking a ceded vCPU: kvmppc_set_timer, kvmppc_vcore_blocked, schedule() to idle. */
  readonly blockNs: number;
  /** Waking the vCPU task on its host thread and switching to it (ttwu, schedule, vcpu_load). */
  readonly wakeTaskNs: number;
  /** Back in kvmhv_run_single_vcpu after a wake: end cede, kvmppc_core_prepare_to_enter. */
  readonly runLoopNs: number;
  /** Host timer interrupt leaving idle: timer_interrupt, tick_nohz_idle_exit, hrtimer_interrupt. */
  readonly hrtimerIrqNs: number;
  /** Host IPI (doorbell / XIVE escalation) handling on the woken host thread. */
  readonly hostIpiIrqNs: number;
  /** msgsnd to another thread until the doorbell is raised there. */
  readonly ipiDeliveryNs: number;
  /** cpuidle: governor select and state entry, before the stop instruction. */
  readonly idleEntryNs: number;
  /** Leaving snooze when work arrives (the poll loop notices need_resched). */
  readonly snoozeExitNs: number;
  /** Scheduler tick work on an HDEC exit (host timer due while a guest runs). */
  readonly hostTickNs: number;
  /** KVM_RUN returning to userspace and the next KVM_RUN entering the kernel (QEMU's work excluded). */
  readonly userspaceRoundTripNs: number;
  /** Standard deviation of the log of the jitter factor (0 = exact costs). */
  readonly jitterSigma: number;
}

export const DEFAULT_HOST_COSTS: HostCostTable = {
  guestExitNs: 2000,
  guestEntryNs: 2000,
  exitHandlingNs: {
    H_FAC_UNAVAIL: 350,
    SYSCALL: 300,
    HV_DECREMENTER: 200,
    EXTERNAL: 400,
    H_VIRT: 400,
    H_DOORBELL: 250,
    H_EMUL_ASSIST: 500,
    H_DATA_STORAGE: 800,
    H_INST_STORAGE: 800,
    HMI: 1000,
    MACHINE_CHECK: 1000,
    PROGRAM: 300,
  },
  exitHandlingDefaultNs: 400,
  hcallNs: 300,
  xicsHcallNs: 120,
  realModeSwitchNs: 150,
  injectInterruptNs: 100,
  blockNs: 1500,
  wakeTaskNs: 5000,
  runLoopNs: 2000,
  hrtimerIrqNs: 9000,
  hostIpiIrqNs: 1000,
  ipiDeliveryNs: 200,
  idleEntryNs: 800,
  snoozeExitNs: 300,
  hostTickNs: 3000,
  userspaceRoundTripNs: 4000,
  jitterSigma: 0.12,
};

export class CostTableError extends RangeError {
  override readonly name = "CostTableError";
}

/** Merges overrides into the default table and checks every value. */
export function resolveCosts(overrides: Partial<HostCostTable> = {}): HostCostTable {
  const t: HostCostTable = {
    ...DEFAULT_HOST_COSTS,
    ...overrides,
    exitHandlingNs: { ...DEFAULT_HOST_COSTS.exitHandlingNs, ...(overrides.exitHandlingNs ?? {}) },
  };
  for (const [k, v] of Object.entries(t)) {
    if (k === "exitHandlingNs") continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new CostTableError(`host cost '${k}' must be a finite number >= 0, got ${String(v)}`);
    }
  }
  for (const [k, v] of Object.entries(t.exitHandlingNs)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new CostTableError(
        `host cost exitHandlingNs.${k} must be a finite number >= 0, got ${String(v)}`,
      );
    }
  }
  return t;
}
