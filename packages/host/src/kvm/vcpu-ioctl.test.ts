// The vCPU fd's ioctls decision by decision: KVM_SET_REGS/GET_REGS (linux:
// arch/powerpc/kvm/book3s.c kvm_arch_vcpu_ioctl_set_regs, book3s_hv.c kvmppc_set_msr_hv),
// KVM_GET/SET_ONE_REG's common checks, KVM_ENABLE_CAP on the vCPU (powerpc.c
// kvm_vcpu_ioctl_enable_cap), KVM_INTERRUPT (powerpc.c kvm_vcpu_ioctl_interrupt) and the HFSCR a
// POWER9 vCPU starts with (kvmppc_core_vcpu_create_hv).
import {
  HFSCR_BHRB,
  HFSCR_DSCR,
  HFSCR_EBB,
  HFSCR_FP,
  HFSCR_MSGP,
  HFSCR_PM,
  HFSCR_TAR,
  HFSCR_TM,
  HFSCR_VECVSX,
  MSR_ME,
  MSR_SF,
  SPRN_CTR,
  SPRN_PIDR,
} from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { TestGuest } from "../test-helpers/guest.js";
import { machine } from "../test-helpers/setup.js";
import * as U from "./abi.js";
import type { KvmRegs } from "./kvm.js";
import type { KvmVcpu } from "./vcpu.js";
import type { KvmXiveNativeDevice } from "./xive-native.js";

function setup() {
  const m = machine("dd2.3", "new", "fallback");
  const v = m.vm.createVcpu(0);
  if (typeof v === "number") throw new Error("createVcpu");
  return { m, v };
}

const regs = (o: Partial<KvmRegs> = {}): KvmRegs => ({
  pc: 0x1000n,
  cr: 0x12345678,
  ctr: 1n,
  lr: 2n,
  xer: 3n,
  msr: MSR_SF | MSR_ME,
  srr0: 4n,
  srr1: 5n,
  pid: 6n,
  sprg0: 7n,
  sprg1: 8n,
  sprg2: 9n,
  sprg3: 10n,
  gpr: Array.from({ length: 32 }, (_, i) => BigInt(i * 3)),
  ...o,
});

describe("KVM_SET_REGS / KVM_GET_REGS", () => {
  it("round-trips every field; values wrap to 64 bits, PID to 32, CR to an unsigned word", () => {
    const { v } = setup();
    const r = regs({
      lr: -1n,
      pid: 0x1_0000_0007n,
      cr: -1,
      gpr: Array.from({ length: 32 }, (_, i) => (i === 5 ? 1n << 64n : BigInt(i))),
    });
    expect(v.setRegs(r)).toBe(0);
    const got = v.getRegs();
    expect(got).toEqual({
      ...r,
      lr: (1n << 64n) - 1n,
      pid: 7n,
      cr: 0xffffffff,
      gpr: r.gpr.map((g, i) => (i === 5 ? 0n : g)),
    });
    expect(v.spr.get(SPRN_CTR)).toBe(1n);
    expect(v.spr.get(SPRN_PIDR)).toBe(7n);
  });

  it("refuses a PC that is not word-aligned, a GPR array of the wrong length, and non-bigint fields", () => {
    const { v } = setup();
    const before = v.getRegs();
    expect(v.setRegs(regs({ pc: 0x1002n }))).toBe(-U.EINVAL);
    expect(v.setRegs(regs({ gpr: new Array(31).fill(0n) }))).toBe(-U.EINVAL);
    expect(v.setRegs(regs({ gpr: new Array(33).fill(0n) }))).toBe(-U.EINVAL);
    expect(v.setRegs(regs({ gpr: "x" as never }))).toBe(-U.EINVAL);
    for (const key of [
      "pc",
      "ctr",
      "lr",
      "xer",
      "msr",
      "srr0",
      "srr1",
      "pid",
      "sprg0",
      "sprg1",
      "sprg2",
      "sprg3",
    ] as const)
      expect([key, v.setRegs(regs({ [key]: 1 as never }))]).toEqual([key, -U.EINVAL]);
    const g = regs().gpr.slice();
    g[31] = 1 as never;
    expect(v.setRegs(regs({ gpr: g }))).toBe(-U.EINVAL);
    expect(v.getRegs()).toEqual(before);
  });

  it("kvmppc_set_msr_hv: the illegal TS=11 combination is cleared, and a ceded vCPU is no longer ceded", () => {
    const { v } = setup();
    const TS = 3n << 33n;
    v.ceded = true;
    expect(v.setRegs(regs({ msr: MSR_SF | TS }))).toBe(0);
    expect(v.getRegs().msr).toBe(MSR_SF);
    expect(v.ceded).toBe(false);
    // suspended (TS=01) or transactional (TS=10) alone are kept
    for (const ts of [1n << 33n, 2n << 33n]) {
      expect(v.setRegs(regs({ msr: MSR_SF | ts }))).toBe(0);
      expect(v.getRegs().msr).toBe(MSR_SF | ts);
    }
  });

  it("registers and guest software cannot change while the vCPU runs (-EBUSY)", () => {
    const { m, v } = setup();
    expect(v.setGuestSoftware(new TestGuest(m.sim, []))).toBe(0);
    expect(v.setRegs(regs())).toBe(0);
    expect(v.run(() => {})).toBe(0);
    // the run loop starts on the host CPU: the vCPU is in the kernel or the guest until it exits
    m.sim.runFor(1);
    expect(["kernel", "guest"]).toContain(v.state);
    expect(v.setRegs(regs())).toBe(-U.EBUSY);
    expect(v.setGuestSoftware(new TestGuest(m.sim, []))).toBe(-U.EBUSY);
    expect(v.setOneReg(U.KVM_REG_PPC_DSCR, 1n)).toBe(-U.EBUSY);
  });
});

