// How the hazard record reads the layers' counters (observeHazards), decision by decision, on
// hand-made readings: the guest kernel's per-CPU counters and its log of late wake-ups (filled
// the way the guest's noteTimerWakeup does: packages/guest/src/kernel/watchdog.ts), QEMU's QMP
// STOP/RESUME events, KVM's per-vCPU emulated stops and the hosts' erratum counters. A guest
// paused by QEMU (a migration's stop-and-copy, QMP stop) has its clock stopped (qemu:
// hw/ppc/ppc.c timebase_save/timebase_load), so the part of a wake-up's lateness inside a pause
// is taken off before it is judged; hazards.test.ts checks the same across real migrations.
import type { Simulation } from "@stopsim/engine";
import { type GuestKernel, LATE_WAKEUP_FACTOR, STALL_NS } from "@stopsim/guest";
import type { Qemu } from "@stopsim/qemu";
import { describe, expect, it } from "vitest";
import {
  EMULATED_STOP_STORM_NS,
  guestPauses,
  hazardKinds,
  hazardsSince,
  hazardText,
  NO_HAZARDS,
  observeHazards,
  pausedWithin,
} from "./hazards.js";
import type { SimHost } from "./stack.js";

interface FakeCpu {
  stats: { lateWakeups: number; stalls: number; maxWakeupLatenessNs: number; maxPunctualLatenessNs: number };
}

/** A guest kernel's hazard counters, filled as the guest's noteTimerWakeup fills them. */
class FakeKernel {
  cpus: (FakeCpu | undefined)[] = [];
  lateWakeupLog: {
    cpu: number;
    dueNs: number;
    wokeNs: number;
    exitLatencyNs: number;
    reboundAtNs: number;
  }[] = [];
  lateWakeupLogDropped = 0;
  watchdogNearMisses = 0;
  stalledAsked: number[] = [];
  stalled: number[] = [];

  constructor(n: number) {
    for (let i = 0; i < n; i++)
      this.cpus.push({
        stats: { lateWakeups: 0, stalls: 0, maxWakeupLatenessNs: 0, maxPunctualLatenessNs: 0 },
      });
  }

  wake(cpu: number, dueNs: number, wokeNs: number, exitLatencyNs = 2_000, reboundAtNs = -1): void {
    const st = (this.cpus[cpu] as FakeCpu).stats;
    const lateness = wokeNs - dueNs;
    st.maxWakeupLatenessNs = Math.max(st.maxWakeupLatenessNs, lateness);
    const late = lateness > LATE_WAKEUP_FACTOR * Math.max(exitLatencyNs, 1_000);
    if (late) st.lateWakeups++;
    if (lateness >= STALL_NS) st.stalls++;
    if (!late && lateness < STALL_NS) {
      st.maxPunctualLatenessNs = Math.max(st.maxPunctualLatenessNs, lateness);
      return;
    }
    this.lateWakeupLog.push({ cpu, dueNs, wokeNs, exitLatencyNs, reboundAtNs });
  }

  stalledCpus(minNs: number): number[] {
    this.stalledAsked.push(minNs);
    return this.stalled;
  }
}

const sim = (now: number) => ({ now }) as Simulation;
const qemu = (events: [string, number][], emulatedStops: number[] = []) =>
  ({
    events: events.map(([event, timestampNs]) => ({ event, timestampNs })),
    vm: { vcpus: new Map(emulatedStops.map((n, i) => [i, { emulatedStops: n }])) },
  }) as unknown as Qemu;
const read = (now: number, k: FakeKernel, qemus: Qemu[] = [], hosts: SimHost[] = []) =>
  observeHazards(sim(now), hosts, k as unknown as GuestKernel, qemus);

