// The measured POWER9 reference (reference.ts) as the report uses it: the figures every report
// compares with when its data names no other reference, checked by what the report does with them
// (its own validation, the latency table's measured column and sim/measured ratio), not restated.
import { describe, expect, it } from "vitest";
import { POWER9_WAKEUP_REFERENCE, parseReportData, type ReportData, renderReport } from "./index.js";
import { formatNs } from "./prepare.js";

function withLatency(latency: ReportData["latency"]): ReportData {
  return {
    title: "t",
    generatedBy: { seed: 1, command: "stopsim matrix", version: "0.1.0" },
    matrix: { rows: [] },
    latency,
  };
}

/** The latency table's body rows: the state's header cell, then the cells' inner HTML. */
function latencyRows(html: string): { state: string; cells: string[] }[] {
  const start = html.indexOf('id="latency-table"');
  const table = html.slice(html.indexOf("<tbody>", start), html.indexOf("</tbody>", start));
  return [...table.matchAll(/<tr><th scope="row">(.*?)<\/th>(.*?)<\/tr>/g)].map((m) => ({
    state: m[1],
    cells: [...m[2].matchAll(/<td>(.*?)<\/td>/g)].map((c) => c[1]),
  }));
}

describe("the measured POWER9 reference", () => {
  it("passes the report's own validation as a reference given in the data", () => {
    const d = withLatency({ states: [], reference: structuredClone([...POWER9_WAKEUP_REFERENCE]) });
    expect(parseReportData(d).latency?.reference).toEqual(POWER9_WAKEUP_REFERENCE);
  });

  it("gives each state a measured range around its median, for both wakeup sources", () => {
    expect(POWER9_WAKEUP_REFERENCE.length).toBeGreaterThan(0);
    for (const r of POWER9_WAKEUP_REFERENCE) {
      for (const [median, range] of [
        [r.timerMedianNs, r.timerRangeNs],
        [r.ipiMedianNs, r.ipiRangeNs],
      ] as const) {
        expect(range, r.state).toHaveLength(2);
        const [lo, hi] = range ?? [Number.NaN, Number.NaN];
        expect(lo, r.state).toBeLessThanOrEqual(median);
        expect(median, r.state).toBeLessThanOrEqual(hi);
      }
    }
  });

  it("orders the states from the shallowest to the deepest: each wakes slower than the one before", () => {
    // the thread's table: snooze, then stop0lite run natively, then emulated by KVM, then H_CEDE
    // through the host's scheduler
    const timer = POWER9_WAKEUP_REFERENCE.map((r) => r.timerMedianNs);
    const ipi = POWER9_WAKEUP_REFERENCE.map((r) => r.ipiMedianNs);
    expect(timer).toEqual([...timer].sort((a, b) => a - b));
    expect(ipi).toEqual([...ipi].sort((a, b) => a - b));
    expect(new Set(POWER9_WAKEUP_REFERENCE.map((r) => r.state)).size).toBe(POWER9_WAKEUP_REFERENCE.length);
  });

  it("is what a report without its own reference compares with: measured column and ratio per state", () => {
    // simulated medians twice the measured timer median and half the measured IPI one
    const states = POWER9_WAKEUP_REFERENCE.map((r) => ({
      state: r.state,
      timer: { samples: [2 * r.timerMedianNs] },
      ipi: { samples: [r.ipiMedianNs / 2] },
    }));
    const rows = latencyRows(renderReport(withLatency({ states })));
    expect(rows.map((r) => r.state)).toEqual(POWER9_WAKEUP_REFERENCE.map((r) => r.state));
    for (const [i, r] of POWER9_WAKEUP_REFERENCE.entries()) {
      const [tCount, tSim, tRef, tRatio, iCount, iSim, iRef, iRatio] = rows[i].cells;
      expect([tCount, iCount]).toEqual(["1", "1"]);
      expect(tSim).toBe(formatNs(2 * r.timerMedianNs));
      expect(iSim).toBe(formatNs(r.ipiMedianNs / 2));
      const measured = (median: number, range?: readonly [number, number]) =>
        `${formatNs(median)} <span class="pct">(${formatNs(range?.[0] ?? Number.NaN)}–${formatNs(range?.[1] ?? Number.NaN)})</span>`;
      expect(tRef).toBe(measured(r.timerMedianNs, r.timerRangeNs));
      expect(iRef).toBe(measured(r.ipiMedianNs, r.ipiRangeNs));
      expect([tRatio, iRatio]).toEqual(["2.00×", "0.50×"]);
      expect(tRef + iRef).not.toContain("n/a");
    }
  });

  it("lists every measured state in the table even when the run has no samples of it", () => {
    const rows = latencyRows(renderReport(withLatency({ states: [] })));
    expect(rows.map((r) => r.state)).toEqual(POWER9_WAKEUP_REFERENCE.map((r) => r.state));
    for (const r of rows) {
      expect(r.cells[1]).toBe("no samples");
      expect(r.cells[3]).toBe("—");
      expect(r.cells[2]).not.toBe("no reference");
    }
    // an explicit empty reference replaces it: nothing to list
    expect(latencyRows(renderReport(withLatency({ states: [], reference: [] })))).toEqual([]);
  });
});
