import { SimError } from "./errors.js";
import { RngRoot } from "./rng.js";
import { type EventCallback, Simulation } from "./simulation.js";
import { assertTime, NS_PER_MS, type TimeNs } from "./time.js";

/** Default window cap of a PartitionedSimulation: 1 ms of simulated time. */
export const DEFAULT_PARTITION_WINDOW_NS: TimeNs = NS_PER_MS;

export interface PartitionedSimulationOptions {
  /** Root seed of every random stream of the model (each partition draws from its share). */
  seed?: number | bigint | string;
  /** Record trace events in every partition from the start. */
  trace?: boolean;
  /**
   * Longest stretch of simulated time one partition runs before the next takes its turn, when no
   * open channel asks for less (default 1 ms). Runs still end exactly where asked.
   */
  window?: TimeNs;
  /** Name of the model, in error messages (default "model"). */
  name?: string;
}

/** A message in flight: sent in one window, armed in its destination at the window's end. */
interface InFlight {
  readonly channel: Channel;
  readonly seq: number;
  readonly at: TimeNs;
  readonly callback: EventCallback;
}

/**
 * A one-way link from one partition to another (or to itself) with a fixed latency: the only way
 * one partition's events may cause another's. A message sent at time t runs in the destination at
 * t + latency; the latency is the lookahead that lets the partitions run apart for a window.
 */
export class Channel {
  private nextSeq = 0;
  private open = true;

  /** @internal created by PartitionedSimulation.channel() */
  constructor(
    private readonly group: PartitionedSimulation,
    readonly index: number,
    readonly from: Simulation,
    readonly to: Simulation,
    readonly latency: TimeNs,
    readonly label: string,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** Runs `callback` in the destination partition `latency` ns after the source's current time. */
  send(callback: EventCallback): void {
    if (!this.open) {
      throw new SimError(`send on channel '${this.label}' after close(): open a new channel`);
    }
    if (this.nextSeq >= 2 ** 32) {
      throw new SimError(`channel '${this.label}' carried 2^32 messages: open a new channel`);
    }
    const running = this.group.current;
    if (running !== null && running !== this.from) {
      throw new SimError(
        `send on channel '${this.label}' from another partition than its source: open a channel from that partition`,
      );
    }
    this.group.post({ channel: this, seq: this.nextSeq++, at: this.from.now + this.latency, callback });
  }

  /** Closes the channel: no more sends; messages in flight still arrive; the window may grow. */
  close(): void {
    this.open = false;
  }
}

/**
 * A model split into logical partitions (conservative parallel discrete-event simulation, run on
 * one thread): each partition is a Simulation with its own event heap and clock, and the group
 * runs them one after another for a window of simulated time each. Partitions share no state; a
 * partition's events may affect another's only through a Channel, whose latency bounds the window
 * (the lookahead: a message sent in a window always arrives after it). With no channel open the
 * window is the configured cap. Running each partition for a window keeps its state hot in the CPU
 * caches, where one heap for the whole model would jump between partitions at every event.
 *
 * Results do not depend on the window nor on how the model is split: each partition's events
 * happen in the same order as in one Simulation holding the whole model (same seed, same trace per
 * partition). A message arriving at time t runs before its destination's own events at t;
 * messages arriving together run in (channel creation, send) order.
 */
export class PartitionedSimulation {
  readonly rng: RngRoot;
  readonly name: string;
  /** The configured window cap, ns. */
  readonly maxWindow: TimeNs;
  private readonly parts: Simulation[] = [];
  private readonly names = new Set<string>();
  private readonly channels: Channel[] = [];
  private outbox: InFlight[] = [];
  private readonly traceOn: boolean;
  private _now: TimeNs = 0;
  /** End of the current window: the partitions all reach it before any message sent in it lands. */
  private windowEnd: TimeNs;
  private _running = false;
  /** @internal the partition whose window runs now, or null between runs */
  current: Simulation | null = null;

  constructor(options: PartitionedSimulationOptions = {}) {
    this.rng = new RngRoot(options.seed ?? 1);
    this.name = options.name ?? "model";
    const w = options.window ?? DEFAULT_PARTITION_WINDOW_NS;
    assertTime(w, "window of a PartitionedSimulation");
    if (w === 0) throw new SimError("window of a PartitionedSimulation must be > 0 ns, got 0");
    this.maxWindow = w;
    this.windowEnd = w;
    this.traceOn = options.trace === true;
  }

  /** True while the group runs its partitions (their run methods may be called then only). */
  get running(): boolean {
    return this._running;
  }

  /** A new partition: a Simulation of its own (heap, clock, trace, stats) drawing from the model's streams. */
  partition(name: string): Simulation {
    if (this.names.has(name)) {
      throw new SimError(
        `partition '${name}' exists already in '${this.name}': give each partition its own name`,
      );
    }
    if (this._running) {
      throw new SimError(
        `partition '${name}' created during a run of '${this.name}': create partitions between runs`,
      );
    }
    this.names.add(name);
    const sim = new Simulation({ rng: this.rng.partition(name), trace: this.traceOn });
    if (this._now > 0) {
      // join at the model's current time
      this._running = true;
      try {
        sim.partitionOf = this;
        sim.runUntil(this._now);
      } finally {
        this._running = false;
      }
    }
    sim.partitionOf = this;
    this.parts.push(sim);
    return sim;
  }

