// POWER9 idle (stop) states of /ibm,opal/power-mgt and which ones firmware enables.
// skiboot: hw/slw.c power9_cpu_idle_states[] and add_cpu_idle_state_properties() (2020).
// Flags and PSSCR helpers: skiboot include/opal-api.h.

import {
  OPAL_PM_DEC_STOP,
  OPAL_PM_LOSE_FULL_CONTEXT,
  OPAL_PM_LOSE_HYP_CONTEXT,
  OPAL_PM_LOSE_USER_CONTEXT,
  OPAL_PM_PSSCR_EC,
  OPAL_PM_PSSCR_ESL,
  OPAL_PM_PSSCR_MASK,
  OPAL_PM_PSSCR_MTL,
  OPAL_PM_PSSCR_RL,
  OPAL_PM_PSSCR_RL_MASK,
  OPAL_PM_PSSCR_TR,
  OPAL_PM_STOP_INST_DEEP,
  OPAL_PM_STOP_INST_FAST,
  OPAL_PM_TIMEBASE_STOP,
} from "./opal-api.js";

export interface CpuIdleState {
  readonly name: string;
  readonly latencyNs: number;
  readonly residencyNs: number;
  readonly flags: number;
  readonly psscr: bigint;
  readonly psscrMask: bigint;
}

const ESL_EC = OPAL_PM_PSSCR_ESL | OPAL_PM_PSSCR_EC;
const FAST_LOSS = OPAL_PM_LOSE_USER_CONTEXT | OPAL_PM_STOP_INST_FAST;
const DEEP =
  OPAL_PM_LOSE_USER_CONTEXT | OPAL_PM_LOSE_HYP_CONTEXT | OPAL_PM_LOSE_FULL_CONTEXT | OPAL_PM_STOP_INST_DEEP;
const psscr = (rl: number, mtl: number, eslEc: boolean): bigint =>
  OPAL_PM_PSSCR_RL(rl) | OPAL_PM_PSSCR_MTL(mtl) | OPAL_PM_PSSCR_TR(3) | (eslEc ? ESL_EC : 0n);

/**
 * skiboot hw/slw.c power9_cpu_idle_states[] ("latency_ns and residency_ns are estimated values").
 * stop1_lite and stop2_lite were removed from skiboot before 2020 ("adds no additional benefit").
 */
export const POWER9_CPU_IDLE_STATES: readonly CpuIdleState[] = [
  // Enter stop0 with no state loss: ESL = EC = 0.
  {
    name: "stop0_lite",
    latencyNs: 1000,
    residencyNs: 10000,
    flags: OPAL_PM_STOP_INST_FAST,
    psscr: psscr(0, 3, false),
    psscrMask: OPAL_PM_PSSCR_MASK,
  },
  {
    name: "stop0",
    latencyNs: 2000,
    residencyNs: 20000,
    flags: FAST_LOSS,
    psscr: psscr(0, 3, true),
    psscrMask: OPAL_PM_PSSCR_MASK,
  },
  {
    name: "stop1",
    latencyNs: 5000,
    residencyNs: 50000,
    flags: FAST_LOSS,
    psscr: psscr(1, 3, true),
    psscrMask: OPAL_PM_PSSCR_MASK,
  },
  {
    name: "stop2",
    latencyNs: 10000,
    residencyNs: 100000,
    flags: FAST_LOSS,
    psscr: psscr(2, 3, true),
    psscrMask: OPAL_PM_PSSCR_MASK,
  },
  {
    name: "stop4",
    latencyNs: 100000,
    residencyNs: 10000000,
    flags: DEEP,
    psscr: psscr(4, 7, true),
    psscrMask: OPAL_PM_PSSCR_MASK,
  },
  {
    name: "stop5",
    latencyNs: 200000,
    residencyNs: 20000000,
    flags: DEEP,
    psscr: psscr(5, 7, true),
    psscrMask: OPAL_PM_PSSCR_MASK,
  },
  {
    name: "stop8",
    latencyNs: 2000000,
    residencyNs: 20000000,
    flags: OPAL_PM_DEC_STOP | OPAL_PM_TIMEBASE_STOP | DEEP,
    psscr: psscr(8, 11, true),
    psscrMask: OPAL_PM_PSSCR_MASK,
  },
  {
    name: "stop11",
    latencyNs: 10000000,
    residencyNs: 100000000,
    flags: OPAL_PM_DEC_STOP | OPAL_PM_TIMEBASE_STOP | DEEP,
    psscr: psscr(11, 11, true),
    psscrMask: OPAL_PM_PSSCR_MASK,
  },
];

