// The fleet's timing on fleets small enough to follow by hand (fleet.ts): the management layer's
// restart back-off after crashes and failed starts (2, 4, 8 ... minutes, at most an hour), the
// watchdog on hung guests, the rolling upgrade host by host (30 minutes each, from 10 minutes in),
// at most three destinations per migration, progress, Ctrl-C and the trace. Probe doubles only.
import { NS_PER_S, type TraceConsumer } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import {
  type BootProbeResult,
  type FleetOptions,
  type FleetProbe,
  fleetSteps,
  type MigrationProbeResult,
  type RunOutcome,
  runFleet,
} from "./fleet.js";

const MIN = 60 * NS_PER_S;

function probe(boot: RunOutcome, migrate: MigrationProbeResult = moved("emulated")): FleetProbe {
  return {
    boot: (): BootProbeResult[] => [{ outcome: boot, detail: "" }],
    migrate: () => [migrate],
  };
}
function moved(outcome: RunOutcome, totalTimeNs = NS_PER_S, downtimeNs = 1e6): MigrationProbeResult {
  return { outcome, detail: outcome, downtimeNs, totalTimeNs };
}

/** One VM on two hosts of a kind nothing upgrades: only its own fate moves. */
const alone: FleetOptions = {
  hosts: 2,
  vms: 1,
  durationNs: 60 * MIN,
  design: "d",
  seed: 1,
  plan: "rolling-upgrade",
  mix: { a: 1 },
  upgradeTo: {},
};

/** When the VM first booted: its downtime runs from then on (it boots within the first minute). */
function firstBoot(o: FleetOptions, p: FleetProbe): number {
  const up = runFleet({ ...o, durationNs: 2 * MIN }, probe("native"));
  // a VM that never went down has no downtime; one down from its first boot on has (end - boot)
  const down = runFleet({ ...o, durationNs: 2 * MIN }, p).downtime.totalNs;
  expect(up.downtime.totalNs).toBe(0);
  return 2 * MIN - down;
}

describe("a guest's fate over time", () => {
  it("a guest that crashes at every boot is restarted after 2, 4, 8, 16, 32 minutes, then hourly", () => {
    const r = runFleet({ ...alone, durationNs: 240 * MIN }, probe("crashed"));
    // boots at t0 + 2, 6, 14, 30, 62, 122, 182 minutes (t0 < 1 min); the next at t0 + 242
    expect(r.restarts).toBe(7);
    expect(r.boots.crashed).toBe(8);
    expect(r.vmFinal.crashed).toBe(1);
    const t0 = firstBoot(alone, probe("crashed"));
    expect(t0).toBeGreaterThanOrEqual(0);
    expect(t0).toBeLessThan(MIN);
    expect(r.downtime.totalNs).toBe(240 * MIN - t0);
    expect(r.downtime.perVm.max).toBeGreaterThan(0);
    expect(runFleet({ ...alone, durationNs: 62 * MIN }, probe("crashed")).restarts).toBe(4);
  });

  it("a start that fails is retried with the same back-off; a hung guest is restarted 10 minutes later", () => {
    const failed = runFleet({ ...alone, durationNs: 240 * MIN }, probe("failed-start"));
    expect(failed.restarts).toBe(7);
    expect(failed.boots["failed-start"]).toBe(8);
    expect(failed.vmFinal["failed-start"]).toBe(1);
    const hung = runFleet(alone, probe("hung"));
    // boots at t0 + 10, 20, 30, 40, 50 minutes
    expect(hung.restarts).toBe(5);
    expect(hung.boots.hung).toBe(6);
    expect(hung.vmFinal.hung).toBe(1);
    expect(hung.stopLite).toEqual({ native: 0, emulated: 0, notUsed: 0 });
  });

  it("a running guest counts by how it idles, and its machine type is the design's by default", () => {
    for (const [outcome, key] of [
      ["native", "native"],
      ["emulated", "emulated"],
      ["not-used", "notUsed"],
    ] as const) {
      const r = runFleet({ ...alone, vms: 3 }, probe(outcome));
      expect(r.stopLite[key], outcome).toBe(3);
      expect(r.vmFinal).toEqual({ running: 3, crashed: 0, "failed-start": 0, hung: 0 });
      expect(r.vmMachines).toEqual({ d: 3 });
      expect(r.downtime.totalNs).toBe(0);
      expect(r.restarts).toBe(0);
    }
  });
});

