import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LatencyHistogram, SimError, StatsRegistry } from "./index.js";

describe("statistics", () => {
  it("summarises latencies exactly for count/min/max/mean/stddev", () => {
    const h = new LatencyHistogram("wake");
    for (const v of [938, 787, 1059, 900, 1000]) h.record(v);
    const s = h.summary();
    expect(s.count).toBe(5);
    expect(s.min).toBe(787);
    expect(s.max).toBe(1059);
    expect(s.mean).toBeCloseTo(936.8, 6);
    expect(s.stddev).toBeCloseTo(
      Math.sqrt([938, 787, 1059, 900, 1000].reduce((a, v) => a + (v - 936.8) ** 2, 0) / 5),
      6,
    );
    expect(s.median).toBeGreaterThanOrEqual(937);
    expect(s.median).toBeLessThanOrEqual(939);
  });

  it("percentiles stay within 0.1% of the exact order statistic", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50_000_000 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 100 }),
        (xs, p) => {
          const h = new LatencyHistogram("p");
          for (const x of xs) h.record(x);
          const sorted = [...xs].sort((a, b) => a - b);
          const exact = sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
          expect(Math.abs(h.percentile(p) - exact)).toBeLessThanOrEqual(exact * 0.001 + 1);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("is empty-safe and rejects bad samples", () => {
    const h = new LatencyHistogram("e");
    expect(Number.isNaN(h.median)).toBe(true);
    expect(() => h.record(-1)).toThrow(SimError);
    expect(() => h.record(Number.NaN)).toThrow(/finite, non-negative/);
    expect(() => h.percentile(101)).toThrow(/0..100/);
  });

  it("registry keeps named counters and histograms", () => {
    const r = new StatsRegistry();
    r.counter("kvm_exit.H_FAC_UNAVAIL").inc();
    r.counter("kvm_exit.H_FAC_UNAVAIL").inc(2);
    r.counter("kvm_exit.SYSCALL").inc();
    expect(r.counterValues()).toEqual({ "kvm_exit.H_FAC_UNAVAIL": 3, "kvm_exit.SYSCALL": 1 });
    r.histogram("wake").record(10);
    expect(r.histogramSummaries().wake.count).toBe(1);
  });

  it("records values far beyond the first hour (a year of downtime) without failing", () => {
    const h = new LatencyHistogram("downtime");
    const year = 365 * 86_400e9;
    const quarter = 90 * 86_400e9;
    for (const v of [5, 3_600e9, 4e13, quarter, year]) h.record(v);
    expect(h.count).toBe(5);
    expect(h.max).toBe(year);
    expect(Math.abs(h.percentile(70) - quarter) / quarter).toBeLessThan(0.001);
  });
});
