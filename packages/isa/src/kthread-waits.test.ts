// The runtime's waits across the hypervisor, wait kind by wait kind (kthread.ts): user work and a
// polling loop frozen when the hypervisor takes the thread and extended when it gives it back,
// the hypervisor entry time a wait is cut at, captures that cancel the wait's event, resumes of
// each wait kind, rebinding and halting; and the rounding of costs and latencies.
import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import * as A from "./asm.js";
import { SmtCore } from "./core.js";
import { KThread } from "./kthread.js";
import { SPRN_HSRR0, SPRN_LPCR, SPRN_PSSCR } from "./registers.js";
import { LITE, OPS, type Op, rig, stopSibling, toGuest } from "./test-helpers/kthread-rig.js";
import { MSR_GUEST, MSR_HOST } from "./test-helpers/setup.js";
import { HwThread } from "./thread.js";

/** A rig whose thread runs alone on its core (speed 1). */
function alone(opts: Parameters<typeof rig>[0] = {}) {
  const r = rig(opts);
  for (const th of (r.core as SmtCore).threads.slice(1)) stopSibling(th);
  toGuest(r.t, 0x2000n);
  return r;
}

/** The hypervisor takes the thread (sc 1 stands for an asynchronous exit). */
function hvEnter(t: HwThread): void {
  t.execute(A.SC1);
}

/** The hypervisor returns to the guest at 0x2000 and tells the runtime. */
function hvReturn(t: HwThread, rt: KThread<Op>): void {
  t.setSpr(SPRN_HSRR0, 0x2000n);
  t.execute(A.HRFID);
  rt.resumeAt(Number(t.pc));
}

describe("waits frozen at hypervisor entry", () => {
  it("user work: what is left at the exit becomes the work to re-issue", () => {
    const { sim, t, rt, runs } = alone();
    sim.schedule(0, () => {
      rt.runWork(1000);
    });
    sim.schedule(1, () => {});
    sim.schedule(400, () => hvEnter(t));
    sim.runUntil(3000);
    expect(runs).toEqual([]);
    expect(rt.wait).toEqual({ k: "frozen", op: { k: "work", ns: 600 } });
  });

  it("a polling loop: the loop to re-issue until its deadline", () => {
    const { sim, t, rt, runs } = alone();
    sim.schedule(0, () => rt.poll(2000));
    sim.schedule(100, () => hvEnter(t));
    sim.runUntil(5000);
    expect(runs).toEqual([]);
    expect(rt.wait).toEqual({ k: "frozen", op: { k: "poll", deadline: 2000 } });
  });

  it("a wait on a stopped thread freezes as well", () => {
    const { sim, t, rt, runs } = alone();
    sim.schedule(0, () => {
      rt.runCode(1000, { k: "mark", name: "next" });
    });
    sim.schedule(1, () => {});
    sim.schedule(300, () => {
      t.setSpr(SPRN_LPCR, 0n);
      t.setSpr(SPRN_PSSCR, LITE);
      t.execute(A.STOP);
    });
    sim.runUntil(3000);
    expect(t.stopped).toBe(true);
    expect(runs).toEqual([]);
    expect(rt.wait.k).toBe("frozen");
  });

  it("is cut at the hypervisor entry during the wait, not at one before it started", () => {
    const { sim, t, rt } = alone();
    // a hypervisor interrupt at 50, back at 60; the code starts at 100
    sim.schedule(50, () => hvEnter(t));
    sim.schedule(60, () => {
      t.setSpr(SPRN_HSRR0, 0x2000n);
      t.execute(A.HRFID);
    });
    sim.schedule(100, () => {
      rt.runCode(1000, { k: "mark", name: "next" });
    });
    sim.schedule(101, () => {});
    // the thread goes to hypervisor state without an interrupt (a test hypervisor's msr write)
    sim.schedule(500, () => {
      t.msr = MSR_HOST;
    });
    sim.runUntil(3000);
    // no hypervisor interrupt during the wait: cut when the wait's end found the thread away
    expect(rt.wait).toEqual({ k: "frozen", op: { k: "delay", ns: 0, next: { k: "mark", name: "next" } } });
  });
});

