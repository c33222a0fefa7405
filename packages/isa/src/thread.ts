// One POWER9 hardware thread: its architected state and public API (Power ISA v3.0B Book III).
// Software (host kernel, guest kernel) runs on it by issuing instruction words through execute();
// see docs/ARCHITECTURE.md. Its behaviour lives beside it, split as qemu's target/ppc splits it:
// interrupt delivery (src/excp.ts), pending-interrupt selection (src/excp-pending.ts), stop and
// its wake-up (src/powersave.ts), SPR access (src/spr.ts), the decrementers (src/decrementer.ts)
// and the interpreter by instruction class (src/interp.ts, src/interp/*.ts).
//
// Hot-path representation: every 64-bit register is held as two unsigned 32-bit halves
// (Uint32Array pairs for GPRs and SPRs, two numbers for MSR and PC). The public API converts to
// and from bigint. packages/isa/README.md records the measurement behind this choice.

import type { Rng, Simulation, Timer } from "@stopsim/engine";
import { type ChipModel, POWER9_DD23 } from "./chips.js";
import type { SmtCore } from "./core.js";
import { armDecrementer, onDecEdge, rawTb } from "./decrementer.js";
import { flushNotify, interruptHsrr, interruptSrr } from "./excp.js";
import { checkAsync, eventArrived } from "./excp-pending.js";
import { MSRH_HV, MSRH_SF, MSRL_LE, MSRL_ME, MSRL_PR, SPLIT, splitBig, TWO32, toBig } from "./halves.js";
import { execInstruction } from "./interp/system.js";
import { cmpS64 } from "./interp.js";
import type { Memory } from "./memory.js";
import type { ThreadStopState } from "./powersave.js";
import {
  BOOK3S_INTERRUPT_H_INST_STORAGE,
  BOOK3S_INTERRUPT_MACHINE_CHECK,
  checkU64,
  isU64,
  RegisterValueError,
} from "./registers.js";
import { MODE_HV, readableSpr, readSprHalves, writableSpr, writeSprHalves } from "./spr.js";
import {
  S_CTR,
  S_DAR,
  S_FSCR,
  S_HFSCR,
  S_LR,
  S_PPR,
  S_TAR,
  S_XER,
  SPR_SLOT,
  SPR_SLOTS,
  storeOf,
} from "./spr-store.js";

export { sprStoreIndex } from "./spr-store.js";

// ---------------------------------------------------------------------------------------------
// Public contract
// ---------------------------------------------------------------------------------------------

/** execute(): the instruction completed (PC advanced or branched). */
export const EXEC_OK = 0;
/** execute(): the thread entered a stop state; the caller lost control of the thread. */
export const EXEC_STOPPED = 1;
/** execute(): an interrupt was taken and its software notified; the caller lost control. */
export const EXEC_INTERRUPT = 2;
export type ExecResult = typeof EXEC_OK | typeof EXEC_STOPPED | typeof EXEC_INTERRUPT;

export type SoftwareLevel = "hv" | "os";

/** Software running on a hardware thread (docs/ARCHITECTURE.md, "the central contract"). */
export interface ThreadSoftware {
  /** The thread took interrupt `vector`; SRR0/1 or HSRR0/1, MSR and PC are set. */
  interrupt(thread: HwThread, vector: number): void;
  /** Control comes back to this software at thread.pc (EC=0 wake-up, or dispatch()). */
  resume(thread: HwThread): void;
}

/** The stop state of a thread while it is stopped. */
export interface StopState {
  /** Power-saving level entered: min(RL, PSLL), rounded down to an implemented level. */
  readonly level: number;
  /** PSSCR[RL] at the time of `stop`. */
  readonly requestedLevel: number;
  /** Deepest level the hardware may move the thread to: min(MTL, PSLL), at least `level`. */
  readonly maxTransitionLevel: number;
  readonly esl: boolean;
  readonly ec: boolean;
  /** MSR[HV] when `stop` executed (false: a guest thread stopped natively). */
  readonly hv: boolean;
  /** Virtual time (ns) the thread stopped at. */
  readonly since: number;
  /** Full PSSCR value at the time of `stop`. */
  readonly psscr: bigint;
}

