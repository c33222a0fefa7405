// A CPU's interrupts (linux: arch/powerpc/kernel/irq.c, include/asm/hw_irq.h,
// exceptions-64s.S masked_interrupt, sysdev/xics/icp-hv.c), decision by decision on the test
// platform: what masked_interrupt does for each vector while the CPU is soft-masked, the replay at
// local_irq_enable and its order, the registers an interrupt preserves, the XICS acknowledge
// cycle, and the idle preparations.
import { MSR_EE, MSR_RI, SPRN_DEC } from "@stopsim/isa";
import { H_EOI, H_HARDWARE, H_IPI, H_XIRR } from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { type BootedGuest, bootGuest } from "../test-helpers/booted.js";
import { bootSmallGuest, recorded } from "../test-helpers/small-guest.js";
import {
  type GuestCpu,
  type HrTimer,
  type KCode,
  PACA_IRQ_DBELL,
  PACA_IRQ_DEC,
  PACA_IRQ_EE,
  PACA_IRQ_HARD_DIS,
  SYNC,
} from "./cpu.js";
import { R_MSR, TEXT } from "./image.js";
import {
  hardIrqDisable,
  lazyIrqPending,
  localIrqEnableNoReplay,
  prepIrqForIdle,
  prepIrqForIdleIrqsoff,
} from "./irq.js";
import type { TaskOp } from "./task.js";

/**
 * Two cores of two threads, every CPU polling in snooze (a polling CPU takes injected work): cpu 0
 * and cpu 1 are siblings (doorbells between them), cpu 2 is on the other core (XICS H_IPI).
 */
function guest(): BootedGuest {
  const g = bootGuest({ disableStates: ["stop0lite", "Shared Cede"] }, { cores: 2, threads: 2 });
  g.sim.runFor(3_000_000);
  return g;
}

/** Runs `code` on `cpu` now, as work injected on the polling CPU. */
function run(cpu: GuestCpu, code: KCode): void {
  if (!cpu.injectWork(code)) throw new Error(`cpu${cpu.logical} cannot take work now (${cpu.activity})`);
}

/** `ns` of kernel code, passed before what follows (the end of a timed step). */
function* kernelCode(ns: number): KCode {
  yield { k: "delay", ns };
  yield SYNC;
}

/** cpu `from` calls `fn` on `target` (smp_call_function_single) after `afterNs`. */
function callAfter(from: GuestCpu, target: GuestCpu, afterNs: number, fn: () => void): void {
  run(
    from,
    (function* () {
      yield* kernelCode(afterNs);
      yield* from.callFunctionSingle(target, fn);
    })(),
  );
}

const msrEe = (c: GuestCpu) => (c.thread.msr & MSR_EE) !== 0n;
const dec = (c: GuestCpu) => Number(BigInt.asIntN(64, c.thread.getSpr(SPRN_DEC)));
const hcalls = (g: BootedGuest) => [H_XIRR, H_IPI, H_EOI].map((n) => g.platform.hcallCounts.get(n) ?? 0);

