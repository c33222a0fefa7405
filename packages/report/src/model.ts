// The report's input model: what the app fills from real runs. Every field is validated by
// parseReportData; an invalid field gives a ReportDataError naming its path.
import { z } from "zod";

/** What one design did for one ordered host pair (boot on `from`, migrate to `to`). */
export const MATRIX_OUTCOMES = [
  "native",
  "emulated",
  "not-used",
  "crashed",
  "refused",
  "failed-start",
  "hung",
] as const;
export type MatrixOutcome = (typeof MATRIX_OUTCOMES)[number];

/**
 * States a vCPU is in on the timeline. `running`: guest code runs; `snooze`: the guest's
 * polling idle loop (linux: drivers/cpuidle/cpuidle-pseries.c snooze_loop); `stop0lite`: a
 * native guest `stop` with PSSCR[ESL]=PSSCR[EC]=0; `stop0lite-emulated`: the guest's `stop`
 * trapped with H_FAC_UNAVAIL and KVM emulated the wakeup; `cede`: the vCPU ceded with H_CEDE
 * and is blocked in the host; `halted`: the vCPU is not running guest code at all (not yet
 * started, stopped by `stop-self`, or stopped after a guest panic).
 */
export const TIMELINE_STATES = [
  "running",
  "snooze",
  "stop0lite",
  "stop0lite-emulated",
  "cede",
  "halted",
] as const;
export type TimelineState = (typeof TIMELINE_STATES)[number];

export interface MatrixRow {
  /** Design name (DOMAIN.md section 4), e.g. "spapr-cap". */
  design: string;
  /** Host the guest boots on, e.g. "dd2.3-new". */
  from: string;
  /** Host the guest ends on: the migration target, or `from` again for a run without migration. */
  to: string;
  outcome: MatrixOutcome;
  /** One line shown on hover: the error, the exit reason, what emerged. */
  detail: string;
  /**
   * Over several seeds: the count of each outcome (the cell is coloured by `outcome`, the
   * majority; any other outcome adds a minority mark).
   */
  outcomes?: Partial<Record<MatrixOutcome, number>>;
  /** Each minority outcome with the seeds that gave it (to replay with `--seed`). */
  minority?: { outcome: MatrixOutcome; seeds: (string | number)[] }[];
  /** Hazards short of a crash, each with the seeds that had it (e.g. "lostWakeups"). */
  hazards?: { kind: string; seeds: (string | number)[] }[];
  /** A seed with a clean outcome had hazards: the cell shows a hazard mark. */
  hazardMark?: boolean;
}

/** A median over seeds with its confidence interval (e.g. by order statistics), ns. */
export interface SeedInterval {
  /** Seeds (independent runs) behind the interval. */
  n: number;
  median: number;
  lo: number;
  hi: number;
  /** The interval's coverage, 0..1 (e.g. 0.9375 for [min, max] of 5 seeds). */
  coverage: number;
}

export interface TimelineSegment {
  /** Virtual time, ns, inclusive. */
  start: number;
  /** Virtual time, ns, exclusive; `end >= start`. */
  end: number;
  state: TimelineState;
}

export interface TimelineMarker {
  /** Virtual time, ns. */
  time: number;
  /** Exit reason or event, e.g. "H_FAC_UNAVAIL", "H_CEDE", "HDEC", "program check". */
  name: string;
  /** Optional one-line detail shown in the tooltip. */
  detail?: string;
}

export interface TimelineVcpu {
  /** Label on the time axis, e.g. "vcpu0". Unique within the timeline. */
  name: string;
  /** Sorted by start, not overlapping. Gaps are shown as empty. */
  segments: TimelineSegment[];
  markers: TimelineMarker[];
}

export interface TimelineData {
  /** Which run the timeline shows, e.g. "spapr-cap on dd2.2-new, seed 1, idle 2 ms". */
  runLabel: string;
  /**
   * Set when the timeline is not the whole run (e.g. cut after a bounded number of segments per
   * vCPU); shown beside the chart.
   */
  note?: string;
  vcpus: TimelineVcpu[];
}

