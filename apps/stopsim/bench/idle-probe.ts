// Short idle probe for profiling: boots the idle benchmark's stack (timers workload, tracing off),
// runs IDLE_PROBE_SECONDS simulated seconds and prints wall and CPU figures plus a digest of the
// outcome (events, idle entries) so two builds can be compared like for like.
// Usage: cd apps/stopsim && npx tsx bench/idle-probe.ts   (or node --cpu-prof --import tsx ...)
import { NS_PER_S } from "@stopsim/engine";
import { bootGuests, buildIdleStack, idleEntries } from "./idle-stack.js";

const SECONDS = Number(process.env.IDLE_PROBE_SECONDS ?? 1);
/** IDLE_PROBE_TRACE=1: trace on, print the trace's hash (same build, same seed: same hash). */
const TRACE = process.env.IDLE_PROBE_TRACE === "1";
const stack = buildIdleStack({ seed: 7, hosts: 1, guestsPerHost: 8, workload: "timers", trace: TRACE });
bootGuests(stack);
const e0 = stack.runner.dispatched;
const i0 = idleEntries(stack);
const c0 = process.cpuUsage();
const t0 = performance.now();
stack.runner.runFor(SECONDS * NS_PER_S);
const wall = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
const cpu = (c.user + c.system) / 1e6;
const events = stack.runner.dispatched - e0;
const entries = idleEntries(stack) - i0;
console.log(
  JSON.stringify({
    seconds: SECONDS,
    events,
    idleEntries: entries,
    now: stack.runner.now,
    wall: Number(wall.toFixed(3)),
    cpu: Number(cpu.toFixed(3)),
    transPerWallS: Math.round((2 * entries) / wall),
    transPerCpuS: Math.round((2 * entries) / cpu),
    eventsPerIdle: Number((events / entries).toFixed(3)),
    ...(TRACE ? { traceEvents: stack.sim.trace.size, traceHash: stack.sim.trace.hash().slice(0, 16) } : {}),
    load: (await import("node:os"))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" "),
  }),
);
