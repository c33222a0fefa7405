// A small guest on the test platform for the kernel's idle, scheduler and runner suites: one core
// of `threads` vCPUs, exact costs (no jitter: each path takes its cost table's sum), no watchdog,
// booted until every CPU is online and cpuidle is registered.
import { Simulation } from "@stopsim/engine";
import type { GuestCosts } from "../kernel/costs.js";
import { createGuestKernel, type GuestKernel, type GuestKernelConfig } from "../kernel/kernel.js";
import type { TaskProgram } from "../kernel/task.js";
import { guestDtb } from "./fixtures.js";
import { TestPlatform, type TestPlatformOptions } from "./platform.js";

export interface SmallGuestOptions {
  /** vCPUs of the one core (default 2). */
  threads?: number;
  config?: GuestKernelConfig;
  costs?: Partial<GuestCosts>;
  platform?: Partial<TestPlatformOptions>;
  dtb?: Uint8Array;
  seed?: number;
  /** Record the simulation's trace from the start. */
  trace?: boolean;
  /** Runs before the platform starts the guest (tasks spawned here start at the end of boot). */
  beforeStart?: (g: SmallGuest) => void;
}

export interface SmallGuest {
  sim: Simulation;
  kernel: GuestKernel;
  platform: TestPlatform;
}

export function bootSmallGuest(o: SmallGuestOptions = {}): SmallGuest {
  const threads = o.threads ?? 2;
  const sim = new Simulation({ seed: o.seed ?? 5, trace: o.trace ?? false });
  const kernel = createGuestKernel({
    sim,
    config: {
      watchdogThreshS: 0,
      stop0lite: "always",
      ...(o.config ?? {}),
      costs: { jitterSigma: 0, ...(o.config?.costs ?? {}), ...(o.costs ?? {}) },
    },
  });
  const platform = new TestPlatform({
    sim,
    image: kernel,
    dtb: o.dtb ?? guestDtb({ cores: 1, threads }),
    threadsPerCore: threads,
    ...(o.platform ?? {}),
  });
  o.beforeStart?.({ sim, kernel, platform });
  platform.start();
  for (let i = 0; i < 2_000_000 && kernel.state === "created"; i++) sim.step();
  while (kernel.state === "booting" && sim.step()) {}
  if (kernel.state !== "running") throw new Error(`small guest did not boot: ${kernel.state}`);
  return { sim, kernel, platform };
}

/** A program that records the guest clock (ktime) before and after each of its operations. */
export function recorded(
  kernel: GuestKernel,
  cpu: number,
  ops: ReadonlyArray<import("../kernel/task.js").TaskOp>,
  log: Array<{ before: number; after: number }>,
): TaskProgram {
  return (function* (): TaskProgram {
    for (const op of ops) {
      const before = kernel.cpus[cpu].ktime();
      yield op;
      log.push({ before, after: kernel.cpus[cpu].ktime() });
    }
  })();
}

/**
 * Keeps the simulation busy with an event that does nothing every `periodNs` (from now until the
 * returned function cancels it). A timed step passes inline only when nothing else is due before
 * it ends: with this, every step longer than the period passes as a wait instead (the runtime's
 * other path), and interrupts can arrive inside it. No outcome may change.
 */
export function keepBusy(sim: Simulation, periodNs: number): () => void {
  const t = sim.createTimer(() => t.armIn(periodNs), "busy");
  t.armIn(periodNs);
  return () => t.cancel();
}