describe("soft-masked interrupts (masked_interrupt) and their replay (local_irq_enable)", () => {
  it("an external interrupt returns hard-disabled (PACA_IRQ_EE|HARD_DIS) and is acknowledged only at the replay", () => {
    const g = guest();
    const [, cpu1, cpu2] = g.kernel.cpus;
    const log: string[] = [];
    let atEnable: number[] = [];
    run(
      cpu1,
      (function* () {
        cpu1.localIrqDisable();
        yield* kernelCode(200_000);
        log.push("enable");
        atEnable = hcalls(g);
        yield* cpu1.localIrqEnable();
        log.push("enabled");
      })(),
    );
    const before = hcalls(g);
    const masked = cpu1.stats.maskedInterrupts;
    callAfter(cpu2, cpu1, 50_000, () => log.push("fn"));
    g.sim.runFor(100_000);
    // the IPI came (H_IPI from cpu 2) and found cpu 1 soft-masked
    expect(cpu1.stats.maskedInterrupts).toBe(masked + 1);
    expect(cpu1.stats.interrupts.get(0x500)).toBe(1);
    expect(cpu1.irqHappened).toBe(PACA_IRQ_EE | PACA_IRQ_HARD_DIS);
    expect(msrEe(cpu1)).toBe(false);
    expect(cpu1.softEnabled).toBe(false);
    expect(log).toEqual([]);
    expect(hcalls(g)).toEqual([before[0], before[1] + 1, before[2]]);
    g.sim.runFor(200_000);
    // replayed at local_irq_enable: H_XIRR, H_IPI(self, 0xff) to clear the MFRR, demux, H_EOI
    expect(log).toEqual(["enable", "fn", "enabled"]);
    expect(atEnable).toEqual([before[0], before[1] + 1, before[2]]);
    expect(hcalls(g)).toEqual([before[0] + 1, before[1] + 2, before[2] + 1]);
    expect(cpu1.irqHappened).toBe(0);
    expect(msrEe(cpu1)).toBe(true);
    expect(cpu1.softEnabled).toBe(true);
    expect(g.platform.icps[1].mfrr).toBe(0xff);
    // the replay ran in the interrupted context: no second external interrupt
    expect(cpu1.stats.interrupts.get(0x500)).toBe(1);
  });

  it("a doorbell leaves MSR[EE] on (PACA_IRQ_DBELL) and is replayed by doorbell_exception, with no hcall", () => {
    const g = guest();
    const [cpu0, cpu1] = g.kernel.cpus;
    const log: string[] = [];
    run(
      cpu1,
      (function* () {
        cpu1.localIrqDisable();
        yield* kernelCode(200_000);
        log.push("enable");
        yield* cpu1.localIrqEnable();
      })(),
    );
    const before = hcalls(g);
    callAfter(cpu0, cpu1, 50_000, () => log.push("fn"));
    g.sim.runFor(100_000);
    expect(cpu1.stats.interrupts.get(0xa00)).toBe(1);
    expect(cpu1.irqHappened).toBe(PACA_IRQ_DBELL);
    expect(msrEe(cpu1)).toBe(true);
    g.sim.runFor(200_000);
    expect(log).toEqual(["enable", "fn"]);
    expect(cpu1.irqHappened).toBe(0);
    expect(hcalls(g)).toEqual(before);
  });

  it("a decrementer sets PACA_IRQ_DEC and DEC to its maximum so that it stops firing; the timer runs at the replay", () => {
    const g = guest();
    const [, cpu1] = g.kernel.cpus;
    const log: string[] = [];
    let due = 0;
    run(
      cpu1,
      (function* () {
        due = cpu1.ktime() + 50_000;
        const t: HrTimer = {
          name: "test",
          expires: due,
          period: 0,
          queued: false,
          fn: (c) => {
            log.push(`timer ${Math.round(c.ktime() - due)}`);
            return null;
          },
        };
        yield* cpu1.hrtimerStart(t);
        cpu1.localIrqDisable();
        yield* kernelCode(200_000);
        log.push("enable");
        yield* cpu1.localIrqEnable();
      })(),
    );
    g.sim.runFor(100_000);
    expect(cpu1.irqHappened).toBe(PACA_IRQ_DEC);
    expect(cpu1.stats.maskedInterrupts).toBe(1);
    expect(msrEe(cpu1)).toBe(true);
    // set to decrementer_max when masked, ~50 us ago
    expect(dec(cpu1)).toBeLessThan(0x7fffffff);
    expect(dec(cpu1)).toBeGreaterThan(0x7fffffff - 512 * 60);
    expect(log).toEqual([]);
    g.sim.runFor(200_000);
    expect(log).toHaveLength(2);
    expect(log[0]).toBe("enable");
    // run at the replay, 150 us after it was due
    expect(Number(log[1].split(" ")[1])).toBeGreaterThan(140_000);
    expect(cpu1.irqHappened).toBe(0);
    // DEC back on the next timer
    const next = cpu1.nextTimer(false) as HrTimer;
    expect(Math.abs(dec(cpu1) - ((next.expires - cpu1.ktime()) * 512) / 1000)).toBeLessThan(1);
  });

  it("the replay takes the decrementer first, then the external interrupt (__check_irq_replay)", () => {
    const g = guest();
    const [, cpu1, cpu2] = g.kernel.cpus;
    const log: string[] = [];
    run(
      cpu1,
      (function* () {
        // the timer expires first (DEC masked, MSR[EE] stays on), then the IPI comes
        const t: HrTimer = {
          name: "test",
          expires: cpu1.ktime() + 30_000,
          period: 0,
          queued: false,
          fn: () => {
            log.push("timer");
            return null;
          },
        };
        yield* cpu1.hrtimerStart(t);
        cpu1.localIrqDisable();
        yield* kernelCode(300_000);
        yield* cpu1.localIrqEnable();
      })(),
    );
    callAfter(cpu2, cpu1, 100_000, () => log.push("ipi"));
    g.sim.runFor(200_000);
    expect(cpu1.irqHappened).toBe(PACA_IRQ_DEC | PACA_IRQ_EE | PACA_IRQ_HARD_DIS);
    expect(cpu1.stats.maskedInterrupts).toBe(2);
    // (the 300 us of kernel code run at the thread's SMT speed: up to 1.5x longer beside a busy
    // sibling, depending on the SMT priority the injected code found)
    g.sim.runFor(400_000);
    expect(log).toEqual(["timer", "ipi"]);
    expect(cpu1.irqHappened).toBe(0);
  });

  it("local_irq_enable with nothing to replay hard-enables only when MSR[EE] is off", () => {
    const g = guest();
    const [, cpu1] = g.kernel.cpus;
    const seen: Array<[boolean, number]> = [];
    run(
      cpu1,
      (function* () {
        cpu1.localIrqDisable();
        yield* hardIrqDisable(cpu1);
        seen.push([msrEe(cpu1), cpu1.irqHappened]);
        yield* cpu1.localIrqEnable();
        seen.push([msrEe(cpu1), cpu1.irqHappened]);
      })(),
    );
    g.sim.runFor(50_000);
    expect(seen).toEqual([
      [false, PACA_IRQ_HARD_DIS],
      [true, 0],
    ]);
    expect(cpu1.softEnabled).toBe(true);
  });
});

