// teo_select, teo_update and teo_reflect decision by decision at the boundaries of each
// comparison. The model follows linux: drivers/cpuidle/governors/teo.c as of v5.7-v5.12 (2020:
// per-state hits/misses/early_hits, teo_update measuring last_residency_ns, u64 durations): there
// the recent idle durations refine any candidate deeper than state 0 (`idx > 0`), and a retained
// tick looks for a shallower state from any `idx > 0`. The first enabled state (`idx0`) came with
// "cpuidle: teo: Take negative "sleep length" values into account" (R. Wysocki, linux-pm,
// 2021-03-29, v5.13). Expected values are worked out in the comments with C's integer arithmetic.
import { describe, expect, it } from "vitest";
import { ctx, DEEP, driver, PSERIES, TICK } from "../test-helpers/governor-cases.js";
import { CpuidleDevice } from "./core.js";
import { type CpuidleDriver, cpuidleState } from "./state.js";
import { TeoGovernor } from "./teo.js";

const U64_MAX = Number.MAX_SAFE_INTEGER;

const name = (drv: CpuidleDriver, sel: { index: number; stopTick: boolean }) =>
  drv.states[sel.index].name + (sel.stopTick ? "" : "/tick");

/** A fourth state deeper than stopB, for the early-hit choice with the tick stopped. */
const QUAD = driver(
  cpuidleState("snooze", "snooze", 0, 0),
  cpuidleState("stopA", "stopA", 10, 1000),
  cpuidleState("stopB", "stopB", 100, 20_000),
  cpuidleState("stopC", "stopC", 200, 30_000),
);

/** A fresh governor and device with `disabled` states; `setup` edits the per-CPU data first. */
function fresh(drv: CpuidleDriver, disabled: string[] = []) {
  const gov = new TeoGovernor();
  const dev = new CpuidleDevice(0, drv);
  for (const s of disabled) dev.setDisabled(s, true);
  return { gov, dev, d: gov.data(dev) };
}

