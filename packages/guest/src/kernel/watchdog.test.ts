// The lockup watchdog (linux: arch/powerpc/kernel/watchdog.c) and the wake-up hazard counters,
// decision by decision: the heartbeat timer, the lockup and near-miss thresholds, the report,
// the late and stalled timer wake-ups and the stall view of idle CPUs.
import { POWER9_DD22 } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { bootGuest } from "../test-helpers/booted.js";
import { periodicTimer } from "../workloads/workloads.js";
import { LATE_WAKEUP_LOG_MAX, STALL_NS } from "./kernel.js";
import type { TaskProgram } from "./task.js";
import { noteTimerWakeup, stalledCpus, watchdogCheck } from "./watchdog.js";

const THRESH_S = 0.02;
const TIMEOUT_NS = THRESH_S * 1e9;

describe("the heartbeat (watchdog.c start_watchdog_timer_on, wd_timer_fn)", () => {
  it("each CPU arms a pinned timer every 2/5 of watchdog_thresh, its heartbeat taken when it starts", () => {
    const { sim, kernel } = bootGuest({ watchdogThreshS: THRESH_S });
    expect(kernel.state).toBe("running");
    for (const c of kernel.cpus) {
      const wd = c.hrtimers.filter((t) => t.name === "watchdog_timer_fn");
      expect(wd).toHaveLength(1);
      expect(wd[0].period).toBe(0.4 * TIMEOUT_NS);
      // armed one period after the heartbeat the CPU took when it started its timer
      expect(wd[0].expires - c.heartbeat).toBeGreaterThan(0.4 * TIMEOUT_NS - 1_000);
      expect(wd[0].expires - c.heartbeat).toBeLessThan(0.4 * TIMEOUT_NS + 1_000);
      expect(c.heartbeat).toBeGreaterThan(0);
    }
    // the secondaries start after the boot CPU, one after the other
    const beats = kernel.cpus.map((c) => c.heartbeat);
    expect([...beats].sort((a, b) => a - b)).toEqual(beats);
    // every period the timer beats again: no heartbeat older than a period
    sim.runFor(3 * 0.4 * TIMEOUT_NS);
    for (const c of kernel.cpus) {
      expect(sim.now - c.heartbeat).toBeLessThanOrEqual(0.4 * TIMEOUT_NS + 100_000);
      expect(c.heartbeat).toBeGreaterThan(beats[c.logical]);
    }
    expect(kernel.watchdogNearMisses).toBe(0);
    expect(kernel.lockups).toEqual([]);
  });

  it("a task created while every CPU sleeps is started by the next heartbeat", () => {
    // init polls for new tasks only every second here: the heartbeat timer starts it first
    const { sim, kernel } = bootGuest({
      watchdogThreshS: THRESH_S,
      initPollNs: 1_000_000_000,
      disableStates: ["snooze"],
    });
    sim.runFor(20_000_000);
    expect(kernel.cpus.every((c) => !c.canInject)).toBe(true);
    let started = -1;
    const spawnedAt = sim.now;
    kernel.spawn(
      "late",
      1,
      (function* (): TaskProgram {
        started = sim.now;
        yield { k: "compute", ns: 1_000 };
      })(),
    );
    sim.runFor(0.4 * TIMEOUT_NS + 1_000_000);
    expect(started).toBeGreaterThan(spawnedAt);
    expect(started - spawnedAt).toBeLessThan(0.4 * TIMEOUT_NS + 1_000_000);
  });

  it("watchdog_thresh=0 starts no heartbeat timer", () => {
    const { kernel } = bootGuest({ watchdogThreshS: 0 });
    for (const c of kernel.cpus) {
      expect(c.hrtimers.map((t) => t.name)).not.toContain("watchdog_timer_fn");
    }
  });
});

