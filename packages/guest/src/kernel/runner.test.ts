// How the guest kernel's code runs (runner.ts): kernel paths as timed steps (their costs summed
// and spent once, before the next thing another CPU or layer can see) must give the outcomes of
// the same kernel spending each cost as its own wait (`timedSteps: false`), to the nanosecond
// with exact costs; user work, polls, context switches and interrupts taken inside a path run the
// same either way.
import { encodeDtb } from "@stopsim/devicetree";
import { POWER9_DD23, SmtCore, SPRN_DEC } from "@stopsim/isa";
import { H_XIRR } from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { bootGuest } from "../test-helpers/booted.js";
import { guestDtb, guestTree } from "../test-helpers/fixtures.js";
import { bootSmallGuest, keepBusy } from "../test-helpers/small-guest.js";
import type { GuestCosts } from "./costs.js";
import { type GuestCpu, type KCode, SYNC } from "./cpu.js";
import { SECONDARY_ENTRY, TEXT } from "./image.js";
import type { GuestKernel, GuestKernelConfig } from "./kernel.js";
import { Pipe, type TaskOp, type TaskProgram } from "./task.js";

function program(ops: readonly TaskOp[]): TaskProgram {
  return (function* (): TaskProgram {
    for (const op of ops) yield op;
  })();
}

/** Runs `scenario` on a small guest in both modes and returns what it observed in each. */
function bothModes<T>(
  config: GuestKernelConfig,
  scenario: (kernel: GuestKernel) => () => T,
  runNs: number,
  costs: Partial<GuestCosts> = {},
  busyNs = 0,
): { steps: T; ops: T; events: { steps: number; ops: number } } {
  const run = (timedSteps: boolean) => {
    let read: (() => T) | undefined;
    const { sim } = bootSmallGuest({
      config: { ...config, timedSteps },
      costs,
      beforeStart: ({ kernel }) => {
        read = scenario(kernel);
      },
    });
    if (busyNs > 0) keepBusy(sim, busyNs);
    if (busyNs > 0) keepBusy(sim, busyNs);
    const e0 = sim.dispatched;
    sim.runFor(runNs);
    if (read === undefined) throw new Error("no scenario");
    return { value: read(), events: sim.dispatched - e0 };
  };
  const s = run(true);
  const o = run(false);
  return { steps: s.value, ops: o.value, events: { steps: s.events, ops: o.events } };
}

/** A task on cpu 1 sleeping until whole milliseconds: how late each wake-up is, on the guest clock. */
const timerSleeper = (n: number) => (kernel: GuestKernel) => {
  const late: number[] = [];
  kernel.spawn(
    "sleeper",
    1,
    (function* (): TaskProgram {
      const cpu = kernel.cpus[1];
      for (let i = 0; i < n; i++) {
        const due = Math.ceil(cpu.ktime() / 1e6) * 1e6 + 1e6;
        yield { k: "sleepUntil", guestNs: due };
        late.push(cpu.ktime() - due);
      }
    })(),
  );
  return () => late;
};

