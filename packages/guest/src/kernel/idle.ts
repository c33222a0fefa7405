import { MSR_EE } from "@stopsim/isa";
import { CpuidleDevice, H_CEDE } from "@stopsim/linux";
import { pseriesIdleProbe } from "../cpuidle/driver.js";
import { type GuestCpu, type KCode, SYNC } from "./cpu.js";
import { TEXT } from "./image.js";
import type { GuestKernel } from "./kernel.js";
import { readVpaStatus } from "./lpar.js";
import { restartTick, stopTick } from "./time.js";
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

export function* idleLoop(kernel: GuestKernel, cpu: GuestCpu): KCode {
  for (;;) {
    cpu.inIdle = true;
    while (!cpu.needResched) {
      cpu.localIrqDisable();
      yield* cpuidleIdleCall(kernel, cpu);
    }
    cpu.inIdle = false;
    yield* restartTick(kernel, cpu);
    // schedule_idle
    yield* cpu.schedule();
  }
}

export function* cpuidleIdleCall(kernel: GuestKernel, cpu: GuestCpu): KCode {
  const c = kernel.costs;
  const dev = cpu.cpuidle;
  if (cpu.needResched) {
    yield* cpu.localIrqEnable();
    return;
  }
  if (dev === null) {
    // no cpuidle driver yet: arch_cpu_idle polls at low priority with interrupts enabled and
    // returns after an interrupt; do_idle then loops
    yield { k: "delay", ns: c.idleEntryNs };
    // TIF_POLLING_NRFLAG is read by other CPUs: set once the path's time has passed
    if (cpu.rt.debt > 0) yield SYNC;
    cpu.polling = true;
    yield* cpu.localIrqEnable();
    yield { k: "exec", sym: TEXT.snooze, i: 0 };
    yield { k: "exec", sym: TEXT.snooze, i: 1 };
    if (!cpu.needResched) yield { k: "poll", deadline: Number.POSITIVE_INFINITY };
    yield { k: "exec", sym: TEXT.snooze, i: 2 };
    cpu.polling = false;
    cpu.localIrqDisable();
    return;
  }
  yield { k: "delay", ns: c.idleEntryNs };
  cpu.stats.idleEntries++;
  const now = cpu.ktime();
  const next = cpu.nextTimer(true);
  const sleepLength = next === undefined ? Number.MAX_SAFE_INTEGER : Math.max(0, next.expires - now);
  const tick =
    cpu.tickRunning && cpu.tickTimer !== null ? Math.max(0, cpu.tickTimer.expires - now) : sleepLength;
  yield { k: "delay", ns: c.governorSelectNs };
  const sel = kernel.governor.select(dev, {
    sleepLengthNs: sleepLength,
    deltaNextNs: Math.min(sleepLength, tick),
    latencyReqNs: kernel.config.latencyReqNs,
    tickStopped: !cpu.tickRunning,
    nrIowaiters: 0,
    now: cpu.ktime(),
    tickNs: kernel.tickNs,
  });
  if (sel.stopTick) {
    stopTick(kernel, cpu);
    if (cpu.tickTimer !== null) yield* cpu.programDec();
  }
  const state = dev.drv.states[sel.index];
  cpu.gotTick = false;
  cpu.idleStateName = state.name;
  cpu.idleStateSince = kernel.sim.now;
  kernel.trace(cpu, "cpu_idle", { state: state.name });
  const start = cpu.ktime();
  yield* enterState(kernel, cpu, sel.index);
  const end = cpu.ktime();
  dev.account(sel.index, start, end);
  if (next !== undefined && end >= next.expires)
    noteTimerWakeup(kernel, cpu, next.expires, end, state.exitLatencyNs);
  cpu.idleStateSince = -1;
  kernel.trace(cpu, "cpu_idle_exit", { state: state.name });
  // cpuidle_enter_state: local_irq_enable() after the state returned
  yield* cpu.localIrqEnable();
  kernel.governor.reflect(dev, sel.index, { gotTick: cpu.gotTick, now: cpu.ktime(), tickNs: kernel.tickNs });
  yield { k: "delay", ns: c.idleExitNs };
}

/** The snooze polling loop with interrupts enabled, until need_resched or `deadlineNs`. */
export function* pollLoop(kernel: GuestKernel, cpu: GuestCpu, deadlineNs: number): KCode {
  // TIF_POLLING_NRFLAG is read by other CPUs (a wake-up without an IPI): set once the path's
  // time has passed
  if (cpu.rt.debt > 0) yield SYNC;
  cpu.polling = true;
  yield* cpu.localIrqEnable();
  yield { k: "exec", sym: TEXT.snooze, i: 0 };
  yield { k: "exec", sym: TEXT.snooze, i: 1 };
  while (!cpu.needResched) {
    if (kernel.sim.now >= deadlineNs) break;
    yield { k: "poll", deadline: deadlineNs };
  }
  yield { k: "exec", sym: TEXT.snooze, i: 2 };
  cpu.polling = false;
  cpu.localIrqDisable();
}

export function* enterState(kernel: GuestKernel, cpu: GuestCpu, index: number): KCode {
  const drv = kernel.driver;
  if (drv === null) return;
  const st = drv.states[index];
  switch (st.kind) {
    case "snooze": {
      // snooze_loop: snooze_exit_time = get_tb() + snooze_timeout
      const timeoutNs = drv.snoozeTimeoutEnabled
        ? (drv.snoozeTimeoutTb * 1e9) / kernel.tbFreqValue
        : Number.POSITIVE_INFINITY;
      yield* pollLoop(kernel, cpu, kernel.sim.now + timeoutNs);
      return;
    }
    case "stop0lite": {
      // stop_loop of the patch: stop with interrupts soft-disabled and hard-disabled
      const ok = yield* cpu.prepIrqForIdleIrqsoff();
      if (!ok) return;
      yield { k: "exec", sym: TEXT.stopLoop, i: 0 };
      return;
    }
    case "cede":
    case "shared-cede": {
      // shared_cede_loop / dedicated_cede_loop: check_and_cede_processor
      const ok = yield* cpu.prepIrqForIdle();
      if (ok) {
        yield* cpu.hcall(H_CEDE);
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
      return;
    }
  }
}
