// qemu: target/ppc/excp_helper.c p9_interrupt_powersave and helper_pminsn, target/ppc/cpu_init.c
// cpu_has_work_POWER9: `stop` (Power ISA v3.0B Book III 4.3, PSSCR), its wake-up conditions and
// the System Reset wake from an EC=1 stop.

import { implementedStopLevel } from "./chips.js";
import { decValue } from "./decrementer.js";
import { flushNotify, hFacUnavail, interruptSrr, programPriv } from "./excp.js";
import {
  checkAsync,
  SRC_DBELL,
  SRC_DEC,
  SRC_EXT_HV,
  SRC_EXT_OS,
  SRC_HDBELL,
  SRC_HDEC,
  SRC_HVI,
  SRC_NONE,
} from "./excp-pending.js";
import {
  LPCRH_HVEE,
  LPCRL_HDICE,
  LPCRL_HEIC,
  LPCRL_HVICE,
  LPCRL_LPES0,
  LPCRL_PECE0,
  LPCRL_PECE1,
  LPCRL_PECEDH,
  LPCRL_PECEDP,
  MSRH_HV,
  MSRL_PR,
  PSSCRH_PLS,
  PSSCRL_EC,
  PSSCRL_ESL,
  PSSCRL_SD,
  toBig,
} from "./halves.js";
import { BOOK3S_INTERRUPT_SYSTEM_RESET, FSCR_STOP_LG } from "./registers.js";
import { S_LPCR, S_PSSCR } from "./spr-store.js";
import type { ExecResult, HwThread, StopState, WakeReason } from "./thread.js";
import { EXEC_INTERRUPT, EXEC_OK, EXEC_STOPPED } from "./thread.js";

export class ThreadStopState implements StopState {
  constructor(
    readonly level: number,
    readonly requestedLevel: number,
    readonly maxTransitionLevel: number,
    readonly esl: boolean,
    readonly ec: boolean,
    readonly hv: boolean,
    readonly since: number,
    private readonly psscrHi: number,
    private readonly psscrLo: number,
  ) {}

  /** When the guest-stop erratum first swallowed a wake event of this stop (-1: never). */
  lostAt = -1;

  get psscr(): bigint {
    return toBig(this.psscrHi, this.psscrLo);
  }
}

export const WAKE_REASON: readonly (WakeReason | undefined)[] = [
  undefined,
  "external",
  "hdec",
  "hvi",
  "hdoorbell",
  "external",
  "dec",
  "doorbell",
];
// SRR1 wake-reason codes (linux reg.h SRR1_WAKE*); HDEC has none: it never ends an EC=1 stop
export const WAKE_SRR1: readonly number[] = [
  0, 0x00200000, 0, 0x00240000, 0x000c0000, 0x00200000, 0x00180000, 0x00140000,
];

/** GPR contents after a state-losing wake-up (the architecture leaves them undefined). */
export const POISON_HI = 0xdeadbeef;
export const POISON_LO = 0x0badc0de;

export function execStop(t: HwThread): ExecResult {
  if (t.msrLo & MSRL_PR) return programPriv(t);
  const hv = (t.msrHi & MSRH_HV) !== 0;
  const pH = t.sprHi[S_PSSCR];
  const pL = t.sprLo[S_PSSCR];
  const esl = (pL & PSSCRL_ESL) !== 0;
  const ec = (pL & PSSCRL_EC) !== 0;
  // In guest state, a stop with ESL or EC set traps to the hypervisor
  if (!hv && (esl || ec)) return hFacUnavail(t, FSCR_STOP_LG);
  const rl = pL & 0xf;
  const mtl = (pL >>> 4) & 0xf;
  const psll = (pL >>> 16) & 0xf;
  const level = implementedStopLevel(t.chip, Math.min(rl, psll));
  const maxTransitionLevel = Math.max(level, implementedStopLevel(t.chip, Math.min(mtl, psll)));
  t.advance();
  // A wake event already pending ends the stop at once
  const src = wakeSource(t, hv, ec);
  if (src !== SRC_NONE) {
    setPls(t, level, pL);
    if (ec) {
      systemResetWake(t, src, level, esl);
      return EXEC_INTERRUPT;
    }
    t.needCheck = true;
    return EXEC_OK;
  }
  t.stop = new ThreadStopState(level, rl, maxTransitionLevel, esl, ec, hv, t.sim.now, pH, pL);
  if (t.sim.trace.enabled) {
    t.sim.trace.instant(t.track(), "cpu_idle", "power", {
      state: level,
      esl,
      ec,
      hv,
    });
  }
  t.core?.notifyChange();
  return EXEC_STOPPED;
}

/**
 * The highest-priority wake event for a thread that stopped with MSR[HV] = `hv` and PSSCR[EC] =
 * `ec` (MSR[EE] does not matter). Power ISA v3.0B, stop: with EC=0 "hardware will exit
 * power-saving mode when the exception corresponding to any system-caused interrupt occurs"
 * (resuming after the stop, or in the handler if MSR[EE]=1), whatever LPCR's exit enables say;
 * with EC=1 only the exceptions whose LPCR exit enable is set wake it.
 * qemu: target/ppc/cpu_init.c cpu_has_work_POWER9 (EC clear: any pending interrupt) and
 * target/ppc/excp_helper.c p9_interrupt_powersave (EC set): external on LPCR[EEE]=PECE0 unless
 * LPCR[HEIC] and the thread is in hypervisor state, decrementer on DEE=PECE1, privileged
 * doorbell on PDEE=PECEDP, hypervisor doorbell on HDEE=PECEDH, hypervisor virtualization on
 * LPCR[HVEE]; no HDEC (it has no SRR1 wake code).
 */
