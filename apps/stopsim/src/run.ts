// Full-stack runs: boot a guest on a host (firmware -> host kernel -> QEMU -> guest kernel), idle it
// under a workload, optionally migrate it to a second host, and report what each layer did. The
// outcome of a run is read from what the layers report (QEMU's start error and run state, QMP
// query-migrate, the guest's cpuidle statistics, the host's KVM exit counters), never looked up.
import type { Simulation } from "@stopsim/engine";
import {
  ContextSwitch2,
  createGuestKernel,
  Ebizzy,
  type GuestKernel,
  periodicTimer,
  randomMix,
} from "@stopsim/guest";
import type { KvmVm } from "@stopsim/host";
import {
  type MigrationNetwork,
  parseCommandLine,
  type Qemu,
  QemuError,
  Qemu as QemuMachine,
} from "@stopsim/qemu";
import { UsageError } from "./errors.js";
import type { RunOutcome } from "./fleet.js";
import type { DesignSpec } from "./presets.js";
import type { SimHost } from "./stack.js";

export const WORKLOADS = ["timers", "mixed", "ebizzy", "ctxsw", "none"] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export interface GuestOptions {
  smp: string;
  memory: string;
  governor: "menu" | "teo";
  workload: WorkloadName;
  /**
   * The hard-lockup watchdog's threshold in seconds (linux: arch/powerpc/kernel/watchdog.c,
   * watchdog_thresh; default 10). Linux takes whole seconds; a fraction compresses time so that a
   * short run can see a lockup.
   */
  watchdogThreshS?: number;
}

/**
 * The guest the thread measured: smp 8 as 1 socket x 2 cores x 4 threads, with the 2020 default
 * cpuidle governor, menu (rating 20 against teo's 19; `--governor teo` selects teo). With menu,
 * pseries' snooze times out at state 1's target residency (stop0lite's 20 us), and snooze has no
 * CPUIDLE_FLAG_POLLING, so menu records each timed-out snooze as a ~20 us idle period: once its
 * 8-interval history holds only such periods, get_typical_interval predicts just under 20 us,
 * below stop0lite's residency, and menu picks snooze again (packages/guest/README.md). How often
 * that keeps menu away from stop0lite is reported per state in the outputs.
 */
export const DEFAULT_GUEST: GuestOptions = {
  smp: "8,sockets=1,cores=2,threads=4",
  memory: "1G",
  governor: "menu",
  workload: "timers",
};

