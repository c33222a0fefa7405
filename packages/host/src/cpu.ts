// One host CPU: the host kernel running in hypervisor state on one POWER9 hardware thread.
// It owns the thread's "hv" software slot, keeps host timers (hrtimers) on the thread's DEC (and
// on HDEC while a guest runs), schedules the tasks bound to it (vCPU threads), and idles through
// the cpuidle states with the kernel's menu governor (@stopsim/linux) by executing the real `stop`
// instruction. linux: kernel/sched/idle.c (do_idle, cpuidle_idle_call), drivers/cpuidle/cpuidle.c
// (cpuidle_enter_state), drivers/cpuidle/cpuidle-powernv.c (snooze_loop, stop_loop),
// arch/powerpc/platforms/powernv/idle.c (power9_idle_stop), kernel/time/hrtimer.c and
// kernel/time/tick-sched.c (the tick kept or stopped in idle).
// The CPU's code runs on the one runtime of software on a hardware thread (@stopsim/isa KThread,
// "hv" level): its costs are SMT-scaled and jittered there, and its continuations are the
// runtime's operations (HostOp), not closures.
import { nsToTb, type Rng, type Simulation, TB_FREQ_HZ, type Timer } from "@stopsim/engine";
import {
  EXEC_INTERRUPT,
  EXEC_STOPPED,
  HMT_MEDIUM,
  HMT_VERY_LOW,
  type HwThread,
  KThread,
  type KThreadOps,
  SPRN_DEC,
  SPRN_PPR,
  SPRN_PSSCR,
  STOP,
  type ThreadSoftware,
} from "@stopsim/isa";
import type { CpuidleDevice, CpuidleGovernor } from "@stopsim/linux";
import type { HostCostTable } from "./costs.js";
import type { HostIdleState, PowernvIdleDriver } from "./idle.js";
import type { KernelLog } from "./log.js";
import type { HostXive } from "./xive-host.js";

/** A host timer (struct hrtimer): fires `callback` on its CPU once `at` has passed. */
export class HostTimer {
  at = -1;
  constructor(
    readonly cpu: HostCpu,
    readonly callback: () => void,
    readonly label: string,
  ) {}
  get armed(): boolean {
    return this.at >= 0;
  }
  /** hrtimer_start (absolute ns). */
  start(at: number): void {
    this.cpu.armTimer(this, at);
  }
  /** hrtimer_cancel. */
  cancel(): void {
    this.cpu.cancelTimer(this);
  }
}

/** A point of a task's kernel code where it continues: the task's own record, which the CPU carries. */
export type HostTaskStep = object;

/** A kernel task bound to one CPU (the vCPU threads of QEMU). */
export interface HostTask {
  readonly name: string;
  /** Called when the task gets the CPU; it keeps it until it calls cpu.taskBlocked(). */
  schedIn(cpu: HostCpu, fromIdle: boolean): void;
  /** The CPU took an interrupt while this task ran a guest on it. */
  guestInterrupt(cpu: HostCpu, vector: number): void;
  /** The task's kernel code continues at `step` (a continuation it queued on the CPU's runtime). */
  runStep(cpu: HostCpu, step: HostTaskStep): void;
}

/**
 * What a host CPU's code continues with: the runtime's operations (`delay` is what is left of a
 * code path; the host never runs user work, polls through the runtime or parks), then the host's
 * own continuation points.
 */
export type HostOp =
  | { readonly k: "delay"; readonly ns: number; readonly then: HostOp | null }
  | { readonly k: "work"; readonly ns: number }
  | { readonly k: "poll"; readonly deadline: number }
  | { readonly k: "park" }
  /** __schedule(); `fromIdle` after a wake-up from an idle state. */
  | { readonly k: "schedule"; readonly fromIdle: boolean }
  /** cpuidle_idle_call, once the idle entry path has run. */
  | { readonly k: "idle-entry" }
  /** A hypervisor doorbell (a reschedule IPI) reaching this thread. */
  | { readonly k: "doorbell" }
  /** The current task's kernel code at `step`. */
  | { readonly k: "task"; readonly task: HostTask; readonly step: HostTaskStep };

