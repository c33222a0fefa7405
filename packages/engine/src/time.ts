import { DurationParseError, InvalidTimeError } from "./errors.js";

/**
 * Virtual time is a plain number of nanoseconds. A double holds integers exactly up to 2^53 ns,
 * about 104 days of simulated time, far beyond any run this project makes; integer nanoseconds
 * keep event ordering exact.
 */
export type TimeNs = number;

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

/** POWER9 timebase frequency: 512 MHz (qemu: hw/ppc/spapr.c, timebase-frequency 0x1e848000). */
export const TB_FREQ_HZ = 512_000_000;
/** Timebase ticks per nanosecond (0.512). */
export const TB_TICKS_PER_NS = TB_FREQ_HZ / NS_PER_S;

// 512 MHz is exactly 64/125 ticks per ns: integer arithmetic stays exact while ns * 64 < 2^53,
// that is for about 39 hours of simulated time.
/** Timebase ticks elapsed at virtual time `ns` (floor, as the hardware counter reads). */
export function nsToTb(ns: TimeNs): number {
  return Math.floor((ns * 64) / 125);
}

/** Virtual time in ns of timebase value `tb` (ceil, so that nsToTb(tbToNs(tb)) >= tb). */
export function tbToNs(tb: number): TimeNs {
  return Math.ceil((tb * 125) / 64);
}

export function assertTime(value: number, what: string): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new InvalidTimeError(
      `${what} must be a finite, non-negative number of nanoseconds, got ${String(value)}`,
    );
  }
}

const UNITS: Record<string, number> = {
  ns: 1,
  us: NS_PER_US,
  µs: NS_PER_US,
  ms: NS_PER_MS,
  s: NS_PER_S,
  m: 60 * NS_PER_S,
  min: 60 * NS_PER_S,
  h: 3600 * NS_PER_S,
  d: 86400 * NS_PER_S,
};

/**
 * Parses a duration such as "10s", "500us", "1.5ms", "24h" or "1h30m" into nanoseconds.
 * A bare number is taken as nanoseconds.
 */
export function parseDuration(text: string): TimeNs {
  const s = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s));
  const re = /(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|min|s|m|h|d)/gy;
  let total = 0;
  let pos = 0;
  let match: RegExpExecArray | null = re.exec(s);
  while (match !== null) {
    total += Number(match[1]) * (UNITS[match[2]] ?? 0);
    pos = re.lastIndex;
    match = pos < s.length ? re.exec(s) : null;
  }
  if (s.length === 0 || pos !== s.length) {
    throw new DurationParseError(
      `invalid duration '${text}': use a number with a unit (ns, us, ms, s, m, h, d), e.g. 10s or 1h30m`,
    );
  }
  return Math.round(total);
}

/** Formats nanoseconds for humans: "950 ns", "5.01 us", "29.2 ms", "10 s". */
export function formatDuration(ns: TimeNs): string {
  const a = Math.abs(ns);
  if (a < NS_PER_US) return `${Math.round(ns)} ns`;
  if (a < NS_PER_MS) return `${+(ns / NS_PER_US).toPrecision(3)} us`;
  if (a < NS_PER_S) return `${+(ns / NS_PER_MS).toPrecision(3)} ms`;
  if (a < 3600 * NS_PER_S) return `${+(ns / NS_PER_S).toPrecision(4)} s`;
  return `${+(ns / (3600 * NS_PER_S)).toPrecision(4)} h`;
}
