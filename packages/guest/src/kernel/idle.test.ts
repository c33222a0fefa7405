// The guest idle loop (idle.ts) against linux: kernel/sched/idle.c do_idle / cpuidle_idle_call,
// drivers/cpuidle/cpuidle.c cpuidle_enter_state, drivers/cpuidle/cpuidle-pseries.c
// (pseries_idle_probe, snooze_loop, shared_cede_loop) and the stop0lite RFC's stop_loop, decision
// by decision on a small guest of the test platform with exact costs.
import { encodeDtb } from "@stopsim/devicetree";
import { type GovernorContext, type GovernorSelection, H_CEDE, type ReflectContext } from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { guestTree } from "../test-helpers/fixtures.js";
import { bootSmallGuest, keepBusy } from "../test-helpers/small-guest.js";
import { DEFAULT_GUEST_COSTS, type GuestCosts } from "./costs.js";
import { attachCpuidle } from "./idle.js";
import type { GuestKernel, GuestKernelConfig } from "./kernel.js";
import { Pipe, type TaskOp, type TaskProgram } from "./task.js";

function program(ops: readonly TaskOp[]): TaskProgram {
  return (function* (): TaskProgram {
    for (const op of ops) yield op;
  })();
}

const STOP0LITE_ONLY = ["snooze", "Shared Cede"];
const SNOOZE_ONLY = ["stop0lite", "Shared Cede"];

/**
 * A task on cpu 1, started at the end of boot, sleeping until whole milliseconds `n` times: how
 * late it runs after each.
 */
function timerWakes(
  config: GuestKernelConfig,
  costs: Partial<GuestCosts> = {},
  n = 3,
  platform = {},
  /** An unrelated event every `busyNs` (keepBusy): the timed steps pass as waits. */
  busyNs = 0,
  /** A dedicated-processor LPAR (the hypervisor leaves the VPA's shared bit clear). */
  dedicated = false,
) {
  const late: number[] = [];
  /** The residency of the idle period each wake-up ended (dev->last_residency_ns). */
  const residency: number[] = [];
  const g = bootSmallGuest({
    config,
    costs,
    platform,
    beforeStart: ({ kernel, platform }) => {
      if (dedicated) platform.markVpaShared = false;
      kernel.spawn(
        "sleeper",
        1,
        (function* (): TaskProgram {
          const cpu = kernel.cpus[1];
          for (let i = 0; i < n; i++) {
            const due = Math.ceil(cpu.ktime() / 1e6) * 1e6 + 1e6;
            yield { k: "sleepUntil", guestNs: due };
            late.push(cpu.ktime() - due);
            residency.push(cpu.cpuidle?.lastResidencyNs ?? -1);
          }
        })(),
      );
    },
  });
  if (busyNs > 0) keepBusy(g.sim, busyNs);
  g.sim.runFor((2 * n + 2) * 1_000_000);
  expect(late).toHaveLength(n);
  return { ...g, late, residency, cpu: g.kernel.cpus[1] };
}

