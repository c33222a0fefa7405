import { NS_PER_S } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { type FleetProbe, type MigrationProbeResult, runFleet, vmDraw } from "./fleet.js";
import { fleetSpread, runFleetSeeds, spreadOf, spreadText } from "./fleet-seeds.js";
import { FullStackProbe } from "./probe.js";
import { runCli } from "./test-helpers/run-cli.js";

/** A probe whose dd2.2 boots hang on one probe seed of four (a rare outcome made on purpose). */
function rareProbe(): FleetProbe {
  const ok: MigrationProbeResult = { outcome: "native", detail: "", downtimeNs: 2e6, totalTimeNs: 1e8 };
  return {
    boot: (_d, kind) =>
      kind === "dd2.2"
        ? [
            { outcome: "native", detail: "s1" },
            { outcome: "hung", detail: "s2" },
            { outcome: "native", detail: "s3" },
            { outcome: "native", detail: "s4" },
          ]
        : [{ outcome: "native", detail: "" }],
    migrate: () => [ok],
  };
}

const fleet = {
  hosts: 200,
  vms: 4000,
  durationNs: 30 * 60 * NS_PER_S,
  design: "test",
  seed: 3,
  plan: "evacuation" as const,
  mix: { "dd2.2": 1 },
  upgradeTo: {},
};

describe("fleet probes per seed", () => {
  it("each VM draws from a case's probes by its own seed, so a rare outcome reaches the counts at its rate", () => {
    const r = runFleet(fleet, rareProbe());
    const first = 4000;
    // one probe seed in four hangs: about a quarter of the boots hang (binomial, n >= 4000, 6 sigma)
    const rate = r.boots.hung / (r.boots.hung + r.boots.native);
    expect(rate).toBeGreaterThan(0.25 - 6 * Math.sqrt((0.25 * 0.75) / first));
    expect(rate).toBeLessThan(0.25 + 6 * Math.sqrt((0.25 * 0.75) / first));
    // with one probe result per case every VM gets it: no draw, no hang
    const one = runFleet(fleet, {
      boot: () => [{ outcome: "native", detail: "" }],
      migrate: rareProbe().migrate,
    });
    expect(one.boots.hung).toBe(0);
  });

  it("a VM's draws are uniform and its own (a pure function of its seed and draw count)", () => {
    const k = 5;
    const hist = new Array(k).fill(0);
    for (let seed = 0; seed < 2000; seed++) for (let n = 0; n < 10; n++) hist[vmDraw(seed, n, k)]++;
    for (const h of hist) expect(Math.abs(h - 4000)).toBeLessThan(6 * Math.sqrt(4000 * 0.8));
    expect(vmDraw(12345, 7, k)).toBe(vmDraw(12345, 7, k));
    expect(new Set(Array.from({ length: 50 }, (_, n) => vmDraw(99, n, k))).size).toBe(k);
  });

  it("the fleet over seeds gives each count's median and range", () => {
    const runs = [1, 2, 3].map((seed) => runFleet({ ...fleet, vms: 400, seed }, rareProbe()));
    const s = fleetSpread(runs);
    const hung = runs.map((r) => r.boots.hung).sort((a, b) => a - b);
    expect(s.boots.hung).toEqual({ median: hung[1], min: hung[0], max: hung[2] });
    expect(spreadOf([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(spreadText({ median: 3, min: 3, max: 3 })).toBe("3");
    expect(spreadText({ median: 1200, min: 1000, max: 1500 })).toBe("1,200 [1,000-1,500]");
  });

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
