// linux: arch/powerpc/kernel/watchdog.c (the SMP hard-lockup detector, watchdog_thresh) and the
// stall detection a CPU's late timer wake-ups feed (kernel/rcu/tree_stall.h's view of them).

import type { GuestCpu, HrTimer, KCode } from "./cpu.js";
import { type GuestKernel, LATE_WAKEUP_FACTOR, LATE_WAKEUP_LOG_MAX, STALL_NS } from "./kernel.js";
import { drainSpawns } from "./sched.js";

/**
 * The SMP checker's shared state (linux: arch/powerpc/kernel/watchdog.c wd_cpus_enabled,
 * wd_smp_cpus_pending, wd_smp_cpus_stuck, wd_smp_last_reset_tb), by logical CPU number.
 */
export interface WatchdogSmp {
  readonly enabled: Set<number>;
  /** CPUs whose heartbeat this round still waits for. */
  readonly pending: Set<number>;
  /** CPUs reported stuck, out of the rounds until they beat again. */
  readonly stuck: Set<number>;
  /** When the last round completed (every pending CPU beat), virtual ns. */
  lastResetNs: number;
}

/** wd_panic_timeout_tb in ns: watchdog_thresh (linux: watchdog.c watchdog_calc_timeouts). */
export function wdPanicTimeoutNs(kernel: GuestKernel): number {
  return kernel.config.watchdogThreshS * 1e9;
}

/** wd_smp_panic_timeout_tb in ns: "Have the SMP detector trigger a bit later", 3/2 of it. */
export function wdSmpPanicTimeoutNs(kernel: GuestKernel): number {
  return (wdPanicTimeoutNs(kernel) * 3) / 2;
}

// linux: arch/powerpc/kernel/watchdog.c start_wd_on_cpu + start_watchdog_timer_on: the CPU joins
// the watched set (the first one opens the first round), takes its heartbeat and arms a pinned
// timer every 2/5 of watchdog_thresh (wd_timer_period_ms).
export function* startWatchdog(kernel: GuestKernel, cpu: GuestCpu): KCode {
  const thresh = kernel.config.watchdogThreshS;
  if (thresh <= 0) return;
  const wd = kernel.wdSmp;
  wd.enabled.add(cpu.logical);
  if (wd.enabled.size === 1) {
    wd.pending.add(cpu.logical);
    wd.lastResetNs = kernel.sim.now;
  }
  cpu.heartbeat = kernel.sim.now;
  const period = (thresh * 1e9 * 2) / 5;
  const t: HrTimer = {
    name: "watchdog_timer_fn",
    expires: cpu.ktime() + period,
    period,
    queued: false,
    fn: (c) => {
      watchdogTimerInterrupt(kernel, c);
      return kernel.pendingSpawns.length > 0 ? drainSpawns(kernel, c) : null;
    },
  };
  yield* cpu.hrtimerStart(t);
}

// linux: arch/powerpc/kernel/watchdog.c watchdog_timer_interrupt: the heartbeat, this CPU's bit
// out of the round, and the SMP check once the last completed round is wd_smp_panic_timeout old.
export function watchdogTimerInterrupt(kernel: GuestKernel, cpu: GuestCpu): void {
  const now = kernel.sim.now;
  cpu.heartbeat = now;
  wdSmpClearCpuPending(kernel, cpu);
  if (now - kernel.wdSmp.lastResetNs >= wdSmpPanicTimeoutNs(kernel)) watchdogSmpPanic(kernel, cpu);
  countNearMisses(kernel, cpu);
}

/** The CPUs a new round waits for: the watched ones not stuck (and still online: stop_wd_on_cpu). */
function refill(kernel: GuestKernel): void {
  const wd = kernel.wdSmp;
  wd.lastResetNs = kernel.sim.now;
  for (const n of wd.enabled) if (!wd.stuck.has(n) && kernel.cpus[n]?.online === true) wd.pending.add(n);
}

// linux: arch/powerpc/kernel/watchdog.c wd_smp_clear_cpu_pending: a stuck CPU that beats again is
// "unstuck"; the last pending CPU to beat completes the round and opens the next.
export function wdSmpClearCpuPending(kernel: GuestKernel, cpu: GuestCpu): void {
  const wd = kernel.wdSmp;
  // CPUs that went offline (halt, stop-self) leave the round as stop_wd_on_cpu takes them out
  for (const n of wd.pending) if (kernel.cpus[n]?.online !== true) wd.pending.delete(n);
  if (!wd.pending.has(cpu.logical)) {
    if (wd.stuck.has(cpu.logical)) {
      kernel.console.printk("emerg", `CPU ${cpu.logical} became unstuck`);
      wd.stuck.delete(cpu.logical);
    } else if (wd.pending.size === 0) refill(kernel);
    return;
  }
  wd.pending.delete(cpu.logical);
  if (wd.pending.size === 0) refill(kernel);
}