  get partitions(): readonly Simulation[] {
    return this.parts;
  }

  /**
   * Opens a channel from partition `from` to `to` with latency `latency` ns (> 0). Open channels
   * between runs: from the next window on, the window is at most the smallest open latency.
   */
  channel(from: Simulation, to: Simulation, latency: TimeNs, label = ""): Channel {
    for (const p of [from, to]) {
      if (p.partitionOf !== this) {
        throw new SimError(
          `channel '${label}': both ends must be partitions of '${this.name}' (use its partition())`,
        );
      }
    }
    assertTime(latency, `latency of channel '${label}'`);
    if (latency === 0) {
      throw new SimError(
        `channel '${label}' has latency 0: partitions linked without delay belong in one partition`,
      );
    }
    if (this._running) {
      throw new SimError(
        `channel '${label}' opened during a run of '${this.name}': open channels between runs`,
      );
    }
    if (this.channels.length >= 2 ** 20) {
      throw new SimError(`channel '${label}': ${this.name} has 2^20 channels already; reuse open ones`);
    }
    const c = new Channel(this, this.channels.length, from, to, latency, label);
    this.channels.push(c);
    this.windowEnd = Math.min(this.windowEnd, this._now + this.window);
    return c;
  }

  /**
   * The current window: the cap, or half the smallest latency of an open channel when that is less
   * (a message sent in a window then always lands after the window's end, even one sent at its start).
   */
  get window(): TimeNs {
    let w = this.maxWindow;
    for (const c of this.channels) if (c.isOpen && c.latency / 2 < w) w = c.latency / 2;
    return w;
  }

  /** The time every partition has reached. */
  get now(): TimeNs {
    return this._now;
  }

  /** Events dispatched so far, over every partition. */
  get dispatched(): number {
    let n = 0;
    for (const p of this.parts) n += p.dispatched;
    return n;
  }

  /** Events waiting over every partition, messages in flight included. */
  get pending(): number {
    let n = this.outbox.length;
    for (const p of this.parts) n += p.pending;
    return n;
  }

  /** Time of the next event of any partition or message arrival, or Infinity. */
  get nextTime(): TimeNs {
    let t = Number.POSITIVE_INFINITY;
    for (const m of this.outbox) if (m.at < t) t = m.at;
    for (const p of this.parts) t = Math.min(t, p.nextTime);
    return t;
  }

  /** @internal a message sent on one of this group's channels */
  post(m: InFlight): void {
    this.outbox.push(m);
  }

  /**
   * Runs every partition through each event with time <= `time`, window by window, then sets the
   * clock to `time`. Returns the number of events dispatched.
   */
  runUntil(time: TimeNs): number {
    assertTime(time, "runUntil time");
    if (time < this._now) {
      throw new SimError(
        `runUntil(${time}) is in the past (now is ${this._now} ns): give a time at or after now`,
      );
    }
    if (this._running) throw new SimError(`runUntil() of '${this.name}' from inside its own run`);
    const start = this.dispatched;
    this._running = true;
    try {
      for (;;) {
        const end = Math.min(time, this.windowEnd);
        for (const p of this.parts) {
          this.current = p;
          p.runUntil(end);
        }
        this.current = null;
        this._now = end;
        if (end === this.windowEnd) {
          this.deliver();
          this.windowEnd = end + this.window;
        }
        if (end === time) break;
      }
    } finally {
      this._running = false;
      this.current = null;
    }
    return this.dispatched - start;
  }

  /** Runs for `duration` ns of simulated time. */
  runFor(duration: TimeNs): number {
    assertTime(duration, "runFor duration");
    return this.runUntil(this._now + duration);
  }

  /** Runs until no partition has an event left and no message is in flight. */
  runAll(): number {
    let n = 0;
    while (this.pending > 0) n += this.runUntil(Math.max(this._now, this.nextTime));
    return n;
  }

  /** Arms the messages sent in the window that just ended. */
  private deliver(): void {
    if (this.outbox.length === 0) return;
    const box = this.outbox;
    this.outbox = [];
    for (const m of box) {
      const to = m.channel.to;
      if (!(m.at > to.now)) {
        throw new SimError(
          `message on channel '${m.channel.label}' for ${m.at} ns reached its partition at ${to.now} ns`,
        );
      }
      // before the destination's own events at the same time, in (channel, send) order: a key
      // that depends on neither the window nor on how the partitions interleave
      const key = Number.MIN_SAFE_INTEGER + m.channel.index * 2 ** 32 + m.seq;
      to.armOrdered(to.createTimer(m.callback, m.channel.label), m.at, key);
    }
  }
}
