// The tick, the hrtimers and the decrementer (linux: kernel/time/tick-sched.c, hrtimer.c,
// arch/powerpc/kernel/time.c), decision by decision on the test platform: where the tick fires,
// what DEC holds, when the tick stops and restarts, the order expired timers run in, the
// decrementer's range and the scheduler tick's preemption.
import { SPRN_DEC } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { bootGuest } from "../test-helpers/booted.js";
import type { GuestCpu, HrTimer, KCode } from "./cpu.js";
import { R_SPR } from "./image.js";
import type { TaskProgram } from "./task.js";
import { decOp, hrtimerCancel, nextTimer, programDec, setDecTicks } from "./time.js";

/** DEC now, signed, in timebase ticks. */
const dec = (c: GuestCpu) => Number(BigInt.asIntN(64, c.thread.getSpr(SPRN_DEC)));
/** What a CPU whose kernel waits in idle (or a task) shows: no interrupt or path in flight. */
const settled = (c: GuestCpu) =>
  c.frames.length === 0 &&
  ["stopped (stop instruction)", "in the hypervisor", "polling (snooze)"].includes(c.activity);

function* forever(ns: number): TaskProgram {
  for (;;) yield { k: "compute", ns };
}

describe("the tick and the decrementer", () => {
  it("the tick fires on 1/HZ boundaries and DEC always counts down to the earliest hrtimer", () => {
    const { sim, kernel } = bootGuest({ hz: 250 });
    const tick = 4_000_000;
    expect(kernel.tickNs).toBe(tick);
    // a task on cpu 1 sleeping 1.7 ms at a time: its hrtimer and the tick take turns being first
    const cpu1 = kernel.cpus[1];
    kernel.spawn(
      "sleeper",
      1,
      (function* (): TaskProgram {
        for (;;) yield { k: "sleep", ns: 1_700_000 };
      })(),
    );
    let checked = 0;
    let hrFirst = 0;
    for (let i = 0; i < 40; i++) {
      sim.runFor(731_000);
      for (const c of kernel.cpus) {
        const t = c.tickTimer;
        expect(t?.name).toBe("tick_sched_timer");
        expect(t?.period).toBe(tick);
        if (c.tickRunning && t !== null) {
          expect(t.expires % tick).toBe(0);
          expect(t.expires - c.ktime()).toBeLessThanOrEqual(tick);
        }
        if (!settled(c)) continue;
        const next = c.nextTimer(false);
        if (next === undefined) throw new Error(`cpu${c.logical} has no timer`);
        // DEC in timebase ticks: the time to the earliest timer at ppc_tb_freq, rounded up
        expect(Math.abs(dec(c) - ((next.expires - c.ktime()) * kernel.tbFreq()) / 1e9)).toBeLessThan(1);
        checked++;
        if (c === cpu1 && next.name === "hrtimer_wakeup") hrFirst++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(hrFirst).toBeGreaterThan(5);
  });

  it("the first tick of each CPU is the next tick boundary after it starts (tick_setup_sched_timer)", () => {
    const { kernel } = bootGuest({ hz: 1000 });
    // the boot ends at about 1.2 ms: the boot CPU started its tick before 1 ms, the last secondary after
    const expiries = kernel.cpus.map((c) => c.tickTimer?.expires);
    expect(expiries[0]).toBe(1_000_000);
    expect(expiries[3]).toBe(2_000_000);
    for (const c of kernel.cpus) expect(c.tickTimer?.queued).toBe(true);
  });

  it("the tick stops when the governor stops it in idle and restarts on the next boundary when a task runs", () => {
    const { sim, kernel } = bootGuest({ hz: 250, disableStates: ["snooze", "stop0lite"] });
    const tick = kernel.tickNs;
    const cpu0 = kernel.cpus[0];
    sim.runFor(14_000_000);
    // cpu 0 waits in Shared Cede for init's poll timer, without the tick
    expect(cpu0.activity).toBe("in the hypervisor");
    expect(cpu0.tickRunning).toBe(false);
    expect(cpu0.tickTimer?.queued).toBe(false);
    expect(cpu0.hrtimers.map((t) => t.name)).toEqual(["hrtimer_wakeup"]);
    const ticksBefore = cpu0.stats.interrupts.get(0x900) ?? 0;
    let start = -1;
    const hog = kernel.spawn("hog", 0, forever(100_000_000));
    hog.onSwitchIn = () => {
      start = cpu0.ktime();
    };
    // init starts it at its next poll (every 10 ms)
    while (cpu0.activity !== "running hog" && sim.now < 30_000_000) sim.step();
    expect(cpu0.activity).toBe("running hog");
    expect(cpu0.tickRunning).toBe(true);
    expect(cpu0.tickTimer?.queued).toBe(true);
    // the next boundary after the CPU left idle for it
    const first = (Math.floor(start / tick) + 1) * tick;
    expect(cpu0.tickTimer?.expires).toBe(first);
    expect(first - start).toBeLessThanOrEqual(tick);
    // while the task runs, the tick interrupts it every 4 ms and re-arms one period later
    for (let n = 1; n <= 4; n++) {
      while (cpu0.ktime() < first + (n - 1) * tick + tick / 2) sim.step();
      expect(cpu0.tickTimer?.expires).toBe(first + n * tick);
      expect(cpu0.tickRunning).toBe(true);
    }
    expect((cpu0.stats.interrupts.get(0x900) ?? 0) - ticksBefore).toBeGreaterThanOrEqual(4);
  });

  it("a timer further than the decrementer reaches: DEC is decrementer_max, then the rest, and it fires on time", () => {
    // teo stops the tick of a CPU in Shared Cede: the task's sleep is its only timer
    const { sim, kernel } = bootGuest({ governor: "teo", disableStates: ["snooze", "stop0lite"] });
    const cpu2 = kernel.cpus[2];
    const decMax = kernel.decMax();
    expect(decMax).toBe(0x7fffffff);
    let due = -1;
    let woke = -1;
    kernel.spawn(
      "far",
      2,
      (function* (): TaskProgram {
        // 6 s: past 2^31 ticks at 512 MHz (4.19 s)
        due = cpu2.ktime() + 6_000_000_000;
        yield { k: "sleepUntil", guestNs: due };
        woke = cpu2.ktime();
      })(),
    );
    sim.runFor(10_000_000);
    expect(cpu2.hrtimers.map((t) => t.name)).toEqual(["hrtimer_wakeup"]);
    expect(cpu2.tickRunning).toBe(false);
    expect(settled(cpu2)).toBe(true);
    expect(dec(cpu2)).toBeLessThanOrEqual(decMax);
    expect(dec(cpu2)).toBeGreaterThan(decMax - (512 * 10_000_000) / 1000);
    // at 4.19 s DEC runs out: the interrupt finds nothing expired and programs what is left
    sim.runFor(4_300_000_000);
    expect(woke).toBe(-1);
    expect(Math.abs(dec(cpu2) - ((due - cpu2.ktime()) * 512) / 1000)).toBeLessThan(1);
    sim.runFor(1_800_000_000);
    expect(woke).toBeGreaterThanOrEqual(due);
    expect(woke - due).toBeLessThan(100_000);
  });

  it("expired timers run in expiry order, whatever order they were queued in", () => {
    const { sim, kernel } = bootGuest({ disableStates: ["snooze", "stop0lite"] });
    const cpu1 = kernel.cpus[1];
    const order: string[] = [];
    const at = 20_000_000;
    // queued first, due 300 ns later than the other: both have expired when the (ceded) CPU takes the interrupt
    const sleeper = (name: string, due: number) =>
      (function* (): TaskProgram {
        yield { k: "sleepUntil", guestNs: due };
        order.push(name);
        yield { k: "compute", ns: 10_000 };
      })();
    kernel.spawn("late", 1, sleeper("late", at + 300));
    kernel.spawn("early", 1, sleeper("early", at));
    sim.runFor(10_000_000);
    expect(cpu1.hrtimers.filter((t) => t.name === "hrtimer_wakeup").map((t) => t.expires)).toEqual([
      at + 300,
      at,
    ]);
    sim.runFor(20_000_000);
    expect(order).toEqual(["early", "late"]);
  });
});

describe("the hrtimer queue", () => {
  /** Runs `code` on cpu 2 of a snooze-only guest (a polling CPU takes injected work), then settles. */
  function onCpu2(code: (c: GuestCpu) => KCode) {
    const g = bootGuest({ disableStates: ["stop0lite", "Shared Cede"] });
    g.sim.runFor(3_000_000);
    const cpu2 = g.kernel.cpus[2];
    expect(cpu2.injectWork(code(cpu2))).toBe(true);
    g.sim.runFor(5_000);
    return { ...g, cpu2 };
  }
  const timer = (name: string, expires: number): HrTimer => ({
    name,
    expires,
    period: 0,
    queued: false,
    fn: () => null,
  });

  it("a new earliest timer reprograms DEC; a later one leaves it; a restarted one is not queued twice", () => {
    let a: HrTimer | null = null;
    let b: HrTimer | null = null;
    const { cpu2 } = onCpu2(function* (c) {
      const now = c.ktime();
      a = timer("a", now + 1_000_000);
      b = timer("b", now + 2_000_000);
      yield* c.hrtimerStart(a);
      yield* c.hrtimerStart(b);
      yield* c.hrtimerStart(a);
    });
    if (a === null || b === null) throw new Error("the injected code did not run");
    const mine = cpu2.hrtimers.filter((t) => t === a || t === b);
    expect(mine).toEqual([a, b]);
    expect(nextTimer(cpu2, false)).toBe(a);
    expect(Math.abs(dec(cpu2) - (((a as HrTimer).expires - cpu2.ktime()) * 512) / 1000)).toBeLessThan(1);
  });

  it("an expired timer programs DEC to one tick; it fires at once and runs its callback", () => {
    let ran = -1;
    let queuedAt = -1;
    const { cpu2 } = onCpu2(function* (c) {
      queuedAt = c.ktime();
      const t: HrTimer = {
        ...timer("past", queuedAt - 50_000),
        fn: (cc) => {
          ran = cc.ktime();
          return null;
        },
      };
      yield* c.hrtimerStart(t);
      expect(dec(c)).toBe(1);
    });
    expect(ran).toBeGreaterThan(queuedAt);
    expect(ran - queuedAt).toBeLessThan(5_000);
    expect(cpu2.hrtimers.map((t) => t.name)).not.toContain("past");
  });

  it("cancelling takes a timer out and keeps the others in order; cancelling it again is nothing", () => {
    const { cpu2 } = onCpu2(function* (c) {
      const now = c.ktime() + 50_000_000;
      for (const n of ["x", "y", "z", "w"]) yield* c.hrtimerStart(timer(n, now));
    });
    const byName = (n: string) => cpu2.hrtimers.find((t) => t.name === n) as HrTimer;
    const y = byName("y");
    hrtimerCancel(cpu2, y);
    expect(y.queued).toBe(false);
    const names = () => cpu2.hrtimers.map((t) => t.name).filter((n) => "xyzw".includes(n));
    expect(names()).toEqual(["x", "z", "w"]);
    hrtimerCancel(cpu2, y);
    expect(names()).toEqual(["x", "z", "w"]);
    // equal expiries: the first queued is the first (timerqueue_add puts equal keys to the right)
    expect(nextTimer(cpu2, true)?.name).toBe("x");
    // a timer marked unqueued is left alone even if it is in the list
    const w = byName("w");
    w.queued = false;
    hrtimerCancel(cpu2, w);
    expect(names()).toEqual(["x", "z", "w"]);
  });

  it("ignoring the tick: the earliest other timer", () => {
    const { cpu2 } = onCpu2(function* (c) {
      const tick = c.tickTimer as HrTimer;
      yield* c.hrtimerStart(timer("later", tick.expires + 1));
    });
    expect(nextTimer(cpu2, false)).toBe(cpu2.tickTimer);
    expect(nextTimer(cpu2, true)?.name).toBe("later");
  });

  it("programming the decrementer again (set_next_event) puts DEC back on the earliest timer", () => {
    let wrong = 0;
    const { cpu2 } = onCpu2(function* (c) {
      yield* setDecTicks(c, 123_456_789);
      wrong = dec(c);
      yield* programDec(c);
    });
    expect(wrong).toBeGreaterThan(123_000_000);
    const next = nextTimer(cpu2, false) as HrTimer;
    expect(Math.abs(dec(cpu2) - ((next.expires - cpu2.ktime()) * 512) / 1000)).toBeLessThan(1);
  });

  it("set_dec loads the register with the whole ticks, 64-bit two's complement below zero", () => {
    const { cpu2 } = onCpu2(function* () {});
    decOp(cpu2, 5.9);
    expect(cpu2.thread.gpr(R_SPR)).toBe(5n);
    decOp(cpu2, 2 ** 40 + 7);
    expect(cpu2.thread.gpr(R_SPR)).toBe(2n ** 40n + 7n);
    decOp(cpu2, -3);
    expect(cpu2.thread.gpr(R_SPR)).toBe(2n ** 64n - 3n);
    decOp(cpu2, 2 ** 60);
    expect(cpu2.thread.gpr(R_SPR)).toBe(2n ** 60n);
  });
});

describe("what the idle governor is told (tick_nohz_idle_got_tick)", () => {
  it("a wake-up from idle by the tick is reported as one; a wake-up by another timer is not", () => {
    // without snooze, whose timeout also ends an idle period
    const { sim, kernel } = bootGuest({ disableStates: ["snooze"] });
    const seen = new Map<number, boolean[]>();
    const gov = kernel.governor;
    const reflect = gov.reflect.bind(gov);
    gov.reflect = (dev, index, ctx) => {
      const l = seen.get(dev.cpu) ?? [];
      l.push(ctx.gotTick);
      seen.set(dev.cpu, l);
      reflect(dev, index, ctx);
    };
    // cpu 2 wakes every 3 ms for a task and every 10 ms for the tick; cpu 3 only for the tick
    kernel.spawn(
      "p",
      2,
      (function* (): TaskProgram {
        for (;;) yield { k: "sleep", ns: 3_000_000 };
      })(),
    );
    sim.runFor(60_000_000);
    const cpu3 = seen.get(3) ?? [];
    expect(cpu3.length).toBeGreaterThanOrEqual(5);
    expect(cpu3.every((t) => t)).toBe(true);
    const cpu2 = seen.get(2) ?? [];
    expect(cpu2.filter((t) => !t).length).toBeGreaterThanOrEqual(10);
    expect(cpu2.filter((t) => t).length).toBeGreaterThanOrEqual(3);
  });
});

describe("the scheduler tick (scheduler_tick)", () => {
  it("a CPU-bound task gives the CPU to another runnable one after 3 ticks; alone it keeps it", () => {
    const { sim, kernel } = bootGuest({ hz: 250 });
    const tick = 4_000_000;
    const slices: Array<[string, number]> = [];
    const a = kernel.spawn("a", 1, forever(1_000_000_000));
    a.onSwitchIn = (_t, now) => slices.push(["a", now]);
    sim.runFor(60_000_000);
    // alone: switched in once
    expect(a.switches).toBe(1);
    const b = kernel.spawn("b", 1, forever(1_000_000_000));
    b.onSwitchIn = (_t, now) => slices.push(["b", now]);
    sim.runFor(100_000_000);
    const runs = slices.slice(1);
    expect(runs.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i][0]).not.toBe(runs[i - 1][0]);
      const slice = runs[i][1] - runs[i - 1][1];
      // preempted at the first tick at which it has run 3 ticks
      expect(slice).toBeGreaterThanOrEqual(3 * tick);
      expect(slice).toBeLessThan(4 * tick + 200_000);
    }
  });
});
