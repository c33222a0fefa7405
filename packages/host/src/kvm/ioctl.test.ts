// The KVM ioctls decision by decision: KVM_CHECK_EXTENSION (linux: arch/powerpc/kvm/powerpc.c
// kvm_vm_ioctl_check_extension), KVM_CREATE_VM/VCPU, KVM_SET_USER_MEMORY_REGION, KVM_ENABLE_CAP
// (powerpc.c kvm_vm_ioctl_enable_cap, book3s_hv.c kvmhv_set_smt_mode), ONE_REG
// (book3s_hv.c kvmppc_get_one_reg_hv / kvmppc_set_one_reg_hv / kvmppc_set_lpcr), the guest LPCR
// (kvmppc_core_init_vm_hv) and KVM_PPC_GET_CPU_CHAR (powerpc.c kvmppc_get_cpu_char).
import {
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
  Memory,
  SPRN_PMC1,
  SPRN_VRSAVE,
} from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { KVM_BUILDS, type KvmBuild } from "../build.js";
import { machine } from "../test-helpers/setup.js";
import * as U from "./abi.js";
import { type FwFeatures, kvmppcGetCpuChar } from "./cpu-char.js";
import { checkExtension, guestPsscrClearsTrapBits, type KvmHostInfo } from "./kvm.js";
import { readOneReg, setLpcr, writeOneReg } from "./one-reg.js";
import type { KvmVcpu } from "./vcpu.js";
import { initVmLpcr } from "./vm.js";

/** The host facts KVM_CHECK_EXTENSION reads, on a made-up host (POWER8-like when arch300 is false). */
const info = (
  o: Partial<{
    arch300: boolean;
    xive: boolean;
    tpc: number;
    cpus: number;
    build: KvmBuild;
    egs: boolean;
  }> = {},
) =>
  ({
    arch300: o.arch300 ?? true,
    xive: o.xive === false ? undefined : {},
    threadsPerCore: o.tpc ?? 4,
    cpus: new Array(o.cpus ?? 8).fill(null),
    build: o.build ?? KVM_BUILDS.fallback,
    enableGuestStop: o.egs ?? true,
  }) as unknown as KvmHostInfo;
const cap = (h: KvmHostInfo, c: number) => checkExtension(h, undefined, c);

