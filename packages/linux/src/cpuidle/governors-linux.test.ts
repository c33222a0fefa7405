// The menu and teo governors decision by decision against what linux's 2020 governors compute
// for given idle-interval histories and next-timer distances. Expected values were worked out
// from the C source with its integer arithmetic (u64/unsigned int division truncating):
// linux: drivers/cpuidle/governors/menu.c (v5.6+, ns units, after the correction-factor fix
// `div64_u64(RESOLUTION * measured_ns, next_timer_ns)`) and drivers/cpuidle/governors/teo.c
// (2020: per-state hits/misses/early_hits, last_residency_ns in teo_update, before the 2021
// rework into intercepts bins). The first steps of each trace are derived in the comments.
import { describe, expect, it } from "vitest";
import { CpuidleDevice, type CpuidleGovernor } from "./core.js";
import { getTypicalInterval, MenuDevice, MenuGovernor } from "./menu.js";
import { type CpuidleDriver, type CpuidleState, cpuidleState } from "./state.js";
import { TeoGovernor } from "./teo.js";

const TICK = 10_000_000; // TICK_NSEC at HZ=100
const UINT_MAX = 0xffffffff;

function driver(states: CpuidleState[]): CpuidleDriver {
  return { name: "test_idle", states };
}
/**
 * A table of three states with pseries' numbers: snooze 0/0, stop0lite 2/20 us, CEDE 10/100 us
 * (linux: drivers/cpuidle/cpuidle-pseries.c and RFC patch 3; the governors see only latencies,
 * residencies and the polling flag).
 */
const PSERIES = driver([
  cpuidleState("snooze", "snooze", 0, 0),
  cpuidleState("stop0lite", "Pauses the CPU", 2, 20),
  cpuidleState("CEDE", "CEDE", 10, 100),
]);

function st(name: string, latUs: number, resUs: number, polling = false): CpuidleState {
  return cpuidleState(name, name, latUs, resUs, polling);
}
/** A powernv-like table with a polling state 0 (CPUIDLE_FLAG_POLLING) and four states. */
const FOUR = driver([
  st("snooze", 0, 0, true),
  st("stop0_lite", 1, 1),
  st("stop1", 5, 50),
  st("stop2", 10, 1000),
]);

interface Step {
  /** time till the next timer (tick_nohz_get_sleep_length), ns */
  sleep: number;
  /** how long the CPU then stays idle (last_residency_ns), ns */
  idle: number;
}
const rep = (n: number, sleep: number, idle: number): Step[] =>
  Array.from({ length: n }, () => ({ sleep, idle }));

interface DriveOptions {
  tickStopped?: boolean;
  nrIowaiters?: number;
  latencyReqNs?: number;
  gotTick?: boolean;
  disabled?: number[];
}

/**
 * The idle loop around a governor: select with the sleep length (delta_next = the sleep length
 * capped at the tick while the tick runs), stay idle, account, reflect. Returns "state" per step,
 * with "/tick" when the governor kept the tick running (*stop_tick = false).
 */
function drive(gov: CpuidleGovernor, drv: CpuidleDriver, steps: Step[], o: DriveOptions = {}) {
  const dev = new CpuidleDevice(0, drv);
  for (const i of o.disabled ?? []) dev.statesUsage[i].disable = true;
  const stopped = o.tickStopped ?? false;
  let now = 0;
  const picks: string[] = [];
  for (const { sleep, idle } of steps) {
    const sel = gov.select(dev, {
      sleepLengthNs: sleep,
      deltaNextNs: stopped ? sleep : Math.min(sleep, TICK),
      latencyReqNs: o.latencyReqNs ?? Number.POSITIVE_INFINITY,
      tickStopped: stopped,
      nrIowaiters: o.nrIowaiters ?? 0,
      now,
      tickNs: TICK,
    });
    picks.push(drv.states[sel.index].name + (sel.stopTick ? "" : "/tick"));
    dev.account(sel.index, now, now + idle);
    now += idle;
    gov.reflect(dev, sel.index, { gotTick: o.gotTick ?? false, now, tickNs: TICK });
    now += 5_000;
  }
  return { picks, dev };
}

