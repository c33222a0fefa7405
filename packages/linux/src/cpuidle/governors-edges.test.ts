// The branches of menu and teo that the step-by-step traces of governors-linux.test.ts do not
// reach: early returns, the polling-state promotion, the stopped-tick and retained-tick paths, the
// measurement rules of menu_update and teo_update, teo's pattern refinement with the tick stopped.
// Each expected value is worked out in the comments from linux: drivers/cpuidle/governors/menu.c
// (v5.6+, ns units) and drivers/cpuidle/governors/teo.c (2020, hits/misses/early_hits), with the
// C integer arithmetic (u64 and unsigned int division truncating).
import { describe, expect, it } from "vitest";
import { ctx, DEEP, driver, POLLING, PSERIES, TICK } from "../test-helpers/governor-cases.js";
import { CpuidleDevice, type CpuidleGovernor } from "./core.js";
import { MenuGovernor, whichBucket } from "./menu.js";
import { cpuidleState } from "./state.js";
import { TeoGovernor } from "./teo.js";

const FOUR = POLLING;

/** select, stay idle `idle` ns, account, reflect; "name" or "name/tick" per step. */
function drive(
  gov: CpuidleGovernor,
  dev: CpuidleDevice,
  steps: number,
  sleep: number,
  idle: number,
  tickStopped = false,
): string[] {
  const picks: string[] = [];
  let now = 1_000_000;
  for (let k = 0; k < steps; k++) {
    const sel = gov.select(dev, ctx(sleep, { tickStopped, now }));
    picks.push(dev.drv.states[sel.index].name + (sel.stopTick ? "" : "/tick"));
    dev.account(sel.index, now, now + idle);
    now += idle;
    gov.reflect(dev, sel.index, { gotTick: false, now, tickNs: TICK });
    now += 5_000;
  }
  return picks;
}

const pick = (dev: CpuidleDevice, sel: { index: number; stopTick: boolean }) =>
  dev.drv.states[sel.index].name + (sel.stopTick ? "" : "/tick");