describe("the pseries cpuidle driver's registration (pseries_processor_idle_init)", () => {
  it("without FW_FEATURE_SPLPAR there is no driver: the CPUs idle in arch_cpu_idle, polling at very low priority", () => {
    const tree = guestTree({ cores: 1, threads: 2 });
    tree.requireNode("/rtas").setPropStrings("ibm,hypertas-functions", ["hcall-pft"]);
    const { sim, kernel } = bootSmallGuest({ dtb: encodeDtb(tree) });
    expect(
      kernel.console.contains("cpuidle: pseries_idle_probe: no FW_FEATURE_SPLPAR, no cpuidle driver"),
    ).toBe(true);
    expect(kernel.console.contains("pseries_idle_driver registered")).toBe(false);
    expect(kernel.console.lines.find((l) => l.text.includes("no FW_FEATURE_SPLPAR"))?.level).toBe("info");
    sim.runFor(2_000_000);
    expect(kernel.driver).toBeNull();
    for (const c of kernel.cpus) {
      expect(c.cpuidle).toBeNull();
      expect(c.activity).toBe("polling (snooze)");
      expect(c.thread.priority).toBe(1); // HMT_very_low
      expect(c.softEnabled).toBe(true);
      expect(c.stats.idleEntries).toBe(0);
    }
    // a timer still wakes a task: arch_cpu_idle returns after the interrupt
    const t = kernel.spawn(
      "s",
      1,
      (function* (): TaskProgram {
        yield { k: "sleep", ns: 500_000 };
      })(),
    );
    sim.runFor(2_000_000);
    expect(t.state).toBe("dead");
  });

  it("says which table the VPA chose and which governor runs it", () => {
    const { kernel } = bootSmallGuest({ config: { governor: "teo" } });
    expect(
      kernel.console.contains(
        "cpuidle: pseries_idle_probe: lppaca_shared_proc() = 1 (VPA __old_status 0x02, LPPACA_OLD_SHARED_PROC set by the hypervisor): shared_states",
      ),
    ).toBe(true);
    expect(
      kernel.console.contains(
        "cpuidle: using governor teo; pseries_idle_driver registered (shared): snooze, stop0lite, Shared Cede",
      ),
    ).toBe(true);
    const ded = bootSmallGuest({
      config: { stop0lite: "never" },
      beforeStart: ({ platform }) => {
        platform.markVpaShared = false;
      },
    });
    expect(
      ded.kernel.console.contains(
        "cpuidle: using governor menu; pseries_idle_driver registered (dedicated): snooze, CEDE",
      ),
    ).toBe(true);
    // the hypervisor left LPPACA_OLD_SHARED_PROC clear
    expect(
      ded.kernel.console.lines
        .filter((l) => l.text.startsWith("cpuidle: pseries_idle_probe:"))
        .map((l) => l.text),
    ).toEqual([
      "cpuidle: pseries_idle_probe: lppaca_shared_proc() = 0 (VPA __old_status 0x00): dedicated_states",
    ]);
  });

  it("wakes the idle CPUs so that they take up the new driver at once (wake_up_all_idle_cpus)", () => {
    let readyAt = -1;
    const { sim, kernel } = bootSmallGuest({
      threads: 4,
      beforeStart: ({ kernel, sim }) => kernel.whenReady(() => (readyAt = sim.now)),
    });
    expect(readyAt).toBeGreaterThan(0);
    // at registration the secondaries still poll in arch_cpu_idle; within 100 us (far less than
    // a tick) each has gone round do_idle and entered a state of the driver
    sim.runFor(100_000 - (sim.now - readyAt));
    for (const c of kernel.cpus.slice(1)) expect(c.stats.idleEntries).toBeGreaterThan(0);
  });

  it("tells the polling CPUs to reschedule without an IPI (wake_up_if_idle: set_nr_if_polling), and logs at KERN_INFO", () => {
    // linux: kernel/sched/core.c wake_up_if_idle: a CPU polling in its idle loop only has
    // TIF_NEED_RESCHED set; the boot CPU, which registers the driver, is not woken
    const { kernel } = bootSmallGuest({ threads: 4 });
    for (const c of kernel.cpus) {
      expect(c.stats.ipisSent).toBe(0);
      expect(c.stats.ipisReceived).toBe(0);
    }
    for (const c of kernel.cpus.slice(1)) {
      expect(c.polling).toBe(true);
      expect(c.needResched).toBe(true);
      expect(c.stats.idleEntries).toBe(0);
    }
    for (const text of ["cpuidle: pseries_idle_probe: lppaca_shared_proc()", "cpuidle: using governor"]) {
      const lines = kernel.console.lines.filter((l) => l.text.startsWith(text));
      expect(lines.map((l) => l.level)).toEqual(["info"]);
    }
  });

  it("a CPU's device is registered once: a second registration keeps it (cpuidle_register_device: -EBUSY)", () => {
    const { sim, kernel } = bootSmallGuest({ config: { disableStates: ["stop0lite"] } });
    sim.runFor(1_000_000);
    const cpu = kernel.cpus[1];
    const dev = cpu.cpuidle;
    const usage = dev?.sysfs().map((s) => [s.usage, s.disable]);
    expect(usage?.some(([u]) => u > 0)).toBe(true);
    attachCpuidle(kernel, cpu);
    expect(cpu.cpuidle).toBe(dev);
    expect(cpu.cpuidle?.sysfs().map((s) => [s.usage, s.disable])).toEqual(usage);
  });

  it("without a driver a CPU gets no device", () => {
    const tree = guestTree({ cores: 1, threads: 2 });
    tree.requireNode("/rtas").setPropStrings("ibm,hypertas-functions", ["hcall-pft"]);
    const { kernel } = bootSmallGuest({ dtb: encodeDtb(tree) });
    kernel.cpus[1].cpuidle = null;
    attachCpuidle(kernel, kernel.cpus[1]);
    expect(kernel.cpus[1].cpuidle).toBeNull();
  });

  it("without a driver, remote wake-ups at every point of the way into arch_cpu_idle: the same whether its steps pass inline or as waits", () => {
    // a writer on cpu 0 writes every 3 us; the reader on cpu 1 computes 1, 11 .. 3001 ns after
    // each read before it reads again: the next write finds it computing, on its way into
    // arch_cpu_idle (not yet polling: an IPI) or polling (TIF_POLLING_NRFLAG, set once the idle
    // entry has run: need_resched without an IPI)
    const run = (timedSteps: boolean) => {
      const tree = guestTree({ cores: 1, threads: 2 });
      tree.requireNode("/rtas").setPropStrings("ibm,hypertas-functions", ["hcall-pft"]);
      const p = new Pipe("p");
      const xs = Array.from({ length: 301 }, (_, i) => 10 * i);
      const { sim, kernel } = bootSmallGuest({
        dtb: encodeDtb(tree),
        config: { timedSteps },
        beforeStart: ({ kernel }) => {
          kernel.spawn(
            "r",
            1,
            program(
              xs.flatMap(
                (ns) =>
                  [
                    { k: "read", pipe: p },
                    { k: "compute", ns: ns + 1 },
                  ] as const,
              ),
            ),
          );
          kernel.spawn(
            "w",
            0,
            program(
              xs.flatMap(
                () =>
                  [
                    { k: "sleep", ns: 3_000 },
                    { k: "write", pipe: p },
                  ] as const,
              ),
            ),
          );
        },
      });
      sim.runFor(10_000_000);
      expect(kernel.driver).toBeNull();
      return { ipis: kernel.cpus[0].stats.ipisSent, reader: kernel.tasks[0].state };
    };
    const steps = run(true);
    const ops = run(false);
    expect(steps.reader).toBe("dead");
    expect(ops.reader).toBe("dead");
    // some writes came before cpu 1 polled (to one, for SMT speeds that differ within a step)
    expect(steps.ipis).toBeGreaterThanOrEqual(10);
    expect(Math.abs(steps.ipis - ops.ipis)).toBeLessThanOrEqual(1);
  });

  it("disables the configured states by name on every CPU; an unknown name changes nothing", () => {
    const { kernel } = bootSmallGuest({ config: { disableStates: ["stop0lite", "no-such-state"] } });
    for (const c of kernel.cpus)
      expect(c.cpuidle?.sysfs().map((s) => [s.name, s.disable])).toEqual([
        ["snooze", 0],
        ["stop0lite", 1],
        ["Shared Cede", 0],
      ]);
  });
});

