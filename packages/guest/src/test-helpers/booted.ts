// A guest kernel booted on the test platform (platform.ts) and left where the boot ended: the
// starting point of the kernel suites that then drive one path (interrupts, timers, the
// watchdog) step by step.
import { Simulation } from "@stopsim/engine";
import { createGuestKernel, type GuestKernel, type GuestKernelConfig } from "../kernel/kernel.js";
import { guestDtb } from "./fixtures.js";
import { TestPlatform, type TestPlatformOptions } from "./platform.js";

export interface BootedGuest {
  readonly sim: Simulation;
  readonly kernel: GuestKernel;
  readonly platform: TestPlatform;
}

/**
 * Boots a guest of `cores` x `threads` vCPUs (the XICS tree of the QEMU fixture unless `dtb` is
 * given) with the watchdog off unless `config` sets it, and runs the simulation until the boot
 * is over (the kernel running, or failed). Throws when it never started.
 */
export function bootGuest(
  config: GuestKernelConfig = {},
  o: {
    seed?: number;
    cores?: number;
    threads?: number;
    dtb?: Uint8Array;
    platform?: Partial<TestPlatformOptions>;
    /** Changes the platform before it starts the guest (RAM contents, hcall failures). */
    platformSetup?: (p: TestPlatform) => void;
  } = {},
): BootedGuest {
  const sim = new Simulation({ seed: o.seed ?? 5 });
  const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, stop0lite: "always", ...config } });
  const threads = o.threads ?? 4;
  const platform = new TestPlatform({
    sim,
    image: kernel,
    dtb: o.dtb ?? guestDtb({ cores: o.cores ?? 1, threads }),
    threadsPerCore: threads,
    ...(o.platform ?? {}),
  });
  o.platformSetup?.(platform);
  platform.start();
  for (let i = 0; i < 2_000_000 && kernel.state === "created"; i++) sim.step();
  if (kernel.state === "created") throw new Error("bootGuest: the kernel never started");
  while (kernel.state === "booting" && sim.step()) {}
  return { sim, kernel, platform };
}