/** Why a stopped thread woke. */
export type WakeReason = "external" | "hdec" | "hvi" | "hdoorbell" | "dec" | "doorbell";

/** A record of the last interrupt the thread took (for tests and diagnostics). */
export interface InterruptRecord {
  readonly vector: number;
  readonly time: number;
  /** Level of the software it was routed to. */
  readonly level: SoftwareLevel;
}

export interface RunResult {
  /** Why run() returned. */
  readonly status: "stopped" | "interrupt" | "max-steps";
  /** Instructions executed (the one that stopped or trapped included). */
  readonly steps: number;
  /** Vector of the interrupt that ended the run, when status is "interrupt". */
  readonly vector?: number;
}

export class UnknownSprError extends Error {
  override readonly name = "UnknownSprError";
}

export class SprAccessError extends Error {
  override readonly name = "SprAccessError";
}

export class ThreadStateError extends Error {
  override readonly name = "ThreadStateError";
}

export class InstructionWordError extends RangeError {
  override readonly name = "InstructionWordError";
}

export interface HwThreadOptions {
  /** Processor Identification Register value. */
  pir: number;
  /** Thread index within its core (TIR). */
  index: number;
  chip?: ChipModel;
  /**
   * Endianness of hypervisor interrupts (HID0[HILE]); default true (little-endian Linux).
   * Non-hypervisor interrupts take LPCR[ILE].
   */
  hile?: boolean;
}

// ---------------------------------------------------------------------------------------------
// HwThread
// ---------------------------------------------------------------------------------------------

export class HwThread {
  readonly sim: Simulation;
  readonly pir: number;
  readonly index: number;
  readonly chip: ChipModel;
  /** Core the thread belongs to (set by SmtCore). */
  core: SmtCore | null = null;
  /** Memory for loads, stores and run(); real addresses (see README for the addressing model). */
  memory: Memory | null = null;
  hile: boolean;

  /** GPR halves (hot path). */
  readonly gprHi = new Uint32Array(32);
  readonly gprLo = new Uint32Array(32);
  /** SPR halves (hot path), at sprStoreIndex(spr): one dense slot per implemented SPR. */
  readonly sprHi = new Uint32Array(SPR_SLOTS);
  readonly sprLo = new Uint32Array(SPR_SLOTS);
  /**
   * The bigint last read or written through gpr()/setGpr() and getSpr()/setSpr() per register,
   * with its halves: the API's BigInts are made only when a value changed (the hypervisor saves
   * and restores every GPR and many SPRs on each guest exit and entry).
   */
  private readonly gprCache: bigint[] = new Array<bigint>(32).fill(0n);
  private readonly gprCacheHi = new Uint32Array(32);
  private readonly gprCacheLo = new Uint32Array(32);
  private readonly sprCache: bigint[] = new Array<bigint>(SPR_SLOTS).fill(0n);
  private readonly sprCacheHi = new Uint32Array(SPR_SLOTS);
  private readonly sprCacheLo = new Uint32Array(SPR_SLOTS);
  msrHi = 0;
  msrLo = 0;
  pcHi = 0;
  pcLo = 0;
  /** Condition register. */
  cr = 0;

  /** @internal */
  hvSoftware: ThreadSoftware | null = null;
  /** @internal */
  osSoftware: ThreadSoftware | null = null;

  // interrupt sources
  /** @internal */
  externalLevel = false;
  /** @internal */
  hviLevel = false;
  /** Directed privileged doorbell pending (this thread's DPDES bit). */
  pDoorbell = false;
  /** Directed hypervisor doorbell pending. */
  hDoorbell = false;
  /** @internal */
  decZeroTb = 0;
  /** @internal */
  hdecZeroTb = 0;
  /** @internal */
  readonly decTimer: Timer;
  /** @internal */
  readonly hdecTimer: Timer;
  /** @internal */
  tbOffset = 0;

