// Full-stack idle benchmark: one host of 16 SMT4 cores (dd2.3, new firmware, the spapr-cap
// design's fallback KVM) running 8 guests of 8 vCPUs pinned to its 64 threads, every guest under
// the "timers" idle workload (periodic timers of 0.1-4 ms per CPU), and the same under "mixed"
// (compute bursts and sleeps). Measured after the guests booted, with tracing off and on.
// Writes bench-results/idle.json.
import { writeBenchResult } from "@stopsim/engine";
import { HOST16, type IdleRun, runIdle } from "./idle-stack.js";

const SEED = 7;
const SECONDS = Number(process.env.IDLE_BENCH_SECONDS ?? 10);
/** Traced runs record every event in memory: a shorter window, compared per simulated second. */
const TRACED_SECONDS = Number(process.env.IDLE_BENCH_TRACED_SECONDS ?? 1);
const GUESTS = 8;

function figures(r: IdleRun) {
  const transitions = 2 * r.idleEntries; // every idle entry is followed by its exit
  return {
    simulatedSeconds: r.simulatedSeconds,
    wallSeconds: Number(r.wallSeconds.toFixed(3)),
    bootWallSeconds: Number(r.bootWallSeconds.toFixed(3)),
    events: r.events,
    guestIdleEntries: r.idleEntries,
    idleTransitionsPerSecond: Math.round(transitions / r.wallSeconds),
    simToWallRatio: Number((r.simulatedSeconds / r.wallSeconds).toFixed(4)),
    eventsPerSecond: Math.round(r.events / r.wallSeconds),
    wallSecondsPerSimulatedSecond: Number((r.wallSeconds / r.simulatedSeconds).toFixed(3)),
  };
}

function run(workload: "timers" | "mixed", trace: boolean, seconds: number) {
  const { stack, ...r } = runIdle({ seed: SEED, hosts: 1, guestsPerHost: GUESTS, workload, trace }, seconds);
  const f = figures(r);
  const traceEvents = stack.sim.trace.size;
  console.log(
    `idle ${workload}${trace ? " traced" : ""}: ${seconds} s simulated in ${f.wallSeconds} s, ${f.idleTransitionsPerSecond} idle transitions/s, ${f.eventsPerSecond} events/s`,
  );
  return trace ? { ...f, traceEvents } : f;
}

const timers = run("timers", false, SECONDS);
const timersTraced = run("timers", true, TRACED_SECONDS);
const mixed = run("mixed", false, TRACED_SECONDS);
const tracingOverhead = timersTraced.wallSecondsPerSimulatedSecond / timers.wallSecondsPerSimulatedSecond;

const path = writeBenchResult("idle", SEED, {
  host: {
    preset: HOST16.name,
    chip: HOST16.chip,
    sockets: HOST16.sockets,
    coresPerSocket: HOST16.coresPerSocket,
  },
  design: "spapr-cap",
  guests: GUESTS,
  vcpusPerGuest: 8,
  qemuSmp: "8,sockets=1,cores=2,threads=4",
  pinning: "guest g: vCPU n on host thread 8g+n",
  workload: "timers",
  // headline figures: timers workload, tracing off
  idleTransitionsPerSecond: timers.idleTransitionsPerSecond,
  simToWallRatio: timers.simToWallRatio,
  eventsPerSecond: timers.eventsPerSecond,
  tracingOverhead: Number(tracingOverhead.toFixed(2)),
  runs: { timers, timersTraced, mixed },
  targets: { minIdleTransitionsPerSecond: 500_000, maxTracingOverhead: 3 },
});
console.log(`idle: tracing overhead ${tracingOverhead.toFixed(2)}x -> ${path}`);
