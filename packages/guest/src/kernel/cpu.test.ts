// One vCPU of the guest kernel (cpu.ts), on the test platform: FIXUP_ENDIAN at both entries, what
// the CPU is doing as a report sees it, hypercall bookkeeping, interrupted waits that resume with
// what was left of them, work injected from outside the guest (and where it may not cut in), a vCPU
// that the hypervisor runs on another hardware thread (a live migration's destination), halt.
// linux: arch/powerpc/include/asm/ppc_asm.h FIXUP_ENDIAN (mtsrr0/mtsrr1/rfid to the instruction
// after the trampoline with MSR_LE set), arch/powerpc/platforms/pseries/hvCall.S plpar_hcall,
// arch/powerpc/kernel/irq.c (soft-masking: code injected like an interrupt cannot cut into a
// soft-disabled region).
import { Simulation } from "@stopsim/engine";
import { MSR_LE, MSR_ME, MSR_RI, MSR_SF, POWER9_DD23, SmtCore } from "@stopsim/isa";
import { H_CEDE } from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { guestDtb } from "../test-helpers/fixtures.js";
import { type StopPolicy, TestPlatform } from "../test-helpers/platform.js";
import { periodicTimer } from "../workloads/workloads.js";
import { type GuestCpu, type KCode, PACA_IRQ_HARD_DIS } from "./cpu.js";
import { TEXT } from "./image.js";
import { createGuestKernel, type GuestKernelConfig } from "./kernel.js";
import type { TaskProgram } from "./task.js";

interface BootOpts {
  threads?: number;
  policy?: StopPolicy;
  seed?: number;
  trace?: boolean;
  platform?: (o: ConstructorParameters<typeof TestPlatform>[0]) => TestPlatform;
}

function boot(config: GuestKernelConfig = {}, o: BootOpts = {}) {
  const sim = new Simulation({ seed: o.seed ?? 11, trace: o.trace ?? false });
  const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, xive: false, ...config } });
  const threads = o.threads ?? 2;
  const opts = {
    sim,
    image: kernel,
    dtb: guestDtb({ cores: 1, threads }),
    threadsPerCore: threads,
    stopPolicy: o.policy ?? "native",
  };
  const platform = o.platform?.(opts) ?? new TestPlatform(opts);
  platform.start();
  while ((kernel.state === "created" || kernel.state === "booting") && sim.now < 1e9 && sim.step()) {}
  expect(kernel.state).toBe("running");
  return { sim, kernel, platform };
}

/** Steps the simulation until `pred` holds (at most `limitNs` more of virtual time). */
function stepUntil(sim: Simulation, pred: () => boolean, limitNs = 100_000_000): void {
  const end = sim.now + limitNs;
  while (!pred() && sim.now < end && sim.step()) {}
  expect(pred()).toBe(true);
}

/** Kernel code of `ns` that records when it ran. */
function* marker(ran: number[], cpu: GuestCpu, ns: number): KCode {
  ran.push(cpu.sim.now);
  yield { k: "delay", ns };
  yield { k: "sync" };
}

/** A platform that enters every vCPU big-endian (MSR[LE] clear), as SLOF hands over to Linux. */
class BigEndianEntry extends TestPlatform {
  override get guestMsr(): bigint {
    return super.guestMsr & ~MSR_LE;
  }
}

