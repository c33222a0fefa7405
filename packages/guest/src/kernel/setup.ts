// linux: arch/powerpc/kernel/setup_64.c and prom.c (early boot: the DTB, the boot CPU), with
// arch/powerpc/platforms/pseries/setup.c and sysdev/xics (the interrupt controller's setup).

import { decodeDtb, FdtError } from "@stopsim/devicetree";
import type { Memory } from "@stopsim/isa";
import { cpuFeatureNames, H_CPPR, H_SET_MODE, H_SET_MODE_RESOURCE_LE, LOWEST_PRIORITY } from "@stopsim/linux";
import { type BootParams, GuestBootPanic, scanBootDevicetree } from "../boot/devtree.js";
import type { GuestCpu, KCode } from "./cpu.js";
import { cpuidleInit } from "./idle.js";
import { TEXT } from "./image.js";
import { type GuestKernel, GuestKernelError } from "./kernel.js";
import { vpaInit } from "./lpar.js";
import { promCas } from "./prom-cas.js";
import { WAITING } from "./runner.js";
import { drainSpawns, initProgram } from "./sched.js";
import { cpuUp } from "./smp.js";
import { Task } from "./task.js";
import { startTick } from "./time.js";
import { startWatchdog } from "./watchdog.js";
import { XiveSpapr } from "./xive.js";

