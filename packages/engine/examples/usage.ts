// A single-server queue on the event loop: jobs arrive with seeded exponential gaps, wait for the
// server, and their waits go into a latency histogram. Same seed, same figures.
import assert from "node:assert/strict";
import { formatDuration, NS_PER_MS, NS_PER_US, Simulation } from "@stopsim/engine";

function run(seed: number) {
  const sim = new Simulation({ seed });
  const arrivals = sim.rng.stream("arrivals");
  const service = sim.rng.stream("service");
  const waits = sim.stats.histogram("wait");
  const served = sim.stats.counter("served");
  let busyUntil = 0;
  const arrive = () => {
    const start = Math.max(sim.now, busyUntil);
    waits.record(start - sim.now);
    busyUntil = start + Math.round(service.exponential(40 * NS_PER_US));
    sim.scheduleAt(busyUntil, () => served.inc());
    sim.schedule(Math.round(arrivals.exponential(50 * NS_PER_US)), arrive);
  };
  sim.schedule(0, arrive);
  sim.runFor(100 * NS_PER_MS);
  return { served: served.value, p50: waits.percentile(50), p99: waits.percentile(99), now: sim.now };
}

const a = run(42);
assert.deepEqual(run(42), a); // deterministic
assert.ok(a.served > 1500 && a.served < 2500, `about 2000 jobs in 100 ms, got ${a.served}`);
assert.ok(a.p99 >= a.p50);
console.log(`served ${a.served} jobs in ${formatDuration(a.now)}; wait p50 ${a.p50} ns, p99 ${a.p99} ns`);
