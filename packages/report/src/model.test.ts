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
