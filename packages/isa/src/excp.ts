// qemu: target/ppc/excp_helper.c powerpc_excp_books (interrupt delivery: SRR0/1 or HSRR0/1, the
// new MSR, the vector), helper_rfid/helper_hrfid and the synchronous interrupts instructions raise.

import {
  LPCRL_ILE,
  MSRH_HV,
  MSRH_S,
  MSRH_SF,
  MSRH_TM,
  MSRL_DR,
  MSRL_EE,
  MSRL_IR,
  MSRL_LE,
  MSRL_ME,
  MSRL_PR,
  SRR1_PROGPRIV_LO,
  SRR1_SPECIFIC_LO,
} from "./halves.js";
import {
  BOOK3S_INTERRUPT_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_H_DATA_STORAGE,
  BOOK3S_INTERRUPT_H_EMUL_ASSIST,
  BOOK3S_INTERRUPT_H_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_MACHINE_CHECK,
  BOOK3S_INTERRUPT_PROGRAM,
} from "./registers.js";
import {
  S_FSCR,
  S_HDAR,
  S_HDSISR,
  S_HEIR,
  S_HFSCR,
  S_HSRR0,
  S_HSRR1,
  S_LPCR,
  S_SRR0,
  S_SRR1,
} from "./spr-store.js";
import type { ExecResult, HwThread, SoftwareLevel } from "./thread.js";
import { EXEC_INTERRUPT, EXEC_OK } from "./thread.js";

/**
 * Takes an interrupt that saves state in SRR0/SRR1. MSR[HV] is unchanged unless `enterHv`
 * (system reset, machine check, `sc 1`).
 */
export function interruptSrr(
  t: HwThread,
  vector: number,
  nipHi: number,
  nipLo: number,
  srr1Bits: number,
  enterHv: boolean,
): void {
  t.sprHi[S_SRR0] = nipHi;
  t.sprLo[S_SRR0] = nipLo;
  t.sprHi[S_SRR1] = t.msrHi;
  t.sprLo[S_SRR1] = ((t.msrLo & ~SRR1_SPECIFIC_LO) | srr1Bits) >>> 0;
  const hv = enterHv || (t.msrHi & MSRH_HV) !== 0;
  enterInterrupt(t, vector, hv);
}

/** Takes a hypervisor interrupt (HSRR0/HSRR1, MSR[HV]=1). */
export function interruptHsrr(
  t: HwThread,
  vector: number,
  nipHi: number,
  nipLo: number,
  srr1Bits: number,
): void {
  t.sprHi[S_HSRR0] = nipHi;
  t.sprLo[S_HSRR0] = nipLo;
  t.sprHi[S_HSRR1] = t.msrHi;
  t.sprLo[S_HSRR1] = ((t.msrLo & ~SRR1_SPECIFIC_LO) | srr1Bits) >>> 0;
  enterInterrupt(t, vector, true);
}

/**
 * New MSR on interrupt (ISA v3.0B Book III 7.5): SF=1, HV as routed, ME kept, LE from
 * HID0[HILE] (hypervisor) or LPCR[ILE] (OS); EE, PR, IR, DR, RI and the rest cleared.
 * LPCR[AIL] relocation is not modelled: PC = vector.
 */
export function enterInterrupt(t: HwThread, vector: number, hv: boolean): void {
  // a reservation is lost on an interrupt (Linux's interrupt return clears it with stdcx. too)
  t.reservationSize = 0;
  const le = hv ? t.hile : (t.sprLo[S_LPCR] & LPCRL_ILE) !== 0;
  t.msrHi = (MSRH_SF | (hv ? MSRH_HV : 0) | (t.msrHi & MSRH_S)) >>> 0;
  t.msrLo = (t.msrLo & MSRL_ME) | (le ? MSRL_LE : 0);
  t.pcHi = 0;
  t.pcLo = vector;
  const level: SoftwareLevel = hv ? "hv" : "os";
  t.lastInterrupt = { vector, time: t.sim.now, level };
  t.needCheck = true;
  if (t.sim.trace.enabled) {
    t.sim.trace.instant(t.track(), "interrupt", "isa", { vector: `0x${vector.toString(16)}`, level });
  }
  t.pendingNotify = { level, vector };
}

/** Calls the software the last interrupt was routed to. */
export function flushNotify(t: HwThread): void {
  const n = t.pendingNotify;
  if (n === null) return;
  t.pendingNotify = null;
  const sw = n.level === "hv" ? t.hvSoftware : t.osSoftware;
  if (sw !== null) sw.interrupt(t, n.vector);
}

export function programPriv(t: HwThread): ExecResult {
  interruptSrr(t, BOOK3S_INTERRUPT_PROGRAM, t.pcHi, t.pcLo, SRR1_PROGPRIV_LO, false);
  return EXEC_INTERRUPT;
}