// each scenario twice: on a quiet simulation (a step passes inline when nothing else is due) and
// on a busy one (an unrelated event every 37 ns: every step passes as a wait, and interrupts
// arrive inside the steps and cut them: the runtime's "rest" of a step)
for (const busyNs of [0, 37]) {
  describe(`timed steps against one wait per cost (exact costs${busyNs > 0 ? ", every step passing as a wait" : ""})`, () => {
    for (const state of ["snooze", "stop0lite", "Shared Cede"]) {
      it(`timer wake-ups from ${state}: the same latency to the nanosecond, in fewer events`, () => {
        const disableStates = ["snooze", "stop0lite", "Shared Cede"].filter((s) => s !== state);
        const r = bothModes({ disableStates }, timerSleeper(4), 12_000_000, {}, busyNs);
        expect(r.steps).toHaveLength(4);
        expect(r.steps).toEqual(r.ops);
        // (snooze's polls are events in both modes)
        if (state !== "snooze") expect(r.events.steps).toBeLessThan(r.events.ops);
      });
    }

    it("a remote wake-up through a pipe (IPI, interrupt entry, ttwu, switch): the same latency", () => {
      const r = bothModes(
        { disableStates: ["snooze", "Shared Cede"] },
        (kernel) => {
          const p = new Pipe("p");
          const lat: number[] = [];
          kernel.spawn(
            "w",
            0,
            program(
              [0, 1, 2].flatMap(
                () =>
                  [
                    { k: "sleep", ns: 300_000 },
                    { k: "write", pipe: p },
                  ] as const,
              ),
            ),
          );
          const reader = kernel.spawn(
            "r",
            1,
            program([0, 1, 2].map(() => ({ k: "read", pipe: p }) as const)),
          );
          reader.onSwitchIn = (t, now) => lat.push(now - t.wokenAt);
          return () => ({ lat, ipis: kernel.cpus[0].stats.ipisSent, state: reader.state });
        },
        3_000_000,
        {},
        busyNs,
      );
      expect(r.steps.state).toBe("dead");
      expect(r.steps.ipis).toBe(r.ops.ipis);
      // the writer's and the reader's paths overlap on one core (SMT speeds change inside a step):
      // the same to a few ns
      for (const [i, l] of r.steps.lat.entries()) expect(Math.abs(l - r.ops.lat[i])).toBeLessThan(25);
    });

    it("tasks' CPU time (user work, system calls, sleeps) is the same", () => {
      const r = bothModes(
        { disableStates: ["snooze", "Shared Cede"] },
        (kernel) => {
          const a = kernel.spawn(
            "a",
            1,
            program([
              { k: "compute", ns: 20_000 },
              { k: "syscall", ns: 3_000 },
              { k: "sleep", ns: 100_000 },
              { k: "compute", ns: 5_000 },
            ]),
          );
          const b = kernel.spawn(
            "b",
            1,
            program([
              { k: "syscall", ns: 7_000 },
              { k: "sleep", ns: 50_000 },
            ]),
          );
          return () => [a.state, a.cpuTimeNs, a.switches, b.state, b.cpuTimeNs, b.switches];
        },
        2_000_000,
        {},
        busyNs,
      );
      expect(r.steps[0]).toBe("dead");
      expect(r.steps[3]).toBe("dead");
      expect([r.steps[2], r.steps[5]]).toEqual([r.ops[2], r.ops[5]]);
      // within 3% (a step's SMT speed is the one when it is paid)
      for (const i of [1, 4]) expect(Math.abs(Number(r.steps[i]) / Number(r.ops[i]) - 1)).toBeLessThan(0.03);
    });

    it("snooze's polling and its timeout: the same entries and residency", () => {
      const r = bothModes(
        { disableStates: ["stop0lite", "Shared Cede"] },
        (kernel) => () => {
          const c = kernel.cpus[1];
          return {
            entries: c.stats.idleEntries,
            usage: c.cpuidle?.statesUsage.map((u) => [u.usage, u.timeNs]),
          };
        },
        1_000_000,
        {},
        busyNs,
      );
      expect(r.steps.entries).toBeGreaterThan(40);
      expect(r.steps).toEqual(r.ops);
    });

    it("two tasks sharing a CPU by the tick: the same turns", () => {
      const r = bothModes(
        { disableStates: ["snooze", "Shared Cede"] },
        (kernel) => {
          const loop = (op: TaskOp) =>
            (function* (): TaskProgram {
              for (;;) yield op;
            })();
          const a = kernel.spawn("a", 1, loop({ k: "compute", ns: 40_000 }));
          const b = kernel.spawn("b", 1, loop({ k: "syscall", ns: 40_000 }));
          return () => [a.switches, b.switches, Math.round(a.cpuTimeNs), Math.round(b.cpuTimeNs)];
        },
        130_000_000,
        {},
        // (130 ms: an event every 997 ns is enough to pay most steps as waits)
        busyNs && 997,
      );
      expect(r.steps[0]).toBeGreaterThanOrEqual(2);
      expect(r.steps[1]).toBeGreaterThanOrEqual(2);
      expect(r.steps.slice(0, 2)).toEqual(r.ops.slice(0, 2));
      for (const i of [2, 3]) expect(Math.abs(r.steps[i] / r.ops[i] - 1)).toBeLessThan(0.01);
    });
  });
}

