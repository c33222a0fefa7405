// The interpreter of the fixed-point, branch, condition-register, storage, cache-management and
// storage-control instructions (Power ISA v3.0B Book I chapters 2-3, Book II chapter 4, Book III
// chapter 5 instructions). HwThread.exec() handles the system instructions itself (SPRs, MSR,
// stop, doorbells, sc, rfid) and calls execInterp() for every other word of the table.
// Register values live in 32-bit halves (HwThread.gprHi/gprLo); multiply, divide and the other
// 128-bit operations go through BigInt (they are not on the idle path).

import { FORMS, formId } from "./opcodes.js";
import type { ExecResult, HwThread } from "./thread.js";

// ExecResult values (thread.ts exports them; repeated here as literals to avoid an import cycle)
const OK = 0 as ExecResult;
const INTERRUPT = 2 as ExecResult;

const MSRH_SF = 0x80000000;
const MSRH_HV = 0x10000000;
const MSRL_PR = 0x4000;
const MSRL_LE = 0x1;

// XER bits (low word): SO, OV, CA, OV32, CA32
const XER_SO = 0x80000000;
const XER_OV = 0x40000000;
const XER_CA = 0x20000000;
const XER_OV32 = 0x00080000;
const XER_CA32 = 0x00040000;

const SRR1_PROGTRAP_LO = 0x00020000;
const VEC_ALIGNMENT = 0x600;
const VEC_PROGRAM = 0x700;
const FSCR_TAR_LG = 8;
const FSCR_EBB_LG = 7;
const FSCR_SCV_LG = 12;

// Classes of instructions the interpreter distinguishes
const C_ADDI = 1;
const C_ADDIS = 2;
const C_ADDIC = 3;
const C_SUBFIC = 4;
const C_MULLI = 5;
const C_ADDPCIS = 6;
const C_XO_ADD = 7; // add family: see ADD_KIND
const C_MUL = 8;
const C_DIV = 9;
const C_MOD = 10;
const C_MADD = 11;
const C_ADDEX = 12;
const C_CMP = 13;
const C_CMPRB = 14;
const C_CMPEQB = 15;
const C_SETB = 16;
const C_MCRXRX = 17;
const C_LOGIC_IMM = 18;
const C_LOGIC = 19;
const C_EXTS = 20;
const C_COUNT = 21;
const C_POPCNT = 22;
const C_PRTY = 23;
const C_CMPB = 24;
const C_BPERMD = 25;
const C_ISEL = 26;
const C_RLW = 27;
const C_RLD = 28;
const C_SHIFT = 29;
const C_SRAWI = 30;
const C_SRADI = 31;
const C_EXTSWSLI = 32;
const C_LOAD = 33;
const C_STORE = 34;
const C_LQ = 35;
const C_STQ = 36;
const C_LMW = 37;
const C_STMW = 38;
const C_STRING = 39;
const C_LARX = 40;
const C_STCX = 41;
const C_AMO_LOAD = 42;
const C_AMO_STORE = 43;
const C_B = 44;
const C_BC = 45;
const C_BCREG = 46;
const C_CRLOGIC = 47;
const C_MCRF = 48;
const C_MFOCRF = 49;
const C_MTCRF = 50;
const C_TRAP = 51;
const C_NOP = 52;
const C_DCBZ = 53;
const C_COPY = 54;
const C_PASTE = 55;
const C_CPABORT = 56;
const C_PRIV_NOP = 57; // privileged storage control without an MMU model (slbie, tlbie ...)
const C_SLBMF = 58;
const C_SLBFEE = 59;
const C_DARN = 60;
const C_SCV = 61;
const C_RFSCV = 62;
const C_RFEBB = 63;

const CLASS = new Uint8Array(FORMS.length);
/** Per form: access size in bytes, or a class-specific parameter. */
const SIZE = new Uint8Array(FORMS.length);
/** Per form flags. */
const FLAGS = new Uint8Array(FORMS.length);
const F_INDEXED = 1;
const F_UPDATE = 2;
const F_SIGNED = 4; // sign-extending load (lha, lwa), signed compare/multiply/divide
const F_BREV = 8; // byte-reversed
const F_HVPRIV = 16; // hypervisor privileged (cache-inhibited loads and stores)
const F_DS = 32; // DS-form displacement
/** Sub-operation for classes with several instructions. */
const SUB = new Uint8Array(FORMS.length);

function set(names: string, cls: number, size = 0, flags = 0, sub = 0): void {
  for (const n of names.trim().split(/\s+/)) {
    const id = formId(n);
    CLASS[id] = cls;
    SIZE[id] = size;
    FLAGS[id] = flags;
    SUB[id] = sub;
  }
}

/** Classes with several instructions: SUB is the index in `names`. */
function setSeq(names: readonly string[], cls: number): void {
  for (let i = 0; i < names.length; i++) set(names[i], cls, 0, 0, i);
}

