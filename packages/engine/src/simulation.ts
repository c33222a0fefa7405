import { InvalidTimeError, SchedulingInPastError, SimulationFinishedError } from "./errors.js";
import { RngRoot } from "./rng.js";
import { StatsRegistry } from "./stats.js";
import { assertTime, type TimeNs } from "./time.js";
import { TraceRecorder } from "./trace.js";

export type EventCallback = () => void;

/** Timer.pos of a timer whose callback is running while it still occupies the heap's top. */
const FIRING = -2;

/**
 * A re-armable event. Timers that are reprogrammed constantly (decrementers, hrtimers) keep one
 * Timer object and `arm()` it again: no allocation, O(log n) move inside the queue.
 */
export class Timer {
  /** Absolute virtual time of the next expiry, or -1 when not armed. */
  time: TimeNs = -1;
  /** Insertion sequence: equal times fire in the order they were armed. */
  seq = 0;
  /**
   * Index in the queue's heap; -1 when not queued; FIRING (-2) while its callback runs and it
   * still sits, spent, at the top of the heap (see Simulation.dispatchNext).
   */
  pos = -1;

  constructor(
    readonly sim: Simulation,
    public callback: EventCallback,
    readonly label = "",
  ) {}

  get armed(): boolean {
    return this.pos >= 0;
  }

  /** Arms (or re-arms) the timer to fire at absolute time `at`. */
  arm(at: TimeNs): this {
    this.sim.armTimer(this, at);
    return this;
  }

  /** Arms (or re-arms) the timer to fire `delay` ns from now. */
  armIn(delay: TimeNs): this {
    if (!(delay >= 0) || delay === Number.POSITIVE_INFINITY) {
      throw new InvalidTimeError(
        `delay of timer '${this.label}' must be a finite, non-negative number of ns, got ${String(delay)}`,
      );
    }
    this.sim.armTimer(this, this.sim.now + delay);
    return this;
  }

  /** Cancels the timer if armed; returns whether it was. Cheap and idempotent. */
  cancel(): boolean {
    return this.sim.cancel(this);
  }
}

export interface SimulationOptions {
  /** Root seed of every random stream of the simulation. */
  seed?: number | bigint | string;
  /** Record trace events from the start (off by default: near-zero cost). */
  trace?: boolean;
}

/**
 * Discrete-event simulation core. Time is virtual, in integer nanoseconds; events are timers kept
 * in an indexed binary heap ordered by (time, insertion sequence).
 */
export class Simulation {
  private heap: Timer[] = [];
  /**
   * The timer whose callback runs, left at the heap's top until the callback returns: a timer that
   * re-arms itself (periodic ticks, decrementers, the guest's hrtimers) then moves down once
   * instead of a pop and a push. Null when no spent timer sits at the top.
   */
  private firing: Timer | null = null;
  private nextSeq = 0;
  private _now: TimeNs = 0;
  private _finished = false;
  private _dispatched = 0;

  readonly rng: RngRoot;
  readonly trace: TraceRecorder;
  readonly stats: StatsRegistry;

  constructor(options: SimulationOptions = {}) {
    this.rng = new RngRoot(options.seed ?? 1);
    this.trace = new TraceRecorder(() => this._now);
    if (options.trace) this.trace.enable();
    this.stats = new StatsRegistry();
  }

  /** Current virtual time in ns. */
  get now(): TimeNs {
    return this._now;
  }

  /** Number of events waiting. */
  get pending(): number {
    if (this.firing !== null) this.settleFiring();
    return this.heap.length;
  }

  /** Number of events dispatched so far. */
  get dispatched(): number {
    return this._dispatched;
  }

  get finished(): boolean {
    return this._finished;
  }

  /** Time of the next event, or Infinity when the queue is empty. */
  get nextTime(): TimeNs {
    if (this.firing !== null) this.settleFiring();
    return this.heap.length > 0 ? this.heap[0].time : Number.POSITIVE_INFINITY;
  }

  /** A timer that is not armed yet. */
  createTimer(callback: EventCallback, label = ""): Timer {
    return new Timer(this, callback, label);
  }

  /** Schedules `callback` to run `delay` ns from now. */
  schedule(delay: TimeNs, callback: EventCallback, label = ""): Timer {
    if (!(delay >= 0) || delay === Number.POSITIVE_INFINITY) {
      assertTime(delay, `delay of event '${label}'`);
    }
    const t = new Timer(this, callback, label);
    this.armTimer(t, this._now + delay);
    return t;
  }

  /** Schedules `callback` to run at absolute time `time`. */
  scheduleAt(time: TimeNs, callback: EventCallback, label = ""): Timer {
    const t = new Timer(this, callback, label);
    this.armTimer(t, time);
    return t;
  }

  /** Cancels an event; returns whether it was pending. */
  cancel(timer: Timer): boolean {
    const pos = timer.pos;
    if (pos < 0) return false;
    const heap = this.heap;
    const last = heap.pop() as Timer;
    timer.pos = -1;
    timer.time = -1;
    if (last !== timer) {
      heap[pos] = last;
      last.pos = pos;
      if (!this.siftUp(pos)) this.siftDown(pos);
    }
    return true;
  }

