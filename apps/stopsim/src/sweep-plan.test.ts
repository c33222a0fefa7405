// A seed sweep's plan and summary: the tasks its seeds are split into, the refusals, each seed's
// sample as the full-stack report gives it, and the summary (outcome counts over every outcome,
// distributions by order statistics) whatever order the samples came back in.
import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { RUN_OUTCOMES } from "./fleet.js";
import { runBoot } from "./scenarios.js";
import {
  runSweepPool,
  runSweepSerial,
  type SweepOptions,
  type SweepSample,
  summariseSweep,
  sweepSample,
  sweepTasks,
} from "./sweep.js";
import { usageMessage } from "./test-helpers/usage.js";

const OPTS: SweepOptions = { host: "dd2.2", design: "spapr-cap", seeds: 3, durationNs: 2 * NS_PER_MS };

const sample = (
  seed: number,
  idleEntries: number,
  outcome: SweepSample["outcome"] = "native",
): SweepSample => ({
  seed,
  outcome,
  idleEntries,
  stop0liteUsage: 0,
  emulatedStops: 0,
  kvmExits: 10 * seed,
});

describe("sweep plan", () => {
  it("seeds from 1 by default, the default guest workload, the last task shorter", () => {
    const tasks = sweepTasks({ ...OPTS, seeds: 5 }, 2);
    expect(tasks).toEqual([
      { host: "dd2.2", design: "spapr-cap", durationNs: 2 * NS_PER_MS, workload: "timers", seeds: [1, 2] },
      { host: "dd2.2", design: "spapr-cap", durationNs: 2 * NS_PER_MS, workload: "timers", seeds: [3, 4] },
      { host: "dd2.2", design: "spapr-cap", durationNs: 2 * NS_PER_MS, workload: "timers", seeds: [5] },
    ]);
    expect(sweepTasks({ ...OPTS, seeds: 4, firstSeed: 10, workload: "mixed" }, 4)).toEqual([
      {
        host: "dd2.2",
        design: "spapr-cap",
        durationNs: 2 * NS_PER_MS,
        workload: "mixed",
        seeds: [10, 11, 12, 13],
      },
    ]);
    expect(sweepTasks({ ...OPTS, seeds: 1 }, 10).map((t) => t.seeds)).toEqual([[1]]);
  });

  it("refuses a seed count or a duration that is not positive, naming the value", () => {
    for (const seeds of [0, -2, 1.5, Number.NaN])
      expect(usageMessage(() => sweepTasks({ ...OPTS, seeds }, 2))).toBe(
        `sweep: seeds must be a positive integer, got ${String(seeds)}`,
      );
    for (const durationNs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(usageMessage(() => sweepTasks({ ...OPTS, durationNs }, 2))).toBe(
        `sweep: duration must be a positive number of ns, got ${String(durationNs)}`,
      );
    expect(sweepTasks({ ...OPTS, seeds: 1, durationNs: 1 }, 1)).toHaveLength(1);
  });
});

describe("sweep summary", () => {
  it("puts the samples in seed order and counts every outcome, zero included", () => {
    const r = summariseSweep(OPTS, [sample(3, 30), sample(1, 10, "emulated"), sample(2, 20)]);
    expect(r.host).toBe("dd2.2");
    expect(r.design).toBe("spapr-cap");
    expect(r.seeds).toBe(3);
    expect(r.samples.map((s) => s.seed)).toEqual([1, 2, 3]);
    expect(Object.keys(r.outcomes)).toEqual([...RUN_OUTCOMES]);
    expect(r.outcomes).toEqual({
      ...Object.fromEntries(RUN_OUTCOMES.map((k) => [k, 0])),
      native: 2,
      emulated: 1,
    });
  });

  it("gives min, the order-statistic p50 and p99, max and the mean", () => {
    // 100 samples 1..100 given in reverse: p50 is the 51st value, p99 the 100th
    const many = Array.from({ length: 100 }, (_, i) => sample(100 - i, 100 - i));
    const r = summariseSweep(OPTS, many);
    expect(r.idleEntries).toEqual({ min: 1, p50: 51, p99: 100, max: 100, mean: 50.5 });
    expect(r.kvmExits).toEqual({ min: 10, p50: 510, p99: 1000, max: 1000, mean: 505 });
    // 200 samples: p99 is the 199th
    const more = Array.from({ length: 200 }, (_, i) => sample(i + 1, i + 1));
    expect(summariseSweep(OPTS, more).idleEntries).toEqual({
      min: 1,
      p50: 101,
      p99: 199,
      max: 200,
      mean: 100.5,
    });
    // values that sort differently as text (9 < 10 < 100 as numbers)
    const r3 = summariseSweep(OPTS, [sample(1, 100), sample(2, 9), sample(3, 10)]);
    expect(r3.idleEntries).toEqual({ min: 9, p50: 10, p99: 100, max: 100, mean: 119 / 3 });
    // one sample is every statistic
    expect(summariseSweep(OPTS, [sample(4, 7)]).idleEntries).toEqual({
      min: 7,
      p50: 7,
      p99: 7,
      max: 7,
      mean: 7,
    });
  });
});

describe("one seed's sample", () => {
  it("is what that seed's full-stack run reported: idle entries over every state and CPU, stop0lite use, emulated stops, KVM exits", () => {
    // DD2.2 (no idle-stop-guest): the guest's stop0lite traps and KVM emulates each wake-up
    const task = {
      host: "dd2.2",
      design: "spapr-cap",
      durationNs: 10 * NS_PER_MS,
      workload: "timers" as const,
    };
    const s = sweepSample(task, 4);
    const r = runBoot("dd2.2", "spapr-cap", {
      seed: 4,
      durationNs: 10 * NS_PER_MS,
      guest: { workload: "timers" },
    });
    const usage = Object.values(r.guest.idleStates).map((x) => x.usage);
    expect(s).toEqual({
      seed: 4,
      outcome: r.outcome,
      idleEntries: usage.reduce((a, b) => a + b, 0),
      stop0liteUsage: r.guest.idleStates.stop0lite.usage,
      emulatedStops: r.emulatedStops,
      kvmExits: Object.values(r.exits).reduce((a, b) => a + b, 0),
    });
    expect(s.outcome).toBe("emulated");
    expect(s.emulatedStops).toBeGreaterThan(0);
    expect(s.stop0liteUsage).toBeGreaterThan(0);
    // more than one idle state and more than one exit reason were summed
    expect(usage.filter((u) => u > 0).length).toBeGreaterThan(1);
    expect(Object.values(r.exits).filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(s.idleEntries).toBeGreaterThan(s.stop0liteUsage);
  });

  it("a guest that has not registered cpuidle yet (1 ms) reports 0 uses of stop0lite", () => {
    const s = sweepSample(
      { host: "dd2.2-old", design: "upstream-2020", durationNs: NS_PER_MS, workload: "timers" },
      1,
    );
    expect(s.stop0liteUsage).toBe(0);
  });
});

describe("sweep on the pool", () => {
  it("ten seeds a task by default; serially on one worker gives the serial sweep", async () => {
    const o = { ...OPTS, seeds: 2, durationNs: NS_PER_MS };
    expect(await runSweepPool(o, { workers: 1 })).toEqual(runSweepSerial(o));
  });

  it("an aborted sweep stops its pool", async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await runSweepPool(
      { ...OPTS, seeds: 2, durationNs: NS_PER_MS },
      { workers: 1, signal: ac.signal },
    );
    expect(r.seeds).toBe(0);
    expect(r.samples).toEqual([]);
  });
});
