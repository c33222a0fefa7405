// Seed lists: every verdict (matrix cell, benchmark median, fleet probe) is taken over several
// seeds. `--seeds` is a count ("10": seeds first..first+9), a range ("3..12") or a list ("1,5,9").
import { parseSeed } from "./commands/args.js";
import { UsageError } from "./errors.js";
import { LIMITS } from "./limits.js";

/** More seeds than this is a usage error: each one is a full-stack run per cell or case. */
export const MAX_SEEDS = LIMITS.seeds;

const SEED = /^\d+$/;

function seedNumber(text: string, option: string): number {
  const t = text.trim();
  const n = Number(t);
  if (!SEED.test(t) || !Number.isSafeInteger(n)) {
    throw new UsageError(
      `${option}: '${text}' is not a seed; seeds are whole numbers (e.g. --seeds 10, 3..12 or 1,5,9)`,
    );
  }
  return n;
}

function checkCount(count: number, option: string): void {
  if (count > MAX_SEEDS) {
    throw new UsageError(`${option}: ${count} seeds is more than the limit of ${MAX_SEEDS}; use fewer seeds`);
  }
}

/**
 * Parses `--seeds`: "N" is N seeds from `first` on, "a..b" the seeds a to b inclusive, "a,b,c" a
 * list (in the order given, duplicates rejected). A bad spec is a usage error naming the fix.
 */
export function parseSeeds(text: string, option = "--seeds", first = 1): number[] {
  const t = text.trim();
  if (t.includes("..")) {
    const [a, b, ...rest] = t.split("..");
    if (rest.length > 0 || a === undefined || b === undefined) {
      throw new UsageError(`${option}: '${text}' is not a range; write it as FIRST..LAST, e.g. 3..12`);
    }
    const lo = seedNumber(a, option);
    const hi = seedNumber(b, option);
    if (hi < lo) throw new UsageError(`${option}: range '${text}' ends before it starts; write ${hi}..${lo}`);
    checkCount(hi - lo + 1, option);
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  }
  if (t.includes(",")) {
    const list = t.split(",").map((s) => seedNumber(s, option));
    const seen = new Set<number>();
    for (const s of list) {
      if (seen.has(s)) throw new UsageError(`${option}: seed ${s} is listed twice; list each seed once`);
      seen.add(s);
    }
    checkCount(list.length, option);
    return list;
  }
  const n = seedNumber(t, option);
  if (n < 1) throw new UsageError(`${option}: the number of seeds must be at least 1, got '${text}'`);
  checkCount(n, option);
  return Array.from({ length: n }, (_, i) => first + i);
}

/**
 * The seeds of a command that takes both `--seed` (one run, to replay a seed) and `--seeds`:
 * `--seeds` wins; a `--seed` given alone is that one seed; neither gives `defaultCount` seeds from 1.
 */
export function resolveSeeds(
  o: { seed?: string; seeds?: string },
  defaultCount: number,
  seedGiven: boolean,
): (number | string)[] {
  if (o.seeds !== undefined) {
    const first = o.seed !== undefined && seedGiven ? seedNumber(o.seed, "--seed") : 1;
    return parseSeeds(o.seeds, "--seeds", first);
  }
  // one seed replays a run: any seed `--seed` takes (up to 2^64-1)
  if (seedGiven && o.seed !== undefined) return [parseSeed(o.seed)];
  return parseSeeds(String(defaultCount), "--seeds");
}

/** Seeds as the CLI takes them back: "1..10" for a run of consecutive seeds, else "1,5,9". */
export function formatSeeds(seeds: readonly (number | string)[]): string {
  const prev = (i: number) => seeds[i - 1];
  if (
    seeds.length > 2 &&
    seeds.every((s, i) => typeof s === "number" && (i === 0 || s === Number(prev(i)) + 1))
  ) {
    return `${seeds[0]}..${seeds[seeds.length - 1]}`;
  }
  return seeds.join(",");
}
