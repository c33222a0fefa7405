// The SMT4 sharing model (smt.ts) and the core that applies it (core.ts), decision by decision:
// the calibration the README's ledger records (W1 = 0.686 solved from the RFC cover letter's
// ebizzy 1,379,032 vs 1,561,906 records/s with T(4) = 2.7), priority weights per PPR[PRI]
// (Power ISA v3.0B Book II 3.2, `or Rx,Rx,Rx` hints: 1 very low .. 4 medium .. 7 very high,
// 0 is not a priority software sets), a stopped thread issuing nothing, and the core's checks.
import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { POWER9_DD23 } from "./chips.js";
import { CoreConfigError, DoorbellFabric, SmtCore } from "./core.js";
import { makePsscr, SPRN_DEC, SPRN_PPR } from "./registers.js";
import { EBIZZY_SNOOZE_OVER_STOP, POWER9_SMT4_SHARING, type SmtSharingModel, sharedSpeed } from "./smt.js";
import { stopSibling } from "./test-helpers/kthread-rig.js";

const _LITE = makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: false });
const W = POWER9_SMT4_SHARING.priorityWeight;

describe("the POWER9 sharing model (smt.ts)", () => {
  it("is calibrated as the README's ledger records: W1 = 0.686, T = 1, 1.6, 2.15, 2.7", () => {
    expect(EBIZZY_SNOOZE_OVER_STOP).toBeCloseTo(1_379_032 / 1_561_906, 12);
    expect(POWER9_SMT4_SHARING.coreThroughput).toEqual([0, 1.0, 1.6, 2.15, 2.7]);
    expect(W[1]).toBeCloseTo(0.686, 3);
    // T(4) * 1 / (1 + 3 W1) is the ebizzy ratio
    expect(2.7 / (1 + 3 * W[1])).toBeCloseTo(EBIZZY_SNOOZE_OVER_STOP, 12);
  });

  it("weights each priority as W1^((4 - p)/3): medium 1, each step a factor W1^(1/3), priority 0 none", () => {
    expect(W).toHaveLength(8);
    expect(W[0]).toBe(0);
    expect(W[4]).toBe(1);
    const step = W[1] ** (1 / 3);
    for (let p = 1; p < 7; p++) expect(W[p + 1] / W[p]).toBeCloseTo(1 / step, 12);
    expect(W[7]).toBeCloseTo(1 / W[1], 12);
  });

  it("sharedSpeed: T(n) shared by weight, capped at 1, 0 for a stopped thread or a thread of weight 0", () => {
    const m = POWER9_SMT4_SHARING;
    const all = [true, true, true, true];
    expect(sharedSpeed(m, all, [4, 4, 4, 4], 0)).toBeCloseTo(2.7 / 4, 12);
    expect(sharedSpeed(m, [true, false, true, false], [4, 4, 4, 4], 2)).toBeCloseTo(0.8, 12);
    expect(sharedSpeed(m, [true, false, true, false], [4, 4, 4, 4], 1)).toBe(0);
    // a very-high-priority thread beside three very-low ones would get more than alone: capped
    expect(sharedSpeed(m, all, [7, 1, 1, 1], 0)).toBe(1);
    expect(sharedSpeed(m, all, [7, 1, 1, 1], 1)).toBeCloseTo((2.7 * W[1]) / (W[7] + 3 * W[1]), 12);
    expect(sharedSpeed(m, all, [0, 4, 4, 4], 0)).toBe(0);
    expect(sharedSpeed(m, all, [0, 4, 4, 4], 1)).toBeCloseTo(2.7 / 3, 12);
    expect(sharedSpeed(m, [true], [0], 0)).toBe(0);
  });

  it("more running threads than the model's table: the last throughput applies", () => {
    const m: SmtSharingModel = { coreThroughput: [0, 1, 1.5], priorityWeight: [0, 1, 1, 1, 1, 1, 1, 1] };
    expect(sharedSpeed(m, [true, true, true], [4, 4, 4], 0)).toBeCloseTo(0.5, 12);
    expect(sharedSpeed(m, [true, true], [4, 4], 0)).toBeCloseTo(0.75, 12);
  });

  it("a priority outside the table weighs nothing", () => {
    const m = POWER9_SMT4_SHARING;
    expect(sharedSpeed(m, [true, true], [9, 4], 0)).toBe(0);
    expect(sharedSpeed(m, [true, true], [9, 4], 1)).toBe(1);
  });
});