describe("teo_select, boundary by boundary", () => {
  it("the recent idle durations refine any candidate deeper than state 0, even the only enabled one", () => {
    // snooze and CEDE disabled: stop0lite is the candidate (v5.13 would call it idx0 and skip
    // the refinement). Eight 30 us intervals under the 50 ms sleep length: average 30 us, time
    // ok with the tick running: duration 30 us, below TICK_NSEC: the tick is kept.
    const a = fresh(PSERIES, ["snooze", "CEDE"]);
    a.d.intervals.fill(30_000);
    expect(name(PSERIES, a.gov.select(a.dev, ctx(50_000_000)))).toBe("stop0lite/tick");
    // state 0 itself is never refined: the 50 ms duration stops the tick
    const b = fresh(PSERIES, ["stop0lite", "CEDE"]);
    b.d.intervals.fill(30_000);
    expect(name(PSERIES, b.gov.select(b.dev, ctx(50_000_000)))).toBe("snooze");
  });

  it("with every state disabled state 0 must be used", () => {
    const { gov, dev } = fresh(PSERIES, ["snooze", "stop0lite", "CEDE"]);
    expect(gov.select(dev, ctx(50_000_000))).toEqual({ index: 0, stopTick: true });
  });

  it("a state whose residency equals the sleep length is a candidate; the first enabled one over it ends the search", () => {
    const sel = (sleep: number) => {
      const { gov, dev } = fresh(PSERIES);
      return name(PSERIES, gov.select(dev, ctx(sleep)));
    };
    // 20 us: stop0lite (20 us) is in; no hits or misses yet and no early hits: stop0lite
    expect(sel(20_000)).toBe("stop0lite/tick");
    // 10 us: stop0lite is over it, snooze stays
    expect(sel(10_000)).toBe("snooze/tick");
    // tick stopped, 10 us: snooze, nothing retained-tick related moves it
    const t = fresh(PSERIES);
    expect(name(PSERIES, t.gov.select(t.dev, ctx(10_000, { tickStopped: true })))).toBe("snooze");
    // snooze disabled, 10 us: the first enabled state is taken even though it is over the sleep
    // length (idx = i before the break); no shallower enabled state for delta_next
    const c = fresh(PSERIES, ["snooze"]);
    expect(name(PSERIES, c.gov.select(c.dev, ctx(10_000)))).toBe("stop0lite/tick");
  });

  it("a disabled state counts for the sleep length up to its residency, not beyond", () => {
    // CEDE disabled with 5000 misses; stop0lite has 5000 hits; snooze 2048 early hits.
    const sel = (sleep: number) => {
      const { gov, dev, d } = fresh(PSERIES, ["CEDE"]);
      d.states[2].misses = 5000;
      d.states[1].hits = 5000;
      d.states[0].earlyHits = 2048;
      return name(PSERIES, gov.select(dev, ctx(sleep)));
    };
    // 100 us = CEDE's residency: CEDE's hits (0) and misses (5000) decide: misses win, the
    // early-hit state (snooze) is taken
    expect(sel(100_000)).toBe("snooze/tick");
    // 50 us: CEDE is skipped, stop0lite's 5000 hits win
    expect(sel(50_000)).toBe("stop0lite/tick");
  });

  it("a disabled state passes its early hits to the candidate before it, state 0 included", () => {
    // stop0lite disabled; CEDE (the sleep-length state) missed more than it hit.
    const sel = (stop0liteEarlyHits: number) => {
      const { gov, dev, d } = fresh(PSERIES, ["stop0lite"]);
      d.states[1].earlyHits = stop0liteEarlyHits;
      d.states[2].misses = 1024;
      return name(PSERIES, gov.select(dev, ctx(1_000_000)));
    };
    // stop0lite's early hits (2048) go to the candidate before it, snooze: snooze
    expect(sel(2048)).toBe("snooze/tick");
    // none: no early-hit state at all, CEDE stays
    expect(sel(0)).toBe("CEDE/tick");
  });

  it("a disabled state before any enabled one passes its early hits to no one", () => {
    // snooze disabled with 2048 early hits: no candidate yet, skipped. stop0lite's 1024 early
    // hits make it the maximum; CEDE missed more than it hit: stop0lite
    const { gov, dev, d } = fresh(PSERIES, ["snooze"]);
    d.states[0].earlyHits = 2048;
    d.states[1].earlyHits = 1024;
    d.states[2].misses = 1024;
    expect(name(PSERIES, gov.select(dev, ctx(1_000_000)))).toBe("stop0lite/tick");
  });

  it("a disabled state after the early-hit maximum raises its count but keeps the previous maximum", () => {
    // snooze 1024 early hits (max 0), stop0lite 2048 (max 1, prev 0); CEDE disabled with 4096:
    // the candidate stop0lite is the maximum, so only the count rises. CEDE's hits (0) and misses
    // (1024) decide: the candidate is the maximum, so the previous maximum, snooze, is taken.
    const { gov, dev, d } = fresh(PSERIES, ["CEDE"]);
    d.states[0].earlyHits = 1024;
    d.states[1].earlyHits = 2048;
    d.states[2].earlyHits = 4096;
    d.states[2].misses = 1024;
    expect(name(PSERIES, gov.select(dev, ctx(1_000_000)))).toBe("snooze/tick");
  });

  it("tick stopped: a candidate shallower than the tick does not take a disabled state's early hits", () => {
    // stopB disabled with 1024 early hits; the candidate before it, stopA (1 ms), is not "time
    // ok" with the tick stopped: no early-hit state. stopC missed more than it hit but there is
    // nothing to defer to: stopC.
    const { gov, dev, d } = fresh(QUAD, ["stopB"]);
    d.states[2].earlyHits = 1024;
    d.states[3].misses = 1024;
    expect(name(QUAD, gov.select(dev, ctx(50_000_000, { tickStopped: true })))).toBe("stopC");
  });

  it("when the candidate is the only early-hit maximum, no previous maximum means no change", () => {
    const { gov, dev, d } = fresh(PSERIES);
    d.states[2].earlyHits = 1024;
    d.states[2].misses = 1024;
    // CEDE: max_early_idx = 2 (prev -1); hits 0 <= misses: idx == max -> max = prev = -1: CEDE
    expect(name(PSERIES, gov.select(dev, ctx(1_000_000)))).toBe("CEDE/tick");
  });

  it("the PM QoS limit: an exit latency equal to it is allowed", () => {
    // constraint_idx is the first state whose exit latency is over the limit (2020 teo.c)
    const sel = (latencyReqNs: number) => {
      const { gov, dev } = fresh(PSERIES);
      return name(PSERIES, gov.select(dev, ctx(1_000_000, { latencyReqNs })));
    };
    expect(sel(2_000)).toBe("CEDE/tick"); // stop0lite's 2 us is not over it; CEDE's 10 us is
    expect(sel(1_999)).toBe("stop0lite/tick"); // stop0lite is over it
  });

  it("an average equal to the candidate's residency keeps it; with the tick stopped, one of TICK_NSEC is time ok", () => {
    // eight 100 us intervals under a 50 ms sleep length: average 100 us = CEDE's residency
    const a = fresh(PSERIES);
    a.d.intervals.fill(100_000);
    a.d.states[2].hits = 5000;
    expect(name(PSERIES, a.gov.select(a.dev, ctx(50_000_000)))).toBe("CEDE/tick");
    // DEEP, tick stopped, eight 10 ms intervals: teo_time_ok(10 ms) as 10 ms >= TICK_NSEC, so the
    // duration becomes 10 ms and stopB (20 ms) gives way to stopA
    const b = fresh(DEEP);
    b.d.intervals.fill(TICK);
    b.d.states[2].hits = 5000;
    expect(name(DEEP, b.gov.select(b.dev, ctx(50_000_000, { tickStopped: true })))).toBe("stopA");
  });

  it("a duration of exactly TICK_NSEC lets the tick stop", () => {
    const { gov, dev } = fresh(PSERIES);
    expect(name(PSERIES, gov.select(dev, ctx(TICK)))).toBe("CEDE");
  });

  it("the retained tick: a residency equal to delta_next stays, longer ones step down to the first that fits", () => {
    const sel = (deltaNextNs: number) => {
      const { gov, dev } = fresh(PSERIES);
      return name(PSERIES, gov.select(dev, ctx(1_000_000, { deltaNextNs })));
    };
    expect(sel(100_000)).toBe("CEDE/tick");
    expect(sel(20_000)).toBe("stop0lite/tick");
    expect(sel(10_000)).toBe("snooze/tick");
  });

  it("the governor registers as teo (teo.c teo_governor.name)", () => {
    expect(new TeoGovernor().name).toBe("teo");
  });
});

