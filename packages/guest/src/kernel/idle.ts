import { MSR_EE, MSR_RI } from "@stopsim/isa";
import { CpuidleDevice, type GovernorContext, H_CEDE, type ReflectContext } from "@stopsim/linux";
import { pseriesIdleProbe } from "../cpuidle/driver.js";
import { type ExecOp, type GuestCpu, type KCode, type KOp, PACA_IRQ_HARD_DIS, SYNC } from "./cpu.js";
import { R_MSR, TEXT } from "./image.js";
import { HARD_IRQ, lazyIrqPending, localIrqEnable, localIrqEnableNoReplay } from "./irq.js";
import type { GuestKernel } from "./kernel.js";
import { readVpaStatus } from "./lpar.js";
import { stepCharge, stepExec, stepSync } from "./runner.js";
import { pickNextTask } from "./sched.js";
import { decOp, programDecTicks, restartTick, stopTick } from "./time.js";
import { noteTimerWakeup } from "./watchdog.js";

// linux: drivers/cpuidle/cpuidle-pseries.c pseries_processor_idle_init
export function* cpuidleInit(kernel: GuestKernel, boot: GuestCpu): KCode {
  const bp = kernel.boot;
  if (bp === null) return;
  if (!bp.fwFeatures.has("FW_FEATURE_SPLPAR")) {
    kernel.console.printk("info", "cpuidle: pseries_idle_probe: no FW_FEATURE_SPLPAR, no cpuidle driver");
    return;
  }
  yield { k: "delay", ns: 1_000 };
  const vpa = readVpaStatus(kernel, boot);
  kernel.driver = pseriesIdleProbe({
    shared: vpa.shared,
    lppacaOldStatus: vpa.oldStatus,
    stop0lite: kernel.config.stop0lite,
    cpuFeatures: bp.cpuFeatures,
    stopLitePermitted: bp.stopLitePermitted,
    tbFreq: bp.tbFreq,
  });
  kernel.console.printk(
    "info",
    `cpuidle: pseries_idle_probe: lppaca_shared_proc() = ${vpa.shared ? 1 : 0} (VPA __old_status 0x${vpa.oldStatus.toString(16).padStart(2, "0")}${vpa.shared ? ", LPPACA_OLD_SHARED_PROC set by the hypervisor" : ""}): ${vpa.shared ? "shared_states" : "dedicated_states"}`,
  );
  for (const c of kernel.cpus) if (c?.online) attachCpuidle(kernel, c);
  // cpuidle_install_idle_handler -> wake_up_all_idle_cpus: idle CPUs go round their idle loop
  // again and pick up the new driver (need_resched for a polling CPU, else a reschedule IPI)
  for (const c of kernel.cpus) {
    if (c === undefined || c === boot || !c.online || c.current !== null) continue;
    if (c.polling) c.setNeedResched();
    else yield* boot.sendIpi(c, 1);
  }
  kernel.console.printk(
    "info",
    `cpuidle: using governor ${kernel.governor.name}; pseries_idle_driver registered (${kernel.driver.shared ? "shared" : "dedicated"}): ${kernel.driver.states.map((s) => s.name).join(", ")}`,
  );
}

export function attachCpuidle(kernel: GuestKernel, c: GuestCpu): void {
  if (kernel.driver === null || c.cpuidle !== null) return;
  const dev = new CpuidleDevice(c.logical, kernel.driver);
  for (const name of kernel.config.disableStates) {
    if (kernel.driver.states.some((s) => s.name === name)) dev.setDisabled(name, true);
  }
  c.cpuidle = dev;
}

