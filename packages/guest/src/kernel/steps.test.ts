// Kernel paths as timed steps (runner.ts): the costs of a path are summed and spent once, and the
// outcomes and statistics are those of the same kernel spending each cost as its own wait.
import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { guestDtb } from "../test-helpers/fixtures.js";
import { TestPlatform } from "../test-helpers/platform.js";
import { ContextSwitch2, periodicTimer } from "../workloads/workloads.js";
import type { KOp } from "./cpu.js";
import { TEXT } from "./image.js";
import { createGuestKernel, type GuestKernelConfig } from "./kernel.js";
import { stepLocal } from "./runner.js";

function boot(config: GuestKernelConfig) {
  const sim = new Simulation({ seed: 11 });
  const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, stop0lite: "always", ...config } });
  const platform = new TestPlatform({ sim, image: kernel, dtb: guestDtb({ cores: 1, threads: 4 }) });
  platform.start();
  for (let i = 0; i < 2_000_000 && kernel.state === "created"; i++) sim.step();
  while (kernel.state === "booting" && sim.step()) {}
  expect(kernel.state).toBe("running");
  return { sim, kernel };
}

function onlyState(kernel: ReturnType<typeof boot>["kernel"], state: string): void {
  for (const c of kernel.cpus)
    for (const s of c.cpuidle?.drv.states ?? []) c.cpuidle?.setDisabled(s.name, s.name !== state);
}

describe("timed steps", () => {
  it("idle cycles take fewer events, with the same wake-ups and idle state usage", () => {
    const run = (timedSteps: boolean) => {
      const { sim, kernel } = boot({ timedSteps });
      const timers = [0, 1, 2, 3].map((c) => periodicTimer(kernel, c, 50_000 + 7_000 * c));
      sim.runFor(1_000_000);
      const e0 = sim.dispatched;
      const i0 = kernel.cpus.reduce((n, c) => n + c.stats.idleEntries, 0);
      sim.runFor(20_000_000);
      return {
        events: sim.dispatched - e0,
        idleEntries: kernel.cpus.reduce((n, c) => n + c.stats.idleEntries, 0) - i0,
        wakeups: timers.map((t) => t.wakeups()),
        usage: kernel.cpus.map((c) => c.cpuidle?.sysfs().map((s) => s.usage)),
      };
    };
    const ops = run(false);
    const steps = run(true);
    expect(steps.wakeups).toEqual(ops.wakeups);
    expect(Math.abs(steps.idleEntries - ops.idleEntries)).toBeLessThanOrEqual(0.02 * ops.idleEntries);
    expect(steps.events).toBeLessThan(0.9 * ops.events);
  });

  it("the polling flag is seen by other CPUs only once the idle entry path has run (IPIs as before)", () => {
    const run = (timedSteps: boolean) => {
      const { sim, kernel } = boot({ timedSteps });
      onlyState(kernel, "snooze");
      const cs = new ContextSwitch2(kernel, 0, 1);
      sim.runFor(2_000_000);
      cs.start();
      sim.runFor(5_000_000);
      return {
        rate: cs.result().perSecond,
        ipis: kernel.cpus[0].stats.ipisSent + kernel.cpus[1].stats.ipisSent,
      };
    };
    const ops = run(false);
    const steps = run(true);
    expect(steps.rate / ops.rate).toBeGreaterThan(0.97);
    expect(steps.rate / ops.rate).toBeLessThan(1.03);
    expect(steps.ipis).toBeGreaterThan(0.8 * ops.ipis);
    expect(steps.ipis).toBeLessThan(1.25 * ops.ipis);
  });

  it("only instructions whose effect this thread alone sees stay inside a step", () => {
    const exec = (sym: (typeof TEXT)[keyof typeof TEXT], i = 0): KOp => ({ k: "exec", sym, i });
    expect(stepLocal(exec(TEXT.setDec))).toBe(true);
    expect(stepLocal(exec(TEXT.exceptionProlog, 0))).toBe(true);
    expect(stepLocal(exec(TEXT.getTb))).toBe(true);
    // SMT priority, MSR[EE], rfid, sc 1, stop, msgsndp end the step
    expect(stepLocal(exec(TEXT.exceptionProlog, 1))).toBe(false);
    for (const s of [TEXT.hardIrq, TEXT.irqReturn, TEXT.hcall, TEXT.stopLoop, TEXT.doorbell, TEXT.snooze])
      expect(stepLocal(exec(s))).toBe(false);
    expect(stepLocal({ k: "switch", to: null })).toBe(false);
    expect(stepLocal({ k: "sync" })).toBe(false);
  });
});
