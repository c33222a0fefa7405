// A POWER9 SMT4 core: four hardware threads sharing the core's issue resources.

import type { Simulation } from "@stopsim/engine";
import { type ChipModel, POWER9_DD23 } from "./chips.js";
import { GuestStopErratum, type GuestStopErratumConfig } from "./errata.js";
import { POWER9_SMT4_SHARING, type SmtSharingModel, sharedSpeed } from "./smt.js";
import { HwThread } from "./thread.js";

export class CoreConfigError extends RangeError {
  override readonly name = "CoreConfigError";
}

/**
 * Delivery fabric of msgsnd: finds a hardware thread by PIR across cores. Cores of one machine
 * share one fabric.
 */
export class DoorbellFabric {
  private readonly byPir = new Map<number, HwThread>();

  register(thread: HwThread): void {
    if (this.byPir.has(thread.pir)) {
      throw new CoreConfigError(`PIR ${thread.pir} is already used by another thread of this machine`);
    }
    this.byPir.set(thread.pir, thread);
  }

  lookup(pir: number): HwThread | null {
    return this.byPir.get(pir) ?? null;
  }
}

export interface SmtCoreOptions {
  chip?: ChipModel;
  /** Core number; thread PIRs are (coreId << 2) | thread (POWER9 SMT4 PIR layout). */
  coreId?: number;
  fabric?: DoorbellFabric;
  /** Guest-stop erratum settings (default: enabled on DD < 2.3, see errata.ts). */
  guestStopErratum?: Partial<GuestStopErratumConfig>;
  /** HID0[HILE]: hypervisor interrupts little-endian (default true). */
  hile?: boolean;
  /** Issue-resource sharing model (default POWER9_SMT4_SHARING, see smt.ts). */
  sharing?: SmtSharingModel;
  /**
   * Threads present, 1 .. chip.threadsPerCore (default all): a core built with fewer has only
   * those (qemu: hw/ppc/pnv_core.c creates `nr_threads` per core), so the sharing counts them alone.
   */
  threads?: number;
}

export type CoreChangeListener = (core: SmtCore) => void;

/** Cores of up to this many threads share a table of speeds per input signature (4 bits a thread). */
const SPEED_TABLE_THREADS = 4;

/**
 * Each thread's speed for every input signature of a core of up to 4 threads (SmtCore's
 * inputSignature), filled in as signatures are met; shared by the cores of one sharing model (a
 * thread's speed depends on the sharing model and the threads' states only).
 */
interface SpeedTable {
  /** 1 where the signature's speeds are filled in. */
  readonly known: Uint8Array;
  /** SPEED_TABLE_THREADS speeds per signature. */
  readonly speeds: Float64Array;
}

const speedTables = new WeakMap<SmtSharingModel, SpeedTable>();

function speedTable(sharing: SmtSharingModel): SpeedTable {
  let t = speedTables.get(sharing);
  if (t === undefined) {
    const signatures = 1 << (4 * SPEED_TABLE_THREADS);
    t = { known: new Uint8Array(signatures), speeds: new Float64Array(signatures * SPEED_TABLE_THREADS) };
    speedTables.set(sharing, t);
  }
  return t;
}

export class SmtCore {
  readonly sim: Simulation;
  readonly chip: ChipModel;
  readonly coreId: number;
  readonly fabric: DoorbellFabric;
  readonly threads: readonly HwThread[];
  readonly errata: GuestStopErratum;
  readonly sharing: SmtSharingModel;
  /** Replaced, never mutated, on (un)subscribe: notifying iterates the array it started with. */
  private listeners: readonly CoreChangeListener[] = [];
  private readonly speeds: number[];
  private notifying = false;
  private dirty = true;

  constructor(sim: Simulation, options: SmtCoreOptions = {}) {
    this.sim = sim;
    this.chip = options.chip ?? POWER9_DD23;
    this.coreId = options.coreId ?? 0;
    if (!Number.isInteger(this.coreId) || this.coreId < 0 || this.coreId > 0x1fff) {
      throw new CoreConfigError(`coreId must be an integer in 0..8191, got ${String(options.coreId)}`);
    }
    this.fabric = options.fabric ?? new DoorbellFabric();
    this.errata = new GuestStopErratum(sim, this.coreId, this.chip, options.guestStopErratum);
    this.sharing = options.sharing ?? POWER9_SMT4_SHARING;
    const threads: HwThread[] = [];
    const present = options.threads ?? this.chip.threadsPerCore;
    if (!Number.isInteger(present) || present < 1 || present > this.chip.threadsPerCore) {
      throw new CoreConfigError(
        `threads must be an integer in 1..${this.chip.threadsPerCore} (the chip's threads per core), got ${String(options.threads)}`,
      );
    }
    for (let i = 0; i < present; i++) {
      const t = new HwThread(sim, {
        pir: (this.coreId << 2) | i,
        index: i,
        chip: this.chip,
        hile: options.hile ?? true,
      });
      t.core = this;
      this.fabric.register(t);
      threads.push(t);
    }
    this.threads = threads;
    this.speeds = threads.map(() => -1);
    this.table = threads.length <= SPEED_TABLE_THREADS ? speedTable(this.sharing) : null;
    this.recompute();
  }

