// The guest kernel across a live migration between two real hosts: QEMU (@stopsim/qemu) on the
// host kernel's KVM (@stopsim/host) on skiboot's device trees (@stopsim/opal). The same image
// object is handed to the destination QEMU (started with -incoming defer); registers travel
// through KVM_GET_REGS / ONE_REG and RAM through the stream. Outcomes are read from the guest's
// own counters (task wakeups, cpuidle sysfs), QMP and the hosts' KVM counters.

import { Simulation } from "@stopsim/engine";
import { createGuestKernel, type GuestKernel, type PeriodicTimerResult, periodicTimer } from "@stopsim/guest";
import { bootHost, type Host, type KvmBuildName, type KvmVm } from "@stopsim/host";
import { chipById, PnvMachine } from "@stopsim/isa";
import { bootOpal, parseFirmwareVersion } from "@stopsim/opal";
import { Qemu, type QemuBuild, QemuError } from "@stopsim/qemu";
import { describe, expect, it } from "vitest";

interface HostSpec {
  readonly chip: "dd2.2" | "dd2.3";
  readonly firmware: "2020" | "new";
  readonly kernel: KvmBuildName;
}

function bootTestHost(sim: Simulation, spec: HostSpec, name: string): Host {
  const hw = new PnvMachine(sim, { chip: chipById(spec.chip) });
  const fw = bootOpal({ machine: hw, firmware: parseFirmwareVersion(spec.firmware) });
  return bootHost({ machine: hw, dtb: fw.dtb, opal: fw.opal, kernel: spec.kernel, name });
}

function startQemu(
  sim: Simulation,
  host: Host,
  build: QemuBuild,
  image: GuestKernel,
  name: string,
  commandLine: string,
): Qemu {
  const r = Qemu.create({
    sim,
    host: { kvm: host.kvm, procDeviceTree: host.tree },
    build,
    image,
    name,
    commandLine,
  });
  if (r.kind !== "running") throw new Error(`QEMU did not start a machine: ${r.kind}`);
  return r.qemu;
}

const SPAPR_CAP: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };
const HOST_PROBED: QemuBuild = { stopLiteCap: false, probeKvmCapStop: true };
const SMP = "-cpu POWER9 -smp 2 -m 1G -nographic";
/**
 * Timer period short enough that the governor picks stop0lite (2/20 us) rather than CEDE (100 us).
 * The teo governor: menu falls into chained snooze timeouts at such periods (README, "A model
 * finding on menu") and would never reach stop0lite.
 */
const PERIOD_NS = 50_000;
const PHASE_NS = 30_000_000;

function stop0liteUsage(kernel: GuestKernel): number {
  let n = 0;
  for (const c of kernel.cpuidleSysfs()) for (const s of c.states) if (s.name === "stop0lite") n += s.usage;
  return n;
}

function lastVm(h: Host): KvmVm {
  const vm = h.kvm.vmList.at(-1);
  if (vm === undefined) throw new Error("the host runs no VM");
  return vm;
}

function emulatedStops(vm: KvmVm): number[] {
  return [...vm.vcpus.values()].map((v) => v.emulatedStops);
}

/** Boots the guest on `src` with a periodic timer task per CPU and runs a first phase. */
function bootWithWorkload(
  sim: Simulation,
  host: Host,
  build: QemuBuild,
  machine: string,
): { kernel: GuestKernel; src: Qemu; timers: PeriodicTimerResult[] } {
  const kernel = createGuestKernel({ sim, config: { stop0lite: "platform", governor: "teo" } });
  const timers: PeriodicTimerResult[] = [];
  kernel.whenReady(() => {
    for (const cpu of [0, 1]) timers.push(periodicTimer(kernel, cpu, PERIOD_NS));
  });
  const src = startQemu(sim, host, build, kernel, "src", `-M ${machine} ${SMP}`);
  sim.runFor(PHASE_NS);
  return { kernel, src, timers };
}

/** QEMU alone with the return path on, so that the source hears a refusal and runs on. */
function runMigration(sim: Simulation, src: Qemu, dst: Qemu): string {
  dst.qmp("migrate-incoming", { uri: "tcp:[::]:49152" });
  src.qmp("migrate-set-capabilities", { capabilities: [{ capability: "return-path", state: true }] });
  const m = src.migrate(dst);
  while (m.status === "active" || m.status === "device" || m.status === "setup") sim.runFor(1_000_000);
  const info = m.info();
  return info.status === "failed" && info["error-desc"] !== undefined
    ? `failed: ${info["error-desc"]}`
    : info.status;
}

