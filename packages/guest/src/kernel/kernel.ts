// The guest kernel as a whole: the image QEMU loads (GuestKernelImage of docs/ARCHITECTURE.md),
// boot from the DTB in guest RAM, SMP bring-up through RTAS, the cpuidle driver and governor,
// the idle loop, tasks, the lockup watchdog and the panic path.
//
// Linux sources followed: arch/powerpc/kernel/setup_64.c and prom.c (early boot),
// arch/powerpc/platforms/pseries/smp.c (smp_startup_cpu: query-cpu-stopped-state, start-cpu),
// arch/powerpc/platforms/pseries/lpar.c (vpa_init / register_vpa), kernel/sched/idle.c (do_idle,
// cpuidle_idle_call), drivers/cpuidle/cpuidle.c (cpuidle_enter_state),
// arch/powerpc/kernel/traps.c (program_check_exception, die, oops_end), kernel/panic.c (panic),
// arch/powerpc/kernel/rtas.c (rtas_call, rtas_os_term) and arch/powerpc/kernel/watchdog.c (the
// SMP hard-lockup detector).

import { decodeDtb, FdtError } from "@stopsim/devicetree";
import type { Simulation } from "@stopsim/engine";
import {
  BOOK3S_INTERRUPT_PROGRAM,
  type HwThread,
  type Memory,
  MSR_EE,
  SPRN_PVR,
  SRR1_PROGILL,
  SRR1_PROGPRIV,
  SRR1_PROGTRAP,
  type ThreadSoftware,
} from "@stopsim/isa";
import { type BootParams, GuestBootPanic, scanBootDevicetree } from "../boot/devtree.js";
import { CpuidleDevice, type CpuidleGovernor } from "../cpuidle/core.js";
import { type CpuidleDriver, pseriesIdleProbe, type Stop0liteMode } from "../cpuidle/driver.js";
import { MenuGovernor } from "../cpuidle/menu.js";
import { TeoGovernor } from "../cpuidle/teo.js";
import { CPU_FTR_DBELL, CPU_FTR_SMT, cpuFeatureNames } from "../linux/cputable.js";
import {
  H_CEDE,
  H_CPPR,
  H_REGISTER_VPA,
  H_RTAS,
  H_SET_MODE,
  H_SET_MODE_RESOURCE_LE,
  H_VPA_FUNC_SHIFT,
  H_VPA_REG_VPA,
  LOWEST_PRIORITY,
  LPPACA_OLD_SHARED_PROC,
  LPPACA_OLD_STATUS_OFFSET,
  LPPACA_SIZE,
  LPPACA_SIZE_OFFSET,
  QCSS_STOPPED,
  RTAS_UNKNOWN_SERVICE,
} from "../linux/papr.js";
import { KernelConsole } from "./console.js";
import { DEFAULT_GUEST_COSTS, type GuestCosts, resolveCosts } from "./costs.js";
import { GuestCpu, type HrTimer, type KCode, type KernelServices } from "./cpu.js";
import {
  KERNEL_ENTRY,
  KERNEL_TEXT_SIZE,
  lppacaAddr,
  RTAS_OS_TERM_BUF,
  rtasArgsAddr,
  SECONDARY_ENTRY,
  TEXT,
} from "./image.js";
import { promCas } from "./prom-cas.js";
import { Pipe, Task, type TaskOp, type TaskProgram } from "./task.js";
import { XiveSpapr } from "./xive.js";

/** The contract QEMU loads and runs (docs/ARCHITECTURE.md "Guest boot and the pseries platform"). */
export interface GuestKernelImage {
  readonly entryPoint: bigint;
  load(ram: Memory): void;
  cpu(vcpuId: number): ThreadSoftware;
}

export interface GuestKernelConfig {
  /** Which guest kernel runs (see Stop0liteMode). Default "never" (upstream 2020). */
  stop0lite?: Stop0liteMode;
  /** cpuidle governor. Default "menu" (the 2020 distribution default on pseries). */
  governor?: "menu" | "teo";
  /** Idle states to disable at boot, by name (like writing 1 to stateN/disable). */
  disableStates?: readonly string[];
  /**
   * IPI path: "linux" follows pSeries_smp_probe of 2020 (msgsndp doorbells to SMT siblings when
   * CPU_FTR_DBELL, H_IPI otherwise); "xics" always uses H_IPI.
   */
  ipi?: "linux" | "xics";
  /**
   * XIVE exploitation mode when the platform offers it (default true, as a 2020 pseries kernel;
   * false is the `xive=off` command line: XICS is asked for at CAS and used).
   */
  xive?: boolean;
  /**
   * prom_init's ibm,client-architecture-support call (KVMPPC_H_CAS through the firmware) before
   * the kernel reads its tree: the guest says which interrupt mode it wants and boots from the
   * tree the platform hands back. Default false: the kernel boots from the tree it was given.
   */
  cas?: boolean;
  /** CONFIG_HZ (default 100, the pseries distribution value). */
  hz?: number;
  /** PM QoS CPU latency limit in ns (default none). */
  latencyReqNs?: number;
  /** kernel.panic_on_oops (default true). */
  panicOnOops?: boolean;
  /** watchdog_thresh in seconds (arch/powerpc/kernel/watchdog.c); 0 disables. Default 10. */
  watchdogThreshS?: number;
  /** Guest-side time costs (see costs.ts). */
  costs?: Partial<GuestCosts>;
  /**
   * Period of the init task's loop that starts the tasks requested with spawn() (default 10 ms).
   * It is the guest's only background activity: a launcher polling for work, like a shell loop.
   */
  initPollNs?: number;
}

export type GuestState = "created" | "booting" | "running" | "panicked" | "hung";

export class GuestKernelError extends Error {
  override readonly name = "GuestKernelError";
}

/** A lockup the watchdog reported. */
export interface LockupReport {
  readonly time: number;
  readonly reporter: number;
  readonly cpus: readonly number[];
  readonly message: string;
}

const TB_TICKS_PER_USEC_DEFAULT = 512;

/** A timer wake-up later than this many times the idle state's exit latency counts as late. */
export const LATE_WAKEUP_FACTOR = 10;
/** A timer wake-up this late (1 ms) means the vCPU stalled: it made no progress meanwhile. */
export const STALL_NS = 1_000_000;
/** Late timer wake-ups the kernel keeps with their times (the first ones; later ones are counted only). */
export const LATE_WAKEUP_LOG_MAX = 4096;

/**
 * One late timer wake-up from idle, on the guest's clock (ktime ns): when the timer was due, when
 * the CPU came out of idle, and the exit latency of the idle state it left. A reader that knows
 * the guest was paused meanwhile (its timebase stopped) can tell a pause from a late wake event.
 */
