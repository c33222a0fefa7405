// qemu: target/ppc/translate/fixedpoint-impl.c.inc and translate.c (gen_add*, gen_mul*, gen_div*,
// gen_cmp*, gen_rl*, gen_s*, gen_tw/gen_td): fixed-point arithmetic, compare, logical, rotate,
// shift and trap instructions (Power ISA v3.0B Book I chapter 3).

import { heai, interruptSrr } from "../excp.js";
import { FORMS } from "../opcodes.js";
import { priorityHint } from "../spr.js";
import type { ExecResult, HwThread } from "../thread.js";
import {
  C_ADDEX,
  C_ADDI,
  C_ADDIC,
  C_ADDIS,
  C_ADDPCIS,
  C_BPERMD,
  C_CMP,
  C_CMPB,
  C_CMPEQB,
  C_CMPRB,
  C_COUNT,
  C_DIV,
  C_EXTS,
  C_EXTSWSLI,
  C_ISEL,
  C_LOGIC,
  C_LOGIC_IMM,
  C_MADD,
  C_MCRXRX,
  C_MOD,
  C_MUL,
  C_MULLI,
  C_POPCNT,
  C_PRTY,
  C_RLD,
  C_RLW,
  C_SETB,
  C_SHIFT,
  C_SRADI,
  C_SRAWI,
  C_SUBFIC,
  C_TRAP,
  C_XO_ADD,
  CLASS,
  F_INDEXED,
  FLAGS,
  SIZE,
  SUB,
} from "./decode.js";
import {
  add64,
  big,
  CARRY,
  CARRY32,
  cmpNum,
  cmpS64,
  cmpU64,
  INTERRUPT,
  OK,
  R_HI,
  R_LO,
  rotl64,
  sbig,
  setCr0,
  setCrBits,
  setGprBig,
  setXerCaOfAdd,
  setXerOv,
  setXerOvOfAdd,
  XER_CA,
  XER_CA32,
  XER_OV,
  XER_OV32,
  xerCa,
} from "./helpers.js";
import { M_HI, M_LO, mask64, rotl32, shift64, shiftRightAlgebraicWord } from "./rotate.js";

export const SRR1_PROGTRAP_LO = 0x00020000;
export const VEC_ALIGNMENT = 0x600;
export const VEC_PROGRAM = 0x700;

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function ctz32(x: number): number {
  if (x === 0) return 32;
  return 31 - Math.clz32(x & -x);
}

/** Executes a fixed-point instruction (classes C_ADDI..C_TRAP). */
export function execFixedPoint(t: HwThread, id: number, w: number): ExecResult {
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
      setXerCaOfAdd(t);
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
      if (((w >>> 9) & 3) !== 0) return heai(t, w);
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
        priorityHint(t, rt);
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
        interruptSrr(t, VEC_PROGRAM, t.pcHi, t.pcLo, SRR1_PROGTRAP_LO, false);
        return INTERRUPT;
      }
      break;
    }
    default:
      return heai(t, w);
  }
  t.advance();
  return OK;
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
  if (sub >= 2 && sub !== 10) setXerCaOfAdd(t);
  if ((w >>> 10) & 1) setXerOvOfAdd(t);
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
