// The app's simulations: boot (and idle), migrate, and the design x host-pair matrix. Each builds
// one Simulation with real hosts, QEMU and the guest kernel, runs it, and reports what the layers
// did; outcomes are classified from those reports.
import { decodeDtb } from "@stopsim/devicetree";
import { NS_PER_MS, Simulation } from "@stopsim/engine";
import type { GuestKernel } from "@stopsim/guest";
import { KVM_CAP_PPC_GUEST_STOP, KVM_CAP_STOP } from "@stopsim/host";
import { CAPABILITY_TABLE, type Qemu, QmpError } from "@stopsim/qemu";
import { RUN_OUTCOMES, type RunOutcome } from "./fleet.js";
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
    idleStates: PhaseReport["idleStates"];
    consoleTail: string[];
    workload: Record<string, number>;
  };
  exits: Record<string, number>;
  emulatedStops: number;
  outcome: RunOutcome;
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
  stop0lite: number;
  idle: PhaseReport["idleStates"];
  at: number;
}

function mark(sim: Simulation, q: Qemu, k: GuestKernel): PhaseMark {
  const c = vmCounters(q);
  const idle = guestIdleStates(k);
  return {
    exits: c.exits,
    emulatedStops: c.emulatedStops,
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
): PhaseReport {
  const now = mark(sim, q, k);
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
  };
}

/** `stopsim boot` / `stopsim idle`: firmware -> host kernel -> QEMU -> guest, then idle for a while. */
export function runBoot(hostName: string, designName: string, opts: RunOptions): BootReport {
  const preset = findHost(hostName, opts.hosts);
  const design = findDesign(designName, opts.designs);
  const guestOpts = resolveGuest(opts);
  const sim = new Simulation({ seed: opts.seed, trace: opts.trace });
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
        idleStates: {},
        consoleTail: [],
        workload: {},
      },
      exits: {},
      emulatedStops: 0,
      outcome: "failed-start",
    };
  }
  const q = started.qemu;
  const workload = startWorkload(sim, kernel, guestOpts.workload);
  const start = mark(sim, q, kernel);
  sim.runFor(opts.durationNs);
  const phase = phaseSince(sim, q, kernel, start, preset.name);
  const offered = kernel.cpuidleSysfs()[0]?.states.map((s) => s.name) ?? [];
  return {
    ...base,
    qemu: { commandLine, started: true, caps: capsRecord(q), stopLitePermitted: stopLitePermitted(q) },
    guest: {
      state: phase.guestState,
      cpus: kernel.cpus.filter((c) => c?.online).length,
      idleStatesOffered: offered,
      idleStates: phase.idleStates,
      consoleTail: kernel.console.dmesg().slice(-8),
      workload: workload(),
    },
    exits: phase.exits,
    emulatedStops: phase.emulatedStops,
    outcome: phase.outcome,
    ...(opts.trace
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
    sourceAfter?: { status: string; guestState: GuestRunState; progressed: boolean };
  };
  outcome: RunOutcome;
  detail: string;
  trace?: string;
}

