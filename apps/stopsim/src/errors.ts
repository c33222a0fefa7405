/**
 * An error in what the user asked for (unknown host, bad option, malformed scenario): the CLI prints
 * its one-line message and exits with code 2, never a stack trace.
 */
export class UsageError extends Error {
  override name = "UsageError";
}
