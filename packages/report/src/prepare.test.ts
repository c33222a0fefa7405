// What the page is handed, decision by decision: the time unit of an axis, the durations written
// in the tables, the timeline's bars and markers, the latency histograms' axis and bins, and the
// fleet chart's order, colours and peaks. Expected values are worked out by hand in the comments.
import { describe, expect, it } from "vitest";
import type { FleetPoint } from "./model.js";
import {
  chooseTimeUnit,
  FLEET_COLORS,
  formatNs,
  HISTOGRAM_BINS,
  median,
  prepareFleet,
  prepareLatency,
  prepareTimeline,
  robustTop,
  STATE_STYLE,
} from "./prepare.js";

describe("chooseTimeUnit", () => {
  it("takes the largest unit in which the span is at least 10", () => {
    const label = (ns: number) => chooseTimeUnit(ns).label;
    expect(label(0)).toBe("ns");
    expect(label(9_999)).toBe("ns");
    expect(label(10_000)).toBe("µs");
    expect(label(9_999_999)).toBe("µs");
    expect(label(10_000_000)).toBe("ms");
    expect(label(10e9 - 1)).toBe("ms");
    expect(label(10e9)).toBe("s");
    expect(label(600e9 - 1)).toBe("s");
    expect(label(600e9)).toBe("min");
    expect(label(36_000e9)).toBe("h");
    expect(chooseTimeUnit(36_000e9).ns).toBe(3600e9);
    expect(chooseTimeUnit(600e9).ns).toBe(60e9);
  });
});

describe("formatNs", () => {
  it("writes three significant digits in the largest unit the value reaches", () => {
    expect(formatNs(0)).toBe("0 ns");
    expect(formatNs(7)).toBe("7.00 ns");
    expect(formatNs(999)).toBe("999 ns");
    expect(formatNs(1000)).toBe("1.00 µs");
    expect(formatNs(12_345)).toBe("12.3 µs");
    expect(formatNs(123_456)).toBe("123 µs");
    expect(formatNs(2_500_000)).toBe("2.50 ms");
    expect(formatNs(59.9e9)).toBe("59.9 s");
    expect(formatNs(60e9)).toBe("1.00 min");
    expect(formatNs(7200e9)).toBe("2.00 h");
  });

  it("keeps the sign of a negative duration and says n/a for a non-finite one", () => {
    expect(formatNs(-1500)).toBe("-1.50 µs");
    expect(formatNs(-12_345)).toBe("-12.3 µs");
    expect(formatNs(-250_000)).toBe("-250 µs");
    expect(formatNs(Number.NaN)).toBe("n/a");
    expect(formatNs(Number.POSITIVE_INFINITY)).toBe("n/a");
  });
});