describe("the SMP check (watchdog.c watchdog_timer_interrupt, watchdog_smp_panic)", () => {
  /** A booted 4-CPU guest whose CPUs all beat just now, checked by hand at a fixed time. */
  function fresh() {
    const g = bootGuest({ watchdogThreshS: THRESH_S });
    const now = g.sim.now;
    for (const c of g.kernel.cpus) c.heartbeat = now;
    return { ...g, now };
  }

  it("a gap of half the threshold is a near miss, counted once per gap; shorter gaps are nothing", () => {
    const { kernel, now } = fresh();
    const [cpu0, cpu1] = kernel.cpus;
    cpu1.heartbeat = now - TIMEOUT_NS / 2 + 1;
    watchdogCheck(kernel, cpu0);
    expect(kernel.watchdogNearMisses).toBe(0);
    cpu1.heartbeat = now - TIMEOUT_NS / 2;
    watchdogCheck(kernel, cpu0);
    expect(kernel.watchdogNearMisses).toBe(1);
    // the same gap seen again by the next check (or another CPU) is the same near miss
    watchdogCheck(kernel, cpu0);
    watchdogCheck(kernel, kernel.cpus[2]);
    expect(kernel.watchdogNearMisses).toBe(1);
    // a new gap (a later heartbeat, then silence again) is another one, up to just below the threshold
    cpu1.heartbeat = now - TIMEOUT_NS + 1;
    watchdogCheck(kernel, cpu0);
    expect(kernel.watchdogNearMisses).toBe(2);
    expect(kernel.lockups).toEqual([]);
    expect(kernel.state).toBe("running");
  });

  it("the reporter does not check itself, nor any CPU that is offline", () => {
    const { kernel, now } = fresh();
    const [cpu0, , , cpu3] = kernel.cpus;
    cpu0.heartbeat = now - TIMEOUT_NS;
    watchdogCheck(kernel, cpu0);
    cpu0.heartbeat = now - TIMEOUT_NS / 2;
    watchdogCheck(kernel, cpu0);
    cpu0.heartbeat = now;
    cpu3.online = false;
    cpu3.heartbeat = now - TIMEOUT_NS;
    watchdogCheck(kernel, kernel.cpus[1]);
    cpu3.heartbeat = now - TIMEOUT_NS / 2;
    watchdogCheck(kernel, kernel.cpus[1]);
    expect(kernel.watchdogNearMisses).toBe(0);
    expect(kernel.lockups).toEqual([]);
    expect(kernel.state).toBe("running");
  });

  it("a gap of the threshold is a hard lockup: the other CPUs as a cpulist, the paca of each, the guest hung", () => {
    const { sim, kernel, now } = fresh();
    const [cpu0, cpu1, cpu2, cpu3] = kernel.cpus;
    cpu1.heartbeat = now - TIMEOUT_NS;
    cpu2.heartbeat = now - TIMEOUT_NS - 5;
    cpu3.heartbeat = now - TIMEOUT_NS + 1;
    watchdogCheck(kernel, cpu0);
    // %*pbl prints a cpumask as ranges
    const msg = "Watchdog CPU:0 detected Hard LOCKUP other CPUS:1-2";
    expect(kernel.lockups).toEqual([{ time: sim.now, reporter: 0, cpus: [1, 2], message: msg }]);
    expect(kernel.state).toBe("hung");
    const lines = kernel.console.lines.map((l) => l.text);
    const at = lines.indexOf(msg);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(kernel.console.lines[at].level).toBe("emerg");
    expect(lines.slice(at + 1, at + 5)).toEqual([
      "CPU 1 didn't respond to backtrace IPI, inspecting paca.",
      `CPU 1: ${cpu1.activity} since ?`,
      "CPU 2 didn't respond to backtrace IPI, inspecting paca.",
      `CPU 2: ${cpu2.activity} since ?`,
    ]);
    // cpu3's gap (one ns short) was a near miss; the lockup was not
    expect(kernel.watchdogNearMisses).toBe(1);
    // CPUs already reported are not reported again; a new one is, alone; no near miss once hung
    watchdogCheck(kernel, cpu0);
    expect(kernel.lockups).toHaveLength(1);
    cpu3.heartbeat = now - TIMEOUT_NS;
    watchdogCheck(kernel, cpu0);
    expect(kernel.lockups.map((l) => l.message)).toEqual([
      msg,
      "Watchdog CPU:0 detected Hard LOCKUP other CPUS:3",
    ]);
    expect(kernel.state).toBe("hung");
    cpu3.heartbeat = now - TIMEOUT_NS / 2;
    watchdogCheck(kernel, cpu0);
    expect(kernel.watchdogNearMisses).toBe(1);
  });

  it("a lockup of CPUs that are not adjacent lists them one by one; a panicked guest stays panicked", () => {
    const { kernel, now } = fresh();
    const [, cpu1, , cpu3] = kernel.cpus;
    cpu1.heartbeat = now - 2 * TIMEOUT_NS;
    cpu3.heartbeat = now - 2 * TIMEOUT_NS;
    kernel.state = "panicked";
    watchdogCheck(kernel, kernel.cpus[2]);
    expect(kernel.lockups.map((l) => l.message)).toEqual([
      "Watchdog CPU:2 detected Hard LOCKUP other CPUS:1,3",
    ]);
    expect(kernel.state).toBe("panicked");
  });

  it("a CPU stuck in stop with its wake-up lost is reported with the idle state it has been in and for how long", () => {
    const { sim, kernel } = bootGuest(
      { watchdogThreshS: THRESH_S, disableStates: ["Shared Cede"] },
      { platform: { chip: POWER9_DD22, guestStopErratum: { enabled: true, lostWakeupProbability: 1 } } },
    );
    // cpu 0 stays out of stop0lite so that it lives to report
    kernel.cpus[0].cpuidle?.setDisabled("stop0lite", true);
    sim.runFor(200_000_000);
    expect(kernel.state).toBe("hung");
    const [lockup] = kernel.lockups;
    expect(lockup.reporter).toBe(0);
    expect(lockup.message).toBe("Watchdog CPU:0 detected Hard LOCKUP other CPUS:1-3");
    const cpu1 = kernel.cpus[1];
    expect(cpu1.activity).toBe("stopped (stop instruction)");
    expect(cpu1.idleStateSince).toBeGreaterThan(0);
    const since = ((lockup.time - cpu1.idleStateSince) / 1e9).toFixed(3);
    expect(kernel.console.contains(`CPU 1: stopped (stop instruction) since ${since} s`)).toBe(true);
    // reported when the threshold passed, not before: its last heartbeat was a threshold earlier
    expect(lockup.time - cpu1.heartbeat).toBeGreaterThanOrEqual(TIMEOUT_NS);
    expect(lockup.time - cpu1.heartbeat).toBeLessThan(TIMEOUT_NS + 0.4 * TIMEOUT_NS + 100_000);
  });
});

