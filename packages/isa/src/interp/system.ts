// qemu: target/ppc/translate.c gen_sc, gen_mfcr, gen_mfmsr, gen_mtmsrd, gen_rfid, gen_stop,
// gen_msgsnd/msgclr(p), gen_slb*, gen_darn, gen_scv, gen_rfebb: system and privileged instructions
// (Power ISA v3.0B Book III), the first decode of every word.

import type { Rng } from "@stopsim/engine";
import {
  execRfid,
  facUnavail,
  heai,
  hFacUnavail,
  interruptSrr,
  programPriv,
  returnFrom,
  vectoredSystemCall,
} from "../excp.js";
import { MSRH_HV, MSRH_S, MSRH_TM, MSRL_DR, MSRL_EE, MSRL_IR, MSRL_ME, MSRL_PR, MSRL_RI } from "../halves.js";
import { execInterp } from "../interp.js";
import { formId, identify } from "../opcodes.js";
import { execStop } from "../powersave.js";
import { BOOK3S_INTERRUPT_SYSCALL, FSCR_MSGP_LG } from "../registers.js";
import { execMfspr, execMtspr } from "../spr.js";
import { S_HFSCR } from "../spr-store.js";
import type { ExecResult, HwThread } from "../thread.js";
import { EXEC_INTERRUPT, EXEC_OK } from "../thread.js";
import { setLrToNext } from "./branch.js";
import {
  C_DARN,
  C_NOP,
  C_PRIV_NOP,
  C_RFEBB,
  C_RFSCV,
  C_SCV,
  C_SLBFEE,
  C_SLBMF,
  CLASS,
  F_HVPRIV,
  FLAGS,
} from "./decode.js";
import { branchTo, facility, INTERRUPT, OK, setCrBits } from "./helpers.js";

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

/**
 * Executes one instruction word: the system instructions here (sc, SPR and MSR moves, rfid, stop,
 * doorbells), every other form of the table by its class (src/interp.ts).
 */
export function execInstruction(t: HwThread, w: number): ExecResult {
  const id = identify(w);
  const gH = t.gprHi;
  const gL = t.gprLo;
  switch (id) {
    case F_SC: {
      const lev = (w >>> 5) & 0x7f;
      // LEV > 1 is reserved in v3.0B (sc 2 is the later ultravisor call): illegal
      if (lev > 1) return heai(t, w);
      // SRR0 = next instruction; `sc 1` enters the hypervisor (MSR[HV]=1)
      let nH = t.pcHi;
      const nL = (t.pcLo + 4) >>> 0;
      if (nL < 4) nH = (nH + 1) >>> 0;
      interruptSrr(t, BOOK3S_INTERRUPT_SYSCALL, nH, nL, 0, lev === 1);
      return EXEC_INTERRUPT;
    }
    case F_MFSPR:
      return execMfspr(t, w);
    case F_MTSPR:
      return execMtspr(t, w);
    case F_MFCR: {
      const rt = (w >>> 21) & 31;
      gH[rt] = 0;
      gL[rt] = t.cr >>> 0;
      t.advance();
      return EXEC_OK;
    }
    case F_MFMSR: {
      if (t.msrLo & MSRL_PR) return programPriv(t);
      const rt = (w >>> 21) & 31;
      gH[rt] = t.msrHi;
      gL[rt] = t.msrLo;
      t.advance();
      return EXEC_OK;
    }
    case F_MTMSRD:
      return execMtmsrd(t, w, false);
    case F_MTMSR:
      return execMtmsrd(t, w, true);
    case F_RFID:
      return execRfid(t, false);
    case F_HRFID:
      return execRfid(t, true);
    case F_STOP:
      return execStop(t);
    case F_MSGSND:
    case F_MSGCLR: {
      if (t.msrLo & MSRL_PR || !(t.msrHi & MSRH_HV)) return programPriv(t);
      const rb = (w >>> 11) & 31;
      const msg = gL[rb];
      t.advance();
      if (((msg >>> 27) & 31) !== 5) return EXEC_OK;
      if (id === F_MSGSND) {
        const target = t.core?.lookupPir(msg & 0x7fff) ?? (t.pir === (msg & 0x7fff) ? t : null);
        if (target !== null) {
          if (target === t) {
            t.hDoorbell = true;
            t.needCheck = true;
          } else {
            target.receiveHypervisorDoorbell();
          }
        }
      } else {
        t.hDoorbell = false;
      }
      return EXEC_OK;
    }
    case F_MSGSNDP:
    case F_MSGCLRP: {
      if (t.msrLo & MSRL_PR) return programPriv(t);
      if (!(t.msrHi & MSRH_HV) && !(t.sprLo[S_HFSCR] & (1 << FSCR_MSGP_LG))) {
        return hFacUnavail(t, FSCR_MSGP_LG);
      }
      const rb = (w >>> 11) & 31;
      const msg = gL[rb];
      t.advance();
      if (((msg >>> 27) & 31) !== 5) return EXEC_OK;
      if (id === F_MSGSNDP) {
        const tir = msg & 0x7f;
        const target = t.core !== null ? (t.core.threads[tir] ?? null) : tir === t.index ? t : null;
        if (target !== null) {
          if (target === t) {
            t.pDoorbell = true;
            t.needCheck = true;
          } else {
            target.receivePrivilegedDoorbell();
          }
        }
      } else {
        t.pDoorbell = false;
      }
      return EXEC_OK;
    }
    case F_SYNC:
    case F_ISYNC:
      t.advance();
      return EXEC_OK;
    case F_MSGSYNC:
      if (t.msrLo & MSRL_PR || !(t.msrHi & MSRH_HV)) return programPriv(t);
      t.advance();
      return EXEC_OK;
    case F_ATTN:
      // attn is enabled only by HID0[ENABLE_ATTN], which firmware leaves off: illegal
      return heai(t, w);
    default:
      return execInterp(t, id, w);
  }
}

