// One vCPU of the guest kernel: the software that runs on a hardware thread in guest state
// (docs/ARCHITECTURE.md "Software on a hardware thread"). Kernel code is written as generators of
// operations; the runner below turns each operation into virtual time on the engine or into
// instruction words executed by the ISA thread, and handles the interrupts the ISA delivers.
//
// Linux sources followed: arch/powerpc/kernel/irq.c (soft-masking: irq_happened, replay,
// prep_irq_for_idle, prep_irq_for_idle_irqsoff), arch/powerpc/kernel/time.c (timer_interrupt,
// set_dec), arch/powerpc/kernel/smp.c (smp_muxed_ipi_message_pass, smp_ipi_demux),
// arch/powerpc/sysdev/xics/icp-hv.c (H_XIRR, H_IPI, H_EOI), arch/powerpc/kernel/dbell.c,
// kernel/sched/idle.c (do_idle, cpuidle_idle_call), drivers/cpuidle/cpuidle.c
// (cpuidle_enter_state), drivers/cpuidle/cpuidle-pseries.c (snooze_loop, shared_cede_loop,
// dedicated_cede_loop) and the stop0lite patch (stop_loop), kernel/sched/core.c (try_to_wake_up,
// ttwu_queue_remote, set_nr_if_polling, scheduler_ipi).

import type { Rng, Timer } from "@stopsim/engine";
import {
  BOOK3S_INTERRUPT_DECREMENTER,
  BOOK3S_INTERRUPT_DOORBELL,
  BOOK3S_INTERRUPT_EXTERNAL,
  BOOK3S_INTERRUPT_PROGRAM,
  EXEC_INTERRUPT,
  EXEC_OK,
  EXEC_STOPPED,
  type HwThread,
  MSR_EE,
  MSR_LE,
  MSR_RI,
  PPC_DBELL_SERVER,
  PPC_DBELL_TYPE_SHIFT,
  SPRN_SRR0,
  SPRN_SRR1,
  type ThreadSoftware,
} from "@stopsim/isa";
import type { CpuidleDevice } from "../cpuidle/core.js";
import {
  H_CEDE,
  H_EOI,
  H_IPI,
  H_XIRR,
  IPI_PRIORITY,
  LOWEST_PRIORITY,
  XICS_IPI,
  XICS_IRQ_SPURIOUS,
} from "../linux/papr.js";
import type { GuestCosts } from "./costs.js";
import { R_DBELL, R_MSR, R_SPR, TEXT, type TextSymbol } from "./image.js";
import type { Task } from "./task.js";
import type { XiveSpapr } from "./xive.js";

/** An operation of kernel code. */
export type KOp =
  /** Kernel code running for `ns` (interruptible when MSR[EE]=1). */
  | { readonly k: "delay"; readonly ns: number }
  /** Execute instruction `i` of a text symbol at its address. */
  | { readonly k: "exec"; readonly sym: TextSymbol; readonly i: number }
  /** User-mode work: `ns` at full single-thread speed, slowed by SMT siblings. */
  | { readonly k: "work"; readonly ns: number }
  /** The snooze loop polling until need_resched, an interrupt, or `deadline` (virtual ns). */
  | { readonly k: "poll"; readonly deadline: number }
  /** Nothing to run until an interrupt arrives (a halted CPU). */
  | { readonly k: "park" }
  /** Context switch to `to` (null: the idle task). */
  | { readonly k: "switch"; readonly to: Task | null }
  /** Return from interrupt (the handler is done). */
  | { readonly k: "iret" };

export type KCode = Generator<KOp, void, void>;

type CtxKind = "boot" | "idle" | "task" | "irq";

/** A kernel stack: a running piece of kernel code. */
class Ctx {
  /** The operation to re-issue when switched back in (null: continue the generator). */
  resume: KOp | null = null;
  /** A prologue context continues into this one when its generator ends. */
  next: Ctx | null = null;
  constructor(
    readonly gen: KCode,
    readonly kind: CtxKind,
    readonly task: Task | null,
  ) {}
}

/** An interrupted context saved by an interrupt (the exception frame on the kernel stack). */
interface Frame {
  readonly ctx: Ctx;
  readonly resume: KOp | null;
  readonly softEnabled: boolean;
  readonly srr0: bigint;
  readonly srr1: bigint;
  readonly gprs: bigint[];
  /** The interrupt this frame belongs to was soft-masked (masked_interrupt path). */
  masked: boolean;
  /** Work injected from outside the guest (no architected interrupt: no rfid on return). */
  soft: boolean;
  /** PPR of the interrupted code (high word: PPR[PRI] in bits 18-20), saved by the exception prolog; -1 until it ran. */
  pprHi: number;
  pprLo: number;
}

type Wait =
  | { k: "entry" }
  | { k: "timer"; op: KOp; timer: Timer; startedAt: number; endAt: number; speed: number }
  | { k: "work"; timer: Timer; remaining: number; lastUpdate: number; speed: number; startedAt: number }
  | { k: "poll"; timer: Timer; deadline: number; startedAt: number; loopStart: number }
  | { k: "hv"; op: KOp; addr: number }
  | { k: "stopped"; addr: number }
  | { k: "frozen"; op: KOp | null }
  | { k: "park" }
  | { k: "dead" };

/** paca->irq_happened bits (linux: arch/powerpc/include/asm/hw_irq.h). */
export const PACA_IRQ_HARD_DIS = 0x01;
export const PACA_IRQ_DBELL = 0x02;
export const PACA_IRQ_EE = 0x04;
export const PACA_IRQ_DEC = 0x08;

/** IPI message types (linux: arch/powerpc/include/asm/smp.h). */
export const PPC_MSG_CALL_FUNCTION = 0;
export const PPC_MSG_RESCHEDULE = 1;

const GPRS_SAVED = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, R_MSR, R_SPR, R_DBELL];
const EXC_PROLOG_SAVE_PPR: KOp = { k: "exec", sym: TEXT.exceptionProlog, i: 0 };
const EXC_PROLOG_HMT_MEDIUM: KOp = { k: "exec", sym: TEXT.exceptionProlog, i: 1 };