describe("KVM_CHECK_EXTENSION", () => {
  it("the capabilities every HV host has answer 1; an unknown one 0", () => {
    for (const c of [
      U.KVM_CAP_PPC_SEGSTATE,
      U.KVM_CAP_PPC_UNSET_IRQ,
      U.KVM_CAP_PPC_IRQ_LEVEL,
      U.KVM_CAP_ENABLE_CAP,
      U.KVM_CAP_ONE_REG,
      U.KVM_CAP_IMMEDIATE_EXIT,
      U.KVM_CAP_SYNC_MMU,
      U.KVM_CAP_PPC_ENABLE_HCALL,
      U.KVM_CAP_PPC_PAPR,
      U.KVM_CAP_PPC_GET_SMMU_INFO,
      U.KVM_CAP_SPAPR_TCE,
      U.KVM_CAP_PPC_RTAS,
      U.KVM_CAP_PPC_FIXUP_HCALL,
      U.KVM_CAP_IRQ_XICS,
      U.KVM_CAP_ENABLE_CAP_VM,
      U.KVM_CAP_CHECK_EXTENSION_VM,
      U.KVM_CAP_USER_MEMORY,
      U.KVM_CAP_PPC_FWNMI,
      U.KVM_CAP_PPC_GET_CPU_CHAR,
    ])
      expect([c, cap(info({ arch300: false, xive: false }), c)]).toEqual([c, 1]);
    // PR-only capabilities and unknown numbers: 0
    for (const c of [
      U.KVM_CAP_PPC_GET_PVINFO,
      U.KVM_CAP_PPC_HIOR,
      U.KVM_CAP_PPC_RMA,
      U.KVM_CAP_PPC_HTM,
      0x7777,
    ])
      expect([c, cap(info(), c)]).toEqual([c, 0]);
  });

  it("radix, hash v3 and nested HV need ISA 3.00", () => {
    for (const c of [U.KVM_CAP_PPC_MMU_RADIX, U.KVM_CAP_PPC_MMU_HASH_V3, U.KVM_CAP_PPC_NESTED_HV]) {
      expect(cap(info({ arch300: true }), c)).toBe(1);
      expect(cap(info({ arch300: false }), c)).toBe(0);
    }
  });

  it("KVM_CAP_PPC_IRQ_XIVE needs the host's XIVE", () => {
    expect(cap(info({ xive: true }), U.KVM_CAP_PPC_IRQ_XIVE)).toBe(1);
    expect(cap(info({ xive: false }), U.KVM_CAP_PPC_IRQ_XIVE)).toBe(0);
  });

  it("SMT: the host's threads per core; SMT_POSSIBLE: any of 1, 2, 4, 8 on POWER9", () => {
    expect(cap(info({ tpc: 2 }), U.KVM_CAP_PPC_SMT)).toBe(2);
    expect(cap(info({ tpc: 4 }), U.KVM_CAP_PPC_SMT)).toBe(4);
    expect(cap(info({ arch300: true }), U.KVM_CAP_PPC_SMT_POSSIBLE)).toBe(15);
    expect(cap(info({ arch300: false }), U.KVM_CAP_PPC_SMT_POSSIBLE)).toBe(1);
  });

  it("vCPU and memory-slot limits: present CPUs, KVM_MAX_VCPUS, KVM_MAX_VCPU_ID, 512 slots", () => {
    expect(cap(info({ cpus: 8 }), U.KVM_CAP_NR_VCPUS)).toBe(8);
    expect(cap(info({ cpus: 3 }), U.KVM_CAP_NR_VCPUS)).toBe(3);
    expect(cap(info(), U.KVM_CAP_MAX_VCPUS)).toBe(2048);
    expect(cap(info(), U.KVM_CAP_MAX_VCPU_ID)).toBe(2048);
    expect(cap(info(), U.KVM_CAP_NR_MEMSLOTS)).toBe(512);
  });

  it("KVM_CAP_STOP: only a build that reports it, on a host whose tree enabled guest stop", () => {
    const probed = KVM_BUILDS["host-probed"];
    expect(cap(info({ build: probed, egs: true }), U.KVM_CAP_STOP)).toBe(1);
    expect(cap(info({ build: probed, egs: false }), U.KVM_CAP_STOP)).toBe(0);
    expect(cap(info({ build: KVM_BUILDS.fallback, egs: true }), U.KVM_CAP_STOP)).toBe(0);
  });

  it("KVM_CAP_PPC_GUEST_STOP: emulated and/or native flags, 0 when a guest stop would kill the guest", () => {
    const b = (emulate: boolean, policy: KvmBuild["psscrPolicy"], reports = true): KvmBuild => ({
      ...KVM_BUILDS.fallback,
      emulateStopTrap: emulate,
      psscrPolicy: policy,
      reportsGuestStopSupport: reports,
    });
    const gs = (build: KvmBuild, egs: boolean) => cap(info({ build, egs }), U.KVM_CAP_PPC_GUEST_STOP);
    const E = U.KVM_PPC_GUEST_STOP_EMULATED;
    const N = U.KVM_PPC_GUEST_STOP_NATIVE;
    expect(gs(b(true, "clear-if-enable-guest-stop"), true)).toBe(E | N);
    expect(gs(b(true, "clear-if-enable-guest-stop"), false)).toBe(E);
    expect(gs(b(false, "clear-if-enable-guest-stop"), true)).toBe(N);
    expect(gs(b(false, "clear-if-enable-guest-stop"), false)).toBe(0);
    expect(gs(b(false, "always-clear"), false)).toBe(N);
    expect(gs(b(false, "always-set"), true)).toBe(0);
    expect(gs(b(true, "always-set"), true)).toBe(E);
    expect(gs(b(true, "always-clear", false), true)).toBe(0);
  });

  it("whether guests enter with PSSCR[ESL|EC] clear follows the build's policy", () => {
    const p = (psscrPolicy: KvmBuild["psscrPolicy"], enableGuestStop: boolean) =>
      guestPsscrClearsTrapBits({ build: { ...KVM_BUILDS.fallback, psscrPolicy }, enableGuestStop });
    expect([p("always-clear", false), p("always-set", true)]).toEqual([true, false]);
    expect([p("clear-if-enable-guest-stop", true), p("clear-if-enable-guest-stop", false)]).toEqual([
      true,
      false,
    ]);
  });

  it("the VM fd answers as /dev/kvm does, on a booted host", () => {
    const m = machine("dd2.3", "new", "host-probed");
    for (const c of [U.KVM_CAP_STOP, U.KVM_CAP_PPC_SMT, U.KVM_CAP_NR_VCPUS, U.KVM_CAP_PPC_IRQ_XIVE, 0x7777])
      expect(m.vm.checkExtension(c)).toBe(m.host.kvm.checkExtension(c));
    expect(m.vm.checkExtension(U.KVM_CAP_STOP)).toBe(1);
    expect(m.host.kvm.getApiVersion()).toBe(12);
  });
});

