// Option values shared by the commands: seeds, counts and durations, each with a documented maximum
// checked before any work. Bad input is a usage error (exit 2) naming the option as it was typed.
import { NS_PER_S, parseDuration, type TimeNs } from "@stopsim/engine";
import { UsageError } from "../errors.js";
import { LIMITS } from "../limits.js";

export { LIMITS };

const DAY = 86_400 * NS_PER_S;
const HOUR = 3_600 * NS_PER_S;

/**
 * `--seed`: an unsigned integer up to 2^64-1, parsed exactly (2^53 and 2^53+1 are different seeds).
 * Seeds up to 2^53-1 stay numbers; larger ones become their canonical decimal text, which seeds the
 * same streams a bigint would. Anything else is refused.
 */
export function parseSeed(text: string, option = "--seed"): number | string {
  const t = String(text).trim();
  if (!/^\d+$/.test(t))
    throw new UsageError(`${option} must be an unsigned integer (0 to 18446744073709551615), got '${text}'`);
  const n = BigInt(t);
  if (n > LIMITS.seedMax)
    throw new UsageError(`${option} ${text} is above the largest seed, 2^64-1 = ${LIMITS.seedMax}`);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

/** A duration option ("10ms", "24h"); malformed, non-positive or above `maxNs` is a usage error. */
export function parseDurationOption(
  text: string,
  option: string,
  maxNs: number = Number.MAX_SAFE_INTEGER,
  hint = "",
): TimeNs {
  let ns: number;
  try {
    ns = parseDuration(text);
  } catch (e) {
    throw new UsageError(`${option}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!(ns > 0)) throw new UsageError(`${option} must be positive, e.g. 50ms, got '${text}'`);
  if (ns > maxNs)
    throw new UsageError(`${option} ${text} is above the maximum of ${formatLimit(maxNs)}${hint}`);
  return ns;
}

function formatLimit(ns: number): string {
  if (ns % DAY === 0) return `${ns / DAY}d`;
  if (ns % HOUR === 0) return `${ns / HOUR}h`;
  if (ns % NS_PER_S === 0) return `${ns / NS_PER_S}s`;
  return `${ns} ns`;
}

/** A whole-number option within [min, max]; "1e9", "1.5", "-3" and "abc" are refused. */
export function parseCount(text: string, option: string, min: number, max: number): number {
  const t = String(text).trim();
  const n = /^\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got '${text}'`);
  if (n < min || n > max)
    throw new UsageError(`${option} ${text} is out of range: use ${min} to ${max.toLocaleString("en")}`);
  return n;
}