export interface LatencySamples {
  /** Wakeup latencies, ns (finite, non-negative). May be empty. */
  samples: number[];
}

export interface LatencyState {
  /** Idle state label; matched by exact name against `reference[].state`. */
  state: string;
  /** Wakeups by the decrementer (timer). */
  timer: LatencySamples;
  /** Wakeups by an IPI (doorbell / external interrupt from another vCPU). */
  ipi: LatencySamples;
  /** Over several seeds: the median of each seed's median with its interval, ns. */
  timerInterval?: SeedInterval;
  ipiInterval?: SeedInterval;
}

export interface LatencyReference {
  state: string;
  timerMedianNs: number;
  ipiMedianNs: number;
  /** Measured range (min, max), ns; drawn as a shaded band when present. */
  timerRangeNs?: [number, number];
  ipiRangeNs?: [number, number];
}

export interface LatencyData {
  states: LatencyState[];
  /** How the intervals were made, e.g. "order-statistics (distribution-free, binomial)". */
  intervalMethod?: string;
  /**
   * Measured medians to compare with. Leave out to use POWER9_WAKEUP_REFERENCE (DOMAIN.md
   * section 6); pass [] to show no reference.
   */
  reference?: LatencyReference[];
}

export interface FleetPoint {
  /** Simulated time, ns; points are in non-decreasing time order. */
  timeNs: number;
  /** Guests per outcome at that time, e.g. { running: 40, migrated: 3, refused: 1, crashed: 0 }. */
  counts: Record<string, number>;
}

/** The states that partition a fleet's guests (each guest in exactly one): the chart's stacked areas. */
export const FLEET_STATES = ["running", "crashed", "failed-start", "hung"] as const;

/**
 * One fleet sample's counts as the fleet chart reads them: guests per state (FLEET_STATES, the
 * partition) and, among the running ones, how they idle with stop0lite (`native`, `emulated`: subsets,
 * drawn as lines). A guest's `idle` is its stop0lite use ("native", "emulated" or anything else).
 */
export function fleetStateCounts(
  guests: Iterable<{ readonly state: string; readonly idle: string }>,
): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(FLEET_STATES.map((s) => [s, 0]));
  counts.native = 0;
  counts.emulated = 0;
  for (const g of guests) {
    counts[g.state] = (counts[g.state] ?? 0) + 1;
    if (g.state === "running" && (g.idle === "native" || g.idle === "emulated")) counts[g.idle]++;
  }
  return counts;
}

export interface FleetData {
  series: FleetPoint[];
  /**
   * Counts that partition the fleet (each guest in exactly one of them at any time), drawn as
   * stacked areas, e.g. ["running", "crashed", "failed-start", "hung"]. Every other count
   * (a subset such as "native", a cumulative total such as "migrations-refused") is drawn as a
   * line of its own. Leave out to draw every count as a line.
   */
  stacked?: string[];
  /**
   * The fleet run over several seeds: each count's median and range over them (the chart shows
   * the first seed's run). Leave out for a single run.
   */
  overSeeds?: FleetOverSeeds;
}

export interface FleetOverSeeds {
  /** The seeds the fleet ran with. */
  seeds: (string | number)[];
  /** What `median`, `min` and `max` are, e.g. "median [min-max] over the fleet seeds". */
  statistic: string;
  /** One row per count, e.g. { count: "boots: hung", median: 12, min: 9, max: 15 }. */
  rows: { count: string; median: number; min: number; max: number }[];
}

export interface ReportData {
  title: string;
  generatedBy: {
    /** The run's root seed. */
    seed: string | number;
    /** The command line that produced the data. */
    command: string;
    /** The stopsim version. */
    version: string;
  };
  matrix: { rows: MatrixRow[] };
  timeline?: TimelineData;
  latency?: LatencyData;
  fleet?: FleetData;
}