const HOST_OPS: KThreadOps<HostOp> = {
  delay: (ns, then) => ({ k: "delay", ns, then }),
  work: (ns) => ({ k: "work", ns }),
  poll: (deadline) => ({ k: "poll", deadline }),
  park: () => ({ k: "park" }),
};
const SCHEDULE: HostOp = { k: "schedule", fromIdle: false };
const SCHEDULE_FROM_IDLE: HostOp = { k: "schedule", fromIdle: true };
const IDLE_ENTRY: HostOp = { k: "idle-entry" };
const DOORBELL: HostOp = { k: "doorbell" };

export type CpuState = "busy" | "idle-snooze" | "idle-stop" | "guest";

/** linux: arch/powerpc/include/asm/time.h DECREMENTER_DEFAULT_MAX: the 32-bit decrementer's reach. */
export const DECREMENTER_DEFAULT_MAX = 0x7fffffff;
/**
 * The largest DEC the model programs: 2^52 - 1 ticks (102 days at 512 MHz), so that the timebase
 * plus the DEC stays exact in a double (the ISA model's limit); Linux's large decrementer_max is
 * 2^55 - 1. No simulation runs long enough to tell them apart.
 */
const MODEL_DEC_MAX = 2 ** 52 - 1;

/** What the idle loop needs besides the driver and the governor. */
export interface HostIdleConfig {
  /** cpuidle_governor_latency_req(): the PM QoS resume latency limit, ns (Infinity: none). */
  readonly latencyReqNs: number;
  /** TICK_NSEC (1e9 / CONFIG_HZ). */
  readonly tickNs: number;
  /**
   * decrementer_max in timebase ticks (linux: arch/powerpc/kernel/time.c set_decrementer_max;
   * default DECREMENTER_DEFAULT_MAX); a large decrementer's is held at MODEL_DEC_MAX.
   */
  readonly decrementerMax?: number;
}
/** PPR[PRI] = 4 (medium), the value `or 2,2,2` (HMT_MEDIUM) writes. */
const PPR_PRI_MEDIUM = 4;
const PPR_MEDIUM = BigInt(PPR_PRI_MEDIUM) << 50n;

export class HostCpu implements ThreadSoftware {
  state: CpuState = "busy";
  /** The task that has the CPU (running a guest or in the kernel on its behalf). */
  current: HostTask | null = null;
  private readonly runQueue: HostTask[] = [];
  private readonly timers: HostTimer[] = [];
  private idleState: HostIdleState | null = null;
  private idleStart = 0;
  /** tick_nohz_tick_stopped(): the idle loop stopped the tick; a task running restarts it. */
  private tickStopped = false;
  /**
   * The scheduler tick while the idle loop keeps it (tick_nohz_idle_retain_tick). Its callback
   * (tick_sched_timer) only wakes the CPU: that it came is read at the wake-up (finishIdle).
   */
  private readonly idleTick: HostTimer;
  private readonly snoozeTimer: Timer;
  /** The idle entry path runs (its time is the runtime's wait): a reschedule may still cut it. */
  private idleEntryPending = false;
  /** The runtime this CPU's code runs on (hypervisor-level software of the thread). */
  readonly rt: KThread<HostOp>;
  readonly track: number;
  /** Residency per idle state name, ns. */
  readonly residencyNs = new Map<string, number>();
  readonly usage = new Map<string, number>();
  /** PPR of the code the last interrupt interrupted (the paca's EX_PPR / HSTATE_PPR). */
  exceptionPpr = PPR_MEDIUM;
  /** decrementer_max: the largest value the host programs in its DEC (timebase ticks). */
  readonly decMax: number;
  /** The decrementer's reach in ns: the farthest a sleep length can be (the clockevent's max delta). */
  private readonly decMaxNs: number;

