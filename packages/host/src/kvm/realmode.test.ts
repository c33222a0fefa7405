import { NOP } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { GUEST_BASE, hcall, TestGuest } from "../test-helpers/guest.js";
import { machine, start, vcpu } from "../test-helpers/setup.js";
import { H_CPPR, H_SET_DABR } from "./uapi.js";

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
