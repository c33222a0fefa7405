// The guest scheduler (sched.ts: linux kernel/sched/core.c try_to_wake_up, ttwu_queue_remote,
// scheduler_ipi, __schedule; kernel/time/hrtimer.c hrtimer_nanosleep; fs/pipe.c) driven through
// tasks on a small guest of the test platform with exact costs: each decision is seen in what the
// tasks observe (when they run, their CPU time, the IPIs their wake-ups send) and each cost is
// seen where the kernel pays it (the path it lies on grows by it).
import { describe, expect, it } from "vitest";
import { bootSmallGuest } from "../test-helpers/small-guest.js";
import { DEFAULT_GUEST_COSTS, GuestCostError, type GuestCosts, resolveCosts } from "./costs.js";
import { Pipe, type Task, type TaskOp, type TaskProgram } from "./task.js";

/** Every CPU idles in stop0lite only (a deterministic idle state: no snooze timeout, no cede). */
const STOP0LITE_ONLY = { disableStates: ["snooze", "Shared Cede"] };

function program(ops: readonly TaskOp[]): TaskProgram {
  return (function* (): TaskProgram {
    for (const op of ops) yield op;
  })();
}

/** A task on cpu 1 sleeping until a whole millisecond three times: how late it runs each time. */
function timerWakeLatency(costs: Partial<GuestCosts>): number[] {
  const { sim, kernel } = bootSmallGuest({ costs, config: STOP0LITE_ONLY });
  const cpu = kernel.cpus[1];
  const late: number[] = [];
  kernel.spawn(
    "sleeper",
    1,
    (function* (): TaskProgram {
      for (let i = 0; i < 3; i++) {
        const due = Math.ceil(cpu.ktime() / 1e6) * 1e6 + 1e6;
        yield { k: "sleepUntil", guestNs: due };
        late.push(cpu.ktime() - due);
      }
    })(),
  );
  sim.runFor(10_000_000);
  expect(late).toHaveLength(3);
  return late;
}

/** One task on a one-CPU guest, started at the end of boot: its CPU time once it has run. */
function cpuTimeOf(ops: readonly TaskOp[], costs: Partial<GuestCosts> = {}): Task {
  let task: Task | undefined;
  const { sim } = bootSmallGuest({
    threads: 1,
    costs,
    config: STOP0LITE_ONLY,
    beforeStart: ({ kernel }) => {
      task = kernel.spawn("t", 0, program(ops));
    },
  });
  sim.runFor(5_000_000);
  if (task === undefined) throw new Error("no task");
  return task;
}

