// The workloads and the wakeup-latency measurement on the test platform: what each one counts,
// how it rejects bad input, and that the measurement leaves the idle states as it found them.
import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { createGuestKernel, type GuestKernelConfig } from "../kernel/kernel.js";
import { guestDtb } from "../test-helpers/fixtures.js";
import { TestPlatform } from "../test-helpers/platform.js";
import { measureWakeupLatency } from "./wakeup.js";
import { ContextSwitch2, Ebizzy, periodicTimer, randomMix, WorkloadError } from "./workloads.js";

function boot(config: GuestKernelConfig = {}, seed = 5) {
  const sim = new Simulation({ seed });
  const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, stop0lite: "always", ...config } });
  const platform = new TestPlatform({
    sim,
    image: kernel,
    dtb: guestDtb({ cores: 1, threads: 4 }),
    threadsPerCore: 4,
  });
  platform.start();
  while (kernel.state !== "running" && sim.step()) {}
  return { sim, kernel, platform };
}

const enabled = (k: ReturnType<typeof boot>["kernel"]) =>
  k.cpus.map((c) => (c.cpuidle?.sysfs() ?? []).filter((s) => !s.disable).map((s) => s.name));

describe("periodicTimer (a clock_nanosleep TIMER_ABSTIME loop)", () => {
  it("wakes once per period, at the next multiple of the period on the guest clock", () => {
    const { sim, kernel } = boot();
    const t = periodicTimer(kernel, 1, 1_000_000);
    const cpu = kernel.cpus[1];
    const start = cpu.ktime();
    sim.runFor(20_000_000);
    const elapsed = cpu.ktime() - start;
    // one wake per period boundary passed (the first boundary after the start, then every period)
    expect(Math.abs(t.wakeups() - Math.floor(elapsed / 1_000_000))).toBeLessThanOrEqual(1);
    expect(t.wakeups()).toBeGreaterThanOrEqual(19);
    expect(t.task.cpu).toBe(1);
  });

  it("work after each wake keeps the CPU busy that long per period", () => {
    const idle = boot();
    periodicTimer(idle.kernel, 1, 1_000_000);
    const busy = boot();
    periodicTimer(busy.kernel, 1, 1_000_000, 400_000);
    idle.sim.runFor(20_000_000);
    busy.sim.runFor(20_000_000);
    const idleTime = (k: ReturnType<typeof boot>["kernel"]) =>
      (k.cpus[1].cpuidle?.sysfs() ?? []).reduce((a, s) => a + s.time, 0);
    // about 8 ms less idle over 20 periods (0.4 ms of work each), in us as sysfs gives it
    const less = idleTime(idle.kernel) - idleTime(busy.kernel);
    expect(less).toBeGreaterThan(7_000);
    expect(less).toBeLessThan(9_000);
  });

  it("rejects a period that is not a finite number > 0", () => {
    const { kernel } = boot();
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => periodicTimer(kernel, 1, bad)).toThrow(WorkloadError);
      expect(() => periodicTimer(kernel, 1, bad)).toThrow(
        `periodNs must be a finite number > 0, got ${String(bad)}`,
      );
    }
  });
});

