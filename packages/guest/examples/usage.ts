// The menu cpuidle governor (@stopsim/linux) on the guest's pseries table, fed a trace of idle
// periods as the idle loop would feed it: before each period it is told how far the next timer is (tick_nohz_get_sleep_length); after
// it, how long the CPU really stayed idle (cpuidle_enter_state's accounting, then menu_reflect).
// A device interrupt that keeps waking the CPU after ~30 us, with the next timer 4 ms away, is a
// repeating pattern: menu first predicts from its empty history (zeros: snooze), then from the
// last 8 intervals (~30 us: stop0lite rather than Shared Cede); once the CPU stays idle until its
// timer, the new intervals replace the old ones and Shared Cede comes back.
import assert from "node:assert/strict";
import { type PseriesIdleDriver, pseriesIdleProbe } from "@stopsim/guest";
import { CpuidleDevice, MenuGovernor } from "@stopsim/linux";

// The table a KVM guest registers: the VPA's LPPACA_OLD_SHARED_PROC bit says shared, so
// pseries_idle_probe picks shared_states, with patch 3's stop0lite (snooze, stop0lite, Shared Cede).
const driver: PseriesIdleDriver = pseriesIdleProbe({
  shared: true,
  lppacaOldStatus: 0x02,
  stop0lite: "always",
  cpuFeatures: 0n,
  stopLitePermitted: false,
  tbFreq: 512_000_000,
});
const dev = new CpuidleDevice(0, driver);
const menu = new MenuGovernor();
const TICK_NS = 10_000_000; // HZ=100

/** One idle period: the next timer is `nextTimerUs` away, something wakes the CPU after `idleUs`. */
function idle(now: number, nextTimerUs: number, idleUs: number): { state: string; now: number } {
  const { index } = menu.select(dev, {
    sleepLengthNs: nextTimerUs * 1000,
    deltaNextNs: Math.min(nextTimerUs * 1000, TICK_NS),
    latencyReqNs: Number.POSITIVE_INFINITY,
    tickStopped: false, // the tick still runs (menu_select then keeps the pattern's prediction)
    nrIowaiters: 0,
    now,
    tickNs: TICK_NS,
  });
  const end = now + idleUs * 1000;
  dev.account(index, now, end);
  menu.reflect(dev, index, { gotTick: false, now: end, tickNs: TICK_NS });
  return { state: driver.states[index].name, now: end + 5_000 };
}

const trace = [
  ...Array.from({ length: 12 }, (_, i) => ({ nextTimerUs: 4000, idleUs: 28 + (i % 5) })), // ~30 us wakeups
  ...Array.from({ length: 12 }, () => ({ nextTimerUs: 4000, idleUs: 4000 })), // then quiet until the timer
];
let now = 0;
const picks: string[] = [];
for (const { nextTimerUs, idleUs } of trace) {
  const r = idle(now, nextTimerUs, idleUs);
  picks.push(r.state);
  now = r.now;
}
console.log(picks.map((s, i) => `${trace[i].idleUs}us:${s}`).join(" "));
assert.equal(picks[0], "snooze", "an empty history reads as 8 zero-length intervals");
assert.equal(picks[10], "stop0lite", "the ~30 us pattern is detected");
assert.equal(picks.at(-1), "Shared Cede", "long idle periods bring Shared Cede back");
const usage = Object.fromEntries(dev.sysfs().map((s) => [s.name, s.usage]));
console.log("usage:", usage);
