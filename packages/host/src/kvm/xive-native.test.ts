import {
  BOOK3S_INTERRUPT_EXTERNAL,
  Memory,
  type MmioRegion,
  mtmsrd,
  NOP,
  TM_CPPR,
  TM_QW1_OS,
  XIVE_ESB_GET,
  XIVE_ESB_SET_PQ_00,
} from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { hcall, load32, setDec, TestGuest } from "../test-helpers/guest.js";
import { machine, start, vcpu } from "../test-helpers/setup.js";
import * as U from "./abi.js";
import type { KvmVcpu } from "./vcpu.js";
import type { KvmXiveNativeDevice } from "./xive-native.js";

const QADDR = 0x100000;

/** What QEMU does for a guest's H_INT_* calls (spapr_xive_kvm.c): one IPI source routed to server 1. */
function setupXive(ceding: boolean) {
  const m = machine("dd2.3", "new", "fallback");
  const ram = new Memory(1 << 24);
  m.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 1 << 24, memory: ram });
  expect(m.vm.checkExtension(U.KVM_CAP_PPC_IRQ_XIVE)).toBe(1);
  const dev = m.vm.createDevice(U.KVM_DEV_TYPE_XIVE) as KvmXiveNativeDevice;
  expect(typeof dev).toBe("object");
  const halt = (g: TestGuest): void => {
    g.halted = true;
  };
  const g0 = new TestGuest(m.sim, [...setDec(0x7fffffff), ...Array(2000).fill(NOP)], 10, halt);
  // mtmsrd r5,1 with MSR_EE in r5: interrupts on once the DEC is far away (H_CEDE sets EE itself)
  const enableEe = [...load32(5, 0x8000), mtmsrd(5, 1)];
  const prog1 = ceding
    ? [...setDec(0x7fffffff), ...hcall(U.H_CEDE), NOP]
    : [...setDec(0x7fffffff), ...enableEe, ...Array(5000).fill(NOP)];
  const g1 = new TestGuest(m.sim, prog1, 10, halt);
  const v0 = vcpu(m, 0, g0);
  const v1 = vcpu(m, 1, g1);
  expect(v0.enableCap(U.KVM_CAP_PPC_IRQ_XIVE, [dev.fd, 0])).toBe(0);
  expect(v1.enableCap(U.KVM_CAP_PPC_IRQ_XIVE, [dev.fd, 1])).toBe(0);
  // the guest opened its CPPR (restored as QEMU restores a migrated vCPU's context)
  expect(v1.setOneReg(U.KVM_REG_PPC_VP_STATE, 0x00ff0000000000ffn << 64n)).toBe(0);
  expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, 1n)).toBe(0);
  const eqAttr = (1n << U.KVM_XIVE_EQ_SERVER_SHIFT) | 6n;
  expect(
    dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr, {
      flags: 1,
      qshift: 16,
      qaddr: BigInt(QADDR),
      qtoggle: 0,
      qindex: 0,
    }),
  ).toBe(0);
  const cfg = 6n | (1n << U.KVM_XIVE_SOURCE_SERVER_SHIFT) | (0x10n << U.KVM_XIVE_SOURCE_EISN_SHIFT);
  expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 1n, cfg)).toBe(0);
  const esb = dev.mmap(U.KVM_XIVE_ESB_PAGE_OFFSET) as MmioRegion;
  const eoiPage = (1 << 17) + (1 << 16);
  esb.load(eoiPage + XIVE_ESB_SET_PQ_00, 8, 0); // unmask (xive_do_source_set_mask)
  return { m, ram, dev, esb, g0, g1, v0, v1 };
}

/** An IPI as a guest sends it: a store to the source's trigger page (out_be64(trig_mmio, 0)). */
function ipi(esb: MmioRegion, from: KvmVcpu): void {
  esb.store(1 << 17, 8, 0n, from.cpu.thread.pir);
}