describe("prepareTimeline", () => {
  // two vCPUs over 70 µs: a µs axis
  const timeline = {
    runLabel: "run",
    vcpus: [
      {
        name: "v0",
        segments: [
          { start: 0, end: 10_000, state: "running" as const },
          { start: 10_000, end: 40_000, state: "cede" as const },
          { start: 50_000, end: 60_000, state: "running" as const },
        ],
        markers: [
          { time: 10_000, name: "H_CEDE", detail: "cede 1" },
          { time: 50_000, name: "DEC" },
        ],
      },
      {
        name: "v1",
        segments: [{ start: 5_000, end: 25_000, state: "snooze" as const }],
        markers: [
          { time: 70_000, name: "H_CEDE", detail: "cede 1" },
          { time: 25_000, name: "IPI", detail: "from v0" },
        ],
      },
    ],
  };

  it("hands the chart each segment as [vCPU, start, end] in the axis unit, grouped by state in state order", () => {
    const r = prepareTimeline(timeline);
    if (!r) throw new Error("no timeline");
    const c = r.client;
    expect(c.runLabel).toBe("run");
    expect(c.unit.label).toBe("µs");
    expect([c.startNs, c.endNs]).toEqual([0, 70_000]);
    expect(c.vcpus).toEqual(["v0", "v1"]);
    // only the states that occur, in TIMELINE_STATES order (running, snooze, ..., cede)
    expect(c.states.map((s) => [s.state, s.data])).toEqual([
      [
        "running",
        [
          [0, 0, 10],
          [0, 50, 60],
        ],
      ],
      ["snooze", [[1, 5, 25]]],
      ["cede", [[0, 10, 40]]],
    ]);
    for (const s of c.states) expect(s).toMatchObject(STATE_STYLE[s.state]);
  });

  it("groups markers by name in order of first appearance, each detail stored once", () => {
    const r = prepareTimeline(timeline);
    if (!r) throw new Error("no timeline");
    // [time in µs, vCPU, index into details or -1 without one]
    expect(r.client.markers).toEqual([
      {
        name: "H_CEDE",
        data: [
          [10, 0, 0],
          [70, 1, 0],
        ],
      },
      { name: "DEC", data: [[50, 0, -1]] },
      { name: "IPI", data: [[25, 1, 1]] },
    ]);
    expect(r.client.details).toEqual(["cede 1", "from v0"]);
  });

  it("sums each vCPU's time per state and counts its markers for the table", () => {
    const r = prepareTimeline(timeline);
    if (!r) throw new Error("no timeline");
    const zero = { running: 0, snooze: 0, stop0lite: 0, "stop0lite-emulated": 0, cede: 0, halted: 0 };
    expect(r.summary).toEqual({
      vcpus: [
        { name: "v0", ns: { ...zero, running: 20_000, cede: 30_000 }, totalNs: 50_000, markers: 2 },
        { name: "v1", ns: { ...zero, snooze: 20_000 }, totalNs: 20_000, markers: 2 },
      ],
      markerNames: [
        { name: "H_CEDE", count: 2 },
        { name: "DEC", count: 1 },
        { name: "IPI", count: 1 },
      ],
      spanNs: 70_000,
    });
  });

  it("spans from the earliest to the latest segment or marker", () => {
    const r = prepareTimeline({
      runLabel: "r",
      vcpus: [
        { name: "a", segments: [{ start: 5_000, end: 6_000, state: "running" }], markers: [] },
        { name: "b", segments: [], markers: [{ time: 1_000, name: "boot" }] },
        {
          name: "c",
          segments: [{ start: 4_000, end: 8_000, state: "cede" }],
          markers: [{ time: 9_000, name: "x" }],
        },
      ],
    });
    expect([r?.client.startNs, r?.client.endNs, r?.summary.spanNs]).toEqual([1_000, 9_000, 8_000]);
    expect(r?.client.unit.label).toBe("ns");
    expect(r?.client.states.find((s) => s.state === "running")?.data).toEqual([[0, 5_000, 6_000]]);
  });

  it("gives a single instant a span of 1 ns and an empty timeline nothing to draw", () => {
    const r = prepareTimeline({
      runLabel: "r",
      vcpus: [{ name: "a", segments: [], markers: [{ time: 42, name: "panic" }] }],
    });
    expect([r?.client.startNs, r?.client.endNs, r?.summary.spanNs]).toEqual([42, 43, 1]);
    expect(r?.client.states).toEqual([]);
    expect(prepareTimeline({ runLabel: "r", vcpus: [{ name: "a", segments: [], markers: [] }] })).toBeNull();
    expect(prepareTimeline({ runLabel: "r", vcpus: [] })).toBeNull();
  });
});

describe("median", () => {
  it("is the middle value, or the mean of the two middle ones, of the values sorted as numbers", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    // numeric order, not string order ("10" < "9")
    expect(median([10, 9, 100])).toBe(10);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });
});

describe("robustTop", () => {
  it("cuts at Tukey's far-out fence when an outlier lies beyond it", () => {
    // 59 samples 20.0..31.6 µs and one at 210 µs: Q1 = 22.8 µs (rank 15), Q3 = 28.8 µs (rank 45),
    // fence = 28.8 + 3 x 6.0 = 46.8 µs; the 99.5th percentile (rank 60) is the outlier
    const samples = Array.from({ length: 59 }, (_, i) => 20_000 + i * 200);
    samples.push(210_000);
    expect(robustTop(Float64Array.from(samples).sort())).toBe(46_800);
  });

  it("keeps every sample when none is far out, and the tails when the middle half is one value", () => {
    // Q1 = 1, Q3 = 3: the fence (9) is above the largest sample, the 99.5th percentile (4)
    expect(robustTop(Float64Array.from([1, 2, 3, 4]))).toBe(4);
    // Q1 = Q3 = 5: a fence of zero width would hide the 100; the 99.5th percentile keeps it
    expect(robustTop(Float64Array.from([5, 5, 5, 5, 100]))).toBe(100);
  });
});

