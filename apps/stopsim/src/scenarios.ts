// The app's simulations: boot (and idle) here, migrate in migrate.ts, the design x host-pair
// matrix in matrix.ts. Each builds one Simulation with real hosts, QEMU and the guest kernel, runs
// it, and reports what the layers did; outcomes are classified from those reports.
import { decodeDtb } from "@stopsim/devicetree";
import { Simulation, type TraceConsumer } from "@stopsim/engine";
import type { GuestKernel } from "@stopsim/guest";
import { KVM_CAP_PPC_GUEST_STOP, KVM_CAP_STOP } from "@stopsim/host";
import { CAPABILITY_TABLE, type Qemu } from "@stopsim/qemu";
import type { RunOutcome } from "./fleet.js";
import { type Hazards, hazardsSince, hazardText, observeHazards } from "./hazards.js";
import { type DesignSpec, findDesign, findHost, type HostPreset } from "./presets.js";
import {
  classifyIdle,
  createDesignGuest,
  DEFAULT_GUEST,
  diffCounts,
  type GuestOptions,
  type GuestRunState,
  guestIdleStates,
  guestRunState,
  qemuCommandLine,
  startQemu,
  startWorkload,
  vmCounters,
} from "./run.js";
import { bootSimHost, type SimHost } from "./stack.js";

export interface RunOptions {
  seed: number | string;
  durationNs: number;
  guest?: Partial<GuestOptions>;
  trace?: boolean;
  /** Extra hosts and designs (from a scenario file). */
  hosts?: readonly HostPreset[];
  designs?: readonly DesignSpec[];
  /** Appended to -machine, e.g. ",cap-stop-lite=off". */
  machineExtra?: string;
  /**
   * Streams the run's trace to this consumer as it goes (constant memory; the report then has no
   * `trace` string). The caller ends the stream.
   */
  traceTo?: TraceConsumer;
  /** The guest's machine type instead of the design's (e.g. the previous one, pseries-5.0). */
  machine?: string;
}

/** A run driven in slices: yields the simulated time reached, returns the report. */
export type RunSteps<R> = Generator<number, R>;

/** How a sliced run is driven: slice length, and a check after each slice (Ctrl-C). */
export interface SliceOptions {
  sliceNs: number;
  shouldStop?: () => boolean;
}

/** Drives a sliced run to its end synchronously. */
export function drain<R>(steps: RunSteps<R>): R {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** The design with the guest on another machine type. */
export function withMachine(design: DesignSpec, machine: string | undefined): DesignSpec {
  return machine === undefined ? design : { ...design, machine };
}

export interface HostReport {
  name: string;
  chip: string;
  firmware: string;
  kvmBuild: string;
  psscrPolicy: string;
  emulateStopTrap: boolean;
  idleStopGuestInDt: boolean;
  enableGuestStop: boolean;
  hostIdleStates: string[];
  kvmCapStop: number;
  kvmCapGuestStop: number;
}

export interface PhaseReport {
  host: string;
  durationNs: number;
  guestState: GuestRunState;
  outcome: RunOutcome;
  exits: Record<string, number>;
  emulatedStops: number;
  idleStates: Record<string, { usage: number; timeNs: number; above: number; below: number }>;
  /** What went wrong short of a crash in this phase (hazards.ts; snapshots as of its end). */
  hazards: Hazards;
}

export interface BootReport {
  design: string;
  seed: string;
  host: HostReport;
  qemu: {
    commandLine: string;
    started: boolean;
    error?: string;
    caps: Record<string, string>;
    stopLitePermitted: boolean;
    /**
     * The interrupt controller: QEMU's ic-mode, the controller CAS left active, and why (null when
     * the guest made no CAS call).
     */
    interruptController?: { mode: string; active: "xics" | "xive"; cas: string | null };
  };
  guest: {
    state: GuestRunState | "not-started";
    cpus: number;
    idleStatesOffered: string[];
    /**
     * The table pseries_idle_probe chose and why: lppaca_shared_proc(), i.e. the
     * LPPACA_OLD_SHARED_PROC bit of the VPA's __old_status byte the guest read back after
     * H_REGISTER_VPA; and the cpuidle governor.
     */
    cpuidleTable: {
      table: "shared_states" | "dedicated_states" | "none";
      lppacaOldStatus: number;
      sharedProc: boolean;
      governor: string;
    };
    idleStates: PhaseReport["idleStates"];
    consoleTail: string[];
    workload: Record<string, number>;
  };
  exits: Record<string, number>;
  emulatedStops: number;
  outcome: RunOutcome;
  /** Set when Ctrl-C ended the idle phase early: the simulated time it covers, ns. */
  stoppedAtNs?: number;
  /** What went wrong short of a crash, over the whole run, boot included (hazards.ts). */
  hazards: Hazards;
  trace?: string;
}

export function hostReport(h: SimHost): HostReport {
  const host = h.host;
  const { KVM_CAP_STOP, KVM_CAP_PPC_GUEST_STOP } = capNumbers;
  return {
    name: h.preset.name,
    chip: host.view.revision,
    firmware: h.preset.firmware,
    kvmBuild: host.build.name,
    psscrPolicy: host.build.psscrPolicy,
    emulateStopTrap: host.build.emulateStopTrap,
    idleStopGuestInDt: host.tree.getNode("/cpus/ibm,powerpc-cpu-features/idle-stop-guest") !== undefined,
    enableGuestStop: host.cpuSpec.enableGuestStop,
    hostIdleStates: host.idleStates.map((s) => s.name),
    kvmCapStop: host.kvm.checkExtension(KVM_CAP_STOP),
    kvmCapGuestStop: host.kvm.checkExtension(KVM_CAP_PPC_GUEST_STOP),
  };
}

const capNumbers = { KVM_CAP_STOP, KVM_CAP_PPC_GUEST_STOP };

export function capsRecord(q: Qemu): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of CAPABILITY_TABLE) {
    const level = q.caps[c.index];
    if (level === undefined) continue;
    out[`cap-${c.name}`] =
      c.type === "bool" ? (level ? "on" : "off") : (c.possible?.vals[level] ?? String(level));
  }
  return out;
}