describe("do_idle and cpuidle_idle_call", () => {
  it("a timer wake-up pays the idle exit; the idle entry and the governor are paid before the state", () => {
    const base = timerWakes({ disableStates: STOP0LITE_ONLY });
    expect(new Set(base.late).size).toBe(1);
    const exit = timerWakes(
      { disableStates: STOP0LITE_ONLY },
      { idleExitNs: DEFAULT_GUEST_COSTS.idleExitNs + 1000 },
    );
    expect(exit.late.map((l, i) => l - base.late[i])).toEqual([1000, 1000, 1000]);
    for (const costs of [
      { idleEntryNs: DEFAULT_GUEST_COSTS.idleEntryNs + 1000 },
      { governorSelectNs: DEFAULT_GUEST_COSTS.governorSelectNs + 1000 },
    ]) {
      const r = timerWakes({ disableStates: STOP0LITE_ONLY }, costs);
      expect(r.late).toEqual(base.late);
      // ... and shorten each period's residency by as much (cpuidle_enter_state's time_start is
      // read after them), to the timebase's 1.95 ns; the first period began at the end of boot
      for (const i of [1, 2]) expect(Math.abs(base.residency[i] - r.residency[i] - 1000)).toBeLessThan(2);
    }
  });

  it("the same wake-ups, residencies and usage when every step passes as a wait (a busy simulation)", () => {
    // the idle path's timed steps pass inline on a quiet simulation; with an unrelated event every
    // 37 ns each passes as a wait (and the code after it runs from the runtime's continuation)
    const cases: Array<[GuestKernelConfig, boolean]> = [
      [{ disableStates: STOP0LITE_ONLY }, false],
      [{ disableStates: SNOOZE_ONLY }, false],
      [{ disableStates: ["snooze", "stop0lite"] }, false],
      [{ stop0lite: "never", disableStates: ["snooze"] }, true],
    ];
    for (const [config, dedicated] of cases) {
      const seen = (busyNs: number, timedSteps = true) => {
        const r = timerWakes({ ...config, timedSteps }, {}, 3, {}, busyNs, dedicated);
        expect(r.kernel.driver?.shared).toBe(!dedicated);
        return {
          late: r.late,
          residency: r.residency,
          usage: r.cpu.cpuidle?.statesUsage.map((u) => [u.usage, u.timeNs]),
          entries: r.cpu.stats.idleEntries,
          timerWakeups: r.cpu.stats.timerWakeups,
        };
      };
      const quiet = seen(0);
      expect(seen(37)).toEqual(quiet);
      // and the wake-ups of the same kernel spending each cost as its own wait; the residencies
      // too after the first idle period (which began when the boot ended: the boot's own steps
      // end it differently), except snooze's (the 50 cycles of its 20 us timeout before a timer
      // each end on a timebase tick, rounded differently in the two modes)
      const ops = seen(0, false);
      expect(ops.late).toEqual(quiet.late);
      if (config.disableStates !== SNOOZE_ONLY)
        expect(ops.residency.slice(1)).toEqual(quiet.residency.slice(1));
    }
  });

  it("timers expiring at every point of the idle path: the same wake-ups whether its steps pass inline or as waits", () => {
    // a task on cpu 1 sleeping 0, 25, 50 .. 2500 ns: each timer expires at another point of the
    // way into idle (the sleep's system call, the context switch, the idle entry path with
    // interrupts soft-disabled, the state's entry) or in the state
    for (const state of ["snooze", "stop0lite", "Shared Cede"]) {
      const late = (busyNs: number) => {
        const out: number[] = [];
        const { sim } = bootSmallGuest({
          config: { disableStates: ["snooze", "stop0lite", "Shared Cede"].filter((s) => s !== state) },
          beforeStart: ({ kernel }) => {
            kernel.spawn(
              "s",
              1,
              (function* (): TaskProgram {
                const cpu = kernel.cpus[1];
                for (let ns = 0; ns <= 2500; ns += 25) {
                  const due = cpu.ktime() + ns;
                  yield { k: "sleepUntil", guestNs: due };
                  out.push(cpu.ktime() - due);
                }
              })(),
            );
          },
        });
        if (busyNs > 0) keepBusy(sim, busyNs);
        sim.runFor(20_000_000);
        return out;
      };
      const quiet = late(0);
      expect(quiet).toHaveLength(101);
      // a timer masked on the way (the idle entry path runs soft-disabled) is replayed at the
      // state's local_irq_enable: from snooze and stop0lite each task runs within 2 us of its
      // timer (a masked one left for a later enable would wait for snooze's 20 us timeout)
      if (state !== "Shared Cede") for (const l of quiet) expect(l).toBeLessThan(2_000);
      expect(late(37)).toEqual(quiet);
    }
  });

  it("counts each pass through cpuidle_idle_call and accounts the state's usage and residency", () => {
    const { cpu, kernel } = timerWakes({ disableStates: STOP0LITE_ONLY });
    const s = cpu.cpuidle?.sysfs()[1];
    expect(s?.name).toBe("stop0lite");
    // three sleeps of (nearly) a millisecond each, and the idle time before and after them
    expect(s?.usage).toBeGreaterThanOrEqual(3);
    // every entry is accounted once the state returns; cpu 1 is in stop0lite now
    expect(cpu.thread.stopped).toBe(true);
    expect(cpu.stats.idleEntries).toBe((cpu.cpuidle?.sysfs().reduce((n, x) => n + x.usage, 0) ?? 0) + 1);
    expect(s?.time).toBeGreaterThan(2_900);
    expect(cpu.stats.timerWakeups).toBeGreaterThanOrEqual(3);
    expect(kernel.cpus[1].inIdle).toBe(true);
  });

  it("an IPI wake-up before the timer is not a timer wake-up", () => {
    const pipe = new Pipe("p");
    const { sim, kernel } = bootSmallGuest({
      config: { disableStates: STOP0LITE_ONLY },
      beforeStart: ({ kernel }) => {
        // cpu 1 idles with a timer 50 ms away (a long sleeper) and is woken three times early by
        // a writer on cpu 0
        kernel.spawn("long", 1, program([{ k: "sleep", ns: 50_000_000 }]));
        kernel.spawn("reader", 1, program([0, 1, 2].map(() => ({ k: "read", pipe }) as const)));
        kernel.spawn(
          "writer",
          0,
          program(
            [0, 1, 2].flatMap(
              () =>
                [
                  { k: "sleep", ns: 1_000_000 },
                  { k: "write", pipe },
                ] as const,
            ),
          ),
        );
      },
    });
    const cpu = kernel.cpus[1];
    sim.runFor(5_000_000);
    expect(pipe.waiters).toEqual([]);
    expect(cpu.stats.ipisReceived).toBeGreaterThanOrEqual(3);
    expect(cpu.stats.timerWakeups).toBe(0);
  });

  it("a PM QoS latency limit keeps the governor off states that exit slower (latency_req)", () => {
    const used = (latencyReqNs: number | undefined) => {
      // a task on cpu 1 sleeping 5 ms at a time: menu picks Shared Cede for such periods
      const { sim, kernel } = bootSmallGuest({
        config: { latencyReqNs },
        beforeStart: ({ kernel }) => {
          kernel.spawn(
            "p",
            1,
            program(Array.from({ length: 10 }, () => ({ k: "sleep", ns: 5_000_000 }) as const)),
          );
        },
      });
      sim.runFor(50_000_000);
      return Object.fromEntries((kernel.cpus[1].cpuidle?.sysfs() ?? []).map((s) => [s.name, s.usage]));
    };
    const free = used(undefined);
    expect(free["Shared Cede"]).toBeGreaterThan(0);
    // Shared Cede exits in 10 us, stop0lite in 2 us
    const limited = used(5_000);
    expect(limited["Shared Cede"]).toBe(0);
    expect(limited.stop0lite).toBeGreaterThan(0);
  });

  it("a long idle period stops the tick and programs the decrementer for the next timer only", () => {
    const { sim, kernel } = bootSmallGuest({
      config: { disableStates: STOP0LITE_ONLY },
      beforeStart: ({ kernel }) => {
        kernel.spawn("long", 1, program([{ k: "sleep", ns: 300_000_000 }]));
      },
    });
    const cpu = kernel.cpus[1];
    const decs = () => cpu.stats.interrupts.get(0x900) ?? 0;
    // menu starts from an empty history (it predicts short idle periods: the tick is kept), and
    // learns from the tick's wake-ups
    sim.runFor(100_000_000);
    expect(cpu.tickRunning).toBe(false);
    const d0 = decs();
    sim.runFor(150_000_000);
    // no tick for 150 ms (HZ=100: it would have fired 15 times)
    expect(decs() - d0).toBe(0);
    sim.runFor(60_000_000);
    // the sleeper's timer, once
    expect(decs() - d0).toBe(1);
    expect(cpu.stats.timerWakeups).toBeGreaterThanOrEqual(1);
  });

  it("records cpu_idle and cpu_idle_exit with the state's name in the trace", () => {
    const { sim, kernel } = bootSmallGuest({
      trace: true,
      config: { disableStates: STOP0LITE_ONLY },
      beforeStart: ({ kernel }) => {
        kernel.spawn("p", 1, program([{ k: "sleep", ns: 500_000 }]));
      },
    });
    sim.runFor(1_000_000);
    const ev = sim.trace.events().filter((e) => e.cat === "guest" && e.name.startsWith("cpu_idle"));
    expect(ev.length).toBeGreaterThan(0);
    for (const e of ev) expect(e.args).toEqual({ state: "stop0lite" });
    // each entry, then its exit (the last entry may still be in its state)
    const tracks = new Map<string, string[]>();
    for (const e of ev) {
      const key = JSON.stringify([(e as { track?: unknown }).track, (e as { tid?: unknown }).tid]);
      tracks.set(key, [...(tracks.get(key) ?? []), e.name]);
    }
    expect(tracks.size).toBe(2);
    for (const names of tracks.values()) {
      expect(names[0]).toBe("cpu_idle");
      for (let i = 1; i < names.length; i++) expect(names[i]).not.toBe(names[i - 1]);
    }
    expect(ev.map((e) => e.name)).toContain("cpu_idle_exit");
    expect(kernel.cpus[1].idleStateName).toBe("stop0lite");
  });
});

