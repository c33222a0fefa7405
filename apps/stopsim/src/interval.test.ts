import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { medianInterval } from "./interval.js";

describe("median with an order-statistics interval", () => {
  it("uses [min, max] for five values, with coverage 1 - 2/32", () => {
    const r = medianInterval([5, 1, 4, 2, 3]);
    expect(r).toEqual({ n: 5, median: 3, lo: 1, hi: 5, coverage: 1 - 2 / 32 });
  });

  it("narrows to the order statistics of the binomial table as n grows", () => {
    // n = 10: k = 2 gives 1 - 2 P(B <= 1) = 1 - 2 * 11/1024 = 0.9785; k = 3 would give 0.8906
    const ten = medianInterval([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect([ten.lo, ten.hi, ten.median]).toEqual([2, 9, 5.5]);
    expect(ten.coverage).toBeCloseTo(1 - 22 / 1024, 12);
    // n = 20: the 95% interval is [x(6), x(15)] (coverage 0.9586)
    const twenty = medianInterval(Array.from({ length: 20 }, (_, i) => i + 1));
    expect([twenty.lo, twenty.hi]).toEqual([6, 15]);
    expect(twenty.coverage).toBeCloseTo(0.9586, 4);
  });

  it("always brackets the median, within the values, with coverage at least the level when n >= 6", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 200 }), (xs) => {
        const r = medianInterval(xs);
        expect(r.lo).toBeLessThanOrEqual(r.median);
        expect(r.median).toBeLessThanOrEqual(r.hi);
        expect(r.lo).toBeGreaterThanOrEqual(Math.min(...xs));
        expect(r.hi).toBeLessThanOrEqual(Math.max(...xs));
        if (xs.length >= 6) expect(r.coverage).toBeGreaterThanOrEqual(0.95);
      }),
    );
  });

  it("refuses an empty list", () => {
    expect(() => medianInterval([])).toThrow(RangeError);
  });

  it("refuses a level outside (0, 1), naming it", () => {
    for (const level of [0, 1, -0.5, 1.5, Number.NaN])
      expect(() => medianInterval([1, 2, 3], level), String(level)).toThrow(
        `medianInterval: level must be in (0, 1), got ${level}`,
      );
    expect(() => medianInterval([])).toThrow("medianInterval: no values");
  });

  it("takes the mean of the middle two for an even count and sorts numbers by value", () => {
    const r = medianInterval([100, 9, 20, 3]);
    expect(r.median).toBe(14.5);
    expect([r.lo, r.hi]).toEqual([3, 100]);
    expect(r.coverage).toBe(1 - 2 / 16);
    expect(medianInterval([7])).toEqual({ n: 1, median: 7, lo: 7, hi: 7, coverage: 0 });
    expect(medianInterval([2, 1])).toEqual({ n: 2, median: 1.5, lo: 1, hi: 2, coverage: 0.5 });
  });

  it("a lower level gives the narrowest interval that still reaches it", () => {
    // n = 10: k = 3 covers 1 - 2 * 56/1024 = 0.8906, k = 4 covers 1 - 2 * 176/1024 = 0.6563
    const values = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    const r = medianInterval(values, 0.8);
    expect([r.lo, r.hi]).toEqual([3, 8]);
    expect(r.coverage).toBeCloseTo(1 - 112 / 1024, 12);
    // exactly reaching the level counts
    const exact = medianInterval(values, 1 - 112 / 1024);
    expect([exact.lo, exact.hi]).toEqual([3, 8]);
    // 1000 seeds: the exact binomial sum, x(469) and x(532)
    const big = medianInterval(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect([big.lo, big.hi]).toEqual([469, 532]);
    expect(big.coverage).toBeGreaterThanOrEqual(0.95);
    expect(big.coverage).toBeLessThan(0.96);
  });
});