describe("FIXUP_ENDIAN at __start and generic_secondary_smp_init", () => {
  /** Every instruction word the guest's threads execute in the trampoline: where, what, and the MSR after it. */
  function trampolineRuns(platformOf: BootOpts["platform"]) {
    const runs: Array<{ thread: number; pc: number; word: number; msr: bigint; srr0: bigint; srr1: bigint }> =
      [];
    const { kernel } = boot(
      {},
      {
        platform: (o) => {
          const p = platformOf?.(o) ?? new TestPlatform(o);
          for (const t of p.threads) {
            const execute = t.execute.bind(t);
            t.execute = (word: number) => {
              const pc = Number(t.pc & 0xffffffffn);
              const r = execute(word);
              if (pc >= TEXT.fixupEndian.addr && pc < TEXT.fixupEndian.addr + 12)
                runs.push({ thread: t.index, pc, word, msr: t.msr, srr0: t.getSpr(26), srr1: t.getSpr(27) });
              return r;
            };
          }
          return p;
        },
      },
    );
    return { kernel, runs };
  }

  it("a CPU entered big-endian switches to little-endian through mtsrr0, mtsrr1 and rfid to the next instruction", () => {
    const { kernel, runs } = trampolineRuns((o) => new BigEndianEntry(o));
    const entryMsr = MSR_SF | MSR_ME | MSR_RI;
    const words = TEXT.fixupEndian.words;
    // the boot CPU and the secondary each run the three words once, in order
    for (const cpu of kernel.cpus) {
      const mine = runs.filter((r) => r.thread === cpu.thread.index);
      expect(mine.map((r) => [r.pc, r.word])).toEqual([
        [0x8f00, words[0]],
        [0x8f04, words[1]],
        [0x8f08, words[2]],
      ]);
      // mtsrr0: the instruction after the trampoline; mtsrr1: the MSR with LE; rfid takes both
      expect(mine[1].srr0).toBe(0x8f0cn);
      expect(mine[1].srr1).toBe(entryMsr | MSR_LE);
      expect(mine[1].msr).toBe(entryMsr);
      expect(mine[2].msr).toBe(entryMsr | MSR_LE);
    }
    expect(kernel.cpus).toHaveLength(2);
    expect(kernel.cpus.every((c) => (c.thread.msr & MSR_LE) !== 0n)).toBe(true);
  });

  it("a CPU entered little-endian does not run the trampoline", () => {
    const { kernel, runs } = trampolineRuns(undefined);
    expect(kernel.cpus).toHaveLength(2);
    expect(runs).toEqual([]);
  });
});

describe("what a CPU is doing (activity)", () => {
  it("names each wait: not started, polling, stopped, in the hypervisor, idle, kernel, a running task, halted", () => {
    const sim = new Simulation({ seed: 11 });
    const kernel = createGuestKernel({
      sim,
      config: { watchdogThreshS: 0, xive: false, stop0lite: "always", governor: "teo" },
    });
    const platform = new TestPlatform({
      sim,
      image: kernel,
      dtb: guestDtb({ cores: 1, threads: 2 }),
      threadsPerCore: 2,
    });
    // a vCPU attached to its thread but never entered
    const spare = new SmtCore(sim, { coreId: 7, chip: POWER9_DD23 });
    const unstarted = createGuestKernel({ sim }).attach(0, spare.threads[0]);
    expect(unstarted.activity).toBe("not started");
    platform.start();
    while (kernel.state !== "running" && sim.step()) {}
    const cpu = kernel.cpus[1];
    // a task that sleeps 20 us (snooze), then 100 us (stop0lite), then computes and sleeps 5 ms
    // (Shared Cede)
    function* pattern(): TaskProgram {
      for (let i = 0; i < 50; i++) yield { k: "sleep", ns: 20_000 };
      for (let i = 0; i < 50; i++) yield { k: "sleep", ns: 100_000 };
      for (let i = 0; i < 5; i++) {
        yield { k: "compute", ns: 200_000 };
        yield { k: "sleep", ns: 5_000_000 };
      }
    }
    kernel.spawn("spin", 1, pattern());
    const seen = new Set<string>();
    const end = sim.now + 60_000_000;
    while (sim.now < end && sim.step()) seen.add(cpu.activity);
    for (const a of [
      "polling (snooze)",
      "stopped (stop instruction)",
      "in the hypervisor",
      "running spin",
      "kernel",
      "idle (stop0lite)",
      "idle (Shared Cede)",
    ])
      expect([a, seen.has(a)]).toEqual([a, true]);
    cpu.halt();
    expect(cpu.activity).toBe("halted");
  });

  it("a secondary entered before the kernel read its tree has nothing to run: parked", () => {
    const sim = new Simulation({ seed: 11 });
    const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, xive: false } });
    const platform = new TestPlatform({
      sim,
      image: kernel,
      dtb: guestDtb({ cores: 1, threads: 2 }),
      threadsPerCore: 2,
    });
    platform.enterGuest(1, BigInt(0x8000), [[3, 1n]]);
    sim.runFor(1_000);
    expect(kernel.boot).toBe(null);
    const early = kernel.cpus[1];
    expect(early.activity).toBe("parked");
    // vCPU 0 then boots beside it (the CPU list had a hole at 0)
    platform.start();
    sim.runFor(1_000);
    expect(kernel.cpus[0].thread).toBe(platform.threads[0]);
  });
});

