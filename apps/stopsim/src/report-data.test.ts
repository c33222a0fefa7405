// The report's data (`stopsim report`) as the HTML report reads it: the vCPU timeline built from
// the guest's cpu_idle/cpu_idle_exit and KVM's kvm_exit trace events, and buildReportData's
// sections from real runs: a timeline boot, the wakeup benchmark, a small fleet. The matrix
// section's rows come from runMatrixPool, which runs the whole matrix (a minute here: its own
// suites are matrix-cells.test.ts and matrix.test.ts); this suite gives it two recorded rows
// made by the matrix's own matrixRow and checks which of their fields the report keeps.
import type { TraceEvent, TraceTrack } from "@stopsim/engine";
import { FLEET_STATES } from "@stopsim/report";
import { describe, expect, it, vi } from "vitest";
import type { FleetResult } from "./fleet.js";
import { type FleetSpread, fleetSpread } from "./fleet-seeds.js";
import { NO_HAZARDS } from "./hazards.js";
import { type MatrixResult, matrixRow } from "./matrix.js";
import { HOSTS } from "./presets.js";
import {
  buildReportData,
  REPORT_DEFAULTS,
  spreadRows,
  TimelineBuilder,
  timelineFromTrace,
} from "./report.js";

const matrixCalls: unknown[][] = [];
vi.mock("./matrix.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("./matrix.js")>();
  return {
    ...real,
    runMatrixPool: async (...args: unknown[]): Promise<MatrixResult> => {
      matrixCalls.push(args);
      const lost = { ...NO_HAZARDS, lostWakeups: 2 };
      return {
        rows: [
          real.matrixRow({ design: "spapr-cap", from: "dd2.3", to: "dd2.3" }, [
            { seed: 1, outcome: "native", detail: "native 1", hazards: lost },
          ]),
          real.matrixRow({ design: "spapr-cap", from: "dd2.3", to: "dd2.2-old" }, [
            { seed: 1, outcome: "refused", detail: "refused 1", hazards: NO_HAZARDS },
          ]),
        ],
      } as MatrixResult;
    },
  };
});

// the fleet runs for real; its options and results are recorded on the way
const fleetCalls: { args: unknown[]; results: FleetResult[] }[] = [];
vi.mock("./fleet-seeds.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("./fleet-seeds.js")>();
  return {
    ...real,
    runFleetSeeds: async (...args: Parameters<typeof real.runFleetSeeds>) => {
      const r = await real.runFleetSeeds(...args);
      fleetCalls.push({ args, results: r.results });
      return r;
    },
  };
});

const guest = (cpu: number): TraceTrack => ({
  id: cpu,
  process: "guest",
  thread: `cpu${cpu}`,
  pid: 1,
  tid: cpu,
});
const host: TraceTrack = { id: 100, process: "host", thread: "kvm", pid: 2, tid: 0 };
const idle = (cpu: number, time: number, state: string): TraceEvent => ({
  track: cpu,
  name: "cpu_idle",
  cat: "power",
  ph: "i",
  time,
  dur: 0,
  args: { state },
});
const exitIdle = (cpu: number, time: number, state?: string): TraceEvent => ({
  track: cpu,
  name: "cpu_idle_exit",
  cat: "power",
  ph: "i",
  time,
  dur: 0,
  args: state === undefined ? undefined : { state },
});
const kvmExit = (vcpu: number, time: number, exit: string): TraceEvent => ({
  track: 100,
  name: "kvm_exit",
  cat: "kvm",
  ph: "i",
  time,
  dur: 0,
  args: { vcpu, exit },
});