describe("timers expiring at every point of a task's way into idle", () => {
  // a task on cpu 1 sleeping 0, 25 .. 1500 ns: each timer expires at another point of the sleep's
  // system call, __schedule, the switch to the idle task, the idle entry path (soft-disabled:
  // masked, then replayed, and stop0lite is not entered) or in stop0lite
  const sweep = (timedSteps: boolean, busyNs = 0) => {
    const out: Array<{ late: number; masked: number }> = [];
    const { sim } = bootSmallGuest({
      config: { disableStates: ["snooze", "Shared Cede"], timedSteps },
      beforeStart: ({ kernel }) => {
        kernel.spawn(
          "s",
          1,
          (function* (): TaskProgram {
            const cpu = kernel.cpus[1];
            for (let ns = 0; ns <= 1500; ns += 25) {
              const due = cpu.ktime() + ns;
              const m = cpu.stats.maskedInterrupts;
              yield { k: "sleepUntil", guestNs: due };
              out.push({ late: cpu.ktime() - due, masked: cpu.stats.maskedInterrupts - m });
            }
          })(),
        );
      },
    });
    if (busyNs > 0) keepBusy(sim, busyNs);
    sim.runFor(20_000_000);
    return out;
  };

  it("each wakes within 2 us, the same whether the steps pass inline or as waits, and as with one wait per cost", () => {
    const quiet = sweep(true);
    expect(quiet).toHaveLength(61);
    for (const w of quiet) expect(w.late).toBeLessThan(2_000);
    // some were masked in the idle entry path and replayed
    expect(quiet.filter((w) => w.masked === 1).length).toBeGreaterThan(5);
    expect(sweep(true, 37)).toEqual(quiet);
    // one wait per cost: the same to the timebase's rounding (1.95 ns), except for the timers
    // that expire within the system call's first 50 ns (not compared here)
    const ops = sweep(false);
    for (const [i, w] of quiet.entries()) {
      expect(ops[i].masked).toBe(w.masked);
      if (i >= 3) expect(Math.abs(ops[i].late - w.late)).toBeLessThan(4);
    }
  });
});

