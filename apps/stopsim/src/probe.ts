// The fleet's full-stack probe: each distinct (design, host kind, machine type) boot and (design,
// boot kind, destination kind, machine type) migration is run through every layer once per probe
// seed and memoised; the fleet's VMs draw from those results (fleet.ts). The probe runs are
// independent jobs: `fill` runs the cases a fleet run asked for on the worker-process pool, in
// case x seed order, so the results are the same on a pool and serially.
import { NS_PER_MS } from "@stopsim/engine";
import type { DomainCapabilities } from "@stopsim/libvirt";
import type {
  AcceptProbeResult,
  BootProbeResult,
  FleetProbe,
  MigrationProbeResult,
  RunOutcome,
} from "./fleet.js";
import { hostDomainCapabilities, runMigrate } from "./migrate.js";
import { type PoolOptions, runJobs } from "./pool.js";
import type { DesignSpec, HostPreset } from "./presets.js";
import { runBoot } from "./scenarios.js";

/** Simulated time of each phase of a probe run (boot and idle; before and after a migration). */
export const PROBE_PHASE_NS = 10 * NS_PER_MS;

export interface FullStackProbeOptions {
  /** The seeds every case is probed over (each VM draws one of them). */
  seeds: readonly (number | string)[];
  /** Simulated time per phase of each probe run (PROBE_PHASE_NS by default). */
  phaseNs?: number;
  hosts?: readonly HostPreset[];
  designs?: readonly DesignSpec[];
}

/** One case the fleet asks about. */
export type ProbeCase =
  | { readonly kind: "boot"; readonly design: string; readonly hostKind: string; readonly machine?: string }
  | {
      readonly kind: "migrate";
      readonly design: string;
      readonly bootKind: string;
      readonly toKind: string;
      readonly machine?: string;
    };

/** What a probe job carries: the case, one seed, and the scenario's extra hosts and designs. */
export interface ProbeRunOptions {
  seed: number | string;
  phaseNs: number;
  hosts?: readonly HostPreset[];
  designs?: readonly DesignSpec[];
}

export type ProbeResult = BootProbeResult | MigrationProbeResult;

/** A case's outcomes over the probe seeds (the fleet's --json `probes`). */
export interface ProbeSummary {
  case: ProbeCase;
  /** Probe seeds per outcome that occurred. */
  outcomes: Partial<Record<RunOutcome, number>>;
  /** Every outcome but the most frequent, with the probe seeds that gave it. */
  minority: { outcome: RunOutcome; seeds: (number | string)[] }[];
}

function caseKey(c: ProbeCase): string {
  return c.kind === "boot"
    ? `boot|${c.design}|${c.hostKind}|${c.machine ?? ""}`
    : `migrate|${c.design}|${c.bootKind}|${c.toKind}|${c.machine ?? ""}`;
}

/** One full-stack run of a case at one seed (the body of a probe job). */
export function runProbeCase(c: ProbeCase, o: ProbeRunOptions): ProbeResult {
  const opts = {
    seed: o.seed,
    durationNs: o.phaseNs,
    hosts: o.hosts,
    designs: o.designs,
    machine: c.machine,
  };
  if (c.kind === "boot") {
    const b = runBoot(c.hostKind, c.design, opts);
    return { outcome: b.outcome, detail: b.qemu.error?.split("\n")[0] ?? `guest ${b.guest.state}` };
  }
  // the guest's platform decisions (idle states, caps in its stream) are made at boot, so a guest
  // that already moved once migrates like one booted on `bootKind`: the run is boot kind -> destination
  const m = runMigrate(c.bootKind, c.toKind, c.design, opts);
  const err = m.migration.virError?.message;
  return {
    outcome: m.outcome,
    detail: m.detail,
    downtimeNs: m.migration.downtimeNs ?? 0,
    totalTimeNs: m.migration.totalTimeNs ?? NS_PER_MS,
    ...(m.outcome === "refused" && m.migration.failedPhase && err
      ? { refusal: { phase: m.migration.failedPhase, error: refusalReason(err) } }
      : {}),
  };
}

/** What an unknown case gives while the fleet is only finding out which cases it needs. */
const PLACEHOLDER_BOOT: readonly BootProbeResult[] = [{ outcome: "not-used", detail: "(not probed yet)" }];
const PLACEHOLDER_MIGRATION: readonly MigrationProbeResult[] = [
  { outcome: "not-used", detail: "(not probed yet)", downtimeNs: 0, totalTimeNs: NS_PER_MS },
];

export class FullStackProbe implements FleetProbe {
  private readonly results = new Map<string, readonly ProbeResult[]>();
  private readonly cases = new Map<string, ProbeCase>();
  private readonly pending = new Map<string, ProbeCase>();
  private readonly domcaps = new Map<string, DomainCapabilities>();
  /** Full-stack runs made so far (probe runs and domain-capability probes). */
  runs = 0;
  /**
   * While true, a case not probed yet gives a placeholder result and is queued for `fill` (a fleet
   * run then only finds out which cases it needs); while false it is probed here at once, serially.
   */
  discovering = false;
  /** Set when a case not probed yet was asked for while discovering (the caller resets it). */
  askedUnknown = false;

