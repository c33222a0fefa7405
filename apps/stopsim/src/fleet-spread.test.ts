// A fleet over several seeds without the full stack: the discovery loop of runFleetSeeds against
// a probe double that answers only the cases it was asked to fill, and the spread of each count
// over the seeds' results (fleet-seeds.ts). The full-stack probe is in fleet-seeds.test.ts.
import { NS_PER_S } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { type BootProbeResult, type FleetResult, type MigrationProbeResult, runFleet } from "./fleet.js";
import { type FleetBaseOptions, fleetSpread, runFleetSeeds, spreadOf, spreadText } from "./fleet-seeds.js";
import type { FullStackProbe } from "./probe.js";

/**
 * A probe that knows a case only once `fill` ran after it was asked for (FullStackProbe's contract
 * while discovering): an unknown case gives a placeholder and sets askedUnknown. dd2.2 boots hang.
 */
class DiscoveringProbe {
  discovering = false;
  askedUnknown = false;
  readonly known = new Set<string>();
  readonly pending = new Set<string>();
  fills = 0;
  discoveringSeen: boolean[] = [];
  constructor(private readonly interruptAtFill = Number.POSITIVE_INFINITY) {}
  get pendingCases(): number {
    return this.pending.size;
  }
  private ask(key: string): boolean {
    this.discoveringSeen.push(this.discovering);
    if (this.known.has(key)) return true;
    if (!this.discovering) throw new Error(`case ${key} probed outside discovery`);
    this.askedUnknown = true;
    this.pending.add(key);
    return false;
  }
  boot(design: string, kind: string): readonly BootProbeResult[] {
    if (!this.ask(`boot ${design} ${kind}`)) return [{ outcome: "native", detail: "placeholder" }];
    return [{ outcome: kind === "dd2.2" ? "hung" : "native", detail: kind }];
  }
  migrate(design: string, bootKind: string, _from: string, to: string): readonly MigrationProbeResult[] {
    const ok = this.ask(`migrate ${design} ${bootKind} ${to}`);
    return [{ outcome: ok ? "emulated" : "native", detail: "", downtimeNs: 1e6, totalTimeNs: 1e8 }];
  }
  async fill(): Promise<boolean> {
    this.fills++;
    if (this.fills >= this.interruptAtFill) return false;
    for (const k of this.pending) this.known.add(k);
    this.pending.clear();
    return true;
  }
}

const base: FleetBaseOptions = {
  hosts: 12,
  vms: 60,
  durationNs: 6 * 3600 * NS_PER_S,
  design: "test",
  plan: "rolling-upgrade",
  mix: { "dd2.2-old": 0.5, "dd2.3-old": 0.5 },
  upgradeTo: { "dd2.2-old": "dd2.2", "dd2.3-old": "dd2.3" },
};

describe("a fleet over seeds", () => {
  it("runs each seed until a run asks for no new case, and returns the results in seed order", async () => {
    const probe = new DiscoveringProbe();
    const r = await runFleetSeeds(base, [5, 2], probe as unknown as FullStackProbe);
    expect(r.interrupted).toBe(false);
    expect(probe.pendingCases).toBe(0);
    expect(probe.discovering).toBe(false);
    // every result is what the fleet gives once every case it reaches is known
    expect(r.results.map((x) => JSON.stringify(x))).toEqual(
      [5, 2].map((seed) => JSON.stringify(runFleet({ ...base, seed }, probe))),
    );
    // placeholders (native migrations here) never reach a final result
    for (const x of r.results) {
      expect(x.migrations.native).toBe(0);
      expect(x.migrations.emulated).toBeGreaterThan(0);
    }
    // at least one run with placeholders per seed, then one final run per seed
    expect(r.discoveryRuns).toBeGreaterThanOrEqual(4);
    expect(probe.fills).toBeGreaterThanOrEqual(1);
  });

  it("a seed whose run needed nothing new is not run again", async () => {
    const probe = new DiscoveringProbe();
    await runFleetSeeds(base, [3], probe as unknown as FullStackProbe);
    const again = await runFleetSeeds(base, [3, 3], probe as unknown as FullStackProbe);
    expect(again.discoveryRuns).toBe(1);
    expect(again.results).toHaveLength(2);
    expect(again.results[0]).toBe(again.results[1]);
    expect(probe.discoveringSeen.every((d) => d)).toBe(true);
  });

  it("an interrupted fill ends the sweep with no results, and the probe leaves discovery", async () => {
    const probe = new DiscoveringProbe(1);
    const r = await runFleetSeeds(base, [1, 2], probe as unknown as FullStackProbe);
    expect(r).toEqual({ results: [], discoveryRuns: 2, interrupted: true });
    expect(probe.discovering).toBe(false);
  });
});

