// One vCPU of the guest kernel: the software that runs on a hardware thread in guest state
// (docs/ARCHITECTURE.md "Software on a hardware thread"). Kernel code is written as generators of
// operations; the runner (runner.ts) turns each operation into virtual time on the engine or into
// instruction words executed by the ISA thread. The CPU's parts live where Linux keeps them:
// interrupts and soft-masking in irq.ts (arch/powerpc/kernel/irq.c), hrtimers and the
// decrementer in time.ts (kernel/time/hrtimer.c, arch/powerpc/kernel/time.c), IPIs in smp.ts
// (arch/powerpc/kernel/smp.c, sysdev/xics/icp-hv.c, kernel/dbell.c), the runqueue and wake-ups in
// sched.ts (kernel/sched/core.c); hypercalls and the endian fix-up stay here.

import type { Rng } from "@stopsim/engine";
import {
  BOOK3S_INTERRUPT_PROGRAM,
  type HwThread,
  KThread,
  type KWait,
  MSR_LE,
  SPRN_SRR0,
  type ThreadSoftware,
} from "@stopsim/isa";
import { type CpuidleDevice, H_CEDE } from "@stopsim/linux";
import type { KernelConsole } from "./console.js";
import type { GuestCosts } from "./costs.js";
import { R_DBELL, R_MSR, R_SPR, TEXT, type TextSymbol } from "./image.js";
import { hardIrqEnable, localIrqDisable, localIrqEnable, saveGprs, takeInterrupt } from "./irq.js";
import { advance, captureWait, continueSoon, pollKick, releaseTask, startCtx } from "./runner.js";
import { schedule, schedulerIpi, setNeedResched, ttwu } from "./sched.js";
import { callFunctionSingle, sendIpi } from "./smp.js";
import type { Task } from "./task.js";
import { hrtimerCancel, hrtimerStart, nextTimer } from "./time.js";
import type { XiveSpapr } from "./xive.js";

/** An operation of kernel code. */
export type KOp =
  /** Kernel code running for `ns` (interruptible when MSR[EE]=1). */
  | { readonly k: "delay"; readonly ns: number }
  /**
   * The rest of a timed step that was interrupted or frozen: `ns` of kernel code, then `next`
   * (see KThread.payDebt).
   */
  | { readonly k: "rest"; readonly ns: number; readonly next: KOp }
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
  | { readonly k: "iret" }
  /**
   * The end of a timed step: the code after it runs once the step's cost has passed (it has an
   * effect other CPUs or layers see, or it measures the time).
   */
  | { readonly k: "sync" }
  /**
   * The code ran a step inline and the thread now waits (the step's time passes as a wait, or an
   * instruction stopped the thread or took control elsewhere): the runner stops (see runner.ts
   * `stepSync`, `stepExec`).
   */
  | { readonly k: "waiting" };

export type KCode = Generator<KOp, void, void>;

/** An instruction of kernel text (KOp "exec"). */
export type ExecOp = KOp & { readonly k: "exec" };

/** The end of a timed step (KOp "sync"). */
export const SYNC: KOp = { k: "sync" };

export type CtxKind = "boot" | "idle" | "task" | "irq";

