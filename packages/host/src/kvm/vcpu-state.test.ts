// What KVM keeps per vCPU beyond the GPRs: the decrementer of a fresh vCPU and DEC_EXPIRY, the PMU
// SPRs (switched and offered as ONE_REGs), guest real memory on the thread while the guest runs,
// and KVM_PPC_GET_CPU_CHAR.
import { nsToTb } from "@stopsim/engine";
import {
  BOOK3S_INTERRUPT_DECREMENTER,
  EXEC_OK,
  type HwThread,
  ld,
  Memory,
  mfspr,
  mtspr,
  SPRN_MMCR0,
  SPRN_PMC3,
  SPRN_SIAR,
  std,
  type ThreadSoftware,
} from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { GUEST_BASE, load32, TestGuest } from "../test-helpers/guest.js";
import { machine, start, vcpu } from "../test-helpers/setup.js";
import * as U from "./abi.js";
import { kvmppcGetCpuChar, readFwFeatures } from "./cpu-char.js";

describe("the decrementer of a vCPU", () => {
  it("a fresh vCPU starts with an expired decrementer (kvm_arch_vcpu_create: dec_expires = get_tb())", () => {
    const m = machine("dd2.3", "new", "fallback");
    m.sim.runFor(1_000_000);
    const g = new TestGuest(m.sim, [0x60000000, 0x60000000]);
    const v = vcpu(m, 0, g, true);
    const tb = BigInt(nsToTb(m.sim.now));
    expect(v.getOneReg(U.KVM_REG_PPC_DEC_EXPIRY)).toEqual({ ret: 0, value: tb });
    start(m, v);
    // the host CPU wakes from its idle state for the vCPU task first
    m.sim.runFor(1_000_000);
    // MSR[EE]=1 and DEC negative on entry: the decrementer interrupt is taken at once
    expect(g.interrupts).toHaveLength(1);
    expect(g.interrupts[0].vector).toBe(BOOK3S_INTERRUPT_DECREMENTER);
    expect(g.interrupts[0].srr0).toBe(GUEST_BASE);
  });

  it("DEC_EXPIRY set through ONE_REG is what the guest's DEC counts down to", () => {
    const m = machine("dd2.3", "new", "fallback");
    const g = new TestGuest(m.sim, [0x60000000, 0x60000000]);
    const v = vcpu(m, 0, g, true);
    const expiry = BigInt(nsToTb(m.sim.now + 50_000));
    expect(v.setOneReg(U.KVM_REG_PPC_DEC_EXPIRY, expiry)).toBe(0);
    start(m, v);
    m.sim.runFor(200_000);
    expect(g.interrupts.map((i) => i.vector)).toEqual([BOOK3S_INTERRUPT_DECREMENTER]);
    const at = g.interrupts[0].time;
    expect(at).toBeGreaterThanOrEqual(50_000);
    expect(at).toBeLessThan(52_000);
  });
});

describe("the PMU SPRs", () => {
  const PMU_IDS: readonly [bigint, bigint][] = [
    [U.KVM_REG_PPC_MMCR0, 0x80000000n],
    [U.KVM_REG_PPC_MMCR1, 0x1234n],
    [U.KVM_REG_PPC_MMCRA, 0x5678n],
    [U.KVM_REG_PPC_MMCR2, 0x9abcn],
    [U.KVM_REG_PPC_SIAR, 0xc000000000001000n],
    [U.KVM_REG_PPC_SDAR, 0xc000000000002000n],
    [U.KVM_REG_PPC_SIER, 0x10n],
    [U.KVM_REG_PPC_PMC1, 1n],
    [U.KVM_REG_PPC_PMC2, 2n],
    [U.KVM_REG_PPC_PMC3, 3n],
    [U.KVM_REG_PPC_PMC4, 4n],
    [U.KVM_REG_PPC_PMC5, 5n],
    [U.KVM_REG_PPC_PMC6, 0xffffffffn],
  ];

  it("are ONE_REGs with the ids of arch/powerpc/include/uapi/asm/kvm.h (PMCn 32-bit)", () => {
    const m = machine("dd2.3", "new", "fallback");
    const v = vcpu(m, 0, new TestGuest(m.sim, []));
    for (const [id, val] of PMU_IDS) {
      expect(v.setOneReg(id, val)).toBe(0);
      expect(v.getOneReg(id)).toEqual({ ret: 0, value: val });
    }
    expect(U.oneRegSize(U.KVM_REG_PPC_PMC3)).toBe(4);
    expect(U.KVM_REG_PPC_PMC6 - U.KVM_REG_PPC_PMC1).toBe(5n);
  });

  it("are loaded on guest entry and saved on guest exit (the guest writes them with mtspr)", () => {
    const m = machine("dd2.2", "new", "fallback");
    // guest: mfspr MMCR0 -> r10; mtspr PMC3, SIAR from r9; then an hcall exit to userspace
    const program = [mfspr(10, SPRN_MMCR0), ...load32(9, 0x4242), mtspr(SPRN_PMC3, 9), mtspr(SPRN_SIAR, 9)];
    program.push(0x38600000 | 0xf000, 0x44000022); // li r3,0xf000 (H_RTAS: to userspace); sc 1
    const g = new TestGuest(m.sim, program);
    const v = vcpu(m, 0, g);
    expect(v.setOneReg(U.KVM_REG_PPC_MMCR0, 0x80000000n)).toBe(0);
    let exited = false;
    v.run(() => {
      exited = true;
    });
    m.sim.runFor(100_000);
    expect(exited).toBe(true);
    expect(v.getRegs().gpr[10]).toBe(0x80000000n);
    expect(v.getOneReg(U.KVM_REG_PPC_PMC3).value).toBe(0x4242n);
    expect(v.getOneReg(U.KVM_REG_PPC_SIAR).value).toBe(0x4242n);
  });
});

