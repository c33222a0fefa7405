// Software on a hardware thread: the one runtime every kernel of the project (host kernel and
// KVM, guest kernel, the test platforms) runs its code with (docs/ARCHITECTURE.md "Software on a
// hardware thread"). A kernel's code is TypeScript that issues instruction words on an HwThread
// and spends modelled time; the runtime turns that time into virtual time on the engine:
// - cost scaling: a cost is the time of a thread alone on its core; it is divided by the
//   thread's SMT speed (smt.ts) and drawn around with a seeded log-normal jitter;
// - waits: code running for a time ("timer"), user work that follows the core's speed changes
//   ("work"), a polling loop ("poll"), a parked thread ("park"), control away in another software
//   ("away"), a stopped thread ("stopped"), a continuation ready to run ("frozen");
// - a wait is frozen when the hypervisor takes the thread (an asynchronous exit) and extended by
//   the time the hypervisor kept it when control comes back; it is captured as the operation to
//   re-issue when an interrupt arrives;
// - timed steps: consecutive costs of a path nothing outside can observe are summed and charged
//   once (`charge`, `payDebt`), and a wait that nothing else can cut runs inline
//   (`Simulation.tryAdvance`) instead of as an event.
// The operations a kernel re-issues (what a captured wait becomes) are the kernel's own type `Op`;
// the runtime builds them through `KThreadOptions.ops`.

import type { Rng, Simulation, Timer } from "@stopsim/engine";
import { SPRN_SRR0 } from "./registers.js";
import { EXEC_INTERRUPT, EXEC_OK, EXEC_STOPPED, type HwThread, type SoftwareLevel } from "./thread.js";

/** The operations of a kernel the runtime builds when it turns a wait back into code. */
export interface KThreadOps<Op> {
  /**
   * `ns` more of kernel code (single-thread ns, before SMT scaling), then `then` (null: where the
   * code left off).
   */
  delay(ns: number, then: Op | null): Op;
  /** `ns` more of user work at full single-thread speed. */
  work(ns: number): Op;
  /** The polling loop again, until `deadline`. */
  poll(deadline: number): Op;
  /** Nothing to run until an interrupt arrives. */
  park(): Op;
}

/** How a kernel's software is bound to the runtime. */
export interface KThreadOptions<Op> {
  /** The hardware thread the software runs on first (see `rebind`). */
  readonly thread: HwThread;
  /**
   * The software's privilege level: "os" software (a guest kernel) loses the thread when the
   * hypervisor takes it, so its timed waits freeze at hypervisor entry and extend after it; "hv"
   * software (the host kernel, a test hypervisor) is the hypervisor.
   */
  readonly level: SoftwareLevel;
  /** Event label of the continuations (e.g. `guest cpu3`). */
  readonly label: string;
  /** The seeded stream of the cost jitter (`sim.rng.stream(...)`), or null for none. */
  readonly rng: Rng | null;
  /** Sigma of the log-normal cost jitter (0: none). */
  readonly jitterSigma: number;
  /** Length of one iteration of a polling loop, ns (where a poll notices its end). */
  readonly pollPeriodNs: number;
  readonly ops: KThreadOps<Op>;
  /**
   * Runs the software's code from `op` (null: where it left off). The runtime calls it from its
   * continuation events; the software runs until it waits again.
   */
  run(op: Op | null): void;
  /** A polling loop ends at its next iteration when this says so (need_resched). */
  pollDone(): boolean;
}

/** What the software on the thread is waiting for. */
export type KWait<Op> =
  /** Not started yet. */
  | { k: "entry" }
  /** Kernel code running until `endAt` (started at `startedAt`, at SMT speed `speed`). */
  | { k: "timer"; timer: Timer; startedAt: number; endAt: number; speed: number }
  /** User work with `remaining` single-thread ns left at `lastUpdate`, running at `speed`. */
  | { k: "work"; timer: Timer; remaining: number; lastUpdate: number; speed: number; startedAt: number }
  /** A polling loop until `deadline` (or pollDone), iterations counted from `loopStart`. */
  | { k: "poll"; timer: Timer; deadline: number; startedAt: number; loopStart: number }
  /** An instruction at `addr` took control elsewhere (a more privileged software); `op` retries it. */
  | { k: "away"; op: Op; addr: number }
  /** The thread executed `stop` at `addr`. */
  | { k: "stopped"; addr: number }
  /** Ready to continue with `op` (null: where the code left off). */
  | { k: "frozen"; op: Op | null }
  /** Nothing to run until an interrupt arrives. */
  | { k: "park" }
  /** Halted for good. */
  | { k: "dead" };