describe("prepareLatency", () => {
  it("puts the axis on round numbers around the samples and bins them in 48 steps", () => {
    // samples 1..3 µs, no reference: range 2000 ns, pad 80 ns, step 10^3 / 2 = 500 ns:
    // lo = floor(920 / 500) x 500 = 500, hi = ceil(3080 / 500) x 500 = 3500; bin width 62.5 ns
    const { client, rows } = prepareLatency({
      states: [{ state: "s", timer: { samples: [1000, 2000, 3000] }, ipi: { samples: [] } }],
      reference: [],
    });
    expect(client).toHaveLength(1);
    const c = client[0];
    expect([c.loUs, c.hiUs]).toEqual([0.5, 3.5]);
    expect(c.timer.points).toHaveLength(HISTOGRAM_BINS + 1);
    expect(c.timer.points[0]).toEqual([0.5, 0]);
    expect(c.timer.points[1]).toEqual([0.5625, 0]);
    // 1000 ns in bin (1000 - 500) / 62.5 = 8, 2000 in bin 24, 3000 in bin 40
    const filled = c.timer.points.flatMap((p, i) => (p[1] > 0 ? [[i, p[1]]] : []));
    expect(filled).toEqual([
      [8, 1],
      [24, 1],
      [40, 1],
    ]);
    // the closing point at the right edge repeats the last bin
    expect(c.timer.points[HISTOGRAM_BINS]).toEqual([3.5, 0]);
    expect(c.timer).toMatchObject({ count: 3, medianNs: 2000, beyond: 0 });
    expect(c.ipi).toMatchObject({ count: 0, beyond: 0 });
    expect(c.ipi.medianNs).toBeNaN();
    expect(c.ipi.points.every((p) => p[1] === 0)).toBe(true);
    expect("beyondMaxUs" in c).toBe(false);
    expect("interval" in c.timer).toBe(false);
    expect(rows).toEqual([{ state: "s", timer: c.timer, ipi: c.ipi, hasSamples: true }]);
  });

  it("widens an axis of equal samples by 1% around them", () => {
    // 2000 ns only: hi = 2000 + 20; pad 0.8, step 10^1 / 2 = 5: lo 1995, hi 2025
    const c = prepareLatency({
      states: [{ state: "s", timer: { samples: [2000, 2000] }, ipi: { samples: [2000] } }],
      reference: [],
    }).client[0];
    expect([c.loUs, c.hiUs]).toEqual([1.995, 2.025]);
    // bin width 30 / 48 = 0.625 ns: 2000 in bin 8
    expect(c.timer.points[8][1]).toBe(2);
    expect(c.ipi.points[8][1]).toBe(1);
    // zero samples only: at least 1 ns wide (0..1, pad 0.04, step 0.5: 0..1.5)
    const z = prepareLatency({
      states: [{ state: "z", timer: { samples: [0, 0] }, ipi: { samples: [] } }],
      reference: [],
    }).client[0];
    expect([z.loUs, z.hiUs]).toEqual([0, 0.0015]);
    expect(z.timer.points[0][1]).toBe(2);
  });

  it("draws a sample at the axis' end in the last bin and counts a sample beyond it", () => {
    // 59 samples 20.0..31.6 µs and one at 50 µs: top = the fence 46.8 µs; lo 20 µs; pad 1072 ns,
    // step 10^4 / 2 = 5000: lo 15 µs, hi 50 µs. The 50 µs sample is on the axis' end: drawn.
    const samples = Array.from({ length: 59 }, (_, i) => 20_000 + i * 200);
    const at = prepareLatency({
      states: [{ state: "s", timer: { samples: [...samples, 50_000] }, ipi: { samples: [] } }],
      reference: [],
    }).client[0];
    expect([at.loUs, at.hiUs]).toEqual([15, 50]);
    expect(at.timer.beyond).toBe(0);
    expect(at.timer.points).toHaveLength(HISTOGRAM_BINS + 1);
    expect(at.timer.points[HISTOGRAM_BINS - 1][1]).toBe(1);
    expect("beyondMaxUs" in at).toBe(false);
    // at 210 µs it lies beyond the axis: counted, not drawn, the largest named
    const beyond = prepareLatency({
      states: [{ state: "s", timer: { samples }, ipi: { samples: [210_000] } }],
      reference: [],
    }).client[0];
    expect(beyond.ipi.beyond).toBe(1);
    expect(beyond.timer.beyond).toBe(0);
    expect(beyond.ipi.points.reduce((n, p) => n + p[1], 0) - beyond.ipi.points[HISTOGRAM_BINS][1]).toBe(0);
    expect(beyond.beyondMaxUs).toBe(210);
  });

  it("stretches the axis to the reference medians and ranges of the state", () => {
    // samples 1..3 µs; the reference's timer range reaches 9 µs: lo = 1 µs, hi = 9 µs, pad 320,
    // step 10^3 / 2: lo 500, hi 9500
    const timerRange = prepareLatency({
      states: [{ state: "s", timer: { samples: [1000, 2000, 3000] }, ipi: { samples: [] } }],
      reference: [{ state: "s", timerMedianNs: 1500, ipiMedianNs: 2500, timerRangeNs: [1200, 9000] }],
    }).client[0];
    expect([timerRange.loUs, timerRange.hiUs]).toEqual([0.5, 9.5]);
    expect(timerRange.timer.reference).toEqual({ medianNs: 1500, rangeNs: [1200, 9000] });
    expect(timerRange.ipi.reference).toEqual({ medianNs: 2500, rangeNs: undefined });
    // the IPI range reaches down to 200 ns and the IPI median up to 6 µs: lo 0, hi 6.5 µs
    const ipi = prepareLatency({
      states: [{ state: "s", timer: { samples: [1000, 2000, 3000] }, ipi: { samples: [] } }],
      reference: [{ state: "s", timerMedianNs: 1500, ipiMedianNs: 6000, ipiRangeNs: [200, 5000] }],
    }).client[0];
    expect([ipi.loUs, ipi.hiUs]).toEqual([0, 6.5]);
    // the timer median alone below the samples: 300 ns -> pad 108, step 500: lo 0, hi 3500
    const med = prepareLatency({
      states: [{ state: "s", timer: { samples: [1000, 2000, 3000] }, ipi: { samples: [] } }],
      reference: [{ state: "s", timerMedianNs: 300, ipiMedianNs: 2000 }],
    }).client[0];
    expect([med.loUs, med.hiUs]).toEqual([0, 3.5]);
    // another state's reference does not move this axis
    const other = prepareLatency({
      states: [{ state: "s", timer: { samples: [1000, 2000, 3000] }, ipi: { samples: [] } }],
      reference: [{ state: "t", timerMedianNs: 100, ipiMedianNs: 90_000 }],
    }).client[0];
    expect([other.loUs, other.hiUs]).toEqual([0.5, 3.5]);
    expect(other.timer.reference).toBeUndefined();
  });

  it("compares with the measured POWER9 reference unless given another", () => {
    const { rows } = prepareLatency({
      states: [{ state: "snooze", timer: { samples: [900] }, ipi: { samples: [2000] } }],
    });
    expect(rows[0].timer.reference).toEqual({ medianNs: 938, rangeNs: [787, 1059] });
    expect(rows[0].ipi.reference).toEqual({ medianNs: 2259, rangeNs: [2089, 4228] });
    // the reference states without samples follow, with the reference only
    expect(rows.map((r) => [r.state, r.hasSamples])).toEqual([
      ["snooze", true],
      ["stop0lite native", false],
      ["stop0lite emulated", false],
      ["Shared CEDE", false],
    ]);
    expect(rows[3].timer).toEqual({
      count: 0,
      medianNs: Number.NaN,
      beyond: 0,
      points: [],
      reference: { medianNs: 29219, rangeNs: [9550, 36694] },
    });
    expect(rows[3].ipi.reference).toEqual({ medianNs: 21827, rangeNs: [20147, 36305] });
  });

  it("lists a state without samples in the table but draws no chart for it", () => {
    const { client, rows } = prepareLatency({
      states: [
        { state: "empty", timer: { samples: [] }, ipi: { samples: [] } },
        { state: "full", timer: { samples: [1000] }, ipi: { samples: [] } },
      ],
      reference: [],
    });
    expect(client.map((c) => c.state)).toEqual(["full"]);
    expect(rows.map((r) => [r.state, r.hasSamples, r.timer.count])).toEqual([
      ["empty", false, 0],
      ["full", true, 1],
    ]);
    // no samples and no reference: an axis of 0..1 ns padded to 0..1.5 ns
    expect(rows[0].timer.points.at(-1)).toEqual([0.0015, 0]);
  });

  it("carries the interval over seeds of each wake source that has one", () => {
    const interval = { n: 5, median: 1000, lo: 900, hi: 1100, coverage: 0.9375 };
    const { rows } = prepareLatency({
      states: [{ state: "s", timer: { samples: [1000] }, ipi: { samples: [1000] }, ipiInterval: interval }],
      reference: [],
    });
    expect(rows[0].ipi.interval).toEqual(interval);
    expect("interval" in rows[0].timer).toBe(false);
  });
});

