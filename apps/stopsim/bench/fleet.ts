// Fleet benchmark: `stopsim fleet --hosts 1000 --vms 10000 --duration 24h` (rolling upgrade,
// spapr-cap), wall time and peak memory, written to bench-results/fleet.json. The full-stack probes
// (each case over DEFAULT_PROBE_SEEDS seeds) run on the worker-process pool as the CLI runs them.
import { NS_PER_S, writeBenchResult } from "@stopsim/engine";
import { runFleet } from "../src/fleet.js";
import { DEFAULT_PROBE_SEEDS, runFleetSeeds } from "../src/fleet-seeds.js";
import { FullStackProbe } from "../src/probe.js";

const SEED = 1;
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 5);
const t0 = performance.now();
const probeSeeds = Array.from({ length: DEFAULT_PROBE_SEEDS }, (_, i) => SEED + i);
const probe = new FullStackProbe({ seeds: probeSeeds });
const base = {
  hosts: 1000,
  vms: 10_000,
  durationNs: 24 * 3600 * NS_PER_S,
  design: "spapr-cap",
  plan: "rolling-upgrade" as const,
  mix: { "dd2.2-old": 0.3, "dd2.3-old": 0.3, "dd2.2": 0.2, "dd2.3": 0.2 },
  upgradeTo: { "dd2.2-old": "dd2.2", "dd2.3-old": "dd2.3" },
};
const probed = await runFleetSeeds(base, [SEED], probe);
const probeSeconds = (performance.now() - t0) / 1000;
const r = runFleet(
  {
    ...base,
    seed: SEED,
    onProgress: () => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    },
  },
  probe,
);
const wallSeconds = (performance.now() - t0) / 1000;
if (JSON.stringify(r) !== JSON.stringify(probed.results[0])) throw new Error("fleet: the final run differs");
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
const path = writeBenchResult("fleet", SEED, {
  hosts: 1000,
  vms: 10_000,
  simulatedSeconds: 24 * 3600,
  wallSeconds: Number(wallSeconds.toFixed(3)),
  probeSeconds: Number(probeSeconds.toFixed(3)),
  probeSeeds,
  discoveryRuns: probed.discoveryRuns,
  peakRssBytes: peakRss,
  fullStackRuns: probe.runs,
  migrations: r.migrations,
  boots: r.boots,
  targets: { maxWallSeconds: 60 },
});
console.log(
  `fleet: ${wallSeconds.toFixed(2)} s wall (${probeSeconds.toFixed(2)} s of it probing), peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB, ${probe.runs} full-stack runs -> ${path}`,
);