describe("a task's sleep and wake-up (hrtimer_nanosleep, try_to_wake_up, __schedule)", () => {
  it("the wake-up of a task whose hrtimer fired pays try_to_wake_up and the context switch back to it", () => {
    const base = timerWakeLatency({});
    // exact costs: every wake-up the same
    expect(new Set(base).size).toBe(1);
    const ttwu = timerWakeLatency({ ttwuNs: DEFAULT_GUEST_COSTS.ttwuNs + 1000 });
    const cs = timerWakeLatency({ contextSwitchNs: DEFAULT_GUEST_COSTS.contextSwitchNs + 1000 });
    expect(ttwu.map((l, i) => l - base[i])).toEqual([1000, 1000, 1000]);
    expect(cs.map((l, i) => l - base[i])).toEqual([1000, 1000, 1000]);
    // what the sleeping task's own way into the sleep costs is not on the wake-up path
    expect(timerWakeLatency({ pipeSyscallNs: 5000 })).toEqual(base);
  });

  it("the sleep's kernel time: the system call, then a context switch; the exit: another one", () => {
    const base = cpuTimeOf([{ k: "sleep", ns: 1_000_000 }]);
    expect(base.state).toBe("dead");
    expect(base.switches).toBe(2); // at its start, and after its timer woke it
    const c = DEFAULT_GUEST_COSTS;
    // nanosleep entry (half a pipe system call) + __schedule into the sleep + __schedule at exit
    expect(base.cpuTimeNs).toBe(c.pipeSyscallNs / 2 + 2 * c.contextSwitchNs);
    expect(
      cpuTimeOf([{ k: "sleep", ns: 1_000_000 }], { pipeSyscallNs: c.pipeSyscallNs + 1000 }).cpuTimeNs,
    ).toBe(base.cpuTimeNs + 500);
    expect(
      cpuTimeOf([{ k: "sleep", ns: 1_000_000 }], { contextSwitchNs: c.contextSwitchNs + 1000 }).cpuTimeNs,
    ).toBe(base.cpuTimeNs + 2000);
    // the task woke once its hrtimer expired, not before
    expect(cpuTimeOf([{ k: "sleep", ns: 1_000_000 }]).wokenAt).toBeGreaterThanOrEqual(1_000_000);
  });

  it("a relative sleep lasts its length from the call; an absolute one ends at its guest time", () => {
    const { sim, kernel } = bootSmallGuest({ config: STOP0LITE_ONLY });
    const cpu = kernel.cpus[1];
    const seen: Array<[number, number]> = [];
    kernel.spawn(
      "s",
      1,
      (function* (): TaskProgram {
        let t0 = cpu.ktime();
        yield { k: "sleep", ns: 300_000 };
        seen.push([t0, cpu.ktime()]);
        t0 = cpu.ktime();
        yield { k: "sleepUntil", guestNs: t0 + 700_000 };
        seen.push([t0, cpu.ktime()]);
      })(),
    );
    sim.runFor(5_000_000);
    expect(seen).toHaveLength(2);
    const [[a0, a1], [b0, b1]] = seen;
    expect(a1 - a0).toBeGreaterThanOrEqual(300_000);
    expect(a1 - a0).toBeLessThan(305_000);
    expect(b1 - b0).toBeGreaterThanOrEqual(700_000);
    expect(b1 - b0).toBeLessThan(705_000);
  });

  it("user work and a system call's kernel time count in the task's CPU time", () => {
    const base = cpuTimeOf([
      { k: "compute", ns: 10_000 },
      { k: "syscall", ns: 5_000 },
    ]);
    const moreWork = cpuTimeOf([
      { k: "compute", ns: 11_000 },
      { k: "syscall", ns: 5_000 },
    ]);
    const moreSys = cpuTimeOf([
      { k: "compute", ns: 10_000 },
      { k: "syscall", ns: 6_000 },
    ]);
    expect(base.state).toBe("dead");
    expect(moreWork.cpuTimeNs - base.cpuTimeNs).toBeGreaterThanOrEqual(1000);
    expect(moreSys.cpuTimeNs - base.cpuTimeNs).toBeGreaterThanOrEqual(1000);
    expect(base.cpuTimeNs).toBeGreaterThanOrEqual(15_000 + DEFAULT_GUEST_COSTS.contextSwitchNs);
  });

  it("a task that ends leaves its CPU idle, and its CPU runs the next task", () => {
    const { sim, kernel } = bootSmallGuest({ config: STOP0LITE_ONLY });
    const order: string[] = [];
    const a = kernel.spawn("a", 1, program([{ k: "syscall", ns: 1000 }]));
    const b = kernel.spawn("b", 1, program([{ k: "syscall", ns: 1000 }]));
    a.onSwitchIn = () => order.push("a");
    b.onSwitchIn = () => order.push("b");
    sim.runFor(20_000_000);
    expect([a.state, b.state]).toEqual(["dead", "dead"]);
    expect(order).toEqual(["a", "b"]);
    expect(kernel.cpus[1].current).toBeNull();
    expect(kernel.cpus[1].activity).toBe("stopped (stop instruction)");
  });
});

