// One POWER9 hardware thread: architected state, privilege rules, interrupts, decrementers and
// the `stop` instruction (Power ISA v3.0B Book III). Software (host kernel, guest kernel) runs on
// it by issuing instruction words through execute(); see docs/ARCHITECTURE.md.
//
// Hot-path representation: every 64-bit register is held as two unsigned 32-bit halves
// (Uint32Array pairs for GPRs and SPRs, two numbers for MSR and PC). The public API converts to
// and from bigint. packages/isa/README.md records the measurement behind this choice.

import { nsToTb, type Rng, type Simulation, type Timer, tbToNs } from "@stopsim/engine";
import { type ChipModel, implementedStopLevel, POWER9_DD23 } from "./chips.js";
import type { SmtCore } from "./core.js";
import { cmpS64, execInterp } from "./interp.js";
import type { Memory } from "./memory.js";
import { formId, identify } from "./opcodes.js";
import {
  BOOK3S_INTERRUPT_DECREMENTER,
  BOOK3S_INTERRUPT_DOORBELL,
  BOOK3S_INTERRUPT_EXTERNAL,
  BOOK3S_INTERRUPT_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_H_DATA_STORAGE,
  BOOK3S_INTERRUPT_H_DOORBELL,
  BOOK3S_INTERRUPT_H_EMUL_ASSIST,
  BOOK3S_INTERRUPT_H_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_H_INST_STORAGE,
  BOOK3S_INTERRUPT_H_VIRT,
  BOOK3S_INTERRUPT_HV_DECREMENTER,
  BOOK3S_INTERRUPT_MACHINE_CHECK,
  BOOK3S_INTERRUPT_PROGRAM,
  BOOK3S_INTERRUPT_SYSCALL,
  BOOK3S_INTERRUPT_SYSTEM_RESET,
  checkU64,
  FSCR_MSGP_LG,
  FSCR_STOP_LG,
  RegisterValueError,
} from "./registers.js";
import {
  ACC_HV,
  ACC_UNDEFINED,
  ACC_USER,
  implementedSprs,
  K_AMR_OS,
  K_AMR_USER,
  K_BESCRR,
  K_BESCRRU,
  K_BESCRS,
  K_BESCRSU,
  K_CTRL_READ,
  K_CTRL_WRITE,
  K_DEC,
  K_DHDES,
  K_DPDES,
  K_HDEC,
  K_HMER,
  K_LPCR,
  K_NOP_WRITE,
  K_PIR,
  K_PLAIN,
  K_PPR,
  K_PPR32,
  K_PSSCR,
  K_PSSCR_PR,
  K_PVR,
  K_TB,
  K_TBU,
  K_TBU40,
  K_TBWL,
  K_TBWU,
  K_TIR,
  K_UAMOR,
  K_XER,
  SPR_CANONICAL,
  SPR_FACILITY,
  SPR_IS32,
  SPR_KIND,
  SPR_READ,
  SPR_WRITE,
  type SprInfo,
  sprInfo,
} from "./sprs.js";

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

class ThreadStopState implements StopState {
  constructor(
    readonly level: number,
    readonly requestedLevel: number,
    readonly maxTransitionLevel: number,
    readonly esl: boolean,
    readonly ec: boolean,
    readonly hv: boolean,
    readonly since: number,
    private readonly psscrHi: number,
    private readonly psscrLo: number,
  ) {}

  /** When the guest-stop erratum first swallowed a wake event of this stop (-1: never). */
  lostAt = -1;

