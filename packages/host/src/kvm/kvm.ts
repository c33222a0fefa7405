// KVM HV for POWER9 with an ioctl-shaped API.
// linux: virt/kvm/kvm_main.c (KVM_CREATE_VM, KVM_CREATE_VCPU, ONE_REG dispatch),
// arch/powerpc/kvm/powerpc.c (kvm_vm_ioctl_check_extension, kvm_vm_ioctl_enable_cap,
// kvm_vcpu_ioctl_enable_cap, kvm_arch_vcpu_ioctl_run), arch/powerpc/kvm/book3s_hv.c
// (kvmhv_run_single_vcpu, kvmhv_p9_guest_entry, kvmhv_load_hv_regs_and_go, kvmppc_handle_exit_hv,
// kvmppc_pseries_do_hcall, kvmppc_set_timer, kvmppc_get_one_reg_hv, kvmppc_set_one_reg_hv,
// kvmppc_set_lpcr, kvmppc_core_init_vm_hv), arch/powerpc/kvm/book3s_hv_builtin.c
// (kvmppc_guest_entry_inject_int), arch/powerpc/kvm/book3s_xive.c (XICS-on-XIVE hcalls).
import { nsToTb, tbToNs } from "@stopsim/engine";
import {
  BOOK3S_INTERRUPT_EXTERNAL,
  BOOK3S_INTERRUPT_H_DATA_STORAGE,
  BOOK3S_INTERRUPT_H_DOORBELL,
  BOOK3S_INTERRUPT_H_EMUL_ASSIST,
  BOOK3S_INTERRUPT_H_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_H_INST_STORAGE,
  BOOK3S_INTERRUPT_H_VIRT,
  BOOK3S_INTERRUPT_HV_DECREMENTER,
  BOOK3S_INTERRUPT_INST_STORAGE,
  BOOK3S_INTERRUPT_PROGRAM,
  BOOK3S_INTERRUPT_SYSCALL,
  EXEC_OK,
  FSCR_MSGP_LG,
  FSCR_STOP_LG,
  HFSCR_BHRB,
  HFSCR_DSCR,
  HFSCR_EBB,
  HFSCR_FP,
  HFSCR_PM,
  HFSCR_TAR,
  HFSCR_VECVSX,
  HRFID,
  LPCR_AIL,
  LPCR_DPFD,
  LPCR_DPFD_SH,
  LPCR_GTSE,
  LPCR_HDICE,
  LPCR_HEIC,
  LPCR_HR,
  LPCR_HVICE,
  LPCR_ILE,
  LPCR_LD,
  LPCR_LPES,
  LPCR_PECE,
  LPCR_TC,
  LPCR_UPRT,
  type Memory,
  MSR_EE,
  MSR_LE,
  MSR_ME,
  MSR_PR,
  MSR_SF,
  PSSCR_EC,
  PSSCR_ESL,
  PSSCR_GUEST_VIS,
  SPRN_AMR,
  SPRN_BESCR,
  SPRN_CIABR,
  SPRN_CTR,
  SPRN_DAR,
  SPRN_DAWR0,
  SPRN_DAWRX0,
  SPRN_DEC,
  SPRN_DSCR,
  SPRN_DSISR,
  SPRN_EBBHR,
  SPRN_EBBRR,
  SPRN_FSCR,
  SPRN_HDAR,
  SPRN_HDEC,
  SPRN_HDSISR,
  SPRN_HFSCR,
  SPRN_HSRR0,
  SPRN_HSRR1,
  SPRN_IAMR,
  SPRN_LPCR,
  SPRN_LR,
  SPRN_MMCR0,
  SPRN_MMCR1,
  SPRN_MMCR2,
  SPRN_MMCRA,
  SPRN_PIDR,
  SPRN_PMC1,
  SPRN_PMC2,
  SPRN_PMC3,
  SPRN_PMC4,
  SPRN_PMC5,
  SPRN_PMC6,
  SPRN_PPR,
  SPRN_PSPB,
  SPRN_PSSCR,
  SPRN_SDAR,
  SPRN_SIAR,
  SPRN_SIER,
  SPRN_SPRG0,
  SPRN_SPRG1,
  SPRN_SPRG2,
  SPRN_SPRG3,
  SPRN_SRR0,
  SPRN_SRR1,
  SPRN_TAR,
  SPRN_TIDR,
  SPRN_UAMOR,
  SPRN_VRSAVE,
  SPRN_WORT,
  SPRN_XER,
  SRR1_PROGILL,
  type ThreadSoftware,
} from "@stopsim/isa";
import type { KvmBuild } from "../build.js";
import type { HostCpu, HostTask, HostTimer } from "../cpu.js";
import type { KernelLog } from "../log.js";
import type { HostXive } from "../xive-host.js";
import { type FwFeatures, type KvmPpcCpuChar, kvmppcGetCpuChar } from "./cpu-char.js";
import { GuestGprs, GuestSprs } from "./regfile.js";
import { exitName } from "./trace-names.js";
import * as U from "./uapi.js";
import { KvmXiveNativeDevice } from "./xive-native.js";

/** What the host kernel tells KVM at module init (kvmppc_book3s_init_hv). */
export interface KvmHostInfo {
  readonly cpus: readonly HostCpu[];
  readonly threadsPerCore: number;
  readonly hostLpcr: bigint;
  readonly hostHfscr: bigint;
  readonly arch300: boolean;
  /** /ibm,opal/fw-features of the host tree (null: no /ibm,opal node), for KVM_PPC_GET_CPU_CHAR. */
  readonly fwFeatures: FwFeatures | null;
  /** enable_guest_stop from dt-cpu-features "idle-stop-guest" (seed design). */
  readonly enableGuestStop: boolean;
  readonly build: KvmBuild;
  readonly log: KernelLog;
  readonly costs: import("../costs.js").HostCostTable;
  /** Host scheduler tick period while a task runs, ns (1e9 / HZ). */
  readonly tickNs: number;
  /** The host's XIVE (powernv): KVM's XIVE native device is built on it. */
  readonly xive?: HostXive;
}

/** The kvm_run structure (fields named as in linux: include/uapi/linux/kvm.h). */
export interface KvmRun {
  exit_reason: number;
  /** KVM_EXIT_PAPR_HCALL: the VMM sets `ret` (and return values in args) before the next run. */
  papr_hcall: { nr: bigint; ret: bigint; args: bigint[] };
  /** KVM_EXIT_UNKNOWN */
  hw: { hardware_exit_reason: number };
  /** KVM_EXIT_MMIO */
  mmio: { phys_addr: bigint; len: number; is_write: boolean };
  /** KVM_EXIT_INTERNAL_ERROR */
  internal: { suberror: number; data: bigint[] };
  /** Which vCPU exited (convenience: the fd it belongs to). */
  vcpu_id: number;
}

export type ExitHandler = (run: KvmRun, vcpu: KvmVcpu) => void;

/** struct kvm_regs (linux: arch/powerpc/include/uapi/asm/kvm.h). */
export interface KvmRegs {
  pc: bigint;
  cr: number;
  ctr: bigint;
  lr: bigint;
  xer: bigint;
  msr: bigint;
  srr0: bigint;
  srr1: bigint;
  pid: bigint;
  sprg0: bigint;
  sprg1: bigint;
  sprg2: bigint;
  sprg3: bigint;
  gpr: bigint[];
}

export interface OneRegResult {
  /** 0 or a negative errno. */
  readonly ret: number;
  /** The register value (0n on error). */
  readonly value: bigint;
}

/** A guest memory slot (KVM_SET_USER_MEMORY_REGION). */
export interface KvmMemoryRegion {
  readonly slot: number;
  readonly flags: number;
  readonly guestPhysAddr: number;
  readonly memorySize: number;
  /** The VMM's memory backing the slot (userspace_addr). */
  readonly memory: Memory;
}

export interface CreateVmOptions {
  /**
   * Host CPU (index into the host's cpu list) each vCPU id runs on (QEMU vCPU threads pinned with
   * taskset). Default: vCPU n on host CPU n, i.e. vCore k on physical core k.
   */
  readonly pinning?: (vcpuId: number) => number;
  /** In-kernel XICS-on-XIVE interrupt controller (QEMU's kernel-irqchip=on). Default true. */
  readonly inKernelXics?: boolean;
}

type Action = { kind: "resume" } | { kind: "host" } | { kind: "block" };
const RESUME: Action = { kind: "resume" };
const HOST: Action = { kind: "host" };
const BLOCK: Action = { kind: "block" };

/** Hcalls enabled by default (linux: book3s_hv.c default_hcall_list). */
const DEFAULT_HCALLS = [
  U.H_REMOVE,
  U.H_ENTER,
  U.H_READ,
  U.H_PROTECT,
  U.H_BULK_REMOVE,
  U.H_GET_TCE,
  U.H_PUT_TCE,
  U.H_SET_DABR,
  U.H_CEDE,
  U.H_PROD,
  U.H_CONFER,
  U.H_REGISTER_VPA,
  U.H_EOI,
  U.H_CPPR,
  U.H_IPI,
  U.H_IPOLL,
  U.H_XIRR,
  U.H_XIRR_X,
];
/** Hcalls this KVM implements in the kernel (kvmppc_hcall_impl_hv). */
const IMPLEMENTED_HCALLS = new Set<number>([
  ...DEFAULT_HCALLS,
  U.H_CLEAR_REF,
  U.H_CLEAR_MOD,
  U.H_SET_MODE,
  U.H_LOGICAL_CI_LOAD,
  U.H_LOGICAL_CI_STORE,
  U.H_RANDOM,
]);

const KVM_MAX_VCPUS = 2048;
const KVM_MAX_VCPU_ID = 2048;

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