describe("KVM_CREATE_VM", () => {
  it("accepts type 0 and KVM_VM_PPC_HV, refuses others; each VM is listed and logged", () => {
    const m = machine("dd2.3", "new", "fallback");
    const before = m.host.kvm.vmList.length;
    const hv = m.host.kvm.createVm(U.KVM_VM_PPC_HV);
    expect(typeof hv).not.toBe("number");
    expect(m.host.kvm.createVm(2)).toBe(-U.EINVAL);
    expect(m.host.kvm.vmList.length).toBe(before + 1);
    if (typeof hv === "number") return;
    expect(hv.id).toBe(before);
    expect(m.host.log.at("info")).toContain(`kvm: created VM ${hv.id} (book3s_hv, POWER9 radix)`);
  });
});

describe("the guest LPCR a VM starts with (kvmppc_core_init_vm_hv)", () => {
  const all = (1n << 64n) - 1n;
  it("POWER9: the host's PECE and LPES bits, DPFD 4, HDICE, HVICE|HEIC, radix bits, LPES with XICS on XIVE", () => {
    const host = { hostLpcr: all, arch300: true };
    const base =
      LPCR_PECE |
      (4n << LPCR_DPFD_SH) |
      LPCR_HDICE |
      LPCR_HVICE |
      LPCR_HEIC |
      LPCR_UPRT |
      LPCR_GTSE |
      LPCR_HR;
    expect(initVmLpcr(host, true)).toBe(base | LPCR_LPES);
    // without the in-kernel XICS the host's LPES bits are all that is kept
    expect(initVmLpcr(host, false)).toBe(base | LPCR_LPES);
    expect(initVmLpcr({ hostLpcr: 0n, arch300: true }, false) & LPCR_LPES).toBe(0n);
    expect(initVmLpcr({ hostLpcr: 0n, arch300: true }, true) & LPCR_LPES).toBe(LPCR_LPES);
  });

  it("before ISA 3.00: no HVICE, HEIC or radix bits", () => {
    expect(initVmLpcr({ hostLpcr: 0n, arch300: false }, true)).toBe((4n << LPCR_DPFD_SH) | LPCR_HDICE);
    expect(initVmLpcr({ hostLpcr: all, arch300: false }, true)).toBe(
      LPCR_PECE | LPCR_LPES | (4n << LPCR_DPFD_SH) | LPCR_HDICE,
    );
  });

  it("a VM without the in-kernel XICS keeps external interrupts in the hypervisor", () => {
    const m = machine("dd2.3", "new", "fallback");
    const vm = m.host.kvm.createVm(0, { inKernelXics: false });
    if (typeof vm === "number") throw new Error("createVm");
    expect(vm.inKernelXics).toBe(false);
    expect(vm.initialLpcr & LPCR_LPES).toBe(m.host.cpuSpec.lpcr & LPCR_LPES);
    expect(m.vm.inKernelXics).toBe(true);
    expect(m.vm.initialLpcr & LPCR_LPES).toBe(LPCR_LPES);
  });
});

