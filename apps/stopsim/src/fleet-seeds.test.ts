import { NS_PER_S } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { runFleet } from "./fleet.js";
import { runFleetSeeds } from "./fleet-seeds.js";
import { FullStackProbe } from "./probe.js";
import { runCli } from "./test-helpers/run-cli.js";

describe("fleet probes per seed", () => {
  it("probes the cases a fleet reaches as jobs, then runs it on real probe results only", async () => {
    const probe = new FullStackProbe({ seeds: [1, 2] });
    const base = {
      hosts: 4,
      vms: 8,
      durationNs: 3600 * NS_PER_S,
      design: "spapr-cap",
      plan: "rolling-upgrade" as const,
      mix: { "dd2.2-old": 0.5, "dd2.3": 0.5 },
      upgradeTo: { "dd2.2-old": "dd2.2" },
    };
    const r = await runFleetSeeds(base, [1, 2], probe, { workers: 1 });
    expect(r.interrupted).toBe(false);
    expect(r.results).toHaveLength(2);
    expect(probe.pendingCases).toBe(0);
    // every case was probed over both probe seeds, and a rerun asks for nothing new
    const summary = probe.summary();
    expect(summary.length).toBeGreaterThan(0);
    for (const p of summary) expect(Object.values(p.outcomes).reduce((a, b) => a + (b ?? 0), 0)).toBe(2);
    const runs = probe.runs;
    expect(JSON.stringify(runFleet({ ...base, seed: 2 }, probe))).toBe(JSON.stringify(r.results[1]));
    expect(probe.runs).toBe(runs);
  });

  it("fleet --seeds gives byte-identical JSON on a pool of processes and serially", async () => {
    const args = [
      "fleet",
      "--hosts",
      "6",
      "--vms",
      "24",
      "--duration",
      "2h",
      "--seeds",
      "2",
      "--probe-seeds",
      "2",
    ];
    const strip = (out: string) => {
      const j = JSON.parse(out) as Record<string, unknown>;
      delete j.wallSeconds;
      return JSON.stringify(j);
    };
    const pooled = await runCli([...args, "--workers", "2", "--json"]);
    const serial = await runCli([...args, "--workers", "1", "--json"]);
    expect(pooled.code, pooled.err).toBe(0);
    expect(serial.code, serial.err).toBe(0);
    expect(strip(pooled.out)).toBe(strip(serial.out));
    const j = JSON.parse(pooled.out) as { runs: { seed: number }[]; statistic: string };
    expect(j.runs.map((r) => r.seed)).toEqual([1, 2]);
    expect(j.statistic).toMatch(/median \[min-max\]/);
    // the table gives each count with its spread and names the statistic
    const t = await runCli([...args, "--workers", "2"]);
    expect(t.out).toContain("counts: median [min-max] over the fleet seeds");
    // three fleet runs over two seeds: 106 s alone on the shared 2-core machine, more under the
    // whole suite's load
  }, 300_000);

  it("refuses --trace with several fleet seeds", async () => {
    const r = await runCli(["fleet", "--seeds", "2", "--trace", "/tmp/x.json"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--trace takes one fleet seed/);
  });
});