export class Kvm {
  private readonly vms: KvmVm[] = [];
  constructor(readonly host: KvmHostInfo) {}

  /** KVM_GET_API_VERSION */
  getApiVersion(): number {
    return 12;
  }

  /** KVM_CHECK_EXTENSION on /dev/kvm (linux: powerpc.c kvm_vm_ioctl_check_extension, kvm == NULL). */
  checkExtension(cap: number): number {
    return checkExtension(this.host, undefined, cap);
  }

  /** KVM_CREATE_VM: type 0 or KVM_VM_PPC_HV. Returns the VM or a negative errno. */
  createVm(type = 0, options: CreateVmOptions = {}): KvmVm | number {
    if (type !== 0 && type !== U.KVM_VM_PPC_HV) return -U.EINVAL;
    const vm = new KvmVm(this, this.vms.length, options);
    this.vms.push(vm);
    this.host.log.info(`kvm: created VM ${vm.id} (book3s_hv, POWER9 radix)`);
    return vm;
  }

  get vmList(): readonly KvmVm[] {
    return this.vms;
  }
}

function checkExtension(h: KvmHostInfo, vm: KvmVm | undefined, cap: number): number {
  switch (cap) {
    case U.KVM_CAP_PPC_SEGSTATE:
    case U.KVM_CAP_PPC_UNSET_IRQ:
    case U.KVM_CAP_PPC_IRQ_LEVEL:
    case U.KVM_CAP_ENABLE_CAP:
    case U.KVM_CAP_ONE_REG:
    case U.KVM_CAP_IMMEDIATE_EXIT:
    case U.KVM_CAP_SYNC_MMU:
    case U.KVM_CAP_PPC_ENABLE_HCALL:
    case U.KVM_CAP_PPC_PAPR:
    case U.KVM_CAP_PPC_GET_SMMU_INFO:
    case U.KVM_CAP_SPAPR_TCE:
    case U.KVM_CAP_PPC_RTAS:
    case U.KVM_CAP_PPC_FIXUP_HCALL:
    case U.KVM_CAP_IRQ_XICS:
    case U.KVM_CAP_ENABLE_CAP_VM:
    case U.KVM_CAP_CHECK_EXTENSION_VM:
    case U.KVM_CAP_USER_MEMORY:
    case U.KVM_CAP_PPC_FWNMI:
    case U.KVM_CAP_PPC_GET_CPU_CHAR:
      return 1;
    case U.KVM_CAP_PPC_MMU_RADIX:
    case U.KVM_CAP_PPC_MMU_HASH_V3:
      return h.arch300 ? 1 : 0;
    case U.KVM_CAP_PPC_IRQ_XIVE:
      // xive_enabled() && CPU_FTR_HVMODE && kvmppc_xive_native_supported()
      return h.xive !== undefined ? 1 : 0;
    case U.KVM_CAP_PPC_SMT:
      // threads_per_subcore; on POWER9 the VMM may choose any mode up to 8 (book3s_hv virtual SMT)
      return h.threadsPerCore;
    case U.KVM_CAP_PPC_SMT_POSSIBLE:
      // 1 | 2 | 4 | 8 on POWER9 (guest SMT mode emulated with independent threads)
      return h.arch300 ? 1 | 2 | 4 | 8 : 1;
    case U.KVM_CAP_NR_VCPUS:
      return h.cpus.length;
    case U.KVM_CAP_MAX_VCPUS:
      return KVM_MAX_VCPUS;
    case U.KVM_CAP_MAX_VCPU_ID:
      return KVM_MAX_VCPU_ID;
    case U.KVM_CAP_NR_MEMSLOTS:
      return 512;
    case U.KVM_CAP_PPC_NESTED_HV:
      return h.arch300 ? 1 : 0;
    case U.KVM_CAP_PPC_HTM:
      return 0;
    case U.KVM_CAP_STOP:
      // host-probed design only: "return true iff enable_guest_stop == true"
      return h.build.reportsKvmCapStop && h.enableGuestStop ? 1 : 0;
    case U.KVM_CAP_PPC_GUEST_STOP: {
      if (!h.build.reportsGuestStopSupport) return 0;
      let flags = 0;
      if (h.build.emulateStopTrap) flags |= U.KVM_PPC_GUEST_STOP_EMULATED;
      if (guestPsscrClearsTrapBits(h)) flags |= U.KVM_PPC_GUEST_STOP_NATIVE;
      // a stop that traps and is not emulated would kill the guest: no support then
      return guestPsscrClearsTrapBits(h) || h.build.emulateStopTrap ? flags : 0;
    }
    default:
      void vm;
      return 0;
  }
}

/** Whether guests are entered with PSSCR[ESL|EC] clear on this host (native guest stop). */
export function guestPsscrClearsTrapBits(h: Pick<KvmHostInfo, "build" | "enableGuestStop">): boolean {
  switch (h.build.psscrPolicy) {
    case "always-clear":
      return true;
    case "always-set":
      return false;
    default:
      return h.enableGuestStop;
  }
}

/**
 * The guest LPCR a new VM starts with (linux: book3s_hv.c kvmppc_core_init_vm_hv, v5.7): the
 * host's LPCR masked with LPCR_PECE | LPCR_LPES (so the power-saving exit enables PECEDP, PECEDH,
 * PECE0-2 are the host's; LPCR[HVEE] is not among them), then DPFD = 4 and HDICE; on POWER9
 * HVICE | HEIC (VPM0 is reserved there), LPES when the in-kernel XICS runs on XIVE
 * (`xics_on_xive()`: external interrupts go straight to the guest), and for a radix host
 * UPRT | GTSE | HR. What userspace may change afterwards is kvmppc_set_lpcr's (setLpcr).
 */
export function initVmLpcr(h: Pick<KvmHostInfo, "hostLpcr" | "arch300">, inKernelXics: boolean): bigint {
  let lpcr = h.hostLpcr & (LPCR_PECE | LPCR_LPES);
  lpcr |= (4n << LPCR_DPFD_SH) | LPCR_HDICE;
  if (h.arch300) {
    lpcr |= LPCR_HVICE | LPCR_HEIC;
    if (inKernelXics) lpcr |= LPCR_LPES;
    lpcr |= LPCR_UPRT | LPCR_GTSE | LPCR_HR;
  }
  return lpcr;
}

/** A vCore: the vCPUs sharing one physical core (struct kvmppc_vcore). */
interface Vcore {
  lpcr: bigint;
  archCompat: number;
}

/** The XICS presentation controller state of one vCPU (ICP), emulated on XIVE. */
interface Icp {
  cppr: number;
  mfrr: number;
  /** Accepted-but-not-EOIed source (XISR) and pending IPI priority. */
  xisr: number;
  /** A device interrupt raised through KVM_INTERRUPT (source number, priority). */
  extSource: number;
  extPriority: number;
}

export class KvmVm {
  readonly id: number;
  readonly vcpus = new Map<number, KvmVcpu>();
  readonly enabledHcalls = new Set<number>(DEFAULT_HCALLS);
  readonly exitCounts = new Map<string, number>();
  readonly regions = new Map<number, KvmMemoryRegion>();
  readonly inKernelXics: boolean;
  smtMode = 0;
  fwnmi = false;
  nested = false;
  private readonly vcores = new Map<number, Vcore>();
  private readonly pinning: (vcpuId: number) => number;
  /** Guest LPCR template (kvmppc_core_init_vm_hv). */
  readonly initialLpcr: bigint;

  constructor(
    readonly kvm: Kvm,
    id: number,
    options: CreateVmOptions,
  ) {
    this.id = id;
    this.inKernelXics = options.inKernelXics ?? true;
    this.pinning = options.pinning ?? ((n) => n);
    this.initialLpcr = initVmLpcr(kvm.host, this.inKernelXics);
  }

  /** KVM_CHECK_EXTENSION on the VM fd. */
  checkExtension(cap: number): number {
    return checkExtension(this.kvm.host, this, cap);
  }

  private hostCpuFor(vcpuId: number): HostCpu | undefined {
    const idx = this.pinning(vcpuId);
    return Number.isInteger(idx) ? this.kvm.host.cpus[idx] : undefined;
  }

  /** KVM_CREATE_VCPU. Returns the vCPU or -EINVAL (bad id, no host CPU) / -EEXIST (duplicate). */
  createVcpu(id: number): KvmVcpu | number {
    if (!Number.isInteger(id) || id < 0 || id >= KVM_MAX_VCPU_ID) return -U.EINVAL;
    if (this.vcpus.has(id)) return -U.EEXIST;
    if (this.vcpus.size >= KVM_MAX_VCPUS) return -U.EINVAL;
    const cpu = this.hostCpuFor(id);
    if (cpu === undefined) return -U.EINVAL;
    const tpc = this.kvm.host.threadsPerCore;
    const coreIdx = Math.floor(id / (this.smtMode > 0 ? this.smtMode : tpc));
    let vc = this.vcores.get(coreIdx);
    if (vc === undefined) {
      vc = { lpcr: this.initialLpcr, archCompat: 0 };
      this.vcores.set(coreIdx, vc);
    }
    const v = new KvmVcpu(this, id, cpu, vc);
    this.vcpus.set(id, v);
    return v;
  }

  /** KVM_SET_USER_MEMORY_REGION: returns 0 or -EINVAL. memorySize 0 deletes the slot. */
  setUserMemoryRegion(region: KvmMemoryRegion): number {
    const { slot, guestPhysAddr, memorySize } = region;
    if (!Number.isInteger(slot) || slot < 0 || slot >= 512) return -U.EINVAL;
    if (!Number.isSafeInteger(guestPhysAddr) || guestPhysAddr < 0 || guestPhysAddr % 4096 !== 0)
      return -U.EINVAL;
    if (!Number.isSafeInteger(memorySize) || memorySize < 0 || memorySize % 4096 !== 0) return -U.EINVAL;
    if (memorySize === 0) {
      this.regions.delete(slot);
      return 0;
    }
    for (const [s, r] of this.regions) {
      if (s === slot) continue;
      const overlap =
        guestPhysAddr < r.guestPhysAddr + r.memorySize && r.guestPhysAddr < guestPhysAddr + memorySize;
      if (overlap) return -U.EEXIST;
    }
    this.regions.set(slot, region);
    return 0;
  }

