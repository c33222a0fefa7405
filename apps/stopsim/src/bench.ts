// The thread-shaped measurements on the full stack: wakeup latency by timer and by IPI per idle
// state, and the ebizzy-like and context_switch2-like rates per idle state (one state enabled at a
// time, as the thread measured them). Every figure comes from a run of all the layers.
import { NS_PER_MS, NS_PER_S, Simulation } from "@stopsim/engine";
import { ContextSwitch2, Ebizzy, type GuestKernel, measureWakeupLatency } from "@stopsim/guest";
import { UsageError } from "./errors.js";
import { findDesign, findHost } from "./presets.js";
import { createDesignGuest, DEFAULT_GUEST, qemuCommandLine, startQemu, vmCounters } from "./run.js";
import { bootSimHost } from "./stack.js";

/** One measured configuration: a label as the thread names it, the host it needs, the state. */
export interface BenchCase {
  readonly label: string;
  readonly host: string;
  readonly design: string;
  readonly state: string;
}

/** The thread's four configurations: native stop0lite needs DD2.3 with idle-stop-guest; emulated runs on DD2.2. */
export const BENCH_CASES: readonly BenchCase[] = [
  { label: "snooze", host: "dd2.3", design: "spapr-cap", state: "snooze" },
  { label: "stop0lite", host: "dd2.3", design: "spapr-cap", state: "stop0lite" },
  { label: "stop0lite (emulated)", host: "dd2.2", design: "spapr-cap", state: "stop0lite" },
  // KVM marks every guest's VPA shared (init_vpa): the guest idles in shared_states' "Shared Cede"
  { label: "Shared CEDE", host: "dd2.3", design: "spapr-cap", state: "Shared Cede" },
];

export interface LatencyStats {
  samples: number;
  min: number;
  median: number;
  max: number;
  avg: number;
  stddev: number;
}

export interface WakeupEntry {
  state: string;
  host: string;
  guestState: string;
  timer: LatencyStats;
  ipi: LatencyStats;
  timerSamplesNs: number[];
  ipiSamplesNs: number[];
  emulatedStops: number;
}

export interface RateEntry {
  state: string;
  host: string;
  rate: number;
  unit: string;
}

function bootGuest(
  c: BenchCase,
  seed: number | string,
  machineExtra = "",
): { sim: Simulation; kernel: GuestKernel; counters: () => number } {
  const sim = new Simulation({ seed });
  const design = findDesign(c.design);
  const h = bootSimHost(sim, findHost(c.host), design);
  const kernel = createDesignGuest(sim, design, DEFAULT_GUEST);
  const q = startQemu(
    sim,
    h,
    design,
    kernel,
    qemuCommandLine(design, DEFAULT_GUEST, machineExtra),
    `qemu@${c.host}`,
  );
  if (!q.ok) throw new UsageError(`bench: QEMU did not start on ${c.host}: ${q.error.split("\n")[0]}`);
  const qemu = q.qemu;
  const deadline = sim.now + 2 * NS_PER_S;
  while (kernel.state !== "running" && sim.now < deadline) {
    if (kernel.state === "panicked" || !sim.step()) break;
  }
  if (kernel.state !== "running") {
    throw new UsageError(
      `bench: the guest did not boot on ${c.host} (state ${kernel.state}): ${kernel.console.dmesg().slice(-2).join(" | ")}`,
    );
  }
  const names = kernel.cpus[0]?.cpuidle?.drv.states.map((s) => s.name) ?? [];
  if (!names.includes(c.state)) {
    throw new UsageError(
      `bench: the guest on ${c.host} has no idle state '${c.state}' (it has ${names.join(", ")})`,
    );
  }
  return { sim, kernel, counters: () => vmCounters(qemu).emulatedStops };
}

function stats(r: {
  count: number;
  min: number;
  median: number;
  max: number;
  mean: number;
  stddev: number;
}): LatencyStats {
  return { samples: r.count, min: r.min, median: r.median, max: r.max, avg: r.mean, stddev: r.stddev };
}

/** Only `state` enabled on every CPU, as the thread measured (echo 1 > stateN/disable for the rest). */
function onlyState(kernel: GuestKernel, state: string): void {
  for (const c of kernel.cpus) {
    const dev = c?.cpuidle;
    if (dev) for (const s of dev.drv.states) dev.setDisabled(s.name, s.name !== state);
  }
}

/** Wakeup latency of one case at one seed: `samples` wakeups by timer and by IPI. */
export function benchWakeupCase(c: BenchCase, seed: number | string, samples = 60): WakeupEntry {
  const { kernel, counters } = bootGuest(c, seed);
  // target cpu 1 (a sibling of cpu 0 on the first core), IPIs from cpu 4 (the other core)
  const timer = measureWakeupLatency(kernel, { method: "timer", target: 1, samples, onlyState: c.state });
  const ipi = measureWakeupLatency(kernel, {
    method: "ipi",
    target: 1,
    source: 4,
    samples,
    onlyState: c.state,
  });
  return {
    state: c.label,
    host: c.host,
    guestState: kernel.state,
    timer: stats(timer),
    ipi: stats(ipi),
    timerSamplesNs: [...timer.samplesNs],
    ipiSamplesNs: [...ipi.samplesNs],
    emulatedStops: counters(),
  };
}

export function benchWakeup(seed: number | string, samples = 60): WakeupEntry[] {
  return BENCH_CASES.map((c) => benchWakeupCase(c, seed, samples));
}

export type RateBench = "ebizzy" | "ctxsw";

/**
 * One case's rate at one seed, with only the case's idle state enabled: ebizzy (records/s of a
 * single-threaded ebizzy on cpu 0) or ctxsw (context_switch2 between cpus 0 and 1).
 */
export function benchRateCase(
  what: RateBench,
  c: BenchCase,
  seed: number | string,
  windowNs = 200 * NS_PER_MS,
  /** Appended to -machine, e.g. ",ic-mode=xics" for the XICS path. */
  machineExtra = "",
): RateEntry {
  const { sim, kernel } = bootGuest(c, seed, machineExtra);
  onlyState(kernel, c.state);
  const w = what === "ebizzy" ? new Ebizzy(kernel, { cpu: 0 }) : new ContextSwitch2(kernel, 0, 1);
  sim.runFor(10 * NS_PER_MS);
  w.start();
  sim.runFor(windowNs);
  return {
    state: c.label,
    host: c.host,
    rate: Math.round(w.result().perSecond),
    unit: what === "ebizzy" ? "records/s" : "context switches/s",
  };
}

export function benchEbizzy(seed: number | string, windowNs = 200 * NS_PER_MS): RateEntry[] {
  return BENCH_CASES.map((c) => benchRateCase("ebizzy", c, seed, windowNs));
}

export function benchCtxsw(seed: number | string, windowNs = 200 * NS_PER_MS): RateEntry[] {
  return BENCH_CASES.map((c) => benchRateCase("ctxsw", c, seed, windowNs));
}
