// Contract: the guest package's TestPlatform (packages/guest/src/test-helpers/platform.ts) stands
// in for QEMU's pseries machine on a host kernel with KVM. The same cases run on both with the
// same guest kernel (@stopsim/guest) and the same guest device tree (the bytes the real QEMU
// builds for the case's command line), and must end the same way: which idle table the guest
// registers, whether it enters stop0lite, whether every entry trapped to the hypervisor, whether it
// panicked. A drift of the fake (a policy that no longer matches what KVM does, a hypercall
// answered otherwise) fails here rather than in the guest's own tests, which only see the fake.
import { decodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import { createGuestKernel, type GuestKernel, type GuestKernelConfig } from "@stopsim/guest";
import { Qemu, type QemuBuild } from "@stopsim/qemu";
import { describe, expect, it } from "vitest";
import { type StopPolicy, TestPlatform } from "../../../packages/guest/src/test-helpers/platform.js";
import { bootTestHost, type TestHostSpec } from "../../../packages/qemu/src/test-helpers/hosts.js";

const CAP_BUILD: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };
const SMP = "-smp 4,sockets=1,cores=1,threads=4 -m 1G";
const RUN_NS = 60_000_000;

interface PlatformCase {
  readonly name: string;
  /** The real layer: host (chip, firmware, KVM build) and QEMU command line. */
  readonly host: TestHostSpec;
  readonly commandLine: string;
  /** The fake: what TestPlatform does with a guest stop. */
  readonly policy: StopPolicy;
  readonly guest: GuestKernelConfig;
  /** What both must show. */
  readonly expect: {
    readonly state: GuestKernel["state"];
    readonly table?: readonly string[];
    /** Completed stop0lite entries in the guest's cpuidle sysfs (a panicking guest completes none). */
    readonly usesStop0lite: boolean;
    /** Every stop0lite entry trapped to the hypervisor (emulated), or none did. */
    readonly stopTraps: "every entry" | "none";
  };
}

const CASES: readonly PlatformCase[] = [
  {
    name: "native stop0lite (DD2.3, idle-stop-guest firmware, fallback KVM, pseries-5.1)",
    host: { chip: "dd2.3", firmware: "new", kernel: "fallback" },
    commandLine: `-M pseries ${SMP}`,
    policy: "native",
    guest: { stop0lite: "platform", governor: "menu" },
    expect: {
      state: "running",
      table: ["snooze", "stop0lite", "Shared Cede"],
      usesStop0lite: true,
      stopTraps: "none",
    },
  },
  {
    name: "emulated stop0lite (DD2.2, fallback KVM emulates the trap, patch 1)",
    host: { chip: "dd2.2", firmware: "new", kernel: "fallback" },
    commandLine: `-M pseries ${SMP}`,
    policy: "emulate",
    guest: { stop0lite: "platform", governor: "menu" },
    expect: {
      state: "running",
      table: ["snooze", "stop0lite", "Shared Cede"],
      usesStop0lite: true,
      stopTraps: "every entry",
    },
  },
  {
    name: "no permission: cap-stop-lite=off gives the shared table without stop0lite",
    host: { chip: "dd2.2", firmware: "2020", kernel: "upstream-2020" },
    commandLine: `-M pseries,cap-stop-lite=off ${SMP}`,
    policy: "program",
    guest: { stop0lite: "platform", governor: "menu" },
    expect: { state: "running", table: ["snooze", "Shared Cede"], usesStop0lite: false, stopTraps: "none" },
  },
  {
    name: "KVM of 2020 answers a guest stop with a program interrupt: the guest panics",
    host: { chip: "dd2.2", firmware: "2020", kernel: "upstream-2020" },
    commandLine: `-M pseries,cap-stop-lite=off ${SMP}`,
    policy: "program",
    guest: { stop0lite: "always", governor: "menu" },
    expect: {
      state: "panicked",
      table: ["snooze", "stop0lite", "Shared Cede"],
      usesStop0lite: false,
      stopTraps: "every entry",
    },
  },
];

interface Outcome {
  state: GuestKernel["state"];
  table: string[];
  stop0liteEntries: number;
  stopTraps: number;
  panickedRunState: boolean;
}

function stop0liteEntries(kernel: GuestKernel): number {
  let n = 0;
  for (const c of kernel.cpuidleSysfs()) for (const s of c.states) if (s.name === "stop0lite") n += s.usage;
  return n;
}

/** The real layer: skiboot's tree, the host kernel with KVM, QEMU's pseries machine. */
function runReal(c: PlatformCase): { outcome: Outcome; dtb: Uint8Array } {
  const sim = new Simulation({ seed: 3 });
  const h = bootTestHost(sim, c.host, "h");
  const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, ...c.guest } });
  const r = Qemu.create({
    sim,
    host: h.qemuHost,
    build: CAP_BUILD,
    image: kernel,
    commandLine: c.commandLine,
  });
  if (r.kind !== "running") throw new Error(`${c.name}: QEMU did not start (${r.kind})`);
  sim.runFor(RUN_NS);
  const exits = h.host.kvm.vmList[0].exitCountsRecord();
  return {
    dtb: r.qemu.dtb,
    outcome: {
      state: kernel.state,
      table: kernel.cpuidleSysfs()[0].states.map((s) => s.name),
      stop0liteEntries: stop0liteEntries(kernel),
      stopTraps: exits.H_FAC_UNAVAIL ?? 0,
      panickedRunState: r.qemu.status === "guest-panicked",
    },
  };
}

/** The fake: TestPlatform on the same guest tree. */
function runFake(c: PlatformCase, dtb: Uint8Array): Outcome {
  const sim = new Simulation({ seed: 3 });
  const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, ...c.guest } });
  const cpu = decodeDtb(dtb)
    .requireNode("/cpus")
    .children.find((n) => n.name.startsWith("PowerPC,POWER9@"));
  const threads = (cpu?.getProp("ibm,ppc-interrupt-server#s")?.length ?? 4) / 4;
  const platform = new TestPlatform({
    sim,
    image: kernel,
    dtb,
    threadsPerCore: threads,
    stopPolicy: c.policy,
  });
  platform.start();
  sim.runFor(RUN_NS);
  return {
    state: kernel.state,
    table: kernel.cpuidleSysfs()[0].states.map((s) => s.name),
    stop0liteEntries: stop0liteEntries(kernel),
    stopTraps: platform.stopTraps,
    panickedRunState: platform.runState === "guest-panicked",
  };
}

function check(c: PlatformCase, o: Outcome, layer: string): void {
  const what = `${layer}: ${c.name} ${JSON.stringify(o)}`;
  expect(o.state, what).toBe(c.expect.state);
  expect(o.panickedRunState, what).toBe(c.expect.state === "panicked");
  if (c.expect.table) expect(o.table, what).toEqual(c.expect.table);
  expect(o.stop0liteEntries > 0, what).toBe(c.expect.usesStop0lite);
  if (c.expect.stopTraps === "none") expect(o.stopTraps, what).toBe(0);
  // the first trapped stop of each CPU is its last: a program check, then the panic
  else if (c.expect.state === "panicked") expect(o.stopTraps, what).toBeGreaterThan(0);
  // each entry traps once (one more may be in flight when the run ends)
  else expect(Math.abs(o.stopTraps - o.stop0liteEntries), what).toBeLessThanOrEqual(4);
}

describe("TestPlatform keeps the contract of QEMU pseries on KVM", () => {
  for (const c of CASES) {
    it(c.name, () => {
      const real = runReal(c);
      check(c, real.outcome, "QEMU on KVM");
      check(c, runFake(c, real.dtb), "TestPlatform");
    });
  }
});