describe("when local_irq_enable hard-enables (arch_local_irq_restore, __hard_irq_enable)", () => {
  // with a replay to do (local_irq_enable) and without (the inline path where nothing happened):
  // mtmsrd with MSR[EE] set when PACA_IRQ_HARD_DIS is set or MSR[EE] is off, and only then
  for (const replay of [true, false]) {
    it(`when PACA_IRQ_HARD_DIS is set or MSR[EE] is off, and only then (${replay ? "local_irq_enable" : "nothing to replay"})`, () => {
      const g = guest();
      const [, cpu1] = g.kernel.cpus;
      const mark = 0x5an;
      const seen: Array<[boolean, number, bigint]> = [];
      const note = () =>
        seen.push([msrEe(cpu1), cpu1.irqHappened & PACA_IRQ_HARD_DIS, cpu1.thread.gpr(R_MSR)]);
      function* enable(): KCode {
        if (replay) yield* cpu1.localIrqEnable();
        else {
          const w = localIrqEnableNoReplay(cpu1);
          if (w !== null) yield w;
        }
      }
      run(
        cpu1,
        (function* () {
          // MSR[EE] off, PACA_IRQ_HARD_DIS clear (as after an hcall that returned with EE off)
          cpu1.localIrqDisable();
          yield* hardIrqDisable(cpu1);
          cpu1.irqHappened &= ~PACA_IRQ_HARD_DIS;
          yield* enable();
          note();
          // PACA_IRQ_HARD_DIS set, MSR[EE] on
          cpu1.localIrqDisable();
          cpu1.irqHappened |= PACA_IRQ_HARD_DIS;
          yield* enable();
          note();
          // neither: no mtmsrd (the register it would load keeps its value)
          cpu1.localIrqDisable();
          cpu1.thread.setGpr(R_MSR, mark);
          yield* enable();
          note();
        })(),
      );
      g.sim.runFor(50_000);
      const enabled = MSR_EE | MSR_RI;
      expect(seen).toEqual([
        [true, 0, enabled],
        [true, 0, enabled],
        [true, 0, mark],
      ]);
      expect(cpu1.softEnabled).toBe(true);
    });
  }

  it("an interrupt handler runs soft-disabled (the entry sets IRQS_ALL_DISABLED)", () => {
    const g = guest();
    const [cpu0, cpu1] = g.kernel.cpus;
    const seen: boolean[] = [];
    callAfter(cpu0, cpu1, 1_000, () => seen.push(cpu1.softEnabled, cpu1.canInject));
    g.sim.runFor(100_000);
    expect(seen).toEqual([false, false]);
    expect(cpu1.softEnabled).toBe(true);
  });
});

