import { describe, expect, it } from "vitest";
import {
  FLEET_STATES,
  fleetStateCounts,
  parseReportData,
  type ReportData,
  ReportDataError,
} from "./index.js";
import { sampleReportData } from "./test-helpers/sample-data.js";

function minimal(): ReportData {
  return {
    title: "t",
    generatedBy: { seed: 1, command: "stopsim matrix", version: "0.1.0" },
    matrix: { rows: [] },
  };
}

/** The ReportDataError thrown for `input`, or a failure if none is thrown. */
function errorOf(input: unknown): ReportDataError {
  try {
    parseReportData(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ReportDataError);
    return e as ReportDataError;
  }
  throw new Error("expected a ReportDataError");
}

describe("parseReportData", () => {
  it("accepts the minimal model and a full realistic one unchanged", () => {
    expect(parseReportData(minimal())).toEqual(minimal());
    const full = sampleReportData();
    expect(parseReportData(JSON.parse(JSON.stringify(full)))).toEqual(full);
  });

  it("names a missing field by its path", () => {
    const { title: _t, ...noTitle } = minimal();
    const e = errorOf(noTitle);
    expect(e.issues.map((i) => i.path)).toEqual(["title"]);
    expect(e.message).toMatch(/^invalid report data: title: /);
    expect(errorOf({ ...minimal(), generatedBy: { seed: 1, command: "x" } }).issues[0].path).toBe(
      "generatedBy.version",
    );
    expect(errorOf(null).issues[0].path).toBe("");
    expect(errorOf(null).message).toContain("(root)");
  });

  it("names an invalid matrix outcome and lists the allowed ones", () => {
    const d = minimal();
    const rows = [{ design: "spapr-cap", from: "a", to: "b", outcome: "exploded", detail: "" }];
    const e = errorOf({ ...d, matrix: { rows } });
    expect(e.issues[0].path).toBe("matrix.rows[0].outcome");
    expect(e.issues[0].message).toContain("native, emulated, not-used, crashed, refused, failed-start, hung");
  });

  it("rejects unknown fields, so a misspelt field is not silently ignored", () => {
    const e = errorOf({ ...minimal(), timline: { runLabel: "x", vcpus: [] } });
    expect(e.message).toContain("timline");
  });

  it("rejects duplicate matrix cells naming both rows", () => {
    const row = { design: "d", from: "a", to: "b", outcome: "native", detail: "" } as const;
    const e = errorOf({ ...minimal(), matrix: { rows: [row, { ...row, outcome: "crashed" }] } });
    expect(e.issues[0].path).toBe("matrix.rows[1]");
    expect(e.issues[0].message).toContain("matrix.rows[0]");
  });

  it("checks timeline segments: non-negative, end >= start, sorted, not overlapping", () => {
    const tl = (segments: unknown[]) => ({
      ...minimal(),
      timeline: { runLabel: "r", vcpus: [{ name: "vcpu0", segments, markers: [] }] },
    });
    expect(errorOf(tl([{ start: 10, end: 5, state: "running" }])).issues[0].path).toBe(
      "timeline.vcpus[0].segments[0].end",
    );
    expect(
      errorOf(
        tl([
          { start: 0, end: 10, state: "running" },
          { start: 5, end: 20, state: "cede" },
        ]),
      ).issues[0],
    ).toEqual({
      path: "timeline.vcpus[0].segments[1].start",
      message: expect.stringContaining("must not overlap"),
    });
    expect(errorOf(tl([{ start: -1, end: 5, state: "running" }])).issues[0].path).toBe(
      "timeline.vcpus[0].segments[0].start",
    );
    expect(errorOf(tl([{ start: 0, end: 5, state: "napping" }])).issues[0].message).toContain(
      "stop0lite-emulated",
    );
    // touching segments are fine
    expect(() =>
      parseReportData(
        tl([
          { start: 0, end: 10, state: "running" },
          { start: 10, end: 20, state: "cede" },
        ]),
      ),
    ).not.toThrow();
  });

  it("rejects duplicate vCPU names", () => {
    const v = { name: "vcpu0", segments: [], markers: [] };
    const e = errorOf({ ...minimal(), timeline: { runLabel: "r", vcpus: [v, v] } });
    expect(e.issues[0].path).toBe("timeline.vcpus[1].name");
  });

  it("rejects non-finite and negative latency samples by index", () => {
    const states = [{ state: "snooze", timer: { samples: [1, 2, Number.NaN] }, ipi: { samples: [-3] } }];
    const e = errorOf({ ...minimal(), latency: { states } });
    expect(e.issues.map((i) => i.path)).toEqual([
      "latency.states[0].timer.samples[2]",
      "latency.states[0].ipi.samples[0]",
    ]);
    const inf = [{ state: "snooze", timer: { samples: [Number.POSITIVE_INFINITY] }, ipi: { samples: [] } }];
    expect(errorOf({ ...minimal(), latency: { states: inf } }).issues[0].path).toBe(
      "latency.states[0].timer.samples[0]",
    );
  });

  it("checks reference ranges and duplicate states", () => {
    const reference = [{ state: "snooze", timerMedianNs: 1, ipiMedianNs: 2, timerRangeNs: [5, 1] }];
    expect(errorOf({ ...minimal(), latency: { states: [], reference } }).issues[0].path).toBe(
      "latency.reference[0].timerRangeNs",
    );
    const s = { state: "snooze", timer: { samples: [] }, ipi: { samples: [] } };
    expect(errorOf({ ...minimal(), latency: { states: [s, s] } }).issues[0].path).toBe(
      "latency.states[1].state",
    );
  });

  it("checks fleet points: time order and whole non-negative counts", () => {
    const fleet = (series: unknown[]) => ({ ...minimal(), fleet: { series } });
    expect(
      errorOf(
        fleet([
          { timeNs: 10, counts: { running: 1 } },
          { timeNs: 5, counts: { running: 1 } },
        ]),
      ).issues[0].path,
    ).toBe("fleet.series[1].timeNs");
    expect(errorOf(fleet([{ timeNs: 0, counts: { running: 1.5 } }])).issues[0].path).toBe(
      "fleet.series[0].counts.running",
    );
    expect(errorOf(fleet([{ timeNs: 0, counts: { crashed: -1 } }])).issues[0].path).toBe(
      "fleet.series[0].counts.crashed",
    );
  });

  it("checks that stacked fleet counts exist and are listed once", () => {
    const series = [{ timeNs: 0, counts: { running: 3, crashed: 0 } }];
    const e = errorOf({ ...minimal(), fleet: { series, stacked: ["running", "crashd"] } });
    expect(e.issues).toEqual([
      {
        path: "fleet.stacked[1]",
        message: "'crashd' is not a count in any fleet.series point (counts: running, crashed)",
      },
    ]);
    expect(errorOf({ ...minimal(), fleet: { series, stacked: ["running", "running"] } }).issues[0]).toEqual({
      path: "fleet.stacked[1]",
      message: "'running' is listed twice",
    });
  });

  it("lists every invalid field at once", () => {
    const e = errorOf({
      title: "",
      generatedBy: { seed: true, command: 1, version: "v" },
      matrix: { rows: [] },
    });
    expect(e.issues.map((i) => i.path).sort()).toEqual(["generatedBy.command", "generatedBy.seed", "title"]);
  });
});