describe("timer wake-ups from idle (the hazard counters)", () => {
  function cpu1() {
    const { kernel } = bootGuest();
    const cpu = kernel.cpus[1];
    const before = { ...cpu.stats };
    return { kernel, cpu, before };
  }

  it("late means more than LATE_WAKEUP_FACTOR x the state's exit latency after the timer was due", () => {
    const { kernel, cpu, before } = cpu1();
    // exit latency 2 us: 20 us is the limit, not yet late
    noteTimerWakeup(kernel, cpu, 1_000_000, 1_020_000, 2_000);
    expect(cpu.stats.timerWakeups).toBe(before.timerWakeups + 1);
    expect(cpu.stats.lateWakeups).toBe(before.lateWakeups);
    expect(cpu.stats.maxPunctualLatenessNs).toBe(Math.max(before.maxPunctualLatenessNs, 20_000));
    expect(kernel.lateWakeupLog).toEqual([]);
    noteTimerWakeup(kernel, cpu, 2_000_000, 2_020_001, 2_000);
    expect(cpu.stats.lateWakeups).toBe(before.lateWakeups + 1);
    expect(cpu.stats.stalls).toBe(before.stalls);
    expect(cpu.stats.maxWakeupLatenessNs).toBe(20_001);
    // a late wake-up is not a punctual one
    expect(cpu.stats.maxPunctualLatenessNs).toBe(Math.max(before.maxPunctualLatenessNs, 20_000));
    expect(kernel.lateWakeupLog).toEqual([
      { cpu: 1, dueNs: 2_000_000, wokeNs: 2_020_001, exitLatencyNs: 2_000, reboundAtNs: -1 },
    ]);
  });

  it("an exit latency below 1 us counts as 1 us (snooze: 0)", () => {
    const { kernel, cpu, before } = cpu1();
    noteTimerWakeup(kernel, cpu, 0, 10_000, 0);
    noteTimerWakeup(kernel, cpu, 0, 10_000, 999);
    expect(cpu.stats.lateWakeups).toBe(before.lateWakeups);
    noteTimerWakeup(kernel, cpu, 0, 10_001, 0);
    noteTimerWakeup(kernel, cpu, 0, 10_001, 999);
    expect(cpu.stats.lateWakeups).toBe(before.lateWakeups + 2);
    expect(cpu.stats.timerWakeups).toBe(before.timerWakeups + 4);
  });

  it("a wake-up STALL_NS or more late is a stall, logged even when the exit latency would allow it", () => {
    const { kernel, cpu, before } = cpu1();
    noteTimerWakeup(kernel, cpu, 0, STALL_NS - 1, 200_000);
    expect(cpu.stats.stalls).toBe(before.stalls);
    expect(kernel.lateWakeupLog).toEqual([]);
    expect(cpu.stats.maxPunctualLatenessNs).toBe(STALL_NS - 1);
    noteTimerWakeup(kernel, cpu, 0, STALL_NS, 200_000);
    expect(cpu.stats.stalls).toBe(before.stalls + 1);
    expect(cpu.stats.lateWakeups).toBe(before.lateWakeups);
    expect(kernel.lateWakeupLog.map((w) => w.wokeNs)).toEqual([STALL_NS]);
    expect(cpu.stats.maxWakeupLatenessNs).toBe(STALL_NS);
    expect(cpu.stats.maxPunctualLatenessNs).toBe(STALL_NS - 1);
    // the maximum only grows
    noteTimerWakeup(kernel, cpu, 0, 5, 0);
    expect(cpu.stats.maxWakeupLatenessNs).toBe(STALL_NS);
    expect(cpu.stats.maxPunctualLatenessNs).toBe(STALL_NS - 1);
  });

  it("the log keeps the first LATE_WAKEUP_LOG_MAX late wake-ups and counts the others", () => {
    const { kernel, cpu } = cpu1();
    for (let i = 0; i < LATE_WAKEUP_LOG_MAX; i++) noteTimerWakeup(kernel, cpu, i, i + 50_000, 0);
    expect(kernel.lateWakeupLog).toHaveLength(LATE_WAKEUP_LOG_MAX);
    expect(kernel.lateWakeupLogDropped).toBe(0);
    noteTimerWakeup(kernel, cpu, -1, 50_000, 0);
    noteTimerWakeup(kernel, cpu, -2, 50_000, 0);
    expect(kernel.lateWakeupLog).toHaveLength(LATE_WAKEUP_LOG_MAX);
    expect(kernel.lateWakeupLog.at(-1)?.dueNs).toBe(LATE_WAKEUP_LOG_MAX - 1);
    expect(kernel.lateWakeupLogDropped).toBe(2);
  });
});

