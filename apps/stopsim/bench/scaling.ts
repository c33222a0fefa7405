// Scaling benchmark: the idle benchmark's machine (hosts of 16 SMT4 cores, 8 pinned guests of 8
// vCPUs each, "timers" workload) at 1x, 4x and 16x the number of guests. A host has 64 threads and
// holds at most 8 such guests, so the guests scale with the hosts: 1, 4 and 16 hosts (8, 32 and
// 128 guests, 64 to 1024 vCPUs). Each host is a partition of one PartitionedSimulation (the hosts
// share nothing: no migration links them), run a window (1 ms of simulated time) at a time so a
// host's state stays in the CPU caches; SCALING_ONE_HEAP=1 puts every host in one Simulation
// instead, for comparison (same events per host, interleaved host by host). Wall time per
// simulated event should stay flat: `slope` = per-event wall at 16x / at 1x. Also the peak heap
// per host and per vCPU. SCALING_BENCH_SECONDS: simulated seconds per point (default 0.25);
// SCALING_WINDOW_NS: the window. Writes bench-results/scaling.json and bench-results/memory.json.
// Run with --expose-gc.
import { loadavg } from "node:os";
import { DEFAULT_PARTITION_WINDOW_NS, NS_PER_MS, NS_PER_S, writeBenchResult } from "@stopsim/engine";
import { bootGuests, buildIdleStack, GUEST_VCPUS, idleEntries } from "./idle-stack.js";

const SEED = 11;
const SECONDS = Number(process.env.SCALING_BENCH_SECONDS ?? 0.25);
const GUESTS_PER_HOST = 8;
const SCALES = [1, 4, 16];
/** One partition per host (the default) or every host in one heap (SCALING_ONE_HEAP=1, for comparison). */
const PARTITIONED = process.env.SCALING_ONE_HEAP !== "1";
const WINDOW =
  process.env.SCALING_WINDOW_NS === undefined ? undefined : Number(process.env.SCALING_WINDOW_NS);

const gc = (globalThis as { gc?: () => void }).gc;
function heapUsed(): number {
  gc?.();
  return process.memoryUsage().heapUsed;
}

interface ScalePoint {
  scale: number;
  hosts: number;
  guests: number;
  vcpus: number;
  simulatedSeconds: number;
  wallSeconds: number;
  bootWallSeconds: number;
  events: number;
  wallNsPerEvent: number;
  /** CPU time of this process per event (every thread: V8's GC helpers too); less sensitive to a loaded machine than wall time. */
  cpuNsPerEvent: number;
  eventsPerSecond: number;
  idleTransitionsPerSecond: number;
  peakHeapBytes: number;
  heapPerHostBytes: number;
  heapPerVcpuBytes: number;
}