describe("the vCPU timeline", () => {
  it("each guest CPU's idle states as segments between running ones, clipped to the window", () => {
    const b = new TimelineBuilder(100, 1000, () => false);
    b.track(guest(0));
    b.event(idle(0, 50, "snooze"), guest(0)); // starts before the window: clipped to 100
    b.event(exitIdle(0, 200), guest(0));
    b.event(idle(0, 300, "stop0lite"), guest(0));
    b.event(exitIdle(0, 400), guest(0));
    b.event(idle(0, 500, "Shared Cede"), guest(0));
    b.event(exitIdle(0, 1200), guest(0)); // after the window: ignored, the segment ends at 1000
    expect(b.result()).toEqual([
      {
        name: "vcpu0",
        segments: [
          { start: 100, end: 200, state: "snooze" },
          { start: 200, end: 300, state: "running" },
          { start: 300, end: 400, state: "stop0lite" },
          { start: 400, end: 500, state: "running" },
          { start: 500, end: 1000, state: "cede" },
        ],
        markers: [],
      },
    ]);
    expect(b.cutAtNs).toBeUndefined();
  });

  it("stop0lite is drawn emulated when KVM emulated stops in the run; a CPU that never idled runs throughout", () => {
    const b = new TimelineBuilder(0, 100, () => true);
    b.event(idle(1, 10, "stop0lite"), guest(1));
    b.event(exitIdle(1, 20), guest(1));
    b.event(exitIdle(2, 0), guest(2));
    expect(b.result()).toEqual([
      {
        name: "vcpu1",
        segments: [
          { start: 0, end: 10, state: "running" },
          { start: 10, end: 20, state: "stop0lite-emulated" },
          { start: 20, end: 100, state: "running" },
        ],
        markers: [],
      },
      { name: "vcpu2", segments: [{ start: 0, end: 100, state: "running" }], markers: [] },
    ]);
  });

  it("a CPU idle when the window opens is drawn in the state its first exit names, not as running", () => {
    // linux: kernel/sched/idle.c traces cpu_idle at entry and exit; the guest's exit event names
    // the state it leaves (packages/guest idle.ts), so a window opened mid-idle still knows it
    const b = new TimelineBuilder(100, 1000, () => true);
    b.event(exitIdle(0, 300, "stop0lite"), guest(0));
    b.event(idle(0, 400, "snooze"), guest(0));
    b.event(exitIdle(0, 500, "snooze"), guest(0));
    b.event(exitIdle(1, 600, "Shared Cede"), guest(1));
    // an exit without its state: nothing says what it left, the window opens as running
    b.event(exitIdle(2, 700), guest(2));
    expect(b.result()).toEqual([
      {
        name: "vcpu0",
        segments: [
          { start: 100, end: 300, state: "stop0lite-emulated" },
          { start: 300, end: 400, state: "running" },
          { start: 400, end: 500, state: "snooze" },
          { start: 500, end: 1000, state: "running" },
        ],
        markers: [],
      },
      {
        name: "vcpu1",
        segments: [
          { start: 100, end: 600, state: "cede" },
          { start: 600, end: 1000, state: "running" },
        ],
        markers: [],
      },
      {
        name: "vcpu2",
        segments: [
          { start: 100, end: 700, state: "running" },
          { start: 700, end: 1000, state: "running" },
        ],
        markers: [],
      },
    ]);
  });

  it("KVM's exits are markers on their vCPU from the window's start; other events are not drawn; vCPUs in natural order", () => {
    const b = new TimelineBuilder(100, 1000, () => false);
    b.event(kvmExit(10, 50, "HDEC"), host); // before the window
    b.event(kvmExit(10, 150, "H_FAC_UNAVAIL"), host);
    b.event(kvmExit(2, 1000, "HDEC"), host);
    b.event({ ...kvmExit(3, 200, "x"), args: {} }, host);
    b.event({ ...idle(0, 300, "snooze"), name: "sched_switch" }, guest(0));
    b.event(idle(0, 300, "snooze"), { ...guest(0), process: "host" });
    b.event({ ...kvmExit(4, 300, "x"), name: "kvm_entry" }, host);
    const names = b.result().map((v) => [v.name, v.markers]);
    expect(names).toEqual([
      ["vcpu?", [{ time: 200, name: "exit" }]],
      ["vcpu2", [{ time: 1000, name: "HDEC" }]],
      ["vcpu10", [{ time: 150, name: "H_FAC_UNAVAIL" }]],
    ]);
  });

  it("a vCPU with as many exits as the bound cuts the timeline there for every vCPU, and says where", () => {
    const b = new TimelineBuilder(0, 1000, () => false, 3);
    b.event(idle(0, 10, "snooze"), guest(0));
    for (const t of [100, 200, 300, 400]) b.event(kvmExit(0, t, "HDEC"), host);
    b.event(exitIdle(0, 500), guest(0));
    expect(b.cutAtNs).toBe(300);
    // the guest's CPU 0 and KVM's vCPU 0 are one row: its segments and its exits
    const [vcpu0] = b.result();
    expect(vcpu0.segments).toEqual([
      { start: 0, end: 10, state: "running" },
      { start: 10, end: 300, state: "snooze" },
    ]);
    expect(vcpu0.markers.map((m) => m.time)).toEqual([100, 200, 300]);
    // an earlier cut wins over a later one
    const c = new TimelineBuilder(0, 1000, () => false, 2);
    for (const t of [10, 20, 30, 40]) c.event(idle(0, t, "snooze"), guest(0));
    expect(c.cutAtNs).toBe(20);
    for (const t of [5, 6]) c.event(kvmExit(1, t, "HDEC"), host);
    expect(c.cutAtNs).toBe(6);
  });

  it("exits past the window's end are not drawn and do not count towards the bound", () => {
    const b = new TimelineBuilder(0, 100, () => false, 2);
    for (const t of [50, 150, 160]) b.event(kvmExit(0, t, "HDEC"), host);
    expect(b.cutAtNs).toBeUndefined();
    expect(b.result()).toEqual([
      {
        name: "vcpu0",
        segments: [{ start: 0, end: 100, state: "running" }],
        markers: [{ time: 50, name: "HDEC" }],
      },
    ]);
  });

  it("an exit at the window's start is drawn; a kvm_exit outside the host's tracks is not; events without arguments", () => {
    const b = new TimelineBuilder(100, 1000, () => false);
    b.event(kvmExit(1, 100, "HDEC"), host);
    b.event(kvmExit(2, 200, "HDEC"), guest(2));
    b.event({ ...kvmExit(3, 300, "x"), args: undefined }, host);
    // a cpu_idle without its state: neither snooze nor stop0lite, drawn as the cede it falls back to
    b.event({ ...idle(4, 400, "snooze"), args: undefined }, guest(4));
    expect(b.result()).toEqual([
      {
        name: "vcpu?",
        segments: [{ start: 100, end: 1000, state: "running" }],
        markers: [{ time: 300, name: "exit" }],
      },
      {
        name: "vcpu1",
        segments: [{ start: 100, end: 1000, state: "running" }],
        markers: [{ time: 100, name: "HDEC" }],
      },
      {
        name: "vcpu4",
        segments: [
          { start: 100, end: 400, state: "running" },
          { start: 400, end: 1000, state: "cede" },
        ],
        markers: [],
      },
    ]);
  });

  it("events recorded out of time order (a span is recorded when it ends, stamped with its start): a cut drops what another vCPU recorded past it", () => {
    // engine: TraceRecorder.complete() pushes an event whose time is its start, after later instants
    const b = new TimelineBuilder(0, 1000, () => false, 4);
    b.event(idle(0, 10, "snooze"), guest(0));
    b.event(exitIdle(0, 30), guest(0));
    b.event(kvmExit(0, 40, "HDEC"), host);
    b.event(idle(0, 60, "snooze"), guest(0));
    // vCPU 1's four segments, recorded afterwards, end at 30: the timeline is cut there
    b.event(idle(1, 5, "snooze"), guest(1));
    b.event(exitIdle(1, 20), guest(1));
    b.event(idle(1, 25, "snooze"), guest(1));
    b.event(exitIdle(1, 30), guest(1));
    expect(b.cutAtNs).toBe(30);
    expect(b.result()).toEqual([
      {
        name: "vcpu0",
        segments: [
          { start: 0, end: 10, state: "running" },
          { start: 10, end: 30, state: "snooze" },
        ],
        markers: [],
      },
      {
        name: "vcpu1",
        segments: [
          { start: 0, end: 5, state: "running" },
          { start: 5, end: 20, state: "snooze" },
          { start: 20, end: 25, state: "running" },
          { start: 25, end: 30, state: "snooze" },
        ],
        markers: [],
      },
    ]);
  });

  it("from recorded events: each event's track named, events past the window's end not read", () => {
    const names: Record<number, { process: string; thread: string }> = {
      0: { process: "guest", thread: "cpu0" },
      100: { process: "host", thread: "kvm" },
    };
    const events = [idle(0, 10, "snooze"), kvmExit(0, 15, "HDEC"), exitIdle(0, 20), idle(0, 60, "snooze")];
    expect(timelineFromTrace(events, (id) => names[id], 0, 50, false)).toEqual([
      {
        name: "vcpu0",
        segments: [
          { start: 0, end: 10, state: "running" },
          { start: 10, end: 20, state: "snooze" },
          { start: 20, end: 50, state: "running" },
        ],
        markers: [{ time: 15, name: "HDEC" }],
      },
    ]);
    const read: number[] = [];
    const named = (id: number) => {
      read.push(id);
      return names[id];
    };
    // stop0lite drawn emulated when the run emulated stops
    expect(timelineFromTrace(events, named, 0, 15, true)).toEqual([
      {
        name: "vcpu0",
        segments: [
          { start: 0, end: 10, state: "running" },
          { start: 10, end: 15, state: "snooze" },
        ],
        markers: [{ time: 15, name: "HDEC" }],
      },
    ]);
    expect(read).toEqual([0, 100]);
    const lite = [idle(0, 10, "stop0lite"), exitIdle(0, 20)];
    expect(timelineFromTrace(lite, (id) => names[id], 0, 50, true)[0].segments[1]).toEqual({
      start: 10,
      end: 20,
      state: "stop0lite-emulated",
    });
    expect(timelineFromTrace(lite, (id) => names[id], 0, 50, false)[0].segments[1].state).toBe("stop0lite");
  });
});

