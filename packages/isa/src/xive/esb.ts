// Event State Buffers: the PQ state machine of each interrupt source and its ESB pages.
// qemu: hw/intc/xive.c (xive_esb_trigger, xive_esb_eoi, xive_source_esb_read/_write);
// linux: arch/powerpc/sysdev/xive/common.c (xive_do_source_eoi, xive_do_source_set_mask).
import {
  XIVE_ESB_GET,
  XIVE_ESB_OFF,
  XIVE_ESB_PENDING,
  XIVE_ESB_QUEUED,
  XIVE_ESB_RESET,
  XIVE_ESB_SET_PQ_00,
  XIVE_ESB_STORE_EOI,
} from "./regs.js";

/** Result of an event or an EOI on a PQ pair: the new PQ, and whether an event is forwarded. */
export interface PqTransition {
  readonly pq: number;
  readonly notify: boolean;
}

/**
 * An event on a source (a store to its trigger page, or its line firing): 00 -> 10 forwards it;
 * 10 and 11 -> 11 (coalesced: one more is owed after the EOI); 01 (off) stays off.
 */
export function esbTrigger(pq: number): PqTransition {
  switch (pq & 3) {
    case XIVE_ESB_RESET:
      return { pq: XIVE_ESB_PENDING, notify: true };
    case XIVE_ESB_PENDING:
    case XIVE_ESB_QUEUED:
      return { pq: XIVE_ESB_QUEUED, notify: false };
    default:
      return { pq: XIVE_ESB_OFF, notify: false };
  }
}

/** The EOI cycle: 00/10 -> 00; 11 -> 10 and the coalesced event is forwarded; 01 stays off. */
export function esbEoi(pq: number): PqTransition {
  switch (pq & 3) {
    case XIVE_ESB_RESET:
    case XIVE_ESB_PENDING:
      return { pq: XIVE_ESB_RESET, notify: false };
    case XIVE_ESB_QUEUED:
      return { pq: XIVE_ESB_PENDING, notify: true };
    default:
      return { pq: XIVE_ESB_OFF, notify: false };
  }
}

/** Raised for an ESB access the hardware does not define (the fix is in the message). */
export class XiveError extends RangeError {
  override readonly name = "XiveError";
}

/**
 * The ESB management page of one source: a load at `offset` (0..0xfff) returns what the hardware
 * returns and changes PQ as it does. `pq` is the current state; the result carries the new one,
 * the value loaded and whether an event is forwarded for routing.
 *   0x000-0x7ff  EOI, returns 1 when an event was forwarded (Q was set)
 *   0x800-0xbff  returns PQ
 *   0xc00/0xd00/0xe00/0xf00 (+0xff)  returns PQ, sets PQ to 00/01/10/11
 */
export function esbLoad(pq: number, offset: number): PqTransition & { readonly value: number } {
  const off = offset & 0xfff;
  if (off < XIVE_ESB_GET) {
    const t = esbEoi(pq);
    return { ...t, value: t.notify ? 1 : 0 };
  }
  if (off < XIVE_ESB_SET_PQ_00) return { pq: pq & 3, notify: false, value: pq & 3 };
  return { pq: (off >> 8) & 3, notify: false, value: pq & 3 };
}

/**
 * A store to the ESB management page (a one-page source, or the management page of two): 0x000-0x3ff
 * triggers, 0x400-0x7ff is the store EOI (only where the source has the store-EOI facility),
 * 0xc00-0xfff sets PQ. Other offsets are undefined.
 */
export function esbStore(pq: number, offset: number, storeEoi: boolean): PqTransition {
  const off = offset & 0xfff;
  if (off < XIVE_ESB_STORE_EOI) return esbTrigger(pq);
  if (off < XIVE_ESB_GET) {
    if (!storeEoi) {
      throw new XiveError(
        `ESB store EOI at offset 0x${off.toString(16)} on a source without the store-EOI facility: EOI with a load (XIVE_ESB_LOAD_EOI or XIVE_ESB_SET_PQ_00)`,
      );
    }
    return esbEoi(pq);
  }
  if (off < XIVE_ESB_SET_PQ_00) {
    throw new XiveError(
      `ESB store at offset 0x${off.toString(16)} is undefined: stores go to 0x000 (trigger), 0x400 (EOI) or 0xc00-0xfff (set PQ)`,
    );
  }
  return { pq: (off >> 8) & 3, notify: false };
}