describe("the cost of masked_interrupt", () => {
  it("a decrementer in a soft-disabled region delays it by masked_interrupt's own cost, exactly", () => {
    // exact costs, cpu 1 polling in snooze alone on its core (cpu 0 stopped in stop0lite): 20 us of
    // soft-disabled kernel code that a decrementer interrupts after 5 us
    const end = (maskedInterruptNs: number) => {
      const { sim, kernel } = bootSmallGuest({
        config: { disableStates: ["stop0lite", "Shared Cede"] },
        costs: { maskedInterruptNs },
      });
      kernel.cpus[0].cpuidle?.setDisabled("snooze", true);
      kernel.cpus[0].cpuidle?.setDisabled("stop0lite", false);
      sim.runFor(1_000_000);
      const cpu = kernel.cpus[1];
      const t0 = cpu.ktime();
      let at = -1;
      run(
        cpu,
        (function* () {
          const t: HrTimer = { name: "t", expires: t0 + 5_000, period: 0, queued: false, fn: () => null };
          yield* cpu.hrtimerStart(t);
          cpu.localIrqDisable();
          yield* kernelCode(20_000);
          at = cpu.ktime() - t0;
          yield* cpu.localIrqEnable();
        })(),
      );
      sim.runFor(100_000);
      expect(cpu.stats.maskedInterrupts).toBe(1);
      return at;
    };
    const base = end(80);
    expect(base).toBeGreaterThan(20_000);
    expect(end(1_080) - base).toBe(1_000);
  });
});

describe("an interrupt preserves what it interrupted", () => {
  it("the volatile GPRs of the interrupted kernel code are back after the handler's hcalls", () => {
    const g = guest();
    const [, cpu1, cpu2] = g.kernel.cpus;
    const regs = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    let after: bigint[] = [];
    let ran = false;
    run(
      cpu1,
      (function* () {
        const t = cpu1.thread;
        for (const r of regs) t.setGpr(r, 0x1111_0000_0000_0000n + BigInt(r));
        yield* kernelCode(200_000);
        after = regs.map((r) => t.gpr(r));
      })(),
    );
    callAfter(cpu2, cpu1, 50_000, () => {
      ran = true;
    });
    // (200 us of kernel code at the thread's SMT speed: up to 1.5x longer beside a busy sibling)
    g.sim.runFor(500_000);
    expect(ran).toBe(true);
    expect(cpu1.stats.maskedInterrupts).toBe(0);
    expect(after).toEqual(regs.map((r) => 0x1111_0000_0000_0000n + BigInt(r)));
  });
});

