// What KVM keeps of the guest across an exit and hands back at the next entry, and what each
// path costs, seen through KVM's API (KVM_GET_REGS, ONE_REG) and what the guest sees:
// linux: arch/powerpc/kvm/book3s_hv.c kvmhv_p9_guest_entry / kvmhv_load_hv_regs_and_go (the
// guest DEC loaded as dec_expires - tb; on exit "dec = mfspr(SPRN_DEC); if (!(lpcr & LPCR_LD))
// dec = (s32) dec; vcpu->arch.dec_expires = dec + tb"), book3s_hv_rmhandlers.S (an interrupt is
// HSRR-based unless it is one of the SRR ones: the guest PC and MSR come from HSRR0/1 for the
// hypervisor interrupts, from SRR0/1 for `sc 1`), and the model's cost table (costs.ts) for the
// exit path, the real-mode hcalls and the entry.
// Costs are exact (jitter 0) and the vCPU's host CPU has its siblings stopped.
import { nsToTb } from "@stopsim/engine";
import {
  LPCR_LD,
  li,
  MSR_EE,
  MSR_LE,
  MSR_ME,
  MSR_SF,
  mtspr,
  NOP,
  ori,
  oris,
  SPRN_DEC,
  SRR1_PROGILL,
  STOP,
  sldi,
} from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { DEFAULT_HOST_COSTS } from "../costs.js";
import {
  GUEST_BASE,
  H_GET_TERM_CHAR,
  haltOnInterrupt,
  hcall,
  setDec,
  TestGuest,
} from "../test-helpers/guest.js";
import { exactMachine, runVmm, type TestMachine, vcpu } from "../test-helpers/setup.js";
import {
  H_CPPR,
  H_SUCCESS,
  KVM_EXIT_PAPR_HCALL,
  KVM_REG_PPC_DEC_EXPIRY,
  KVM_REG_PPC_LPCR_64,
} from "./abi.js";
import type { KvmRun } from "./kvm.js";
import type { KvmVcpu } from "./vcpu.js";

const C = DEFAULT_HOST_COSTS;

const tbNow = (m: TestMachine): bigint => BigInt(nsToTb(m.sim.now));

/** The kvm_exit and kvm_guest_enter trace instants of vCPU `id`, in order. */
function kvmEvents(m: TestMachine) {
  return m.sim.trace
    .events()
    .filter((e) => e.name === "kvm_exit" || e.name === "kvm_guest_enter")
    .map((e) => ({ name: e.name, time: e.time, args: e.args }));
}