describe("an interrupt at every point of the way out of idle: a timed step ends at each soft-mask change", () => {
  // linux: kernel/sched/idle.c do_idle: `while (!need_resched()) { local_irq_disable(); ...
  // cpuidle_idle_call(); }`; arch/powerpc/include/asm/hw_irq.h and kernel/irq.c: soft-masking.
  // Two cores of one vCPU each (no SMT sibling changes a step's speed). Each round, cpu 0 sends
  // cpu 1 (idle in stop0lite) a function-call IPI; cpu 1 handles it and goes round its idle loop
  // again (the IPI sets no need_resched), while a task on cpu 1 sleeps until 4,600 .. 5,300 ns
  // after the round began: its timer expires in the IPI's handler, in the idle exit path after it
  // (soft-enabled, before the loop's local_irq_disable), in the idle entry path (soft-masked) or
  // in stop0lite. A step paid with the mask after the change (local_irq_disable) masks the
  // timers of the idle exit path, which one wait per cost takes at once.
  const sweep = (timedSteps: boolean, busyNs = 0) => {
    const out: Array<{ late: number; masked: number; entries: number }> = [];
    const { sim } = bootSmallGuest({
      threads: 1,
      dtb: guestDtb({ cores: 2, threads: 1 }),
      config: { disableStates: ["snooze", "Shared Cede"], timedSteps },
      beforeStart: ({ kernel }) => {
        kernel.spawn(
          "ipi",
          0,
          (function* (): TaskProgram {
            for (let r = 2; r <= 142; r++) {
              yield { k: "sleepUntil", guestNs: r * 200_000 };
              yield { k: "callFunction", cpu: 1, fn: () => {} };
            }
          })(),
        );
        kernel.spawn(
          "y",
          1,
          (function* (): TaskProgram {
            const cpu = kernel.cpus[1];
            // (the boot ends at ~0.36 ms: from the second round on)
            for (let r = 2; r <= 142; r++) {
              const due = r * 200_000 + 4_590 + 5 * r;
              const m = cpu.stats.maskedInterrupts;
              const e = cpu.stats.idleEntries;
              yield { k: "sleepUntil", guestNs: due };
              out.push({
                late: cpu.ktime() - due,
                masked: cpu.stats.maskedInterrupts - m,
                entries: cpu.stats.idleEntries - e,
              });
            }
          })(),
        );
      },
    });
    if (busyNs > 0) keepBusy(sim, busyNs);
    sim.runFor(30_000_000);
    return out;
  };

  it("each is taken where one wait per cost takes it: at once while soft-enabled, replayed once masked", () => {
    const quiet = sweep(true);
    const ops = sweep(false);
    expect(quiet).toHaveLength(141);
    expect(ops).toHaveLength(141);
    for (const [i, w] of quiet.entries()) {
      // the decision: taken at once (no masked_interrupt) or masked, and whether cpuidle_idle_call
      // ran again before the wake-up
      expect([i, w.masked, w.entries]).toEqual([i, ops[i].masked, ops[i].entries]);
      expect(Math.abs(w.late - ops[i].late)).toBeLessThan(4);
    }
    // the outcomes linux has for a timer at each point: taken while soft-enabled, do_idle's
    // need_resched test ends the loop (one idle entry, the one the IPI woke); masked after
    // local_irq_disable: cpuidle_idle_call goes on, stop0lite is not entered (lazy_irq_pending)
    // and local_irq_enable replays it (a second idle entry); or it wakes cpu 1 from stop0lite
    const kinds = new Set(quiet.map((w) => `${w.masked}/${w.entries}`));
    expect([...kinds].sort()).toEqual(["0/1", "0/2", "1/2"]);
    // the soft-enabled idle exit path (~94 ns) lies between the handler and local_irq_disable:
    // the last timers taken at once precede the first masked one without a gap
    const firstMasked = quiet.findIndex((w) => w.masked === 1);
    expect(firstMasked).toBeGreaterThan(20);
    for (let i = firstMasked - 18; i < firstMasked; i++)
      expect([i, quiet[i].masked, quiet[i].entries]).toEqual([i, 0, 1]);
    // and so with every step passing as a wait
    expect(sweep(true, 37)).toEqual(quiet);
  });

  it("an interrupt in a soft-disabled step is masked and replayed at the local_irq_enable that ends it", () => {
    // linux: arch/powerpc/kernel/irq.c arch_local_irq_restore: irq_happened is read at the enable,
    // after the code before it ran; an interrupt that came during that code (masked_interrupt)
    // is replayed there, before the enable returns
    const observe = (timedSteps: boolean) => {
      const g = bootGuest(
        { disableStates: ["stop0lite", "Shared Cede"], timedSteps },
        { cores: 2, threads: 2 },
      );
      g.sim.runFor(3_000_000);
      const [, cpu1, cpu2] = g.kernel.cpus;
      const log: string[] = [];
      const start = g.sim.now;
      const ok = cpu1.injectWork(
        (function* (): KCode {
          cpu1.localIrqDisable();
          // one soft-disabled timed step of 2 x 100 us, ended by local_irq_enable itself
          yield { k: "delay", ns: 100_000 };
          yield { k: "delay", ns: 100_000 };
          log.push("enable");
          yield* cpu1.localIrqEnable();
          log.push(`enabled ${cpu1.softEnabled}`);
          yield SYNC;
        })(),
      );
      const masked = cpu1.stats.maskedInterrupts;
      const ok2 = cpu2.injectWork(
        (function* (): KCode {
          yield { k: "delay", ns: 50_000 };
          yield SYNC;
          yield* cpu2.callFunctionSingle(cpu1, () => log.push(`fn ${g.sim.now - start >= 200_000}`));
        })(),
      );
      g.sim.runFor(400_000);
      return {
        ok,
        ok2,
        log,
        masked: cpu1.stats.maskedInterrupts - masked,
        ext: cpu1.stats.interrupts.get(0x500),
      };
    };
    const steps = observe(true);
    expect(steps).toEqual({
      ok: true,
      ok2: true,
      // the handler ran inside local_irq_enable, once the step's 200 us had passed
      log: ["enable", "fn true", "enabled true"],
      masked: 1,
      ext: 1,
    });
    expect(observe(false)).toEqual(steps);
  });

  it("a step that would span a soft-mask change is refused (the kernel path must end it first)", () => {
    const attempt = (timedSteps: boolean): unknown => {
      const g = bootGuest(
        { disableStates: ["stop0lite", "Shared Cede"], timedSteps },
        { cores: 1, threads: 2 },
      );
      g.sim.runFor(3_000_000);
      const cpu1 = g.kernel.cpus[1];
      const done: string[] = [];
      cpu1.injectWork(
        (function* (): KCode {
          yield { k: "delay", ns: 300 };
          cpu1.localIrqDisable();
          yield { k: "delay", ns: 300 };
          yield* cpu1.localIrqEnable();
          done.push("done");
        })(),
      );
      try {
        g.sim.runFor(100_000);
      } catch (e) {
        return e;
      }
      return done;
    };
    const e = attempt(true);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).constructor).toBe(Error);
    expect((e as Error).message).toBe(
      "cpu1: the soft mask changed inside a timed step (enabled to disabled): the step must pass before the change",
    );
    // one wait per cost: each piece passes under its own mask
    expect(attempt(false)).toEqual(["done"]);
  });
});

