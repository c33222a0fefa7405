import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { guestDtb } from "../test-helpers/fixtures.js";
import { TestPlatform } from "../test-helpers/platform.js";
import { createGuestKernel, type GuestKernelConfig } from "./kernel.js";

function bootGuest(
  config: GuestKernelConfig = {},
  opts: { cores?: number; threads?: number; permitted?: boolean } = {},
) {
  const sim = new Simulation({ seed: 1 });
  const kernel = createGuestKernel({ sim, config });
  const dtb = guestDtb({
    cores: opts.cores ?? 1,
    threads: opts.threads ?? 4,
    stopLitePermitted: opts.permitted,
  });
  const platform = new TestPlatform({ sim, image: kernel, dtb, threadsPerCore: opts.threads ?? 4 });
  platform.start();
  sim.runUntil(50_000_000);
  return { sim, kernel, platform };
}

describe("guest boot on the test platform", () => {
  it("boots vCPU 0 from the DTB in RAM and starts the secondaries through RTAS", () => {
    const { kernel, platform } = bootGuest({ stop0lite: "always" });
    expect(kernel.state).toBe("running");
    expect(kernel.cpus.filter((c) => c.online)).toHaveLength(4);
    const starts = platform.rtasLog.filter((r) => r.service === "start-cpu");
    expect(starts.map((r) => r.args[0])).toEqual([1, 2, 3]);
    expect(kernel.console.contains("smp: Brought up 1 node, 4 CPUs")).toBe(true);
    expect(kernel.driver?.shared).toBe(true);
    expect(kernel.driver?.states.map((s) => s.name)).toEqual(["snooze", "stop0lite", "Shared Cede"]);
  });
});
