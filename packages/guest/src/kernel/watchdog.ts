// linux: arch/powerpc/kernel/watchdog.c (the SMP hard-lockup detector, watchdog_thresh) and the
// stall detection a CPU's late timer wake-ups feed (kernel/rcu/tree_stall.h's view of them).

import type { GuestCpu, HrTimer, KCode } from "./cpu.js";
import { type GuestKernel, LATE_WAKEUP_FACTOR, LATE_WAKEUP_LOG_MAX, STALL_NS } from "./kernel.js";
import { drainSpawns } from "./sched.js";

// linux: arch/powerpc/kernel/watchdog.c: a pinned per-CPU heartbeat timer; every CPU checks the
// others' heartbeats and reports those that stopped for wd_panic_timeout.
export function* startWatchdog(kernel: GuestKernel, cpu: GuestCpu): KCode {
  const thresh = kernel.config.watchdogThreshS;
  if (thresh <= 0) return;
  // linux: arch/powerpc/kernel/watchdog.c start_watchdog_timer_on: wd_timer_tb = get_tb()
  cpu.heartbeat = kernel.sim.now;
  const period = (thresh * 1e9 * 2) / 5;
  const t: HrTimer = {
    name: "watchdog_timer_fn",
    expires: cpu.ktime() + period,
    period,
    queued: false,
    fn: (c) => {
      c.heartbeat = kernel.sim.now;
      watchdogCheck(kernel, c);
      return kernel.pendingSpawns.length > 0 ? drainSpawns(kernel, c) : null;
    },
  };
  yield* cpu.hrtimerStart(t);
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

export function watchdogCheck(kernel: GuestKernel, reporter: GuestCpu): void {
  const timeout = kernel.config.watchdogThreshS * 1e9;
  // a heartbeat gap past half the threshold that has not (yet) become a lockup: a near miss,
  // counted once per gap (linux: arch/powerpc/kernel/watchdog.c checks against wd_panic_timeout_tb);
  // only once booted: the boot CPU's init work before smp_init is not the watchdog's to see
  for (const c of kernel.state === "running" ? kernel.cpus : []) {
    if (c === undefined || c === reporter || !c.online) continue;
    const gap = kernel.sim.now - c.heartbeat;
    if (gap >= timeout / 2 && gap < timeout && kernel.nearMissAt.get(c.logical) !== c.heartbeat) {
      kernel.nearMissAt.set(c.logical, c.heartbeat);
      kernel.watchdogNearMisses++;
    }
  }
  const stuck = kernel.cpus.filter(
    (c) => c !== undefined && c !== reporter && c.online && kernel.sim.now - c.heartbeat >= timeout,
  );
  const fresh = stuck.filter((c) => !kernel.lockups.some((l) => l.cpus.includes(c.logical)));
  if (fresh.length === 0) return;
  const list = fresh.map((c) => c.logical);
  const msg = `Watchdog CPU:${reporter.logical} detected Hard LOCKUP other CPUS:${cpulist(list)}`;
  kernel.console.printk("emerg", msg);
  for (const c of fresh) {
    kernel.console.printk("emerg", `CPU ${c.logical} didn't respond to backtrace IPI, inspecting paca.`);
    kernel.console.printk(
      "emerg",
      `CPU ${c.logical}: ${c.activity} since ${c.idleStateSince >= 0 ? `${((kernel.sim.now - c.idleStateSince) / 1e9).toFixed(3)} s` : "?"}`,
    );
  }
  kernel.lockups.push({ time: kernel.sim.now, reporter: reporter.logical, cpus: list, message: msg });
  if (kernel.state === "running") kernel.state = "hung";
}
