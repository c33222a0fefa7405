// menu_select and menu_update decision by decision at the boundaries of each comparison: the
// early return, the rounding of the prediction, the stopped and the running tick at exactly
// TICK_NSEC, the latency limit, the retained tick's delta_next, and the measurement rules.
// Every expected value is worked out in the comments from linux: drivers/cpuidle/governors/menu.c
// (v5.7: ns units, `div64_u64(RESOLUTION * measured_ns, data->next_timer_ns)`), with C's
// truncating integer division. A "primed" governor has a history that makes
// get_typical_interval give up (every interval at least the prediction: "discarded anyway"), so
// the prediction is next_timer_ns scaled by the bucket's correction factor alone.
import { describe, expect, it } from "vitest";
import { ctx, DEEP, driver, POLLING, PSERIES, TICK } from "../test-helpers/governor-cases.js";
import { CpuidleDevice } from "./core.js";
import { getTypicalInterval, MenuDevice, MenuGovernor, whichBucket } from "./menu.js";
import { type CpuidleDriver, cpuidleState } from "./state.js";

const UINT_MAX = 0xffffffff;

/** stopT's target residency is exactly TICK_NSEC. */
const AT_TICK = driver(
  cpuidleState("snooze", "snooze", 0, 0),
  cpuidleState("stopT", "stopT", 10, 10_000),
  cpuidleState("stopB", "stopB", 100, 20_000),
);

/** A governor and device whose history never gives a typical interval; bucket factor `factor`. */
function primed(drv: CpuidleDriver, sleep: number, factor = 8192) {
  const gov = new MenuGovernor();
  const dev = new CpuidleDevice(0, drv);
  const d = gov.data(0);
  d.intervals.fill(4_000_000); // 4 s in us: at least any prediction here
  d.correctionFactor[whichBucket(sleep, 0)] = factor;
  return { gov, dev, d };
}

const name = (drv: CpuidleDriver, sel: { index: number; stopTick: boolean }) =>
  drv.states[sel.index].name + (sel.stopTick ? "" : "/tick");

