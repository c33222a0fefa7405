// POWER9 guest-stop erratum (DD2.0-DD2.2), as a switchable model.
//
// What the public record says (linuxppc-dev, "[RFC/PATCH 0/3] Add support for stop instruction
// inside KVM guest", G. Shenoy, 2020-04-13, answering D. Gibson's "So, this was a bug in DD2.2's
// implementation of the architecture?"): "Yes, the previous versions could miss wakeup events when
// stop was executed in HV=0,PR=0 mode. So, the hypervisor had to block that." Patch 2 adds that
// guest stop is safe only "starting POWER9 DD2.3".
//
// The mechanism is therefore a lost wake-up: a wake event (DEC, external, doorbell, hypervisor
// exception) that arrives for a thread that stopped natively in guest state (MSR[HV]=0, MSR[PR]=0,
// PSSCR[ESL]=PSSCR[EC]=0) is missed and the thread stays stopped; the event stays pending where it
// is level-sensitive, and a later wake event may wake the thread. Threads stopped in hypervisor
// state, and guest threads whose `stop` traps to the hypervisor (ESL|EC set), are not affected.
//
// ASSUMPTIONS (the only unknowable parts, stated here and nowhere else; the README points here):
// - RATE: each such wake event is missed with probability `lostWakeupProbability` (default 0.01,
//   DEFAULT_LOST_WAKEUP_PROBABILITY), drawn from the seeded engine stream
//   "isa/errata/guest-stop/core<N>". No public figure exists.
// - RECOVERY: nothing but a later wake event ends the stop (the next DEC the guest programmed, an
//   IPI, a host doorbell); no hardware retry is modelled.

import type { Rng, Simulation } from "@stopsim/engine";
import type { ChipModel } from "./chips.js";

/** Default probability that one wake event of a natively stopped guest thread is lost. */
export const DEFAULT_LOST_WAKEUP_PROBABILITY = 0.01;

export interface GuestStopErratumConfig {
  /** Whether the erratum is active (default: the chip's guestStopErratum flag, DD < 2.3). */
  enabled: boolean;
  /** Probability in [0, 1] that a wake event is lost. */
  lostWakeupProbability: number;
}

export class ErratumConfigError extends RangeError {
  override readonly name = "ErratumConfigError";
}

/** The default erratum configuration for `chip`: enabled exactly on DD levels before 2.3. */
export function defaultGuestStopErratum(chip: ChipModel): GuestStopErratumConfig {
  return { enabled: chip.guestStopErratum, lostWakeupProbability: DEFAULT_LOST_WAKEUP_PROBABILITY };
}

/** Per-core erratum state. */
export class GuestStopErratum {
  readonly enabled: boolean;
  /** May be changed while the simulation runs (a value in [0, 1]). */
  lostWakeupProbability: number;
  /** Number of wake events lost so far. */
  lostWakeups = 0;
  /** Opened at the first draw: a disabled erratum holds no stream (cores of several hosts share names). */
  private rng: Rng | null = null;
  private readonly streamName: string;

  private readonly sim: Simulation;

  constructor(
    sim: Simulation,
    coreId: number,
    chip: ChipModel,
    config: Partial<GuestStopErratumConfig> = {},
  ) {
    const base = defaultGuestStopErratum(chip);
    this.enabled = config.enabled ?? base.enabled;
    const p = config.lostWakeupProbability ?? base.lostWakeupProbability;
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      throw new ErratumConfigError(`lostWakeupProbability must be a number in [0, 1], got ${String(p)}`);
    }
    this.lostWakeupProbability = p;
    this.sim = sim;
    this.streamName = `isa/errata/guest-stop/core${coreId}`;
  }

  /**
   * Called when a wake event arrives for a thread stopped natively in guest state; true when the
   * erratum swallows it. Draws from the stream only when enabled.
   */
  loseWakeup(): boolean {
    if (!this.enabled || this.lostWakeupProbability === 0) return false;
    if (this.rng === null) this.rng = this.sim.rng.stream(this.streamName);
    const lost = this.rng.bool(this.lostWakeupProbability);
    if (lost) this.lostWakeups++;
    return lost;
  }
}
