// The running pseries machine: KVM VM and vCPUs, guest RAM, the device tree in RAM, the kernel
// entry, run states and QMP events; userspace hypercalls (src/spapr-hcall.ts), RTAS
// (src/spapr-rtas.ts) and the QMP commands (src/qmp.ts) live beside it.
// qemu: hw/ppc/spapr.c spapr_machine_init / spapr_machine_reset, hw/ppc/spapr_cpu_core.c
//       spapr_cpu_set_entry_state, target/ppc/kvm.c kvm_arch_handle_exit, softmmu/runstate.c
//       (run states, qemu_system_guest_panicked).
import type { DeviceTree } from "@stopsim/devicetree";
import type { Simulation } from "@stopsim/engine";
import {
  KVM_CAP_PPC_FIXUP_HCALL,
  KVM_CAP_PPC_FWNMI,
  KVM_CAP_PPC_GET_CPU_CHAR,
  KVM_CAP_PPC_GUEST_STOP,
  KVM_CAP_PPC_HTM,
  KVM_CAP_PPC_MMU_RADIX,
  KVM_CAP_PPC_NESTED_HV,
  KVM_CAP_STOP,
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_PAPR_HCALL,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_EXIT_UNKNOWN,
  KVM_REG_PPC_LPCR_64,
} from "@stopsim/host";
import { LPCR_LD, type Memory, type ThreadSoftware } from "@stopsim/isa";
import {
  type CapApplyContext,
  capByIndex,
  type KvmCapProbe,
  SPAPR_CAP_FIXED_CCD,
  SPAPR_CAP_LARGE_DECREMENTER,
  SPAPR_CAP_NUM,
  SPAPR_CAP_WORKAROUND,
} from "./caps.js";
import { type CpuModel, POWER9_CLASS, resolveCpuModel } from "./cpu-models.js";
import { MigrationError, QEMU_PROGRAM, QemuError, QmpError } from "./errors.js";
import { type HostCpuInfo, SPAPR_TIMEBASE_FREQ, spaprBuildDtb, spaprVcpuId } from "./fdt.js";
import {
  KVM_CAP_PPC_RPT_INVALIDATE,
  type KvmRun,
  type KvmSystemFd,
  type KvmVcpuFd,
  type KvmVmFd,
  parseCpuChar,
} from "./kvm.js";
import { capsOfBuild, defaultCapsWithCpu, type QemuBuild } from "./machine.js";
import {
  type ChannelFault,
  DEFAULT_MIGRATION_PARAMETERS,
  kvmPutCpuState,
  type MigrationCapabilities,
  type MigrationParameters,
  OutgoingMigration,
  spaprCapsPostMigration,
} from "./migration/migration.js";
import { loadVmState, TARGET_PAGE_SIZE } from "./migration/savevm.js";
import {
  type ParsedCommandLine,
  parseCommandLine,
  type QemuConfig,
  type QemuOptionsObject,
} from "./options.js";
import { qmpDispatch } from "./qmp.js";
import { GuestRam } from "./ram.js";
import { spaprHypercall } from "./spapr-hcall.js";
import { SpaprIrq } from "./spapr-irq.js";
import { rtasTable } from "./spapr-rtas.js";

/** The guest kernel image as QEMU sees it (docs/ARCHITECTURE.md "Guest boot"). */
export interface GuestKernelImage {
  readonly entryPoint: bigint;
  load(ram: Memory): void;
  cpu(vcpuId: number): ThreadSoftware;
}

/**
 * The host QEMU runs on: its /dev/kvm, and its /proc/device-tree (the tree the host's firmware
 * handed over), from which QEMU reads the host CPU's properties as kvmppc_read_int_cpu_dt does.
 */
export interface QemuHost {
  readonly kvm: KvmSystemFd;
  readonly procDeviceTree: DeviceTree;
  /** The host's name on the migration network (gethostname), if it has one. */
  readonly hostname?: string;
}