function vcpuOf(m: ReturnType<typeof machine>, id: number): KvmVcpu {
  const v = m.vm.createVcpu(id);
  if (typeof v === "number") throw new Error(`createVcpu ${id}: ${v}`);
  return v;
}

describe("KVM_CREATE_VCPU and vCores", () => {
  it("vCPUs of one vCore share its LPCR: threads-per-core ids per vCore by default", () => {
    const m = machine("dd2.3", "new", "fallback");
    const [v0, v1, v4] = [vcpuOf(m, 0), vcpuOf(m, 3), vcpuOf(m, 4)];
    expect(v0.setOneReg(U.KVM_REG_PPC_LPCR_64, v0.vcore.lpcr | LPCR_TC)).toBe(0);
    expect(v1.getOneReg(U.KVM_REG_PPC_LPCR_64).value & LPCR_TC).toBe(LPCR_TC);
    expect(v4.getOneReg(U.KVM_REG_PPC_LPCR_64).value & LPCR_TC).toBe(0n);
    expect(v0.vcore.lpcr & ~LPCR_TC).toBe(m.vm.initialLpcr & ~LPCR_TC);
  });

  it("a VM SMT mode set before the vCPUs groups them by that mode", () => {
    const m = machine("dd2.3", "new", "fallback");
    expect(m.vm.enableCap(U.KVM_CAP_PPC_SMT, [2, 0])).toBe(0);
    expect(m.vm.smtMode).toBe(2);
    const [a, b, c] = [vcpuOf(m, 0), vcpuOf(m, 1), vcpuOf(m, 2)];
    expect(a.vcore).toBe(b.vcore);
    expect(c.vcore).not.toBe(a.vcore);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_SMT, [2, 0])).toBe(-U.EBUSY);
  });

  it("SMT modes: powers of two up to 8 (0 included), no flags", () => {
    const m = machine("dd2.3", "new", "fallback");
    for (const mode of [0, 1, 2, 4, 8])
      expect([mode, m.vm.enableCap(U.KVM_CAP_PPC_SMT, [mode, 0])]).toEqual([mode, 0]);
    for (const mode of [3, 5, 6, 16, -1])
      expect([mode, m.vm.enableCap(U.KVM_CAP_PPC_SMT, [mode, 0])]).toEqual([mode, -U.EINVAL]);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_SMT, [2, 1])).toBe(-U.EINVAL);
  });

  it("ids: integers from 0 below KVM_MAX_VCPU_ID with a host CPU to pin to", () => {
    const m = machine("dd2.3", "new", "fallback");
    expect(typeof m.vm.createVcpu(7)).not.toBe("number"); // the last host CPU
    expect(m.vm.createVcpu(8)).toBe(-U.EINVAL);
    expect(m.vm.createVcpu(2048)).toBe(-U.EINVAL);
    expect(m.vm.createVcpu(-1)).toBe(-U.EINVAL);
    // a pinning that maps every id onto host CPU 0 allows big ids; not an integer index: refused
    const vm = m.host.kvm.createVm(0, { pinning: (id) => (id === 5 ? 0.5 : 0) });
    if (typeof vm === "number") throw new Error("createVm");
    expect(typeof vm.createVcpu(2047)).not.toBe("number");
    expect(vm.createVcpu(5)).toBe(-U.EINVAL);
    expect(vm.createVcpu(2048)).toBe(-U.EINVAL);
  });
});