  /** @internal */
  stop: ThreadStopState | null = null;
  /** @internal */
  executing = false;
  /** @internal */
  needCheck = false;
  private traceTrack = -1;

  /** Number of instructions executed. */
  instructions = 0;
  lastInterrupt: InterruptRecord | null = null;
  /** Wake events swallowed by the guest-stop erratum on this thread. */
  lostWakeups = 0;
  /** Reservation of the last load-and-reserve (real address and size; size 0 = none). */
  reservationAddr = 0;
  reservationSize = 0;
  /** @internal The copy-paste buffer of the last `copy` (null after paste./cp_abort). */
  copyBuffer: Uint8Array | null = null;
  /** @internal Dense SPR slots src/interp/*.ts uses. */
  readonly xerSlot = S_XER;
  readonly lrSlot = S_LR;
  readonly ctrSlot = S_CTR;
  readonly tarSlot = S_TAR;
  readonly darSlot = S_DAR;
  readonly fscrSlot = S_FSCR;
  readonly hfscrSlot = S_HFSCR;
  /** @internal */
  darnRng: Rng | null = null;
  /** Stops that ended later than they should have because the erratum swallowed a wake event. */
  lateWakeups = 0;
  /** Sum and maximum, over those stops, of the time from the first swallowed event to the wake-up (ns). */
  lateWakeupNs = 0;
  maxLateWakeupNs = 0;

  constructor(sim: Simulation, options: HwThreadOptions) {
    this.sim = sim;
    this.pir = options.pir;
    this.index = options.index;
    this.chip = options.chip ?? POWER9_DD23;
    this.hile = options.hile ?? true;
    this.decTimer = sim.createTimer(() => onDecEdge(this, false), `pir${this.pir}/DEC`);
    this.hdecTimer = sim.createTimer(() => onDecEdge(this, true), `pir${this.pir}/HDEC`);
    this.reset();
  }

  /**
   * Puts the thread in the state in which firmware hands it to the host kernel: hypervisor real
   * mode, 64-bit, little-endian (MSR = SF|HV|ME|LE), PC 0, SPRs 0, PPR medium priority, DEC and
   * HDEC at their maximum positive value.
   */
  reset(): void {
    this.gprHi.fill(0);
    this.gprLo.fill(0);
    this.sprHi.fill(0);
    this.sprLo.fill(0);
    this.msrHi = MSRH_SF | MSRH_HV;
    this.msrLo = MSRL_ME | MSRL_LE;
    this.pcHi = 0;
    this.pcLo = 0;
    this.cr = 0;
    this.sprHi[S_PPR] = 4 << 18;
    this.externalLevel = false;
    this.hviLevel = false;
    this.pDoorbell = false;
    this.hDoorbell = false;
    this.tbOffset = 0;
    const tb = rawTb(this);
    this.decZeroTb = tb + 0x7fffffff;
    this.hdecZeroTb = tb + 0x7fffffff;
    this.stop = null;
    this.needCheck = false;
    armDecrementer(this, false);
    armDecrementer(this, true);
  }

  // -------------------------------------------------------------------------------------------
  // Public state API (bigint)
  // -------------------------------------------------------------------------------------------

  get pc(): bigint {
    return toBig(this.pcHi, this.pcLo);
  }

  /** Sets PC to a word-aligned address below 4 GiB given as a number (no BigInt: hot path). */
  setPc32(addr: number): void {
    if (!(addr >>> 0 === addr && (addr & 3) === 0)) {
      throw new RegisterValueError(`pc must be a word-aligned address below 2^32, got ${String(addr)}`);
    }
    this.pcHi = 0;
    this.pcLo = addr;
  }