/** The services a vCPU needs from the kernel as a whole. */
export interface KernelServices {
  readonly costs: GuestCosts;
  /** The seeded stream of a vCPU's cost jitter. */
  costStream(cpu: GuestCpu): Rng;
  readonly tbFreq: () => number;
  readonly decMax: () => number;
  cpu(logical: number): GuestCpu;
  cpuByHwId(hwId: number): GuestCpu | undefined;
  /** Siblings share a core: doorbells reach them (cpu_sibling_mask). */
  areSiblings(a: GuestCpu, b: GuestCpu): boolean;
  /** cpu_thread_in_core(): the thread's index within its (virtual) core. */
  threadInCore(cpu: GuestCpu): number;
  /** Whether IPIs to `target` use msgsndp (doorbell_try_core_ipi) rather than H_IPI. */
  useDoorbell(from: GuestCpu, target: GuestCpu): boolean;
  /** The XIVE backend when the kernel runs in XIVE exploitation mode, else null (XICS). */
  readonly xive: () => XiveSpapr | null;
  /** Boot entry points: vCPU 0 at KERNEL_ENTRY, secondaries at SECONDARY_ENTRY. */
  bootEntry(cpu: GuestCpu): KCode;
  secondaryEntry(cpu: GuestCpu): KCode;
  /** The idle loop of a CPU (do_idle forever). */
  idleLoop(cpu: GuestCpu): KCode;
  /** Program check and other fatal exceptions: die(). */
  die(cpu: GuestCpu, vector: number, srr0: bigint, srr1: bigint): KCode;
  /** A task's kernel side (runs its program). */
  taskMain(cpu: GuestCpu, task: Task): KCode;
  /** The kernel stopped (panic): CPUs park. */
  readonly halted: () => boolean;
  trace(cpu: GuestCpu, name: string, args?: Record<string, string | number | boolean>): void;
}

/** An hrtimer on a CPU's timer base. */
export interface HrTimer {
  /** Expiry, guest ns (CLOCK_MONOTONIC). */
  expires: number;
  readonly name: string;
  /** The callback; runs in the timer interrupt with interrupts hard-disabled. */
  readonly fn: (cpu: GuestCpu) => KCode | null;
  /** Re-arm period for periodic timers (0: one-shot). */
  period: number;
  queued: boolean;
}

export class GuestCpu implements ThreadSoftware {
  // --- scheduler state ---
  current: Task | null = null;
  readonly runqueue: Task[] = [];
  /** rq->wake_list: remote wakeups waiting for sched_ttwu_pending. */
  readonly wakeList: Task[] = [];
  needResched = false;
  /** TIF_POLLING_NRFLAG of the idle task. */
  polling = false;
  /** smp_muxed_ipi_message_pass: pending message bits. */
  ipiMessages = 0;
  readonly callQueue: Array<(cpu: number) => void> = [];
  // --- interrupt state ---
  /** irq_soft_mask == IRQS_ENABLED */
  softEnabled = false;
  irqHappened = PACA_IRQ_HARD_DIS;
  // --- timers ---
  readonly hrtimers: HrTimer[] = [];
  tickRunning = false;
  tickTimer: HrTimer | null = null;
  /** The last wakeup from idle was the tick (tick_nohz_idle_got_tick). */
  gotTick = false;
  // --- cpuidle ---
  cpuidle: CpuidleDevice | null = null;
  inIdle = false;
  /** Virtual time the CPU last entered an idle state (for the wakeup trace and the watchdog). */
  idleStateSince = -1;
  idleStateName = "";
  // --- life cycle ---
  online = false;
  /** Last watchdog heartbeat (virtual ns). */
  heartbeat = 0;
  /** Counters. */
  readonly stats = {
    interrupts: new Map<number, number>(),
    hcalls: new Map<number, number>(),
    ipisSent: 0,
    ipisReceived: 0,
    contextSwitches: 0,
    idleEntries: 0,
    maskedInterrupts: 0,
    /** Times this vCPU's software moved to another hardware thread (a live migration). */
    rebinds: 0,
    /** Idle exits at or after the expiry of the timer armed when the CPU went idle. */
    timerWakeups: 0,
    /**
     * Timer wake-ups later than LATE_WAKEUP_FACTOR x the idle state's exit latency (at least
     * 1 us) after the timer was due: a wake event that came late or was lost on the way.
     */
    lateWakeups: 0,
    /** Timer wake-ups STALL_NS or more after the timer was due: the vCPU made no progress. */
    stalls: 0,
    /** The latest a timer wake-up from idle came after its expiry (ns). */
    maxWakeupLatenessNs: 0,
    /** The latest of the wake-ups that were neither late nor stalls (ns). */
    maxPunctualLatenessNs: 0,
  };

  /** When this vCPU's software last moved to another hardware thread (ktime ns), or -1. */
  reboundAtNs = -1;

  private cur: Ctx | null = null;
  private readonly idleCtx: Ctx;
  private wait: Wait = { k: "entry" };
  private readonly frames: Frame[] = [];
  private stepping = false;
  private deferredVector: number | null = null;
  private readonly waitTimer: Timer;
  private readonly kickTimer: Timer;
  private readonly costRng: Rng;
  private kickOp: KOp | null = null;
  /** The hardware thread the hypervisor runs this vCPU on now. */
  private hw: HwThread;
  private unsubscribeSpeed: () => void;
  /** Moved to another thread: reprogram the decrementer before the next kernel step. */
  private decResync = false;

  constructor(
    readonly logical: number,
    readonly hwId: number,
    thread: HwThread,
    private readonly k: KernelServices,
  ) {
    this.hw = thread;
    this.waitTimer = thread.sim.createTimer(() => this.onWaitTimer(), `guest cpu${logical}`);
    this.kickTimer = thread.sim.createTimer(() => this.onKick(), `guest cpu${logical}`);
    this.costRng = k.costStream(this);
    this.idleCtx = new Ctx(k.idleLoop(this), "idle", null);
    this.unsubscribeSpeed = this.watchSpeed(thread);
  }

  /** The hardware thread this vCPU runs on (it changes when the vCPU moves, see rebind). */
  get thread(): HwThread {
    return this.hw;
  }

  get sim() {
    return this.hw.sim;
  }

  private watchSpeed(thread: HwThread): () => void {
    return thread.core?.onSpeedChange(() => this.onSpeedChange()) ?? (() => {});
  }