describe("menu_select, boundary by boundary", () => {
  it("the early return: state 0 with the tick stopped unless state 0 polls; each condition alone", () => {
    // A fresh history (eight zeros) gives a typical interval of 0: past the early return the
    // prediction is 0, the latency limit 0, snooze, and 0 < TICK_NSEC keeps the tick. The early
    // return instead says *stop_tick = !(states[0].flags & CPUIDLE_FLAG_POLLING): true.
    const sel = (sleep: number, latencyReqNs = Number.POSITIVE_INFINITY) =>
      name(PSERIES, new MenuGovernor().select(new CpuidleDevice(0, PSERIES), ctx(sleep, { latencyReqNs })));
    expect(sel(50_000_000, 0)).toBe("snooze"); // latency_req == 0
    expect(sel(19_999)).toBe("snooze"); // next_timer_ns < stop0lite's target residency
    expect(sel(20_000)).toBe("snooze/tick"); // equal: no early return
    expect(sel(1_000_000, 1_999)).toBe("snooze"); // latency_req < stop0lite's exit latency
    expect(sel(1_000_000, 2_000)).toBe("snooze/tick"); // equal: no early return
  });

  it("a zero latency limit returns state 0 even when state 0 is disabled", () => {
    // `latency_req == 0` is checked before anything else: state 0, tick stopped. Without it the
    // disabled snooze would be skipped and stop0lite, the first enabled state, taken.
    const dev = new CpuidleDevice(0, PSERIES);
    dev.setDisabled("snooze", true);
    expect(new MenuGovernor().select(dev, ctx(50_000_000, { latencyReqNs: 0 }))).toEqual({
      index: 0,
      stopTick: true,
    });
  });

  it("a polling state 0 gives way to a state whose residency is within the timer, equal included", () => {
    // FOUR-like table, stop0_lite disabled; bucket 1 factor 1024: predicted_us = (50000 * 1024 +
    // 4096000) / 8192000 = 6.75 -> 6 us, so the latency limit is 6 us. stop1 (5 us exit latency,
    // 50 us residency) is over the prediction and snooze polls: stop1 is taken when its 50 us
    // residency is within next_timer_ns, with predicted_ns = 50 us.
    const sel = (sleep: number) => {
      const { gov, dev, d } = primed(POLLING, sleep, 1024);
      dev.setDisabled("stop0_lite", true);
      return [name(POLLING, gov.select(dev, ctx(sleep))), d.lastPredictedNs];
    };
    expect(sel(50_000)).toEqual(["stop1/tick", 50_000]);
    // 49.999 us: (49999 * 1024 + 4096000) / 8192000 = 6.7 -> 6 us; stop1 does not fit the timer:
    // 6 us < TICK_NSEC ends the search on the polling snooze, which keeps the tick
    expect(sel(49_999)).toEqual(["snooze/tick", 6_000]);
  });

  it("with every state disabled the loop finds none and state 0 must be used", () => {
    // "No states enabled. Must use 0." State 0 disabled skips the early return; the loop leaves
    // idx at -1.
    const dev = new CpuidleDevice(0, PSERIES);
    for (const s of PSERIES.states) dev.setDisabled(s.name, true);
    expect(new MenuGovernor().select(dev, ctx(1_000_000))).toEqual({ index: 0, stopTick: false });
  });

  it("predicted_us rounds half a microsecond up: (next_timer_ns * factor + 4096000) / 8192000", () => {
    // 1500500 ns at unity (8192): (1500500 * 8192 + 4096000) / 8192000 = 12296192000 / 8192000
    // = 1501 exactly; all three states fit (CEDE's 100 us residency, 10 us exit latency under
    // the 1.501 ms limit), so the prediction is left as it is.
    const { gov, dev, d } = primed(PSERIES, 1_500_500);
    expect(gov.select(dev, ctx(1_500_500))).toEqual({ index: 2, stopTick: false });
    expect(d.lastPredictedNs).toBe(1_501_000);
    // a factor of 6000 in bucket 3: (1e6 * 6000 + 4096000) / 8192000 = 732.9 -> 732 us
    const p = primed(PSERIES, 1_000_000, 6000);
    p.gov.select(p.dev, ctx(1_000_000));
    expect(p.d.lastPredictedNs).toBe(732_000);
  });

  it("tick stopped: a prediction of exactly TICK_NSEC is kept, a longer one too", () => {
    // 20 ms timer, bucket 4 factor 4096: (20e6 * 4096 + 4096000) / 8192000 = 10000.5 -> 10000 us
    // = TICK_NSEC: not below it, so not replaced by delta_next. stopA fits, stopB (20 ms) is over
    // the prediction: stopA is shallower than the tick and stopB's residency is within delta_next
    // (20 ms): stopB, and the returned prediction stays 10 ms.
    const a = primed(DEEP, 20_000_000, 4096);
    expect(name(DEEP, a.gov.select(a.dev, ctx(20_000_000, { tickStopped: true })))).toBe("stopB");
    expect(a.d.lastPredictedNs).toBe(10_000_000);
    // 30 ms, factor 4096: 15000 us, kept (>= TICK_NSEC); stopT (exactly TICK_NSEC) fits, stopB is
    // over 15 ms, and stopT's residency is not below TICK_NSEC: no promotion to stopB.
    const b = primed(AT_TICK, 30_000_000, 4096);
    expect(name(AT_TICK, b.gov.select(b.dev, ctx(30_000_000, { tickStopped: true })))).toBe("stopT");
    expect(b.d.lastPredictedNs).toBe(15_000_000);
  });

  it("tick stopped: the deeper state is taken when its residency fits delta_next, not when it exceeds it", () => {
    // 20 ms, factor 6144: (20e6 * 6144 + 4096000) / 8192000 = 15000.5 -> 15 ms; stopB's 20 ms
    // residency equals delta_next: stopB.
    const a = primed(DEEP, 20_000_000, 6144);
    expect(name(DEEP, a.gov.select(a.dev, ctx(20_000_000, { tickStopped: true })))).toBe("stopB");
    // 19 ms, factor 6144: 14250.5 -> 14.25 ms; stopB's 20 ms is over delta_next (19 ms): stopA.
    const b = primed(DEEP, 19_000_000, 6144);
    expect(name(DEEP, b.gov.select(b.dev, ctx(19_000_000, { tickStopped: true })))).toBe("stopA");
  });

  it("tick running: a prediction of exactly TICK_NSEC takes the shallower state's residency and keeps the tick", () => {
    // DEEP, 20 ms, factor 4096: predicted 10 ms, latency limit 10 ms. stopB is over it; 10 ms is
    // not below TICK_NSEC and the tick runs: predicted_ns = stopA's 1 ms, break. 1 ms < TICK_NSEC
    // keeps the tick; stopA's residency is within delta_next (10 ms).
    const a = primed(DEEP, 20_000_000, 4096);
    expect(name(DEEP, a.gov.select(a.dev, ctx(20_000_000)))).toBe("stopA/tick");
    expect(a.d.lastPredictedNs).toBe(1_000_000);
    // PSERIES, same prediction: every state fits, the prediction stays 10 ms, which is not below
    // TICK_NSEC: the tick may be stopped.
    const b = primed(PSERIES, 20_000_000, 4096);
    expect(name(PSERIES, b.gov.select(b.dev, ctx(20_000_000)))).toBe("CEDE");
  });

  it("an exit latency equal to the latency limit is allowed, one over it ends the search", () => {
    // 1 ms at unity: predicted 1000 us; interactivity_req 1 ms is above the PM QoS limit.
    const sel = (latencyReqNs: number) => {
      const { gov, dev } = primed(PSERIES, 1_000_000);
      return name(PSERIES, gov.select(dev, ctx(1_000_000, { latencyReqNs })));
    };
    expect(sel(10_000)).toBe("CEDE/tick");
    expect(sel(9_999)).toBe("stop0lite/tick");
  });

  it("the retained tick: a residency equal to delta_next stays, longer ones step down to the first that fits", () => {
    // 1 ms at unity: CEDE, 1 ms < TICK_NSEC keeps the tick; delta_next is the next tick event
    const sel = (deltaNextNs: number) => {
      const { gov, dev } = primed(PSERIES, 1_000_000);
      return name(PSERIES, gov.select(dev, ctx(1_000_000, { deltaNextNs })));
    };
    expect(sel(100_000)).toBe("CEDE/tick"); // CEDE's 100 us is not over delta_next
    expect(sel(20_000)).toBe("stop0lite/tick"); // stop0lite's 20 us fits exactly
    expect(sel(10_000)).toBe("snooze/tick"); // stop0lite's 20 us does not: on to snooze
  });

  it("menu_update runs once per reflect: a second select without an idle period leaves the history alone", () => {
    const gov = new MenuGovernor();
    const dev = new CpuidleDevice(0, PSERIES);
    gov.select(dev, ctx(1_000_000));
    dev.account(0, 0, 300_000);
    gov.reflect(dev, 0, { gotTick: false, now: 300_000, tickNs: TICK });
    gov.select(dev, ctx(1_000_000));
    const d = gov.data(0);
    // bucket 3: 8192 - 1024 + 1024 * 300000 / 1e6 = 7475; intervals[0] = 300 us
    expect([d.intervalPtr, d.correctionFactor[3], d.intervals[0]]).toEqual([1, 7475, 300]);
    gov.select(dev, ctx(1_000_000));
    expect([d.intervalPtr, d.correctionFactor[3]]).toEqual([1, 7475]);
  });

  it("the governor registers as menu (menu.c menu_governor.name, shown by current_governor)", () => {
    expect(new MenuGovernor().name).toBe("menu");
  });
});