describe("KVM_ENABLE_CAP on the VM", () => {
  it("KVM_CAP_PPC_ENABLE_HCALL: implemented hcalls below MAX_HCALL_OPCODE, multiple of 4, on or off", () => {
    const m = machine("dd2.3", "new", "fallback");
    expect(m.vm.enabledHcalls.has(U.H_SET_MODE)).toBe(false);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_SET_MODE, 1])).toBe(0);
    expect(m.vm.enabledHcalls.has(U.H_SET_MODE)).toBe(true);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_CEDE, 0])).toBe(0);
    expect(m.vm.enabledHcalls.has(U.H_CEDE)).toBe(false);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_RANDOM, 1])).toBe(0);
    // not implemented in the kernel (H_RTAS is KVM's own but handled in userspace)
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_RTAS, 1])).toBe(-U.EINVAL);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.MAX_HCALL_OPCODE + 4, 1])).toBe(-U.EINVAL);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [-4, 1])).toBe(-U.EINVAL);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_CEDE + 2, 1])).toBe(-U.EINVAL);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_CEDE, 2])).toBe(-U.EINVAL);
    // the default list is on from the start
    for (const h of [U.H_PROD, U.H_REGISTER_VPA, U.H_IPI, U.H_XIRR_X])
      expect(m.vm.enabledHcalls.has(h)).toBe(true);
  });

  it("FWNMI and nested HV", () => {
    const m = machine("dd2.3", "new", "fallback");
    expect(m.vm.fwnmi).toBe(false);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_FWNMI)).toBe(0);
    expect(m.vm.fwnmi).toBe(true);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_NESTED_HV, [1])).toBe(0);
    expect(m.vm.nested).toBe(true);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_NESTED_HV, [0])).toBe(0);
    expect(m.vm.nested).toBe(false);
    expect(m.vm.enableCap(U.KVM_CAP_PPC_FWNMI, [], 1)).toBe(-U.EINVAL);
  });
});

describe("KVM_CREATE_DEVICE", () => {
  it("one XIVE native device per VM on a XIVE host; other types -ENODEV", () => {
    const m = machine("dd2.3", "new", "fallback");
    expect(m.vm.checkExtension(U.KVM_CAP_PPC_IRQ_XIVE)).toBe(1);
    expect(m.vm.createDevice(U.KVM_DEV_TYPE_XIVE + 1)).toBe(-U.ENODEV);
    expect(m.vm.xiveDevice).toBeNull();
    const dev = m.vm.createDevice(U.KVM_DEV_TYPE_XIVE);
    if (typeof dev === "number") throw new Error(`createDevice: ${dev}`);
    expect(m.vm.xiveDevice).toBe(dev);
    expect(dev.fd).toBe(16);
    expect(m.vm.createDevice(U.KVM_DEV_TYPE_XIVE)).toBe(-U.EEXIST);
  });
});