export function parseWorkload(name: string): WorkloadName {
  if (!(WORKLOADS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown workload '${name}': expected one of ${WORKLOADS.join(", ")}`);
  }
  return name as WorkloadName;
}

/** The QEMU command line a design's guest is started with. */
export function qemuCommandLine(
  design: DesignSpec,
  guest: GuestOptions,
  extraMachine = "",
  incoming = false,
): string {
  return `-M ${design.machine}${extraMachine} -cpu POWER9 -smp ${guest.smp} -m ${guest.memory} -nographic${
    incoming ? " -incoming defer" : ""
  }`;
}

/** A guest kernel of the design's configuration (the image QEMU loads). */
export function createDesignGuest(sim: Simulation, design: DesignSpec, guest: GuestOptions): GuestKernel {
  return createGuestKernel({
    sim,
    config: {
      stop0lite: design.guest.stop0lite,
      governor: guest.governor,
      ...(guest.watchdogThreshS !== undefined ? { watchdogThreshS: guest.watchdogThreshS } : {}),
    },
  });
}

export type StartResult = { ok: true; qemu: Qemu } | { ok: false; error: string };

/** Starts QEMU on a host like `qemu-system-ppc64 <commandLine>`; a start refusal is QEMU's message. */
export function startQemu(
  sim: Simulation,
  host: SimHost,
  design: DesignSpec,
  image: GuestKernel,
  commandLine: string | readonly string[],
  name: string,
  net: { readonly hostname?: string; readonly network?: MigrationNetwork } = {},
): StartResult {
  // options QEMU cannot parse (unknown option or cap, impossible -smp topology, bad size) are the
  // user's mistake, not an outcome of the design: a usage error naming QEMU's complaint
  try {
    parseCommandLine(commandLine, design.qemu);
  } catch (e) {
    if (e instanceof QemuError) throw new UsageError(e.message.split("\n").join(" / "));
    throw e;
  }
  try {
    const r = QemuMachine.create({
      sim,
      host: { kvm: host.host.kvm, procDeviceTree: host.host.tree, hostname: net.hostname },
      build: design.qemu,
      image,
      name,
      commandLine,
      network: net.network,
    });
    if (r.kind !== "running") return { ok: false, error: `QEMU did not start a machine (${r.kind})` };
    return { ok: true, qemu: r.qemu };
  } catch (e) {
    if (e instanceof QemuError) return { ok: false, error: e.message };
    throw e;
  }
}

/** Starts the workload in the guest once it has booted. */
export function startWorkload(
  sim: Simulation,
  kernel: GuestKernel,
  workload: WorkloadName,
): () => Record<string, number> {
  let result: () => Record<string, number> = () => ({});
  kernel.whenReady(() => {
    const cpus = kernel.cpus.filter((c) => c?.online).map((c) => c.logical);
    switch (workload) {
      case "timers": {
        const periods = [100_000, 250_000, 1_000_000, 4_000_000];
        const t = cpus.map((c, i) => periodicTimer(kernel, c, periods[i % periods.length], 5_000));
        result = () => ({ timerWakeups: t.reduce((a, x) => a + x.wakeups(), 0) });
        break;
      }
      case "mixed": {
        const m = randomMix(kernel, {
          rng: sim.rng.stream("app/workload/mixed"),
          tasks: cpus.length * 2,
          cpus,
          meanComputeNs: 50_000,
          meanSleepNs: 400_000,
        });
        result = () => ({ bursts: m.bursts() });
        break;
      }
      case "ebizzy": {
        const e = new Ebizzy(kernel, { cpu: cpus[0] });
        e.start();
        result = () => ({ recordsPerSecond: e.result().perSecond });
        break;
      }
      case "ctxsw": {
        const c = new ContextSwitch2(kernel, cpus[0], cpus[1] ?? cpus[0]);
        c.start();
        result = () => ({ switchesPerSecond: c.result().perSecond });
        break;
      }
      case "none":
        break;
    }
  });
  return () => result();
}

/** Idle statistics per guest idle state, summed over the guest's CPUs (sysfs usage and time). */
export function guestIdleStates(
  kernel: GuestKernel,
): Record<string, { usage: number; timeNs: number; above: number; below: number }> {
  const out: Record<string, { usage: number; timeNs: number; above: number; below: number }> = {};
  for (const cpu of kernel.cpuidleSysfs()) {
    for (const s of cpu.states) {
      const o = out[s.name] ?? { usage: 0, timeNs: 0, above: 0, below: 0 };
      o.usage += s.usage;
      o.timeNs += s.time * 1000;
      o.above += s.above;
      o.below += s.below;
      out[s.name] = o;
    }
  }
  return out;
}

/** The host-side KVM VM behind a QEMU instance (the app composed both, so it may look). */
export function kvmVmOf(qemu: Qemu): KvmVm {
  return qemu.vm as unknown as KvmVm;
}

export interface VmCounters {
  exits: Record<string, number>;
  emulatedStops: number;
}

/** KVM's exit counts and emulated stops of a QEMU's VM. */
export function vmCounters(qemu: Qemu): VmCounters {
  const vm = kvmVmOf(qemu);
  let emulatedStops = 0;
  for (const v of vm.vcpus.values()) emulatedStops += v.emulatedStops;
  return { exits: vm.exitCountsRecord(), emulatedStops };
}

export function diffCounts(
  after: Record<string, number>,
  before: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

export type GuestRunState = "running" | "panicked" | "hung";

export function guestRunState(kernel: GuestKernel, qemu: Qemu): GuestRunState {
  if (kernel.state === "panicked" || qemu.status === "guest-panicked") return "panicked";
  if (kernel.state === "hung") return "hung";
  return "running";
}

/** How a guest idled over a phase: from the guest's stop0lite usage and the host's stop emulation. */
export function classifyIdle(
  state: GuestRunState,
  stop0liteUsage: number,
  emulatedStops: number,
): RunOutcome {
  if (state === "panicked") return "crashed";
  if (state === "hung") return "hung";
  if (stop0liteUsage === 0) return "not-used";
  return emulatedStops > 0 ? "emulated" : "native";
}