describe("menu_update, boundary by boundary", () => {
  /** select with `sleep`, stay `idle` ns in the chosen state, reflect, select again. */
  function after(sleep: number, idle: number, gotTick = false) {
    const gov = new MenuGovernor();
    const dev = new CpuidleDevice(0, PSERIES);
    const sel = gov.select(dev, ctx(sleep));
    dev.account(sel.index, 0, idle);
    gov.reflect(dev, sel.index, { gotTick, now: idle, tickNs: TICK });
    gov.select(dev, ctx(sleep));
    return gov.data(0);
  }

  it("a tick wakeup counts as a long sleep only when the timer was beyond the tick", () => {
    // 20 ms timer (bucket 4), woken by the tick: measured = 9 * MAX_INTERESTING / 10 = 45 ms,
    // capped at next_timer_ns: 20 ms; factor 8192 - 1024 + 1024 * 20e6 / 20e6 = 8192.
    let d = after(20_000_000, 3_000_000, true);
    expect([d.intervals[0], d.correctionFactor[4]]).toEqual([20_000, 8192]);
    // a 10 ms timer is not beyond TICK_NSEC: the 3 ms measured in snooze (exit latency 0) count;
    // 10 ms is in bucket 4 too: 7168 + 1024 * 3e6 / 10e6 = 7168 + 307 = 7475
    d = after(10_000_000, 3_000_000, true);
    expect([d.intervals[0], d.correctionFactor[4]]).toEqual([3_000, 7475]);
  });

  it("a zero next timer adds a whole RESOLUTION (no division by it)", () => {
    // sleep length 0: the early return (bucket 0); 5 us idle, capped at next_timer_ns = 0:
    // next_timer_ns is 0, so the else branch: 8192 - 1024 + 1024 = 8192, interval 0
    const d = after(0, 5_000);
    expect([d.correctionFactor[0], d.intervals[0]]).toEqual([8192, 0]);
  });

  it("measured_ns of MAX_INTERESTING (50 ms) or more counts as a perfect prediction", () => {
    // 100 ms timer (bucket 5), 50 ms in snooze: not below MAX_INTERESTING: 7168 + 1024 = 8192
    expect(after(100_000_000, 50_000_000).correctionFactor[5]).toBe(8192);
    // 49.999 ms: 7168 + 1024 * 49999000 / 1e8 = 7168 + 511 = 7679
    expect(after(100_000_000, 49_999_000).correctionFactor[5]).toBe(7679);
  });
});

