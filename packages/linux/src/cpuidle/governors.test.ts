// The menu and teo governors on idle traces, and the per-state accounting of cpuidle_enter_state.
// The table has the numbers of the pseries guest's shared_states with RFC patch 3 (snooze 0/0,
// stop0lite 2/20 us, Shared Cede 10/100 us; linux: drivers/cpuidle/cpuidle-pseries.c).
import { describe, expect, it } from "vitest";
import { CpuidleDevice, type CpuidleGovernor } from "./core.js";
import { getTypicalInterval, MenuDevice, MenuGovernor } from "./menu.js";
import { type CpuidleDriver, cpuidleState } from "./state.js";
import { TeoGovernor } from "./teo.js";

const TICK = 10_000_000;

function sharedDriver(stop0lite: "always" | "never" = "always"): CpuidleDriver {
  const snooze = cpuidleState("snooze", "snooze", 0, 0);
  const lite = cpuidleState("stop0lite", "Pauses the CPU", 2, 20);
  const cede = cpuidleState("Shared Cede", "Shared Cede", 10, 100);
  return { name: "test_idle", states: stop0lite === "always" ? [snooze, lite, cede] : [snooze, cede] };
}

/**
 * Drives a governor through idle periods: before each, the time till the next timer is `sleep`;
 * the CPU then really stays idle `actual` ns (a timer wakeup when actual >= sleep). Returns the
 * states chosen in the last `tail` periods.
 */
function drive(
  gov: CpuidleGovernor,
  dev: CpuidleDevice,
  periods: number,
  sleep: (i: number) => number,
  actual: (i: number) => number,
): string[] {
  let now = 0;
  const chosen: string[] = [];
  for (let i = 0; i < periods; i++) {
    const sl = sleep(i);
    const sel = gov.select(dev, {
      sleepLengthNs: sl,
      deltaNextNs: Math.min(sl, TICK),
      latencyReqNs: Number.POSITIVE_INFINITY,
      tickStopped: false,
      nrIowaiters: 0,
      now,
      tickNs: TICK,
    });
    const idle = Math.min(actual(i), sl);
    dev.account(sel.index, now, now + idle);
    now += idle;
    gov.reflect(dev, sel.index, { gotTick: false, now, tickNs: TICK });
    now += 5_000; // busy between idle periods
    chosen.push(dev.drv.states[sel.index].name);
  }
  return chosen;
}

describe("menu governor", () => {
  it("picks snooze for very short intervals, stop0lite for ~100 us timers, Shared Cede for long ones", () => {
    const short = drive(
      new MenuGovernor(),
      new CpuidleDevice(0, sharedDriver()),
      50,
      () => 8_000,
      () => 8_000,
    );
    expect(short.slice(-10)).toEqual(new Array(10).fill("snooze"));
    const mid = drive(
      new MenuGovernor(),
      new CpuidleDevice(0, sharedDriver()),
      50,
      () => 90_000,
      () => 90_000,
    );
    expect(mid.slice(-10)).toEqual(new Array(10).fill("stop0lite"));
    const long = drive(
      new MenuGovernor(),
      new CpuidleDevice(0, sharedDriver()),
      50,
      () => 5_000_000,
      () => 5_000_000,
    );
    expect(long.slice(-10)).toEqual(new Array(10).fill("Shared Cede"));
  });

  it("without stop0lite the ~100 us pattern falls back to snooze", () => {
    const mid = drive(
      new MenuGovernor(),
      new CpuidleDevice(0, sharedDriver("never")),
      50,
      () => 90_000,
      () => 90_000,
    );
    expect(mid.slice(-10)).toEqual(new Array(10).fill("snooze"));
  });

  it("detects a repeating non-timer wakeup pattern (typical interval)", () => {
    // next timer 5 ms away, but an IPI wakes the CPU every 40 us
    const gov = new MenuGovernor();
    const got = drive(
      gov,
      new CpuidleDevice(0, sharedDriver()),
      40,
      () => 5_000_000,
      () => 40_000,
    );
    // a fresh device has an all-zero history (menu_enable_device), hence snooze at first
    expect(got[0]).toBe("snooze");
    expect(got.slice(-10)).toEqual(new Array(10).fill("stop0lite"));
    expect(gov.data(0).lastPredictedNs).toBeLessThan(100_000);
    // the same timer distance without early wakeups: Shared Cede
    const quiet = drive(
      new MenuGovernor(),
      new CpuidleDevice(1, sharedDriver()),
      40,
      () => 5_000_000,
      () => 5_000_000,
    );
    expect(quiet.slice(-10)).toEqual(new Array(10).fill("Shared Cede"));
  });

  it("get_typical_interval rejects a scattered history", () => {
    const d = new MenuDevice();
    d.intervals.splice(0, 8, 10, 5000, 30, 2000, 70, 900, 15, 4000);
    expect(getTypicalInterval(d, 10_000)).toBe(0xffffffff);
    d.intervals.splice(0, 8, 40, 41, 39, 40, 42, 38, 40, 40);
    expect(getTypicalInterval(d, 10_000)).toBe(40);
  });

  it("honours a PM QoS latency limit", () => {
    const gov = new MenuGovernor();
    const dev = new CpuidleDevice(0, sharedDriver());
    drive(
      gov,
      dev,
      20,
      () => 5_000_000,
      () => 5_000_000,
    );
    const sel = gov.select(dev, {
      sleepLengthNs: 5_000_000,
      deltaNextNs: 5_000_000,
      latencyReqNs: 5_000,
      tickStopped: false,
      nrIowaiters: 0,
      now: 0,
      tickNs: TICK,
    });
    expect(dev.drv.states[sel.index].name).toBe("stop0lite");
  });
});