  get psscr(): bigint {
    return toBig(this.psscrHi, this.psscrLo);
  }
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
// Internal numeric constants (halves)
// ---------------------------------------------------------------------------------------------
const TWO32 = 4294967296;
const MAX_EXACT = Number.MAX_SAFE_INTEGER;

const MSRH_SF = 0x80000000;
const MSRH_HV = 0x10000000;
const MSRH_S = 0x00000200;
const MSRH_TM = 0x00000007;
const MSRL_EE = 0x8000;
const MSRL_PR = 0x4000;
const MSRL_ME = 0x1000;
const MSRL_IR = 0x20;
const MSRL_DR = 0x10;
const MSRL_RI = 0x2;
const MSRL_LE = 0x1;

/** SRR1 bits 33:36 and 42:47 are interrupt-specific; the others copy MSR. */
const SRR1_SPECIFIC_LO = 0x783f0000;
const SRR1_PROGPRIV_LO = 0x00040000;

const LPCRL_LD = 0x20000;
const LPCRL_PECEDP = 0x10000;
const LPCRL_PECEDH = 0x8000;
const LPCRL_PECE0 = 0x4000;
const LPCRL_PECE1 = 0x2000;
const LPCRL_ILE = 0x2000000;
const LPCRL_LPES0 = 0x8;
const LPCRL_HEIC = 0x10;
const LPCRL_HVICE = 0x2;
const LPCRL_HDICE = 0x1;
const LPCRH_HVEE = 0x4000;

const PSSCRL_ESL = 0x200000;
const PSSCRL_EC = 0x100000;
const PSSCRL_SD = 0x400000;
const PSSCRL_HV_WRITABLE = 0x007f03ff;
const PSSCRL_GUEST_VIS = 0x3ff;
const PSSCRH_PLS = 0xf0000000;

/** Dense slot per implemented SPR number (-1 otherwise): the per-thread bigint caches' index. */
const SPR_SLOT = new Int16Array(1024).fill(-1);
const SPR_SLOTS = implementedSprs().length;
implementedSprs().forEach((info, i) => {
  SPR_SLOT[info.spr] = i;
});

/**
 * Where an SPR's value lives in HwThread.sprHi/sprLo: the dense slot of its canonical SPR (aliases
 * such as PPR32 share PPR's), -1 for numbers the model does not implement. Dense storage keeps a
 * thread's SPR file at a few hundred words, which matters when thousands of threads are simulated.
 */
const SPR_STORE = new Int16Array(1024).fill(-1);
for (let n = 0; n < 1024; n++) if (SPR_SLOT[n] >= 0) SPR_STORE[n] = SPR_SLOT[SPR_CANONICAL[n]];

function storeOf(spr: number): number {
  const slot = SPR_SLOT[spr];
  if (slot < 0) throw new Error(`internal: SPR ${spr} is used by the thread but not implemented`);
  return slot;
}

const S_XER = storeOf(1);
const S_LR = storeOf(8);
const S_CTR = storeOf(9);
const S_SRR0 = storeOf(26);
const S_SRR1 = storeOf(27);
const S_FSCR = storeOf(153);
const S_UAMOR = storeOf(157);
const S_HFSCR = storeOf(190);
const S_HDSISR = storeOf(306);
const S_HDAR = storeOf(307);
const S_HSRR0 = storeOf(314);
const S_HSRR1 = storeOf(315);
const S_LPCR = storeOf(318);
const S_HEIR = storeOf(339);
const S_AMOR = storeOf(349);
const S_BESCR = storeOf(806);
const S_PSSCR = storeOf(855);
const S_PPR = storeOf(896);
const S_CTRL = storeOf(152);
const S_DAR = storeOf(19);
const S_TAR = storeOf(815);

// Form ids (src/opcodes.ts) of the system instructions this file executes; src/interp.ts
// executes every other instruction of the table.
const F_MFSPR = formId("mfspr");
const F_MTSPR = formId("mtspr");
const F_MFCR = formId("mfcr");
const F_MFMSR = formId("mfmsr");
const F_MTMSRD = formId("mtmsrd");
const F_MTMSR = formId("mtmsr");
const F_RFID = formId("rfid");
const F_HRFID = formId("hrfid");
const F_STOP = formId("stop");
const F_MSGSND = formId("msgsnd");
const F_MSGCLR = formId("msgclr");
const F_MSGSNDP = formId("msgsndp");
const F_MSGCLRP = formId("msgclrp");
const F_MSGSYNC = formId("msgsync");
const F_SYNC = formId("sync");
const F_ISYNC = formId("isync");
const F_SC = formId("sc");
const F_ATTN = formId("attn");

// Asynchronous sources, in priority order (highest first)
const SRC_NONE = 0;
const SRC_EXT_HV = 1;
const SRC_HDEC = 2;
const SRC_HVI = 3;
const SRC_HDBELL = 4;
const SRC_EXT_OS = 5;
const SRC_DEC = 6;
const SRC_DBELL = 7;

const WAKE_REASON: readonly (WakeReason | undefined)[] = [
  undefined,
  "external",
  "hdec",
  "hvi",
  "hdoorbell",
  "external",
  "dec",
  "doorbell",
];
// SRR1 wake-reason codes (linux reg.h SRR1_WAKE*); HDEC has none: it never ends an EC=1 stop
const WAKE_SRR1: readonly number[] = [
  0, 0x00200000, 0, 0x00240000, 0x000c0000, 0x00200000, 0x00180000, 0x00140000,
];

const MODE_HV = 0;
const MODE_OS = 1;
const MODE_USER = 2;

const PRIO_HINT: Record<number, number> = { 31: 1, 1: 2, 6: 3, 2: 4, 5: 5, 3: 6, 7: 7 };

/** GPR contents after a state-losing wake-up (the architecture leaves them undefined). */
const POISON_HI = 0xdeadbeef;
const POISON_LO = 0x0badc0de;

const TWO32_BIG = 4294967296;
/** 2^53 / 2^32: a high half below this makes a value a double holds exactly. */
const EXACT_HI = 0x200000;

/** The bigint of a value held in halves; one BigInt allocation when the value is below 2^53. */
function toBig(hi: number, lo: number): bigint {
  hi >>>= 0;
  lo >>>= 0;
  if (hi === 0) return BigInt(lo);
  if (hi < EXACT_HI) return BigInt(hi * TWO32_BIG + lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Index of SPR `spr` in HwThread.sprHi/sprLo (aliases share their canonical SPR's), -1 if not implemented. */
export function sprStoreIndex(spr: number): number {
  return spr >>> 0 === spr && spr < 1024 ? SPR_STORE[spr] : -1;
}

/** Halves of a checked u64 bigint, in SPLIT[0] (hi) and SPLIT[1] (lo); no allocation below 2^53. */
const SPLIT = new Uint32Array(2);
function splitBig(v: bigint): void {
  if (v <= 0x1fffffffffffffn) {
    const d = Number(v);
    const hi = Math.floor(d / TWO32_BIG);
    SPLIT[0] = hi;
    SPLIT[1] = d - hi * TWO32_BIG;
  } else {
    SPLIT[0] = Number(v >> 32n);
    SPLIT[1] = Number(BigInt.asUintN(32, v));
  }
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

  private hvSoftware: ThreadSoftware | null = null;
  private osSoftware: ThreadSoftware | null = null;

  // interrupt sources
  private externalLevel = false;
  private hviLevel = false;
  /** Directed privileged doorbell pending (this thread's DPDES bit). */
  pDoorbell = false;
  /** Directed hypervisor doorbell pending. */
  hDoorbell = false;
  private decZeroTb = 0;
  private hdecZeroTb = 0;
  private readonly decTimer: Timer;
  private readonly hdecTimer: Timer;
  private tbOffset = 0;

  private stop: ThreadStopState | null = null;
  private executing = false;
  private needCheck = false;
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
  /** @internal Dense SPR slots src/interp.ts uses. */
  readonly xerSlot = S_XER;
  readonly lrSlot = S_LR;
  readonly ctrSlot = S_CTR;
  readonly tarSlot = S_TAR;
  readonly darSlot = S_DAR;
  readonly fscrSlot = S_FSCR;
  readonly hfscrSlot = S_HFSCR;
  private darnRng: Rng | null = null;
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
    this.decTimer = sim.createTimer(() => this.onDecEdge(false), `pir${this.pir}/DEC`);
    this.hdecTimer = sim.createTimer(() => this.onDecEdge(true), `pir${this.pir}/HDEC`);
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
    const tb = this.rawTb();
    this.decZeroTb = tb + 0x7fffffff;
    this.hdecZeroTb = tb + 0x7fffffff;
    this.stop = null;
    this.needCheck = false;
    this.armDecrementer(false);
    this.armDecrementer(true);
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
    splitBig(checkU64(value, `r${n}`));
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
    this.readableSpr(spr);
    this.readSprHalves(spr);
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
    const info = this.writableSpr(spr);
    let hi: number;
    let lo: number;
    const slot = SPR_SLOT[spr];
    if (value === this.sprCache[slot]) {
      hi = this.sprCacheHi[slot];
      lo = this.sprCacheLo[slot];
    } else {
      splitBig(checkU64(value, `SPR ${spr} (${info.name})`));
      hi = SPLIT[0];
      lo = SPLIT[1];
      this.sprCache[slot] = value;
      this.sprCacheHi[slot] = hi;
      this.sprCacheLo[slot] = lo;
    }
    this.writeSprHalves(spr, hi, lo, MODE_HV);
  }

  /**
   * A hypervisor's exit path saving SPRs (mfspr each): the value of `list[i]` into
   * `hi[i]`/`lo[i]`, without making BigInts. Same rules as getSpr.
   */
  saveSprHalves(list: readonly number[], hi: Uint32Array, lo: Uint32Array): void {
    for (let i = 0; i < list.length; i++) {
      const spr = list[i];
      this.readableSpr(spr);
      this.readSprHalves(spr);
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
      this.writableSpr(spr);
      this.writeSprHalves(spr, hi[i] >>> 0, lo[i] >>> 0, MODE_HV);
    }
  }

  /** The table entry of an SPR the API may read (mfspr in hypervisor state); throws otherwise. */
  private readableSpr(spr: number): SprInfo {
    const info = sprInfo(spr);
    if (info === undefined) throw this.unknownSpr(spr);
    if (info.read === ACC_UNDEFINED) {
      throw new SprAccessError(`SPR ${spr} (${info.name}) is write-only: it cannot be read`);
    }
    return info;
  }

  /** The table entry of an SPR the API may write (mtspr in hypervisor state); throws otherwise. */
  private writableSpr(spr: number): SprInfo {
    const info = sprInfo(spr);
    if (info === undefined) throw this.unknownSpr(spr);
    if (info.write === ACC_UNDEFINED) {
      throw new SprAccessError(`SPR ${spr} (${info.name}) is read-only: it cannot be written`);
    }
    return info;
  }

  private unknownSpr(spr: number): UnknownSprError {
    return new UnknownSprError(
      `SPR ${String(spr)} is not implemented by the POWER9 model; see implementedSprs() for the SPRs it has`,
    );
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
    if (this.needCheck && this.checkAsync()) return;
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
    const tb = this.rawTb() + this.tbOffset;
    // software reads the timebase many times per simulated instant (ktime, decrementer set-up)
    if (tb !== this.tbCacheValue) {
      this.tbCacheValue = tb;
      this.tbCache = BigInt(tb);
    }
    return this.tbCache;
  }
  private tbCacheValue = 0;
  private tbCache = 0n;

  // -------------------------------------------------------------------------------------------
  // Interrupt inputs
  // -------------------------------------------------------------------------------------------

  /** Level of the external interrupt input (routed by LPCR[LPES]: 0 -> hypervisor, 1 -> OS). */
  setExternalInterrupt(level: boolean): void {
    this.externalLevel = level;
    if (level) this.eventArrived();
  }

  get externalInterrupt(): boolean {
    return this.externalLevel;
  }

  /** Level of the hypervisor virtualization interrupt input (0xEA0, P9 XIVE). */
  setHvVirtInterrupt(level: boolean): void {
    this.hviLevel = level;
    if (level) this.eventArrived();
  }

  /** A directed privileged doorbell (msgsndp) arrives. */
  receivePrivilegedDoorbell(): void {
    this.pDoorbell = true;
    this.eventArrived();
  }

  /** A directed hypervisor doorbell (msgsnd) arrives. */
  receiveHypervisorDoorbell(): void {
    this.hDoorbell = true;
    this.eventArrived();
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
    if (this.needCheck && this.checkAsync()) return EXEC_INTERRUPT;
    this.executing = true;
    let r: ExecResult;
    try {
      r = this.exec(word >>> 0);
    } finally {
      this.executing = false;
    }
    this.instructions++;
    if (r === EXEC_OK && this.needCheck && this.checkAsync()) return EXEC_INTERRUPT;
    if (r === EXEC_INTERRUPT) this.flushNotify();
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
        this.interruptSrr(BOOK3S_INTERRUPT_MACHINE_CHECK, this.pcHi, this.pcLo, 0, true);
      else this.interruptHsrr(BOOK3S_INTERRUPT_H_INST_STORAGE, this.pcHi, this.pcLo, 0);
      this.flushNotify();
      return -1;
    }
    return mem.read32(addr, (this.msrLo & MSRL_LE) !== 0);
  }

  /** @internal (src/interp.ts) */
  advance(): void {
    const lo = (this.pcLo + 4) >>> 0;
    if (lo < 4) this.pcHi = (this.pcHi + 1) >>> 0;
    this.pcLo = lo;
  }

  private exec(w: number): ExecResult {
    const id = identify(w);
    const gH = this.gprHi;
    const gL = this.gprLo;
    switch (id) {
      case F_SC: {
        const lev = (w >>> 5) & 0x7f;
        // LEV > 1 is reserved in v3.0B (sc 2 is the later ultravisor call): illegal
        if (lev > 1) return this.heai(w);
        // SRR0 = next instruction; `sc 1` enters the hypervisor (MSR[HV]=1)
        let nH = this.pcHi;
        const nL = (this.pcLo + 4) >>> 0;
        if (nL < 4) nH = (nH + 1) >>> 0;
        this.interruptSrr(BOOK3S_INTERRUPT_SYSCALL, nH, nL, 0, lev === 1);
        return EXEC_INTERRUPT;
      }
      case F_MFSPR:
        return this.execMfspr(w);
      case F_MTSPR:
        return this.execMtspr(w);
      case F_MFCR: {
        const rt = (w >>> 21) & 31;
        gH[rt] = 0;
        gL[rt] = this.cr >>> 0;
        this.advance();
        return EXEC_OK;
      }
      case F_MFMSR: {
        if (this.msrLo & MSRL_PR) return this.programPriv();
        const rt = (w >>> 21) & 31;
        gH[rt] = this.msrHi;
        gL[rt] = this.msrLo;
        this.advance();
        return EXEC_OK;
      }
      case F_MTMSRD:
        return this.execMtmsrd(w, false);
      case F_MTMSR:
        return this.execMtmsrd(w, true);
      case F_RFID:
        return this.execRfid(false);
      case F_HRFID:
        return this.execRfid(true);
      case F_STOP:
        return this.execStop();
      case F_MSGSND:
      case F_MSGCLR: {
        if (this.msrLo & MSRL_PR || !(this.msrHi & MSRH_HV)) return this.programPriv();
        const rb = (w >>> 11) & 31;
        const msg = gL[rb];
        this.advance();
        if (((msg >>> 27) & 31) !== 5) return EXEC_OK;
        if (id === F_MSGSND) {
          const target = this.core?.lookupPir(msg & 0x7fff) ?? (this.pir === (msg & 0x7fff) ? this : null);
          if (target !== null) {
            if (target === this) {
              this.hDoorbell = true;
              this.needCheck = true;
            } else {
              target.receiveHypervisorDoorbell();
            }
          }
        } else {
          this.hDoorbell = false;
        }
        return EXEC_OK;
      }
      case F_MSGSNDP:
      case F_MSGCLRP: {
        if (this.msrLo & MSRL_PR) return this.programPriv();
        if (!(this.msrHi & MSRH_HV) && !(this.sprLo[S_HFSCR] & (1 << FSCR_MSGP_LG))) {
          return this.hFacUnavail(FSCR_MSGP_LG);
        }
        const rb = (w >>> 11) & 31;
        const msg = gL[rb];
        this.advance();
        if (((msg >>> 27) & 31) !== 5) return EXEC_OK;
        if (id === F_MSGSNDP) {
          const tir = msg & 0x7f;
          const target =
            this.core !== null ? (this.core.threads[tir] ?? null) : tir === this.index ? this : null;
          if (target !== null) {
            if (target === this) {
              this.pDoorbell = true;
              this.needCheck = true;
            } else {
              target.receivePrivilegedDoorbell();
            }
          }
        } else {
          this.pDoorbell = false;
        }
        return EXEC_OK;
      }
      case F_SYNC:
      case F_ISYNC:
        this.advance();
        return EXEC_OK;
      case F_MSGSYNC:
        if (this.msrLo & MSRL_PR || !(this.msrHi & MSRH_HV)) return this.programPriv();
        this.advance();
        return EXEC_OK;
      case F_ATTN:
        // attn is enabled only by HID0[ENABLE_ATTN], which firmware leaves off: illegal
        return this.heai(w);
      default:
        return execInterp(this, id, w);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers: PC, CR, branches
  // -------------------------------------------------------------------------------------------

  /** @internal (src/interp.ts) */
  addPc(disp: number): void {
    const lo = this.pcLo + disp;
    if (lo >= TWO32) this.pcHi = (this.pcHi + 1) >>> 0;
    else if (lo < 0) this.pcHi = (this.pcHi - 1) >>> 0;
    this.pcLo = lo >>> 0;
  }

  /** @internal (src/interp.ts) */
  setPcAbs(disp: number): void {
    this.pcHi = disp < 0 ? 0xffffffff : 0;
    this.pcLo = disp >>> 0;
  }

  /** @internal (src/interp.ts) */
  setLrToNext(): void {
    const lo = (this.pcLo + 4) >>> 0;
    this.sprHi[S_LR] = lo < 4 ? (this.pcHi + 1) >>> 0 : this.pcHi;
    this.sprLo[S_LR] = lo;
  }

  /** @internal (src/interp.ts) */
  branchCondition(bo: number, bi: number, mayUseCtr: boolean): boolean {
    let ctrOk = true;
    if ((bo & 4) === 0 && mayUseCtr) {
      const lo = (this.sprLo[S_CTR] - 1) >>> 0;
      if (lo === 0xffffffff) this.sprHi[S_CTR] = (this.sprHi[S_CTR] - 1) >>> 0;
      this.sprLo[S_CTR] = lo;
      const nonZero = (this.sprHi[S_CTR] | this.sprLo[S_CTR]) !== 0;
      ctrOk = nonZero !== ((bo & 2) !== 0);
    }
    const condOk = (bo & 16) !== 0 || ((this.cr >>> (31 - bi)) & 1) === ((bo >>> 3) & 1);
    return ctrOk && condOk;
  }

  /** @internal (src/interp.ts) */
  setCrField(bf: number, c: number): void {
    const so = (this.sprLo[S_XER] >>> 31) & 1;
    const bits = (c < 0 ? 8 : c > 0 ? 4 : 2) | so;
    const shift = 28 - 4 * bf;
    this.cr = ((this.cr & ~(0xf << shift)) | (bits << shift)) >>> 0;
  }

  /** @internal (src/interp.ts) */
  setCr0(hi: number, lo: number): void {
    this.setCrField(0, cmpS64(hi, lo, 0, 0));
  }

  // -------------------------------------------------------------------------------------------
  // Interrupts
  // -------------------------------------------------------------------------------------------

  private pendingNotify: { level: SoftwareLevel; vector: number } | null = null;

  /**
   * Takes an interrupt that saves state in SRR0/SRR1. MSR[HV] is unchanged unless `enterHv`
   * (system reset, machine check, `sc 1`).
   */
  /** @internal (src/interp.ts) */
  interruptSrr(vector: number, nipHi: number, nipLo: number, srr1Bits: number, enterHv: boolean): void {
    this.sprHi[S_SRR0] = nipHi;
    this.sprLo[S_SRR0] = nipLo;
    this.sprHi[S_SRR1] = this.msrHi;
    this.sprLo[S_SRR1] = ((this.msrLo & ~SRR1_SPECIFIC_LO) | srr1Bits) >>> 0;
    const hv = enterHv || (this.msrHi & MSRH_HV) !== 0;
    this.enterInterrupt(vector, hv);
  }

  /** Takes a hypervisor interrupt (HSRR0/HSRR1, MSR[HV]=1). */
  private interruptHsrr(vector: number, nipHi: number, nipLo: number, srr1Bits: number): void {
    this.sprHi[S_HSRR0] = nipHi;
    this.sprLo[S_HSRR0] = nipLo;
    this.sprHi[S_HSRR1] = this.msrHi;
    this.sprLo[S_HSRR1] = ((this.msrLo & ~SRR1_SPECIFIC_LO) | srr1Bits) >>> 0;
    this.enterInterrupt(vector, true);
  }

  /**
   * New MSR on interrupt (ISA v3.0B Book III 7.5): SF=1, HV as routed, ME kept, LE from
   * HID0[HILE] (hypervisor) or LPCR[ILE] (OS); EE, PR, IR, DR, RI and the rest cleared.
   * LPCR[AIL] relocation is not modelled: PC = vector.
   */
  private enterInterrupt(vector: number, hv: boolean): void {
    // a reservation is lost on an interrupt (Linux's interrupt return clears it with stdcx. too)
    this.reservationSize = 0;
    const le = hv ? this.hile : (this.sprLo[S_LPCR] & LPCRL_ILE) !== 0;
    this.msrHi = (MSRH_SF | (hv ? MSRH_HV : 0) | (this.msrHi & MSRH_S)) >>> 0;
    this.msrLo = (this.msrLo & MSRL_ME) | (le ? MSRL_LE : 0);
    this.pcHi = 0;
    this.pcLo = vector;
    const level: SoftwareLevel = hv ? "hv" : "os";
    this.lastInterrupt = { vector, time: this.sim.now, level };
    this.needCheck = true;
    if (this.sim.trace.enabled) {
      this.sim.trace.instant(this.track(), "interrupt", "isa", { vector: `0x${vector.toString(16)}`, level });
    }
    this.pendingNotify = { level, vector };
  }

  /** Calls the software the last interrupt was routed to. */
  private flushNotify(): void {
    const n = this.pendingNotify;
    if (n === null) return;
    this.pendingNotify = null;
    const sw = n.level === "hv" ? this.hvSoftware : this.osSoftware;
    if (sw !== null) sw.interrupt(this, n.vector);
  }

  /** @internal (src/interp.ts) */
  programPriv(): ExecResult {
    this.interruptSrr(BOOK3S_INTERRUPT_PROGRAM, this.pcHi, this.pcLo, SRR1_PROGPRIV_LO, false);
    return EXEC_INTERRUPT;
  }

  /** Hypervisor Emulation Assistance interrupt for an illegal instruction: HEIR = the word. */
  /** @internal (src/interp.ts) */
  heai(w: number): ExecResult {
    this.sprHi[S_HEIR] = 0;
    this.sprLo[S_HEIR] = w >>> 0;
    this.interruptHsrr(BOOK3S_INTERRUPT_H_EMUL_ASSIST, this.pcHi, this.pcLo, 0);
    return EXEC_INTERRUPT;
  }

  /** Hypervisor Facility Unavailable: HFSCR[IC] = cause, HSRR0 = the instruction. */
  /** @internal (src/interp.ts) */
  hFacUnavail(cause: number): ExecResult {
    this.sprHi[S_HFSCR] = ((this.sprHi[S_HFSCR] & 0x00ffffff) | (cause << 24)) >>> 0;
    this.interruptHsrr(BOOK3S_INTERRUPT_H_FAC_UNAVAIL, this.pcHi, this.pcLo, 0);
    return EXEC_INTERRUPT;
  }

  /** Facility Unavailable (problem state, FSCR): FSCR[IC] = cause, SRR0 = the instruction. */
  /** @internal (src/interp.ts) */
  facUnavail(cause: number): ExecResult {
    this.sprHi[S_FSCR] = ((this.sprHi[S_FSCR] & 0x00ffffff) | (cause << 24)) >>> 0;
    this.interruptSrr(BOOK3S_INTERRUPT_FAC_UNAVAIL, this.pcHi, this.pcLo, 0, false);
    return EXEC_INTERRUPT;
  }

  /** The highest-priority asynchronous source that is pending, optionally only if enabled. */
  private pendingSource(onlyEnabled: boolean): number {
    const hv = (this.msrHi & MSRH_HV) !== 0;
    const ee = (this.msrLo & MSRL_EE) !== 0;
    const lpcr = this.sprLo[S_LPCR];
    const hvOk = !onlyEnabled || !hv || ee;
    if (hvOk) {
      if (this.externalLevel && (lpcr & LPCRL_LPES0) === 0) return SRC_EXT_HV;
      if (lpcr & LPCRL_HDICE && this.decValue(true) < 0) return SRC_HDEC;
      if (this.hviLevel && lpcr & LPCRL_HVICE) return SRC_HVI;
      if (this.hDoorbell) return SRC_HDBELL;
    }
    if (!onlyEnabled || ee) {
      if (this.externalLevel && lpcr & LPCRL_LPES0) return SRC_EXT_OS;
      if (this.decValue(false) < 0) return SRC_DEC;
      if (this.pDoorbell) return SRC_DBELL;
    }
    return SRC_NONE;
  }

  /** Takes the highest-priority enabled asynchronous interrupt, if any; true when taken. */
  private checkAsync(): boolean {
    this.needCheck = false;
    const src = this.pendingSource(true);
    if (src === SRC_NONE) return false;
    const h = this.pcHi;
    const l = this.pcLo;
    switch (src) {
      case SRC_EXT_HV:
        this.interruptHsrr(BOOK3S_INTERRUPT_EXTERNAL, h, l, 0);
        break;
      case SRC_HDEC:
        this.interruptHsrr(BOOK3S_INTERRUPT_HV_DECREMENTER, h, l, 0);
        break;
      case SRC_HVI:
        this.interruptHsrr(BOOK3S_INTERRUPT_H_VIRT, h, l, 0);
        break;
      case SRC_HDBELL:
        this.hDoorbell = false;
        this.interruptHsrr(BOOK3S_INTERRUPT_H_DOORBELL, h, l, 0);
        break;
      case SRC_EXT_OS:
        this.interruptSrr(BOOK3S_INTERRUPT_EXTERNAL, h, l, 0, false);
        break;
      case SRC_DEC:
        this.interruptSrr(BOOK3S_INTERRUPT_DECREMENTER, h, l, 0, false);
        break;
      default:
        this.pDoorbell = false;
        this.interruptSrr(BOOK3S_INTERRUPT_DOORBELL, h, l, 0, false);
        break;
    }
    this.flushNotify();
    return true;
  }

  /** An interrupt source changed: wake a stopped thread or take the interrupt now. */
  private eventArrived(): void {
    if (this.stop !== null) {
      this.tryWake();
      return;
    }
    this.needCheck = true;
    if (!this.executing) this.checkAsync();
  }

  // -------------------------------------------------------------------------------------------
  // Decrementers (DEC 0x900, HDEC 0x980) driven by the timebase (engine time, 512 MHz)
  // -------------------------------------------------------------------------------------------

  private rawTb(): number {
    return nsToTb(this.sim.now);
  }

  private decWidth(): number {
    return this.sprLo[S_LPCR] & LPCRL_LD ? 56 : 32;
  }

  /** Signed value of DEC (or HDEC) now. */
  private decValue(hdec: boolean): number {
    const half = this.sprLo[S_LPCR] & LPCRL_LD ? 2 ** 55 : 2 ** 31;
    const d = (hdec ? this.hdecZeroTb : this.decZeroTb) - this.rawTb();
    if (d >= -half && d < half) return d;
    // wrapped around (only reachable with the 32-bit decrementer: |d| < 2^53 < 2^55)
    const m = 2 * half;
    let v = d % m;
    if (v < 0) v += m;
    if (v >= half) v -= m;
    return v;
  }

  private writeDec(hdec: boolean, hi: number, lo: number): void {
    let v: number;
    if (this.decWidth() === 32) v = lo | 0;
    else {
      // 56-bit large decrementer: values beyond +-(2^53 - 1) ticks (204 days) are clamped to
      // what a double holds exactly (model limitation, see README)
      v = ((hi << 8) >> 8) * TWO32 + (lo >>> 0);
      if (v > MAX_EXACT) v = MAX_EXACT;
      else if (v < -MAX_EXACT) v = -MAX_EXACT;
    }
    if (hdec) this.hdecZeroTb = this.rawTb() + v;
    else this.decZeroTb = this.rawTb() + v;
    this.armDecrementer(hdec);
    this.needCheck = true;
  }

  /** Arms the timer for the next time the decrementer turns negative (0 -> -1). */
  private armDecrementer(hdec: boolean): void {
    const timer = hdec ? this.hdecTimer : this.decTimer;
    const m = 2 ** this.decWidth();
    const now = this.rawTb();
    let t = (hdec ? this.hdecZeroTb : this.decZeroTb) + 1;
    if (t <= now) t += Math.ceil((now + 1 - t) / m) * m;
    if (t > 2 ** 52) {
      timer.cancel();
      return;
    }
    timer.arm(Math.max(this.sim.now, tbToNs(t)));
  }

  private onDecEdge(hdec: boolean): void {
    this.armDecrementer(hdec);
    if (this.decValue(hdec) < 0) this.eventArrived();
  }

  // -------------------------------------------------------------------------------------------
  // SPR access
  // -------------------------------------------------------------------------------------------

  private rdHi = 0;
  private rdLo = 0;

  private execMfspr(w: number): ExecResult {
    const rt = (w >>> 21) & 31;
    const n = ((w >>> 16) & 31) | (((w >>> 11) & 31) << 5);
    const acc = SPR_READ[n];
    const r = this.checkSprAccess(acc, n, w);
    if (r >= 0) return r as ExecResult;
    if (acc === ACC_UNDEFINED) {
      this.advance();
      return EXEC_OK;
    }
    this.readSprHalves(n);
    this.gprHi[rt] = this.rdHi;
    this.gprLo[rt] = this.rdLo;
    this.advance();
    return EXEC_OK;
  }

  private execMtspr(w: number): ExecResult {
    const rs = (w >>> 21) & 31;
    const n = ((w >>> 16) & 31) | (((w >>> 11) & 31) << 5);
    const acc = SPR_WRITE[n];
    const r = this.checkSprAccess(acc, n, w);
    if (r >= 0) return r as ExecResult;
    if (acc !== ACC_UNDEFINED) this.writeSprHalves(n, this.gprHi[rs], this.gprLo[rs], this.mode());
    this.advance();
    return EXEC_OK;
  }

  /**
   * Privilege and facility checks of mfspr/mtspr (ISA v3.0B Book III, Move To/From SPR).
   * Returns -1 when the access proceeds (for an undefined SPR: as a no-op), or the result of
   * the interrupt taken.
   */
  private checkSprAccess(acc: number, n: number, w: number): number {
    const pr = (this.msrLo & MSRL_PR) !== 0;
    const hv = (this.msrHi & MSRH_HV) !== 0;
    if (acc === ACC_UNDEFINED) {
      // Undefined SPR: spr0=1 -> privileged program interrupt in problem state, else no-op;
      // spr0=0 -> HEAI in problem state and always for SPRs 0, 4, 5, 6, else no-op.
      if (n & 0x10) return pr ? this.programPriv() : -1;
      if (pr || n === 0 || n === 4 || n === 5 || n === 6) return this.heai(w);
      return -1;
    }
    if (pr && acc !== ACC_USER) return this.programPriv();
    // Hypervisor resource in privileged non-hypervisor state: Privileged Instruction type
    // Program interrupt (v3.0B; the LPCR[EVIRT] HEAI alternative arrived with v3.1).
    if (!hv && acc === ACC_HV) return this.programPriv();
    const fac = SPR_FACILITY[n];
    if (fac !== 0) {
      const bit = fac - 1;
      if (!hv && !(this.sprLo[S_HFSCR] & (1 << bit))) return this.hFacUnavail(bit);
      if (pr && !(this.sprLo[S_FSCR] & (1 << bit))) return this.facUnavail(bit);
    }
    return -1;
  }

  /** Reads SPR `n` into rdHi/rdLo. */
  private readSprHalves(n: number): void {
    const c = SPR_STORE[n];
    let hi = this.sprHi[c];
    let lo = this.sprLo[c];
    switch (SPR_KIND[n]) {
      case K_PLAIN:
        break;
      case K_DEC:
      case K_HDEC: {
        const v = this.decValue(SPR_KIND[n] === K_HDEC);
        hi = Math.floor(v / TWO32) >>> 0;
        lo = v >>> 0;
        break;
      }
      case K_TB: {
        const tb = this.rawTb() + this.tbOffset;
        hi = Math.floor(tb / TWO32) >>> 0;
        lo = tb >>> 0;
        break;
      }
      case K_TBU: {
        const tb = this.rawTb() + this.tbOffset;
        hi = 0;
        lo = Math.floor(tb / TWO32) >>> 0;
        break;
      }
      case K_PSSCR_PR:
        hi &= PSSCRH_PLS;
        lo &= PSSCRL_GUEST_VIS;
        break;
      case K_PVR:
        hi = 0;
        lo = this.chip.pvr >>> 0;
        break;
      case K_PIR:
        hi = 0;
        lo = this.pir >>> 0;
        break;
      case K_TIR:
        hi = 0;
        lo = this.index;
        break;
      case K_DPDES:
      case K_DHDES: {
        hi = 0;
        lo = 0;
        const threads = this.core?.threads ?? [this];
        for (let i = 0; i < threads.length; i++) {
          const t = threads[i];
          if (SPR_KIND[n] === K_DPDES ? t.pDoorbell : t.hDoorbell) lo |= 1 << t.index;
        }
        break;
      }
      case K_PPR32:
        lo = hi;
        hi = 0;
        break;
      case K_BESCRSU:
      case K_BESCRRU:
        lo = hi;
        hi = 0;
        break;
      case K_CTRL_READ:
        hi = 0;
        lo &= 1;
        break;
      default:
        break;
    }
    this.rdHi = hi >>> 0;
    this.rdLo = lo >>> 0;
  }

  /** Writes SPR `n` with the semantics of privilege `mode` (MODE_HV, MODE_OS, MODE_USER). */
  private writeSprHalves(n: number, hi: number, lo: number, mode: number): void {
    const c = SPR_STORE[n];
    if (SPR_IS32[n]) hi = 0;
    const sH = this.sprHi;
    const sL = this.sprLo;
    switch (SPR_KIND[n]) {
      case K_PLAIN:
        sH[c] = hi;
        sL[c] = lo;
        return;
      case K_DEC:
        this.writeDec(false, hi, lo);
        return;
      case K_HDEC:
        this.writeDec(true, hi, lo);
        return;
      case K_LPCR: {
        // only LPCR[LD] (the decrementers' width) moves their next edges: a hypervisor writes
        // LPCR on every guest entry and exit, mostly with LD unchanged
        const widthChanged = ((sL[c] ^ lo) & LPCRL_LD) !== 0;
        sH[c] = hi;
        sL[c] = lo;
        if (widthChanged) {
          this.armDecrementer(false);
          this.armDecrementer(true);
        }
        this.needCheck = true;
        return;
      }
      case K_PSSCR_PR:
        sL[c] = ((sL[c] & ~PSSCRL_GUEST_VIS) | (lo & PSSCRL_GUEST_VIS)) >>> 0;
        return;
      case K_PSSCR:
        sL[c] = (lo & PSSCRL_HV_WRITABLE) >>> 0;
        return;
      case K_TBWL:
      case K_TBWU:
      case K_TBU40: {
        const raw = this.rawTb();
        const tb = raw + this.tbOffset;
        const tbHi = Math.floor(tb / TWO32);
        const tbLo = tb - tbHi * TWO32;
        let nt: number;
        if (SPR_KIND[n] === K_TBWL) nt = tbHi * TWO32 + (lo >>> 0);
        else if (SPR_KIND[n] === K_TBWU) nt = (lo >>> 0) * TWO32 + tbLo;
        else nt = (hi >>> 0) * TWO32 + ((lo & 0xff000000) >>> 0) + (tbLo & 0xffffff);
        this.tbOffset = nt - raw;
        return;
      }
      case K_DPDES:
      case K_DHDES: {
        const threads = this.core?.threads ?? [this];
        for (let i = 0; i < threads.length; i++) {
          const t = threads[i];
          const on = ((lo >>> t.index) & 1) !== 0;
          if (SPR_KIND[n] === K_DPDES) {
            if (on && !t.pDoorbell) {
              if (t === this) {
                t.pDoorbell = true;
                this.needCheck = true;
              } else t.receivePrivilegedDoorbell();
            } else if (!on) t.pDoorbell = false;
          } else if (on && !t.hDoorbell) {
            if (t === this) {
              t.hDoorbell = true;
              this.needCheck = true;
            } else t.receiveHypervisorDoorbell();
          } else if (!on) t.hDoorbell = false;
        }
        return;
      }
      case K_PPR:
        this.setPriorityIfAllowed((hi >>> 18) & 7, mode);
        return;
      case K_PPR32:
        this.setPriorityIfAllowed((lo >>> 18) & 7, mode);
        return;
      case K_HMER:
        sH[c] &= hi;
        sL[c] &= lo;
        return;
      case K_BESCRS:
        sH[S_BESCR] |= hi;
        sL[S_BESCR] |= lo;
        return;
      case K_BESCRSU:
        sH[S_BESCR] |= lo;
        return;
      case K_BESCRR:
        sH[S_BESCR] &= ~hi;
        sL[S_BESCR] &= ~lo;
        return;
      case K_BESCRRU:
        sH[S_BESCR] &= ~lo;
        return;
      case K_AMR_USER:
      case K_AMR_OS:
      case K_UAMOR: {
        if (mode === MODE_HV) {
          sH[c] = hi;
          sL[c] = lo;
          return;
        }
        const maskSpr = mode === MODE_USER ? S_UAMOR : S_AMOR;
        const mH = sH[maskSpr];
        const mL = sL[maskSpr];
        if (SPR_KIND[n] === K_UAMOR) {
          sH[c] = hi & mH;
          sL[c] = lo & mL;
        } else {
          sH[c] = (hi & mH) | (sH[c] & ~mH);
          sL[c] = (lo & mL) | (sL[c] & ~mL);
        }
        return;
      }
      case K_XER:
        sH[c] = 0;
        sL[c] = (lo & 0xe00c007f) >>> 0;
        return;
      case K_CTRL_WRITE:
        sH[S_CTRL] = 0;
        sL[S_CTRL] = lo & 1;
        return;
      case K_NOP_WRITE:
        return;
      default:
        sH[c] = hi;
        sL[c] = lo;
        return;
    }
  }

  private mode(): number {
    return this.msrLo & MSRL_PR ? MODE_USER : this.msrHi & MSRH_HV ? MODE_HV : MODE_OS;
  }

  /**
   * Sets PPR[PRI] if the privilege allows it (problem state: low..medium (2-4); privileged:
   * very low..high (1-6); hypervisor: 1-7); otherwise PPR is unchanged.
   */
  private setPriorityIfAllowed(p: number, mode: number): void {
    const ok = mode === MODE_USER ? p >= 2 && p <= 4 : mode === MODE_OS ? p >= 1 && p <= 6 : p >= 1 && p <= 7;
    if (!ok) return;
    if (((this.sprHi[S_PPR] >>> 18) & 7) === p) return;
    this.sprHi[S_PPR] = (p << 18) >>> 0;
    this.sprLo[S_PPR] = 0;
    this.core?.notifyChange();
  }

  // -------------------------------------------------------------------------------------------
  // MSR changing instructions
  // -------------------------------------------------------------------------------------------

  /** mtmsrd, or mtmsr (`wordOnly`: MSR[32:63] from RS[32:63], MSR[0:31] unchanged). */
  private execMtmsrd(w: number, wordOnly: boolean): ExecResult {
    if (this.msrLo & MSRL_PR) return this.programPriv();
    const rs = (w >>> 21) & 31;
    const vH = wordOnly ? this.msrHi : this.gprHi[rs];
    const vL = this.gprLo[rs];
    if ((w >>> 16) & 1) {
      // L=1: only EE and RI
      this.msrLo = ((this.msrLo & ~(MSRL_EE | MSRL_RI)) | (vL & (MSRL_EE | MSRL_RI))) >>> 0;
    } else {
      const hv = (this.msrHi & MSRH_HV) !== 0;
      // HV, S and the TM state are not changed by mtmsrd; ME only in hypervisor state
      const keepHi = MSRH_HV | MSRH_S | MSRH_TM;
      let nH = ((vH & ~keepHi) | (this.msrHi & keepHi)) >>> 0;
      let nL = vL >>> 0;
      if (!hv) nL = ((nL & ~MSRL_ME) | (this.msrLo & MSRL_ME)) >>> 0;
      if (nL & MSRL_PR) nL = (nL | MSRL_EE | MSRL_IR | MSRL_DR) >>> 0;
      nH >>>= 0;
      this.msrHi = nH;
      this.msrLo = nL;
    }
    this.advance();
    this.needCheck = true;
    this.core?.notifyChange();
    return EXEC_OK;
  }

  private execRfid(hyp: boolean): ExecResult {
    const pr = (this.msrLo & MSRL_PR) !== 0;
    const hv = (this.msrHi & MSRH_HV) !== 0;
    if (pr || (hyp && !hv)) return this.programPriv();
    return this.returnFrom(hyp ? S_HSRR0 : S_SRR0, hyp ? S_HSRR1 : S_SRR1, hyp);
  }

  /**
   * @internal The return of rfid (hrfid with `hyp`; rfscv with LR/CTR): PC from slot s0, MSR
   * from slot s1 with the rfid rules for HV, ME, S and TM.
   */
  returnFrom(s0: number, s1: number, hyp = false): ExecResult {
    const hv = (this.msrHi & MSRH_HV) !== 0;
    const vH = this.sprHi[s1];
    const vL = this.sprLo[s1];
    // rfid: MSR[HV] <- SRR1[HV] & MSR[HV]; ME only changes in hypervisor state
    const newHv = hyp ? vH & MSRH_HV : vH & MSRH_HV & this.msrHi;
    let nH = ((vH & ~(MSRH_HV | MSRH_S | MSRH_TM)) | newHv | (this.msrHi & (MSRH_S | MSRH_TM))) >>> 0;
    let nL = vL >>> 0;
    if (!hv) nL = ((nL & ~MSRL_ME) | (this.msrLo & MSRL_ME)) >>> 0;
    if (nL & MSRL_PR) nL = (nL | MSRL_EE | MSRL_IR | MSRL_DR) >>> 0;
    nH >>>= 0;
    this.msrHi = nH;
    this.msrLo = nL;
    this.pcHi = this.sprHi[s0];
    this.pcLo = (this.sprLo[s0] & ~3) >>> 0;
    this.needCheck = true;
    this.core?.notifyChange();
    return EXEC_OK;
  }

  // -------------------------------------------------------------------------------------------
  // Loads and stores (real addressing: EA bits 0:3 ignored; no translation modelled)
  // -------------------------------------------------------------------------------------------

  /** @internal (src/interp.ts) */
  realAddress(hi: number, lo: number): number {
    return (hi & 0x0fffffff) * TWO32 + (lo >>> 0);
  }

  /** @internal Dense slot of an implemented SPR. */
  sprSlot(spr: number): number {
    return storeOf(spr);
  }

  /** @internal The seeded stream darn draws from (`isa/darn/pir<N>`). */
  darnStream(): Rng {
    if (this.darnRng === null) this.darnRng = this.sim.rng.stream(`isa/darn/pir${this.pir}`);
    return this.darnRng;
  }

  /** @internal `or Rx,Rx,Rx`: the program priority hint for Rx (PPR), if the privilege allows it. */
  priorityHint(rx: number): void {
    const p = PRIO_HINT[rx];
    if (p !== undefined) this.setPriorityIfAllowed(p, this.mode());
  }

  /**
   * @internal scv: the System Call Vectored interrupt (LR and CTR already hold NIA and MSR):
   * MSR as for an interrupt that keeps MSR[HV], PC = vector (no SRR0/SRR1).
   */
  vectoredSystemCall(vector: number): void {
    this.enterInterrupt(vector, (this.msrHi & MSRH_HV) !== 0);
  }

  /**
   * @internal A load or store at EA outside memory: a guest access takes a Hypervisor Data
   * Storage interrupt (HDAR = EA, HDSISR = DSISR_NOHPTE | store), a hypervisor one a machine check.
   */
  storageFault(eaH: number, eaL: number, store: boolean): void {
    if (this.msrHi & MSRH_HV) {
      this.interruptSrr(BOOK3S_INTERRUPT_MACHINE_CHECK, this.pcHi, this.pcLo, 0, true);
    } else {
      // partition-scope miss of a guest real address: Hypervisor Data Storage interrupt
      this.sprHi[S_HDAR] = eaH;
      this.sprLo[S_HDAR] = eaL;
      this.sprHi[S_HDSISR] = 0;
      this.sprLo[S_HDSISR] = (0x40000000 | (store ? 0x02000000 : 0)) >>> 0;
      this.interruptHsrr(BOOK3S_INTERRUPT_H_DATA_STORAGE, this.pcHi, this.pcLo, 0);
    }
  }

  /**
   * @internal A store to [addr, addr+size) by this thread: a sibling thread's reservation on
   * that storage is lost (Book II 4.4.2: a store by another processor clears the reservation).
   */
  storeObserved(addr: number, size: number): void {
    const core = this.core;
    if (core === null) return;
    for (const t of core.threads) {
      if (t === this || t.reservationSize === 0 || t.memory !== this.memory) continue;
      if (addr < t.reservationAddr + t.reservationSize && t.reservationAddr < addr + size)
        t.reservationSize = 0;
    }
  }

  // -------------------------------------------------------------------------------------------
  // stop (Power ISA v3.0B Book III 4.3, PSSCR)
  // -------------------------------------------------------------------------------------------

  private execStop(): ExecResult {
    if (this.msrLo & MSRL_PR) return this.programPriv();
    const hv = (this.msrHi & MSRH_HV) !== 0;
    const pH = this.sprHi[S_PSSCR];
    const pL = this.sprLo[S_PSSCR];
    const esl = (pL & PSSCRL_ESL) !== 0;
    const ec = (pL & PSSCRL_EC) !== 0;
    // In guest state, a stop with ESL or EC set traps to the hypervisor
    if (!hv && (esl || ec)) return this.hFacUnavail(FSCR_STOP_LG);
    const rl = pL & 0xf;
    const mtl = (pL >>> 4) & 0xf;
    const psll = (pL >>> 16) & 0xf;
    const level = implementedStopLevel(this.chip, Math.min(rl, psll));
    const maxTransitionLevel = Math.max(level, implementedStopLevel(this.chip, Math.min(mtl, psll)));
    this.advance();
    // A wake event already pending ends the stop at once
    const src = this.wakeSource(hv, ec);
    if (src !== SRC_NONE) {
      this.setPls(level, pL);
      if (ec) {
        this.systemResetWake(src, level, esl);
        return EXEC_INTERRUPT;
      }
      this.needCheck = true;
      return EXEC_OK;
    }
    this.stop = new ThreadStopState(level, rl, maxTransitionLevel, esl, ec, hv, this.sim.now, pH, pL);
    if (this.sim.trace.enabled) {
      this.sim.trace.instant(this.track(), "cpu_idle", "power", {
        state: level,
        esl,
        ec,
        hv,
      });
    }
    this.core?.notifyChange();
    return EXEC_STOPPED;
  }

  /**
   * The highest-priority wake event for a thread that stopped with MSR[HV] = `hv` and PSSCR[EC] =
   * `ec` (MSR[EE] does not matter). Power ISA v3.0B, stop: with EC=0 "hardware will exit
   * power-saving mode when the exception corresponding to any system-caused interrupt occurs"
   * (resuming after the stop, or in the handler if MSR[EE]=1), whatever LPCR's exit enables say;
   * with EC=1 only the exceptions whose LPCR exit enable is set wake it.
   * qemu: target/ppc/cpu_init.c cpu_has_work_POWER9 (EC clear: any pending interrupt) and
   * target/ppc/excp_helper.c p9_interrupt_powersave (EC set): external on LPCR[EEE]=PECE0 unless
   * LPCR[HEIC] and the thread is in hypervisor state, decrementer on DEE=PECE1, privileged
   * doorbell on PDEE=PECEDP, hypervisor doorbell on HDEE=PECEDH, hypervisor virtualization on
   * LPCR[HVEE]; no HDEC (it has no SRR1 wake code).
   */
  private wakeSource(hv: boolean, ec: boolean): number {
    const lpcrL = this.sprLo[S_LPCR];
    const lpesOs = (lpcrL & LPCRL_LPES0) !== 0;
    if (!ec) {
      // HDEC is a guest-state exception here: in hypervisor state it stays masked until MSR[EE]
      if (this.externalLevel && !lpesOs) return SRC_EXT_HV;
      if (!hv && lpcrL & LPCRL_HDICE && this.decValue(true) < 0) return SRC_HDEC;
      if (this.hviLevel && lpcrL & LPCRL_HVICE) return SRC_HVI;
      if (this.hDoorbell) return SRC_HDBELL;
      if (this.externalLevel && lpesOs) return SRC_EXT_OS;
      if (this.decValue(false) < 0) return SRC_DEC;
      if (this.pDoorbell) return SRC_DBELL;
      return SRC_NONE;
    }
    const hvee = (this.sprHi[S_LPCR] & LPCRH_HVEE) !== 0;
    const extOk = (lpcrL & LPCRL_PECE0) !== 0 && (!hv || (lpcrL & LPCRL_HEIC) === 0);
    if (this.externalLevel && !lpesOs && extOk) return SRC_EXT_HV;
    if (this.hviLevel && lpcrL & LPCRL_HVICE && hvee) return SRC_HVI;
    if (this.hDoorbell && lpcrL & LPCRL_PECEDH) return SRC_HDBELL;
    if (this.externalLevel && lpesOs && extOk) return SRC_EXT_OS;
    if (lpcrL & LPCRL_PECE1 && this.decValue(false) < 0) return SRC_DEC;
    if (this.pDoorbell && lpcrL & LPCRL_PECEDP) return SRC_DBELL;
    return SRC_NONE;
  }

  /**
   * How long the thread has been held in its current stop by a wake event the guest-stop erratum
   * swallowed (ns), or 0: a stall still in progress.
   */
  get erratumStallNs(): number {
    const st = this.stop;
    return st === null || st.lostAt < 0 ? 0 : this.sim.now - st.lostAt;
  }

  /** A wake event arrived for the stopped thread. */
  private tryWake(): void {
    const st = this.stop;
    if (st === null) return;
    const src = this.wakeSource(st.hv, st.ec);
    if (src === SRC_NONE) return;
    if (!st.hv && !st.esl && !st.ec && this.core?.errata.loseWakeup()) {
      this.lostWakeups++;
      if (st.lostAt < 0) st.lostAt = this.sim.now;
      if (this.sim.trace.enabled) {
        this.sim.trace.instant(this.track(), "lost_wakeup", "errata", { reason: WAKE_REASON[src] ?? "" });
      }
      return;
    }
    this.stop = null;
    if (st.lostAt >= 0) {
      const late = this.sim.now - st.lostAt;
      this.lateWakeups++;
      this.lateWakeupNs += late;
      if (late > this.maxLateWakeupNs) this.maxLateWakeupNs = late;
    }
    this.setPls(st.level, this.sprLo[S_PSSCR]);
    if (this.sim.trace.enabled) {
      const tr = this.track();
      this.sim.trace.complete(tr, `stop${st.level}`, "power", st.since, this.sim.now - st.since, {
        esl: st.esl,
        ec: st.ec,
        reason: WAKE_REASON[src] ?? "",
      });
      this.sim.trace.instant(tr, "cpu_idle", "power", { state: 4294967295 });
    }
    this.core?.notifyChange();
    if (st.ec) {
      this.systemResetWake(src, st.level, st.esl);
      this.flushNotify();
      return;
    }
    // EC=0: resume at the instruction after stop; a pending enabled interrupt is taken first
    this.needCheck = true;
    if (this.checkAsync()) return;
    const sw = this.hypervisorState ? this.hvSoftware : this.osSoftware;
    if (sw !== null) sw.resume(this);
  }

  private setPls(level: number, psscrLo: number): void {
    if (psscrLo & PSSCRL_SD) return;
    this.sprHi[S_PSSCR] = ((this.sprHi[S_PSSCR] & ~PSSCRH_PLS) | (level << 28)) >>> 0;
  }

  /** Wake from an EC=1 stop: System Reset interrupt with the wake reason and state loss. */
  private systemResetWake(src: number, level: number, esl: boolean): void {
    const ws = !esl ? 0x00010000 : level >= this.chip.hvLossLevel ? 0x00030000 : 0x00020000;
    if (src === SRC_HDBELL) this.hDoorbell = false;
    if (src === SRC_DBELL) this.pDoorbell = false;
    if (esl) {
      this.gprHi.fill(POISON_HI);
      this.gprLo.fill(POISON_LO);
    }
    this.interruptSrr(BOOK3S_INTERRUPT_SYSTEM_RESET, this.pcHi, this.pcLo, (WAKE_SRR1[src] | ws) >>> 0, true);
  }

  private track(): number {
    if (this.traceTrack < 0) {
      this.traceTrack = this.sim.trace.track(
        `isa core ${this.core?.coreId ?? 0}`,
        `thread ${this.index} (pir ${this.pir})`,
      );
    }
    return this.traceTrack;
  }
}