export interface LateWakeup {
  readonly cpu: number;
  readonly dueNs: number;
  readonly wokeNs: number;
  readonly exitLatencyNs: number;
  /** When the CPU last moved to another hardware thread (a live migration's first entry there), or -1. */
  readonly reboundAtNs: number;
}

/** Guest kernels created per simulation (their random streams' names). */
const KERNELS_PER_SIM = new WeakMap<Simulation, number>();

export class GuestKernel implements GuestKernelImage {
  readonly entryPoint = BigInt(KERNEL_ENTRY);
  readonly console: KernelConsole;
  readonly costs: GuestCosts;
  readonly config: Required<
    Omit<GuestKernelConfig, "costs" | "latencyReqNs" | "disableStates" | "release">
  > & {
    latencyReqNs: number;
    disableStates: readonly string[];
  };
  state: GuestState = "created";
  boot: BootParams | null = null;
  /** The XIVE backend in exploitation mode (null: XICS). */
  xive: XiveSpapr | null = null;
  driver: CpuidleDriver | null = null;
  governor: CpuidleGovernor;
  /** Logical CPUs in boot order, once the DTB was read. */
  readonly cpus: GuestCpu[] = [];
  readonly lockups: LockupReport[] = [];
  /**
   * Watchdog near misses: a CPU found with no heartbeat for at least half the lockup threshold
   * that was not (yet) a lockup.
   */
  watchdogNearMisses = 0;
  /** The first LATE_WAKEUP_LOG_MAX late or stalled timer wake-ups, in the order they happened. */
  readonly lateWakeupLog: LateWakeup[] = [];
  /** Late or stalled wake-ups past the log's capacity (counted in the CPUs' stats, not logged). */
  lateWakeupLogDropped = 0;
  private readonly nearMissAt = new Map<number, number>();
  /** Message passed to ibm,os-term, once called. */
  osTermMessage: string | null = null;
  /** Resolves callbacks when all CPUs are online and cpuidle is registered. */
  private readyListeners: Array<() => void> = [];
  private ram: Memory | null = null;
  /** Every RAM the image was loaded into (the source's, then migration destinations'). */
  private readonly loadedRams: Memory[] = [];
  private readonly softwareById = new Map<number, GuestCpuShim>();
  private bootTime = 0;
  private nextPid = 1;
  private tbFreqValue = TB_TICKS_PER_USEC_DEFAULT * 1_000_000;
  private decMaxValue = 0x7fffffff;
  private oopsCount = 0;
  private dieOwner: GuestCpu | null = null;
  private halting = false;
  readonly tasks: Task[] = [];
  private readonly calledIn = new Set<number>();
  private readonly instance: number;

  constructor(
    readonly sim: Simulation,
    config: GuestKernelConfig = {},
  ) {
    // the n-th guest kernel of this simulation: names its random streams (same seed, same run)
    this.instance = KERNELS_PER_SIM.get(sim) ?? 0;
    KERNELS_PER_SIM.set(sim, this.instance + 1);
    this.costs = resolveCosts(config.costs);
    this.config = {
      stop0lite: config.stop0lite ?? "never",
      governor: config.governor ?? "menu",
      ipi: config.ipi ?? "linux",
      xive: config.xive ?? true,
      cas: config.cas ?? false,
      hz: config.hz ?? 100,
      panicOnOops: config.panicOnOops ?? true,
      watchdogThreshS: config.watchdogThreshS ?? 10,
      latencyReqNs: config.latencyReqNs ?? Number.POSITIVE_INFINITY,
      disableStates: config.disableStates ?? [],
      initPollNs: config.initPollNs ?? 10_000_000,
    };
    if (!(this.config.initPollNs > 0)) {
      throw new GuestKernelError(`initPollNs must be > 0 ns, got ${String(this.config.initPollNs)}`);
    }
    const modes: readonly string[] = ["never", "always", "arch300", "platform"];
    if (!modes.includes(this.config.stop0lite)) {
      throw new GuestKernelError(
        `stop0lite must be one of ${modes.join(", ")}, got '${String(this.config.stop0lite)}'`,
      );
    }
    if (this.config.governor !== "menu" && this.config.governor !== "teo") {
      throw new GuestKernelError(`governor must be "menu" or "teo", got '${String(this.config.governor)}'`);
    }
    if (!(this.config.hz > 0 && this.config.hz <= 1000 && Number.isInteger(this.config.hz))) {
      throw new GuestKernelError(`hz must be an integer in 1..1000, got ${String(this.config.hz)}`);
    }
    this.governor = this.config.governor === "menu" ? new MenuGovernor() : new TeoGovernor();
    this.console = new KernelConsole(
      () => sim.now,
      () => this.bootTime,
    );
  }

  get tickNs(): number {
    return Math.round(1e9 / this.config.hz);
  }

  // ===========================================================================================
  // GuestKernelImage
  // ===========================================================================================

  /**
   * Copies the kernel text into `ram` (QEMU's reset, `-kernel`). The first RAM is the one the
   * kernel boots in. A later load is a migration destination's RAM (a QEMU started with
   * `-incoming`, whose RAM the stream then overwrites): the running kernel does not move there
   * now, since the source keeps running until the migration completes and a failed migration
   * must leave it untouched; it moves when a vCPU first runs on a thread whose memory is that RAM
   * (see cpuMoved).
   */
  load(ram: Memory): void {
    if (!ram.contains(0, KERNEL_TEXT_SIZE)) {
      throw new GuestKernelError(
        `guest RAM of ${ram.size} bytes cannot hold the kernel image (needs 0x${KERNEL_TEXT_SIZE.toString(16)})`,
      );
    }
    for (const s of Object.values(TEXT)) ram.loadWords(s.addr, s.words, true);
    if (this.ram === null) this.ram = ram;
    if (!this.loadedRams.includes(ram)) this.loadedRams.push(ram);
  }

  /** The RAM the kernel's memory is in now (the last host's after a migration). */
  get memory(): Memory | null {
    return this.ram;
  }

  cpu(vcpuId: number): ThreadSoftware {
    let s = this.softwareById.get(vcpuId);
    if (s === undefined) {
      s = new GuestCpuShim(this, vcpuId);
      this.softwareById.set(vcpuId, s);
    }
    return s;
  }

  /** Called once the kernel is up (all CPUs online, cpuidle registered); at once if it already is. */
  whenReady(fn: () => void): void {
    if (this.state === "running") fn();
    else this.readyListeners.push(fn);
  }

  // ===========================================================================================
  // KernelServices
  // ===========================================================================================

  tbFreq = (): number => this.tbFreqValue;
  decMax = (): number => this.decMaxValue;
  halted = (): boolean => this.halting;

  cpuByHwId(hwId: number): GuestCpu | undefined {
    return this.cpus.find((c) => c.hwId === hwId);
  }

  cpuLogical(logical: number): GuestCpu {
    const c = this.cpus[logical];
    if (c === undefined)
      throw new GuestKernelError(`no logical cpu ${logical}: the guest has ${this.cpus.length}`);
    return c;
  }

