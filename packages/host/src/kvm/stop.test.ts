import { nsToTb } from "@stopsim/engine";
import { BOOK3S_INTERRUPT_DECREMENTER, BOOK3S_INTERRUPT_PROGRAM, SRR1_PROGILL, STOP } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { GUEST_BASE, setDec, TestGuest } from "../test-helpers/guest.js";
import { machine, start, vcpu } from "../test-helpers/setup.js";
import {
  KVM_CAP_PPC_GUEST_STOP,
  KVM_CAP_STOP,
  KVM_PPC_GUEST_STOP_EMULATED,
  KVM_PPC_GUEST_STOP_NATIVE,
  KVM_REG_PPC_DEC_EXPIRY,
} from "./abi.js";

/** The same guest everywhere: arm DEC for 100 us, execute `stop`, then one more word. */
const PROGRAM = [...setDec(512 * 100), STOP, 0x60000000];
const STOP_PC = GUEST_BASE + 12n;

describe("the same guest stop under each host build", () => {
  it("(a) upstream-2020: the guest takes a program interrupt (0x700, SRR1_PROGILL)", () => {
    const m = machine("dd2.3", "new", "upstream-2020");
    const g = new TestGuest(m.sim, PROGRAM);
    const v = vcpu(m, 0, g);
    start(m, v);
    m.sim.runFor(1_000_000);
    expect(g.interrupts).toHaveLength(1);
    const [irq] = g.interrupts;
    expect(irq.vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
    expect(irq.srr1 & SRR1_PROGILL).toBe(SRR1_PROGILL);
    expect(irq.srr0).toBe(STOP_PC);
    expect(v.exitCountsRecord()).toEqual({ H_FAC_UNAVAIL: 1 });
    expect(v.programInterrupts).toBe(1);
  });

  it("(b) patch1: one H_FAC_UNAVAIL exit, the guest resumes at PC+4", () => {
    const m = machine("dd2.3", "new", "patch1");
    const g = new TestGuest(m.sim, PROGRAM);
    const v = vcpu(m, 0, g);
    start(m, v);
    m.sim.runFor(1_000_000);
    expect(g.interrupts).toEqual([]);
    expect(g.resumes.map((r) => r.pc)).toEqual([GUEST_BASE, STOP_PC + 4n]);
    expect(v.exitCountsRecord()).toEqual({ H_FAC_UNAVAIL: 1 });
    expect(v.emulatedStops).toBe(1);
    // the resume costs a KVM round trip: exit + emulation + re-entry, a few microseconds
    const roundTrip = g.resumes[1].time - g.resumes[0].time;
    expect(roundTrip).toBeGreaterThan(1500);
    expect(roundTrip).toBeLessThan(6000);
  });

  it("(c) DD2.3 + idle-stop-guest + fallback: stop runs natively, no exit, the guest DEC wakes it", () => {
    const m = machine("dd2.3", "new", "fallback");
    expect(m.host.enableGuestStop).toBe(true);
    const g = new TestGuest(m.sim, PROGRAM, 10, (guest) => {
      guest.halted = true;
    });
    const v = vcpu(m, 0, g, true);
    // a fresh vCPU's decrementer has expired (kvm_arch_vcpu_create): the guest enters with
    // MSR[EE] set here, so give it one far off first, as a guest programs DEC before enabling EE
    expect(v.setOneReg(KVM_REG_PPC_DEC_EXPIRY, BigInt(nsToTb(m.sim.now)) + 0x7fffffffn)).toBe(0);
    start(m, v);
    m.sim.runFor(300_000);
    expect(v.exitCountsRecord()).toEqual({});
    expect(g.interrupts).toHaveLength(1);
    expect(g.interrupts[0].vector).toBe(BOOK3S_INTERRUPT_DECREMENTER);
    // woken by its own decrementer 100 us after arming it, at the instruction after stop
    expect(g.interrupts[0].srr0).toBe(STOP_PC + 4n);
    expect(g.interrupts[0].time - g.resumes[0].time).toBeGreaterThanOrEqual(100_000);
    expect(g.interrupts[0].time - g.resumes[0].time).toBeLessThan(100_200);
  });

  it("(d) DD2.2 + fallback: no idle-stop-guest, so the stop traps and is emulated", () => {
    const m = machine("dd2.2", "new", "fallback");
    expect(m.host.enableGuestStop).toBe(false);
    const g = new TestGuest(m.sim, PROGRAM);
    const v = vcpu(m, 0, g);
    start(m, v);
    m.sim.runFor(1_000_000);
    expect(v.exitCountsRecord()).toEqual({ H_FAC_UNAVAIL: 1 });
    expect(g.resumes.map((r) => r.pc)).toEqual([GUEST_BASE, STOP_PC + 4n]);
  });

  it("KVM_CAP_STOP only from the host-probed build on DD2.3 with the new firmware", () => {
    const cases: [string, "2020" | "new", string, number][] = [
      ["dd2.3", "new", "host-probed", 1],
      ["dd2.3", "2020", "host-probed", 0],
      ["dd2.2", "new", "host-probed", 0],
      ["dd2.3", "new", "fallback", 0],
      ["dd2.3", "new", "upstream-2020", 0],
      ["dd2.3", "new", "patch2-as-posted", 0],
    ];
    for (const [dd, fw, build, want] of cases) {
      const m = machine(dd, fw, build as "fallback");
      expect([dd, fw, build, m.host.kvm.checkExtension(KVM_CAP_STOP)]).toEqual([dd, fw, build, want]);
      expect(m.vm.checkExtension(KVM_CAP_STOP)).toBe(want);
    }
  });

  it("KVM_CAP_PPC_GUEST_STOP: only the fallback build reports it, native on DD2.3 with idle-stop-guest", () => {
    expect(machine("dd2.3", "new", "fallback").host.kvm.checkExtension(KVM_CAP_PPC_GUEST_STOP)).toBe(
      KVM_PPC_GUEST_STOP_EMULATED | KVM_PPC_GUEST_STOP_NATIVE,
    );
    expect(machine("dd2.2", "new", "fallback").host.kvm.checkExtension(KVM_CAP_PPC_GUEST_STOP)).toBe(
      KVM_PPC_GUEST_STOP_EMULATED,
    );
    for (const b of ["upstream-2020", "patch1", "host-probed"] as const) {
      expect(machine("dd2.3", "new", b).host.kvm.checkExtension(KVM_CAP_PPC_GUEST_STOP)).toBe(0);
    }
  });
});
