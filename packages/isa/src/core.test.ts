import { Simulation } from "@stopsim/engine";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as A from "./asm.js";
import { POWER9_DD20, POWER9_DD23 } from "./chips.js";
import { CoreConfigError, DoorbellFabric, SmtCore } from "./core.js";
import { LPCR_PECE1, makePsscr, SPRN_DEC, SPRN_LPCR, SPRN_PPR, SPRN_PSSCR } from "./registers.js";
import { EBIZZY_SNOOZE_OVER_STOP, POWER9_SMT4_SHARING, type SmtSharingModel, sharedSpeed } from "./smt.js";
import { MSR_GUEST } from "./test-helpers/setup.js";

const LITE = makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: false });

function stopThread(c: SmtCore, i: number): void {
  const t = c.threads[i];
  t.setSpr(SPRN_LPCR, LPCR_PECE1);
  t.setSpr(SPRN_PSSCR, LITE);
  t.execute(A.STOP);
}

describe("SmtCore", () => {
  it("creates four threads with POWER9 PIRs and a per-chip erratum default", () => {
    const sim = new Simulation();
    const fabric = new DoorbellFabric();
    const c0 = new SmtCore(sim, { coreId: 0, fabric, chip: POWER9_DD20 });
    const c1 = new SmtCore(sim, { coreId: 5, fabric });
    expect(c1.threads.map((t) => t.pir)).toEqual([20, 21, 22, 23]);
    expect(fabric.lookup(22)).toBe(c1.threads[2]);
    expect(c0.errata.enabled).toBe(true);
    expect(c1.errata.enabled).toBe(false);
    expect(() => new SmtCore(sim, { coreId: 5, fabric })).toThrow(CoreConfigError);
    expect(() => c0.effectiveSpeed(4)).toThrow(CoreConfigError);
  });

  it("shares issue resources among running threads; a stopped thread gives them up", () => {
    const sim = new Simulation();
    const c = new SmtCore(sim, { chip: POWER9_DD23 });
    for (const t of c.threads) t.setSoftware("hv", { interrupt: () => {}, resume: () => {} });
    // T(4)/4, T(3)/3, T(2)/2 of smt.ts
    expect(c.effectiveSpeed(0)).toBeCloseTo(2.7 / 4, 10);
    stopThread(c, 3);
    expect(c.effectiveSpeed(0)).toBeCloseTo(2.15 / 3, 10);
    stopThread(c, 2);
    expect(c.effectiveSpeed(0)).toBeCloseTo(0.8, 10);
    stopThread(c, 1);
    expect(c.effectiveSpeed(0)).toBe(1);
    expect(c.effectiveSpeed(1)).toBe(0);
    expect(c.runningThreads).toBe(1);
  });

  it("a core built with fewer threads has only those: one thread alone gets the whole core", () => {
    const sim = new Simulation();
    const fabric = new DoorbellFabric();
    const st = new SmtCore(sim, { coreId: 2, fabric, threads: 1 });
    expect(st.threads.map((t) => t.pir)).toEqual([8]);
    expect(fabric.lookup(9)).toBeNull();
    expect(st.runningThreads).toBe(1);
    expect(st.effectiveSpeed(0)).toBe(1);
    const smt2 = new SmtCore(sim, { coreId: 3, fabric, threads: 2 });
    expect(smt2.effectiveSpeed(1)).toBeCloseTo(0.8, 10);
    for (const bad of [0, 5, 1.5]) {
      expect(() => new SmtCore(sim, { coreId: 9, threads: bad })).toThrow(
        `threads must be an integer in 1..4 (the chip's threads per core), got ${bad}`,
      );
    }
  });

  it("runningSpeed: a running thread's speed; a stopped one's once it runs again", () => {
    const sim = new Simulation();
    const c = new SmtCore(sim, { chip: POWER9_DD23 });
    for (const t of c.threads) t.setSoftware("hv", { interrupt: () => {}, resume: () => {} });
    expect(c.runningSpeed(0)).toBe(c.effectiveSpeed(0));
    stopThread(c, 3);
    stopThread(c, 2);
    expect(c.effectiveSpeed(3)).toBe(0);
    // thread 3 waking up joins threads 0 and 1: three running at medium priority
    expect(c.runningSpeed(3)).toBeCloseTo(2.15 / 3, 10);
    expect(c.runningSpeed(0)).toBeCloseTo(0.8, 10);
  });

  it("reproduces the snooze vs stop0lite ebizzy ratio with very-low-priority pollers", () => {
    const sim = new Simulation();
    const c = new SmtCore(sim);
    for (const i of [1, 2, 3]) {
      c.threads[i].msr = MSR_GUEST;
      c.threads[i].execute(A.HMT_LOW);
      c.threads[i].execute(A.HMT_VERY_LOW);
    }
    expect(c.effectiveSpeed(0)).toBeCloseTo(EBIZZY_SNOOZE_OVER_STOP, 10);
    expect(c.effectiveSpeed(1)).toBeCloseTo(POWER9_SMT4_SHARING.priorityWeight[1] * c.effectiveSpeed(0), 10);
  });

  it("notifies listeners when speeds change, and stops after unsubscribe", () => {
    const sim = new Simulation();
    const c = new SmtCore(sim);
    const t = c.threads[0];
    t.setSoftware("hv", { interrupt: () => {}, resume: () => {} });
    const seen: number[] = [];
    const off = c.onSpeedChange((core) => seen.push(core.effectiveSpeed(1)));
    stopThread(c, 0);
    t.setSpr(SPRN_DEC, 512n);
    sim.runFor(2000);
    expect(t.stopped).toBe(false);
    expect(seen).toEqual([2.15 / 3, 2.7 / 4]);
    off();
    stopThread(c, 0);
    expect(seen).toHaveLength(2);
  });

  it("gives every state the speeds of the sharing model, also where another core met the state first", () => {
    // cores of one sharing model share their table of speeds per state; a second model has its own
    const other: SmtSharingModel = {
      coreThroughput: [0, 1, 1.5, 1.9, 2.2],
      priorityWeight: [0, 1, 2, 3, 5, 8, 13, 21],
    };
    const step = fc.record({
      core: fc.integer({ min: 0, max: 2 }),
      thread: fc.integer({ min: 0, max: 3 }),
      op: fc.oneof(fc.integer({ min: 1, max: 7 }), fc.constant("stop" as const)),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const sim = new Simulation();
        const fabric = new DoorbellFabric();
        const cores = [
          new SmtCore(sim, { coreId: 0, fabric }),
          new SmtCore(sim, { coreId: 1, fabric }),
          new SmtCore(sim, { coreId: 2, fabric, sharing: other }),
        ];
        for (const c of cores)
          for (const t of c.threads) t.setSoftware("hv", { interrupt: () => {}, resume: () => {} });
        for (const s of steps) {
          const c = cores[s.core];
          const t = c.threads[s.thread];
          if (t.stopped) continue;
          if (s.op === "stop") stopThread(c, s.thread);
          else t.setSpr(SPRN_PPR, BigInt(s.op) << 50n);
          for (const core of cores) {
            const running = core.threads.map((x) => !x.stopped);
            const prio = core.threads.map((x) => x.priority);
            for (let i = 0; i < 4; i++) {
              expect(core.effectiveSpeed(i)).toBe(sharedSpeed(core.sharing, running, prio, i));
            }
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
