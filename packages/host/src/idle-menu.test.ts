// The host's idle loop with the kernel's menu governor (@stopsim/linux), as a powernv host runs it:
// menu's per-CPU history starts empty, the tick stays on while menu predicts less than a tick
// (kernel/sched/idle.c cpuidle_idle_call, kernel/time/tick-sched.c), and snooze times out at the
// next enabled state's residency (drivers/cpuidle/cpuidle-powernv.c get_snooze_timeout).
import { Simulation } from "@stopsim/engine";
import { chipById, PnvMachine } from "@stopsim/isa";
import { buildHostDtb, parseFirmwareVersion } from "@stopsim/opal";
import { describe, expect, it } from "vitest";
import { bootHost, type Host } from "./host.js";

function idleHost(disabledIdleStates: string[] = []): { sim: Simulation; host: Host } {
  const sim = new Simulation({ seed: 1 });
  const machine = new PnvMachine(sim, { chip: chipById("dd2.3") });
  const dtb = buildHostDtb({ machine, firmware: parseFirmwareVersion("new") });
  return { sim, host: bootHost({ machine, dtb, kernel: "fallback", disabledIdleStates }) };
}

const usage = (host: Host, cpu: number): Record<string, number> =>
  Object.fromEntries(host.cpus[cpu].cpuidle.sysfs().map((s) => [s.name, s.usage]));

describe("host idle with the menu governor", () => {
  it("starts from an empty history: snoozes first, each timing out at stop0_lite's 10 us residency", () => {
    const { sim, host } = idleHost();
    sim.runFor(1_000_000);
    // menu_enable_device: 8 zero intervals predict 0 ns, so snooze; each times out after 10 us
    expect(usage(host, 2).snooze).toBe(8);
    expect(host.cpus[2].residencyNs.get("snooze")).toBeGreaterThanOrEqual(8 * 10_000);
    expect(host.cpus[2].currentIdleState?.name).toBe("stop0_lite");
  });

  it("keeps the tick while menu predicts less than a tick: the tick wakes the CPU until menu stops it", () => {
    const { sim, host } = idleHost();
    sim.runFor(35_000_000);
    // three tick wake-ups (10, 20, 30 ms) out of stop0_lite, a fourth period under way
    expect(usage(host, 5).stop0_lite).toBe(3);
    sim.runFor(200_000_000);
    // the tick periods filled the history (measured as 9/10 of MAX_INTERESTING): tick stopped,
    // deepest state, and no wake-up since
    const before = usage(host, 5);
    expect(host.cpus[5].currentIdleState?.name).toBe("stop5");
    sim.runFor(500_000_000);
    expect(usage(host, 5)).toEqual(before);
  });

  it("snooze times out at the next enabled state's residency (get_snooze_timeout)", () => {
    const { sim, host } = idleHost(["stop0_lite", "stop0"]);
    sim.runFor(1_000_000);
    // stop0_lite (10 us) and stop0 (20 us) disabled: the next enabled one is stop1, 50 us
    expect(usage(host, 1).snooze).toBe(8);
    expect(host.cpus[1].residencyNs.get("snooze")).toBeGreaterThanOrEqual(8 * 50_000);
    expect(host.cpus[1].currentIdleState?.name).toBe("stop1");
  });
});
