// The host Linux kernel of a POWER9 PowerNV machine: boots from the firmware's DTB bytes,
// brings up one host CPU per hardware thread the tree lists, parses dt-cpu-features and the
// OPAL idle states, idles through cpuidle-powernv, and initialises KVM HV.
// linux: arch/powerpc/kernel/prom.c (early_init_devtree, early_init_dt_scan_cpus),
// arch/powerpc/kernel/dt_cpu_ftrs.c, arch/powerpc/platforms/powernv/idle.c,
// drivers/cpuidle/cpuidle-powernv.c, arch/powerpc/kvm/book3s_hv.c (kvmppc_book3s_init_hv).
import { type DeviceTree, decodeDtb, FdtError } from "@stopsim/devicetree";
import type { Simulation } from "@stopsim/engine";
import {
  type HwThread,
  LPCR_LD,
  type PnvMachine,
  type SmtCore,
  SPRN_FSCR,
  SPRN_HFSCR,
  SPRN_LPCR,
  SPRN_PVR,
} from "@stopsim/isa";
import { CpuidleDevice, cpuFeatureNames, identifyCpu, MenuGovernor } from "@stopsim/linux";
import { buildKnowsIdleStopGuest, type KvmBuild, type KvmBuildName, resolveKvmBuild } from "./build.js";
import { type HostCostTable, resolveCosts } from "./costs.js";
import { DECREMENTER_DEFAULT_MAX, HostCpu } from "./cpu.js";
import { type CpuSpec, hasArch300, scanDtCpuFeatures } from "./dt-cpu-ftrs.js";
import { HostBootError, HostConfigError } from "./errors.js";
import { type HostIdleState, initIdleStates, type PowerMgtResult, powernvIdleDriver } from "./idle.js";
import { readFwFeatures } from "./kvm/cpu-char.js";
import { Kvm } from "./kvm/kvm.js";
import { KernelLog } from "./log.js";
import { HOST_XIVE_PRIORITY, HostXive } from "./xive-host.js";

export interface BootHostOptions {
  /**
   * The machine the kernel runs on (its hardware threads). The kernel finds its threads by the
   * PIRs the tree lists and reads the PVR from the boot thread; every other fact comes from the
   * tree.
   */
  readonly machine: PnvMachine;
  /** The machine's simulation (default machine.sim; another one is refused). */
  readonly sim?: Simulation;
  /** The device tree blob the firmware hands over (the only source of machine facts). */
  readonly dtb: Uint8Array;
  /** The firmware's OPAL runtime (kept for OPAL calls; boot never reads firmware objects). */
  readonly opal?: unknown;
  /** Kernel build: a preset name or a KvmBuild. */
  readonly kernel: KvmBuild | KvmBuildName;
  /** Overrides of the cost table (costs.ts). */
  readonly costs?: Partial<HostCostTable>;
  /** CONFIG_HZ of the host kernel (scheduler tick while a task runs). Default 100. */
  readonly hz?: number;
  /** PM QoS CPU latency limit for the host governor, ns (default: none). */
  readonly latencyLimitNs?: number;
  /** cpuidle states disabled through sysfs (state names, e.g. ["stop2"]). */
  readonly disabledIdleStates?: readonly string[];
  /** Seed-stream name prefix (default "host"). */
  readonly name?: string;
}

/** PVR version of POWER9 (linux: arch/powerpc/include/asm/reg.h PVR_POWER9). */
const PVR_POWER9 = 0x004e;

/** One core as the kernel sees it: a /cpus node and the PIRs of its threads. */
export interface HostCoreView {
  readonly path: string;
  /** ibm,chip-id of the node (-1 when absent). */
  readonly chipId: number;
  readonly pirs: readonly number[];
}

/**
 * The kernel's view of its processors, built from what it reads: the PVR (mfspr on the boot
 * thread, identify_cpu) and the tree (linux: arch/powerpc/kernel/setup-common.c
 * smp_setup_cpu_maps: threads per core = the boot CPU node's ibm,ppc-interrupt-server#s count).
 */
export interface HostCpuView {
  readonly pvr: number;
  /** identify_cpu's cpu_name ("POWER9 (raw)"). */
  readonly cpuName: string;
  /** "POWER9 DD2.3": the revision show_cpuinfo prints (PVR major.minor). */
  readonly revision: string;
  readonly threadsPerCore: number;
  readonly cores: readonly HostCoreView[];
}

export class Host {
  readonly kvm: Kvm;