// linux: arch/powerpc/kernel/watchdog.c watchdog_smp_panic (4.16-5.15 wording): the CPUs still
// pending are reported, taken out of the watch group (set_cpumask_stuck) and a new round starts.
// hardlockup_panic is 0 (the default): no panic; the model marks a running guest hung.
function watchdogSmpPanic(kernel: GuestKernel, reporter: GuestCpu): void {
  const wd = kernel.wdSmp;
  if (wd.pending.has(reporter.logical) || wd.pending.size === 0) return;
  const list = [...wd.pending].sort((a, b) => a - b);
  const msg = `Watchdog CPU:${reporter.logical} detected Hard LOCKUP other CPUS:${cpulist(list)}`;
  kernel.console.printk("emerg", msg);
  for (const n of list) {
    const c = kernel.cpus[n];
    kernel.console.printk("emerg", `CPU ${n} didn't respond to backtrace IPI, inspecting paca.`);
    kernel.console.printk(
      "emerg",
      `CPU ${n}: ${c.activity} since ${c.idleStateSince >= 0 ? `${((kernel.sim.now - c.idleStateSince) / 1e9).toFixed(3)} s` : "?"}`,
    );
  }
  for (const n of list) wd.stuck.add(n);
  wd.pending.clear();
  refill(kernel);
  kernel.lockups.push({ time: kernel.sim.now, reporter: reporter.logical, cpus: list, message: msg });
  if (kernel.state === "running") kernel.state = "hung";
}

/**
 * A heartbeat gap past half of watchdog_thresh on a CPU not reported stuck: a near miss, counted
 * once per gap (the model's hazard counter; Linux has none), only once booted: the boot CPU's init
 * work before smp_init is not the watchdog's to see.
 */
function countNearMisses(kernel: GuestKernel, reporter: GuestCpu): void {
  if (kernel.state !== "running") return;
  const half = wdPanicTimeoutNs(kernel) / 2;
  for (const c of kernel.cpus) {
    if (c === undefined || c === reporter || !c.online || kernel.wdSmp.stuck.has(c.logical)) continue;
    const gap = kernel.sim.now - c.heartbeat;
    if (gap >= half && kernel.nearMissAt.get(c.logical) !== c.heartbeat) {
      kernel.nearMissAt.set(c.logical, c.heartbeat);
      kernel.watchdogNearMisses++;
    }
  }
}

/**
 * How late a wake-up from idle came after the timer armed for it: the observation a wakeup
 * latency tool (cyclictest, the thread's timer test) makes, kept per CPU as hazard counters.
 */
export function noteTimerWakeup(
  kernel: GuestKernel,
  cpu: GuestCpu,
  dueNs: number,
  wokeNs: number,
  exitLatencyNs: number,
): void {
  const st = cpu.stats;
  const latenessNs = wokeNs - dueNs;
  st.timerWakeups++;
  if (latenessNs > st.maxWakeupLatenessNs) st.maxWakeupLatenessNs = latenessNs;
  const late = latenessNs > LATE_WAKEUP_FACTOR * Math.max(exitLatencyNs, 1_000);
  if (late) st.lateWakeups++;
  if (latenessNs >= STALL_NS) st.stalls++;
  if (!late && latenessNs < STALL_NS) {
    if (latenessNs > st.maxPunctualLatenessNs) st.maxPunctualLatenessNs = latenessNs;
    return;
  }
  if (kernel.lateWakeupLog.length < LATE_WAKEUP_LOG_MAX)
    kernel.lateWakeupLog.push({
      cpu: cpu.logical,
      dueNs,
      wokeNs,
      exitLatencyNs,
      reboundAtNs: cpu.reboundAtNs,
    });
  else kernel.lateWakeupLogDropped++;
}

/**
 * The CPUs that are idle with their next timer overdue by at least `minNs`: what a stall
 * detector on another CPU sees of a CPU that stopped making progress (a wake event that never
 * arrived), before the lockup watchdog's threshold.
 */
export function stalledCpus(kernel: GuestKernel, minNs: number = STALL_NS): number[] {
  const out: number[] = [];
  for (const c of kernel.cpus) {
    if (c === undefined || !c.online || c.idleStateSince < 0) continue;
    const next = c.nextTimer(true);
    if (next !== undefined && c.ktime() - next.expires >= minNs) out.push(c.logical);
  }
  return out;
}

/**
 * A cpumask as printk's `%*pbl` prints it (linux: lib/vsprintf.c bitmap_list_string): ascending
 * ranges, "first-last" for two or more adjacent CPUs, separated by commas ("1-3,5").
 */
export function cpulist(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(",");
}