  /** Reads a 32-bit word of guest real memory, or undefined outside every slot. */
  readGuestWord(gpa: number, littleEndian: boolean): number | undefined {
    for (const r of this.regions.values()) {
      if (gpa >= r.guestPhysAddr && gpa + 4 <= r.guestPhysAddr + r.memorySize) {
        return r.memory.read32(gpa - r.guestPhysAddr, littleEndian);
      }
    }
    return undefined;
  }

  /** The slot memory and offset of guest real address `gpa` .. gpa+len-1, or undefined. */
  private guestRange(gpa: number, len: number): { memory: Memory; offset: number } | undefined {
    for (const r of this.regions.values()) {
      if (gpa >= r.guestPhysAddr && gpa + len <= r.guestPhysAddr + r.memorySize) {
        return { memory: r.memory, offset: gpa - r.guestPhysAddr };
      }
    }
    return undefined;
  }

  /** Reads a big-endian 16-bit value of guest real memory, or undefined outside every slot. */
  readGuestBe16(gpa: number): number | undefined {
    const m = this.guestRange(gpa, 2);
    return m === undefined ? undefined : (m.memory.read8(m.offset) << 8) | m.memory.read8(m.offset + 1);
  }

  /** Reads a big-endian 32-bit value of guest real memory, or undefined outside every slot. */
  readGuestBe32(gpa: number): number | undefined {
    const m = this.guestRange(gpa, 4);
    return m === undefined ? undefined : m.memory.read32(m.offset, false);
  }

  /** Whether guest real addresses gpa .. gpa+len-1 lie in one memory slot (kvmppc_pin_guest_page). */
  guestRangeMapped(gpa: number, len: number): boolean {
    return this.guestRange(gpa, len) !== undefined;
  }

  /** ORs `bits` into a byte of guest real memory (false outside every slot). */
  orGuestByte(gpa: number, bits: number): boolean {
    const m = this.guestRange(gpa, 1);
    if (m === undefined) return false;
    m.memory.write8(m.offset, m.memory.read8(m.offset) | bits);
    return true;
  }

  /** KVM_ENABLE_CAP on the VM fd (linux: powerpc.c kvm_vm_ioctl_enable_cap). */
  enableCap(cap: number, args: readonly (number | bigint)[] = [], flags = 0): number {
    if (flags !== 0) return -U.EINVAL;
    const a = (i: number): bigint => BigInt(args[i] ?? 0);
    switch (cap) {
      case U.KVM_CAP_PPC_ENABLE_HCALL: {
        const hcall = a(0);
        if (hcall > BigInt(U.MAX_HCALL_OPCODE) || hcall < 0n || (hcall & 3n) !== 0n || a(1) > 1n)
          return -U.EINVAL;
        if (!IMPLEMENTED_HCALLS.has(Number(hcall))) return -U.EINVAL;
        if (a(1) !== 0n) this.enabledHcalls.add(Number(hcall));
        else this.enabledHcalls.delete(Number(hcall));
        return 0;
      }
      case U.KVM_CAP_PPC_SMT: {
        // kvmhv_set_smt_mode: mode must be a power of 2 <= 8, no flags, before vCPUs exist
        const mode = Number(a(0));
        if (a(1) !== 0n) return -U.EINVAL;
        if (mode < 0 || mode > 8 || (mode & (mode - 1)) !== 0) return -U.EINVAL;
        if (this.vcpus.size > 0) return -U.EBUSY;
        this.smtMode = mode;
        return 0;
      }
      case U.KVM_CAP_PPC_FWNMI:
        this.fwnmi = true;
        return 0;
      case U.KVM_CAP_PPC_NESTED_HV:
        if (!this.kvm.host.arch300) return -U.ENODEV;
        this.nested = a(0) !== 0n;
        return 0;
      default:
        return -U.EINVAL;
    }
  }

  /** The XIVE native device of this VM (KVM_CREATE_DEVICE KVM_DEV_TYPE_XIVE), or null. */
  xiveDevice: KvmXiveNativeDevice | null = null;

  /**
   * KVM_CREATE_DEVICE (linux: virt/kvm/kvm_main.c kvm_ioctl_create_device): only
   * KVM_DEV_TYPE_XIVE here (-ENODEV for other types or a host without XIVE, -EEXIST for a second).
   */
  createDevice(type: number): KvmXiveNativeDevice | number {
    if (type !== U.KVM_DEV_TYPE_XIVE || this.kvm.host.xive === undefined) return -U.ENODEV;
    if (this.xiveDevice !== null) return -U.EEXIST;
    // one device per VM: its fd number is what QEMU passes to KVM_CAP_PPC_IRQ_XIVE
    this.xiveDevice = new KvmXiveNativeDevice(this, this.kvm.host.xive, this.id, XIVE_DEVICE_FD);
    return this.xiveDevice;
  }

  /** KVM_PPC_GET_CPU_CHAR (linux: powerpc.c kvm_arch_vm_ioctl -> kvmppc_get_cpu_char). */
  getCpuChar(): KvmPpcCpuChar {
    return kvmppcGetCpuChar(this.kvm.host.fwFeatures);
  }

  /**
   * The memory backing guest real address 0 (the slot a radix-less guest's real-mode loads and
   * stores reach), or null without such a slot.
   */
  guestRealMemory(): Memory | null {
    for (const r of this.regions.values()) if (r.guestPhysAddr === 0) return r.memory;
    return null;
  }

  /** Exit counts per kvm_exit name of every vCPU of this VM. */
  exitCountsRecord(): Record<string, number> {
    return Object.fromEntries([...this.exitCounts.entries()].sort(([x], [y]) => x.localeCompare(y)));
  }

  /** @internal */
  countExit(name: string): void {
    this.exitCounts.set(name, (this.exitCounts.get(name) ?? 0) + 1);
  }

  /** @internal */
  vcoreOf(v: KvmVcpu): Vcore {
    return v.vcore;
  }
}

type VcpuState = "created" | "runnable" | "guest" | "kernel" | "blocked" | "userspace";

export class KvmVcpu implements HostTask {
  readonly name: string;
  readonly exitCounts = new Map<string, number>();
  /** The kvm_run record of the last exit (mmap'ed kvm_run). */
  readonly run_: KvmRun;
  state: VcpuState = "created";
  /** Emulated guest stop wake-ups (RFC patch 1 path) on this vCPU. */
  emulatedStops = 0;
  /** Program interrupts KVM queued to the guest. */
  programInterrupts = 0;
  /** Hypervisor doorbell exits re-entered from real mode (maybe_reenter_guest). */
  reenteredDoorbells = 0;
  /** kvmppc_fast_vcpu_kick_hv calls on this vCPU. */
  kicks = 0;
  /**
   * The areas registered with H_REGISTER_VPA (guest real addresses): the VPA in use and the one
   * requested (applied at the next entry), the dispatch trace log and the SLB shadow (recorded;
   * KVM writes no dispatch trace entries in the model).
   */
  readonly vpaAreas: {
    vpa: number | null;
    vpaNext: number | null;
    dtl: number | null;
    slbShadow: number | null;
    updatePending: boolean;
  } = { vpa: null, vpaNext: null, dtl: null, slbShadow: null, updatePending: false };

  // guest register state (vcpu->arch)
  private readonly gpr = new GuestGprs();
  private cr = 0;
  private pc = 0n;
  private msr = MSR_SF | MSR_ME | MSR_LE;
  private readonly spr = new GuestSprs(GUEST_SPRS);
  private psscr = 0n;
  /** Guest decrementer expiry, timebase ticks. */
  private decExpires: bigint;
  private hfscr: bigint;
  private online = 0;

  private guestSw: ThreadSoftware | null = null;
  private onExit: ExitHandler | null = null;
  private hcallNeeded = false;
  private ceded = false;
  private prodded = false;
  private pendingProgram: bigint | null = null;
  private pendingIsi = false;
  private doorbellRequest = false;
  private exitRequested = false;
  /** The XIVE native device this vCPU is connected to (KVM_CAP_PPC_IRQ_XIVE), or null (XICS). */
  xive: KvmXiveNativeDevice | null = null;
  private readonly icp: Icp = {
    cppr: 0,
    mfrr: U.XICS_LOWEST_PRIORITY,
    xisr: 0,
    extSource: 0,
    extPriority: 0xff,
  };
  private readonly decTimer: HostTimer;
  private readonly tickTimer: HostTimer;
  private resumeCost = 0;
  /** The current exit is an hcall handled in real mode: the return to the guest is the short one. */
  private realModeReturn = false;
  /** Counts KVM_RUN returns and re-entries: a pending "thread sleeps in userspace" check of an older exit is void. */
  private userspaceGen = 0;
  private enterTimerArmed = false;
  /** The thread's memory while the host ran on it, put back on guest exit. */
  private hostMemory: Memory | null = null;