describe("the rolling upgrade", () => {
  const two: FleetOptions = { ...alone, durationNs: 240 * MIN, mix: { old: 1 }, upgradeTo: { old: "new" } };

  it("drains and upgrades one host at a time from 10 minutes in, 30 minutes each", () => {
    const r = runFleet(two, probe("native", moved("native", 5 * NS_PER_S, 2e6)));
    expect(r.upgrade).toEqual({
      hostsToUpgrade: 2,
      batch: 1,
      startNs: 10 * MIN,
      // host 0: its VM leaves in 5 s, 30 min out; host 1: its VM comes back in 5 s, 30 min out
      finishedNs: 70 * MIN + 10 * NS_PER_S,
      durationNs: 60 * MIN + 10 * NS_PER_S,
    });
    expect(r.hostsUpgraded).toBe(2);
    expect(r.upgradesBlocked).toBe(0);
    expect(r.migrations.native).toBe(2);
    expect(r.migrationDowntime).toEqual({ count: 2, totalNs: 4e6, medianNs: 2e6, maxNs: 2e6 });
    expect(r.downtime.totalNs).toBe(4e6);
    const done = r.series.find((s) => s.counts["hosts-upgraded"] === 2);
    expect(done?.timeNs).toBe(72 * MIN);
  });

  it("starts at 5% of a short run, and a batch upgrades hosts side by side", () => {
    const short = runFleet({ ...two, durationNs: 100 * MIN }, probe("native"));
    expect(short.upgrade.startNs).toBe(5 * MIN);
    const wide = runFleet({ ...two, hosts: 4, upgradeBatch: 2 }, probe("native", moved("native", NS_PER_S)));
    expect(wide.upgrade.batch).toBe(2);
    expect(wide.hostsUpgraded).toBe(4);
    // two rounds of 30 minutes (and a few seconds of migration) instead of four
    expect(wide.upgrade.durationNs).toBeLessThan(61 * MIN);
    expect(wide.upgrade.durationNs).toBeGreaterThanOrEqual(60 * MIN);
    expect(() => runFleet({ ...two, upgradeBatch: 0 }, probe("native"))).toThrow(
      "--upgrade-batch must be a whole number >= 1, got 0",
    );
    expect(() => runFleet({ ...two, upgradeBatch: 1.5 }, probe("native"))).toThrow(/--upgrade-batch/);
  });

  it("a host whose guest no destination takes stays old after three refused destinations", () => {
    const refused: MigrationProbeResult = {
      outcome: "refused",
      detail: "no cap",
      downtimeNs: 0,
      totalTimeNs: NS_PER_S,
      refusal: { phase: "prepare", error: "cap-stop-lite" },
    };
    const r = runFleet({ ...two, hosts: 5 }, probe("native", refused));
    expect(r.migrations.refused).toBe(3);
    expect(r.refusals).toEqual({ "prepare: cap-stop-lite": 3 });
    expect(r.upgradesBlocked).toBe(1);
    expect(r.hostsUpgraded).toBe(4);
    expect(r.vmFinal.running).toBe(1);
    expect(r.migrationDowntime).toEqual({ count: 0, totalNs: 0, medianNs: 0, maxNs: 0 });
    const plain = runFleet({ ...two, hosts: 5 }, probe("native", { ...refused, refusal: undefined }));
    expect(plain.refusals).toEqual({ "no cap": 3 });
  });

  it("a guest that crashes or hangs on arrival is restarted; the host is upgraded", () => {
    const crashed = runFleet(two, probe("native", moved("crashed")));
    expect(crashed.migrations.crashed).toBeGreaterThanOrEqual(1);
    expect(crashed.restarts).toBeGreaterThanOrEqual(1);
    expect(crashed.hostsUpgraded).toBe(2);
    const hung = runFleet(two, probe("native", moved("hung")));
    expect(hung.migrations.hung).toBeGreaterThanOrEqual(1);
    expect(hung.restarts).toBeGreaterThanOrEqual(1);
  });
});

describe("machine types and evacuations", () => {
  it("pin-old: a guest restarted once every host is upgraded gets the new machine type", () => {
    const o: FleetOptions = {
      ...alone,
      durationNs: 240 * MIN,
      mix: { old: 1 },
      upgradeTo: { old: "new" },
      policy: "pin-old",
      machines: { old: "m-old", new: "m-new" },
    };
    // restarts at t0 + 2, 6, 14, 30, 62 (old: hosts still to upgrade until ~70), 122, 182 minutes
    const r = runFleet(o, probe("crashed"));
    expect(r.upgrade.finishedNs).toBeLessThan(122 * MIN);
    expect(r.vmMachines).toEqual({ "m-new": 1 });
    const early = runFleet({ ...o, durationNs: 100 * MIN }, probe("crashed"));
    expect(early.vmMachines).toEqual({ "m-old": 1 });
  });

  it("the upgrade ends when the last busy host comes back, not when the queue empties", () => {
    const three: FleetOptions = {
      ...alone,
      hosts: 3,
      vms: 1,
      durationNs: 240 * MIN,
      mix: { old: 1 },
      upgradeTo: { old: "new" },
      upgradeBatch: 2,
    };
    const r = runFleet(three, probe("native", moved("native", NS_PER_S)));
    expect(r.hostsUpgraded).toBe(3);
    // two hosts side by side, then the third: two rounds of 30 minutes
    expect(r.upgrade.durationNs).toBeGreaterThanOrEqual(60 * MIN);
    expect(r.upgrade.durationNs).toBeLessThan(61 * MIN);
  });

  it("evacuation puts about a tenth of the hosts into maintenance per run, each VM on them migrated", () => {
    const evacuation: FleetOptions = {
      ...alone,
      hosts: 1000,
      vms: 1000,
      durationNs: 24 * 60 * MIN,
      plan: "evacuation",
      mix: { a: 1 },
    };
    let total = 0;
    for (const seed of [1, 2, 3, 4]) {
      const r = runFleet({ ...evacuation, seed }, probe("native", moved("native")));
      const moves = r.migrations.native;
      total += moves;
      expect(r.hostsUpgraded).toBe(0);
      expect(r.vmFinal.running).toBe(1000);
    }
    // 100 evacuations a run (Poisson), about one VM each: 400 over four seeds, +-6 sigma
    expect(total).toBeGreaterThan(400 - 6 * Math.sqrt(400));
    expect(total).toBeLessThan(400 + 6 * Math.sqrt(400));
  });
});