describe("waits extended after the hypervisor gave the thread back", () => {
  it("user work ends later by the time the hypervisor kept the thread", () => {
    const { sim, t, rt, runs } = alone();
    sim.schedule(0, () => {
      rt.runWork(1000);
    });
    sim.schedule(1, () => {});
    sim.schedule(200, () => hvEnter(t));
    sim.schedule(500, () => hvReturn(t, rt));
    sim.runUntil(5000);
    expect(runs).toEqual([[1300, null]]);
  });

  it("a polling loop ends at its deadline's iteration", () => {
    const { sim, t, rt, runs } = alone();
    sim.schedule(0, () => rt.poll(1010));
    sim.schedule(200, () => hvEnter(t));
    sim.schedule(500, () => hvReturn(t, rt));
    sim.runUntil(5000);
    // iterations of 40 ns from 0: the first at or after 1010 is 1040
    expect(runs).toEqual([[1040, null]]);
  });

  it("a return with no time lost changes nothing", () => {
    const { sim, t, rt, runs } = alone();
    sim.schedule(0, () => {
      rt.runCode(1000);
    });
    sim.schedule(1, () => {});
    sim.schedule(200, () => {
      hvEnter(t);
      hvReturn(t, rt);
    });
    sim.runUntil(5000);
    expect(runs).toEqual([[1000, null]]);
  });

  it("a core speed change while the hypervisor holds the thread does not re-time the guest's work", () => {
    const { sim, t, rt, runs, core } = rig();
    const c = core as SmtCore;
    for (const th of c.threads.slice(2)) stopSibling(th);
    toGuest(t, 0x2000n);
    // two threads running: speed 0.8
    sim.schedule(0, () => {
      rt.runWork(800);
    });
    sim.schedule(1, () => {});
    sim.schedule(100, () => hvEnter(t));
    sim.schedule(150, () => stopSibling(c.threads[1]));
    sim.schedule(200, () => hvReturn(t, rt));
    sim.runUntil(5000);
    // 80 ns of work done by 100; the rest (720) at speed 1 from 200
    expect(runs).toEqual([[920, null]]);
  });
});

describe("captures and resumes", () => {
  it("a captured work or poll wait runs no more", () => {
    for (const start of [(rt: KThread<Op>) => rt.runWork(1000), (rt: KThread<Op>) => rt.poll(1000)]) {
      const { sim, rt, runs } = alone();
      sim.schedule(0, () => {
        start(rt);
      });
      sim.schedule(1, () => {});
      let cap: Op | null | undefined;
      sim.schedule(100, () => {
        cap = rt.capture();
      });
      sim.runUntil(5000);
      expect(runs).toEqual([]);
      expect(rt.wait).toEqual({ k: "frozen", op: null });
      expect(cap === null || cap?.k === "work").toBe(true);
    }
  });

  it("a frozen wait's operation is captured once", () => {
    const { rt } = alone();
    rt.wait = { k: "frozen", op: { k: "mark", name: "rest" } };
    expect(rt.capture()).toEqual({ k: "mark", name: "rest" });
    expect(rt.capture()).toBeNull();
    rt.wait = { k: "dead" };
    expect(rt.capture()).toBeNull();
  });

  it("resume after an instruction that went away retries it only when control comes back to it", () => {
    const { sim, t, rt, runs } = alone();
    expect(rt.exec(0x2000, A.SC1, { k: "mark", name: "hcall" })).toBe("away");
    rt.resumeAt(0x2000);
    sim.runUntil(10);
    expect(runs).toEqual([[0, { k: "mark", name: "hcall" }]]);
    expect(t.pc).toBe(0xc00n);
  });

  it("resume of a stopped wait continues where the code left off; of a parked or dead one, nothing", () => {
    const { sim, rt, runs } = alone();
    rt.wait = { k: "stopped", addr: 0x2000 };
    rt.resumeAt(0x2004);
    expect(rt.wait).toEqual({ k: "frozen", op: null });
    rt.park();
    rt.resumeAt(0x2004);
    rt.halt();
    rt.resumeAt(0x2004);
    sim.runUntil(10);
    expect(runs).toEqual([[0, null]]);
  });

  it("exec at the current PC names the instruction by the PC's low word", () => {
    const { t, rt } = alone();
    t.setSpr(SPRN_LPCR, 0n);
    t.setSpr(SPRN_PSSCR, LITE);
    t.pc = 0x1_0000_3000n;
    expect(rt.exec(null, A.STOP, { k: "mark", name: "stop" })).toBe("stopped");
    expect(rt.wait).toEqual({ k: "stopped", addr: 0x3000 });
  });
});