describe("kernel code on the hardware thread", () => {
  it("user work runs slower beside a busy SMT sibling than beside a stopped one", () => {
    const cpuTime = (siblingBusy: boolean) => {
      let t: import("./task.js").Task | undefined;
      const { sim } = bootSmallGuest({
        config: { disableStates: ["snooze", "Shared Cede"] },
        beforeStart: ({ kernel }) => {
          t = kernel.spawn("w", 1, program([{ k: "compute", ns: 1_000_000 }]));
          if (siblingBusy)
            kernel.spawn(
              "hog",
              0,
              (function* (): TaskProgram {
                for (;;) yield { k: "compute", ns: 100_000 };
              })(),
            );
        },
      });
      sim.runFor(10_000_000);
      expect(t?.state).toBe("dead");
      return t?.cpuTimeNs ?? 0;
    };
    const alone = cpuTime(false);
    expect(alone).toBeGreaterThanOrEqual(1_000_000);
    expect(cpuTime(true)).toBeGreaterThan(1.1 * alone);
  });

  it("a CPU the panic stopped runs none of the kernel code queued on it at that instant", () => {
    // linux: kernel/panic.c panic -> smp_send_stop; arch/powerpc/kernel/smp.c stop_this_cpu: a
    // stopped CPU spins with interrupts off and runs no further kernel code. cpu 0 panics in the
    // event that comes first; in the same instant, cpu 2 has work injected and an IPI (XICS:
    // MFRR 0) taken, their continuations queued behind the panic
    const g = bootGuest({ disableStates: ["stop0lite", "Shared Cede"] }, { cores: 2, threads: 2 });
    g.sim.runFor(3_000_000);
    const [cpu0, , cpu2] = g.kernel.cpus;
    const ran: string[] = [];
    expect(cpu0.injectWork(g.kernel.panic(cpu0, "test"))).toBe(true);
    const injected = cpu2.injectWork(
      (function* (): KCode {
        ran.push(`work (${g.kernel.state})`);
        yield { k: "delay", ns: 100 };
        yield SYNC;
        ran.push(`more work (${g.kernel.state})`);
      })(),
    );
    expect(injected).toBe(true);
    const xirr = g.platform.hcallCounts.get(H_XIRR) ?? 0;
    const ints = cpu2.stats.interrupts.get(0x500) ?? 0;
    g.platform.icps[2].mfrr = 0;
    g.platform.updateIcp(2);
    expect(cpu2.stats.interrupts.get(0x500) ?? 0).toBe(ints + 1);
    g.sim.runFor(2_000_000);
    expect(g.kernel.state).toBe("panicked");
    expect(g.kernel.console.contains("Kernel panic - not syncing: test")).toBe(true);
    expect(cpu2.halted).toBe(true);
    expect(ran).toEqual([]);
    // the external interrupt's handler (H_XIRR first) never ran
    expect(g.platform.hcallCounts.get(H_XIRR) ?? 0).toBe(xirr);
  });

  // linux: kernel/panic.c panic: the CPU that panics goes on after smp_send_stop: the panic
  // notifiers (pseries: rtas_os_term, arch/powerpc/kernel/rtas.c, which reports a failing
  // ibm,os-term), then the end marker. Here ibm,os-term fails, so that the platform returns
  const emergTail = (kernel: GuestKernel) =>
    kernel.console.lines
      .filter((l) => l.level === "emerg")
      .map((l) => l.text)
      .slice(-3);

  it("the CPU that panics in an interrupt's context runs its panic to the end", () => {
    const g = bootGuest(
      { disableStates: ["stop0lite", "Shared Cede"] },
      { cores: 2, threads: 2, platformSetup: (p) => p.rtasFailures.set("ibm,os-term", [-3]) },
    );
    g.sim.runFor(3_000_000);
    const cpu0 = g.kernel.cpus[0];
    expect(cpu0.injectWork(g.kernel.panic(cpu0, "test"))).toBe(true);
    g.sim.runFor(2_000_000);
    expect(emergTail(g.kernel)).toEqual([
      "Kernel panic - not syncing: test",
      "ibm,os-term call failed -3",
      "---[ end Kernel panic - not syncing: test ]---",
    ]);
    expect(g.kernel.cpus.map((c) => [c.halted, c.online])).toEqual([
      [true, false],
      [true, false],
      [true, false],
      [true, false],
    ]);
  });

  it("the boot CPU that panics in the boot code runs its panic to the end", () => {
    // a tree without an interrupt controller: xics_request_ipi's BUG_ON, PID 1 killed, panic
    const tree = guestTree({ cores: 1, threads: 2 });
    const intc = tree.root.children.find((c) => c.name.startsWith("interrupt-controller"));
    if (intc === undefined) throw new Error("fixture without an interrupt controller");
    tree.root.removeChild(intc);
    const g = bootGuest(
      { cas: false, xive: false },
      { threads: 2, dtb: encodeDtb(tree), platformSetup: (p) => p.rtasFailures.set("ibm,os-term", [-3]) },
    );
    g.sim.runFor(2_000_000);
    expect(g.kernel.state).toBe("panicked");
    expect(emergTail(g.kernel)).toEqual([
      "Kernel panic - not syncing: Fatal exception",
      "ibm,os-term call failed -3",
      "---[ end Kernel panic - not syncing: Fatal exception ]---",
    ]);
    expect(g.kernel.cpus[0].halted).toBe(true);
  });

  it("a panic stops every CPU's kernel code: the others halt", () => {
    const { sim, kernel } = bootSmallGuest({ threads: 4, platform: { stopPolicy: "program" } });
    sim.runFor(50_000_000);
    expect(kernel.state).toBe("panicked");
    const t = sim.now;
    sim.runFor(10_000_000);
    expect(sim.now).toBeGreaterThan(t);
    for (const c of kernel.cpus) {
      expect(c.halted || c.thread.stopped || c.thread.hypervisorState).toBe(true);
    }
  });
});