  /**
   * The hypervisor runs this vCPU on another hardware thread (after a live migration: the
   * destination's KVM loaded the registers the stream carried). The kernel's own state (run queue,
   * hrtimers, cpuidle history, the interrupted context) is this object and stays; what was bound
   * to the old thread moves: the pending wait is frozen at the time the old thread left the guest
   * (as an asynchronous hypervisor exit freezes it), the SMT speed is watched on the new core, and
   * the decrementer is reprogrammed from the kernel's hrtimers before the next kernel step (the
   * guest's clock is the timebase, continuous across hosts here; whatever DEC the new host
   * loaded is replaced by the kernel's own next event).
   */
  rebind(thread: HwThread): void {
    if (thread === this.hw) return;
    const w = this.wait;
    if (w.k === "timer" || w.k === "work" || w.k === "poll") {
      w.timer.cancel();
      this.freezeAtHvEntry(w);
    }
    this.unsubscribeSpeed();
    this.hw = thread;
    this.unsubscribeSpeed = this.watchSpeed(thread);
    this.stepping = false;
    this.deferredVector = null;
    if (this.wait.k !== "entry" && this.wait.k !== "dead") this.decResync = true;
    this.stats.rebinds++;
    this.reboundAtNs = this.ktime();
    this.k.trace(this, "cpu_rebind", { thread: thread.index });
  }

  /** What the CPU is doing, for reports and tests. */
  get activity(): string {
    switch (this.wait.k) {
      case "entry":
        return "not started";
      case "dead":
        return "halted";
      case "park":
        return "parked";
      case "stopped":
        return "stopped (stop instruction)";
      case "hv":
        return "in the hypervisor";
      case "poll":
        return "polling (snooze)";
      case "work":
        return `running ${this.current?.name ?? "?"}`;
      default:
        return this.inIdle ? `idle (${this.idleStateName})` : "kernel";
    }
  }

  // ===========================================================================================
  // Time
  // ===========================================================================================

  /** get_tb(): the timebase (mftb). */
  getTb(): number {
    return Number(this.thread.timebase);
  }

  /** ktime_get(): guest CLOCK_MONOTONIC in ns, derived from the timebase and ppc_tb_freq. */
  ktime(): number {
    return (this.getTb() * 1e9) / this.k.tbFreq();
  }

  // ===========================================================================================
  // ThreadSoftware
  // ===========================================================================================

  interrupt(_thread: HwThread, vector: number): void {
    if (this.stepping) {
      this.deferredVector = vector;
      return;
    }
    if (this.wait.k === "dead") return;
    const resume = this.captureWait();
    this.takeInterrupt(vector, resume);
  }

  resume(thread: HwThread): void {
    const w = this.wait;
    const pc = Number(thread.pc);
    if (w.k === "entry") {
      this.wait = { k: "frozen", op: null };
      if (pc === TEXT.start.addr) this.startCtx(new Ctx(this.k.bootEntry(this), "boot", null));
      else this.startCtx(new Ctx(this.k.secondaryEntry(this), "boot", null));
      return;
    }
    if (w.k === "dead") return;
    if (pc < 0x1000 && pc >= 0x100 && w.k !== "stopped") {
      // a hypervisor injected an interrupt by setting PC to its vector and re-entering
      const resumeOp = this.captureWait();
      this.takeInterrupt(pc, resumeOp);
      return;
    }
    switch (w.k) {
      case "hv": {
        this.wait = { k: "frozen", op: null };
        const retry = pc === w.addr;
        this.continueSoon(retry ? w.op : null);
        return;
      }
      case "stopped":
        this.wait = { k: "frozen", op: null };
        this.continueSoon(null);
        return;
      case "frozen": {
        const op = w.op;
        this.continueSoon(op);
        return;
      }
      case "timer":
      case "work":
      case "poll":
        // the hypervisor ran between our steps (an asynchronous exit): the time it took is not
        // guest progress, so push the pending end out by it
        this.extendAfterHv(w);
        return;
      default:
        return;
    }
  }

  // ===========================================================================================
  // The runner
  // ===========================================================================================

  /**
   * Continues the kernel code with `op` as a new event at the current time (after whatever else
   * is due now): the caller may be inside the ISA or the hypervisor. One re-armable timer serves
   * these continuations; a second one while it is armed (not seen in practice) gets its own event.
   */
  private continueSoon(op: KOp | null): void {
    if (this.kickTimer.armed) {
      this.sim.schedule(0, () => this.advance(op), `guest cpu${this.logical}`);
      return;
    }
    this.kickOp = op;
    this.kickTimer.arm(this.sim.now);
  }

  private onKick(): void {
    const op = this.kickOp;
    this.kickOp = null;
    this.advance(op);
  }

  /** Starts running `ctx` (boot entry). */
  private startCtx(ctx: Ctx): void {
    this.cur = ctx;
    this.continueSoon(null);
  }

  /** Runs the current context until it waits. */
  private advance(op: KOp | null): void {
    for (;;) {
      if (
        this.k.halted() &&
        this.wait.k !== "dead" &&
        this.cur?.kind !== "irq" &&
        this.cur?.kind !== "boot"
      ) {
        this.halt();
        return;
      }
      if (this.decResync && this.cur !== null) {
        // first kernel step on a new thread: reprogram DEC (like an interrupt, then continue)
        this.decResync = false;
        this.pushSoftFrame(op, this.programDec());
        op = null;
        continue;
      }
      const ctx = this.cur;
      if (ctx === null) return;
      if (op === null) {
        const r = ctx.gen.next();
        if (r.done && ctx.next !== null) {
          this.cur = ctx.next;
          continue;
        }
        if (r.done) {
          if (ctx.kind === "irq") throw new Error(`cpu${this.logical}: interrupt handler ended without iret`);
          if (ctx.kind === "boot") {
            // the boot code falls into the idle loop (cpu_startup_entry)
            this.cur = this.idleCtx;
            op = null;
            continue;
          }
          throw new Error(`cpu${this.logical}: ${ctx.kind} context ended`);
        }
        op = r.value;
      }
      const cur: KOp = op;
      op = null;
      switch (cur.k) {
        case "delay":
          if (cur.ns <= 0) continue;
          if (this.armTimerWait(cur, cur.ns)) continue;
          return;
        case "work": {
          if (cur.ns <= 0) continue;
          const speed = this.speed();
          // nothing else due before the work ends: it runs to its end inline
          if (this.sim.tryAdvance(Math.max(1, Math.ceil(cur.ns / speed)))) continue;
          const now = this.sim.now;
          this.wait = {
            k: "work",
            timer: this.waitTimer,
            remaining: cur.ns,
            lastUpdate: now,
            speed,
            startedAt: now,
          };
          this.waitTimer.arm(now + Math.max(1, Math.ceil(cur.ns / speed)));
          return;
        }
        case "poll": {
          const now = this.sim.now;
          this.wait = {
            k: "poll",
            timer: this.waitTimer,
            deadline: cur.deadline,
            startedAt: now,
            loopStart: now,
          };
          this.armPoll();
          return;
        }
        case "park":
          this.wait = { k: "park" };
          return;
        case "switch": {
          const next = cur.to === null ? this.idleCtx : this.taskCtx(cur.to);
          if (next === ctx) continue;
          ctx.resume = null;
          const pending = next.resume;
          next.resume = null;
          // finish_task_switch: the incoming context runs with interrupts enabled
          const tail = new Ctx(this.switchTail(pending), next.kind, next.task);
          tail.next = next;
          this.cur = tail;
          continue;
        }
        case "iret": {
          const r = this.iret();
          if (r === "wait") return;
          op = r;
          continue;
        }
        case "exec": {
          const r = this.execOp(cur);
          if (r === "continue") continue;
          return;
        }
      }
    }
  }

