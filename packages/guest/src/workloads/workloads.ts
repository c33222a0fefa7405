// Workloads that make idle happen the way real programs do, each measuring the work it did.
// - periodicTimer: a task that wakes every `period` (clock_nanosleep TIMER_ABSTIME loop);
// - ebizzy: a CPU-bound single-threaded job (ebizzy -t 1 style): records of fixed work, the rate
//   follows the SMT core's effective speed of its thread while the sibling vCPUs idle;
// - contextSwitch2: will-it-scale's context_switch2: two tasks on two CPUs ping-pong a token
//   through two pipes, each wakeup crossing CPUs (an IPI unless the target polls);
// - randomMix: seeded tasks alternating exponential compute and sleep on random CPUs.

import type { Rng } from "@stopsim/engine";
import type { GuestKernel } from "../kernel/kernel.js";
import { Pipe, type Task, type TaskProgram } from "../kernel/task.js";

// The tasks' programs are generator functions declared once here, not inside the function or
// constructor that spawns them: each evaluation of a nested `function*` is a new function whose
// first call gives it an initial map (V8 allocates maps in the old generation), and that map holds
// the function and so its closure (the kernel and everything it reaches). Until the next full
// collection every minor collection then keeps that whole simulation alive and promotes it, one
// model per run of a sweep (measured: ~650 KiB per boot sweep seed surviving the first minor GC
// after its run, none with the programs declared once).

export class WorkloadError extends RangeError {
  override readonly name = "WorkloadError";
}

function positive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0))
    throw new WorkloadError(`${name} must be a finite number > 0, got ${String(v)}`);
}

export interface PeriodicTimerResult {
  readonly task: Task;
  /** Wakeups so far. */
  wakeups(): number;
}

/** A task on `cpu` that sleeps until the next multiple of `periodNs` (guest clock), forever. */
export function periodicTimer(
  kernel: GuestKernel,
  cpu: number,
  periodNs: number,
  workNs = 0,
): PeriodicTimerResult {
  positive("periodNs", periodNs);
  const state: PeriodicTimerState = { kernel, cpu, periodNs, workNs, next: 0, wakeups: 0 };
  const task = kernel.spawn(`timer-${periodNs}ns`, cpu, periodicTimerProgram(state));
  return { task, wakeups: () => state.wakeups };
}

interface PeriodicTimerState {
  readonly kernel: GuestKernel;
  readonly cpu: number;
  readonly periodNs: number;
  readonly workNs: number;
  next: number;
  wakeups: number;
}

function* periodicTimerProgram(s: PeriodicTimerState): TaskProgram {
  for (;;) {
    const c = s.kernel.cpus[s.cpu];
    const now = c.ktime();
    if (s.next <= now) s.next = (Math.floor(now / s.periodNs) + 1) * s.periodNs;
    yield { k: "sleepUntil", guestNs: s.next };
    s.next += s.periodNs;
    s.wakeups++;
    if (s.workNs > 0) yield { k: "compute", ns: s.workNs };
  }
}

export interface RateResult {
  /** Units of work done in the measured window. */
  readonly count: number;
  /** Measured window, ns of virtual time. */
  readonly windowNs: number;
  /** Units per second. */
  readonly perSecond: number;
}

export interface EbizzyOptions {
  cpu: number;
  /** Work of one record at full single-thread speed (ns). Default 640 ns. */
  recordNs?: number;
  /** Warm-up before counting (ns). Default 1 ms. */
  warmupNs?: number;
}

/** A CPU-bound single-threaded job on `cpu`; count records between start() and stop(). */
export class Ebizzy {
  readonly task: Task;
  private records = 0;
  private mark = 0;
  private markTime = 0;
  readonly recordNs: number;

  constructor(
    private readonly kernel: GuestKernel,
    opts: EbizzyOptions,
  ) {
    this.recordNs = opts.recordNs ?? 640;
    positive("recordNs", this.recordNs);
    this.task = kernel.spawn("ebizzy", opts.cpu, Ebizzy.program(this));
  }