  constructor(
    readonly vm: KvmVm,
    readonly id: number,
    readonly cpu: HostCpu,
    readonly vcore: Vcore,
  ) {
    this.name = `CPU ${id}/KVM`;
    this.run_ = {
      exit_reason: U.KVM_EXIT_UNKNOWN,
      papr_hcall: { nr: 0n, ret: 0n, args: new Array<bigint>(9).fill(0n) },
      hw: { hardware_exit_reason: 0 },
      mmio: { phys_addr: 0n, len: 0, is_write: false },
      internal: { suberror: 0, data: [] },
      vcpu_id: id,
    };
    // linux: arch/powerpc/kvm/powerpc.c kvm_arch_vcpu_create: dec_expires = get_tb(), so a vCPU
    // (a migrated one too, until userspace sets KVM_REG_PPC_DEC_EXPIRY) starts with an expired
    // decrementer rather than a large one that could hang it
    this.decExpires = BigInt(nsToTb(cpu.sim.now));
    // linux: kvmppc_core_vcpu_create_hv (POWER9): the guest gets these facilities; msgsndp
    // (HFSCR[MSGP]) stays off so KVM can emulate guest doorbells
    // ("vcpu->arch.hfscr &= mfspr(SPRN_HFSCR)": only facilities the host enabled)
    this.hfscr =
      (HFSCR_TAR | HFSCR_EBB | HFSCR_PM | HFSCR_BHRB | HFSCR_DSCR | HFSCR_VECVSX | HFSCR_FP) &
      vm.kvm.host.hostHfscr;
    this.decTimer = cpu.createTimer(() => this.decrementerWakeup(), `kvm vcpu${id} dec`);
    this.tickTimer = cpu.createTimer(() => this.tick(), `cpu${cpu.cpuId} tick`);
  }

  private get h(): KvmHostInfo {
    return this.vm.kvm.host;
  }

  // -------------------------------------------------------------------------------------------
  // VMM API
  // -------------------------------------------------------------------------------------------

  /** The guest kernel's code for this vCPU: OS-level software KVM puts on the thread at entry. */
  setGuestSoftware(sw: ThreadSoftware): number {
    if (this.state === "guest" || this.state === "kernel") return -U.EBUSY;
    this.guestSw = sw;
    return 0;
  }

  /** KVM_GET_REGS */
  getRegs(): KvmRegs {
    return {
      pc: this.pc,
      cr: this.cr,
      ctr: this.sprv(SPRN_CTR),
      lr: this.sprv(SPRN_LR),
      xer: this.sprv(SPRN_XER),
      msr: this.msr,
      srr0: this.sprv(SPRN_SRR0),
      srr1: this.sprv(SPRN_SRR1),
      pid: this.sprv(SPRN_PIDR),
      sprg0: this.sprv(SPRN_SPRG0),
      sprg1: this.sprv(SPRN_SPRG1),
      sprg2: this.sprv(SPRN_SPRG2),
      sprg3: this.sprv(SPRN_SPRG3),
      gpr: this.gpr.toArray(),
    };
  }

  /** KVM_SET_REGS: 0, -EBUSY while the vCPU runs, -EINVAL for malformed values. */
  setRegs(regs: KvmRegs): number {
    if (this.state === "guest" || this.state === "kernel") return -U.EBUSY;
    if (!Array.isArray(regs.gpr) || regs.gpr.length !== 32) return -U.EINVAL;
    const all = [regs.pc, regs.ctr, regs.lr, regs.xer, regs.msr, regs.srr0, regs.srr1, regs.pid];
    if (
      ![...all, regs.sprg0, regs.sprg1, regs.sprg2, regs.sprg3, ...regs.gpr].every(
        (v) => typeof v === "bigint",
      )
    ) {
      return -U.EINVAL;
    }
    if ((u64(regs.pc) & 3n) !== 0n) return -U.EINVAL;
    this.pc = u64(regs.pc);
    this.cr = regs.cr >>> 0;
    this.spr.set(SPRN_CTR, u64(regs.ctr));
    this.spr.set(SPRN_LR, u64(regs.lr));
    this.spr.set(SPRN_XER, u64(regs.xer));
    this.setMsr(u64(regs.msr));
    this.spr.set(SPRN_SRR0, u64(regs.srr0));
    this.spr.set(SPRN_SRR1, u64(regs.srr1));
    this.spr.set(SPRN_PIDR, u64(regs.pid) & 0xffffffffn);
    this.spr.set(SPRN_SPRG0, u64(regs.sprg0));
    this.spr.set(SPRN_SPRG1, u64(regs.sprg1));
    this.spr.set(SPRN_SPRG2, u64(regs.sprg2));
    this.spr.set(SPRN_SPRG3, u64(regs.sprg3));
    for (let i = 0; i < 32; i++) this.gpr.set(i, u64(regs.gpr[i]));
    return 0;
  }

  // linux: book3s_hv.c kvmppc_set_msr_hv
  private setMsr(msr: bigint): void {
    const TS = 3n << 33n;
    if ((msr & TS) === TS) msr &= ~TS;
    this.msr = msr;
    this.ceded = false; // kvmppc_end_cede
  }

  private sprv(n: number): bigint {
    return this.spr.get(n) ?? 0n;
  }

  /** KVM_GET_ONE_REG (linux: kvmppc_get_one_reg_hv and book3s.c kvmppc_get_one_reg). */
  getOneReg(id: bigint): OneRegResult {
    if (typeof id !== "bigint") return { ret: -U.EINVAL, value: 0n };
    if (id === U.KVM_REG_PPC_VP_STATE) {
      // kvmppc_xive_native_get_vp
      const v = this.xive?.getVpState(this.id) ?? -U.ENXIO;
      return typeof v === "bigint" ? { ret: 0, value: v } : { ret: v, value: 0n };
    }
    const v = this.readOneReg(u64(id));
    return v === undefined ? { ret: -U.EINVAL, value: 0n } : { ret: 0, value: v };
  }

  /** KVM_SET_ONE_REG: 0, -EINVAL for unknown ids or invalid values, -EBUSY while running. */
  setOneReg(id: bigint, value: bigint): number {
    if (typeof id !== "bigint" || typeof value !== "bigint") return -U.EINVAL;
    if (this.state === "guest" || this.state === "kernel") return -U.EBUSY;
    if (id === U.KVM_REG_PPC_VP_STATE) return this.xive?.setVpState(this.id, value) ?? -U.ENXIO;
    const rid = u64(id);
    const size = U.oneRegSize(rid);
    if (size > 16) return -U.EINVAL;
    const val = size === 4 ? BigInt.asUintN(32, value) : u64(value);
    return this.writeOneReg(rid, val);
  }

  private static readonly SPR_REGS: ReadonlyMap<bigint, number> = new Map<bigint, number>([
    [U.KVM_REG_PPC_DSCR, SPRN_DSCR],
    [U.KVM_REG_PPC_DAR, SPRN_DAR],
    [U.KVM_REG_PPC_DSISR, SPRN_DSISR],
    [U.KVM_REG_PPC_AMR, SPRN_AMR],
    [U.KVM_REG_PPC_UAMOR, SPRN_UAMOR],
    [U.KVM_REG_PPC_IAMR, SPRN_IAMR],
    [U.KVM_REG_PPC_FSCR, SPRN_FSCR],
    [U.KVM_REG_PPC_PSPB, SPRN_PSPB],
    [U.KVM_REG_PPC_EBBHR, SPRN_EBBHR],
    [U.KVM_REG_PPC_EBBRR, SPRN_EBBRR],
    [U.KVM_REG_PPC_BESCR, SPRN_BESCR],
    [U.KVM_REG_PPC_TAR, SPRN_TAR],
    [U.KVM_REG_PPC_DAWR, SPRN_DAWR0],
    [U.KVM_REG_PPC_DAWRX, SPRN_DAWRX0],
    [U.KVM_REG_PPC_CIABR, SPRN_CIABR],
    [U.KVM_REG_PPC_PID, SPRN_PIDR],
    [U.KVM_REG_PPC_VRSAVE, SPRN_VRSAVE],
    [U.KVM_REG_PPC_PPR, SPRN_PPR],
    [U.KVM_REG_PPC_WORT, SPRN_WORT],
    [U.KVM_REG_PPC_TIDR, SPRN_TIDR],
    // the PMU (kvmppc_get_one_reg_hv: mmcr[], pmc[], siar, sdar, sier)
    [U.KVM_REG_PPC_MMCR0, SPRN_MMCR0],
    [U.KVM_REG_PPC_MMCR1, SPRN_MMCR1],
    [U.KVM_REG_PPC_MMCRA, SPRN_MMCRA],
    [U.KVM_REG_PPC_MMCR2, SPRN_MMCR2],
    [U.KVM_REG_PPC_SIAR, SPRN_SIAR],
    [U.KVM_REG_PPC_SDAR, SPRN_SDAR],
    [U.KVM_REG_PPC_SIER, SPRN_SIER],
    [U.KVM_REG_PPC_PMC1, SPRN_PMC1],
    [U.KVM_REG_PPC_PMC2, SPRN_PMC2],
    [U.KVM_REG_PPC_PMC3, SPRN_PMC3],
    [U.KVM_REG_PPC_PMC4, SPRN_PMC4],
    [U.KVM_REG_PPC_PMC5, SPRN_PMC5],
    [U.KVM_REG_PPC_PMC6, SPRN_PMC6],
  ]);

  private readOneReg(id: bigint): bigint | undefined {
    const spr = KvmVcpu.SPR_REGS.get(id);
    if (spr !== undefined) {
      const v = this.sprv(spr);
      return U.oneRegSize(id) === 4 ? v & 0xffffffffn : v;
    }
    switch (id) {
      case U.KVM_REG_PPC_PSSCR:
        return this.psscr;
      case U.KVM_REG_PPC_DEC_EXPIRY:
        return this.decExpires;
      case U.KVM_REG_PPC_LPCR:
        return this.vcore.lpcr & 0xffffffffn;
      case U.KVM_REG_PPC_LPCR_64:
        return this.vcore.lpcr;
      case U.KVM_REG_PPC_ARCH_COMPAT:
        return BigInt(this.vcore.archCompat);
      case U.KVM_REG_PPC_ONLINE:
        return BigInt(this.online);
      default:
        return undefined;
    }
  }

