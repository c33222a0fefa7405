import { PSSCR_EC, PSSCR_ESL, PSSCR_GUEST_VIS, PSSCR_PSLL_MASK, PSSCR_SD } from "@stopsim/isa";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TestGuest } from "../test-helpers/guest.js";
import { machine } from "../test-helpers/setup.js";
import * as U from "./abi.js";
import type { KvmVcpu } from "./vcpu.js";

function newVcpu(id = 0): { v: KvmVcpu; m: ReturnType<typeof machine> } {
  const m = machine("dd2.3", "new", "fallback");
  const v = m.vm.createVcpu(id);
  if (typeof v === "number") throw new Error(String(v));
  return { v, m };
}

describe("ONE_REG", () => {
  it("PSSCR round trip drops the hypervisor-only bits (PSSCR_GUEST_VIS)", () => {
    const { v } = newVcpu();
    const full = 0xf000000000000333n | PSSCR_ESL | PSSCR_EC | PSSCR_SD | PSSCR_PSLL_MASK;
    expect(v.setOneReg(U.KVM_REG_PPC_PSSCR, full)).toBe(0);
    const r = v.getOneReg(U.KVM_REG_PPC_PSSCR);
    expect(r.ret).toBe(0);
    expect(r.value).toBe(full & PSSCR_GUEST_VIS);
    expect(r.value & (PSSCR_ESL | PSSCR_EC | PSSCR_SD | PSSCR_PSLL_MASK)).toBe(0n);
  });

  it("property: get(set(x)) == x & PSSCR_GUEST_VIS", () => {
    const { v } = newVcpu();
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (x) => {
        expect(v.setOneReg(U.KVM_REG_PPC_PSSCR, x)).toBe(0);
        expect(v.getOneReg(U.KVM_REG_PPC_PSSCR).value).toBe(x & PSSCR_GUEST_VIS);
      }),
    );
  });

  it("migration SPRs round trip; LPCR keeps only the guest-settable bits", () => {
    const { v } = newVcpu();
    const regs: [bigint, bigint][] = [
      [U.KVM_REG_PPC_DEC_EXPIRY, 0x123456789n],
      [U.KVM_REG_PPC_PPR, 0x0010000000000000n],
      [U.KVM_REG_PPC_DSCR, 0x10n],
      [U.KVM_REG_PPC_PID, 0x42n],
      [U.KVM_REG_PPC_TAR, 0xdead0000n],
      [U.KVM_REG_PPC_CIABR, 0x1000n],
      [U.KVM_REG_PPC_DAWR, 0x2000n],
      [U.KVM_REG_PPC_DSISR, 0xffffffffn],
    ];
    for (const [id, val] of regs) {
      expect(v.setOneReg(id, val)).toBe(0);
      expect(v.getOneReg(id)).toEqual({ ret: 0, value: val });
    }
    const before = v.getOneReg(U.KVM_REG_PPC_LPCR_64).value;
    expect(v.setOneReg(U.KVM_REG_PPC_LPCR_64, ~0n)).toBe(0);
    const after = v.getOneReg(U.KVM_REG_PPC_LPCR_64).value;
    const settable = (0x00700000n << 32n) | 0x02000000n | 0x200n | 0x01800000n | 0x20000n; // DPFD ILE TC AIL LD
    expect(after & ~settable).toBe(before & ~settable);
    expect(after & settable).toBe(settable & ((7n << 52n) | 0x2000000n | 0x200n | 0x1800000n | 0x20000n));
  });

  it("bad ids and values return -EINVAL, not exceptions", () => {
    const { v } = newVcpu();
    expect(v.getOneReg(U.KVM_REG_PPC | U.KVM_REG_SIZE_U64 | 0x7777n)).toEqual({ ret: -U.EINVAL, value: 0n });
    expect(v.setOneReg(U.KVM_REG_PPC | U.KVM_REG_SIZE_U64 | 0x7777n, 1n)).toBe(-U.EINVAL);
    expect(v.setOneReg(U.KVM_REG_PPC_ARCH_COMPAT, 0x1234n)).toBe(-U.EINVAL);
    expect(v.setOneReg(U.KVM_REG_PPC_ARCH_COMPAT, BigInt(U.PVR_ARCH_300))).toBe(0);
  });
});

describe("VM and vCPU ioctls", () => {
  it("createVcpu: duplicate id -EEXIST, bad id -EINVAL", () => {
    const { m } = newVcpu(0);
    expect(m.vm.createVcpu(0)).toBe(-U.EEXIST);
    expect(m.vm.createVcpu(-1)).toBe(-U.EINVAL);
    expect(m.vm.createVcpu(1.5)).toBe(-U.EINVAL);
    expect(m.vm.createVcpu(99)).toBe(-U.EINVAL); // no host CPU 99 to pin it to
  });

  it("enableCap errors as powerpc.c returns them", () => {
    const { m, v } = newVcpu(0);
    expect(m.vm.enableCap(0x7777)).toBe(-U.EINVAL);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_SET_MODE, 1], 1)).toBe(-U.EINVAL);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_SET_MODE + 1, 1])).toBe(-U.EINVAL);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_SET_MODE, 2])).toBe(-U.EINVAL);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_SET_MODE, 1])).toBe(0);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_SMT, [4, 0])).toBe(-U.EBUSY);
    expect(v.enableCap(U.KVM_CAP_PPC_PAPR)).toBe(0);
    expect(v.enableCap(0x7777)).toBe(-U.EINVAL);
    expect(m.host.kvm.createVm(99)).toBe(-U.EINVAL);
    const vm2 = m.host.kvm.createVm();
    if (typeof vm2 === "number") throw new Error("vm");
    expect(vm2.enableCap(U.KVM_CAP_PPC_SMT, [3, 0])).toBe(-U.EINVAL);
    expect(vm2.enableCap(U.KVM_CAP_PPC_SMT, [4, 0])).toBe(0);
  });

  it("run without guest software is refused; run while running is -EBUSY", () => {
    const { m, v } = newVcpu(0);
    expect(v.run(() => {})).toBe(-8);
    expect(v.setGuestSoftware(new TestGuest(m.sim, []))).toBe(0);
    expect(v.run(() => {})).toBe(0);
    expect(v.run(() => {})).toBe(-U.EBUSY);
  });

  it("capabilities from include/uapi/linux/kvm.h", () => {
    const { m } = newVcpu(0);
    expect(m.host.kvm.checkExtension(U.KVM_CAP_PPC_PAPR)).toBe(1);
    expect(m.host.kvm.checkExtension(U.KVM_CAP_ONE_REG)).toBe(1);
    expect(m.host.kvm.checkExtension(U.KVM_CAP_PPC_MMU_RADIX)).toBe(1);
    expect(m.host.kvm.checkExtension(U.KVM_CAP_NR_VCPUS)).toBe(8);
    expect(m.host.kvm.checkExtension(0x7777)).toBe(0);
  });
});
