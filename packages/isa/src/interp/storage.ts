// qemu: target/ppc/translate/storage-impl.c.inc, translate.c (gen_lmw, gen_lswi, gen_larx,
// gen_stcx_, gen_ld_atomic, gen_dcbz, gen_copy/paste) and mem_helper.c: loads, stores, reservations,
// load/store multiple and string, atomic memory operations, dcbz and copy/paste (real addressing).

import { heai, interruptSrr, programPriv, storageFault } from "../excp.js";
import { MSRH_HV, MSRL_LE, MSRL_PR } from "../halves.js";
import { FORMS } from "../opcodes.js";
import type { ExecResult, HwThread } from "../thread.js";
import {
  C_AMO_LOAD,
  C_AMO_STORE,
  C_COPY,
  C_CPABORT,
  C_DCBZ,
  C_LARX,
  C_LMW,
  C_LOAD,
  C_LQ,
  C_PASTE,
  C_STCX,
  C_STMW,
  C_STORE,
  C_STQ,
  C_STRING,
  CLASS,
  F_BREV,
  F_DS,
  F_HVPRIV,
  F_INDEXED,
  F_SIGNED,
  F_UPDATE,
  FLAGS,
  SIZE,
} from "./decode.js";
import { add64, big, INTERRUPT, OK, R_HI, R_LO, setCrBits, setGprBig, sf } from "./helpers.js";

const VEC_ALIGNMENT = 0x600;

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
  interruptSrr(t, VEC_ALIGNMENT, t.pcHi, t.pcLo, 0, false);
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
  storeObserved(t, addr, size);
}

/** Checks the access and returns its real address, or -1 after taking the storage interrupt. */
function access(t: HwThread, size: number, store: boolean): number {
  const addr = t.realAddress(EA_HI, EA_LO);
  const mem = t.memory;
  if (mem === null || !mem.contains(addr, size)) {
    storageFault(t, EA_HI, EA_LO, store);
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

/** Executes a storage access or cache-management instruction (classes C_LOAD..C_CPABORT). */
export function execStorage(t: HwThread, id: number, w: number): ExecResult {
  const rt = (w >>> 21) & 31;
  const ra = (w >>> 16) & 31;
  const rb = (w >>> 11) & 31;
  switch (CLASS[id]) {
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
    case C_DCBZ: {
      effectiveAddress(t, w, F_INDEXED);
      EA_LO = (EA_LO & ~127) >>> 0;
      const addr = access(t, 128, true);
      if (addr < 0) return INTERRUPT;
      for (let i = 0; i < 128; i += 4) t.memory?.write32(addr + i, 0, true);
      storeObserved(t, addr, 128);
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
        storeObserved(t, addr, 128);
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
    default:
      return heai(t, w);
  }
  t.advance();
  return OK;
}

function execLoadStore(t: HwThread, id: number, w: number, rt: number, ra: number): ExecResult {
  const flags = FLAGS[id];
  if (flags & F_HVPRIV && (t.msrLo & MSRL_PR || !(t.msrHi & MSRH_HV))) return programPriv(t);
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
  if (store) storeObserved(t, addr, n);
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
  if (fc > (load ? 8 : 7)) return heai(t, w);
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

/**
 * A store to [addr, addr+size) by t thread: a sibling thread's reservation on
 * that storage is lost (Book II 4.4.2: a store by another processor clears the reservation).
 */
export function storeObserved(t: HwThread, addr: number, size: number): void {
  const core = t.core;
  if (core === null) return;
  for (const sib of core.threads) {
    if (sib === t || sib.reservationSize === 0 || sib.memory !== t.memory) continue;
    if (addr < sib.reservationAddr + sib.reservationSize && sib.reservationAddr < addr + size)
      sib.reservationSize = 0;
  }
}
