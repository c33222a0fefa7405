import { NS_PER_S } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { UsageError } from "./errors.js";
import { type FleetProbe, type MigrationProbeResult, runFleet } from "./fleet.js";

/**
 * A probe double for the fleet layer alone: migrations into an "old" kind are refused, crashes
 * happen when a guest booted on dd2.3 lands on dd2.2-old (the host-probed story). The full-stack
 * probe is exercised by the app's scenario tests.
 */
function probe(): FleetProbe & { calls: number } {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    boot(_design, kind) {
      calls++;
      return { outcome: kind.startsWith("dd2.3") ? "native" : "emulated", detail: kind };
    },
    migrate(_design, bootKind, _from, to): MigrationProbeResult {
      calls++;
      if (to === "dd2.2-old" && bootKind.startsWith("dd2.3")) {
        return { outcome: "crashed", detail: "program check", downtimeNs: 3e8, totalTimeNs: 2 * NS_PER_S };
      }
      if (to.endsWith("-old") && !bootKind.endsWith("-old")) {
        return { outcome: "refused", detail: "cap", downtimeNs: 0, totalTimeNs: NS_PER_S };
      }
      return {
        outcome: to.startsWith("dd2.3") ? "native" : "emulated",
        detail: "",
        downtimeNs: 3e8,
        totalTimeNs: 2 * NS_PER_S,
      };
    },
  };
}

const base = {
  hosts: 40,
  vms: 300,
  durationNs: 24 * 3600 * NS_PER_S,
  design: "test",
  seed: 7,
  plan: "rolling-upgrade" as const,
  mix: { "dd2.2-old": 0.5, "dd2.3-old": 0.5 },
  upgradeTo: { "dd2.2-old": "dd2.2", "dd2.3-old": "dd2.3" },
};

describe("fleet simulation", () => {
  it("keeps every VM accounted for and upgrades hosts", () => {
    const r = runFleet(base, probe());
    const final = Object.values(r.vmFinal).reduce((a, b) => a + b, 0);
    expect(final).toBe(300);
    expect(r.boots.native + r.boots.emulated).toBeGreaterThanOrEqual(300);
    expect(r.hostsUpgraded + r.upgradesBlocked).toBeGreaterThan(0);
    expect(r.series).toHaveLength(100);
    expect(r.series.at(-1)?.timeNs).toBe(base.durationNs);
  });

  it("is deterministic for a seed and differs for another", () => {
    const a = JSON.stringify(runFleet(base, probe()));
    expect(JSON.stringify(runFleet(base, probe()))).toBe(a);
    expect(JSON.stringify(runFleet({ ...base, seed: 8 }, probe()))).not.toBe(a);
  });

  it("counts crashes and restarts and charges downtime", () => {
    const r = runFleet({ ...base, plan: "evacuation" }, probe());
    expect(r.downtime.totalNs).toBeGreaterThan(0);
    expect(
      r.migrations.crashed + r.migrations.refused + r.migrations.native + r.migrations.emulated,
    ).toBeGreaterThan(0);
  });

  it("rejects impossible fleets with a usage error", () => {
    expect(() => runFleet({ ...base, hosts: 1 }, probe())).toThrow(UsageError);
    expect(() => runFleet({ ...base, vms: 100_000 }, probe())).toThrow(/does not fit/);
    expect(() => runFleet({ ...base, durationNs: 0 }, probe())).toThrow(/--duration/);
    expect(() => runFleet({ ...base, mix: {} }, probe())).toThrow(/--mix/);
  });
});

describe("fleet trace", () => {
  it("records boots, migrations and upgrades per host as Chrome trace events when asked", () => {
    const r = runFleet(
      { ...base, hosts: 10, vms: 40, durationNs: 6 * 3600 * NS_PER_S, trace: true },
      probe(),
    );
    const doc = JSON.parse(r.trace ?? "{}") as { traceEvents: { name: string }[] };
    const names = new Set(doc.traceEvents.map((e) => e.name));
    expect(names.has("boot")).toBe(true);
    expect(names.has("migration") || names.has("upgrade")).toBe(true);
    expect(runFleet({ ...base, hosts: 10, vms: 40 }, probe()).trace).toBeUndefined();
  });
});
