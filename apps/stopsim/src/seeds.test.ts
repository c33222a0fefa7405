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

  it("says what is wrong with a spec and how to write it", () => {
    const msg = (spec: string, option?: string) => {
      try {
        parseSeeds(spec, option);
      } catch (e) {
        return (e as Error).message;
      }
      return "accepted";
    };
    expect(msg("1.5")).toBe(
      "--seeds: '1.5' is not a seed; seeds are whole numbers (e.g. --seeds 10, 3..12 or 1,5,9)",
    );
    expect(msg("1,x", "--probe-seeds")).toBe(
      "--probe-seeds: 'x' is not a seed; seeds are whole numbers (e.g. --seeds 10, 3..12 or 1,5,9)",
    );
    expect(msg("1..2..3")).toBe("--seeds: '1..2..3' is not a range; write it as FIRST..LAST, e.g. 3..12");
    expect(msg("9..4")).toBe("--seeds: range '9..4' ends before it starts; write 4..9");
    expect(msg("4,7,4")).toBe("--seeds: seed 4 is listed twice; list each seed once");
    expect(msg("0")).toBe("--seeds: the number of seeds must be at least 1, got '0'");
    expect(msg(String(MAX_SEEDS + 1))).toBe(
      `--seeds: ${MAX_SEEDS + 1} seeds is more than the limit of ${MAX_SEEDS}; use fewer seeds`,
    );
    // 2^53 is past the integers a seed list holds exactly
    expect(msg("9007199254740992")).toMatch(/'9007199254740992' is not a seed/);
  });

  it("takes exactly the limit of seeds, as a count, a range or a list, and refuses one more", () => {
    expect(parseSeeds(String(MAX_SEEDS))).toHaveLength(MAX_SEEDS);
    expect(parseSeeds(`5..${MAX_SEEDS + 4}`)).toHaveLength(MAX_SEEDS);
    const list = Array.from({ length: MAX_SEEDS }, (_, i) => i);
    expect(parseSeeds(list.join(","))).toHaveLength(MAX_SEEDS);
    expect(() => parseSeeds([...list, MAX_SEEDS].join(","))).toThrow(/more than the limit/);
    expect(() => parseSeeds(`5..${MAX_SEEDS + 5}`)).toThrow(/more than the limit/);
    expect(parseSeeds(" 7 , 8 ")).toEqual([7, 8]);
    expect(parseSeeds("1..1")).toEqual([1]);
  });

  it("--seeds counts from a --seed given with it; a lone --seed replays that one seed, up to 2^64-1", () => {
    expect(resolveSeeds({ seed: "9", seeds: "2..3" }, 4, true)).toEqual([2, 3]);
    expect(() => resolveSeeds({ seed: "x", seeds: "2" }, 4, true)).toThrow(/--seed: 'x' is not a seed/);
    expect(resolveSeeds({ seed: "18446744073709551615" }, 4, true)).toEqual(["18446744073709551615"]);
    expect(resolveSeeds({}, 3, true)).toEqual([1, 2, 3]);
  });

  it("writes two seeds as a list and a run with a gap, a repeat or a big seed as a list", () => {
    expect(formatSeeds([4, 5])).toBe("4,5");
    expect(formatSeeds([4, 5, 7])).toBe("4,5,7");
    expect(formatSeeds([3, 2, 1])).toBe("3,2,1");
    expect(formatSeeds([7])).toBe("7");
    expect(formatSeeds(["18446744073709551614", "18446744073709551615", 1])).toBe(
      "18446744073709551614,18446744073709551615,1",
    );
    expect(formatSeeds([10, 11, 12])).toBe("10..12");
  });

  it("one seed is a count of one; exponent and hex forms are not seeds", () => {
    expect(parseSeeds("1")).toEqual([1]);
    expect(parseSeeds("1", "--seeds", 40)).toEqual([40]);
    for (const bad of ["1e3", "0x10", "2..1e1", "3,0x4"])
      expect(() => parseSeeds(bad), bad).toThrow(/is not a seed/);
  });

  it("a --seed the user did not type does not move the start of --seeds", () => {
    expect(resolveSeeds({ seeds: "2" }, 4, false)).toEqual([1, 2]);
    expect(resolveSeeds({ seeds: "2" }, 4, true)).toEqual([1, 2]);
    expect(resolveSeeds({ seed: "5", seeds: "2" }, 4, false)).toEqual([1, 2]);
    expect(() => resolveSeeds({ seeds: "two" }, 4, false)).toThrow(/^--seeds: 'two' is not a seed/);
  });
});