  areSiblings(a: GuestCpu, b: GuestCpu): boolean {
    const bp = this.boot;
    if (bp === null) return false;
    return bp.threads[a.logical].core === bp.threads[b.logical].core;
  }

  useDoorbell(from: GuestCpu, target: GuestCpu): boolean {
    const bp = this.boot;
    // pSeries_smp_probe: "Don't use P9 doorbells when XIVE is enabled. IPIs using MMIOs should be faster"
    if (bp === null || this.config.ipi === "xics" || this.xive !== null) return false;
    const f = bp.cpuFeatures;
    return (f & CPU_FTR_DBELL) !== 0n && (f & CPU_FTR_SMT) !== 0n && this.areSiblings(from, target);
  }

  trace(cpu: GuestCpu, name: string, args?: Record<string, string | number | boolean>): void {
    const tr = this.sim.trace;
    if (!tr.enabled) return;
    tr.instant(this.traceTrack(cpu), name, "guest", args);
  }
  private readonly tracks = new Map<number, number>();
  private traceTrack(cpu: GuestCpu): number {
    let t = this.tracks.get(cpu.logical);
    if (t === undefined) {
      t = this.sim.trace.track("guest", `cpu${cpu.logical}`);
      this.tracks.set(cpu.logical, t);
    }
    return t;
  }

  // ===========================================================================================
  // Boot (vCPU 0)
  // ===========================================================================================

  /**
   * A vCPU's software now runs on another hardware thread: after a live migration, the
   * destination's KVM runs it there. The GuestCpu (its kernel state) moves to the thread, and the
   * kernel's memory becomes the RAM that thread sees (the destination's copy, which the
   * migration stream filled), when it is one the image was loaded into.
   */
  cpuMoved(cpu: GuestCpu, thread: HwThread): void {
    const mem = thread.memory;
    if (mem !== null && mem !== this.ram && this.loadedRams.includes(mem)) this.ram = mem;
    cpu.rebind(thread);
  }

  /** The GuestCpu for a vCPU; created when the vCPU first runs. */
  attach(vcpuId: number, thread: HwThread): GuestCpu {
    const existing = this.cpus.find((c) => c.thread === thread);
    if (existing !== undefined) return existing;
    // the kernel boots in the RAM its first vCPU sees, when the image was loaded into it
    const mem = thread.memory;
    if (this.state === "created" && mem !== null && this.loadedRams.includes(mem)) this.ram = mem;
    const logical =
      this.boot !== null ? (this.boot.threads.find((t) => t.hwId === vcpuId)?.logical ?? vcpuId) : vcpuId;
    const c = new GuestCpu(logical, vcpuId, thread, this.services());
    this.cpus[logical] = c;
    return c;
  }

  private services(): KernelServices {
    return {
      costStream: (c) => this.sim.rng.stream(`guest${this.instance}/cpu${c.hwId}/costs`),
      costs: this.costs,
      tbFreq: this.tbFreq,
      decMax: this.decMax,
      cpu: (n: number) => this.cpuLogical(n),
      cpuByHwId: (h: number) => this.cpuByHwId(h),
      areSiblings: (a, b) => this.areSiblings(a, b),
      useDoorbell: (a, b) => this.useDoorbell(a, b),
      xive: () => this.xive,
      threadInCore: (c) => this.boot?.threads[c.logical]?.thread ?? 0,
      bootEntry: (c) => this.bootEntry(c),
      secondaryEntry: (c) => this.secondaryEntry(c),
      idleLoop: (c) => this.idleLoop(c),
      die: (c, v, s0, s1) => this.die(c, v, s0, s1),
      taskMain: (c, t) => this.taskMain(c, t),
      halted: this.halted,
      trace: (c, n, a) => this.trace(c, n, a),
    };
  }

  private casHost(cpu: GuestCpu) {
    return { cpu, ram: this.readRam(), console: this.console, xiveOff: this.config.xive === false };
  }

  private readRam(): Memory {
    if (this.ram === null) {
      throw new GuestKernelError("the kernel image was not loaded: call load(ram) before running the vCPUs");
    }
    return this.ram;
  }

