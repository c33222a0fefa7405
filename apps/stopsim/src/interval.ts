// Confidence intervals over seeds. Each seed is one independent full-stack run, so a benchmark's
// figure per seed (e.g. the median wakeup latency of that run's samples) is one observation; the
// verdict is the median of those observations with a distribution-free interval from order
// statistics: for n sorted values x(1) <= ... <= x(n), [x(k), x(n+1-k)] holds the true median with
// probability 1 - 2 P(B <= k-1), B ~ Binomial(n, 1/2) (e.g. Conover, Practical Nonparametric
// Statistics, 3rd ed., section 3.2). No resampling and no random numbers: the interval is a pure
// function of the values, so it is the same on a pool and serially.

/** The method named in outputs. */
export const CI_METHOD = "order-statistics (distribution-free, binomial)";

export interface MedianInterval {
  /** Number of seeds (observations). */
  n: number;
  /** The median of the observations (the mean of the middle two for an even count). */
  median: number;
  /** Lower and upper bounds: order statistics x(k) and x(n+1-k). */
  lo: number;
  hi: number;
  /** The interval's exact coverage, 1 - 2 P(B <= k-1): at least `level` when n allows it. */
  coverage: number;
}

/** P(B <= k) for B ~ Binomial(n, 1/2), exactly for the n of a seed sweep (n <= 10,000). */
function binomialHalfCdf(n: number, k: number): number {
  // log-space terms: C(n, i) / 2^n
  let logTerm = -n * Math.LN2; // i = 0
  let sum = Math.exp(logTerm);
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log((n - i + 1) / i);
    sum += Math.exp(logTerm);
  }
  return Math.min(1, sum);
}

/**
 * The median of `values` with an order-statistics interval of coverage at least `level` (0.95 by
 * default). With too few values for that level (n < 6 at 95%) the interval is [min, max] and
 * `coverage` says what it is (93.75% for n = 5).
 */
export function medianInterval(values: readonly number[], level = 0.95): MedianInterval {
  const n = values.length;
  if (n === 0) throw new RangeError("medianInterval: no values");
  if (!(level > 0 && level < 1))
    throw new RangeError(`medianInterval: level must be in (0, 1), got ${level}`);
  const v = [...values].sort((a, b) => a - b);
  const median = n % 2 === 1 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  // the largest k whose interval still has the coverage asked for
  let k = 1;
  while (k + 1 <= Math.floor((n + 1) / 2) && 1 - 2 * binomialHalfCdf(n, k) >= level) k++;
  const coverage = 1 - 2 * binomialHalfCdf(n, k - 1);
  return { n, median, lo: v[k - 1], hi: v[n - k], coverage };
}