describe("ONE_REG common checks", () => {
  it("ids and values must be bigints; sizes above 128 bits are refused; 32-bit values are truncated", () => {
    const { v } = setup();
    expect(v.getOneReg(5 as never)).toEqual({ ret: -U.EINVAL, value: 0n });
    expect(v.setOneReg(5 as never, 1n)).toBe(-U.EINVAL);
    expect(v.setOneReg(U.KVM_REG_PPC_DSCR, 1 as never)).toBe(-U.EINVAL);
    const u256 = U.KVM_REG_PPC | 0x0050000000000000n | 0x1n;
    expect(v.setOneReg(u256, 1n)).toBe(-U.EINVAL);
    expect(v.setOneReg(U.KVM_REG_PPC_VRSAVE, 0x1_2345_6789n)).toBe(0);
    expect(v.getOneReg(U.KVM_REG_PPC_VRSAVE).value).toBe(0x2345_6789n);
    expect(v.setOneReg(U.KVM_REG_PPC_DSCR, -1n)).toBe(0);
    expect(v.getOneReg(U.KVM_REG_PPC_DSCR).value).toBe((1n << 64n) - 1n);
  });

  it("KVM_REG_PPC_VP_STATE needs the vCPU connected to a XIVE device (-ENXIO)", () => {
    const { v } = setup();
    expect(v.getOneReg(U.KVM_REG_PPC_VP_STATE)).toEqual({ ret: -U.ENXIO, value: 0n });
    expect(v.setOneReg(U.KVM_REG_PPC_VP_STATE, 0n)).toBe(-U.ENXIO);
  });
});

