// Host and KVM code as timed steps on the runtime of software on a hardware thread (@stopsim/isa
// KThread): the exit handler up to the re-entry is one step after the exit path (linux:
// arch/powerpc/kvm/book3s_hv.c kvmhv_run_single_vcpu, kvmppc_handle_exit_hv), host CPU costs come
// from the runtime, and the test guest's words continue inline when nothing else is due.
import { KThread, NOP, STOP, type ThreadSoftware } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { GUEST_BASE, setDec, TestGuest } from "../test-helpers/guest.js";
import { machine, start, vcpu } from "../test-helpers/setup.js";

describe("KVM's exit handling as timed steps", () => {
  it("an emulated stop: from the exit to the guest running again is one event (exit path, then handling and re-entry inline)", () => {
    const m = machine("dd2.3", "new", "patch1");
    const program = [...setDec(512 * 100), STOP, NOP];
    const g = new TestGuest(m.sim, program);
    // the events dispatched when control reaches the guest
    const atResume: number[] = [];
    const sw: ThreadSoftware = {
      resume: (t) => {
        atResume.push(m.sim.dispatched);
        g.resume(t);
      },
      interrupt: (t, vector) => g.interrupt(t, vector),
    };
    const v = vcpu(m, 0, sw);
    start(m, v);
    m.sim.runFor(1_000_000);
    expect(v.emulatedStops).toBe(1);
    expect(g.resumes.map((r) => r.pc)).toEqual([GUEST_BASE, GUEST_BASE + 16n]);
    // first entry -> the first word (one event, the next three inline), the stop traps; the exit
    // path's event, in which kvmppc_handle_exit_hv, the run loop and the entry path up to the
    // hrfid follow inline (before: an event per word, then exit, run-loop and entry events)
    expect(atResume[1] - atResume[0]).toBe(2);
    // the round trip's time is still spent: exit + emulation + entry, a few microseconds
    const stopAt = g.resumes[0].time + 4 * 10;
    const back = g.resumes[1].time - stopAt;
    expect(back).toBeGreaterThan(1500);
    expect(back).toBeLessThan(8000);
  });

  it("host CPU code runs on the runtime at hypervisor level: its costs are the runtime's", () => {
    const m = machine("dd2.3", "new", "fallback");
    const cpu = m.host.cpus[0];
    expect(cpu.rt).toBeInstanceOf(KThread);
    expect(cpu.rt.thread).toBe(cpu.thread);
    expect(cpu.cost(0)).toBe(0);
    expect(cpu.cost(1000)).toBeGreaterThan(0);
  });
});

describe("the test guest on the runtime", () => {
  it("consecutive words continue inline when nothing else is due, at one step each", () => {
    const m = machine("dd2.3", "new", "fallback");
    const n = 20;
    const g = new TestGuest(m.sim, new Array<number>(n).fill(NOP), 10);
    const v = vcpu(m, 0, g);
    start(m, v);
    m.sim.runFor(100_000);
    expect(g.executed).toBe(n);
    expect(v.state).toBe("guest");
    // the words' time passed even where no event was dispatched for them: the guest sits at the
    // end of its program n steps after its first resume
    expect(g.resumes).toHaveLength(1);
    const m2 = machine("dd2.3", "new", "fallback");
    const g2 = new TestGuest(m2.sim, new Array<number>(2 * n).fill(NOP), 10);
    start(m2, vcpu(m2, 0, g2));
    m2.sim.runFor(100_000);
    expect(g2.executed).toBe(2 * n);
    // twice the words, not twice the events: they ran inline
    expect(m2.sim.dispatched - m.sim.dispatched).toBeLessThan(n);
  });
});