/** Host CPU properties QEMU reads under KVM; absent ones keep POWER9 defaults. */
export interface HostCpuProperties {
  /** The host's PVR (QEMU runs mfpvr on the host; the same value as the CPU node's cpu-version). */
  readonly pvr?: number;
  readonly timebaseFrequency?: number;
  readonly clockFrequency?: number;
  readonly dcacheSize?: number;
  readonly icacheSize?: number;
  /** ibm,dec-bits: the host's large decrementer width (kvmppc_get_cap_large_decr). */
  readonly decBits?: number;
}

/**
 * qemu: target/ppc/kvm.c kvmppc_find_cpu_dt + kvmppc_read_int_cpu_dt: the first CPU node under
 * /proc/device-tree/cpus and its integer properties (one or two cells).
 */
export function readHostCpuProperties(tree: DeviceTree | undefined): HostCpuProperties {
  const cpus = tree?.getNode("/cpus");
  const node = cpus?.children.find((n) => n.name.startsWith("PowerPC,") && n.getProp("clock-frequency"));
  if (node === undefined) return {};
  const int = (name: string): number | undefined => {
    const p = node.getProp(name);
    if (p === undefined) return undefined;
    if (p.length === 4) return p.asU32();
    if (p.length === 8) return Number(p.asU64());
    return undefined;
  };
  return {
    pvr: int("cpu-version"),
    timebaseFrequency: int("timebase-frequency"),
    clockFrequency: int("ibm,extended-clock-frequency") ?? int("clock-frequency"),
    dcacheSize: int("d-cache-size"),
    icacheSize: int("i-cache-size"),
    decBits: int("ibm,dec-bits"),
  };
}

/** QMP run states (qemu: qapi/run-state.json RunState). */
export type RunState =
  | "prelaunch"
  | "running"
  | "paused"
  | "inmigrate"
  | "postmigrate"
  | "finish-migrate"
  | "guest-panicked"
  | "shutdown"
  | "internal-error";

export interface QmpEvent {
  readonly timestampNs: number;
  readonly event: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** QEMU's cost of one exit to userspace and back (ioctl return, dispatch, ioctl entry). */
export const QEMU_USERSPACE_EXIT_NS = 2_000;

/** MSR bits QEMU sets for the entry state (qemu: hw/ppc/spapr_cpu_core.c spapr_cpu_set_entry_state). */
export const MSR_SF = 1n << 63n;
export const MSR_ME = 1n << 12n;
/** qemu: hw/ppc/spapr.c FDT_MAX_SIZE and RTAS_MAX_ADDR. */
export const FDT_MAX_SIZE = 0x100000;
export const RTAS_MAX_ADDR = 0x80000000;

export interface Vcpu {
  readonly id: number;
  readonly index: number;
  readonly fd: KvmVcpuFd;
  /** cs->halted: not started, or stopped by stop-self. */
  halted: boolean;
  /** Inside KVM_RUN. */
  inKvm: boolean;
}

export interface QemuCreateOptions {
  readonly sim: Simulation;
  readonly host: QemuHost;
  readonly build: QemuBuild;
  readonly commandLine: string | readonly string[] | QemuOptionsObject;
  /** The kernel (-kernel); may be omitted for dumpdtb or an incoming migration. */
  readonly image?: GuestKernelImage;
  /** Name in traces, e.g. "qemu@hostA". */
  readonly name?: string;
  /** The network migration URIs resolve in (QMP migrate-incoming listens, migrate connects). */
  readonly network?: MigrationNetwork;
}

/**
 * The sockets migration streams travel over: a QEMU listening after migrate-incoming (or -incoming
 * URI) is found by `host:port` from its URI's port and its network name; the source connects
 * with QMP `migrate` "tcp:<host>:<port>".
 */
export class MigrationNetwork {
  private readonly listeners = new Map<string, Qemu>();

  /** What the network does to every stream it carries (corruption, truncation, a dying peer). */
  constructor(readonly fault?: ChannelFault) {}

  /** `tcp:[::]:49152` on host `h` listens at `h:49152`. */
  listen(host: string, uri: string, qemu: Qemu): void {
    this.listeners.set(`${host}:${portOf(uri)}`, qemu);
  }

