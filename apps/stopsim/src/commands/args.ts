// Option values shared by the commands: seeds and durations, with usage errors on bad input.
import { parseDuration, type TimeNs } from "@stopsim/engine";
import { UsageError } from "../errors.js";

/** `--seed`: a whole number stays a number, anything else is a string seed. */
export function parseSeed(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

/** A duration option ("10ms", "24h"); a malformed one is a usage error naming the option. */
export function parseDurationOption(text: string, option: string): TimeNs {
  try {
    return parseDuration(text);
  } catch (e) {
    throw new UsageError(`${option}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