describe("menu_select edges", () => {
  it("returns state 0 at once: one state, a zero latency limit, a timer before state 1 pays off", () => {
    const one = new CpuidleDevice(0, driver(cpuidleState("snooze", "snooze", 0, 0)));
    expect(new MenuGovernor().select(one, ctx(1_000_000))).toEqual({ index: 0, stopTick: true });
    const polling = new CpuidleDevice(0, driver(cpuidleState("poll", "poll", 0, 0, true)));
    expect(new MenuGovernor().select(polling, ctx(1_000_000))).toEqual({ index: 0, stopTick: false });
    const dev = () => new CpuidleDevice(0, PSERIES);
    expect(new MenuGovernor().select(dev(), ctx(1_000_000, { latencyReqNs: 0 })).index).toBe(0);
    // a limit below stop0lite's 2 us exit latency, a timer before its 20 us residency
    expect(new MenuGovernor().select(dev(), ctx(1_000_000, { latencyReqNs: 1999 })).index).toBe(0);
    expect(new MenuGovernor().select(dev(), ctx(15_000))).toEqual({ index: 0, stopTick: true });
    expect(new MenuGovernor().select(dev(), ctx(20_000)).index).toBe(0); // predicted 0 (empty history)
  });

  it("with state 0 disabled the early return is skipped and the tick keeps stop0lite within delta_next", () => {
    // 15 us timer: predicted_us = (15000 * 8192 + 4096000) / 8192000 = 15; the empty history
    // gives a typical interval of 0, so predicted_ns = 0 and latency_req = 0. State 0 is
    // disabled: stop0lite is the first candidate; 0 < TICK keeps the tick; stop0lite's 20 us
    // residency is over delta_next (15 us) but no enabled state is shallower.
    const dev = new CpuidleDevice(0, PSERIES);
    dev.setDisabled("snooze", true);
    expect(pick(dev, new MenuGovernor().select(dev, ctx(15_000)))).toBe("stop0lite/tick");
  });

  it("a polling state 0 gives way to the first state whose latency fits and whose residency fits the timer", () => {
    // FOUR with stop0_lite disabled, 1 ms timers, 10 us idles in the polling snooze (exit latency
    // 0: measured 10 us). With k intervals of 10 us and 8 - k zeros the typical interval is
    // floor(10k / 8) us (variance <= 25): 1, 2, 3 us, then 5 us at k = 4. From 5 us on the latency
    // limit (predicted / 1) reaches stop1's 5 us exit latency and stop1's 50 us residency is
    // within the 1 ms timer: predicted_ns = 50 us, stop1. With a 40 us timer it never fits.
    const run = (sleep: number) => {
      const dev = new CpuidleDevice(0, FOUR);
      dev.setDisabled("stop0_lite", true);
      return drive(new MenuGovernor(), dev, 5, sleep, 10_000);
    };
    expect(run(1_000_000)).toEqual([...Array(4).fill("snooze/tick"), "stop1/tick"]);
    expect(run(40_000)).toEqual(Array(5).fill("snooze/tick"));
  });

  it("a prediction past the tick: with the tick running the shallower state and its residency; stopped, the deeper one", () => {
    // DEEP, 30 ms timers, 12 ms idles. Tick running: snooze (exit 0) measures 12 ms; the history
    // gives 0 until all eight are 12000 us (the outlier pass ends on the zeros, variance 0), then
    // 12000. Bucket 4's factor after eight updates (f - f/8 + 1024 * 12e6 / 30e6 = f - f/8 + 409):
    // 7577 7039 6569 6157 5797 5482 5206 4965: predicted_us = (30e6 * 4965 + 4096000) / 8192000
    // = 18182 > 12000: predicted 12 ms. stopB's 20 ms residency is over it and 12 ms >= TICK:
    // the tick runs, so predicted_ns = stopA's 1 ms residency, stopA, and 1 ms < TICK keeps the tick.
    const running = drive(new MenuGovernor(), new CpuidleDevice(0, DEEP), 9, 30_000_000, 12_000_000);
    expect(running).toEqual([...Array(8).fill("snooze/tick"), "stopA/tick"]);
    // Tick stopped: a prediction under TICK is replaced by delta_next (30 ms): stopB each time,
    // which measures 12 ms - 100 us = 11900 us. With eight of those the prediction is 11.9 ms
    // (>= TICK): stopB's residency is over it, but stopA's is under TICK and stopB's is within
    // delta_next, so stopB is kept.
    const stopped = drive(new MenuGovernor(), new CpuidleDevice(0, DEEP), 9, 30_000_000, 12_000_000, true);
    expect(stopped).toEqual(Array(9).fill("stopB"));
  });

  it("a retained tick: the state's residency must fit delta_next, disabled states skipped", () => {
    // a 300 us typical interval and a 1 ms timer pick CEDE (100 us); the tick is due in 50 us
    const sel = (disable?: string) => {
      const gov = new MenuGovernor();
      const dev = new CpuidleDevice(0, PSERIES);
      gov.data(0).intervals.fill(300);
      if (disable) dev.setDisabled(disable, true);
      return pick(dev, gov.select(dev, ctx(1_000_000, { deltaNextNs: 50_000 })));
    };
    expect(sel()).toBe("stop0lite/tick");
    expect(sel("stop0lite")).toBe("snooze/tick");
    const gov = new MenuGovernor();
    const dev = new CpuidleDevice(0, PSERIES);
    gov.data(0).intervals.fill(300);
    expect(pick(dev, gov.select(dev, ctx(1_000_000)))).toBe("CEDE/tick");
  });
});

describe("menu_update measurements", () => {
  it("a polling state left on its time limit counts the whole time till the timer", () => {
    const run = (pollTimeLimit: boolean) => {
      const gov = new MenuGovernor();
      const dev = new CpuidleDevice(0, FOUR);
      const first = gov.select(dev, ctx(1_000_000));
      expect(first.index).toBe(0);
      dev.account(0, 0, 200_000);
      dev.pollTimeLimit = pollTimeLimit;
      gov.reflect(dev, 0, { gotTick: false, now: 200_000, tickNs: TICK });
      gov.select(dev, ctx(1_000_000));
      const d = gov.data(0);
      return [d.correctionFactor[3], d.intervals[0]];
    };
    // 8192 - 1024 + 1024 * 1e6 / 1e6 = 8192 / 7168 + 1024 * 200000 / 1e6 = 7372
    expect(run(true)).toEqual([8192, 1000]);
    expect(run(false)).toEqual([7372, 200]);
  });

  it("an idle period up to twice the exit latency is halved, a longer one loses the exit latency", () => {
    const run = (residency: number) => {
      const gov = new MenuGovernor();
      const dev = new CpuidleDevice(0, PSERIES);
      gov.data(0).intervals.fill(300);
      expect(gov.select(dev, ctx(1_000_000)).index).toBe(2); // CEDE, exit latency 10 us
      dev.account(2, 0, residency);
      gov.reflect(dev, 2, { gotTick: false, now: residency, tickNs: TICK });
      gov.select(dev, ctx(1_000_000));
      return [gov.data(0).correctionFactor[3], gov.data(0).intervals[0]];
    };
    // 15 us <= 20 us: 7.5 us; 7168 + 1024 * 7500 / 1e6 = 7175
    expect(run(15_000)).toEqual([7175, 7]);
    // exactly 20 us: still halved (the C test is measured_ns > 2 * exit_latency_ns)
    expect(run(20_000)).toEqual([7178, 10]);
    // 21 us: 21 - 10 = 11 us; 7168 + 11 = 7179
    expect(run(21_000)).toEqual([7179, 11]);
    // a measurement longer than the timer is cut to it: 3 ms idle, 1 ms timer -> 1 ms, 8192
    expect(run(3_000_000)).toEqual([8192, 1000]);
  });

  it("which_bucket: decades from 10 us to 100 ms, the upper half with I/O waiters", () => {
    const edges = [
      0, 9_999, 10_000, 99_999, 100_000, 999_999, 1_000_000, 9_999_999, 10_000_000, 99_999_999, 100_000_000,
    ];
    expect(edges.map((ns) => whichBucket(ns, 0))).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5]);
    expect(edges.map((ns) => whichBucket(ns, 2))).toEqual([6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11]);
  });
});