/**
 * Ready to continue where the code left off: one shared value, so the hot continuations allocate
 * nothing.
 */
const FROZEN: KWait<never> = Object.freeze({ k: "frozen", op: null });
/** Nothing to run until an interrupt arrives: one shared value. */
const PARK: KWait<never> = Object.freeze({ k: "park" });

type KTimerWait = KWait<never> & { k: "timer" };
type KWorkWait = KWait<never> & { k: "work" };
type KPollWait = KWait<never> & { k: "poll" };

/** A continuation of `KThread.later`: its timer, reused once it has fired. */
interface LaterContinuation<Op> {
  op: Op | null;
  readonly timer: Timer;
}

/** A timed wait (the ones that hold an engine timer). */
export type KTimedWait<Op> = KWait<Op> & { k: "timer" | "work" | "poll" };

/** What `exec` saw: done, stopped, an interrupt for this software (`vector`), or control away. */
export type KExecResult = "ok" | "stopped" | "interrupt" | "away";

/**
 * The runtime of one software on a hardware thread (one kernel CPU). See the module comment and
 * packages/isa/README.md "Software on a hardware thread".
 */
export class KThread<Op> {
  /** What the software waits for now. */
  wait: KWait<Op> = { k: "entry" };
  /** The instruction being executed by `exec` belongs to this software (interrupts are deferred). */
  stepping = false;
  /** An interrupt for this software that arrived while it was stepping (see `exec`). */
  deferredVector: number | null = null;
  /** Unpaid cost of the current timed step, single-thread ns with jitter (see `charge`). */
  debt = 0;
  private hw: HwThread;
  private readonly waitTimer: Timer;
  private readonly kickTimer: Timer;
  private kickOp: Op | null = null;
  private unsubscribeSpeed: () => void;
  /** The jitter's stream and sigma (KThreadOptions), read on every cost. */
  private readonly rng: Rng | null;
  private readonly jitterSigma: number;
  /**
   * The objects of the timed waits, one per kind, filled in when such a wait begins: a wait is
   * replaced by the next one and no code keeps an ended wait, so the waits of the hot paths (one
   * per event) allocate nothing.
   */
  private readonly timerWait: KTimerWait;
  private readonly workWait: KWorkWait;
  private readonly pollWait: KPollWait;
  /** Timers of `later` continuations that have fired, for the next ones (see `later`). */
  private readonly laterFree: LaterContinuation<Op>[] = [];

  constructor(private readonly o: KThreadOptions<Op>) {
    this.hw = o.thread;
    this.rng = o.jitterSigma > 0 ? o.rng : null;
    this.jitterSigma = o.jitterSigma;
    this.waitTimer = o.thread.sim.createTimer(() => this.onWaitTimer(), o.label);
    this.kickTimer = o.thread.sim.createTimer(() => this.onKick(), o.label);
    const timer = this.waitTimer;
    this.timerWait = { k: "timer", timer, startedAt: 0, endAt: 0, speed: 1 };
    this.workWait = { k: "work", timer, remaining: 0, lastUpdate: 0, speed: 1, startedAt: 0 };
    this.pollWait = { k: "poll", timer, deadline: 0, startedAt: 0, loopStart: 0 };
    this.unsubscribeSpeed = this.watchSpeed(o.thread);
  }

  /** The hardware thread the software runs on now. */
  get thread(): HwThread {
    return this.hw;
  }

  get sim(): Simulation {
    return this.hw.sim;
  }

  // -------------------------------------------------------------------------------------------
  // Costs
  // -------------------------------------------------------------------------------------------

  /** The speed code of this thread runs at (SmtCore.runningSpeed; 1 without a core). */
  codeSpeed(): number {
    const core = this.hw.core;
    return core === null ? 1 : core.runningSpeed(this.hw.index);
  }

  /** The speed user work runs at now (SmtCore.effectiveSpeed; never 0). */
  workSpeed(): number {
    const core = this.hw.core;
    if (core === null) return 1;
    const s = core.effectiveSpeed(this.hw.index);
    return s > 0 ? s : 1e-6;
  }

  /** `ns` times the seeded log-normal jitter factor. */
  jittered(ns: number): number {
    const rng = this.rng;
    return rng !== null ? rng.logNormal(ns, this.jitterSigma) : ns;
  }