/** The report data failed validation. `issues` lists every invalid field by its path. */
export class ReportDataError extends Error {
  override readonly name = "ReportDataError";
  constructor(readonly issues: readonly { path: string; message: string }[]) {
    super(
      `invalid report data: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}` +
        " (see packages/report/README.md for the input model)",
    );
  }
}

const ns = z.number().nonnegative({ error: "must be a non-negative number of ns" });
const text = z.string();
const range = z
  .tuple([ns, ns])
  .refine(([lo, hi]) => lo <= hi, { error: "range must be [min, max] with min <= max" });

const matrixRow = z.strictObject({
  design: text.min(1, { error: "must be a non-empty design name" }),
  from: text.min(1, { error: "must be a non-empty host name" }),
  to: text.min(1, { error: "must be a non-empty host name" }),
  outcome: z.enum(MATRIX_OUTCOMES, { error: `must be one of ${MATRIX_OUTCOMES.join(", ")}` }),
  detail: text,
  outcomes: z.partialRecord(z.enum(MATRIX_OUTCOMES), z.number().int().nonnegative()).optional(),
  minority: z
    .array(
      z.strictObject({ outcome: z.enum(MATRIX_OUTCOMES), seeds: z.array(z.union([z.string(), z.number()])) }),
    )
    .optional(),
  hazards: z
    .array(z.strictObject({ kind: text.min(1), seeds: z.array(z.union([z.string(), z.number()])) }))
    .optional(),
  hazardMark: z.boolean().optional(),
});

const seedInterval = z
  .strictObject({
    n: z.number().int().positive(),
    median: ns,
    lo: ns,
    hi: ns,
    coverage: z.number().min(0).max(1),
  })
  .refine((i) => i.lo <= i.median && i.median <= i.hi, { error: "must have lo <= median <= hi" });

const segment = z.strictObject({
  start: ns,
  end: ns,
  state: z.enum(TIMELINE_STATES, { error: `must be one of ${TIMELINE_STATES.join(", ")}` }),
});

const marker = z.strictObject({
  time: ns,
  name: text.min(1, { error: "must be a non-empty marker name" }),
  detail: text.optional(),
});

const vcpu = z.strictObject({
  name: text.min(1, { error: "must be a non-empty vCPU name" }),
  segments: z.array(segment),
  markers: z.array(marker),
});

const samples = z.strictObject({ samples: z.array(ns) });

