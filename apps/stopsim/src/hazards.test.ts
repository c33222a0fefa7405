import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import {
  guestPauses,
  HAZARD_KINDS,
  hazardKinds,
  hazardsSince,
  hazardText,
  NO_HAZARDS,
  pausedWithin,
} from "./hazards.js";
import { matrixRow, runMatrixCell } from "./matrix.js";
import { runMigrate } from "./migrate.js";
import type { HostPreset } from "./presets.js";

type Events = { events: { timestampNs: number; event: string }[] };
const qemu = (events: [string, number][]): Events => ({
  events: events.map(([event, timestampNs]) => ({ event, timestampNs })),
});

describe("guest pauses", () => {
  it("run from a STOP to the next RESUME of any QEMU of the run, or to now", () => {
    const src = qemu([
      ["RESUME", 0],
      ["STOP", 100],
      ["MIGRATION", 150],
    ]);
    const dst = qemu([
      ["RESUME", 300],
      ["STOP", 500],
    ]);
    // biome-ignore lint/suspicious/noExplicitAny: QMP event lists are all guestPauses reads
    const p = guestPauses([src, dst] as any, 900);
    expect(p).toEqual([
      { fromNs: 100, toNs: 300 },
      { fromNs: 500, toNs: 900 },
    ]);
    expect(pausedWithin(50, 350, p)).toBe(200);
    expect(pausedWithin(200, 250, p)).toBe(50);
    expect(pausedWithin(300, 500, p)).toBe(0);
    expect(pausedWithin(0, 1000, p)).toBe(600);
  });

  it("hazards between two readings count events as differences and snapshots as of the end", () => {
    const before = { ...NO_HAZARDS, lostWakeups: 2, lateWakeups: 1, stalledVcpus: 1, emulatedStopStorms: 3 };
    const after = { ...NO_HAZARDS, lostWakeups: 5, lateWakeups: 1, stalledVcpus: 1, emulatedStopStorms: 2 };
    const d = hazardsSince(after, before);
    expect(d).toEqual({ ...NO_HAZARDS, lostWakeups: 3, stalledVcpus: 1, emulatedStopStorms: 2 });
    expect(hazardKinds(d)).toEqual(["lostWakeups", "stalledVcpus", "emulatedStopStorms"]);
  });
});

describe("hazard records", () => {
  it("a STOP and a RESUME at the same instant pause nothing after it; a second STOP keeps the first's start", () => {
    // biome-ignore lint/suspicious/noExplicitAny: QMP event lists are all guestPauses reads
    const p = (events: [string, number][], now = 1000) => guestPauses([qemu(events)] as any, now);
    expect(
      p([
        ["RESUME", 200],
        ["STOP", 200],
      ]),
    ).toEqual([{ fromNs: 200, toNs: 200 }]);
    expect(
      p([
        ["STOP", 100],
        ["STOP", 150],
        ["RESUME", 400],
        ["RESUME", 500],
      ]),
    ).toEqual([{ fromNs: 100, toNs: 400 }]);
    expect(p([])).toEqual([]);
    expect(p([["STOP", 30]], 80)).toEqual([{ fromNs: 30, toNs: 80 }]);
  });

  it("a reading before another never gives negative counts", () => {
    const before = { ...NO_HAZARDS, stalls: 4, watchdogNearMisses: 2, maxWakeupLatenessNs: 900 };
    const after = { ...NO_HAZARDS, stalls: 1, watchdogNearMisses: 3, maxWakeupLatenessNs: 700 };
    expect(hazardsSince(after, before)).toEqual({
      ...NO_HAZARDS,
      watchdogNearMisses: 1,
      maxWakeupLatenessNs: 700,
    });
  });

  it("one line names each kind counted, singular or plural, and the latest lateness when wake-ups were late", () => {
    expect(hazardText(NO_HAZARDS)).toBe("");
    expect(hazardText({ ...NO_HAZARDS, lostWakeups: 1, emulatedStopStorms: 2 })).toBe(
      "hazards: 1 lost wake-up, 2 vCPUs in an emulated-stop storm",
    );
    expect(hazardText({ ...NO_HAZARDS, lateWakeups: 3, maxWakeupLatenessNs: 2_345 })).toBe(
      "hazards: 3 late wake-ups (latest wake-up 2.3 us late)",
    );
    expect(hazardText({ ...NO_HAZARDS, stalls: 1, stalledVcpus: 2, maxWakeupLatenessNs: 1_234_567 })).toBe(
      "hazards: 1 stall, 2 vCPUs stalled at the end (latest wake-up 1235 us late)",
    );
    expect(hazardText({ ...NO_HAZARDS, stalls: 2, maxWakeupLatenessNs: 9_999 })).toBe(
      "hazards: 2 stalls (latest wake-up 10.0 us late)",
    );
    expect(hazardText({ ...NO_HAZARDS, stalls: 2, maxWakeupLatenessNs: 10_000 })).toBe(
      "hazards: 2 stalls (latest wake-up 10 us late)",
    );
    expect(
      hazardText({
        ...NO_HAZARDS,
        lateWakeups: 1,
        stalledVcpus: 1,
        watchdogNearMisses: 2,
        emulatedStopStorms: 1,
        maxWakeupLatenessNs: 500,
      }),
    ).toBe(
      "hazards: 1 late wake-up, 1 vCPU stalled at the end, 2 watchdog near misses, 1 vCPU in an emulated-stop storm (latest wake-up 0.5 us late)",
    );
    expect(
      hazardText({ ...NO_HAZARDS, watchdogNearMisses: 1, lostWakeups: 3, maxWakeupLatenessNs: 4000 }),
    ).toBe("hazards: 3 lost wake-ups, 1 watchdog near miss");
  });
});

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