  private *switchTail(pending: KOp | null): KCode {
    yield* this.localIrqEnable();
    if (pending !== null) yield pending;
  }

  private taskCtx(task: Task): Ctx {
    let ctx = this.taskCtxs.get(task);
    if (ctx === undefined) {
      ctx = new Ctx(this.k.taskMain(this, task), "task", task);
      this.taskCtxs.set(task, ctx);
    }
    return ctx;
  }
  private readonly taskCtxs = new Map<Task, Ctx>();

  /** Forgets the kernel stack of an exited task. */
  releaseTask(task: Task): void {
    this.taskCtxs.delete(task);
  }

  private speed(): number {
    const core = this.thread.core;
    if (core === null) return 1;
    const s = core.effectiveSpeed(this.thread.index);
    return s > 0 ? s : 1e-6;
  }

  /**
   * Kernel code running for `ns` of work: like user work, it shares the core's issue resources
   * with the SMT siblings (smt.ts), so it takes ns / speed of virtual time at the speed the
   * thread has when the code starts (kernel paths are short: a sibling changing state during
   * one is not followed). Returns true when the time passed inline (Simulation.tryAdvance).
   */
  private armTimerWait(op: KOp, ns: number): boolean {
    const now = this.sim.now;
    const core = this.hw.core;
    const speed = core === null ? 1 : core.runningSpeed(this.hw.index);
    const sigma = this.k.costs.jitterSigma;
    const t = sigma > 0 ? this.costRng.logNormal(ns, sigma) : ns;
    const d = speed === 1 && t === ns ? ns : Math.max(1, Math.round(t / speed));
    // nothing else due before the code ends (no interrupt can come): it runs inline
    if (this.sim.tryAdvance(d)) return true;
    const endAt = now + d;
    this.wait = { k: "timer", op, timer: this.waitTimer, startedAt: now, endAt, speed };
    this.waitTimer.arm(endAt);
    return false;
  }

  /** The snooze loop's next iteration boundary at or after now (and the deadline check). */
  private armPoll(): void {
    const w = this.wait;
    if (w.k !== "poll") return;
    const p = this.k.costs.snoozePollNs;
    const now = this.sim.now;
    const target = this.needResched ? now : Math.max(now, w.deadline);
    if (!Number.isFinite(target)) {
      w.timer.cancel();
      return;
    }
    const n = Math.ceil((target - w.loopStart) / p);
    w.timer.arm(w.loopStart + Math.max(n, 0) * p);
  }

  /** Another CPU set need_resched while this one polls: the loop notices at its next iteration. */
  pollKick(): void {
    if (this.wait.k === "poll") this.armPoll();
  }

  private onWaitTimer(): void {
    const w = this.wait;
    if (this.thread.hypervisorState || this.thread.stopped) {
      // the hypervisor took the thread (asynchronous exit): freeze until it returns
      if (w.k === "timer" || w.k === "work" || w.k === "poll") this.freezeAtHvEntry(w);
      return;
    }
    this.wait = { k: "frozen", op: null };
    this.advance(null);
  }

  /**
   * The pending wait stopped when the hypervisor took the thread: what is left of it at that time
   * becomes the operation to re-issue when the kernel runs again.
   */
  private freezeAtHvEntry(w: Wait & { k: "timer" | "work" | "poll" }): void {
    const hvSince = this.hvEntryTime(w);
    if (w.k === "timer")
      this.wait = { k: "frozen", op: { k: "delay", ns: Math.max(0, (w.endAt - hvSince) * w.speed) } };
    else if (w.k === "work") {
      const done = (hvSince - w.lastUpdate) * w.speed;
      this.wait = { k: "frozen", op: { k: "work", ns: Math.max(0, w.remaining - done) } };
    } else this.wait = { k: "frozen", op: { k: "poll", deadline: w.deadline } };
  }

  private hvEntryTime(w: Wait): number {
    const li = this.thread.lastInterrupt;
    const since = "startedAt" in w ? w.startedAt : 0;
    if (li !== null && li.level === "hv" && li.time >= since) return li.time;
    return this.sim.now;
  }

  private extendAfterHv(w: Wait & { k: "timer" | "work" | "poll" }): void {
    const hvSince = this.hvEntryTime(w);
    const lost = this.sim.now - hvSince;
    if (lost <= 0) return;
    if (w.k === "timer") {
      w.endAt += lost;
      w.timer.arm(w.endAt);
    } else if (w.k === "work") {
      const done = (hvSince - w.lastUpdate) * w.speed;
      w.remaining = Math.max(0, w.remaining - done);
      w.lastUpdate = this.sim.now;
      w.speed = this.speed();
      w.timer.arm(this.sim.now + Math.max(1, Math.ceil(w.remaining / w.speed)));
    } else {
      this.armPoll();
    }
  }

  private onSpeedChange(): void {
    const w = this.wait;
    if (w.k !== "work" || this.thread.hypervisorState) return;
    const now = this.sim.now;
    const s = this.speed();
    if (s === w.speed) return;
    w.remaining = Math.max(0, w.remaining - (now - w.lastUpdate) * w.speed);
    w.lastUpdate = now;
    w.speed = s;
    w.timer.arm(now + Math.max(1, Math.ceil(w.remaining / s)));
  }