describe("a vCPU before it first runs", () => {
  it("is offline, soft-disabled with the hard disable noted (irq_happened), idle in no state, never moved", () => {
    const sim = new Simulation({ seed: 1 });
    const kernel = createGuestKernel({ sim });
    const core = new SmtCore(sim, { coreId: 0, chip: POWER9_DD23 });
    const c = kernel.attach(0, core.threads[0]);
    expect({
      online: c.online,
      halted: c.halted,
      softEnabled: c.softEnabled,
      irqHappened: c.irqHappened,
      needResched: c.needResched,
      polling: c.polling,
      inIdle: c.inIdle,
      idleStateSince: c.idleStateSince,
      idleStateName: c.idleStateName,
      tickRunning: c.tickRunning,
      gotTick: c.gotTick,
      frames: c.frames.length,
      reboundAtNs: c.reboundAtNs,
      rebinds: c.stats.rebinds,
    }).toEqual({
      online: false,
      halted: false,
      softEnabled: false,
      irqHappened: PACA_IRQ_HARD_DIS,
      needResched: false,
      polling: false,
      inIdle: false,
      idleStateSince: -1,
      idleStateName: "",
      tickRunning: false,
      gotTick: false,
      frames: 0,
      reboundAtNs: -1,
      rebinds: 0,
    });
  });
});

describe("hypercalls (plpar_hcall)", () => {
  it("each CPU counts the hcalls it makes: together, what the hypervisor saw", () => {
    const { sim, kernel, platform } = boot({ stop0lite: "always" });
    sim.runFor(20_000_000);
    const total = new Map<number, number>();
    for (const c of kernel.cpus)
      for (const [nr, n] of c.stats.hcalls) total.set(nr, (total.get(nr) ?? 0) + n);
    expect([...total].sort((a, b) => a[0] - b[0])).toEqual(
      [...platform.hcallCounts].sort((a, b) => a[0] - b[0]),
    );
    expect(total.size).toBeGreaterThan(3);
  });
});

describe("waits cut by an interrupt resume with what was left of them", () => {
  for (const timedSteps of [true, false]) {
    it(`user work and a system call's kernel time pass in full across the ticks (timedSteps ${timedSteps})`, () => {
      // the siblings stay in Shared Cede (no SMT slowdown): 30 ms of each, ticks every 10 ms
      const { sim, kernel } = boot({ timedSteps, stop0lite: "never", disableStates: ["snooze"] });
      const spans: number[] = [];
      function* prog(): TaskProgram {
        const t0 = yield { k: "syscall", ns: 1 };
        const t1 = yield { k: "compute", ns: 30_000_000 };
        const t2 = yield { k: "syscall", ns: 30_000_000 };
        spans.push(t1 - t0, t2 - t1);
      }
      const ticks0 = kernel.cpus[1].stats.interrupts.get(0x900) ?? 0;
      kernel.spawn("long", 1, prog());
      sim.runFor(100_000_000);
      expect(spans).toHaveLength(2);
      // at least the full 30 ms each (SMT sharing with the siblings can only slow them)
      for (const s of spans) {
        expect(s).toBeGreaterThanOrEqual(30_000_000);
        expect(s).toBeLessThan(60_000_000);
      }
      expect((kernel.cpus[1].stats.interrupts.get(0x900) ?? 0) - ticks0).toBeGreaterThanOrEqual(5);
    });
  }
});