describe("the return to user mode reschedules when asked (need_resched)", () => {
  /** Two endless tasks on cpu 1: each gets the CPU in turns (the tick asks after 3 ticks). */
  const share = (op: TaskOp) => {
    // (a pipe write of 20 us: fewer operations to simulate)
    const { sim, kernel } = bootSmallGuest({ config: STOP0LITE_ONLY, costs: { pipeSyscallNs: 20_000 } });
    const loop = () =>
      (function* (): TaskProgram {
        for (;;) yield op;
      })();
    const a = kernel.spawn("a", 1, loop());
    const b = kernel.spawn("b", 1, loop());
    // the tick (HZ=100) asks for a reschedule once the running task has had 3 ticks
    sim.runFor(130_000_000);
    return [a, b];
  };
  for (const op of [
    { k: "compute", ns: 50_000 },
    { k: "syscall", ns: 50_000 },
    { k: "write", pipe: new Pipe("p") },
  ] as const) {
    it(`two tasks looping on ${op.k} share their CPU`, () => {
      const [a, b] = share(op);
      for (const t of [a, b]) {
        expect(t.switches).toBeGreaterThanOrEqual(2);
        expect(t.cpuTimeNs).toBeGreaterThan(30_000_000);
      }
    });
  }

  it("a task woken by its timer while another task runs waits for that task's turn", () => {
    const { sim, kernel } = bootSmallGuest({ config: STOP0LITE_ONLY });
    const hog = kernel.spawn(
      "hog",
      1,
      (function* (): TaskProgram {
        for (;;) yield { k: "compute", ns: 50_000 };
      })(),
    );
    const late: number[] = [];
    const cpu = kernel.cpus[1];
    kernel.spawn(
      "sleeper",
      1,
      (function* (): TaskProgram {
        for (;;) {
          const due = cpu.ktime() + 1_000_000;
          yield { k: "sleepUntil", guestNs: due };
          late.push(cpu.ktime() - due);
        }
      })(),
    );
    const states = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      sim.runFor(100_000);
      states.add(kernel.tasks[2].state);
    }
    expect(hog.state).not.toBe("dead");
    expect(late.length).toBeGreaterThan(0);
    // no wake-up preemption in this scheduler (CFS's check_preempt_wakeup is not modelled): the
    // woken task waits on the runqueue, runnable, for the tick's rotation
    expect(Math.max(...late)).toBeGreaterThan(1_000_000);
    expect(states).toContain("runnable");
    expect(states).toContain("sleeping");
  });

  it("a remote wake-up of a task whose CPU runs another task queues it there until its turn", () => {
    const p = new Pipe("p");
    let reader: Task | undefined;
    const { sim, kernel } = bootSmallGuest({
      config: STOP0LITE_ONLY,
      beforeStart: ({ kernel }) => {
        reader = kernel.spawn("reader", 1, program([{ k: "read", pipe: p }]));
        kernel.spawn(
          "hog",
          1,
          (function* (): TaskProgram {
            for (;;) yield { k: "compute", ns: 50_000 };
          })(),
        );
        kernel.spawn(
          "writer",
          0,
          program([
            { k: "sleep", ns: 2_000_000 },
            { k: "write", pipe: p },
          ]),
        );
      },
    });
    sim.runFor(3_000_000);
    // the IPI came (the wake list was empty) and scheduler_ipi queued the reader: runnable
    expect(kernel.cpus[1].stats.ipisReceived).toBeGreaterThan(0);
    expect(reader?.state).toBe("runnable");
    expect(kernel.cpus[1].runqueue).toContain(reader);
    expect(kernel.cpus[1].current?.name).toBe("hog");
    sim.runFor(60_000_000);
    expect(reader?.state).toBe("dead");
  });
});

