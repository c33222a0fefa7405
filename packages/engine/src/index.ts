export {
  type BenchMachine,
  type BenchResult,
  benchMachine,
  findWorkspaceRoot,
  writeBenchResult,
} from "./bench.js";
export {
  DurationParseError,
  InvalidTimeError,
  SchedulingInPastError,
  SimError,
  SimulationFinishedError,
} from "./errors.js";
export {
  Channel,
  DEFAULT_PARTITION_WINDOW_NS,
  PartitionedSimulation,
  type PartitionedSimulationOptions,
} from "./partitions.js";
export { Rng, RngRoot } from "./rng.js";
export { type EventCallback, Simulation, type SimulationOptions, Timer } from "./simulation.js";
export { Counter, LatencyHistogram, type LatencySummary, StatsRegistry } from "./stats.js";
export {
  assertTime,
  formatDuration,
  NS_PER_MS,
  NS_PER_S,
  NS_PER_US,
  nsToTb,
  parseDuration,
  TB_FREQ_HZ,
  TB_TICKS_PER_NS,
  type TimeNs,
  tbToNs,
} from "./time.js";
export {
  type ChromeTrace,
  type ChromeTraceEvent,
  ChromeTraceWriter,
  type TraceArgs,
  type TraceConsumer,
  type TraceEvent,
  type TracePhase,
  TraceRecorder,
  type TraceTrack,
} from "./trace.js";