  private writeOneReg(id: bigint, val: bigint): number {
    const spr = KvmVcpu.SPR_REGS.get(id);
    if (spr !== undefined) {
      this.spr.set(spr, val);
      return 0;
    }
    switch (id) {
      case U.KVM_REG_PPC_PSSCR:
        // linux: kvmppc_set_one_reg_hv: vcpu->arch.psscr = set_reg_val(id, *val) & PSSCR_GUEST_VIS
        this.psscr = val & PSSCR_GUEST_VIS;
        return 0;
      case U.KVM_REG_PPC_DEC_EXPIRY:
        this.decExpires = val;
        return 0;
      case U.KVM_REG_PPC_LPCR:
        this.setLpcr(val, true);
        return 0;
      case U.KVM_REG_PPC_LPCR_64:
        this.setLpcr(val, false);
        return 0;
      case U.KVM_REG_PPC_ARCH_COMPAT: {
        const v = Number(val);
        const ok = [0, U.PVR_ARCH_205, U.PVR_ARCH_206, U.PVR_ARCH_206p, U.PVR_ARCH_207, U.PVR_ARCH_300];
        if (!ok.includes(v)) return -U.EINVAL;
        this.vcore.archCompat = v;
        return 0;
      }
      case U.KVM_REG_PPC_ONLINE:
        this.online = Number(val);
        return 0;
      default:
        return -U.EINVAL;
    }
  }

  // linux: book3s_hv.c kvmppc_set_lpcr: userspace may change DPFD, ILE, TC, AIL and LD only
  private setLpcr(newLpcr: bigint, preserveTop32: boolean): void {
    let mask = LPCR_DPFD | LPCR_ILE | LPCR_TC | LPCR_AIL;
    if (this.h.arch300) mask |= LPCR_LD;
    if (preserveTop32) mask &= 0xffffffffn;
    this.vcore.lpcr = (this.vcore.lpcr & ~mask) | (newLpcr & mask);
  }

  /** KVM_ENABLE_CAP on the vCPU fd (linux: powerpc.c kvm_vcpu_ioctl_enable_cap). */
  enableCap(cap: number, args: readonly (number | bigint)[] = [], flags = 0): number {
    if (flags !== 0) return -U.EINVAL;
    switch (cap) {
      case U.KVM_CAP_PPC_PAPR:
        return 0;
      case U.KVM_CAP_IRQ_XICS:
        return this.vm.inKernelXics ? 0 : -U.EINVAL;
      case U.KVM_CAP_PPC_IRQ_XIVE: {
        // kvmppc_xive_native_connect_vcpu: args [device fd, server]
        const dev = this.vm.xiveDevice;
        if (dev === null || Number(args[0] ?? -1) !== dev.fd) return -U.EPERM;
        const r = dev.connectVcpu(this.xiveVcpu(), Number(args[1] ?? 0));
        if (r === 0) this.xive = dev;
        return r;
      }
      default:
        void args;
        return -U.EINVAL;
    }
  }

  /**
   * KVM_INTERRUPT: raise (KVM_INTERRUPT_SET / _SET_LEVEL) or lower (KVM_INTERRUPT_UNSET) the
   * vCPU's external interrupt, as a device source of priority 5 presented through the ICP.
   */
  interrupt(irq: number, source = 0x1000): number {
    if (irq === U.KVM_INTERRUPT_SET || irq === U.KVM_INTERRUPT_SET_LEVEL) {
      this.icp.extSource = source;
      this.icp.extPriority = 5;
      this.interruptStateChanged();
      return 0;
    }
    if (irq === U.KVM_INTERRUPT_UNSET) {
      this.icp.extSource = 0;
      this.icp.extPriority = 0xff;
      this.interruptStateChanged();
      return 0;
    }
    return -U.EINVAL;
  }

  /** Asks a running vCPU to come back to userspace (signal + immediate_exit): KVM_EXIT_INTR. */
  requestExit(): void {
    this.exitRequested = true;
    this.kickVcpu();
  }

  /**
   * KVM_RUN (asynchronous): the vCPU runs in simulated time until it must exit to userspace,
   * then `onExit(run, vcpu)` is called with the kvm_run record. Returns 0, or -EBUSY (already
   * running), -ENOEXEC (no guest software set).
   */
  run(onExit: ExitHandler): number {
    if (this.state !== "created" && this.state !== "userspace") return -U.EBUSY;
    if (this.guestSw === null) return -8; // -ENOEXEC
    this.onExit = onExit;
    // kvm_arch_vcpu_ioctl_run: complete a userspace hcall
    if (this.hcallNeeded) {
      this.gpr.set(3, u64(this.run_.papr_hcall.ret));
      for (let i = 0; i < 9; i++) this.gpr.set(4 + i, u64(this.run_.papr_hcall.args[i] ?? 0n));
      this.hcallNeeded = false;
    }
    this.resumeCost = this.state === "userspace" ? this.h.costs.userspaceRoundTripNs : 0;
    this.userspaceGen++;
    this.state = "runnable";
    if (this.cpu.current === this) {
      // the thread never left its CPU: straight back into the kernel
      this.schedIn(this.cpu, false);
      return 0;
    }
    this.cpu.wakeTask(this);
    return 0;
  }

  // -------------------------------------------------------------------------------------------
  // HostTask: the vCPU thread on its host CPU (kvmhv_run_single_vcpu)
  // -------------------------------------------------------------------------------------------

  /** HostTask: the vCPU thread got its host CPU. */
  schedIn(_cpu: HostCpu, fromIdle: boolean): void {
    const costs = this.h.costs;
    let delay = this.resumeCost;
    this.resumeCost = 0;
    if (this.state === "blocked" || this.ceded) {
      // woken from kvmppc_vcore_blocked: end the cede, back into the run loop
      delay += this.cpu.cost(costs.wakeTaskNs) + this.cpu.cost(costs.runLoopNs);
      this.decTimer.cancel();
      this.ceded = false;
    } else if (fromIdle) {
      delay += this.cpu.cost(costs.wakeTaskNs);
    }
    this.state = "kernel";
    if (!this.tickTimer.armed) this.tickTimer.start(this.cpu.sim.now + this.h.tickNs);
    this.scheduleEnter(delay);
  }

  private scheduleEnter(delay: number): void {
    if (this.enterTimerArmed) return;
    this.enterTimerArmed = true;
    this.cpu.sim.schedule(delay, () => {
      this.enterTimerArmed = false;
      this.enterGuest();
    });
  }

  /** Host scheduler tick while the vCPU thread runs (HZ). */
  private tick(): void {
    if (this.cpu.current === this) this.tickTimer.start(this.cpu.sim.now + this.h.tickNs);
  }

  // linux: book3s_hv.c kvmppc_vcpu_woken
  private woken(): boolean {
    return (
      this.pendingProgram !== null ||
      this.pendingIsi ||
      this.doorbellRequest ||
      this.icpPending() ||
      (this.xive?.interruptPending(this.id) ?? false) ||
      this.decPending() ||
      this.exitRequested
    );
  }

  private decPending(): boolean {
    return BigInt(nsToTb(this.cpu.sim.now)) >= this.decExpires;
  }

  /** kvmhv_run_single_vcpu up to the hrfid: prepare, then kvmhv_p9_guest_entry. */
  private enterGuest(): void {
    if (this.state !== "kernel") return;
    const cpu = this.cpu;
    cpu.runExpiredTimers();
    if (this.exitRequested) {
      this.exitRequested = false;
      this.exitToUserspace(U.KVM_EXIT_INTR);
      return;
    }
    // kvmppc_core_prepare_to_enter: deliver a queued program / ISI interrupt
    let inject: number | null = null;
    if (this.pendingProgram !== null) {
      this.injectInterrupt(BOOK3S_INTERRUPT_PROGRAM, this.pendingProgram);
      this.pendingProgram = null;
      inject = BOOK3S_INTERRUPT_PROGRAM;
    } else if (this.pendingIsi) {
      this.injectInterrupt(BOOK3S_INTERRUPT_INST_STORAGE, 0x40000000n);
      this.pendingIsi = false;
      inject = BOOK3S_INTERRUPT_INST_STORAGE;
    }
    this.updateVpas();
    const costs = this.h.costs;
    const entry = this.realModeReturn && inject === null ? costs.realModeSwitchNs : costs.guestEntryNs;
    this.realModeReturn = false;
    const delay = cpu.cost(entry) + (inject !== null ? cpu.cost(costs.injectInterruptNs) : 0);
    cpu.sim.schedule(delay, () => this.hrfidToGuest(inject), `kvm vcpu${this.id} entry`);
  }

  // linux: book3s_hv_builtin.c kvmppc_inject_interrupt_hv
  private injectInterrupt(vector: number, srr1Flags: bigint): void {
    this.spr.set(SPRN_SRR0, this.pc);
    this.spr.set(SPRN_SRR1, (this.msr & ~0x783f0000n) | srr1Flags);
    this.pc = BigInt(vector);
    // vcpu->arch.intr_msr: MSR_SF | MSR_ME, plus MSR_LE when LPCR[ILE]
    this.msr = MSR_SF | MSR_ME | ((this.vcore.lpcr & LPCR_ILE) !== 0n ? MSR_LE : 0n);
  }