describe("what the idle loop tells the governor and the scheduler", () => {
  it("the governor is told how far the next timer is: teo keeps a CPU whose timer is 12 us away in snooze", () => {
    // teo_select: the sleep length (tick_nohz_get_sleep_length) below stop0lite's 20 us target
    // residency rules stop0lite and Shared Cede out
    const { sim, kernel } = bootSmallGuest({
      config: { governor: "teo" },
      beforeStart: ({ kernel }) => {
        kernel.spawn(
          "p",
          1,
          program(Array.from({ length: 200 }, () => ({ k: "sleep", ns: 12_000 }) as const)),
        );
      },
    });
    sim.runFor(6_000_000);
    const u = Object.fromEntries((kernel.cpus[1].cpuidle?.sysfs() ?? []).map((x) => [x.name, x.usage]));
    // (tasks spawned before boot come before init)
    expect(kernel.tasks[0].state).toBe("dead");
    expect(u.snooze).toBeGreaterThan(150);
    expect(u.stop0lite + u["Shared Cede"]).toBeLessThan(20);
  });

  it("short idle periods keep the tick running (menu's stop_tick = false below TICK_NSEC)", () => {
    const { sim, kernel } = bootSmallGuest({
      config: { disableStates: STOP0LITE_ONLY },
      beforeStart: ({ kernel }) => {
        kernel.spawn(
          "p",
          1,
          program(Array.from({ length: 400 }, () => ({ k: "sleep", ns: 100_000 }) as const)),
        );
      },
    });
    const cpu = kernel.cpus[1];
    sim.runFor(10_000_000);
    const seen = new Set<boolean>();
    for (let i = 0; i < 200; i++) {
      sim.runFor(37_000);
      if (cpu.thread.stopped) seen.add(cpu.tickRunning);
    }
    expect([...seen]).toEqual([true]);
  });

  it("a running task's CPU is out of idle: no idle state, the tick back on", () => {
    const { sim, kernel } = bootSmallGuest({
      config: { disableStates: STOP0LITE_ONLY },
      beforeStart: ({ kernel }) => {
        kernel.spawn(
          "hog",
          1,
          (function* (): TaskProgram {
            for (;;) yield { k: "compute", ns: 100_000 };
          })(),
        );
      },
    });
    sim.runFor(2_000_000);
    const cpu = kernel.cpus[1];
    expect(cpu.activity).toBe("running hog");
    expect(cpu.inIdle).toBe(false);
    expect(cpu.idleStateSince).toBe(-1);
    expect(cpu.tickRunning).toBe(true);
    // cpu 0 is idle in stop0lite, since the time it entered it
    expect(kernel.cpus[0].inIdle).toBe(true);
    expect(kernel.cpus[0].idleStateSince).toBeGreaterThan(0);
    expect(kernel.cpus[0].idleStateSince).toBeLessThanOrEqual(sim.now);
  });

  it("snooze clears the polling flag when it ends: a CPU that went on to stop0lite gets its IPI", () => {
    const p = new Pipe("p");
    const { sim, kernel } = bootSmallGuest({
      config: { disableStates: SNOOZE_ONLY },
      beforeStart: ({ kernel }) => {
        kernel.spawn("reader", 1, program([{ k: "read", pipe: p }]));
        kernel.spawn(
          "writer",
          0,
          program([
            { k: "sleep", ns: 3_000_000 },
            { k: "write", pipe: p },
          ]),
        );
      },
    });
    const cpu = kernel.cpus[1];
    sim.runFor(1_000_000);
    expect(cpu.polling).toBe(true);
    // cpu 1 now idles in stop0lite only (its sysfs): its next snooze ends, it stops
    cpu.cpuidle?.setDisabled("snooze", true);
    cpu.cpuidle?.setDisabled("stop0lite", false);
    sim.runFor(500_000);
    expect(cpu.thread.stopped).toBe(true);
    expect(cpu.polling).toBe(false);
    sim.runFor(2_000_000);
    expect(kernel.cpus[0].stats.ipisSent).toBeGreaterThan(0);
    expect(kernel.tasks[0].name).toBe("reader");
    expect(kernel.tasks[0].state).toBe("dead");
  });

  it("a dedicated LPAR's CEDE cedes the vCPU with H_CEDE too", () => {
    const { sim, kernel, platform } = bootSmallGuest({
      config: { stop0lite: "never", disableStates: ["snooze"] },
      beforeStart: ({ platform }) => {
        platform.markVpaShared = false;
      },
    });
    sim.runFor(2_000_000);
    expect(kernel.driver?.states.map((s) => s.name)).toEqual(["snooze", "CEDE"]);
    expect(platform.hvCpu(1).ceded).toBe(true);
    expect(kernel.cpus[1].stats.hcalls.get(0xe0) ?? 0).toBeGreaterThan(0);
    expect(kernel.cpus[1].idleStateName).toBe("CEDE");
  });
});

