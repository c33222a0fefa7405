// The idle-state tables and governor contexts the menu and teo decision tests share. State
// figures are (exit latency us, target residency us) as cpuidle drivers declare them.
import type { GovernorContext } from "../cpuidle/core.js";
import { type CpuidleDriver, cpuidleState } from "../cpuidle/state.js";

/** TICK_NSEC at HZ=100. */
export const TICK = 10_000_000;

export const driver = (...states: ReturnType<typeof cpuidleState>[]): CpuidleDriver => ({
  name: "test",
  states,
});

/** pseries: snooze 0/0 (not polling in 2020), stop0lite 2/20 us, CEDE 10/100 us. */
export const PSERIES = driver(
  cpuidleState("snooze", "snooze", 0, 0),
  cpuidleState("stop0lite", "stop0lite", 2, 20),
  cpuidleState("CEDE", "CEDE", 10, 100),
);

/** A state deeper than the tick: stopB's 20 ms target residency is twice TICK_NSEC. */
export const DEEP = driver(
  cpuidleState("snooze", "snooze", 0, 0),
  cpuidleState("stopA", "stopA", 10, 1000),
  cpuidleState("stopB", "stopB", 100, 20_000),
);

/** powernv-like: a polling snooze (CPUIDLE_FLAG_POLLING) and three stop states. */
export const POLLING = driver(
  cpuidleState("snooze", "snooze", 0, 0, true),
  cpuidleState("stop0_lite", "stop0_lite", 1, 1),
  cpuidleState("stop1", "stop1", 5, 50),
  cpuidleState("stop2", "stop2", 10, 1000),
);

/** A governor context for a sleep of `sleep` ns: the tick runs unless `o.tickStopped`. */
export function ctx(sleep: number, o: Partial<GovernorContext> = {}): GovernorContext {
  const tickStopped = o.tickStopped ?? false;
  return {
    sleepLengthNs: sleep,
    deltaNextNs: tickStopped ? sleep : Math.min(sleep, TICK),
    latencyReqNs: Number.POSITIVE_INFINITY,
    tickStopped,
    nrIowaiters: 0,
    now: 0,
    tickNs: TICK,
    ...o,
  };
}
