// The project's guest kernel with CAS on real hosts: QEMU's ic-mode decides, CAS switches the
// machine to XIVE with KVM's XIVE native device, the guest configures it through H_INT_* and sends
// its IPIs by ESB stores; a ceded vCPU is woken by its escalation interrupt.
import { Simulation } from "@stopsim/engine";
import { createGuestKernel, type GuestKernel, measureWakeupLatency } from "@stopsim/guest";
import { describe, expect, it } from "vitest";
import type { QemuBuild } from "./machine.js";
import { Qemu } from "./spapr.js";
import { bootTestHost, type TestHost } from "./test-helpers/hosts.js";

const CAP_BUILD: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };

function boot(cmd: string, xive = true): { sim: Simulation; h: TestHost; q: Qemu; kernel: GuestKernel } {
  const sim = new Simulation({ seed: 5 });
  const h = bootTestHost(sim, { chip: "dd2.3", firmware: "new", kernel: "fallback" }, "h");
  const kernel = createGuestKernel({
    sim,
    config: { stop0lite: "platform", governor: "menu", cas: true, xive },
  });
  const r = Qemu.create({
    sim,
    host: h.qemuHost,
    build: CAP_BUILD,
    image: kernel,
    commandLine: cmd,
    name: "q",
  });
  if (r.kind !== "running") throw new Error(`expected a running QEMU, got ${r.kind}`);
  return { sim, h, q: r.qemu, kernel };
}

const SMP8 = "-smp 8,sockets=1,cores=2,threads=4 -m 1G";

describe("CAS and XIVE on a real host", () => {
  it("pseries-5.1 (ic-mode=dual): the guest asks for XIVE, all 8 vCPUs come up on KVM's XIVE device", () => {
    const { sim, h, q, kernel } = boot(`-M pseries-5.1 ${SMP8}`);
    sim.runFor(300_000_000);
    expect(kernel.state).toBe("running");
    expect(q.irq.active).toBe("xive");
    expect(q.irq.cas?.reason).toContain("asked for XIVE exploitation");
    expect(kernel.console.contains("xive: Interrupt handling initialized with spapr backend")).toBe(true);
    expect(kernel.cpus.filter((c) => c?.online)).toHaveLength(8);
    const vm = h.host.kvm.vmList[0];
    expect(vm.xiveDevice).not.toBeNull();
    for (const v of vm.vcpus.values()) expect(v.xive).toBe(vm.xiveDevice);
    // IPIs between the two cores: ESB stores, presented without exits, no doorbell emulation
    const before = vm.exitCountsRecord();
    const r = measureWakeupLatency(kernel, { method: "ipi", target: 1, source: 4, samples: 30 });
    expect(r.count).toBe(30);
    const after = vm.exitCountsRecord();
    expect(after.H_FAC_UNAVAIL ?? 0).toBe(before.H_FAC_UNAVAIL ?? 0);
    expect(kernel.xive?.stats.ipisReceived).toBeGreaterThanOrEqual(30);
  });

  it("a ceded vCPU is woken by its escalation interrupt (Shared Cede by IPI)", () => {
    const { sim, h, kernel } = boot(`-M pseries-5.1 ${SMP8}`);
    sim.runFor(300_000_000);
    const r = measureWakeupLatency(kernel, {
      method: "ipi",
      target: 1,
      source: 4,
      samples: 20,
      onlyState: "Shared Cede",
    });
    expect(r.count).toBe(20);
    const dev = h.host.kvm.vmList[0].xiveDevice;
    expect(dev?.vcpuState(1)?.escalations).toBeGreaterThanOrEqual(20);
  });

  it("-M pseries-5.1,ic-mode=xics: CAS keeps XICS, the guest uses H_IPI/H_XIRR and doorbells as before", () => {
    const { sim, h, q, kernel } = boot(`-M pseries-5.1,ic-mode=xics ${SMP8}`);
    sim.runFor(300_000_000);
    expect(kernel.state).toBe("running");
    expect(q.irq.active).toBe("xics");
    expect(kernel.xive).toBeNull();
    expect(h.host.kvm.vmList[0].xiveDevice).toBeNull();
    expect(kernel.cpus.filter((c) => c?.online)).toHaveLength(8);
  });

  it("ic-mode=xive with a guest booted with xive=off: the platform offers XIVE only, so the kernel ignores xive=off", () => {
    const { sim, q, kernel } = boot(`-M pseries-5.1,ic-mode=xive ${SMP8}`, false);
    sim.runFor(300_000_000);
    expect(q.irq.active).toBe("xive");
    expect(kernel.console.contains("WARNING: Ignoring cmdline option xive=off")).toBe(true);
    expect(kernel.state).toBe("running");
    expect(kernel.xive).not.toBeNull();
  });
});
