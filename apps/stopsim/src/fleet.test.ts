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
      return [{ outcome: kind.startsWith("dd2.3") ? "native" : "emulated", detail: kind }];
    },
    migrate: (_design, bootKind, _from, to) => {
      calls++;
      return [migrateResult(bootKind, to)];
    },
  };
}

function migrateResult(bootKind: string, to: string): MigrationProbeResult {
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

/**
 * A probe double for the machine-type policies: the new machine type starts only on upgraded
 * kinds (no "-old" suffix), where the guest uses stop0lite (native on dd2.3, emulated on dd2.2);
 * the old machine type starts everywhere and never uses it. A migration of a new-machine guest to
 * an old kind is refused in prepare, as libvirt reports it.
 */
function policyProbe(): FleetProbe {
  const capable = (kind: string) => !kind.endsWith("-old");
  const idle = (kind: string, machine?: string) =>
    machine === "new" ? (kind.startsWith("dd2.3") ? "native" : "emulated") : "not-used";
  return {
    boot(_d, kind, machine) {
      if (machine === "new" && !capable(kind)) return [{ outcome: "failed-start", detail: "cap apply" }];
      return [{ outcome: idle(kind, machine), detail: kind }];
    },
    migrate(_d, _boot, _from, to, machine): MigrationProbeResult[] {
      if (machine === "new" && !capable(to)) {
        return [
          {
            outcome: "refused",
            detail: "refused in prepare",
            downtimeNs: 0,
            totalTimeNs: NS_PER_S / 10,
            refusal: { phase: "prepare", error: "QEMU exited: cap-stop-lite" },
          },
        ];
      }
      return [{ outcome: idle(to, machine), detail: "", downtimeNs: 2e6, totalTimeNs: NS_PER_S / 10 }];
    },
    accepts(_d, kind, machine) {
      return machine === "new" && !capable(kind) ? { usable: false, error: "cap apply" } : { usable: true };
    },
  };
}

describe("fleet machine-type policies", () => {
  const fleet = {
    ...base,
    hosts: 50,
    vms: 400,
    mix: { "dd2.2-old": 0.3, "dd2.3-old": 0.3, "dd2.2": 0.2, "dd2.3": 0.2 },
    machines: { old: "old", new: "new" },
  };

  it("capable: VMs get the new machine type only where it starts; the upgrade evacuates every host by live migration", () => {
    const r = runFleet({ ...fleet, policy: "capable" }, policyProbe());
    expect(r.boots["failed-start"]).toBe(0);
    expect(r.vmFinal.running).toBe(400);
    expect(r.vmMachines.new).toBeGreaterThan(0);
    expect(r.vmMachines.old).toBeGreaterThan(0);
    expect(r.stopLite.native + r.stopLite.emulated).toBe(r.vmMachines.new);
    expect(r.migrations.refused).toBe(0);
    expect(r.hostsUpgraded).toBe(r.upgrade.hostsToUpgrade);
    expect(r.upgrade.durationNs).toBeGreaterThan(0);
    expect(r.migrationDowntime.count).toBeGreaterThan(0);
    // the guests' downtime is the migrations' own
    expect(r.downtime.totalNs).toBe(r.migrationDowntime.totalNs);
    expect(r.downtime.perVm.max).toBeLessThan(NS_PER_S);
  });

  it("pin-old: the old machine type everywhere while hosts remain to upgrade", () => {
    const r = runFleet({ ...fleet, policy: "pin-old" }, policyProbe());
    expect(r.vmMachines).toEqual({ old: 400 });
    expect(r.stopLite.notUsed).toBe(400);
    expect(r.boots["failed-start"]).toBe(0);
    expect(r.hostsUpgraded).toBe(r.upgrade.hostsToUpgrade);
  });

  it("naive: the new machine type anywhere: failed starts, restarts and hours of downtime", () => {
    const r = runFleet({ ...fleet, policy: "naive" }, policyProbe());
    const capable = runFleet({ ...fleet, policy: "capable" }, policyProbe());
    expect(r.boots["failed-start"]).toBeGreaterThan(0);
    expect(r.restarts).toBeGreaterThan(0);
    expect(r.downtime.perVm.mean).toBeGreaterThan(3600 * NS_PER_S);
    expect(capable.downtime.perVm.max).toBeLessThan(NS_PER_S);
  });

  it("counts refused migrations by the management layer's phase and error", () => {
    const r = runFleet({ ...fleet, policy: "naive", plan: "evacuation", hosts: 40, vms: 300 }, policyProbe());
    expect(r.migrations.refused).toBeGreaterThan(0);
    expect(r.refusals["prepare: QEMU exited: cap-stop-lite"]).toBe(r.migrations.refused);
  });
});