const MS = 1_000_000;

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
    const p = guestPauses([src, dst], 900);
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
    const p = (events: [string, number][], now = 1000) => guestPauses([qemu(events)], now);
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

  it("a STOP and a RESUME at the same instant pause nothing, whichever QEMU's events come first", () => {
    // the source's STOP and the destination's RESUME at one instant: the STOP is taken first
    expect(guestPauses([qemu([["STOP", 200]]), qemu([["RESUME", 200]])], 1000)).toEqual([
      { fromNs: 200, toNs: 200 },
    ]);
    expect(guestPauses([qemu([["RESUME", 200]]), qemu([["STOP", 200]])], 1000)).toEqual([
      { fromNs: 200, toNs: 200 },
    ]);
    expect(
      guestPauses(
        [
          qemu([
            ["STOP", 200],
            ["RESUME", 200],
          ]),
        ],
        1000,
      ),
    ).toEqual([{ fromNs: 200, toNs: 200 }]);
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

describe("the guest's counters", () => {
  it("are summed over its CPUs; the latest wake-up is the maximum, rounded to whole ns", () => {
    const k = new FakeKernel(3);
    k.cpus[1] = undefined; // a CPU never brought up
    k.wake(0, 0, 30_000); // late: 30 us > 10 x 2 us
    k.wake(2, 0, 25_000);
    k.wake(2, 100_000, 100_000 + 2 * MS); // a stall
    k.watchdogNearMisses = 2;
    (k.cpus[0] as FakeCpu).stats.maxWakeupLatenessNs = 1234.6;
    const h = read(10 * MS, k);
    expect(h).toEqual({
      ...NO_HAZARDS,
      lateWakeups: 3,
      stalls: 1,
      watchdogNearMisses: 2,
      maxWakeupLatenessNs: 2 * MS,
    });
    // CPUs idle with a timer overdue by a stall's length are asked of the kernel
    expect(k.stalledAsked).toEqual([STALL_NS]);
    k.stalled = [4, 5];
    expect(read(10 * MS, k).stalledVcpus).toBe(2);
    const rounded = new FakeKernel(1);
    (rounded.cpus[0] as FakeCpu).stats.maxWakeupLatenessNs = 1234.6;
    expect(read(MS, rounded).maxWakeupLatenessNs).toBe(1235);
  });

  it("no guest kernel (QEMU never started): only the hosts' and KVM's counts", () => {
    const host = {
      host: { cores: [{ errata: { lostWakeups: 2 } }, { errata: { lostWakeups: 3 } }] },
    } as unknown as SimHost;
    expect(observeHazards(sim(MS), [host, host], undefined, [])).toEqual({ ...NO_HAZARDS, lostWakeups: 10 });
  });
});

describe("lateness inside a pause is taken off", () => {
  it("a wake-up late only by the pause is neither late nor a stall, and the latest lateness is what is left", () => {
    const k = new FakeKernel(1);
    // due at 1 ms, the guest paused from 1 to 4 ms, woke at 4.01 ms: 10 us late once resumed
    k.wake(0, 1 * MS, 4 * MS + 10_000);
    const paused = [qemu([["STOP", 1 * MS]]), qemu([["RESUME", 4 * MS]])];
    expect(read(10 * MS, k)).toMatchObject({
      lateWakeups: 1,
      stalls: 1,
      maxWakeupLatenessNs: 3 * MS + 10_000,
    });
    const h = read(10 * MS, k, paused);
    expect(h.lateWakeups).toBe(0);
    expect(h.stalls).toBe(0);
    expect(h.maxWakeupLatenessNs).toBe(10_000);
  });

  it("a wake-up late beyond the pause still counts, as late or as a stall", () => {
    const k = new FakeKernel(1);
    k.wake(0, 0, 3 * MS); // 3 ms late, 1 ms of it paused: still a stall
    k.wake(0, 10 * MS, 10 * MS + 600_000); // 600 us late, 100 us paused: still late, no stall
    const h = read(20 * MS, k, [
      qemu([
        ["STOP", 1 * MS],
        ["RESUME", 2 * MS],
        ["STOP", 10.2 * MS],
        ["RESUME", 10.3 * MS],
      ]),
    ]);
    expect(h).toMatchObject({ lateWakeups: 2, stalls: 1, maxWakeupLatenessNs: 2 * MS });
  });

  it("the guest's threshold is 10 x the state's exit latency, at least 10 us; a stall is 1 ms", () => {
    const pause = [
      qemu([
        ["STOP", 0],
        ["RESUME", 5 * MS],
      ]),
    ];
    // each wake-up: raw lateness past the threshold, what is left after the pause exactly at it
    const at = (exitNs: number) => {
      const k = new FakeKernel(1);
      const left = LATE_WAKEUP_FACTOR * Math.max(exitNs, 1_000);
      k.wake(0, 0, 5 * MS + left, exitNs);
      return read(10 * MS, k, pause);
    };
    expect(at(500).lateWakeups).toBe(0); // 10 us left, not above 10 x 1 us
    expect(at(5_000).lateWakeups).toBe(0); // 50 us left, not above 10 x 5 us
    const over = new FakeKernel(1);
    over.wake(0, 0, 5 * MS + 50_001, 5_000);
    expect(read(10 * MS, over, pause).lateWakeups).toBe(1);
    // a stall's remainder exactly at 1 ms stays a stall
    const stall = new FakeKernel(1);
    stall.wake(0, 0, 5 * MS + STALL_NS);
    expect(read(10 * MS, stall, pause)).toMatchObject({ stalls: 1, maxWakeupLatenessNs: STALL_NS });
    const under = new FakeKernel(1);
    under.wake(0, 0, 5 * MS + STALL_NS - 1);
    expect(read(10 * MS, under, pause).stalls).toBe(0);
    // a wake-up exactly 1 ms late is the guest's stall; with half of it paused it is none
    const exact = new FakeKernel(1);
    exact.wake(0, 0, STALL_NS);
    expect(read(10 * MS, exact).stalls).toBe(1);
    const halfPaused = [
      qemu([
        ["STOP", 0],
        ["RESUME", STALL_NS / 2],
      ]),
    ];
    expect(read(10 * MS, exact, halfPaused)).toMatchObject({ stalls: 0, maxWakeupLatenessNs: STALL_NS / 2 });
  });

  it("a vCPU that moved to the destination's thread was paused until KVM entered it there", () => {
    // STOP at 1 ms, RESUME at 3 ms, this vCPU first entered on the destination at 3.5 ms
    const events = [qemu([["STOP", 1 * MS]]), qemu([["RESUME", 3 * MS]])];
    const k = new FakeKernel(1);
    k.wake(0, 1 * MS, 3.5 * MS + 5_000, 2_000, 3.5 * MS);
    expect(read(10 * MS, k, events)).toMatchObject({ lateWakeups: 0, maxWakeupLatenessNs: 5_000 });
    // rebound before the pause ended (or before it began): the pause as QMP tells it
    const before = new FakeKernel(1);
    before.wake(0, 1 * MS, 3.5 * MS, 2_000, 2 * MS);
    expect(read(10 * MS, before, events)).toMatchObject({ lateWakeups: 1, maxWakeupLatenessNs: 0.5 * MS });
    const earlier = new FakeKernel(1);
    earlier.wake(0, 1 * MS, 3.5 * MS, 2_000, 0.5 * MS);
    expect(read(10 * MS, earlier, events).maxWakeupLatenessNs).toBe(0.5 * MS);
    // two pauses before the rebound: only the last one lasts until the vCPU is entered again
    const twice = [
      qemu([
        ["STOP", 1 * MS],
        ["STOP", 3.2 * MS],
      ]),
      qemu([
        ["RESUME", 3 * MS],
        ["RESUME", 3.4 * MS],
      ]),
    ];
    const k2 = new FakeKernel(1);
    k2.wake(0, 1 * MS, 3.5 * MS + 5_000, 2_000, 3.5 * MS);
    // paused 1-3 ms and 3.2-3.5 ms: 2.3 of the 2.505 ms
    expect(read(10 * MS, k2, twice).maxWakeupLatenessNs).toBe(0.2 * MS + 5_000);
  });

  it("a pause that begins after the vCPU was entered again does not cut the earlier one short", () => {
    // STOP 1 ms, RESUME 3 ms, the vCPU entered on the destination at 3.5 ms, a QMP stop at 6-7 ms:
    // the first pause lasts until 3.5 ms for this vCPU, the later one is a pause of its own
    const later = [
      qemu([["STOP", 1 * MS]]),
      qemu([
        ["RESUME", 3 * MS],
        ["STOP", 6 * MS],
        ["RESUME", 7 * MS],
      ]),
    ];
    const k = new FakeKernel(1);
    k.wake(0, 1 * MS, 3.5 * MS + 5_000, 2_000, 3.5 * MS);
    expect(read(10 * MS, k, later)).toMatchObject({ lateWakeups: 0, maxWakeupLatenessNs: 5_000 });
    // a pause beginning at the very instant of the entry: the earlier one ends at QMP's RESUME
    const atEntry = [
      qemu([["STOP", 1 * MS]]),
      qemu([
        ["RESUME", 3 * MS],
        ["STOP", 3.5 * MS],
        ["RESUME", 4 * MS],
      ]),
    ];
    const k2 = new FakeKernel(1);
    // due at 1 ms, woke at 4.1 ms: paused 1-3 ms and 3.5-4 ms, 0.6 ms of it left
    k2.wake(0, 1 * MS, 4.1 * MS, 2_000, 3.5 * MS);
    expect(read(10 * MS, k2, atEntry).maxWakeupLatenessNs).toBe(0.6 * MS);
  });

  it("the latest lateness stays the guest's when no pause touched a late wake-up, or the log overflowed", () => {
    const k = new FakeKernel(1);
    k.wake(0, 0, 50_000);
    (k.cpus[0] as FakeCpu).stats.maxPunctualLatenessNs = 7_000;
    const far = [
      qemu([
        ["STOP", 5 * MS],
        ["RESUME", 6 * MS],
      ]),
    ];
    expect(read(10 * MS, k, far).maxWakeupLatenessNs).toBe(50_000);
    const paused = new FakeKernel(1);
    paused.wake(0, 1 * MS, 3 * MS);
    const pause = [
      qemu([
        ["STOP", 1 * MS],
        ["RESUME", 2.99 * MS],
      ]),
    ];
    // the punctual maximum (not logged) is kept when it is above what the pause leaves
    (paused.cpus[0] as FakeCpu).stats.maxPunctualLatenessNs = 15_000;
    expect(read(10 * MS, paused, pause).maxWakeupLatenessNs).toBe(15_000);
    paused.lateWakeupLogDropped = 1;
    expect(read(10 * MS, paused, pause).maxWakeupLatenessNs).toBe(2 * MS);
  });

  it("a guest still paused at the end counts as stalled only what was overdue before the pause", () => {
    const k = new FakeKernel(1);
    read(10 * MS, k, [qemu([["STOP", 7 * MS]])]);
    read(10 * MS, k, [
      qemu([
        ["STOP", 7 * MS],
        ["RESUME", 8 * MS],
      ]),
    ]);
    read(10 * MS, k, [qemu([["STOP", 10 * MS]])]);
    expect(k.stalledAsked).toEqual([STALL_NS + 3 * MS, STALL_NS, STALL_NS]);
  });
});

describe("KVM's emulated-stop storms", () => {
  it("a vCPU trapping to the stop emulation once per 20 us of the run or more often", () => {
    const now = 10 * MS;
    const per = now / EMULATED_STOP_STORM_NS; // 500 stops in 10 ms: one per 20 us
    const q = qemu([], [per, per - 1, 0, 10 * per]);
    expect(observeHazards(sim(now), [], undefined, [q]).emulatedStopStorms).toBe(2);
    expect(observeHazards(sim(now), [], undefined, [q, qemu([], [per])]).emulatedStopStorms).toBe(3);
    // a vCPU that never trapped is no storm, even read before any time passed
    expect(observeHazards(sim(0), [], undefined, [qemu([], [0, 0])]).emulatedStopStorms).toBe(0);
    expect(observeHazards(sim(0), [], undefined, [qemu([], [1])]).emulatedStopStorms).toBe(1);
    expect(EMULATED_STOP_STORM_NS).toBe(20_000);
  });
});
