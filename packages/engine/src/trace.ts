import { createHash } from "node:crypto";
import { SimError } from "./errors.js";
import type { TimeNs } from "./time.js";

export type TraceArgs = Readonly<Record<string, string | number | boolean>>;

/** Phases of the Chrome Trace Event format used here. */
export type TracePhase = "X" | "B" | "E" | "i" | "C";

/** One recorded event: which track (component), what, when, and typed arguments. */
export interface TraceEvent {
  readonly track: number;
  readonly name: string;
  readonly cat: string;
  readonly ph: TracePhase;
  /** Virtual time, ns. */
  readonly time: TimeNs;
  /** Duration for complete ("X") events, ns. */
  readonly dur: TimeNs;
  readonly args: TraceArgs | undefined;
}

/** A timeline: one process (host, guest) and one thread (hardware thread, vCPU) in it. */
export interface TraceTrack {
  readonly id: number;
  readonly process: string;
  readonly thread: string;
  readonly pid: number;
  readonly tid: number;
}

export interface ChromeTraceEvent {
  name: string;
  cat?: string;
  ph: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  s?: string;
  args?: Record<string, string | number | boolean>;
}

export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: "ns";
  otherData: Record<string, string>;
}

/**
 * Receives trace events as they are recorded (a streamed trace): `track()` once per track when it
 * is registered, `event()` per event in recording order, `end()` once when the run is over.
 */
export interface TraceConsumer {
  track(t: TraceTrack): void;
  event(e: TraceEvent, t: TraceTrack): void;
  end(): void;
}

/**
 * Records typed trace events. Off by default: call sites test `trace.enabled` (a plain field read)
 * before building arguments, so a disabled recorder costs one branch per site.
 * Exports Chrome Trace Event JSON, which Perfetto and chrome://tracing open.
 */
export class TraceRecorder {
  /** Whether events are recorded. Read this before building event arguments. */
  enabled = false;
  private readonly tracks: TraceTrack[] = [];
  private readonly trackIndex = new Map<string, number>();
  private readonly pids = new Map<string, number>();
  private readonly tidCount = new Map<number, number>();
  private readonly log: TraceEvent[] = [];
  private consumer: TraceConsumer | undefined;
  private streamed = 0;

  constructor(private readonly clock: () => TimeNs) {}

  /**
   * Streams from now on: every event goes to `consumer` as it is recorded instead of being kept,
   * so memory stays constant whatever the run's length (`events()` is then empty). Tracks and
   * events recorded so far are handed over first. Enables recording.
   */
  streamTo(consumer: TraceConsumer): void {
    this.consumer = consumer;
    for (const t of this.tracks) consumer.track(t);
    for (const e of this.log) consumer.event(e, this.tracks[e.track]);
    this.streamed += this.log.length;
    this.log.length = 0;
    this.enabled = true;
  }

  /** Ends a streamed trace (the consumer writes its trailer); recording stops. */
  endStream(): void {
    const c = this.consumer;
    if (c === undefined) return;
    this.consumer = undefined;
    this.enabled = false;
    c.end();
  }

  private push(e: TraceEvent): void {
    const c = this.consumer;
    if (c !== undefined) {
      this.streamed++;
      c.event(e, this.tracks[e.track]);
    } else this.log.push(e);
  }

  enable(): void {
    this.enabled = true;
  }

  disable(): void {
    this.enabled = false;
  }

  /** Registers (or finds) the track of `thread` in `process`; cheap to call when disabled too. */
  track(process: string, thread: string): number {
    const key = `${process}\u0000${thread}`;
    const found = this.trackIndex.get(key);
    if (found !== undefined) return found;
    let pid = this.pids.get(process);
    if (pid === undefined) {
      pid = this.pids.size + 1;
      this.pids.set(process, pid);
    }
    const tid = (this.tidCount.get(pid) ?? 0) + 1;
    this.tidCount.set(pid, tid);
    const id = this.tracks.length;
    const t = { id, process, thread, pid, tid };
    this.tracks.push(t);
    this.trackIndex.set(key, id);
    this.consumer?.track(t);
    return id;
  }

  getTrack(id: number): TraceTrack {
    const t = this.tracks[id];
    if (t === undefined) throw new SimError(`unknown trace track ${id}: register it with track()`);
    return t;
  }

  /** An instant event at the current time (e.g. `kvm_exit`). */
  instant(track: number, name: string, cat: string, args?: TraceArgs): void {
    if (!this.enabled) return;
    this.push({ track, name, cat, ph: "i", time: this.clock(), dur: 0, args });
  }

  /** A span with known start and duration (e.g. a `cpu_idle` residency). */
  complete(track: number, name: string, cat: string, start: TimeNs, dur: TimeNs, args?: TraceArgs): void {
    if (!this.enabled) return;
    this.push({ track, name, cat, ph: "X", time: start, dur, args });
  }

  begin(track: number, name: string, cat: string, args?: TraceArgs): void {
    if (!this.enabled) return;
    this.push({ track, name, cat, ph: "B", time: this.clock(), dur: 0, args });
  }