describe("KVM_SET_USER_MEMORY_REGION and guest memory access", () => {
  const region = (slot: number, guestPhysAddr: number, memorySize: number, memory = new Memory(1 << 20)) => ({
    slot,
    flags: 0,
    guestPhysAddr,
    memorySize,
    memory,
  });

  it("slot number, alignment and size are checked; overlapping another slot is -EEXIST", () => {
    const m = machine("dd2.3", "new", "fallback");
    expect(m.vm.setUserMemoryRegion(region(0, 0, 0x10000))).toBe(0);
    expect(m.vm.setUserMemoryRegion(region(511, 0x100000, 0x1000))).toBe(0);
    expect(m.vm.setUserMemoryRegion(region(512, 0x200000, 0x1000))).toBe(-U.EINVAL);
    expect(m.vm.setUserMemoryRegion(region(-1, 0x200000, 0x1000))).toBe(-U.EINVAL);
    expect(m.vm.setUserMemoryRegion(region(1.5, 0x200000, 0x1000))).toBe(-U.EINVAL);
    expect(m.vm.setUserMemoryRegion(region(2, 0x200800, 0x1000))).toBe(-U.EINVAL);
    expect(m.vm.setUserMemoryRegion(region(2, -0x1000, 0x1000))).toBe(-U.EINVAL);
    expect(m.vm.setUserMemoryRegion(region(2, 0x200000, 0x800))).toBe(-U.EINVAL);
    expect(m.vm.setUserMemoryRegion(region(2, 0x200000, -0x1000))).toBe(-U.EINVAL);
    // overlaps: the end of slot 0, the start of slot 511; touching is fine
    expect(m.vm.setUserMemoryRegion(region(3, 0xf000, 0x1000))).toBe(-U.EEXIST);
    expect(m.vm.setUserMemoryRegion(region(3, 0xff000, 0x2000))).toBe(-U.EEXIST);
    expect(m.vm.setUserMemoryRegion(region(3, 0x10000, 0x1000))).toBe(0);
    expect(m.vm.setUserMemoryRegion(region(4, 0xff000, 0x1000))).toBe(0);
    // the same slot may be replaced, and size 0 deletes it
    expect(m.vm.setUserMemoryRegion(region(0, 0, 0x8000))).toBe(0);
    expect(m.vm.regions.get(0)?.memorySize).toBe(0x8000);
    expect(m.vm.setUserMemoryRegion(region(0, 0, 0))).toBe(0);
    expect(m.vm.regions.has(0)).toBe(false);
  });

  it("guest reads and writes stay inside one slot, big-endian for the VPA fields", () => {
    const m = machine("dd2.3", "new", "fallback");
    const mem = new Memory(1 << 20);
    expect(m.vm.guestRealMemory()).toBeNull();
    expect(m.vm.setUserMemoryRegion(region(1, 0x10000, 0x1000, mem))).toBe(0);
    expect(m.vm.guestRealMemory()).toBeNull(); // nothing at guest real address 0
    mem.write8(0x10, 0x12);
    mem.write8(0x11, 0x34);
    mem.write8(0x12, 0x56);
    mem.write8(0x13, 0x78);
    expect(m.vm.readGuestBe16(0x10010)).toBe(0x1234);
    expect(m.vm.readGuestBe32(0x10010)).toBe(0x12345678);
    expect(m.vm.readGuestWord(0x10010, false)).toBe(0x12345678);
    expect(m.vm.readGuestWord(0x10010, true)).toBe(0x78563412);
    // the last bytes of the slot, and one byte past it
    expect(m.vm.readGuestBe16(0x10ffe)).toBe(0);
    expect(m.vm.readGuestBe16(0x10fff)).toBeUndefined();
    expect(m.vm.readGuestBe32(0x10ffc)).toBe(0);
    expect(m.vm.readGuestBe32(0x10ffd)).toBeUndefined();
    expect(m.vm.readGuestWord(0x10ffc, false)).toBe(0);
    expect(m.vm.readGuestWord(0x10ffd, false)).toBeUndefined();
    expect(m.vm.readGuestWord(0xfffc, false)).toBeUndefined();
    expect(m.vm.guestRangeMapped(0x10000, 0x1000)).toBe(true);
    expect(m.vm.guestRangeMapped(0x10000, 0x1001)).toBe(false);
    expect(m.vm.guestRangeMapped(0xffff, 2)).toBe(false);
    expect(m.vm.orGuestByte(0x10010, 0x01)).toBe(true);
    expect(mem.read8(0x10)).toBe(0x13);
    expect(m.vm.orGuestByte(0x11000, 0x01)).toBe(false);
    const low = new Memory(1 << 20);
    expect(m.vm.setUserMemoryRegion(region(0, 0, 0x1000, low))).toBe(0);
    expect(m.vm.guestRealMemory()).toBe(low);
  });
});

