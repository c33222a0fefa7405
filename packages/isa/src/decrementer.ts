// qemu: hw/ppc/ppc.c cpu_ppc_store_decr, cpu_ppc_decr_cb and the hdecr twins: DEC (0x900) and
// HDEC (0x980) driven by the timebase (engine time, 512 MHz), 32-bit or LPCR[LD] large.

import { nsToTb, tbToNs } from "@stopsim/engine";
import { eventArrived } from "./excp-pending.js";
import { LPCRL_LD, MAX_EXACT, TWO32 } from "./halves.js";
import { S_LPCR } from "./spr-store.js";
import type { HwThread } from "./thread.js";

/** 2^56, the modulus of the large decrementer. */
const TWO56 = 2 ** 56;

export function rawTb(t: HwThread): number {
  return nsToTb(t.sim.now);
}

export function decWidth(t: HwThread): number {
  return t.sprLo[S_LPCR] & LPCRL_LD ? 56 : 32;
}

/** Signed value of DEC (or HDEC) now. */
export function decValue(t: HwThread, hdec: boolean): number {
  const half = t.sprLo[S_LPCR] & LPCRL_LD ? 2 ** 55 : 2 ** 31;
  const d = (hdec ? t.hdecZeroTb : t.decZeroTb) - rawTb(t);
  if (d >= -half && d < half) return d;
  // wrapped around (only reachable with the 32-bit decrementer: |d| < 2^53 < 2^55)
  const m = 2 * half;
  let v = d % m;
  if (v < 0) v += m;
  if (v >= half) v -= m;
  return v;
}

export function writeDec(t: HwThread, hdec: boolean, hi: number, lo: number): void {
  let v: number;
  if (decWidth(t) === 32) v = lo | 0;
  else {
    // 56-bit large decrementer: values beyond +-(2^53 - 1) ticks (204 days) are clamped to
    // what a double holds exactly (model limitation, see README)
    v = ((hi << 8) >> 8) * TWO32 + (lo >>> 0);
    if (v > MAX_EXACT) v = MAX_EXACT;
    else if (v < -MAX_EXACT) v = -MAX_EXACT;
  }
  if (hdec) t.hdecZeroTb = rawTb(t) + v;
  else t.decZeroTb = rawTb(t) + v;
  armDecrementer(t, hdec);
  t.needCheck = true;
}

/** Arms the timer for the next time the decrementer turns negative (0 -> -1). */
export function armDecrementer(t: HwThread, hdec: boolean): void {
  const timer = hdec ? t.hdecTimer : t.decTimer;
  // the decrementer's modulus (2 ** decWidth(t), without Math.pow on this hot path)
  const m = t.sprLo[S_LPCR] & LPCRL_LD ? TWO56 : TWO32;
  const now = rawTb(t);
  let edge = (hdec ? t.hdecZeroTb : t.decZeroTb) + 1;
  if (edge <= now) edge += Math.ceil((now + 1 - edge) / m) * m;
  if (edge > 2 ** 52) {
    timer.cancel();
    return;
  }
  timer.arm(Math.max(t.sim.now, tbToNs(edge)));
}

export function onDecEdge(t: HwThread, hdec: boolean): void {
  armDecrementer(t, hdec);
  if (decValue(t, hdec) < 0) eventArrived(t);
}