  end(track: number, name: string, cat: string, args?: TraceArgs): void {
    if (!this.enabled) return;
    this.push({ track, name, cat, ph: "E", time: this.clock(), dur: 0, args });
  }

  /** A counter sample (e.g. runnable vCPUs). */
  counter(track: number, name: string, values: Readonly<Record<string, number>>): void {
    if (!this.enabled) return;
    this.push({ track, name, cat: "counter", ph: "C", time: this.clock(), dur: 0, args: values });
  }

  /** Recorded events in recording order. */
  events(): readonly TraceEvent[] {
    return this.log;
  }

  /** Events recorded (kept in memory, or streamed). */
  get size(): number {
    return this.log.length + this.streamed;
  }

  clear(): void {
    this.log.length = 0;
  }

  /** All registered tracks. */
  allTracks(): readonly TraceTrack[] {
    return this.tracks;
  }

  /** The Chrome Trace Event JSON object (timestamps in microseconds, as the format requires). */
  toChromeTrace(meta: Record<string, string> = {}): ChromeTrace {
    const out: ChromeTraceEvent[] = [];
    for (const [process, pid] of this.pids) {
      out.push({ name: "process_name", ph: "M", pid, args: { name: process } });
    }
    for (const t of this.tracks) {
      out.push({ name: "thread_name", ph: "M", pid: t.pid, tid: t.tid, args: { name: t.thread } });
    }
    for (const e of this.log) {
      const t = this.tracks[e.track];
      const ev: ChromeTraceEvent = {
        name: e.name,
        cat: e.cat,
        ph: e.ph,
        ts: e.time / 1000,
        pid: t.pid,
        tid: t.tid,
      };
      if (e.ph === "X") ev.dur = e.dur / 1000;
      if (e.ph === "i") ev.s = "t";
      if (e.args !== undefined) ev.args = { ...e.args };
      out.push(ev);
    }
    return { traceEvents: out, displayTimeUnit: "ns", otherData: { generator: "stopsim", ...meta } };
  }

  toJSON(meta: Record<string, string> = {}): string {
    return JSON.stringify(this.toChromeTrace(meta));
  }

  /** SHA-256 of every recorded (in-memory) event and track: equal hashes mean equal traces. */
  hash(): string {
    const h = createHash("sha256");
    for (const t of this.tracks) h.update(`T${t.id}|${t.process}|${t.thread}\n`);
    for (const e of this.log) {
      h.update(
        `${e.track}|${e.ph}|${e.cat}|${e.name}|${e.time}|${e.dur}|${e.args ? JSON.stringify(e.args) : ""}\n`,
      );
    }
    return h.digest("hex");
  }
}

/** Chrome's timestamps are microseconds, as toChromeTrace() writes them. */
function usText(ns: number): string {
  return String(ns / 1000);
}

/**
 * Streams Chrome Trace Event JSON (what Perfetto and chrome://tracing open) to `write` in chunks
 * of about `chunkBytes`: one event per line, process and thread names as metadata events when a
 * track first appears. Memory is one chunk, whatever the trace's length.
 */
export class ChromeTraceWriter implements TraceConsumer {
  private buf: string;
  private first = true;
  private readonly pidsNamed = new Set<number>();
  events = 0;

  constructor(
    private readonly write: (chunk: string) => void,
    meta: Record<string, string> = {},
    private readonly chunkBytes = 1 << 20,
  ) {
    this.buf = `{"displayTimeUnit":"ns","otherData":${JSON.stringify({ generator: "stopsim", ...meta })},"traceEvents":[`;
  }

  private line(text: string): void {
    this.buf += this.first ? `\n${text}` : `,\n${text}`;
    this.first = false;
    if (this.buf.length >= this.chunkBytes) this.flush();
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    this.write(this.buf);
    this.buf = "";
  }

  track(t: TraceTrack): void {
    if (!this.pidsNamed.has(t.pid)) {
      this.pidsNamed.add(t.pid);
      this.line(
        `{"name":"process_name","ph":"M","pid":${t.pid},"args":{"name":${JSON.stringify(t.process)}}}`,
      );
    }
    this.line(
      `{"name":"thread_name","ph":"M","pid":${t.pid},"tid":${t.tid},"args":{"name":${JSON.stringify(t.thread)}}}`,
    );
  }

  event(e: TraceEvent, t: TraceTrack): void {
    this.events++;
    let text = `{"name":${JSON.stringify(e.name)},"cat":${JSON.stringify(e.cat)},"ph":"${e.ph}","ts":${usText(e.time)},"pid":${t.pid},"tid":${t.tid}`;
    if (e.ph === "X") text += `,"dur":${usText(e.dur)}`;
    else if (e.ph === "i") text += `,"s":"t"`;
    if (e.args !== undefined) text += `,"args":${JSON.stringify(e.args)}`;
    this.line(`${text}}`);
  }

  end(): void {
    this.buf += "\n]}\n";
    this.flush();
  }
}
