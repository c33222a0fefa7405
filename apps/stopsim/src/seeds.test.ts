import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UsageError } from "./errors.js";
import { formatSeeds, MAX_SEEDS, parseSeeds, resolveSeeds } from "./seeds.js";

describe("seed lists", () => {
  it("reads a count, a range and a list", () => {
    expect(parseSeeds("3")).toEqual([1, 2, 3]);
    expect(parseSeeds("3", "--seeds", 10)).toEqual([10, 11, 12]);
    expect(parseSeeds("4..7")).toEqual([4, 5, 6, 7]);
    expect(parseSeeds("9,2,5")).toEqual([9, 2, 5]);
    expect(parseSeeds(" 0..0 ")).toEqual([0]);
  });

  it("rejects malformed specs with a usage error naming the option", () => {
    for (const bad of [
      "",
      "0",
      "-3",
      "1.5",
      "x",
      "3..1",
      "1..2..3",
      "1,,2",
      "1,1",
      "..4",
      `1..${MAX_SEEDS + 1}`,
    ]) {
      expect(() => parseSeeds(bad), bad).toThrow(UsageError);
      expect(() => parseSeeds(bad), bad).toThrow(/--seeds/);
    }
  });

  it("--seeds wins over --seed, --seed alone is one seed, neither is the default count", () => {
    expect(resolveSeeds({ seed: "5", seeds: "3" }, 8, true)).toEqual([5, 6, 7]);
    expect(resolveSeeds({ seed: "5" }, 8, true)).toEqual([5]);
    expect(resolveSeeds({ seed: "1" }, 4, false)).toEqual([1, 2, 3, 4]);
    expect(resolveSeeds({ seed: "1", seeds: "2..3" }, 4, false)).toEqual([2, 3]);
  });

  it("formats a list back into a spec that parses to the same seeds", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: 100_000 }), { minLength: 1, maxLength: 40 }), (seeds) => {
        const spec = formatSeeds(seeds);
        expect(parseSeeds(spec.includes("..") || spec.includes(",") ? spec : `${spec}..${spec}`)).toEqual(
          seeds,
        );
      }),
    );
    expect(formatSeeds([1, 2, 3, 4])).toBe("1..4");
  });
});