export function stopLitePermitted(q: Qemu): boolean {
  const tree = decodeDtb(q.dtb);
  const cpus = tree.getNode("/cpus");
  const cpu = cpus?.children.find((n) => n.name.startsWith("PowerPC,"));
  return cpu?.getProp("ibm,stop-lite-permitted") !== undefined;
}

export function resolveGuest(opts: RunOptions): GuestOptions {
  return { ...DEFAULT_GUEST, ...(opts.guest ?? {}) };
}

export interface PhaseMark {
  exits: Record<string, number>;
  emulatedStops: number;
  hazards: Hazards;
  stop0lite: number;
  idle: PhaseReport["idleStates"];
  at: number;
}

export function mark(sim: Simulation, q: Qemu, k: GuestKernel, observe: () => Hazards): PhaseMark {
  const c = vmCounters(q);
  const idle = guestIdleStates(k);
  return {
    exits: c.exits,
    emulatedStops: c.emulatedStops,
    hazards: observe(),
    stop0lite: idle.stop0lite?.usage ?? 0,
    idle,
    at: sim.now,
  };
}

export function phaseSince(
  sim: Simulation,
  q: Qemu,
  k: GuestKernel,
  before: PhaseMark,
  hostName: string,
  observe: () => Hazards,
): PhaseReport {
  const now = mark(sim, q, k, observe);
  const state = guestRunState(k, q);
  const idleStates: PhaseReport["idleStates"] = {};
  for (const [name, s] of Object.entries(now.idle)) {
    const b = before.idle[name] ?? { usage: 0, timeNs: 0, above: 0, below: 0 };
    idleStates[name] = {
      usage: s.usage - b.usage,
      timeNs: s.timeNs - b.timeNs,
      above: s.above - b.above,
      below: s.below - b.below,
    };
  }
  const emulatedStops = now.emulatedStops - before.emulatedStops;
  return {
    host: hostName,
    durationNs: sim.now - before.at,
    guestState: state,
    outcome: classifyIdle(state, now.stop0lite - before.stop0lite, emulatedStops),
    exits: diffCounts(now.exits, before.exits),
    emulatedStops,
    idleStates,
    hazards: hazardsSince(now.hazards, before.hazards),
  };
}

/** `stopsim boot` / `stopsim idle`: firmware -> host kernel -> QEMU -> guest, then idle for a while. */
export function runBoot(hostName: string, designName: string, opts: RunOptions): BootReport {
  return drain(bootSteps(hostName, designName, opts));
}

/**
 * runBoot in slices of simulated time (`slices.sliceNs`; one slice without it), yielding the time
 * reached after each, so a caller can show progress and take Ctrl-C between slices; a true
 * `shouldStop()` ends the idle phase there (the report's `stoppedAtNs` says where).
 */