/**
 * Stop levels hostboot reports in HDAT, copied by skiboot into /ibm,opal/power-mgt
 * "ibm,enabled-stop-levels" (bit 31-n set = level n). 0xEC000000 (levels 0, 1, 2, 4, 5) is the
 * value of a real POWER9 system quoted on linuxppc-dev ("[RFC 2/3] cpuidle/powernv: Add support
 * for versioned stop states", 2019-08-23).
 */
export const DEFAULT_ENABLED_STOP_LEVELS = 0xec000000;

/** skiboot hw/slw.c: `opal_disabled_states_mask = ~0xFC000000`: OPAL disables levels 6 and up. */
export const OPAL_DISABLED_STATES_MASK = ~0xfc000000 >>> 0;

export interface IdleStateConfig {
  /** HDAT stop levels (ibm,enabled-stop-levels). Default DEFAULT_ENABLED_STOP_LEVELS. */
  readonly enabledStopLevels?: number;
  /** The stop-api wakeup engine (HOMER image) is present: deep states can restore state. Default true. */
  readonly wakeupEngine?: boolean;
  /** NVRAM "opal-stop-state-disable-mask"; undefined when the NVRAM key is absent. */
  readonly nvramStopStateDisableMask?: number;
}

export interface IdleStateSelection {
  /** The states published in /ibm,opal/power-mgt, in table order. */
  readonly states: readonly CpuIdleState[];
  /** skiboot has_deep_states: a deep state is enabled by HDAT and the wakeup engine is present. */
  readonly hasDeepStates: boolean;
  readonly enabledStopLevels: number;
}

const level = (s: CpuIdleState): number => Number(s.psscr & OPAL_PM_PSSCR_RL_MASK);
const levelBit = (lvl: number): number => (1 << (31 - lvl)) >>> 0;

/** skiboot hw/slw.c add_cpu_idle_state_properties(): which POWER9 states are published. */
export function selectIdleStates(config: IdleStateConfig = {}): IdleStateSelection {
  const stopLevels = (config.enabledStopLevels ?? DEFAULT_ENABLED_STOP_LEVELS) >>> 0;
  const wakeupEngine = config.wakeupEngine ?? true;
  const table = POWER9_CPU_IDLE_STATES;

  let hasDeepStates = false;
  if (stopLevels !== 0) {
    for (const s of table) {
      if (stopLevels & levelBit(level(s)) && s.flags & OPAL_PM_STOP_INST_DEEP) hasDeepStates = true;
    }
  }
  if (!wakeupEngine) hasDeepStates = false;

  // POWER9 / ISA 3.0: fast states always, deep states only with the wakeup engine.
  const supported = OPAL_PM_STOP_INST_FAST | (wakeupEngine ? OPAL_PM_STOP_INST_DEEP : 0);
  const nvramMask = (config.nvramStopStateDisableMask ?? 0) >>> 0;
  const nvramPresent = config.nvramStopStateDisableMask !== undefined;
  const states = table.filter((s) => {
    if (!(s.flags & supported)) return false;
    const bit = levelBit(level(s));
    if (!(stopLevels & bit)) return false;
    if ((OPAL_DISABLED_STATES_MASK | nvramMask) & bit) {
      // Disabled in OPAL, unless NVRAM is present and does not disable it ("forced by NVRAM").
      if (!(nvramPresent && !(nvramMask & bit))) return false;
    }
    return true;
  });
  return { states, hasDeepStates, enabledStopLevels: stopLevels };
}