// linux: kernel/sched/idle.c do_idle and cpuidle_idle_call, drivers/cpuidle/cpuidle.c
// cpuidle_enter_state, drivers/cpuidle/cpuidle-pseries.c snooze_loop / stop_loop /
// shared_cede_loop: the idle loop as one generator frame. The pieces of a path join the timed step
// inline and its instructions are issued inline (runner.ts stepCharge, stepSync, stepExec): it
// yields only where the thread waits (the step's time passes as a wait, the snooze loop polls,
// stop, H_CEDE) or where an interrupt is replayed.
export function* idleLoop(kernel: GuestKernel, cpu: GuestCpu): KCode {
  const c = kernel.costs;
  let w: KOp | null;
  // the governor's inputs, filled in at each selection (governors read them during the call only)
  const selectCtx: Writable<GovernorContext> = {
    sleepLengthNs: 0,
    deltaNextNs: 0,
    latencyReqNs: 0,
    tickStopped: false,
    nrIowaiters: 0,
    now: 0,
    tickNs: 0,
  };
  const reflectCtx: Writable<ReflectContext> = { gotTick: false, now: 0, tickNs: 0 };
  for (;;) {
    cpu.inIdle = true;
    while (!cpu.needResched) {
      // the idle exit path ran soft-enabled (an interrupt arriving in it is taken at once): it
      // passes before local_irq_disable
      w = stepSync(cpu);
      if (w !== null) yield w;
      cpu.localIrqDisable();
      // cpuidle_idle_call
      const dev = cpu.cpuidle;
      if (cpu.needResched) {
        if (lazyIrqPending(cpu)) yield* localIrqEnable(cpu);
        else {
          w = localIrqEnableNoReplay(cpu);
          if (w !== null) yield w;
        }
        continue;
      }
      if (dev === null) {
        yield* archCpuIdle(kernel, cpu);
        continue;
      }
      w = stepCharge(cpu, c.idleEntryNs);
      if (w !== null) yield w;
      cpu.stats.idleEntries++;
      const now = cpu.ktime();
      const next = cpu.nextTimer(true);
      const sleepLength = next === undefined ? Number.MAX_SAFE_INTEGER : Math.max(0, next.expires - now);
      const tick =
        cpu.tickRunning && cpu.tickTimer !== null ? Math.max(0, cpu.tickTimer.expires - now) : sleepLength;
      w = stepCharge(cpu, c.governorSelectNs);
      if (w !== null) yield w;
      selectCtx.sleepLengthNs = sleepLength;
      selectCtx.deltaNextNs = Math.min(sleepLength, tick);
      selectCtx.latencyReqNs = kernel.config.latencyReqNs;
      selectCtx.tickStopped = !cpu.tickRunning;
      selectCtx.nrIowaiters = 0;
      selectCtx.now = cpu.ktime();
      selectCtx.tickNs = kernel.tickNs;
      const sel = kernel.governor.select(dev, selectCtx);
      if (sel.stopTick) {
        stopTick(kernel, cpu);
        if (cpu.tickTimer !== null) {
          w = stepExec(cpu, decOp(cpu, programDecTicks(cpu)));
          if (w !== null) yield w;
        }
      }
      const state = dev.drv.states[sel.index];
      // cpuidle_enter_state reads time_start once the idle entry path and the governor have run:
      // the timed step so far passes first, so that their cost is not counted as residency (and
      // snooze's TIF_POLLING_NRFLAG, read by other CPUs, is set after it)
      w = stepSync(cpu);
      if (w !== null) yield w;
      cpu.gotTick = false;
      cpu.idleStateName = state.name;
      cpu.idleStateSince = kernel.sim.now;
      if (kernel.sim.trace.enabled) kernel.trace(cpu, "cpu_idle", { state: state.name });
      const start = cpu.ktime();
      // cpuidle_enter_state -> the state's enter function
      const drv = kernel.driver;
      switch (drv === null ? null : drv.states[sel.index].kind) {
        case "snooze": {
          // snooze_loop: snooze_exit_time = get_tb() + snooze_timeout
          const deadlineNs =
            kernel.sim.now +
            (drv?.snoozeTimeoutEnabled
              ? (drv.snoozeTimeoutTb * 1e9) / kernel.tbFreqValue
              : Number.POSITIVE_INFINITY);
          // TIF_POLLING_NRFLAG is read by other CPUs (a wake-up without an IPI): the path's time
          // has passed (above)
          cpu.polling = true;
          if (lazyIrqPending(cpu)) yield* localIrqEnable(cpu);
          else {
            w = localIrqEnableNoReplay(cpu);
            if (w !== null) yield w;
          }
          w = stepExec(cpu, SNOOZE_HMT_LOW);
          if (w !== null) yield w;
          w = stepExec(cpu, SNOOZE_HMT_VERY_LOW);
          if (w !== null) yield w;
          while (!cpu.needResched) {
            if (kernel.sim.now >= deadlineNs) break;
            yield { k: "poll", deadline: deadlineNs };
          }
          w = stepExec(cpu, SNOOZE_HMT_MEDIUM);
          if (w !== null) yield w;
          cpu.polling = false;
          cpu.localIrqDisable();
          break;
        }
        case "stop0lite": {
          // stop_loop of the patch: stop with interrupts soft-disabled and hard-disabled
          // (prep_irq_for_idle_irqsoff)
          cpu.thread.setGpr(R_MSR, MSR_RI);
          w = stepExec(cpu, HARD_IRQ);
          if (w !== null) yield w;
          cpu.irqHappened |= PACA_IRQ_HARD_DIS;
          if (!lazyIrqPending(cpu)) {
            w = stepExec(cpu, STOP);
            if (w !== null) yield w;
          }
          break;
        }
        case "cede":
        case "shared-cede": {
          // shared_cede_loop / dedicated_cede_loop: check_and_cede_processor (prep_irq_for_idle)
          cpu.thread.setGpr(R_MSR, MSR_RI);
          w = stepExec(cpu, HARD_IRQ);
          if (w !== null) yield w;
          cpu.irqHappened |= PACA_IRQ_HARD_DIS;
          if (!lazyIrqPending(cpu)) {
            cpu.irqHappened &= ~PACA_IRQ_HARD_DIS;
            cpu.softEnabled = true;
            w = stepExec(cpu, cpu.hcallSetup(H_CEDE, NO_ARGS));
            if (w !== null) yield w;
            // H_CEDE returns with MSR[EE]=1; the kernel warns and fixes it up otherwise
            if ((cpu.thread.msr & MSR_EE) === 0n) {
              kernel.console.printk(
                "warning",
                `WARNING: CPU: ${cpu.logical}: H_CEDE returned with interrupts disabled`,
              );
              yield* cpu.hardIrqEnable();
            }
          }
          cpu.localIrqDisable();
          break;
        }
      }
      const end = cpu.ktime();
      dev.account(sel.index, start, end);
      if (next !== undefined && end >= next.expires)
        noteTimerWakeup(kernel, cpu, next.expires, end, state.exitLatencyNs);
      cpu.idleStateSince = -1;
      if (kernel.sim.trace.enabled) kernel.trace(cpu, "cpu_idle_exit", { state: state.name });
      // cpuidle_enter_state: local_irq_enable() after the state returned
      if (lazyIrqPending(cpu)) yield* localIrqEnable(cpu);
      else {
        w = localIrqEnableNoReplay(cpu);
        if (w !== null) yield w;
      }
      reflectCtx.gotTick = cpu.gotTick;
      reflectCtx.now = cpu.ktime();
      reflectCtx.tickNs = kernel.tickNs;
      kernel.governor.reflect(dev, sel.index, reflectCtx);
      w = stepCharge(cpu, c.idleExitNs);
      if (w !== null) yield w;
    }
    cpu.inIdle = false;
    w = restartTick(kernel, cpu);
    if (w !== null) yield w;
    // schedule_idle -> __schedule
    w = stepCharge(cpu, c.contextSwitchNs);
    if (w !== null) yield w;
    w = stepSync(cpu);
    if (w !== null) yield w;
    yield pickNextTask(cpu);
  }
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

const SNOOZE_HMT_LOW: ExecOp = { k: "exec", sym: TEXT.snooze, i: 0 };
const SNOOZE_HMT_VERY_LOW: ExecOp = { k: "exec", sym: TEXT.snooze, i: 1 };
const SNOOZE_HMT_MEDIUM: ExecOp = { k: "exec", sym: TEXT.snooze, i: 2 };
const STOP: ExecOp = { k: "exec", sym: TEXT.stopLoop, i: 0 };
const NO_ARGS: readonly bigint[] = [];

/**
 * arch_cpu_idle before a cpuidle driver is registered: polls at low priority with interrupts
 * enabled and returns after an interrupt; do_idle then loops.
 */
function* archCpuIdle(kernel: GuestKernel, cpu: GuestCpu): KCode {
  yield { k: "delay", ns: kernel.costs.idleEntryNs };
  // TIF_POLLING_NRFLAG is read by other CPUs: set once the path's time has passed
  if (cpu.rt.debt > 0) yield SYNC;
  cpu.polling = true;
  yield* cpu.localIrqEnable();
  yield SNOOZE_HMT_LOW;
  yield SNOOZE_HMT_VERY_LOW;
  if (!cpu.needResched) yield { k: "poll", deadline: Number.POSITIVE_INFINITY };
  yield SNOOZE_HMT_MEDIUM;
  cpu.polling = false;
  cpu.localIrqDisable();
}
