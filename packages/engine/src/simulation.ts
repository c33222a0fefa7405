import { InvalidTimeError, SchedulingInPastError, SimError, SimulationFinishedError } from "./errors.js";
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
  /** Insertion sequence of the last arming: equal times fire in the order they were armed. */
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
  /**
   * Draw from this root instead of a new one seeded by `seed` (a partition of a
   * PartitionedSimulation draws from its share of the model's root).
   */
  rng?: RngRoot;
}

/** Initial capacity of the heap arrays; they double when full. */
const INITIAL_CAPACITY = 64;

function noop(): void {}

/**
 * Discrete-event simulation core. Time is virtual, in integer nanoseconds; events are timers kept
 * in an indexed binary min-heap ordered by (time, insertion sequence). The heap's keys live in
 * typed arrays beside the timer objects, so ordering compares plain doubles without touching the
 * timers; each timer knows its heap index, so cancel and re-arm are O(log n) in place.
 */
export class Simulation {
  /**
   * Expiry time of the timer at each heap index: the heap compares these plain doubles and reads
   * a timer's `seq` only to order equal times.
   */
  private times = new Float64Array(INITIAL_CAPACITY);
  /** Timer at each heap index; indexes >= size hold `vacant` so the array stays one shape. */
  private items: Timer[];
  private size = 0;
  private readonly vacant: Timer;
  /**
   * The timer whose callback runs, left at the heap's top until the callback returns: a timer that
   * re-arms itself (periodic ticks, decrementers, the guest's hrtimers) then moves down once
   * instead of a pop and a push. Null when no spent timer sits at the top.
   */
  private firing: Timer | null = null;
  private nextSeq = 0;
  /** End time of the run in progress (runUntil's time, Infinity for runAll); -1 outside runs. */
  private horizon: TimeNs = -1;
  private _now: TimeNs = 0;
  private _finished = false;
  private _dispatched = 0;

  readonly rng: RngRoot;
  readonly trace: TraceRecorder;
  readonly stats: StatsRegistry;
  /**
   * The PartitionedSimulation this simulation is a partition of, or null: a partition is run by
   * its group only (its own run methods throw outside the group's runs).
   */
  partitionOf: { readonly running: boolean; readonly name: string } | null = null;

  constructor(options: SimulationOptions = {}) {
    this.vacant = new Timer(this, noop, "vacant");
    this.items = new Array<Timer>(INITIAL_CAPACITY).fill(this.vacant);
    this.rng = options.rng ?? new RngRoot(options.seed ?? 1);
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
    return this.size;
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
    return this.size > 0 ? this.times[0] : Number.POSITIVE_INFINITY;
  }

  /**
   * Lets the running callback continue `delay` ns later without an event: when no event is due
   * before now + delay (strictly: one due at that very time was armed first and goes first) and
   * the run in progress reaches that time, the clock moves there and true is returned; the caller
   * then goes on as if a timer armed for now + delay had just fired. Otherwise nothing changes
   * and the caller arms its timer. The order of everything that happens is the same either way;
   * only the dispatched-event count differs.
   */
  tryAdvance(delay: TimeNs): boolean {
    const to = this._now + delay;
    if (!(delay >= 0 && to <= this.horizon)) return false;
    const times = this.times;
    const n = this.size;
    let next: number;
    if (this.firing !== null) {
      // the spent timer of the running callback still holds the top: the next event is the
      // lesser of its children
      next = n > 1 ? times[1] : Number.POSITIVE_INFINITY;
      if (n > 2 && times[2] < next) next = times[2];
    } else {
      next = n > 0 ? times[0] : Number.POSITIVE_INFINITY;
    }
    if (!(next > to)) return false;
    this._now = to;
    return true;
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
    timer.pos = -1;
    timer.time = -1;
    const n = --this.size;
    const items = this.items;
    if (pos !== n) {
      // the last entry fills the hole and moves whichever way its key says
      const time = this.times[n];
      const last = items[n];
      items[n] = this.vacant;
      const parent = (pos - 1) >> 1;
      if (pos > 0 && this.less(time, last.seq, parent)) this.siftUp(pos, time, last);
      else this.siftDown(pos, time, last);
    } else {
      items[n] = this.vacant;
    }
    return true;
  }

  /** Arms `timer` at absolute time `at` (used by Timer.arm). */
  armTimer(timer: Timer, at: TimeNs): void {
    if (this._finished || !(at >= this._now) || at === Number.POSITIVE_INFINITY) {
      this.rejectArm(timer, at);
    }
    timer.time = at;
    timer.seq = this.nextSeq++;
    const pos = timer.pos;
    if (pos === FIRING) {
      // re-armed from its own callback: it is at the top and its (time, seq) only grew
      this.firing = null;
      this.siftDown(0, at, timer);
    } else if (pos >= 0) {
      // the new sequence is the largest yet: the key shrank only if the time did
      if (at < this.times[pos]) this.siftUp(pos, at, timer);
      else this.siftDown(pos, at, timer);
    } else {
      if (this.size === this.times.length) this.grow();
      this.siftUp(this.size++, at, timer);
    }
  }

  /**
   * Arms `timer` (not armed) at `at` with ordering key `seq` instead of the next insertion number:
   * a negative key orders it before every timer armed the usual way for the same time. Used between
   * runs only (PartitionedSimulation delivers channel messages with it).
   * @internal
   */
  armOrdered(timer: Timer, at: TimeNs, seq: number): void {
    if (timer.pos !== -1 || this.firing !== null) {
      throw new SimError(`armOrdered('${timer.label}'): only a timer not armed, between runs`);
    }
    if (this._finished || !(at >= this._now) || at === Number.POSITIVE_INFINITY) {
      this.rejectArm(timer, at);
    }
    timer.time = at;
    timer.seq = seq;
    if (this.size === this.times.length) this.grow();
    this.siftUp(this.size++, at, timer);
  }