describe("Ebizzy (a CPU-bound single-threaded job)", () => {
  it("counts whole records in the window since start(), and their rate", () => {
    const { sim, kernel } = boot();
    const e = new Ebizzy(kernel, { cpu: 2, recordNs: 1_000 });
    sim.runFor(2_000_000);
    e.start();
    expect(e.result()).toEqual({ count: 0, windowNs: 0, perSecond: 0 });
    sim.runFor(10_000_000);
    const r = e.result();
    expect(r.windowNs).toBe(10_000_000);
    expect(r.perSecond).toBeCloseTo((r.count * 1e9) / r.windowNs, 6);
    // at most one record per recordNs of virtual time; most of the window goes to records
    expect(r.count).toBeLessThanOrEqual(10_000);
    expect(r.count).toBeGreaterThan(5_000);
    expect(e.recordNs).toBe(1_000);
  });

  it("smaller records: more of them in the same window", () => {
    const a = boot();
    const big = new Ebizzy(a.kernel, { cpu: 2, recordNs: 2_000 });
    const b = boot();
    const small = new Ebizzy(b.kernel, { cpu: 2 });
    for (const [r, e] of [
      [a, big],
      [b, small],
    ] as const) {
      e.start();
      r.sim.runFor(10_000_000);
    }
    expect(small.recordNs).toBe(640);
    expect(small.result().count).toBeGreaterThan(2.5 * big.result().count);
  });

  it("rejects a record size that is not a finite number > 0", () => {
    const { kernel } = boot();
    expect(() => new Ebizzy(kernel, { cpu: 2, recordNs: 0 })).toThrow(
      "recordNs must be a finite number > 0, got 0",
    );
  });
});

describe("ContextSwitch2 (will-it-scale context_switch2)", () => {
  it("each round trip switches both tasks in once", () => {
    const { sim, kernel } = boot();
    const cs = new ContextSwitch2(kernel, 1, 2);
    sim.runFor(2_000_000);
    cs.start();
    expect(cs.result().count).toBe(0);
    expect(cs.result().roundTrips).toBe(0);
    sim.runFor(10_000_000);
    const r = cs.result();
    expect(r.roundTrips).toBeGreaterThan(10);
    // a switch-in per task per trip, give or take the trips under way at the window's ends and
    // the odd switch-in after a tick
    expect(Math.abs(r.count - 2 * r.roundTrips)).toBeLessThanOrEqual(0.02 * r.count);
    expect(r.windowNs).toBe(10_000_000);
    expect(r.perSecond).toBeCloseTo((r.count * 1e9) / r.windowNs, 6);
    expect([cs.a.cpu, cs.b.cpu]).toEqual([1, 2]);
  });

  it("gives a zero rate for an empty window", () => {
    const { kernel } = boot();
    const cs = new ContextSwitch2(kernel, 1, 2);
    cs.start();
    expect(cs.result().perSecond).toBe(0);
  });
});

describe("randomMix (seeded compute and sleep)", () => {
  it("puts each task on one of the given cpus and does the same work for the same seed", () => {
    const run = (seed: number) => {
      const { sim, kernel } = boot({}, seed);
      const m = randomMix(kernel, {
        rng: sim.rng.stream("mix"),
        tasks: 6,
        cpus: [1, 3],
        meanComputeNs: 50_000,
        meanSleepNs: 200_000,
      });
      sim.runFor(20_000_000);
      return { cpus: m.tasks.map((t) => t.cpu), bursts: m.bursts(), names: m.tasks.map((t) => t.name) };
    };
    const a = run(11);
    expect(a.cpus.every((c) => c === 1 || c === 3)).toBe(true);
    expect(new Set(a.cpus).size).toBe(2);
    expect(a.names).toEqual(["mix0", "mix1", "mix2", "mix3", "mix4", "mix5"]);
    // about 20 ms / 250 us per cycle per task, 6 tasks
    expect(a.bursts).toBeGreaterThan(200);
    expect(run(11)).toEqual(a);
  });

  it("rejects means that are not finite numbers > 0 and an empty cpu list", () => {
    const { sim, kernel } = boot();
    const o = { rng: sim.rng.stream("m"), tasks: 1, cpus: [1], meanComputeNs: 1, meanSleepNs: 1 };
    expect(() => randomMix(kernel, { ...o, meanComputeNs: 0 })).toThrow(
      "meanComputeNs must be a finite number > 0, got 0",
    );
    expect(() => randomMix(kernel, { ...o, meanSleepNs: -5 })).toThrow(
      "meanSleepNs must be a finite number > 0, got -5",
    );
    expect(() => randomMix(kernel, { ...o, cpus: [] })).toThrow("randomMix needs at least one cpu");
  });
});

