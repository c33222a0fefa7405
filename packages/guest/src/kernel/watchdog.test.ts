// The lockup watchdog (linux: arch/powerpc/kernel/watchdog.c) and the wake-up hazard counters,
// decision by decision: the heartbeat timer, the lockup and near-miss thresholds, the report,
// the late and stalled timer wake-ups and the stall view of idle CPUs.
import { POWER9_DD22 } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { bootGuest } from "../test-helpers/booted.js";
import { periodicTimer } from "../workloads/workloads.js";
import { LATE_WAKEUP_LOG_MAX, STALL_NS } from "./kernel.js";
import type { TaskProgram } from "./task.js";
import { noteTimerWakeup, stalledCpus, watchdogTimerInterrupt } from "./watchdog.js";

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

describe("the SMP check (watchdog.c watchdog_timer_interrupt, wd_smp_clear_cpu_pending, watchdog_smp_panic)", () => {
  const SMP_TIMEOUT_NS = 1.5 * TIMEOUT_NS;
  /**
   * A booted 4-CPU guest whose CPUs all beat just now, with a round that completed `sinceReset`
   * ago and still waits for `pending`, driven by hand through each CPU's heartbeat interrupt.
   */
  function fresh(pending: number[], sinceReset: number) {
    const g = bootGuest({ watchdogThreshS: THRESH_S });
    const now = g.sim.now;
    for (const c of g.kernel.cpus) c.heartbeat = now;
    const wd = g.kernel.wdSmp;
    wd.pending.clear();
    for (const n of pending) wd.pending.add(n);
    wd.stuck.clear();
    wd.lastResetNs = now - sinceReset;
    const beat = (n: number) => watchdogTimerInterrupt(g.kernel, g.kernel.cpus[n]);
    return { ...g, now, wd, beat };
  }

  it("every CPU that booted is watched; the first one opened the first round", () => {
    const { kernel, sim } = bootGuest({ watchdogThreshS: THRESH_S });
    expect([...kernel.wdSmp.enabled].sort()).toEqual([0, 1, 2, 3]);
    expect(kernel.wdSmp.stuck.size).toBe(0);
    expect(kernel.wdSmp.lastResetNs).toBeGreaterThan(0);
    expect(kernel.wdSmp.lastResetNs).toBeLessThanOrEqual(sim.now);
    // a healthy guest completes its rounds: the last is never older than a heartbeat period or so
    sim.runFor(3 * TIMEOUT_NS);
    expect(sim.now - kernel.wdSmp.lastResetNs).toBeLessThan(0.4 * TIMEOUT_NS + 1_000_000);
    expect(kernel.lockups).toEqual([]);
  });

  it("each heartbeat takes its CPU out of the round; the last one completes it and opens the next", () => {
    const { wd, beat, now } = fresh([0, 1, 2, 3], TIMEOUT_NS / 4);
    beat(0);
    beat(2);
    beat(1);
    expect([...wd.pending]).toEqual([3]);
    expect(wd.lastResetNs).toBe(now - TIMEOUT_NS / 4);
    // a CPU beating twice in a round changes nothing
    beat(1);
    expect([...wd.pending]).toEqual([3]);
    beat(3);
    expect(wd.lastResetNs).toBe(now);
    expect([...wd.pending].sort()).toEqual([0, 1, 2, 3]);
  });

  it("the lockup is reported 3/2 of watchdog_thresh after the last completed round, not at the threshold", () => {
    const { sim, kernel, wd, beat, now } = fresh([1, 2], SMP_TIMEOUT_NS - 1);
    beat(0);
    beat(3);
    expect(kernel.lockups).toEqual([]);
    expect(kernel.state).toBe("running");
    wd.lastResetNs = now - SMP_TIMEOUT_NS;
    beat(0);
    // %*pbl prints a cpumask as ranges
    const msg = "Watchdog CPU:0 detected Hard LOCKUP other CPUS:1-2";
    expect(kernel.lockups).toEqual([{ time: sim.now, reporter: 0, cpus: [1, 2], message: msg }]);
    expect(kernel.state).toBe("hung");
    const lines = kernel.console.lines.map((l) => l.text);
    const at = lines.indexOf(msg);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(kernel.console.lines[at].level).toBe("emerg");
    const [, cpu1, cpu2] = kernel.cpus;
    expect(lines.slice(at + 1, at + 5)).toEqual([
      "CPU 1 didn't respond to backtrace IPI, inspecting paca.",
      `CPU 1: ${cpu1.activity} since ?`,
      "CPU 2 didn't respond to backtrace IPI, inspecting paca.",
      `CPU 2: ${cpu2.activity} since ?`,
    ]);
    // set_cpumask_stuck: the stuck CPUs leave the watch group and a new round starts without them
    expect([...wd.stuck].sort()).toEqual([1, 2]);
    expect([...wd.pending].sort()).toEqual([0, 3]);
    expect(wd.lastResetNs).toBe(now);
    // reported once: the next checks see a fresh round
    beat(0);
    beat(3);
    expect(kernel.lockups).toHaveLength(1);
  });

  it("a CPU that beat in the stalled round is reported a round later; a hung guest stays hung, a panicked one panicked", () => {
    const { kernel, wd, beat, now } = fresh([1], SMP_TIMEOUT_NS);
    kernel.state = "panicked";
    beat(2);
    expect(kernel.lockups.map((l) => l.cpus)).toEqual([[1]]);
    expect(kernel.state).toBe("panicked");
    // cpu 3 stops too, after the new round began: it is pending now, and reported when that round is as old
    beat(0);
    beat(2);
    expect([...wd.pending]).toEqual([3]);
    wd.lastResetNs = now - SMP_TIMEOUT_NS;
    beat(0);
    expect(kernel.lockups.map((l) => l.message)).toEqual([
      "Watchdog CPU:2 detected Hard LOCKUP other CPUS:1",
      "Watchdog CPU:0 detected Hard LOCKUP other CPUS:3",
    ]);
    expect([...wd.stuck].sort()).toEqual([1, 3]);
  });

  it("CPUs not adjacent are listed one by one", () => {
    const { kernel, beat } = fresh([1, 3], 2 * TIMEOUT_NS);
    beat(2);
    expect(kernel.lockups.map((l) => l.message)).toEqual([
      "Watchdog CPU:2 detected Hard LOCKUP other CPUS:1,3",
    ]);
  });

  it("a stuck CPU that beats again became unstuck and joins the next round", () => {
    const { kernel, wd, beat } = fresh([0, 2, 3], 0);
    wd.stuck.add(1);
    beat(1);
    expect(kernel.console.contains("CPU 1 became unstuck")).toBe(true);
    expect(wd.stuck.size).toBe(0);
    expect([...wd.pending].sort()).toEqual([0, 2, 3]);
    beat(0);
    beat(2);
    beat(3);
    expect([...wd.pending].sort()).toEqual([0, 1, 2, 3]);
    expect(kernel.lockups).toEqual([]);
  });

  it("a CPU that went offline leaves the round (stop_wd_on_cpu) instead of being reported", () => {
    const { kernel, wd, beat, now } = fresh([3], SMP_TIMEOUT_NS);
    kernel.cpus[3].online = false;
    beat(0);
    expect(kernel.lockups).toEqual([]);
    expect(wd.lastResetNs).toBe(now);
    expect([...wd.pending].sort()).toEqual([0, 1, 2]);
  });

  it("a heartbeat gap of half the threshold is a near miss, once per gap, on other CPUs online and not stuck", () => {
    const { kernel, wd, beat, now } = fresh([0, 1, 2, 3], 0);
    const [, cpu1, cpu2, cpu3] = kernel.cpus;
    cpu1.heartbeat = now - TIMEOUT_NS / 2 + 1;
    beat(0);
    expect(kernel.watchdogNearMisses).toBe(0);
    cpu1.heartbeat = now - TIMEOUT_NS / 2;
    beat(0);
    expect(kernel.watchdogNearMisses).toBe(1);
    // the same gap seen again by the next check (or another CPU) is the same near miss
    beat(0);
    beat(2);
    expect(kernel.watchdogNearMisses).toBe(1);
    // a new gap (a later heartbeat, then silence again) is another one
    cpu1.heartbeat = now - TIMEOUT_NS;
    beat(0);
    expect(kernel.watchdogNearMisses).toBe(2);
    // the reporter's own gap, an offline CPU's and a stuck CPU's are none
    cpu2.heartbeat = now - TIMEOUT_NS;
    cpu2.online = false;
    cpu3.heartbeat = now - TIMEOUT_NS;
    wd.stuck.add(3);
    beat(0);
    expect(kernel.watchdogNearMisses).toBe(2);
    // nor any gap once the guest is no longer running
    cpu2.online = true;
    kernel.state = "hung";
    beat(0);
    expect(kernel.watchdogNearMisses).toBe(2);
    expect(kernel.lockups).toEqual([]);
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
    // reported once the round it never beat in was 3/2 of the threshold old: its last heartbeat
    // came before that round began, at most about a heartbeat period before
    for (const c of kernel.cpus.slice(1)) {
      expect(lockup.time - c.heartbeat).toBeGreaterThanOrEqual(SMP_TIMEOUT_NS);
      expect(lockup.time - c.heartbeat).toBeLessThan(SMP_TIMEOUT_NS + 2 * 0.4 * TIMEOUT_NS + 100_000);
    }
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