  constructor(
    readonly sim: Simulation,
    readonly cpuId: number,
    readonly thread: HwThread,
    /** This CPU's cpuidle device: the powernv_idle driver's states, usage and disable flags. */
    readonly cpuidle: CpuidleDevice<PowernvIdleDriver>,
    private readonly governor: CpuidleGovernor,
    private readonly costs: HostCostTable,
    rng: Rng,
    private readonly log: KernelLog,
    private readonly idleConfig: HostIdleConfig,
  ) {
    this.decMax = Math.min(idleConfig.decrementerMax ?? DECREMENTER_DEFAULT_MAX, MODEL_DEC_MAX);
    this.decMaxNs = Math.floor((this.decMax * 1e9) / TB_FREQ_HZ);
    this.track = sim.trace.track("host", `cpu${cpuId}`);
    this.snoozeTimer = sim.createTimer(() => this.snoozeExit(), `host/cpu${cpuId}/snooze`);
    this.rt = new KThread<HostOp>({
      thread,
      level: "hv",
      label: `host/cpu${cpuId}`,
      rng,
      jitterSigma: costs.jitterSigma,
      pollPeriodNs: costs.snoozeExitNs,
      ops: HOST_OPS,
      run: (op) => this.run(op),
      pollDone: () => this.runQueue.length > 0,
    });
    this.idleTick = new HostTimer(this, () => {}, "tick");
    thread.setSoftware("hv", this);
  }

  /**
   * Time this thread takes to run a code path of the cost table (KThread.cost: the cost with its
   * seeded log-normal jitter, divided by the thread's SMT speed: kernel and KVM code share the
   * core's issue resources with the siblings like any code, isa smt.ts).
   */
  cost(ns: number): number {
    return this.rt.cost(ns);
  }

  /** A latency that is not this thread's code (a doorbell crossing the fabric), with jitter. */
  latency(ns: number): number {
    return this.rt.latency(ns);
  }

  /** The runtime continues this CPU's code with `op`. */
  private run(op: HostOp | null): void {
    if (op === null) return;
    switch (op.k) {
      case "schedule":
        this.schedule(op.fromIdle);
        return;
      case "idle-entry":
        if (!this.idleEntryPending) return;
        this.idleEntryPending = false;
        this.enterIdleState();
        return;
      case "doorbell":
        if (this.state === "idle-stop") this.thread.receiveHypervisorDoorbell();
        return;
      case "task":
        op.task.runStep(this, op.step);
        return;
      case "delay":
        // what is left of a code path (the runtime's capture): run it, then continue
        if (op.ns > 0 && !this.rt.runCode(op.ns, op.then)) return;
        this.run(op.then);
        return;
      default:
        return;
    }
  }

  /**
   * Continues the current task's kernel code at `step` after `ns` of virtual time that is already
   * this CPU's cost (scaled and jittered): inline when nothing else is due before then (the
   * caller must run in an event of its own, not inside an ISA notification), else as one event.
   * Returns true when the time passed inline: the caller then continues itself.
   */
  continueTaskAfter(task: HostTask, ns: number, step: HostTaskStep): boolean {
    if (this.sim.tryAdvance(ns)) return true;
    this.rt.later(ns, { k: "task", task, step });
    return false;
  }

  /**
   * Continues the current task's kernel code at `step` after `ns`, always as an event: for code
   * answering a notification of the ISA (an interrupt taken by this software), which must not
   * re-enter the software it took control from.
   */
  continueTaskLater(task: HostTask, ns: number, step: HostTaskStep): void {
    this.rt.later(ns, { k: "task", task, step });
  }

  /** The idle entry path was cut short by a reschedule: the runtime's wait is dropped. */
  private cancelIdleEntry(): void {
    this.idleEntryPending = false;
    this.rt.capture();
  }

  // -------------------------------------------------------------------------------------------
  // Timers
  // -------------------------------------------------------------------------------------------

  createTimer(callback: () => void, label: string): HostTimer {
    return new HostTimer(this, callback, label);
  }