describe("tasks' kernel stacks", () => {
  it("an exited task's kernel stack is released", () => {
    const { sim, kernel } = boot();
    function* short(): TaskProgram {
      yield { k: "compute", ns: 10_000 };
    }
    const tasks = [0, 1, 2].map((i) => kernel.spawn(`short${i}`, 1, short()));
    sim.runFor(30_000_000);
    expect(tasks.map((t) => t.state)).toEqual(["dead", "dead", "dead"]);
    const cpu = kernel.cpus[1];
    for (const t of tasks) expect(cpu.taskCtxs.has(t)).toBe(false);
  });
});

describe("work injected from outside the guest (injectWork)", () => {
  it("runs on a polling CPU like an interrupt and leaves it polling at its very low priority", () => {
    const { sim, kernel } = boot({ stop0lite: "always", disableStates: ["stop0lite", "Shared Cede"] });
    const cpu = kernel.cpus[1];
    stepUntil(sim, () => cpu.activity === "polling (snooze)" && cpu.thread.priority === 1);
    const msr = cpu.thread.msr;
    const ran: number[] = [];
    let nested: boolean | null = null;
    function* code(): KCode {
      yield* marker(ran, cpu, 5_000);
      // the injected work runs like an interrupt handler: nothing else may be injected meanwhile
      nested = cpu.injectWork(marker(ran, cpu, 1));
    }
    expect(cpu.injectWork(code())).toBe(true);
    sim.runFor(1_000_000);
    expect(ran).toHaveLength(1);
    expect(nested).toBe(false);
    expect(cpu.frames).toHaveLength(0);
    stepUntil(sim, () => cpu.activity === "polling (snooze)");
    expect(cpu.thread.priority).toBe(1);
    expect(cpu.thread.msr).toBe(msr);
    expect(cpu.softEnabled).toBe(true);
  });

  it("delays a task's user work by the injected time", () => {
    const end = (inject: boolean) => {
      const { sim, kernel } = boot({ stop0lite: "never", disableStates: ["snooze"] });
      let done = 0;
      function* prog(): TaskProgram {
        yield { k: "compute", ns: 5_000_000 };
        done = yield { k: "syscall", ns: 1 };
      }
      kernel.spawn("work", 1, prog());
      const cpu = kernel.cpus[1];
      stepUntil(sim, () => cpu.activity === "running work");
      sim.runFor(1_000_000);
      if (inject) {
        expect(cpu.activity).toBe("running work");
        expect(cpu.injectWork(marker([], cpu, 2_000_000))).toBe(true);
      }
      sim.runFor(20_000_000);
      return done;
    };
    const plain = end(false);
    const injected = end(true);
    expect(plain).toBeGreaterThan(0);
    // 2 ms of kernel code (jittered, SMT-scaled) and the entry and return
    expect(injected - plain).toBeGreaterThan(1_500_000);
    expect(injected - plain).toBeLessThan(2_500_000);
  });

  it("is refused while the CPU is in stop, in the hypervisor, in an interrupt handler or soft-disabled", () => {
    const { sim, kernel } = boot({ stop0lite: "always", governor: "teo" });
    const cpu = kernel.cpus[1];
    periodicTimer(kernel, 1, 100_000, 400);
    const ran: number[] = [];
    const refused = (what: string, pred: () => boolean) => {
      const end = sim.now + 100_000_000;
      while (!pred() && sim.now < end && sim.step()) {}
      expect([what, pred()]).toEqual([what, true]);
      expect([what, cpu.injectWork(marker(ran, cpu, 1))]).toEqual([what, false]);
    };
    refused("stop", () => cpu.thread.stopped);
    refused(
      "interrupt",
      () => cpu.cur?.kind === "irq" && cpu.wait.k === "timer" && cpu.softEnabled === false,
    );
    refused(
      "soft-disabled",
      () =>
        cpu.cur?.kind === "idle" && !cpu.softEnabled && cpu.wait.k === "timer" && !cpu.thread.hypervisorState,
    );
    // only Shared Cede left: H_CEDE
    cpu.cpuidle?.setDisabled("snooze", true);
    cpu.cpuidle?.setDisabled("stop0lite", true);
    refused("hypervisor", () => cpu.thread.hypervisorState);
    sim.runFor(5_000_000);
    expect(ran).toEqual([]);
  });
});

