// The README's demo. When the stopsim app is built, it runs `stopsim demo` (the narrated tour);
// until then it runs an engine example: a seeded, traced toy idle loop on four vCPUs.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const cli = new URL("../apps/stopsim/dist/cli.js", import.meta.url).pathname;
if (existsSync(cli)) {
  const r = spawnSync(process.execPath, [cli, "demo", ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const { Simulation, formatDuration } = await import("@stopsim/engine");
console.log("stopsim demo (engine only: the layer packages and the app are not built yet)\n");
const sim = new Simulation({ seed: 2020, trace: true });
const wake = sim.stats.histogram("idle residency");
for (let cpu = 0; cpu < 4; cpu++) {
  const rng = sim.rng.stream(`vcpu${cpu}`);
  const track = sim.trace.track("guest", `vCPU ${cpu}`);
  const timer = sim.createTimer(() => {});
  const cycle = () => {
    const start = sim.now;
    const idle = Math.round(rng.exponential(20_000));
    timer.callback = () => {
      wake.record(sim.now - start);
      sim.trace.complete(track, "cpu_idle", "power", start, sim.now - start);
      cycle();
    };
    timer.armIn(idle);
  };
  cycle();
}
sim.runFor(10_000_000);
const s = wake.summary();
console.log(`simulated ${formatDuration(sim.now)}: ${sim.dispatched} events, ${s.count} idle periods`);
console.log(
  `idle residency: median ${formatDuration(s.median)}, p99 ${formatDuration(s.p99)}, max ${formatDuration(s.max)}`,
);
console.log(
  `trace: ${sim.trace.size} events, sha256 ${sim.trace.hash().slice(0, 16)}… (same seed, same hash)`,
);
