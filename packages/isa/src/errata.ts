// POWER9 guest-stop erratum (DD2.0-DD2.2), as a switchable model.
//
// The public record (linuxppc-dev, "[RFC/PATCH 2/3] pseries/kvm: Clear PSSCR[ESL|EC] bits before
// guest entry", 2020) says only that the guest `stop` instruction has bugs on POWER9 before DD2.3
// ("Ideally this should be done conditionally on platforms where the guest stop instruction has
// no Bugs (starting POWER9 DD2.3)"). The nature of the bug is not public.
//
// ASSUMPTION (stated in the README): we model it as a lost wakeup. When a wake event (DEC,
// external, doorbell, hypervisor exception) arrives for a thread that stopped natively in guest
// state (MSR[HV]=0, PSSCR[ESL]=PSSCR[EC]=0), the thread stays stopped with probability `p`
// (drawn from the seeded engine stream "isa/errata/guest-stop/core<N>"); the event stays pending
// where it is level-sensitive, and a later wake event may wake the thread. Threads stopped in
// hypervisor state, and guest threads whose `stop` traps to the hypervisor (ESL|EC set), are
// not affected.

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
  readonly lostWakeupProbability: number;
  /** Number of wake events lost so far. */
  lostWakeups = 0;
  private readonly rng: Rng;

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
    this.rng = sim.rng.stream(`isa/errata/guest-stop/core${coreId}`);
  }

  /**
   * Called when a wake event arrives for a thread stopped natively in guest state; true when the
   * erratum swallows it. Draws from the stream only when enabled.
   */
  loseWakeup(): boolean {
    if (!this.enabled || this.lostWakeupProbability === 0) return false;
    const lost = this.rng.bool(this.lostWakeupProbability);
    if (lost) this.lostWakeups++;
    return lost;
  }
}
