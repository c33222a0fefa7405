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
  let n = 0;
  let next = 0;
  function* prog(): TaskProgram {
    for (;;) {
      const c = kernel.cpus[cpu];
      const now = c.ktime();
      if (next <= now) next = (Math.floor(now / periodNs) + 1) * periodNs;
      yield { k: "sleepUntil", guestNs: next };
      next += periodNs;
      n++;
      if (workNs > 0) yield { k: "compute", ns: workNs };
    }
  }
  const task = kernel.spawn(`timer-${periodNs}ns`, cpu, prog());
  return { task, wakeups: () => n };
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
    const self = this;
    function* prog(): TaskProgram {
      for (;;) {
        yield { k: "compute", ns: self.recordNs };
        self.records++;
      }
    }
    this.task = kernel.spawn("ebizzy", opts.cpu, prog());
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
    const self = this;
    function* ping(): TaskProgram {
      for (;;) {
        yield { k: "write", pipe: p1 };
        yield { k: "read", pipe: p2 };
        self.loops++;
      }
    }
    function* pong(): TaskProgram {
      for (;;) {
        yield { k: "read", pipe: p1 };
        yield { k: "write", pipe: p2 };
      }
    }
    this.b = kernel.spawn("context_switch2-b", cpuB, pong());
    this.a = kernel.spawn("context_switch2-a", cpuA, ping());
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
  let bursts = 0;
  const tasks: Task[] = [];
  for (let i = 0; i < opts.tasks; i++) {
    const rng = opts.rng.fork(`task${i}`);
    const cpu = rng.pick(opts.cpus);
    function* prog(): TaskProgram {
      for (;;) {
        yield { k: "compute", ns: Math.max(1, Math.round(rng.exponential(opts.meanComputeNs))) };
        bursts++;
        yield { k: "sleep", ns: Math.max(1, Math.round(rng.exponential(opts.meanSleepNs))) };
      }
    }
    tasks.push(kernel.spawn(`mix${i}`, cpu, prog()));
  }
  return { tasks, bursts: () => bursts };
}