export function* bootEntry(kernel: GuestKernel, cpu: GuestCpu): KCode {
  kernel.state = "booting";
  kernel.bootTime = kernel.sim.now;
  const ram = readRam(kernel);
  const t = cpu.thread;
  let dtbAddr = Number(t.gpr(3));
  // __start: FIXUP_ENDIAN, then early_setup with the device tree pointer in r3
  yield* cpu.fixupEndian();
  if (kernel.config.cas) dtbAddr = yield* promCas(casHost(kernel, cpu), dtbAddr);
  yield { k: "exec", sym: TEXT.start, i: 0 };
  const pvr = Number(t.gpr(14) & 0xffffffffn);
  let bytes: Uint8Array;
  try {
    const magic = ram.read32(dtbAddr, false);
    const total = ram.read32(dtbAddr + 4, false);
    if (magic !== 0xd00dfeed || total < 40 || !ram.contains(dtbAddr, total)) {
      throw new FdtError("FDT_ERR_BADMAGIC", 0, `no flattened device tree at r3 = 0x${dtbAddr.toString(16)}`);
    }
    bytes = new Uint8Array(total);
    for (let i = 0; i < total; i++) bytes[i] = ram.read8(dtbAddr + i);
  } catch (e) {
    yield* earlyPanic(
      kernel,
      cpu,
      [`Invalid device tree blob header: ${(e as Error).message}`],
      "Invalid device tree",
    );
    return;
  }
  let bp: BootParams;
  try {
    const tree = decodeDtb(bytes);
    bp = scanBootDevicetree(tree, {
      pvr,
      hypervisorMode: t.hypervisorState,
      bootCpuidPhys: tree.bootCpuidPhys,
      console: kernel.console,
      xive: kernel.config.xive !== false,
    });
  } catch (e) {
    if (e instanceof GuestBootPanic) {
      yield* earlyPanic(kernel, cpu, [...e.consoleLines], e.message);
      return;
    }
    if (e instanceof FdtError) {
      yield* earlyPanic(kernel, cpu, [`Invalid device tree blob: ${e.message}`], "Invalid device tree");
      return;
    }
    throw e;
  }
  kernel.boot = bp;
  kernel.tbFreqValue = bp.tbFreq;
  // decrementer_max = 2^(bits-1)-1 (init_decrementer_max). Model limit: the value the kernel
  // writes as "no event" is capped at the 32-bit maximum (4.2 s of timebase), which keeps DEC
  // arithmetic exact in doubles; the kernel always has a timer due sooner than that.
  kernel.decMaxValue = Math.min(2 ** (bp.decBits - 1) - 1, 0x7fffffff);
  // renumber: vCPU 0 got logical slot 0 before the tree was known; its logical id is its index
  kernel.cpus.length = 0;
  const bootLogical = bp.bootCpu.logical;
  (cpu as { logical: number }).logical = bootLogical;
  kernel.cpus[bootLogical] = cpu;
  const con = kernel.console;
  con.printk("notice", `Linux version ${kernel.release} (stopsim guest) #1 SMP`);
  con.printk("info", "Using pSeries machine description");
  con.printk(
    "info",
    `cpu-version: 0x${(bp.cpuVersion ?? bp.pvr).toString(16).padStart(8, "0")}, PVR 0x${bp.pvr.toString(16).padStart(8, "0")} (${bp.cpuSpec.cpuName})`,
  );
  con.printk("info", `CPU features: ${cpuFeatureNames(bp.cpuFeatures).join(" ")}`);
  con.printk("info", `time_init: decrementer frequency = ${(bp.tbFreq / 1e6).toFixed(6)} MHz`);
  con.printk("info", `time_init: processor frequency   = 1000.000000 MHz`);
  if (bp.stopLitePermitted)
    con.printk("info", "cpuidle: platform permits stop0lite (ibm,stop-lite-permitted)");
  // pseries_little_endian_exceptions (platforms/pseries/setup.c): interrupts are taken
  // little-endian from now on (QEMU sets LPCR[ILE] on every vCPU)
  const [leRc] = yield* cpu.hcall(H_SET_MODE, 1n, H_SET_MODE_RESOURCE_LE, 0n, 0n);
  if (leRc !== 0n) {
    yield* earlyPanic(
      kernel,
      cpu,
      ["H_SET_MODE LE exception fail"],
      "Could not enable little endian exceptions",
    );
    return;
  }
  // init_IRQ -> xics_init -> xics_setup_cpu(boot cpu): open the CPPR. Without a presentation
  // controller xics_init only warns (parse time) and returns before xics_setup_cpu: icp_ops
  // and xics_host stay NULL.
  // pseries_init_irq: xive_spapr_init, else xics_init
  if (bp.interruptController === "xive" && bp.xive !== null) {
    kernel.xive = XiveSpapr.init(
      { console: kernel.console, costs: kernel.costs, ram: () => readRam(kernel) },
      bp.xive,
    );
  }
  const xics = bp.interruptController === "xics";
  if (kernel.xive !== null) {
    // xive_core_init -> xive_prepare_cpu + xive_setup_cpu on the boot CPU; pSeries_smp_probe ->
    // xive_smp_probe -> xive_setup_cpu_ipi (no doorbells with XIVE)
    const ok = yield* kernel.xive.prepareCpu(cpu, cpu.logical, cpu.hwId);
    yield* kernel.xive.setupCpu(cpu);
    if (!ok) {
      yield* kernel.panic(cpu, "xive: unable to set up the boot CPU");
      return;
    }
  } else if (xics) yield* xicsSetupCpu(kernel, cpu);
  // vpa_init(boot cpu)
  yield* vpaInit(kernel, cpu);
  cpu.online = true;
  cpu.heartbeat = kernel.sim.now;
  yield* startTick(kernel, cpu);
  yield* startWatchdog(kernel, cpu);
  if (!xics && kernel.xive === null) {
    // smp_prepare_cpus -> pseries_smp_probe -> xics_smp_probe -> xics_request_ipi:
    // irq_create_mapping(xics_host = NULL, XICS_IPI) warns and returns 0, then BUG_ON(!ipi)
    // (linux: arch/powerpc/sysdev/xics/xics-common.c, kernel/irq/irqdomain.c): the first use of
    // the missing controller kills the boot, in kernel_init (PID 1)
    yield* xicsMissingBug(kernel, cpu);
    return;
  }
  // smp_prepare_cpus / smp_init: bring the secondaries up one by one
  let up = 1;
  for (const th of bp.threads) {
    if (th.logical === bootLogical || !th.present) continue;
    const ok = yield* cpuUp(kernel, cpu, th.logical, th.hwId);
    if (ok) up++;
  }
  con.printk("info", `smp: Brought up 1 node, ${up} CPU${up === 1 ? "" : "s"}`);
  // device_initcall(pseries_processor_idle_init)
  yield* cpuidleInit(kernel, cpu);
  kernel.state = "running";
  const ls = kernel.readyListeners.splice(0);
  for (const fn of ls) fn();
  // the init task: starts the tasks requested from outside the guest
  const init = new Task(kernel.nextPid++, "init", cpu.logical, initProgram(kernel));
  init.state = "sleeping";
  kernel.tasks.push(init);
  yield* cpu.ttwu(init);
  yield* drainSpawns(kernel, cpu);
}

