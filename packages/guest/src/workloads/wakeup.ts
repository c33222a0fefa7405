// Wakeup latency of an idle vCPU, measured the way the RFC's numbers were: wake a CPU idling in a
// given state by a timer and by an IPI, 60 samples, min/max/median/avg/stddev. The measurement is
// taken inside the guest on the guest clock (ktime_get from the timebase):
// - timer: a task on the target CPU sleeps until an absolute time T; latency = the time the task
//   runs again minus T (timer expiry to woken task running);
// - ipi: a task on the source CPU reads the clock (t0) and sends smp_call_function_single to the
//   target, whose IPI handler wakes a task there; latency = the time that task runs minus t0.
// Whatever platform the kernel runs on (the test platform or the real host and QEMU), the
// numbers include everything that platform does between those two points.

import { LatencyHistogram, type LatencySummary } from "@stopsim/engine";
import type { GuestCpu } from "../kernel/cpu.js";
import type { GuestKernel } from "../kernel/kernel.js";
import { Pipe, type TaskProgram } from "../kernel/task.js";
import { WorkloadError } from "./workloads.js";

export interface WakeupLatencyOptions {
  method: "timer" | "ipi";
  /** CPU that idles and gets woken. */
  target: number;
  /** CPU that sends the IPIs (method "ipi"). Default: the first other online CPU. */
  source?: number;
  /** Number of samples (default 60). */
  samples?: number;
  /** Idle time before each wakeup (default 1 ms: long enough for the state to be entered). */
  idleNs?: number;
  /** Enable only this idle state on every CPU while measuring (by name), as the thread did. */
  onlyState?: string;
  /** Give up after this much virtual time (default samples * idleNs * 20 + 1 s). */
  timeoutNs?: number;
}

export interface WakeupLatencyResult extends LatencySummary {
  readonly method: "timer" | "ipi";
  readonly state: string;
  readonly samplesNs: readonly number[];
}

/** Runs the simulation until the samples are taken. The kernel must be running. */
export function measureWakeupLatency(kernel: GuestKernel, opts: WakeupLatencyOptions): WakeupLatencyResult {
  const samples = opts.samples ?? 60;
  const idleNs = opts.idleNs ?? 1_000_000;
  if (!(Number.isInteger(samples) && samples > 0))
    throw new WorkloadError(`samples must be a positive integer, got ${samples}`);
  if (kernel.state !== "running") throw new WorkloadError(`the guest is ${kernel.state}, not running`);
  const target = kernel.cpus[opts.target];
  if (!target?.online) throw new WorkloadError(`cpu ${opts.target} is not online`);
  const sourceIdx = opts.source ?? kernel.cpus.find((c) => c?.online && c !== target)?.logical ?? -1;
  if (
    opts.method === "ipi" &&
    (sourceIdx < 0 || sourceIdx === opts.target || !kernel.cpus[sourceIdx]?.online)
  ) {
    throw new WorkloadError(`method "ipi" needs a source cpu other than the target, online`);
  }
  if (opts.onlyState !== undefined) {
    for (const c of kernel.cpus) {
      const dev = c?.cpuidle;
      if (dev === null || dev === undefined) continue;
      if (!dev.drv.states.some((s) => s.name === opts.onlyState)) {
        throw new WorkloadError(
          `no idle state '${opts.onlyState}' on cpu ${c.logical}; states are ${dev.drv.states.map((s) => s.name).join(", ")}`,
        );
      }
      for (const s of dev.drv.states) dev.setDisabled(s.name, s.name !== opts.onlyState);
    }
  }
  const m: WakeupMeasure = {
    target,
    samples,
    idleNs,
    hist: new LatencyHistogram(`wakeup-${opts.method}`),
    values: [],
    done: false,
    t0: 0,
  };
  if (opts.method === "timer") {
    kernel.spawn("wakeup-timer", opts.target, timerSleeper(m));
  } else {
    const pipe = new Pipe("wakeup");
    kernel.spawn("wakeup-ipi-wakee", opts.target, ipiWakee(m, pipe));
    kernel.spawn(
      "wakeup-ipi-waker",
      sourceIdx,
      ipiWaker(m, kernel, pipe, kernel.cpus[sourceIdx], opts.target),
    );
  }
  const sim = kernel.sim;
  const deadline = sim.now + (opts.timeoutNs ?? samples * idleNs * 20 + 1e9);
  while (!m.done && sim.now < deadline && (kernel.state as string) !== "panicked") {
    if (!sim.step()) break;
  }
  if (opts.onlyState !== undefined) {
    for (const c of kernel.cpus) {
      const dev = c?.cpuidle;
      if (dev !== null && dev !== undefined) for (const s of dev.drv.states) dev.setDisabled(s.name, false);
    }
  }
  if (!m.done) {
    throw new WorkloadError(
      `wakeup measurement did not finish: ${m.values.length}/${samples} samples by ${sim.now} ns (guest ${kernel.state}; cpu${opts.target} ${target.activity})`,
    );
  }
  return {
    ...m.hist.summary(),
    method: opts.method,
    state: opts.onlyState ?? "(governor)",
    samplesNs: m.values,
  };
}

/**
 * A measurement's state, shared by its tasks' programs. The programs are generator functions
 * declared once, not inside measureWakeupLatency: a nested `function*` is a new function per call
 * with its own initial map in V8's old generation, which keeps the kernel alive through every
 * minor collection until the next full one (see workloads.ts).
 */
interface WakeupMeasure {
  readonly target: GuestCpu;
  readonly samples: number;
  readonly idleNs: number;
  readonly hist: LatencyHistogram;
  readonly values: number[];
  done: boolean;
  /** When the waker read the clock before its IPI. */
  t0: number;
}

function* timerSleeper(m: WakeupMeasure): TaskProgram {
  for (let i = 0; i < m.samples; i++) {
    const t = m.target.ktime() + m.idleNs;
    yield { k: "sleepUntil", guestNs: t };
    const lat = m.target.ktime() - t;
    m.values.push(lat);
    m.hist.record(Math.max(0, lat));
  }
  m.done = true;
}

function* ipiWakee(m: WakeupMeasure, pipe: Pipe): TaskProgram {
  for (let i = 0; i < m.samples; i++) {
    yield { k: "read", pipe };
    const lat = m.target.ktime() - m.t0;
    m.values.push(lat);
    m.hist.record(Math.max(0, lat));
  }
  m.done = true;
}

function* ipiWaker(
  m: WakeupMeasure,
  kernel: GuestKernel,
  pipe: Pipe,
  src: GuestCpu,
  target: number,
): TaskProgram {
  for (let i = 0; i < m.samples; i++) {
    yield { k: "sleep", ns: m.idleNs };
    m.t0 = src.ktime();
    yield {
      k: "callFunction",
      cpu: target,
      fn: () => {
        pipe.tokens++;
        const w = pipe.waiters.shift();
        if (w !== undefined) kernel.wakeLocal(w);
      },
    };
  }
}