describe("stalled CPUs (idle with their next timer overdue)", () => {
  it("names the idle CPUs whose next timer other than the tick is overdue by at least minNs", () => {
    const { sim, kernel } = bootGuest(
      { disableStates: ["Shared Cede"] },
      { platform: { chip: POWER9_DD22, guestStopErratum: { enabled: true, lostWakeupProbability: 1 } } },
    );
    kernel.cpus[0].cpuidle?.setDisabled("stop0lite", true);
    periodicTimer(kernel, 1, 200_000, 1_000);
    sim.runFor(15_000_000);
    const cpu1 = kernel.cpus[1];
    expect(cpu1.idleStateSince).toBeGreaterThan(0);
    const next = cpu1.nextTimer(true);
    if (next === undefined) throw new Error("cpu1 has no timer");
    expect(next.name).not.toBe("tick_sched_timer");
    const overdue = cpu1.ktime() - next.expires;
    expect(overdue).toBeGreaterThan(STALL_NS);
    // cpus 2 and 3 are stuck in stop too, but with no timer but the tick: nothing is overdue
    for (const c of [2, 3]) expect(kernel.cpus[c].activity).toBe("stopped (stop instruction)");
    expect(stalledCpus(kernel)).toEqual([1]);
    expect(kernel.stalledCpus()).toEqual([1]);
    expect(stalledCpus(kernel, overdue)).toEqual([1]);
    expect(stalledCpus(kernel, overdue + 1)).toEqual([]);
    // a CPU that is not idle, or offline, is not stalled
    cpu1.online = false;
    expect(stalledCpus(kernel)).toEqual([]);
    cpu1.online = true;
    const since = cpu1.idleStateSince;
    cpu1.idleStateSince = -1;
    expect(stalledCpus(kernel)).toEqual([]);
    cpu1.idleStateSince = since;
    expect(stalledCpus(kernel, 0)).toEqual([1]);
  });
});