describe("a vCPU entered after the panic (the kernel never started it)", () => {
  it("never comes online nor reaches the idle loop: the halted kernel stops it after its entry code", () => {
    // linux: kernel/panic.c: once panic() has stopped the other CPUs no CPU runs kernel code but
    // the one that panicked; a secondary the boot CPU never released (__cpu_up after start-cpu)
    // stays in its hold loop (arch/powerpc/kernel/head_64.S generic_secondary_smp_init). Here
    // start-cpu fails at boot, cpu 0 panics, then a hypervisor enters vCPU 1 at the secondary
    // entry with its own hardware id
    const { sim, kernel, platform } = bootSmallGuest({
      config: { disableStates: ["stop0lite", "Shared Cede"] },
      beforeStart: ({ platform }) => {
        platform.rtasFailures.set("start-cpu", [-1]);
      },
    });
    sim.runFor(1_000_000);
    const cpu0 = kernel.cpus[0];
    expect(cpu0.injectWork(kernel.panic(cpu0, "test"))).toBe(true);
    sim.runFor(1_000_000);
    expect(kernel.state).toBe("panicked");
    platform.enterGuest(1, BigInt(SECONDARY_ENTRY), [[3, 1n]]);
    sim.runFor(20_000_000);
    const cpu = (kernel.cpu(1) as unknown as { target: GuestCpu | null }).target;
    expect(cpu?.halted).toBe(true);
    expect(cpu?.online).toBe(false);
    expect(cpu?.stats.idleEntries).toBe(0);
    expect(cpu?.stats.interrupts.size).toBe(0);
  });
});