  /** Converts the current wait into the operation to re-issue after an interrupt. */
  private captureWait(): KOp | null {
    const w = this.wait;
    const now = this.sim.now;
    switch (w.k) {
      case "timer":
        w.timer.cancel();
        this.wait = { k: "frozen", op: null };
        return { k: "delay", ns: Math.max(0, (w.endAt - now) * w.speed) };
      case "work": {
        w.timer.cancel();
        const rem = Math.max(0, w.remaining - (now - w.lastUpdate) * w.speed);
        this.wait = { k: "frozen", op: null };
        return { k: "work", ns: rem };
      }
      case "poll":
        // the polling loop continues after the interrupt: it re-checks need_resched and the time
        w.timer.cancel();
        this.wait = { k: "frozen", op: null };
        return null;
      case "hv": {
        this.wait = { k: "frozen", op: null };
        const srr0 = Number(this.thread.getSpr(SPRN_SRR0));
        return srr0 === w.addr ? w.op : null;
      }
      case "stopped":
        this.wait = { k: "frozen", op: null };
        return null;
      case "frozen": {
        const op = w.op;
        this.wait = { k: "frozen", op: null };
        return op;
      }
      case "park":
        return { k: "park" };
      default:
        return null;
    }
  }

  /** Executes one instruction word of a text symbol. */
  private execOp(op: KOp & { k: "exec" }): "continue" | "wait" {
    const addr = op.sym.addr + 4 * op.i;
    const word = op.sym.words[op.i];
    this.thread.setPc32(addr);
    this.stepping = true;
    let r: number;
    try {
      r = this.thread.execute(word);
    } finally {
      this.stepping = false;
    }
    if (r === EXEC_OK) return "continue";
    if (r === EXEC_STOPPED) {
      this.wait = { k: "stopped", addr };
      return "wait";
    }
    if (r === EXEC_INTERRUPT) {
      const v = this.deferredVector;
      this.deferredVector = null;
      if (v !== null) {
        // an interrupt for us: taken before the instruction (SRR0 = it) or after it (SRR0 = next)
        const srr0 = Number(this.thread.getSpr(SRR0_SPR));
        this.wait = { k: "frozen", op: null };
        this.takeInterrupt(v, srr0 === addr ? op : null);
        return "wait";
      }
      this.wait = { k: "hv", op, addr };
      return "wait";
    }
    throw new Error(`cpu${this.logical}: unexpected execute() result ${r}`);
  }

  // ===========================================================================================
  // Interrupts
  // ===========================================================================================

  private takeInterrupt(vector: number, resume: KOp | null): void {
    const t = this.thread;
    const frame: Frame = {
      ctx: this.cur ?? this.idleCtx,
      resume,
      softEnabled: this.softEnabled,
      srr0: t.getSpr(SPRN_SRR0),
      srr1: t.getSpr(SPRN_SRR1),
      gprs: GPRS_SAVED.map((n) => t.gpr(n)),
      masked: false,
      soft: false,
      pprHi: -1,
      pprLo: 0,
    };
    this.frames.push(frame);
    this.stats.interrupts.set(vector, (this.stats.interrupts.get(vector) ?? 0) + 1);
    this.k.trace(this, "interrupt", { vector: `0x${vector.toString(16)}` });
    let gen: KCode;
    const maskable =
      vector === BOOK3S_INTERRUPT_DECREMENTER ||
      vector === BOOK3S_INTERRUPT_EXTERNAL ||
      vector === BOOK3S_INTERRUPT_DOORBELL;
    if (maskable && !frame.softEnabled) {
      frame.masked = true;
      gen = this.maskedInterrupt(vector, frame);
    } else if (vector === BOOK3S_INTERRUPT_DECREMENTER) {
      gen = this.interruptBody(() => this.timerInterrupt());
    } else if (vector === BOOK3S_INTERRUPT_EXTERNAL) {
      gen = this.interruptBody(() => this.doIrq());
    } else if (vector === BOOK3S_INTERRUPT_DOORBELL) {
      gen = this.interruptBody(() => this.doorbellException());
    } else {
      gen = this.k.die(this, vector, frame.srr0, frame.srr1);
    }
    this.softEnabled = false;
    // the prolog runs as its own context that continues into the handler (no generator delegation
    // on every step of the handler)
    const prolog = new Ctx(this.exceptionProlog(frame), "irq", this.current);
    prolog.next = new Ctx(gen, "irq", this.current);
    this.cur = prolog;
    this.wait = { k: "frozen", op: null };
    this.continueSoon(null);
  }

  // linux: arch/powerpc/kernel/exceptions-64s.S (CPU_FTR_HAS_PPR): save PPR, then HMT_MEDIUM
  private *exceptionProlog(frame: Frame): KCode {
    yield EXC_PROLOG_SAVE_PPR;
    frame.pprHi = this.thread.gprHi[R_SPR];
    frame.pprLo = this.thread.gprLo[R_SPR];
    yield EXC_PROLOG_HMT_MEDIUM;
  }

  private *interruptBody(body: () => KCode): KCode {
    yield { k: "delay", ns: this.k.costs.interruptEntryNs };
    yield* body();
    yield { k: "delay", ns: this.k.costs.interruptExitNs };
    yield { k: "iret" };
  }

  // linux: arch/powerpc/kernel/exceptions-64s.S masked_interrupt
  private *maskedInterrupt(vector: number, frame: Frame): KCode {
    this.stats.maskedInterrupts++;
    yield { k: "delay", ns: this.k.costs.maskedInterruptNs };
    if (vector === BOOK3S_INTERRUPT_DECREMENTER) {
      this.irqHappened |= PACA_IRQ_DEC;
      // stop the decrementer from firing again until it is replayed
      yield* this.setDecTicks(this.k.decMax());
    } else if (vector === BOOK3S_INTERRUPT_EXTERNAL) {
      // level-triggered: return hard-disabled so it does not fire again
      this.irqHappened |= PACA_IRQ_EE | PACA_IRQ_HARD_DIS;
      (frame as { srr1: bigint }).srr1 = frame.srr1 & ~MSR_EE;
    } else {
      this.irqHappened |= PACA_IRQ_DBELL;
    }
    yield { k: "iret" };
  }