describe("teo governor", () => {
  it("picks snooze, stop0lite and Shared Cede by the time till the next timer", () => {
    const short = drive(
      new TeoGovernor(),
      new CpuidleDevice(0, sharedDriver()),
      50,
      () => 8_000,
      () => 8_000,
    );
    expect(short.slice(-10)).toEqual(new Array(10).fill("snooze"));
    const mid = drive(
      new TeoGovernor(),
      new CpuidleDevice(0, sharedDriver()),
      50,
      () => 90_000,
      () => 90_000,
    );
    expect(mid.slice(-10)).toEqual(new Array(10).fill("stop0lite"));
    const long = drive(
      new TeoGovernor(),
      new CpuidleDevice(0, sharedDriver()),
      50,
      () => 5_000_000,
      () => 5_000_000,
    );
    expect(long.slice(-10)).toEqual(new Array(10).fill("Shared Cede"));
  });

  it("learns early (non-timer) wakeups through misses and early hits", () => {
    const gov = new TeoGovernor();
    const dev = new CpuidleDevice(0, sharedDriver());
    const got = drive(
      gov,
      dev,
      40,
      () => 5_000_000,
      () => 40_000,
    );
    expect(got[0]).toBe("Shared Cede");
    expect(got.slice(-10)).toEqual(new Array(10).fill("stop0lite"));
    const cede = gov.data(dev).states[2];
    expect(cede.misses).toBeGreaterThan(cede.hits);
    expect(gov.data(dev).states[1].earlyHits).toBeGreaterThan(0);
  });
});

describe("per-state statistics (cpuidle_enter_state)", () => {
  it("counts usage, time, above and below", () => {
    const dev = new CpuidleDevice(0, sharedDriver());
    dev.account(1, 0, 10_000); // stop0lite for 10 us < 20 us residency: above
    dev.account(1, 0, 200_000); // 200 us - 2 us >= 100 us: Shared Cede would have fit: below
    dev.account(0, 0, 50_000); // snooze 50 us: stop0lite would have fit: below
    dev.account(2, 0, 1_000_000);
    const s = dev.sysfs();
    expect(s[1]).toMatchObject({ name: "stop0lite", usage: 2, time: 210, above: 1, below: 1 });
    expect(s[0]).toMatchObject({ usage: 1, below: 1, above: 0 });
    expect(s[2]).toMatchObject({ usage: 1, time: 1000, above: 0, below: 0 });
    dev.setDisabled("stop0lite", true);
    dev.account(0, 0, 50_000); // the next enabled deeper state is Shared Cede: 50 us < 100 us
    expect(dev.sysfs()[0].below).toBe(1);
    expect(() => dev.setDisabled("C6", true)).toThrow(/no idle state named 'C6'/);
  });
});
