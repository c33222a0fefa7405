// The documented shape of every command's --json output, as zod schemas (exported from the
// package). `schemas.test.ts` runs each command with --json and parses its output with these, so a
// field added to an output without its schema fails the tests.
import { z } from "zod";
import { RUN_OUTCOMES, type RunOutcome } from "./fleet.js";
import { HAZARD_KINDS } from "./hazards.js";
import { DesignSchema, HostSchema } from "./scenario.js";

const outcome = z.enum(RUN_OUTCOMES as [RunOutcome, ...RunOutcome[]]);
const count = z.number().int().nonnegative();
const ns = z.number().nonnegative();
const guestRunState = z.enum(["running", "panicked", "hung"]);
const counts = z.record(z.string(), count);
/** Per guest idle state: entries, residency, and the governor's too-deep / too-shallow counts. */
const idleStates = z.record(
  z.string(),
  z.object({ usage: count, timeNs: ns, above: count, below: count }).strict(),
);

/** What went wrong short of a crash, as the layers counted it (hazards.ts Hazards). */
const HazardsSchema = z
  .object({ ...Object.fromEntries(HAZARD_KINDS.map((k) => [k, count])), maxWakeupLatenessNs: ns })
  .strict();
const hazardKind = z.enum(HAZARD_KINDS);

export const HostsJsonSchema = z.object({ hosts: z.array(HostSchema) }).strict();
export const DesignsJsonSchema = z.object({ designs: z.array(DesignSchema) }).strict();

const HostReportSchema = z
  .object({
    name: z.string(),
    chip: z.string(),
    firmware: z.string(),
    kvmBuild: z.string(),
    psscrPolicy: z.string(),
    emulateStopTrap: z.boolean(),
    idleStopGuestInDt: z.boolean(),
    enableGuestStop: z.boolean(),
    hostIdleStates: z.array(z.string()),
    kvmCapStop: z.number().int(),
    kvmCapGuestStop: z.number().int(),
  })
  .strict();

/** `stopsim boot --json` and `stopsim idle --json`. */
export const BootJsonSchema = z
  .object({
    design: z.string(),
    seed: z.string(),
    host: HostReportSchema,
    qemu: z
      .object({
        commandLine: z.string(),
        started: z.boolean(),
        error: z.string().optional(),
        caps: z.record(z.string(), z.string()),
        stopLitePermitted: z.boolean(),
        interruptController: z
          .object({
            mode: z.enum(["xics", "xive", "dual"]),
            active: z.enum(["xics", "xive"]),
            cas: z.string().nullable(),
          })
          .strict()
          .optional(),
      })
      .strict(),
    guest: z
      .object({
        state: z.union([guestRunState, z.literal("not-started")]),
        cpus: count,
        idleStatesOffered: z.array(z.string()),
        cpuidleTable: z
          .object({
            table: z.enum(["shared_states", "dedicated_states", "none"]),
            lppacaOldStatus: z.number().int().min(0).max(255),
            sharedProc: z.boolean(),
            governor: z.string(),
          })
          .strict(),
        idleStates,
        consoleTail: z.array(z.string()),
        workload: counts,
      })
      .strict(),
    exits: counts,
    emulatedStops: count,
    outcome,
    hazards: HazardsSchema,
  })
  .strict();

const PhaseSchema = z
  .object({
    host: z.string(),
    durationNs: ns,
    guestState: guestRunState,
    outcome,
    exits: counts,
    emulatedStops: count,
    idleStates,
    hazards: HazardsSchema,
  })
  .strict();

const SideSchema = z
  .object({ started: z.boolean(), error: z.string().optional(), phase: PhaseSchema.optional() })
  .strict();

/** `stopsim migrate --json`. */
export const MigrateJsonSchema = z
  .object({
    design: z.string(),
    from: z.string(),
    to: z.string(),
    seed: z.string(),
    source: SideSchema,
    destination: SideSchema,
    migration: z
      .object({
        status: z.string(),
        errorDesc: z.string().optional(),
        totalTimeNs: ns.optional(),
        downtimeNs: ns.optional(),
        sourceAfter: z
          .object({
            status: z.string(),
            guestState: guestRunState,
            progressed: z.boolean(),
            wasPaused: z.boolean().optional(),
          })
          .strict()
          .optional(),
        managementLayer: z.enum(["libvirt", "none"]).optional(),
        interruptController: z
          .object({ source: z.enum(["xics", "xive"]), destination: z.enum(["xics", "xive"]) })
          .strict()
          .optional(),
        phases: z.array(z.string()).optional(),
        failedPhase: z.string().optional(),
        virError: z
          .object({
            code: z.number().int(),
            domain: z.number().int(),
            level: z.number().int(),
            message: z.string(),
          })
          .strict()
          .optional(),
        log: z.array(z.string()).optional(),
      })
      .strict(),
    outcome,
    detail: z.string(),
    hazards: HazardsSchema,
  })
  .strict();