describe("get_typical_interval, boundary by boundary", () => {
  const typical = (intervals: number[], predictedUs = 1000) => {
    const d = new MenuDevice();
    intervals.forEach((v, i) => {
      d.intervals[i] = v;
    });
    return getTypicalInterval(d, predictedUs);
  };

  it("avg^2 must be strictly over 36 variances: equal goes on to drop the outliers", () => {
    // four 150s, four 210s: avg 180, variance 900, 180^2 = 32400 = 36 * 900; 900 > 400; eight
    // values: thresh = 209, leaving the four 150s: variance 0 -> 150
    expect(typical([150, 150, 150, 150, 210, 210, 210, 210])).toBe(150);
  });

  it("a variance of exactly 400 is accepted", () => {
    // four 80s, four 120s: avg 100, variance 400 (100^2 = 10000 < 36 * 400): variance <= 400 -> 100
    expect(typical([80, 80, 80, 80, 120, 120, 120, 120])).toBe(100);
  });

  it("the spread test needs at least 3/4 of the intervals: 6 of 8 pass, 5 of 8 give up", () => {
    // pass 1 (two 100000 us outliers): avg 25772, variance 1836574594: rejected; thresh 99999.
    // pass 2: six values, avg 1030, variance 900 > 400 but 1030^2 > 36 * 900 and 6 * 4 >= 8 * 3
    expect(typical([1000, 1000, 1000, 1060, 1060, 1060, 100_000, 100_000], 5000)).toBe(1030);
    // three outliers: pass 2 keeps five, avg 1030, variance 720: 5 * 4 < 8 * 3 and variance > 400;
    // 5 * 4 <= 8 * 3: give up
    expect(typical([1000, 1000, 1060, 1060, 1030, 100_000, 100_000, 100_000], 5000)).toBe(UINT_MAX);
  });

  it("the next pass keeps a value of max - 1 in the average", () => {
    // pass 1: avg 2599 / 8 = 324, variance 151707: rejected; thresh = 999. pass 2: six 100s and
    // the 999: avg 1599 / 7 = 228, variance 98963: rejected, 7 * 4 > 24: thresh = 998. pass 3:
    // the six 100s: variance 0 -> 100. (Had the 999 been left out of pass 2's average, six values
    // with its deviation in the variance would have given up.)
    expect(typical([100, 100, 100, 100, 100, 100, 999, 1000])).toBe(100);
  });

  it("the next pass keeps values up to max - 1, in the sum and in the variance", () => {
    // pass 1: avg 32, variance 834 (1024 < 36 * 834): rejected; thresh = 70 - 1 = 69.
    // pass 2: five 10s and the 69: avg 119 / 6 = 19, variance (5 * 81 + 2500) / 6 = 484 > 400;
    // 6 * 4 <= 24: give up. (Without the 69 the five 10s would give 10; without it in the
    // variance alone, 405 / 6 = 67 would give 19.)
    expect(typical([10, 10, 10, 10, 10, 69, 70, 70])).toBe(UINT_MAX);
  });
});