  /**
   * The PSSCR KVM loads on guest entry. The 2020 P9 path forces PSSCR_EC only
   * (linux: book3s_hv.c kvmhv_load_hv_regs_and_go: `mtspr(SPRN_PSSCR, vcpu->arch.psscr | PSSCR_EC
   * | ...)`; book3s_hv_rmhandlers.S: `oris r6, r6, PSSCR_EC@h`, "This makes stop trap to HV");
   * ESL keeps the guest-visible value, which is 0 because vcpu->arch.psscr is always masked with
   * PSSCR_GUEST_VIS. A build whose policy clears the trap bits (RFC patch 2) loads
   * `psscr & ~(PSSCR_EC | PSSCR_ESL)`.
   */
  entryPsscr(): bigint {
    const base = this.psscr & PSSCR_GUEST_VIS;
    return guestPsscrClearsTrapBits(this.h) ? base & ~(PSSCR_EC | PSSCR_ESL) : base | PSSCR_EC;
  }

  private hrfidToGuest(inject: number | null): void {
    if (this.state !== "kernel") return;
    const cpu = this.cpu;
    const t = cpu.thread;
    const sw = this.guestSw;
    if (sw === null) return;
    cpu.runExpiredTimers();
    const now = cpu.sim.now;
    const tb = BigInt(nsToTb(now));
    // time_limit: the host's next timer event (kvmhv_p9_guest_entry / load_hv_regs_and_go)
    const next = cpu.nextTimerAt;
    const hdec = Number.isFinite(next) ? BigInt(nsToTb(next)) - tb : 0x7fffffffn;
    if (hdec <= 0n) {
      // "if (hdec < 0) return BOOK3S_INTERRUPT_HV_DECREMENTER": handled without entering
      this.afterExit(BOOK3S_INTERRUPT_HV_DECREMENTER, 0);
      return;
    }
    // load guest state
    this.gpr.loadInto(t);
    t.cr = this.cr;
    this.spr.loadInto(t);
    t.setSpr(SPRN_DEC, BigInt.asUintN(64, this.decExpires - tb));
    t.setSpr(SPRN_HDEC, hdec > 0x7fffffffn ? 0x7fffffffn : hdec);
    t.setSpr(SPRN_PSSCR, this.entryPsscr());
    t.setSpr(SPRN_HFSCR, this.hfscr);
    t.setSpr(SPRN_LPCR, this.vcore.lpcr);
    t.setSpr(SPRN_HSRR0, this.pc);
    t.setSpr(SPRN_HSRR1, this.msr);
    t.setSoftware("os", sw);
    // the guest's real-mode loads and stores reach its memory slot (no partition-scoped
    // translation in the model: guest real address = offset in the slot at address 0)
    this.hostMemory = t.memory;
    t.memory = this.vm.guestRealMemory();
    // XIVE: push the vCPU's interrupt context: pending externals are presented to the thread
    if (this.xive !== null) this.xive.push(this.id, this.h.xive?.hw.tctx(t.pir) ?? noTctx(t.pir));
    else t.setExternalInterrupt(this.icpPending());
    if (this.doorbellRequest) {
      this.doorbellRequest = false;
      t.receivePrivilegedDoorbell();
    }
    this.state = "guest";
    cpu.state = "guest";
    if (cpu.sim.trace.enabled) {
      cpu.sim.trace.instant(cpu.track, "kvm_guest_enter", "kvm", {
        vcpu: this.id,
        pc: `0x${this.pc.toString(16)}`,
        psscr: `0x${this.entryPsscr().toString(16)}`,
      });
    }
    const r = t.execute(HRFID);
    if (r !== EXEC_OK) return; // an interrupt was taken at once and its software notified
    if (inject !== null) sw.interrupt(t, inject);
    else t.dispatch();
  }

  /** HostTask: an interrupt routed to the hypervisor while this vCPU's guest ran: a guest exit. */
  guestInterrupt(cpu: HostCpu, vector: number): void {
    if (this.state !== "guest") return;
    const t = cpu.thread;
    // save guest state (the exit path of kvmhv_p9_guest_entry)
    const srrBased = vector === BOOK3S_INTERRUPT_SYSCALL || vector < 0x300;
    this.pc = t.getSpr(srrBased ? SPRN_SRR0 : SPRN_HSRR0);
    this.msr = t.getSpr(srrBased ? SPRN_SRR1 : SPRN_HSRR1);
    this.gpr.saveFrom(t);
    this.cr = t.cr;
    this.spr.saveFrom(t);
    // the interrupt entry saved the guest's PPR before HMT_MEDIUM (rmhandlers.S: HSTATE_PPR ->
    // VCPU_PPR); the thread's PPR is the host's now
    this.spr.set(SPRN_PPR, cpu.exceptionPpr);
    this.psscr = t.getSpr(SPRN_PSSCR) & PSSCR_GUEST_VIS;
    this.hfscr = t.getSpr(SPRN_HFSCR);
    const rawDec = t.getSpr(SPRN_DEC);
    const dec = (this.vcore.lpcr & LPCR_LD) !== 0n ? BigInt.asIntN(56, rawDec) : BigInt.asIntN(32, rawDec);
    this.decExpires = BigInt(nsToTb(cpu.sim.now)) + dec;
    if (t.pDoorbell) {
      this.doorbellRequest = true;
      t.pDoorbell = false;
    }
    const hdar = t.getSpr(SPRN_HDAR);
    const hdsisr = t.getSpr(SPRN_HDSISR);
    // XIVE: pull the vCPU context; back to the host's LPCR
    if (this.xive !== null) this.xive.pull(this.id, this.h.xive?.hw.tctx(t.pir) ?? noTctx(t.pir));
    else t.setExternalInterrupt(false);
    t.setSpr(SPRN_LPCR, this.h.hostLpcr);
    t.setSpr(SPRN_HDEC, 0x7fffffffn);
    t.setSoftware("os", null);
    t.memory = this.hostMemory;
    this.hostMemory = null;
    this.state = "kernel";
    cpu.state = "busy";
    const name = exitName(vector);
    this.countExit(name);
    if (cpu.sim.trace.enabled) {
      cpu.sim.trace.instant(cpu.track, "kvm_exit", "kvm", {
        vcpu: this.id,
        exit: name,
        pc: `0x${this.pc.toString(16)}`,
        msr: `0x${this.msr.toString(16)}`,
      });
    }
    const costs = this.h.costs;
    let delay: number;
    if (this.realModeHcall(vector)) {
      // hcall_try_real_mode: the handler runs in the real-mode exit path and returns straight to
      // the guest (fast_guest_return), without the switch to the host's virtual mode
      this.realModeReturn = true;
      delay = cpu.cost(costs.realModeSwitchNs) + cpu.cost(costs.xicsHcallNs);
    } else if (vector === BOOK3S_INTERRUPT_H_DOORBELL && !this.exitRequested) {
      // book3s_hv_rmhandlers.S: "Hypervisor doorbell - exit only if host IPI flag set": with
      // HSTATE_HOST_IPI clear (a KVM kick, not a host IPI: signals and host reschedules set it)
      // maybe_reenter_guest goes straight to deliver_guest_interrupt, which hands a requested
      // doorbell to the guest through DPDES (kvmppc_guest_entry_inject_int); no virtual-mode exit
      this.realModeReturn = true;
      this.reenteredDoorbells++;
      delay = cpu.cost(costs.realModeSwitchNs);
    } else {
      this.realModeReturn = false;
      const handling = costs.exitHandlingNs[name] ?? costs.exitHandlingDefaultNs;
      delay = cpu.cost(costs.guestExitNs) + cpu.cost(handling);
    }
    cpu.sim.schedule(delay, () => this.afterExit(vector, 0, hdar, hdsisr), `kvm vcpu${this.id} exit`);
  }

  /**
   * Whether this exit is an hcall the 2020 P9 path handles in real mode (book3s_hv_rmhandlers.S
   * hcall_real_table: the XICS hcalls, on XIVE hosts the xive_rm_h_* handlers of
   * book3s_xive_template.c). The 2021 rework ("KVM: PPC: Book3S HV P9: Stop handling hcalls in
   * real-mode in the P9 path") removed this; the model follows the 2020 kernel.
   */
  private realModeHcall(vector: number): boolean {
    if (vector !== BOOK3S_INTERRUPT_SYSCALL || !this.vm.inKernelXics) return false;
    if ((this.msr & MSR_PR) !== 0n) return false;
    const req = Number(this.gpr.get(3) & 0xffffffffn);
    if (!this.vm.enabledHcalls.has(req)) return false;
    return REAL_MODE_XICS_HCALLS.has(req);
  }

  private countExit(name: string): void {
    this.exitCounts.set(name, (this.exitCounts.get(name) ?? 0) + 1);
    this.vm.countExit(name);
    this.cpu.sim.stats.counter(`kvm.exit.${name}`).inc();
  }

  /** Exit counts per kvm_exit name. */
  exitCountsRecord(): Record<string, number> {
    return Object.fromEntries([...this.exitCounts.entries()].sort(([x], [y]) => x.localeCompare(y)));
  }

  private afterExit(vector: number, _unused: number, hdar = 0n, hdsisr = 0n): void {
    if (this.state !== "kernel") return;
    let action = this.handleExitHv(vector, hdar, hdsisr);
    if (
      action.kind === "host" &&
      this.run_.exit_reason === U.KVM_EXIT_PAPR_HCALL &&
      (this.msr & MSR_PR) === 0n
    ) {
      action = this.doHcall();
    }
    if (action.kind === "resume") {
      this.scheduleEnter(0);
    } else if (action.kind === "block") {
      this.block();
    } else {
      this.exitToUserspace(this.run_.exit_reason);
    }
  }