describe("menu (drivers/cpuidle/governors/menu.c)", () => {
  it("correction factor and repeating-pattern detection, step by step (1 ms timer, 300 us idles)", () => {
    const gov = new MenuGovernor();
    const { picks } = drive(gov, PSERIES, rep(11, 1_000_000, 300_000));
    // step 0: which_bucket(1 ms) = 3; predicted_us = (1e6 * 8192 + 4096000) / 8192000 = 1000;
    //   intervals are 8 zeros (menu_enable_device memsets them): get_typical_interval -> avg 0,
    //   variance 0 <= 400 -> 0, so predicted_ns = 0 and snooze; 0 < TICK keeps the tick.
    // step 1: menu_update: measured = 300000 (snooze exit latency 0); factor = 8192 - 8192/8 +
    //   1024 * 300000 / 1e6 = 7168 + 307 = 7475; intervals[0] = 300. predicted_us =
    //   (1e6 * 7475 + 4096000) / 8192000 = 912. Typical: all 8: avg 37, variance 9844 -> reject,
    //   divisor 8 > 6 -> thresh 299: the 7 zeros -> avg 0, variance 0 -> 0: snooze again.
    // steps 2-7: as long as one zero is left below the 300s, the outlier pass ends on the zeros.
    // step 8: eight 300s: avg 300, variance 0 -> predicted 300 us -> CEDE (100 us residency).
    // steps 9-10: CEDE's 10 us exit latency is deducted: intervals take 290.
    expect(picks).toEqual([...Array(8).fill("snooze/tick"), "CEDE/tick", "CEDE/tick", "CEDE/tick"]);
    const data = gov.data(0);
    // factors of bucket 3 after each update: 7475 6848 6299 5819 5399 5032 4710 4429 4172 3947
    expect(data.correctionFactor[3]).toBe(3947);
    expect(data.intervals).toEqual([290, 290, 300, 300, 300, 300, 300, 300]);
    expect(data.correctionFactor.filter((f, i) => i !== 3 && f !== 8192)).toEqual([]);
  });

  it("get_typical_interval: outliers dropped pass by pass, stopping at the bottom 3/4", () => {
    const typical = (intervals: number[], predictedUs: number) => {
      const d = new MenuDevice();
      intervals.forEach((v, i) => {
        d.intervals[i] = v;
      });
      return getTypicalInterval(d, predictedUs);
    };
    // two 5000s: pass 1 avg 1280, variance 4612800 (rejected); thresh 4999: six 40s -> 40
    expect(typical([40, 40, 40, 40, 40, 40, 5000, 5000], 1000)).toBe(40);
    // pass 2 keeps 6 values (avg 40, variance 600 > 400, 6*4 <= 8*3): gives up
    expect(typical([10, 40, 70, 10, 40, 70, 5000, 5000], 1000)).toBe(UINT_MAX);
    // three passes: 8 values, then 7 (avg 40, variance 514), then the 5 below 70: avg 28, variance 216
    expect(typical([10, 40, 70, 10, 40, 70, 40, 5000], 1000)).toBe(28);
    // a scattered history
    expect(typical([10, 200, 30, 400, 50, 600, 70, 800], 1000)).toBe(UINT_MAX);
    // every value at least the prediction: "discarded anyway"
    expect(typical([1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000], 1000)).toBe(UINT_MAX);
    // thresh starts at INT_MAX: intervals above it (idle periods over ~35 minutes, in us) are
    // left out of the first pass; with all eight there, nothing is left and the answer is UINT_MAX
    expect(typical(Array(8).fill(3_000_000_000), 4_000_000_000)).toBe(UINT_MAX);
  });

  it("tick already stopped: a short prediction is replaced by the time till the next timer", () => {
    // 10 us idles: with the tick running the prediction stays below stop0lite's 20 us residency
    expect(drive(new MenuGovernor(), PSERIES, rep(10, 1_000_000, 10_000)).picks).toEqual(
      Array(10).fill("snooze/tick"),
    );
    // tick stopped: predicted_ns < TICK_NSEC -> predicted_ns = delta_next (4 ms) -> CEDE, tick stays off
    expect(
      drive(new MenuGovernor(), PSERIES, rep(10, 4_000_000, 10_000), { tickStopped: true }).picks,
    ).toEqual(Array(10).fill("CEDE"));
  });

  it("a tick wakeup after a long predicted sleep counts as 9/10 of MAX_INTERESTING", () => {
    const run = (gotTick: boolean) => {
      const gov = new MenuGovernor();
      drive(gov, PSERIES, [...rep(1, 100_000_000, 10_000_000), ...rep(1, 100_000_000, 0)], { gotTick });
      const d = gov.data(0);
      return [d.correctionFactor[5], d.intervals[0]];
    };
    // bucket 5 (100 ms); tick wakeup: measured = 45 ms < next timer: 7168 + 1024 * 45e6 / 1e8 = 7628
    expect(run(true)).toEqual([7628, 45_000]);
    // woken otherwise after 10 ms (in snooze, the first choice with an empty history: exit
    // latency 0): measured = 10 ms: 7168 + 1024 * 1e7 / 1e8 = 7270
    expect(run(false)).toEqual([7270, 10_000]);
  });

  it("tasks waiting on I/O: buckets 6-11 and the latency limit predicted / (1 + 10 * nr_iowaiters)", () => {
    // 100 us idles, 1 ms timer. Step 8 (eight 100s): predicted 100 us. Without I/O waiters the
    // limit is 100 us and CEDE fits (residency 100 us <= 100 us); with one the limit is 100000 / 11
    // = 9090 ns, below CEDE's 10 us exit latency: stop0lite.
    const noIo = new MenuGovernor();
    expect(drive(noIo, PSERIES, rep(10, 1_000_000, 100_000)).picks.slice(7)).toEqual([
      "snooze/tick",
      "CEDE/tick",
      "stop0lite/tick",
    ]);
    const io = new MenuGovernor();
    expect(drive(io, PSERIES, rep(10, 1_000_000, 100_000), { nrIowaiters: 1 }).picks.slice(7)).toEqual([
      "snooze/tick",
      "stop0lite/tick",
      "stop0lite/tick",
    ]);
    expect(io.data(0).correctionFactor[9]).toBe(3033);
    expect(io.data(0).correctionFactor[3]).toBe(8192);
    expect(noIo.data(0).correctionFactor[3]).toBe(3025);
  });
});

