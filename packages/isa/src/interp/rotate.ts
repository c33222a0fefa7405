// qemu: target/ppc/translate.c gen_rlwinm/gen_rlwimi/gen_rld* (MASK), gen_sraw/gen_srawi, gen_sld,
// gen_srd, gen_srad: the 64-bit masks, rotates and shifts of the fixed-point rotate and shift
// instructions (Power ISA v3.0B Book I 3.3.14), on halves.

import type { HwThread } from "../thread.js";
import { setXerCa } from "./helpers.js";

/** 64-bit mask with ones from IBM bit mb through me (wrapping when mb > me): M_HI/M_LO. */
export let M_HI = 0;
export let M_LO = 0;
export function mask64(mb: number, me: number): void {
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

export function rotl32(x: number, n: number): number {
  n &= 31;
  return n === 0 ? x >>> 0 : ((x << n) | (x >>> (32 - n))) >>> 0;
}

export function shiftRightAlgebraicWord(t: HwThread, ra: number, v: number, n: number): void {
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
export function shift64(t: HwThread, kind: number, ra: number, hi: number, lo: number, n: number): void {
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