describe("the pseries idle states' loops", () => {
  /** cpu 1 idle for 1 ms in snooze only: how often it re-entered and the snooze's residency. */
  const snoozeFor1ms = (config: GuestKernelConfig) => {
    const { sim, kernel } = bootSmallGuest({ config: { ...config, disableStates: SNOOZE_ONLY } });
    const c = kernel.cpus[1];
    const before = c.cpuidle?.sysfs()[0];
    sim.runFor(1_000_000);
    const after = c.cpuidle?.sysfs()[0];
    return { n: (after?.usage ?? 0) - (before?.usage ?? 0), us: (after?.time ?? 0) - (before?.time ?? 0), c };
  };

  it("snooze times out after the next state's target residency (snooze_timeout) and goes round again", () => {
    // with stop0lite: states[1] = stop0lite, 20 us; without: Shared Cede, 100 us (even disabled)
    const stop = snoozeFor1ms({ stop0lite: "always" });
    expect(stop.n).toBeGreaterThanOrEqual(48);
    expect(stop.n).toBeLessThanOrEqual(50);
    expect(stop.us / stop.n).toBeGreaterThanOrEqual(19.5);
    expect(stop.us / stop.n).toBeLessThanOrEqual(20.5);
    const cede = snoozeFor1ms({ stop0lite: "never" });
    expect(cede.n).toBeGreaterThanOrEqual(9);
    expect(cede.n).toBeLessThanOrEqual(10);
    expect(cede.us / cede.n).toBeGreaterThanOrEqual(99);
    expect(cede.us / cede.n).toBeLessThanOrEqual(101);
  });

  it("snooze polls with interrupts enabled at very low SMT priority and the polling flag set", () => {
    const { c } = snoozeFor1ms({ stop0lite: "always" });
    expect(c.activity).toBe("polling (snooze)");
    expect(c.polling).toBe(true);
    expect(c.softEnabled).toBe(true);
    expect(c.thread.priority).toBe(1);
  });

  it("Shared Cede cedes with interrupts soft-enabled and comes back through the hypervisor", () => {
    const { sim, kernel, platform } = bootSmallGuest({ config: { disableStates: ["snooze", "stop0lite"] } });
    sim.runFor(1_000_000);
    const c = kernel.cpus[1];
    expect(platform.hvCpu(1).ceded).toBe(true);
    expect(c.softEnabled).toBe(true);
    const cedes = c.stats.hcalls.get(0xe0) ?? 0; // H_CEDE
    expect(cedes).toBeGreaterThan(0);
    expect(kernel.console.contains("H_CEDE returned with interrupts disabled")).toBe(false);
    // a timer wake-up from Shared Cede pays the hypervisor's way back (cedeWakeNs)
    const fast = timerWakes({ disableStates: ["snooze", "stop0lite"] });
    const slow = timerWakes({ disableStates: ["snooze", "stop0lite"] }, {}, 3, {
      costs: { cedeWakeNs: 30_000 },
    });
    expect(slow.late.map((l, i) => l - fast.late[i])).toEqual([10_000, 10_000, 10_000]);
    // H_CEDE came back with MSR[EE] on each time: no warning
    for (const r of [fast, slow])
      expect(r.kernel.console.contains("H_CEDE returned with interrupts disabled")).toBe(false);
  });

  it("H_CEDE returning with MSR[EE] clear: a warning, interrupts hard-enabled, the timers still wake the task", () => {
    // linux: drivers/cpuidle/cpuidle-pseries.c check_and_cede_processor / plpar_wrappers.h
    // cede_processor; a hypervisor that answers H_CEDE at once and leaves MSR[EE] as `sc 1`
    // found it
    const { sim, kernel } = bootSmallGuest({
      config: { disableStates: ["snooze", "stop0lite"] },
      beforeStart: ({ platform, kernel }) => {
        platform.hcallFailures.set(H_CEDE, 0);
        kernel.spawn("s", 1, program([0, 1, 2].map(() => ({ k: "sleep", ns: 1_000_000 }) as const)));
      },
    });
    sim.runFor(5_000_000);
    const warn = kernel.console.lines.filter((l) =>
      l.text.includes("H_CEDE returned with interrupts disabled"),
    );
    expect(warn.length).toBeGreaterThan(0);
    expect(warn[0].text).toBe("WARNING: CPU: 1: H_CEDE returned with interrupts disabled");
    expect(warn[0].level).toBe("warning");
    expect(kernel.tasks[0].state).toBe("dead");
  });

  it("stop0lite stops the thread with MSR[EE] clear and interrupts soft-disabled", () => {
    const { sim, kernel } = bootSmallGuest({ config: { disableStates: STOP0LITE_ONLY } });
    sim.runFor(1_000_000);
    const c = kernel.cpus[1];
    expect(c.thread.stopped).toBe(true);
    expect(c.thread.msr & 0x8000n).toBe(0n);
    expect(c.softEnabled).toBe(false);
    expect(c.polling).toBe(false);
  });
});