describe("measureWakeupLatency", () => {
  it("timer: the samples asked for, each the time from the timer's expiry to the task running", () => {
    const { kernel } = boot();
    const r = measureWakeupLatency(kernel, { method: "timer", target: 2, samples: 10, idleNs: 500_000 });
    expect(r.method).toBe("timer");
    expect(r.state).toBe("(governor)");
    expect(r.samplesNs).toHaveLength(10);
    expect(r.count).toBe(10);
    expect(Math.min(...r.samplesNs)).toBeGreaterThanOrEqual(0);
    expect(r.max).toBe(Math.max(...r.samplesNs));
    expect(r.min).toBe(Math.min(...r.samplesNs));
  });

  it("onlyState: only that state is used meanwhile, and every state is enabled again afterwards", () => {
    const { kernel } = boot();
    const before = enabled(kernel);
    const usage = () => kernel.cpus[2].cpuidle?.sysfs().map((s) => s.usage) ?? [];
    const u0 = usage();
    const r = measureWakeupLatency(kernel, {
      method: "ipi",
      target: 2,
      source: 1,
      samples: 8,
      onlyState: "snooze",
    });
    const u1 = usage();
    expect(r.state).toBe("snooze");
    expect(r.samplesNs).toHaveLength(8);
    expect(u1[0] - u0[0]).toBeGreaterThanOrEqual(8); // snooze
    expect(u1.slice(1)).toEqual(u0.slice(1)); // stop0lite and Shared Cede untouched
    expect(enabled(kernel)).toEqual(before);
  });

  it("ipi: the first other online CPU sends when no source is given", () => {
    const { kernel } = boot();
    const sent = () => kernel.cpus.map((c) => c.stats.ipisSent);
    const s0 = sent();
    measureWakeupLatency(kernel, { method: "ipi", target: 2, samples: 5 });
    const s1 = sent();
    expect(s1[0] - s0[0]).toBeGreaterThanOrEqual(5);
    expect(s1[1] - s0[1]).toBe(0);
  });

  it("rejects bad options with a message naming the problem", () => {
    const { kernel } = boot();
    expect(() => measureWakeupLatency(kernel, { method: "timer", target: 1, samples: 0 })).toThrow(
      "samples must be a positive integer, got 0",
    );
    expect(() => measureWakeupLatency(kernel, { method: "timer", target: 1, samples: 1.5 })).toThrow(
      "samples must be a positive integer, got 1.5",
    );
    expect(() => measureWakeupLatency(kernel, { method: "timer", target: 9 })).toThrow("cpu 9 is not online");
    expect(() => measureWakeupLatency(kernel, { method: "ipi", target: 1, source: 1 })).toThrow(
      'method "ipi" needs a source cpu other than the target, online',
    );
    expect(() => measureWakeupLatency(kernel, { method: "ipi", target: 1, source: 7 })).toThrow(
      'method "ipi" needs a source cpu other than the target, online',
    );
    expect(() => measureWakeupLatency(kernel, { method: "timer", target: 1, onlyState: "stop4" })).toThrow(
      "no idle state 'stop4' on cpu 0; states are snooze, stop0lite, Shared Cede",
    );
    const notRunning = createGuestKernel({ sim: new Simulation({ seed: 1 }) });
    expect(() => measureWakeupLatency(notRunning, { method: "timer", target: 0 })).toThrow(
      "the guest is created, not running",
    );
  });

  it("gives up at the timeout with how far it got, and enables the states again", () => {
    const { kernel } = boot();
    const before = enabled(kernel);
    expect(() =>
      measureWakeupLatency(kernel, {
        method: "timer",
        target: 2,
        samples: 50,
        idleNs: 1_000_000,
        timeoutNs: 3_500_000,
        onlyState: "stop0lite",
      }),
    ).toThrow(/^wakeup measurement did not finish: 3\/50 samples by \d+ ns \(guest running; cpu2 /);
    expect(enabled(kernel)).toEqual(before);
  });
});
