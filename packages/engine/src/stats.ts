import { createRequire } from "node:module";
import type * as hdr from "hdr-histogram-js";
import { SimError } from "./errors.js";

let hdrLib: typeof hdr | undefined;
/**
 * hdr-histogram-js, loaded by the first histogram: its module (with pako and a WebAssembly build)
 * is ~45 files that a process without latency histograms (a boot sweep's worker) need not load.
 */
function hdrHistogram(): typeof hdr {
  hdrLib ??= createRequire(import.meta.url)("hdr-histogram-js") as typeof hdr;
  return hdrLib;
}

/** A monotonically increasing count (exits, idle entries, context switches ...). */
export class Counter {
  value = 0;
  constructor(readonly name: string) {}
  inc(by = 1): void {
    this.value += by;
  }
  reset(): void {
    this.value = 0;
  }
}

export interface LatencySummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  median: number;
  p90: number;
  p99: number;
  p999: number;
}

/**
 * A latency histogram in nanoseconds. Count, min, max, mean and standard deviation are exact
 * (Welford's algorithm); percentiles come from an HdrHistogram (hdr-histogram-js) with three
 * significant digits, so memory stays bounded however many samples are recorded.
 */
export class LatencyHistogram {
  private readonly h: hdr.Histogram;
  private n = 0;
  private _min = Number.POSITIVE_INFINITY;
  private _max = Number.NEGATIVE_INFINITY;
  private _mean = 0;
  private m2 = 0;

  constructor(readonly name: string) {
    this.h = hdrHistogram().build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000_000,
      numberOfSignificantValueDigits: 3,
      // 32-bit counts, not "packed": hdr-histogram-js's packed array throws ("Attempting access at
      // index 45205, beyond virtualLength 45056") once autoResize grows it to months of ns (a
      // fleet's per-VM downtime over 365 days). autoResize grows the range past the first hour.
      bitBucketSize: 32,
      useWebAssembly: false,
      autoResize: true,
    });
  }

  /** Records one latency, in ns (finite and non-negative). */
  record(ns: number): void {
    if (!(ns >= 0) || !Number.isFinite(ns)) {
      throw new SimError(`latency '${this.name}' must be a finite, non-negative number of ns, got ${ns}`);
    }
    this.n++;
    if (ns < this._min) this._min = ns;
    if (ns > this._max) this._max = ns;
    const d = ns - this._mean;
    this._mean += d / this.n;
    this.m2 += d * (ns - this._mean);
    this.h.recordValue(Math.max(1, Math.round(ns)));
  }

  get count(): number {
    return this.n;
  }
  get min(): number {
    return this.n ? this._min : Number.NaN;
  }
  get max(): number {
    return this.n ? this._max : Number.NaN;
  }
  get mean(): number {
    return this.n ? this._mean : Number.NaN;
  }
  /** Population standard deviation. */
  get stddev(): number {
    return this.n ? Math.sqrt(this.m2 / this.n) : Number.NaN;
  }
  /** Value at percentile p (0-100), to three significant digits. */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new SimError(`percentile must be within 0..100, got ${p}`);
    if (this.n === 0) return Number.NaN;
    const v = this.h.getValueAtPercentile(p);
    return Math.min(Math.max(v, this._min), this._max);
  }
  get median(): number {
    return this.percentile(50);
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      min: this.min,
      max: this.max,
      mean: this.mean,
      stddev: this.stddev,
      median: this.median,
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
    };
  }

  reset(): void {
    this.h.reset();
    this.n = 0;
    this._min = Number.POSITIVE_INFINITY;
    this._max = Number.NEGATIVE_INFINITY;
    this._mean = 0;
    this.m2 = 0;
  }
}

/** Named counters and histograms of one simulation. */
export class StatsRegistry {
  private readonly counters = new Map<string, Counter>();
  private readonly histograms = new Map<string, LatencyHistogram>();

  counter(name: string): Counter {
    let c = this.counters.get(name);
    if (c === undefined) {
      c = new Counter(name);
      this.counters.set(name, c);
    }
    return c;
  }

  histogram(name: string): LatencyHistogram {
    let h = this.histograms.get(name);
    if (h === undefined) {
      h = new LatencyHistogram(name);
      this.histograms.set(name, h);
    }
    return h;
  }

  /** Counter values by name, sorted by name. */
  counterValues(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of [...this.counters.keys()].sort()) out[name] = this.counters.get(name)!.value;
    return out;
  }

  histogramSummaries(): Record<string, LatencySummary> {
    const out: Record<string, LatencySummary> = {};
    for (const name of [...this.histograms.keys()].sort()) out[name] = this.histograms.get(name)!.summary();
    return out;
  }
}