describe("the exception prolog and the return (exceptions-64s.S: PPR save, HMT_MEDIUM, RESTORE_PPR)", () => {
  it("the handler runs at medium SMT priority; the interrupted code gets its own priority back", () => {
    const g = guest();
    const [, cpu1, cpu2] = g.kernel.cpus;
    const prio: Array<[string, number]> = [];
    run(
      cpu1,
      (function* () {
        // snooze_loop's HMT_very_low, then kernel code at that priority
        yield { k: "exec", sym: TEXT.snooze, i: 1 };
        prio.push(["before", cpu1.thread.priority]);
        yield* kernelCode(200_000);
        prio.push(["after", cpu1.thread.priority]);
        yield { k: "exec", sym: TEXT.snooze, i: 2 };
      })(),
    );
    callAfter(cpu2, cpu1, 50_000, () => prio.push(["handler", cpu1.thread.priority]));
    // (200 us of kernel code at very low SMT priority take several times longer beside busy siblings)
    g.sim.runFor(2_000_000);
    expect(prio).toEqual([
      ["before", 1],
      ["handler", 4],
      ["after", 1],
    ]);
  });

  it("each interrupt is counted and traced with its vector", () => {
    const g = guest();
    const [, cpu1, cpu2] = g.kernel.cpus;
    g.sim.trace.enable();
    const n = cpu1.stats.interrupts.get(0x500) ?? 0;
    callAfter(cpu2, cpu1, 1_000, () => {});
    g.sim.runFor(100_000);
    expect(cpu1.stats.interrupts.get(0x500)).toBe(n + 1);
    const track = g.kernel.traceTrack(cpu1);
    const ev = g.sim.trace.events().filter((e) => e.track === track && e.name === "interrupt");
    expect(ev.map((e) => [e.cat, e.args])).toEqual([["guest", { vector: "0x500" }]]);
  });
});

describe("the idle preparations (irq.c prep_irq_for_idle, prep_irq_for_idle_irqsoff)", () => {
  it("prep_irq_for_idle hard-disables, then soft-enables unless something is pending", () => {
    const g = guest();
    const [, cpu1] = g.kernel.cpus;
    const out: unknown[] = [];
    run(
      cpu1,
      (function* () {
        cpu1.localIrqDisable();
        const ok = yield* prepIrqForIdle(cpu1);
        out.push(ok, msrEe(cpu1), cpu1.softEnabled, cpu1.irqHappened);
        cpu1.localIrqDisable();
        cpu1.irqHappened |= PACA_IRQ_DBELL;
        const again = yield* prepIrqForIdle(cpu1);
        out.push(again, msrEe(cpu1), cpu1.softEnabled, cpu1.irqHappened);
        yield* cpu1.localIrqEnable();
      })(),
    );
    g.sim.runFor(50_000);
    expect(out).toEqual([true, false, true, 0, false, false, false, PACA_IRQ_DBELL | PACA_IRQ_HARD_DIS]);
  });

  it("prep_irq_for_idle_irqsoff hard-disables and stays soft-disabled, false when something is pending", () => {
    const g = guest();
    const [, cpu1] = g.kernel.cpus;
    const out: unknown[] = [];
    run(
      cpu1,
      (function* () {
        cpu1.localIrqDisable();
        out.push(yield* prepIrqForIdleIrqsoff(cpu1), msrEe(cpu1), cpu1.softEnabled, cpu1.irqHappened);
        cpu1.irqHappened |= PACA_IRQ_DEC;
        out.push(yield* prepIrqForIdleIrqsoff(cpu1), lazyIrqPending(cpu1));
        yield* cpu1.localIrqEnable();
      })(),
    );
    g.sim.runFor(50_000);
    expect(out).toEqual([true, false, false, PACA_IRQ_HARD_DIS, false, true]);
  });
});

