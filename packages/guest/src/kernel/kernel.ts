// The guest kernel as a whole: the image QEMU loads (GuestKernelImage of docs/ARCHITECTURE.md),
// its state, RTAS calls, tasks and the panic path. Its parts live where Linux keeps them: early
// boot in setup.ts (arch/powerpc/kernel/setup_64.c, prom.c), SMP bring-up in smp.ts
// (platforms/pseries/smp.c), the VPA and RTAS tokens in lpar.ts (platforms/pseries/lpar.c,
// kernel/rtas.c), the tick in time.ts, the idle loop in idle.ts (kernel/sched/idle.c,
// drivers/cpuidle/cpuidle.c), tasks in sched.ts (kernel/sched/core.c), die() in traps.ts
// (arch/powerpc/kernel/traps.c) and the lockup watchdog in watchdog.ts (arch/powerpc/kernel/watchdog.c).
// linux: arch/powerpc/kernel/rtas.c (rtas_call, rtas_os_term) and kernel/panic.c (panic) here.

import type { Simulation } from "@stopsim/engine";
import { type HwThread, type Memory, SPRN_PVR, type ThreadSoftware } from "@stopsim/isa";
import {
  CPU_FTR_DBELL,
  CPU_FTR_SMT,
  type CpuidleDevice,
  type CpuidleGovernor,
  H_RTAS,
  MenuGovernor,
  TeoGovernor,
} from "@stopsim/linux";
import type { BootParams } from "../boot/devtree.js";
import type { PseriesIdleDriver, Stop0liteMode } from "../cpuidle/driver.js";
import { RTAS_UNKNOWN_SERVICE } from "../linux/papr.js";
import { KernelConsole } from "./console.js";
import { DEFAULT_GUEST_COSTS, type GuestCosts, resolveCosts } from "./costs.js";
import { GuestCpu, type KCode, type KernelServices } from "./cpu.js";
import { idleLoop } from "./idle.js";
import { KERNEL_ENTRY, KERNEL_TEXT_SIZE, RTAS_OS_TERM_BUF, rtasArgsAddr, TEXT } from "./image.js";
import { rtasBusyDelayTime, rtasToken } from "./lpar.js";
import { WAITING } from "./runner.js";
import { drainSpawns, taskMain } from "./sched.js";
import { bootEntry, readRam } from "./setup.js";
import { secondaryEntry } from "./smp.js";
import { Pipe, Task, type TaskProgram } from "./task.js";
import { die } from "./traps.js";
import { stalledCpus, type WatchdogSmp } from "./watchdog.js";
import type { XiveSpapr } from "./xive.js";

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
   * tree the platform hands back. Default true (as every prom_init does); false: the kernel boots
   * from the tree it was given.
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
   * Kernel paths as timed steps (default true): the costs of a path nothing outside the vCPU can
   * see are summed and spent once, before the next instruction or action other CPUs and layers
   * see (runner.ts stepLocal). false: every cost is its own wait (one event each).
   */
  timedSteps?: boolean;
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
  driver: PseriesIdleDriver | null = null;
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
  /** @internal */
  readonly nearMissAt = new Map<number, number>();
  /** @internal the lockup watchdog's SMP checker (watchdog.ts) */
  readonly wdSmp: WatchdogSmp = { enabled: new Set(), pending: new Set(), stuck: new Set(), lastResetNs: 0 };
  /** Message passed to ibm,os-term, once called. */
  osTermMessage: string | null = null;
  /** Resolves callbacks when all CPUs are online and cpuidle is registered. */
  /** @internal */
  readyListeners: Array<() => void> = [];
  /** @internal */
  ram: Memory | null = null;
  /** Every RAM the image was loaded into (the source's, then migration destinations'). */
  /** @internal */
  readonly loadedRams: Memory[] = [];
  /** @internal */
  readonly softwareById = new Map<number, GuestCpuShim>();
  /** @internal */
  bootTime = 0;
  /** @internal */
  nextPid = 1;
  /** @internal */
  tbFreqValue = TB_TICKS_PER_USEC_DEFAULT * 1_000_000;
  /** @internal */
  decMaxValue = 0x7fffffff;
  /** @internal */
  oopsCount = 0;
  /** @internal */
  dieOwner: GuestCpu | null = null;
  /** @internal */
  halting = false;
  readonly tasks: Task[] = [];
  /** @internal */
  readonly calledIn = new Set<number>();
  /** @internal */
  readonly instance: number;

  constructor(
    readonly sim: Simulation,
    config: GuestKernelConfig = {},
  ) {
    // the n-th guest kernel of the model, counted over every partition of it: names its random
    // streams (same seed, same run; no two partitions share a stream)
    this.instance = sim.rng.instance("guest-kernel");
    this.costs = resolveCosts(config.costs);
    this.config = {
      stop0lite: config.stop0lite ?? "never",
      governor: config.governor ?? "menu",
      ipi: config.ipi ?? "linux",
      xive: config.xive ?? true,
      cas: config.cas ?? true,
      hz: config.hz ?? 100,
      panicOnOops: config.panicOnOops ?? true,
      watchdogThreshS: config.watchdogThreshS ?? 10,
      latencyReqNs: config.latencyReqNs ?? Number.POSITIVE_INFINITY,
      disableStates: config.disableStates ?? [],
      initPollNs: config.initPollNs ?? 10_000_000,
      timedSteps: config.timedSteps ?? true,
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
  /** @internal */
  readonly tracks = new Map<number, number>();
  /** @internal */
  traceTrack(cpu: GuestCpu): number {
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
    // the list may have holes: a vCPU can run before vCPU 0 has read the tree
    const existing = this.cpus.find((c) => c?.thread === thread);
    if (existing !== undefined) return existing;
    // the kernel boots in the RAM its first vCPU sees, when the image was loaded into it
    const mem = thread.memory;
    if (this.state === "created" && mem !== null && this.loadedRams.includes(mem)) this.ram = mem;
    const logical =
      this.boot !== null ? (this.boot.threads.find((t) => t.hwId === vcpuId)?.logical ?? vcpuId) : vcpuId;
    const c = new GuestCpu(logical, vcpuId, thread, this.services());
    c.timedSteps = this.config.timedSteps;
    this.cpus[logical] = c;
    return c;
  }

  /** @internal */
  services(): KernelServices {
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
      bootEntry: (c) => bootEntry(this, c),
      secondaryEntry: (c) => secondaryEntry(this, c),
      idleLoop: (c) => idleLoop(this, c),
      die: (c, v, s0, s1) => die(this, c, v, s0, s1),
      taskMain: (c, t) => taskMain(this, c, t),
      halted: this.halted,
      console: this.console,
      trace: (c, n, a) => this.trace(c, n, a),
    };
  }

  get release(): string {
    return this.config.stop0lite === "never" ? "5.6.0" : `5.6.0-stop0lite-${this.config.stop0lite}`;
  }

  // linux: arch/powerpc/kernel/rtas.c rtas_call (through H_RTAS)
  *rtasCall(
    cpu: GuestCpu,
    token: number,
    nret: number,
    args: readonly number[],
  ): Generator<import("./cpu.js").KOp, number[], void> {
    const ram = readRam(this);
    const a = rtasArgsAddr(cpu.logical);
    ram.write32(a, token >>> 0, false);
    ram.write32(a + 4, args.length, false);
    ram.write32(a + 8, nret, false);
    args.forEach((v, i) => {
      ram.write32(a + 12 + 4 * i, v >>> 0, false);
    });
    for (let i = 0; i < nret; i++) ram.write32(a + 12 + 4 * (args.length + i), 0, false);
    // enter_rtas runs the RTAS blob QEMU put in guest memory (`sc 1` with H_RTAS, then `blr`):
    // nothing looks at the hcall's return code, the status is what the rets hold (still 0 from
    // above if the hypervisor wrote none)
    yield* cpu.hcall(H_RTAS, BigInt(a));
    const rets: number[] = [];
    for (let i = 0; i < nret; i++) rets.push(ram.read32(a + 12 + 4 * (args.length + i), false) | 0);
    return rets;
  }

  /** The token of RTAS call `name` in the device tree's /rtas node (RTAS_UNKNOWN_SERVICE if absent). */
  rtasToken(name: string): number {
    return rtasToken(this, name);
  }

  // ===========================================================================================
  // Tick and watchdog
  // ===========================================================================================

  /**
   * The CPUs that are idle with their next timer overdue by at least `minNs`: what a stall
   * detector on another CPU sees of a CPU that stopped making progress (a wake event that never
   * arrived), before the lockup watchdog's threshold.
   */
  stalledCpus(minNs: number = STALL_NS): number[] {
    return stalledCpus(this, minNs);
  }

  // ===========================================================================================
  // The idle loop (linux: kernel/sched/idle.c do_idle, cpuidle_idle_call)
  // ===========================================================================================

  // ===========================================================================================
  // Tasks
  // ===========================================================================================

  /** Tasks created and not yet handed to their CPU (wake_up_new_task pending). */
  /** @internal */
  readonly pendingSpawns: Task[] = [];

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
        if (c?.online && c.injectWork(drainSpawns(this, c))) break;
      }
    }
    return task;
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

  // ===========================================================================================
  // Oops and panic (linux: arch/powerpc/kernel/traps.c, kernel/panic.c)
  // ===========================================================================================

  /** panic(): stop the other CPUs, tell the platform (ibm,os-term), spin. */
  *panic(cpu: GuestCpu, reason: string): KCode {
    const con = this.console;
    con.printk("emerg", `Kernel panic - not syncing: ${reason}`);
    this.state = "panicked";
    this.halting = true;
    // smp_send_stop
    for (const other of this.cpus) if (other !== undefined && other !== cpu) other.halt();
    // pseries panic notifier -> rtas_os_term (only with ibm,extended-os-term, which may return)
    const token = rtasToken(this, "ibm,os-term");
    if (token !== RTAS_UNKNOWN_SERVICE && this.boot?.extendedOsTerm) {
      const msg = `OS panic: ${reason}`;
      this.osTermMessage = msg;
      const ram = readRam(this);
      const bytes = new TextEncoder().encode(msg);
      bytes.forEach((b, i) => {
        ram.write8(RTAS_OS_TERM_BUF + i, b);
      });
      ram.write8(RTAS_OS_TERM_BUF + bytes.length, 0);
      // retried at once while the firmware says busy (rtas_busy_delay sleeps only on need_resched,
      // which a panicking CPU with the others stopped never sees)
      let status: number;
      do [status] = yield* this.rtasCall(cpu, token, 1, [RTAS_OS_TERM_BUF]);
      while (rtasBusyDelayTime(status) > 0);
      if (status !== 0) con.printk("emerg", `ibm,os-term call failed ${status}`);
    }
    con.printk("emerg", `---[ end Kernel panic - not syncing: ${reason} ]---`);
    // panic() ends spinning with interrupts off: the CPU runs no more kernel code (halt), and the
    // runner stops here without a new wait (a "park" would undo the halt and let an interrupt in)
    cpu.halt();
    yield WAITING;
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
  /** @internal */
  target: GuestCpu | null = null;
  constructor(
    private readonly kernel: GuestKernel,
    private readonly vcpuId: number,
  ) {}
  /** @internal */
  bind(thread: HwThread): GuestCpu {
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