  /** linux: book3s_hv.c kvmppc_handle_exit_hv */
  handleExitHv(vector: number, hdar: bigint, hdsisr: bigint): Action {
    const run = this.run_;
    run.exit_reason = U.KVM_EXIT_UNKNOWN;
    switch (vector) {
      case BOOK3S_INTERRUPT_HV_DECREMENTER: {
        // host timer due: run the expired host timers (scheduler tick)
        this.cpu.runExpiredTimers();
        return RESUME;
      }
      case BOOK3S_INTERRUPT_EXTERNAL:
      case BOOK3S_INTERRUPT_H_VIRT:
      case BOOK3S_INTERRUPT_H_DOORBELL:
        // host interrupt / IPI (e.g. a kick): handled by the host, then back to the guest
        this.cpu.handleHostIrqs();
        return RESUME;
      case BOOK3S_INTERRUPT_SYSCALL: {
        run.papr_hcall.nr = this.gpr.get(3);
        for (let i = 0; i < 9; i++) run.papr_hcall.args[i] = this.gpr.get(4 + i);
        run.papr_hcall.ret = 0n;
        run.exit_reason = U.KVM_EXIT_PAPR_HCALL;
        this.hcallNeeded = true;
        return HOST;
      }
      case BOOK3S_INTERRUPT_H_FAC_UNAVAIL: {
        const cause = Number(this.hfscr >> 56n);
        if (cause === FSCR_STOP_LG && this.h.build.emulateStopTrap) {
          // RFC patch 1: emulate a wake-up from an ESL=EC=0 stop: resume after the stop
          this.pc = u64(this.pc + 4n);
          this.emulatedStops++;
          this.cpu.sim.stats.counter("kvm.stop_emulated").inc();
          return RESUME;
        }
        if (cause === FSCR_MSGP_LG && this.h.arch300 && this.emulateDoorbellInstr()) return RESUME;
        this.queueProgram(SRR1_PROGILL);
        return RESUME;
      }
      case BOOK3S_INTERRUPT_H_EMUL_ASSIST:
        this.queueProgram(SRR1_PROGILL);
        return RESUME;
      case BOOK3S_INTERRUPT_H_DATA_STORAGE:
        // no memslot: MMIO emulation in userspace
        run.exit_reason = U.KVM_EXIT_MMIO;
        run.mmio.phys_addr = hdar;
        run.mmio.len = 0;
        run.mmio.is_write = (hdsisr & 0x02000000n) !== 0n;
        return HOST;
      case BOOK3S_INTERRUPT_H_INST_STORAGE:
        this.pendingIsi = true;
        return RESUME;
      default:
        this.h.log.err(
          `kvm: vcpu ${this.id}: unexpected trap=0x${vector.toString(16)} | pc=0x${this.pc.toString(16)} | msr=0x${this.msr.toString(16)}`,
        );
        run.hw.hardware_exit_reason = vector;
        run.exit_reason = U.KVM_EXIT_UNKNOWN;
        return HOST;
    }
  }

  private queueProgram(flags: bigint): void {
    this.pendingProgram = flags;
    this.programInterrupts++;
    this.cpu.sim.stats.counter("kvm.program_interrupt_queued").inc();
  }

  // linux: book3s_hv.c kvmppc_emulate_doorbell_instr (msgsndp / msgclrp / mfspr DPDES)
  private emulateDoorbellInstr(): boolean {
    const le = (this.msr & MSR_LE) !== 0n;
    const w = this.vm.readGuestWord(Number(this.pc & 0x0fffffffffffffffn), le);
    if (w === undefined) return false;
    const primary = w >>> 26;
    const xo = (w >>> 1) & 0x3ff;
    if (primary !== 31) return false;
    const rb = (w >>> 11) & 31;
    if (xo === 142) {
      // msgsndp: doorbell to a thread of this vCore
      const msg = this.gpr.get(rb);
      if (((msg >> 27n) & 31n) === 5n) {
        const tpc = this.vm.smtMode > 0 ? this.vm.smtMode : this.h.threadsPerCore;
        const thr = Number(msg & 0x3fn);
        if (thr < tpc) {
          const target = this.vm.vcpus.get(Math.floor(this.id / tpc) * tpc + thr);
          // "if (!tvcpu->arch.doorbell_request)": a target with a doorbell already requested is
          // not kicked again
          if (target !== undefined && !target.doorbellRequest) {
            target.doorbellRequest = true;
            target.kickVcpu();
          }
        }
      }
    } else if (xo === 174) {
      this.doorbellRequest = false; // msgclrp
    } else {
      return false;
    }
    this.pc = u64(this.pc + 4n);
    return true;
  }

  /** linux: book3s_hv.c kvmppc_pseries_do_hcall */
  private doHcall(): Action {
    const req = Number(this.gpr.get(3) & 0xffffffffn);
    const cpu = this.cpu;
    if (cpu.sim.trace.enabled) {
      cpu.sim.trace.instant(cpu.track, "kvm_hcall_enter", "kvm", {
        vcpu: this.id,
        req: `0x${req.toString(16)}`,
      });
    }
    if (req <= U.MAX_HCALL_OPCODE && !this.vm.enabledHcalls.has(req)) return HOST;
    let ret: number;
    switch (req) {
      case U.H_CEDE: {
        // kvmppc_nested_cede (P9 path): the guest continues with MSR[EE] set
        this.msr |= MSR_EE;
        this.ceded = true;
        if (this.prodded) {
          this.prodded = false;
          this.ceded = false;
        }
        // kvmppc_xive_rearm_escalation: may un-cede (an escalation still in flight)
        if (this.ceded && this.xive !== null && !this.xive.rearmEscalation(this.id)) this.ceded = false;
        this.finishHcall(U.H_SUCCESS);
        return this.ceded && !this.woken() ? BLOCK : this.endCede();
      }
      case U.H_PROD: {
        const target = this.vm.vcpus.get(Number(this.gpr.get(4)));
        if (target === undefined) {
          ret = U.H_PARAMETER;
          break;
        }
        target.prodded = true;
        if (target.ceded) target.kickVcpu();
        ret = U.H_SUCCESS;
        break;
      }
      case U.H_REGISTER_VPA:
        ret = this.doHRegisterVpa(this.gpr.get(4), this.gpr.get(5), this.gpr.get(6));
        break;
      case U.H_CONFER:
      case U.H_SET_DABR:
        ret = U.H_SUCCESS;
        break;
      case U.H_IPI:
      case U.H_XIRR:
      case U.H_XIRR_X:
      case U.H_EOI:
      case U.H_CPPR:
      case U.H_IPOLL:
        if (!this.vm.inKernelXics) return HOST;
        return this.xicsHcall(req);
      default:
        // not handled in the kernel (H_RTAS, H_SET_MODE, H_LOGICAL_CI_*, ...): to userspace
        return HOST;
    }
    this.finishHcall(ret);
    return RESUME;
  }

  /**
   * linux: book3s_hv.c do_h_register_vpa (v5.7): a new area must be cache-line aligned, mapped and
   * long enough (its length: the be16 at offset 4 for a VPA, the be32 there for a DTL or SLB
   * shadow); a VPA must be at least sizeof(struct lppaca) = 640 bytes; a DTL or SLB shadow needs a
   * registered VPA, and a VPA cannot be deregistered while either is registered. set_vpa only
   * records the request: kvmppc_update_vpas applies it on the target's next guest entry, and for
   * a VPA init_vpa() then sets LPPACA_OLD_SHARED_PROC in its __old_status byte: every KVM guest
   * is a shared-processor LPAR.
   */
  private doHRegisterVpa(flags: bigint, vcpuid: bigint, vpa: bigint): number {
    const subfunc = Number((flags >> U.H_VPA_FUNC_SHIFT) & U.H_VPA_FUNC_MASK);
    const addr = Number(vpa & 0x0fffffffffffffffn);
    let len = 0;
    const registering =
      subfunc === U.H_VPA_REG_VPA || subfunc === U.H_VPA_REG_DTL || subfunc === U.H_VPA_REG_SLB;
    if (registering) {
      if (addr % U.L1_CACHE_BYTES !== 0 || addr === 0) return U.H_PARAMETER;
      const l =
        subfunc === U.H_VPA_REG_VPA ? this.vm.readGuestBe16(addr + 4) : this.vm.readGuestBe32(addr + 4);
      // struct reg_vpa is 8 bytes; the whole area must be in guest memory
      if (l === undefined || l < 8 || !this.vm.guestRangeMapped(addr, l)) return U.H_PARAMETER;
      len = l;
    }
    const target = this.vm.vcpus.get(Number(vcpuid));
    if (target === undefined) return U.H_PARAMETER;
    const a = target.vpaAreas;
    switch (subfunc) {
      case U.H_VPA_REG_VPA:
        if (len < U.LPPACA_USED_SIZE) return U.H_PARAMETER;
        a.vpaNext = addr;
        break;
      case U.H_VPA_REG_DTL:
      case U.H_VPA_REG_SLB: {
        const vpaAddr = a.vpaNext ?? a.vpa;
        if (vpaAddr === null) return U.H_RESOURCE;
        if (subfunc === U.H_VPA_REG_DTL) a.dtl = addr;
        else a.slbShadow = addr;
        break;
      }
      case U.H_VPA_DEREG_VPA:
        if (a.dtl !== null || a.slbShadow !== null) return U.H_RESOURCE;
        a.vpaNext = null;
        break;
      case U.H_VPA_DEREG_DTL:
        a.dtl = null;
        break;
      case U.H_VPA_DEREG_SLB:
        a.slbShadow = null;
        break;
      default:
        return U.H_PARAMETER;
    }
    a.updatePending = true;
    return U.H_SUCCESS;
  }

