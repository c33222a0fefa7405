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
});