/** Hypervisor Emulation Assistance interrupt for an illegal instruction: HEIR = the word. */
export function heai(t: HwThread, w: number): ExecResult {
  t.sprHi[S_HEIR] = 0;
  t.sprLo[S_HEIR] = w >>> 0;
  interruptHsrr(t, BOOK3S_INTERRUPT_H_EMUL_ASSIST, t.pcHi, t.pcLo, 0);
  return EXEC_INTERRUPT;
}

/** Hypervisor Facility Unavailable: HFSCR[IC] = cause, HSRR0 = the instruction. */
export function hFacUnavail(t: HwThread, cause: number): ExecResult {
  t.sprHi[S_HFSCR] = ((t.sprHi[S_HFSCR] & 0x00ffffff) | (cause << 24)) >>> 0;
  interruptHsrr(t, BOOK3S_INTERRUPT_H_FAC_UNAVAIL, t.pcHi, t.pcLo, 0);
  return EXEC_INTERRUPT;
}

/** Facility Unavailable (problem state, FSCR): FSCR[IC] = cause, SRR0 = the instruction. */
export function facUnavail(t: HwThread, cause: number): ExecResult {
  t.sprHi[S_FSCR] = ((t.sprHi[S_FSCR] & 0x00ffffff) | (cause << 24)) >>> 0;
  interruptSrr(t, BOOK3S_INTERRUPT_FAC_UNAVAIL, t.pcHi, t.pcLo, 0, false);
  return EXEC_INTERRUPT;
}

/**
 * scv: the System Call Vectored interrupt (LR and CTR already hold NIA and MSR):
 * MSR as for an interrupt that keeps MSR[HV], PC = vector (no SRR0/SRR1).
 */
export function vectoredSystemCall(t: HwThread, vector: number): void {
  enterInterrupt(t, vector, (t.msrHi & MSRH_HV) !== 0);
}

/**
 * A load or store at EA outside memory: a guest access takes a Hypervisor Data
 * Storage interrupt (HDAR = EA, HDSISR = DSISR_NOHPTE | store), a hypervisor one a machine check.
 */
export function storageFault(t: HwThread, eaH: number, eaL: number, store: boolean): void {
  if (t.msrHi & MSRH_HV) {
    interruptSrr(t, BOOK3S_INTERRUPT_MACHINE_CHECK, t.pcHi, t.pcLo, 0, true);
  } else {
    // partition-scope miss of a guest real address: Hypervisor Data Storage interrupt
    t.sprHi[S_HDAR] = eaH;
    t.sprLo[S_HDAR] = eaL;
    t.sprHi[S_HDSISR] = 0;
    t.sprLo[S_HDSISR] = (0x40000000 | (store ? 0x02000000 : 0)) >>> 0;
    interruptHsrr(t, BOOK3S_INTERRUPT_H_DATA_STORAGE, t.pcHi, t.pcLo, 0);
  }
}

export function execRfid(t: HwThread, hyp: boolean): ExecResult {
  const pr = (t.msrLo & MSRL_PR) !== 0;
  const hv = (t.msrHi & MSRH_HV) !== 0;
  if (pr || (hyp && !hv)) return programPriv(t);
  return returnFrom(t, hyp ? S_HSRR0 : S_SRR0, hyp ? S_HSRR1 : S_SRR1, hyp);
}

/**
 * The return of rfid (hrfid with `hyp`; rfscv with LR/CTR): PC from slot s0, MSR
 * from slot s1 with the rfid rules for HV, ME, S and TM.
 */
export function returnFrom(t: HwThread, s0: number, s1: number, hyp = false): ExecResult {
  const hv = (t.msrHi & MSRH_HV) !== 0;
  const vH = t.sprHi[s1];
  const vL = t.sprLo[s1];
  // rfid: MSR[HV] <- SRR1[HV] & MSR[HV]; ME only changes in hypervisor state
  const newHv = hyp ? vH & MSRH_HV : vH & MSRH_HV & t.msrHi;
  let nH = ((vH & ~(MSRH_HV | MSRH_S | MSRH_TM)) | newHv | (t.msrHi & (MSRH_S | MSRH_TM))) >>> 0;
  let nL = vL >>> 0;
  if (!hv) nL = ((nL & ~MSRL_ME) | (t.msrLo & MSRL_ME)) >>> 0;
  if (nL & MSRL_PR) nL = (nL | MSRL_EE | MSRL_IR | MSRL_DR) >>> 0;
  nH >>>= 0;
  t.msrHi = nH;
  t.msrLo = nL;
  // a return to 32-bit mode crops the address (qemu: target/ppc/excp_helper.c do_rfi)
  t.pcHi = nH & MSRH_SF ? t.sprHi[s0] : 0;
  t.pcLo = (t.sprLo[s0] & ~3) >>> 0;
  t.needCheck = true;
  t.core?.notifyChange();
  return EXEC_OK;
}