describe("a secondary that cannot find itself (start_secondary with an unknown hardware id)", () => {
  it("parks for good: its kernel code goes no further (no idle loop, no interrupts taken)", () => {
    // the kernel's start-cpu fails, so vCPU 1 never starts; then a hypervisor enters it at the
    // secondary entry with a hardware id the device tree does not have
    const { sim, kernel, platform } = bootSmallGuest({
      beforeStart: ({ platform }) => {
        platform.rtasFailures.set("start-cpu", [-1]);
      },
    });
    expect(kernel.console.contains("start-cpu failed: -1")).toBe(true);
    platform.enterGuest(1, BigInt(SECONDARY_ENTRY), [[3, 99n]]);
    sim.runFor(1_000_000);
    expect(kernel.console.lines.at(-1)).toEqual(
      expect.objectContaining({ level: "err", text: "start_secondary: unknown hardware id 99" }),
    );
    const shim = kernel.cpu(1) as unknown as { target: GuestCpu | null };
    const cpu = shim.target;
    expect(cpu?.activity).toBe("parked");
    sim.runFor(20_000_000);
    expect(cpu?.activity).toBe("parked");
    expect(cpu?.online).toBe(false);
    expect(cpu?.stats.idleEntries).toBe(0);
    expect(cpu?.stats.interrupts.size).toBe(0);
  });
});