describe("the XICS acknowledge (icp-hv.c icp_hv_get_irq, icp_hv_get_xirr)", () => {
  const mine = (c: GuestCpu) => [H_XIRR, H_IPI, H_EOI].map((n) => c.stats.hcalls.get(n) ?? 0);

  it("a spurious external interrupt (nothing in the ICP: XICS_IRQ_SPURIOUS) is neither demuxed nor EOIed", () => {
    const g = guest();
    const [, cpu1] = g.kernel.cpus;
    const before = mine(cpu1);
    const n = cpu1.stats.interrupts.get(0x500) ?? 0;
    // the external line raised with MFRR and CPPR both 0xff: H_XIRR answers vector 0
    cpu1.thread.setExternalInterrupt(true);
    g.sim.runFor(50_000);
    expect(cpu1.stats.interrupts.get(0x500)).toBe(n + 1);
    expect(mine(cpu1)).toEqual([before[0] + 1, before[1], before[2]]);
    // the ICP's presentation ended with the acknowledge; CPPR stays at its base (no EOI restores it)
    expect(cpu1.thread.externalInterrupt).toBe(false);
    expect(g.platform.icps[1]).toEqual({ mfrr: 0xff, cppr: 0xff });
    expect(cpu1.activity).toBe("polling (snooze)");
    expect(msrEe(cpu1)).toBe(true);
  });

  it("an H_XIRR that fails is logged and taken as spurious; the IPI, still presented, is taken once EE is back on", () => {
    const g = guest();
    const [, cpu1, cpu2] = g.kernel.cpus;
    const log: string[] = [];
    const before = mine(cpu1);
    const n = cpu1.stats.interrupts.get(0x500) ?? 0;
    g.platform.hcallFailures.set(H_XIRR, H_HARDWARE);
    const xirrs = g.platform.hcallCounts.get(H_XIRR) ?? 0;
    callAfter(cpu2, cpu1, 1_000, () => log.push("fn"));
    // the first H_XIRR (answered H_HARDWARE), then the hypervisor carries them out again
    while ((g.platform.hcallCounts.get(H_XIRR) ?? 0) === xirrs) g.sim.step();
    g.platform.hcallFailures.delete(H_XIRR);
    g.sim.runFor(100_000);
    const err = g.kernel.console.lines.filter((l) => l.text.startsWith("icp_hv_get_xirr"));
    expect(err.map((l) => [l.level, l.text])).toEqual([
      ["err", "icp_hv_get_xirr: bad return code xirr cppr=0xff returned -1"],
    ]);
    // no EOI for the failed acknowledge: the IPI was still pending at the return and came again
    expect(cpu1.stats.interrupts.get(0x500)).toBe(n + 2);
    expect(log).toEqual(["fn"]);
    expect(mine(cpu1)).toEqual([before[0] + 2, before[1] + 1, before[2] + 1]);
    expect(g.platform.icps[1]).toEqual({ mfrr: 0xff, cppr: 0xff });
  });
});

describe("the return from interrupt (rfid)", () => {
  /**
   * cpu 2 (other core) sends cpu 1 an IPI through H_IPI; cpu 1's external handler acknowledges
   * (H_XIRR), clears its MFRR (H_IPI), runs the function, then EOIs (H_EOI): three hcalls of 1 us.
   * A timer on cpu 1, armed first, expires `timerAt` (guest ns) after the function ran in a run
   * without it. Returns the order of events and their times.
   */
  const ipiAndTimer = (timerAt: number | null) => {
    const g = guest();
    const [, cpu1, cpu2] = g.kernel.cpus;
    const log: Array<[string, number]> = [];
    let fnAt = 0;
    run(
      cpu1,
      (function* () {
        const t: HrTimer = {
          name: "test",
          expires: timerAt ?? cpu1.ktime() + 50_000_000,
          period: 0,
          queued: false,
          fn: () => {
            log.push(["timer", cpu1.ktime()]);
            return null;
          },
        };
        yield* cpu1.hrtimerStart(t);
      })(),
    );
    callAfter(cpu2, cpu1, 1_000, () => {
      fnAt = cpu1.ktime();
      log.push(["ipi", fnAt]);
    });
    g.sim.runFor(100_000);
    return { log, fnAt, cpu1 };
  };

  it("a decrementer that expires during a handler (MSR[EE] off) is taken at the handler's rfid", () => {
    const first = ipiAndTimer(null);
    expect(first.log.map((l) => l[0])).toEqual(["ipi"]);
    // the timer expires 300 ns after the function ran: during the H_EOI
    const r = ipiAndTimer(first.fnAt + 300);
    expect(r.fnAt).toBe(first.fnAt);
    expect(r.log.map((l) => l[0])).toEqual(["ipi", "timer"]);
    // at once: the rest of the H_EOI, the interrupt exit, then the timer interrupt's entry (about
    // 1.2 us); not at some later point of the interrupted snooze loop
    expect(r.log[1][1] - r.fnAt).toBeLessThan(2_000);
    expect(r.cpu1.stats.maskedInterrupts).toBe(0);
  });
});