  /** The QEMU listening at `tcp:<host>:<port>`, if any still runs. */
  connect(uri: string): Qemu | undefined {
    const m = /^tcp:(.+):(\d+)$/.exec(uri);
    if (!m) return undefined;
    const q = this.listeners.get(`${m[1]}:${m[2]}`);
    return q && q.exitStatus === undefined ? q : undefined;
  }
}

function portOf(uri: string): string {
  const m = /:(\d+)$/.exec(uri);
  return m ? m[1] : "";
}

function errnoOf(r: number): string {
  return `errno ${-r}`;
}

/** KvmCapProbe over the VM fd (qemu: target/ppc/kvm.c kvmppc_has_cap_*, kvmppc_get_cap_*). */
function kvmProbe(vm: KvmVmFd, host: HostCpuProperties): KvmCapProbe {
  return {
    hasCapHtm: () => vm.checkExtension(KVM_CAP_PPC_HTM) > 0,
    // kvmppc_get_cpu_characteristics: KVM_PPC_GET_CPU_CHAR when the kernel offers it. Without it
    // this model assumes what 2020 POWER9 firmware set on DD2.2 and DD2.3 (workaround levels, count
    // cache disabled) rather than QEMU's "broken" levels, which the machine types' defaults refuse
    cpuChar: () => {
      const c = vm.checkExtension(KVM_CAP_PPC_GET_CPU_CHAR) > 0 ? vm.getCpuChar?.() : undefined;
      if (c !== undefined && typeof c !== "number") return parseCpuChar(c);
      return {
        safeCache: SPAPR_CAP_WORKAROUND,
        safeBoundsCheck: SPAPR_CAP_WORKAROUND,
        safeIndirectBranch: SPAPR_CAP_FIXED_CCD,
        countCacheFlushAssist: 0,
      };
    },
    hasCapNestedKvmHv: () => vm.checkExtension(KVM_CAP_PPC_NESTED_HV) > 0,
    setCapNestedKvmHv: (enable) => vm.enableCap(KVM_CAP_PPC_NESTED_HV, [enable ? 1 : 0]),
    largeDecrBits: () => host.decBits ?? 0,
    hasCapFwnmi: () => vm.checkExtension(KVM_CAP_PPC_FWNMI) > 0,
    hasCapMmuRadix: () => vm.checkExtension(KVM_CAP_PPC_MMU_RADIX) > 0,
    hasCapRptInvalidate: () => vm.checkExtension(KVM_CAP_PPC_RPT_INVALIDATE) > 0,
    hasCapGuestStop: () => vm.checkExtension(KVM_CAP_PPC_GUEST_STOP) > 0,
  };
}

/** qemu: target/ppc/kvm.c kvmppc_enable_cap_large_decr: LPCR[LD] through ONE_REG. */
function setLargeDecr(fd: KvmVcpuFd, enable: boolean): void {
  const get = fd.getOneReg(KVM_REG_PPC_LPCR_64);
  if (get.ret < 0) return;
  if (((get.value & LPCR_LD) !== 0n) === enable) return;
  fd.setOneReg(KVM_REG_PPC_LPCR_64, enable ? get.value | LPCR_LD : get.value & ~LPCR_LD);
  const after = fd.getOneReg(KVM_REG_PPC_LPCR_64);
  if (((after.value & LPCR_LD) !== 0n) !== enable) {
    throw new QemuError("No large decrementer support", {
      hint: "Try appending -machine cap-large-decr=off",
    });
  }
}

/** A pseries machine on a host: created by Qemu.create, driven by the engine's event loop. */
export class Qemu {
  readonly sim: Simulation;
  readonly host: QemuHost;
  readonly build: QemuBuild;
  readonly config: QemuConfig;
  readonly name: string;
  readonly cpu: CpuModel;
  /** Effective cap levels (spapr->eff), default levels (spapr->def), set on the command line. */
  readonly caps: number[];
  readonly defaultCaps: number[];
  readonly vm: KvmVmFd;
  readonly ram: GuestRam;
  readonly vcpus: Vcpu[] = [];
  /** The guest tree (spapr->fdt_blob): the boot tree, then the one CAS handed the guest. */
  dtb: Uint8Array;
  readonly fdtAddr: number;
  /** ic-mode, the active interrupt controller, CAS and the XIVE (hw/ppc/spapr_irq.c). */
  readonly irq: SpaprIrq;
  readonly image: GuestKernelImage | undefined;
  readonly network: MigrationNetwork | undefined;
  readonly warnings: string[] = [];
  /** error_report lines before an exit(EXIT_FAILURE) (e.g. an interrupt mode CAS cannot give). */
  readonly errors: string[] = [];
  readonly events: QmpEvent[] = [];
  /** Characters the guest wrote to its console (H_PUT_TERM_CHAR). */
  console = "";
  /** Characters typed at the console, not yet read by the guest (H_GET_TERM_CHAR). */
  /** @internal */
  consoleInputQueue = "";
  /** @internal */
  _status: RunState = "prelaunch";
  /** @internal */
  readonly rtasHandlers: Map<number, (v: Vcpu, args: number[], nret: number) => number[]>;
  /** Callbacks when every vCPU left KVM_RUN after a stop request. */
  private stoppedWaiters: (() => void)[] = [];
  private readonly hostInfo: HostCpuInfo;