  set pc(value: bigint) {
    const v = checkU64(value, "pc");
    if ((v & 3n) !== 0n) throw new RegisterValueError(`pc must be word aligned, got 0x${v.toString(16)}`);
    splitBig(v);
    this.pcHi = SPLIT[0];
    this.pcLo = SPLIT[1];
  }

  get msr(): bigint {
    return toBig(this.msrHi, this.msrLo);
  }

  /** Sets MSR directly (configuration; software changes it with mtmsrd/rfid/hrfid). */
  set msr(value: bigint) {
    const v = checkU64(value, "msr");
    splitBig(v);
    this.msrHi = SPLIT[0];
    this.msrLo = SPLIT[1];
    this.needCheck = true;
    this.core?.notifyChange();
  }

  /** MSR[HV]: the thread runs in hypervisor state. */
  get hypervisorState(): boolean {
    return (this.msrHi & MSRH_HV) !== 0;
  }

  /** MSR[PR]: the thread runs in problem (user) state. */
  get problemState(): boolean {
    return (this.msrLo & MSRL_PR) !== 0;
  }

  gpr(n: number): bigint {
    this.checkGprNumber(n);
    const hi = this.gprHi[n];
    const lo = this.gprLo[n];
    if (hi === this.gprCacheHi[n] && lo === this.gprCacheLo[n]) return this.gprCache[n];
    const v = toBig(hi, lo);
    this.gprCache[n] = v;
    this.gprCacheHi[n] = hi;
    this.gprCacheLo[n] = lo;
    return v;
  }

  setGpr(n: number, value: bigint): void {
    this.checkGprNumber(n);
    if (value === this.gprCache[n]) {
      // the value last read or written: its halves are known (a hypervisor restoring the GPRs
      // it saved at the last exit writes mostly unchanged registers)
      this.gprHi[n] = this.gprCacheHi[n];
      this.gprLo[n] = this.gprCacheLo[n];
      return;
    }
    splitBig(isU64(value) ? value : checkU64(value, `r${n}`));
    const hi = SPLIT[0];
    const lo = SPLIT[1];
    this.gprHi[n] = hi;
    this.gprLo[n] = lo;
    this.gprCache[n] = value;
    this.gprCacheHi[n] = hi;
    this.gprCacheLo[n] = lo;
  }

  private checkGprNumber(n: number): void {
    if (!(n >>> 0 === n && n < 32)) {
      throw new RegisterValueError(`GPR number must be 0..31, got ${String(n)}`);
    }
  }

  /**
   * Reads an SPR as mfspr in hypervisor state would (no privilege check). Throws UnknownSprError
   * for SPR numbers the model does not implement and SprAccessError for write-only SPRs.
   */
  getSpr(spr: number): bigint {
    readableSpr(this, spr);
    readSprHalves(this, spr);
    const hi = this.rdHi;
    const lo = this.rdLo;
    const slot = SPR_SLOT[spr];
    if (hi === this.sprCacheHi[slot] && lo === this.sprCacheLo[slot]) return this.sprCache[slot];
    const v = toBig(hi, lo);
    this.sprCache[slot] = v;
    this.sprCacheHi[slot] = hi;
    this.sprCacheLo[slot] = lo;
    return v;
  }

  /**
   * Writes an SPR as mtspr in hypervisor state would (write masks and read-only fields apply,
   * no privilege check). Throws UnknownSprError or SprAccessError (read-only SPR).
   */
  setSpr(spr: number, value: bigint): void {
    const info = writableSpr(this, spr);
    let hi: number;
    let lo: number;
    const slot = SPR_SLOT[spr];
    if (value === this.sprCache[slot]) {
      hi = this.sprCacheHi[slot];
      lo = this.sprCacheLo[slot];
    } else {
      splitBig(isU64(value) ? value : checkU64(value, `SPR ${spr} (${info.name})`));
      hi = SPLIT[0];
      lo = SPLIT[1];
      this.sprCache[slot] = value;
      this.sprCacheHi[slot] = hi;
      this.sprCacheLo[slot] = lo;
    }
    writeSprHalves(this, spr, hi, lo, MODE_HV);
  }