describe("teo (drivers/cpuidle/governors/teo.c, 2020)", () => {
  it("hits versus misses: early wakeups move it to the early-hit state, timer wakeups move it back", () => {
    const gov = new TeoGovernor();
    const { picks, dev } = drive(gov, PSERIES, [
      ...rep(10, 1_000_000, 30_000),
      ...rep(8, 1_000_000, 1_000_000),
    ]);
    // step 0: all metrics 0: hits (0) <= misses (0) but no state has early hits: CEDE (the
    //   deepest with residency <= 1 ms); the 1 ms sleep length < TICK keeps the tick.
    // step 1: teo_update: time_span 30 us < 1 ms; measured = 30000 - 10000/2 = 25000: the timer
    //   state is CEDE, the hit state stop0lite (20 us <= 25 us): CEDE misses 1024, stop0lite
    //   early_hits 1024. Select: hits 0 <= misses 1024 -> max_early_idx = stop0lite.
    // steps 11-: the timer wakes the CPU (time_span >= sleep length): measured = U64_MAX, a hit
    //   for CEDE; hits overtake misses at step 15 (3991 > 3100).
    expect(picks).toEqual([
      "CEDE/tick",
      ...Array(14).fill("stop0lite/tick"),
      "CEDE/tick",
      "CEDE/tick",
      "CEDE/tick",
    ]);
    const cpu = gov.data(dev);
    expect(cpu.states.map((s) => [s.hits, s.misses])).toEqual([
      [0, 0],
      [0, 0],
      [4977, 2374],
    ]);
  });

  it("with the tick stopped, states shallower than the tick are not taken for early hits", () => {
    // teo_time_ok: stop0lite's 20 us < TICK_NSEC while the tick is stopped
    expect(
      drive(new TeoGovernor(), PSERIES, rep(10, 1_000_000, 30_000), { tickStopped: true }).picks,
    ).toEqual(Array(10).fill("CEDE"));
  });

  it("the recent non-timer idle durations pick a shallower state when most are short", () => {
    const gov = new TeoGovernor();
    const { picks, dev } = drive(gov, PSERIES, [
      ...rep(8, 1_000_000, 1_000_000),
      ...rep(6, 1_000_000, 15_000),
    ]);
    // 15 us wakeups in CEDE: measured 10 us: misses for CEDE, early hits for snooze (stop0lite
    // needs 20 us). Hits still win until step 12, when 5 of the 8 saved intervals (10 us) are below
    // the 100 us duration: avg 10 us -> teo_find_shallower_state -> snooze.
    expect(picks).toEqual([...Array(12).fill("CEDE/tick"), "snooze/tick", "snooze/tick"]);
    expect(gov.data(dev).states.map((s) => [s.hits, s.misses, s.earlyHits])).toEqual([
      [0, 0, 3991],
      [0, 0, 0],
      [2761, 3991, 0],
    ]);
  });

  it("latency limit: constraint_idx is the first state over the limit, so that state is still chosen", () => {
    // teo.c (2020) sets constraint_idx = i for the first state with exit_latency_ns > latency_req
    // and only caps idx at it: with a 5 us limit CEDE (10 us) stays the choice. Fixed by the 2021
    // rework, which keeps the deepest state within the limit; the model follows 2020.
    expect(
      drive(new TeoGovernor(), PSERIES, rep(4, 1_000_000, 1_000_000), { latencyReqNs: 5_000 }).picks,
    ).toEqual(Array(4).fill("CEDE/tick"));
    // on the four-state table a limit of 3 us caps stop2 at stop1 (the first state over 3 us)
    expect(
      drive(new TeoGovernor(), FOUR, rep(2, 5_000_000, 5_000_000), { latencyReqNs: 3_000 }).picks,
    ).toEqual(Array(2).fill("stop1/tick"));
  });

  it("a disabled state's hits and misses still decide, and its early hits pass to the state before it", () => {
    // CEDE disabled: the timer state in teo_update is still CEDE, so its hits and misses decide;
    // stop0lite covers its range
    const gov = new TeoGovernor();
    const r = drive(gov, PSERIES, [...rep(6, 1_000_000, 1_000_000), ...rep(10, 1_000_000, 30_000)], {
      disabled: [2],
    });
    expect(r.picks).toEqual(Array(16).fill("stop0lite/tick"));
    expect(gov.data(r.dev).states.map((s) => [s.hits, s.misses, s.earlyHits])).toEqual([
      [0, 0, 0],
      [0, 0, 5731],
      [1360, 5731, 0],
    ]);
    // four states, 5 ms timer: timer wakeups (stop2), then 60 us wakeups (early hits for stop1),
    // then 3 us wakeups (early hits for stop0_lite)
    const trace = [
      ...rep(3, 5_000_000, 5_000_000),
      ...rep(6, 5_000_000, 60_000),
      ...rep(8, 5_000_000, 3_000),
    ];
    expect(drive(new TeoGovernor(), FOUR, trace).picks).toEqual([
      ...Array(6).fill("stop2/tick"),
      ...Array(7).fill("stop1/tick"),
      ...Array(4).fill("stop0_lite/tick"),
    ]);
    // stop1 disabled: its early hits make the state before it (stop0_lite) the early-hit choice
    expect(drive(new TeoGovernor(), FOUR, trace, { disabled: [2] }).picks).toEqual([
      ...Array(6).fill("stop2/tick"),
      ...Array(11).fill("stop0_lite/tick"),
    ]);
  });

  it("hits equal to misses (none yet for a new sleep length) still defer to an early-hit state", () => {
    // 3 us wakeups under a 5 ms timer give stop0_lite early hits; then a 200 us sleep length makes
    // stop1 the candidate, whose hits and misses are both 0: hits <= misses, so stop0_lite
    const trace = [...rep(3, 5_000_000, 3_000), ...rep(1, 200_000, 200_000)];
    expect(drive(new TeoGovernor(), FOUR, trace).picks).toEqual([
      "stop2/tick",
      "stop0_lite/tick",
      "stop0_lite/tick",
      "stop0_lite/tick",
    ]);
  });

  it("when the candidate is itself the early-hit maximum, the previous maximum is taken", () => {
    // 60 us wakeups under 5 ms give stop1 early hits; with a 200 us sleep length stop1 is the
    // candidate and missed: idx == max_early_idx -> prev_max_early_idx (stop0_lite, once it has
    // early hits from the 3 us wakeups: from step 7)
    const trace = [...rep(6, 5_000_000, 60_000), ...rep(3, 200_000, 3_000)];
    const gov = new TeoGovernor();
    const r = drive(gov, FOUR, trace);
    expect(r.picks).toEqual([
      "stop2/tick",
      ...Array(6).fill("stop1/tick"),
      "stop0_lite/tick",
      "stop0_lite/tick",
    ]);
    expect(gov.data(r.dev).states.map((s) => [s.hits, s.misses, s.earlyHits])).toEqual([
      [0, 0, 0],
      [0, 0, 1920],
      [0, 1920, 3459],
      [0, 4517, 0],
    ]);
  });
});
