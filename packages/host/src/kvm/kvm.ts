import type { Memory } from "@stopsim/isa";
import type { KvmBuild } from "../build.js";
import type { HostCpu } from "../cpu.js";
import type { KernelLog } from "../log.js";
import type { HostXive } from "../xive-host.js";
import * as U from "./abi.js";
import type { FwFeatures } from "./cpu-char.js";
import type { KvmVcpu } from "./vcpu.js";
import { KvmVm } from "./vm.js";

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
  /** The halt-polling module parameters (kvm_main.c); default DEFAULT_HALT_POLL. */
  readonly haltPoll?: import("./halt-poll.js").HaltPollParams;
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

export const KVM_MAX_VCPUS = 2048;
export const KVM_MAX_VCPU_ID = 2048;

export const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

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

export function checkExtension(h: KvmHostInfo, vm: KvmVm | undefined, cap: number): number {
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