  /**
   * Starts QEMU like `qemu-system-ppc64 <commandLine>`: parses the options, creates the VM, applies
   * the capabilities against the host (a QemuError if one cannot be provided), builds the guest
   * tree, loads the kernel and (unless -S or -incoming) runs vCPU 0. `-machine dumpdtb=FILE`
   * returns { kind: "dumpdtb", dtb } instead, as real QEMU writes the file and exits.
   */
  static create(
    options: QemuCreateOptions,
  ):
    | { kind: "running"; qemu: Qemu }
    | { kind: "dumpdtb"; file: string; dtb: Uint8Array }
    | { kind: "help"; text: string } {
    const parsed: ParsedCommandLine = parseCommandLine(options.commandLine, options.build);
    if (parsed.kind === "help") return parsed;
    const qemu = new Qemu(options, parsed.config);
    if (parsed.config.dumpdtb !== undefined) {
      return { kind: "dumpdtb", file: parsed.config.dumpdtb, dtb: qemu.dtb };
    }
    qemu.reset();
    return { kind: "running", qemu };
  }

  private constructor(options: QemuCreateOptions, config: QemuConfig) {
    this.sim = options.sim;
    this.host = options.host;
    this.build = options.build;
    this.config = config;
    this.name = options.name ?? "qemu";
    this.image = options.image;
    this.network = options.network;
    this.warnings.push(...config.warnings);
    const info = readHostCpuProperties(options.host.procDeviceTree);
    this.cpu = resolveCpuModel(config.cpuModel, info.pvr ?? 0x004e1202);

    // accel/kvm/kvm-all.c kvm_init: KVM_CREATE_VM
    const vm = options.host.kvm.createVm();
    if (typeof vm === "number") throw new QemuError(`failed to initialize kvm: ${errnoOf(vm)}`);
    this.vm = vm;
    this.hostInfo = {
      timebaseFrequency: info.timebaseFrequency ?? SPAPR_TIMEBASE_FREQ,
      clockFrequency: info.clockFrequency ?? 1_000_000_000,
      dcacheSize: info.dcacheSize ?? POWER9_CLASS.l1DcacheSize,
      icacheSize: info.icacheSize ?? POWER9_CLASS.l1IcacheSize,
      fixupHcalls: vm.checkExtension(KVM_CAP_PPC_FIXUP_HCALL) > 0,
      kvmCapStop: options.build.probeKvmCapStop && vm.checkExtension(KVM_CAP_STOP) > 0,
    };

    // hw/ppc/spapr_caps.c spapr_caps_init + spapr_caps_apply
    this.defaultCaps = defaultCapsWithCpu(config.machineType, options.build);
    this.caps = this.defaultCaps.slice();
    for (const [i, level] of config.cmdLineCaps) this.caps[i] = level;
    const ctx: CapApplyContext = {
      kvm: kvmProbe(vm, info),
      modelDecrBits: POWER9_CLASS.lrgDecrBits,
      ramPageSize: 64 * 1024,
    };
    for (const cap of capsOfBuild(options.build)) this.warnings.push(...cap.apply(this.caps[cap.index], ctx));

    // guest RAM: memory_region_init_ram "ppc_spapr.ram" + KVM_SET_USER_MEMORY_REGION
    this.ram = new GuestRam(config.ramSize);
    const r = vm.setUserMemoryRegion({
      slot: 0,
      flags: 0,
      guestPhysAddr: 0,
      memorySize: config.ramSize,
      memory: this.ram,
    });
    if (r < 0)
      throw new QemuError(`kvm_set_user_memory_region: KVM_SET_USER_MEMORY_REGION failed: ${errnoOf(r)}`);

    // hw/ppc/spapr_cpu_core.c: one KVM vCPU per thread, ids with VSMT = threads per core; each
    // runs the loaded kernel's code for that CPU
    const { smp } = config;
    for (let index = 0; index < smp.cpus; index++) {
      const id = spaprVcpuId(smp, Math.floor(index / smp.threads), index % smp.threads);
      const fd = vm.createVcpu(id);
      if (typeof fd === "number")
        throw new QemuError(`kvm_init_vcpu: kvm_get_vcpu failed (${id}): ${errnoOf(fd)}`);
      if (this.image) {
        const r = fd.setGuestSoftware(this.image.cpu(id));
        if (r < 0) throw new QemuError(`kvm_init_vcpu: cannot load the kernel on vCPU ${id}: ${errnoOf(r)}`);
      }
      // hw/ppc/spapr_caps.c cap_large_decr_cpu_apply -> target/ppc/kvm.c kvmppc_enable_cap_large_decr
      setLargeDecr(fd, this.caps[SPAPR_CAP_LARGE_DECREMENTER] !== 0);
      this.vcpus.push({ id, index, fd, halted: true, inKvm: false });
    }

    const seedRng = this.sim.rng.stream(`${this.name}.rng-seed`);
    this.irq = new SpaprIrq(config.icMode, vm, this.ram, this.vcpus, smp.maxCpus, {
      buildDtb: () => spaprBuildDtb({ ...fdtInput, irq: this.irq.fdt() }),
      setDtb: (dtb) => {
        this.dtb = dtb;
      },
      fatal: (message) => {
        this.errors.push(message);
        this.exit(1);
      },
      warn: (message) => this.warnings.push(message),
      otherVcpusActive: (id) => this.vcpus.some((x) => x.id !== id && !x.halted),
    });
    const fdtInput = {
      machineType: config.machineType,
      build: options.build,
      caps: this.caps,
      cpu: this.cpu,
      smp,
      ramSize: config.ramSize,
      host: this.hostInfo,
      rngSeed: Array.from({ length: 8 }, () => seedRng.uint32()),
      kernel: this.image ? { addr: this.image.entryPoint, size: 0n, littleEndian: true } : undefined,
    };
    this.dtb = spaprBuildDtb({ ...fdtInput, irq: this.irq.fdt() });
    // hw/ppc/spapr.c spapr_machine_reset: the tree sits below the RMA top
    this.fdtAddr = Math.min(config.ramSize, RTAS_MAX_ADDR) - FDT_MAX_SIZE;
    this.rtasHandlers = rtasTable(this);
  }