  /** linux: book3s_hv.c kvmppc_update_vpas + init_vpa, on guest entry. */
  private updateVpas(): void {
    const a = this.vpaAreas;
    if (!a.updatePending) return;
    a.updatePending = false;
    a.vpa = a.vpaNext;
    if (a.vpa !== null) {
      // init_vpa: vpa->__old_status |= LPPACA_OLD_SHARED_PROC
      this.vm.orGuestByte(a.vpa + U.LPPACA_OLD_STATUS_OFFSET, U.LPPACA_OLD_SHARED_PROC);
    }
  }

  private endCede(): Action {
    this.ceded = false;
    return RESUME;
  }

  private finishHcall(ret: number): void {
    this.gpr.set(3, u64(BigInt(ret)));
    this.hcallNeeded = false;
    this.run_.exit_reason = U.KVM_EXIT_UNKNOWN;
  }

  // ---------------------------------------------------------------------------------------------
  // XICS presentation on XIVE (linux: arch/powerpc/kvm/book3s_xive_template.c GLUE(X_PFX,h_*))
  // ---------------------------------------------------------------------------------------------

  /** Highest-priority (numerically lowest) pending interrupt more favoured than CPPR. */
  private icpBest(): { source: number; priority: number } | null {
    const c = this.icp;
    let best: { source: number; priority: number } | null = null;
    if (c.mfrr < c.cppr) best = { source: U.XICS_IPI, priority: c.mfrr };
    if (c.extSource !== 0 && c.extPriority < c.cppr && (best === null || c.extPriority < best.priority)) {
      best = { source: c.extSource, priority: c.extPriority };
    }
    return best;
  }

  private icpPending(): boolean {
    return this.icpBest() !== null;
  }

  private xicsHcall(req: number): Action {
    const c = this.icp;
    switch (req) {
      case U.H_IPI: {
        const target = this.vm.vcpus.get(Number(this.gpr.get(4)));
        if (target === undefined) {
          this.finishHcall(U.H_PARAMETER);
          return RESUME;
        }
        target.icp.mfrr = Number(this.gpr.get(5) & 0xffn);
        target.interruptStateChanged();
        this.finishHcall(U.H_SUCCESS);
        return RESUME;
      }
      case U.H_XIRR:
      case U.H_XIRR_X: {
        // accept the most favoured pending interrupt: XIRR = CPPR << 24 | XISR
        const best = this.icpBest();
        const oldCppr = c.cppr;
        let xisr = 0;
        if (best !== null) {
          xisr = best.source;
          c.cppr = best.priority;
          c.xisr = xisr;
          if (xisr !== U.XICS_IPI) c.extSource = 0; // edge-presented device source
        }
        this.finishHcall(U.H_SUCCESS);
        this.gpr.set(4, BigInt(((oldCppr << 24) | xisr) >>> 0));
        this.interruptStateChanged();
        return RESUME;
      }
      case U.H_IPOLL: {
        const best = this.icpBest();
        this.finishHcall(U.H_SUCCESS);
        this.gpr.set(4, BigInt(((c.cppr << 24) | (best?.source ?? 0)) >>> 0));
        this.gpr.set(5, BigInt(c.mfrr));
        return RESUME;
      }
      case U.H_CPPR:
        c.cppr = Number(this.gpr.get(4) & 0xffn);
        this.finishHcall(U.H_SUCCESS);
        this.interruptStateChanged();
        return RESUME;
      default: {
        // H_EOI: restore the CPPR from the XIRR, end the source
        const xirr = Number(this.gpr.get(4) & 0xffffffffn);
        c.cppr = xirr >>> 24;
        c.xisr = 0;
        this.finishHcall(U.H_SUCCESS);
        this.interruptStateChanged();
        return RESUME;
      }
    }
  }

  /** The vCPU's pending-interrupt state changed: present it or wake the vCPU (XIVE escalation). */
  private interruptStateChanged(): void {
    const pending = this.icpPending();
    if (this.state === "guest") {
      this.cpu.thread.setExternalInterrupt(pending);
    } else if (pending && (this.state === "blocked" || this.ceded)) {
      this.kickVcpu();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Blocking (H_CEDE) and wake-ups
  // ---------------------------------------------------------------------------------------------

  /** kvmppc_set_timer + kvmppc_vcore_blocked: the ceded vCPU sleeps, its host CPU is free. */
  private block(): void {
    const now = this.cpu.sim.now;
    const tb = BigInt(nsToTb(now));
    if (tb >= this.decExpires) {
      // the decrementer already expired: no sleep
      this.ceded = false;
      this.scheduleEnter(0);
      return;
    }
    this.decTimer.start(tbToNs(Number(this.decExpires)));
    this.state = "blocked";
    if (this.cpu.sim.trace.enabled) {
      this.cpu.sim.trace.instant(this.cpu.track, "kvm_vcpu_block", "kvm", { vcpu: this.id });
    }
    this.cpu.sim.schedule(this.cpu.cost(this.h.costs.blockNs), () => {
      if (this.state !== "blocked") {
        // woken while blocking: keep the CPU and go back in
        return;
      }
      this.tickTimer.cancel();
      this.cpu.taskBlocked(this);
    });
  }

  /** kvmppc_decrementer_func: the ceded vCPU's decrementer expired. */
  private decrementerWakeup(): void {
    this.kickVcpu();
  }

  /** kvmppc_fast_vcpu_kick_hv: wake a blocked vCPU or make a running one exit. */
  kickVcpu(): void {
    this.kicks++;
    if (this.state === "blocked") {
      if (this.cpu.current === this) {
        // still blocking on its CPU: resume directly
        this.state = "kernel";
        this.ceded = false;
        this.decTimer.cancel();
        this.scheduleEnter(this.cpu.cost(this.h.costs.runLoopNs));
        return;
      }
      this.state = "runnable";
      this.cpu.wakeTask(this);
    } else if (this.state === "guest") {
      // IPI the thread running the vCPU: it exits (H_DOORBELL) and re-enters with the new state
      const t = this.cpu.thread;
      this.cpu.sim.schedule(this.cpu.latency(this.h.costs.ipiDeliveryNs), () => {
        if (this.state === "guest") t.receiveHypervisorDoorbell();
      });
    }
  }

  private exitToUserspace(reason: number): void {
    this.run_.exit_reason = reason;
    this.state = "userspace";
    this.tickTimer.cancel();
    // KVM_RUN returns: the vCPU thread goes on running the VMM's exit handling on its CPU, which
    // does not idle meanwhile. A thread that has not called KVM_RUN again within
    // userspaceRoundTripNs sleeps in the VMM (a halted vCPU waiting for work): the CPU is free.
    const gen = ++this.userspaceGen;
    this.cpu.sim.schedule(this.cpu.cost(this.h.costs.userspaceRoundTripNs), () => {
      if (this.userspaceGen === gen && this.state === "userspace") this.cpu.taskBlocked(this);
    });
    const cb = this.onExit;
    if (cb !== null) cb(this.run_, this);
  }

  /** What the XIVE native device sees of this vCPU. */
  private xiveVcpu(): import("./xive-native.js").XiveNativeVcpu {
    return {
      id: this.id,
      hostCpuId: this.cpu.cpuId,
      // xive_esc_irq: "if (vcpu->arch.ceded) kvmppc_fast_vcpu_kick(vcpu)"
      escalationWake: () => {
        if (this.ceded) this.kickVcpu();
      },
    };
  }

  /** The guest PC (for tests and diagnostics; the VMM uses getRegs). */
  get guestPc(): bigint {
    return this.pc;
  }

  /** Whether the vCPU is ceded (blocked in H_CEDE). */
  get isCeded(): boolean {
    return this.ceded;
  }

  /** Current state of the vCPU thread. */
  get runState(): VcpuState {
    return this.state;
  }
}

/** XICS hcalls of hcall_real_table (book3s_hv_rmhandlers.S of 2020). */
const REAL_MODE_XICS_HCALLS: ReadonlySet<number> = new Set([
  U.H_EOI,
  U.H_CPPR,
  U.H_IPI,
  U.H_IPOLL,
  U.H_XIRR,
  U.H_XIRR_X,
]);

/** SPRs KVM saves on exit and loads on entry (besides PC/MSR/GPRs/CR/DEC/PSSCR/HFSCR). */
const GUEST_SPRS: readonly number[] = [
  SPRN_LR,
  SPRN_CTR,
  SPRN_XER,
  SPRN_SRR0,
  SPRN_SRR1,
  SPRN_SPRG0,
  SPRN_SPRG1,
  SPRN_SPRG2,
  SPRN_SPRG3,
  SPRN_DAR,
  SPRN_DSISR,
  SPRN_DSCR,
  SPRN_TAR,
  SPRN_PIDR,
  SPRN_CIABR,
  SPRN_DAWR0,
  SPRN_DAWRX0,
  SPRN_PPR,
  SPRN_FSCR,
  SPRN_IAMR,
  SPRN_AMR,
  SPRN_UAMOR,
  SPRN_PSPB,
  SPRN_TIDR,
  SPRN_WORT,
  SPRN_EBBHR,
  SPRN_EBBRR,
  SPRN_BESCR,
  SPRN_VRSAVE,
  // PMU (linux: book3s_hv.c kvmhv_load_guest_pmu / kvmhv_save_guest_pmu of the P9 path)
  SPRN_MMCR0,
  SPRN_MMCR1,
  SPRN_MMCR2,
  SPRN_MMCRA,
  SPRN_PMC1,
  SPRN_PMC2,
  SPRN_PMC3,
  SPRN_PMC4,
  SPRN_PMC5,
  SPRN_PMC6,
  SPRN_SIAR,
  SPRN_SDAR,
  SPRN_SIER,
];

/** The fd number of a VM's XIVE device (KVM_CREATE_DEVICE's result). */
export const XIVE_DEVICE_FD = 16;

function noTctx(pir: number): never {
  throw new RangeError(`host thread PIR ${pir} has no XIVE thread context (the host booted without XIVE)`);
}