describe("teo edges", () => {
  it("a wakeup by the tick after a sleep longer than the tick counts as idle for the whole sleep length", () => {
    const run = (how: "tick" | "poll limit" | "event") => {
      const gov = new TeoGovernor();
      const dev = new CpuidleDevice(0, PSERIES);
      expect(gov.select(dev, ctx(50_000_000, { now: 0 }))).toEqual({ index: 2, stopTick: true });
      dev.account(2, 0, 3_000_000);
      if (how === "poll limit") dev.pollTimeLimit = true;
      gov.reflect(dev, 2, { gotTick: how === "tick", now: 3_000_000, tickNs: TICK });
      expect(dev.pollTimeLimit).toBe(false);
      gov.select(dev, ctx(50_000_000, { now: 4_000_000 }));
      const d = gov.data(dev);
      return [d.intervals[0], d.states[2].hits, d.states[2].misses];
    };
    // time_span_ns = sleep_length_ns: measured_ns = U64_MAX, a hit of CEDE
    expect(run("tick")).toEqual([Number.MAX_SAFE_INTEGER, 1024, 0]);
    expect(run("poll limit")).toEqual([Number.MAX_SAFE_INTEGER, 1024, 0]);
    // an event after 3 ms: 3 ms - 10 us / 2 = 2995000 ns, also a hit of CEDE
    expect(run("event")).toEqual([2_995_000, 1024, 0]);
  });

  it("teo_update: shorter than the exit latency is halved; misses and early hits decay by 1/8", () => {
    const gov = new TeoGovernor();
    const dev = new CpuidleDevice(0, PSERIES);
    // fresh data: no hits, no misses, no early hits: CEDE for a 1 ms timer
    expect(drive(gov, dev, 1, 1_000_000, 8_000)).toEqual(["CEDE/tick"]);
    // 8 us in CEDE (exit latency 10 us): measured 4 us: a miss of CEDE, an early hit of snooze
    // (the only state within 4 us). Next: CEDE's hits (0) <= misses (1024), snooze has the most
    // early hits: snooze, duration 0
    expect(drive(gov, dev, 1, 1_000_000, 8_000)).toEqual(["snooze/tick"]);
    let d = gov.data(dev);
    expect([d.intervals[0], d.states[2].misses, d.states[0].earlyHits]).toEqual([4_000, 1024, 1024]);
    // 8 us in snooze (exit latency 0): measured 8 us, a miss again: 1024 - 128 + 1024 = 1920;
    // snooze's early hits 1024 - 128 + 1024 = 1920
    drive(gov, dev, 1, 1_000_000, 8_000);
    d = gov.data(dev);
    expect([d.intervals[1], d.states[2].misses, d.states[0].earlyHits, d.states[2].hits]).toEqual([
      8_000, 1920, 1920, 0,
    ]);
    // 30 us idles hit stop0lite's bin (20 us): its early hits grow, snooze's decay
    const g2 = new TeoGovernor();
    const d2 = new CpuidleDevice(0, PSERIES);
    drive(g2, d2, 2, 1_000_000, 30_000);
    // first: CEDE 30 us - 5 us = 25 us -> stop0lite early hit; second select: stop0lite
    expect(g2.data(d2).states[1].earlyHits).toBe(1024);
    expect(g2.data(d2).intervals[0]).toBe(25_000);
  });

  it("the recent idle durations refine the choice only when that time is long enough with the tick stopped", () => {
    const sel = (tickStopped: boolean) => {
      const gov = new TeoGovernor();
      const dev = new CpuidleDevice(0, PSERIES);
      const d = gov.data(dev);
      d.intervals.fill(30_000);
      d.states[2].hits = 5000; // CEDE is reliable for the timer
      return pick(dev, gov.select(dev, ctx(50_000_000, { tickStopped })));
    };
    // eight 30 us intervals under the 50 ms sleep length: average 30 us. Tick running: CEDE's
    // 100 us residency is over it, stop0lite (20 us) fits, and 30 us < TICK keeps the tick.
    expect(sel(false)).toBe("stop0lite/tick");
    // tick stopped: 30 us < TICK is not "time ok": CEDE stays
    expect(sel(true)).toBe("CEDE");
  });

  it("a retained tick: the state's residency must fit delta_next", () => {
    const sel = (disable?: string) => {
      const gov = new TeoGovernor();
      const dev = new CpuidleDevice(0, PSERIES);
      if (disable) dev.setDisabled(disable, true);
      return pick(dev, gov.select(dev, ctx(1_000_000, { deltaNextNs: 50_000 })));
    };
    expect(sel()).toBe("stop0lite/tick");
    expect(sel("stop0lite")).toBe("snooze/tick");
  });

  it("four or fewer short intervals out of eight leave the choice alone", () => {
    const sel = (short: number) => {
      const gov = new TeoGovernor();
      const dev = new CpuidleDevice(0, PSERIES);
      const d = gov.data(dev);
      d.intervals.fill(Number.MAX_SAFE_INTEGER);
      for (let i = 0; i < short; i++) d.intervals[i] = 30_000;
      d.states[2].hits = 5000;
      return pick(dev, gov.select(dev, ctx(50_000_000)));
    };
    expect(sel(4)).toBe("CEDE");
    expect(sel(5)).toBe("stop0lite/tick");
  });
});

