import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RngRoot, SimError } from "./index.js";

describe("seeded PRNG streams", () => {
  it("gives the same sequence for the same seed and name", () => {
    const a = new RngRoot(42).stream("host0/cpu3");
    const b = new RngRoot(42).stream("host0/cpu3");
    for (let i = 0; i < 100; i++) expect(a.next()).toBe(b.next());
  });

  it("gives different sequences for another seed or another name", () => {
    const draw = (seed: number, name: string) => {
      const r = new RngRoot(seed).stream(name);
      return Array.from({ length: 8 }, () => r.uint32());
    };
    expect(draw(1, "a")).not.toEqual(draw(2, "a"));
    expect(draw(1, "a")).not.toEqual(draw(1, "b"));
  });

  it("adding a stream does not change another stream's sequence", () => {
    const r1 = new RngRoot(7);
    const x = r1.stream("guest");
    const first = [x.next(), x.next(), x.next()];
    const r2 = new RngRoot(7);
    r2.stream("new-component").next();
    const y = r2.stream("guest");
    expect([y.next(), y.next(), y.next()]).toEqual(first);
  });

  it("draws within bounds and with the right mean", () => {
    const r = new RngRoot(3).stream("dist");
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 1000 }), (lo, span) => {
        const v = r.int(lo, lo + span);
        expect(v).toBeGreaterThanOrEqual(lo);
        expect(v).toBeLessThanOrEqual(lo + span);
      }),
    );
    let sum = 0;
    for (let i = 0; i < 20000; i++) sum += r.exponential(100);
    expect(sum / 20000).toBeGreaterThan(95);
    expect(sum / 20000).toBeLessThan(105);
  });

  it("rejects bad bounds and bad seeds", () => {
    const r = new RngRoot(1).stream("x");
    expect(() => r.int(5, 1)).toThrow(SimError);
    expect(() => r.pick([])).toThrow(/empty list/);
    expect(() => new RngRoot(Number.NaN)).toThrow(/seed must be/);
  });
});
