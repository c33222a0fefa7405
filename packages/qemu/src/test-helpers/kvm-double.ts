// A test double of the host's KVM API for the userspace tests of this package: it keeps vCPU
// registers and runs a scripted guest that produces kvm_run exits. The real host kernel model is
// @stopsim/host; this double only lets QEMU's userspace side be tested on its own.

import type { Simulation } from "@stopsim/engine";
import type { Memory } from "@stopsim/isa";
import {
  KVM_CAP_PPC_FIXUP_HCALL,
  KVM_CAP_PPC_FWNMI,
  KVM_CAP_PPC_GUEST_STOP,
  KVM_CAP_STOP,
  type KvmRegs,
  type KvmRunExit,
  type KvmSystemFd,
  type KvmUserMemoryRegion,
  type KvmVcpuFd,
  type KvmVmFd,
} from "../kvm.js";
import type { QemuHost } from "../spapr.js";

/** One step of a scripted guest: after `delayNs`, exit with `exit` (null: stay in the guest). */
export type GuestScript = (vcpu: DoubleVcpu, ram: Memory) => { delayNs: number; exit: KvmRunExit | null };

export class DoubleVcpu implements KvmVcpuFd {
  regs: KvmRegs = {
    pc: 0n,
    cr: 0n,
    ctr: 0n,
    lr: 0n,
    xer: 0n,
    msr: 0n,
    srr0: 0n,
    srr1: 0n,
    pid: 0n,
    sprg0: 0n,
    sprg1: 0n,
    sprg2: 0n,
    sprg3: 0n,
    sprg4: 0n,
    sprg5: 0n,
    sprg6: 0n,
    sprg7: 0n,
    gpr: new Array<bigint>(32).fill(0n),
  };
  readonly oneRegs = new Map<bigint, bigint>();
  runs = 0;
  private pending: ReturnType<Simulation["schedule"]> | undefined;
  private onExit: ((e: KvmRunExit) => void) | undefined;
  lastHcallRet: bigint | undefined;

  constructor(
    readonly id: number,
    private readonly vm: DoubleVm,
  ) {}

  getOneReg(id: bigint): bigint | number {
    return this.oneRegs.get(id) ?? 0n;
  }
  setOneReg(id: bigint, value: bigint): number {
    this.oneRegs.set(id, value);
    return 0;
  }
  getRegs(): KvmRegs {
    return { ...this.regs, gpr: this.regs.gpr.slice() };
  }
  setRegs(regs: KvmRegs): number {
    this.regs = { ...regs, gpr: regs.gpr.slice() };
    return 0;
  }
  run(onExit: (exit: KvmRunExit) => void): number {
    this.runs++;
    this.onExit = onExit;
    const step = this.vm.script(this, this.vm.ram as Memory);
    if (step.exit === null) return 0;
    const exit = step.exit;
    this.pending = this.vm.sim.schedule(step.delayNs, () => {
      this.pending = undefined;
      onExit(exit);
      if (exit.paprHcall) this.lastHcallRet = exit.paprHcall.ret;
    });
    return 0;
  }
  kick(): void {
    if (this.pending) this.pending.cancel();
    this.pending = undefined;
    const cb = this.onExit;
    if (cb) this.vm.sim.schedule(100, () => cb({ reason: 10 }));
  }
}

export class DoubleVm implements KvmVmFd {
  ram: Memory | undefined;
  readonly vcpus: DoubleVcpu[] = [];
  readonly enabled: number[] = [];
  constructor(
    readonly sim: Simulation,
    readonly caps: ReadonlyMap<number, number>,
    readonly script: GuestScript,
  ) {}
  checkExtension(cap: number): number {
    return this.caps.get(cap) ?? 0;
  }
  enableCap(cap: number): number {
    if (!this.caps.get(cap)) return -22;
    this.enabled.push(cap);
    return 0;
  }
  createVcpu(id: number): KvmVcpuFd {
    const v = new DoubleVcpu(id, this);
    this.vcpus.push(v);
    return v;
  }
  setUserMemoryRegion(region: KvmUserMemoryRegion): number {
    this.ram = region.memory;
    return 0;
  }
}

export function doubleHost(
  sim: Simulation,
  opts: { guestStop: boolean; kvmCapStop?: boolean; script?: GuestScript },
): QemuHost & { vms: DoubleVm[] } {
  const caps = new Map<number, number>([
    [KVM_CAP_PPC_FIXUP_HCALL, 1],
    [KVM_CAP_PPC_FWNMI, 1],
    [KVM_CAP_PPC_GUEST_STOP, opts.guestStop ? 1 : 0],
    [KVM_CAP_STOP, opts.kvmCapStop ? 1 : 0],
  ]);
  const vms: DoubleVm[] = [];
  const script: GuestScript = opts.script ?? (() => ({ delayNs: 0, exit: null }));
  const kvm: KvmSystemFd = {
    checkExtension: (cap) => caps.get(cap) ?? 0,
    createVm: () => {
      const vm = new DoubleVm(sim, caps, script);
      vms.push(vm);
      return vm;
    },
  };
  return { kvm, vms, cpuInfo: () => ({ pvr: 0x004e1202 }) };
}