describe("teo_update and teo_reflect, boundary by boundary", () => {
  /** select with `sleep` at time 0, stay `idle` ns, reflect, select again. */
  function after(drv: CpuidleDriver, sleep: number, idle: number, gotTick = false) {
    const { gov, dev, d } = fresh(drv);
    const sel = gov.select(dev, ctx(sleep));
    dev.account(sel.index, 0, idle);
    gov.reflect(dev, sel.index, { gotTick, now: idle, tickNs: TICK });
    gov.select(dev, ctx(sleep, { now: idle + 1000 }));
    return { d, first: sel.index };
  }

  it("the sleep-length state includes a residency equal to the sleep length", () => {
    // 100 us: CEDE (first choice with no metrics). 60 us in CEDE: measured 60 - 10 / 2 = 55 us.
    // idx_timer = CEDE (100 us <= 100 us), idx_hit = stop0lite: a miss of CEDE, an early hit of
    // stop0lite
    const { d, first } = after(PSERIES, 100_000, 60_000);
    expect(first).toBe(2);
    expect([d.states[2].misses, d.states[1].earlyHits, d.states[1].hits]).toEqual([1024, 1024, 0]);
  });

  it("the measured state includes a residency equal to the measured time", () => {
    // 1 ms: CEDE; 25 us in it: measured 25 - 5 = 20 us = stop0lite's residency: its early hit
    const { d } = after(PSERIES, 1_000_000, 25_000);
    expect([d.states[2].misses, d.states[1].earlyHits, d.states[0].earlyHits]).toEqual([1024, 1024, 0]);
  });

  it("a sleep length below stop0lite's residency updates snooze's hits", () => {
    // 10 us: only snooze is within it; 5 us in snooze: a hit of snooze
    const { d } = after(PSERIES, 10_000, 5_000);
    expect([d.states[0].hits, d.states[0].misses]).toEqual([1024, 0]);
  });

  it("a tick wakeup is a safety net only when the sleep length was beyond the tick", () => {
    // 10 ms = TICK_NSEC: not beyond; 3 ms in CEDE: measured 3 ms - 5 us
    expect(after(PSERIES, TICK, 3_000_000, true).d.intervals[0]).toBe(2_995_000);
    // 10 ms + 1 ns: time_span_ns = sleep_length_ns: measured U64_MAX
    expect(after(PSERIES, TICK + 1, 3_000_000, true).d.intervals[0]).toBe(U64_MAX);
  });

  it("the ninth measurement overwrites the first: eight saved intervals", () => {
    // snooze only (exit latency 0): measured_ns is the idle time itself, 10, 20, ... 100 us
    const { gov, dev, d } = fresh(PSERIES, ["stop0lite", "CEDE"]);
    let now = 0;
    for (let k = 1; k <= 10; k++) {
      const sel = gov.select(dev, ctx(1_000_000, { now }));
      dev.account(sel.index, now, now + k * 10_000);
      now += k * 10_000;
      gov.reflect(dev, sel.index, { gotTick: false, now, tickNs: TICK });
    }
    gov.select(dev, ctx(1_000_000, { now }));
    // measurements 9 and 10 are in slots 0 and 1, 3 to 8 in slots 2 to 7
    expect(d.intervalIdx).toBe(2);
    expect(d.intervals).toEqual([90_000, 100_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000]);
  });

  it("teo_update runs once per reflect: a second select leaves the metrics alone", () => {
    const { gov, dev, d } = fresh(PSERIES);
    gov.select(dev, ctx(1_000_000));
    dev.account(2, 0, 500_000);
    gov.reflect(dev, 2, { gotTick: false, now: 500_000, tickNs: TICK });
    gov.select(dev, ctx(1_000_000, { now: 501_000 }));
    expect([d.intervalIdx, d.states[2].hits]).toEqual([1, 1024]);
    gov.select(dev, ctx(1_000_000, { now: 502_000 }));
    expect([d.intervalIdx, d.states[2].hits]).toEqual([1, 1024]);
  });
});