describe("prepareFleet", () => {
  const series: FleetPoint[] = [
    { timeNs: 0, counts: { zeta: 1, running: 5, native: 2, alpha: 0 } },
    { timeNs: 60e9, counts: { running: 4, crashed: 1, native: 3, zeta: 2 } },
    { timeNs: 120e9, counts: { running: 4, crashed: 1, omega: 7 } },
  ];

  it("draws the stacked counts first in the preferred order, then the lines, unknown names last", () => {
    const f = prepareFleet({ series, stacked: ["crashed", "running"] });
    if (!f) throw new Error("no fleet");
    expect(f.client.outcomes.map((o) => [o.name, o.stacked])).toEqual([
      ["running", true],
      ["crashed", true],
      ["native", false],
      ["zeta", false],
      ["alpha", false],
      ["omega", false],
    ]);
    // without `stacked` every count is a line, in the preferred order
    const lines = prepareFleet({ series });
    expect(lines?.client.outcomes.map((o) => [o.name, o.stacked])).toEqual([
      ["running", false],
      ["native", false],
      ["crashed", false],
      ["zeta", false],
      ["alpha", false],
      ["omega", false],
    ]);
  });

  it("gives each count its points in the axis unit, a missing count drawn as zero", () => {
    const f = prepareFleet({ series });
    if (!f) throw new Error("no fleet");
    // two minutes: a seconds axis
    expect(f.client.unit.label).toBe("s");
    expect(f.spanNs).toBe(120e9);
    const data = Object.fromEntries(f.client.outcomes.map((o) => [o.name, o.data]));
    expect(data.running).toEqual([
      [0, 5],
      [60, 4],
      [120, 4],
    ]);
    expect(data.omega).toEqual([
      [0, 0],
      [60, 0],
      [120, 7],
    ]);
  });

  it("gives every count in a chart its own colour", () => {
    const known = Object.keys(FLEET_COLORS);
    const extra = ["e1", "e2", "e3", "e4", "e5", "e6"];
    const f = prepareFleet({
      series: [{ timeNs: 0, counts: Object.fromEntries([...known, ...extra].map((n) => [n, 1])) }],
    });
    const colors = f?.client.outcomes.map((o) => o.color) ?? [];
    expect(colors).toHaveLength(known.length + extra.length);
    expect(new Set(colors).size).toBe(colors.length);
    for (const name of known)
      expect(f?.client.outcomes.find((o) => o.name === name)?.color).toBe(FLEET_COLORS[name]);
    // past six unknown names the extra colours repeat
    const many = prepareFleet({
      series: [{ timeNs: 0, counts: Object.fromEntries([...extra, "e7"].map((n) => [n, 1])) }],
    });
    expect(many?.client.outcomes[6].color).toBe(many?.client.outcomes[0].color);
  });

  it("reports each count at the start, at the end and at its first peak", () => {
    const f = prepareFleet({ series, stacked: ["running"] });
    const rows = Object.fromEntries((f?.rows ?? []).map((r) => [r.outcome, r]));
    expect(rows.running).toEqual({
      outcome: "running",
      stacked: true,
      first: 5,
      last: 4,
      peak: 5,
      peakNs: 0,
    });
    // 1 at 60 s and again at 120 s: the first time it is reached
    expect(rows.crashed).toEqual({
      outcome: "crashed",
      stacked: false,
      first: 0,
      last: 1,
      peak: 1,
      peakNs: 60e9,
    });
    expect(rows.zeta).toMatchObject({ first: 1, last: 0, peak: 2, peakNs: 60e9 });
    expect(rows.omega).toMatchObject({ first: 0, last: 7, peak: 7, peakNs: 120e9 });
    expect(rows.alpha).toMatchObject({ first: 0, last: 0, peak: 0, peakNs: 0 });
  });

  it("has nothing to draw without points or without counts; one point has a nanosecond axis", () => {
    expect(prepareFleet({ series: [] })).toBeNull();
    expect(prepareFleet({ series: [{ timeNs: 0, counts: {} }] })).toBeNull();
    const one = prepareFleet({ series: [{ timeNs: 5e9, counts: { running: 3 } }] });
    expect(one?.client.unit.label).toBe("ns");
    expect(one?.spanNs).toBe(0);
    expect(one?.client.outcomes[0].data).toEqual([[5e9, 3]]);
    expect(one?.rows[0]).toMatchObject({ first: 3, last: 3, peak: 3, peakNs: 5e9 });
  });
});