  /** Returns from the innermost interrupt; yields the op to continue with, or "wait". */
  private iret(): KOp | null | "wait" {
    const frame = this.frames.pop();
    if (frame === undefined) throw new Error(`cpu${this.logical}: iret without an interrupt frame`);
    const t = this.thread;
    if (frame.pprHi >= 0 && ((frame.pprHi >>> 18) & 7) !== t.priority) {
      // RESTORE_PPR: the interrupted code continues at the priority it had
      t.gprHi[R_SPR] = frame.pprHi;
      t.gprLo[R_SPR] = frame.pprLo;
      this.stepping = true;
      try {
        t.setPc32(TEXT.restorePpr.addr);
        t.execute(TEXT.restorePpr.words[0]);
      } finally {
        this.stepping = false;
      }
    }
    GPRS_SAVED.forEach((n, i) => {
      t.setGpr(n, frame.gprs[i]);
    });
    if (frame.soft) {
      this.softEnabled = frame.softEnabled;
      this.cur = frame.ctx;
      return frame.resume;
    }
    t.setSpr(SPRN_SRR0, frame.srr0);
    t.setSpr(SPRN_SRR1, frame.srr1);
    this.softEnabled = frame.softEnabled;
    this.cur = frame.ctx;
    // preemption on return to user mode (the interrupted context was running user work)
    if (
      !frame.masked &&
      this.needResched &&
      frame.ctx.kind === "task" &&
      frame.resume !== null &&
      frame.resume.k === "work" &&
      this.current !== null
    ) {
      frame.ctx.resume = frame.resume;
      this.cur = new Ctx(this.preemptFromIret(frame.ctx), "task", this.current);
      return this.rfid(null, frame);
    }
    return this.rfid(frame.resume, frame);
  }

  /** Executes rfid; an interrupt pending and now enabled is taken at once. */
  private rfid(resume: KOp | null, frame: Frame): KOp | null | "wait" {
    const addr = TEXT.irqReturn.addr;
    this.thread.setPc32(addr);
    this.stepping = true;
    let r: number;
    try {
      r = this.thread.execute(TEXT.irqReturn.words[0]);
    } finally {
      this.stepping = false;
    }
    if (r === EXEC_INTERRUPT) {
      const v = this.deferredVector;
      this.deferredVector = null;
      if (v !== null) {
        this.wait = { k: "frozen", op: null };
        this.takeInterrupt(v, resume);
        return "wait";
      }
      this.wait = { k: "frozen", op: resume };
      void frame;
      return "wait";
    }
    return resume;
  }

  /** Interrupt return to user mode with need_resched: schedule, then continue the user work. */
  private *preemptFromIret(taskCtx: Ctx): KCode {
    const task = this.current;
    const saved = taskCtx.resume;
    taskCtx.resume = null;
    if (task !== null && task.state === "running") {
      task.state = "runnable";
      this.runqueue.push(task);
    }
    // resume the task's own context (with its pending work) once it is picked again
    taskCtx.resume = saved;
    yield* this.schedule();
  }

  // ===========================================================================================
  // Soft-masking (linux: arch/powerpc/kernel/irq.c, include/asm/hw_irq.h)
  // ===========================================================================================

  /** local_irq_disable(): soft-disable. */
  localIrqDisable(): void {
    this.softEnabled = false;
  }

  /** __hard_irq_disable(): mtmsrd with EE=0. */
  *hardIrqDisable(): KCode {
    this.thread.setGpr(R_MSR, MSR_RI);
    yield { k: "exec", sym: TEXT.hardIrq, i: 0 };
    this.irqHappened |= PACA_IRQ_HARD_DIS;
  }

  /** __hard_irq_enable(): mtmsrd with EE=1; a pending interrupt is taken right after it. */
  *hardIrqEnable(): KCode {
    this.irqHappened &= ~PACA_IRQ_HARD_DIS;
    this.thread.setGpr(R_MSR, MSR_EE | MSR_RI);
    yield { k: "exec", sym: TEXT.hardIrq, i: 0 };
  }

  /** local_irq_enable() = arch_local_irq_restore(IRQS_ENABLED): replays what happened while masked. */
  *localIrqEnable(): KCode {
    for (;;) {
      const happened = this.irqHappened & ~PACA_IRQ_HARD_DIS;
      if (happened === 0) break;
      // __check_irq_replay, in its order: DEC, then external, then doorbell
      if (this.irqHappened & PACA_IRQ_DEC) {
        this.irqHappened &= ~PACA_IRQ_DEC;
        yield* this.timerInterrupt();
      } else if (this.irqHappened & PACA_IRQ_EE) {
        this.irqHappened &= ~PACA_IRQ_EE;
        yield* this.doIrq();
      } else {
        this.irqHappened &= ~PACA_IRQ_DBELL;
        yield* this.doorbellException();
      }
    }
    this.softEnabled = true;
    if (this.irqHappened & PACA_IRQ_HARD_DIS || (this.thread.msr & MSR_EE) === 0n) {
      yield* this.hardIrqEnable();
    }
  }

  /** lazy_irq_pending(): something happened while soft-masked. */
  lazyIrqPending(): boolean {
    return (this.irqHappened & ~PACA_IRQ_HARD_DIS) !== 0;
  }

  // linux: arch/powerpc/kernel/irq.c prep_irq_for_idle (CEDE)
  *prepIrqForIdle(): Generator<KOp, boolean, void> {
    yield* this.hardIrqDisable();
    if (this.lazyIrqPending()) return false;
    this.irqHappened &= ~PACA_IRQ_HARD_DIS;
    this.softEnabled = true;
    return true;
  }

  // linux: arch/powerpc/kernel/irq.c prep_irq_for_idle_irqsoff (stop0lite)
  *prepIrqForIdleIrqsoff(): Generator<KOp, boolean, void> {
    yield* this.hardIrqDisable();
    return !this.lazyIrqPending();
  }

  // ===========================================================================================
  // Hypercalls and instructions
  // ===========================================================================================

  /** plpar_hcall: r3 = opcode, r4.. = arguments; returns [r3, r4]. */
  *hcall(nr: number, ...args: bigint[]): Generator<KOp, [bigint, bigint], void> {
    const t = this.thread;
    t.setGpr(3, BigInt(nr));
    args.forEach((a, i) => {
      t.setGpr(4 + i, BigInt.asUintN(64, a));
    });
    this.stats.hcalls.set(nr, (this.stats.hcalls.get(nr) ?? 0) + 1);
    yield { k: "exec", sym: TEXT.hcall, i: 0 };
    return [BigInt.asIntN(64, t.gpr(3)), t.gpr(4)];
  }

