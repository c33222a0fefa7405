// Guest entry and exit details of the 2020 P9 path: the PSSCR and LPCR KVM loads, the interrupt
// entry's HMT_MEDIUM, maybe_reenter_guest for KVM's own doorbell kicks, and msgsndp's kick rule.
import { nsToTb } from "@stopsim/engine";
import {
  BOOK3S_INTERRUPT_DOORBELL,
  dbellServerMessage,
  HMT_VERY_LOW,
  LPCR_DPFD_SH,
  LPCR_GTSE,
  LPCR_HDICE,
  LPCR_HEIC,
  LPCR_HR,
  LPCR_HVICE,
  LPCR_LPES,
  LPCR_PECE,
  LPCR_PECE_HVEE,
  LPCR_UPRT,
  li,
  Memory,
  msgsndp,
  NOP,
  PPR_PRI_SHIFT,
  PSSCR_EC,
  PSSCR_ESL,
  SPRN_PSSCR,
  sldi,
} from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { GUEST_BASE, hcall, load32, TestGuest } from "../test-helpers/guest.js";
import { machine, start, vcpu } from "../test-helpers/setup.js";
import {
  H_PARAMETER,
  H_REGISTER_VPA,
  H_SET_MODE,
  H_SUCCESS,
  KVM_REG_PPC_DEC_EXPIRY,
  KVM_REG_PPC_PPR,
  LPPACA_OLD_SHARED_PROC,
  LPPACA_OLD_STATUS_OFFSET,
} from "./abi.js";

describe("guest entry PSSCR (kvmhv_load_hv_regs_and_go: vcpu->arch.psscr | PSSCR_EC)", () => {
  it("a 2020 build forces PSSCR_EC only; ESL keeps the guest-visible value (0)", () => {
    const m = machine("dd2.2", "2020", "upstream-2020");
    const g = new TestGuest(m.sim, [NOP, NOP, NOP]);
    const v = vcpu(m, 0, g);
    start(m, v);
    m.sim.runFor(500_000);
    const psscr = m.host.cpus[0].thread.getSpr(SPRN_PSSCR);
    expect(psscr & PSSCR_EC).toBe(PSSCR_EC);
    expect(psscr & PSSCR_ESL).toBe(0n);
    expect(v.entryPsscr()).toBe(PSSCR_EC);
  });

  it("a build whose policy clears the trap bits on DD2.3 enters with neither", () => {
    const m = machine("dd2.3", "new", "fallback");
    const v = vcpu(m, 0, new TestGuest(m.sim, [NOP]));
    expect(v.entryPsscr() & (PSSCR_EC | PSSCR_ESL)).toBe(0n);
  });
});

describe("the guest LPCR (kvmppc_core_init_vm_hv)", () => {
  it("is the host's LPCR masked with PECE|LPES plus the POWER9 bits: no LPCR[HVEE]", () => {
    const m = machine("dd2.3", "new", "fallback");
    const hostLpcr = m.host.cpuSpec.lpcr;
    // the host itself enables HVI wake-ups (dt_cpu_ftrs.c feat_enable_hvi)
    expect(hostLpcr & LPCR_PECE_HVEE).toBe(LPCR_PECE_HVEE);
    const want =
      (hostLpcr & (LPCR_PECE | LPCR_LPES)) |
      (4n << LPCR_DPFD_SH) |
      LPCR_HDICE |
      LPCR_HVICE |
      LPCR_HEIC |
      LPCR_LPES |
      LPCR_UPRT |
      LPCR_GTSE |
      LPCR_HR;
    expect(m.vm.initialLpcr).toBe(want);
    expect(m.vm.initialLpcr & LPCR_PECE_HVEE).toBe(0n);
  });
});

describe("interrupt entry: PPR saved, then HMT_MEDIUM (exceptions-64s.S)", () => {
  it("host code after an exit from a very-low-priority guest runs at medium; KVM keeps the guest's PPR", () => {
    const m = machine("dd2.3", "new", "fallback");
    const g = new TestGuest(m.sim, [HMT_VERY_LOW, ...hcall(H_SET_MODE, 0), NOP]);
    const v = vcpu(m, 0, g);
    const thread = m.host.cpus[0].thread;
    let hostPriority = -1;
    let guestPpr = -1n;
    v.run(() => {
      hostPriority = thread.priority;
      guestPpr = v.getOneReg(KVM_REG_PPC_PPR).value >> PPR_PRI_SHIFT;
    });
    m.sim.runFor(100_000);
    expect(hostPriority).toBe(4);
    expect(guestPpr).toBe(1n);
  });
});

