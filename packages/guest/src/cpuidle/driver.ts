// The pseries cpuidle driver's state tables.
// linux: drivers/cpuidle/cpuidle-pseries.c (v5.6): dedicated_states[] = snooze, CEDE and
// shared_states[] = snooze, "Shared Cede"; pseries_idle_probe picks the table from
// lppaca_shared_proc() and sets snooze_timeout = states[1].target_residency * tb_ticks_per_usec.
// The stop0lite entry follows "[RFC/PATCH 3/3] cpuidle/pseries: Add stop0lite state"
// (linuxppc-dev, 2020-03-31), which inserts it into shared_states[] between snooze and Shared Cede.

import { CPU_FTR_ARCH_300, type CpuidleDriver, type CpuidleState, cpuidleState } from "@stopsim/linux";

/**
 * Which guest kernel runs:
 * - "never": upstream 2020, no patch 3;
 * - "always": patch 3 as posted;
 * - "arch300": stop0lite iff cpu_has_feature(CPU_FTR_ARCH_300) (the thread's second proposal);
 * - "platform": stop0lite iff the boot cpu node has ibm,stop-lite-permitted.
 */
export type Stop0liteMode = "never" | "always" | "arch300" | "platform";

export type IdleStateKind = "snooze" | "stop0lite" | "cede" | "shared-cede";

/** A pseries state: the cpuidle core's struct cpuidle_state plus which enter function runs it. */
export interface PseriesIdleState extends CpuidleState {
  readonly kind: IdleStateKind;
}

/** The pseries_idle driver: its table and what pseries_idle_probe decided. */
export interface PseriesIdleDriver extends CpuidleDriver<PseriesIdleState> {
  readonly name: "pseries_idle";
  /** snooze_timeout in timebase ticks (0 and disabled if only one state). */
  readonly snoozeTimeoutTb: number;
  readonly snoozeTimeoutEnabled: boolean;
  /** Which table pseries_idle_probe chose: shared_states (true) or dedicated_states. */
  readonly shared: boolean;
  /** The VPA's __old_status byte the choice was read from (LPPACA_OLD_SHARED_PROC = 0x02). */
  readonly lppacaOldStatus: number;
}

// the pseries tables give us; the core derives the ns fields (linux: cpuidle-pseries.c)
function state(
  name: string,
  desc: string,
  kind: IdleStateKind,
  exitLatencyUs: number,
  targetResidencyUs: number,
): PseriesIdleState {
  return { ...cpuidleState(name, desc, exitLatencyUs, targetResidencyUs), kind };
}

export const SNOOZE_STATE = state("snooze", "snooze", "snooze", 0, 0);
export const CEDE_STATE = state("CEDE", "CEDE", "cede", 10, 100);
export const SHARED_CEDE_STATE = state("Shared Cede", "Shared Cede", "shared-cede", 10, 100);
export const STOP0LITE_STATE = state("stop0lite", "Pauses the CPU", "stop0lite", 2, 20);

export interface PseriesIdleProbe {
  /** lppaca_shared_proc(): FW_FEATURE_SPLPAR and the shared bit the hypervisor set in the VPA. */
  readonly shared: boolean;
  /** The VPA byte it was read from, for the report (default 0x02 when shared, else 0). */
  readonly lppacaOldStatus?: number;
  readonly stop0lite: Stop0liteMode;
  readonly cpuFeatures: bigint;
  readonly stopLitePermitted: boolean;
  readonly tbFreq: number;
}

/** Whether this kernel configuration offers stop0lite on this platform. */
export function stop0liteEnabled(
  p: Pick<PseriesIdleProbe, "stop0lite" | "cpuFeatures" | "stopLitePermitted">,
): boolean {
  switch (p.stop0lite) {
    case "never":
      return false;
    case "always":
      return true;
    case "arch300":
      return (p.cpuFeatures & CPU_FTR_ARCH_300) !== 0n;
    case "platform":
      return p.stopLitePermitted;
  }
}

// linux: drivers/cpuidle/cpuidle-pseries.c pseries_idle_probe + pseries_cpuidle_driver_init: the
// v5.6 tables, with patch 3's stop0lite in shared_states only (the dedicated table is the
// upstream one whatever the configuration). Only the VPA bit decides the table.
export function pseriesIdleProbe(p: PseriesIdleProbe): PseriesIdleDriver {
  const withStop = p.shared && stop0liteEnabled(p);
  const states = p.shared
    ? withStop
      ? [SNOOZE_STATE, STOP0LITE_STATE, SHARED_CEDE_STATE]
      : [SNOOZE_STATE, SHARED_CEDE_STATE]
    : [SNOOZE_STATE, CEDE_STATE];
  const tbTicksPerUsec = Math.floor(p.tbFreq / 1_000_000);
  const snoozeTimeoutEnabled = states.length > 1;
  const snoozeTimeoutTb = snoozeTimeoutEnabled ? states[1].targetResidencyUs * tbTicksPerUsec : 0;
  return {
    name: "pseries_idle",
    states,
    snoozeTimeoutTb,
    snoozeTimeoutEnabled,
    shared: p.shared,
    lppacaOldStatus: p.lppacaOldStatus ?? (p.shared ? 0x02 : 0),
  };
}
