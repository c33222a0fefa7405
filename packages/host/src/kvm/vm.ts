// linux: arch/powerpc/kvm/book3s_hv.c kvmppc_core_init_vm_hv and virt/kvm/kvm_main.c (the VM fd:
// KVM_CREATE_VCPU, KVM_SET_USER_MEMORY_REGION, KVM_CREATE_DEVICE, KVM_ENABLE_CAP, KVM_CHECK_EXTENSION).

import {
  LPCR_DPFD_SH,
  LPCR_GTSE,
  LPCR_HDICE,
  LPCR_HEIC,
  LPCR_HR,
  LPCR_HVICE,
  LPCR_LPES,
  LPCR_PECE,
  LPCR_UPRT,
  type Memory,
} from "@stopsim/isa";
import type { HostCpu } from "../cpu.js";
import * as U from "./abi.js";
import { type KvmPpcCpuChar, kvmppcGetCpuChar } from "./cpu-char.js";
import { DEFAULT_HCALLS, IMPLEMENTED_HCALLS } from "./hcall.js";
import {
  type CreateVmOptions,
  checkExtension,
  KVM_MAX_VCPU_ID,
  KVM_MAX_VCPUS,
  type Kvm,
  type KvmHostInfo,
  type KvmMemoryRegion,
} from "./kvm.js";
import { KvmVcpu } from "./vcpu.js";
import { KvmXiveNativeDevice } from "./xive-native.js";

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
export interface Vcore {
  lpcr: bigint;
  archCompat: number;
}

/** The fd number of a VM's XIVE device (KVM_CREATE_DEVICE's result). */
export const XIVE_DEVICE_FD = 16;

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