  get status(): RunState {
    return this._status;
  }

  get running(): boolean {
    return this._status === "running";
  }

  /** Whether the guest may use stop0lite as its device tree says. */
  stopLitePermittedInDt(): boolean {
    return this.dtb.length > 0 && Buffer.from(this.dtb).includes(Buffer.from("ibm,stop-lite-permitted"));
  }

  emit(event: string, data?: Record<string, unknown>): void {
    this.events.push({ timestampNs: this.sim.now, event, data });
  }

  /**
   * hw/ppc/spapr.c spapr_machine_init + spapr_machine_reset: kernel and tree into RAM, entry state
   * of vCPU 0. With -incoming the machine is reset the same way, then waits for the stream (which
   * overwrites RAM and registers).
   */
  private reset(): void {
    if (!this.image) {
      throw new QemuError(
        this.config.incoming !== undefined
          ? "No -kernel given: an incoming migration needs the kernel image the source runs"
          : "No -kernel given: this model boots a guest kernel image only",
      );
    }
    this.ram.load(this.fdtAddr, this.dtb);
    this.image.load(this.ram);
    this.irq.reset();
    if (this.config.incoming !== undefined) {
      // softmmu/vl.c qemu_start_incoming_migration: "-incoming defer" waits for QMP
      // migrate-incoming; any other URI listens at once
      this._status = "inmigrate";
      this.autostart = !this.config.startPaused;
      if (this.config.incoming !== "defer") this.listenIncoming(this.config.incoming);
      return;
    }
    const v0 = this.vcpus[0];
    const regs = v0.fd.getRegs();
    regs.pc = this.image.entryPoint;
    regs.gpr[3] = BigInt(this.fdtAddr);
    regs.gpr[4] = 0n;
    regs.gpr[5] = 0n;
    regs.msr = MSR_SF | MSR_ME;
    const r = v0.fd.setRegs(regs);
    if (r < 0) throw new QemuError(`KVM_SET_REGS failed: ${errnoOf(r)}`);
    v0.halted = false;
    if (!this.config.startPaused) this.cont();
  }