describe("a task's kernel context", () => {
  it("is where the return from an interrupt to user mode preempts the task (need_resched)", () => {
    // linux: kernel/sched/core.c scheduler_tick -> resched_curr; arch/powerpc/kernel/entry_64.S
    // ret_from_except_lite: returning to user mode with _TIF_NEED_RESCHED calls schedule(). Task a
    // runs 100 ms of user work in one piece; b, queued behind it, gets the CPU at a tick's return
    // long before a's work ends
    const { sim, kernel } = bootSmallGuest({ config: { disableStates: ["snooze", "Shared Cede"] } });
    const a = kernel.spawn("a", 1, program([{ k: "compute", ns: 100_000_000 }]));
    const b = kernel.spawn("b", 1, program([{ k: "compute", ns: 1_000 }]));
    sim.runFor(60_000_000);
    expect(b.state).toBe("dead");
    expect(a.state).not.toBe("dead");
    expect(a.switches).toBeGreaterThanOrEqual(2);
  });

  it("is kept while the task lives and released when it exits (put_task_stack)", () => {
    const { sim, kernel } = bootSmallGuest({
      beforeStart: ({ kernel }) => {
        kernel.spawn("a", 1, program([{ k: "sleep", ns: 100_000 }]));
        kernel.spawn("b", 1, program([{ k: "sleep", ns: 3_000_000 }]));
      },
    });
    const cpu = kernel.cpus[1];
    const [a, b] = kernel.tasks;
    sim.runFor(1_000_000);
    expect([a.state, b.state]).toEqual(["dead", "sleeping"]);
    expect([...cpu.taskCtxs.keys()]).toEqual([b]);
    sim.runFor(3_000_000);
    expect(b.state).toBe("dead");
    expect(cpu.taskCtxs.size).toBe(0);
  });
});

describe("the instructions of kernel text execute at their own addresses", () => {
  it("a CPU polling in snooze_loop is past its HMT_low and HMT_very_low (PC at the loop)", () => {
    const { sim, kernel } = bootSmallGuest({ config: { disableStates: ["stop0lite", "Shared Cede"] } });
    sim.runFor(1_000_000);
    for (const cpu of kernel.cpus) {
      expect(cpu.activity).toBe("polling (snooze)");
      expect(Number(cpu.thread.pc)).toBe(TEXT.snooze.addr + 8);
      expect(cpu.thread.priority).toBe(1);
    }
  });
});

describe("a vCPU the hypervisor moved to another thread (rebind)", () => {
  // the destination's KVM loads the DEC the migration stream carried, or whatever the thread
  // held: the kernel's first step there reprograms it from its own hrtimers (here DEC holds
  // decrementer_max, ~4.2 s at 512 MHz: a timer 1-2 ms away would come seconds late without it)
  const moved = (timedSteps: boolean, busyNs = 0) => {
    const late: number[] = [];
    let read: (() => number[]) | undefined;
    const { sim, kernel, platform } = bootSmallGuest({
      config: { disableStates: ["snooze", "stop0lite"], timedSteps },
      beforeStart: ({ kernel }) => {
        read = timerSleeper(5)(kernel);
      },
    });
    if (busyNs > 0) keepBusy(sim, busyNs);
    sim.runFor(2_500_000);
    const before = [...(read?.() ?? [])];
    // cpu 1 cedes until its next timer
    expect(platform.hvCpu(1).ceded).toBe(true);
    const dest = new SmtCore(sim, { coreId: 5, chip: POWER9_DD23, threads: 2 }).threads[1];
    dest.setSpr(SPRN_DEC, 0x7fffffffn);
    platform.moveVcpu(1, dest);
    expect(kernel.cpus[1].thread).toBe(dest);
    sim.runFor(8_000_000);
    late.push(...(read?.() ?? []));
    return { before, late };
  };

  it("its first kernel step there reprograms DEC: the timers fire on time, in both modes alike", () => {
    const steps = moved(true);
    const ops = moved(false);
    expect(steps.before.length).toBeGreaterThanOrEqual(1);
    expect(steps.late).toHaveLength(5);
    expect(steps).toEqual(ops);
    // as late as before the move, to the SMT speed of the new core (within 1 us)
    for (const l of steps.late) expect(Math.abs(l - steps.before[0])).toBeLessThan(1_000);
    // and so with every step passing as a wait
    expect(moved(true, 37)).toEqual(ops);
  });
});
