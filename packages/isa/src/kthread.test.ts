// The runtime of software on a hardware thread (kthread.ts): costs, timed steps, waits, freezing
// at hypervisor entry, capture on interrupt, instruction execution.
import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import * as A from "./asm.js";
import { SmtCore } from "./core.js";
import { KThread } from "./kthread.js";
import { LPCR_PECE1, SPRN_HSRR0, SPRN_LPCR, SPRN_PSSCR } from "./registers.js";
import { LITE, OPS, type Op, rig, stopSibling, toGuest } from "./test-helpers/kthread-rig.js";
import { MSR_GUEST_EE, MSR_HOST, Recorder } from "./test-helpers/setup.js";

describe("KThread costs", () => {
  it("divides a cost by the thread's SMT speed and draws the jitter from the seeded stream", () => {
    const { core, rt } = rig();
    expect(rt.codeSpeed()).toBeCloseTo(2.7 / 4, 10);
    expect(rt.cost(1000)).toBe(Math.round(1000 / (2.7 / 4)));
    stopSibling((core as SmtCore).threads[3]);
    expect(rt.cost(1000)).toBe(Math.round(1000 / (2.15 / 3)));
    expect(rt.cost(0)).toBe(0);
    expect(rt.latency(500)).toBe(500);
    const a = rig({ rng: new Simulation({ seed: 3 }).rng.stream("j"), jitterSigma: 0.15 }).rt;
    const b = rig({ rng: new Simulation({ seed: 3 }).rng.stream("j"), jitterSigma: 0.15 }).rt;
    const xs = [a.jittered(1000), a.jittered(1000)];
    expect([b.jittered(1000), b.jittered(1000)]).toEqual(xs);
    expect(xs[0]).not.toBe(1000);
    expect(xs[0]).not.toBe(xs[1]);
  });

  it("a thread without a core runs at speed 1", () => {
    const sim = new Simulation();
    const t = new SmtCore(sim).threads[0];
    const rt = new KThread<Op>({
      thread: t,
      level: "hv",
      label: "x",
      rng: null,
      jitterSigma: 0,
      pollPeriodNs: 40,
      ops: OPS,
      run: () => {},
      pollDone: () => false,
    });
    expect(rt.workSpeed()).toBeCloseTo(2.7 / 4, 10);
    Object.defineProperty(t, "core", { value: null });
    expect(rt.codeSpeed()).toBe(1);
    expect(rt.workSpeed()).toBe(1);
    expect(rt.cost(333)).toBe(333);
  });
});

describe("KThread timed code and steps", () => {
  it("code runs inline when nothing else is due before it ends, else as one wait", () => {
    const { sim, rt, runs, core } = rig();
    for (const th of (core as SmtCore).threads.slice(1)) stopSibling(th);
    const got: Array<[boolean, number]> = [];
    sim.schedule(100, () => {
      got.push([rt.runCode(50), sim.now]);
      got.push([rt.runCode(1000, { k: "mark", name: "after" }), sim.now]);
    });
    sim.schedule(500, () => {});
    sim.runUntil(10_000);
    expect(got).toEqual([
      [true, 150],
      [false, 150],
    ]);
    expect(runs).toEqual([[1150, { k: "mark", name: "after" }]]);
    expect(rt.wait.k).toBe("frozen");
  });

  it("a step charges its summed cost once, scaled by the speed at its end", () => {
    const { sim, rt, runs } = rig();
    const got: boolean[] = [];
    sim.schedule(10, () => {
      rt.charge(100);
      rt.charge(200);
      rt.charge(-5);
      expect(rt.debt).toBe(300);
      got.push(rt.payDebt({ k: "mark", name: "stop" }));
      got.push(rt.payDebt(null));
    });
    sim.schedule(20, () => {});
    sim.runUntil(10_000);
    expect(got).toEqual([false, true]);
    expect(runs).toEqual([[10 + Math.round(300 / (2.7 / 4)), { k: "mark", name: "stop" }]]);
  });

  it("an interrupt captures the rest of a step with the operation it continues with", () => {
    const { sim, rt, core } = rig();
    for (const th of (core as SmtCore).threads.slice(1)) stopSibling(th);
    let captured: Op | null = null;
    sim.schedule(0, () => {
      rt.charge(1000);
      rt.payDebt({ k: "mark", name: "then" });
    });
    sim.schedule(300, () => {
      captured = rt.capture();
    });
    sim.runUntil(5000);
    expect(captured).toEqual({ k: "delay", ns: 700, next: { k: "mark", name: "then" } });
    expect(rt.wait).toEqual({ k: "frozen", op: null });
  });

  it("user work follows the core's speed changes", () => {
    const { sim, rt, runs, core } = rig();
    const c = core as SmtCore;
    sim.schedule(1, () => {
      rt.runWork(2700);
    });
    sim.schedule(2, () => {});
    // at 1001 ns one sibling stops: the rest runs at T(3)/3
    sim.schedule(1001, () => stopSibling(c.threads[3]));
    sim.runUntil(100_000);
    const s4 = 2.7 / 4;
    const s3 = 2.15 / 3;
    const rest = 2700 - 1000 * s4;
    expect(runs).toHaveLength(1);
    expect(runs[0][0]).toBe(1001 + Math.ceil(rest / s3));
    expect(runs[0][1]).toBeNull();
    // captured mid-way: what is left of the work
    const r2 = rig();
    let cap: Op | null = null;
    r2.sim.schedule(0, () => {
      r2.rt.runWork(1000);
    });
    r2.sim.schedule(1, () => {});
    r2.sim.schedule(101, () => {
      cap = r2.rt.capture();
    });
    r2.sim.runUntil(200);
    expect(cap).toEqual({ k: "work", ns: 1000 - 101 * s4 });
  });

  it("a poll ends at the iteration after pollDone, re-checked by pollKick", () => {
    const { sim, rt, runs, setDone } = rig();
    sim.schedule(5, () => rt.poll(Number.POSITIVE_INFINITY));
    sim.schedule(1000, () => {
      setDone();
      rt.pollKick();
    });
    sim.runUntil(5000);
    // iterations of 40 ns from 5: the first boundary at or after 1000 is 1005
    expect(runs).toEqual([[1005, null]]);
    const r2 = rig();
    r2.sim.schedule(0, () => r2.rt.poll(130));
    r2.sim.runUntil(1000);
    expect(r2.runs).toEqual([[160, null]]);
  });
});

