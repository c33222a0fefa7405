// qemu: target/ppc/translate/branch-impl.c.inc and translate.c (gen_b, gen_bcond, gen_crand ...,
// gen_mcrf, gen_mfocrf, gen_mtcrf): branch and condition-register instructions (Book I chapter 2).

import { heai } from "../excp.js";
import { TWO32 } from "../halves.js";
import { S_CTR, S_LR } from "../spr-store.js";
import type { ExecResult, HwThread } from "../thread.js";
import { C_B, C_BC, C_BCREG, C_CRLOGIC, C_MCRF, C_MFOCRF, C_MTCRF, CLASS, SUB } from "./decode.js";
import { branchTo, facility, OK, setCrBits, sf } from "./helpers.js";

const FSCR_TAR_LG = 8;

/** Executes a branch or condition-register instruction (classes C_B..C_MTCRF). */
export function execBranch(t: HwThread, id: number, w: number): ExecResult {
  const gH = t.gprHi;
  const gL = t.gprLo;
  const rt = (w >>> 21) & 31;
  const ra = (w >>> 16) & 31;
  const rb = (w >>> 11) & 31;
  switch (CLASS[id]) {
    case C_B: {
      const disp = ((w & 0x03fffffc) << 6) >> 6;
      if (w & 1) setLrToNext(t);
      if (w & 2) setPcAbs(t, disp);
      else addPc(t, disp);
      return OK;
    }
    case C_BC: {
      const disp = ((w & 0xfffc) << 16) >> 16;
      const taken = branchCondition(t, rt, ra, true);
      if (w & 1) setLrToNext(t);
      if (!taken) t.advance();
      else if (w & 2) setPcAbs(t, disp);
      else addPc(t, disp);
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
      const taken = branchCondition(t, rt, ra, sub !== 1);
      if (w & 1) setLrToNext(t);
      if (taken) branchTo(t, tH, tL);
      else t.advance();
      return OK;
    }
    case C_CRLOGIC: {
      const a = (t.cr >>> (31 - ra)) & 1;
      const b = (t.cr >>> (31 - rb)) & 1;
      // SUB holds the truth table with op(a, b) at bit (a << 1) | b (src/interp/decode.ts)
      const bit = (SUB[id] >>> ((a << 1) | b)) & 1;
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
    default:
      return heai(t, w);
  }
  t.advance();
  return OK;
}

// In 32-bit mode (MSR[SF] = 0) a branch's target and the address bl puts in LR have a high word
// of 0 (Book I 2.4; qemu: target/ppc/translate.c gen_b and gen_setlr, NARROW_MODE).

export function addPc(t: HwThread, disp: number): void {
  const lo = t.pcLo + disp;
  if (!sf(t)) t.pcHi = 0;
  else if (lo >= TWO32) t.pcHi = (t.pcHi + 1) >>> 0;
  else if (lo < 0) t.pcHi = (t.pcHi - 1) >>> 0;
  t.pcLo = lo >>> 0;
}

export function setPcAbs(t: HwThread, disp: number): void {
  t.pcHi = disp < 0 && sf(t) ? 0xffffffff : 0;
  t.pcLo = disp >>> 0;
}

export function setLrToNext(t: HwThread): void {
  const lo = (t.pcLo + 4) >>> 0;
  t.sprHi[S_LR] = !sf(t) ? 0 : lo < 4 ? (t.pcHi + 1) >>> 0 : t.pcHi;
  t.sprLo[S_LR] = lo;
}

export function branchCondition(t: HwThread, bo: number, bi: number, mayUseCtr: boolean): boolean {
  let ctrOk = true;
  if ((bo & 4) === 0 && mayUseCtr) {
    const lo = (t.sprLo[S_CTR] - 1) >>> 0;
    if (lo === 0xffffffff) t.sprHi[S_CTR] = (t.sprHi[S_CTR] - 1) >>> 0;
    t.sprLo[S_CTR] = lo;
    const nonZero = (t.sprHi[S_CTR] | t.sprLo[S_CTR]) !== 0;
    ctrOk = nonZero !== ((bo & 2) !== 0);
  }
  const condOk = (bo & 16) !== 0 || ((t.cr >>> (31 - bi)) & 1) === ((bo >>> 3) & 1);
  return ctrOk && condOk;
}
