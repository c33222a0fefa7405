// `--queue redis://HOST:PORT`: the address of the Redis server a sweep's BullMQ queue lives on
// (queue.ts), checked when the command line is read (this module loads no Redis client).
import { UsageError } from "./errors.js";

/** A worker's job lock by default: a job whose worker died runs again once it has expired. */
export const DEFAULT_LOCK_MS = 30_000;

export interface QueueAddress {
  host: string;
  port: number;
  /** The URL as given. */
  url: string;
}

/** Parses `--queue redis://HOST:PORT`; anything else is a usage error naming the fix. */
export function parseQueueUrl(text: string, option = "--queue"): QueueAddress {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(
      `${option}: '${text}' is not a URL; give the Redis server as redis://HOST:PORT (e.g. redis://127.0.0.1:6379)`,
    );
  }
  if (u.protocol !== "redis:") {
    throw new UsageError(
      `${option}: '${text}' is not a redis:// URL; give the Redis server as redis://HOST:PORT (e.g. redis://127.0.0.1:6379)`,
    );
  }
  const host = u.hostname.replace(/^\[|\]$/g, "");
  if (host === "") throw new UsageError(`${option}: '${text}' names no host; write redis://HOST:PORT`);
  const port = u.port === "" ? 6379 : Number(u.port);
  if (
    (u.pathname !== "" && u.pathname !== "/") ||
    u.search !== "" ||
    u.username !== "" ||
    u.password !== ""
  ) {
    throw new UsageError(
      `${option}: '${text}' has more than a host and port; write redis://HOST:PORT (no database, user or options)`,
    );
  }
  return { host, port, url: text };
}

/** `--queue`: the URL checked now, or undefined when not given. */
export function parseQueueOption(text: string | undefined, option = "--queue"): string | undefined {
  if (text === undefined) return undefined;
  parseQueueUrl(text, option);
  return text;
}