  /** A thread by PIR through the machine's fabric (msgsnd target). */
  lookupPir(pir: number): HwThread | null {
    return this.fabric.lookup(pir);
  }

  /** Number of threads that are not stopped. */
  get runningThreads(): number {
    let n = 0;
    for (const t of this.threads) if (!t.stopped) n++;
    return n;
  }

  /**
   * Work per ns of thread `i` relative to the same thread alone on the core (0 when stopped).
   * See smt.ts for the model and its calibration.
   */
  effectiveSpeed(threadIndex: number): number {
    if (!Number.isInteger(threadIndex) || threadIndex < 0 || threadIndex >= this.threads.length) {
      throw new CoreConfigError(
        `thread index must be 0..${this.threads.length - 1}, got ${String(threadIndex)}`,
      );
    }
    if (this.dirty) this.recompute();
    return this.speeds[threadIndex];
  }

  /**
   * Work per ns of thread `i` while it executes code, for software that charges time on it
   * (kernel and hypervisor paths): its effectiveSpeed, or, while the thread is still marked
   * stopped (a wake-up being processed), the speed it gets once running at its priority.
   * No argument check: callers pass their own thread's index (hot path).
   */
  runningSpeed(threadIndex: number): number {
    if (this.dirty) this.recompute();
    const s = this.speeds[threadIndex];
    if (s > 0) return s;
    // cold path: the same sharing with this thread counted as running
    const running = this.threads.map((t, i) => i === threadIndex || !t.stopped);
    const priorities = this.threads.map((t) => t.priority);
    const r = sharedSpeed(this.sharing, running, priorities, threadIndex);
    return r > 0 ? r : 1;
  }

  /** Calls `listener` whenever a thread's speed may have changed; returns an unsubscribe function. */
  onSpeedChange(listener: CoreChangeListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Called by the threads when they stop, wake, or change priority. */
  notifyChange(): void {
    // the speeds' inputs (which threads run, at which priority) as they were at the last
    // recompute: nothing can have changed (a priority set to the one it had, an rfid that did not
    // stop or wake anything)
    const sig = this.inputSignature();
    if (sig === this.computedFor && sig !== -1) return;
    this.dirty = true;
    if (this.listeners.length === 0) return;
    if (!this.recomputeFor(sig)) return;
    if (this.notifying) return;
    this.notifying = true;
    try {
      const ls = this.listeners;
      for (let i = 0; i < ls.length; i++) ls[i](this);
    } finally {
      this.notifying = false;
    }
  }

  /**
   * Which threads run and at which priority, 4 bits per thread (-1 for cores of more than 8
   * threads: no signature, always recompute).
   */
  private inputSignature(): number {
    const ts = this.threads;
    if (ts.length > 8) return -1;
    let sig = 0;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i];
      sig |= ((t.stopped ? 0 : 1) | (t.priority << 1)) << (4 * i);
    }
    return sig;
  }

  /** The input signature the speeds were last computed for. */
  private computedFor = -1;

  /** Recomputes the speeds; true when any changed. */
  private recompute(): boolean {
    return this.recomputeFor(this.inputSignature());
  }

  /** The speeds of every input signature, for cores of up to 4 threads (null: larger cores). */
  private readonly table: SpeedTable | null;

  /** Sets the speeds for input signature `sig` (-1: none, compute afresh); true when any changed. */
  private recomputeFor(sig: number): boolean {
    this.dirty = false;
    this.computedFor = sig;
    const table = this.table;
    const n = this.threads.length;
    let speeds: Float64Array;
    let base = 0;
    if (table === null || sig < 0) speeds = this.sharedSpeeds();
    else {
      // a core goes back and forth between few states: each one's speeds are computed once
      if (table.known[sig] === 0) {
        table.speeds.set(this.sharedSpeeds(), sig * SPEED_TABLE_THREADS);
        table.known[sig] = 1;
      }
      speeds = table.speeds;
      base = sig * SPEED_TABLE_THREADS;
    }
    let changed = false;
    for (let i = 0; i < n; i++) {
      const v = speeds[base + i];
      if (v !== this.speeds[i]) {
        changed = true;
        this.speeds[i] = v;
      }
    }
    return changed;
  }

  /** Each thread's share of the core for the threads' current states (smt.ts). */
  private sharedSpeeds(): Float64Array {
    const ts = this.threads;
    const weights = this.sharing.priorityWeight;
    let n = 0;
    let sum = 0;
    for (let i = 0; i < ts.length; i++) {
      if (!ts[i].stopped) {
        n++;
        sum += weights[ts[i].priority] ?? 0;
      }
    }
    const tp = this.sharing.coreThroughput;
    const t = tp[n < tp.length ? n : tp.length - 1];
    const speeds = new Float64Array(ts.length);
    for (let i = 0; i < ts.length; i++) {
      const w = ts[i].stopped ? 0 : (weights[ts[i].priority] ?? 0);
      speeds[i] = w === 0 || sum === 0 ? 0 : Math.min(1, (t * w) / sum);
    }
    return speeds;
  }
}