  private *bootEntry(cpu: GuestCpu): KCode {
    this.state = "booting";
    this.bootTime = this.sim.now;
    const ram = this.readRam();
    const t = cpu.thread;
    let dtbAddr = Number(t.gpr(3));
    // __start: FIXUP_ENDIAN, then early_setup with the device tree pointer in r3
    yield* cpu.fixupEndian();
    if (this.config.cas) dtbAddr = yield* promCas(this.casHost(cpu), dtbAddr);
    yield { k: "exec", sym: TEXT.start, i: 0 };
    const pvr = Number(t.gpr(14) & 0xffffffffn);
    let bytes: Uint8Array;
    try {
      const magic = ram.read32(dtbAddr, false);
      const total = ram.read32(dtbAddr + 4, false);
      if (magic !== 0xd00dfeed || total < 40 || !ram.contains(dtbAddr, total)) {
        throw new FdtError(
          "FDT_ERR_BADMAGIC",
          0,
          `no flattened device tree at r3 = 0x${dtbAddr.toString(16)}`,
        );
      }
      bytes = new Uint8Array(total);
      for (let i = 0; i < total; i++) bytes[i] = ram.read8(dtbAddr + i);
    } catch (e) {
      yield* this.earlyPanic(
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
        console: this.console,
        xive: this.config.xive !== false,
      });
    } catch (e) {
      if (e instanceof GuestBootPanic) {
        yield* this.earlyPanic(cpu, [...e.consoleLines], e.message);
        return;
      }
      if (e instanceof FdtError) {
        yield* this.earlyPanic(cpu, [`Invalid device tree blob: ${e.message}`], "Invalid device tree");
        return;
      }
      throw e;
    }
    this.boot = bp;
    this.tbFreqValue = bp.tbFreq;
    // decrementer_max = 2^(bits-1)-1 (init_decrementer_max). Model limit: the value the kernel
    // writes as "no event" is capped at the 32-bit maximum (4.2 s of timebase), which keeps DEC
    // arithmetic exact in doubles; the kernel always has a timer due sooner than that.
    this.decMaxValue = Math.min(2 ** (bp.decBits - 1) - 1, 0x7fffffff);
    // renumber: vCPU 0 got logical slot 0 before the tree was known; its logical id is its index
    this.cpus.length = 0;
    const bootLogical = bp.bootCpu.logical;
    (cpu as { logical: number }).logical = bootLogical;
    this.cpus[bootLogical] = cpu;
    const con = this.console;
    con.printk("notice", `Linux version ${this.release} (stopsim guest) #1 SMP`);
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
      yield* this.earlyPanic(
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
      this.xive = XiveSpapr.init(
        { console: this.console, costs: this.costs, ram: () => this.readRam() },
        bp.xive,
      );
    }
    const xics = bp.interruptController === "xics";
    if (this.xive !== null) {
      // xive_core_init -> xive_prepare_cpu + xive_setup_cpu on the boot CPU; pSeries_smp_probe ->
      // xive_smp_probe -> xive_setup_cpu_ipi (no doorbells with XIVE)
      const ok = yield* this.xive.prepareCpu(cpu, cpu.logical, cpu.hwId);
      yield* this.xive.setupCpu(cpu);
      if (!ok) {
        yield* this.panic(cpu, "xive: unable to set up the boot CPU");
        return;
      }
    } else if (xics) yield* this.xicsSetupCpu(cpu);
    // vpa_init(boot cpu)
    yield* this.vpaInit(cpu);
    cpu.online = true;
    cpu.heartbeat = this.sim.now;
    yield* this.startTick(cpu);
    yield* this.startWatchdog(cpu);
    if (!xics && this.xive === null) {
      // smp_prepare_cpus -> pseries_smp_probe -> xics_smp_probe -> xics_request_ipi:
      // irq_create_mapping(xics_host = NULL, XICS_IPI) warns and returns 0, then BUG_ON(!ipi)
      // (linux: arch/powerpc/sysdev/xics/xics-common.c, kernel/irq/irqdomain.c): the first use of
      // the missing controller kills the boot, in kernel_init (PID 1)
      yield* this.xicsMissingBug(cpu);
      return;
    }
    // smp_prepare_cpus / smp_init: bring the secondaries up one by one
    let up = 1;
    for (const th of bp.threads) {
      if (th.logical === bootLogical || !th.present) continue;
      const ok = yield* this.cpuUp(cpu, th.logical, th.hwId);
      if (ok) up++;
    }
    con.printk("info", `smp: Brought up 1 node, ${up} CPU${up === 1 ? "" : "s"}`);
    // device_initcall(pseries_processor_idle_init)
    yield* this.cpuidleInit(cpu);
    this.state = "running";
    const ls = this.readyListeners.splice(0);
    for (const fn of ls) fn();
    // the init task: starts the tasks requested from outside the guest
    const init = new Task(this.nextPid++, "init", cpu.logical, this.initProgram());
    init.state = "sleeping";
    this.tasks.push(init);
    yield* cpu.ttwu(init);
    yield* this.drainSpawns(cpu);
  }

  get release(): string {
    return this.config.stop0lite === "never" ? "5.6.0" : `5.6.0-stop0lite-${this.config.stop0lite}`;
  }

  /** xics_request_ipi with no XICS: the NULL-domain warning, BUG_ON(!ipi), oops, panic. */
  private *xicsMissingBug(cpu: GuestCpu): KCode {
    const con = this.console;
    con.printk("warning", "WARNING: irq_create_mapping(, 2) called with NULL domain");
    con.printk(
      "emerg",
      "kernel BUG in xics_request_ipi (arch/powerpc/sysdev/xics/xics-common.c): BUG_ON(!ipi)",
    );
    this.oopsCount++;
    // BUG() is a trap instruction: program check with SRR1_PROGTRAP, SIGTRAP
    con.printk("emerg", `Oops: Exception in kernel mode, sig: 5 [#${this.oopsCount}]`);
    con.printk("emerg", `CPU: ${cpu.logical} PID: 1 Comm: swapper/0 Not tainted ${this.release}`);
    con.printk(
      "emerg",
      "NIP [xics_request_ipi] LR [xics_smp_probe] Call Trace: pseries_smp_probe, smp_prepare_cpus, kernel_init_freeable",
    );
    con.printk("emerg", "---[ end trace 0000000000000000 ]---");
    // do_exit of PID 1 without panic_on_oops
    yield* this.panic(
      cpu,
      this.config.panicOnOops ? "Fatal exception" : "Attempted to kill init! exitcode=0x00000005",
    );
  }

  /** A panic before RTAS and the console are set up: the messages, then the CPU spins. */
  private *earlyPanic(cpu: GuestCpu, lines: string[], reason: string): KCode {
    for (const l of lines) this.console.printk("emerg", l);
    this.console.printk("emerg", `Kernel panic - not syncing: ${reason}`);
    this.state = "panicked";
    this.halting = true;
    cpu.halt();
    yield { k: "park" };
  }

  // linux: arch/powerpc/sysdev/xics/xics-common.c xics_setup_cpu -> icp_hv_set_cpu_priority:
  // H_CPPR(LOWEST_PRIORITY). A presentation controller comes out of reset with CPPR 0 (nothing
  // is presented, PAPR; KVM's and QEMU's ICPs alike): until each CPU opens its CPPR, an H_IPI to
  // it raises MFRR without ever presenting the IPI, and the message waits forever.
  private *xicsSetupCpu(cpu: GuestCpu): KCode {
    const [rc] = yield* cpu.hcall(H_CPPR, BigInt(LOWEST_PRIORITY));
    if (rc !== 0n)
      this.console.printk("err", `xics: H_CPPR(0x${LOWEST_PRIORITY.toString(16)}) failed with ${rc}`);
  }

  // linux: arch/powerpc/platforms/pseries/lpar.c vpa_init -> register_vpa
  private *vpaInit(cpu: GuestCpu): KCode {
    const ram = this.readRam();
    const addr = lppacaAddr(cpu.logical);
    for (let i = 0; i < LPPACA_SIZE; i++) ram.write8(addr + i, 0);
    ram.write8(addr + LPPACA_SIZE_OFFSET, (LPPACA_SIZE >> 8) & 0xff);
    ram.write8(addr + LPPACA_SIZE_OFFSET + 1, LPPACA_SIZE & 0xff);
    const bp = this.boot;
    if (bp === null || !bp.fwFeatures.has("FW_FEATURE_SPLPAR")) return;
    const [rc] = yield* cpu.hcall(
      H_REGISTER_VPA,
      H_VPA_REG_VPA << H_VPA_FUNC_SHIFT,
      BigInt(cpu.hwId),
      BigInt(addr),
    );
    if (rc !== 0n) {
      this.console.printk("err", `WARNING: VPA registration for cpu ${cpu.hwId} failed with ${rc}`);
    }
  }

  /**
   * lppaca_shared_proc(): FW_FEATURE_SPLPAR and the bit the hypervisor set in our VPA, read back
   * from guest memory (the lppaca's __old_status byte).
   */
  private readVpaStatus(cpu: GuestCpu): { shared: boolean; oldStatus: number } {
    const bp = this.boot;
    if (bp === null || !bp.fwFeatures.has("FW_FEATURE_SPLPAR")) return { shared: false, oldStatus: 0 };
    const b = this.readRam().read8(lppacaAddr(cpu.logical) + LPPACA_OLD_STATUS_OFFSET);
    return { shared: (b & LPPACA_OLD_SHARED_PROC) !== 0, oldStatus: b };
  }

  // linux: arch/powerpc/kernel/rtas.c rtas_call (through H_RTAS)
  *rtasCall(
    cpu: GuestCpu,
    token: number,
    nret: number,
    args: readonly number[],
  ): Generator<import("./cpu.js").KOp, number[], void> {
    const ram = this.readRam();
    const a = rtasArgsAddr(cpu.logical);
    ram.write32(a, token >>> 0, false);
    ram.write32(a + 4, args.length, false);
    ram.write32(a + 8, nret, false);
    args.forEach((v, i) => {
      ram.write32(a + 12 + 4 * i, v >>> 0, false);
    });
    for (let i = 0; i < nret; i++) ram.write32(a + 12 + 4 * (args.length + i), 0, false);
    const [rc] = yield* cpu.hcall(H_RTAS, BigInt(a));
    if (rc !== 0n) return [RTAS_UNKNOWN_SERVICE];
    const rets: number[] = [];
    for (let i = 0; i < nret; i++) rets.push(ram.read32(a + 12 + 4 * (args.length + i), false) | 0);
    return rets;
  }

  rtasToken(name: string): number {
    return this.boot?.rtasTokens.get(name) ?? RTAS_UNKNOWN_SERVICE;
  }

  // linux: arch/powerpc/platforms/pseries/smp.c smp_startup_cpu + kernel/cpu.c __cpu_up wait
  private *cpuUp(
    boot: GuestCpu,
    logical: number,
    hwId: number,
  ): Generator<import("./cpu.js").KOp, boolean, void> {
    const con = this.console;
    const qcss = this.rtasToken("query-cpu-stopped-state");
    if (qcss !== RTAS_UNKNOWN_SERVICE) {
      const [status, state] = yield* this.rtasCall(boot, qcss, 2, [hwId]);
      if (status !== 0 || state !== QCSS_STOPPED) {
        con.printk(
          "err",
          `smp: cpu ${logical} (hw ${hwId}) is not in the stopped state (status ${status}, state ${state})`,
        );
        return false;
      }
    }
    // smp_ops->prepare_cpu (xive_smp_prepare_cpu): the new CPU's queue and IPI
    if (this.xive !== null && !(yield* this.xive.prepareCpu(boot, logical, hwId))) {
      con.printk("err", `Processor ${logical} is stuck.`);
      return false;
    }
    const startCpu = this.rtasToken("start-cpu");
    if (startCpu === RTAS_UNKNOWN_SERVICE) {
      con.printk("err", `Processor ${logical} is stuck.`);
      return false;
    }
    const [status] = yield* this.rtasCall(boot, startCpu, 1, [hwId, SECONDARY_ENTRY, hwId]);
    if (status !== 0) {
      con.printk("err", `start-cpu failed: ${status}`);
      return false;
    }
    // __cpu_up: wait up to 5 s (in 100 us steps) for the secondary to call in
    for (let waited = 0; waited < 5e9; waited += 100_000) {
      if (this.calledIn.has(hwId)) return true;
      yield { k: "delay", ns: 100_000 };
    }
    con.printk("err", `Processor ${logical} is stuck.`);
    return false;
  }

  // secondary entry: generic_secondary_smp_init -> start_secondary
  private *secondaryEntry(cpu: GuestCpu): KCode {
    const hw = Number(cpu.thread.gpr(3));
    yield* cpu.fixupEndian();
    yield { k: "exec", sym: TEXT.secondary, i: 0 };
    const bp = this.boot;
    if (bp === null) {
      yield { k: "park" };
      return;
    }
    const th = bp.threads.find((x) => x.hwId === hw);
    if (th === undefined) {
      this.console.printk("err", `start_secondary: unknown hardware id ${hw}`);
      yield { k: "park" };
      return;
    }
    (cpu as { logical: number }).logical = th.logical;
    this.cpus[th.logical] = cpu;
    yield { k: "delay", ns: this.costs.secondaryBootNs };
    // smp_ops->setup_cpu (pseries smp_setup_cpu): xive_smp_setup_cpu or xics_setup_cpu, then vpa_init
    if (this.xive !== null) yield* this.xive.setupCpu(cpu);
    else yield* this.xicsSetupCpu(cpu);
    yield* this.vpaInit(cpu);
    cpu.online = true;
    cpu.heartbeat = this.sim.now;
    yield* this.startTick(cpu);
    yield* this.startWatchdog(cpu);
    this.calledIn.add(hw);
    if (this.driver !== null) this.attachCpuidle(cpu);
  }

  // linux: drivers/cpuidle/cpuidle-pseries.c pseries_processor_idle_init
  private *cpuidleInit(boot: GuestCpu): KCode {
    const bp = this.boot;
    if (bp === null) return;
    if (!bp.fwFeatures.has("FW_FEATURE_SPLPAR")) {
      this.console.printk("info", "cpuidle: pseries_idle_probe: no FW_FEATURE_SPLPAR, no cpuidle driver");
      return;
    }
    yield { k: "delay", ns: 1_000 };
    const vpa = this.readVpaStatus(boot);
    this.driver = pseriesIdleProbe({
      shared: vpa.shared,
      lppacaOldStatus: vpa.oldStatus,
      stop0lite: this.config.stop0lite,
      cpuFeatures: bp.cpuFeatures,
      stopLitePermitted: bp.stopLitePermitted,
      tbFreq: bp.tbFreq,
    });
    this.console.printk(
      "info",
      `cpuidle: pseries_idle_probe: lppaca_shared_proc() = ${vpa.shared ? 1 : 0} (VPA __old_status 0x${vpa.oldStatus.toString(16).padStart(2, "0")}${vpa.shared ? ", LPPACA_OLD_SHARED_PROC set by the hypervisor" : ""}): ${vpa.shared ? "shared_states" : "dedicated_states"}`,
    );
    for (const c of this.cpus) if (c?.online) this.attachCpuidle(c);
    // cpuidle_install_idle_handler -> wake_up_all_idle_cpus: idle CPUs go round their idle loop
    // again and pick up the new driver (need_resched for a polling CPU, else a reschedule IPI)
    for (const c of this.cpus) {
      if (c === undefined || c === boot || !c.online || c.current !== null) continue;
      if (c.polling) c.setNeedResched();
      else yield* boot.sendIpi(c, 1);
    }
    this.console.printk(
      "info",
      `cpuidle: using governor ${this.governor.name}; pseries_idle_driver registered (${this.driver.shared ? "shared" : "dedicated"}): ${this.driver.states.map((s) => s.name).join(", ")}`,
    );
  }

  private attachCpuidle(c: GuestCpu): void {
    if (this.driver === null || c.cpuidle !== null) return;
    const dev = new CpuidleDevice(c.logical, this.driver);
    for (const name of this.config.disableStates) {
      if (this.driver.states.some((s) => s.name === name)) dev.setDisabled(name, true);
    }
    c.cpuidle = dev;
  }

  // ===========================================================================================
  // Tick and watchdog
  // ===========================================================================================

  private *startTick(cpu: GuestCpu): KCode {
    const tick = this.tickNs;
    const t: HrTimer = {
      name: "tick_sched_timer",
      expires: (Math.floor(cpu.ktime() / tick) + 1) * tick,
      period: tick,
      queued: false,
      fn: (c) => this.tickHandler(c),
    };
    cpu.tickTimer = t;
    cpu.tickRunning = true;
    yield* cpu.hrtimerStart(t);
  }

  // tick_sched_timer -> update_process_times -> scheduler_tick
  private *tickHandler(cpu: GuestCpu): KCode {
    yield { k: "delay", ns: this.costs.tickNs };
    const cur = cpu.current;
    if (cur !== null && cpu.runqueue.length > 0 && this.sim.now - cur.ranAt >= 3 * this.tickNs) {
      cpu.setNeedResched();
    }
  }

  /** tick_nohz_idle_stop_tick */
  private stopTick(cpu: GuestCpu): void {
    if (!cpu.tickRunning || cpu.tickTimer === null) return;
    cpu.hrtimerCancel(cpu.tickTimer);
    cpu.tickRunning = false;
  }

  /** tick_nohz_idle_exit -> tick_nohz_restart */
  private *restartTick(cpu: GuestCpu): KCode {
    if (cpu.tickRunning || cpu.tickTimer === null) return;
    const tick = this.tickNs;
    cpu.tickTimer.expires = (Math.floor(cpu.ktime() / tick) + 1) * tick;
    cpu.tickRunning = true;
    yield* cpu.hrtimerStart(cpu.tickTimer);
  }

  // linux: arch/powerpc/kernel/watchdog.c: a pinned per-CPU heartbeat timer; every CPU checks the
  // others' heartbeats and reports those that stopped for wd_panic_timeout.
  private *startWatchdog(cpu: GuestCpu): KCode {
    const thresh = this.config.watchdogThreshS;
    if (thresh <= 0) return;
    // linux: arch/powerpc/kernel/watchdog.c start_watchdog_timer_on: wd_timer_tb = get_tb()
    cpu.heartbeat = this.sim.now;
    const period = (thresh * 1e9 * 2) / 5;
    const t: HrTimer = {
      name: "watchdog_timer_fn",
      expires: cpu.ktime() + period,
      period,
      queued: false,
      fn: (c) => {
        c.heartbeat = this.sim.now;
        this.watchdogCheck(c);
        return this.pendingSpawns.length > 0 ? this.drainSpawns(c) : null;
      },
    };
    yield* cpu.hrtimerStart(t);
  }

  /**
   * How late a wake-up from idle came after the timer armed for it: the observation a wakeup
   * latency tool (cyclictest, the thread's timer test) makes, kept per CPU as hazard counters.
   */
  private noteTimerWakeup(cpu: GuestCpu, dueNs: number, wokeNs: number, exitLatencyNs: number): void {
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
    if (this.lateWakeupLog.length < LATE_WAKEUP_LOG_MAX)
      this.lateWakeupLog.push({
        cpu: cpu.logical,
        dueNs,
        wokeNs,
        exitLatencyNs,
        reboundAtNs: cpu.reboundAtNs,
      });
    else this.lateWakeupLogDropped++;
  }

  /**
   * The CPUs that are idle with their next timer overdue by at least `minNs`: what a stall
   * detector on another CPU sees of a CPU that stopped making progress (a wake event that never
   * arrived), before the lockup watchdog's threshold.
   */
  stalledCpus(minNs: number = STALL_NS): number[] {
    const out: number[] = [];
    for (const c of this.cpus) {
      if (c === undefined || !c.online || c.idleStateSince < 0) continue;
      const next = c.nextTimer(true);
      if (next !== undefined && c.ktime() - next.expires >= minNs) out.push(c.logical);
    }
    return out;
  }

  private watchdogCheck(reporter: GuestCpu): void {
    const timeout = this.config.watchdogThreshS * 1e9;
    // a heartbeat gap past half the threshold that has not (yet) become a lockup: a near miss,
    // counted once per gap (linux: arch/powerpc/kernel/watchdog.c checks against wd_panic_timeout_tb);
    // only once booted: the boot CPU's init work before smp_init is not the watchdog's to see
    for (const c of this.state === "running" ? this.cpus : []) {
      if (c === undefined || c === reporter || !c.online) continue;
      const gap = this.sim.now - c.heartbeat;
      if (gap >= timeout / 2 && gap < timeout && this.nearMissAt.get(c.logical) !== c.heartbeat) {
        this.nearMissAt.set(c.logical, c.heartbeat);
        this.watchdogNearMisses++;
      }
    }
    const stuck = this.cpus.filter(
      (c) => c !== undefined && c !== reporter && c.online && this.sim.now - c.heartbeat >= timeout,
    );
    const fresh = stuck.filter((c) => !this.lockups.some((l) => l.cpus.includes(c.logical)));
    if (fresh.length === 0) return;
    const list = fresh.map((c) => c.logical);
    const msg = `Watchdog CPU:${reporter.logical} detected Hard LOCKUP other CPUS:${list.join(",")}`;
    this.console.printk("emerg", msg);
    for (const c of fresh) {
      this.console.printk("emerg", `CPU ${c.logical} didn't respond to backtrace IPI, inspecting paca.`);
      this.console.printk(
        "emerg",
        `CPU ${c.logical}: ${c.activity} since ${c.idleStateSince >= 0 ? `${((this.sim.now - c.idleStateSince) / 1e9).toFixed(3)} s` : "?"}`,
      );
    }
    this.lockups.push({ time: this.sim.now, reporter: reporter.logical, cpus: list, message: msg });
    if (this.state === "running") this.state = "hung";
  }

  // ===========================================================================================
  // The idle loop (linux: kernel/sched/idle.c do_idle, cpuidle_idle_call)
  // ===========================================================================================

  private *idleLoop(cpu: GuestCpu): KCode {
    for (;;) {
      cpu.inIdle = true;
      while (!cpu.needResched) {
        cpu.localIrqDisable();
        yield* this.cpuidleIdleCall(cpu);
      }
      cpu.inIdle = false;
      yield* this.restartTick(cpu);
      // schedule_idle
      yield* cpu.schedule();
    }
  }

  private *cpuidleIdleCall(cpu: GuestCpu): KCode {
    const c = this.costs;
    const dev = cpu.cpuidle;
    if (cpu.needResched) {
      yield* cpu.localIrqEnable();
      return;
    }
    if (dev === null) {
      // no cpuidle driver yet: arch_cpu_idle polls at low priority with interrupts enabled and
      // returns after an interrupt; do_idle then loops
      yield { k: "delay", ns: c.idleEntryNs };
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
    const sel = this.governor.select(dev, {
      sleepLengthNs: sleepLength,
      deltaNextNs: Math.min(sleepLength, tick),
      latencyReqNs: this.config.latencyReqNs,
      tickStopped: !cpu.tickRunning,
      nrIowaiters: 0,
      now: cpu.ktime(),
      tickNs: this.tickNs,
    });
    if (sel.stopTick) {
      this.stopTick(cpu);
      if (cpu.tickTimer !== null) yield* cpu.programDec();
    }
    const state = dev.drv.states[sel.index];
    cpu.gotTick = false;
    cpu.idleStateName = state.name;
    cpu.idleStateSince = this.sim.now;
    this.trace(cpu, "cpu_idle", { state: state.name });
    const start = cpu.ktime();
    yield* this.enterState(cpu, sel.index);
    const end = cpu.ktime();
    dev.account(sel.index, start, end);
    if (next !== undefined && end >= next.expires)
      this.noteTimerWakeup(cpu, next.expires, end, state.exitLatencyNs);
    cpu.idleStateSince = -1;
    this.trace(cpu, "cpu_idle_exit", { state: state.name });
    // cpuidle_enter_state: local_irq_enable() after the state returned
    yield* cpu.localIrqEnable();
    this.governor.reflect(dev, sel.index, { gotTick: cpu.gotTick, now: cpu.ktime(), tickNs: this.tickNs });
    yield { k: "delay", ns: c.idleExitNs };
  }

  /** The snooze polling loop with interrupts enabled, until need_resched or `deadlineNs`. */
  private *pollLoop(cpu: GuestCpu, deadlineNs: number): KCode {
    cpu.polling = true;
    yield* cpu.localIrqEnable();
    yield { k: "exec", sym: TEXT.snooze, i: 0 };
    yield { k: "exec", sym: TEXT.snooze, i: 1 };
    while (!cpu.needResched) {
      if (this.sim.now >= deadlineNs) break;
      yield { k: "poll", deadline: deadlineNs };
    }
    yield { k: "exec", sym: TEXT.snooze, i: 2 };
    cpu.polling = false;
    cpu.localIrqDisable();
  }

  private *enterState(cpu: GuestCpu, index: number): KCode {
    const drv = this.driver;
    if (drv === null) return;
    const st = drv.states[index];
    switch (st.kind) {
      case "snooze": {
        // snooze_loop: snooze_exit_time = get_tb() + snooze_timeout
        const timeoutNs = drv.snoozeTimeoutEnabled
          ? (drv.snoozeTimeoutTb * 1e9) / this.tbFreqValue
          : Number.POSITIVE_INFINITY;
        yield* this.pollLoop(cpu, this.sim.now + timeoutNs);
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
            this.console.printk(
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

  // ===========================================================================================
  // Tasks
  // ===========================================================================================

  /** Tasks created and not yet handed to their CPU (wake_up_new_task pending). */
  private readonly pendingSpawns: Task[] = [];

  /**
   * Creates a task pinned to `cpu` running `program` (fork + sched_setaffinity). The new task is
   * woken by kernel code on an online CPU (wake_up_new_task: an IPI if its CPU is not polling):
   * at the end of boot for tasks created before or in whenReady(), otherwise as soon as a CPU
   * runs kernel code.
   */
  spawn(name: string, cpuLogical: number, program: TaskProgram): Task {
    if (this.state === "panicked") {
      throw new GuestKernelError(`cannot start task '${name}': the guest panicked`);
    }
    if (this.boot !== null && (cpuLogical < 0 || cpuLogical >= this.boot.threads.length)) {
      throw new GuestKernelError(
        `cannot start task '${name}' on cpu ${cpuLogical}: the guest has cpus 0..${this.boot.threads.length - 1}`,
      );
    }
    const task = new Task(this.nextPid++, name, cpuLogical, program);
    task.state = "sleeping";
    this.tasks.push(task);
    this.pendingSpawns.push(task);
    if (this.state === "running" || this.state === "hung") {
      for (const c of this.cpus) {
        if (c?.online && c.injectWork(this.drainSpawns(c))) break;
      }
    }
    return task;
  }

  private *initProgram(): TaskProgram {
    for (;;) {
      yield { k: "sleep", ns: this.config.initPollNs };
      if (this.pendingSpawns.length > 0) yield { k: "forkPending" };
    }
  }

  /** wake_up_new_task for the tasks created since the last call, run on `cpu`. */
  private *drainSpawns(cpu: GuestCpu): KCode {
    while (this.pendingSpawns.length > 0) {
      const t = this.pendingSpawns.shift() as Task;
      yield* cpu.ttwu(t);
    }
  }

  /**
   * try_to_wake_up(p) called on p's own CPU from interrupt context (an IPI's call-function
   * handler): enqueue and ask for a reschedule.
   */
  wakeLocal(task: Task): void {
    if (task.state !== "sleeping") return;
    const cpu = this.cpuLogical(task.cpu);
    task.state = "runnable";
    task.wokenAt = this.sim.now;
    cpu.runqueue.push(task);
    if (cpu.current === null) cpu.setNeedResched();
  }

  private *taskMain(cpu: GuestCpu, task: Task): KCode {
    let input = this.sim.now;
    for (;;) {
      const r = task.program.next(input);
      if (r.done) {
        task.state = "dead";
        task.cpuTimeNs += this.sim.now - task.ranAt;
        cpu.releaseTask(task);
        yield* cpu.schedule();
        return;
      }
      const op = r.value;
      if (op.k === "compute" || op.k === "syscall") {
        // the common ops inline (no generator per op): user work, or a system call's kernel time,
        // then the return-to-user reschedule check of taskOp
        yield op.k === "compute" ? { k: "work", ns: op.ns } : { k: "delay", ns: op.ns };
        if (cpu.needResched && task.state === "running") yield* cpu.schedule();
      } else {
        yield* this.taskOp(cpu, task, op);
      }
      input = this.sim.now;
    }
  }

  private *taskOp(cpu: GuestCpu, task: Task, op: TaskOp): KCode {
    const c = this.costs;
    switch (op.k) {
      case "compute":
        yield { k: "work", ns: op.ns };
        break;
      case "syscall":
        yield { k: "delay", ns: op.ns };
        break;
      case "sleep":
      case "sleepUntil": {
        const expires = op.k === "sleep" ? cpu.ktime() + op.ns : op.guestNs;
        yield { k: "delay", ns: c.pipeSyscallNs / 2 };
        const t: HrTimer = {
          name: "hrtimer_wakeup",
          expires,
          period: 0,
          queued: false,
          fn: (cc) => cc.ttwu(task),
        };
        task.state = "sleeping";
        yield* cpu.hrtimerStart(t);
        yield* cpu.schedule();
        break;
      }
      case "read": {
        yield { k: "delay", ns: c.pipeSyscallNs };
        while (op.pipe.tokens === 0) {
          task.state = "sleeping";
          op.pipe.waiters.push(task);
          yield* cpu.schedule();
        }
        op.pipe.tokens--;
        break;
      }
      case "write": {
        yield { k: "delay", ns: c.pipeSyscallNs };
        op.pipe.tokens++;
        const w = op.pipe.waiters.shift();
        if (w !== undefined) yield* cpu.ttwu(w);
        break;
      }
      case "forkPending":
        yield { k: "delay", ns: c.pipeSyscallNs };
        yield* this.drainSpawns(cpu);
        break;
      case "callFunction": {
        const target = this.cpuLogical(op.cpu);
        yield* cpu.callFunctionSingle(target, op.fn);
        break;
      }
    }
    // return to user mode: reschedule if asked to
    if (cpu.needResched && task.state === "running") yield* cpu.schedule();
  }

  // ===========================================================================================
  // Oops and panic (linux: arch/powerpc/kernel/traps.c, kernel/panic.c)
  // ===========================================================================================

  private *die(cpu: GuestCpu, vector: number, srr0: bigint, srr1: bigint): KCode {
    const con = this.console;
    const nip = `c${srr0.toString(16).padStart(15, "0")}`;
    let sig = 4;
    let what = "Exception in kernel mode";
    if (vector === BOOK3S_INTERRUPT_PROGRAM) {
      if (srr1 & SRR1_PROGTRAP) sig = 5;
      else if (srr1 & SRR1_PROGILL || srr1 & SRR1_PROGPRIV) sig = 4;
    } else {
      sig = 7;
      what = `Unrecoverable exception ${vector.toString(16)}`;
    }
    yield { k: "delay", ns: this.costs.interruptEntryNs };
    // oops_begin: the die lock; a CPU that finds it taken spins until the panic stops it
    if (this.dieOwner !== null && this.dieOwner !== cpu) {
      yield { k: "park" };
      return;
    }
    this.dieOwner = cpu;
    this.oopsCount++;
    const sym = Object.values(TEXT).find(
      (s) => Number(srr0) >= s.addr && Number(srr0) < s.addr + 4 * s.words.length,
    );
    con.printk("emerg", `Oops: ${what}, sig: ${sig} [#${this.oopsCount}]`);
    con.printk("emerg", `LE PAGE_SIZE=64K MMU=Radix SMP NR_CPUS=2048 NUMA pSeries`);
    con.printk(
      "emerg",
      `CPU: ${cpu.logical} PID: ${cpu.current?.pid ?? 0} Comm: ${cpu.current?.name ?? `swapper/${cpu.logical}`} Not tainted ${this.release}`,
    );
    con.printk("emerg", `NIP:  ${nip} LR: ${nip} CTR: 0000000000000000`);
    con.printk(
      "emerg",
      `REGS: c00000000fffbd70 TRAP: ${vector.toString(16).padStart(4, "0")}   Not tainted  (${this.release})`,
    );
    con.printk("emerg", `MSR:  ${srr1.toString(16).padStart(16, "0")}`);
    if (sym !== undefined)
      con.printk(
        "emerg",
        `NIP [${nip}] ${sym.name}+0x${(Number(srr0) - sym.addr).toString(16)}/0x${(4 * sym.words.length).toString(16)}`,
      );
    con.printk("emerg", "---[ end trace 0000000000000000 ]---");
    const reason =
      cpu.current === null && !this.config.panicOnOops
        ? "Attempted to kill the idle task!"
        : "Fatal exception";
    yield* this.panic(cpu, reason);
  }

  /** panic(): stop the other CPUs, tell the platform (ibm,os-term), spin. */
  *panic(cpu: GuestCpu, reason: string): KCode {
    const con = this.console;
    con.printk("emerg", `Kernel panic - not syncing: ${reason}`);
    this.state = "panicked";
    this.halting = true;
    // smp_send_stop
    for (const other of this.cpus) if (other !== undefined && other !== cpu) other.halt();
    // pseries panic notifier -> rtas_os_term (only with ibm,extended-os-term, which may return)
    const token = this.rtasToken("ibm,os-term");
    if (token !== RTAS_UNKNOWN_SERVICE && this.boot?.extendedOsTerm) {
      const msg = `OS panic: ${reason}`;
      this.osTermMessage = msg;
      const ram = this.readRam();
      const bytes = new TextEncoder().encode(msg);
      bytes.forEach((b, i) => {
        ram.write8(RTAS_OS_TERM_BUF + i, b);
      });
      ram.write8(RTAS_OS_TERM_BUF + bytes.length, 0);
      const [status] = yield* this.rtasCall(cpu, token, 1, [RTAS_OS_TERM_BUF]);
      if (status !== 0) con.printk("emerg", `ibm,os-term call failed ${status}`);
    }
    con.printk("emerg", `---[ end Kernel panic - not syncing: ${reason} ]---`);
    cpu.halt();
    yield { k: "park" };
  }

  // ===========================================================================================
  // Reports
  // ===========================================================================================

  /** /sys/devices/system/cpu/cpuN/cpuidle/stateM/* of every CPU. */
  cpuidleSysfs(): Array<{ cpu: number; states: ReturnType<CpuidleDevice["sysfs"]> }> {
    return this.cpus
      .filter((c) => c !== undefined && c.cpuidle !== null)
      .map((c) => ({ cpu: c.logical, states: (c.cpuidle as CpuidleDevice).sysfs() }));
  }
}

/**
 * The ThreadSoftware QEMU hands to vCPU n (image.cpu(n)). It binds to the hardware thread the
 * first time the vCPU runs and forwards to the GuestCpu; when the hypervisor later runs the vCPU
 * on another thread (a migration destination), the same GuestCpu moves there, lazily: only when
 * that thread actually runs the guest.
 */
class GuestCpuShim implements ThreadSoftware {
  private target: GuestCpu | null = null;
  constructor(
    private readonly kernel: GuestKernel,
    private readonly vcpuId: number,
  ) {}
  private bind(thread: HwThread): GuestCpu {
    if (this.target === null) this.target = this.kernel.attach(this.vcpuId, thread);
    else if (this.target.thread !== thread) this.kernel.cpuMoved(this.target, thread);
    return this.target;
  }
  interrupt(thread: HwThread, vector: number): void {
    this.bind(thread).interrupt(thread, vector);
  }
  resume(thread: HwThread): void {
    this.bind(thread).resume(thread);
  }
}

/** Creates the guest kernel image (what QEMU loads like `-kernel vmlinux`). */
export function createGuestKernel(options: { sim: Simulation; config?: GuestKernelConfig }): GuestKernel {
  return new GuestKernel(options.sim, options.config ?? {});
}

export { DEFAULT_GUEST_COSTS, Pipe, SPRN_PVR };
