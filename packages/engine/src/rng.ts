import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";
import { SimError } from "./errors.js";

/** Mixes a 32-bit value (the finaliser of MurmurHash3). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes a string into four independent 32-bit words (a 128-bit generator state). */
function hash128(text: string): [number, number, number, number] {
  let h1 = 0x6a09e667;
  let h2 = 0xbb67ae85;
  let h3 = 0x3c6ef372;
  let h4 = 0xa54ff53a;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = fmix32(h1 ^ text.length);
  h2 = fmix32(h2 ^ h1);
  h3 = fmix32(h3 ^ h2);
  h4 = fmix32(h4 ^ h3);
  // xoroshiro128+ must not start from the all-zero state
  if ((h1 | h2 | h3 | h4) === 0) h1 = 1;
  return [h1 | 0, h2 | 0, h3 | 0, h4 | 0];
}

/**
 * One independent random stream (xoroshiro128+ from pure-rand), derived from the simulation's
 * root seed and the stream's name: adding a stream never changes another stream's sequence.
 */
export class Rng {
  private readonly gen: RandomGenerator;

  constructor(
    readonly name: string,
    private readonly rootSeed: string,
  ) {
    this.gen = xoroshiro128plusFromState(hash128(`${rootSeed}\u0000${name}`));
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform 32-bit unsigned integer. */
  uint32(): number {
    return this.gen.next() >>> 0;
  }

  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min) {
      throw new SimError(`Rng.int(${min}, ${max}): bounds must be safe integers with min <= max`);
    }
    return uniformInt(this.gen, min, max);
  }

  /** Uniform float in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** True with probability p. */
  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** Exponentially distributed value with the given mean (for Poisson arrivals). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Normally distributed value (Box-Muller). */
  normal(mean = 0, stddev = 1): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + stddev * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal value whose median is `median` and whose log has standard deviation `sigma`. */
  logNormal(median: number, sigma: number): number {
    // median * exp(normal(0, sigma)), written out: the cost jitter of every modelled code path
    // draws here, and the same draws give the same value to the last bit
    const u = 1 - this.next();
    const v = this.next();
    return median * Math.exp(0 + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }

  /** A uniformly chosen element. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new SimError(`Rng.pick on an empty list (stream '${this.name}')`);
    return items[this.int(0, items.length - 1)];
  }

  /** A child stream named `${name}/${child}`. */
  fork(child: string): Rng {
    return new Rng(`${this.name}/${child}`, this.rootSeed);
  }
}

/** The simulation's single seeded source of randomness; hands out named streams. */
export class RngRoot {
  readonly seed: string;
  /**
   * The partition this root serves (see `partition()`), or null for the model's own root. Each
   * stream belongs to the first partition that asks for it; another partition asking for it gets
   * an error, since its draws would then depend on how the partitions interleave.
   */
  private owner: string | null = null;
  private streams = new Map<string, Rng>();
  private owners = new Map<string, string>();
  private instances = new Map<string, number>();

  constructor(seed: number | bigint | string) {
    if (typeof seed === "number" && !Number.isFinite(seed)) {
      throw new SimError(`seed must be a finite number, a bigint or a string, got ${seed}`);
    }
    this.seed = String(seed);
  }

  /** The stream of component `name`; the same name gives the same stream object. */
  stream(name: string): Rng {
    let s = this.streams.get(name);
    if (s === undefined) {
      s = new Rng(name, this.seed);
      this.streams.set(name, s);
      if (this.owner !== null) this.owners.set(name, this.owner);
    } else if (this.owner !== null) {
      const owner = this.owners.get(name);
      if (owner === undefined) this.owners.set(name, this.owner);
      else if (owner !== this.owner) {
        throw new SimError(
          `random stream '${name}' is used by partitions '${owner}' and '${this.owner}': partitions share no state; name the stream per entity (e.g. with its host's name) or put both in one partition`,
        );
      }
    }
    return s;
  }

  /**
   * The next instance number of component kind `kind` (0, 1, 2 ...), counted over the whole model
   * (every partition of it): stream names built from it never collide between partitions.
   */
  instance(kind: string): number {
    const n = this.instances.get(kind) ?? 0;
    this.instances.set(kind, n + 1);
    return n;
  }

  /**
   * A root for partition `owner` of this model: same seed, same streams and instance counters
   * (a stream draws the same numbers whichever partition holds it), each stream owned by one
   * partition only.
   */
  partition(owner: string): RngRoot {
    const r = new RngRoot(this.seed);
    r.owner = owner;
    r.streams = this.streams;
    r.owners = this.owners;
    r.instances = this.instances;
    return r;
  }
}
