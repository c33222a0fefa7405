// Guest-side time costs: how long the guest kernel's own code paths take on the vCPU. They are
// model parameters for a POWER9 thread, one table for every design and workload. The costs on the
// timer-wakeup path (interrupt entry/exit, timer_interrupt, hrtimer callback, ttwu, idle exit,
// context switch) are calibrated on the only measurements of the thread that run guest code
// alone: wakeup by timer from snooze and native stop0lite (~0.94 us); the rest are estimates.
// Host costs (hypervisor exits, H_CEDE blocking, stop emulation) belong to the host layer.
// All values in ns. See README "Guest-side cost table".

export interface GuestCosts {
  /** Exception prolog to the C handler (EXCEPTION_PROLOG, save registers, irq_enter). */
  interruptEntryNs: number;
  /** irq_exit and interrupt return (restore registers, rfid). */
  interruptExitNs: number;
  /** Soft-masked interrupt: masked_interrupt records it in irq_happened and returns. */
  maskedInterruptNs: number;
  /** timer_interrupt body besides the hrtimer callbacks (clockevent, DEC reprogram). */
  timerInterruptNs: number;
  /** Running one expired hrtimer (__hrtimer_run_queues per timer). */
  hrtimerCallbackNs: number;
  /** The scheduler tick work (scheduler_tick, RCU, accounting). */
  tickNs: number;
  /** try_to_wake_up: select the rq, enqueue the task. */
  ttwuNs: number;
  /** smp_muxed_ipi_message_pass + cause_ipi before the hypercall or msgsndp. */
  ipiSendNs: number;
  /** smp_ipi_demux and one message handler (call function or scheduler_ipi). */
  ipiDemuxNs: number;
  /** __schedule picking the next task and context_switch to it. */
  contextSwitchNs: number;
  /** do_idle -> cpuidle_idle_call up to the governor (tick_nohz_idle_enter, rcu_idle_enter). */
  idleEntryNs: number;
  /** The governor's select() (menu or teo). */
  governorSelectNs: number;
  /** cpuidle_enter_state accounting, reflect and the way back out of do_idle. */
  idleExitNs: number;
  /** One iteration of the snooze loop (HMT_low, HMT_very_low, need_resched and get_tb tests). */
  snoozePollNs: number;
  /** A pipe read or write system call (pipe_read/pipe_write without the wakeup). */
  pipeSyscallNs: number;
  /** Boot work of one CPU besides the RTAS and hcalls (start_secondary and friends). */
  secondaryBootNs: number;
  /** A cache-inhibited store to a XIVE page (ESB trigger, TIMA CPPR): posted, the issue cost. */
  xiveMmioStoreNs: number;
  /** A cache-inhibited load from the TIMA (the acknowledge cycle): a round trip to the presenter. */
  xiveTimaLoadNs: number;
  /** A cache-inhibited load from an ESB page (EOI, PQ set): a round trip to the source controller. */
  xiveEsbLoadNs: number;
  /**
   * Standard deviation of the log of each kernel code path's duration (0 = exact costs): each
   * path takes its cost times a log-normal factor of median 1 drawn from the vCPU's seeded stream
   * (cache and branch-predictor state differ from one run of a path to the next).
   */
  jitterSigma: number;
}

export const DEFAULT_GUEST_COSTS: Readonly<GuestCosts> = Object.freeze({
  interruptEntryNs: 94,
  interruptExitNs: 75,
  maskedInterruptNs: 80,
  timerInterruptNs: 113,
  hrtimerCallbackNs: 56,
  tickNs: 400,
  ttwuNs: 141,
  ipiSendNs: 80,
  ipiDemuxNs: 100,
  contextSwitchNs: 310,
  idleEntryNs: 250,
  governorSelectNs: 150,
  idleExitNs: 94,
  snoozePollNs: 40,
  pipeSyscallNs: 600,
  secondaryBootNs: 200_000,
  xiveMmioStoreNs: 30,
  xiveTimaLoadNs: 720,
  xiveEsbLoadNs: 720,
  jitterSigma: 0.15,
});

export class GuestCostError extends RangeError {
  override readonly name = "GuestCostError";
}

export function resolveCosts(overrides: Partial<GuestCosts> | undefined): GuestCosts {
  const c: GuestCosts = { ...DEFAULT_GUEST_COSTS, ...(overrides ?? {}) };
  for (const [k, v] of Object.entries(c)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new GuestCostError(`guest cost ${k} must be a finite number of ns >= 0, got ${String(v)}`);
    }
  }
  if (c.snoozePollNs <= 0)
    throw new GuestCostError("guest cost snoozePollNs must be > 0 (the loop must advance)");
  return c;
}