/** Two vCPUs of one vCore with their program in guest RAM (msgsndp is emulated from RAM). */
function doorbellMachine(senderProgram: number[]) {
  const m = machine("dd2.3", "new", "fallback");
  const ram = new Memory(1 << 20);
  m.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 1 << 20, memory: ram });
  for (let i = 0; i < senderProgram.length; i++)
    ram.write32(Number(GUEST_BASE) + 4 * i, senderProgram[i], true);
  const sender = new TestGuest(m.sim, senderProgram, 10, (x) => {
    x.halted = true;
  });
  const v0 = vcpu(m, 0, sender);
  return {
    m,
    v0,
    sender,
    v0Resume: (after: number) => sender.resumes.find((r) => r.time >= after)?.time ?? Number.NaN,
  };
}

describe("hypervisor doorbell exits (book3s_hv_rmhandlers.S maybe_reenter_guest)", () => {
  const tir1 = Number(dbellServerMessage(1));
  const program = [...load32(4, tir1), msgsndp(4), NOP, NOP];

  it("KVM's kick of a running vCPU re-enters it from real mode and hands the doorbell over through DPDES", () => {
    const { m, v0, v0Resume } = doorbellMachine(program);
    // vCPU 1 runs guest code with MSR[EE] set: the doorbell is taken at 0xA00
    const target = new TestGuest(m.sim, [NOP, NOP, NOP, NOP], 400_000, (x) => {
      x.halted = true;
    });
    const v1 = vcpu(m, 1, target, true);
    // a far-off decrementer (a fresh vCPU's has expired, kvm_arch_vcpu_create)
    v1.setOneReg(KVM_REG_PPC_DEC_EXPIRY, BigInt(nsToTb(m.sim.now)) + 0x7fffffffn);
    start(m, v1);
    m.sim.runFor(500_000);
    const v0Start = m.sim.now;
    start(m, v0);
    m.sim.runFor(300_000);
    expect(v0.exitCountsRecord()).toEqual({ H_FAC_UNAVAIL: 1 });
    expect(v1.exitCountsRecord()).toEqual({ H_DOORBELL: 1 });
    expect(v1.reenteredDoorbells).toBe(1);
    expect(target.interrupts.map((i) => i.vector)).toEqual([BOOK3S_INTERRUPT_DOORBELL]);
    // the sender's msgsndp trap and emulation (a full exit), the kick, then only the real-mode
    // exit and re-entry of vCPU 1: well under another full exit + entry (2 x 2 us)
    const sentAt = v0Resume(v0Start) + 2 * 10;
    const latency = target.interrupts[0].time - sentAt;
    expect(latency).toBeLessThan(5_000);
  });

  it("msgsndp does not kick a target that already has a doorbell requested", () => {
    const { m, v0 } = doorbellMachine([...program, msgsndp(4), NOP]);
    // vCPU 1 exists but its VMM thread never ran it: both doorbells wait for its first entry
    const v1 = vcpu(m, 1, new TestGuest(m.sim, [NOP]));
    start(m, v0);
    m.sim.runFor(1_000_000);
    expect(v0.exitCountsRecord()).toEqual({ H_FAC_UNAVAIL: 2 });
    expect(v1.kicks).toBe(1);
  });
});

describe("H_REGISTER_VPA (do_h_register_vpa, kvmppc_update_vpas, init_vpa)", () => {
  /** The guest registers the VPA at `addr` whose size field (be16 at +4) says `size`; returns r3 and the RAM. */
  function register(addr: number, size: number): { rc: bigint; ram: Memory } {
    const m = machine("dd2.3", "new", "fallback");
    const ram = new Memory(1 << 20);
    m.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 1 << 20, memory: ram });
    ram.write8(addr + 4, (size >> 8) & 0xff);
    ram.write8(addr + 5, size & 0xff);
    const prog = [
      li(3, H_REGISTER_VPA),
      li(4, 1),
      sldi(4, 4, 45),
      li(5, 0),
      ...load32(6, addr),
      0x44000022,
      NOP,
      NOP,
    ];
    const g = new TestGuest(m.sim, prog, 10, (x) => {
      x.halted = true;
    });
    const v = vcpu(m, 0, g);
    start(m, v);
    m.sim.runFor(2_000_000);
    return { rc: BigInt.asIntN(64, v.getRegs().gpr[3]), ram };
  }

  it("registers the guest's lppaca and, on the next entry, sets LPPACA_OLD_SHARED_PROC in it", () => {
    const { rc, ram } = register(0x8000, 0x400);
    expect(rc).toBe(BigInt(H_SUCCESS));
    expect(ram.read8(0x8000 + LPPACA_OLD_STATUS_OFFSET) & LPPACA_OLD_SHARED_PROC).toBe(
      LPPACA_OLD_SHARED_PROC,
    );
  });

  it("refuses a misaligned area or one shorter than struct lppaca with H_PARAMETER and writes nothing", () => {
    for (const [addr, size] of [
      [0x8040, 0x400],
      [0x8000, 0x100],
    ]) {
      const { rc, ram } = register(addr, size);
      expect(rc).toBe(BigInt(H_PARAMETER));
      expect(ram.read8(addr + LPPACA_OLD_STATUS_OFFSET)).toBe(0);
    }
  });
});