/** A guest that stores r9 to `addr` with std and loads it back into r10 with ld. */
class StoreLoadGuest implements ThreadSoftware {
  done = false;
  constructor(readonly addr: number) {}
  interrupt(): void {}
  resume(t: HwThread): void {
    if (this.done) return;
    this.done = true;
    t.setGpr(8, BigInt(this.addr));
    t.setGpr(9, 0x1122334455667788n);
    expect(t.execute(std(9, 0, 8))).toBe(EXEC_OK);
    expect(t.execute(ld(10, 0, 8))).toBe(EXEC_OK);
    t.execute(0x38600000 | 0xf000); // li r3, 0xf000
    t.execute(0x44000022); // sc 1
  }
}

describe("guest memory on the thread", () => {
  it("guest std/ld reach the VM's memory slot; the host's memory is back after the exit", () => {
    const m = machine("dd2.3", "new", "fallback");
    const ram = new Memory(1 << 20);
    expect(
      m.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 1 << 20, memory: ram }),
    ).toBe(0);
    const g = new StoreLoadGuest(0x8000);
    const v = vcpu(m, 0, g);
    const thread = m.host.cpus[0].thread;
    const hostMem = thread.memory;
    let exited = false;
    expect(
      v.run(() => {
        exited = true;
      }),
    ).toBe(0);
    m.sim.runFor(100_000);
    expect(exited).toBe(true);
    // the guest runs little-endian (MSR[LE])
    expect(ram.read64(0x8000, true)).toBe(0x1122334455667788n);
    expect(v.getRegs().gpr[10]).toBe(0x1122334455667788n);
    expect(thread.memory).toBe(hostMem);
  });
});

describe("KVM_PPC_GET_CPU_CHAR", () => {
  it("is reported, and follows kvmppc_get_cpu_char on the firmware's fw-features", () => {
    const m = machine("dd2.3", "new", "fallback");
    expect(m.vm.checkExtension(U.KVM_CAP_PPC_GET_CPU_CHAR)).toBe(1);
    const c = m.vm.getCpuChar();
    // DD2.3: count cache flush assist (bcctr 2,0,0) and the flush on context switch
    expect(c.character & U.KVM_PPC_CPU_CHAR_BCCTR_FLUSH_ASSIST).toBe(U.KVM_PPC_CPU_CHAR_BCCTR_FLUSH_ASSIST);
    expect(c.character & U.KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS).toBe(0n);
    expect(c.behaviour & U.KVM_PPC_CPU_BEHAV_FLUSH_COUNT_CACHE).toBe(U.KVM_PPC_CPU_BEHAV_FLUSH_COUNT_CACHE);
    const old = machine("dd2.2", "2020", "upstream-2020").vm.getCpuChar();
    // DD2.2: count cache disabled, no flush needed
    expect(old.character & U.KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS).toBe(U.KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS);
    expect(old.behaviour & U.KVM_PPC_CPU_BEHAV_FLUSH_COUNT_CACHE).toBe(0n);
    for (const x of [c, old]) {
      expect(x.character & U.KVM_PPC_CPU_CHAR_L1D_THREAD_PRIV).not.toBe(0n);
      expect(x.behaviour & U.KVM_PPC_CPU_BEHAV_L1D_FLUSH_PR).not.toBe(0n);
      expect(x.characterMask).toBe(0xf940000000000000n);
      expect(x.behaviourMask).toBe(0xe400000000000000n);
    }
  });

  it("reads /ibm,opal/fw-features when the tree has it; a missing 'disabled' means needed", () => {
    const m = machine("dd2.2", "new", "fallback");
    const tree = m.host.tree;
    const opal = tree.requireNode("/ibm,opal");
    const firmwares = opal.getChild("fw-features");
    if (firmwares !== undefined) opal.removeChild(firmwares);
    const fw = opal.addChild("fw-features");
    fw.addChild("fw-bcctrl-serialized").setPropEmpty("enabled");
    fw.addChild("needs-spec-barrier-for-bound-checks").setPropEmpty("disabled");
    const read = readFwFeatures(tree);
    expect(read).toEqual(
      new Map([
        ["fw-bcctrl-serialized", "enabled"],
        ["needs-spec-barrier-for-bound-checks", "disabled"],
      ]),
    );
    const c = kvmppcGetCpuChar(read);
    expect(c.character).toBe(U.KVM_PPC_CPU_CHAR_BCCTRL_SERIALISED);
    expect(c.behaviour).toBe(U.KVM_PPC_CPU_BEHAV_L1D_FLUSH_PR);
    expect(kvmppcGetCpuChar(null)).toEqual({
      character: 0n,
      behaviour: 0n,
      characterMask: 0n,
      behaviourMask: 0n,
    });
  });
});
