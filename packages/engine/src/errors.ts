/** Base class of every error the engine throws on bad input. */
export class SimError extends Error {
  override name = "SimError";
}

/** A time or delay that is not a finite, non-negative number of nanoseconds. */
export class InvalidTimeError extends SimError {
  override name = "InvalidTimeError";
}

/** An event scheduled before the current virtual time. */
export class SchedulingInPastError extends SimError {
  override name = "SchedulingInPastError";
}

/** Running, stepping or scheduling on a simulation that was finished with `finish()`. */
export class SimulationFinishedError extends SimError {
  override name = "SimulationFinishedError";
}

/** A malformed duration string or an unknown unit. */
export class DurationParseError extends SimError {
  override name = "DurationParseError";
}
