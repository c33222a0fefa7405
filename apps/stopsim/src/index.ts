export {
  BENCH_CASES,
  type BenchCase,
  benchCtxsw,
  benchEbizzy,
  benchRateCase,
  benchWakeup,
  benchWakeupCase,
  type RateEntry,
  type WakeupEntry,
} from "./bench.js";
export {
  type BenchRateSeedsResult,
  benchRateSeeds,
  benchWakeupSeeds,
  type RateVerdict,
  THREAD_EBIZZY_RECORDS_PER_S,
  THREAD_WAKEUP_MEDIANS_NS,
  type WakeupSeedsResult,
  type WakeupVerdict,
} from "./bench-seeds.js";
export { UsageError } from "./errors.js";
export {
  type FleetOptions,
  type FleetPlan,
  type FleetProbe,
  type FleetResult,
  RUN_OUTCOMES,
  type RunOutcome,
  runFleet,
  vmDraw,
} from "./fleet.js";
export {
  DEFAULT_PROBE_SEEDS,
  type FleetBaseOptions,
  type FleetSeedsResult,
  type FleetSpread,
  fleetSpread,
  runFleetSeeds,
  SPREAD_STATISTIC,
  type Spread,
  spreadOf,
} from "./fleet-seeds.js";
export {
  type GuestPause,
  guestPauses,
  HAZARD_KINDS,
  type HazardKind,
  type Hazards,
  hazardText,
  NO_HAZARDS,
} from "./hazards.js";
export { CI_METHOD, type MedianInterval, medianInterval } from "./interval.js";
export { type CellJob, type Job, type ResultOf, runJob } from "./jobs.js";
export { LIMITS } from "./limits.js";
export { domainDefFor, type ManagedHost, manageHost, parseCaps } from "./management.js";
export {
  type MatrixCell,
  type MatrixOptions,
  type MatrixResult,
  type MatrixRow,
  type MatrixSeedResult,
  matrixCells,
  matrixJobs,
  matrixRow,
  runMatrix,
  runMatrixCell,
  runMatrixPool,
} from "./matrix.js";
export { type MigrateOptions, type MigrateReport, runMigrate } from "./migrate.js";
export { defaultWorkers, type PoolOptions, type PoolResult, runJobs } from "./pool.js";
export {
  DESIGNS,
  type DesignSpec,
  type FirmwareName,
  findDesign,
  findHost,
  type GuestStopPolicy,
  HOSTS,
  type HostPreset,
  hostKvmBuild,
  type KvmBuildName,
} from "./presets.js";
export {
  FullStackProbe,
  type FullStackProbeOptions,
  PROBE_PHASE_NS,
  type ProbeCase,
  type ProbeSummary,
  runProbeCase,
} from "./probe.js";
export { CONNECT_TIMEOUT_MS, checkServer, QUEUE_NAME, runJobsOnQueue, startQueueWorker } from "./queue.js";
export { DEFAULT_LOCK_MS, parseQueueUrl, type QueueAddress } from "./queue-url.js";
export { buildReportData, type ReportOptions } from "./report.js";
export { DEFAULT_GUEST, type GuestOptions, WORKLOADS, type WorkloadName } from "./run.js";
export { loadScenario, parseScenario, type Scenario, ScenarioSchema } from "./scenario.js";
export { type BootReport, type RunOptions, runBoot } from "./scenarios.js";
export {
  BenchRateJsonSchema,
  BenchWakeupJsonSchema,
  BootJsonSchema,
  DesignsJsonSchema,
  FleetJsonSchema,
  FleetSeedsJsonSchema,
  HostsJsonSchema,
  JSON_SCHEMAS,
  type JsonCommand,
  MatrixJsonSchema,
  MigrateJsonSchema,
  QemuJsonSchema,
} from "./schemas.js";
export { formatSeeds, MAX_SEEDS, parseSeeds, resolveSeeds } from "./seeds.js";
export { bootFirmware, bootSimHost, type SimHost } from "./stack.js";
export { runSweepPool, runSweepSerial } from "./sweep.js";
