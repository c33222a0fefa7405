// The benchmarks over seeds: the jobs (case-major, seed-minor), each case's median over its seeds'
// figures with the order-statistics interval, the thread's figures beside them (DOMAIN.md section
// 6, from the RFC cover letter), and an interrupted run keeping the cases and seeds that finished.
// The pool runs serially here and each job answers a figure made from its case and seed (a
// recording double of runJob), so every aggregation decision shows; bench-cases.test.ts runs the
// cases themselves on the full stack.
import { afterEach, describe, expect, it, vi } from "vitest";
import { BENCH_CASES, type RateEntry, type WakeupEntry } from "./bench.js";
import {
  benchRateSeeds,
  benchWakeupSeeds,
  THREAD_EBIZZY_RECORDS_PER_S,
  THREAD_WAKEUP_MEDIANS_NS,
} from "./bench-seeds.js";
import { CI_METHOD, medianInterval } from "./interval.js";
import type { RateJob, WakeupJob } from "./jobs.js";
import * as jobs from "./jobs.js";

vi.mock("./jobs.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("./jobs.js")>();
  return { ...real, runJob: vi.fn(real.runJob) };
});
const runJob = vi.mocked(jobs.runJob);

afterEach(() => {
  runJob.mockReset();
});

/** A case's timer median at a seed: case 0 at seed 1 is 1100, seed 2 1200 ...; IPI twice that. */
const timerAt = (caseIndex: number, seed: number) => 1000 * (caseIndex + 1) + 100 * seed;
const stats = (m: number) => ({ samples: 2, min: m - 10, median: m, max: m + 10, avg: m, stddev: 10 });

function wakeupDouble(log: string[]) {
  runJob.mockImplementation(async (j) => {
    const w = j as WakeupJob;
    log.push(`${w.kind} case ${w.caseIndex} seed ${w.seed} samples ${w.samples}`);
    const t = timerAt(w.caseIndex, Number(w.seed));
    const e: WakeupEntry = {
      state: BENCH_CASES[w.caseIndex].label,
      host: BENCH_CASES[w.caseIndex].host,
      guestState: "running",
      timer: stats(t),
      ipi: stats(2 * t),
      timerSamplesNs: [t - 10, t + 10],
      ipiSamplesNs: [2 * t - 10, 2 * t + 10],
      emulatedStops: w.caseIndex,
    };
    return e as never;
  });
}

function rateDouble(log: string[]) {
  runJob.mockImplementation(async (j) => {
    const r = j as RateJob;
    log.push(`${r.kind} ${r.what} case ${r.caseIndex} seed ${r.seed} window ${r.windowNs}`);
    const e: RateEntry = {
      state: BENCH_CASES[r.caseIndex].label,
      host: BENCH_CASES[r.caseIndex].host,
      rate: timerAt(r.caseIndex, Number(r.seed)),
      unit: r.what === "ebizzy" ? "records/s" : "context switches/s",
    };
    return e as never;
  });
}

describe("the thread's figures", () => {
  it("are the medians and ebizzy rates of the RFC cover letter (DOMAIN.md section 6)", () => {
    expect(THREAD_WAKEUP_MEDIANS_NS).toEqual({
      snooze: { timer: 938, ipi: 2259 },
      stop0lite: { timer: 948, ipi: 2653 },
      "stop0lite (emulated)": { timer: 5006, ipi: 5596 },
      "Shared CEDE": { timer: 29219, ipi: 21827 },
    });
    expect(THREAD_EBIZZY_RECORDS_PER_S).toEqual({ snooze: 1_379_032, stop0lite: 1_561_906 });
  });
});

