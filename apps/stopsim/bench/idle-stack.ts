// The idle benchmarks' machine: hosts of 16 SMT4 cores (2 chips x 8 cores, new firmware, the
// design's KVM), each running guests of 8 vCPUs (-smp 8,sockets=1,cores=2,threads=4) whose vCPU
// threads are pinned (taskset, as one pins QEMU's vCPU threads) so that guest g of a host uses host
// threads 8g..8g+7: 8 guests fill the host's 64 hardware threads.
import { NS_PER_MS, NS_PER_S, PartitionedSimulation, Simulation } from "@stopsim/engine";
import type { GuestKernel } from "@stopsim/guest";
import type { Qemu } from "@stopsim/qemu";
import { findDesign, findHost, type HostPreset } from "../src/presets.js";
import {
  createDesignGuest,
  DEFAULT_GUEST,
  type GuestOptions,
  guestIdleStates,
  qemuCommandLine,
  startQemu,
  startWorkload,
  type WorkloadName,
} from "../src/run.js";
import { bootSimHost, type SimHost } from "../src/stack.js";

export const DESIGN = "spapr-cap";
export const GUEST_VCPUS = 8;
export const HOST_THREADS = 64;

/** dd2.3 with new firmware (publishes idle-stop-guest) and the design's (fallback) KVM, 16 cores. */
export const HOST16: HostPreset = {
  ...findHost("dd2.3"),
  name: "dd2.3-16c",
  description: "POWER9 DD2.3, new firmware, the design's host kernel, 2 chips x 8 SMT4 cores",
  sockets: 2,
  coresPerSocket: 8,
};

export interface IdleStack {
  /** What runs the model: its one Simulation, or the PartitionedSimulation of its hosts. */
  runner: Simulation | PartitionedSimulation;
  /** The one Simulation, or the first host's partition. */
  sim: Simulation;
  /** Each host's Simulation (the same one for every host when not partitioned). */
  hostSims: Simulation[];
  hosts: SimHost[];
  guests: { kernel: GuestKernel; qemu: Qemu }[];
}

export interface IdleStackOptions {
  seed: number;
  hosts: number;
  guestsPerHost: number;
  workload: WorkloadName;
  trace: boolean;
  /**
   * One partition per host (they share nothing: no migration between them), run window by window
   * so that each host's state stays in the CPU caches; the same events per host as one heap.
   */
  partitioned?: boolean;
  /** Window cap of the partitioned run (default: PartitionedSimulation's). */
  window?: number;
}

/** Boots `hosts` hosts and `guestsPerHost` pinned guests on each, every guest running `workload`. */
export function buildIdleStack(o: IdleStackOptions): IdleStack {
  if (o.guestsPerHost * GUEST_VCPUS > HOST_THREADS) {
    throw new Error(`${o.guestsPerHost} guests of ${GUEST_VCPUS} vCPUs do not fit ${HOST_THREADS} threads`);
  }
  const runner = o.partitioned
    ? new PartitionedSimulation({ seed: o.seed, trace: o.trace, window: o.window, name: "idle stack" })
    : new Simulation({ seed: o.seed, trace: o.trace });
  const hostSims: Simulation[] = [];
  const design = findDesign(DESIGN);
  const guestOpts: GuestOptions = { ...DEFAULT_GUEST, workload: o.workload };
  const hosts: SimHost[] = [];
  const guests: IdleStack["guests"] = [];
  for (let h = 0; h < o.hosts; h++) {
    const name = `${HOST16.name}#${h}`;
    const sim = runner instanceof PartitionedSimulation ? runner.partition(name) : runner;
    hostSims.push(sim);
    const host = bootSimHost(sim, HOST16, design, name);
    hosts.push(host);
    const kvm = host.host.kvm;
    for (let g = 0; g < o.guestsPerHost; g++) {
      const base = g * GUEST_VCPUS;
      // QEMU opens /dev/kvm; its vCPU threads are then pinned to host threads base..base+7
      const pinnedKvm = {
        checkExtension: (cap: number) => kvm.checkExtension(cap),
        createVm: () => kvm.createVm(0, { pinning: (id: number) => base + id }),
      };
      const pinnedHost: SimHost = {
        ...host,
        host: Object.assign(Object.create(host.host), { kvm: pinnedKvm }),
      };
      const kernel = createDesignGuest(sim, design, guestOpts);
      const r = startQemu(
        sim,
        pinnedHost,
        design,
        kernel,
        qemuCommandLine(design, guestOpts),
        `qemu${h}.${g}`,
      );
      if (!r.ok) throw new Error(`guest ${h}.${g} did not start: ${r.error.split("\n")[0]}`);
      startWorkload(sim, kernel, o.workload);
      guests.push({ kernel, qemu: r.qemu });
    }
  }
  return { runner, sim: hostSims[0], hostSims, hosts, guests };
}

/** Guest idle entries (sum of cpuidle usage over every state, CPU and guest); each entry is followed by an exit. */
export function idleEntries(stack: IdleStack): number {
  let n = 0;
  for (const g of stack.guests) {
    for (const s of Object.values(guestIdleStates(g.kernel))) n += s.usage;
  }
  return n;
}

export interface IdleRun {
  simulatedSeconds: number;
  wallSeconds: number;
  events: number;
  idleEntries: number;
  bootWallSeconds: number;
}

/** Runs the simulation in 5 ms slices until every guest kernel is running (at most 2 s simulated). */
export function bootGuests(stack: IdleStack): void {
  const deadline = stack.runner.now + 2 * NS_PER_S;
  while (stack.guests.some((g) => g.kernel.state !== "running")) {
    const bad = stack.guests.find((g) => g.kernel.state === "panicked" || g.kernel.state === "hung");
    if (bad !== undefined || stack.runner.now >= deadline) {
      const g = bad ?? stack.guests.find((x) => x.kernel.state !== "running");
      throw new Error(
        `a guest did not boot (${g?.kernel.state}): ${g?.kernel.console.dmesg().slice(-2).join(" | ")}`,
      );
    }
    stack.runner.runFor(5 * NS_PER_MS);
  }
}

/** Boots every guest (not timed), then times `seconds` of idle. */
export function runIdle(o: IdleStackOptions, seconds: number): IdleRun & { stack: IdleStack } {
  const t0 = performance.now();
  const stack = buildIdleStack(o);
  bootGuests(stack);
  if (o.trace) for (const sim of new Set(stack.hostSims)) sim.trace.clear();
  const bootWallSeconds = (performance.now() - t0) / 1000;
  const e0 = stack.runner.dispatched;
  const i0 = idleEntries(stack);
  const t1 = performance.now();
  stack.runner.runFor(seconds * NS_PER_S);
  const wallSeconds = (performance.now() - t1) / 1000;
  return {
    stack,
    simulatedSeconds: seconds,
    wallSeconds,
    events: stack.runner.dispatched - e0,
    idleEntries: idleEntries(stack) - i0,
    bootWallSeconds,
  };
}
