import { NOP } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { DEFAULT_HOST_COSTS, type HostCostTable } from "../costs.js";
import { GUEST_BASE, hcall, TestGuest } from "../test-helpers/guest.js";
import { exactMachine, machine, start, vcpu } from "../test-helpers/setup.js";
import { H_CPPR, H_PROD, H_SET_DABR, H_SET_MODE } from "./abi.js";

/** Time from the `sc 1` of the first hcall to the guest resuming after it. */
function hcallRoundTrip(nr: number, args: number[]): { ns: number; exits: Record<string, number> } {
  const m = machine("dd2.3", "new", "fallback");
  const prog = [...hcall(nr, ...args), NOP, NOP];
  const g = new TestGuest(m.sim, prog, 10, (x) => {
    x.halted = true;
  });
  const v = vcpu(m, 0, g);
  start(m, v);
  m.sim.runFor(100_000);
  const scAt = GUEST_BASE + BigInt(4 * (prog.length - 3));
  const first = g.resumes[0];
  const back = g.resumes.find((r) => r.pc === scAt + 4n);
  expect(first).toBeDefined();
  expect(back).toBeDefined();
  // the sc is the last word of hcall(): it executes (prog.length - 3) * 10 ns after the first resume
  return { ns: (back?.time ?? 0) - (first.time + (prog.length - 3) * 10), exits: v.exitCountsRecord() };
}

describe("hcalls handled in real mode (2020 P9 path, hcall_real_table)", () => {
  it("an XICS hcall returns to the guest without the full exit to the host's virtual mode", () => {
    const m = machine("dd2.3", "new", "fallback");
    const c = m.host.costs;
    const xics = hcallRoundTrip(H_CPPR, [0xff]);
    const virt = hcallRoundTrip(H_SET_DABR, [0]);
    // both are SYSCALL exits in the counters
    expect(xics.exits).toEqual({ SYSCALL: 1 });
    expect(virt.exits).toEqual({ SYSCALL: 1 });
    const fast = 2 * c.realModeSwitchNs + c.xicsHcallNs;
    const full = c.guestExitNs + (c.exitHandlingNs.SYSCALL ?? 0) + c.hcallNs + c.guestEntryNs;
    expect(xics.ns).toBeGreaterThan(fast * 0.6);
    expect(xics.ns).toBeLessThan(fast * 1.6);
    expect(virt.ns).toBeGreaterThan(full * 0.6);
    expect(xics.ns * 4).toBeLessThan(virt.ns);
  });
});

describe("KVM_RUN returning to the VMM", () => {
  it("the vCPU thread keeps its CPU while the VMM handles the exit: no idle state between exit and re-entry", () => {
    const m = machine("dd2.3", "new", "fallback");
    // H_SET_MODE is not handled in the kernel (QEMU does it): every one exits to userspace
    const prog = [...hcall(H_SET_MODE, 0), ...hcall(H_SET_MODE, 0), ...hcall(H_SET_MODE, 0), NOP];
    const g = new TestGuest(m.sim, prog, 10, (x) => {
      x.halted = true;
    });
    const v = vcpu(m, 0, g);
    const cpu0 = m.host.cpus[0];
    const idleEntries = () => [...cpu0.usage.values()].reduce((a, b) => a + b, 0);
    let before = -1;
    let exits = 0;
    const handler = (_run: unknown, vc: typeof v): void => {
      exits++;
      if (before < 0) before = idleEntries();
      // the VMM's own exit handling (QEMU: ~2 us), then KVM_RUN again
      m.sim.schedule(2_000, () => vc.run(handler));
    };
    v.run(handler);
    m.sim.runFor(200_000);
    expect(exits).toBe(3);
    expect(idleEntries()).toBe(before);
    // three userspace round trips take microseconds, not a deep stop's exit latency each
    const last = g.resumes[g.resumes.length - 1];
    expect(last.time - g.resumes[0].time).toBeLessThan(60_000);
  });

  it("a vCPU thread that does not call KVM_RUN again sleeps in the VMM: its CPU idles", () => {
    const m = machine("dd2.3", "new", "fallback");
    const g = new TestGuest(m.sim, [...hcall(H_SET_MODE, 0), NOP], 10);
    const v = vcpu(m, 0, g);
    const cpu0 = m.host.cpus[0];
    let exits = 0;
    v.run(() => {
      exits++;
    });
    m.sim.runFor(1_000_000);
    expect(exits).toBe(1);
    expect(cpu0.current).toBeNull();
    expect([...cpu0.usage.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});

describe("the exit handler's own work", () => {
  /** Each time the guest came back after an exit of `name` (kvm_exit to the resume). */
  function outside(costs: Partial<HostCostTable>, prog: number[], runNs: number, name: string): number[] {
    const m = exactMachine("fallback", "dd2.3", 8, costs);
    const g = new TestGuest(m.sim, prog, 10, (x) => {
      x.halted = true;
    });
    const v = vcpu(m, 0, g);
    m.sim.trace.enable();
    start(m, v);
    m.sim.runFor(runNs);
    const exits = m.sim.trace.events().filter((e) => e.name === "kvm_exit" && e.args?.exit === name);
    return exits.map((e) => {
      const back = g.resumes.find((r) => r.time > e.time);
      return back === undefined ? -1 : back.time - e.time;
    });
  }

  it("an hcall kvmppc_pseries_do_hcall handles costs hcallNs on top of the exit (H_SET_DABR, H_PROD)", () => {
    for (const nr of [H_SET_DABR, H_PROD]) {
      const prog = [...hcall(nr, 0), NOP, NOP];
      const [plain] = outside({}, prog, 100_000, "SYSCALL");
      const [free] = outside({ hcallNs: 0 }, prog, 100_000, "SYSCALL");
      expect([nr, plain - free]).toEqual([nr, DEFAULT_HOST_COSTS.hcallNs]);
    }
    // an hcall userspace handles is not the kernel's work: no hcallNs in its round trip
    const prog = [...hcall(H_SET_MODE, 0), NOP, NOP];
    const toVmm = outside({}, prog, 100_000, "SYSCALL");
    expect(toVmm).toHaveLength(1);
    expect(toVmm).toEqual(outside({ hcallNs: 0 }, prog, 100_000, "SYSCALL"));
  });

  it("an HDEC exit that runs the scheduler tick costs hostTickNs on top of the exit", () => {
    // a guest spinning past its program's end: the host's tick (HZ 100) takes HDEC exits
    const prog = [NOP];
    const plain = outside({}, prog, 35_000_000, "HV_DECREMENTER");
    const free = outside({ hostTickNs: 0 }, prog, 35_000_000, "HV_DECREMENTER");
    expect(plain.length).toBeGreaterThanOrEqual(3);
    expect(plain.map((t, i) => t - free[i])).toEqual(plain.map(() => DEFAULT_HOST_COSTS.hostTickNs));
  });
});