describe("KVM_ENABLE_CAP on the vCPU", () => {
  it("PAPR always; in-kernel XICS only with the VM's XICS; flags and unknown caps -EINVAL", () => {
    const { m, v } = setup();
    expect(v.enableCap(U.KVM_CAP_PPC_PAPR)).toBe(0);
    expect(v.enableCap(U.KVM_CAP_PPC_PAPR, [], 1)).toBe(-U.EINVAL);
    expect(v.enableCap(U.KVM_CAP_IRQ_XICS)).toBe(0);
    expect(v.enableCap(0x7777)).toBe(-U.EINVAL);
    const vm = m.host.kvm.createVm(0, { inKernelXics: false });
    if (typeof vm === "number") throw new Error("createVm");
    const w = vm.createVcpu(1);
    if (typeof w === "number") throw new Error("createVcpu");
    expect(w.enableCap(U.KVM_CAP_IRQ_XICS)).toBe(-U.EINVAL);
  });

  it("KVM_CAP_PPC_IRQ_XIVE: the VM's device fd and a server; then VP_STATE works", () => {
    const { m, v } = setup();
    expect(v.enableCap(U.KVM_CAP_PPC_IRQ_XIVE, [16, 0])).toBe(-U.EPERM); // no device yet
    const dev = m.vm.createDevice(U.KVM_DEV_TYPE_XIVE) as KvmXiveNativeDevice;
    expect(v.enableCap(U.KVM_CAP_PPC_IRQ_XIVE, [dev.fd + 1, 0])).toBe(-U.EPERM);
    expect(v.enableCap(U.KVM_CAP_PPC_IRQ_XIVE, [dev.fd, -1])).toBe(-U.EINVAL);
    expect(v.xive).toBeNull();
    expect(v.enableCap(U.KVM_CAP_PPC_IRQ_XIVE, [dev.fd, 3])).toBe(0);
    expect(v.xive).toBe(dev);
    expect(dev.vcpuState(0)?.server).toBe(3);
    expect(dev.vcpuState(0)?.vcpu.hostCpuId).toBe(v.cpu.cpuId);
    expect(v.setOneReg(U.KVM_REG_PPC_VP_STATE, 0x00ff0000000000ffn << 64n)).toBe(0);
    expect(v.getOneReg(U.KVM_REG_PPC_VP_STATE)).toEqual({ ret: 0, value: 0x00ff0000000000ffn << 64n });
    // a missing server argument is server 0
    const w = m.vm.createVcpu(1) as KvmVcpu;
    expect(w.enableCap(U.KVM_CAP_PPC_IRQ_XIVE, [dev.fd])).toBe(0);
    expect(dev.vcpuState(1)?.server).toBe(0);
  });
});

describe("KVM_INTERRUPT", () => {
  it("SET and SET_LEVEL raise a device source at priority 5 through the ICP; UNSET lowers it; others -EINVAL", () => {
    const { v } = setup();
    v.icp.cppr = 0xff;
    expect(v.interrupt(U.KVM_INTERRUPT_SET)).toBe(0);
    expect([v.icp.extSource, v.icp.extPriority]).toEqual([0x1000, 5]);
    expect(v.interrupt(U.KVM_INTERRUPT_UNSET)).toBe(0);
    expect([v.icp.extSource, v.icp.extPriority]).toEqual([0, 0xff]);
    expect(v.interrupt(U.KVM_INTERRUPT_SET_LEVEL, 0x1234)).toBe(0);
    expect(v.icp.extSource).toBe(0x1234);
    expect(v.interrupt(0)).toBe(-U.EINVAL);
    expect(v.interrupt(-4)).toBe(-U.EINVAL);
  });

  it("an interrupt raised for a ceded vCPU kicks it", () => {
    const { v } = setup();
    v.icp.cppr = 0xff;
    v.ceded = true;
    const k = v.kicks;
    v.interrupt(U.KVM_INTERRUPT_SET);
    expect(v.kicks).toBe(k + 1);
  });
});

describe("a new POWER9 vCPU", () => {
  it("gets TAR, EBB, PM, BHRB, DSCR, VEC/VSX and FP of what the host enabled; never MSGP or TM", () => {
    const { m, v } = setup();
    const want = HFSCR_TAR | HFSCR_EBB | HFSCR_PM | HFSCR_BHRB | HFSCR_DSCR | HFSCR_VECVSX | HFSCR_FP;
    expect(v.hfscr).toBe(want & m.host.cpuSpec.hfscr);
    expect(v.hfscr & (HFSCR_MSGP | HFSCR_TM)).toBe(0n);
    // the host enables PM (hfscr_pmu_enable) at least
    expect(v.hfscr & HFSCR_PM).toBe(HFSCR_PM);
  });

  it("is named as the kernel names vCPU threads and starts created, its exit record empty", () => {
    const { v } = setup();
    expect(v.name).toBe("CPU 0/KVM");
    expect(v.state).toBe("created");
    expect(v.run_.vcpu_id).toBe(0);
    expect(v.run_.exit_reason).toBe(U.KVM_EXIT_UNKNOWN);
    expect(v.run_.papr_hcall.args).toHaveLength(9);
  });
});