  constructor(private readonly opts: FullStackProbeOptions) {
    if (opts.seeds.length === 0) throw new RangeError("FullStackProbe: at least one probe seed is needed");
  }

  get seeds(): readonly (number | string)[] {
    return this.opts.seeds;
  }

  /** Cases queued for `fill`. */
  get pendingCases(): number {
    return this.pending.size;
  }

  private runOptions(seed: number | string): ProbeRunOptions {
    return {
      seed,
      phaseNs: this.opts.phaseNs ?? PROBE_PHASE_NS,
      ...(this.opts.hosts ? { hosts: this.opts.hosts } : {}),
      ...(this.opts.designs ? { designs: this.opts.designs } : {}),
    };
  }

  private lookup(c: ProbeCase): readonly ProbeResult[] | undefined {
    const key = caseKey(c);
    const known = this.results.get(key);
    if (known !== undefined) return known;
    if (this.discovering) {
      this.askedUnknown = true;
      this.pending.set(key, c);
      return undefined;
    }
    const r = this.opts.seeds.map((seed) => runProbeCase(c, this.runOptions(seed)));
    this.runs += r.length;
    this.results.set(key, r);
    this.cases.set(key, c);
    return r;
  }

  boot(design: string, hostKind: string, machine?: string): readonly BootProbeResult[] {
    return this.lookup({ kind: "boot", design, hostKind, machine }) ?? PLACEHOLDER_BOOT;
  }

  migrate(
    design: string,
    bootKind: string,
    _fromKind: string,
    toKind: string,
    machine?: string,
  ): readonly MigrationProbeResult[] {
    const r = this.lookup({ kind: "migrate", design, bootKind, toKind, machine });
    return (r as readonly MigrationProbeResult[] | undefined) ?? PLACEHOLDER_MIGRATION;
  }

  /**
   * Probes every queued case over every probe seed as jobs on the pool (case x seed, results in
   * that order whatever the pool). False when the pool was interrupted (nothing of it is kept).
   */
  async fill(pool: PoolOptions = {}): Promise<boolean> {
    const cases = [...this.pending.entries()];
    if (cases.length === 0) return true;
    const seeds = this.opts.seeds;
    const jobs = cases.flatMap(([, c]) =>
      seeds.map((seed) => ({ kind: "probe" as const, probe: c, options: this.runOptions(seed) })),
    );
    const r = await runJobs(jobs, pool);
    if (r.interrupted) return false;
    cases.forEach(([key, c], i) => {
      const results = r.results.slice(i * seeds.length, (i + 1) * seeds.length);
      if (results.some((x) => x === undefined)) throw new Error(`probe ${key}: a job gave no result`);
      this.results.set(key, results as ProbeResult[]);
      this.cases.set(key, c);
      this.pending.delete(key);
    });
    this.runs += jobs.length;
    return true;
  }

  /** Every case probed, in the order first asked, with its outcomes over the probe seeds. */
  summary(): ProbeSummary[] {
    return [...this.cases.entries()].map(([key, c]) => {
      const results = this.results.get(key) ?? [];
      const bySeeds = new Map<RunOutcome, (number | string)[]>();
      results.forEach((r, i) => {
        const list = bySeeds.get(r.outcome) ?? [];
        list.push(this.opts.seeds[i]);
        bySeeds.set(r.outcome, list);
      });
      const ranked = [...bySeeds.entries()].sort((a, b) => b[1].length - a[1].length);
      return {
        case: c,
        outcomes: Object.fromEntries(ranked.map(([o, s]) => [o, s.length])),
        minority: ranked.slice(1).map(([outcome, seeds]) => ({ outcome, seeds })),
      };
    });
  }

  /** libvirt's domain capabilities of a host of `hostKind`: does `machine` start there? */
  accepts(design: string, hostKind: string, machine: string): AcceptProbeResult {
    const key = `${design}|${hostKind}`;
    let caps = this.domcaps.get(key);
    if (caps === undefined) {
      // what QEMU offers does not depend on the seed: one -S probe process per machine type
      caps = hostDomainCapabilities(hostKind, design, {
        ...this.runOptions(this.opts.seeds[0]),
        durationNs: this.opts.phaseNs ?? PROBE_PHASE_NS,
      });
      this.runs++;
      this.domcaps.set(key, caps);
    }
    const m = caps.machines.find((x) => x.name === machine || x.alias === machine);
    if (m === undefined) return { usable: false, error: `machine type ${machine} is not offered` };
    return m.usable ? { usable: true } : { usable: false, error: m.error ?? "refused" };
  }
}

/** The QEMU message inside libvirt's error, without the wrapping (for counting reasons). */
function refusalReason(message: string): string {
  const first = message.split("\n")[0];
  return first
    .replace(/^internal error: QEMU unexpectedly closed the monitor \(vm='[^']*'\): /, "QEMU exited: ")
    .replace(/qemu-system-ppc64: /g, "");
}
