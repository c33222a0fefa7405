import { readFileSync } from "node:fs";
import { decodeDtb, encodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import {
  H_CPPR,
  H_INT_GET_SOURCE_INFO,
  H_INT_SET_QUEUE_CONFIG,
  H_INT_SET_SOURCE_CONFIG,
  H_IPI,
  H_XIRR,
} from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { TestPlatform } from "../test-helpers/platform.js";
import { measureWakeupLatency } from "../workloads/wakeup.js";
import { createGuestKernel, type GuestKernelConfig } from "./kernel.js";
import { promOv5Request } from "./prom-cas.js";

/**
 * The tree a real Linux guest got from QEMU 7.2 after CAS chose XIVE (`-M pseries-5.1,ic-mode=dual
 * -cpu POWER9 -smp 4`, Debian's 6.1 kernel; packages/qemu/fixtures/make-post-cas.sh).
 */
function realPostCasDtb(mode: "dual" | "xics" | "xive"): Uint8Array {
  const url = new URL(`../../../qemu/fixtures/post-cas/pseries-5.1-${mode}-smp4.dtb`, import.meta.url);
  // the blob carries prom_init's free space: re-encode it at its real size
  return encodeDtb(decodeDtb(new Uint8Array(readFileSync(url))));
}

function boot(dtb: Uint8Array, config: GuestKernelConfig = {}) {
  const sim = new Simulation({ seed: 3 });
  const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, stop0lite: "always", ...config } });
  const platform = new TestPlatform({ sim, image: kernel, dtb, threadsPerCore: 1, stopPolicy: "native" });
  platform.start();
  for (let i = 0; i < 2_000_000 && kernel.state === "created"; i++) sim.step();
  while (kernel.state === "booting" && sim.step()) {}
  return { sim, kernel, platform };
}

describe("the guest on XIVE (sysdev/xive/spapr.c)", () => {
  it("boots from a real post-CAS XIVE tree: queues and IPIs through H_INT_*, all four CPUs up, IPIs delivered without XICS", () => {
    const { sim, kernel, platform } = boot(realPostCasDtb("dual"));
    expect(kernel.state).toBe("running");
    expect(kernel.console.contains("XICS: Cannot find a Presentation Controller !")).toBe(false);
    expect(kernel.console.contains("xive: Interrupt handling initialized with spapr backend")).toBe(true);
    expect(kernel.console.contains("xive: Using priority 6 for all interrupts")).toBe(true);
    expect(kernel.console.contains("xive: Using 64kB queues")).toBe(true);
    expect(kernel.console.contains("smp: Brought up 1 node, 4 CPUs")).toBe(true);
    expect(kernel.cpus.filter((c) => c?.online)).toHaveLength(4);
    for (const cpu of [0, 1, 2, 3]) expect(kernel.xive?.ready(cpu)).toBe(true);
    // one queue and one IPI per CPU, configured by the hypervisor calls; no XICS call at all
    expect(platform.hcallCounts.get(H_INT_SET_QUEUE_CONFIG)).toBe(4);
    expect(platform.hcallCounts.get(H_INT_GET_SOURCE_INFO)).toBe(4);
    expect(platform.hcallCounts.get(H_INT_SET_SOURCE_CONFIG)).toBe(4);
    for (const nr of [H_IPI, H_XIRR, H_CPPR]) expect(platform.hcallCounts.get(nr) ?? 0).toBe(0);
    // IPIs: a task on CPU 0 wakes one on CPU 1 (smp_call_function_single), 20 times
    const r = measureWakeupLatency(kernel, { method: "ipi", target: 1, source: 0, samples: 20 });
    expect(r.count).toBe(20);
    expect(kernel.xive?.stats.ipisSent).toBeGreaterThanOrEqual(20);
    expect(kernel.xive?.stats.ipisReceived).toBeGreaterThanOrEqual(20);
    expect(platform.xive.stats.presented).toBeGreaterThanOrEqual(20);
    // no doorbell (msgsndp) was used: pSeries_smp_probe keeps them off with XIVE
    expect(kernel.cpus[0].stats.interrupts.get(0xa00) ?? 0).toBe(0);
    expect(kernel.cpus[1].stats.interrupts.get(0x500)).toBeGreaterThanOrEqual(20);
    void sim;
  });

  it("xive=off on the same tree falls back to xics_init, which finds no presentation controller: BUG_ON and panic", () => {
    const { kernel } = boot(realPostCasDtb("dual"), { xive: false });
    expect(kernel.state).toBe("panicked");
    expect(kernel.console.contains("XICS: Cannot find a Presentation Controller !")).toBe(true);
    expect(kernel.console.contains("BUG_ON(!ipi)")).toBe(true);
  });

  it("the real post-CAS XICS tree (ic-mode=xics) boots on XICS as before", () => {
    const { kernel, platform } = boot(realPostCasDtb("xics"));
    expect(kernel.state).toBe("running");
    expect(kernel.xive).toBeNull();
    expect(kernel.cpus.filter((c) => c?.online)).toHaveLength(4);
    expect(platform.hcallCounts.get(H_CPPR)).toBe(4);
    expect(platform.hcallCounts.get(H_INT_SET_QUEUE_CONFIG) ?? 0).toBe(0);
  });

  it("prom_init asks for XIVE when the platform offers it, unless xive=off (prom_parse_xive_model)", () => {
    const dual = Uint8Array.of(0x17, 0x80, 0x18, 0xc0, 0x19, 0x00, 0x1a, 0x40);
    expect(promOv5Request(dual, false)[23]).toBe(0x40);
    expect(promOv5Request(dual, true)[23]).toBe(0x00);
    expect(promOv5Request(Uint8Array.of(0x17, 0x40), true)[23]).toBe(0x40); // exploitation only
    expect(promOv5Request(Uint8Array.of(0x17, 0x00), false)[23]).toBe(0x00); // legacy only
    expect(promOv5Request(dual, false)[24]).toBe(0x40);
    expect(promOv5Request(dual, false)[26]).toBe(0x40);
  });
});
