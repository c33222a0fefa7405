// Halt polling on the CEDE path (linux: book3s_hv.c v5.8 kvmhv_run_single_vcpu ->
// kvmppc_vcore_blocked): a wake-up inside the poll window ends the cede without the host thread
// going idle, and while it polls the thread keeps taking its share of the core from its SMT
// siblings; a cede longer than the window puts it into a host stop state chosen by menu.
import { BOOK3S_INTERRUPT_DECREMENTER } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { hcall, setDec, TestGuest } from "../test-helpers/guest.js";
import { machine, start, vcpu } from "../test-helpers/setup.js";
import { H_CEDE } from "./abi.js";

const idleEntries = (usage: Map<string, number>): number => [...usage.values()].reduce((a, b) => a + b, 0);

function cedeFor(decNs: number, pollNs: number) {
  const m = machine("dd2.3", "new", "fallback");
  // let the host CPUs leave menu's initial snoozes first
  m.sim.runFor(300_000);
  const g = new TestGuest(m.sim, [...setDec((512 * decNs) / 1000), ...hcall(H_CEDE)], 10, (t) => {
    t.halted = true;
  });
  const v = vcpu(m, 0, g);
  v.haltPoll.pollNs = pollNs; // as left by an earlier short block (grow_halt_poll_ns)
  const cpu0 = m.host.cpus[0];
  const sibling = 1; // thread 1 of the same core
  const before = idleEntries(cpu0.usage);
  start(m, v);
  return { m, g, v, cpu0, sibling, before };
}

describe("halt polling of a ceded vCPU", () => {
  it("catches a wake-up inside the poll window: no host idle entry, a successful poll", () => {
    const { m, g, v, cpu0, before } = cedeFor(10_000, 10_000);
    m.sim.runFor(14_000); // the first entry takes ~10 us, the cede exit and block ~3 us more
    expect(v.isHaltPolling).toBe(true);
    expect(cpu0.thread.stopped).toBe(false);
    m.sim.runFor(100_000);
    expect(g.interrupts.map((i) => i.vector)).toEqual([BOOK3S_INTERRUPT_DECREMENTER]);
    expect(v.haltPoll.successfulPolls).toBe(1);
    expect(v.haltPoll.successfulWaits).toBe(0);
    expect(idleEntries(cpu0.usage)).toBe(before);
  });

  it("without a poll window the same cede sleeps: the host thread enters a stop state", () => {
    const { m, g, v, cpu0, before } = cedeFor(10_000, 0);
    m.sim.runFor(14_000); // the first entry takes ~10 us, the cede exit and block ~3 us more
    expect(v.isHaltPolling).toBe(false);
    m.sim.runFor(100_000);
    expect(g.interrupts.map((i) => i.vector)).toEqual([BOOK3S_INTERRUPT_DECREMENTER]);
    expect(v.haltPoll.successfulWaits).toBe(1);
    expect(idleEntries(cpu0.usage)).toBeGreaterThan(before);
    // a block shorter than halt_poll_ns (10 us) starts polling: grow_start
    expect(v.haltPoll.pollNs).toBe(10_000);
  });

  it("a cede longer than the window: failed poll, then a menu-chosen stop state; the window resets", () => {
    const { m, v, cpu0, sibling } = cedeFor(1_000_000, 10_000);
    const core = cpu0.thread.core;
    if (core === null) throw new Error("no core");
    m.sim.runFor(14_000); // the first entry takes ~10 us, the cede exit and block ~3 us more
    expect(v.isHaltPolling).toBe(true);
    const whilePolling = core.runningSpeed(sibling);
    m.sim.runFor(200_000);
    expect(v.isHaltPolling).toBe(false);
    expect(cpu0.thread.stopped).toBe(true);
    expect(cpu0.currentIdleState?.kind).toBe("stop");
    const whileStopped = core.runningSpeed(sibling);
    // the polling thread competes for the core, the stopped one does not
    expect(whileStopped).toBeGreaterThan(whilePolling);
    m.sim.runFor(1_000_000);
    expect(v.haltPoll.attemptedPolls).toBe(1);
    expect(v.haltPoll.successfulWaits).toBe(1);
    expect(v.haltPoll.pollNs).toBe(0);
  });
});
