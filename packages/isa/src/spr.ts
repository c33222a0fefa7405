// qemu: target/ppc/translate.c gen_mfspr/gen_mtspr and target/ppc/misc_helper.c: mfspr/mtspr
// privilege and facility checks (Power ISA v3.0B Book III) and each SPR's read and write semantics.

import { armDecrementer, decValue, rawTb, writeDec } from "./decrementer.js";
import { facUnavail, heai, hFacUnavail, programPriv } from "./excp.js";
import {
  LPCRL_LD,
  MSRH_HV,
  MSRL_PR,
  PSSCRH_PLS,
  PSSCRL_GUEST_VIS,
  PSSCRL_HV_WRITABLE,
  TWO32,
} from "./halves.js";
import { S_AMOR, S_BESCR, S_CTRL, S_FSCR, S_HFSCR, S_PPR, S_UAMOR, SPR_STORE } from "./spr-store.js";
import {
  ACC_HV,
  ACC_UNDEFINED,
  ACC_USER,
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
  SPR_FACILITY,
  SPR_IS32,
  SPR_KIND,
  SPR_READ,
  SPR_WRITE,
  type SprInfo,
  sprInfo,
} from "./sprs.js";
import type { ExecResult, HwThread } from "./thread.js";
import { EXEC_OK, SprAccessError, UnknownSprError } from "./thread.js";

export const MODE_HV = 0;
export const MODE_OS = 1;
export const MODE_USER = 2;

export const PRIO_HINT: Record<number, number> = { 31: 1, 1: 2, 6: 3, 2: 4, 5: 5, 3: 6, 7: 7 };

export function execMfspr(t: HwThread, w: number): ExecResult {
  const rt = (w >>> 21) & 31;
  const n = ((w >>> 16) & 31) | (((w >>> 11) & 31) << 5);
  const acc = SPR_READ[n];
  const r = checkSprAccess(t, acc, n, w, false);
  if (r >= 0) return r as ExecResult;
  if (acc === ACC_UNDEFINED) {
    t.advance();
    return EXEC_OK;
  }
  readSprHalves(t, n);
  t.gprHi[rt] = t.rdHi;
  t.gprLo[rt] = t.rdLo;
  t.advance();
  return EXEC_OK;
}

export function execMtspr(t: HwThread, w: number): ExecResult {
  const rs = (w >>> 21) & 31;
  const n = ((w >>> 16) & 31) | (((w >>> 11) & 31) << 5);
  const acc = SPR_WRITE[n];
  const r = checkSprAccess(t, acc, n, w, true);
  if (r >= 0) return r as ExecResult;
  if (acc !== ACC_UNDEFINED) writeSprHalves(t, n, t.gprHi[rs], t.gprLo[rs], mode(t));
  t.advance();
  return EXEC_OK;
}

/**
 * Privilege and facility checks of mfspr (`write` false) and mtspr (ISA v3.0B Book III, Move
 * To/From SPR). Returns -1 when the access proceeds (for an undefined SPR: as a no-op), or the
 * result of the interrupt taken.
 */
export function checkSprAccess(t: HwThread, acc: number, n: number, w: number, write: boolean): number {
  const pr = (t.msrLo & MSRL_PR) !== 0;
  const hv = (t.msrHi & MSRH_HV) !== 0;
  if (acc === ACC_UNDEFINED) {
    // Undefined SPR: spr0=1 -> privileged program interrupt in problem state, else no-op;
    // spr0=0 -> HEAI in problem state and always for SPR 0 (and for mfspr, SPRs 4, 5, 6), else
    // no-op (qemu: target/ppc/translate.c gen_op_mfspr `sprn == 0 || sprn == 4 || sprn == 5 ||
    // sprn == 6`, gen_mtspr `sprn == 0`)
    if (n & 0x10) return pr ? programPriv(t) : -1;
    if (pr || n === 0 || (!write && (n === 4 || n === 5 || n === 6))) return heai(t, w);
    return -1;
  }
  if (pr && acc !== ACC_USER) return programPriv(t);
  // Hypervisor resource in privileged non-hypervisor state: Privileged Instruction type
  // Program interrupt (v3.0B; the LPCR[EVIRT] HEAI alternative arrived with v3.1).
  if (!hv && acc === ACC_HV) return programPriv(t);
  const fac = SPR_FACILITY[n];
  if (fac !== 0) {
    const bit = fac - 1;
    if (!hv && !(t.sprLo[S_HFSCR] & (1 << bit))) return hFacUnavail(t, bit);
    if (pr && !(t.sprLo[S_FSCR] & (1 << bit))) return facUnavail(t, bit);
  }
  return -1;
}