export function* bootSteps(
  hostName: string,
  designName: string,
  opts: RunOptions,
  slices?: SliceOptions,
): RunSteps<BootReport> {
  const preset = findHost(hostName, opts.hosts);
  const design = withMachine(findDesign(designName, opts.designs), opts.machine);
  const guestOpts = resolveGuest(opts);
  const sim = new Simulation({ seed: opts.seed, trace: opts.trace });
  if (opts.traceTo) sim.trace.streamTo(opts.traceTo);
  const h = bootSimHost(sim, preset, design);
  const kernel = createDesignGuest(sim, design, guestOpts);
  const commandLine = qemuCommandLine(design, guestOpts, opts.machineExtra ?? "");
  const started = startQemu(sim, h, design, kernel, commandLine, `qemu@${preset.name}`);
  const base = { design: design.name, seed: String(opts.seed), host: hostReport(h) };
  if (!started.ok) {
    return {
      ...base,
      qemu: { commandLine, started: false, error: started.error, caps: {}, stopLitePermitted: false },
      guest: {
        state: "not-started",
        cpus: 0,
        idleStatesOffered: [],
        cpuidleTable: { table: "none", lppacaOldStatus: 0, sharedProc: false, governor: guestOpts.governor },
        idleStates: {},
        consoleTail: [],
        workload: {},
      },
      exits: {},
      emulatedStops: 0,
      outcome: "failed-start",
      hazards: observeHazards(sim, [h], undefined, []),
    };
  }
  const q = started.qemu;
  const observe = () => observeHazards(sim, [h], kernel, [q]);
  const workload = startWorkload(sim, kernel, guestOpts.workload);
  const start = mark(sim, q, kernel, observe);
  const end = sim.now + opts.durationNs;
  let stoppedAtNs: number | undefined;
  if (slices === undefined) sim.runFor(opts.durationNs);
  else {
    while (sim.now < end) {
      sim.runUntil(Math.min(end, sim.now + slices.sliceNs));
      yield sim.now - start.at;
      if (sim.now < end && slices.shouldStop?.()) {
        stoppedAtNs = sim.now - start.at;
        break;
      }
    }
  }
  const phase = phaseSince(sim, q, kernel, start, preset.name, observe);
  const offered = kernel.cpuidleSysfs()[0]?.states.map((s) => s.name) ?? [];
  return {
    ...base,
    qemu: {
      commandLine,
      started: true,
      caps: capsRecord(q),
      stopLitePermitted: stopLitePermitted(q),
      interruptController: { mode: q.irq.mode, active: q.irq.active, cas: q.irq.cas?.reason ?? null },
    },
    guest: {
      state: phase.guestState,
      cpus: kernel.cpus.filter((c) => c?.online).length,
      idleStatesOffered: offered,
      cpuidleTable: cpuidleTable(kernel, guestOpts.governor),
      idleStates: phase.idleStates,
      consoleTail: kernel.console.dmesg().slice(-8),
      workload: workload(),
    },
    exits: phase.exits,
    emulatedStops: phase.emulatedStops,
    outcome: phase.outcome,
    hazards: observe(),
    ...(stoppedAtNs !== undefined ? { stoppedAtNs } : {}),
    ...(opts.trace && !opts.traceTo
      ? { trace: sim.trace.toJSON({ seed: String(opts.seed), command: `boot ${hostName} ${designName}` }) }
      : {}),
  };
}

export function bootDetail(r: BootReport): string {
  if (r.outcome === "failed-start") return firstLine(r.qemu.error ?? "QEMU refused to start");
  const stop = r.guest.idleStates.stop0lite;
  const trapped = r.emulatedStops;
  const hazards = hazardText(r.hazards);
  return `guest ${r.guest.state}; stop0lite ${stop ? `used ${stop.usage}x` : "not offered"}${trapped ? `, ${trapped} stop traps emulated` : ""}; exits ${
    Object.entries(r.exits)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ") || "none"
  }${hazards ? `; ${hazards}` : ""}`;
}

/** pseries_idle_probe's choice as the guest reports it (kernel.driver: table, VPA byte). */
export function cpuidleTable(kernel: GuestKernel, governor: string): BootReport["guest"]["cpuidleTable"] {
  const d = kernel.driver;
  if (d === null) return { table: "none", lppacaOldStatus: 0, sharedProc: false, governor };
  return {
    table: d.shared ? "shared_states" : "dedicated_states",
    lppacaOldStatus: d.lppacaOldStatus,
    sharedProc: d.shared,
    governor,
  };
}

/** Entries into every cpuidle state: each is the guest kernel running its idle loop (stop0lite as much as snooze or CEDE). */
export function idleEntries(idle: Record<string, { usage: number } | undefined>): number {
  let n = 0;
  for (const s of Object.values(idle)) n += s?.usage ?? 0;
  return n;
}

export function firstLine(s: string): string {
  return s.split("\n")[0].replace(/^qemu-system-ppc64: /, "");
}