describe("the guest decrementer across an exit (dec_expires)", () => {
  it("without LPCR[LD] the saved DEC is sign-extended from 32 bits: an expiry 2^32 ticks off comes back 2^32 nearer", () => {
    const m = exactMachine();
    const g = new TestGuest(m.sim, [...hcall(H_GET_TERM_CHAR), NOP], 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    const expiry = tbNow(m) + (1n << 32n) + 5_000_000n;
    expect(v.setOneReg(KVM_REG_PPC_DEC_EXPIRY, expiry)).toBe(0);
    runVmm(m, v, 1_000_000);
    m.sim.runFor(100_000);
    expect(m.exits).toHaveLength(1);
    // loaded as a 32-bit DEC (the low 32 bits of expiry - tb), read back as one
    expect(v.getOneReg(KVM_REG_PPC_DEC_EXPIRY)).toEqual({ ret: 0, value: expiry - (1n << 32n) });
  });

  it("with LPCR[LD] (the large decrementer) a DEC beyond 32 bits the guest set is kept whole", () => {
    const m = exactMachine();
    // r9 = 2^32 + 5,000,000 (li, sldi, oris, ori), mtspr DEC, then an hcall to userspace
    const big = (1n << 32n) + 5_000_000n;
    const prog = [
      li(9, 1),
      sldi(9, 9, 32),
      oris(9, 9, Number((big >> 16n) & 0xffffn)),
      ori(9, 9, Number(big & 0xffffn)),
      mtspr(SPRN_DEC, 9),
      ...hcall(H_GET_TERM_CHAR),
      NOP,
    ];
    const g = new TestGuest(m.sim, prog, 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    const lpcr = v.getOneReg(KVM_REG_PPC_LPCR_64).value;
    expect(v.setOneReg(KVM_REG_PPC_LPCR_64, lpcr | LPCR_LD)).toBe(0);
    expect(v.setOneReg(KVM_REG_PPC_DEC_EXPIRY, tbNow(m) + 0x7fffffffn)).toBe(0);
    runVmm(m, v, 1_000_000);
    m.sim.runFor(100_000);
    expect(m.exits).toHaveLength(1);
    // the mtspr is the fifth word: one step of 10 ns each after the entry
    const setAt = g.resumes[0].time + 5 * 10;
    expect(v.getOneReg(KVM_REG_PPC_DEC_EXPIRY)).toEqual({ ret: 0, value: BigInt(nsToTb(setAt)) + big });
  });

  it("an expired DEC (negative) stays in the past: its expiry is kept, not moved 2^32 ticks on", () => {
    const m = exactMachine();
    const g = new TestGuest(m.sim, [...hcall(H_GET_TERM_CHAR), NOP], 10, haltOnInterrupt);
    const v = vcpu(m, 0, g); // MSR[EE] off: the guest does not take the decrementer
    const expiry = tbNow(m) - 1000n;
    expect(v.setOneReg(KVM_REG_PPC_DEC_EXPIRY, expiry)).toBe(0);
    runVmm(m, v, 1_000_000);
    m.sim.runFor(100_000);
    expect(m.exits).toHaveLength(1);
    expect(v.getOneReg(KVM_REG_PPC_DEC_EXPIRY)).toEqual({ ret: 0, value: expiry });
  });

  it("a DEC the guest set keeps its expiry across a userspace exit: the 0x900 comes on time", () => {
    const m = exactMachine();
    // DEC = 100 us, two words, an hcall to userspace (30 us there), then NOPs until the interrupt
    const prog = [...setDec(512 * 100), NOP, NOP, ...hcall(H_GET_TERM_CHAR), ...Array(100).fill(NOP)];
    const g = new TestGuest(m.sim, prog, 100, haltOnInterrupt);
    const v = vcpu(m, 0, g, true);
    expect(v.setOneReg(KVM_REG_PPC_DEC_EXPIRY, tbNow(m) + 0x7fffffffn)).toBe(0);
    runVmm(m, v, 30_000);
    m.sim.runFor(400_000);
    expect(m.exits).toHaveLength(1);
    expect(g.interrupts.map((i) => i.vector)).toEqual([0x900]);
    // the mtspr is the third word: it runs one step after the first entry
    const setAt = g.resumes[0].time + 3 * 100;
    const due = Number(nsToTb(setAt)) + 512 * 100;
    // taken at the first word boundary once DEC went negative (one tick after it reached 0)
    expect(nsToTb(g.interrupts[0].time)).toBeGreaterThanOrEqual(due);
    expect(g.interrupts[0].time - setAt).toBeLessThan(100_000 + 100 + 4);
  });
});

describe("where the guest PC and MSR come from on exit", () => {
  it("`sc 1` is SRR-based: the PC after the sc, the guest MSR, SRR0/1 as the sc left them", () => {
    const m = exactMachine();
    const prog = [NOP, ...hcall(H_GET_TERM_CHAR, 1), NOP];
    const g = new TestGuest(m.sim, prog, 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    const msr = MSR_SF | MSR_ME | MSR_LE;
    runVmm(m, v, 1_000_000);
    m.sim.runFor(100_000);
    const r = v.getRegs();
    const after = GUEST_BASE + BigInt(4 * 4);
    expect([r.pc, r.msr, r.srr0, r.srr1 & msr]).toEqual([after, msr, after, msr]);
  });

  it("the hypervisor decrementer is HSRR-based: the guest resumes where it was, its SRR0/1 untouched", () => {
    const m = exactMachine();
    const g = new TestGuest(m.sim, Array(20_000).fill(NOP), 1_000, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    expect(v.setRegs({ ...v.getRegs(), srr0: 0x4440n, srr1: 0x5550n })).toBe(0);
    m.sim.trace.enable();
    runVmm(m, v);
    m.sim.runFor(12_000_000);
    expect(v.exitCountsRecord()).toEqual({ HV_DECREMENTER: 1 });
    const exit = kvmEvents(m).find((e) => e.name === "kvm_exit");
    expect(exit?.args?.exit).toBe("HV_DECREMENTER");
    // HSRR0: the NOP that was about to run when the tick came, ~10 ms of 1 us words in
    const pc = g.resumes[1].pc;
    expect(pc).toBeGreaterThan(GUEST_BASE + 4n * 9_000n);
    expect(pc).toBeLessThan(GUEST_BASE + 4n * 10_000n);
    expect(exit?.args?.pc).toBe(`0x${pc.toString(16)}`);
    expect(g.resumes[0].pc).toBe(GUEST_BASE);
    const r = v.getRegs();
    expect([r.srr0, r.srr1]).toEqual([0x4440n, 0x5550n]);
  });
});

describe("the entry path's own decisions", () => {
  it("a host timer due by the hrfid: no entry, the hypervisor decrementer is handled, then the entry again", () => {
    const m = exactMachine();
    const cpu = m.host.cpus[0];
    const g = new TestGuest(m.sim, [...hcall(H_GET_TERM_CHAR), NOP, NOP], 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    m.sim.trace.enable();
    let hrfidAt = -1;
    const fired: number[] = [];
    const handler = (_run: KvmRun, vc: KvmVcpu): void => {
      // the VMM answers at once: the round trip, then the entry path, then the hrfid at H; a
      // host timer 1 ns later falls in H's timebase tick (HDEC would be 0) when H starts a tick
      const e = m.sim.now;
      let delay = 0;
      while (
        nsToTb(e + delay + C.userspaceRoundTripNs + C.guestEntryNs + 1) !==
        nsToTb(e + delay + C.userspaceRoundTripNs + C.guestEntryNs)
      )
        delay++;
      hrfidAt = e + delay + C.userspaceRoundTripNs + C.guestEntryNs;
      cpu.createTimer(() => fired.push(m.sim.now), "due at the hrfid").start(hrfidAt + 1);
      m.sim.schedule(delay, () => expect(vc.run(handler)).toBe(0), "vmm");
    };
    expect(v.run(handler)).toBe(0);
    m.sim.runFor(100_000);
    expect(hrfidAt).toBeGreaterThan(0);
    // kvmhv_load_hv_regs_and_go: "if (hdec < 0) return BOOK3S_INTERRUPT_HV_DECREMENTER" (no
    // guest ran: no kvm_exit)
    expect(v.exitCountsRecord()).toEqual({ SYSCALL: 1 });
    // the run loop goes round: its next hrfid runs the timer that is due by then, and enters
    const enters = kvmEvents(m)
      .filter((e) => e.name === "kvm_guest_enter")
      .map((e) => e.time);
    expect(enters).toEqual([enters[0], hrfidAt + C.guestEntryNs]);
    expect(fired).toEqual([hrfidAt + C.guestEntryNs]);
    expect(g.resumes.map((r) => r.time)).toEqual([enters[0], hrfidAt + C.guestEntryNs]);
  });

  it("a queued instruction storage interrupt is injected at the next entry, at its cost", () => {
    const m = exactMachine();
    const g = new TestGuest(m.sim, [NOP, NOP], 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    // an HISI outside the memory slots (kvmppc_handle_exit_hv): an ISI for the guest
    v.handleExitHv(0xe20, 0n, 0n);
    m.sim.trace.enable();
    const t0 = m.sim.now;
    runVmm(m, v);
    m.sim.runFor(100_000);
    expect(g.interrupts.map((i) => [i.vector, i.srr0, i.srr1 & 0x40000000n])).toEqual([
      [0x400, GUEST_BASE, 0x40000000n],
    ]);
    const enter = kvmEvents(m).find((e) => e.name === "kvm_guest_enter");
    expect(enter?.args?.pc).toBe("0x400");
    expect(g.interrupts[0].time).toBe(enter?.time);
    // the first entry after the CPU woke: the task switch, the entry and the injection
    expect((enter?.time ?? 0) - t0).toBeGreaterThanOrEqual(
      C.wakeTaskNs + C.guestEntryNs + C.injectInterruptNs,
    );
  });
});

/** A guest executing `stop` (which traps: PSSCR[EC] forced) on a DD2.2 host built as `kernel`. */
function trappedStop(kernel: "patch1" | "upstream-2020") {
  const m = exactMachine(kernel, "dd2.2");
  const g = new TestGuest(m.sim, [NOP, STOP, NOP, NOP], 10, haltOnInterrupt);
  const v = vcpu(m, 0, g);
  m.sim.trace.enable();
  runVmm(m, v);
  m.sim.runFor(100_000);
  return { g, v, ev: kvmEvents(m) };
}

describe("the cost of each path (exit, handling, entry)", () => {
  it("a real-mode XICS hcall: the short switch both ways and the handler, no full exit", () => {
    const m = exactMachine();
    const g = new TestGuest(m.sim, [...hcall(H_CPPR, 0xff), NOP, NOP], 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    m.sim.trace.enable();
    runVmm(m, v);
    m.sim.runFor(100_000);
    const ev = kvmEvents(m);
    expect(ev.map((e) => e.name)).toEqual(["kvm_guest_enter", "kvm_exit", "kvm_guest_enter"]);
    expect(ev[2].time - ev[1].time).toBe(C.realModeSwitchNs + C.xicsHcallNs + C.realModeSwitchNs);
    expect(v.getRegs().gpr[3]).toBe(BigInt(H_SUCCESS));
  });

  it("an hcall for userspace: the full exit and the SYSCALL handling before KVM_RUN returns", () => {
    const m = exactMachine();
    const g = new TestGuest(m.sim, [...hcall(H_GET_TERM_CHAR), NOP], 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    m.sim.trace.enable();
    const times = runVmm(m, v);
    m.sim.runFor(100_000);
    const ev = kvmEvents(m);
    expect(m.exits.map((e) => e.exit_reason)).toEqual([KVM_EXIT_PAPR_HCALL]);
    expect(ev[1]).toEqual({
      name: "kvm_exit",
      time: times[0] - C.guestExitNs - C.exitHandlingNs.SYSCALL,
      args: {
        vcpu: 0,
        exit: "SYSCALL",
        pc: `0x${(GUEST_BASE + 8n).toString(16)}`,
        msr: "0x8000000000001001",
      },
    });
    // the run loop again after the VMM: the round trip, then the full entry (DD2.3 with
    // idle-stop-guest: this build enters with PSSCR's trap bits clear)
    expect(ev[2]).toEqual({
      name: "kvm_guest_enter",
      time: times[0] + C.userspaceRoundTripNs + C.guestEntryNs,
      args: { vcpu: 0, pc: `0x${(GUEST_BASE + 8n).toString(16)}`, psscr: "0x0" },
    });
  });

  it("a trapped stop emulated (RFC patch 1): the full exit, its handling, the full entry", () => {
    const { ev } = trappedStop("patch1");
    expect(ev.map((e) => [e.name, e.args?.pc])).toEqual([
      ["kvm_guest_enter", `0x${GUEST_BASE.toString(16)}`],
      ["kvm_exit", `0x${(GUEST_BASE + 4n).toString(16)}`],
      ["kvm_guest_enter", `0x${(GUEST_BASE + 8n).toString(16)}`],
    ]);
    expect(ev[2].time - ev[1].time).toBe(C.guestExitNs + C.exitHandlingNs.H_FAC_UNAVAIL + C.guestEntryNs);
    // the 2020 P9 entry forces PSSCR[EC] (the stop traps)
    expect(ev[0].args?.psscr).toBe("0x100000");
  });

  it("a trapped stop without emulation: the program interrupt is injected on the way in, at its cost", () => {
    const { g, v, ev } = trappedStop("upstream-2020");
    expect(ev.map((e) => e.name)).toEqual(["kvm_guest_enter", "kvm_exit", "kvm_guest_enter"]);
    // kvmppc_inject_interrupt_hv: the guest enters at the vector, SRR0 the stop, SRR1 PROGILL
    expect(ev[2].args?.pc).toBe("0x700");
    expect(g.interrupts).toHaveLength(1);
    expect(g.interrupts[0].vector).toBe(0x700);
    expect(g.interrupts[0].srr0).toBe(GUEST_BASE + 4n);
    expect(g.interrupts[0].srr1 & SRR1_PROGILL).toBe(SRR1_PROGILL);
    expect(ev[2].time - ev[1].time).toBe(
      C.guestExitNs + C.exitHandlingNs.H_FAC_UNAVAIL + C.guestEntryNs + C.injectInterruptNs,
    );
    expect(g.interrupts[0].time).toBe(ev[2].time);
    expect(v.getRegs().msr & MSR_EE).toBe(0n);
  });
});
