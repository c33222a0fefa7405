// The app's simulations: boot (and idle), migrate, and the design x host-pair matrix. Each builds
// one Simulation with real hosts, QEMU and the guest kernel, runs it, and reports what the layers
// did; outcomes are classified from those reports.
import { decodeDtb } from "@stopsim/devicetree";
import { NS_PER_MS, Simulation, type TraceConsumer } from "@stopsim/engine";
import type { GuestKernel } from "@stopsim/guest";
import { KVM_CAP_PPC_GUEST_STOP, KVM_CAP_STOP } from "@stopsim/host";
import {
  type Domain,
  type DomainCapabilities,
  domainCommandLine,
  migrateDomain,
  VirError,
} from "@stopsim/libvirt";
import { CAPABILITY_TABLE, type MigrationInfo, MigrationNetwork, type Qemu } from "@stopsim/qemu";
import { RUN_OUTCOMES, type RunOutcome } from "./fleet.js";
import {
  HAZARD_KINDS,
  type HazardKind,
  type Hazards,
  hazardKinds,
  hazardsSince,
  hazardText,
  NO_HAZARDS,
  observeHazards,
} from "./hazards.js";
import { domainDefFor, manageHost, parseCaps } from "./management.js";
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
  type WorkloadName,
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
function withMachine(design: DesignSpec, machine: string | undefined): DesignSpec {
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

function hostReport(h: SimHost): HostReport {
  const host = h.host;
  const { KVM_CAP_STOP, KVM_CAP_PPC_GUEST_STOP } = capNumbers;
  return {
    name: h.preset.name,
    chip: host.chip.name,
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

function capsRecord(q: Qemu): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of CAPABILITY_TABLE) {
    const level = q.caps[c.index];
    if (level === undefined) continue;
    out[`cap-${c.name}`] =
      c.type === "bool" ? (level ? "on" : "off") : (c.possible?.vals[level] ?? String(level));
  }
  return out;
}

function stopLitePermitted(q: Qemu): boolean {
  const tree = decodeDtb(q.dtb);
  const cpus = tree.getNode("/cpus");
  const cpu = cpus?.children.find((n) => n.name.startsWith("PowerPC,"));
  return cpu?.getProp("ibm,stop-lite-permitted") !== undefined;
}

function resolveGuest(opts: RunOptions): GuestOptions {
  return { ...DEFAULT_GUEST, ...(opts.guest ?? {}) };
}

interface PhaseMark {
  exits: Record<string, number>;
  emulatedStops: number;
  hazards: Hazards;
  stop0lite: number;
  idle: PhaseReport["idleStates"];
  at: number;
}

function mark(sim: Simulation, q: Qemu, k: GuestKernel, observe: () => Hazards): PhaseMark {
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

function phaseSince(
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
    qemu: { commandLine, started: true, caps: capsRecord(q), stopLitePermitted: stopLitePermitted(q) },
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

export interface MigrateReport {
  design: string;
  from: string;
  to: string;
  seed: string;
  source: { started: boolean; error?: string; phase?: PhaseReport };
  destination: { started: boolean; error?: string; phase?: PhaseReport };
  migration: {
    status: string;
    errorDesc?: string;
    totalTimeNs?: number;
    downtimeNs?: number;
    sourceAfter?: {
      status: string;
      guestState: GuestRunState;
      progressed: boolean;
      /** The source's CPUs were stopped at some point of the attempt (QMP STOP). */
      wasPaused?: boolean;
    };
    /** Who drove the migration: libvirt's QEMU driver, or QEMU alone over QMP (--no-libvirt). */
    managementLayer?: "libvirt" | "none";
    /** libvirt's migration phases run, in order, and the one that failed. */
    phases?: string[];
    failedPhase?: string;
    /** libvirt's error (virError: code, domain, level, message). */
    virError?: { code: number; domain: number; level: number; message: string };
    /** libvirtd's debug log of the job (with --verbose). */
    log?: string[];
  };
  outcome: RunOutcome;
  detail: string;
  /** What went wrong short of a crash on either host, over the whole run (hazards.ts). */
  hazards: Hazards;
  trace?: string;
}

export interface MigrateOptions extends RunOptions {
  /** QEMU alone (no management layer): QMP migrate-incoming, migrate, query-migrate, nothing else. */
  noLibvirt?: boolean;
  /** migrate-set-capabilities return-path on both sides. */
  returnPath?: boolean;
  /** Caps of the destination's definition (virsh migrate --xml), e.g. { "stop-lite": "off" }. */
  destCaps?: Record<string, string>;
  /** Keep libvirtd's debug log of the job in the report. */
  verbose?: boolean;
}

const MIGRATION_URI_LISTEN = "tcp:[::]:49152";

/**
 * virConnectGetDomainCapabilities on a host of `hostName` under `designName`: which machine
 * types start there with their default caps (one -S probe process each).
 */
export function hostDomainCapabilities(
  hostName: string,
  designName: string,
  opts: RunOptions,
): DomainCapabilities {
  const preset = findHost(hostName, opts.hosts);
  const design = withMachine(findDesign(designName, opts.designs), opts.machine);
  const guestOpts = resolveGuest(opts);
  const sim = new Simulation({ seed: opts.seed });
  const h = bootSimHost(sim, preset, design);
  const kernel = createDesignGuest(sim, design, guestOpts);
  const m = manageHost(sim, h, preset.name, design, kernel, new MigrationNetwork());
  return m.driver.getDomainCapabilities(domainDefFor(design, guestOpts, {}));
}

/**
 * `stopsim migrate`: boots on H1 (libvirt: virDomainCreateXML), idles, migrates to H2 through
 * libvirt's QEMU driver (or QEMU alone with `noLibvirt`), runs there. A refusal is what the
 * management layer reports, with the state it left the source in.
 */
export function runMigrate(
  fromName: string,
  toName: string,
  designName: string,
  opts: MigrateOptions,
): MigrateReport {
  const seen: { observe?: () => Hazards } = {};
  const r = migrateOnce(fromName, toName, designName, opts, seen);
  return { ...r, hazards: seen.observe?.() ?? NO_HAZARDS };
}

function migrateOnce(
  fromName: string,
  toName: string,
  designName: string,
  opts: MigrateOptions,
  seen: { observe?: () => Hazards },
): Omit<MigrateReport, "hazards"> {
  const fromPreset = findHost(fromName, opts.hosts);
  const toPreset = findHost(toName, opts.hosts);
  const design = withMachine(findDesign(designName, opts.designs), opts.machine);
  // the matrix's workload by default: the guest must enter stop0lite on both hosts (see runMatrixCell)
  const guestOpts = resolveGuest({ ...opts, guest: { workload: MATRIX_WORKLOAD, ...(opts.guest ?? {}) } });
  const sim = new Simulation({ seed: opts.seed, trace: opts.trace });
  if (opts.traceTo) sim.trace.streamTo(opts.traceTo);
  const h1 = bootSimHost(sim, fromPreset, design, `${fromPreset.name}#1`);
  const h2 = bootSimHost(sim, toPreset, design, `${toPreset.name}#2`);
  const kernel = createDesignGuest(sim, design, guestOpts);
  const base = { design: design.name, from: fromPreset.name, to: toPreset.name, seed: String(opts.seed) };
  const layer: "libvirt" | "none" = opts.noLibvirt ? "none" : "libvirt";
  const traceOut = () =>
    opts.trace && !opts.traceTo
      ? {
          trace: sim.trace.toJSON({
            seed: String(opts.seed),
            command: `migrate ${fromName} ${toName} ${designName}`,
          }),
        }
      : {};
  const log: string[] = [];
  const network = new MigrationNetwork();
  const m1 = manageHost(sim, h1, `${fromPreset.name}-1`, design, kernel, network, (l) => log.push(l));
  const m2 = manageHost(sim, h2, `${toPreset.name}-2`, design, kernel, network, (l) => log.push(l));
  // every QEMU process that ran the guest (libvirt forgets the source's once it has quit)
  const qemus = new Set<Qemu>();
  const observe = () => {
    for (const q of [...m1.processes.values(), ...m2.processes.values()]) qemus.add(q);
    return observeHazards(sim, [h1, h2], kernel, [...qemus]);
  };
  seen.observe = observe;
  const srcDef = domainDefFor(design, guestOpts, parseCaps(opts.machineExtra ?? ""));
  const dstDef = opts.destCaps ? { ...srcDef, caps: { ...srcDef.caps, ...opts.destCaps } } : srcDef;

  let dom: Domain;
  try {
    dom = m1.driver.createDomain(srcDef);
  } catch (e) {
    if (!(e instanceof VirError)) throw e;
    return {
      ...base,
      source: { started: false, error: e.message },
      destination: { started: false },
      migration: { status: "none", managementLayer: layer },
      outcome: "failed-start",
      detail: firstLine(e.message),
      ...traceOut(),
    };
  }
  const q1 = m1.processes.get(srcDef.name);
  if (q1 === undefined) throw new Error("libvirt started the domain without a QEMU process");
  const workload = startWorkload(sim, kernel, guestOpts.workload);
  const mk0 = mark(sim, q1, kernel, observe);
  sim.runFor(opts.durationNs);
  const p1 = phaseSince(sim, q1, kernel, mk0, fromPreset.name, observe);
  if (p1.guestState !== "running") {
    return {
      ...base,
      source: { started: true, phase: p1 },
      destination: { started: false },
      migration: { status: "none", managementLayer: layer },
      outcome: p1.outcome,
      detail: `guest ${p1.guestState} on ${fromPreset.name} before the migration`,
      ...traceOut(),
    };
  }
  const stopsBefore = q1.events.length;
  const sourceAfter = () => {
    const before = workload();
    const g0 = mark(sim, q1, kernel, observe);
    sim.runFor(opts.durationNs);
    const after = workload();
    const progressed =
      Object.keys(after).some((k) => (after[k] ?? 0) !== (before[k] ?? 0)) ||
      idleEntries(guestIdleStates(kernel)) > idleEntries(g0.idle);
    const wasPaused = q1.events.slice(stopsBefore).some((e) => e.event === "STOP");
    return { status: q1.status, guestState: guestRunState(kernel, q1), progressed, wasPaused };
  };
  const pausedText = (a: { wasPaused: boolean; status: string }) =>
    a.status === "running"
      ? a.wasPaused
        ? "running again (paused during the attempt)"
        : "running, never paused"
      : `left ${a.status}`;

  let status = "none";
  let errorDesc: string | undefined;
  let totalTimeNs: number | undefined;
  let downtimeNs: number | undefined;
  let q2: Qemu | undefined;
  if (layer === "libvirt") {
    const job = migrateDomain(dom, m2.driver, {
      returnPath: opts.returnPath === true,
      ...(opts.destCaps ? { destDef: dstDef } : {}),
    });
    while (!job.done) sim.runFor(NS_PER_MS);
    const r = job.result;
    if (r === undefined) throw new Error("the migration job ended without a result");
    const qm = r.queryMigrate ?? {};
    status = typeof qm.status === "string" ? qm.status : "none";
    errorDesc = typeof qm["error-desc"] === "string" ? qm["error-desc"] : undefined;
    downtimeNs = typeof qm.downtime === "number" ? qm.downtime * NS_PER_MS : undefined;
    totalTimeNs = r.totalNs;
    const managed = {
      managementLayer: layer,
      phases: [...r.phases],
      ...(opts.verbose ? { log: [...log] } : {}),
    };
    if (!r.ok) {
      const err = r.error;
      const after = sourceAfter();
      return {
        ...base,
        source: { started: true, phase: p1 },
        destination: {
          started: r.failedPhase !== "prepare",
          ...(err ? { error: err.message } : {}),
        },
        migration: {
          status,
          ...(errorDesc ? { errorDesc } : {}),
          sourceAfter: after,
          ...managed,
          ...(r.failedPhase ? { failedPhase: r.failedPhase } : {}),
          ...(err ? { virError: err.toJSON() } : {}),
        },
        outcome: "refused",
        detail: `refused in ${r.failedPhase ?? "?"}: ${firstLine(err?.message ?? "unknown error")}; source ${pausedText(after)}`,
        ...traceOut(),
      };
    }
    q2 = m2.processes.get(srcDef.name);
    return finishMigrate(q2, { status, totalTimeNs, downtimeNs, ...managed });
  }

  // QEMU alone: the destination with -S -incoming defer, migrate-incoming, QMP migrate, poll
  const dst = m2.launcher(domainCommandLine(dstDef, { incoming: true }), { name: dstDef.name });
  if (!dst.ok) {
    const after = sourceAfter();
    return {
      ...base,
      source: { started: true, phase: p1 },
      destination: { started: false, error: dst.stderr },
      migration: { status: "none", sourceAfter: after, managementLayer: layer },
      outcome: "refused",
      detail: `destination QEMU refused to start: ${firstLine(dst.stderr)}; source ${pausedText(after)}`,
      ...traceOut(),
    };
  }
  q2 = m2.processes.get(dstDef.name);
  const cap = [{ capability: "return-path", state: opts.returnPath === true }];
  dst.process.qmp("migrate-set-capabilities", { capabilities: cap });
  dst.process.qmp("migrate-incoming", { uri: MIGRATION_URI_LISTEN });
  q1.qmp("migrate-set-capabilities", { capabilities: cap });
  const migrateStart = sim.now;
  q1.qmp("migrate", { uri: `tcp:${m2.driver.hostname}:49152` });
  let info = q1.qmp("query-migrate") as MigrationInfo;
  while (info.status === "active" || info.status === "device" || info.status === "setup") {
    sim.runFor(NS_PER_MS);
    info = q1.qmp("query-migrate") as MigrationInfo;
  }
  status = info.status;
  errorDesc = info["error-desc"];
  totalTimeNs = sim.now - migrateStart;
  downtimeNs = info.downtime !== undefined ? info.downtime * NS_PER_MS : undefined;
  const dstExited = dst.process.exitStatus !== undefined;
  if (status !== "completed" || dstExited) {
    const destErr = dst.process.stderr ? firstLine(dst.process.stderr) : undefined;
    const after = sourceAfter();
    // QEMU alone, no return path: "completed", the destination gone, the source paused for good
    const stuck = status === "completed" && after.status === "postmigrate";
    return {
      ...base,
      source: { started: true, phase: p1 },
      destination: { started: true, ...(destErr ? { error: destErr } : {}) },
      migration: {
        status,
        ...(errorDesc ? { errorDesc } : {}),
        ...(downtimeNs !== undefined ? { downtimeNs } : {}),
        totalTimeNs,
        sourceAfter: after,
        managementLayer: layer,
      },
      outcome: stuck ? "hung" : "refused",
      detail: stuck
        ? `QEMU alone: migration ${status}, destination exited (${destErr ?? "?"}); source left ${after.status}, its guest stopped`
        : `migration ${status}: ${destErr ?? errorDesc ?? "unknown"}; source ${pausedText(after)}`,
      ...traceOut(),
    };
  }
  dst.process.qmp("cont");
  return finishMigrate(q2, { status, totalTimeNs, downtimeNs, managementLayer: layer });

  function finishMigrate(
    q: Qemu | undefined,
    migration: MigrateReport["migration"],
  ): Omit<MigrateReport, "hazards"> {
    if (q === undefined) throw new Error("the destination QEMU is missing after a completed migration");
    const mk1 = mark(sim, q, kernel, observe);
    // the destination VM's counters start at zero; the guest's own counters carry over
    const p2Start: PhaseMark = { ...mk1, exits: {}, emulatedStops: 0 };
    sim.runFor(opts.durationNs);
    const p2 = phaseSince(sim, q, kernel, p2Start, toPreset.name, observe);
    const hazards = [p1, p2]
      .map((p) => (hazardText(p.hazards) ? `on ${p.host}: ${hazardText(p.hazards)}` : ""))
      .filter((x) => x !== "");
    return {
      ...base,
      source: { started: true, phase: p1 },
      destination: { started: true, phase: p2 },
      migration,
      outcome: p2.outcome,
      detail: `${p1.outcome} on ${fromPreset.name}, ${p2.outcome} on ${toPreset.name}${hazards.length ? `; ${hazards.join("; ")}` : ""}`,
      ...traceOut(),
    };
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0].replace(/^qemu-system-ppc64: /, "");
}

/** The default guest workload of the matrix and of migrations (see runMatrixCell). */
export const MATRIX_WORKLOAD: WorkloadName = "mixed";

/** One seed of a matrix cell: what the run reported. */
export interface MatrixSeedResult {
  seed: number | string;
  outcome: RunOutcome;
  detail: string;
  hazards: Hazards;
}

/** A matrix cell over its seeds: the distribution of outcomes and the seeds of each minority. */
export interface MatrixRow {
  design: string;
  from: string;
  to: string;
  /** The majority outcome (ties: the first in RUN_OUTCOMES order). */
  outcome: RunOutcome;
  /** The detail of the first seed with the majority outcome. */
  detail: string;
  /** Seeds per outcome, only outcomes that occurred, majority first. */
  outcomes: Partial<Record<RunOutcome, number>>;
  /** Every outcome other than the majority, with the seeds that gave it (replay one with --seed). */
  minority: { outcome: RunOutcome; seeds: (number | string)[] }[];
  /** Every seed's result, in the order of the seed list. */
  seeds: MatrixSeedResult[];
  /** Each hazard kind any seed counted, with those seeds. */
  hazards: { kind: HazardKind; seeds: (number | string)[] }[];
  /** Hazards in a seed whose outcome was clean (native, emulated, not-used): the table's mark. */
  hazardMark: boolean;
}

/** Outcomes that are not failures: a hazard in such a run is otherwise invisible. */
export const CLEAN_OUTCOMES: readonly RunOutcome[] = ["native", "emulated", "not-used"];

export interface MatrixOptions extends RunOptions {
  designNames?: string[];
  hostNames?: string[];
}

/** A matrix cell's key: one design, one ordered host pair (from === to: boot and idle on one host). */
export interface MatrixCell {
  design: string;
  from: string;
  to: string;
}

/** The cells of the matrix: every design x every ordered host pair, scenario ones first. */
export function matrixCells(opts: MatrixOptions): MatrixCell[] {
  const designs = opts.designNames ?? [
    ...(opts.designs ?? []).map((d) => d.name),
    "upstream-2020",
    "rfc-as-posted",
    "host-probed",
    "emulate-fallback",
    "spapr-cap",
  ];
  const hosts = opts.hostNames ?? [
    ...(opts.hosts ?? []).map((h) => h.name),
    "dd2.2-old",
    "dd2.3-old",
    "dd2.2",
    "dd2.3",
  ];
  const cells: MatrixCell[] = [];
  for (const design of designs) {
    for (const from of hosts) for (const to of hosts) cells.push({ design, from, to });
  }
  return cells;
}

/** One seed of one cell: a boot (from === to) or a migration, through every layer. */
export function runMatrixCell(cell: MatrixCell, opts: RunOptions): MatrixSeedResult {
  // Each cell must exercise its guest's stop0lite path. The 2020 default governor (menu) under the
  // timers workload falls into snooze-timeout chains on its 100 us CPU and seldom enters stop0lite
  // (packages/guest/README.md); the random mix of compute and sleeps gives menu varied idle
  // periods, and it enters stop0lite hundreds of times in a few ms. A workload given by the caller
  // wins.
  const o = { ...opts, trace: false, guest: { workload: MATRIX_WORKLOAD, ...(opts.guest ?? {}) } };
  if (cell.from === cell.to) {
    const r = runBoot(cell.from, cell.design, o);
    return { seed: opts.seed, outcome: r.outcome, detail: bootDetail(r), hazards: r.hazards };
  }
  const r = runMigrate(cell.from, cell.to, cell.design, o);
  return { seed: opts.seed, outcome: r.outcome, detail: r.detail, hazards: r.hazards };
}

/** A cell's row from its seeds' results (given in seed-list order). */
export function matrixRow(cell: MatrixCell, results: readonly MatrixSeedResult[]): MatrixRow {
  const counts = new Map<RunOutcome, (number | string)[]>();
  for (const o of RUN_OUTCOMES) counts.set(o, []);
  for (const r of results) counts.get(r.outcome)?.push(r.seed);
  const ranked = RUN_OUTCOMES.filter((o) => (counts.get(o)?.length ?? 0) > 0).sort(
    (a, b) => (counts.get(b)?.length ?? 0) - (counts.get(a)?.length ?? 0),
  );
  const majority = ranked[0];
  const outcomes: Partial<Record<RunOutcome, number>> = {};
  for (const o of ranked) outcomes[o] = counts.get(o)?.length ?? 0;
  return {
    ...cell,
    outcome: majority,
    detail: results.find((r) => r.outcome === majority)?.detail ?? "",
    outcomes,
    minority: ranked.slice(1).map((o) => ({ outcome: o, seeds: counts.get(o) ?? [] })),
    seeds: [...results],
    hazards: HAZARD_KINDS.map((kind) => ({
      kind,
      seeds: results.filter((r) => r.hazards[kind] > 0).map((r) => r.seed),
    })).filter((h) => h.seeds.length > 0),
    hazardMark: results.some((r) => CLEAN_OUTCOMES.includes(r.outcome) && hazardKinds(r.hazards).length > 0),
  };
}

/**
 * Every design x every ordered host pair over `seeds`, in this process, one run after another
 * (`runMatrixPool` spreads the same runs over worker processes).
 */
export function runMatrix(
  opts: MatrixOptions & { seeds?: readonly (number | string)[]; onRow?: (r: MatrixRow) => void },
): MatrixRow[] {
  const seeds = opts.seeds ?? [opts.seed];
  const rows: MatrixRow[] = [];
  for (const cell of matrixCells(opts)) {
    const row = matrixRow(
      cell,
      seeds.map((seed) => runMatrixCell(cell, { ...opts, seed })),
    );
    rows.push(row);
    opts.onRow?.(row);
  }
  return rows;
}

function bootDetail(r: BootReport): string {
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
function cpuidleTable(kernel: GuestKernel, governor: string): BootReport["guest"]["cpuidleTable"] {
  const d = kernel.driver;
  if (d === null) return { table: "none", lppacaOldStatus: 0, sharedProc: false, governor };
  return {
    table: d.shared ? "shared_states" : "dedicated_states",
    lppacaOldStatus: d.lppacaOldStatus,
    sharedProc: d.shared,
    governor,
  };
}

/** Entries into the idle states that do not stop the thread (snooze and either CEDE table's). */
function idleEntries(idle: Record<string, { usage: number } | undefined>): number {
  return (idle.snooze?.usage ?? 0) + (idle.CEDE?.usage ?? 0) + (idle["Shared Cede"]?.usage ?? 0);
}