describe("the return to user mode (entry_64.S ret_from_except_lite, interrupt_exit_user_prepare since 5.11: schedule when need_resched)", () => {
  // exact costs, HZ=100: the scheduler tick sets need_resched for a task that has run 3 ticks
  // while another waits (tickHandler); the interrupt's return to user mode then schedules. Each
  // task's operations are timed on the guest clock (before and after each).
  const onCpu1 = (tasks: Array<[string, readonly TaskOp[]]>, costs = {}) => {
    const spans = new Map<string, Array<{ before: number; after: number }>>();
    const g = bootSmallGuest({
      config: { disableStates: ["snooze", "Shared Cede"] },
      costs,
      beforeStart: ({ kernel }) => {
        for (const [name, ops] of tasks) {
          const log: Array<{ before: number; after: number }> = [];
          spans.set(name, log);
          kernel.spawn(name, 1, recorded(kernel, 1, ops, log));
        }
      },
    });
    g.sim.runFor(150_000_000);
    const span = (n: string) => spans.get(n)?.[0] ?? { before: -1, after: -1 };
    return { ...g, span, task: (n: string) => g.kernel.tasks.find((t) => t.name === n) };
  };

  it("user work is preempted at the return from the tick and gets the rest of its work when it runs again", () => {
    const r = onCpu1([
      ["a", [{ k: "compute", ns: 50_000_000 }]],
      ["b", [{ k: "compute", ns: 50_000_000 }]],
    ]);
    const [a, b] = [r.span("a"), r.span("b")];
    expect([r.task("a")?.state, r.task("b")?.state]).toEqual(["dead", "dead"]);
    // a ran 3 ticks, then b 3 ticks, then a to its end, then b: each switched in twice
    expect([r.task("a")?.switches, r.task("b")?.switches]).toEqual([2, 2]);
    expect(b.before).toBeLessThan(a.after);
    // ... and both got all their work: 100 ms of it on the one CPU, with the ticks' handlers and
    // the context switches
    expect(Math.max(a.after, b.after) - a.before).toBeGreaterThanOrEqual(100_000_000);
    expect(Math.max(a.after, b.after) - a.before).toBeLessThan(100_100_000);
  });

  it("alone, a task's ticks do not reschedule it: switched in once", () => {
    const r = onCpu1([["a", [{ k: "compute", ns: 50_000_000 }]]]);
    expect(r.task("a")?.state).toBe("dead");
    expect(r.kernel.cpus[1].stats.interrupts.get(0x900)).toBeGreaterThanOrEqual(5);
    expect(r.task("a")?.switches).toBe(1);
  });

  it("kernel code is not preempted (no CONFIG_PREEMPT): a long system call runs to its end before the other task", () => {
    const r = onCpu1([
      ["a", [{ k: "syscall", ns: 50_000_000 }]],
      ["b", [{ k: "compute", ns: 1_000_000 }]],
    ]);
    expect(r.task("a")?.state).toBe("dead");
    expect(r.task("a")?.switches).toBe(1);
    // b first runs once the system call has ended (3 ticks had passed long before)
    expect(r.span("b").before).toBeGreaterThanOrEqual(r.span("a").after);
    expect(r.span("a").after - r.span("a").before).toBeGreaterThanOrEqual(50_000_000);
  });
});