/** xics_request_ipi with no XICS: the NULL-domain warning, BUG_ON(!ipi), oops, panic. */
export function* xicsMissingBug(kernel: GuestKernel, cpu: GuestCpu): KCode {
  const con = kernel.console;
  con.printk("warning", "WARNING: irq_create_mapping(, 2) called with NULL domain");
  con.printk(
    "emerg",
    "kernel BUG in xics_request_ipi (arch/powerpc/sysdev/xics/xics-common.c): BUG_ON(!ipi)",
  );
  kernel.oopsCount++;
  // BUG() is a trap instruction: program check with SRR1_PROGTRAP, SIGTRAP
  con.printk("emerg", `Oops: Exception in kernel mode, sig: 5 [#${kernel.oopsCount}]`);
  con.printk("emerg", `CPU: ${cpu.logical} PID: 1 Comm: swapper/0 Not tainted ${kernel.release}`);
  con.printk(
    "emerg",
    "NIP [xics_request_ipi] LR [xics_smp_probe] Call Trace: pseries_smp_probe, smp_prepare_cpus, kernel_init_freeable",
  );
  con.printk("emerg", "---[ end trace 0000000000000000 ]---");
  // do_exit of PID 1 without panic_on_oops
  yield* kernel.panic(
    cpu,
    kernel.config.panicOnOops ? "Fatal exception" : "Attempted to kill init! exitcode=0x00000005",
  );
}

/** A panic before RTAS and the console are set up: the messages, then the CPU spins. */
export function* earlyPanic(kernel: GuestKernel, cpu: GuestCpu, lines: string[], reason: string): KCode {
  for (const l of lines) kernel.console.printk("emerg", l);
  kernel.console.printk("emerg", `Kernel panic - not syncing: ${reason}`);
  kernel.state = "panicked";
  kernel.halting = true;
  // the CPU runs no more kernel code (see panic: a "park" would undo the halt)
  cpu.halt();
  yield WAITING;
}

// linux: arch/powerpc/sysdev/xics/xics-common.c xics_setup_cpu -> icp_hv_set_cpu_priority:
// H_CPPR(LOWEST_PRIORITY). A presentation controller comes out of reset with CPPR 0 (nothing
// is presented, PAPR; KVM's and QEMU's ICPs alike): until each CPU opens its CPPR, an H_IPI to
// it raises MFRR without ever presenting the IPI, and the message waits forever.
export function* xicsSetupCpu(kernel: GuestKernel, cpu: GuestCpu): KCode {
  const [rc] = yield* cpu.hcall(H_CPPR, BigInt(LOWEST_PRIORITY));
  if (rc !== 0n)
    kernel.console.printk("err", `xics: H_CPPR(0x${LOWEST_PRIORITY.toString(16)}) failed with ${rc}`);
}

export function casHost(kernel: GuestKernel, cpu: GuestCpu) {
  return { cpu, ram: readRam(kernel), console: kernel.console, xiveOff: kernel.config.xive === false };
}

export function readRam(kernel: GuestKernel): Memory {
  if (kernel.ram === null) {
    throw new GuestKernelError("the kernel image was not loaded: call load(ram) before running the vCPUs");
  }
  return kernel.ram;
}