const result = (over: Partial<Record<keyof FleetResult, unknown>>): FleetResult =>
  ({
    boots: { native: 1, emulated: 0, refused: 0, crashed: 0, hung: 0, failed: 0 },
    migrations: { native: 0, emulated: 2, refused: 0, crashed: 0, hung: 0, failed: 0 },
    vmFinal: {},
    refusals: {},
    stopLite: { native: 1, emulated: 2, notUsed: 3 },
    restarts: 0,
    hostsUpgraded: 4,
    upgradesBlocked: 0,
    migrationDowntime: { count: 0, totalNs: 10, medianNs: 0, maxNs: 0 },
    downtime: { totalNs: 100, perVm: { median: 0, p99: 0, max: 0, mean: 0 } },
    ...over,
  }) as FleetResult;

describe("spread of a count over the fleet seeds", () => {
  it("gives each count's median and range; a key a seed lacks counts 0 there; reasons sorted", () => {
    const s = fleetSpread([
      result({ vmFinal: { running: 5 }, refusals: { "perform3: b": 2 }, restarts: 1 }),
      result({ vmFinal: { running: 3, crashed: 2 }, refusals: { "begin3: a": 1 }, restarts: 7 }),
      result({ vmFinal: { running: 4 }, hostsUpgraded: 9, restarts: 3 }),
    ]);
    expect(s.vmFinal).toEqual({
      running: { median: 4, min: 3, max: 5 },
      crashed: { median: 0, min: 0, max: 2 },
    });
    expect(Object.keys(s.refusals)).toEqual(["begin3: a", "perform3: b"]);
    expect(s.refusals["perform3: b"]).toEqual({ median: 0, min: 0, max: 2 });
    expect(s.restarts).toEqual({ median: 3, min: 1, max: 7 });
    expect(s.hostsUpgraded).toEqual({ median: 4, min: 4, max: 9 });
    expect(s.upgradesBlocked).toEqual({ median: 0, min: 0, max: 0 });
    expect(s.stopLite).toEqual({
      native: { median: 1, min: 1, max: 1 },
      emulated: { median: 2, min: 2, max: 2 },
      notUsed: { median: 3, min: 3, max: 3 },
    });
    expect(s.boots.native).toEqual({ median: 1, min: 1, max: 1 });
    expect(s.migrations.emulated).toEqual({ median: 2, min: 2, max: 2 });
    expect(s.migrationDowntimeTotalNs).toEqual({ median: 10, min: 10, max: 10 });
    expect(s.downtimeTotalNs).toEqual({ median: 100, min: 100, max: 100 });
  });

  it("sorts numerically, takes the middle or the mean of the middle two, and refuses no values", () => {
    expect(spreadOf([10, 9, 100])).toEqual({ median: 10, min: 9, max: 100 });
    expect(spreadOf([7])).toEqual({ median: 7, min: 7, max: 7 });
    expect(() => spreadOf([])).toThrow("spreadOf: no values");
  });

  it("prints the median with its range, or the value alone when every seed gave it", () => {
    expect(spreadText({ median: 2.5, min: 2, max: 3 }, (n) => `${n} ms`)).toBe("2.5 ms [2 ms-3 ms]");
    expect(spreadText({ median: 12345, min: 12345, max: 12345 })).toBe("12,345");
  });
});