  /** QMP cont: runs every vCPU that is not halted. */
  cont(): void {
    if (
      this._status === "guest-panicked" ||
      this._status === "shutdown" ||
      this._status === "internal-error"
    ) {
      throw new QemuError(`cannot continue a guest in state ${this._status}`);
    }
    if (this._status === "running") return;
    this._status = "running";
    this.emit("RESUME");
    for (const v of this.vcpus) if (!v.halted) this.runVcpu(v);
  }

  /** QMP stop: pauses every vCPU (kicks them out of KVM_RUN); `done` runs once all are out. */
  stop(state: RunState = "paused", done?: () => void): void {
    if (this._status === "running") {
      this._status = state;
      this.emit("STOP");
    } else if (state !== "paused") {
      this._status = state;
    }
    if (done) this.stoppedWaiters.push(done);
    for (const v of this.vcpus) if (v.inKvm) v.fd.requestExit();
    this.checkStopped();
  }

  private checkStopped(): void {
    if (this.vcpus.some((v) => v.inKvm)) return;
    const waiters = this.stoppedWaiters;
    this.stoppedWaiters = [];
    for (const w of waiters) w();
  }

  /** Starts a vCPU that was halted (RTAS start-cpu, incoming migration). */
  runVcpu(v: Vcpu): void {
    if (v.inKvm || v.halted || this._status !== "running") return;
    v.inKvm = true;
    const r = v.fd.run((run) => this.handleExit(v, run));
    if (r < 0) {
      v.inKvm = false;
      this.internalError(`KVM_RUN failed on vCPU ${v.id}: ${errnoOf(r)}`);
    }
  }

  // accel/kvm/kvm-all.c kvm_cpu_exec + target/ppc/kvm.c kvm_arch_handle_exit
  private handleExit(v: Vcpu, run: KvmRun): void {
    v.inKvm = false;
    switch (run.exit_reason) {
      case KVM_EXIT_PAPR_HCALL: {
        const h = run.papr_hcall;
        const nr = BigInt.asUintN(64, h.nr);
        run.papr_hcall.ret = BigInt(spaprHypercall(this, v, nr <= 0xffffn ? Number(nr) : -1, h.args));
        break;
      }
      case KVM_EXIT_SHUTDOWN:
      case KVM_EXIT_SYSTEM_EVENT:
        this.shutdown("guest-shutdown");
        break;
      case KVM_EXIT_INTERNAL_ERROR:
        this.internalError(`KVM internal error. Suberror: ${run.internal.suberror}`);
        break;
      case KVM_EXIT_UNKNOWN:
        this.internalError(`KVM: unknown exit, hardware reason ${run.hw.hardware_exit_reason.toString(16)}`);
        break;
      default:
        // KVM_EXIT_INTR (a requested exit), KVM_EXIT_MMIO to unassigned space: back to the loop
        break;
    }
    this.checkStopped();
    if (this._status === "running" && !v.halted) {
      this.sim.schedule(QEMU_USERSPACE_EXIT_NS, () => this.runVcpu(v), `${this.name}.vcpu${v.id}.reenter`);
    }
  }