  private static *program(self: Ebizzy): TaskProgram {
    for (;;) {
      yield { k: "compute", ns: self.recordNs };
      self.records++;
    }
  }

  /** Starts the measured window now. */
  start(): void {
    this.mark = this.records;
    this.markTime = this.kernel.sim.now;
  }

  /** Records per second since start(). */
  result(): RateResult {
    const windowNs = this.kernel.sim.now - this.markTime;
    const count = this.records - this.mark;
    return { count, windowNs, perSecond: windowNs > 0 ? (count * 1e9) / windowNs : 0 };
  }
}

/** will-it-scale context_switch2: a token ping-pongs between two tasks through two pipes. */
export class ContextSwitch2 {
  readonly a: Task;
  readonly b: Task;
  private loops = 0;
  private mark = 0;
  private markSwitches = 0;
  private markTime = 0;

  constructor(
    private readonly kernel: GuestKernel,
    cpuA: number,
    cpuB: number,
  ) {
    const p1 = new Pipe("p1");
    const p2 = new Pipe("p2");
    this.b = kernel.spawn("context_switch2-b", cpuB, ContextSwitch2.pong(p1, p2));
    this.a = kernel.spawn("context_switch2-a", cpuA, ContextSwitch2.ping(this, p1, p2));
  }

  private static *ping(self: ContextSwitch2, p1: Pipe, p2: Pipe): TaskProgram {
    for (;;) {
      yield { k: "write", pipe: p1 };
      yield { k: "read", pipe: p2 };
      self.loops++;
    }
  }

  private static *pong(p1: Pipe, p2: Pipe): TaskProgram {
    for (;;) {
      yield { k: "read", pipe: p1 };
      yield { k: "write", pipe: p2 };
    }
  }

  start(): void {
    this.mark = this.loops;
    this.markSwitches = this.a.switches + this.b.switches;
    this.markTime = this.kernel.sim.now;
  }

  /** Context switches per second (each switch-in of either task), and round trips. */
  result(): RateResult & { roundTrips: number } {
    const windowNs = this.kernel.sim.now - this.markTime;
    const count = this.a.switches + this.b.switches - this.markSwitches;
    return {
      count,
      windowNs,
      perSecond: windowNs > 0 ? (count * 1e9) / windowNs : 0,
      roundTrips: this.loops - this.mark,
    };
  }
}

export interface RandomMixOptions {
  rng: Rng;
  tasks: number;
  cpus: readonly number[];
  /** Mean compute burst (ns). */
  meanComputeNs: number;
  /** Mean sleep (ns). */
  meanSleepNs: number;
}

/** Seeded tasks alternating exponential compute bursts and sleeps. Returns the tasks and a work counter. */
export function randomMix(
  kernel: GuestKernel,
  opts: RandomMixOptions,
): { tasks: Task[]; bursts: () => number } {
  positive("meanComputeNs", opts.meanComputeNs);
  positive("meanSleepNs", opts.meanSleepNs);
  if (opts.cpus.length === 0) throw new WorkloadError("randomMix needs at least one cpu");
  const count = { bursts: 0 };
  const tasks: Task[] = [];
  for (let i = 0; i < opts.tasks; i++) {
    const rng = opts.rng.fork(`task${i}`);
    const cpu = rng.pick(opts.cpus);
    tasks.push(kernel.spawn(`mix${i}`, cpu, randomMixProgram(rng, opts, count)));
  }
  return { tasks, bursts: () => count.bursts };
}

function* randomMixProgram(rng: Rng, opts: RandomMixOptions, count: { bursts: number }): TaskProgram {
  for (;;) {
    yield { k: "compute", ns: Math.max(1, Math.round(rng.exponential(opts.meanComputeNs))) };
    count.bursts++;
    yield { k: "sleep", ns: Math.max(1, Math.round(rng.exponential(opts.meanSleepNs))) };
  }
}