/** `stopsim migrate`: boots on H1, idles, migrates to H2, runs there. */
export function runMigrate(
  fromName: string,
  toName: string,
  designName: string,
  opts: RunOptions,
): MigrateReport {
  const fromPreset = findHost(fromName, opts.hosts);
  const toPreset = findHost(toName, opts.hosts);
  const design = findDesign(designName, opts.designs);
  const guestOpts = resolveGuest(opts);
  const sim = new Simulation({ seed: opts.seed, trace: opts.trace });
  const h1 = bootSimHost(sim, fromPreset, design, `${fromPreset.name}#1`);
  const h2 = bootSimHost(sim, toPreset, design, `${toPreset.name}#2`);
  const kernel = createDesignGuest(sim, design, guestOpts);
  const base = { design: design.name, from: fromPreset.name, to: toPreset.name, seed: String(opts.seed) };
  const traceOut = () =>
    opts.trace
      ? {
          trace: sim.trace.toJSON({
            seed: String(opts.seed),
            command: `migrate ${fromName} ${toName} ${designName}`,
          }),
        }
      : {};
  const src = startQemu(
    sim,
    h1,
    design,
    kernel,
    qemuCommandLine(design, guestOpts, opts.machineExtra ?? ""),
    "qemu-src",
  );
  if (!src.ok) {
    return {
      ...base,
      source: { started: false, error: src.error },
      destination: { started: false },
      migration: { status: "none" },
      outcome: "failed-start",
      detail: firstLine(src.error),
      ...traceOut(),
    };
  }
  const q1 = src.qemu;
  const workload = startWorkload(sim, kernel, guestOpts.workload);
  const m0 = mark(sim, q1, kernel);
  sim.runFor(opts.durationNs);
  const p1 = phaseSince(sim, q1, kernel, m0, fromPreset.name);
  if (p1.guestState !== "running") {
    return {
      ...base,
      source: { started: true, phase: p1 },
      destination: { started: false },
      migration: { status: "none" },
      outcome: p1.outcome,
      detail: `guest ${p1.guestState} on ${fromPreset.name} before the migration`,
      ...traceOut(),
    };
  }
  const dst = startQemu(
    sim,
    h2,
    design,
    kernel,
    qemuCommandLine(design, guestOpts, opts.machineExtra ?? "", true),
    "qemu-dst",
  );
  const sourceAfter = () => {
    const before = workload();
    const g0 = mark(sim, q1, kernel);
    sim.runFor(opts.durationNs);
    const after = workload();
    const progressed =
      Object.keys(after).some((k) => (after[k] ?? 0) !== (before[k] ?? 0)) ||
      (guestIdleStates(kernel).snooze?.usage ?? 0) + (guestIdleStates(kernel).CEDE?.usage ?? 0) >
        (g0.idle.snooze?.usage ?? 0) + (g0.idle.CEDE?.usage ?? 0);
    return { status: q1.status, guestState: guestRunState(kernel, q1), progressed };
  };
  if (!dst.ok) {
    const after = sourceAfter();
    return {
      ...base,
      source: { started: true, phase: p1 },
      destination: { started: false, error: dst.error },
      migration: { status: "failed", errorDesc: firstLine(dst.error), sourceAfter: after },
      outcome: "refused",
      detail: `destination refused to start: ${firstLine(dst.error)}; source ${after.status}`,
      ...traceOut(),
    };
  }
  const q2 = dst.qemu;
  let status: string;
  let errorDesc: string | undefined;
  let totalTimeNs: number | undefined;
  let downtimeNs: number | undefined;
  try {
    q2.qmp("migrate-incoming", { uri: "tcp:[::]:49152" });
    q1.qmp("migrate-set-capabilities", { capabilities: [{ capability: "return-path", state: true }] });
    const migrateStart = sim.now;
    const m = q1.migrate(q2);
    while (m.status === "active" || m.status === "device" || m.status === "setup") sim.runFor(NS_PER_MS);
    const info = m.info();
    status = info.status;
    errorDesc = info["error-desc"];
    totalTimeNs = m.endNs !== undefined ? m.endNs - migrateStart : undefined;
    downtimeNs = m.downtimeNs;
  } catch (e) {
    if (!(e instanceof QmpError)) throw e;
    status = "failed";
    errorDesc = e.message;
  }
  if (status !== "completed") {
    const destErr = q2.incomingError?.message ? firstLine(q2.incomingError.message) : undefined;
    const after = sourceAfter();
    return {
      ...base,
      source: { started: true, phase: p1 },
      destination: { started: true, ...(destErr ? { error: destErr } : {}) },
      migration: { status, errorDesc: destErr ?? errorDesc, sourceAfter: after },
      outcome: "refused",
      detail: `migration ${status}: ${destErr ?? errorDesc ?? "unknown"}; source ${after.status}`,
      ...traceOut(),
    };
  }
  const m1 = mark(sim, q2, kernel);
  // the destination VM's counters start at zero; the guest's own counters carry over
  const p2Start: PhaseMark = { ...m1, exits: {}, emulatedStops: 0 };
  sim.runFor(opts.durationNs);
  const p2 = phaseSince(sim, q2, kernel, p2Start, toPreset.name);
  return {
    ...base,
    source: { started: true, phase: p1 },
    destination: { started: true, phase: p2 },
    migration: { status, totalTimeNs, downtimeNs },
    outcome: p2.outcome,
    detail: `${p1.outcome} on ${fromPreset.name}, ${p2.outcome} on ${toPreset.name}`,
    ...traceOut(),
  };
}

function firstLine(s: string): string {
  return s.split("\n")[0].replace(/^qemu-system-ppc64: /, "");
}

/** One seed of a matrix cell: what the run reported. */
export interface MatrixSeedResult {
  seed: number | string;
  outcome: RunOutcome;
  detail: string;
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
}

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
  const o = { ...opts, trace: false };
  if (cell.from === cell.to) {
    const r = runBoot(cell.from, cell.design, o);
    return { seed: opts.seed, outcome: r.outcome, detail: bootDetail(r) };
  }
  const r = runMigrate(cell.from, cell.to, cell.design, o);
  return { seed: opts.seed, outcome: r.outcome, detail: r.detail };
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
  return `guest ${r.guest.state}; stop0lite ${stop ? `used ${stop.usage}x` : "not offered"}${trapped ? `, ${trapped} stop traps emulated` : ""}; exits ${
    Object.entries(r.exits)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ") || "none"
  }`;
}