describe("injected work and kernel code in progress", () => {
  /** A task on CPU 1 whose system call runs `ns` of kernel code; returns the call's span once done. */
  function longSyscall(kernel: ReturnType<typeof boot>["kernel"], ns: number): () => number {
    let span = -1;
    function* prog(): TaskProgram {
      // user work first (a "work" wait): the only timed wait in the task's context is the call's
      const t0 = yield { k: "compute", ns: 1_000 };
      const t1 = yield { k: "syscall", ns };
      span = t1 - t0;
    }
    kernel.spawn("sys", 1, prog());
    return () => span;
  }
  const inSyscall = (cpu: GuestCpu) => () =>
    cpu.current?.name === "sys" && cpu.cur?.kind === "task" && cpu.wait.k === "timer";

  it("cuts into a system call's kernel code (soft-enabled, waiting out its cost), which then takes longer by it", () => {
    const { sim, kernel } = boot({ stop0lite: "never", disableStates: ["snooze"] });
    const cpu = kernel.cpus[1];
    const span = longSyscall(kernel, 3_000_000);
    stepUntil(sim, inSyscall(cpu));
    expect(cpu.softEnabled).toBe(true);
    expect(cpu.injectWork(marker([], cpu, 1_000_000))).toBe(true);
    sim.runFor(20_000_000);
    expect(span()).toBeGreaterThan(3_800_000);
    expect(span()).toBeLessThan(4_500_000);
  });

  it("is refused while injected work itself runs (it is interrupt-like), even with interrupts soft-enabled", () => {
    const { sim, kernel } = boot({ stop0lite: "never", disableStates: ["snooze"] });
    const cpu = kernel.cpus[1];
    longSyscall(kernel, 3_000_000);
    stepUntil(sim, inSyscall(cpu));
    const ran: number[] = [];
    expect(cpu.injectWork(marker(ran, cpu, 1_000_000))).toBe(true);
    stepUntil(sim, () => ran.length === 1 && cpu.wait.k === "timer");
    expect(cpu.cur?.kind).toBe("irq");
    expect(cpu.softEnabled).toBe(true);
    expect(cpu.injectWork(marker(ran, cpu, 1))).toBe(false);
    sim.runFor(10_000_000);
    expect(ran).toHaveLength(1);
  });

  it("is refused while the hypervisor holds the thread (an asynchronous exit), accepted once it gave it back", () => {
    const { sim, kernel, platform } = boot({ stop0lite: "never", disableStates: ["snooze"] });
    const cpu = kernel.cpus[1];
    longSyscall(kernel, 3_000_000);
    stepUntil(sim, inSyscall(cpu));
    // a hypervisor doorbell: the thread exits to the hypervisor while the kernel code's cost runs
    cpu.thread.receiveHypervisorDoorbell();
    expect(cpu.thread.hypervisorState).toBe(true);
    expect(cpu.wait.k).toBe("timer");
    expect(cpu.injectWork(marker([], cpu, 1))).toBe(false);
    sim.runFor(platform.costs.hcallNs);
    expect(cpu.thread.hypervisorState).toBe(false);
    expect(cpu.injectWork(marker([], cpu, 1))).toBe(true);
  });
});