describe("rebind and halt", () => {
  it("rebinding to the same thread changes nothing", () => {
    const { sim, t, rt, runs } = alone();
    sim.schedule(0, () => {
      rt.runWork(1000);
    });
    sim.schedule(1, () => {});
    sim.schedule(100, () => rt.rebind(t));
    sim.runUntil(5000);
    expect(runs).toEqual([[1000, null]]);
  });

  it("after rebinding, the old core's speed changes are not followed, the new core's are", () => {
    const { sim, rt, core, runs } = alone();
    const other = new SmtCore(sim, { coreId: 1 });
    for (const th of other.threads) th.setSoftware("hv", { interrupt: () => {}, resume: () => {} });
    toGuest(other.threads[0], 0x2000n);
    rt.rebind(other.threads[0]);
    expect(rt.workSpeed()).toBeCloseTo(2.7 / 4, 12);
    sim.schedule(0, () => {
      rt.runWork(2700);
    });
    sim.schedule(1, () => {});
    // the old core changes: ignored; the new core loses a thread at 1000
    sim.schedule(500, () => (core as SmtCore).threads[0].setSpr(0x380, 1n << 50n));
    sim.schedule(1000, () => stopSibling(other.threads[3]));
    sim.runUntil(100_000);
    // 675 ns of work done by 1000 at T(4)/4, the rest at T(3)/3
    const rest = 2700 - 1000 * (2.7 / 4);
    expect(runs).toEqual([[1000 + Math.ceil(rest / (2.15 / 3)), null]]);
    expect(rt.thread).toBe(other.threads[0]);
  });

  it("halt cancels the pending wait and forgets the debt", () => {
    const { sim, rt, runs } = alone();
    sim.schedule(0, () => {
      rt.charge(500);
      rt.runCode(1000, { k: "mark", name: "never" });
    });
    sim.schedule(1, () => {});
    sim.schedule(10, () => rt.halt());
    sim.runUntil(5000);
    expect(runs).toEqual([]);
    expect(rt.debt).toBe(0);
    expect(rt.wait).toEqual({ k: "dead" });
  });
});

describe("rounding", () => {
  it("a latency is at least 1 ns and rounded; none for 0", () => {
    const { rt } = alone();
    expect(rt.latency(0)).toBe(0);
    expect(rt.latency(-5)).toBe(0);
    expect(rt.latency(0.3)).toBe(1);
    expect(rt.latency(2.6)).toBe(3);
  });

  it("a cost at reduced speed is at least 1 ns and rounded", () => {
    const { rt } = rig();
    expect(rt.cost(0.2)).toBe(1);
    expect(rt.cost(10)).toBe(Math.round(10 / (2.7 / 4)));
    expect(rt.cost(-1)).toBe(0);
  });

  it("a thread without a core: runtime at speed 1 with nothing to watch", () => {
    const sim = new Simulation();
    const t = new HwThread(sim, { pir: 0, index: 0 });
    const runs: number[] = [];
    const rt = new KThread<Op>({
      thread: t,
      level: "hv",
      label: "bare",
      rng: null,
      jitterSigma: 0,
      pollPeriodNs: 40,
      ops: OPS,
      run: () => runs.push(sim.now),
      pollDone: () => false,
    });
    expect([rt.codeSpeed(), rt.workSpeed()]).toEqual([1, 1]);
    sim.schedule(0, () => {
      rt.runWork(100);
    });
    sim.schedule(1, () => {});
    sim.runUntil(1000);
    expect(runs).toEqual([100]);
    rt.rebind(new HwThread(sim, { pir: 1, index: 1 }));
    expect(rt.thread.pir).toBe(1);
  });
});