export function wakeSource(t: HwThread, hv: boolean, ec: boolean): number {
  const lpcrL = t.sprLo[S_LPCR];
  const lpesOs = (lpcrL & LPCRL_LPES0) !== 0;
  if (!ec) {
    // HDEC is a guest-state exception here: in hypervisor state it stays masked until MSR[EE]
    if (t.externalLevel && !lpesOs) return SRC_EXT_HV;
    if (!hv && lpcrL & LPCRL_HDICE && decValue(t, true) < 0) return SRC_HDEC;
    if (t.hviLevel && lpcrL & LPCRL_HVICE) return SRC_HVI;
    if (t.hDoorbell) return SRC_HDBELL;
    if (t.externalLevel && lpesOs) return SRC_EXT_OS;
    if (decValue(t, false) < 0) return SRC_DEC;
    if (t.pDoorbell) return SRC_DBELL;
    return SRC_NONE;
  }
  const hvee = (t.sprHi[S_LPCR] & LPCRH_HVEE) !== 0;
  const extOk = (lpcrL & LPCRL_PECE0) !== 0 && (!hv || (lpcrL & LPCRL_HEIC) === 0);
  if (t.externalLevel && !lpesOs && extOk) return SRC_EXT_HV;
  if (t.hviLevel && lpcrL & LPCRL_HVICE && hvee) return SRC_HVI;
  if (t.hDoorbell && lpcrL & LPCRL_PECEDH) return SRC_HDBELL;
  if (t.externalLevel && lpesOs && extOk) return SRC_EXT_OS;
  if (lpcrL & LPCRL_PECE1 && decValue(t, false) < 0) return SRC_DEC;
  if (t.pDoorbell && lpcrL & LPCRL_PECEDP) return SRC_DBELL;
  return SRC_NONE;
}

/** A wake event arrived for the stopped thread. */
export function tryWake(t: HwThread): void {
  const st = t.stop;
  if (st === null) return;
  const src = wakeSource(t, st.hv, st.ec);
  if (src === SRC_NONE) return;
  if (!st.hv && !st.esl && !st.ec && t.core?.errata.loseWakeup()) {
    t.lostWakeups++;
    if (st.lostAt < 0) st.lostAt = t.sim.now;
    if (t.sim.trace.enabled) {
      t.sim.trace.instant(t.track(), "lost_wakeup", "errata", { reason: WAKE_REASON[src] ?? "" });
    }
    return;
  }
  t.stop = null;
  if (st.lostAt >= 0) {
    const late = t.sim.now - st.lostAt;
    t.lateWakeups++;
    t.lateWakeupNs += late;
    if (late > t.maxLateWakeupNs) t.maxLateWakeupNs = late;
  }
  setPls(t, st.level, t.sprLo[S_PSSCR]);
  if (t.sim.trace.enabled) {
    const tr = t.track();
    t.sim.trace.complete(tr, `stop${st.level}`, "power", st.since, t.sim.now - st.since, {
      esl: st.esl,
      ec: st.ec,
      reason: WAKE_REASON[src] ?? "",
    });
    t.sim.trace.instant(tr, "cpu_idle", "power", { state: 4294967295 });
  }
  t.core?.notifyChange();
  if (st.ec) {
    systemResetWake(t, src, st.level, st.esl);
    flushNotify(t);
    return;
  }
  // EC=0: resume at the instruction after stop; a pending enabled interrupt is taken first
  t.needCheck = true;
  if (checkAsync(t)) return;
  const sw = t.hypervisorState ? t.hvSoftware : t.osSoftware;
  if (sw !== null) sw.resume(t);
}

export function setPls(t: HwThread, level: number, psscrLo: number): void {
  if (psscrLo & PSSCRL_SD) return;
  t.sprHi[S_PSSCR] = ((t.sprHi[S_PSSCR] & ~PSSCRH_PLS) | (level << 28)) >>> 0;
}

/** Wake from an EC=1 stop: System Reset interrupt with the wake reason and state loss. */
export function systemResetWake(t: HwThread, src: number, level: number, esl: boolean): void {
  const ws = !esl ? 0x00010000 : level >= t.chip.hvLossLevel ? 0x00030000 : 0x00020000;
  if (src === SRC_HDBELL) t.hDoorbell = false;
  if (src === SRC_DBELL) t.pDoorbell = false;
  if (esl) {
    t.gprHi.fill(POISON_HI);
    t.gprLo.fill(POISON_LO);
  }
  interruptSrr(t, BOOK3S_INTERRUPT_SYSTEM_RESET, t.pcHi, t.pcLo, (WAKE_SRR1[src] | ws) >>> 0, true);
}