  armTimer(t: HostTimer, at: number): void {
    this.cancelTimer(t);
    t.at = Math.max(at, this.sim.now);
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1].at > t.at) i--;
    this.timers.splice(i, 0, t);
    this.timerChanged();
  }

  cancelTimer(t: HostTimer): void {
    const i = this.timers.indexOf(t);
    if (i >= 0) this.timers.splice(i, 1);
    t.at = -1;
  }

  /** Absolute time of the next host timer, or Infinity. */
  get nextTimerAt(): number {
    return this.timers.length > 0 ? this.timers[0].at : Number.POSITIVE_INFINITY;
  }

  /** Runs the callbacks of every expired timer (hrtimer_interrupt); true when any ran. */
  runExpiredTimers(): boolean {
    let ran = false;
    while (this.timers.length > 0 && this.timers[0].at <= this.sim.now) {
      const t = this.timers.shift() as HostTimer;
      t.at = -1;
      ran = true;
      t.callback();
    }
    return ran;
  }

  /** A timer was armed while the CPU sleeps or snoozes: re-evaluate the wake-up. */
  private timerChanged(): void {
    if (this.state === "idle-stop") {
      // reprogram the decrementer the stopped thread waits on
      this.programDec();
    } else if (this.state === "idle-snooze") {
      this.armSnoozeTimer();
    }
  }

  /** Host DEC = time to the next timer (clamped to decrementer_max). */
  programDec(): void {
    // no timer (Infinity) gives the largest value too
    const ticks = Math.min(this.decMax, Math.max(0, nsToTb(this.nextTimerAt) - nsToTb(this.sim.now)));
    this.thread.setSpr(SPRN_DEC, BigInt(ticks));
  }

  // -------------------------------------------------------------------------------------------
  // Scheduling
  // -------------------------------------------------------------------------------------------

  /** Makes `task` runnable here (try_to_wake_up); wakes the CPU if it idles. */
  wakeTask(task: HostTask): void {
    if (this.current === task || this.runQueue.includes(task)) return;
    this.runQueue.push(task);
    this.kick();
  }

  /** The host's interrupt controller (XIVE), set by bootHost. */
  hostIrqs: HostXive | null = null;

  /**
   * A host interrupt (a KVM escalation) was signalled on this CPU's hypervisor ring (the HVI line
   * rose). A stopped thread wakes by itself (LPCR[PECE_HVEE]) and a thread in a guest exits
   * (H_VIRT); a snoozing or busy CPU notices it at its next loop iteration / schedule.
   */
  hostIrqRaised(): void {
    if (this.state === "idle-snooze") this.snoozeTimer.arm(this.sim.now + this.cost(this.costs.snoozeExitNs));
    else if (this.idleEntryPending) {
      this.cancelIdleEntry();
      this.rt.continueSoon(SCHEDULE);
    }
  }

  /** xive_get_irq and the handlers, when this CPU's hypervisor ring signals an interrupt. */
  handleHostIrqs(): void {
    if (this.hostIrqs?.pending(this.cpuId)) this.hostIrqs.handle(this.cpuId);
  }

  /** Sends the CPU a reschedule IPI (a hypervisor doorbell) when it idles. */
  kick(): void {
    if (this.state === "idle-stop") {
      this.rt.later(this.latency(this.costs.ipiDeliveryNs), DOORBELL);
    } else if (this.state === "idle-snooze") {
      this.snoozeTimer.arm(this.sim.now + this.cost(this.costs.snoozeExitNs));
    } else if (this.idleEntryPending) {
      // about to enter idle (no task: schedule() found none): the idle loop checks need_resched first
      this.cancelIdleEntry();
      this.rt.continueSoon(SCHEDULE);
    }
  }

  /** The current task gives up the CPU (blocked in the kernel or exited). */
  taskBlocked(task: HostTask): void {
    if (this.current !== task) return;
    this.current = null;
    this.state = "busy";
    this.schedule(false);
  }

  /**
   * __schedule(): run timers, then the next runnable task, else the idle loop. A task may give
   * the CPU back from its schedIn (taskBlocked): that schedule() runs the idle loop itself.
   */
  schedule(fromIdle: boolean): void {
    this.thread.hDoorbell = false; // IPIs are processed with interrupts enabled
    this.handleHostIrqs();
    this.runExpiredTimers();
    if (this.current !== null) return;
    const next = this.runQueue.shift();
    if (next !== undefined) {
      this.current = next;
      this.state = "busy";
      // tick_nohz_idle_exit: leaving the idle loop restarts the tick (the running task's tick
      // is the vCPU thread's own, kvm.ts)
      this.idleTick.cancel();
      this.tickStopped = false;
      next.schedIn(this, fromIdle);
      return;
    }
    this.state = "busy";
    // do_idle: the idle entry path, one timed step; cpuidle_idle_call follows at its end (inline
    // when nothing else is due before then)
    this.idleEntryPending = true;
    if (this.rt.runCode(this.costs.idleEntryNs, IDLE_ENTRY)) this.run(IDLE_ENTRY);
  }

  // -------------------------------------------------------------------------------------------
  // Idle (cpuidle_idle_call -> governor select -> state enter)
  // -------------------------------------------------------------------------------------------

  private enterIdleState(): void {
    if (this.current !== null || this.runQueue.length > 0) {
      this.schedule(false);
      return;
    }
    if (this.runExpiredTimers() && (this.current !== null || this.runQueue.length > 0)) {
      this.schedule(false);
      return;
    }
    const idx = this.selectIdleState();
    const st = this.cpuidle.drv.states[idx];
    this.idleState = st;
    this.idleStart = this.sim.now;
    this.usage.set(st.name, (this.usage.get(st.name) ?? 0) + 1);
    if (st.kind === "snooze") {
      // snooze_loop: poll at very low SMT priority until need_resched or the snooze timeout
      this.state = "idle-snooze";
      this.thread.execute(HMT_VERY_LOW);
      this.armSnoozeTimer();
      return;
    }
    // stop_loop -> power9_idle_stop: PSSCR = (PSSCR & ~mask) | val, then `stop`
    this.programDec();
    const cur = this.thread.getSpr(SPRN_PSSCR);
    this.thread.setSpr(SPRN_PSSCR, (cur & ~st.psscrMask) | st.psscrVal);
    this.state = "idle-stop";
    const r = this.thread.execute(STOP);
    // EXEC_STOPPED: the wake-up comes later; EXEC_INTERRUPT: a wake event was pending with EC=1,
    // the 0x100 went to interrupt() already; EXEC_OK: one was pending with EC=0, no stop at all
    if (r !== EXEC_STOPPED && r !== EXEC_INTERRUPT) this.idleWake();
  }

  /**
   * cpuidle_idle_call: tick_nohz_get_sleep_length, the governor's choice, then the tick stopped
   * (tick_nohz_idle_stop_tick) or kept (tick_nohz_idle_retain_tick) as it says.
   */
  private selectIdleState(): number {
    const now = this.sim.now;
    this.idleTick.cancel();
    const tickNs = this.idleConfig.tickNs;
    // the next timer event if the tick were stopped, within the decrementer's reach
    const sleepLengthNs = Math.min(this.nextTimerAt - now, this.decMaxNs);
    // the next jiffy: the tick's next expiry while it runs
    const nextTickAt = (Math.floor(now / tickNs) + 1) * tickNs;
    const deltaNextNs = this.tickStopped ? sleepLengthNs : Math.min(sleepLengthNs, nextTickAt - now);
    const sel = this.governor.select(this.cpuidle, {
      sleepLengthNs,
      deltaNextNs,
      latencyReqNs: this.idleConfig.latencyReqNs,
      tickStopped: this.tickStopped,
      nrIowaiters: 0,
      now,
      tickNs,
    });
    // the kept tick fires at the next jiffy even when another timer expires with it
    if (sel.stopTick || this.tickStopped) this.tickStopped = true;
    else if (nextTickAt <= this.nextTimerAt) this.idleTick.start(nextTickAt);
    return sel.index;
  }

  private armSnoozeTimer(): void {
    // linux: cpuidle-powernv.c get_snooze_timeout: the target residency of the next enabled
    // state, or default_snooze_timeout (TICK_USEC) when every later state is disabled; with
    // snooze the driver's only state (snooze_timeout_en false) the loop has no timeout at all
    const timeout = this.snoozeTimeoutNs();
    const until = Math.min(this.nextTimerAt, this.idleStart + timeout);
    // need_resched already set (a task was woken): the kick set the exit at the loop's next
    // iteration, which a timer armed meanwhile does not move
    if (this.runQueue.length === 0 && Number.isFinite(until))
      this.snoozeTimer.arm(Math.max(this.sim.now, until));
  }

  private snoozeTimeoutNs(): number {
    const drv = this.cpuidle.drv;
    if (!drv.snoozeTimeoutEnabled) return Number.POSITIVE_INFINITY;
    const index = this.idleState?.index ?? 0;
    for (let i = index + 1; i < drv.states.length; i++) {
      if (this.cpuidle.statesUsage[i].disable) continue;
      return drv.states[i].targetResidencyNs;
    }
    return this.idleConfig.tickNs;
  }

  private snoozeExit(): void {
    if (this.state !== "idle-snooze") return;
    this.thread.execute(HMT_MEDIUM);
    this.finishIdle(0);
    this.schedule(true);
  }

  /**
   * Records the idle period (cpuidle_enter_state: the state's enter function returns after the
   * hardware's exit latency) and leaves the idle state (cpuidle_reflect).
   */
  private finishIdle(exitLatencyNs: number): void {
    const st = this.idleState;
    const dur = this.sim.now - this.idleStart;
    if (st !== null) {
      this.cpuidle.account(st.index, this.idleStart, this.sim.now + exitLatencyNs);
      // tick_nohz_idle_got_tick: the tick's interrupt is taken before cpuidle_reflect (after
      // local_irq_enable), so a tick due by the wake-up counts
      const tickDue = this.idleTick.armed && this.idleTick.at <= this.sim.now;
      this.governor.reflect(this.cpuidle, st.index, {
        gotTick: tickDue,
        now: this.sim.now + exitLatencyNs,
        tickNs: this.idleConfig.tickNs,
      });
      this.residencyNs.set(st.name, (this.residencyNs.get(st.name) ?? 0) + dur);
      if (this.sim.trace.enabled) {
        this.sim.trace.complete(this.track, "cpu_idle", "power", this.idleStart, dur, {
          state: st.index,
          name: st.name,
        });
      }
    }
    this.idleState = null;
    this.state = "busy";
  }

  /** The stopped thread woke (EC=0 resume or EC=1 system reset). */
  private idleWake(): void {
    if (this.state !== "idle-stop") return;
    const st = this.idleState;
    const exitNs = st?.firmwareLatencyNs ?? 0;
    const byTimer = this.nextTimerAt <= this.sim.now;
    this.finishIdle(exitNs);
    this.thread.hDoorbell = false;
    const irq = byTimer ? this.costs.hrtimerIrqNs : this.costs.hostIpiIrqNs;
    // the hardware wake-up (firmware exit latency) then the interrupt that woke the CPU
    this.rt.later(exitNs + this.cost(irq), SCHEDULE_FROM_IDLE);
  }

  // -------------------------------------------------------------------------------------------
  // ThreadSoftware ("hv")
  // -------------------------------------------------------------------------------------------

  interrupt(thread: HwThread, vector: number): void {
    // Every interrupt entry (linux: arch/powerpc/kernel/exceptions-64s.S GEN_INT_ENTRY, and
    // system_call_kvm for hcalls) reads the interrupted PPR into the paca (EX_PPR / HSTATE_PPR),
    // then HMT_MEDIUM, before KVMTEST branches to KVM: host code after a guest exit never runs at
    // the priority a snoozing guest polled at. KVM stores the saved value as the guest's PPR.
    this.exceptionPpr = thread.getSpr(SPRN_PPR);
    if (thread.priority !== PPR_PRI_MEDIUM) thread.setSpr(SPRN_PPR, PPR_MEDIUM);
    if (this.state === "guest" && this.current !== null) {
      this.current.guestInterrupt(this, vector);
      return;
    }
    if (this.state === "idle-stop" && vector === 0x100) {
      this.idleWake();
      return;
    }
    this.log.warn(`cpu${this.cpuId}: unexpected interrupt 0x${vector.toString(16)} in state ${this.state}`);
  }

  resume(_thread: HwThread): void {
    if (this.state === "idle-stop") this.idleWake();
  }

  /** Whether the CPU is in an idle state right now. */
  get idle(): boolean {
    return this.state === "idle-stop" || this.state === "idle-snooze";
  }

  /** The idle state the CPU is in, or null. */
  get currentIdleState(): HostIdleState | null {
    return this.idle ? this.idleState : null;
  }
}
