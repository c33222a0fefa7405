import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DurationParseError,
  formatDuration,
  NS_PER_S,
  nsToTb,
  parseDuration,
  TB_FREQ_HZ,
  tbToNs,
} from "./index.js";

describe("time helpers", () => {
  it("converts between ns and the 512 MHz timebase", () => {
    expect(TB_FREQ_HZ).toBe(0x1e848000);
    expect(nsToTb(NS_PER_S)).toBe(512_000_000);
    expect(nsToTb(1000)).toBe(512);
    expect(tbToNs(512)).toBe(1000);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 46 }), (tb) => {
        expect(nsToTb(tbToNs(tb))).toBeGreaterThanOrEqual(tb);
        expect(nsToTb(tbToNs(tb) - 2)).toBeLessThan(tb + 1);
      }),
    );
  });

  it("parses durations with units", () => {
    expect(parseDuration("10s")).toBe(10 * NS_PER_S);
    expect(parseDuration("500us")).toBe(500_000);
    expect(parseDuration("1.5ms")).toBe(1_500_000);
    expect(parseDuration("24h")).toBe(24 * 3600 * NS_PER_S);
    expect(parseDuration("1h30m")).toBe(5400 * NS_PER_S);
    expect(parseDuration("250")).toBe(250);
  });

  it("rejects malformed durations with a message naming the fix", () => {
    for (const bad of ["", "ten seconds", "5 parsecs", "-3s", "1s garbage", "s"]) {
      expect(() => parseDuration(bad)).toThrow(DurationParseError);
    }
    expect(() => parseDuration("5x")).toThrow(/use a number with a unit/);
  });

  it("formats durations for humans", () => {
    expect(formatDuration(950)).toBe("950 ns");
    expect(formatDuration(5006)).toBe("5.01 us");
    expect(formatDuration(29_219_000)).toBe("29.2 ms");
  });
});