/** mtmsrd, or mtmsr (`wordOnly`: MSR[32:63] from RS[32:63], MSR[0:31] unchanged). */
export function execMtmsrd(t: HwThread, w: number, wordOnly: boolean): ExecResult {
  if (t.msrLo & MSRL_PR) return programPriv(t);
  const rs = (w >>> 21) & 31;
  const vH = wordOnly ? t.msrHi : t.gprHi[rs];
  const vL = t.gprLo[rs];
  if ((w >>> 16) & 1) {
    // L=1: only EE and RI
    t.msrLo = ((t.msrLo & ~(MSRL_EE | MSRL_RI)) | (vL & (MSRL_EE | MSRL_RI))) >>> 0;
  } else {
    const hv = (t.msrHi & MSRH_HV) !== 0;
    // HV, S and the TM state are not changed by mtmsrd; ME only in hypervisor state
    const keepHi = MSRH_HV | MSRH_S | MSRH_TM;
    let nH = ((vH & ~keepHi) | (t.msrHi & keepHi)) >>> 0;
    let nL = vL >>> 0;
    if (!hv) nL = ((nL & ~MSRL_ME) | (t.msrLo & MSRL_ME)) >>> 0;
    if (nL & MSRL_PR) nL = (nL | MSRL_EE | MSRL_IR | MSRL_DR) >>> 0;
    nH >>>= 0;
    t.msrHi = nH;
    t.msrLo = nL;
  }
  t.advance();
  t.needCheck = true;
  t.core?.notifyChange();
  return EXEC_OK;
}

/** Executes a system or storage-control instruction of the class table (classes C_NOP..C_RFEBB). */
export function execSystemClass(t: HwThread, id: number, w: number): ExecResult {
  const gH = t.gprHi;
  const gL = t.gprLo;
  const rt = (w >>> 21) & 31;
  switch (CLASS[id]) {
    case C_NOP:
      break;
    case C_PRIV_NOP:
      if (t.msrLo & MSRL_PR) return programPriv(t);
      if (FLAGS[id] & F_HVPRIV && !(t.msrHi & MSRH_HV)) return programPriv(t);
      break;
    case C_SLBMF:
      // no SLB is modelled: every entry reads as invalid (0)
      if (t.msrLo & MSRL_PR) return programPriv(t);
      gH[rt] = 0;
      gL[rt] = 0;
      break;
    case C_SLBFEE:
      if (t.msrLo & MSRL_PR) return programPriv(t);
      // no entry found: RT = 0, CR0 = 0b000 || XER[SO] (qemu: target/ppc/translate.c gen_slbfee_)
      gH[rt] = 0;
      gL[rt] = 0;
      setCrBits(t, 0, 0, true);
      break;
    case C_DARN: {
      // L = 0: 32-bit conditioned random number; 1: 64-bit conditioned; 2: 64-bit raw; 3: reserved
      // (returns the error value 0xFFFF_FFFF_FFFF_FFFF)
      const l = (w >>> 16) & 3;
      if (l === 3) {
        gH[rt] = 0xffffffff;
        gL[rt] = 0xffffffff;
      } else {
        const rng = darnStream(t);
        gH[rt] = l === 0 ? 0 : rng.uint32();
        gL[rt] = rng.uint32();
      }
      break;
    }
    case C_SCV:
      return execScv(t, w);
    case C_RFSCV: {
      if (t.msrLo & MSRL_PR) return programPriv(t);
      // NIA = LR, MSR = CTR (as rfid does with SRR0/SRR1)
      return returnFrom(t, t.lrSlot, t.ctrSlot);
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
      return heai(t, w);
  }
  t.advance();
  return OK;
}

/** scv LEV: System Call Vectored (FSCR[SCV] enables it): LR = NIA, CTR = MSR, vector 0x17000 + 0x20*LEV. */
function execScv(t: HwThread, w: number): ExecResult {
  if (!(t.sprLo[t.fscrSlot] & (1 << FSCR_SCV_LG))) return facUnavail(t, FSCR_SCV_LG);
  const lev = (w >>> 5) & 0x7f;
  setLrToNext(t);
  t.sprHi[t.ctrSlot] = t.msrHi;
  t.sprLo[t.ctrSlot] = t.msrLo;
  vectoredSystemCall(t, 0x17000 + 0x20 * lev);
  return INTERRUPT;
}

const FSCR_EBB_LG = 7;
const FSCR_SCV_LG = 12;

/** The seeded stream darn draws from (`isa/darn/pir<N>`). */
export function darnStream(t: HwThread): Rng {
  if (t.darnRng === null) t.darnRng = t.sim.rng.stream(`isa/darn/pir${t.pir}`);
  return t.darnRng;
}