function measure(scale: number): ScalePoint {
  const hosts = scale;
  const base = heapUsed();
  const t0 = performance.now();
  const stack = buildIdleStack({
    seed: SEED,
    hosts,
    guestsPerHost: GUESTS_PER_HOST,
    workload: "timers",
    trace: false,
    partitioned: PARTITIONED,
    window: WINDOW,
  });
  bootGuests(stack);
  const bootWallSeconds = (performance.now() - t0) / 1000;
  // peak heap: sampled (without forcing a collection) between 10 ms slices of the timed run
  let peak = process.memoryUsage().heapUsed;
  const e0 = stack.runner.dispatched;
  const i0 = idleEntries(stack);
  const end = stack.runner.now + SECONDS * NS_PER_S;
  let wall = 0;
  const cpu0 = process.cpuUsage();
  while (stack.runner.now < end) {
    const t = performance.now();
    stack.runner.runUntil(Math.min(end, stack.runner.now + 10 * NS_PER_MS));
    wall += performance.now() - t;
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  const wallSeconds = wall / 1000;
  const cpu = process.cpuUsage(cpu0);
  const events = stack.runner.dispatched - e0;
  const transitions = 2 * (idleEntries(stack) - i0);
  // live heap of the simulated machine: after a collection, with the stack still reachable
  const live = heapUsed() - base;
  const vcpus = stack.guests.length * GUEST_VCPUS;
  const point: ScalePoint = {
    scale,
    hosts,
    guests: stack.guests.length,
    vcpus,
    simulatedSeconds: SECONDS,
    wallSeconds: Number(wallSeconds.toFixed(3)),
    bootWallSeconds: Number(bootWallSeconds.toFixed(3)),
    events,
    wallNsPerEvent: Number(((wallSeconds * 1e9) / events).toFixed(1)),
    cpuNsPerEvent: Number((((cpu.user + cpu.system) * 1e3) / events).toFixed(1)),
    eventsPerSecond: Math.round(events / wallSeconds),
    idleTransitionsPerSecond: Math.round(transitions / wallSeconds),
    peakHeapBytes: Math.max(peak - base, live),
    heapPerHostBytes: Math.round(live / hosts),
    heapPerVcpuBytes: Math.round(live / vcpus),
  };
  console.log(
    `scaling ${scale}x: ${hosts} hosts, ${point.guests} guests, ${point.wallNsPerEvent} ns/event, ${point.idleTransitionsPerSecond} idle transitions/s, live heap ${(live / 2 ** 20).toFixed(1)} MiB`,
  );
  return point;
}

if (gc === undefined) console.warn("scaling: run with --expose-gc for exact live-heap figures");
// warm-up at 1x so the first measured point runs optimised code too
measure(1);
const loadBefore = Number(loadavg()[0].toFixed(2));
const points = SCALES.map(measure);
const slope = points[points.length - 1].wallNsPerEvent / points[0].wallNsPerEvent;
const cpuSlope = points[points.length - 1].cpuNsPerEvent / points[0].cpuNsPerEvent;
const scalingPath = writeBenchResult("scaling", SEED, {
  design: "spapr-cap",
  workload: "timers",
  guestsPerHost: GUESTS_PER_HOST,
  scaling: "guests scale with hosts (a 64-thread host holds 8 guests of 8 vCPUs): 1, 4, 16 hosts",
  partitions: PARTITIONED ? "one per host (PartitionedSimulation)" : "none: every host in one Simulation",
  windowNs: PARTITIONED ? (WINDOW ?? DEFAULT_PARTITION_WINDOW_NS) : null,
  // the live heap per vCPU beside each point's cost per event (memory.json has the detail)
  points: points.map(({ peakHeapBytes, heapPerHostBytes, ...p }) => p),
  slope: Number(slope.toFixed(3)),
  cpuSlope: Number(cpuSlope.toFixed(3)),
  /** 1-minute load average before and after the measured points (the machine may be shared) */
  loadAverage: [loadBefore, Number(loadavg()[0].toFixed(2))],
  targets: { maxSlope: 1.3 },
});
const big = points[points.length - 1];
const memoryPath = writeBenchResult("memory", SEED, {
  measuredAt: `${big.hosts} hosts, ${big.guests} guests, ${big.vcpus} vCPUs`,
  gcExposed: gc !== undefined,
  peakHeapBytes: big.peakHeapBytes,
  heapPerHostBytes: big.heapPerHostBytes,
  heapPerVcpuBytes: big.heapPerVcpuBytes,
  points: points.map((p) => ({
    scale: p.scale,
    hosts: p.hosts,
    vcpus: p.vcpus,
    peakHeapBytes: p.peakHeapBytes,
    heapPerHostBytes: p.heapPerHostBytes,
    heapPerVcpuBytes: p.heapPerVcpuBytes,
  })),
});
console.log(
  `scaling: slope ${slope.toFixed(2)} (CPU time ${cpuSlope.toFixed(2)}) -> ${scalingPath}, ${memoryPath}`,
);