  /**
   * Writes an SPR from its two 32-bit halves, as setSpr does (same rules), without a BigInt: for
   * hypervisor paths that compute a register's value as numbers (a decrementer from the timebase).
   */
  setSprHalves(spr: number, hi: number, lo: number): void {
    writableSpr(this, spr);
    writeSprHalves(this, spr, hi >>> 0, lo >>> 0, MODE_HV);
  }

  /** The high 32 bits of getSpr(spr), as an unsigned number (same rules, no BigInt). */
  getSprHi(spr: number): number {
    readableSpr(this, spr);
    readSprHalves(this, spr);
    return this.rdHi >>> 0;
  }

  /** The low 32 bits of getSpr(spr), as an unsigned number (same rules, no BigInt). */
  getSprLo(spr: number): number {
    readableSpr(this, spr);
    readSprHalves(this, spr);
    return this.rdLo >>> 0;
  }

  /**
   * A hypervisor's exit path saving SPRs (mfspr each): the value of `list[i]` into
   * `hi[i]`/`lo[i]`, without making BigInts. Same rules as getSpr.
   */
  saveSprHalves(list: readonly number[], hi: Uint32Array, lo: Uint32Array): void {
    for (let i = 0; i < list.length; i++) {
      const spr = list[i];
      readableSpr(this, spr);
      readSprHalves(this, spr);
      hi[i] = this.rdHi;
      lo[i] = this.rdLo;
    }
  }

  /**
   * A hypervisor's entry path restoring SPRs (mtspr each): `hi[i]`/`lo[i]` into `list[i]` for
   * every i with `present[i]` set. Same rules as setSpr.
   */
  restoreSprHalves(list: readonly number[], hi: Uint32Array, lo: Uint32Array, present: Uint8Array): void {
    for (let i = 0; i < list.length; i++) {
      if (present[i] === 0) continue;
      const spr = list[i];
      writableSpr(this, spr);
      writeSprHalves(this, spr, hi[i] >>> 0, lo[i] >>> 0, MODE_HV);
    }
  }

  /** Registers the software that runs at `level` ("hv": MSR[HV]=1; "os": MSR[HV]=0). */
  setSoftware(level: SoftwareLevel, software: ThreadSoftware | null): void {
    if (level === "hv") this.hvSoftware = software;
    else if (level === "os") this.osSoftware = software;
    else throw new ThreadStateError(`software level must be "hv" or "os", got ${String(level)}`);
  }

  software(level: SoftwareLevel): ThreadSoftware | null {
    return level === "hv" ? this.hvSoftware : this.osSoftware;
  }

  /**
   * Hands control to the software of the current privilege level (calls its resume()). If an
   * enabled interrupt is pending (for example after register set-up with setSpr), it is taken
   * instead and its software's interrupt() is called.
   */
  dispatch(): void {
    if (this.stop !== null) {
      throw new ThreadStateError(`dispatch() on thread pir ${this.pir}: the thread is stopped`);
    }
    if (this.needCheck && checkAsync(this)) return;
    const sw = this.hypervisorState ? this.hvSoftware : this.osSoftware;
    if (sw === null) {
      throw new ThreadStateError(
        `dispatch() on thread pir ${this.pir}: no "${this.hypervisorState ? "hv" : "os"}" software registered (setSoftware)`,
      );
    }
    sw.resume(this);
  }

  /** The stop state, or null while the thread runs. */
  get stopState(): StopState | null {
    return this.stop;
  }

  get stopped(): boolean {
    return this.stop !== null;
  }

  /** PPR[PRI], the SMT priority (0..7). */
  get priority(): number {
    return (this.sprHi[S_PPR] >>> 18) & 7;
  }