/**
 * Every governor call of cpu 1, recorded around the configured governor (which still decides):
 * a copy of what cpuidle_idle_call handed select() and what it chose, and what reflect() got.
 */
function spyGovernor(kernel: GuestKernel, cpu = 1) {
  const real = kernel.governor;
  const selects: Array<{ ctx: GovernorContext; sel: GovernorSelection }> = [];
  const reflects: ReflectContext[] = [];
  kernel.governor = {
    name: real.name,
    select(dev, ctx) {
      const sel = real.select(dev, ctx);
      if (dev.cpu === cpu) selects.push({ ctx: { ...ctx }, sel });
      return sel;
    },
    reflect(dev, index, ctx) {
      if (dev.cpu === cpu) reflects.push({ ...ctx });
      real.reflect(dev, index, ctx);
    },
  };
  return { selects, reflects };
}

describe("what cpuidle_idle_call hands the governor", () => {
  /**
   * A task on cpu 1 sleeping until `offsetNs` past a tick boundary 20 ms on, three times, and one
   * on cpu 0 that has a function run on cpu 1 (smp_call_function_single: an IPI that wakes cpu 1
   * without waking a task) at 35.3 and 55.3 ms; the governor calls of each idle period.
   */
  const sleeper = (timedSteps: boolean, offsetNs = 5_300_000, latencyReqNs?: number) => {
    const dues: number[] = [];
    const starts: number[] = [];
    let spy: ReturnType<typeof spyGovernor> | undefined;
    const { sim, kernel } = bootSmallGuest({
      config: { disableStates: STOP0LITE_ONLY, timedSteps, latencyReqNs },
      beforeStart: ({ kernel }) => {
        spy = spyGovernor(kernel);
        kernel.spawn(
          "sleeper",
          1,
          (function* (): TaskProgram {
            const cpu = kernel.cpus[1];
            for (let i = 0; i < 3; i++) {
              const due = (Math.floor(cpu.ktime() / kernel.tickNs) + 2) * kernel.tickNs + offsetNs;
              dues.push(due);
              starts.push(cpu.ktime());
              yield { k: "sleepUntil", guestNs: due };
            }
          })(),
        );
        kernel.spawn(
          "caller",
          0,
          program(
            [35_300_000, 55_300_000].flatMap(
              (t) =>
                [
                  { k: "sleepUntil", guestNs: t },
                  { k: "callFunction", cpu: 1, fn: () => {} },
                ] as const,
            ),
          ),
        );
      },
    });
    sim.runFor(80_000_000);
    if (spy === undefined) throw new Error("no spy");
    expect(dues).toHaveLength(3);
    return { kernel, dues, starts, ...spy };
  };

  for (const timedSteps of [true, false]) {
    it(`the sleep length from the idle entry, delta_next to the tick while it runs, the tick's state, latency_req (${timedSteps ? "timed steps" : "one wait per cost"})`, () => {
      const { kernel, dues, starts, selects } = sleeper(timedSteps, 5_300_000, 7_000);
      const tickNs = kernel.tickNs;
      const gov = DEFAULT_GUEST_COSTS.governorSelectNs;
      let running = 0;
      let stopped = 0;
      for (const [n, due] of dues.entries()) {
        // the selections while the task slept until `due`
        const period = selects.filter(({ ctx }) => ctx.now < due && ctx.now > starts[n]);
        expect(period.length).toBeGreaterThan(0);
        // tick_nohz_idle_exit restarted the tick when the task ran: its first idle period begins
        // with the tick running
        expect(period[0].ctx.tickStopped).toBe(false);
        for (const [i, { ctx }] of period.entries()) {
          // linux: kernel/time/tick-sched.c tick_nohz_get_sleep_length: the next timer's distance
          // from the idle entry (the governor's own cost runs after it, at the SMT speed of the
          // moment)
          const over = ctx.now + ctx.sleepLengthNs - due;
          expect(over).toBeGreaterThanOrEqual(-2);
          expect(over).toBeLessThanOrEqual(2 * gov);
          const entry = due - ctx.sleepLengthNs;
          if (ctx.tickStopped) {
            // no tick: the next event is the timer
            expect(ctx.deltaNextNs).toBe(ctx.sleepLengthNs);
            stopped++;
          } else {
            // *delta_next: the next clock event, the tick at the next jiffy boundary
            const tickAt = (Math.floor(entry / tickNs) + 1) * tickNs;
            expect(Math.abs(ctx.deltaNextNs - Math.min(tickAt - entry, ctx.sleepLengthNs))).toBeLessThan(4);
            running++;
          }
          // a selection that stopped the tick leaves it stopped for the next one in the period
          if (i > 0 && period[i - 1].sel.stopTick) expect(ctx.tickStopped).toBe(true);
          expect(ctx.latencyReqNs).toBe(7_000);
          expect(ctx.nrIowaiters).toBe(0);
          expect(ctx.tickNs).toBe(tickNs);
        }
      }
      // the tick ran (and was nearer than the timer) in some selections
      expect(running).toBeGreaterThan(0);
      expect(selects.some(({ ctx }) => !ctx.tickStopped && ctx.deltaNextNs < ctx.sleepLengthNs - 1_000)).toBe(
        true,
      );
      // ... and stopped after the function calls' wake-ups, in the periods where a selection had
      // stopped it
      expect(stopped).toBeGreaterThanOrEqual(2);
    });
  }

  it("reflect is told whether the tick ended the idle period (tick_nohz_idle_got_tick) and when", () => {
    const { kernel, dues, reflects } = sleeper(true);
    const tickNs = kernel.tickNs;
    let ticks = 0;
    let timers = 0;
    let calls = 0;
    for (const r of reflects) {
      expect(r.tickNs).toBe(tickNs);
      const sinceTick = r.now - Math.floor(r.now / tickNs) * tickNs;
      const timer = dues.find((d) => r.now >= d && r.now - d < 100_000);
      const call = [35_300_000, 55_300_000].find((d) => r.now >= d && r.now - d < 100_000);
      if (call !== undefined) {
        // woken by the function call's IPI
        expect(r.gotTick).toBe(false);
        calls++;
      } else if (timer !== undefined) {
        // woken by the task's timer, 5.3 ms past a tick boundary: not the tick, even when the tick
        // ended the previous idle period
        expect(r.gotTick).toBe(false);
        timers++;
      } else if (sinceTick < 100_000) {
        expect(r.gotTick).toBe(true);
        ticks++;
      }
    }
    expect(timers).toBe(3);
    expect(calls).toBe(2);
    expect(ticks).toBeGreaterThan(0);
  });
});