describe("waits at SMT speed (four threads running: T(4)/4 = 0.675)", () => {
  const S4 = 2.7 / 4;

  it("code frozen at hypervisor entry leaves its rest in single-thread ns", () => {
    const { sim, t, rt } = rig();
    toGuest(t, 0x2000n);
    sim.schedule(0, () => {
      rt.runCode(1000, { k: "mark", name: "next" });
    });
    sim.schedule(1, () => {});
    sim.schedule(400, () => hvEnter(t));
    sim.runUntil(5000);
    const d = Math.round(1000 / S4);
    expect(rt.wait).toEqual({
      k: "frozen",
      op: { k: "delay", ns: (d - 400) * S4, next: { k: "mark", name: "next" } },
    });
  });

  it("user work frozen at hypervisor entry counts what was done at its speed", () => {
    const { sim, t, rt } = rig();
    toGuest(t, 0x2000n);
    sim.schedule(0, () => {
      rt.runWork(1000);
    });
    sim.schedule(1, () => {});
    sim.schedule(400, () => hvEnter(t));
    sim.runUntil(5000);
    expect(rt.wait).toEqual({ k: "frozen", op: { k: "work", ns: 1000 - 400 * S4 } });
  });

  it("an interrupt captures code's rest in single-thread ns", () => {
    const { sim, rt } = rig();
    let cap: Op | null = null;
    sim.schedule(0, () => {
      rt.runCode(1000);
    });
    sim.schedule(1, () => {});
    sim.schedule(300, () => {
      cap = rt.capture();
    });
    sim.runUntil(5000);
    expect(cap).toEqual({ k: "delay", ns: (Math.round(1000 / S4) - 300) * S4, next: null });
  });

  it("user work extended after the hypervisor counts what was done before it at its speed", () => {
    const { sim, t, rt, runs } = rig();
    toGuest(t, 0x2000n);
    sim.schedule(0, () => {
      rt.runWork(1000);
    });
    sim.schedule(1, () => {});
    sim.schedule(200, () => hvEnter(t));
    sim.schedule(500, () => hvReturn(t, rt));
    sim.runUntil(10_000);
    expect(runs).toEqual([[500 + Math.ceil((1000 - 200 * S4) / S4), null]]);
  });

  it("a hypervisor interrupt at the very start of a wait is where it is cut", () => {
    const { sim, t, rt } = alone();
    sim.schedule(100, () => {
      rt.runCode(1000, { k: "mark", name: "next" });
      hvEnter(t);
    });
    sim.schedule(101, () => {});
    sim.runUntil(5000);
    expect(rt.wait).toEqual({ k: "frozen", op: { k: "delay", ns: 1000, next: { k: "mark", name: "next" } } });
  });

  it("an OS-level interrupt during a wait is not a hypervisor entry", () => {
    const { sim, t, rt } = alone();
    sim.schedule(0, () => {
      rt.runCode(1000, { k: "mark", name: "next" });
    });
    sim.schedule(1, () => {});
    // the guest takes a system call at 300 (OS level), then the hypervisor takes the thread by
    // an msr write at 600 (no interrupt): the wait is cut at its end, not at the OS interrupt
    sim.schedule(300, () => t.execute(A.SC));
    sim.schedule(600, () => {
      t.msr = MSR_HOST;
    });
    sim.runUntil(5000);
    expect(rt.wait).toEqual({ k: "frozen", op: { k: "delay", ns: 0, next: { k: "mark", name: "next" } } });
  });
});

describe("continuations across simulations", () => {
  it("later() after a move to a thread of another simulation runs there", () => {
    const { sim, rt, runs } = alone();
    rt.later(10, { k: "mark", name: "first" });
    sim.runFor(20);
    const sim2 = new Simulation();
    const t2 = new HwThread(sim2, { pir: 0, index: 0 });
    t2.msr = MSR_GUEST;
    rt.rebind(t2);
    rt.later(10, { k: "mark", name: "second" });
    sim.runFor(100);
    expect(runs.map(([, op]) => (op?.k === "mark" ? op.name : "?"))).toEqual(["first"]);
    sim2.runFor(100);
    expect(runs.map(([, op]) => (op?.k === "mark" ? op.name : "?"))).toEqual(["first", "second"]);
  });

  it("a step with nothing charged passes at once", () => {
    const { rt } = alone();
    expect(rt.payDebt({ k: "mark", name: "x" })).toBe(true);
    rt.charge(0);
    expect(rt.debt).toBe(0);
  });

  it("a poll whose condition already holds ends at once, at its first iteration", () => {
    const { sim, rt, runs, setDone } = alone();
    setDone();
    sim.schedule(7, () => rt.poll(Number.POSITIVE_INFINITY));
    sim.runUntil(1000);
    expect(runs).toEqual([[7, null]]);
  });
});
