// Turns validated ReportData into what the page needs: chart series in display units (the JSON
// the inline client script reads) and the summary tables that are the charts' text alternatives.
import type {
  FleetData,
  LatencyData,
  LatencyReference,
  SeedInterval,
  TimelineData,
  TimelineState,
} from "./model.js";
import { TIMELINE_STATES } from "./model.js";
import { POWER9_WAKEUP_REFERENCE } from "./reference.js";

export interface TimeUnit {
  /** Axis unit label: "ns", "µs", "ms" or "s". */
  label: string;
  /** ns per unit. */
  ns: number;
}

const UNITS: readonly TimeUnit[] = [
  { label: "ns", ns: 1 },
  { label: "µs", ns: 1e3 },
  { label: "ms", ns: 1e6 },
  { label: "s", ns: 1e9 },
  { label: "min", ns: 60e9 },
  { label: "h", ns: 3600e9 },
];

/** The largest unit in which a span of `spanNs` is at least 10 (ns for tiny spans). */
export function chooseTimeUnit(spanNs: number): TimeUnit {
  let unit = UNITS[0];
  for (const u of UNITS) if (spanNs >= 10 * u.ns) unit = u;
  return unit;
}

/** "12.3 µs": a duration in ns with three significant digits in the unit that fits it. */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return "n/a";
  let unit = UNITS[0];
  for (const u of UNITS) if (Math.abs(ns) >= u.ns) unit = u;
  const v = ns / unit.ns;
  const digits = Math.abs(v) >= 100 || v === 0 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${unit.label}`;
}

/** Per-state presentation: a label, a short tag drawn inside wide bars, colour, bar height. */
export const STATE_STYLE: Record<
  TimelineState,
  { label: string; tag: string; color: string; height: number }
> = {
  running: { label: "running", tag: "run", color: "#009E73", height: 1 },
  snooze: { label: "snooze", tag: "snz", color: "#F0E442", height: 0.8 },
  stop0lite: { label: "stop0lite (native)", tag: "s0l", color: "#56B4E9", height: 0.6 },
  "stop0lite-emulated": { label: "stop0lite (emulated trap)", tag: "emu", color: "#E69F00", height: 0.6 },
  cede: { label: "CEDE", tag: "cede", color: "#0072B2", height: 0.4 },
  halted: { label: "halted", tag: "halt", color: "#999999", height: 0.25 },
};

export interface ClientTimeline {
  runLabel: string;
  unit: TimeUnit;
  startNs: number;
  endNs: number;
  vcpus: string[];
  /** One entry per state that occurs: segments as [vcpuIndex, start, end] in `unit`. */
  states: {
    state: TimelineState;
    label: string;
    tag: string;
    color: string;
    height: number;
    data: number[][];
  }[];
  /** One entry per marker name: [time in `unit`, vcpuIndex, detail index into `details`]. */
  markers: { name: string; data: number[][] }[];
  details: string[];
}

export interface TimelineSummary {
  vcpus: { name: string; ns: Record<TimelineState, number>; totalNs: number; markers: number }[];
  markerNames: { name: string; count: number }[];
  spanNs: number;
}

function listOf<K>(map: Map<K, number[][]>, key: K): number[][] {
  let list = map.get(key);
  if (!list) {
    list = [];
    map.set(key, list);
  }
  return list;
}

export function prepareTimeline(
  t: TimelineData,
): { client: ClientTimeline; summary: TimelineSummary } | null {
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const v of t.vcpus) {
    for (const s of v.segments) {
      start = Math.min(start, s.start);
      end = Math.max(end, s.end);
    }
    for (const m of v.markers) {
      start = Math.min(start, m.time);
      end = Math.max(end, m.time);
    }
  }
  if (!Number.isFinite(start)) return null;
  if (end === start) end = start + 1;
  const unit = chooseTimeUnit(end - start);
  const byState = new Map<TimelineState, number[][]>();
  const byMarker = new Map<string, number[][]>();
  const details: string[] = [];
  const detailIndex = new Map<string, number>();
  const summary: TimelineSummary = { vcpus: [], markerNames: [], spanNs: end - start };
  const markerCounts = new Map<string, number>();
  t.vcpus.forEach((v, vi) => {
    const ns = Object.fromEntries(TIMELINE_STATES.map((s) => [s, 0])) as Record<TimelineState, number>;
    let total = 0;
    for (const s of v.segments) {
      listOf(byState, s.state).push([vi, s.start / unit.ns, s.end / unit.ns]);
      ns[s.state] += s.end - s.start;
      total += s.end - s.start;
    }
    for (const m of v.markers) {
      const list = listOf(byMarker, m.name);
      let di = -1;
      if (m.detail) {
        di = detailIndex.get(m.detail) ?? -1;
        if (di < 0) {
          di = details.push(m.detail) - 1;
          detailIndex.set(m.detail, di);
        }
      }
      list.push([m.time / unit.ns, vi, di]);
      markerCounts.set(m.name, (markerCounts.get(m.name) ?? 0) + 1);
    }
    summary.vcpus.push({ name: v.name, ns, totalNs: total, markers: v.markers.length });
  });
  summary.markerNames = [...markerCounts].map(([name, count]) => ({ name, count }));
  const client: ClientTimeline = {
    runLabel: t.runLabel,
    unit,
    startNs: start,
    endNs: end,
    vcpus: t.vcpus.map((v) => v.name),
    states: TIMELINE_STATES.filter((s) => byState.has(s)).map((s) => ({
      state: s,
      ...STATE_STYLE[s],
      data: byState.get(s) ?? [],
    })),
    markers: [...byMarker].map(([name, data]) => ({ name, data })),
    details,
  };
  return { client, summary };
}

/** Exact median (mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Value at quantile q (0 < q <= 1) of sorted values (at least one), nearest rank. */
function quantileSorted(sorted: Float64Array, q: number): number {
  return sorted[Math.ceil(q * sorted.length) - 1];
}

export const HISTOGRAM_BINS = 48;

/**
 * Top of a histogram's axis that outliers do not flatten: the 99.5th percentile, but no further
 * than Tukey's far-out fence (third quartile + 3 x interquartile range). Samples above it are
 * counted as beyond the axis, not drawn.
 */
export function robustTop(sorted: Float64Array): number {
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  const fence = q3 + 3 * (q3 - q1);
  const p995 = quantileSorted(sorted, 0.995);
  // a fence of zero width (all samples equal in the middle half) would hide the tails entirely
  return q3 > q1 ? Math.min(p995, Math.max(fence, q3)) : p995;
}

export interface LatencyKindStats {
  count: number;
  medianNs: number;
  /** Samples above the chart's range (cut where outliers start: see `robustTop`). */
  beyond: number;
  /** Step-histogram points [left edge µs, count], plus a closing point at the right edge. */
  points: number[][];
  reference?: { medianNs: number; rangeNs?: [number, number] };
  /** The median over seeds with its interval, when the data has one. */
  interval?: SeedInterval;
}

export interface ClientLatencyState {
  state: string;
  /** Largest sample, µs, when some lie beyond the axis (they are counted, not drawn). */
  beyondMaxUs?: number;
  loUs: number;
  hiUs: number;
  timer: LatencyKindStats;
  ipi: LatencyKindStats;
}

export interface LatencySummaryRow {
  state: string;
  timer: LatencyKindStats;
  ipi: LatencyKindStats;
  hasSamples: boolean;
}

function histogram(
  samples: readonly number[],
  lo: number,
  hi: number,
  bins: number,
): { points: number[][]; beyond: number } {
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  let beyond = 0;
  for (const s of samples) {
    if (s > hi) {
      beyond++;
      continue;
    }
    // lo is at or below every sample; a sample at hi itself goes in the last bin
    counts[Math.min(bins - 1, Math.floor((s - lo) / width))]++;
  }
  const points = counts.map((c, i) => [(lo + i * width) / 1e3, c]);
  points.push([hi / 1e3, counts[bins - 1]]);
  return { points, beyond };
}

export function prepareLatency(l: LatencyData): { client: ClientLatencyState[]; rows: LatencySummaryRow[] } {
  const references: readonly LatencyReference[] = l.reference ?? POWER9_WAKEUP_REFERENCE;
  const refByState = new Map(references.map((r) => [r.state, r]));
  const client: ClientLatencyState[] = [];
  const rows: LatencySummaryRow[] = [];
  const stateNames = new Set(l.states.map((s) => s.state));
  for (const s of l.states) {
    const ref = refByState.get(s.state);
    const all = Float64Array.from([...s.timer.samples, ...s.ipi.samples]).sort();
    const hasSamples = all.length > 0;
    const refTimer = ref ? { medianNs: ref.timerMedianNs, rangeNs: ref.timerRangeNs } : undefined;
    const refIpi = ref ? { medianNs: ref.ipiMedianNs, rangeNs: ref.ipiRangeNs } : undefined;
    const refValues = ref
      ? [ref.timerMedianNs, ref.ipiMedianNs, ...(ref.timerRangeNs ?? []), ...(ref.ipiRangeNs ?? [])]
      : [];
    let lo = Math.min(hasSamples ? all[0] : Number.POSITIVE_INFINITY, ...refValues);
    let hi = Math.max(hasSamples ? robustTop(all) : 0, ...refValues);
    if (!Number.isFinite(lo)) lo = 0;
    if (hi <= lo) hi = lo + Math.max(1, lo * 0.01);
    // a little air on both sides, never below 0, edges on round numbers for the axis labels
    const pad = (hi - lo) * 0.04;
    const step = 10 ** Math.floor(Math.log10(hi - lo + 2 * pad)) / 2;
    lo = Math.max(0, Math.floor((lo - pad) / step) * step);
    hi = Math.ceil((hi + pad) / step) * step;
    const kind = (
      samples: readonly number[],
      reference: LatencyKindStats["reference"],
      interval: SeedInterval | undefined,
    ): LatencyKindStats => {
      const h = histogram(samples, lo, hi, HISTOGRAM_BINS);
      return {
        count: samples.length,
        medianNs: median(samples),
        beyond: h.beyond,
        points: h.points,
        reference,
        ...(interval ? { interval } : {}),
      };
    };
    const timer = kind(s.timer.samples, refTimer, s.timerInterval);
    const ipi = kind(s.ipi.samples, refIpi, s.ipiInterval);
    rows.push({ state: s.state, timer, ipi, hasSamples });
    if (hasSamples)
      client.push({
        state: s.state,
        loUs: lo / 1e3,
        hiUs: hi / 1e3,
        timer,
        ipi,
        ...(timer.beyond + ipi.beyond > 0 ? { beyondMaxUs: all[all.length - 1] / 1e3 } : {}),
      });
  }
  for (const r of references) {
    if (stateNames.has(r.state)) continue;
    const none = (medianNs: number, rangeNs?: [number, number]): LatencyKindStats => ({
      count: 0,
      medianNs: Number.NaN,
      beyond: 0,
      points: [],
      reference: { medianNs, rangeNs },
    });
    rows.push({
      state: r.state,
      timer: none(r.timerMedianNs, r.timerRangeNs),
      ipi: none(r.ipiMedianNs, r.ipiRangeNs),
      hasSamples: false,
    });
  }
  return { client, rows };
}

/** Preferred order of fleet counts; other names follow in order of appearance. */
const FLEET_ORDER = [
  "running",
  "migrating",
  "migrated",
  "native",
  "emulated",
  "not-used",
  "refused",
  "migrations-refused",
  "failed-start",
  "hung",
  "crashed",
];
export const FLEET_COLORS: Record<string, string> = {
  running: "#009E73",
  migrating: "#56B4E9",
  migrated: "#0072B2",
  native: "#332288",
  emulated: "#EE7733",
  "not-used": "#888888",
  refused: "#DDCC77",
  "migrations-refused": "#882255",
  "failed-start": "#CC79A7",
  hung: "#666666",
  crashed: "#D55E00",
};
// colours of counts FLEET_COLORS does not name: none of FLEET_COLORS, so no two counts of a
// chart share one (up to six unknown names; they repeat after that)
const FLEET_EXTRA_COLORS = ["#F0E442", "#44AA99", "#117733", "#999933", "#CC6677", "#AA4499"];

export interface ClientFleet {
  unit: TimeUnit;
  /** Stacked areas first, in stacking order, then the lines. */
  outcomes: { name: string; color: string; stacked: boolean; data: number[][] }[];
}

export interface FleetSummaryRow {
  outcome: string;
  stacked: boolean;
  first: number;
  last: number;
  peak: number;
  peakNs: number;
}

export function prepareFleet(
  f: FleetData,
): { client: ClientFleet; rows: FleetSummaryRow[]; spanNs: number } | null {
  if (f.series.length === 0) return null;
  const names: string[] = [];
  const seen = new Set<string>();
  for (const p of f.series) {
    for (const k of Object.keys(p.counts)) {
      if (!seen.has(k)) {
        seen.add(k);
        names.push(k);
      }
    }
  }
  if (names.length === 0) return null;
  const stacked = new Set(f.stacked ?? []);
  const rank = (n: string) => {
    const i = FLEET_ORDER.indexOf(n);
    return (stacked.has(n) ? 0 : 1000) + (i < 0 ? FLEET_ORDER.length + names.indexOf(n) : i);
  };
  names.sort((a, b) => rank(a) - rank(b));
  const first = f.series[0].timeNs;
  const last = f.series[f.series.length - 1].timeNs;
  const unit = chooseTimeUnit(last - first);
  let extra = 0;
  const outcomes = names.map((name) => ({
    name,
    color: FLEET_COLORS[name] ?? FLEET_EXTRA_COLORS[extra++ % FLEET_EXTRA_COLORS.length],
    stacked: stacked.has(name),
    data: f.series.map((p) => [p.timeNs / unit.ns, p.counts[name] ?? 0]),
  }));
  const rows = names.map((name) => {
    let peak = -1;
    let peakNs = first;
    for (const p of f.series) {
      const c = p.counts[name] ?? 0;
      if (c > peak) {
        peak = c;
        peakNs = p.timeNs;
      }
    }
    return {
      outcome: name,
      stacked: stacked.has(name),
      first: f.series[0].counts[name] ?? 0,
      last: f.series[f.series.length - 1].counts[name] ?? 0,
      peak,
      peakNs,
    };
  });
  return { client: { unit, outcomes }, rows, spanNs: last - first };
}
