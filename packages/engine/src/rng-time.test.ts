// The distributions of the PRNG streams and the time helpers at their edges: each case checks a
// property a wrong formula, bound or unit would break (measured over many draws of a fixed seed).
import { describe, expect, it } from "vitest";
import {
  assertTime,
  DurationParseError,
  formatDuration,
  InvalidTimeError,
  NS_PER_S,
  nsToTb,
  parseDuration,
  RngRoot,
  SimError,
  tbToNs,
} from "./index.js";

const N = 20_000;
function stats(draw: () => number): { mean: number; sd: number; min: number; max: number; median: number } {
  const xs = Array.from({ length: N }, draw);
  const mean = xs.reduce((a, b) => a + b, 0) / N;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (N - 1));
  const sorted = [...xs].sort((a, b) => a - b);
  return { mean, sd, min: sorted[0], max: sorted[N - 1], median: sorted[N >> 1] };
}

describe("PRNG stream distributions", () => {
  it("next() is uniform on [0, 1): mean 1/2, standard deviation 1/sqrt(12)", () => {
    const r = new RngRoot(11).stream("u");
    const s = stats(() => r.next());
    expect(s.min).toBeGreaterThanOrEqual(0);
    expect(s.max).toBeLessThan(1);
    expect(s.mean).toBeCloseTo(0.5, 1);
    expect(s.sd).toBeCloseTo(1 / Math.sqrt(12), 2);
  });

  it("uniform(min, max) stays in [min, max) and centres on the middle", () => {
    const r = new RngRoot(12).stream("u");
    const s = stats(() => r.uniform(10, 30));
    expect(s.min).toBeGreaterThanOrEqual(10);
    expect(s.max).toBeLessThan(30);
    expect(s.min).toBeLessThan(10.1);
    expect(s.max).toBeGreaterThan(29.9);
    expect(s.mean).toBeGreaterThan(19.7);
    expect(s.mean).toBeLessThan(20.3);
  });

  it("uint32() covers the whole unsigned 32-bit range", () => {
    const r = new RngRoot(13).stream("w");
    const s = stats(() => r.uint32());
    expect(s.min).toBeGreaterThanOrEqual(0);
    expect(s.max).toBeLessThan(2 ** 32);
    expect(s.max).toBeGreaterThan(2 ** 31);
    expect(Number.isInteger(s.mean * N)).toBe(true);
  });

  it("bool(p) is true with probability p", () => {
    const r = new RngRoot(14).stream("b");
    const share = (p?: number) => {
      let t = 0;
      for (let i = 0; i < N; i++) if (r.bool(p)) t++;
      return t / N;
    };
    expect(share(0)).toBe(0);
    expect(share(1)).toBe(1);
    expect(share()).toBeGreaterThan(0.48);
    expect(share()).toBeLessThan(0.52);
    expect(share(0.1)).toBeGreaterThan(0.09);
    expect(share(0.1)).toBeLessThan(0.11);
  });

  it("normal(mean, sd) has that mean and standard deviation and is symmetric", () => {
    const r = new RngRoot(15).stream("n");
    const s = stats(() => r.normal(50, 4));
    expect(s.mean).toBeGreaterThan(49.9);
    expect(s.mean).toBeLessThan(50.1);
    expect(s.sd).toBeGreaterThan(3.9);
    expect(s.sd).toBeLessThan(4.1);
    expect(s.median).toBeCloseTo(50, 0);
    const d = stats(() => r.normal());
    expect(Math.abs(d.mean)).toBeLessThan(0.03);
    expect(d.sd).toBeGreaterThan(0.97);
    expect(d.sd).toBeLessThan(1.03);
  });

  it("exponential(mean) is positive with standard deviation equal to its mean", () => {
    const r = new RngRoot(16).stream("e");
    const s = stats(() => r.exponential(10));
    expect(s.min).toBeGreaterThanOrEqual(0);
    expect(s.sd).toBeGreaterThan(9.5);
    expect(s.sd).toBeLessThan(10.5);
    // median of an exponential: mean * ln 2
    expect(s.median).toBeGreaterThan(10 * Math.LN2 * 0.95);
    expect(s.median).toBeLessThan(10 * Math.LN2 * 1.05);
  });

  it("logNormal(median, sigma) has that median and the log has that spread", () => {
    const r = new RngRoot(17).stream("l");
    const s = stats(() => r.logNormal(1000, 0.15));
    expect(s.median).toBeGreaterThan(990);
    expect(s.median).toBeLessThan(1010);
    const logs = stats(() => Math.log(r.logNormal(1000, 0.15)));
    expect(logs.sd).toBeGreaterThan(0.145);
    expect(logs.sd).toBeLessThan(0.155);
  });

  it("logNormal(median, sigma) is median * exp(normal(0, sigma)) of the same draws, to the last bit", () => {
    // the simulations' cost jitter: the same seed must give the same figures as it always did
    const a = new RngRoot(19).stream("j");
    const b = new RngRoot(19).stream("j");
    for (let i = 0; i < 5000; i++) {
      const median = 1 + (i % 97) * 13.5;
      const sigma = 0.05 + (i % 7) * 0.05;
      expect(a.logNormal(median, sigma)).toBe(median * Math.exp(b.normal(0, sigma)));
    }
  });

  it("int(min, max) reaches both bounds; min = max gives that value", () => {
    const r = new RngRoot(18).stream("i");
    const s = stats(() => r.int(-3, 3));
    expect(s.min).toBe(-3);
    expect(s.max).toBe(3);
    expect(r.int(7, 7)).toBe(7);
    expect(() => r.int(0.5, 2)).toThrow(/bounds must be safe integers/);
    expect(() => r.int(0, 2 ** 53)).toThrow(SimError);
    expect(() => r.int(1, 0)).toThrow("Rng.int(1, 0): bounds must be safe integers with min <= max");
  });

  it("pick() reaches every element; on an empty list it names the stream", () => {
    const r = new RngRoot(19).stream("picker");
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(r.pick(["a", "b", "c"]));
    expect([...seen].sort()).toEqual(["a", "b", "c"]);
    expect(() => r.pick([])).toThrow("Rng.pick on an empty list (stream 'picker')");
  });

  it("fork(child) is the stream named name/child, independent of the parent's draws", () => {
    const root = new RngRoot(20);
    const parent = root.stream("host0");
    parent.next();
    const child = parent.fork("cpu1");
    expect(child.name).toBe("host0/cpu1");
    const same = new RngRoot(20).stream("host0/cpu1");
    for (let i = 0; i < 5; i++) expect(child.next()).toBe(same.next());
  });

  it("the same name gives the same stream object; seeds of any type are used as their text", () => {
    const root = new RngRoot(21n);
    expect(root.stream("x")).toBe(root.stream("x"));
    expect(root.seed).toBe("21");
    const a = new RngRoot(21).stream("x");
    const b = new RngRoot("21").stream("x");
    expect(a.next()).toBe(b.next());
    expect(new RngRoot(0).stream("x").next()).not.toBe(new RngRoot(1).stream("x").next());
    expect(() => new RngRoot(Number.POSITIVE_INFINITY)).toThrow(
      "seed must be a finite number, a bigint or a string, got Infinity",
    );
  });
});