describe("KThread and the hypervisor", () => {
  it("one context has one continuation: an interrupt taken before a resume's kick ran replaces its operation", () => {
    const { sim, t, rt, runs, core } = rig();
    for (const th of (core as SmtCore).threads.slice(1)) stopSibling(th);
    toGuest(t, 0x2000n);
    rt.wait = { k: "frozen", op: { k: "mark", name: "frozen rest" } };
    sim.schedule(10, () => {
      // control comes back: the frozen rest is to run as a kick ...
      rt.resumeAt(0x2000);
      // ... but an interrupt arrives first: its handler captures the rest and continues instead
      const resume = rt.capture();
      expect(resume).toEqual({ k: "mark", name: "frozen rest" });
      rt.continueSoon({ k: "mark", name: "handler" });
    });
    sim.runUntil(100);
    expect(runs).toEqual([[10, { k: "mark", name: "handler" }]]);
  });

  it("os software: a wait freezes at hypervisor entry and its rest continues after", () => {
    const { sim, t, rt, runs, core } = rig();
    for (const th of (core as SmtCore).threads.slice(1)) stopSibling(th);
    toGuest(t, 0x2000n);
    sim.schedule(0, () => {
      rt.runCode(1000, { k: "mark", name: "next" });
    });
    sim.schedule(1, () => {});
    // 400 ns in, the guest traps to the hypervisor (sc 1 stands for an asynchronous exit)
    sim.schedule(400, () => {
      t.execute(A.SC1);
    });
    sim.runUntil(3000);
    expect(t.hypervisorState).toBe(true);
    expect(runs).toEqual([]);
    expect(rt.wait).toEqual({ k: "frozen", op: { k: "delay", ns: 600, next: { k: "mark", name: "next" } } });
    // the hypervisor returns; the runtime continues with the frozen rest
    t.setSpr(SPRN_HSRR0, 0x2000n);
    t.execute(A.HRFID);
    rt.resumeAt(Number(t.pc));
    sim.runUntil(4000);
    expect(runs).toEqual([[3000, { k: "delay", ns: 600, next: { k: "mark", name: "next" } }]]);
  });

  it("os software: a wait the hypervisor interrupted and returned from is extended by the time lost", () => {
    const { sim, t, rt, runs, core } = rig();
    for (const th of (core as SmtCore).threads.slice(1)) stopSibling(th);
    toGuest(t, 0x2000n);
    sim.schedule(0, () => {
      rt.runCode(1000);
    });
    sim.schedule(1, () => {});
    sim.schedule(200, () => {
      t.execute(A.SC1);
    });
    sim.schedule(500, () => {
      t.setSpr(SPRN_HSRR0, 0x2000n);
      t.execute(A.HRFID);
      rt.resumeAt(Number(t.pc));
    });
    sim.runUntil(5000);
    expect(runs).toEqual([[1300, null]]);
  });

  it("hv software does not freeze in hypervisor state", () => {
    const { sim, t, rt, runs } = rig({ level: "hv" });
    t.msr = MSR_HOST;
    sim.schedule(0, () => {
      rt.runCode(100);
    });
    sim.schedule(1, () => {});
    sim.runUntil(1000);
    expect(t.hypervisorState).toBe(true);
    expect(runs).toEqual([[Math.round(100 / (2.7 / 4)), null]]);
  });

  it("exec: ok, stopped, away with the instruction to retry, and an interrupt deferred to the caller", () => {
    const { t, rt, os } = rig();
    toGuest(t, 0x3000n);
    expect(rt.exec(0x3000, A.NOP, { k: "mark", name: "nop" })).toBe("ok");
    expect(rt.exec(0x3004, A.SC1, { k: "mark", name: "hcall" })).toBe("away");
    expect(rt.wait).toEqual({ k: "away", op: { k: "mark", name: "hcall" }, addr: 0x3004 });
    // the hypervisor returns to the sc 1's next instruction: the op is not retried
    rt.resumeAt(0x3008);
    expect(rt.wait).toEqual({ k: "frozen", op: null });
    // an interrupt for the os software taken by mtmsrd EE=1 with a DEC pending
    toGuest(t, 0x4000n);
    os.onInterrupt = (_th, v) => {
      rt.deferIfStepping(v);
    };
    t.setGpr(13, MSR_GUEST_EE);
    t.setSpr(0x16, 0xffffffffn); // DEC negative: a decrementer is pending
    expect(rt.exec(0x4000, A.mtmsrd(13, 1), { k: "mark", name: "ee" })).toBe("interrupt");
    expect(rt.takeDeferredVector()).toBe(0x900);
    expect(rt.takeDeferredVector()).toBeNull();
    expect(rt.deferIfStepping(0x900)).toBe(false);
  });

  it("exec of stop leaves the wait stopped; a wake-up continues where the code left off", () => {
    const { sim, t, rt, runs } = rig();
    toGuest(t, 0x5000n);
    t.setSpr(SPRN_LPCR, LPCR_PECE1);
    t.setSpr(SPRN_PSSCR, LITE);
    expect(rt.exec(0x5000, A.STOP, { k: "mark", name: "stop" })).toBe("stopped");
    expect(rt.wait).toEqual({ k: "stopped", addr: 0x5000 });
    rt.resumeAt(0x5004);
    sim.runUntil(10);
    expect(runs).toEqual([[0, null]]);
  });

  it("capture of parked, away and stopped software; halt ends every wait", () => {
    const { sim, t, rt } = rig();
    rt.park();
    expect(rt.capture()).toEqual({ k: "park" });
    toGuest(t, 0x6000n);
    rt.exec(0x6000, A.SC1, { k: "mark", name: "hcall" });
    // SRR0 = the sc 1 itself: an interrupt injected before it, the hcall is retried
    t.setSpr(0x1a, 0x6000n);
    expect(rt.capture()).toEqual({ k: "mark", name: "hcall" });
    rt.wait = { k: "stopped", addr: 0 };
    expect(rt.capture()).toBeNull();
    rt.runWork(1_000_000);
    rt.halt();
    expect(rt.wait).toEqual({ k: "dead" });
    sim.runUntil(2_000_000);
    expect(rt.capture()).toBeNull();
  });

  it("rebind freezes the pending wait and follows the new core's speed", () => {
    const { sim, rt, core } = rig();
    const other = new SmtCore(sim, { coreId: 1 });
    for (const th of other.threads) th.setSoftware("hv", new Recorder());
    for (const th of other.threads.slice(1)) stopSibling(th);
    sim.schedule(0, () => {
      rt.runWork(1000);
    });
    sim.schedule(1, () => {});
    sim.schedule(100, () => rt.rebind(other.threads[0]));
    sim.runUntil(200);
    expect(rt.thread).toBe(other.threads[0]);
    expect(rt.wait.k).toBe("frozen");
    expect(rt.workSpeed()).toBe(1);
    expect((core as SmtCore).threads[0]).not.toBe(rt.thread);
  });
});

describe("KThread.later", () => {
  it("runs continuations in time order, equal times in the order they were asked for, whichever timer carries them", () => {
    const { sim, rt, runs } = rig();
    const mark = (name: string): Op => ({ k: "mark", name });
    rt.later(100, mark("a"));
    sim.schedule(100, () => runs.push([sim.now, mark("event")]));
    rt.later(50, mark("b"));
    rt.later(100, mark("c"));
    sim.runFor(60);
    // "b" has fired: its timer carries the next continuation, asked for after "a", the event and "c"
    rt.later(40, mark("d"));
    rt.later(0, mark("e"));
    sim.runFor(1000);
    expect(runs.map(([at, op]) => `${op?.k === "mark" ? op.name : "?"}@${at}`)).toEqual([
      "b@50",
      "e@60",
      "a@100",
      "event@100",
      "c@100",
      "d@100",
    ]);
  });
});