  /** Current timebase value (mftb). */
  get timebase(): bigint {
    const tb = rawTb(this) + this.tbOffset;
    // software reads the timebase many times per simulated instant (ktime, decrementer set-up)
    if (tb !== this.tbCacheValue) {
      this.tbCacheValue = tb;
      this.tbCache = BigInt(tb);
    }
    return this.tbCache;
  }
  private tbCacheValue = 0;
  private tbCache = 0n;

  /** The timebase as a number (`Number(timebase)` without a BigInt: kernels read it on every path). */
  get timebaseValue(): number {
    return rawTb(this) + this.tbOffset;
  }

  // -------------------------------------------------------------------------------------------
  // Interrupt inputs
  // -------------------------------------------------------------------------------------------

  /** Level of the external interrupt input (routed by LPCR[LPES]: 0 -> hypervisor, 1 -> OS). */
  setExternalInterrupt(level: boolean): void {
    this.externalLevel = level;
    if (level) eventArrived(this);
  }

  get externalInterrupt(): boolean {
    return this.externalLevel;
  }

  /** Level of the hypervisor virtualization interrupt input (0xEA0, P9 XIVE). */
  setHvVirtInterrupt(level: boolean): void {
    this.hviLevel = level;
    if (level) eventArrived(this);
  }

  /** A directed privileged doorbell (msgsndp) arrives. */
  receivePrivilegedDoorbell(): void {
    this.pDoorbell = true;
    eventArrived(this);
  }

  /** A directed hypervisor doorbell (msgsnd) arrives. */
  receiveHypervisorDoorbell(): void {
    this.hDoorbell = true;
    eventArrived(this);
  }

  // -------------------------------------------------------------------------------------------
  // Execution
  // -------------------------------------------------------------------------------------------

  /**
   * Executes one instruction word at the current PC with the privilege rules of the current
   * MSR. Returns EXEC_OK, EXEC_STOPPED or EXEC_INTERRUPT (docs/ARCHITECTURE.md).
   */
  execute(word: number): ExecResult {
    if (this.stop !== null) {
      throw new ThreadStateError(
        `execute() on thread pir ${this.pir}: the thread is stopped (since ${this.stop.since} ns); wait for its wake-up`,
      );
    }
    if (typeof word !== "number" || !Number.isInteger(word) || word < -0x80000000 || word > 0xffffffff) {
      throw new InstructionWordError(`instruction word must be a 32-bit integer, got ${String(word)}`);
    }
    if (this.executing) {
      throw new ThreadStateError(
        `execute() on thread pir ${this.pir} re-entered from an interrupt or resume notification: schedule the continuation on the engine instead`,
      );
    }
    // An asynchronous interrupt that became deliverable since the last instruction is taken
    // before this one (SRR0/HSRR0 = this instruction).
    if (this.needCheck && checkAsync(this)) return EXEC_INTERRUPT;
    this.executing = true;
    let r: ExecResult;
    try {
      r = execInstruction(this, word >>> 0);
    } finally {
      this.executing = false;
    }
    this.instructions++;
    if (r === EXEC_OK && this.needCheck && checkAsync(this)) return EXEC_INTERRUPT;
    if (r === EXEC_INTERRUPT) flushNotify(this);
    return r;
  }

  /**
   * Runs the program in `memory` from the current PC until the thread stops, takes an interrupt,
   * or `maxSteps` instructions executed.
   */
  run(memory: Memory, maxSteps = 1_000_000): RunResult {
    this.memory = memory;
    let steps = 0;
    while (steps < maxSteps) {
      if (this.stop !== null) return { status: "stopped", steps };
      const word = this.fetch();
      if (word < 0) {
        return { status: "interrupt", steps, vector: this.lastInterrupt?.vector ?? 0 };
      }
      steps++;
      const r = this.execute(word);
      if (r === EXEC_STOPPED) return { status: "stopped", steps };
      if (r === EXEC_INTERRUPT)
        return { status: "interrupt", steps, vector: this.lastInterrupt?.vector ?? 0 };
    }
    return { status: "max-steps", steps };
  }