  /** Virtual time a code path of single-thread cost `ns` takes on this thread now (jitter, SMT speed). */
  cost(ns: number): number {
    if (ns <= 0) return 0;
    return this.scaled(this.jittered(ns), ns);
  }

  /** A latency that is not this thread's code (a doorbell crossing the fabric), with jitter. */
  latency(ns: number): number {
    if (ns <= 0) return 0;
    return Math.max(1, Math.round(this.jittered(ns)));
  }

  private scaled(t: number, ns: number): number {
    const speed = this.codeSpeed();
    return speed === 1 && t === ns ? ns : Math.max(1, Math.round(t / speed));
  }

  // -------------------------------------------------------------------------------------------
  // Timed steps
  // -------------------------------------------------------------------------------------------

  /**
   * Adds `ns` of kernel code to the current timed step without an event: the jitter is drawn now,
   * the SMT scaling is applied once when the step is paid (`payDebt`). Use it for code whose
   * effects nothing outside the thread can see before the step ends.
   */
  charge(ns: number): void {
    if (ns > 0) this.debt += this.jittered(ns);
  }

  /**
   * Ends the current timed step: its summed cost passes inline when nothing else is due (returns
   * true: the caller goes on with `op` itself), else the software waits for it and the runtime
   * continues it with `op` (returns false).
   */
  payDebt(op: Op | null): boolean {
    const t = this.debt;
    this.debt = 0;
    if (t <= 0) return true;
    const speed = this.codeSpeed();
    const d = Math.max(1, Math.round(t / speed));
    return this.waitFor(d, speed, op);
  }

  // -------------------------------------------------------------------------------------------
  // Waits
  // -------------------------------------------------------------------------------------------

  /**
   * Continues the software with `op` as a new event at the current time (after whatever else is
   * due now). One context has one continuation: when one is pending already (a resume whose kick
   * has not run when an interrupt is taken), `op` replaces its operation and the pending event
   * keeps its place (whoever superseded it captured what it would have run).
   */
  continueSoon(op: Op | null): void {
    this.kickOp = op;
    if (!this.kickTimer.armed) this.kickTimer.arm(this.sim.now);
  }

  /**
   * Runs `op` after exactly `ns` of virtual time as an event, never inline: for software that
   * answers a notification of the ISA (it must not re-enter the software it took control from)
   * or a latency that is not this thread's code. Does not change the wait.
   */
  later(ns: number, op: Op): void {
    const sim = this.sim;
    // a timer of a continuation that has fired, else a new one: the event is ordered the same
    // either way (by time, then by when it was armed)
    let c = this.laterFree.pop();
    if (c === undefined || c.timer.sim !== sim) c = this.newLaterContinuation(sim);
    c.op = op;
    c.timer.armIn(ns);
  }

  private newLaterContinuation(sim: Simulation): LaterContinuation<Op> {
    const c: LaterContinuation<Op> = {
      op: null,
      timer: sim.createTimer(() => {
        const op = c.op as Op;
        c.op = null;
        this.laterFree.push(c);
        this.o.run(op);
      }, this.o.label),
    };
    return c;
  }

  private onKick(): void {
    const op = this.kickOp;
    this.kickOp = null;
    this.o.run(op);
  }

  /**
   * Kernel code running for `ns` (single-thread ns): jitter and SMT speed applied at its start (a
   * sibling changing state during a short path is not followed). Returns true when the time passed
   * inline (nothing else due before it ends: the caller goes on with `then` itself); else the
   * software waits and the runtime continues it with `then` (null: where it left off).
   */
  runCode(ns: number, then: Op | null = null): boolean {
    const t = this.jittered(ns);
    const speed = this.codeSpeed();
    const d = speed === 1 && t === ns ? ns : Math.max(1, Math.round(t / speed));
    return this.waitFor(d, speed, then);
  }

  private waitFor(d: number, speed: number, then: Op | null): boolean {
    if (this.sim.tryAdvance(d)) return true;
    const now = this.sim.now;
    const endAt = now + d;
    this.thenOp = then;
    const w = this.timerWait;
    w.startedAt = now;
    w.endAt = endAt;
    w.speed = speed;
    this.wait = w;
    this.waitTimer.arm(endAt);
    return false;
  }

  /** The operation a paid step continues with once its time has passed. */
  private thenOp: Op | null = null;