/** A seed as the CLI prints it: a number up to 2^53-1, larger ones as their decimal text. */
const seed = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]);

const MatrixSeedSchema = z.object({ seed, outcome, detail: z.string(), hazards: HazardsSchema }).strict();

/** `stopsim matrix --json`: per cell the distribution over the seeds and every seed's result. */
export const MatrixJsonSchema = z
  .object({
    seeds: z.array(seed),
    rows: z.array(
      z
        .object({
          design: z.string(),
          from: z.string(),
          to: z.string(),
          /** The majority outcome and the detail of its first seed. */
          outcome,
          detail: z.string(),
          /** Seeds per outcome that occurred, majority first. */
          outcomes: z.partialRecord(outcome, count),
          minority: z.array(z.object({ outcome, seeds: z.array(seed) }).strict()),
          seeds: z.array(MatrixSeedSchema),
          hazards: z.array(z.object({ kind: hazardKind, seeds: z.array(seed) }).strict()),
          /** Hazards in a seed with a clean outcome: the table's mark. */
          hazardMark: z.boolean(),
        })
        .strict(),
    ),
    /** Runs finished of cells x seeds (fewer when interrupted). */
    runs: z.object({ done: count, total: count }).strict(),
    interrupted: z.boolean(),
  })
  .strict();

const LatencyStatsSchema = z
  .object({ samples: count, min: ns, median: ns, max: ns, avg: ns, stddev: ns })
  .strict();

/** A median over seeds with its order-statistics interval and the interval's exact coverage. */
const MedianIntervalSchema = z
  .object({
    n: count,
    median: z.number(),
    lo: z.number(),
    hi: z.number(),
    coverage: z.number().min(0).max(1),
  })
  .strict();

/** The sweep fields every command over seeds prints. */
const seedsRun = {
  seeds: z.array(seed),
  method: z.string(),
  runs: z.object({ done: count, total: count }).strict(),
  interrupted: z.boolean(),
};

/** `stopsim bench wakeup --json` (latencies in ns): per case the median over seeds, every seed's run. */
export const BenchWakeupJsonSchema = z
  .object({
    ...seedsRun,
    samples: count,
    states: z.array(
      z
        .object({
          state: z.string(),
          host: z.string(),
          thread: z.object({ timer: ns, ipi: ns }).strict().nullable(),
          timer: MedianIntervalSchema,
          ipi: MedianIntervalSchema,
          seeds: z.array(
            z
              .object({
                seed,
                guestState: z.string(),
                timer: LatencyStatsSchema,
                ipi: LatencyStatsSchema,
                emulatedStops: count,
              })
              .strict(),
          ),
        })
        .strict(),
    ),
  })
  .strict();

/** `stopsim bench ebizzy --json` and `stopsim bench ctxsw --json`. */
export const BenchRateJsonSchema = z
  .object({
    ...seedsRun,
    windowNs: ns,
    states: z.array(
      z
        .object({
          state: z.string(),
          host: z.string(),
          unit: z.string(),
          thread: z.number().nonnegative().nullable(),
          rate: MedianIntervalSchema,
          seeds: z.array(z.object({ seed, rate: z.number().nonnegative() }).strict()),
        })
        .strict(),
    ),
  })
  .strict();

const outcomeCounts = z.object(Object.fromEntries(RUN_OUTCOMES.map((o) => [o, count]))).strict();

/** A boot or migration case the fleet probed, with its outcomes over the probe seeds. */
const ProbeSummarySchema = z
  .object({
    case: z.union([
      z
        .object({
          kind: z.literal("boot"),
          design: z.string(),
          hostKind: z.string(),
          machine: z.string().optional(),
        })
        .strict(),
      z
        .object({
          kind: z.literal("migrate"),
          design: z.string(),
          bootKind: z.string(),
          toKind: z.string(),
          machine: z.string().optional(),
        })
        .strict(),
    ]),
    outcomes: z.partialRecord(outcome, count),
    minority: z.array(z.object({ outcome, seeds: z.array(seed) }).strict()),
  })
  .strict();