describe("time helpers at their edges", () => {
  it("nsToTb floors and tbToNs rounds up", () => {
    expect(nsToTb(1)).toBe(0);
    expect(nsToTb(2)).toBe(1); // 1.024 ticks
    expect(nsToTb(1999)).toBe(1023); // 1023.488
    expect(tbToNs(1)).toBe(2); // 1.953 ns
    expect(tbToNs(0)).toBe(0);
    expect(tbToNs(3)).toBe(6); // 5.859
  });

  it("assertTime accepts 0 and rejects negative, non-finite and non-number values naming what", () => {
    expect(() => assertTime(0, "delay")).not.toThrow();
    expect(() => assertTime(1.5, "delay")).not.toThrow();
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, "5" as unknown as number]) {
      expect(() => assertTime(bad, "the delay")).toThrow(InvalidTimeError);
    }
    expect(() => assertTime(-1, "the delay")).toThrow(
      "the delay must be a finite, non-negative number of nanoseconds, got -1",
    );
  });

  it("parses every unit, with spaces and sums of parts", () => {
    const cases: [string, number][] = [
      ["7ns", 7],
      ["7us", 7_000],
      ["7µs", 7_000],
      ["7ms", 7_000_000],
      ["7s", 7 * NS_PER_S],
      ["2m", 120 * NS_PER_S],
      ["2min", 120 * NS_PER_S],
      ["2h", 7200 * NS_PER_S],
      ["2d", 172_800 * NS_PER_S],
      [" 3 s ", 3 * NS_PER_S],
      ["1s500ms", 1_500_000_000],
      ["1m30s", 90 * NS_PER_S],
      ["2.6", 3],
      ["0.0004us", 0],
    ];
    for (const [text, ns] of cases) expect([text, parseDuration(text)]).toEqual([text, ns]);
    const err = (() => {
      try {
        parseDuration("10s5");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DurationParseError);
    expect(String(err)).toBe(
      "DurationParseError: invalid duration '10s5': use a number with a unit (ns, us, ms, s, m, h, d), e.g. 10s or 1h30m",
    );
  });

  it("formats at each unit boundary and keeps the sign", () => {
    expect(formatDuration(999)).toBe("999 ns");
    expect(formatDuration(1000)).toBe("1 us");
    expect(formatDuration(999_499)).toBe("999 us");
    expect(formatDuration(1_000_000)).toBe("1 ms");
    expect(formatDuration(NS_PER_S)).toBe("1 s");
    expect(formatDuration(3599 * NS_PER_S)).toBe("3599 s");
    expect(formatDuration(3600 * NS_PER_S)).toBe("1 h");
    expect(formatDuration(5400 * NS_PER_S)).toBe("1.5 h");
    expect(formatDuration(-1500)).toBe("-1.5 us");
    expect(formatDuration(-2_000_000)).toBe("-2 ms");
    expect(formatDuration(0.4)).toBe("0 ns");
  });

  it("errors carry their class name for messages", () => {
    expect(String(new InvalidTimeError("x"))).toBe("InvalidTimeError: x");
    expect(new InvalidTimeError("x")).toBeInstanceOf(SimError);
    expect(String(new SimError("y"))).toBe("SimError: y");
  });
});