describe("fleet counts", () => {
  it("count every guest in one state and the running ones by how they idle", () => {
    const c = fleetStateCounts([
      { state: "running", idle: "native" },
      { state: "running", idle: "emulated" },
      { state: "running", idle: "not-used" },
      { state: "crashed", idle: "native" },
      { state: "hung", idle: "emulated" },
    ]);
    expect(c).toEqual({ running: 3, crashed: 1, "failed-start": 0, hung: 1, native: 1, emulated: 1 });
    expect(FLEET_STATES.reduce((n, s) => n + c[s], 0)).toBe(5);
  });
});

describe("parseReportData messages", () => {
  const row = { design: "d", from: "a", to: "b", outcome: "native", detail: "" };
  const state = { state: "s", timer: { samples: [] }, ipi: { samples: [] } };
  const vcpu = (over: object) => ({ name: "vcpu0", segments: [], markers: [], ...over });
  const interval = { n: 3, median: 2, lo: 1, hi: 3, coverage: 0.75 };
  const overSeeds = { seeds: [1], statistic: "median", rows: [] };
  const series = [{ timeNs: 0, counts: { running: 1 } }];
  // each invalid field: the path it is reported at and what the message tells the author to fix
  const cases: [string, unknown, string, string][] = [
    ["empty title", { title: "" }, "title", "must be a non-empty title"],
    [
      "boolean seed",
      { generatedBy: { seed: true, command: "c", version: "v" } },
      "generatedBy.seed",
      "must be a string or a number",
    ],
    [
      "empty design",
      { matrix: { rows: [{ ...row, design: "" }] } },
      "matrix.rows[0].design",
      "must be a non-empty design name",
    ],
    [
      "empty from host",
      { matrix: { rows: [{ ...row, from: "" }] } },
      "matrix.rows[0].from",
      "must be a non-empty host name",
    ],
    [
      "empty to host",
      { matrix: { rows: [{ ...row, to: "" }] } },
      "matrix.rows[0].to",
      "must be a non-empty host name",
    ],
    [
      "unknown timeline state",
      { timeline: { runLabel: "r", vcpus: [vcpu({ segments: [{ start: 0, end: 1, state: "nap" }] })] } },
      "timeline.vcpus[0].segments[0].state",
      "must be one of running, snooze, stop0lite, stop0lite-emulated, cede, halted",
    ],
    [
      "negative segment end",
      { timeline: { runLabel: "r", vcpus: [vcpu({ segments: [{ start: 0, end: -1, state: "running" }] })] } },
      "timeline.vcpus[0].segments[0].end",
      "must be a non-negative number of ns",
    ],
    [
      "empty marker name",
      { timeline: { runLabel: "r", vcpus: [vcpu({ markers: [{ time: 0, name: "" }] })] } },
      "timeline.vcpus[0].markers[0].name",
      "must be a non-empty marker name",
    ],
    [
      "empty vCPU name",
      { timeline: { runLabel: "r", vcpus: [vcpu({ name: "" })] } },
      "timeline.vcpus[0].name",
      "must be a non-empty vCPU name",
    ],
    [
      "empty latency state",
      { latency: { states: [{ ...state, state: "" }] } },
      "latency.states[0].state",
      "must be a non-empty state name",
    ],
    [
      "empty reference state",
      { latency: { states: [], reference: [{ state: "", timerMedianNs: 1, ipiMedianNs: 1 }] } },
      "latency.reference[0].state",
      "must be a non-empty state name",
    ],
    [
      "reversed IPI range",
      {
        latency: {
          states: [],
          reference: [{ state: "s", timerMedianNs: 1, ipiMedianNs: 1, ipiRangeNs: [3, 2] }],
        },
      },
      "latency.reference[0].ipiRangeNs",
      "range must be [min, max] with min <= max",
    ],
    [
      "median above the interval",
      { latency: { states: [{ ...state, ipiInterval: { ...interval, median: 4 } }] } },
      "latency.states[0].ipiInterval",
      "must have lo <= median <= hi",
    ],
    [
      "median below the interval",
      { latency: { states: [{ ...state, timerInterval: { ...interval, median: 0.5 } }] } },
      "latency.states[0].timerInterval",
      "must have lo <= median <= hi",
    ],
    [
      "empty stacked name",
      { fleet: { series, stacked: [""] } },
      "fleet.stacked[0]",
      "must be a non-empty count name",
    ],
    [
      "no seeds",
      { fleet: { series, overSeeds: { ...overSeeds, seeds: [] } } },
      "fleet.overSeeds.seeds",
      "needs at least one seed",
    ],
    [
      "seed median above the range",
      { fleet: { series, overSeeds: { ...overSeeds, rows: [{ count: "c", median: 5, min: 1, max: 4 }] } } },
      "fleet.overSeeds.rows[0]",
      "needs min <= median <= max",
    ],
    [
      "seed median below the range",
      { fleet: { series, overSeeds: { ...overSeeds, rows: [{ count: "c", median: 0, min: 1, max: 4 }] } } },
      "fleet.overSeeds.rows[0]",
      "needs min <= median <= max",
    ],
    [
      "fractional count",
      { fleet: { series: [{ timeNs: 0, counts: { running: 0.5 } }] } },
      "fleet.series[0].counts.running",
      "must be a whole count",
    ],
    [
      "negative count",
      { fleet: { series: [{ timeNs: 0, counts: { running: -2 } }] } },
      "fleet.series[0].counts.running",
      "must be >= 0",
    ],
  ];
  for (const [what, over, path, message] of cases) {
    it(`names the field and the fix: ${what}`, () => {
      expect(errorOf({ ...minimal(), ...(over as object) }).issues).toEqual([{ path, message }]);
    });
  }

  it("reads as one line: every issue by path, then where the model is described", () => {
    const e = errorOf({ ...minimal(), title: "", matrix: { rows: [{ ...row, design: "" }] } });
    expect(e.message).toBe(
      "invalid report data: title: must be a non-empty title; matrix.rows[0].design: must be a non-empty design name" +
        " (see packages/report/README.md for the input model)",
    );
    expect(e.name).toBe("ReportDataError");
  });

  it("takes the bounds of each number as the model states them", () => {
    const ok = (over: object) => expect(() => parseReportData({ ...minimal(), ...over })).not.toThrow();
    const bad = (over: object, path: string) =>
      expect(errorOf({ ...minimal(), ...over }).issues.map((i) => i.path)).toEqual([path]);
    const st = (iv: object) => ({
      latency: { states: [{ ...state, timerInterval: { ...interval, ...iv } }] },
    });
    // an interval of one seed with coverage 0..1 (0 and 1 included)
    ok(st({ n: 1, coverage: 0 }));
    ok(st({ coverage: 1 }));
    bad(st({ n: 0 }), "latency.states[0].timerInterval.n");
    bad(st({ n: 2.5 }), "latency.states[0].timerInterval.n");
    bad(st({ coverage: 1.01 }), "latency.states[0].timerInterval.coverage");
    bad(st({ coverage: -0.01 }), "latency.states[0].timerInterval.coverage");
    bad(st({ lo: -1 }), "latency.states[0].timerInterval.lo");
    // names of one character are names
    ok({ matrix: { rows: [{ ...row, design: "x", from: "h", to: "h" }] } });
    ok({ fleet: { series, stacked: ["running"], overSeeds: { seeds: ["s"], statistic: "m", rows: [] } } });
    // counts over seeds: whole, non-negative, per known outcome
    const cell = (outcomes: object) => ({ matrix: { rows: [{ ...row, outcomes }] } });
    ok(cell({ native: 3, hung: 0 }));
    bad(cell({ native: 1.5 }), "matrix.rows[0].outcomes.native");
    bad(cell({ native: -1 }), "matrix.rows[0].outcomes.native");
    bad(cell({ exploded: 1 }), "matrix.rows[0].outcomes");
    // minority and hazard lists
    ok({
      matrix: {
        rows: [
          { ...row, minority: [{ outcome: "hung", seeds: [1, "b"] }], hazards: [{ kind: "k", seeds: [] }] },
        ],
      },
    });
    bad(
      { matrix: { rows: [{ ...row, minority: [{ outcome: "gone", seeds: [] }] }] } },
      "matrix.rows[0].minority[0].outcome",
    );
    bad(
      { matrix: { rows: [{ ...row, hazards: [{ kind: "", seeds: [] }] }] } },
      "matrix.rows[0].hazards[0].kind",
    );
    bad({ matrix: { rows: [{ ...row, hazardMark: "yes" }] } }, "matrix.rows[0].hazardMark");
    // a fleet spread over seeds: non-negative, each row named
    const spread = (r: object) => ({
      fleet: { series, overSeeds: { ...overSeeds, rows: [{ count: "c", median: 1, min: 0, max: 2, ...r }] } },
    });
    ok(spread({ min: 1, max: 1 }));
    bad(spread({ count: "" }), "fleet.overSeeds.rows[0].count");
    expect(
      errorOf({ ...minimal(), ...spread({ max: -1, min: -1, median: -1 }) }).issues.map((i) => i.path),
    ).toEqual([
      "fleet.overSeeds.rows[0].median",
      "fleet.overSeeds.rows[0].min",
      "fleet.overSeeds.rows[0].max",
    ]);
    bad({ fleet: { series, overSeeds: { ...overSeeds, statistic: "" } } }, "fleet.overSeeds.statistic");
  });

  it("takes each optional part of the model when given and refuses a misspelt one", () => {
    const full = {
      ...minimal(),
      timeline: {
        runLabel: "r",
        note: "cut",
        vcpus: [vcpu({ markers: [{ time: 1, name: "DEC", detail: "d" }] })],
      },
      latency: {
        states: [{ ...state, timerInterval: interval, ipiInterval: interval }],
        intervalMethod: "order statistics",
        reference: [
          { state: "s", timerMedianNs: 1, ipiMedianNs: 2, timerRangeNs: [0, 1], ipiRangeNs: [2, 2] },
        ],
      },
      fleet: { series, stacked: ["running"], overSeeds },
    };
    expect(parseReportData(full)).toEqual(full);
    for (const [part, misspelt] of [
      ["timeline", { runLabel: "r", vcpus: [], nots: "x" }],
      ["latency", { states: [], referense: [] }],
      ["fleet", { series: [], stack: [] }],
    ] as const) {
      expect(errorOf({ ...minimal(), [part]: misspelt }).issues[0]).toEqual({
        path: part,
        message: expect.stringContaining("Unrecognized key"),
      });
    }
  });
});