  constructor(
    readonly sim: Simulation,
    readonly name: string,
    readonly tree: DeviceTree,
    readonly machine: PnvMachine,
    readonly view: HostCpuView,
    readonly cores: readonly SmtCore[],
    readonly cpus: readonly HostCpu[],
    readonly cpuSpec: CpuSpec,
    readonly idle: PowerMgtResult,
    readonly build: KvmBuild,
    readonly costs: HostCostTable,
    readonly log: KernelLog,
    tickNs: number,
    /** The host's XIVE (undefined: a host built without it, e.g. by a test). */
    readonly xive?: HostXive,
  ) {
    this.kvm = new Kvm({
      cpus,
      threadsPerCore: view.threadsPerCore,
      hostLpcr: cpuSpec.lpcr,
      hostHfscr: cpuSpec.hfscr,
      arch300: hasArch300(cpuSpec),
      // the firmware's /ibm,opal/fw-features, as kvmppc_get_cpu_char reads them
      fwFeatures: readFwFeatures(tree),
      enableGuestStop: cpuSpec.enableGuestStop,
      build,
      log,
      costs,
      tickNs,
      xive,
    });
  }

  /** The PVR the kernel read on its boot thread. */
  get pvr(): number {
    return this.view.pvr;
  }

  /** The seed design's flag: set when the tree had the dt-cpu-feature "idle-stop-guest". */
  get enableGuestStop(): boolean {
    return this.cpuSpec.enableGuestStop;
  }

  /** The cpuidle driver table (snooze first). */
  get idleStates(): readonly HostIdleState[] {
    return this.idle.cpuidle;
  }

  /** The hardware threads, in host CPU order. */
  get threads(): readonly HwThread[] {
    return this.cpus.map((c) => c.thread);
  }

  /** dmesg-like boot and runtime log. */
  dmesg(): string[] {
    return this.log.dmesg();
  }

  /** Idle residency per state name summed over CPUs, ns. */
  idleResidency(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.cpus) for (const [k, v] of c.residencyNs) out[k] = (out[k] ?? 0) + v;
    return out;
  }
}

/**
 * linux: arch/powerpc/kernel/time.c set_decrementer_max: on ISA 3.0 the boot CPU node's
 * ibm,dec-bits (32..64, else a warning and 32) gives the signed maximum 2^(bits-1) - 1; before
 * it, and without the property, DECREMENTER_DEFAULT_MAX.
 */
export function setDecrementerMax(
  node: { readonly decBits: number | undefined },
  arch300: boolean,
  log: KernelLog,
): number {
  let bits = 32;
  if (arch300) {
    bits = node.decBits ?? 32;
    if (bits > 64 || bits < 32) {
      log.warn("time_init: firmware supplied invalid ibm,dec-bits");
      bits = 32;
    }
  }
  const max = 2 ** (bits - 1) - 1;
  // pr_info("time_init: %u bit decrementer (max: %llx)\n", bits, decrementer_max)
  log.info(`time_init: ${bits} bit decrementer (max: ${(2n ** BigInt(bits - 1) - 1n).toString(16)})`);
  return max;
}

interface CpuNodeInfo {
  readonly path: string;
  readonly pvr: number;
  readonly chipId: number;
  readonly servers: number[];
  /** ibm,dec-bits (undefined: absent or not one cell). */
  readonly decBits: number | undefined;
}

function readCpuNodes(tree: DeviceTree, log: KernelLog): CpuNodeInfo[] {
  const cpus = tree.getNode("/cpus");
  if (cpus === undefined) {
    throw new HostBootError("no /cpus node in the firmware device tree: the host cannot find its CPUs");
  }
  const out: CpuNodeInfo[] = [];
  for (const n of cpus.children) {
    const dt = n.getProp("device_type");
    let type = "";
    try {
      type = dt?.asString() ?? "";
    } catch {
      type = "";
    }
    if (type !== "cpu") continue;
    const status = n.getProp("status");
    try {
      if (status !== undefined && status.asString() !== "okay") {
        log.info(`${n.path}: status "${status.asString()}", not started`);
        continue;
      }
    } catch {
      // unreadable status: treated as okay, as of_device_is_available would not
    }
    const verProp = n.getProp("cpu-version");
    if (verProp === undefined || verProp.length < 4) {
      log.warn(`${n.path}: no cpu-version property: CPU skipped`);
      continue;
    }
    const pvr = verProp.asU32Array()[0] >>> 0;
    const serv = n.getProp("ibm,ppc-interrupt-server#s");
    let servers: number[];
    if (serv !== undefined && serv.length >= 4 && serv.length % 4 === 0) {
      servers = serv.asU32Array();
    } else {
      const reg = n.getProp("reg");
      if (reg === undefined || reg.length < 4) {
        log.warn(`${n.path}: neither ibm,ppc-interrupt-server#s nor reg: CPU skipped`);
        continue;
      }
      servers = [reg.asU32Array()[0]];
    }
    const chipProp = n.getProp("ibm,chip-id");
    const chipId = chipProp !== undefined && chipProp.length >= 4 ? chipProp.asU32Array()[0] : -1;
    const decProp = n.getProp("ibm,dec-bits");
    const decBits = decProp !== undefined && decProp.length === 4 ? decProp.asU32Array()[0] : undefined;
    out.push({ path: n.path, pvr, chipId, servers, decBits });
  }
  return out;
}