describe("bench wakeup over seeds", () => {
  it("one job per case and seed, case-major; each case's median over its seeds beside the thread's", async () => {
    const log: string[] = [];
    wakeupDouble(log);
    const progress: number[] = [];
    const seeds = [3, 1, 2];
    const r = await benchWakeupSeeds(seeds, 2, { workers: 1, onProgress: (d) => progress.push(d) });
    expect(log).toEqual(
      BENCH_CASES.flatMap((_, i) => seeds.map((s) => `wakeup case ${i} seed ${s} samples 2`)),
    );
    expect(progress).toHaveLength(12);
    expect(r.seeds).toEqual([3, 1, 2]);
    expect(r.method).toBe(CI_METHOD);
    expect(r.samples).toBe(2);
    expect(r.runs).toEqual({ done: 12, total: 12 });
    expect(r.interrupted).toBe(false);
    expect(r.states.map((s) => [s.state, s.host])).toEqual(BENCH_CASES.map((c) => [c.label, c.host]));
    for (const [i, s] of r.states.entries()) {
      const timers = seeds.map((seed) => timerAt(i, seed));
      expect(s.thread).toEqual(THREAD_WAKEUP_MEDIANS_NS[BENCH_CASES[i].label]);
      expect(s.timer).toEqual(medianInterval(timers));
      expect(s.timer.median).toBe(timerAt(i, 2));
      expect(s.ipi).toEqual(medianInterval(timers.map((t) => 2 * t)));
      expect(s.seeds).toEqual(
        seeds.map((seed) => ({
          seed,
          guestState: "running",
          timer: stats(timerAt(i, seed)),
          ipi: stats(2 * timerAt(i, seed)),
          emulatedStops: i,
        })),
      );
      expect(r.samplesNs[i]).toEqual({
        timer: timers.flatMap((t) => [t - 10, t + 10]),
        ipi: timers.flatMap((t) => [2 * t - 10, 2 * t + 10]),
      });
    }
    // the input list is copied, not kept
    seeds.push(9);
    expect(r.seeds).toEqual([3, 1, 2]);
  });

  it("interrupted: only the cases and seeds that finished, and the count of runs done", async () => {
    const log: string[] = [];
    wakeupDouble(log);
    const ac = new AbortController();
    // 2 seeds: case 0 finishes both, case 1 its first seed only, cases 2 and 3 nothing
    const r = await benchWakeupSeeds([1, 2], 1, {
      workers: 1,
      signal: ac.signal,
      onProgress: (d) => {
        if (d === 3) ac.abort();
      },
    });
    expect(r.interrupted).toBe(true);
    expect(r.runs).toEqual({ done: 3, total: 8 });
    expect(r.states.map((s) => s.state)).toEqual([BENCH_CASES[0].label, BENCH_CASES[1].label]);
    expect(r.states[0].seeds.map((s) => s.seed)).toEqual([1, 2]);
    expect(r.states[1].seeds.map((s) => s.seed)).toEqual([1]);
    expect(r.states[1].timer).toEqual(medianInterval([timerAt(1, 1)]));
    expect(r.samplesNs).toHaveLength(2);
  });
});

describe("bench ebizzy and ctxsw over seeds", () => {
  it("ebizzy: each case's median rate over the seeds, the thread's figure where it gave one", async () => {
    const log: string[] = [];
    rateDouble(log);
    const r = await benchRateSeeds("ebizzy", [1, 2, 3], 5_000_000, { workers: 1 });
    expect(log).toEqual(
      BENCH_CASES.flatMap((_, i) => [1, 2, 3].map((s) => `rate ebizzy case ${i} seed ${s} window 5000000`)),
    );
    expect(r.windowNs).toBe(5_000_000);
    expect(r.method).toBe(CI_METHOD);
    expect(r.seeds).toEqual([1, 2, 3]);
    expect(r.runs).toEqual({ done: 12, total: 12 });
    expect(r.interrupted).toBe(false);
    expect(r.states.map((s) => [s.state, s.host, s.unit, s.thread])).toEqual([
      ["snooze", "dd2.3", "records/s", 1_379_032],
      ["stop0lite", "dd2.3", "records/s", 1_561_906],
      ["stop0lite (emulated)", "dd2.2", "records/s", null],
      ["Shared CEDE", "dd2.3", "records/s", null],
    ]);
    for (const [i, s] of r.states.entries()) {
      expect(s.rate).toEqual(medianInterval([1, 2, 3].map((seed) => timerAt(i, seed))));
      expect(s.seeds).toEqual([1, 2, 3].map((seed) => ({ seed, rate: timerAt(i, seed) })));
    }
  });

  it("ctxsw: no thread figure; an interrupted run keeps what finished", async () => {
    const log: string[] = [];
    rateDouble(log);
    const ac = new AbortController();
    const r = await benchRateSeeds("ctxsw", ["18446744073709551615"], 1000, {
      workers: 1,
      signal: ac.signal,
      onProgress: (d) => {
        if (d === 2) ac.abort();
      },
    });
    expect(log[0]).toBe("rate ctxsw case 0 seed 18446744073709551615 window 1000");
    expect(r.interrupted).toBe(true);
    expect(r.runs).toEqual({ done: 2, total: 4 });
    expect(r.states.map((s) => [s.state, s.unit, s.thread])).toEqual([
      ["snooze", "context switches/s", null],
      ["stop0lite", "context switches/s", null],
    ]);
    expect(r.states[1].seeds).toEqual([
      { seed: "18446744073709551615", rate: timerAt(1, Number("18446744073709551615")) },
    ]);
  });
});