describe("ONE_REG", () => {
  it("32-bit SPR registers read back the low word; 64-bit ones the whole value", () => {
    const m = machine("dd2.3", "new", "fallback");
    const v = vcpuOf(m, 0);
    const big = 0x1234_5678_9abc_def0n;
    expect(v.setOneReg(U.KVM_REG_PPC_PMC1, big)).toBe(0);
    expect(v.getOneReg(U.KVM_REG_PPC_PMC1)).toEqual({ ret: 0, value: 0x9abc_def0n });
    expect(v.setOneReg(U.KVM_REG_PPC_MMCR0, big)).toBe(0);
    expect(v.getOneReg(U.KVM_REG_PPC_MMCR0)).toEqual({ ret: 0, value: big });
    // readOneReg trims a 32-bit register even when the SPR holds more
    v.spr.set(SPRN_VRSAVE, big);
    expect(readOneReg(v, U.KVM_REG_PPC_VRSAVE)).toBe(0x9abc_def0n);
    v.spr.set(SPRN_PMC1, 5n);
    expect(readOneReg(v, U.KVM_REG_PPC_PMC1)).toBe(5n);
  });

  it("LPCR (32-bit id) keeps the upper half; LPCR_64 may change DPFD; only DPFD|ILE|TC|AIL|LD change", () => {
    const m = machine("dd2.3", "new", "fallback");
    const v = vcpuOf(m, 0);
    const start = v.vcore.lpcr;
    expect(v.getOneReg(U.KVM_REG_PPC_LPCR)).toEqual({ ret: 0, value: start & 0xffffffffn });
    // clear everything through the 32-bit register: DPFD (upper half) survives
    expect(v.setOneReg(U.KVM_REG_PPC_LPCR, 0n)).toBe(0);
    expect(v.vcore.lpcr).toBe(start & ~(LPCR_ILE | LPCR_TC | LPCR_AIL | LPCR_LD));
    expect(v.vcore.lpcr & LPCR_DPFD).toBe(start & LPCR_DPFD);
    expect(v.setOneReg(U.KVM_REG_PPC_LPCR_64, 0n)).toBe(0);
    expect(v.vcore.lpcr).toBe(start & ~(LPCR_DPFD | LPCR_ILE | LPCR_TC | LPCR_AIL | LPCR_LD));
    expect(v.setOneReg(U.KVM_REG_PPC_LPCR_64, LPCR_ILE | LPCR_LD | LPCR_HR)).toBe(0);
    expect(v.vcore.lpcr & (LPCR_ILE | LPCR_LD)).toBe(LPCR_ILE | LPCR_LD);
  });

  it("LPCR[LD] is only settable on ISA 3.00 hosts (kvmppc_set_lpcr)", () => {
    const m = machine("dd2.3", "new", "fallback");
    const v = vcpuOf(m, 0);
    const fake = { h: { arch300: false }, vcore: { lpcr: 0n, archCompat: 0 } } as unknown as KvmVcpu;
    setLpcr(fake, LPCR_LD | LPCR_TC, false);
    expect(fake.vcore.lpcr).toBe(LPCR_TC);
    setLpcr(v, LPCR_LD, false);
    expect(v.vcore.lpcr & LPCR_LD).toBe(LPCR_LD);
  });

  it("ARCH_COMPAT takes the logical PVRs and 0; ONLINE and DEC_EXPIRY are stored", () => {
    const m = machine("dd2.3", "new", "fallback");
    const v = vcpuOf(m, 0);
    for (const pvr of [0, U.PVR_ARCH_205, U.PVR_ARCH_206, U.PVR_ARCH_206p, U.PVR_ARCH_207, U.PVR_ARCH_300]) {
      expect(writeOneReg(v, U.KVM_REG_PPC_ARCH_COMPAT, BigInt(pvr))).toBe(0);
      expect(v.getOneReg(U.KVM_REG_PPC_ARCH_COMPAT)).toEqual({ ret: 0, value: BigInt(pvr) });
    }
    expect(writeOneReg(v, U.KVM_REG_PPC_ARCH_COMPAT, 0x004e1203n)).toBe(-U.EINVAL);
    expect(v.vcore.archCompat).toBe(U.PVR_ARCH_300);
    expect(v.setOneReg(U.KVM_REG_PPC_ONLINE, 1n)).toBe(0);
    expect(v.getOneReg(U.KVM_REG_PPC_ONLINE)).toEqual({ ret: 0, value: 1n });
    expect(v.online).toBe(1);
    expect(v.setOneReg(U.KVM_REG_PPC_DEC_EXPIRY, 0xabcdefn)).toBe(0);
    expect(v.decExpires).toBe(0xabcdefn);
    expect(readOneReg(v, U.KVM_REG_PPC | U.KVM_REG_SIZE_U64 | 0x7777n)).toBeUndefined();
    expect(writeOneReg(v, U.KVM_REG_PPC | U.KVM_REG_SIZE_U64 | 0x7777n, 0n)).toBe(-U.EINVAL);
  });
});