/**
 * Boots the host kernel from the firmware's DTB bytes. Throws HostBootError when the blob is
 * truncated or corrupt, or describes no usable CPU.
 */
export function bootHost(options: BootHostOptions): Host {
  const { machine, dtb } = options;
  if (typeof machine !== "object" || machine === null || typeof machine.threadByPir !== "function") {
    throw new HostConfigError(
      "bootHost: machine is required: the PnvMachine the firmware booted on (new PnvMachine(sim, { chip }))",
    );
  }
  const sim = options.sim ?? machine.sim;
  if (sim !== machine.sim) {
    throw new HostConfigError(
      "bootHost: sim must be the machine's simulation (leave it out to use machine.sim)",
    );
  }
  if (!(dtb instanceof Uint8Array)) {
    throw new HostConfigError(
      "bootHost: dtb must be the Uint8Array the firmware produced (e.g. buildHostDtb())",
    );
  }
  const build = resolveKvmBuild(options.kernel);
  const costs = resolveCosts(options.costs);
  const hz = options.hz ?? 100;
  if (!Number.isInteger(hz) || hz < 24 || hz > 1000) {
    throw new HostConfigError(`bootHost: hz must be an integer in 24..1000 (CONFIG_HZ), got ${String(hz)}`);
  }
  const name = options.name ?? "host";
  const log = new KernelLog(sim);
  let tree: DeviceTree;
  try {
    tree = decodeDtb(dtb);
  } catch (e) {
    if (e instanceof FdtError) {
      throw new HostBootError(
        `cannot boot: the firmware device tree is invalid (${e.code} at byte ${e.offset}: ${e.reason}); check that the whole DTB was handed over`,
      );
    }
    throw e;
  }
  log.info(`Linux version 5.7.0-stopsim (KVM build ${build.name}) #1 SMP`);
  const cpuNodes = readCpuNodes(tree, log);
  if (cpuNodes.length === 0) {
    throw new HostBootError("cannot boot: the device tree lists no usable CPU under /cpus");
  }

  // The hardware threads the tree names, found by PIR on the machine (as the kernel starts its
  // secondaries with opal_start_cpu(server number)); the kernel builds no hardware.
  const cores: SmtCore[] = [];
  const threads: HwThread[] = [];
  const coreViews: HostCoreView[] = [];
  for (const node of cpuNodes) {
    // a server number that names no thread of the machine (a POWER9 PIR has 15 bits; a corrupt
    // tree can say anything) leaves the CPU out, as the kernel leaves out CPUs it cannot start
    const home = machine.coreOf(node.servers[0]);
    if (home === undefined) {
      log.warn(
        `${node.path}: interrupt server 0x${node.servers[0].toString(16)} is not a hardware thread: CPU ignored`,
      );
      continue;
    }
    const pirs: number[] = [];
    for (const pir of node.servers) {
      const t = machine.threadByPir(pir);
      if (t === undefined || t.core !== home.core) {
        log.warn(
          `${node.path}: interrupt server 0x${pir.toString(16)} is not a thread of core ${node.servers[0] >>> 2}: ignored`,
        );
        continue;
      }
      if (threads.includes(t)) {
        log.warn(`${node.path}: interrupt server 0x${pir.toString(16)} is listed twice: ignored`);
        continue;
      }
      threads.push(t);
      pirs.push(pir);
    }
    if (!cores.includes(home.core)) cores.push(home.core);
    coreViews.push({ path: node.path, chipId: node.chipId, pirs });
  }
  if (threads.length === 0) throw new HostBootError("cannot boot: no hardware thread could be started");
  const taken = threads.find((t) => t.software("hv") !== null);
  if (taken !== undefined) {
    throw new HostConfigError(
      `bootHost: thread PIR 0x${taken.pir.toString(16)} already runs a host kernel: boot each host on a PnvMachine of its own`,
    );
  }

  // linux: arch/powerpc/kernel/cputable.c identify_cpu(0, mfspr(SPRN_PVR)) on the boot thread
  const pvr = Number(threads[0].getSpr(SPRN_PVR)) >>> 0;
  if (pvr >>> 16 !== PVR_POWER9) {
    throw new HostBootError(
      `cannot boot: PVR 0x${pvr.toString(16).padStart(8, "0")} is not a POWER9 (version 0x004e): this kernel runs POWER9 PowerNV hosts only`,
    );
  }
  const revision = `POWER9 DD${(pvr >>> 8) & 0xf}.${pvr & 0xff}`;
  log.info(`cpu-version 0x${pvr.toString(16).padStart(8, "0")}: ${revision}`);
  for (const node of cpuNodes) {
    if (node.pvr !== pvr)
      log.warn(`${node.path}: cpu-version 0x${node.pvr.toString(16)} differs from the boot CPU`);
  }
  // linux: arch/powerpc/kernel/setup-common.c smp_setup_cpu_maps -> cpu_init_thread_core_maps:
  // threads per core is the boot CPU node's server count, and only a power of two is supported
  const tpc = cpuNodes[0].servers.length;
  if ((tpc & (tpc - 1)) !== 0) {
    throw new HostBootError(
      `cannot boot: kernel BUG in cpu_init_thread_core_maps: ${tpc} threads per core (${cpuNodes[0].path}) is not a power of 2`,
    );
  }
  log.info(`CPU maps initialized for ${tpc} thread${tpc > 1 ? "s" : ""} per core`);
  const view: HostCpuView = {
    pvr,
    cpuName: identifyCpu(pvr).cpuName,
    revision,
    threadsPerCore: tpc,
    cores: coreViews,
  };

  const boot = threads[0];
  const spec = scanDtCpuFeatures(
    tree,
    { hvMode: boot.hypervisorState, pvr, knowsIdleStopGuest: buildKnowsIdleStopGuest(build) },
    log,
  );
  log.info(`cpu features: ${cpuFeatureNames(spec.cpuFeatures).join(" ")}`);
  const idle = initIdleStates(tree, hasArch300(spec), log);
  const decrementerMax = setDecrementerMax(cpuNodes[0], hasArch300(spec), log);
  // linux: arch/powerpc/kernel/time.c enable_large_decrementer: "If we're running as the
  // hypervisor we need to enable the LD manually" (a guest's firmware does it for it)
  if (hasArch300(spec) && decrementerMax > DECREMENTER_DEFAULT_MAX && boot.hypervisorState) {
    spec.lpcr |= LPCR_LD;
  }

  const driver = powernvIdleDriver(idle.cpuidle);
  const disabled = new Set<number>();
  for (const n of options.disabledIdleStates ?? []) {
    const s = idle.cpuidle.find((x) => x.name === n);
    if (s === undefined) {
      throw new HostConfigError(
        `bootHost: disabledIdleStates names '${n}', which is not a cpuidle state of this host (${idle.cpuidle.map((x) => x.name).join(", ")})`,
      );
    }
    disabled.add(s.index);
  }

  // one menu governor for every CPU (its data is per CPU, like menu_devices)
  const governor = new MenuGovernor();
  const idleConfig = {
    latencyReqNs: options.latencyLimitNs ?? Number.POSITIVE_INFINITY,
    tickNs: 1e9 / hz,
    decrementerMax,
  };
  const cpus: HostCpu[] = [];
  threads.forEach((t, i) => {
    const dev = new CpuidleDevice(i, driver);
    for (const d of disabled) dev.statesUsage[d].disable = true;
    // __restore_cpu_cpufeatures: the feature handlers' LPCR/HFSCR/FSCR on every thread
    t.setSpr(SPRN_LPCR, spec.lpcr);
    t.setSpr(SPRN_HFSCR, spec.hfscr);
    t.setSpr(SPRN_FSCR, spec.fscr);
    cpus.push(
      new HostCpu(sim, i, t, dev, governor, costs, sim.rng.stream(`${name}/cpu${i}`), log, idleConfig),
    );
  });
  log.info(`smp: Brought up 1 node, ${cpus.length} CPUs`);
  // linux: sysdev/xive/native.c xive_native_init + xive_setup_cpu: POWER9 interrupts go through XIVE
  const xive = new HostXive(threads);
  // a named function, not a function literal assigned to the property: V8 allocates a function
  // literal assigned straight to a property in the old generation (a heuristic for methods), and
  // this one's closure holds the whole host, which every minor collection would then keep alive
  // and promote until the next full one (one host per run of a sweep)
  const onRaise = (cpu: number) => cpus[cpu]?.hostIrqRaised();
  xive.onRaise = onRaise;
  for (const c of cpus) c.hostIrqs = xive;
  log.info(
    `XIVE: Interrupt handling initialized with native backend (${cpus.length} CPUs, priority ${HOST_XIVE_PRIORITY})`,
  );
  const host = new Host(
    sim,
    name,
    tree,
    machine,
    view,
    cores,
    cpus,
    spec,
    idle,
    build,
    costs,
    log,
    1e9 / hz,
    xive,
  );
  log.info(
    `kvm-hv: build ${build.name}: stop emulation ${build.emulateStopTrap ? "on" : "off"}, guest PSSCR policy ${build.psscrPolicy}, enable_guest_stop=${spec.enableGuestStop}`,
  );
  // every CPU enters its idle loop
  for (const c of cpus) c.schedule(false);
  return host;
}
