// qemu: target/ppc/excp_helper.c p9_next_unmasked_interrupt and ppc_cpu_exec_interrupt: which
// pending asynchronous interrupt is taken, in priority order, and when it becomes deliverable.

import { decValue } from "./decrementer.js";
import { flushNotify, interruptHsrr, interruptSrr } from "./excp.js";
import { LPCRL_HDICE, LPCRL_HVICE, LPCRL_LPES0, MSRH_HV, MSRL_EE } from "./halves.js";
import { tryWake } from "./powersave.js";
import {
  BOOK3S_INTERRUPT_DECREMENTER,
  BOOK3S_INTERRUPT_DOORBELL,
  BOOK3S_INTERRUPT_EXTERNAL,
  BOOK3S_INTERRUPT_H_DOORBELL,
  BOOK3S_INTERRUPT_H_VIRT,
  BOOK3S_INTERRUPT_HV_DECREMENTER,
} from "./registers.js";
import { S_LPCR } from "./spr-store.js";
import type { HwThread } from "./thread.js";

// Asynchronous sources, in priority order (highest first)
export const SRC_NONE = 0;
export const SRC_EXT_HV = 1;
export const SRC_HDEC = 2;
export const SRC_HVI = 3;
export const SRC_HDBELL = 4;
export const SRC_EXT_OS = 5;
export const SRC_DEC = 6;
export const SRC_DBELL = 7;

/** The highest-priority asynchronous source that is pending, optionally only if enabled. */
export function pendingSource(t: HwThread, onlyEnabled: boolean): number {
  const hv = (t.msrHi & MSRH_HV) !== 0;
  const ee = (t.msrLo & MSRL_EE) !== 0;
  const lpcr = t.sprLo[S_LPCR];
  const hvOk = !onlyEnabled || !hv || ee;
  if (hvOk) {
    if (t.externalLevel && (lpcr & LPCRL_LPES0) === 0) return SRC_EXT_HV;
    if (lpcr & LPCRL_HDICE && decValue(t, true) < 0) return SRC_HDEC;
    if (t.hviLevel && lpcr & LPCRL_HVICE) return SRC_HVI;
    if (t.hDoorbell) return SRC_HDBELL;
  }
  if (!onlyEnabled || ee) {
    if (t.externalLevel && lpcr & LPCRL_LPES0) return SRC_EXT_OS;
    if (decValue(t, false) < 0) return SRC_DEC;
    if (t.pDoorbell) return SRC_DBELL;
  }
  return SRC_NONE;
}

/** Takes the highest-priority enabled asynchronous interrupt, if any; true when taken. */
export function checkAsync(t: HwThread): boolean {
  t.needCheck = false;
  const src = pendingSource(t, true);
  if (src === SRC_NONE) return false;
  const h = t.pcHi;
  const l = t.pcLo;
  switch (src) {
    case SRC_EXT_HV:
      interruptHsrr(t, BOOK3S_INTERRUPT_EXTERNAL, h, l, 0);
      break;
    case SRC_HDEC:
      interruptHsrr(t, BOOK3S_INTERRUPT_HV_DECREMENTER, h, l, 0);
      break;
    case SRC_HVI:
      interruptHsrr(t, BOOK3S_INTERRUPT_H_VIRT, h, l, 0);
      break;
    case SRC_HDBELL:
      t.hDoorbell = false;
      interruptHsrr(t, BOOK3S_INTERRUPT_H_DOORBELL, h, l, 0);
      break;
    case SRC_EXT_OS:
      interruptSrr(t, BOOK3S_INTERRUPT_EXTERNAL, h, l, 0, false);
      break;
    case SRC_DEC:
      interruptSrr(t, BOOK3S_INTERRUPT_DECREMENTER, h, l, 0, false);
      break;
    default:
      t.pDoorbell = false;
      interruptSrr(t, BOOK3S_INTERRUPT_DOORBELL, h, l, 0, false);
      break;
  }
  flushNotify(t);
  return true;
}

/** An interrupt source changed: wake a stopped thread or take the interrupt now. */
export function eventArrived(t: HwThread): void {
  if (t.stop !== null) {
    tryWake(t);
    return;
  }
  t.needCheck = true;
  if (!t.executing) checkAsync(t);
}