const wakeups = (timers: readonly PeriodicTimerResult[]) => timers.map((t) => t.wakeups());

describe("the guest kernel keeps its state across a live migration", () => {
  it("spapr-cap: DD2.3 -> DD2.2 (fallback KVM): tasks go on, stop0lite native there and emulated here", () => {
    const sim = new Simulation({ seed: 11 });
    const h1 = bootTestHost(sim, { chip: "dd2.3", firmware: "new", kernel: "fallback" }, "h1");
    const h2 = bootTestHost(sim, { chip: "dd2.2", firmware: "new", kernel: "fallback" }, "h2");
    const { kernel, src, timers } = bootWithWorkload(sim, h1, SPAPR_CAP, "pseries-5.1");
    expect(kernel.state).toBe("running");
    const srcVm = lastVm(h1);
    const stopsH1 = stop0liteUsage(kernel);
    const wakeH1 = wakeups(timers);
    // on DD2.3 with idle-stop-guest the guest's stop runs natively: no H_FAC_UNAVAIL exit
    expect(stopsH1).toBeGreaterThan(100);
    expect(wakeH1.every((w) => w > 100)).toBe(true);
    expect(srcVm.exitCountsRecord().H_FAC_UNAVAIL ?? 0).toBe(0);

    const dst = startQemu(sim, h2, SPAPR_CAP, kernel, "dst", `-M pseries-5.1 ${SMP} -incoming defer`);
    expect(runMigration(sim, src, dst)).toBe("completed");
    expect(src.status).toBe("postmigrate");
    const srcExitsAtSwitch = srcVm.exitCountsRecord();
    const stopsAtSwitch = stop0liteUsage(kernel);
    const wakeAtSwitch = wakeups(timers);
    // the migration completed inside the last 1 ms step: the destination may have run since
    const dstVm = lastVm(h2);
    const emulatedAtSwitch = emulatedStops(dstVm);

    sim.runFor(PHASE_NS);
    expect(dst.status).toBe("running");
    expect(kernel.state).toBe("running");
    // every vCPU's kernel state moved to a thread of H2, once
    expect(kernel.cpus.map((c) => c.stats.rebinds)).toEqual([1, 1]);
    expect(kernel.cpus.every((c) => h2.threads.includes(c.thread))).toBe(true);
    expect(kernel.memory).toBe(dst.ram);
    // the tasks made progress on H2: ~600 periods of 50 us in 30 ms
    const wakeH2 = wakeups(timers).map((w, i) => w - wakeAtSwitch[i]);
    expect(wakeH2.every((w) => w > 300)).toBe(true);
    // stop0lite keeps being used; on DD2.2 every entry traps and KVM emulates it (patch 1)
    const stopsH2 = stop0liteUsage(kernel) - stopsAtSwitch;
    const emulated = emulatedStops(dstVm).map((n, i) => n - emulatedAtSwitch[i]);
    expect(stopsH2).toBeGreaterThan(100);
    expect(emulated.every((n) => n > 50)).toBe(true);
    const totalEmulated = emulated.reduce((a, b) => a + b, 0);
    expect(Math.abs(totalEmulated - stopsH2)).toBeLessThanOrEqual(4);
    expect(dstVm.exitCountsRecord().H_FAC_UNAVAIL).toBeGreaterThanOrEqual(totalEmulated);
    // the source's vCPUs never ran again
    expect(srcVm.exitCountsRecord()).toEqual(srcExitsAtSwitch);
    expect(kernel.console.dmesg().join("\n")).not.toMatch(/Oops|LOCKUP|panic/);
    console.log(
      `spapr-cap DD2.3 -> DD2.2: H1 stop0lite ${stopsH1}, wakeups ${wakeH1.join("/")}, exits ${JSON.stringify(srcVm.exitCountsRecord())}; ` +
        `H2 stop0lite ${stopsH2}, emulated ${emulated.join("/")}, wakeups ${wakeH2.join("/")}, exits ${JSON.stringify(dstVm.exitCountsRecord())}`,
    );
  });

  it("host-probed: DD2.3 -> DD2.2 with 2020 firmware and KVM: program check in the idle path, os-term, guest-panicked", () => {
    const sim = new Simulation({ seed: 12 });
    const h1 = bootTestHost(sim, { chip: "dd2.3", firmware: "new", kernel: "host-probed" }, "h1");
    const h2 = bootTestHost(sim, { chip: "dd2.2", firmware: "2020", kernel: "upstream-2020" }, "h2");
    const { kernel, src, timers } = bootWithWorkload(sim, h1, HOST_PROBED, "pseries-5.0");
    expect(kernel.state).toBe("running");
    expect(stop0liteUsage(kernel)).toBeGreaterThan(100);
    const dst = startQemu(sim, h2, HOST_PROBED, kernel, "dst", `-M pseries-5.0 ${SMP} -incoming defer`);
    expect(runMigration(sim, src, dst)).toBe("completed");
    const wakeAtSwitch = wakeups(timers);
    sim.runFor(PHASE_NS);
    const dstVm = lastVm(h2);
    expect(kernel.state).toBe("panicked");
    expect(dst.status).toBe("guest-panicked");
    expect(dst.events.map((e) => e.event)).toContain("GUEST_PANICKED");
    const dmesg = kernel.console.dmesg().join("\n");
    // the stop of stop0lite's loop trapped (ESL|EC set by the 2020 KVM) and was not emulated
    expect(dmesg).toMatch(
      /Oops: Exception in kernel mode, sig: 4 \[#1\][\s\S]*TRAP: 0700[\s\S]*NIP \[c[0-9a-f]+\] stop_loop\+0x0/,
    );
    expect(dmesg).toContain("Kernel panic - not syncing: Fatal exception");
    expect(kernel.osTermMessage).toBe("OS panic: Fatal exception");
    expect(dstVm.exitCountsRecord().H_FAC_UNAVAIL).toBeGreaterThan(0);
    expect([...dstVm.vcpus.values()].reduce((a, v) => a + v.programInterrupts, 0)).toBeGreaterThan(0);
    expect(emulatedStops(dstVm)).toEqual([0, 0]);
    console.log(
      `host-probed DD2.3 -> DD2.2-old: H2 exits ${JSON.stringify(dstVm.exitCountsRecord())}, wakeups after the switch ${wakeups(
        timers,
      )
        .map((w, i) => w - wakeAtSwitch[i])
        .join("/")}`,
    );
  });

  it("spapr-cap: DD2.3 -> DD2.2-old is refused and the source guest keeps running, never rebound", () => {
    const sim = new Simulation({ seed: 13 });
    const h1 = bootTestHost(sim, { chip: "dd2.3", firmware: "new", kernel: "fallback" }, "h1");
    const h2 = bootTestHost(sim, { chip: "dd2.2", firmware: "2020", kernel: "upstream-2020" }, "h2");
    const { kernel, src, timers } = bootWithWorkload(sim, h1, SPAPR_CAP, "pseries-5.1");
    // the old host cannot give pseries-5.1 its default cap-stop-lite=on
    expect(() =>
      startQemu(sim, h2, SPAPR_CAP, kernel, "dst", `-M pseries-5.1 ${SMP} -incoming defer`),
    ).toThrow(QemuError);
    const dst = startQemu(
      sim,
      h2,
      SPAPR_CAP,
      kernel,
      "dst",
      `-M pseries-5.1,cap-stop-lite=off ${SMP} -incoming defer`,
    );
    expect(runMigration(sim, src, dst)).toBe("failed");
    expect(dst.incomingError?.message).toContain(
      "cap-stop-lite higher level (1) in incoming stream than on destination (0)",
    );
    const wakeAt = wakeups(timers);
    const stopsAt = stop0liteUsage(kernel);
    sim.runFor(PHASE_NS);
    expect(src.status).toBe("running");
    expect(kernel.state).toBe("running");
    expect(wakeups(timers).every((w, i) => w - wakeAt[i] > 300)).toBe(true);
    expect(stop0liteUsage(kernel)).toBeGreaterThan(stopsAt);
    expect(kernel.cpus.map((c) => c.stats.rebinds)).toEqual([0, 0]);
    expect(kernel.cpus.every((c) => h1.threads.includes(c.thread))).toBe(true);
    expect(kernel.memory).toBe(src.ram);
    // the destination never ran a vCPU
    expect(lastVm(h2).exitCountsRecord()).toEqual({});
  });
});
