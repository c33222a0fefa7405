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
  const hist = new LatencyHistogram(`wakeup-${opts.method}`);
  const values: number[] = [];
  let done = false;
  if (opts.method === "timer") {
    function* sleeper(): TaskProgram {
      for (let i = 0; i < samples; i++) {
        const t = target.ktime() + idleNs;
        yield { k: "sleepUntil", guestNs: t };
        const lat = target.ktime() - t;
        values.push(lat);
        hist.record(Math.max(0, lat));
      }
      done = true;
    }
    kernel.spawn("wakeup-timer", opts.target, sleeper());
  } else {
    const pipe = new Pipe("wakeup");
    let t0 = 0;
    const src = kernel.cpus[sourceIdx];
    function* wakee(): TaskProgram {
      for (let i = 0; i < samples; i++) {
        yield { k: "read", pipe };
        const lat = target.ktime() - t0;
        values.push(lat);
        hist.record(Math.max(0, lat));
      }
      done = true;
    }
    function* waker(): TaskProgram {
      for (let i = 0; i < samples; i++) {
        yield { k: "sleep", ns: idleNs };
        t0 = src.ktime();
        yield {
          k: "callFunction",
          cpu: opts.target,
          fn: () => {
            pipe.tokens++;
            const w = pipe.waiters.shift();
            if (w !== undefined) kernel.wakeLocal(w);
          },
        };
      }
    }
    kernel.spawn("wakeup-ipi-wakee", opts.target, wakee());
    kernel.spawn("wakeup-ipi-waker", sourceIdx, waker());
  }
  const sim = kernel.sim;
  const deadline = sim.now + (opts.timeoutNs ?? samples * idleNs * 20 + 1e9);
  while (!done && sim.now < deadline && (kernel.state as string) !== "panicked") {
    if (!sim.step()) break;
  }
  if (opts.onlyState !== undefined) {
    for (const c of kernel.cpus) {
      const dev = c?.cpuidle;
      if (dev !== null && dev !== undefined) for (const s of dev.drv.states) dev.setDisabled(s.name, false);
    }
  }
  if (!done) {
    throw new WorkloadError(
      `wakeup measurement did not finish: ${values.length}/${samples} samples by ${sim.now} ns (guest ${kernel.state}; cpu${opts.target} ${target.activity})`,
    );
  }
  return { ...hist.summary(), method: opts.method, state: opts.onlyState ?? "(governor)", samplesNs: values };
}