  /**
   * User work of `ns` single-thread ns, following the core's speed changes while it runs. Returns
   * true when it ran to its end inline.
   */
  runWork(ns: number): boolean {
    const speed = this.workSpeed();
    if (this.sim.tryAdvance(Math.max(1, Math.ceil(ns / speed)))) return true;
    const now = this.sim.now;
    const w = this.workWait;
    w.remaining = ns;
    w.lastUpdate = now;
    w.speed = speed;
    w.startedAt = now;
    this.wait = w;
    this.waitTimer.arm(now + Math.max(1, Math.ceil(ns / speed)));
    return false;
  }

  /** A polling loop until `deadline` (virtual ns), pollDone() or an interrupt. */
  poll(deadline: number): void {
    const now = this.sim.now;
    const w = this.pollWait;
    w.deadline = deadline;
    w.startedAt = now;
    w.loopStart = now;
    this.wait = w;
    this.armPoll();
  }

  /** Something the polling loop checks changed (need_resched set from outside): it notices at its next iteration. */
  pollKick(): void {
    if (this.wait.k === "poll") this.armPoll();
  }

  private armPoll(): void {
    const w = this.wait;
    if (w.k !== "poll") return;
    const p = this.o.pollPeriodNs;
    const now = this.sim.now;
    const target = this.o.pollDone() ? now : Math.max(now, w.deadline);
    if (!Number.isFinite(target)) {
      w.timer.cancel();
      return;
    }
    const n = Math.ceil((target - w.loopStart) / p);
    w.timer.arm(w.loopStart + Math.max(n, 0) * p);
  }

  /** Nothing to run until an interrupt arrives. */
  park(): void {
    this.wait = PARK;
  }

  private onWaitTimer(): void {
    const w = this.wait;
    if (this.o.level === "os" && (this.hw.hypervisorState || this.hw.stopped)) {
      // the hypervisor took the thread (asynchronous exit): freeze until it returns
      if (w.k === "timer" || w.k === "work" || w.k === "poll") this.freezeAtHvEntry(w);
      return;
    }
    const then = this.thenOp;
    this.thenOp = null;
    this.wait = FROZEN;
    this.o.run(then);
  }

  /** The time the hypervisor took the thread during wait `w` (its last hypervisor interrupt), or now. */
  hvEntryTime(w: KWait<Op>): number {
    const li = this.hw.lastInterrupt;
    const since = "startedAt" in w ? w.startedAt : 0;
    if (li !== null && li.level === "hv" && li.time >= since) return li.time;
    return this.sim.now;
  }

  /**
   * The pending wait stopped when the hypervisor took the thread: what is left of it at that time
   * becomes the operation to re-issue when the software runs again.
   */
  freezeAtHvEntry(w: KTimedWait<Op>): void {
    const hvSince = this.hvEntryTime(w);
    const ops = this.o.ops;
    const then = this.thenOp;
    this.thenOp = null;
    if (w.k === "timer") {
      const rest = Math.max(0, (w.endAt - hvSince) * w.speed);
      this.wait = { k: "frozen", op: this.remainingCode(rest, then) };
    } else if (w.k === "work") {
      const done = (hvSince - w.lastUpdate) * w.speed;
      this.wait = { k: "frozen", op: ops.work(Math.max(0, w.remaining - done)) };
    } else this.wait = { k: "frozen", op: ops.poll(w.deadline) };
  }

