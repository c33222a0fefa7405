import { NS_PER_MS, NS_PER_S, Simulation } from "@stopsim/engine";
import {
  type Domain,
  type DomainCapabilities,
  type DomainDef,
  domainCommandLine,
  migrateDomain,
  VirError,
} from "@stopsim/libvirt";
import { type MigrationInfo, MigrationNetwork, type Qemu } from "@stopsim/qemu";
import { UsageError } from "./errors.js";
import type { RunOutcome } from "./fleet.js";
import { type Hazards, hazardText, NO_HAZARDS, observeHazards } from "./hazards.js";
import { domainDefFor, manageHost, parseCaps } from "./management.js";
import { MATRIX_WORKLOAD } from "./matrix.js";
import { findDesign, findHost } from "./presets.js";
import {
  createDesignGuest,
  type GuestRunState,
  guestIdleStates,
  guestRunState,
  startWorkload,
} from "./run.js";
import {
  firstLine,
  idleEntries,
  mark,
  type PhaseMark,
  type PhaseReport,
  phaseSince,
  type RunOptions,
  resolveGuest,
  withMachine,
} from "./scenarios.js";
import { bootSimHost } from "./stack.js";

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
    /** The interrupt controller the guest ran on before and after (a completed migration). */
    interruptController?: { source: "xics" | "xive"; destination: "xics" | "xive" };
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
 * How long the operator waits on a migration whose query-migrate shows neither a new status nor
 * one more byte sent before calling it stuck, ns of guest time: what `virsh domjobinfo` shows of a
 * stop-and-copy whose vm_stop waits for a vCPU that never leaves the guest (qemu:
 * migration/migration.c migration_completion, cpus.c pause_all_vcpus). A limit of the tool, so that
 * a run ends with an outcome instead of waiting for ever, not a figure of the real system.
 */
export const MIGRATION_STALL_NS = 60 * NS_PER_S;

/** query-migrate on the source, and how long it has shown the same status and bytes sent. */
function progressWatch(sim: Simulation, q: Qemu): () => { info: MigrationInfo; stalledNs: number } {
  let last = "";
  let since = sim.now;
  return () => {
    // a QEMU that exited answers nothing: whatever ends the job there is not a stall
    if (q.exitStatus !== undefined) return { info: { status: "none" }, stalledNs: 0 };
    const info = q.qmp("query-migrate") as MigrationInfo;
    const key = `${info.status}:${info.ram?.transferred ?? 0}`;
    if (key !== last) {
      last = key;
      since = sim.now;
    }
    return { info, stalledNs: sim.now - since };
  };
}

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
  const dstDef = opts.destCaps ? destDefinition(srcDef, opts.destCaps) : srcDef;

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
  const sourceIrq = q1?.irq;
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
  // vCPUs a vm_stop still waits for (qemu: cpus.c pause_all_vcpus waits until none is in KVM_RUN)
  const inKvmText = () => {
    const ids = q1.vcpus.filter((v) => v.inKvm).map((v) => v.id);
    return ids.length > 0 ? `, vCPU ${ids.join(", ")} still in KVM_RUN` : "";
  };
  // a migration that stopped moving: the run ends there, the source left as the stall found it
  const stalled = (info: MigrationInfo, startNs: number) => ({
    ...base,
    source: { started: true, phase: p1 },
    destination: { started: true },
    migration: { status: info.status, totalTimeNs: sim.now - startNs, managementLayer: layer },
    outcome: "hung" as const,
    detail: `migration stuck in ${info.status} for ${MIGRATION_STALL_NS / NS_PER_S} s (${info.ram?.transferred ?? 0} of ${info.ram?.total ?? 0} bytes sent); source QEMU ${q1.status}${inKvmText()}`,
    ...traceOut(),
  });

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
    const jobStart = sim.now;
    const watch = progressWatch(sim, q1);
    while (!job.done) {
      sim.runFor(NS_PER_MS);
      if (job.done) break;
      const w = watch();
      if (w.stalledNs >= MIGRATION_STALL_NS) return stalled(w.info, jobStart);
    }
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
  const watch = progressWatch(sim, q1);
  let info = watch().info;
  while (info.status === "active" || info.status === "device" || info.status === "setup") {
    sim.runFor(NS_PER_MS);
    const w = watch();
    info = w.info;
    if (w.stalledNs >= MIGRATION_STALL_NS) return stalled(info, migrateStart);
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
      migration: {
        ...migration,
        ...(sourceIrq !== undefined
          ? { interruptController: { source: sourceIrq.active, destination: q.irq.active } }
          : {}),
      },
      outcome: p2.outcome,
      detail: `${p1.outcome} on ${fromPreset.name}, ${p2.outcome} on ${toPreset.name}${hazards.length ? `; ${hazards.join("; ")}` : ""}`,
      ...traceOut(),
    };
  }
}

/** The destination's definition: the source's with `--dest-caps` applied (ic-mode=... sets the mode). */
function destDefinition(src: DomainDef, destCaps: Record<string, string>): DomainDef {
  const { "ic-mode": icMode, ...caps } = destCaps;
  if (icMode !== undefined && icMode !== "xics" && icMode !== "xive" && icMode !== "dual") {
    throw new UsageError(`--dest-caps ic-mode='${icMode}' is not xics, xive or dual`);
  }
  return { ...src, ...(icMode !== undefined ? { icMode } : {}), caps: { ...src.caps, ...caps } };
}