  // vm_stop(RUN_STATE_INTERNAL_ERROR): every vCPU leaves KVM_RUN
  private internalError(message: string): void {
    this.warnings.push(message);
    this.stop("internal-error");
  }

  /** @internal */
  shutdown(reason: string): void {
    this._status = "shutdown";
    for (const v of this.vcpus) v.halted = true;
    this.emit("SHUTDOWN", { guest: true, reason });
  }

  /** Types `text` on the guest console (the -nographic stdio chardev). */
  consoleInput(text: string): void {
    this.consoleInputQueue += text;
  }

  /** The outgoing migration, if any (query-migrate). */
  migration: OutgoingMigration | undefined;
  /** migrate-set-capabilities (qemu: migration/options.c, all off by default). */
  readonly migrationCapabilities: MigrationCapabilities = { "return-path": false };
  /** Where this QEMU listens for an incoming stream (-incoming URI, or migrate-incoming). */
  incomingUri: string | undefined;
  /** Start the guest when the incoming stream has loaded (no -S; or QMP cont while inmigrate). */
  /** @internal */
  autostart = false;
  /** The process exited (e.g. exit(EXIT_FAILURE) after a failed load, or QMP quit): its status. */
  exitStatus: number | undefined;
  /** Why an incoming migration failed (the destination's stderr). */
  incomingError: MigrationError | undefined;
  /** Warnings of the last incoming load (e.g. lower cap levels). */
  incomingWarnings: string[] = [];

  /** QMP migrate: starts pre-copy of this guest to `dst` (a QEMU started with -incoming). */
  migrate(dst: Qemu, params: Partial<MigrationParameters> = {}, fault?: ChannelFault): OutgoingMigration {
    if (this.migration && (this.migration.status === "active" || this.migration.status === "device")) {
      throw new QmpError("GenericError", "There's a migration process in progress");
    }
    if (this._status === "guest-panicked" || this._status === "shutdown" || this._status === "postmigrate") {
      throw new QmpError("GenericError", `cannot migrate a guest in state ${this._status}`);
    }
    if (dst.sim !== this.sim) {
      // the stream calls the destination directly (no latency declared): both QEMUs must share
      // one event heap (one partition of a PartitionedSimulation)
      throw new Error(
        `cannot migrate ${this.name} to ${dst.name}: they run on different Simulations (or partitions); start both on one Simulation`,
      );
    }
    const m = new OutgoingMigration(this, dst, { ...DEFAULT_MIGRATION_PARAMETERS, ...params }, fault);
    this.migration = m;
    m.start();
    return m;
  }

  /** @internal */
  listenIncoming(uri: string): void {
    this.incomingUri = uri;
    this.network?.listen(this.host.hostname ?? this.name, uri, this);
  }

  /** A QMP migrate whose connection was refused: the migration fails in setup. */
  /** @internal */
  migrateFailedToConnect(uri: string): OutgoingMigration {
    const m = new OutgoingMigration(this, undefined, DEFAULT_MIGRATION_PARAMETERS, undefined, uri);
    this.migration = m;
    m.start();
    return m;
  }

  /** What this QEMU printed on stderr: warnings, and a refused incoming stream's error lines. */
  get stderr(): string {
    const lines = this.warnings.map((w) => `${QEMU_PROGRAM}: warning: ${w}`);
    for (const e of this.errors) lines.push(`${QEMU_PROGRAM}: ${e}`);
    if (this.incomingError) lines.push(this.incomingError.message);
    return lines.join("\n");
  }

