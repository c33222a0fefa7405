// The thread-shaped wakeup-latency benchmark on the full simulated stack (firmware DTB -> host
// kernel + KVM -> QEMU -> guest kernel), compared with the measurements of the RFC thread over
// several seeds: each seed is an independent run, and the figure checked is the median over the
// seeds of each seed's median.
import { describe, expect, it } from "vitest";
import { BENCH_CASES } from "./bench.js";
import { benchWakeupSeeds, THREAD_WAKEUP_MEDIANS_NS, type WakeupSeedsResult } from "./bench-seeds.js";

// 20 seeds: with five, the emulated stop0lite medians moved by 7-11% between runs that differ in
// where a few interrupts land (the median of five draws from a 2378-7659 ns spread), half the 20%
// being checked
const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
/** The order-statistics interval of 20 values at 95%: the 6th and 15th, coverage 1 - 2 P(B(20, 1/2) <= 5). */
const COVERAGE_20 = 1 - (2 * (1 + 20 + 190 + 1140 + 4845 + 15504)) / 2 ** 20;
const SAMPLES = 60;
const TOLERANCE = 0.2;

/**
 * No case is exempt. The emulated stop0lite medians come from the mechanism: the idle loop of a
 * vCPU is a short guest part and one H_FAC_UNAVAIL round trip; a wakeup waits for the rest of the
 * cycle it falls in, and the three siblings looping through the same cycle at medium SMT priority
 * slow the woken thread's kernel and KVM code (isa smt.ts, T(4) calibrated on these two medians).
 * Their distributions are wide (thread: timer 2378-7659 ns, IPI 3580-8154 ns), so one seed's median
 * of 60 samples can fall outside 20%; the median over 20 seeds is what is checked.
 */
describe(`bench wakeup on the full stack over ${SEEDS.length} seeds (spapr-cap design, smp 8, menu)`, () => {
  let r: WakeupSeedsResult | undefined;
  it("runs every case at every seed by timer and by IPI to the end", async () => {
    r = await benchWakeupSeeds(SEEDS, SAMPLES, { workers: 2 });
    expect(r.interrupted).toBe(false);
    expect(r.runs).toEqual({ done: 4 * SEEDS.length, total: 4 * SEEDS.length });
    expect(r.states.map((e) => e.state)).toEqual(BENCH_CASES.map((c) => c.label));
    for (const e of r.states) {
      expect(e.seeds.map((s) => s.seed)).toEqual(SEEDS);
      for (const s of e.seeds) {
        expect(s.guestState).toBe("running");
        for (const m of [s.timer, s.ipi]) {
          expect(m.samples).toBe(SAMPLES);
          expect(m.min).toBeGreaterThan(0);
          expect(m.min).toBeLessThanOrEqual(m.median);
          expect(m.median).toBeLessThanOrEqual(m.max);
        }
      }
      // the seeds are independent runs: their medians differ
      expect(new Set(e.seeds.map((s) => s.timer.median)).size).toBeGreaterThan(1);
      for (const m of [e.timer, e.ipi]) {
        expect(m.n).toBe(SEEDS.length);
        expect(m.lo).toBeLessThanOrEqual(m.median);
        expect(m.median).toBeLessThanOrEqual(m.hi);
        expect(m.coverage).toBeCloseTo(COVERAGE_20, 12);
      }
    }
    // stop0lite traps and is emulated on DD2.2 only; DD2.3 runs it natively
    const emulated = (label: string) => r?.states.find((e) => e.state === label)?.seeds ?? [];
    for (const s of emulated("stop0lite (emulated)")) expect(s.emulatedStops).toBeGreaterThan(1000);
    for (const s of emulated("stop0lite")) expect(s.emulatedStops).toBe(0);
    expect(r.samplesNs.map((x) => x.timer.length)).toEqual(BENCH_CASES.map(() => SEEDS.length * SAMPLES));
  }, 180_000);

  for (const c of BENCH_CASES) {
    for (const method of ["timer", "ipi"] as const) {
      const ref = THREAD_WAKEUP_MEDIANS_NS[c.label][method];
      it(`${c.label}/${method}: median over ${SEEDS.length} seeds within 20% of the thread's ${ref} ns`, () => {
        const e = r?.states.find((x) => x.state === c.label);
        expect(e?.thread?.[method]).toBe(ref);
        const median = e?.[method].median ?? Number.NaN;
        expect(Math.abs(median / ref - 1)).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  }
});