  /** Arms `timer` at absolute time `at` (used by Timer.arm). */
  armTimer(timer: Timer, at: TimeNs): void {
    if (this._finished) {
      throw new SimulationFinishedError(
        `cannot schedule '${timer.label}': the simulation was finished; create a new Simulation`,
      );
    }
    if (!(at >= this._now) || at === Number.POSITIVE_INFINITY) {
      if (Number.isNaN(at) || at === Number.POSITIVE_INFINITY || typeof at !== "number") {
        throw new InvalidTimeError(
          `time of event '${timer.label}' must be a finite number of ns, got ${String(at)}`,
        );
      }
      throw new SchedulingInPastError(
        `event '${timer.label}' at ${at} ns is in the past (now is ${this._now} ns): schedule at now or later`,
      );
    }
    timer.time = at;
    timer.seq = this.nextSeq++;
    const heap = this.heap;
    if (timer.pos === FIRING) {
      // re-armed from its own callback: it is at the top and its (time, seq) only grew
      this.firing = null;
      timer.pos = 0;
      this.siftDown(0);
    } else if (timer.pos >= 0) {
      if (!this.siftUp(timer.pos)) this.siftDown(timer.pos);
    } else {
      timer.pos = heap.length;
      heap.push(timer);
      this.siftUp(timer.pos);
    }
  }

  /** Dispatches the next event; returns false when the queue is empty. */
  step(): boolean {
    this.assertRunnable("step");
    if (this.heap.length === 0) return false;
    this.dispatchNext();
    return true;
  }

  /**
   * Dispatches every event with time <= `time`, then sets the clock to `time`.
   * Returns the number of events dispatched.
   */
  runUntil(time: TimeNs): number {
    this.assertRunnable("runUntil");
    assertTime(time, "runUntil time");
    if (time < this._now) {
      throw new SchedulingInPastError(
        `runUntil(${time}) is in the past (now is ${this._now} ns): give a time at or after now`,
      );
    }
    const heap = this.heap;
    const start = this._dispatched;
    while (heap.length > 0 && heap[0].time <= time) {
      this.dispatchNext();
      if (this._finished) return this._dispatched - start;
    }
    this._now = time;
    return this._dispatched - start;
  }

  /** Runs for `duration` ns of virtual time. */
  runFor(duration: TimeNs): number {
    assertTime(duration, "runFor duration");
    return this.runUntil(this._now + duration);
  }

  /** Runs until the queue is empty or `limit` events were dispatched. */
  runAll(limit = Number.POSITIVE_INFINITY): number {
    this.assertRunnable("runAll");
    const start = this._dispatched;
    while (this.heap.length > 0 && this._dispatched - start < limit && !this._finished) {
      this.dispatchNext();
    }
    return this._dispatched - start;
  }

  /** Ends the simulation: later runs and schedules throw SimulationFinishedError. */
  finish(): void {
    this._finished = true;
  }

  private assertRunnable(what: string): void {
    if (this._finished) {
      throw new SimulationFinishedError(
        `${what}() on a finished simulation: create a new Simulation to run again`,
      );
    }
  }

  private dispatchNext(): void {
    if (this.firing !== null) this.settleFiring(); // a callback that runs the simulation itself
    const top = this.heap[0];
    // The spent timer stays at the top while its callback runs: nothing armed meanwhile can order
    // before it (times >= now, later sequence numbers), so the top is still it afterwards. If the
    // callback throws, `firing` stays set and the next run, pending or nextTime removes it.
    top.pos = FIRING;
    this.firing = top;
    this._now = top.time;
    this._dispatched++;
    top.callback();
    if (top.pos === FIRING) this.settleFiring();
  }

  /** Removes the spent firing timer from the heap's top. */
  private settleFiring(): void {
    const top = this.firing as Timer;
    this.firing = null;
    top.pos = -1;
    const heap = this.heap;
    const last = heap.pop() as Timer;
    if (last !== top) {
      heap[0] = last;
      last.pos = 0;
      this.siftDown(0);
    }
  }

  private siftUp(pos: number): boolean {
    const heap = this.heap;
    const item = heap[pos];
    const time = item.time;
    const seq = item.seq;
    const start = pos;
    while (pos > 0) {
      const parentPos = (pos - 1) >> 1;
      const parent = heap[parentPos];
      if (parent.time < time || (parent.time === time && parent.seq < seq)) break;
      heap[pos] = parent;
      parent.pos = pos;
      pos = parentPos;
    }
    heap[pos] = item;
    item.pos = pos;
    return pos !== start;
  }

  private siftDown(pos: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[pos];
    const time = item.time;
    const seq = item.seq;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      let c = heap[child];
      const right = child + 1;
      if (right < n) {
        const r = heap[right];
        if (r.time < c.time || (r.time === c.time && r.seq < c.seq)) {
          child = right;
          c = r;
        }
      }
      if (time < c.time || (time === c.time && seq < c.seq)) break;
      heap[pos] = c;
      c.pos = pos;
      pos = child;
    }
    heap[pos] = item;
    item.pos = pos;
  }
}
