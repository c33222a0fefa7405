// The vCPU's run loop decision by decision, through KVM's API and what the guest sees:
// linux: arch/powerpc/kvm/book3s_hv.c kvmhv_run_single_vcpu (the loop: prepare, enter, handle
// the exit, go round or return to userspace), kvmppc_vcore_blocked (H_CEDE: poll for
// halt_poll_ns, then schedule() away), kvmppc_fast_vcpu_kick_hv (wake a blocked vCPU, IPI a
// running one), kvmppc_decrementer_func (a ceded vCPU's decrementer), and virt/kvm/kvm_main.c
// kvm_vcpu_ioctl KVM_RUN with kvm_arch_vcpu_ioctl_run completing a userspace hcall (r3 = ret,
// r4.. = args) and the signal / immediate_exit path (KVM_EXIT_INTR).
// Costs are exact (jitter 0) and the vCPU's host CPU has its siblings stopped once menu has
// left its first snoozes, so each step costs the cost table's figure.
import {
  BOOK3S_INTERRUPT_DECREMENTER,
  BOOK3S_INTERRUPT_EXTERNAL,
  NOP,
  XIVE_ESB_SET_PQ_00,
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
import { exactMachine, runVmm, vcpu } from "../test-helpers/setup.js";
import { H_CEDE, H_CPPR, H_SUCCESS, KVM_EXIT_INTR, KVM_EXIT_PAPR_HCALL, KVM_INTERRUPT_SET } from "./abi.js";

const C = DEFAULT_HOST_COSTS;

/** A vCPU running 2,000 NOPs of 100 ns each for 50 us, its VMM answering exits after `vmmNs`. */
function nopGuest(vmmNs = 0) {
  const m = exactMachine();
  const g = new TestGuest(m.sim, Array(2000).fill(NOP), 100, haltOnInterrupt);
  const v = vcpu(m, 0, g);
  const exitTimes = runVmm(m, v, vmmNs);
  m.sim.runFor(50_000);
  return { m, g, v, exitTimes };
}

describe("KVM_RUN", () => {
  it("refuses a vCPU without guest code (-ENOEXEC) and a second KVM_RUN while it runs (-EBUSY)", () => {
    const m = exactMachine();
    const v = m.vm.createVcpu(0);
    if (typeof v === "number") throw new Error("createVcpu");
    expect(v.run(() => {})).toBe(-8);
    const g = new TestGuest(m.sim, [NOP, NOP], 10, haltOnInterrupt);
    expect(v.setGuestSoftware(g)).toBe(0);
    expect(v.run(() => {})).toBe(0);
    expect(v.runState).toBe("runnable");
    expect(v.run(() => {})).toBe(-16);
    m.sim.runFor(50_000);
    expect(v.runState).toBe("guest");
    expect(v.run(() => {})).toBe(-16);
    expect(v.setGuestSoftware(g)).toBe(-16);
  });

  it("on a sleeping host CPU: the reschedule IPI and wake-up, the task switch, then the entry", () => {
    const m = exactMachine();
    const cpu = m.host.cpus[0];
    const st = cpu.currentIdleState;
    expect(st?.kind).toBe("stop");
    const g = new TestGuest(m.sim, [NOP], 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    const t0 = m.sim.now;
    runVmm(m, v);
    m.sim.runFor(100_000);
    const lat = st?.firmwareLatencyNs ?? Number.NaN;
    expect(g.resumes[0]).toEqual({
      pc: GUEST_BASE,
      time: t0 + C.ipiDeliveryNs + lat + C.hostIpiIrqNs + C.wakeTaskNs + C.guestEntryNs,
    });
  });

  it("a userspace hcall: the exit carries nr and args, the next KVM_RUN gives the guest ret and args", () => {
    const m = exactMachine();
    const g = new TestGuest(m.sim, [...hcall(H_GET_TERM_CHAR, 7, 9), NOP, NOP], 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    const exitTimes = runVmm(m, v, 0, (run) => {
      expect(run.exit_reason).toBe(KVM_EXIT_PAPR_HCALL);
      expect(run.papr_hcall.nr).toBe(BigInt(H_GET_TERM_CHAR));
      expect(run.papr_hcall.args.slice(0, 2)).toEqual([7n, 9n]);
      run.papr_hcall.ret = BigInt(H_SUCCESS);
      run.papr_hcall.args[0] = 1n;
      run.papr_hcall.args[1] = 0x4100000000000000n;
    });
    m.sim.runFor(100_000);
    expect(exitTimes).toHaveLength(1);
    // kvm_arch_vcpu_ioctl_run: r3 = ret, r4 .. r12 = args
    const regs = v.getRegs();
    expect(regs.gpr.slice(3, 6)).toEqual([BigInt(H_SUCCESS), 1n, 0x4100000000000000n]);
    // the thread stayed on its CPU: back in after the userspace round trip and the entry
    expect(g.resumes.map((r) => r.time)).toEqual([
      g.resumes[0].time,
      exitTimes[0] + C.userspaceRoundTripNs + C.guestEntryNs,
    ]);
    expect(g.resumes[1].pc).toBe(GUEST_BASE + BigInt(4 * 4));
  });

  it("a VMM slower than the round trip: its thread sleeps, the host CPU idles, KVM_RUN wakes it", () => {
    const m = exactMachine();
    const cpu = m.host.cpus[0];
    const g = new TestGuest(m.sim, [...hcall(H_GET_TERM_CHAR), NOP], 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    let exitAt = -1;
    let wakeNs = -1;
    const handler = (): void => {
      exitAt = m.sim.now;
      m.sim.schedule(
        500_000,
        () => {
          // how long the CPU takes to notice: a doorbell to a stopped thread, or a snooze's poll
          const st = cpu.currentIdleState;
          wakeNs =
            st === null || st.kind === "snooze"
              ? C.snoozeExitNs
              : C.ipiDeliveryNs + st.firmwareLatencyNs + C.hostIpiIrqNs;
          expect(v.run(handler)).toBe(0);
        },
        "vmm",
      );
    };
    expect(v.run(handler)).toBe(0);
    for (let i = 0; i < 10_000 && exitAt < 0; i++) m.sim.runFor(10);
    expect(v.runState).toBe("userspace");
    // still on its CPU for the round trip, then the thread sleeps in the VMM
    m.sim.runFor(exitAt + C.userspaceRoundTripNs - 1 - m.sim.now);
    expect(cpu.current).toBe(v);
    m.sim.runFor(1);
    expect(cpu.current).toBeNull();
    m.sim.runFor(100_000);
    expect(cpu.idle).toBe(true);
    m.sim.runFor(500_000);
    expect(g.resumes).toHaveLength(2);
    expect(v.runState).toBe("guest");
    // woken from idle: the task switch is paid besides the round trip and the entry
    expect(g.resumes[1].time).toBe(
      exitAt + 500_000 + wakeNs + C.userspaceRoundTripNs + C.wakeTaskNs + C.guestEntryNs,
    );
  });
});

describe("the host tick while a vCPU thread runs", () => {
  it("is a host timer: each tick is an HDEC exit handled in the kernel", () => {
    const m = exactMachine();
    const g = new TestGuest(m.sim, Array(30_000).fill(NOP), 1_000, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    runVmm(m, v);
    m.sim.runFor(25_000_000);
    expect(v.exitCountsRecord()).toEqual({ HV_DECREMENTER: 2 });
    expect(m.sim.stats.counterValues()["kvm.exit.HV_DECREMENTER"]).toBe(2);
    expect(m.exits).toEqual([]);
  });
});

describe("a host interrupt while a guest runs", () => {
  it("exits the guest (H_VIRT) and is handled after the exit path, then the guest is entered again", () => {
    const m = exactMachine();
    const xive = m.host.xive;
    if (xive === undefined) throw new Error("no host XIVE");
    const handled: number[] = [];
    const irq = xive.requestIrq(0, () => handled.push(m.sim.now));
    xive.hw.esbLoad(irq, XIVE_ESB_SET_PQ_00);
    const g = new TestGuest(m.sim, Array(2000).fill(NOP), 100, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    runVmm(m, v);
    m.sim.runFor(50_000);
    expect(v.runState).toBe("guest");
    const t = m.sim.now;
    xive.hw.trigger(irq);
    m.sim.runFor(20_000);
    expect(v.exitCountsRecord()).toEqual({ H_VIRT: 1 });
    expect(handled).toEqual([t + C.guestExitNs + C.exitHandlingNs.H_VIRT]);
    expect(g.resumes.map((r) => r.time)).toEqual([
      g.resumes[0].time,
      t + C.guestExitNs + C.exitHandlingNs.H_VIRT + C.guestEntryNs,
    ]);
  });
});

describe("exit counts", () => {
  it("per kvm_exit name, listed in name order whatever the order of the exits", () => {
    const m = exactMachine();
    const g = new TestGuest(m.sim, [...hcall(H_GET_TERM_CHAR), ...Array(50).fill(NOP)], 100, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    runVmm(m, v);
    m.sim.runFor(50_000);
    v.kickVcpu();
    m.sim.runFor(20_000);
    const rec = v.exitCountsRecord();
    expect(rec).toEqual({ H_DOORBELL: 1, SYSCALL: 1 });
    expect(Object.keys(rec)).toEqual(["H_DOORBELL", "SYSCALL"]);
    expect(m.vm.exitCountsRecord()).toEqual(rec);
  });
});

describe("kicks (kvmppc_fast_vcpu_kick_hv) and exit requests", () => {
  it("a kick of a running vCPU: the IPI, a doorbell exit re-entered from real mode", () => {
    const { m, g, v } = nopGuest();
    expect(v.runState).toBe("guest");
    const t = m.sim.now;
    v.kickVcpu();
    m.sim.runFor(20_000);
    expect(v.kicks).toBe(1);
    expect(v.exitCountsRecord()).toEqual({ H_DOORBELL: 1 });
    expect(v.reenteredDoorbells).toBe(1);
    expect(g.resumes.map((r) => r.time)).toEqual([
      g.resumes[0].time,
      t + C.ipiDeliveryNs + C.realModeSwitchNs + C.realModeSwitchNs,
    ]);
    expect(m.exits).toEqual([]);
  });

  it("an exit request while the guest runs: the IPI, a full exit, KVM_EXIT_INTR", () => {
    const { m, v, exitTimes } = nopGuest(1_000_000);
    const t = m.sim.now;
    v.requestExit();
    m.sim.runFor(20_000);
    expect(m.exits.map((e) => e.exit_reason)).toEqual([KVM_EXIT_INTR]);
    expect(exitTimes).toEqual([t + C.ipiDeliveryNs + C.guestExitNs + C.exitHandlingNs.H_DOORBELL]);
    expect(v.reenteredDoorbells).toBe(0);
    expect(v.runState).toBe("userspace");
  });

  it("an exit requested in userspace: the next KVM_RUN returns KVM_EXIT_INTR without entering", () => {
    const m = exactMachine();
    const g = new TestGuest(m.sim, [...hcall(H_GET_TERM_CHAR), NOP], 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    let first = true;
    const exitTimes = runVmm(m, v, 0, () => {
      if (first) v.requestExit();
      first = false;
    });
    m.sim.runFor(100_000);
    expect(m.exits.map((e) => e.exit_reason)).toEqual([KVM_EXIT_PAPR_HCALL, KVM_EXIT_INTR]);
    expect(exitTimes[1] - exitTimes[0]).toBe(C.userspaceRoundTripNs);
    expect(g.resumes).toHaveLength(2); // the first entry, then the one after the second KVM_RUN
  });
});

describe("H_CEDE: kvmppc_vcore_blocked", () => {
  /** A guest that opens its CPPR, sets its DEC to `decNs` and cedes. */
  function ceding(decNs: number, pollNs: number) {
    const m = exactMachine();
    const prog = [...hcall(H_CPPR, 0xff), ...setDec((512 * decNs) / 1000), ...hcall(H_CEDE), NOP];
    const g = new TestGuest(m.sim, prog, 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    v.haltPoll.pollNs = pollNs;
    m.sim.trace.enable();
    runVmm(m, v);
    const blockedAt = (): number => {
      const e = m.sim.trace.events().find((x) => x.name === "kvm_vcpu_block");
      if (e === undefined) throw new Error("no kvm_vcpu_block");
      return e.time;
    };
    return { m, g, v, cpu: m.host.cpus[0], blockedAt };
  }

  it("an external interrupt while the block path runs: the vCPU never leaves its CPU", () => {
    const { m, g, v, cpu, blockedAt } = ceding(1_000_000, 0);
    for (let i = 0; i < 10_000 && v.runState !== "blocked"; i++) m.sim.runFor(10);
    expect(v.runState).toBe("blocked");
    expect(m.sim.now - blockedAt()).toBeLessThan(C.blockNs);
    const t = m.sim.now;
    expect(v.interrupt(KVM_INTERRUPT_SET)).toBe(0);
    expect(v.runState).toBe("kernel");
    expect(v.isCeded).toBe(false);
    m.sim.runFor(50_000);
    expect(cpu.current).toBe(v);
    // back into the run loop, then the entry: the external interrupt is taken there
    expect(g.interrupts.map((i) => [i.vector, i.time])).toEqual([
      [BOOK3S_INTERRUPT_EXTERNAL, t + C.runLoopNs + C.guestEntryNs],
    ]);
    expect(v.kicks).toBe(1);
    // a wake-up inside kvmppc_vcore_blocked before schedule() is neither a wait nor a poll
    expect(v.haltPoll.successfulWaits).toBe(0);
    expect(v.haltPoll.successfulPolls).toBe(0);
    expect(v.haltPoll.attemptedPolls).toBe(0);
  });

  it("a wake-up while it polls: a successful poll of the block's length, the CPU never idles", () => {
    const { m, g, v, cpu, blockedAt } = ceding(1_000_000, 50_000);
    for (let i = 0; i < 10_000 && !v.isHaltPolling; i++) m.sim.runFor(10);
    expect(v.isHaltPolling).toBe(true);
    const b = blockedAt();
    expect(m.sim.now - b).toBeGreaterThanOrEqual(C.blockNs);
    const usage = [...cpu.usage.values()].reduce((x, y) => x + y, 0);
    m.sim.runFor(10_000);
    const woke = m.sim.now;
    v.interrupt(KVM_INTERRUPT_SET);
    expect(v.isHaltPolling).toBe(false);
    m.sim.runFor(50_000);
    expect(v.haltPoll.attemptedPolls).toBe(1);
    expect(v.haltPoll.successfulPolls).toBe(1);
    expect(v.haltPoll.pollSuccessNs).toBe(woke - b);
    expect(v.haltPoll.successfulWaits).toBe(0);
    expect([...cpu.usage.values()].reduce((x, y) => x + y, 0)).toBe(usage);
    expect(g.interrupts.map((i) => [i.vector, i.time])).toEqual([
      [BOOK3S_INTERRUPT_EXTERNAL, woke + C.runLoopNs + C.guestEntryNs],
    ]);
  });

  it("a poll window that runs out: the thread sleeps, the failed poll is counted, the DEC wakes it", () => {
    const { m, g, v, cpu, blockedAt } = ceding(300_000, 20_000);
    for (let i = 0; i < 10_000 && !v.isHaltPolling; i++) m.sim.runFor(10);
    const pollStart = m.sim.now;
    const b = blockedAt();
    m.sim.runFor(19_000);
    expect(v.isHaltPolling).toBe(true);
    m.sim.runFor(1_100);
    expect(v.isHaltPolling).toBe(false);
    expect(v.haltPoll.pollFailNs).toBe(pollStart + 20_000 - b);
    m.sim.runFor(10_000);
    expect(cpu.current).toBeNull();
    expect(cpu.idle).toBe(true);
    m.sim.runFor(600_000);
    expect(g.interrupts.map((i) => i.vector)).toEqual([BOOK3S_INTERRUPT_DECREMENTER]);
    expect(v.haltPoll.successfulWaits).toBe(1);
    expect(v.haltPoll.successfulPolls).toBe(0);
    // the wait counts from the block's start to the vCPU thread getting its CPU back, from
    // where the wake of the task, the run loop and the entry lead to the guest's 0x900
    const schedIn = g.interrupts[0].time - C.wakeTaskNs - C.runLoopNs - C.guestEntryNs;
    expect(v.haltPoll.waitNs).toBe(schedIn - b);
    expect(v.isCeded).toBe(false);
  });

  it("the decrementer expiring inside the poll window: the poll loop takes it, a successful poll", () => {
    const { m, g, v, cpu, blockedAt } = ceding(20_000, 50_000);
    for (let i = 0; i < 10_000 && !v.isHaltPolling; i++) m.sim.runFor(10);
    expect(v.isHaltPolling).toBe(true);
    const b = blockedAt();
    const usage = [...cpu.usage.values()].reduce((x, y) => x + y, 0);
    m.sim.runFor(60_000);
    expect(v.isHaltPolling).toBe(false);
    expect(g.interrupts.map((i) => i.vector)).toEqual([BOOK3S_INTERRUPT_DECREMENTER]);
    expect(v.haltPoll.successfulPolls).toBe(1);
    expect(v.haltPoll.successfulWaits).toBe(0);
    // the kick from the decrementer's host timer, then the run loop and the entry
    const kickedAt = g.interrupts[0].time - C.runLoopNs - C.guestEntryNs;
    expect(v.haltPoll.pollSuccessNs).toBe(kickedAt - b);
    expect(kickedAt - b).toBeLessThan(20_000);
    expect([...cpu.usage.values()].reduce((x, y) => x + y, 0)).toBe(usage);
    expect(v.kicks).toBe(1);
  });

  it("an interrupt already pending at H_CEDE: no block, the guest goes on and takes it", () => {
    const m = exactMachine();
    const prog = [...hcall(H_CPPR, 0xff), ...Array(20).fill(NOP), ...hcall(H_CEDE), NOP, NOP];
    const g = new TestGuest(m.sim, prog, 100, haltOnInterrupt);
    const v = vcpu(m, 0, g); // MSR[EE] off: the interrupt waits
    m.sim.trace.enable();
    runVmm(m, v);
    for (let i = 0; i < 10_000 && v.runState !== "guest"; i++) m.sim.runFor(10);
    m.sim.runFor(1_000);
    expect(v.interrupt(KVM_INTERRUPT_SET)).toBe(0);
    m.sim.runFor(50_000);
    expect(m.sim.trace.events().filter((e) => e.name === "kvm_vcpu_block")).toEqual([]);
    // H_CEDE sets MSR[EE] (kvmppc_nested_cede): taken right after the sc
    expect(g.interrupts.map((i) => [i.vector, i.srr0])).toEqual([
      [BOOK3S_INTERRUPT_EXTERNAL, GUEST_BASE + BigInt(4 * (prog.length - 2))],
    ]);
    expect(v.isCeded).toBe(false);
  });

  it("an exit requested while the cede's exit path runs: no block, KVM_EXIT_INTR", () => {
    // the same guest twice: the first run finds when its sc executes, the second asks for an
    // exit 100 ns before, so that the kick's IPI lands while the exit path runs
    const prog = [...setDec(0x7fffffff), ...Array(10).fill(NOP), ...hcall(H_CEDE), NOP];
    const once = (exitAt: number | null) => {
      const m = exactMachine();
      const g = new TestGuest(m.sim, prog, 100, haltOnInterrupt);
      const v = vcpu(m, 0, g);
      m.sim.trace.enable();
      const exitTimes = runVmm(m, v, 1_000_000);
      if (exitAt !== null) m.sim.schedule(exitAt - 100 - m.sim.now, () => v.requestExit(), "signal");
      m.sim.runFor(100_000);
      const kvmExit = m.sim.trace.events().find((e) => e.name === "kvm_exit");
      const blocked = m.sim.trace.events().filter((e) => e.name === "kvm_vcpu_block");
      return { m, v, exitTimes, kvmExit: kvmExit?.time ?? -1, blocked };
    };
    const first = once(null);
    expect(first.blocked).toHaveLength(1);
    const scAt = first.kvmExit;
    const second = once(scAt);
    expect(second.kvmExit).toBe(scAt);
    expect(second.blocked).toEqual([]);
    expect(second.m.exits.map((e) => e.exit_reason)).toEqual([KVM_EXIT_INTR]);
    // the exit, its handling and the in-kernel H_CEDE ran before the run loop saw the request
    expect(second.exitTimes).toEqual([scAt + C.guestExitNs + C.exitHandlingNs.SYSCALL + C.hcallNs]);
    expect(second.v.isCeded).toBe(false);
  });

  it("a cede whose decrementer has already expired does not block", () => {
    const m = exactMachine();
    const prog = [...setDec(1), NOP, NOP, NOP, ...hcall(H_CEDE), NOP];
    const g = new TestGuest(m.sim, prog, 10, haltOnInterrupt);
    const v = vcpu(m, 0, g);
    m.sim.trace.enable();
    runVmm(m, v);
    m.sim.runFor(100_000);
    expect(m.sim.trace.events().filter((e) => e.name === "kvm_vcpu_block")).toEqual([]);
    expect(v.kicks).toBe(0);
    expect(v.haltPoll.successfulWaits + v.haltPoll.successfulPolls).toBe(0);
  });
});
