import { PPC_DBELL_SERVER, PPC_DBELL_TYPE_SHIFT } from "@stopsim/isa";
import { H_IPI, IPI_PRIORITY } from "@stopsim/linux";
import { QCSS_STOPPED, RTAS_UNKNOWN_SERVICE } from "../linux/papr.js";
import { type GuestCpu, type KCode, PPC_MSG_CALL_FUNCTION, PPC_MSG_RESCHEDULE, SYNC } from "./cpu.js";
import { attachCpuidle } from "./idle.js";
import { R_DBELL, SECONDARY_ENTRY, TEXT } from "./image.js";
import type { GuestKernel } from "./kernel.js";
import { rtasToken, vpaInit } from "./lpar.js";
import { schedulerIpi } from "./sched.js";
import { xicsSetupCpu } from "./setup.js";
import { startTick } from "./time.js";
import { startWatchdog } from "./watchdog.js";

// linux: arch/powerpc/platforms/pseries/smp.c smp_startup_cpu + kernel/cpu.c __cpu_up wait
export function* cpuUp(
  kernel: GuestKernel,
  boot: GuestCpu,
  logical: number,
  hwId: number,
): Generator<import("./cpu.js").KOp, boolean, void> {
  const con = kernel.console;
  const qcss = rtasToken(kernel, "query-cpu-stopped-state");
  if (qcss !== RTAS_UNKNOWN_SERVICE) {
    const [status, state] = yield* kernel.rtasCall(boot, qcss, 2, [hwId]);
    if (status !== 0 || state !== QCSS_STOPPED) {
      con.printk(
        "err",
        `smp: cpu ${logical} (hw ${hwId}) is not in the stopped state (status ${status}, state ${state})`,
      );
      return false;
    }
  }
  // smp_ops->prepare_cpu (xive_smp_prepare_cpu): the new CPU's queue and IPI
  if (kernel.xive !== null && !(yield* kernel.xive.prepareCpu(boot, logical, hwId))) {
    con.printk("err", `Processor ${logical} is stuck.`);
    return false;
  }
  const startCpu = rtasToken(kernel, "start-cpu");
  if (startCpu === RTAS_UNKNOWN_SERVICE) {
    con.printk("err", `Processor ${logical} is stuck.`);
    return false;
  }
  const [status] = yield* kernel.rtasCall(boot, startCpu, 1, [hwId, SECONDARY_ENTRY, hwId]);
  if (status !== 0) {
    con.printk("err", `start-cpu failed: ${status}`);
    return false;
  }
  // __cpu_up: wait up to 5 s (in 100 us steps) for the secondary to call in
  for (let waited = 0; waited < 5e9; waited += 100_000) {
    if (kernel.calledIn.has(hwId)) return true;
    yield { k: "delay", ns: 100_000 };
    // a wait for another CPU: the time passes before the next look
    yield SYNC;
  }
  con.printk("err", `Processor ${logical} is stuck.`);
  return false;
}

// secondary entry: generic_secondary_smp_init -> start_secondary
export function* secondaryEntry(kernel: GuestKernel, cpu: GuestCpu): KCode {
  const hw = Number(cpu.thread.gpr(3));
  yield* cpu.fixupEndian();
  yield { k: "exec", sym: TEXT.secondary, i: 0 };
  const bp = kernel.boot;
  if (bp === null) {
    yield { k: "park" };
    return;
  }
  const th = bp.threads.find((x) => x.hwId === hw);
  if (th === undefined) {
    kernel.console.printk("err", `start_secondary: unknown hardware id ${hw}`);
    yield { k: "park" };
    return;
  }
  (cpu as { logical: number }).logical = th.logical;
  kernel.cpus[th.logical] = cpu;
  yield { k: "delay", ns: kernel.costs.secondaryBootNs };
  // smp_ops->setup_cpu (pseries smp_setup_cpu): xive_smp_setup_cpu or xics_setup_cpu, then vpa_init
  if (kernel.xive !== null) yield* kernel.xive.setupCpu(cpu);
  else yield* xicsSetupCpu(kernel, cpu);
  yield* vpaInit(kernel, cpu);
  // the other CPUs see this one online once its bring-up path has run
  yield SYNC;
  cpu.online = true;
  cpu.heartbeat = kernel.sim.now;
  yield* startTick(kernel, cpu);
  yield* startWatchdog(kernel, cpu);
  kernel.calledIn.add(hw);
  if (kernel.driver !== null) attachCpuidle(kernel, cpu);
}

/** smp_muxed_ipi_message_pass + cause_ipi. */
export function* sendIpi(cpu: GuestCpu, target: GuestCpu, msg: number): KCode {
  yield { k: "delay", ns: cpu.k.costs.ipiSendNs };
  // the message is posted for the target once the path's time has passed
  if (cpu.rt.debt > 0) yield SYNC;
  target.ipiMessages |= 1 << msg;
  cpu.stats.ipisSent++;
  cpu.k.trace(cpu, "ipi_send", { target: target.logical, msg });
  const xive = cpu.k.xive();
  if (xive !== null) {
    // xive_cause_ipi: a store to the target's IPI trigger page
    yield* xive.causeIpi(cpu, target);
  } else if (cpu.k.useDoorbell(cpu, target)) {
    // doorbell_core_ipi: msgsndp to cpu_thread_in_core(cpu), the guest's own thread numbering
    const tir = BigInt(cpu.k.threadInCore(target));
    cpu.thread.setGpr(R_DBELL, (PPC_DBELL_SERVER << PPC_DBELL_TYPE_SHIFT) | tir);
    yield { k: "exec", sym: TEXT.doorbell, i: 0 };
  } else {
    // icp_hv_cause_ipi: H_IPI(server, IPI_PRIORITY)
    yield* cpu.hcall(H_IPI, BigInt(target.hwId), BigInt(IPI_PRIORITY));
  }
}

// linux: arch/powerpc/kernel/smp.c smp_ipi_demux_relaxed
export function* ipiDemux(cpu: GuestCpu): KCode {
  cpu.stats.ipisReceived++;
  for (;;) {
    const all = cpu.ipiMessages;
    cpu.ipiMessages = 0;
    if (all === 0) break;
    if (all & (1 << PPC_MSG_CALL_FUNCTION)) {
      yield { k: "delay", ns: cpu.k.costs.ipiDemuxNs };
      const fns = cpu.callQueue.splice(0);
      for (const fn of fns) fn(cpu.logical);
    }
    if (all & (1 << PPC_MSG_RESCHEDULE)) {
      yield { k: "delay", ns: cpu.k.costs.ipiDemuxNs };
      schedulerIpi(cpu);
    }
  }
}

/** smp_call_function_single(cpu, fn, 0). */
export function* callFunctionSingle(cpu: GuestCpu, target: GuestCpu, fn: (cpu: number) => void): KCode {
  if (target === cpu) {
    fn(cpu.logical);
    return;
  }
  target.callQueue.push(fn);
  yield* sendIpi(cpu, target, PPC_MSG_CALL_FUNCTION);
}