describe("cpuidle_enter_state accounting (drivers/cpuidle/cpuidle.c)", () => {
  /** Enters `name` for `ns` on a fresh PSERIES device with `disabled` states; that state's sysfs line. */
  const enter = (name: string, ns: number, disabled: string[] = []) => {
    const dev = new CpuidleDevice(0, PSERIES);
    for (const d of disabled) dev.setDisabled(d, true);
    const i = PSERIES.states.findIndex((s) => s.name === name);
    dev.account(i, 1000, 1000 + ns);
    expect(dev.lastResidencyNs).toBe(ns);
    const { usage, time, above, below } = dev.sysfs()[i];
    return { usage, time, above, below };
  };

  it("above: shorter than the target residency while a shallower state is enabled", () => {
    expect(enter("stop0lite", 10_500)).toEqual({ usage: 1, time: 10, above: 1, below: 0 });
    expect(enter("stop0lite", 10_500, ["snooze"])).toEqual({ usage: 1, time: 10, above: 0, below: 0 });
    expect(enter("stop0lite", 20_000)).toEqual({ usage: 1, time: 20, above: 0, below: 0 }); // exactly the residency
    expect(enter("CEDE", 50_000, ["stop0lite"])).toEqual({ usage: 1, time: 50, above: 1, below: 0 });
    expect(enter("snooze", 0).above).toBe(0);
  });

  it("below: long enough, after the exit latency, for the next enabled deeper state", () => {
    // stop0lite 200 us: 200 - 2 = 198 us >= CEDE's 100 us
    expect(enter("stop0lite", 200_000).below).toBe(1);
    expect(enter("stop0lite", 102_000).below).toBe(1); // 102 - 2 = 100: exactly CEDE's residency
    expect(enter("stop0lite", 101_999).below).toBe(0);
    expect(enter("stop0lite", 200_000, ["CEDE"]).below).toBe(0);
    // only the first enabled deeper state is looked at: snooze 50 us fits stop0lite (20 us)...
    expect(enter("snooze", 50_000).below).toBe(1);
    // ...but with stop0lite disabled the next one is CEDE (100 us): not below
    expect(enter("snooze", 50_000, ["stop0lite"]).below).toBe(0);
    expect(enter("snooze", 150_000, ["stop0lite"]).below).toBe(1);
    // no longer than the exit latency: neither above nor below
    expect(enter("CEDE", 100_000)).toEqual({ usage: 1, time: 100, above: 0, below: 0 });
  });

  it("a failed entry and an entry that never happened", () => {
    const dev = new CpuidleDevice(0, PSERIES);
    dev.account(1, 0, 5000);
    dev.account(-1, 0, 7000);
    expect(dev.lastResidencyNs).toBe(0);
    dev.account(1, 0, 5000);
    dev.reject(1);
    expect(dev.lastResidencyNs).toBe(0);
    expect(dev.sysfs()[1]).toMatchObject({
      usage: 2,
      time: 10,
      rejected: 1,
      latency: 2,
      residency: 20,
      disable: 0,
    });
    dev.setDisabled("CEDE", true);
    expect(dev.sysfs().map((s) => s.disable)).toEqual([0, 0, 1]);
    dev.setDisabled("CEDE", false);
    expect(dev.sysfs()[2].disable).toBe(0);
    expect(() => dev.setDisabled("stop11", true)).toThrow(
      "cpu0: no idle state named 'stop11'; states are snooze, stop0lite, CEDE",
    );
  });
});