/** A kernel stack: a running piece of kernel code. */
export class Ctx {
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
export interface Frame {
  readonly ctx: Ctx;
  readonly resume: KOp | null;
  readonly softEnabled: boolean;
  readonly srr0: bigint;
  readonly srr1: bigint;
  /** The GPRs of GPRS_SAVED as halves: high words, then low words. */
  readonly gprs: Uint32Array;
  /** The interrupt this frame belongs to was soft-masked (masked_interrupt path). */
  masked: boolean;
  /** Work injected from outside the guest (no architected interrupt: no rfid on return). */
  soft: boolean;
  /** PPR of the interrupted code (high word: PPR[PRI] in bits 18-20), saved by the exception prolog; -1 until it ran. */
  pprHi: number;
  pprLo: number;
}

/** What a vCPU's kernel waits for (the runtime's waits, @stopsim/isa kthread.ts). */
export type Wait = KWait<KOp>;

/** How the runtime rebuilds the kernel's operations from a captured or frozen wait. */
const KOPS = {
  delay: (ns: number, next: KOp | null): KOp =>
    next === null ? { k: "delay", ns } : { k: "rest", ns, next },
  work: (ns: number): KOp => ({ k: "work", ns }),
  poll: (deadline: number): KOp => ({ k: "poll", deadline }),
  park: (): KOp => ({ k: "park" }),
};

/** paca->irq_happened bits (linux: arch/powerpc/include/asm/hw_irq.h). */
export const PACA_IRQ_HARD_DIS = 0x01;
export const PACA_IRQ_DBELL = 0x02;
export const PACA_IRQ_EE = 0x04;
export const PACA_IRQ_DEC = 0x08;

/** IPI message types (linux: arch/powerpc/include/asm/smp.h). */
export const PPC_MSG_CALL_FUNCTION = 0;
export const PPC_MSG_RESCHEDULE = 1;

/** plpar_hcall's `sc 1`. */
const HCALL: ExecOp = { k: "exec", sym: TEXT.hcall, i: 0 };

export const GPRS_SAVED = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, R_MSR, R_SPR, R_DBELL];
export const EXC_PROLOG_SAVE_PPR: ExecOp = { k: "exec", sym: TEXT.exceptionProlog, i: 0 };
export const EXC_PROLOG_HMT_MEDIUM: ExecOp = { k: "exec", sym: TEXT.exceptionProlog, i: 1 };

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
  /** The kernel's log (printk). */
  readonly console: KernelConsole;
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

  /** @internal */
  cur: Ctx | null = null;
  /** @internal */
  readonly idleCtx: Ctx;
  /** @internal */
  readonly frames: Frame[] = [];
  /** The GPR save area of the frame at each nesting depth (irq.ts saveGprs). */
  /** @internal */
  readonly gprSaveAreas: Uint32Array[] = [];
  /** The runtime this vCPU's kernel code runs with (waits, costs, continuations). */
  /** @internal */
  readonly rt: KThread<KOp>;
  /** Moved to another thread: reprogram the decrementer before the next kernel step. */
  /** @internal */
  decResync = false;
  /** Kernel paths run as timed steps (GuestKernelConfig.timedSteps). */
  /** @internal */
  timedSteps = true;
  /** The soft mask (softEnabled) the current timed step runs under. */
  /** @internal */
  stepSoftEnabled = false;

  constructor(
    readonly logical: number,
    readonly hwId: number,
    thread: HwThread,
    /** @internal */
    readonly k: KernelServices,
  ) {
    const costs = k.costs;
    this.rt = new KThread<KOp>({
      thread,
      level: "os",
      label: `guest cpu${logical}`,
      rng: k.costStream(this),
      jitterSigma: costs.jitterSigma,
      pollPeriodNs: costs.snoozePollNs,
      ops: KOPS,
      run: (op) => advance(this, op),
      pollDone: () => this.needResched,
    });
    this.idleCtx = new Ctx(k.idleLoop(this), "idle", null);
  }

  /** The hardware thread this vCPU runs on (it changes when the vCPU moves, see rebind). */
  get thread(): HwThread {
    return this.rt.thread;
  }

  get sim() {
    return this.rt.sim;
  }

  /** What the kernel waits for now. */
  /** @internal */
  get wait(): Wait {
    return this.rt.wait;
  }
  set wait(w: Wait) {
    this.rt.wait = w;
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
    if (thread === this.thread) return;
    this.rt.rebind(thread);
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
      case "away":
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

  /** ktime_get(): guest CLOCK_MONOTONIC in ns, derived from the timebase and ppc_tb_freq. */
  ktime(): number {
    return (this.thread.timebaseValue * 1e9) / this.k.tbFreq();
  }

  // ===========================================================================================
  // ThreadSoftware
  // ===========================================================================================

  interrupt(_thread: HwThread, vector: number): void {
    if (this.rt.deferIfStepping(vector)) return;
    if (this.wait.k === "dead") return;
    const resume = captureWait(this);
    takeInterrupt(this, vector, resume);
  }

  resume(thread: HwThread): void {
    const w = this.wait;
    const pc = Number(thread.pc);
    if (w.k === "entry") {
      this.wait = { k: "frozen", op: null };
      if (pc === TEXT.start.addr) startCtx(this, new Ctx(this.k.bootEntry(this), "boot", null));
      else startCtx(this, new Ctx(this.k.secondaryEntry(this), "boot", null));
      return;
    }
    if (w.k === "dead") return;
    if (pc < 0x1000 && pc >= 0x100 && w.k !== "stopped") {
      // a hypervisor injected an interrupt by setting PC to its vector and re-entering
      const resumeOp = captureWait(this);
      takeInterrupt(this, pc, resumeOp);
      return;
    }
    this.rt.resumeAt(pc);
  }

  // ===========================================================================================
  // The runner
  // ===========================================================================================

  /** @internal */
  readonly taskCtxs = new Map<Task, Ctx>();

  /** Forgets the kernel stack of an exited task. */
  releaseTask(task: Task): void {
    releaseTask(this, task);
  }

  /** Another CPU set need_resched while this one polls: the loop notices at its next iteration. */
  pollKick(): void {
    pollKick(this);
  }

  // ===========================================================================================
  // Interrupts
  // ===========================================================================================

  // ===========================================================================================
  // Soft-masking (linux: arch/powerpc/kernel/irq.c, include/asm/hw_irq.h)
  // ===========================================================================================

  /** local_irq_disable(): soft-disable. */
  localIrqDisable(): void {
    localIrqDisable(this);
  }

  /** __hard_irq_enable(): mtmsrd with EE=1; a pending interrupt is taken right after it. */
  hardIrqEnable(): KCode {
    return hardIrqEnable(this);
  }

  /** local_irq_enable() = arch_local_irq_restore(IRQS_ENABLED): replays what happened while masked. */
  localIrqEnable(): KCode {
    return localIrqEnable(this);
  }

  // ===========================================================================================
  // Hypercalls and instructions
  // ===========================================================================================

  /** plpar_hcall: r3 = opcode, r4.. = arguments; returns [r3, r4]. */
  *hcall(nr: number, ...args: bigint[]): Generator<KOp, [bigint, bigint], void> {
    yield this.hcallSetup(nr, args);
    const t = this.thread;
    return [BigInt.asIntN(64, t.gpr(3)), t.gpr(4)];
  }

  /** plpar_hcall up to its `sc 1`: r3 = opcode, r4.. = arguments; returns the `sc 1` to issue. */
  hcallSetup(nr: number, args: readonly bigint[]): ExecOp {
    const t = this.thread;
    t.setGpr(3, BigInt(nr));
    for (let i = 0; i < args.length; i++) t.setGpr(4 + i, BigInt.asUintN(64, args[i]));
    const counts = this.stats.hcalls;
    counts.set(nr, (counts.get(nr) ?? 0) + 1);
    return HCALL;
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

  // ===========================================================================================
  // Timers (linux: kernel/time/hrtimer.c, arch/powerpc/kernel/time.c)
  // ===========================================================================================

  /** The earliest queued hrtimer, optionally ignoring the tick. */
  nextTimer(ignoreTick: boolean): HrTimer | undefined {
    return nextTimer(this, ignoreTick);
  }

  /** hrtimer_start: queue `t` and reprogram the decrementer if it is now the first. */
  hrtimerStart(t: HrTimer): KCode {
    return hrtimerStart(this, t);
  }

  hrtimerCancel(t: HrTimer): void {
    hrtimerCancel(this, t);
  }

  // ===========================================================================================
  // IPIs (linux: arch/powerpc/kernel/smp.c, sysdev/xics/icp-hv.c, kernel/dbell.c)
  // ===========================================================================================

  /** smp_muxed_ipi_message_pass + cause_ipi. */
  sendIpi(target: GuestCpu, msg: number): KCode {
    return sendIpi(this, target, msg);
  }

  // ===========================================================================================
  // Scheduler (linux: kernel/sched/core.c, the parts the workloads exercise)
  // ===========================================================================================

  /** resched_curr / set_nr_if_polling on this CPU. */
  setNeedResched(): void {
    setNeedResched(this);
  }

  // linux: kernel/sched/core.c scheduler_ipi -> sched_ttwu_pending
  schedulerIpi(): void {
    schedulerIpi(this);
  }

  /** try_to_wake_up(p) from this CPU. */
  ttwu(p: Task): KCode {
    return ttwu(this, p);
  }

  /** smp_call_function_single(cpu, fn, 0). */
  callFunctionSingle(target: GuestCpu, fn: (cpu: number) => void): KCode {
    return callFunctionSingle(this, target, fn);
  }

  /** __schedule(): picks the next task and switches to it. */
  schedule(): KCode {
    return schedule(this);
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
    const resume = captureWait(this);
    this.pushSoftFrame(resume, code);
    this.wait = { k: "frozen", op: null };
    continueSoon(this, null);
    return true;
  }

  /** Runs `code` as interrupt-like work on top of the current context, which then resumes with `resume`. */
  /** @internal */
  pushSoftFrame(resume: KOp | null, code: KCode): void {
    this.frames.push({
      ctx: this.cur ?? this.idleCtx,
      resume,
      softEnabled: this.softEnabled,
      srr0: 0n,
      srr1: 0n,
      gprs: saveGprs(this),
      masked: false,
      soft: true,
      pprHi: -1,
      pprLo: 0,
    });
    this.cur = new Ctx(softFrameBody(code), "irq", this.current);
  }

  // ===========================================================================================
  // Halt
  // ===========================================================================================

  /** The CPU stops running kernel code for good (panic, stop-self). */
  halt(): void {
    this.rt.halt();
    this.online = false;
  }

  get halted(): boolean {
    return this.wait.k === "dead";
  }

  /** The program check vector, for callers that inject it. */
  static readonly PROGRAM_VECTOR = BOOK3S_INTERRUPT_PROGRAM;
}

/**
 * The code of a soft frame (injected work), then its return. Declared once, not inside
 * `pushSoftFrame`: a nested `function*` is a new function per call with its own initial map in the
 * old generation, which keeps the CPU (and the whole simulation) alive through every minor
 * collection until the next full one (see workloads.ts).
 */
function* softFrameBody(code: KCode): KCode {
  yield* code;
  yield { k: "iret" };
}

export const SRR0_SPR = SPRN_SRR0;

export { H_CEDE };
