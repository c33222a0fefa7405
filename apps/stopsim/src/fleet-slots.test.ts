// The fleet's host slots on full fleets (fleet.ts): a host holds ceil(1.25 x VMs per host) + 1 VMs,
// so on a small fleet whose guests keep failing, a slot that a crash, a hang, a failed start or a
// refused migration did not give back would fill the hosts within a few restarts and stop the
// management layer's restarts (or the next migration's destinations). Followed by hand with probe
// doubles, as fleet-timeline.test.ts does.
import { NS_PER_S, type TraceConsumer, type TraceEvent, type TraceTrack } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import {
  type BootProbeResult,
  FLEET_OLD_MACHINE,
  type FleetOptions,
  type FleetProbe,
  type MigrationProbeResult,
  type RunOutcome,
  runFleet,
} from "./fleet.js";
import { findDesign } from "./presets.js";
import { runBoot } from "./scenarios.js";

const MIN = 60 * NS_PER_S;

function probe(boot: RunOutcome, migrate?: MigrationProbeResult): FleetProbe {
  return {
    boot: (): BootProbeResult[] => [{ outcome: boot, detail: boot }],
    migrate: () => [migrate ?? { outcome: "emulated", detail: "", downtimeNs: 1e6, totalTimeNs: NS_PER_S }],
  };
}

/** Eight VMs on two hosts of a kind nothing upgrades: six slots a host, twelve in all. */
const full: FleetOptions = {
  hosts: 2,
  vms: 8,
  durationNs: 240 * MIN,
  design: "d",
  seed: 1,
  plan: "rolling-upgrade",
  mix: { a: 1 },
  upgradeTo: {},
};

describe("a slot comes back", () => {
  it("when a guest crashes: every VM is restarted on the back-off (7 times in 4 hours), never stuck for room", () => {
    // 8 VMs x 8 boots each: far more than the 12 slots, so each crash must free its own
    const r = runFleet(full, probe("crashed"));
    expect(r.boots.crashed).toBe(8 * 8);
    expect(r.restarts).toBe(8 * 7);
  });

  it("when a start fails: the same back-off, the same number of retries", () => {
    const r = runFleet(full, probe("failed-start"));
    expect(r.boots["failed-start"]).toBe(8 * 8);
    expect(r.restarts).toBe(8 * 7);
  });

  it("when the watchdog restarts a hung guest: every 10 minutes, 5 restarts a VM in an hour", () => {
    const r = runFleet({ ...full, durationNs: 60 * MIN }, probe("hung"));
    expect(r.boots.hung).toBe(8 * 6);
    expect(r.restarts).toBe(8 * 5);
  });

  it("when a migration is refused: each VM of each drained host gets its three destinations", () => {
    // four hosts to upgrade, two VMs each (four slots a host): a refused migration's destination
    // slot, taken while it ran, is free again for the next attempt
    const refused: MigrationProbeResult = {
      outcome: "refused",
      detail: "no",
      downtimeNs: 0,
      totalTimeNs: NS_PER_S,
      refusal: { phase: "prepare", error: "cap" },
    };
    const o: FleetOptions = { ...full, hosts: 4, vms: 8, mix: { old: 1 }, upgradeTo: { old: "new" } };
    const r = runFleet(o, probe("native", refused));
    expect(r.migrations.refused).toBe(4 * 2 * 3);
    expect(r.refusals).toEqual({ "prepare: cap": 24 });
    expect(r.upgradesBlocked).toBe(4);
    expect(r.hostsUpgraded).toBe(0);
    expect(r.vmFinal.running).toBe(8);
  });
});

describe("the series' count of VMs on the new machine type", () => {
  const machines = { old: "m-old", new: "m-new" };

  it("counts every VM placed with it, on any host (the first host too)", () => {
    const r = runFleet({ ...full, durationNs: 10 * MIN, policy: "naive", machines }, probe("native"));
    expect(r.vmMachines).toEqual({ "m-new": 8 });
    expect(r.series.at(-1)?.counts["vms-new-machine"]).toBe(8);
  });

  it("leaves out the VMs that are down, waiting for a host", () => {
    const r = runFleet({ ...full, durationNs: 10 * MIN, policy: "naive", machines }, probe("failed-start"));
    expect(r.vmMachines).toEqual({ "m-new": 8 });
    expect(r.series.every((s) => s.counts["vms-new-machine"] === 0)).toBe(true);
    // the old machine type is not counted
    const pinned = runFleet({ ...full, durationNs: 10 * MIN, policy: "pin-old", machines }, probe("native"));
    expect(pinned.series.at(-1)?.counts["vms-new-machine"]).toBe(0);
  });
});

describe("the scheduler", () => {
  const native: FleetProbe = probe("native", {
    outcome: "native",
    detail: "",
    downtimeNs: 1e6,
    totalTimeNs: NS_PER_S,
  });

  it("never overfills a host: a host whose VMs do not fit on the others stays old", () => {
    // two hosts of six slots, four VMs each: only two of a drained host's VMs fit on the other
    const o: FleetOptions = { ...full, mix: { old: 1 }, upgradeTo: { old: "new" } };
    const r = runFleet(o, native);
    expect(r.upgradesBlocked).toBe(2);
    expect(r.hostsUpgraded).toBe(0);
    // host 0 sends two VMs (then host 1 is full), host 1 sends four back (then host 0 is full)
    expect(r.migrations.native).toBe(6);
    expect(r.vmFinal.running).toBe(8);
  });

  it("sends a drained host's VM to the least loaded of the hosts it samples", () => {
    // three hosts, five VMs: hosts 0 and 1 hold two each, host 2 one; host 0 is drained first
    const firstMove = (seed: number): string => {
      const moves: string[] = [];
      const tracks = new Map<number, string>();
      const sink: TraceConsumer = {
        track: (t: TraceTrack) => {
          tracks.set(t.id, t.thread);
        },
        event: (e: TraceEvent) => {
          if (e.name === "migration") moves.push(`${tracks.get(e.track)}->host${String(e.args?.to)}`);
        },
        end: () => {},
      };
      const o: FleetOptions = { ...full, hosts: 3, vms: 5, seed, mix: { old: 1 }, upgradeTo: { old: "new" } };
      runFleet({ ...o, trace: true, traceTo: sink }, native);
      return moves[0];
    };
    // eight samples over hosts 1 and 2 all miss host 2 about one seed in 26, (2/3)^8: seed 1 is one
    expect([2, 3, 4, 5, 6, 7].map(firstMove)).toEqual(Array(6).fill("host0->host2"));
  });
});

describe("the old machine type", () => {
  it("is the last one without cap-stop-lite: the agreed design's guest starts on a 2020 host with it", () => {
    // DOMAIN.md section 1: the cap is on by default only from the new machine type (pseries-5.1)
    const old = runBoot("dd2.2-old", "spapr-cap", { seed: 1, durationNs: 1, machine: FLEET_OLD_MACHINE });
    expect(old.qemu.started).toBe(true);
    expect(old.qemu.caps["cap-stop-lite"]).toBe("off");
    expect(FLEET_OLD_MACHINE).not.toBe(findDesign("spapr-cap").machine);
    expect(runBoot("dd2.2-old", "spapr-cap", { seed: 1, durationNs: 1 }).outcome).toBe("failed-start");
  });
});