set("addi", C_ADDI);
set("addis", C_ADDIS);
set("addic", C_ADDIC, 0, 0, 0);
set("addic.", C_ADDIC, 0, 0, 1);
set("subfic", C_SUBFIC);
set("mulli", C_MULLI);
set("addpcis", C_ADDPCIS);
// add family, SUB: 0 add, 1 subf, 2 addc, 3 subfc, 4 adde, 5 subfe, 6 addme, 7 subfme, 8 addze,
// 9 subfze, 10 neg
setSeq(
  ["add", "subf", "addc", "subfc", "adde", "subfe", "addme", "subfme", "addze", "subfze", "neg"],
  C_XO_ADD,
);
// multiply, SUB: 0 mulld, 1 mullw, 2 mulhd, 3 mulhdu, 4 mulhw, 5 mulhwu
setSeq(["mulld", "mullw", "mulhd", "mulhdu", "mulhw", "mulhwu"], C_MUL);
// divide, SUB: 0 divd 1 divdu 2 divw 3 divwu 4 divde 5 divdeu 6 divwe 7 divweu
setSeq(["divd", "divdu", "divw", "divwu", "divde", "divdeu", "divwe", "divweu"], C_DIV);
setSeq(["modsd", "modud", "modsw", "moduw"], C_MOD);
setSeq(["maddhd", "maddhdu", "maddld"], C_MADD);
set("addex", C_ADDEX);
setSeq(["cmp", "cmpl", "cmpi", "cmpli"], C_CMP);
set("cmprb", C_CMPRB);
set("cmpeqb", C_CMPEQB);
set("setb", C_SETB);
set("mcrxrx", C_MCRXRX);
// immediate logical, SUB: 0 ori 1 oris 2 xori 3 xoris 4 andi. 5 andis.
setSeq(["ori", "oris", "xori", "xoris", "andi.", "andis."], C_LOGIC_IMM);
// register logical, SUB: 0 and 1 andc 2 nor 3 eqv 4 xor 5 orc 6 or 7 nand
setSeq(["and", "andc", "nor", "eqv", "xor", "orc", "or", "nand"], C_LOGIC);
set("extsb", C_EXTS, 1);
set("extsh", C_EXTS, 2);
set("extsw", C_EXTS, 4);
// counts, SUB: 0 cntlzw 1 cntlzd 2 cnttzw 3 cnttzd
setSeq(["cntlzw", "cntlzd", "cnttzw", "cnttzd"], C_COUNT);
set("popcntb", C_POPCNT, 1);
set("popcntw", C_POPCNT, 4);
set("popcntd", C_POPCNT, 8);
set("prtyw", C_PRTY, 4);
set("prtyd", C_PRTY, 8);
set("cmpb", C_CMPB);
set("bpermd", C_BPERMD);
set("isel", C_ISEL);
// rotate word, SUB: 0 rlwinm 1 rlwnm 2 rlwimi
setSeq(["rlwinm", "rlwnm", "rlwimi"], C_RLW);
// rotate doubleword, SUB: 0 rldicl 1 rldicr 2 rldic 3 rldimi 4 rldcl 5 rldcr
setSeq(["rldicl", "rldicr", "rldic", "rldimi", "rldcl", "rldcr"], C_RLD);
// shifts by register, SUB: 0 slw 1 srw 2 sraw 3 sld 4 srd 5 srad
setSeq(["slw", "srw", "sraw", "sld", "srd", "srad"], C_SHIFT);
set("srawi", C_SRAWI);
set("sradi", C_SRADI);
set("extswsli", C_EXTSWSLI);
// loads
set("lbz", C_LOAD, 1);
set("lbzu", C_LOAD, 1, F_UPDATE);
set("lbzx", C_LOAD, 1, F_INDEXED);
set("lbzux", C_LOAD, 1, F_INDEXED | F_UPDATE);
set("lhz", C_LOAD, 2);
set("lhzu", C_LOAD, 2, F_UPDATE);
set("lhzx", C_LOAD, 2, F_INDEXED);
set("lhzux", C_LOAD, 2, F_INDEXED | F_UPDATE);
set("lha", C_LOAD, 2, F_SIGNED);
set("lhau", C_LOAD, 2, F_SIGNED | F_UPDATE);
set("lhax", C_LOAD, 2, F_SIGNED | F_INDEXED);
set("lhaux", C_LOAD, 2, F_SIGNED | F_INDEXED | F_UPDATE);
set("lwz", C_LOAD, 4);
set("lwzu", C_LOAD, 4, F_UPDATE);
set("lwzx", C_LOAD, 4, F_INDEXED);
set("lwzux", C_LOAD, 4, F_INDEXED | F_UPDATE);
set("lwa", C_LOAD, 4, F_SIGNED | F_DS);
set("lwax", C_LOAD, 4, F_SIGNED | F_INDEXED);
set("lwaux", C_LOAD, 4, F_SIGNED | F_INDEXED | F_UPDATE);
set("ld", C_LOAD, 8, F_DS);
set("ldu", C_LOAD, 8, F_DS | F_UPDATE);
set("ldx", C_LOAD, 8, F_INDEXED);
set("ldux", C_LOAD, 8, F_INDEXED | F_UPDATE);
set("lhbrx", C_LOAD, 2, F_INDEXED | F_BREV);
set("lwbrx", C_LOAD, 4, F_INDEXED | F_BREV);
set("ldbrx", C_LOAD, 8, F_INDEXED | F_BREV);
set("lbzcix", C_LOAD, 1, F_INDEXED | F_HVPRIV);
set("lhzcix", C_LOAD, 2, F_INDEXED | F_HVPRIV);
set("lwzcix", C_LOAD, 4, F_INDEXED | F_HVPRIV);
set("ldcix", C_LOAD, 8, F_INDEXED | F_HVPRIV);
// stores
set("stb", C_STORE, 1);
set("stbu", C_STORE, 1, F_UPDATE);
set("stbx", C_STORE, 1, F_INDEXED);
set("stbux", C_STORE, 1, F_INDEXED | F_UPDATE);
set("sth", C_STORE, 2);
set("sthu", C_STORE, 2, F_UPDATE);
set("sthx", C_STORE, 2, F_INDEXED);
set("sthux", C_STORE, 2, F_INDEXED | F_UPDATE);
set("stw", C_STORE, 4);
set("stwu", C_STORE, 4, F_UPDATE);
set("stwx", C_STORE, 4, F_INDEXED);
set("stwux", C_STORE, 4, F_INDEXED | F_UPDATE);
set("std", C_STORE, 8, F_DS);
set("stdu", C_STORE, 8, F_DS | F_UPDATE);
set("stdx", C_STORE, 8, F_INDEXED);
set("stdux", C_STORE, 8, F_INDEXED | F_UPDATE);
set("sthbrx", C_STORE, 2, F_INDEXED | F_BREV);
set("stwbrx", C_STORE, 4, F_INDEXED | F_BREV);
set("stdbrx", C_STORE, 8, F_INDEXED | F_BREV);
set("stbcix", C_STORE, 1, F_INDEXED | F_HVPRIV);
set("sthcix", C_STORE, 2, F_INDEXED | F_HVPRIV);
set("stwcix", C_STORE, 4, F_INDEXED | F_HVPRIV);
set("stdcix", C_STORE, 8, F_INDEXED | F_HVPRIV);
set("lq", C_LQ, 16);
set("stq", C_STQ, 16, F_DS);
set("lmw", C_LMW, 4);
set("stmw", C_STMW, 4);
set("lswi lswx stswi stswx", C_STRING);
set("lbarx", C_LARX, 1, F_INDEXED);
set("lharx", C_LARX, 2, F_INDEXED);
set("lwarx", C_LARX, 4, F_INDEXED);
set("ldarx", C_LARX, 8, F_INDEXED);
set("lqarx", C_LARX, 16, F_INDEXED);
set("stbcx.", C_STCX, 1, F_INDEXED);
set("sthcx.", C_STCX, 2, F_INDEXED);
set("stwcx.", C_STCX, 4, F_INDEXED);
set("stdcx.", C_STCX, 8, F_INDEXED);
set("stqcx.", C_STCX, 16, F_INDEXED);
set("lwat", C_AMO_LOAD, 4);
set("ldat", C_AMO_LOAD, 8);
set("stwat", C_AMO_STORE, 4);
set("stdat", C_AMO_STORE, 8);
// branches and CR
set("b", C_B);
set("bc", C_BC);
set("bclr", C_BCREG, 0, 0, 0);
set("bcctr", C_BCREG, 0, 0, 1);
set("bctar", C_BCREG, 0, 0, 2);
// CR logical, SUB = the 4-bit truth table (a, b) -> bit: index (a << 1) | b
set("crand", C_CRLOGIC, 0, 0, 0b1000);
set("crnand", C_CRLOGIC, 0, 0, 0b0111);
set("cror", C_CRLOGIC, 0, 0, 0b1110);
set("crnor", C_CRLOGIC, 0, 0, 0b0001);
set("crxor", C_CRLOGIC, 0, 0, 0b0110);
set("creqv", C_CRLOGIC, 0, 0, 0b1001);
set("crandc", C_CRLOGIC, 0, 0, 0b0100);
set("crorc", C_CRLOGIC, 0, 0, 0b1101);
set("mcrf", C_MCRF);
set("mfocrf", C_MFOCRF);
set("mtcrf mtocrf", C_MTCRF);
set("tw", C_TRAP, 4, F_INDEXED);
set("td", C_TRAP, 8, F_INDEXED);
set("twi", C_TRAP, 4);
set("tdi", C_TRAP, 8);
// synchronization and cache management: no architected register effect in this model
set("eieio wait dcbt dcbtst dcbf dcbst icbi icbt", C_NOP);
set("dcbz", C_DCBZ);
set("copy", C_COPY);
set("paste.", C_PASTE);
set("cp_abort", C_CPABORT);
// storage control: privileged; no MMU is modelled (README "Not modelled")
set("slbie slbia slbmte slbsync slbiag", C_PRIV_NOP);
set("tlbie tlbiel tlbsync", C_PRIV_NOP, 0, F_HVPRIV);
set("slbmfev slbmfee", C_SLBMF);
set("slbfee.", C_SLBFEE);
set("darn", C_DARN);
set("scv", C_SCV);
set("rfscv", C_RFSCV);
set("rfebb", C_RFEBB);

// ---------------------------------------------------------------------------------------------
// 64-bit helpers on halves (results in module scratch: R_HI/R_LO and flags)
// ---------------------------------------------------------------------------------------------

let R_HI = 0;
let R_LO = 0;
let CARRY = 0;
let CARRY32 = 0;
let OVF = 0;
let OVF32 = 0;

/** a + b + cin with carry and signed overflow out (64-bit and 32-bit). */
function add64(aH: number, aL: number, bH: number, bL: number, cin: number): void {
  const lo = (aL >>> 0) + (bL >>> 0) + cin;
  const c32 = lo > 0xffffffff ? 1 : 0;
  const hi = (aH >>> 0) + (bH >>> 0) + c32;
  R_LO = lo >>> 0;
  R_HI = hi >>> 0;
  CARRY = hi > 0xffffffff ? 1 : 0;
  CARRY32 = c32;
  OVF = ((aH ^ R_HI) & (bH ^ R_HI)) >>> 31;
  OVF32 = ((aL ^ R_LO) & (bL ^ R_LO)) >>> 31;
}