describe("parseReportData cross-field rules", () => {
  it("names both rows of a duplicate matrix cell, and only the second", () => {
    const row = { design: "d", from: "a", to: "b", outcome: "native", detail: "" } as const;
    const e = errorOf({
      ...minimal(),
      matrix: { rows: [row, { ...row, from: "c" }, { ...row, outcome: "hung" }] },
    });
    expect(e.issues).toEqual([
      {
        path: "matrix.rows[2]",
        message: "duplicate cell (design 'd', a -> b) already given by matrix.rows[0]",
      },
    ]);
    // the same pair for another design is another cell; (a, bc) is not (ab, c)
    expect(() =>
      parseReportData({
        ...minimal(),
        matrix: {
          rows: [
            row,
            { ...row, design: "e" },
            { ...row, from: "ab", to: "c" },
            { ...row, from: "a", to: "bc" },
          ],
        },
      }),
    ).not.toThrow();
  });

  it("names the first vCPU of a duplicate name", () => {
    const v = (name: string) => ({ name, segments: [], markers: [] });
    const e = errorOf({ ...minimal(), timeline: { runLabel: "r", vcpus: [v("a"), v("b"), v("a"), v("a")] } });
    expect(e.issues).toEqual([
      { path: "timeline.vcpus[2].name", message: "duplicate vCPU name 'a' (also timeline.vcpus[0])" },
      { path: "timeline.vcpus[3].name", message: "duplicate vCPU name 'a' (also timeline.vcpus[0])" },
    ]);
  });

  it("says which segment ends before it starts or overlaps the previous one, and by how much", () => {
    const tl = (segments: { start: number; end: number }[]) => ({
      ...minimal(),
      timeline: {
        runLabel: "r",
        vcpus: [{ name: "v", segments: segments.map((s) => ({ ...s, state: "running" })), markers: [] }],
      },
    });
    expect(errorOf(tl([{ start: 10, end: 5 }])).issues).toEqual([
      { path: "timeline.vcpus[0].segments[0].end", message: "must be >= start (start 10, end 5)" },
    ]);
    // an empty segment is fine; a segment that ends before it starts does not move the previous end
    expect(
      errorOf(
        tl([
          { start: 0, end: 100 },
          { start: 200, end: 50 },
          { start: 60, end: 300 },
          { start: 300, end: 300 },
        ]),
      ).issues,
    ).toEqual([
      { path: "timeline.vcpus[0].segments[1].end", message: "must be >= start (start 200, end 50)" },
      {
        path: "timeline.vcpus[0].segments[2].start",
        message:
          "segments must be sorted and must not overlap: starts at 60 before the previous segment ends (100)",
      },
    ]);
  });

  it("names a reference state given twice", () => {
    const r = { state: "snooze", timerMedianNs: 1, ipiMedianNs: 2 };
    const e = errorOf({ ...minimal(), latency: { states: [], reference: [r, { ...r, state: "x" }, r] } });
    expect(e.issues).toEqual([
      { path: "latency.reference[2].state", message: "duplicate reference state 'snooze'" },
    ]);
    const s = { state: "snooze", timer: { samples: [] }, ipi: { samples: [] } };
    expect(errorOf({ ...minimal(), latency: { states: [s, { ...s, state: "x" }, s] } }).issues).toEqual([
      { path: "latency.states[2].state", message: "duplicate state 'snooze'" },
    ]);
  });

  it("lists the counts there are when a stacked name is none of them", () => {
    expect(errorOf({ ...minimal(), fleet: { series: [], stacked: ["running"] } }).issues).toEqual([
      {
        path: "fleet.stacked[0]",
        message: "'running' is not a count in any fleet.series point (counts: none)",
      },
    ]);
    // counts from every point, each once
    const series = [
      { timeNs: 0, counts: { running: 1 } },
      { timeNs: 1, counts: { running: 1, hung: 0 } },
    ];
    expect(
      errorOf({ ...minimal(), fleet: { series, stacked: ["running", "hung", "x", "hung"] } }).issues,
    ).toEqual([
      {
        path: "fleet.stacked[2]",
        message: "'x' is not a count in any fleet.series point (counts: running, hung)",
      },
      { path: "fleet.stacked[3]", message: "'hung' is listed twice" },
    ]);
  });

  it("accepts fleet points at the same time and names a point that goes back", () => {
    const at = (...times: number[]) => ({
      ...minimal(),
      fleet: { series: times.map((timeNs) => ({ timeNs, counts: { running: 1 } })) },
    });
    expect(() => parseReportData(at(0, 5, 5, 9))).not.toThrow();
    expect(errorOf(at(0, 5, 9, 3)).issues).toEqual([
      { path: "fleet.series[3].timeNs", message: "points must be in time order: 3 comes after 9" },
    ]);
  });
});

describe("fleet counts of guests", () => {
  it("count a state outside FLEET_STATES too, and only running guests by how they idle", () => {
    const c = fleetStateCounts([
      { state: "migrating", idle: "native" },
      { state: "migrating", idle: "emulated" },
      { state: "running", idle: "native" },
      { state: "failed-start", idle: "emulated" },
    ]);
    expect(c).toEqual({
      running: 1,
      crashed: 0,
      "failed-start": 1,
      hung: 0,
      migrating: 2,
      native: 1,
      emulated: 0,
    });
    expect(fleetStateCounts([])).toEqual({
      running: 0,
      crashed: 0,
      "failed-start": 0,
      hung: 0,
      native: 0,
      emulated: 0,
    });
  });
});