describe("remote wake-ups (ttwu_queue_remote, set_nr_if_polling, scheduler_ipi)", () => {
  /** A writer on cpu 0 wakes a reader on cpu 1 `rounds` times through a pipe, `gapNs` apart. */
  const pingPong = (disableStates: string[], rounds: number, gapNs: number, readers = 1) => {
    const { sim, kernel } = bootSmallGuest({ config: { disableStates } });
    const pipes = Array.from({ length: readers }, (_, i) => new Pipe(`p${i}`));
    const latency: number[] = [];
    kernel.spawn(
      "writer",
      0,
      (function* (): TaskProgram {
        for (let i = 0; i < rounds; i++) {
          yield { k: "sleep", ns: gapNs };
          for (const p of pipes) yield { k: "write", pipe: p };
        }
      })(),
    );
    const readTasks = pipes.map((p, i) =>
      kernel.spawn(
        `reader${i}`,
        1,
        (function* (): TaskProgram {
          for (let j = 0; j < rounds; j++) yield { k: "read", pipe: p };
        })(),
      ),
    );
    for (const r of readTasks) r.onSwitchIn = (t, now) => latency.push(now - t.wokenAt);
    const ipis0 = kernel.cpus[0].stats.ipisSent;
    sim.runFor(rounds * gapNs + 5_000_000);
    return { kernel, readTasks, ipis: kernel.cpus[0].stats.ipisSent - ipis0, latency, pipes };
  };

  it("a CPU in stop0lite gets a reschedule IPI for each wake-up", () => {
    const r = pingPong(["snooze", "Shared Cede"], 6, 200_000);
    expect(r.readTasks[0].state).toBe("dead");
    expect(r.ipis).toBe(6);
    expect(r.kernel.cpus[1].stats.ipisReceived).toBeGreaterThanOrEqual(6);
  });

  it("a CPU polling in snooze is woken without an IPI (set_nr_if_polling)", () => {
    // 10 us apart: well inside one snooze period (20 us), so the reader's CPU is polling
    const r = pingPong(["stop0lite", "Shared Cede"], 6, 10_000);
    expect(r.readTasks[0].state).toBe("dead");
    expect(r.ipis).toBe(0);
    const stop = pingPong(["snooze", "Shared Cede"], 6, 10_000);
    expect(stop.ipis).toBe(6);
    // the poller notices at its next poll; the stopped CPU waits for the IPI to wake it
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
    expect(median(r.latency)).toBeLessThan(median(stop.latency));
  });

  it("wake-ups queued while the target has not yet taken the first share its IPI", () => {
    // Shared Cede: the ceded vCPU needs the hypervisor's 20 us to come back, so the second
    // wake-up finds the first still on the wake list
    const r = pingPong(["snooze", "stop0lite"], 3, 1_000_000, 2);
    for (const t of r.readTasks) expect(t.state).toBe("dead");
    expect(r.ipis).toBe(3);
  });

  it("a blocking read sleeps until a token is written; tokens written first are read without sleeping", () => {
    const { sim, kernel } = bootSmallGuest({ config: STOP0LITE_ONLY });
    const p = new Pipe("p");
    const w = kernel.spawn(
      "w",
      0,
      program([
        { k: "write", pipe: p },
        { k: "write", pipe: p },
      ]),
    );
    sim.runFor(2_000_000);
    expect(w.state).toBe("dead");
    expect(p.tokens).toBe(2);
    const r = kernel.spawn(
      "r",
      1,
      program([
        { k: "read", pipe: p },
        { k: "read", pipe: p },
        { k: "read", pipe: p },
      ]),
    );
    sim.runFor(20_000_000);
    expect(p.tokens).toBe(0);
    expect(r.state).toBe("sleeping");
    expect(p.waiters).toEqual([r]);
    const switches = r.switches;
    kernel.spawn("w2", 0, program([{ k: "write", pipe: p }]));
    sim.runFor(20_000_000);
    expect(r.state).toBe("dead");
    expect(r.switches).toBe(switches + 1);
    expect(p.waiters).toEqual([]);
  });

  it("smp_call_function_single runs the function on the target CPU", () => {
    const { sim, kernel } = bootSmallGuest({ config: STOP0LITE_ONLY });
    const ran: number[] = [];
    kernel.spawn("caller", 0, program([{ k: "callFunction", cpu: 1, fn: (c) => ran.push(c) }]));
    sim.runFor(20_000_000);
    expect(ran).toEqual([1]);
    expect(kernel.cpus[1].stats.ipisReceived).toBeGreaterThan(0);
  });
});