  /** The hypervisor ran between the software's steps: the time it took is not progress, the pending end moves out by it. */
  extendAfterHv(w: KTimedWait<Op>): void {
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
      w.speed = this.workSpeed();
      w.timer.arm(this.sim.now + Math.max(1, Math.ceil(w.remaining / w.speed)));
    } else {
      this.armPoll();
    }
  }

  /** The core's speeds changed: user work in progress re-times its end. */
  speedChanged(): void {
    const w = this.wait;
    if (w.k !== "work" || (this.o.level === "os" && this.hw.hypervisorState)) return;
    const now = this.sim.now;
    const s = this.workSpeed();
    if (s === w.speed) return;
    w.remaining = Math.max(0, w.remaining - (now - w.lastUpdate) * w.speed);
    w.lastUpdate = now;
    w.speed = s;
    w.timer.arm(now + Math.max(1, Math.ceil(w.remaining / s)));
  }

  /**
   * An interrupt arrived: the current wait becomes the operation to re-issue when the interrupted
   * code continues (null: where it left off), and the software is left "frozen".
   */
  capture(): Op | null {
    const w = this.wait;
    const now = this.sim.now;
    switch (w.k) {
      case "timer": {
        w.timer.cancel();
        const then = this.thenOp;
        this.thenOp = null;
        this.wait = FROZEN;
        return this.remainingCode(Math.max(0, (w.endAt - now) * w.speed), then);
      }
      case "work": {
        w.timer.cancel();
        const rem = Math.max(0, w.remaining - (now - w.lastUpdate) * w.speed);
        this.wait = FROZEN;
        return this.o.ops.work(rem);
      }
      case "poll":
        // the polling loop continues after the interrupt: it re-checks its condition and the time
        w.timer.cancel();
        this.wait = FROZEN;
        return null;
      case "away": {
        this.wait = FROZEN;
        const srr0 = Number(this.hw.getSpr(SPRN_SRR0));
        return srr0 === w.addr ? w.op : null;
      }
      case "stopped":
        this.wait = FROZEN;
        return null;
      case "frozen": {
        const op = w.op;
        this.wait = FROZEN;
        return op;
      }
      case "park":
        return this.o.ops.park();
      default:
        return null;
    }
  }

  /** What is left of a timed step: `rest` ns of code, then the operation it continues with. */
  private remainingCode(rest: number, then: Op | null): Op {
    return this.o.ops.delay(rest, then);
  }

  /**
   * Control came back to this software at `pc` (ThreadSoftware.resume, not the first entry nor an
   * injected interrupt): a retried instruction, a wake-up after `stop`, a frozen continuation, or a
   * timed wait to extend by the time the hypervisor kept the thread.
   */
  resumeAt(pc: number): void {
    const w = this.wait;
    switch (w.k) {
      case "away": {
        this.wait = FROZEN;
        this.continueSoon(pc === w.addr ? w.op : null);
        return;
      }
      case "stopped":
        this.wait = FROZEN;
        this.continueSoon(null);
        return;
      case "frozen":
        this.continueSoon(w.op);
        return;
      case "timer":
      case "work":
      case "poll":
        this.extendAfterHv(w);
        return;
      default:
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Instructions
  // -------------------------------------------------------------------------------------------

  /**
   * Executes instruction `word` at `addr` (null: at the current PC, whose low word then names it)
   * for this software. "ok": done; "stopped": the thread
   * stopped (wait "stopped"); "interrupt": an interrupt for this software was taken
   * (`takeDeferredVector()` names it; SRR0 says whether before or after the instruction);
   * "away": control went to another software (wait "away" with `op` to retry the instruction).
   */
  exec(addr: number | null, word: number, op: Op): KExecResult {
    const t = this.hw;
    if (addr !== null) t.setPc32(addr);
    const at = addr ?? Number(t.pc & 0xffffffffn);
    this.stepping = true;
    let r: number;
    try {
      r = t.execute(word);
    } finally {
      this.stepping = false;
    }
    if (r === EXEC_OK) return "ok";
    if (r === EXEC_STOPPED) {
      this.wait = { k: "stopped", addr: at };
      return "stopped";
    }
    if (r === EXEC_INTERRUPT) {
      if (this.deferredVector !== null) {
        this.wait = FROZEN;
        return "interrupt";
      }
      this.wait = { k: "away", op, addr: at };
      return "away";
    }
    throw new Error(`${this.o.label}: unexpected execute() result ${r}`);
  }

  /** The interrupt `exec` deferred (once), or null. */
  takeDeferredVector(): number | null {
    const v = this.deferredVector;
    this.deferredVector = null;
    return v;
  }

  /**
   * ThreadSoftware.interrupt for the runtime: while this software executes an instruction the
   * interrupt is deferred to `exec`'s caller (returns true: nothing else to do now).
   */
  deferIfStepping(vector: number): boolean {
    if (!this.stepping) return false;
    this.deferredVector = vector;
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle
  // -------------------------------------------------------------------------------------------

  private watchSpeed(thread: HwThread): () => void {
    return thread.core?.onSpeedChange(() => this.speedChanged()) ?? (() => {});
  }

  /**
   * The software moves to another hardware thread (a live migration): the pending wait is frozen
   * at the time the old thread left the software, the SMT speed is watched on the new core.
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
  }

  /** The software stops running for good (panic, stop-self). */
  halt(): void {
    const w = this.wait;
    if (w.k === "timer" || w.k === "work" || w.k === "poll") w.timer.cancel();
    this.thenOp = null;
    this.debt = 0;
    this.wait = { k: "dead" };
  }
}
