// Fleet benchmark: `stopsim fleet --hosts 1000 --vms 10000 --duration 24h` (rolling upgrade,
// spapr-cap), wall time and peak memory, written to bench-results/fleet.json.
import { NS_PER_S, writeBenchResult } from "@stopsim/engine";
import { runFleet } from "../src/fleet.js";
import { FullStackProbe } from "../src/probe.js";

const SEED = 1;
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 5);
const t0 = performance.now();
const probe = new FullStackProbe({ seed: SEED });
const r = runFleet(
  {
    hosts: 1000,
    vms: 10_000,
    durationNs: 24 * 3600 * NS_PER_S,
    design: "spapr-cap",
    seed: SEED,
    plan: "rolling-upgrade",
    mix: { "dd2.2-old": 0.3, "dd2.3-old": 0.3, "dd2.2": 0.2, "dd2.3": 0.2 },
    upgradeTo: { "dd2.2-old": "dd2.2", "dd2.3-old": "dd2.3" },
    onProgress: () => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    },
  },
  probe,
);
const wallSeconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
const path = writeBenchResult("fleet", SEED, {
  hosts: 1000,
  vms: 10_000,
  simulatedSeconds: 24 * 3600,
  wallSeconds: Number(wallSeconds.toFixed(3)),
  peakRssBytes: peakRss,
  fullStackRuns: probe.runs,
  migrations: r.migrations,
  boots: r.boots,
  targets: { maxWallSeconds: 60 },
});
console.log(
  `fleet: ${wallSeconds.toFixed(2)} s wall, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB, ${probe.runs} full-stack runs -> ${path}`,
);