  /**
   * FIXUP_ENDIAN: a little-endian kernel entered with MSR[LE] clear switches to little-endian
   * through rfid (SRR0 = the next instruction, SRR1 = MSR | MSR_LE). Without it, anything that
   * reads the kernel's instructions back (KVM emulating a trapped msgsndp) would see them
   * byte-swapped.
   */
  *fixupEndian(): KCode {
    const t = this.thread;
    if ((t.msr & MSR_LE) !== 0n) return;
    t.setGpr(R_SPR, BigInt(TEXT.fixupEndian.addr + 12));
    yield { k: "exec", sym: TEXT.fixupEndian, i: 0 };
    t.setGpr(R_MSR, t.msr | MSR_LE);
    yield { k: "exec", sym: TEXT.fixupEndian, i: 1 };
    yield { k: "exec", sym: TEXT.fixupEndian, i: 2 };
  }

  /** set_dec(ticks): mtspr DEC. */
  *setDecTicks(ticks: number): KCode {
    const v = Math.trunc(ticks);
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      // the register's halves directly (no BigInt on this hot path)
      this.thread.gprHi[R_SPR] = Math.floor(v / 4294967296);
      this.thread.gprLo[R_SPR] = v >>> 0;
    } else {
      this.thread.setGpr(R_SPR, BigInt.asUintN(64, BigInt(v)));
    }
    yield { k: "exec", sym: TEXT.setDec, i: 0 };
  }

  // ===========================================================================================
  // Timers (linux: kernel/time/hrtimer.c, arch/powerpc/kernel/time.c)
  // ===========================================================================================

  /** The earliest queued hrtimer, optionally ignoring the tick. */
  nextTimer(ignoreTick: boolean): HrTimer | undefined {
    let best: HrTimer | undefined;
    for (const t of this.hrtimers) {
      if (ignoreTick && t === this.tickTimer) continue;
      if (best === undefined || t.expires < best.expires) best = t;
    }
    return best;
  }

  /** hrtimer_start: queue `t` and reprogram the decrementer if it is now the first. */
  *hrtimerStart(t: HrTimer): KCode {
    if (!t.queued) {
      this.hrtimers.push(t);
      t.queued = true;
    }
    if (this.nextTimer(false) === t) yield* this.programDec();
  }

  hrtimerCancel(t: HrTimer): void {
    if (!t.queued) return;
    const i = this.hrtimers.indexOf(t);
    if (i >= 0) this.hrtimers.splice(i, 1);
    t.queued = false;
  }

  /** Programs DEC for the earliest timer (clockevents set_next_event). */
  *programDec(): KCode {
    const next = this.nextTimer(false);
    const decMax = this.k.decMax();
    let ticks = decMax;
    if (next !== undefined) {
      const delta = next.expires - this.ktime();
      ticks = Math.ceil((delta * this.k.tbFreq()) / 1e9);
      if (ticks < 1) ticks = 1;
      if (ticks > decMax) ticks = decMax;
    }
    yield* this.setDecTicks(ticks);
  }

  // linux: arch/powerpc/kernel/time.c timer_interrupt -> hrtimer_interrupt
  *timerInterrupt(): KCode {
    const c = this.k.costs;
    // ack: set DEC to its maximum first
    yield* this.setDecTicks(this.k.decMax());
    yield { k: "delay", ns: c.timerInterruptNs };
    const now = this.ktime();
    const expired = this.hrtimers.filter((t) => t.expires <= now).sort((a, b) => a.expires - b.expires);
    for (const t of expired) {
      this.hrtimerCancel(t);
      if (t === this.tickTimer && this.inIdle) this.gotTick = true;
      yield { k: "delay", ns: c.hrtimerCallbackNs };
      const body = t.fn(this);
      if (body !== null) yield* body;
      if (t.period > 0 && !t.queued) {
        while (t.expires <= now) t.expires += t.period;
        this.hrtimers.push(t);
        t.queued = true;
      }
    }
    yield* this.programDec();
  }

  // ===========================================================================================
  // IPIs (linux: arch/powerpc/kernel/smp.c, sysdev/xics/icp-hv.c, kernel/dbell.c)
  // ===========================================================================================

  /** smp_muxed_ipi_message_pass + cause_ipi. */
  *sendIpi(target: GuestCpu, msg: number): KCode {
    yield { k: "delay", ns: this.k.costs.ipiSendNs };
    target.ipiMessages |= 1 << msg;
    this.stats.ipisSent++;
    this.k.trace(this, "ipi_send", { target: target.logical, msg });
    const xive = this.k.xive();
    if (xive !== null) {
      // xive_cause_ipi: a store to the target's IPI trigger page
      yield* xive.causeIpi(this, target);
    } else if (this.k.useDoorbell(this, target)) {
      // doorbell_core_ipi: msgsndp to cpu_thread_in_core(cpu), the guest's own thread numbering
      const tir = BigInt(this.k.threadInCore(target));
      this.thread.setGpr(R_DBELL, (PPC_DBELL_SERVER << PPC_DBELL_TYPE_SHIFT) | tir);
      yield { k: "exec", sym: TEXT.doorbell, i: 0 };
    } else {
      // icp_hv_cause_ipi: H_IPI(server, IPI_PRIORITY)
      yield* this.hcall(H_IPI, BigInt(target.hwId), BigInt(IPI_PRIORITY));
    }
  }

  // linux: arch/powerpc/kernel/smp.c smp_ipi_demux_relaxed
  *ipiDemux(): KCode {
    this.stats.ipisReceived++;
    for (;;) {
      const all = this.ipiMessages;
      this.ipiMessages = 0;
      if (all === 0) break;
      if (all & (1 << PPC_MSG_CALL_FUNCTION)) {
        yield { k: "delay", ns: this.k.costs.ipiDemuxNs };
        const fns = this.callQueue.splice(0);
        for (const fn of fns) fn(this.logical);
      }
      if (all & (1 << PPC_MSG_RESCHEDULE)) {
        yield { k: "delay", ns: this.k.costs.ipiDemuxNs };
        this.schedulerIpi();
      }
    }
  }

  // linux: arch/powerpc/sysdev/xics/xics-common.c + icp-hv.c (the hypervisor ICP); with XIVE,
  // sysdev/xive/common.c xive_get_irq, the IPI's handler, xive_ipi_eoi
  *doIrq(): KCode {
    const xive = this.k.xive();
    if (xive !== null) {
      const irq = yield* xive.getIrq(this);
      if (irq === 0) return;
      yield* this.ipiDemux();
      // more in the queue: force_external_irq_replay (replayed at the next irq enable)
      if (yield* xive.ipiEoi(this)) this.irqHappened |= PACA_IRQ_EE;
      return;
    }
    const [rc, xirr] = yield* this.hcall(H_XIRR, BigInt(LOWEST_PRIORITY));
    if (rc !== 0n) return;
    const vec = Number(xirr & 0xffffffn);
    if (vec === XICS_IRQ_SPURIOUS) return;
    if (vec === XICS_IPI) {
      // icp_hv_ipi_action: clear our MFRR, then demux
      yield* this.hcall(H_IPI, BigInt(this.hwId), BigInt(LOWEST_PRIORITY));
      yield* this.ipiDemux();
    }
    yield* this.hcall(H_EOI, xirr);
  }

  // linux: arch/powerpc/kernel/dbell.c doorbell_exception
  *doorbellException(): KCode {
    yield* this.ipiDemux();
  }

  // ===========================================================================================
  // Scheduler (linux: kernel/sched/core.c, the parts the workloads exercise)
  // ===========================================================================================

  /** resched_curr / set_nr_if_polling on this CPU. */
  setNeedResched(): void {
    this.needResched = true;
    if (this.polling) this.pollKick();
  }

  // linux: kernel/sched/core.c scheduler_ipi -> sched_ttwu_pending
  schedulerIpi(): void {
    const list = this.wakeList.splice(0);
    for (const t of list) this.enqueue(t);
    if (list.length > 0 && this.current === null) this.setNeedResched();
  }

  enqueue(t: Task): void {
    t.state = "runnable";
    this.runqueue.push(t);
  }

  /** try_to_wake_up(p) from this CPU. */
  *ttwu(p: Task): KCode {
    if (p.state !== "sleeping") return;
    yield { k: "delay", ns: this.k.costs.ttwuNs };
    p.state = "runnable";
    p.wokenAt = this.sim.now;
    const target = this.k.cpu(p.cpu);
    if (target === this) {
      this.runqueue.push(p);
      if (this.current === null) this.setNeedResched();
      return;
    }
    // ttwu_queue_remote: queue on the target's wake list; IPI unless it polls for need_resched
    target.wakeList.push(p);
    if (target.current === null && target.polling) {
      target.schedulerIpi();
      return;
    }
    if (target.wakeList.length === 1) yield* this.sendIpi(target, PPC_MSG_RESCHEDULE);
  }

  /** smp_call_function_single(cpu, fn, 0). */
  *callFunctionSingle(target: GuestCpu, fn: (cpu: number) => void): KCode {
    if (target === this) {
      fn(this.logical);
      return;
    }
    target.callQueue.push(fn);
    yield* this.sendIpi(target, PPC_MSG_CALL_FUNCTION);
  }

  /** __schedule(): picks the next task and switches to it. */
  *schedule(): KCode {
    yield { k: "delay", ns: this.k.costs.contextSwitchNs };
    // pick up remote wakeups queued for us (sched_ttwu_pending on the way)
    for (const t of this.wakeList.splice(0)) this.enqueue(t);
    this.needResched = false;
    const prev = this.current;
    if (prev !== null && prev.state === "running") {
      prev.state = "runnable";
      this.runqueue.push(prev);
    }
    const next = this.runqueue.shift() ?? null;
    if (prev !== null) prev.cpuTimeNs += this.sim.now - prev.ranAt;
    if (next !== prev) this.stats.contextSwitches++;
    this.current = next;
    if (next !== null) {
      next.state = "running";
      next.switches++;
      next.ranAt = this.sim.now;
      next.onSwitchIn?.(next, this.sim.now);
    }
    yield { k: "switch", to: next };
  }

  /** Whether kernel code can be run on this CPU right now (it is not stopped nor in the hypervisor). */
  get canInject(): boolean {
    const k = this.wait.k;
    if (this.thread.hypervisorState || this.thread.stopped) return false;
    if (this.cur?.kind === "irq") return false;
    // like an interrupt, it cannot cut into a soft-disabled region (the idle path after its
    // need_resched test, the scheduler)
    if (!this.softEnabled) return false;
    return k === "timer" || k === "work" || k === "poll" || k === "park";
  }

  /**
   * Runs `code` on this CPU on behalf of something outside the guest (a test harness starting a
   * task): like an interrupt without an architected vector. Only when canInject.
   */
  injectWork(code: KCode): boolean {
    if (!this.canInject) return false;
    const resume = this.captureWait();
    this.pushSoftFrame(resume, code);
    this.wait = { k: "frozen", op: null };
    this.continueSoon(null);
    return true;
  }

  /** Runs `code` as interrupt-like work on top of the current context, which then resumes with `resume`. */
  private pushSoftFrame(resume: KOp | null, code: KCode): void {
    const t = this.thread;
    this.frames.push({
      ctx: this.cur ?? this.idleCtx,
      resume,
      softEnabled: this.softEnabled,
      srr0: 0n,
      srr1: 0n,
      gprs: GPRS_SAVED.map((n) => t.gpr(n)),
      masked: false,
      soft: true,
      pprHi: -1,
      pprLo: 0,
    });
    function* body(): KCode {
      yield* code;
      yield { k: "iret" };
    }
    this.cur = new Ctx(body(), "irq", this.current);
  }

  // ===========================================================================================
  // Halt
  // ===========================================================================================

  /** The CPU stops running kernel code for good (panic, stop-self). */
  halt(): void {
    if (this.wait.k === "timer" || this.wait.k === "work" || this.wait.k === "poll") this.wait.timer.cancel();
    this.wait = { k: "dead" };
    this.online = false;
  }

  get halted(): boolean {
    return this.wait.k === "dead";
  }

  /** The program check vector, for callers that inject it. */
  static readonly PROGRAM_VECTOR = BOOK3S_INTERRUPT_PROGRAM;
}

const SRR0_SPR = SPRN_SRR0;

export { H_CEDE };
