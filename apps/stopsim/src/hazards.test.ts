import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { HAZARD_KINDS, hazardKinds, NO_HAZARDS } from "./hazards.js";
import { matrixRow, runMatrixCell } from "./matrix.js";
import { runMigrate } from "./migrate.js";
import type { HostPreset } from "./presets.js";

describe("hazards across a live migration", () => {
  const opts = { durationNs: 10 * NS_PER_MS };

  it("a migration with no other fault has no hazard: timers due while the guest was paused fire at resume", () => {
    for (const seed of [1, 2, 3]) {
      const r = runMigrate("dd2.3", "dd2.2", "spapr-cap", { ...opts, seed });
      expect(r.outcome).toBe("emulated");
      // the guest was paused (QEMU's stop-and-copy) long enough for its timers to fall due meanwhile
      expect(r.migration.downtimeNs).toBeGreaterThanOrEqual(NS_PER_MS);
      expect(hazardKinds(r.hazards), `seed ${seed}`).toEqual([]);
      expect(r.hazards.maxWakeupLatenessNs).toBeLessThan(NS_PER_MS);
      const cell = { design: "spapr-cap", from: "dd2.3", to: "dd2.2" };
      const row = matrixRow(cell, [runMatrixCell(cell, { ...opts, seed })]);
      expect(row.hazardMark).toBe(false);
      expect(row.detail).not.toContain("hazards");
    }
  });

  it("a wake-up lost during a migration run still shows, on the host where it was lost", () => {
    // rfc-as-posted never forces EC: the guest stops natively on DD2.2, whose erratum loses wake events
    const flaky: HostPreset = {
      name: "dd2.2-lossy",
      description: "DD2.2 with patch 2 as posted and a frequent guest-stop erratum",
      chip: "dd2.2",
      firmware: "new",
      kernel: "patch2-as-posted",
      sockets: 1,
      coresPerSocket: 4,
      lostWakeupProbability: 0.2,
    };
    const r = runMigrate("dd2.3", "dd2.2-lossy", "rfc-as-posted", { ...opts, seed: 1, hosts: [flaky] });
    expect(r.migration.status).toBe("completed");
    const dst = r.destination.phase?.hazards ?? NO_HAZARDS;
    expect(dst.lostWakeups).toBeGreaterThan(0);
    // the lost wake events made the guest's timers late (or left a vCPU stalled): counted, not discounted
    expect(dst.lateWakeups + dst.stalls + dst.stalledVcpus).toBeGreaterThan(0);
    expect(r.source.phase?.hazards.lostWakeups).toBe(0);
    for (const k of HAZARD_KINDS) expect(r.hazards[k]).toBeGreaterThanOrEqual(dst[k]);
    expect(r.detail).toMatch(/on dd2\.2-lossy: hazards: \d+ lost wake-up/);
  });
});