const schema = z.strictObject({
  title: text.min(1, { error: "must be a non-empty title" }),
  generatedBy: z.strictObject({
    seed: z.union([z.string(), z.number()], { error: "must be a string or a number" }),
    command: text,
    version: text,
  }),
  matrix: z.strictObject({ rows: z.array(matrixRow) }),
  timeline: z
    .strictObject({
      runLabel: text,
      note: text.optional(),
      vcpus: z.array(vcpu),
    })
    .optional(),
  latency: z
    .strictObject({
      states: z.array(
        z.strictObject({
          state: text.min(1, { error: "must be a non-empty state name" }),
          timer: samples,
          ipi: samples,
          timerInterval: seedInterval.optional(),
          ipiInterval: seedInterval.optional(),
        }),
      ),
      intervalMethod: text.optional(),
      reference: z
        .array(
          z.strictObject({
            state: text.min(1, { error: "must be a non-empty state name" }),
            timerMedianNs: ns,
            ipiMedianNs: ns,
            timerRangeNs: range.optional(),
            ipiRangeNs: range.optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  fleet: z
    .strictObject({
      stacked: z.array(text.min(1, { error: "must be a non-empty count name" })).optional(),
      overSeeds: z
        .strictObject({
          seeds: z.array(z.union([z.string(), z.number()])).min(1, { error: "needs at least one seed" }),
          statistic: text.min(1),
          rows: z.array(
            z
              .strictObject({
                count: text.min(1),
                median: z.number().nonnegative(),
                min: z.number().nonnegative(),
                max: z.number().nonnegative(),
              })
              .refine((r) => r.min <= r.median && r.median <= r.max, {
                error: "needs min <= median <= max",
              }),
          ),
        })
        .optional(),
      series: z.array(
        z.strictObject({
          timeNs: ns,
          counts: z.record(
            text.min(1),
            z.number().int({ error: "must be a whole count" }).nonnegative({ error: "must be >= 0" }),
          ),
        }),
      ),
    })
    .optional(),
});

type Issue = { path: string; message: string };

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Cross-field rules zod's shape cannot say: ordering, uniqueness, end >= start. */
function checkRelations(d: ReportData): Issue[] {
  const issues: Issue[] = [];
  const cells = new Map<string, number>();
  d.matrix.rows.forEach((r, i) => {
    const key = JSON.stringify([r.design, r.from, r.to]);
    const first = cells.get(key);
    if (first !== undefined) {
      issues.push({
        path: `matrix.rows[${i}]`,
        message: `duplicate cell (design '${r.design}', ${r.from} -> ${r.to}) already given by matrix.rows[${first}]`,
      });
    } else cells.set(key, i);
  });
  if (d.timeline) {
    const names = new Map<string, number>();
    d.timeline.vcpus.forEach((v, vi) => {
      const first = names.get(v.name);
      if (first !== undefined) {
        issues.push({
          path: `timeline.vcpus[${vi}].name`,
          message: `duplicate vCPU name '${v.name}' (also timeline.vcpus[${first}])`,
        });
      } else names.set(v.name, vi);
      // starts are non-negative, so the first segment never starts before this
      let prevEnd = 0;
      v.segments.forEach((s, si) => {
        const path = `timeline.vcpus[${vi}].segments[${si}]`;
        if (s.end < s.start) {
          issues.push({ path: `${path}.end`, message: `must be >= start (start ${s.start}, end ${s.end})` });
        } else if (s.start < prevEnd) {
          issues.push({
            path: `${path}.start`,
            message: `segments must be sorted and must not overlap: starts at ${s.start} before the previous segment ends (${prevEnd})`,
          });
        }
        prevEnd = Math.max(prevEnd, s.end);
      });
    });
  }
  if (d.latency?.reference) {
    const seen = new Set<string>();
    d.latency.reference.forEach((r, i) => {
      if (seen.has(r.state)) {
        issues.push({
          path: `latency.reference[${i}].state`,
          message: `duplicate reference state '${r.state}'`,
        });
      }
      seen.add(r.state);
    });
  }
  if (d.latency) {
    const seen = new Set<string>();
    d.latency.states.forEach((s, i) => {
      if (seen.has(s.state)) {
        issues.push({ path: `latency.states[${i}].state`, message: `duplicate state '${s.state}'` });
      }
      seen.add(s.state);
    });
  }
  if (d.fleet) {
    const { series, stacked = [] } = d.fleet;
    const names = new Set(series.flatMap((p) => Object.keys(p.counts)));
    stacked.forEach((name, i) => {
      if (!names.has(name)) {
        issues.push({
          path: `fleet.stacked[${i}]`,
          message: `'${name}' is not a count in any fleet.series point (counts: ${[...names].join(", ") || "none"})`,
        });
      } else if (stacked.indexOf(name) !== i) {
        issues.push({ path: `fleet.stacked[${i}]`, message: `'${name}' is listed twice` });
      }
    });
    series.forEach((p, i) => {
      const prev = series[i - 1];
      if (prev && p.timeNs < prev.timeNs) {
        issues.push({
          path: `fleet.series[${i}].timeNs`,
          message: `points must be in time order: ${p.timeNs} comes after ${prev.timeNs}`,
        });
      }
    });
  }
  return issues;
}

/**
 * Validates `input` (an object or parsed JSON) against the report's input model and returns it
 * typed. Throws ReportDataError listing every invalid field by path (e.g.
 * `timeline.vcpus[0].segments[3].end: must be >= start`).
 */
export function parseReportData(input: unknown): ReportData {
  const r = schema.safeParse(input);
  if (!r.success) {
    throw new ReportDataError(r.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  }
  const data: ReportData = r.data;
  const issues = checkRelations(data);
  if (issues.length > 0) throw new ReportDataError(issues);
  return data;
}