  /** The destination loads a complete stream (qemu: process_incoming_migration_co). */
  loadIncoming(bytes: Uint8Array): void {
    if (this._status !== "inmigrate") {
      throw new MigrationError(`incoming migration into a guest in state ${this._status}`);
    }
    try {
      const loaded = loadVmState(bytes, {
        machineType: this.config.machineType.name,
        ramSize: this.config.ramSize,
        nCpus: this.vcpus.length,
        capNames: capsOfBuild(this.build).map((c) => c.migName),
        xive: this.irq.mode !== "xics",
        writePage: (addr, page) => {
          if ("data" in page) this.ram.load(addr, page.data);
          else if (page.fill !== 0 || this.ram.isWritten(addr / TARGET_PAGE_SIZE)) {
            // a fresh destination's RAM reads as zero: only pages written before need the fill
            this.ram.load(addr, new Uint8Array(TARGET_PAGE_SIZE).fill(page.fill));
          }
        },
      });
      this.incomingWarnings = spaprCapsPostMigration(this, loaded);
      // spapr_post_load -> spapr_irq_post_load: the source's negotiated OV5 and its controller
      const irqError = this.irq.loadState({
        ov5Cas: loaded.spapr.ov5Cas ?? new Uint8Array(27),
        xive: loaded.xive ?? null,
      });
      if (irqError !== null) {
        throw new MigrationError("load of migration failed: Invalid argument", { preceding: [irqError] });
      }
      for (const c of loaded.cpus) kvmPutCpuState(this, c);
    } catch (e) {
      if (e instanceof MigrationError) this.incomingFailed(e.message, e);
      throw e;
    }
    this._status = "paused";
    this.emit("MIGRATION", { status: "completed" });
    // migration/migration.c process_incoming_migration_bh: vm_start() if autostart (no -S, or a
    // QMP cont while in inmigrate), else RUN_STATE_PAUSED until a management layer sends cont
    if (this.autostart) this.cont();
  }

  /**
   * The destination gave up: it printed its error and exits with status 1
   * (migration/migration.c process_incoming_migration_co: exit(EXIT_FAILURE)).
   */
  incomingFailed(message: string, error?: MigrationError): void {
    this.incomingError = error ?? new MigrationError(message);
    this.exit(1);
  }

  /** The process ends: its vCPUs never run again and its monitor closes. */
  /** @internal */
  exit(status: number): void {
    this.exitStatus = status;
    this._status = "shutdown";
    for (const v of this.vcpus) {
      if (v.inKvm) v.fd.requestExit();
      v.halted = true;
    }
  }

  /**
   * The source after a completed migration: vm_stop(RUN_STATE_POSTMIGRATE) keeps the guest's
   * state (a QMP cont runs it again: softmmu/runstate.c allows postmigrate -> running).
   */
  migratedAway(): void {
    this._status = "postmigrate";
  }

  /**
   * migration_iteration_finish on failure: vm_start() if the guest was running; a guest that was
   * not stays stopped, finish-migrate becoming postmigrate (qemu 7.2: `s->vm_was_running`).
   */
  resumeAfterFailedMigration(wasRunning: boolean): void {
    if (!wasRunning) {
      this._status = "postmigrate";
      return;
    }
    this._status = "paused";
    this.cont();
  }

  /**
   * QMP commands (qemu: qapi/*.json): query-status, query-machines, query-cpu-definitions,
   * query-migrate, stop, cont, migrate-set-capabilities, query-migrate-capabilities,
   * migrate-incoming, quit. `migrate` takes the destination object, see migrate(). A QEMU that
   * exited answers nothing (QmpError).
   */
  qmp(command: string, args: Readonly<Record<string, unknown>> = {}): unknown {
    return qmpDispatch(this, command, args);
  }

  /** A cap's level by name ("stop-lite"). */
  capLevel(name: string): number {
    for (let i = 0; i < SPAPR_CAP_NUM; i++) if (capByIndex(i).name === name) return this.caps[i];
    throw new RangeError(`no capability cap-${name}`);
  }
}
