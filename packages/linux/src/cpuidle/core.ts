// The per-CPU cpuidle device and the accounting cpuidle_enter_state does after each idle period.
// linux: drivers/cpuidle/cpuidle.c cpuidle_enter_state (v5.6: usage, time_ns, above, below,
// rejected) and include/linux/cpuidle.h struct cpuidle_state_usage; the sysfs files under
// /sys/devices/system/cpu/cpuN/cpuidle/stateM/ expose these (drivers/cpuidle/sysfs.c).

import type { CpuidleDriver } from "./state.js";

export interface CpuidleStateUsage {
  /** Disabled by the user (sysfs `disable`). */
  disable: boolean;
  /** sysfs `usage`: times the state was entered. */
  usage: number;
  /** sysfs `time` is in us; this keeps ns. */
  timeNs: number;
  /** sysfs `above`: idle was shorter than the state's target residency and a shallower state was enabled. */
  above: number;
  /** sysfs `below`: idle was long enough for a deeper enabled state. */
  below: number;
  /** sysfs `rejected`: the driver refused to enter (enter returned an error). */
  rejected: number;
}

export class CpuidleDevice<D extends CpuidleDriver = CpuidleDriver> {
  readonly statesUsage: CpuidleStateUsage[];
  /** dev->last_residency_ns */
  lastResidencyNs = 0;
  /** dev->last_state_idx (-1 after a governor consumed it) */
  lastStateIdx = -1;
  /** dev->poll_time_limit: a polling state exited on its time limit. */
  pollTimeLimit = false;

  constructor(
    readonly cpu: number,
    readonly drv: D,
  ) {
    this.statesUsage = drv.states.map(() => ({
      disable: false,
      usage: 0,
      timeNs: 0,
      above: 0,
      below: 0,
      rejected: 0,
    }));
  }

  /** Disables (or re-enables) a state by name, as `echo 1 > stateN/disable` does. */
  setDisabled(name: string, disabled: boolean): void {
    const i = this.drv.states.findIndex((s) => s.name === name);
    if (i < 0) {
      throw new RangeError(
        `cpu${this.cpu}: no idle state named '${name}'; states are ${this.drv.states.map((s) => s.name).join(", ")}`,
      );
    }
    this.statesUsage[i].disable = disabled;
  }

  // linux: drivers/cpuidle/cpuidle.c cpuidle_enter_state (the part after drv->states[i].enter)
  account(enteredState: number, timeStartNs: number, timeEndNs: number): void {
    const drv = this.drv;
    if (enteredState < 0) {
      this.lastResidencyNs = 0;
      return;
    }
    const s = drv.states[enteredState];
    const diff = timeEndNs - timeStartNs;
    const delay = s.exitLatencyNs;
    this.lastResidencyNs = diff;
    const u = this.statesUsage[enteredState];
    u.timeNs += diff;
    u.usage++;
    if (diff < s.targetResidencyNs) {
      for (let i = enteredState - 1; i >= 0; i--) {
        if (this.statesUsage[i].disable) continue;
        u.above++;
        break;
      }
    } else if (diff > delay) {
      for (let i = enteredState + 1; i < drv.states.length; i++) {
        if (this.statesUsage[i].disable) continue;
        if (diff - delay >= drv.states[i].targetResidencyNs) u.below++;
        break;
      }
    }
  }

  /** An enter callback that returned an error (cpuidle_enter_state's else branch). */
  reject(index: number): void {
    this.lastResidencyNs = 0;
    this.statesUsage[index].rejected++;
  }

  /** What `grep . /sys/devices/system/cpu/cpuN/cpuidle/state*` shows, per state. */
  sysfs(): CpuidleSysfsState[] {
    return this.drv.states.map((s, i) => {
      const u = this.statesUsage[i];
      return {
        name: s.name,
        desc: s.desc,
        latency: s.exitLatencyUs,
        residency: s.targetResidencyUs,
        disable: u.disable ? 1 : 0,
        usage: u.usage,
        time: Math.floor(u.timeNs / 1000),
        above: u.above,
        below: u.below,
        rejected: u.rejected,
      };
    });
  }
}

export interface CpuidleSysfsState {
  name: string;
  desc: string;
  /** us */
  latency: number;
  /** us */
  residency: number;
  disable: number;
  usage: number;
  /** us */
  time: number;
  above: number;
  below: number;
  rejected: number;
}

/** What the idle loop tells the governor (tick_nohz_* and PM QoS in Linux). */
export interface GovernorContext {
  /** tick_nohz_get_sleep_length(): ns until the next timer event if the tick were stopped. */
  readonly sleepLengthNs: number;
  /** Its delta_next out-parameter: ns until the next event including the tick. */
  readonly deltaNextNs: number;
  /** cpuidle_governor_latency_req(): PM QoS resume latency limit, ns (Infinity = none). */
  readonly latencyReqNs: number;
  /** tick_nohz_tick_stopped() */
  readonly tickStopped: boolean;
  /** nr_iowait_cpu() */
  readonly nrIowaiters: number;
  /** local_clock(), ns */
  readonly now: number;
  /** TICK_NSEC */
  readonly tickNs: number;
}

export interface ReflectContext {
  /** tick_nohz_idle_got_tick(): the last wakeup was the tick. */
  readonly gotTick: boolean;
  readonly now: number;
  readonly tickNs: number;
}

export interface GovernorSelection {
  readonly index: number;
  /** *stop_tick */
  readonly stopTick: boolean;
}

export interface CpuidleGovernor {
  readonly name: "menu" | "teo";
  select(dev: CpuidleDevice, ctx: GovernorContext): GovernorSelection;
  reflect(dev: CpuidleDevice, index: number, ctx: ReflectContext): void;
}