describe("KVM XIVE native device", () => {
  it("a running vCPU gets the event in its queue and the external interrupt without any exit", () => {
    const { m, ram, esb, g1, v0, v1 } = setupXive(false);
    start(m, v0);
    start(m, v1);
    m.sim.runFor(20_000);
    ipi(esb, v0);
    m.sim.runFor(5_000);
    expect(g1.interrupts.map((i) => i.vector)).toEqual([BOOK3S_INTERRUPT_EXTERNAL]);
    expect(ram.read32(QADDR, false)).toBe(0x80000010); // generation 1, EISN 0x10
    expect(v1.exitCountsRecord()).toEqual({});
    expect(v0.exitCountsRecord()).toEqual({});
  });

  it("a ceded vCPU is woken by its escalation interrupt on its host CPU (xive_esc_irq), not by a doorbell", () => {
    const { m, dev, esb, g1, v0, v1 } = setupXive(true);
    start(m, v1);
    // a fresh host CPU's menu history is empty: it snoozes (8 x 10 us) before its first stop state
    m.sim.runFor(200_000);
    expect(v1.isCeded).toBe(true);
    expect(v1.runState).toBe("blocked");
    expect(m.host.cpus[1].thread.stopped).toBe(true);
    start(m, v0);
    m.sim.runFor(20_000);
    const kicksBefore = v1.kicks;
    ipi(esb, v0);
    m.sim.runFor(1_000_000);
    const st = dev.vcpuState(1);
    expect(st?.escalations).toBe(1);
    expect(v1.kicks).toBe(kicksBefore + 1);
    expect(v1.isCeded).toBe(false);
    expect(g1.interrupts.map((i) => i.vector)).toEqual([BOOK3S_INTERRUPT_EXTERNAL]);
    expect(m.host.xive?.handled.get(1)).toBe(1);
    // the sender never exited: the IPI was an MMIO store
    expect(v0.exitCountsRecord()).toEqual({});
    expect(v1.exitCountsRecord()).toEqual({ SYSCALL: 1 });
  });

  it("without XIVE on the vCPU the cede path is XICS-on-XIVE's, unchanged", () => {
    const m = machine("dd2.3", "new", "fallback");
    const g = new TestGuest(m.sim, [...setDec(512 * 100), ...hcall(U.H_CEDE)], 10, (x) => {
      x.halted = true;
    });
    const v = vcpu(m, 0, g);
    start(m, v);
    m.sim.runFor(500_000);
    expect(v.xive).toBeNull();
    expect(m.host.xive?.handled.get(0) ?? 0).toBe(0);
  });

  it("refuses what the kernel refuses, with its errno", () => {
    const { m, dev, v0 } = setupXive(false);
    expect(m.vm.createDevice(U.KVM_DEV_TYPE_XIVE)).toBe(-U.EEXIST);
    expect(m.vm.createDevice(U.KVM_DEV_TYPE_XICS)).toBe(-U.ENODEV);
    expect(v0.enableCap(U.KVM_CAP_PPC_IRQ_XIVE, [dev.fd, 5])).toBe(-U.EBUSY);
    expect(v0.enableCap(U.KVM_CAP_PPC_IRQ_XIVE, [99, 5])).toBe(-U.EPERM);
    const eq = (server: number) => (BigInt(server) << U.KVM_XIVE_EQ_SERVER_SHIFT) | 6n;
    expect(
      dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eq(0), {
        flags: 0,
        qshift: 13,
        qaddr: 0x200000n,
        qtoggle: 0,
        qindex: 0,
      }),
    ).toBe(-U.EINVAL);
    expect(
      dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eq(0), {
        flags: 0,
        qshift: 16,
        qaddr: 0x201000n,
        qtoggle: 0,
        qindex: 0,
      }),
    ).toBe(-U.EINVAL);
    expect(
      dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eq(7), {
        flags: 0,
        qshift: 16,
        qaddr: 0x200000n,
        qtoggle: 0,
        qindex: 0,
      }),
    ).toBe(-U.ENOENT);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 9n, 6n)).toBe(-U.ENOENT);
    expect(dev.setAttr(42, 0n)).toBe(-U.ENXIO);
    expect(dev.mmap(1)).toBe(-U.EINVAL);
  });

  it("the TIMA page the guest sees is the OS ring of its own thread; VP_STATE round-trips", () => {
    const { m, dev, v1 } = setupXive(false);
    start(m, v1);
    m.sim.runFor(10_000);
    const tima = dev.mmap(U.KVM_XIVE_TIMA_PAGE_OFFSET) as MmioRegion;
    const pir = v1.cpu.thread.pir;
    expect(tima.load((2 << 16) + TM_QW1_OS + TM_CPPR, 1, pir)).toBe(0xffn);
    expect(() => tima.load(TM_QW1_OS + TM_CPPR, 1, pir)).toThrow(/only the OS page/);
    expect(v1.getOneReg(U.KVM_REG_PPC_VP_STATE)).toEqual({ ret: 0, value: 0x00ff0000000000ffn << 64n });
    const esb = dev.mmap(U.KVM_XIVE_ESB_PAGE_OFFSET) as MmioRegion;
    expect(esb.load((1 << 17) + (1 << 16) + XIVE_ESB_GET, 8, pir)).toBe(0n);
    expect(() => esb.load((5 << 17) + (1 << 16), 8, pir)).toThrow(/has not set up/);
  });
});