/** Reads SPR `n` into rdHi/rdLo. */
export function readSprHalves(t: HwThread, n: number): void {
  const c = SPR_STORE[n];
  let hi = t.sprHi[c];
  let lo = t.sprLo[c];
  switch (SPR_KIND[n]) {
    case K_PLAIN:
      break;
    case K_DEC:
    case K_HDEC: {
      const v = decValue(t, SPR_KIND[n] === K_HDEC);
      hi = Math.floor(v / TWO32) >>> 0;
      lo = v >>> 0;
      break;
    }
    case K_TB: {
      const tb = rawTb(t) + t.tbOffset;
      hi = Math.floor(tb / TWO32) >>> 0;
      lo = tb >>> 0;
      break;
    }
    case K_TBU: {
      const tb = rawTb(t) + t.tbOffset;
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
      lo = t.chip.pvr >>> 0;
      break;
    case K_PIR:
      hi = 0;
      lo = t.pir >>> 0;
      break;
    case K_TIR:
      hi = 0;
      lo = t.index;
      break;
    case K_DPDES:
    case K_DHDES: {
      hi = 0;
      lo = 0;
      const threads = t.core?.threads ?? [t];
      for (let i = 0; i < threads.length; i++) {
        const sib = threads[i];
        if (SPR_KIND[n] === K_DPDES ? sib.pDoorbell : sib.hDoorbell) lo |= 1 << sib.index;
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
  t.rdHi = hi >>> 0;
  t.rdLo = lo >>> 0;
}

/** Writes SPR `n` with the semantics of privilege `mode` (MODE_HV, MODE_OS, MODE_USER). */
export function writeSprHalves(t: HwThread, n: number, hi: number, lo: number, mode: number): void {
  const c = SPR_STORE[n];
  if (SPR_IS32[n]) hi = 0;
  const sH = t.sprHi;
  const sL = t.sprLo;
  switch (SPR_KIND[n]) {
    case K_PLAIN:
      sH[c] = hi;
      sL[c] = lo;
      return;
    case K_DEC:
      writeDec(t, false, hi, lo);
      return;
    case K_HDEC:
      writeDec(t, true, hi, lo);
      return;
    case K_LPCR: {
      // only LPCR[LD] (the decrementers' width) moves their next edges: a hypervisor writes
      // LPCR on every guest entry and exit, mostly with LD unchanged
      const widthChanged = ((sL[c] ^ lo) & LPCRL_LD) !== 0;
      sH[c] = hi;
      sL[c] = lo;
      if (widthChanged) {
        armDecrementer(t, false);
        armDecrementer(t, true);
      }
      t.needCheck = true;
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
      const raw = rawTb(t);
      const tb = raw + t.tbOffset;
      const tbHi = Math.floor(tb / TWO32);
      const tbLo = tb - tbHi * TWO32;
      let nt: number;
      if (SPR_KIND[n] === K_TBWL) nt = tbHi * TWO32 + (lo >>> 0);
      else if (SPR_KIND[n] === K_TBWU) nt = (lo >>> 0) * TWO32 + tbLo;
      else nt = (hi >>> 0) * TWO32 + ((lo & 0xff000000) >>> 0) + (tbLo & 0xffffff);
      t.tbOffset = nt - raw;
      return;
    }
    case K_DPDES:
    case K_DHDES: {
      const threads = t.core?.threads ?? [t];
      for (let i = 0; i < threads.length; i++) {
        const sib = threads[i];
        const on = ((lo >>> sib.index) & 1) !== 0;
        if (SPR_KIND[n] === K_DPDES) {
          if (on && !sib.pDoorbell) {
            if (sib === t) {
              sib.pDoorbell = true;
              t.needCheck = true;
            } else sib.receivePrivilegedDoorbell();
          } else if (!on) sib.pDoorbell = false;
        } else if (on && !sib.hDoorbell) {
          if (sib === t) {
            sib.hDoorbell = true;
            t.needCheck = true;
          } else sib.receiveHypervisorDoorbell();
        } else if (!on) sib.hDoorbell = false;
      }
      return;
    }
    case K_PPR:
      setPriorityIfAllowed(t, (hi >>> 18) & 7, mode);
      return;
    case K_PPR32:
      setPriorityIfAllowed(t, (lo >>> 18) & 7, mode);
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

export function mode(t: HwThread): number {
  return t.msrLo & MSRL_PR ? MODE_USER : t.msrHi & MSRH_HV ? MODE_HV : MODE_OS;
}

/**
 * Sets PPR[PRI] if the privilege allows it (problem state: low..medium (2-4); privileged:
 * very low..high (1-6); hypervisor: 1-7); otherwise PPR is unchanged.
 */
export function setPriorityIfAllowed(t: HwThread, p: number, mode: number): void {
  const ok = mode === MODE_USER ? p >= 2 && p <= 4 : mode === MODE_OS ? p >= 1 && p <= 6 : p >= 1 && p <= 7;
  if (!ok) return;
  if (((t.sprHi[S_PPR] >>> 18) & 7) === p) return;
  t.sprHi[S_PPR] = (p << 18) >>> 0;
  t.sprLo[S_PPR] = 0;
  t.core?.notifyChange();
}

/** `or Rx,Rx,Rx`: the program priority hint for Rx (PPR), if the privilege allows it. */
export function priorityHint(t: HwThread, rx: number): void {
  const p = PRIO_HINT[rx];
  if (p !== undefined) setPriorityIfAllowed(t, p, mode(t));
}

/** The table entry of an SPR the API may read (mfspr in hypervisor state); throws otherwise. */
export function readableSpr(t: HwThread, spr: number): SprInfo {
  const info = sprInfo(spr);
  if (info === undefined) throw unknownSpr(t, spr);
  if (info.read === ACC_UNDEFINED) {
    throw new SprAccessError(`SPR ${spr} (${info.name}) is write-only: it cannot be read`);
  }
  return info;
}

/** The table entry of an SPR the API may write (mtspr in hypervisor state); throws otherwise. */
export function writableSpr(t: HwThread, spr: number): SprInfo {
  const info = sprInfo(spr);
  if (info === undefined) throw unknownSpr(t, spr);
  if (info.write === ACC_UNDEFINED) {
    throw new SprAccessError(`SPR ${spr} (${info.name}) is read-only: it cannot be written`);
  }
  return info;
}

export function unknownSpr(_t: HwThread, spr: number): UnknownSprError {
  return new UnknownSprError(
    `SPR ${String(spr)} is not implemented by the POWER9 model; see implementedSprs() for the SPRs it has`,
  );
}