describe("init starts the tasks spawned while no CPU could take the work at once", () => {
  it("at its next poll (initPollNs) when every CPU is stopped", () => {
    const { sim, kernel } = bootSmallGuest({ config: { ...STOP0LITE_ONLY, initPollNs: 2_000_000 } });
    sim.runFor(3_000_000);
    let started = -1;
    const spawnedAt = sim.now;
    const t = kernel.spawn("late", 1, program([{ k: "syscall", ns: 1000 }]));
    t.onSwitchIn = (_t, now) => {
      started = now;
    };
    // nobody could take the wake-up (every CPU in stop): the task waits for init
    expect(kernel.pendingSpawns).toEqual([t]);
    sim.runFor(5_000_000);
    expect(t.state).toBe("dead");
    expect(started - spawnedAt).toBeGreaterThan(0);
    expect(started - spawnedAt).toBeLessThan(2_000_000 + 50_000);
  });

  it("an init with nothing to start only sleeps: a nanosleep and a context switch per poll", () => {
    const initTime = (costs: Partial<GuestCosts>) => {
      const { sim, kernel } = bootSmallGuest({ costs, config: { ...STOP0LITE_ONLY, initPollNs: 1_000_000 } });
      const init = kernel.tasks[0];
      const t0 = init.cpuTimeNs;
      const n0 = init.switches;
      sim.runFor(10_000_000);
      return { ns: init.cpuTimeNs - t0, polls: init.switches - n0 };
    };
    const base = initTime({});
    const more = initTime({ pipeSyscallNs: DEFAULT_GUEST_COSTS.pipeSyscallNs + 1000 });
    expect(base.polls).toBe(10);
    expect(more.polls).toBe(10);
    // half a pipe system call per poll (the nanosleep), no fork's pipeSyscallNs
    expect(more.ns - base.ns).toBe(10 * 500);
  });
});

describe("the cost table (resolveCosts)", () => {
  it("takes each default unless overridden, and an override changes only its own path", () => {
    const c = resolveCosts({ ttwuNs: 0 });
    expect(c.ttwuNs).toBe(0);
    for (const k of Object.keys(DEFAULT_GUEST_COSTS) as Array<keyof GuestCosts>)
      if (k !== "ttwuNs") expect(c[k]).toBe(DEFAULT_GUEST_COSTS[k]);
    expect(resolveCosts(undefined)).toEqual(DEFAULT_GUEST_COSTS);
    // the same guest without the wake-up's cost: its timer wake-ups are earlier by exactly it
    const base = timerWakeLatency({});
    // (to the timebase's 1.95 ns resolution: the guest clock is the timebase at 512 MHz)
    for (const [i, l] of timerWakeLatency({ ttwuNs: 0 }).entries())
      expect(Math.abs(base[i] - l - DEFAULT_GUEST_COSTS.ttwuNs)).toBeLessThan(2);
  });

  it("refuses a cost that is not a finite number of ns >= 0, naming it", () => {
    for (const v of [-1, Number.NaN, Number.POSITIVE_INFINITY, "5" as unknown as number]) {
      expect(() => resolveCosts({ ttwuNs: v })).toThrow(GuestCostError);
      expect(() => resolveCosts({ ttwuNs: v })).toThrow(
        `guest cost ttwuNs must be a finite number of ns >= 0, got ${String(v)}`,
      );
    }
    const e = (() => {
      try {
        resolveCosts({ idleExitNs: -5 });
      } catch (err) {
        return err as Error;
      }
      return null;
    })();
    expect(e?.name).toBe("GuestCostError");
    expect(e).toBeInstanceOf(RangeError);
  });

  it("refuses a snooze poll of 0 ns (the loop must advance) but not other zero costs", () => {
    expect(() => resolveCosts({ snoozePollNs: 0 })).toThrow(
      "guest cost snoozePollNs must be > 0 (the loop must advance)",
    );
    expect(resolveCosts({ snoozePollNs: 1 }).snoozePollNs).toBe(1);
    expect(resolveCosts({ idleExitNs: 0, jitterSigma: 0 }).idleExitNs).toBe(0);
  });
});