describe("the migrations' downtime", () => {
  it("is summed, and its median and maximum taken in numeric order", () => {
    // each migration draws one of three downtimes whose decimal texts sort in another order
    const downtimes = [900_000, 1_000_000, 20_000_000];
    const p: FleetProbe = {
      boot: () => [{ outcome: "native", detail: "" }],
      migrate: () => downtimes.map((d) => moved("native", NS_PER_S, d)),
    };
    const r = runFleet(
      { ...alone, hosts: 200, vms: 400, durationNs: 24 * 60 * MIN, plan: "evacuation", mix: { a: 1 } },
      p,
    );
    const m = r.migrationDowntime;
    expect(m.count).toBe(r.migrations.native);
    expect(m.count).toBeGreaterThan(10);
    expect(m.maxNs).toBe(20_000_000);
    expect(downtimes).toContain(m.medianNs);
    expect(m.medianNs).toBeLessThan(20_000_000);
    expect(m.totalNs).toBeGreaterThan(m.count * 900_000);
    expect(m.totalNs).toBeLessThan(m.count * 20_000_000);
    expect(r.downtime.totalNs).toBe(m.totalNs);
  });
});

describe("a run in steps", () => {
  it("reports progress after each of 100 steps and samples the counts there", () => {
    const seen: number[] = [];
    const r = runFleet({ ...alone, onProgress: (f) => seen.push(f) }, probe("native"));
    expect(seen).toHaveLength(100);
    expect(seen[0]).toBe(0.01);
    expect(seen.at(-1)).toBe(1);
    expect(r.series.map((s) => s.timeNs)).toEqual(seen.map((f) => Math.round(f * 60 * MIN)));
    expect(r.stoppedAtNs).toBeUndefined();
    // with no machine types given, the design's is both the old and the new one
    expect(r.series.at(-1)?.counts["vms-new-machine"]).toBe(1);
  });

  it("stops where shouldStop says, and says where; the last step always finishes", () => {
    let calls = 0;
    const steps = fleetSteps({ ...alone, shouldStop: () => ++calls >= 30 }, probe("native"));
    let yielded = 0;
    let r = steps.next();
    while (!r.done) {
      yielded++;
      r = steps.next();
    }
    expect(yielded).toBe(29);
    expect(r.value.stoppedAtNs).toBe(18 * MIN);
    expect(r.value.series).toHaveLength(30);
    let asked = 0;
    const last = runFleet(
      {
        ...alone,
        shouldStop: () => {
          asked++;
          return false;
        },
      },
      probe("native"),
    );
    expect(asked).toBe(99);
    expect(last.stoppedAtNs).toBeUndefined();
  });
});

describe("the fleet trace", () => {
  it("has each boot, migration and upgrade on its host's track, with what happened", () => {
    const r = runFleet(
      { ...alone, durationNs: 240 * MIN, mix: { old: 1 }, upgradeTo: { old: "new" }, trace: true, seed: 9 },
      probe("emulated", moved("native", 5 * NS_PER_S)),
    );
    type Ev = { name: string; ph: string; ts: number; dur?: number; args?: Record<string, unknown> };
    const events = (JSON.parse(r.trace ?? "{}") as { traceEvents: Ev[] }).traceEvents;
    const boots = events.filter((e) => e.name === "boot");
    expect(boots.map((e) => e.args)).toEqual([{ vm: 0, kind: "old", outcome: "emulated" }]);
    const migrations = events.filter((e) => e.name === "migration");
    expect(migrations.map((e) => [e.dur, e.args])).toEqual([
      [5e6, { vm: 0, to: 1, outcome: "native" }],
      [5e6, { vm: 0, to: 0, outcome: "native" }],
    ]);
    const upgrades = events.filter((e) => e.name === "upgrade");
    expect(upgrades.map((e) => [e.ts, e.dur, e.args])).toEqual([
      [(10 * MIN + 5 * NS_PER_S) / 1000, (30 * MIN) / 1000, { from: "old", to: "new" }],
      [(40 * MIN + 10 * NS_PER_S) / 1000, (30 * MIN) / 1000, { from: "old", to: "new" }],
    ]);
    // streamed to a consumer instead, the result carries no trace; the consumer gets the events
    let streamed = 0;
    const consumer: TraceConsumer = { track: () => {}, event: () => void streamed++, end: () => {} };
    const s = runFleet({ ...alone, trace: true, traceTo: consumer }, probe("native"));
    expect(streamed).toBeGreaterThan(0);
    expect(s.trace).toBeUndefined();
  });
});