  /** Dispatches the next event; returns false when the queue is empty. */
  step(): boolean {
    this.assertRunnable("step");
    if (this.size === 0) return false;
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
    const start = this._dispatched;
    const outer = this.horizon;
    this.horizon = time;
    try {
      // `times` is re-read each pass: arming from a callback may replace it with a larger array
      while (this.size > 0 && this.times[0] <= time) {
        this.dispatchNext();
        if (this._finished) return this._dispatched - start;
      }
    } finally {
      this.horizon = outer;
    }
    if (time > this._now) this._now = time;
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
    const outer = this.horizon;
    this.horizon = Number.POSITIVE_INFINITY;
    try {
      while (this.size > 0 && this._dispatched - start < limit && !this._finished) {
        this.dispatchNext();
      }
    } finally {
      this.horizon = outer;
    }
    return this._dispatched - start;
  }

  /** Ends the simulation: later runs and schedules throw SimulationFinishedError. */
  finish(): void {
    this._finished = true;
  }

  /** Throws the error that explains why `timer` cannot be armed at `at` (kept off the hot path). */
  private rejectArm(timer: Timer, at: TimeNs): never {
    if (this._finished) {
      throw new SimulationFinishedError(
        `cannot schedule '${timer.label}': the simulation was finished; create a new Simulation`,
      );
    }
    if (Number.isNaN(at) || at === Number.POSITIVE_INFINITY || typeof at !== "number") {
      throw new InvalidTimeError(
        `time of event '${timer.label}' must be a finite number of ns, got ${String(at)}`,
      );
    }
    throw new SchedulingInPastError(
      `event '${timer.label}' at ${at} ns is in the past (now is ${this._now} ns): schedule at now or later`,
    );
  }

  private assertRunnable(what: string): void {
    const group = this.partitionOf;
    if (group !== null && !group.running) {
      throw new SimError(
        `${what}() on a partition of '${group.name}': run the PartitionedSimulation instead, which keeps its partitions in step`,
      );
    }
    if (this._finished) {
      throw new SimulationFinishedError(
        `${what}() on a finished simulation: create a new Simulation to run again`,
      );
    }
  }

  private dispatchNext(): void {
    if (this.firing !== null) this.settleFiring(); // a callback that runs the simulation itself
    const top = this.items[0];
    // The spent timer stays at the top while its callback runs: nothing armed meanwhile can order
    // before it (times >= now, later sequence numbers), so the top is still it afterwards. If the
    // callback throws, `firing` stays set and the next run, pending or nextTime removes it.
    top.pos = FIRING;
    this.firing = top;
    this._now = this.times[0];
    this._dispatched++;
    top.callback();
    if (top.pos === FIRING) this.settleFiring();
  }

  /** Removes the spent firing timer from the heap's top. */
  private settleFiring(): void {
    const top = this.firing as Timer;
    this.firing = null;
    top.pos = -1;
    const n = --this.size;
    const items = this.items;
    if (n > 0) {
      const last = items[n];
      items[n] = this.vacant;
      this.siftDown(0, this.times[n], last);
    } else {
      items[0] = this.vacant;
    }
  }

  /** Whether key (time, seq) orders before the entry at heap index `pos`. */
  private less(time: TimeNs, seq: number, pos: number): boolean {
    const t = this.times[pos];
    return time < t || (time === t && seq < this.items[pos].seq);
  }

  /** Doubles the heap arrays. */
  private grow(): void {
    const capacity = this.times.length * 2;
    const times = new Float64Array(capacity);
    times.set(this.times);
    this.times = times;
    const items = this.items;
    for (let i = items.length; i < capacity; i++) items.push(this.vacant);
  }

  /** Places `item` (expiring at `time`) at hole `pos` or above it. */
  private siftUp(pos: number, time: TimeNs, item: Timer): void {
    const times = this.times;
    const items = this.items;
    const seq = item.seq;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const pt = times[parent];
      const p = items[parent];
      if (pt < time || (pt === time && p.seq < seq)) break;
      times[pos] = pt;
      items[pos] = p;
      p.pos = pos;
      pos = parent;
    }
    times[pos] = time;
    items[pos] = item;
    item.pos = pos;
  }

  /**
   * Places `item` (expiring at `time`), which orders after the hole's parent, at hole `pos` or
   * below it. The hole first descends to a leaf along the lesser children, then the item rises
   * from there (Floyd): a re-armed key mostly belongs near the leaves, so this spares the
   * comparison with the item on the way down. The lesser child is picked without a branch
   * (`Number(right < left)`), since which child wins is a coin toss the CPU cannot predict; the
   * sequence numbers decide only between equal times.
   */
  private siftDown(pos: number, time: TimeNs, item: Timer): void {
    const times = this.times;
    const items = this.items;
    const n = this.size;
    const last = n - 1;
    let child = 2 * pos + 1;
    while (child < last) {
      const left = times[child];
      const right = times[child + 1];
      child += Number(right < left);
      if (right === left && items[child + 1].seq < items[child].seq) child++;
      times[pos] = times[child];
      const c = items[child];
      items[pos] = c;
      c.pos = pos;
      pos = child;
      child = 2 * pos + 1;
    }
    if (child === last) {
      // a lone last child
      times[pos] = times[child];
      const c = items[child];
      items[pos] = c;
      c.pos = pos;
      pos = child;
    }
    this.siftUp(pos, time, item);
  }
}