const big = (hi: number, lo: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const sbig = (hi: number, lo: number): bigint => BigInt.asIntN(64, big(hi, lo));

function setGprBig(t: HwThread, rt: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  t.gprHi[rt] = Number(u >> 32n);
  t.gprLo[rt] = Number(u & 0xffffffffn);
}

/** 64-bit mask with ones from IBM bit mb through me (wrapping when mb > me): M_HI/M_LO. */
let M_HI = 0;
let M_LO = 0;
function mask64(mb: number, me: number): void {
  const ones = (from: number, to: number): void => {
    // ones at IBM bits from..to (from <= to)
    const hiFrom = from;
    const hiTo = Math.min(to, 31);
    M_HI = hiFrom <= 31 ? ((0xffffffff >>> hiFrom) & ~(hiTo >= 31 ? 0 : 0xffffffff >>> (hiTo + 1))) >>> 0 : 0;
    const loFrom = Math.max(from, 32) - 32;
    const loTo = to - 32;
    M_LO = loTo >= 0 ? ((0xffffffff >>> loFrom) & ~(loTo >= 31 ? 0 : 0xffffffff >>> (loTo + 1))) >>> 0 : 0;
  };
  if (mb <= me) {
    ones(mb, me);
  } else {
    // complement of ones(me + 1, mb - 1)
    ones(me + 1, mb - 1);
    M_HI = ~M_HI >>> 0;
    M_LO = ~M_LO >>> 0;
  }
}

function rotl32(x: number, n: number): number {
  n &= 31;
  return n === 0 ? x >>> 0 : ((x << n) | (x >>> (32 - n))) >>> 0;
}

/** Rotate-left of a 64-bit value; result in R_HI/R_LO. */
function rotl64(hi: number, lo: number, n: number): void {
  n &= 63;
  if (n >= 32) {
    const t = hi;
    hi = lo;
    lo = t;
    n -= 32;
  }
  if (n === 0) {
    R_HI = hi >>> 0;
    R_LO = lo >>> 0;
  } else {
    R_HI = ((hi << n) | (lo >>> (32 - n))) >>> 0;
    R_LO = ((lo << n) | (hi >>> (32 - n))) >>> 0;
  }
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function ctz32(x: number): number {
  if (x === 0) return 32;
  return 31 - Math.clz32(x & -x);
}

// ---------------------------------------------------------------------------------------------
// The interpreter
// ---------------------------------------------------------------------------------------------

/** Whether the thread runs in 64-bit mode (MSR[SF]); 32-bit mode truncates addresses and CR0. */
const sf = (t: HwThread): boolean => (t.msrHi & MSRH_SF) !== 0;

function setCr0(t: HwThread, hi: number, lo: number): void {
  if (sf(t)) t.setCr0(hi, lo);
  else t.setCr0(lo >> 31 ? 0xffffffff : 0, lo);
}

function setXerCa(t: HwThread, ca: number, ca32: number): void {
  const s = t.xerSlot;
  t.sprLo[s] = ((t.sprLo[s] & ~(XER_CA | XER_CA32)) | (ca ? XER_CA : 0) | (ca32 ? XER_CA32 : 0)) >>> 0;
}

function setXerOv(t: HwThread, ov: number, ov32: number): void {
  const s = t.xerSlot;
  t.sprLo[s] =
    ((t.sprLo[s] & ~(XER_OV | XER_OV32)) | (ov ? XER_OV | XER_SO : 0) | (ov32 ? XER_OV32 : 0)) >>> 0;
}

const xerCa = (t: HwThread): number => (t.sprLo[t.xerSlot] >>> 29) & 1;

/** Effective address of a D/DS/X form access; result in EA_HI/EA_LO. */
let EA_HI = 0;
let EA_LO = 0;
function effectiveAddress(t: HwThread, w: number, flags: number): void {
  const ra = (w >>> 16) & 31;
  const bH = ra === 0 ? 0 : t.gprHi[ra];
  const bL = ra === 0 ? 0 : t.gprLo[ra];
  let oH: number;
  let oL: number;
  if (flags & F_INDEXED) {
    const rb = (w >>> 11) & 31;
    oH = t.gprHi[rb];
    oL = t.gprLo[rb];
  } else {
    const d = flags & F_DS ? ((w & 0xfffc) << 16) >> 16 : (w << 16) >> 16;
    oH = d < 0 ? 0xffffffff : 0;
    oL = d >>> 0;
  }
  add64(bH, bL, oH, oL, 0);
  EA_HI = sf(t) ? R_HI : 0;
  EA_LO = R_LO;
}

function alignment(t: HwThread): ExecResult {
  // Alignment interrupt (Book III 7.5.8): DAR = EA; DSISR is not set on v3.0B
  t.sprHi[t.darSlot] = EA_HI;
  t.sprLo[t.darSlot] = EA_LO;
  t.interruptSrr(VEC_ALIGNMENT, t.pcHi, t.pcLo, 0, false);
  return INTERRUPT;
}

/** Reads `size` (1, 2, 4, 8) bytes at real address `addr` in the thread's byte order (LO, HI). */
let V_HI = 0;
let V_LO = 0;
function readMem(t: HwThread, addr: number, size: number, brev: boolean): void {
  const mem = t.memory;
  if (mem === null) return;
  const le = ((t.msrLo & MSRL_LE) !== 0) !== brev;
  if (size === 8) {
    const a = mem.read32(addr, le);
    const b = mem.read32(addr + 4, le);
    V_HI = le ? b : a;
    V_LO = le ? a : b;
    return;
  }
  V_HI = 0;
  if (size === 4) V_LO = mem.read32(addr, le);
  else if (size === 2) {
    const b0 = mem.read8(addr);
    const b1 = mem.read8(addr + 1);
    V_LO = le ? b0 | (b1 << 8) : (b0 << 8) | b1;
  } else V_LO = mem.read8(addr);
}

function writeMem(t: HwThread, addr: number, size: number, hi: number, lo: number, brev: boolean): void {
  const mem = t.memory;
  if (mem === null) return;
  const le = ((t.msrLo & MSRL_LE) !== 0) !== brev;
  if (size === 8) {
    mem.write32(addr, le ? lo : hi, le);
    mem.write32(addr + 4, le ? hi : lo, le);
  } else if (size === 4) mem.write32(addr, lo, le);
  else if (size === 2) {
    mem.write8(addr, le ? lo & 0xff : (lo >>> 8) & 0xff);
    mem.write8(addr + 1, le ? (lo >>> 8) & 0xff : lo & 0xff);
  } else mem.write8(addr, lo & 0xff);
  t.storeObserved(addr, size);
}

/** Checks the access and returns its real address, or -1 after taking the storage interrupt. */
function access(t: HwThread, size: number, store: boolean): number {
  const addr = t.realAddress(EA_HI, EA_LO);
  const mem = t.memory;
  if (mem === null || !mem.contains(addr, size)) {
    t.storageFault(EA_HI, EA_LO, store);
    return -1;
  }
  return addr;
}

function signExtend(size: number): void {
  if (size === 1) V_LO = (V_LO << 24) >> 24;
  else if (size === 2) V_LO = (V_LO << 16) >> 16;
  else V_LO |= 0;
  V_HI = V_LO < 0 ? 0xffffffff : 0;
  V_LO >>>= 0;
}

function branchTo(t: HwThread, hi: number, lo: number): void {
  t.pcHi = sf(t) ? hi >>> 0 : 0;
  t.pcLo = (lo & ~3) >>> 0;
}

/** Executes an instruction of the interpreter's classes (thread.ts has checked re-entry). */
export function execInterp(t: HwThread, id: number, w: number): ExecResult {
  const gH = t.gprHi;
  const gL = t.gprLo;
  const rt = (w >>> 21) & 31;
  const ra = (w >>> 16) & 31;
  const rb = (w >>> 11) & 31;
  const rc = w & 1;
  switch (CLASS[id]) {
    case C_ADDI:
    case C_ADDIS: {
      const si = (w << 16) >> 16;
      const imm = CLASS[id] === C_ADDIS ? si << 16 : si;
      add64(ra === 0 ? 0 : gH[ra], ra === 0 ? 0 : gL[ra], imm < 0 ? 0xffffffff : 0, imm >>> 0, 0);
      gH[rt] = R_HI;
      gL[rt] = R_LO;
      break;
    }
    case C_ADDIC:
    case C_SUBFIC: {
      const si = (w << 16) >> 16;
      const sH = si < 0 ? 0xffffffff : 0;
      if (CLASS[id] === C_ADDIC) add64(gH[ra], gL[ra], sH, si >>> 0, 0);
      else add64(~gH[ra] >>> 0, ~gL[ra] >>> 0, sH, si >>> 0, 1);
      gH[rt] = R_HI;
      gL[rt] = R_LO;
      setXerCa(t, CARRY, CARRY32);
      if (SUB[id] === 1) setCr0(t, R_HI, R_LO);
      break;
    }
    case C_MULLI:
      setGprBig(t, rt, sbig(gH[ra], gL[ra]) * BigInt((w << 16) >> 16));
      break;
    case C_ADDPCIS: {
      // RT = NIA + (D || 0x0000)
      const d = FORMS[id].fields[1].get(w);
      const nL = (t.pcLo + 4) >>> 0;
      const nH = nL < 4 ? (t.pcHi + 1) >>> 0 : t.pcHi;
      const imm = d << 16;
      add64(nH, nL, imm < 0 ? 0xffffffff : 0, imm >>> 0, 0);
      gH[rt] = R_HI;
      gL[rt] = R_LO;
      break;
    }
    case C_XO_ADD:
      execAddFamily(t, SUB[id], w, rt, ra, rb);
      break;
    case C_MUL:
      execMul(t, SUB[id], w, rt, ra, rb);
      break;
    case C_DIV:
      execDiv(t, SUB[id], w, rt, ra, rb);
      break;
    case C_MOD: {
      const sub = SUB[id];
      const word = sub >= 2;
      const signed = (sub & 1) === 0;
      let a = word
        ? BigInt(signed ? gL[ra] | 0 : gL[ra] >>> 0)
        : signed
          ? sbig(gH[ra], gL[ra])
          : big(gH[ra], gL[ra]);
      let b = word
        ? BigInt(signed ? gL[rb] | 0 : gL[rb] >>> 0)
        : signed
          ? sbig(gH[rb], gL[rb])
          : big(gH[rb], gL[rb]);
      // division by 0 and the most negative / -1 are undefined: the model returns 0
      if (b === 0n || (signed && b === -1n)) {
        a = 0n;
        b = 1n;
      }
      setGprBig(t, rt, a % b);
      break;
    }
    case C_MADD: {
      const rcr = (w >>> 6) & 31;
      const sub = SUB[id];
      const p =
        sub === 1
          ? big(gH[ra], gL[ra]) * big(gH[rb], gL[rb]) + big(gH[rcr], gL[rcr])
          : sbig(gH[ra], gL[ra]) * sbig(gH[rb], gL[rb]) + sbig(gH[rcr], gL[rcr]);
      setGprBig(t, rt, sub === 2 ? p : p >> 64n);
      break;
    }
    case C_ADDEX: {
      // CY = 0: add extended using XER[OV] as the carry in and out (OV32 gets the 32-bit carry)
      if (((w >>> 9) & 3) !== 0) return t.heai(w);
      const ov = (t.sprLo[t.xerSlot] >>> 30) & 1;
      add64(gH[ra], gL[ra], gH[rb], gL[rb], ov);
      gH[rt] = R_HI;
      gL[rt] = R_LO;
      const s = t.xerSlot;
      t.sprLo[s] =
        ((t.sprLo[s] & ~(XER_OV | XER_OV32)) | (CARRY ? XER_OV : 0) | (CARRY32 ? XER_OV32 : 0)) >>> 0;
      break;
    }
    case C_CMP: {
      const sub = SUB[id];
      const bf = (w >>> 23) & 7;
      const l = (w >>> 21) & 1;
      let bHi: number;
      let bLo: number;
      if (sub < 2) {
        bHi = gH[rb];
        bLo = gL[rb];
      } else if (sub === 2) {
        const si = (w << 16) >> 16;
        bHi = si < 0 ? 0xffffffff : 0;
        bLo = si >>> 0;
      } else {
        bHi = 0;
        bLo = w & 0xffff;
      }
      const signed = sub === 0 || sub === 2;
      let c: number;
      if (l === 1) c = signed ? cmpS64(gH[ra], gL[ra], bHi, bLo) : cmpU64(gH[ra], gL[ra], bHi, bLo);
      else c = signed ? cmpNum(gL[ra] | 0, bLo | 0) : cmpNum(gL[ra] >>> 0, bLo >>> 0);
      t.setCrField(bf, c);
      break;
    }
    case C_CMPRB: {
      const bf = (w >>> 23) & 7;
      const l = (w >>> 21) & 1;
      const src = gL[ra] & 0xff;
      const v = gL[rb];
      const in22 = src >= (v & 0xff) && src <= ((v >>> 8) & 0xff);
      const in21 = src >= ((v >>> 16) & 0xff) && src <= v >>> 24;
      setCrBits(t, bf, (in22 || (l === 1 && in21) ? 4 : 0) | 0);
      break;
    }
    case C_CMPEQB: {
      const bf = (w >>> 23) & 7;
      const src = gL[ra] & 0xff;
      let match = false;
      for (let i = 0; i < 4; i++) {
        if (((gH[rb] >>> (8 * i)) & 0xff) === src || ((gL[rb] >>> (8 * i)) & 0xff) === src) match = true;
      }
      setCrBits(t, bf, match ? 2 : 0);
      break;
    }
    case C_SETB: {
      const bfa = (w >>> 18) & 7;
      const f = (t.cr >>> (28 - 4 * bfa)) & 0xf;
      const v = f & 8 ? -1 : f & 4 ? 1 : 0;
      gH[rt] = v < 0 ? 0xffffffff : 0;
      gL[rt] = v >>> 0;
      break;
    }
    case C_MCRXRX: {
      const x = t.sprLo[t.xerSlot];
      const bits =
        (x & XER_OV ? 8 : 0) | (x & XER_OV32 ? 4 : 0) | (x & XER_CA ? 2 : 0) | (x & XER_CA32 ? 1 : 0);
      setCrBits(t, (w >>> 23) & 7, bits);
      break;
    }
    case C_LOGIC_IMM: {
      const ui = w & 0xffff;
      const sub = SUB[id];
      const hiHalf = (sub & 1) === 1;
      const v = hiHalf ? (ui << 16) >>> 0 : ui;
      // rs is the rt field
      if (sub < 2) {
        gH[ra] = gH[rt];
        gL[ra] = (gL[rt] | v) >>> 0;
      } else if (sub < 4) {
        gH[ra] = gH[rt];
        gL[ra] = (gL[rt] ^ v) >>> 0;
      } else {
        gH[ra] = 0;
        gL[ra] = (gL[rt] & v) >>> 0;
        setCr0(t, 0, gL[ra]);
      }
      break;
    }
    case C_LOGIC: {
      const sub = SUB[id];
      if (sub === 6 && rt === ra && ra === rb && rc === 0) {
        // or Rx,Rx,Rx: program priority hint (PPR); "mr rx,rx" otherwise
        t.priorityHint(rt);
        break;
      }
      const sH = gH[rt];
      const sL = gL[rt];
      const bH = gH[rb];
      const bL = gL[rb];
      let h: number;
      let l: number;
      switch (sub) {
        case 0:
          h = sH & bH;
          l = sL & bL;
          break;
        case 1:
          h = sH & ~bH;
          l = sL & ~bL;
          break;
        case 2:
          h = ~(sH | bH);
          l = ~(sL | bL);
          break;
        case 3:
          h = ~(sH ^ bH);
          l = ~(sL ^ bL);
          break;
        case 4:
          h = sH ^ bH;
          l = sL ^ bL;
          break;
        case 5:
          h = sH | ~bH;
          l = sL | ~bL;
          break;
        case 6:
          h = sH | bH;
          l = sL | bL;
          break;
        default:
          h = ~(sH & bH);
          l = ~(sL & bL);
      }
      gH[ra] = h >>> 0;
      gL[ra] = l >>> 0;
      if (rc) setCr0(t, gH[ra], gL[ra]);
      break;
    }
    case C_EXTS: {
      const size = SIZE[id];
      let v = gL[rt];
      if (size === 1) v = (v << 24) >> 24;
      else if (size === 2) v = (v << 16) >> 16;
      else v |= 0;
      gH[ra] = v < 0 ? 0xffffffff : 0;
      gL[ra] = v >>> 0;
      if (rc) setCr0(t, gH[ra], gL[ra]);
      break;
    }
    case C_COUNT: {
      const sub = SUB[id];
      const h = gH[rt];
      const l = gL[rt];
      let n: number;
      if (sub === 0) n = Math.clz32(l);
      else if (sub === 1) n = h !== 0 ? Math.clz32(h) : 32 + Math.clz32(l);
      else if (sub === 2) n = ctz32(l);
      else n = l !== 0 ? ctz32(l) : 32 + ctz32(h);
      gH[ra] = 0;
      gL[ra] = n;
      if (rc) setCr0(t, 0, n);
      break;
    }
    case C_POPCNT: {
      const size = SIZE[id];
      const h = gH[rt];
      const l = gL[rt];
      if (size === 8) {
        gH[ra] = 0;
        gL[ra] = popcount32(h) + popcount32(l);
      } else if (size === 4) {
        gH[ra] = popcount32(h);
        gL[ra] = popcount32(l);
      } else {
        let oh = 0;
        let ol = 0;
        for (let i = 0; i < 4; i++) {
          oh |= popcount32((h >>> (8 * i)) & 0xff) << (8 * i);
          ol |= popcount32((l >>> (8 * i)) & 0xff) << (8 * i);
        }
        gH[ra] = oh >>> 0;
        gL[ra] = ol >>> 0;
      }
      break;
    }
    case C_PRTY: {
      // parity of the least significant bit of each byte (per word, or of the doubleword)
      const ph = (gH[rt] ^ (gH[rt] >>> 8) ^ (gH[rt] >>> 16) ^ (gH[rt] >>> 24)) & 1;
      const pl = (gL[rt] ^ (gL[rt] >>> 8) ^ (gL[rt] >>> 16) ^ (gL[rt] >>> 24)) & 1;
      if (SIZE[id] === 8) {
        gH[ra] = 0;
        gL[ra] = ph ^ pl;
      } else {
        gH[ra] = ph;
        gL[ra] = pl;
      }
      break;
    }
    case C_CMPB: {
      let oh = 0;
      let ol = 0;
      for (let i = 0; i < 4; i++) {
        const m = 0xff << (8 * i);
        if ((gH[rt] & m) === (gH[rb] & m)) oh |= m;
        if ((gL[rt] & m) === (gL[rb] & m)) ol |= m;
      }
      gH[ra] = oh >>> 0;
      gL[ra] = ol >>> 0;
      break;
    }
    case C_BPERMD: {
      let perm = 0;
      for (let i = 0; i < 8; i++) {
        const idx = i < 4 ? (gH[rt] >>> (24 - 8 * i)) & 0xff : (gL[rt] >>> (24 - 8 * (i - 4))) & 0xff;
        if (idx < 64) {
          const bit = idx < 32 ? (gH[rb] >>> (31 - idx)) & 1 : (gL[rb] >>> (63 - idx)) & 1;
          perm |= bit << (7 - i);
        }
      }
      gH[ra] = 0;
      gL[ra] = perm;
      break;
    }
    case C_ISEL: {
      const bc = (w >>> 6) & 31;
      if ((t.cr >>> (31 - bc)) & 1) {
        gH[rt] = ra === 0 ? 0 : gH[ra];
        gL[rt] = ra === 0 ? 0 : gL[ra];
      } else {
        gH[rt] = gH[rb];
        gL[rt] = gL[rb];
      }
      break;
    }
    case C_RLW: {
      const sub = SUB[id];
      const n = sub === 1 ? gL[rb] & 31 : rb;
      const mb = (w >>> 6) & 31;
      const me = (w >>> 1) & 31;
      const r = rotl32(gL[rt], n);
      mask64(mb + 32, me + 32);
      if (sub === 2) {
        gH[ra] = ((r & M_HI) | (gH[ra] & ~M_HI)) >>> 0;
        gL[ra] = ((r & M_LO) | (gL[ra] & ~M_LO)) >>> 0;
      } else {
        gH[ra] = (r & M_HI) >>> 0;
        gL[ra] = (r & M_LO) >>> 0;
      }
      if (rc) setCr0(t, gH[ra], gL[ra]);
      break;
    }
    case C_RLD: {
      const sub = SUB[id];
      const sh = sub >= 4 ? gL[rb] & 63 : ((w >>> 11) & 31) | (((w >>> 1) & 1) << 5);
      const m6 = (w >>> 5) & 63;
      const mbe = ((m6 >>> 1) & 31) | ((m6 & 1) << 5);
      rotl64(gH[rt], gL[rt], sh);
      // rldicl/rldcl: MASK(mb, 63); rldicr/rldcr: MASK(0, me); rldic/rldimi: MASK(mb, 63 - sh)
      if (sub === 0 || sub === 4) mask64(mbe, 63);
      else if (sub === 1 || sub === 5) mask64(0, mbe);
      else mask64(mbe, 63 - sh);
      if (sub === 3) {
        gH[ra] = ((R_HI & M_HI) | (gH[ra] & ~M_HI)) >>> 0;
        gL[ra] = ((R_LO & M_LO) | (gL[ra] & ~M_LO)) >>> 0;
      } else {
        gH[ra] = (R_HI & M_HI) >>> 0;
        gL[ra] = (R_LO & M_LO) >>> 0;
      }
      if (rc) setCr0(t, gH[ra], gL[ra]);
      break;
    }
    case C_SHIFT: {
      const sub = SUB[id];
      if (sub < 3) {
        // slw/srw/sraw: shift count RB[58:63]
        const n = gL[rb] & 63;
        const v = gL[rt];
        if (sub === 0) {
          gH[ra] = 0;
          gL[ra] = n < 32 ? (v << n) >>> 0 : 0;
        } else if (sub === 1) {
          gH[ra] = 0;
          gL[ra] = n < 32 ? v >>> n : 0;
        } else {
          shiftRightAlgebraicWord(t, ra, v, n);
        }
      } else {
        const n = gL[rb] & 127;
        shift64(t, sub - 3, ra, gH[rt], gL[rt], n);
      }
      if (rc) setCr0(t, gH[ra], gL[ra]);
      break;
    }
    case C_SRAWI:
      shiftRightAlgebraicWord(t, ra, gL[rt], rb);
      if (rc) setCr0(t, gH[ra], gL[ra]);
      break;
    case C_SRADI:
      shift64(t, 2, ra, gH[rt], gL[rt], ((w >>> 11) & 31) | (((w >>> 1) & 1) << 5));
      if (rc) setCr0(t, gH[ra], gL[ra]);
      break;
    case C_EXTSWSLI: {
      const sh = ((w >>> 11) & 31) | (((w >>> 1) & 1) << 5);
      const v = gL[rt] | 0;
      shift64(t, 0, ra, v < 0 ? 0xffffffff : 0, v >>> 0, sh);
      if (rc) setCr0(t, gH[ra], gL[ra]);
      break;
    }
    case C_LOAD:
    case C_STORE:
      return execLoadStore(t, id, w, rt, ra);
    case C_LQ:
    case C_STQ:
    case C_LARX:
    case C_STCX:
      return execQuadAndReserve(t, id, w, rt);
    case C_LMW:
    case C_STMW:
    case C_STRING:
      return execMultiple(t, id, w, rt);
    case C_AMO_LOAD:
    case C_AMO_STORE:
      return execAtomic(t, id, w, rt, ra, rb);
    case C_B: {
      const disp = ((w & 0x03fffffc) << 6) >> 6;
      if (w & 1) t.setLrToNext();
      if (w & 2) t.setPcAbs(disp);
      else t.addPc(disp);
      return OK;
    }
    case C_BC: {
      const disp = ((w & 0xfffc) << 16) >> 16;
      const taken = t.branchCondition(rt, ra, true);
      if (w & 1) t.setLrToNext();
      if (!taken) t.advance();
      else if (w & 2) t.setPcAbs(disp);
      else t.addPc(disp);
      return OK;
    }
    case C_BCREG: {
      const sub = SUB[id];
      if (sub === 2) {
        const r = facility(t, FSCR_TAR_LG);
        if (r >= 0) return r as ExecResult;
      }
      const slot = sub === 0 ? t.lrSlot : sub === 1 ? t.ctrSlot : t.tarSlot;
      const tH = t.sprHi[slot];
      const tL = t.sprLo[slot];
      // bcctr does not decrement CTR (BO[2] = 0 forms are invalid for it)
      const taken = t.branchCondition(rt, ra, sub !== 1);
      if (w & 1) t.setLrToNext();
      if (taken) branchTo(t, tH, tL);
      else t.advance();
      return OK;
    }
    case C_CRLOGIC: {
      const a = (t.cr >>> (31 - ra)) & 1;
      const b = (t.cr >>> (31 - rb)) & 1;
      const bit = (SUB[id] >>> (3 - ((a << 1) | b))) & 1;
      const m = 1 << (31 - rt);
      t.cr = (bit ? t.cr | m : t.cr & ~m) >>> 0;
      break;
    }
    case C_MCRF: {
      const bf = (w >>> 23) & 7;
      const bfa = (w >>> 18) & 7;
      setCrBits(t, bf, (t.cr >>> (28 - 4 * bfa)) & 0xf, false);
      break;
    }
    case C_MFOCRF: {
      // the selected field in place, the other bits 0 (the ISA leaves them undefined)
      const fxm = (w >>> 12) & 0xff;
      const field = 7 - Math.log2(fxm);
      gH[rt] = 0;
      gL[rt] = (t.cr & (0xf << (28 - 4 * field))) >>> 0;
      break;
    }
    case C_MTCRF: {
      const fxm = (w >>> 12) & 0xff;
      let m = 0;
      for (let i = 0; i < 8; i++) if (fxm & (0x80 >>> i)) m |= 0xf << (28 - 4 * i);
      t.cr = ((t.cr & ~m) | (gL[rt] & m)) >>> 0;
      break;
    }
    case C_TRAP: {
      const to = rt;
      const word = SIZE[id] === 4;
      let bH: number;
      let bL: number;
      if (FLAGS[id] & F_INDEXED) {
        bH = gH[rb];
        bL = gL[rb];
      } else {
        const si = (w << 16) >> 16;
        bH = si < 0 ? 0xffffffff : 0;
        bL = si >>> 0;
      }
      const s = word ? cmpNum(gL[ra] | 0, bL | 0) : cmpS64(gH[ra], gL[ra], bH, bL);
      const u = word ? cmpNum(gL[ra] >>> 0, bL >>> 0) : cmpU64(gH[ra], gL[ra], bH, bL);
      const trap =
        (to & 16 && s < 0) ||
        (to & 8 && s > 0) ||
        (to & 4 && s === 0) ||
        (to & 2 && u < 0) ||
        (to & 1 && u > 0);
      if (trap) {
        t.interruptSrr(VEC_PROGRAM, t.pcHi, t.pcLo, SRR1_PROGTRAP_LO, false);
        return INTERRUPT;
      }
      break;
    }
    case C_NOP:
      break;
    case C_DCBZ: {
      effectiveAddress(t, w, F_INDEXED);
      EA_LO = (EA_LO & ~127) >>> 0;
      const addr = access(t, 128, true);
      if (addr < 0) return INTERRUPT;
      for (let i = 0; i < 128; i += 4) t.memory?.write32(addr + i, 0, true);
      t.storeObserved(addr, 128);
      break;
    }
    case C_COPY: {
      effectiveAddress(t, w, F_INDEXED);
      if (EA_LO & 127) return alignment(t);
      const addr = access(t, 128, false);
      if (addr < 0) return INTERRUPT;
      const buf = new Uint8Array(128);
      for (let i = 0; i < 128; i++) buf[i] = t.memory?.read8(addr + i) ?? 0;
      t.copyBuffer = buf;
      break;
    }
    case C_PASTE: {
      effectiveAddress(t, w, F_INDEXED);
      if (EA_LO & 127) return alignment(t);
      const buf = t.copyBuffer;
      let ok = 0;
      if (buf !== null) {
        const addr = access(t, 128, true);
        if (addr < 0) return INTERRUPT;
        for (let i = 0; i < 128; i++) t.memory?.write8(addr + i, buf[i]);
        t.storeObserved(addr, 128);
        ok = 1;
      }
      t.copyBuffer = null;
      // CR0 = 0b00 || success || XER[SO]
      setCrBits(t, 0, ok ? 2 : 0);
      break;
    }
    case C_CPABORT:
      t.copyBuffer = null;
      break;
    case C_PRIV_NOP:
      if (t.msrLo & MSRL_PR) return t.programPriv();
      if (FLAGS[id] & F_HVPRIV && !(t.msrHi & MSRH_HV)) return t.programPriv();
      break;
    case C_SLBMF:
      // no SLB is modelled: every entry reads as invalid (0)
      if (t.msrLo & MSRL_PR) return t.programPriv();
      gH[rt] = 0;
      gL[rt] = 0;
      break;
    case C_SLBFEE:
      if (t.msrLo & MSRL_PR) return t.programPriv();
      gH[rt] = 0;
      gL[rt] = 0;
      setCrBits(t, 0, 0);
      break;
    case C_DARN: {
      // L = 0: 32-bit conditioned random number; 1: 64-bit conditioned; 2: 64-bit raw; 3: reserved
      // (returns the error value 0xFFFF_FFFF_FFFF_FFFF)
      const l = (w >>> 16) & 3;
      if (l === 3) {
        gH[rt] = 0xffffffff;
        gL[rt] = 0xffffffff;
      } else {
        const rng = t.darnStream();
        gH[rt] = l === 0 ? 0 : rng.uint32();
        gL[rt] = rng.uint32();
      }
      break;
    }
    case C_SCV:
      return execScv(t, w);
    case C_RFSCV: {
      if (t.msrLo & MSRL_PR) return t.programPriv();
      // NIA = LR, MSR = CTR (as rfid does with SRR0/SRR1)
      return t.returnFrom(t.lrSlot, t.ctrSlot);
    }
    case C_RFEBB: {
      const r = facility(t, FSCR_EBB_LG);
      if (r >= 0) return r as ExecResult;
      // BESCR[GE] (bit 0) = S; NIA = EBBRR
      const bescr = t.sprSlot(806);
      const s = (w >>> 11) & 1;
      t.sprHi[bescr] = s ? (t.sprHi[bescr] | 0x80000000) >>> 0 : t.sprHi[bescr] & 0x7fffffff;
      const ebbrr = t.sprSlot(805);
      branchTo(t, t.sprHi[ebbrr], t.sprLo[ebbrr]);
      return OK;
    }
    default:
      // nap/sleep/rvwinkle/doze (removed from ISA v3.0), mftb XO 371 and anything else
      return t.heai(w);
  }
  t.advance();
  return OK;
}

/** Facility checks for TAR/EBB/SCV: HFSCR in guest state, FSCR in problem state. */
function facility(t: HwThread, bit: number): number {
  if (!(t.msrHi & MSRH_HV) && !(t.sprLo[t.hfscrSlot] & (1 << bit))) return t.hFacUnavail(bit);
  if (t.msrLo & MSRL_PR && !(t.sprLo[t.fscrSlot] & (1 << bit))) return t.facUnavail(bit);
  return -1;
}

function setCrBits(t: HwThread, bf: number, bits: number, withSo = false): void {
  const so = withSo ? (t.sprLo[t.xerSlot] >>> 31) & 1 : 0;
  const shift = 28 - 4 * bf;
  t.cr = ((t.cr & ~(0xf << shift)) | ((bits | so) << shift)) >>> 0;
}

function execAddFamily(t: HwThread, sub: number, w: number, rt: number, ra: number, rb: number): void {
  const gH = t.gprHi;
  const gL = t.gprLo;
  const neg = sub === 1 || sub === 3 || sub === 5 || sub === 7 || sub === 9 || sub === 10;
  const aH = neg ? ~gH[ra] >>> 0 : gH[ra];
  const aL = neg ? ~gL[ra] >>> 0 : gL[ra];
  const ca = xerCa(t);
  switch (sub) {
    case 0:
    case 2:
      add64(aH, aL, gH[rb], gL[rb], 0);
      break;
    case 1:
    case 3:
      add64(aH, aL, gH[rb], gL[rb], 1);
      break;
    case 4:
    case 5:
      add64(aH, aL, gH[rb], gL[rb], ca);
      break;
    case 6:
    case 7:
      add64(aH, aL, 0xffffffff, 0xffffffff, ca);
      break;
    case 8:
    case 9:
      add64(aH, aL, 0, 0, ca);
      break;
    default:
      add64(aH, aL, 0, 0, 1);
  }
  gH[rt] = R_HI;
  gL[rt] = R_LO;
  if (sub >= 2 && sub !== 10) setXerCa(t, CARRY, CARRY32);
  if ((w >>> 10) & 1) setXerOv(t, OVF, OVF32);
  if (w & 1) setCr0(t, R_HI, R_LO);
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const I32_MIN = -(2n ** 31n);
const I32_MAX = 2n ** 31n - 1n;

function execMul(t: HwThread, sub: number, w: number, rt: number, ra: number, rb: number): void {
  const gH = t.gprHi;
  const gL = t.gprLo;
  let r: bigint;
  let ov = false;
  let ov32 = false;
  switch (sub) {
    case 0: {
      r = sbig(gH[ra], gL[ra]) * sbig(gH[rb], gL[rb]);
      ov = r < I64_MIN || r > I64_MAX;
      ov32 = ov;
      break;
    }
    case 1: {
      r = BigInt(gL[ra] | 0) * BigInt(gL[rb] | 0);
      ov = r < I32_MIN || r > I32_MAX;
      ov32 = ov;
      break;
    }
    case 2:
      r = (sbig(gH[ra], gL[ra]) * sbig(gH[rb], gL[rb])) >> 64n;
      break;
    case 3:
      r = (big(gH[ra], gL[ra]) * big(gH[rb], gL[rb])) >> 64n;
      break;
    case 4: {
      // high word of the 64-bit product; the ISA leaves RT[0:31] undefined: the model puts 0
      const p = (BigInt(gL[ra] | 0) * BigInt(gL[rb] | 0)) >> 32n;
      r = BigInt.asUintN(32, p);
      break;
    }
    default: {
      const p = (BigInt(gL[ra] >>> 0) * BigInt(gL[rb] >>> 0)) >> 32n;
      r = BigInt.asUintN(32, p);
    }
  }
  setGprBig(t, rt, r);
  if (sub < 2 && (w >>> 10) & 1) setXerOv(t, ov ? 1 : 0, ov32 ? 1 : 0);
  if (w & 1) setCr0(t, gH[rt], gL[rt]);
}

function execDiv(t: HwThread, sub: number, w: number, rt: number, ra: number, rb: number): void {
  const gH = t.gprHi;
  const gL = t.gprLo;
  const word = sub === 2 || sub === 3 || sub === 6 || sub === 7;
  const signed = (sub & 1) === 0;
  const extended = sub >= 4;
  let a: bigint;
  let b: bigint;
  if (word) {
    a = signed ? BigInt(gL[ra] | 0) : BigInt(gL[ra] >>> 0);
    b = signed ? BigInt(gL[rb] | 0) : BigInt(gL[rb] >>> 0);
    if (extended) a <<= 32n;
  } else {
    a = signed ? sbig(gH[ra], gL[ra]) : big(gH[ra], gL[ra]);
    b = signed ? sbig(gH[rb], gL[rb]) : big(gH[rb], gL[rb]);
    if (extended) a <<= 64n;
  }
  let q = 0n;
  let ov = b === 0n;
  if (!ov) {
    q = a / b;
    const bits = word ? 32 : 64;
    const lim = 1n << BigInt(bits - (signed ? 1 : 0));
    ov = signed ? q < -lim || q >= lim : q >= lim;
  }
  // an overflowing quotient is undefined: the model returns 0
  if (ov) q = 0n;
  if (word) setGprBig(t, rt, BigInt.asUintN(32, q));
  else setGprBig(t, rt, q);
  if ((w >>> 10) & 1) setXerOv(t, ov ? 1 : 0, ov ? 1 : 0);
  if (w & 1) setCr0(t, gH[rt], gL[rt]);
}

function shiftRightAlgebraicWord(t: HwThread, ra: number, v: number, n: number): void {
  const s = v | 0;
  let r: number;
  let ca: number;
  if (n < 32) {
    r = s >> n;
    ca = s < 0 && n > 0 && (v & ((1 << n) - 1)) !== 0 ? 1 : 0;
  } else {
    r = s < 0 ? -1 : 0;
    ca = s < 0 ? 1 : 0;
  }
  t.gprHi[ra] = r < 0 ? 0xffffffff : 0;
  t.gprLo[ra] = r >>> 0;
  setXerCa(t, ca, ca);
}

/** sld (0), srd (1), srad (2) of a 64-bit value by n (0..127). */
function shift64(t: HwThread, kind: number, ra: number, hi: number, lo: number, n: number): void {
  let rh: number;
  let rl: number;
  if (kind === 0) {
    if (n >= 64) {
      rh = 0;
      rl = 0;
    } else if (n >= 32) {
      rh = n === 32 ? lo : lo << (n - 32);
      rl = 0;
    } else if (n === 0) {
      rh = hi;
      rl = lo;
    } else {
      rh = (hi << n) | (lo >>> (32 - n));
      rl = lo << n;
    }
  } else if (kind === 1) {
    if (n >= 64) {
      rh = 0;
      rl = 0;
    } else if (n >= 32) {
      rh = 0;
      rl = n === 32 ? hi : hi >>> (n - 32);
    } else if (n === 0) {
      rh = hi;
      rl = lo;
    } else {
      rh = hi >>> n;
      rl = (lo >>> n) | (hi << (32 - n));
    }
  } else {
    const neg = (hi | 0) < 0;
    let lost: boolean;
    if (n >= 64) {
      rh = neg ? -1 : 0;
      rl = rh;
      lost = (hi | lo) !== 0;
    } else if (n >= 32) {
      rh = neg ? -1 : 0;
      rl = (hi | 0) >> (n - 32);
      lost = lo !== 0 || (n > 32 && (hi & ((1 << (n - 32)) - 1)) !== 0);
    } else if (n === 0) {
      rh = hi;
      rl = lo;
      lost = false;
    } else {
      rh = (hi | 0) >> n;
      rl = (lo >>> n) | (hi << (32 - n));
      lost = (lo & ((1 << n) - 1)) !== 0;
    }
    const ca = neg && lost ? 1 : 0;
    setXerCa(t, ca, ca);
  }
  t.gprHi[ra] = rh >>> 0;
  t.gprLo[ra] = rl >>> 0;
}

function execLoadStore(t: HwThread, id: number, w: number, rt: number, ra: number): ExecResult {
  const flags = FLAGS[id];
  if (flags & F_HVPRIV && (t.msrLo & MSRL_PR || !(t.msrHi & MSRH_HV))) return t.programPriv();
  const size = SIZE[id];
  effectiveAddress(t, w, flags);
  const store = CLASS[id] === C_STORE;
  const addr = access(t, size, store);
  if (addr < 0) return INTERRUPT;
  const brev = (flags & F_BREV) !== 0;
  if (store) {
    writeMem(t, addr, size, t.gprHi[rt], t.gprLo[rt], brev);
  } else {
    readMem(t, addr, size, brev);
    if (flags & F_SIGNED) signExtend(size);
    t.gprHi[rt] = V_HI;
    t.gprLo[rt] = V_LO;
  }
  if (flags & F_UPDATE) {
    t.gprHi[ra] = EA_HI;
    t.gprLo[ra] = EA_LO;
  }
  t.advance();
  return OK;
}

/** lq/stq and the load-and-reserve / store-conditional family. */
function execQuadAndReserve(t: HwThread, id: number, w: number, rt: number): ExecResult {
  const cls = CLASS[id];
  const size = SIZE[id];
  if (cls === C_LQ) {
    const ra = (w >>> 16) & 31;
    const d = ((w & 0xfff0) << 16) >> 16;
    const bH = ra === 0 ? 0 : t.gprHi[ra];
    const bL = ra === 0 ? 0 : t.gprLo[ra];
    add64(bH, bL, d < 0 ? 0xffffffff : 0, d >>> 0, 0);
    EA_HI = sf(t) ? R_HI : 0;
    EA_LO = R_LO;
  } else effectiveAddress(t, w, FLAGS[id]);
  // lq/stq, larx/stcx.: the access must be naturally aligned (Alignment interrupt otherwise)
  if (EA_LO & (size - 1)) return alignment(t);
  const store = cls === C_STQ || cls === C_STCX;
  const addr = access(t, size, store);
  if (addr < 0) return INTERRUPT;
  if (cls === C_STCX) {
    const ok = t.reservationSize > 0 && t.reservationAddr === addr && t.reservationSize === size;
    t.reservationSize = 0;
    if (ok) storeSized(t, addr, size, rt);
    setCrBits(t, 0, ok ? 2 : 0, true);
    t.advance();
    return OK;
  }
  if (store) storeSized(t, addr, size, rt);
  else {
    loadSized(t, addr, size, rt);
    if (cls === C_LARX) {
      t.reservationAddr = addr;
      t.reservationSize = size;
    }
  }
  t.advance();
  return OK;
}

function loadSized(t: HwThread, addr: number, size: number, rt: number): void {
  if (size === 16) {
    // a quadword is one 16-byte scalar: RTp gets its high half (at EA+8 in little-endian)
    const le = (t.msrLo & MSRL_LE) !== 0;
    readMem(t, le ? addr + 8 : addr, 8, false);
    t.gprHi[rt] = V_HI;
    t.gprLo[rt] = V_LO;
    readMem(t, le ? addr : addr + 8, 8, false);
    t.gprHi[(rt + 1) & 31] = V_HI;
    t.gprLo[(rt + 1) & 31] = V_LO;
    return;
  }
  readMem(t, addr, size, false);
  t.gprHi[rt] = V_HI;
  t.gprLo[rt] = V_LO;
}

function storeSized(t: HwThread, addr: number, size: number, rs: number): void {
  if (size === 16) {
    const le = (t.msrLo & MSRL_LE) !== 0;
    const r1 = (rs + 1) & 31;
    writeMem(t, le ? addr + 8 : addr, 8, t.gprHi[rs], t.gprLo[rs], false);
    writeMem(t, le ? addr : addr + 8, 8, t.gprHi[r1], t.gprLo[r1], false);
    return;
  }
  writeMem(t, addr, size, t.gprHi[rs], t.gprLo[rs], false);
}

/** lmw/stmw and the string instructions: big-endian mode only (Alignment interrupt in LE). */
function execMultiple(t: HwThread, id: number, w: number, rt: number): ExecResult {
  const cls = CLASS[id];
  const name = FORMS[id].name;
  const indexed = name === "lswx" || name === "stswx";
  if (cls === C_STRING && !indexed) {
    const ra = (w >>> 16) & 31;
    EA_HI = 0;
    EA_LO = 0;
    if (ra !== 0) {
      EA_HI = sf(t) ? t.gprHi[ra] : 0;
      EA_LO = t.gprLo[ra];
    }
  } else effectiveAddress(t, w, indexed ? F_INDEXED : 0);
  if (t.msrLo & MSRL_LE) return alignment(t);
  let n: number;
  if (cls === C_LMW || cls === C_STMW) n = (32 - rt) * 4;
  else if (indexed) n = t.sprLo[t.xerSlot] & 0x7f;
  else n = (w >>> 11) & 31 || 32;
  const store = cls === C_STMW || name.startsWith("st");
  const addr = access(t, Math.max(n, 1), store);
  if (addr < 0) return INTERRUPT;
  const mem = t.memory;
  if (mem === null) return INTERRUPT;
  let r = rt;
  for (let i = 0; i < n; i += 4) {
    const len = Math.min(4, n - i);
    if (store) {
      const v = t.gprLo[r];
      for (let k = 0; k < len; k++) mem.write8(addr + i + k, (v >>> (24 - 8 * k)) & 0xff);
    } else {
      let v = 0;
      for (let k = 0; k < len; k++) v |= mem.read8(addr + i + k) << (24 - 8 * k);
      t.gprHi[r] = 0;
      t.gprLo[r] = v >>> 0;
    }
    r = (r + 1) & 31;
  }
  if (store) t.storeObserved(addr, n);
  t.advance();
  return OK;
}

/** lwat/ldat/stwat/stdat: atomic memory operations with function code FC (bits 16:20). */
function execAtomic(t: HwThread, id: number, w: number, rt: number, ra: number, fc: number): ExecResult {
  const size = SIZE[id];
  const load = CLASS[id] === C_AMO_LOAD;
  EA_HI = ra === 0 ? 0 : sf(t) ? t.gprHi[ra] : 0;
  EA_LO = ra === 0 ? 0 : t.gprLo[ra];
  // function codes 0-7 (add, xor, or, and, max/min unsigned/signed) and 8 (swap, loads only)
  if (fc > (load ? 8 : 7)) return t.heai(w);
  if (EA_LO & (size - 1)) return alignment(t);
  const addr = access(t, size, true);
  if (addr < 0) return INTERRUPT;
  readMem(t, addr, size, false);
  const word = size === 4;
  const old = word ? BigInt(V_LO >>> 0) : big(V_HI, V_LO);
  const srcReg = load ? (rt + 1) & 31 : rt;
  const src = word ? BigInt(t.gprLo[srcReg] >>> 0) : big(t.gprHi[srcReg], t.gprLo[srcReg]);
  const bits = word ? 32 : 64;
  const sgn = (x: bigint): bigint => BigInt.asIntN(bits, x);
  let nv: bigint;
  switch (fc) {
    case 0:
      nv = old + src;
      break;
    case 1:
      nv = old ^ src;
      break;
    case 2:
      nv = old | src;
      break;
    case 3:
      nv = old & src;
      break;
    case 4:
      nv = old > src ? old : src;
      break;
    case 5:
      nv = sgn(old) > sgn(src) ? old : src;
      break;
    case 6:
      nv = old < src ? old : src;
      break;
    case 7:
      nv = sgn(old) < sgn(src) ? old : src;
      break;
    default:
      nv = src;
  }
  nv = BigInt.asUintN(bits, nv);
  writeMem(t, addr, size, Number(nv >> 32n), Number(nv & 0xffffffffn), false);
  if (load) setGprBig(t, rt, old);
  t.advance();
  return OK;
}

/** scv LEV: System Call Vectored (FSCR[SCV] enables it): LR = NIA, CTR = MSR, vector 0x17000 + 0x20*LEV. */
function execScv(t: HwThread, w: number): ExecResult {
  if (!(t.sprLo[t.fscrSlot] & (1 << FSCR_SCV_LG))) return t.facUnavail(FSCR_SCV_LG);
  const lev = (w >>> 5) & 0x7f;
  t.setLrToNext();
  t.sprHi[t.ctrSlot] = t.msrHi;
  t.sprLo[t.ctrSlot] = t.msrLo;
  t.vectoredSystemCall(0x17000 + 0x20 * lev);
  return INTERRUPT;
}

export function cmpNum(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Signed comparison of two 64-bit values held in halves: -1, 0 or 1. */
export function cmpS64(aH: number, aL: number, bH: number, bL: number): number {
  const ah = aH | 0;
  const bh = bH | 0;
  if (ah !== bh) return ah < bh ? -1 : 1;
  return cmpNum(aL >>> 0, bL >>> 0);
}

function cmpU64(aH: number, aL: number, bH: number, bL: number): number {
  if (aH >>> 0 !== bH >>> 0) return aH >>> 0 < bH >>> 0 ? -1 : 1;
  return cmpNum(aL >>> 0, bL >>> 0);
}
