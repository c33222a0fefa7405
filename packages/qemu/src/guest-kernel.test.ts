// The project's guest kernel (@stopsim/guest: cpuidle-pseries with stop0lite, menu governor) booted
// by this QEMU on real hosts: what it learns from the guest tree, and what each host does with its
// idle states. Outcomes come from the guest's cpuidle sysfs, QMP and the host's exit counters.

import { Simulation } from "@stopsim/engine";
import { createGuestKernel, type GuestKernel } from "@stopsim/guest";
import { describe, expect, it } from "vitest";
import type { QemuBuild } from "./machine.js";
import { Qemu } from "./spapr.js";
import { bootTestHost, type TestHost, type TestHostSpec } from "./test-helpers/hosts.js";

const CAP_BUILD: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };
const UPSTREAM: QemuBuild = { stopLiteCap: false, probeKvmCapStop: false };

function boot(
  spec: TestHostSpec,
  cmd: string,
  stop0lite: "never" | "always" | "arch300" | "platform",
  build = CAP_BUILD,
): { sim: Simulation; h: TestHost; q: Qemu; kernel: GuestKernel } {
  const sim = new Simulation({ seed: 5 });
  const h = bootTestHost(sim, spec, "h");
  const kernel = createGuestKernel({ sim, config: { stop0lite, governor: "menu" } });
  const r = Qemu.create({ sim, host: h.qemuHost, build, image: kernel, commandLine: cmd, name: "q" });
  if (r.kind !== "running") throw new Error(`expected a running QEMU, got ${r.kind}`);
  return { sim, h, q: r.qemu, kernel };
}

/** Usage per idle state summed over the guest's CPUs (/sys/devices/system/cpu/cpu*\/cpuidle). */
function usage(kernel: GuestKernel): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of kernel.cpuidleSysfs()) for (const s of c.states) out[s.name] = (out[s.name] ?? 0) + s.usage;
  return out;
}

describe("the @stopsim/guest kernel through QEMU on real hosts", () => {
  it("DD2.3, new firmware, fallback KVM, pseries-5.1: stop0lite is offered and runs natively, no exit", () => {
    const { sim, h, q, kernel } = boot(
      { chip: "dd2.3", firmware: "new", kernel: "fallback" },
      "-M pseries -smp 2 -m 1G",
      "platform",
    );
    sim.runFor(100_000_000);
    expect(q.status).toBe("running");
    expect(kernel.state).toBe("running");
    expect(kernel.console.dmesg().join("\n")).toContain(
      "cpuidle: platform permits stop0lite (ibm,stop-lite-permitted)",
    );
    expect(usage(kernel).stop0lite).toBeGreaterThan(0);
    expect(h.host.kvm.vmList[0].exitCountsRecord().H_FAC_UNAVAIL ?? 0).toBe(0);
  });

  it("DD2.2 with the fallback KVM: every stop0lite entry traps and is emulated", () => {
    const { sim, h, kernel } = boot(
      { chip: "dd2.2", firmware: "new", kernel: "fallback" },
      "-M pseries -smp 2 -m 1G",
      "platform",
    );
    sim.runFor(100_000_000);
    expect(kernel.state).toBe("running");
    const stops = usage(kernel).stop0lite;
    const trapped = h.host.kvm.vmList[0].exitCountsRecord().H_FAC_UNAVAIL ?? 0;
    expect(stops).toBeGreaterThan(0);
    // each entry traps once (one more may be in flight when the run ends)
    expect(Math.abs(trapped - stops)).toBeLessThanOrEqual(2);
  });

  it("an old host: pseries-5.1 is refused, with cap-stop-lite=off the guest gets no stop0lite", () => {
    const old: TestHostSpec = { chip: "dd2.2", firmware: "2020", kernel: "upstream-2020" };
    expect(() => boot(old, "-M pseries -smp 2 -m 1G", "platform")).toThrow(
      /Try appending -machine cap-stop-lite=off/,
    );
    const { sim, q, kernel } = boot(old, "-M pseries,cap-stop-lite=off -smp 2 -m 1G", "platform");
    sim.runFor(50_000_000);
    expect(q.status).toBe("running");
    // KVM's init_vpa marks the VPA shared: the guest registers shared_states
    expect(kernel.cpuidleSysfs()[0].states.map((s) => s.name)).toEqual(["snooze", "Shared Cede"]);
  });

  it("an old host and a guest that always uses stop0lite: oops, panic, ibm,os-term, GUEST_PANICKED", () => {
    const { sim, q, kernel } = boot(
      { chip: "dd2.2", firmware: "2020", kernel: "upstream-2020" },
      "-M pseries-5.0 -smp 2 -m 1G",
      "always",
      UPSTREAM,
    );
    sim.runFor(50_000_000);
    expect(kernel.state).toBe("panicked");
    expect(kernel.console.dmesg().join("\n")).toMatch(
      /Oops: Exception in kernel mode, sig: 4 \[#1\][\s\S]*Kernel panic - not syncing: Fatal exception/,
    );
    expect(q.status).toBe("guest-panicked");
    expect(q.events.map((e) => e.event)).toContain("GUEST_PANICKED");
  });
});