describe("SmtCore's checks and speeds (core.ts)", () => {
  it("coreId is an integer in 0..8191", () => {
    const sim = new Simulation();
    for (const bad of [-1, 0x2000, 1.5]) {
      expect(() => new SmtCore(sim, { coreId: bad })).toThrow(
        new CoreConfigError(`coreId must be an integer in 0..8191, got ${bad}`),
      );
    }
    expect(new SmtCore(sim, { coreId: 0x1fff }).threads[3].pir).toBe(0x7fff);
  });

  it("a PIR used twice in one machine and a thread index outside the core are named", () => {
    const sim = new Simulation();
    const fabric = new DoorbellFabric();
    new SmtCore(sim, { coreId: 1, fabric });
    expect(() => new SmtCore(sim, { coreId: 1, fabric })).toThrow(
      new CoreConfigError("PIR 4 is already used by another thread of this machine"),
    );
    expect(fabric.lookup(8)).toBeNull();
    const c = new SmtCore(sim, { coreId: 2, threads: 2 });
    for (const bad of [-1, 2, 0.5]) {
      expect(() => c.effectiveSpeed(bad)).toThrow(
        new CoreConfigError(`thread index must be 0..1, got ${bad}`),
      );
    }
    expect(c.lookupPir(9)).toBe(c.threads[1]);
    expect(c.lookupPir(10)).toBeNull();
    expect(new CoreConfigError("x").name).toBe("CoreConfigError");
  });

  it("a thread's speed follows a priority change (mtspr PPR), which notifies the listeners", () => {
    const sim = new Simulation();
    const c = new SmtCore(sim);
    const seen: number[] = [];
    c.onSpeedChange((core) => seen.push(core.effectiveSpeed(0)));
    c.threads[1].setSpr(SPRN_PPR, 1n << 50n); // very low
    const expected = (2.7 * 1) / (3 + W[1]);
    expect(c.effectiveSpeed(0)).toBeCloseTo(expected, 12);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeCloseTo(expected, 12);
    // the same priority again changes nothing and tells nobody
    c.threads[1].setSpr(SPRN_PPR, 1n << 50n);
    expect(seen).toHaveLength(1);
  });

  it("a listener that changes the core while being notified is not called again inside itself", () => {
    const sim = new Simulation();
    const c = new SmtCore(sim);
    for (const t of c.threads) t.setSoftware("hv", { interrupt: () => {}, resume: () => {} });
    let depth = 0;
    let maxDepth = 0;
    let calls = 0;
    c.onSpeedChange(() => {
      calls++;
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      if (calls === 1) c.threads[2].setSpr(SPRN_PPR, 2n << 50n);
      depth--;
    });
    stopSibling(c.threads[3]);
    expect(maxDepth).toBe(1);
    expect(calls).toBe(1);
    // the change made inside is in the speeds all the same
    expect(c.effectiveSpeed(0)).toBeCloseTo((2.15 * 1) / (2 + W[2]), 12);
  });

  it("every listener is called; one unsubscribed is not", () => {
    const sim = new Simulation();
    const c = new SmtCore(sim);
    for (const t of c.threads) t.setSoftware("hv", { interrupt: () => {}, resume: () => {} });
    const a: number[] = [];
    const b: number[] = [];
    const offA = c.onSpeedChange(() => a.push(c.effectiveSpeed(0)));
    c.onSpeedChange(() => b.push(c.effectiveSpeed(0)));
    stopSibling(c.threads[3]);
    expect([a.length, b.length]).toEqual([1, 1]);
    offA();
    stopSibling(c.threads[2]);
    expect([a.length, b.length]).toEqual([1, 2]);
    expect(b[1]).toBeCloseTo(0.8, 12);
  });

  it("runningSpeed of a stopped thread alone on its core is the whole core", () => {
    const sim = new Simulation();
    const c = new SmtCore(sim, { threads: 1 });
    const t = c.threads[0];
    t.setSoftware("hv", { interrupt: () => {}, resume: () => {} });
    stopSibling(c.threads[0]);
    expect(c.effectiveSpeed(0)).toBe(0);
    expect(c.runningSpeed(0)).toBe(1);
    t.setSpr(SPRN_DEC, 0n);
    sim.runFor(100);
    expect(c.runningSpeed(0)).toBe(1);
  });

  it("cores of more threads than the speed table holds compute their speeds afresh", () => {
    const sim = new Simulation();
    for (const n of [6, 9]) {
      const chip = { ...POWER9_DD23, threadsPerCore: n };
      const c = new SmtCore(sim, { chip, sharing: POWER9_SMT4_SHARING });
      for (const t of c.threads) t.setSoftware("hv", { interrupt: () => {}, resume: () => {} });
      expect(c.threads).toHaveLength(n);
      expect(c.effectiveSpeed(0)).toBeCloseTo(2.7 / n, 12);
      stopSibling(c.threads[1]);
      c.threads[2].setSpr(SPRN_PPR, 1n << 50n);
      const running = c.threads.map((t) => !t.stopped);
      const prio = c.threads.map((t) => t.priority);
      for (let i = 0; i < n; i++) expect(c.effectiveSpeed(i)).toBe(sharedSpeed(c.sharing, running, prio, i));
      expect(c.runningThreads).toBe(n - 1);
    }
  });
});