describe("H_CEDE returning with MSR[EE] clear", () => {
  it("the idle loop warns and hard-enables interrupts itself: the tick still comes", () => {
    const { sim, kernel, platform } = boot({ stop0lite: "never", disableStates: ["snooze"] });
    // a hypervisor that answers H_CEDE at once and leaves MSR[EE] as the sc 1 found it (clear)
    platform.hcallFailures.set(H_CEDE, 0);
    const cpu = kernel.cpus[1];
    const ticks = cpu.stats.interrupts.get(0x900) ?? 0;
    sim.runFor(50_000_000);
    expect(kernel.console.contains("WARNING: CPU: 1: H_CEDE returned with interrupts disabled")).toBe(true);
    expect((cpu.stats.interrupts.get(0x900) ?? 0) - ticks).toBeGreaterThan(0);
  });
});

describe("a vCPU the hypervisor runs on another thread (rebind)", () => {
  it("moves with its kernel state, counts the move, and reprograms the decrementer there from its timers", () => {
    const { sim, kernel, platform } = boot(
      { stop0lite: "never", disableStates: ["snooze"] },
      { trace: true },
    );
    const cpu = kernel.cpus[1];
    const timer = periodicTimer(kernel, 1, 1_000_000);
    sim.runFor(10_000_000);
    stepUntil(sim, () => platform.hvCpu(1).ceded);
    const before = timer.wakeups();
    const core = new SmtCore(sim, { coreId: 5, chip: POWER9_DD23 });
    const dest = core.threads[2];
    const at = cpu.ktime();
    platform.moveVcpu(1, dest);
    expect(cpu.thread).toBe(dest);
    expect(kernel.cpus[1]).toBe(cpu);
    expect(cpu.stats.rebinds).toBe(1);
    expect(cpu.reboundAtNs).toBeCloseTo(at, -1);
    const tr = sim.trace;
    const moves = tr.events().filter((e) => e.name === "cpu_rebind");
    expect(moves.map((e) => [tr.getTrack(e.track).thread, e.args])).toEqual([["cpu1", { thread: 2 }]]);
    // the 1 ms timer keeps firing on the new thread: its DEC was programmed from the kernel's timers
    sim.runFor(20_000_000);
    expect(timer.wakeups() - before).toBeGreaterThanOrEqual(19);
    // moving to the thread it is on is no move
    cpu.rebind(dest);
    expect(cpu.stats.rebinds).toBe(1);
  });

  it("a vCPU moved before it ever ran has no decrementer to reprogram", () => {
    const sim = new Simulation({ seed: 1 });
    const kernel = createGuestKernel({ sim });
    const core = new SmtCore(sim, { coreId: 0, chip: POWER9_DD23 });
    const c = kernel.attach(0, core.threads[0]);
    c.rebind(core.threads[1]);
    expect(c.thread).toBe(core.threads[1]);
    expect(c.stats.rebinds).toBe(1);
    expect(c.decResync).toBe(false);
  });
});

describe("halt", () => {
  it("a halted CPU is offline and ignores interrupts and re-entries, even at a vector", () => {
    const { sim, kernel, platform } = boot();
    const cpu = kernel.cpus[1];
    sim.runFor(5_000_000);
    expect(cpu.halted).toBe(false);
    expect(cpu.online).toBe(true);
    stepUntil(sim, () => platform.hvCpu(1).ceded);
    cpu.halt();
    expect(cpu.halted).toBe(true);
    expect(cpu.online).toBe(false);
    const counts = new Map(cpu.stats.interrupts);
    cpu.interrupt(cpu.thread, 0x900);
    // a hypervisor entering it at the decrementer vector
    cpu.thread.setPc32(0x900);
    cpu.resume(cpu.thread);
    sim.runFor(50_000_000);
    expect(cpu.stats.interrupts).toEqual(counts);
    expect(cpu.activity).toBe("halted");
  });
});