  /** Fetches the word at PC; on a fetch outside memory takes the interrupt and returns -1. */
  private fetch(): number {
    const addr = this.realAddress(this.pcHi, this.pcLo);
    const mem = this.memory;
    if (mem === null || !mem.contains(addr, 4)) {
      if (this.hypervisorState)
        interruptSrr(this, BOOK3S_INTERRUPT_MACHINE_CHECK, this.pcHi, this.pcLo, 0, true);
      else interruptHsrr(this, BOOK3S_INTERRUPT_H_INST_STORAGE, this.pcHi, this.pcLo, 0);
      flushNotify(this);
      return -1;
    }
    return mem.read32(addr, (this.msrLo & MSRL_LE) !== 0);
  }

  /** @internal (src/interp/*.ts) */
  advance(): void {
    const lo = (this.pcLo + 4) >>> 0;
    this.pcLo = lo;
    // in 32-bit mode (MSR[SF] = 0) the high word of the next instruction's address is 0 (Book I
    // 1.9.1; qemu: target/ppc/translate.c gen_update_nip, NARROW_MODE)
    if ((this.msrHi & MSRH_SF) === 0) this.pcHi = 0;
    else if (lo < 4) this.pcHi = (this.pcHi + 1) >>> 0;
  }

  // -------------------------------------------------------------------------------------------
  // Helpers: PC, CR, branches
  // -------------------------------------------------------------------------------------------

  /** @internal (src/interp/*.ts) */
  setCrField(bf: number, c: number): void {
    const so = (this.sprLo[S_XER] >>> 31) & 1;
    const bits = (c < 0 ? 8 : c > 0 ? 4 : 2) | so;
    const shift = 28 - 4 * bf;
    this.cr = ((this.cr & ~(0xf << shift)) | (bits << shift)) >>> 0;
  }

  /** @internal (src/interp/*.ts) */
  setCr0(hi: number, lo: number): void {
    this.setCrField(0, cmpS64(hi, lo, 0, 0));
  }

  // -------------------------------------------------------------------------------------------
  // Interrupts
  // -------------------------------------------------------------------------------------------

  /** @internal */
  pendingNotify: { level: SoftwareLevel; vector: number } | null = null;

  // -------------------------------------------------------------------------------------------
  // Decrementers (DEC 0x900, HDEC 0x980) driven by the timebase (engine time, 512 MHz)
  // -------------------------------------------------------------------------------------------

  // -------------------------------------------------------------------------------------------
  // SPR access
  // -------------------------------------------------------------------------------------------

  /** @internal */
  rdHi = 0;
  /** @internal */
  rdLo = 0;

  // -------------------------------------------------------------------------------------------
  // MSR changing instructions
  // -------------------------------------------------------------------------------------------

  // -------------------------------------------------------------------------------------------
  // Loads and stores (real addressing: EA bits 0:3 ignored; no translation modelled)
  // -------------------------------------------------------------------------------------------

  /** @internal (src/interp/*.ts) */
  realAddress(hi: number, lo: number): number {
    return (hi & 0x0fffffff) * TWO32 + (lo >>> 0);
  }

  /** @internal Dense slot of an implemented SPR. */
  sprSlot(spr: number): number {
    return storeOf(spr);
  }

  // -------------------------------------------------------------------------------------------
  // stop (Power ISA v3.0B Book III 4.3, PSSCR)
  // -------------------------------------------------------------------------------------------

  /**
   * How long the thread has been held in its current stop by a wake event the guest-stop erratum
   * swallowed (ns), or 0: a stall still in progress.
   */
  get erratumStallNs(): number {
    const st = this.stop;
    return st === null || st.lostAt < 0 ? 0 : this.sim.now - st.lostAt;
  }

  /** @internal */
  track(): number {
    if (this.traceTrack < 0) {
      this.traceTrack = this.sim.trace.track(
        `isa core ${this.core?.coreId ?? 0}`,
        `thread ${this.index} (pir ${this.pir})`,
      );
    }
    return this.traceTrack;
  }
}
