// A trace streamed to its file as the run goes (constant memory whatever the duration), written
// through a temporary file beside the target and renamed over it only when the run completes.
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { ChromeTraceWriter, type TraceConsumer } from "@stopsim/engine";
import { AtomicFileWriter } from "./atomic.js";
import { ChromeTraceEventSchema } from "./schemas.js";

export class TraceFile {
  private readonly out: AtomicFileWriter;
  private readonly writer: ChromeTraceWriter;

  /** Creates the temporary file now (an unwritable path fails before the run). */
  constructor(
    readonly path: string,
    meta: Record<string, string>,
  ) {
    this.out = new AtomicFileWriter(path);
    this.writer = new ChromeTraceWriter((chunk) => this.out.write(chunk), meta);
  }

  /** What the simulation streams its events to (`sim.trace.streamTo`, `RunOptions.traceTo`). */
  get consumer(): TraceConsumer {
    return this.writer;
  }

  get events(): number {
    return this.writer.events;
  }

  get bytes(): number {
    return this.out.bytes;
  }

  /** Ends the trace and publishes the file; says where it went on stderr. */
  finish(): void {
    this.writer.end();
    this.out.commit();
    console.error(
      `trace written to ${this.path} (${this.events.toLocaleString("en")} events, ${(this.bytes / 1048576).toFixed(1)} MiB; open it in https://ui.perfetto.dev or chrome://tracing)`,
    );
  }

  /** Drops the partial trace; an earlier file at the path stays as it was. */
  abort(): void {
    this.out.abort();
  }
}

/** Runs `body` with the trace file open; aborts it if `body` throws, finishes it otherwise. */
export async function withTraceFile<T>(
  path: string | undefined,
  meta: Record<string, string>,
  body: (trace: TraceFile | undefined) => T | Promise<T>,
): Promise<T> {
  if (path === undefined) return body(undefined);
  const trace = new TraceFile(path, meta);
  let result: T;
  try {
    result = await body(trace);
  } catch (e) {
    trace.abort();
    throw e;
  }
  trace.finish();
  return result;
}

export interface TraceCheck {
  events: number;
  metadata: number;
  bytes: number;
  otherData: Record<string, string>;
}

/**
 * Parses a streamed Chrome trace completely without holding it in memory: the header and trailer,
 * then every event line against `ChromeTraceEventSchema`, and that every event's thread was named
 * before it. Throws naming the first bad line. (The file is JSON; the writer puts one event per
 * line, which is what lets it be checked a line at a time.)
 */
export async function checkTraceFile(path: string): Promise<TraceCheck> {
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let n = 0;
  let header: { displayTimeUnit?: string; otherData?: Record<string, string> } | undefined;
  let ended = false;
  let pendingComma = false;
  const threads = new Set<string>();
  const out: TraceCheck = { events: 0, metadata: 0, bytes: statSync(path).size, otherData: {} };
  const fail = (why: string): never => {
    throw new Error(`${path}:${n}: ${why}`);
  };
  for await (const line of lines) {
    n++;
    if (n === 1) {
      if (!line.endsWith('"traceEvents":[')) fail("not a streamed Chrome trace header");
      header = JSON.parse(`${line}]}`);
      if (header?.displayTimeUnit !== "ns") fail("displayTimeUnit is not ns");
      out.otherData = header?.otherData ?? {};
      continue;
    }
    if (ended) {
      if (line !== "") fail("text after the end of the trace");
      continue;
    }
    if (line === "]}") {
      if (pendingComma) fail("a comma before the end of the event array");
      ended = true;
      continue;
    }
    if (out.events + out.metadata > 0 && !pendingComma) fail("events not separated by a comma");
    pendingComma = line.endsWith(",");
    const parsed = ChromeTraceEventSchema.safeParse(JSON.parse(pendingComma ? line.slice(0, -1) : line));
    if (!parsed.success) fail(JSON.stringify(parsed.error.issues[0]));
    const e = parsed.data as { ph: string; pid: number; tid?: number; name: string };
    if (e.ph === "M") {
      out.metadata++;
      if (e.name === "thread_name") threads.add(`${e.pid}/${e.tid}`);
    } else {
      out.events++;
      if (!threads.has(`${e.pid}/${e.tid}`)) fail(`event on thread ${e.pid}/${e.tid} before its thread_name`);
    }
  }
  if (!ended) fail("the trace ends before its closing ]}");
  return out;
}