describe("KVM_PPC_GET_CPU_CHAR (kvmppc_get_cpu_char, PowerNV)", () => {
  const fw = (entries: [string, "enabled" | "disabled"][]): FwFeatures => new Map(entries);
  const C = {
    ori31: U.KVM_PPC_CPU_CHAR_SPEC_BAR_ORI31,
    bcctrl: U.KVM_PPC_CPU_CHAR_BCCTRL_SERIALISED,
    ori30: U.KVM_PPC_CPU_CHAR_L1D_FLUSH_ORI30,
    trig2: U.KVM_PPC_CPU_CHAR_L1D_FLUSH_TRIG2,
    split: U.KVM_PPC_CPU_CHAR_L1D_THREAD_PRIV,
    ccd: U.KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS,
    assist: U.KVM_PPC_CPU_CHAR_BCCTR_FLUSH_ASSIST,
  };

  it("each 'enabled' firmware feature sets its characteristic; 'disabled' sets none", () => {
    const names: [string, bigint][] = [
      ["inst-spec-barrier-ori31,31,0", C.ori31],
      ["fw-bcctrl-serialized", C.bcctrl],
      ["inst-l1d-flush-ori30,30,0", C.ori30],
      ["inst-l1d-flush-trig2", C.trig2],
      ["fw-l1d-thread-split", C.split],
      ["fw-count-cache-disabled", C.ccd],
      ["fw-count-cache-flush-bcctr2,0,0", C.assist],
    ];
    for (const [name, bit] of names) {
      expect([name, kvmppcGetCpuChar(fw([[name, "enabled"]])).character]).toEqual([name, bit]);
      expect([name, kvmppcGetCpuChar(fw([[name, "disabled"]])).character]).toEqual([name, 0n]);
    }
  });

  it("behaviours: favour-security when enabled; the two flushes unless disabled; count-cache flush when enabled", () => {
    const B = {
      sec: U.KVM_PPC_CPU_BEHAV_FAVOUR_SECURITY,
      l1d: U.KVM_PPC_CPU_BEHAV_L1D_FLUSH_PR,
      bnds: U.KVM_PPC_CPU_BEHAV_BNDS_CHK_SPEC_BAR,
      ccf: U.KVM_PPC_CPU_BEHAV_FLUSH_COUNT_CACHE,
    };
    expect(kvmppcGetCpuChar(fw([])).behaviour).toBe(B.l1d | B.bnds);
    expect(kvmppcGetCpuChar(fw([["speculation-policy-favor-security", "enabled"]])).behaviour).toBe(
      B.sec | B.l1d | B.bnds,
    );
    expect(kvmppcGetCpuChar(fw([["speculation-policy-favor-security", "disabled"]])).behaviour).toBe(
      B.l1d | B.bnds,
    );
    expect(kvmppcGetCpuChar(fw([["needs-l1d-flush-msr-pr-0-to-1", "disabled"]])).behaviour).toBe(B.bnds);
    expect(kvmppcGetCpuChar(fw([["needs-l1d-flush-msr-pr-0-to-1", "enabled"]])).behaviour).toBe(
      B.l1d | B.bnds,
    );
    expect(kvmppcGetCpuChar(fw([["needs-spec-barrier-for-bound-checks", "disabled"]])).behaviour).toBe(B.l1d);
    expect(kvmppcGetCpuChar(fw([["needs-count-cache-flush-on-context-switch", "enabled"]])).behaviour).toBe(
      B.l1d | B.bnds | B.ccf,
    );
    expect(kvmppcGetCpuChar(fw([["needs-count-cache-flush-on-context-switch", "disabled"]])).behaviour).toBe(
      B.l1d | B.bnds,
    );
  });

  it("the masks name every bit this kernel reports, whatever the firmware says", () => {
    const c = kvmppcGetCpuChar(fw([]));
    expect(c.character).toBe(0n);
    expect(c.characterMask).toBe(C.ori31 | C.bcctrl | C.ori30 | C.trig2 | C.split | C.ccd | C.assist);
    expect(c.behaviourMask).toBe(
      U.KVM_PPC_CPU_BEHAV_FAVOUR_SECURITY |
        U.KVM_PPC_CPU_BEHAV_L1D_FLUSH_PR |
        U.KVM_PPC_CPU_BEHAV_BNDS_CHK_SPEC_BAR |
        U.KVM_PPC_CPU_BEHAV_FLUSH_COUNT_CACHE,
    );
  });
});