const small = {
  seed: 1,
  host: "dd2.2",
  design: "spapr-cap",
  timelineNs: 1_000_000,
  fleetHosts: 2,
  fleetVms: 4,
  fleetDurationNs: 1e9,
  wakeupSamples: 2,
  version: "9.9.9",
  command: "stopsim report --seed 1",
  workers: 1,
};

describe("the report's data from runs", () => {
  it("one seed: the matrix rows' table fields, a traced boot's timeline, the four wakeup states, the fleet", async () => {
    matrixCalls.length = 0;
    fleetCalls.length = 0;
    const progress: string[] = [];
    const d = await buildReportData({ ...small, onProgress: (w) => progress.push(w) });
    expect(progress).toEqual(["matrix", "timeline", "wakeup latency", "fleet"]);
    expect(matrixCalls).toEqual([[{ seed: 1, durationNs: 10_000_000 }, [1], { workers: 1 }]]);
    expect(d.title).toBe("stopsim report: guest stop designs on POWER9 hosts (seed 1)");
    expect(d.generatedBy).toEqual({ seed: 1, command: "stopsim report --seed 1", version: "9.9.9" });
    const native = matrixRow({ design: "spapr-cap", from: "dd2.3", to: "dd2.3" }, [
      { seed: 1, outcome: "native", detail: "native 1", hazards: { ...NO_HAZARDS, lostWakeups: 2 } },
    ]);
    const { seeds: _seeds, ...tableFields } = native;
    expect(d.matrix.rows[0]).toEqual(tableFields);
    expect(d.matrix.rows[0].hazardMark).toBe(true);
    expect(d.matrix.rows[1]).toMatchObject({ to: "dd2.2-old", outcome: "refused", detail: "refused 1" });

    const t = d.timeline;
    expect(t?.runLabel).toBe("spapr-cap on dd2.2, seed 1, 1.0 ms after boot");
    expect(t?.note).toBeUndefined();
    // the eight vCPUs of the thread's guest, times from the window's start, stop0lite emulated on DD2.2
    expect(t?.vcpus.map((v) => v.name)).toEqual([
      "vcpu0",
      "vcpu1",
      "vcpu2",
      "vcpu3",
      "vcpu4",
      "vcpu5",
      "vcpu6",
      "vcpu7",
    ]);
    const segs = t?.vcpus.flatMap((v) => v.segments) ?? [];
    expect(Math.min(...segs.map((s) => s.start))).toBe(0);
    expect(Math.max(...segs.map((s) => s.end))).toBe(1_000_000);
    expect(segs.some((s) => s.state === "stop0lite-emulated")).toBe(true);
    expect(segs.some((s) => s.state === "stop0lite")).toBe(false);
    const markers = t?.vcpus.flatMap((v) => v.markers) ?? [];
    expect(markers.some((m) => m.name === "H_FAC_UNAVAIL")).toBe(true);
    expect(markers.every((m) => m.time >= 0 && m.time <= 1_000_000)).toBe(true);

    expect(d.latency?.intervalMethod).toBeUndefined();
    expect(d.latency?.states.map((s) => s.state)).toEqual([
      "snooze",
      "stop0lite native",
      "stop0lite emulated",
      "Shared CEDE",
    ]);
    for (const s of d.latency?.states ?? []) {
      expect(s.timer.samples).toHaveLength(2);
      expect(s.ipi.samples).toHaveLength(2);
      expect(s.timerInterval).toBeUndefined();
    }
    expect(d.fleet?.stacked).toEqual([...FLEET_STATES]);
    expect(d.fleet?.series.length).toBeGreaterThan(0);
    expect(d.fleet?.overSeeds).toBeUndefined();
    // the fleet is `stopsim fleet`'s default run (README: mix 30% dd2.2-old, 30% dd2.3-old, 20% dd2.2,
    // 20% dd2.3, a rolling upgrade, the capable policy, pseries-5.0 before the design's machine), each
    // old host kind upgraded to the new-firmware host of its chip, its cases probed over the seeds
    expect(fleetCalls).toHaveLength(1);
    const [base, fleetSeeds, probe, pool] = fleetCalls[0].args as [
      Record<string, unknown>,
      unknown,
      { seeds: unknown },
      unknown,
    ];
    const upgradeTo = Object.fromEntries(
      HOSTS.filter((h) => h.kernel === "old").map((h) => [
        h.name,
        HOSTS.find((x) => x.chip === h.chip && x.kernel === "design" && x.firmware === "new")?.name,
      ]),
    );
    expect(upgradeTo).toEqual({ "dd2.2-old": "dd2.2", "dd2.3-old": "dd2.3" });
    expect(base).toEqual({
      hosts: 2,
      vms: 4,
      durationNs: 1e9,
      design: "spapr-cap",
      plan: "rolling-upgrade",
      mix: { "dd2.2-old": 0.3, "dd2.3-old": 0.3, "dd2.2": 0.2, "dd2.3": 0.2 },
      upgradeTo,
      policy: "capable",
      machines: { old: "pseries-5.0", new: "pseries-5.1" },
    });
    expect(fleetSeeds).toEqual([1]);
    expect(probe.seeds).toEqual([1]);
    expect(pool).toEqual({ workers: 1 });
    expect(d.fleet?.series).toEqual(fleetCalls[0].results[0].series);

    // the timeline run takes the report's seed: another seed gives other wake-up times
    const two = await buildReportData({ ...small, seed: 2, wakeupSamples: 1, fleetVms: 1 });
    expect(two.timeline?.runLabel).toBe("spapr-cap on dd2.2, seed 2, 1.0 ms after boot");
    expect(two.timeline?.vcpus.map((v) => v.name)).toEqual(t?.vcpus.map((v) => v.name));
    expect(two.timeline?.vcpus[0].segments).not.toEqual(t?.vcpus[0].segments);
  });

  it("several seeds: the seeds in the title, each state's intervals over them, the fleet counts' spread", async () => {
    fleetCalls.length = 0;
    const d = await buildReportData({ ...small, seeds: [1, 2, 3], host: "dd2.3" });
    expect(d.title).toBe("stopsim report: guest stop designs on POWER9 hosts (seeds 1..3)");
    expect(d.timeline?.runLabel).toBe("spapr-cap on dd2.3, seed 1, 1.0 ms after boot");
    expect(d.timeline?.vcpus.flatMap((v) => v.segments).some((s) => s.state === "stop0lite-emulated")).toBe(
      false,
    );
    expect(d.latency?.intervalMethod).toBeDefined();
    for (const s of d.latency?.states ?? []) {
      expect(s.timer.samples).toHaveLength(6);
      expect(s.timerInterval).toBeDefined();
      expect(s.ipiInterval).toBeDefined();
    }
    const over = d.fleet?.overSeeds;
    expect(over?.seeds).toEqual([1, 2, 3]);
    expect(over?.statistic).toBeDefined();
    // every count some seed saw (max > 0), named as the table shows it: four VMs boot on each seed
    const rows = over?.rows ?? [];
    expect(rows.length).toBeGreaterThan(0);
    expect(fleetCalls).toHaveLength(1);
    expect(fleetCalls[0].args[1]).toEqual([1, 2, 3]);
    expect(rows).toEqual(spreadRows(fleetSpread(fleetCalls[0].results)));
    expect(rows.every((r) => r.max > 0 && r.min <= r.median && r.median <= r.max)).toBe(true);
    const boots = rows.filter((r) => r.count.startsWith("boots: "));
    expect(boots.length).toBeGreaterThan(0);
    expect(
      rows
        .map((r) => r.count)
        .every((c) =>
          /^(boots|live migrations|refused|stop0lite at the end|restarts|hosts upgraded|upgrades blocked)/.test(
            c,
          ),
        ),
    ).toBe(true);
  });

  it("a design whose QEMU does not start on the host has no timeline", async () => {
    const d = await buildReportData({ ...small, host: "dd2.2-old", fleetVms: 2 });
    expect(d.timeline).toBeUndefined();
    expect("timeline" in d).toBe(false);
  });

  it("the fleet's table over seeds: each count some seed saw, named as the report shows it, in the table's order", () => {
    // every count distinct, so a row holding another count's figures shows
    let n = 0;
    const sp = () => {
      n++;
      return { median: n, min: n - 0.5, max: n + 0.5 };
    };
    const zero = { median: 0, min: 0, max: 0 };
    const outcomes = () => ({
      native: sp(),
      emulated: zero,
      "not-used": sp(),
      crashed: zero,
      refused: sp(),
      "failed-start": zero,
      hung: sp(),
    });
    const s = {
      boots: outcomes(),
      migrations: outcomes(),
      vmFinal: { running: sp() },
      stopLite: { native: sp(), emulated: sp(), notUsed: sp() },
      restarts: sp(),
      hostsUpgraded: sp(),
      upgradesBlocked: sp(),
      refusals: { "cap-stop-lite": sp(), "no room": zero },
      migrationDowntimeTotalNs: sp(),
      downtimeTotalNs: sp(),
    } as unknown as FleetSpread;
    const v = (k: number) => ({ median: k, min: k - 0.5, max: k + 0.5 });
    expect(spreadRows(s)).toEqual([
      { count: "boots: native", ...v(1) },
      { count: "boots: not-used", ...v(2) },
      { count: "boots: refused", ...v(3) },
      { count: "boots: hung", ...v(4) },
      { count: "live migrations: native", ...v(5) },
      { count: "live migrations: not-used", ...v(6) },
      { count: "live migrations: refused", ...v(7) },
      { count: "live migrations: hung", ...v(8) },
      { count: "refused: cap-stop-lite", ...v(16) },
      { count: "stop0lite at the end: native", ...v(10) },
      { count: "stop0lite at the end: emulated", ...v(11) },
      { count: "stop0lite at the end: not used", ...v(12) },
      { count: "restarts", ...v(13) },
      { count: "hosts upgraded", ...v(14) },
      { count: "upgrades blocked", ...v(15) },
    ]);
  });

  it("the defaults: a 2 ms timeline window, 100 hosts and 1000 VMs for a day, 60 wakeup samples", () => {
    expect(REPORT_DEFAULTS).toEqual({
      timelineNs: 2_000_000,
      fleetHosts: 100,
      fleetVms: 1000,
      fleetDurationNs: 86_400e9,
      wakeupSamples: 60,
    });
  });
});
