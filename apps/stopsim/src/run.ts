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

/**
 * What the POWER9 guest-stop erratum did to a guest's vCPU threads (the erratum and its two
 * assumptions, rate and recovery, are stated once, in packages/isa/src/errata.ts): wake events it
 * swallowed, the stops that therefore ended late (sum and maximum of the delays), and the vCPUs
 * still held in a stop by a swallowed event when the counters were read (a stall in progress).
 */
export interface ErrataCounters {
  lostWakeups: number;
  lateWakeups: number;
  lateNs: number;
  maxLateNs: number;
  stalledVcpus: number;
  maxStallNs: number;
}

export const NO_ERRATA: ErrataCounters = {
  lostWakeups: 0,
  lateWakeups: 0,
  lateNs: 0,
  maxLateNs: 0,
  stalledVcpus: 0,
  maxStallNs: 0,
};

export interface VmCounters {
  exits: Record<string, number>;
  emulatedStops: number;
  errata: ErrataCounters;
}

export function vmCounters(qemu: Qemu): VmCounters {
  const vm = kvmVmOf(qemu);
  let emulatedStops = 0;
  const errata = { ...NO_ERRATA };
  for (const v of vm.vcpus.values()) {
    emulatedStops += v.emulatedStops;
    const t = v.cpu.thread;
    errata.lostWakeups += t.lostWakeups;
    errata.lateWakeups += t.lateWakeups;
    errata.lateNs += t.lateWakeupNs;
    errata.maxLateNs = Math.max(errata.maxLateNs, t.maxLateWakeupNs);
    const stall = t.erratumStallNs;
    if (stall > 0) errata.stalledVcpus++;
    errata.maxStallNs = Math.max(errata.maxStallNs, stall);
  }
  return { exits: vm.exitCountsRecord(), emulatedStops, errata };
}

/** The erratum's work between two readings (counts and sums as differences; maxima and stalls as of `after`). */
export function errataSince(after: ErrataCounters, before: ErrataCounters): ErrataCounters {
  return {
    lostWakeups: after.lostWakeups - before.lostWakeups,
    lateWakeups: after.lateWakeups - before.lateWakeups,
    lateNs: after.lateNs - before.lateNs,
    maxLateNs: after.lateWakeups > before.lateWakeups ? after.maxLateNs : 0,
    stalledVcpus: after.stalledVcpus,
    maxStallNs: after.maxStallNs,
  };
}

/** One line of what the erratum did, or "" when it did nothing. */
export function errataText(e: ErrataCounters): string {
  if (e.lostWakeups === 0 && e.stalledVcpus === 0) return "";
  const us = (ns: number) => `${(ns / 1000).toFixed(ns < 10_000 ? 1 : 0)} us`;
  const parts = [`${e.lostWakeups} lost wake-up${e.lostWakeups === 1 ? "" : "s"}`];
  if (e.lateWakeups > 0)
    parts.push(
      `${e.lateWakeups} stop${e.lateWakeups === 1 ? "" : "s"} woke late (max ${us(e.maxLateNs)}, total ${us(e.lateNs)})`,
    );
  if (e.stalledVcpus > 0)
    parts.push(`${e.stalledVcpus} vCPU${e.stalledVcpus === 1 ? "" : "s"} still held (${us(e.maxStallNs)})`);
  return `hardware erratum (POWER9 guest stop before DD2.3): ${parts.join(", ")}`;
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

/**
 * What went wrong short of a crash, as the layers that see it count it: the ISA cores' guest-stop
 * erratum (wake events lost), the guest kernel (timer wake-ups later than LATE_WAKEUP_FACTOR x the
 * idle state's exit latency, stalls of STALL_NS or more, CPUs stalled at the end as another CPU's
 * stall detector sees them, lockup-watchdog near misses) and KVM (per-vCPU emulated-stop counts).
 */
export interface Hazards {
  lostWakeups: number;
  lateWakeups: number;
  /** Timer wake-ups 1 ms or more late (the vCPU had stalled and recovered). */
  stalls: number;
  /** vCPUs idle with a timer overdue by 1 ms or more when the run ended. */
  stalledVcpus: number;
  watchdogNearMisses: number;
  /** vCPUs that trapped into KVM's stop emulation once per EMULATED_STOP_STORM_NS or more often. */
  emulatedStopStorms: number;
  /** The latest timer wake-up from idle, ns after the timer was due. */
  maxWakeupLatenessNs: number;
}

/** The hazard counts (every field of Hazards but the magnitude maxWakeupLatenessNs). */
export const HAZARD_KINDS = [
  "lostWakeups",
  "lateWakeups",
  "stalls",
  "stalledVcpus",
  "watchdogNearMisses",
  "emulatedStopStorms",
] as const;
export type HazardKind = (typeof HAZARD_KINDS)[number];

/**
 * A storm: a vCPU trapping to KVM's stop emulation at least once per stop0lite target residency
 * (20 us, the RFC's patch 3): every stop is then shorter than the residency that justifies it.
 */
export const EMULATED_STOP_STORM_NS = 20_000;

export const NO_HAZARDS: Hazards = {
  lostWakeups: 0,
  lateWakeups: 0,
  stalls: 0,
  stalledVcpus: 0,
  watchdogNearMisses: 0,
  emulatedStopStorms: 0,
  maxWakeupLatenessNs: 0,
};

/** Reads the hazard counters of a run's layers: its hosts' cores, the guest kernel, KVM's vCPUs. */
export function observeHazards(
  sim: Simulation,
  hosts: readonly SimHost[],
  kernel: GuestKernel | undefined,
  qemus: readonly Qemu[],
): Hazards {
  const h = { ...NO_HAZARDS };
  for (const host of hosts) for (const core of host.host.cores) h.lostWakeups += core.errata.lostWakeups;
  if (kernel !== undefined) {
    for (const c of kernel.cpus) {
      if (c === undefined) continue;
      h.lateWakeups += c.stats.lateWakeups;
      h.stalls += c.stats.stalls;
      h.maxWakeupLatenessNs = Math.max(h.maxWakeupLatenessNs, Math.round(c.stats.maxWakeupLatenessNs));
    }
    h.stalledVcpus = kernel.stalledCpus().length;
    h.watchdogNearMisses = kernel.watchdogNearMisses;
  }
  for (const q of qemus) {
    for (const v of kvmVmOf(q).vcpus.values()) {
      if (v.emulatedStops > 0 && v.emulatedStops * EMULATED_STOP_STORM_NS >= sim.now) h.emulatedStopStorms++;
    }
  }
  return h;
}

/** The hazard kinds a run counted. */
export function hazardKinds(h: Hazards): HazardKind[] {
  return HAZARD_KINDS.filter((k) => h[k] > 0);
}