/** One fleet run's result (fleet.ts FleetResult). */
const FleetResultShape = {
  design: z.string(),
  plan: z.enum(["rolling-upgrade", "evacuation"]),
  policy: z.enum(["pin-old", "capable", "naive"]),
  machines: z.object({ old: z.string(), new: z.string() }).strict(),
  hosts: count,
  vms: count,
  durationNs: ns,
  boots: outcomeCounts,
  migrations: outcomeCounts,
  refusals: counts,
  vmFinal: counts,
  stopLite: z.object({ native: count, emulated: count, notUsed: count }).strict(),
  vmMachines: counts,
  hostsUpgraded: count,
  upgradesBlocked: count,
  upgrade: z
    .object({
      hostsToUpgrade: count,
      batch: count,
      startNs: ns,
      finishedNs: ns.optional(),
      durationNs: ns.optional(),
    })
    .strict(),
  restarts: count,
  downtime: z
    .object({
      totalNs: ns,
      perVm: z.object({ median: ns, p99: ns, max: ns, mean: ns }).strict(),
    })
    .strict(),
  migrationDowntime: z.object({ count, totalNs: ns, medianNs: ns, maxNs: ns }).strict(),
  series: z.array(z.object({ timeNs: ns, counts }).strict()),
  /** Present when Ctrl-C stopped the run: the simulated time the figures cover. */
  stoppedAtNs: ns.optional(),
};

/** `stopsim fleet --json` (one fleet seed). */
export const FleetJsonSchema = z
  .object({
    ...FleetResultShape,
    seed,
    /** The seeds each case was probed over; every VM drew its result from those probes. */
    probeSeeds: z.array(seed),
    probes: z.array(ProbeSummarySchema),
    fullStackRuns: count,
    wallSeconds: z.number().nonnegative(),
  })
  .strict();

/** A count over the fleet seeds: median and range. */
const spread = z
  .object({ median: z.number().nonnegative(), min: z.number().nonnegative(), max: z.number().nonnegative() })
  .strict();
const spreads = z.record(z.string(), spread);

/** `stopsim fleet --seeds N --json`: every seed's result and each count's spread over the seeds. */
export const FleetSeedsJsonSchema = z
  .object({
    seeds: z.array(seed),
    probeSeeds: z.array(seed),
    /** The statistic of `spread`: median [min-max] over the fleet seeds. */
    statistic: z.string(),
    spread: z
      .object({
        boots: spreads,
        migrations: spreads,
        vmFinal: spreads,
        stopLite: z.object({ native: spread, emulated: spread, notUsed: spread }).strict(),
        restarts: spread,
        hostsUpgraded: spread,
        upgradesBlocked: spread,
        refusals: spreads,
        migrationDowntimeTotalNs: spread,
        downtimeTotalNs: spread,
      })
      .strict(),
    runs: z.array(z.object({ seed, result: z.object(FleetResultShape).strict() }).strict()),
    probes: z.array(ProbeSummarySchema),
    fullStackRuns: count,
    wallSeconds: z.number().nonnegative(),
  })
  .strict();

/** `stopsim qemu --json`. */
export const QemuJsonSchema = z
  .object({
    host: z.string(),
    design: z.string(),
    args: z.array(z.string()),
    simulatedNs: ns,
    status: z.string(),
    guest: z.object({ state: guestRunState, idleStates }).strict(),
    exits: counts,
    emulatedStops: count,
    outcome,
    console: z.array(z.string()),
  })
  .strict();

/** The --json schema of each command (`bench` per measurement). */
export const JSON_SCHEMAS = {
  hosts: HostsJsonSchema,
  designs: DesignsJsonSchema,
  boot: BootJsonSchema,
  idle: BootJsonSchema,
  migrate: MigrateJsonSchema,
  matrix: MatrixJsonSchema,
  "bench wakeup": BenchWakeupJsonSchema,
  "bench ebizzy": BenchRateJsonSchema,
  "bench ctxsw": BenchRateJsonSchema,
  fleet: FleetJsonSchema,
  "fleet --seeds": FleetSeedsJsonSchema,
  qemu: QemuJsonSchema,
} as const;

export type JsonCommand = keyof typeof JSON_SCHEMAS;

/** One event of a streamed Chrome trace (`--trace FILE.json`): metadata, spans, instants, counters. */
export const ChromeTraceEventSchema = z.discriminatedUnion("ph", [
  z
    .object({
      name: z.enum(["process_name", "thread_name"]),
      ph: z.literal("M"),
      pid: count,
      tid: count.optional(),
      args: z.object({ name: z.string() }).strict(),
    })
    .strict(),
  ...(["X", "i", "B", "E", "C"] as const).map((ph) =>
    z
      .object({
        name: z.string().min(1),
        cat: z.string(),
        ph: z.literal(ph),
        ts: z.number().nonnegative(),
        pid: count,
        tid: count,
        ...(ph === "X" ? { dur: z.number().nonnegative() } : {}),
        ...(ph === "i" ? { s: z.literal("t") } : {}),
        args: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
      })
      .strict(),
  ),
] as [z.ZodObject, ...z.ZodObject[]]);
