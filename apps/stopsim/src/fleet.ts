// Fleet simulation: many hosts and VMs under a rolling upgrade or an evacuation plan, with live
// migrations. The fleet level (placement, plans, timing) is simulated here; what happens to a guest
// when it boots on a host kind, or migrates between two host kinds, comes from full-stack runs of the
// layers (firmware, host kernel + KVM, QEMU, guest kernel) through a FleetProbe. Each distinct case is
// probed over a few seeds and memoised: 10,000 VMs do not need 10,000 full-stack migrations. Each VM
// draws its result from a case's probes by a seed of its own (derived from the fleet's seed), so an
// outcome that one probe seed in k gives reaches about one VM in k (that contract: fleet-probe.ts).
import { LatencyHistogram, NS_PER_S, type Rng, Simulation, type TraceConsumer } from "@stopsim/engine";
import { fleetStateCounts } from "@stopsim/report";
import { UsageError } from "./errors.js";
import { type FleetProbe, RUN_OUTCOMES, type RunOutcome, vmDraw } from "./fleet-probe.js";
import { LIMITS } from "./limits.js";

export {
  type AcceptProbeResult,
  type BootProbeResult,
  type FleetProbe,
  type MigrationProbeResult,
  RUN_OUTCOMES,
  type RunOutcome,
  vmDraw,
} from "./fleet-probe.js";

export type FleetPlan = "rolling-upgrade" | "evacuation";

/**
 * Which machine type VMs get (what operators choose):
 * - `pin-old`: the old machine type everywhere until every host is upgraded, then the new one for
 *   VMs started from then on;
 * - `capable`: the new machine type on hosts whose domain capabilities accept it (the scheduler
 *   filters hosts as OpenStack Nova's does), the old one when no such host has room;
 * - `naive`: the new machine type wherever a VM lands, no filter (starts and migrations fail).
 */
export type FleetPolicy = "pin-old" | "capable" | "naive";
export const FLEET_POLICIES: readonly FleetPolicy[] = ["pin-old", "capable", "naive"];

/** The machine type fleets run before the capability's (the last one without cap-stop-lite). */
export const FLEET_OLD_MACHINE = "pseries-5.0";

export interface FleetOptions {
  readonly hosts: number;
  readonly vms: number;
  readonly durationNs: number;
  readonly design: string;
  readonly seed: number | string;
  readonly plan: FleetPlan;
  /** Initial host kinds and their shares, e.g. { "dd2.2-old": 0.5, "dd2.3-old": 0.5 }. */
  readonly mix: Readonly<Record<string, number>>;
  /** The kind an old host becomes when upgraded (firmware + the design's kernel). */
  readonly upgradeTo: Readonly<Record<string, string>>;
  /** Machine-type policy (default capable). */
  readonly policy?: FleetPolicy;
  /** The old and new machine types (default: the design's machine type for both). */
  readonly machines?: { readonly old: string; readonly new: string };
  /** Hosts drained and upgraded at the same time (default 2% of the fleet, at least 1). */
  readonly upgradeBatch?: number;
  /** Called with progress in [0, 1] as simulated time advances. */
  readonly onProgress?: (fraction: number) => void;
  /** Record fleet events (boots, migrations, upgrades) on a track per host. */
  readonly trace?: boolean;
  /** Stream those events to this consumer as they happen (no `trace` string in the result). */
  readonly traceTo?: TraceConsumer;
  /** Checked after each of the 100 steps: true ends the run there (Ctrl-C); the result says so. */
  readonly shouldStop?: () => boolean;
}

export interface FleetSample {
  readonly timeNs: number;
  readonly counts: Record<string, number>;
}

export interface FleetResult {
  readonly design: string;
  readonly plan: FleetPlan;
  readonly policy: FleetPolicy;
  readonly machines: { readonly old: string; readonly new: string };
  readonly hosts: number;
  readonly vms: number;
  readonly durationNs: number;
  readonly boots: Record<RunOutcome, number>;
  readonly migrations: Record<RunOutcome, number>;
  /** Refused migrations by the management layer's failed phase and error. */
  readonly refusals: Record<string, number>;
  readonly vmFinal: Record<string, number>;
  /** Running VMs at the end by how they idle: native / emulated stop0lite, or not using it. */
  readonly stopLite: { readonly native: number; readonly emulated: number; readonly notUsed: number };
  /** VMs at the end by machine type. */
  readonly vmMachines: Record<string, number>;
  readonly hostsUpgraded: number;
  readonly upgradesBlocked: number;
  /** The rolling upgrade: hosts to upgrade, when it started and when the last host came back. */
  readonly upgrade: {
    readonly hostsToUpgrade: number;
    readonly batch: number;
    readonly startNs: number;
    readonly finishedNs?: number;
    readonly durationNs?: number;
  };
  readonly restarts: number;
  readonly downtime: { totalNs: number; perVm: { median: number; p99: number; max: number; mean: number } };
  /** Downtime of the live migrations themselves (QEMU's stop-and-copy, per migration). */
  readonly migrationDowntime: {
    readonly count: number;
    readonly totalNs: number;
    readonly medianNs: number;
    readonly maxNs: number;
  };
  readonly series: FleetSample[];
  /** Set when the run was stopped early (shouldStop): the simulated time reached, ns. */
  readonly stoppedAtNs?: number;
  /** Chrome Trace Event JSON of the fleet's events, when asked for. */
  readonly trace?: string;
}

type VmState = "running" | "crashed" | "failed-start" | "hung";

interface Vm {
  readonly id: number;
  /** The VM's own seed (from the fleet's): which probe of a case it gets, draw after draw. */
  readonly seed: number;
  draws: number;
  host: number;
  /** Failed starts in a row (for the management layer's back-off). */
  attempts: number;
  bootKind: string;
  /** The machine type the VM was started with (it keeps it across migrations). */
  machine: string;
  state: VmState;
  /** How the guest idles now: native / emulated / not-used. */
  idle: RunOutcome;
  downtimeNs: number;
  downSince: number;
}

interface FleetHost {
  readonly id: number;
  kind: string;
  vms: Set<number>;
  draining: boolean;
  down: boolean;
}

const MINUTE = 60 * NS_PER_S;
/** Time from a guest crash to the management stack restarting it elsewhere. */
const RESTART_DELAY_NS = 2 * MINUTE;
/** Time an emptied host is out for its firmware and kernel upgrade. */
const UPGRADE_NS = 30 * MINUTE;
/** Watchdog time for a hung guest to be noticed and restarted. */
const HUNG_DETECT_NS = 10 * MINUTE;
/** Destinations the scheduler tries for one migration before the VM stays where it is. */
const MIGRATION_ATTEMPTS = 3;

function emptyCounts(): Record<RunOutcome, number> {
  return Object.fromEntries(RUN_OUTCOMES.map((o) => [o, 0])) as Record<RunOutcome, number>;
}

/** Option names in messages: the CLI's `fleet` command by default, `report` passes its own. */
export interface FleetOptionNames {
  hosts: string;
  vms: string;
  duration: string;
}

const FLEET_OPTION_NAMES: FleetOptionNames = { hosts: "--hosts", vms: "--vms", duration: "--duration" };

/**
 * Checks a fleet's size before any allocation: hosts, VMs and duration have documented maxima
 * (LIMITS), so a typo such as `--hosts 1e9` is refused instead of exhausting memory.
 */
export function validateFleetSize(
  o: Pick<FleetOptions, "hosts" | "vms" | "durationNs">,
  names: FleetOptionNames = FLEET_OPTION_NAMES,
): void {
  if (!Number.isSafeInteger(o.hosts) || o.hosts < 2 || o.hosts > LIMITS.fleetHosts)
    throw new UsageError(
      `${names.hosts} must be a whole number from 2 to ${LIMITS.fleetHosts.toLocaleString("en")}, got ${o.hosts}`,
    );
  if (!Number.isSafeInteger(o.vms) || o.vms < 1 || o.vms > LIMITS.fleetVms)
    throw new UsageError(
      `${names.vms} must be a whole number from 1 to ${LIMITS.fleetVms.toLocaleString("en")}, got ${o.vms}`,
    );
  if (o.vms > o.hosts * LIMITS.vmsPerHost) {
    throw new UsageError(
      `${names.vms} ${o.vms} does not fit on ${o.hosts} hosts (at most ${LIMITS.vmsPerHost} VMs per host): raise ${names.hosts}`,
    );
  }
  if (!(o.durationNs > 0)) throw new UsageError(`${names.duration} must be positive, e.g. 24h`);
  if (o.durationNs > LIMITS.fleetDurationNs)
    throw new UsageError(
      `${names.duration} is above the fleet maximum of ${LIMITS.fleetDurationNs / 86_400e9}d (virtual time is exact integer ns up to 104 days)`,
    );
}

export function validateFleetOptions(o: FleetOptions): void {
  validateFleetSize(o);
  const shares = Object.values(o.mix);
  if (shares.length === 0 || shares.some((s) => !(s >= 0)) || shares.reduce((a, b) => a + b, 0) <= 0) {
    throw new UsageError(
      "--mix needs kind=share pairs with non-negative shares, e.g. dd2.2-old=0.5,dd2.3-old=0.5",
    );
  }
}

/** Runs a fleet simulation. Deterministic for a given seed and probe. */
export function runFleet(opts: FleetOptions, probe: FleetProbe): FleetResult {
  const steps = fleetSteps(opts, probe);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** The design's own machine type, when no machine types are given. */
const DESIGN_MACHINE = "(design)";

/**
 * The same run in 100 steps of simulated time: yields the fraction done after each, so a caller
 * can let the event loop run (progress, Ctrl-C) between steps; returns the result.
 */
export function* fleetSteps(opts: FleetOptions, probe: FleetProbe): Generator<number, FleetResult> {
  validateFleetOptions(opts);
  const policy = opts.policy ?? "capable";
  const machines = opts.machines ?? { old: DESIGN_MACHINE, new: DESIGN_MACHINE };
  const machineArg = (m: string) => (m === DESIGN_MACHINE ? undefined : m);
  const sim = new Simulation({ seed: opts.seed, trace: opts.trace });
  if (opts.traceTo) sim.trace.streamTo(opts.traceTo);
  const tracks: number[] = [];
  const hostTrack = (id: number): number => {
    let t = tracks[id];
    if (t === undefined) {
      t = sim.trace.track("fleet", `host${id}`);
      tracks[id] = t;
    }
    return t;
  };
  const rng: Rng = sim.rng.stream("fleet");
  // each VM's seed: a stream of its own, so the placement's random numbers stay as they were
  const vmSeeds: Rng = sim.rng.stream("fleet/vm-seeds");
  /** The probe of a case this VM gets. */
  const draw = <T>(vm: Vm, probes: readonly T[]): T => {
    if (probes.length === 0) throw new Error("fleet probe returned no results for a case");
    return probes.length === 1 ? probes[0] : probes[vmDraw(vm.seed, vm.draws++, probes.length)];
  };
  const kinds = Object.keys(opts.mix);
  const total = Object.values(opts.mix).reduce((a, b) => a + b, 0);
  const hosts: FleetHost[] = [];
  for (let i = 0; i < opts.hosts; i++) {
    let r = rng.next() * total;
    let kind = kinds[kinds.length - 1];
    for (const k of kinds) {
      r -= opts.mix[k];
      if (r < 0) {
        kind = k;
        break;
      }
    }
    hosts.push({ id: i, kind, vms: new Set(), draining: false, down: false });
  }
  const slots = Math.ceil((opts.vms / opts.hosts) * 1.25) + 1;
  const boots = emptyCounts();
  const migrations = emptyCounts();
  const refusals: Record<string, number> = {};
  const migrationDowntimes: number[] = [];
  const vms: Vm[] = [];
  let restarts = 0;
  let hostsUpgraded = 0;
  let upgradesBlocked = 0;
  const toUpgrade = hosts.filter((h) => opts.upgradeTo[h.kind] !== undefined).length;
  const batch = opts.upgradeBatch ?? Math.max(1, Math.round(opts.hosts * 0.02));
  if (!Number.isSafeInteger(batch) || batch < 1) {
    throw new UsageError(`--upgrade-batch must be a whole number >= 1, got ${batch}`);
  }
  const upgradeStartNs = Math.min(10 * MINUTE, opts.durationNs * 0.05);
  let upgradeFinishedNs: number | undefined;

  // libvirt's domain capabilities per host kind and machine type (asked once each)
  const acceptMemo = new Map<string, boolean>();
  const accepts = (kind: string, machine: string): boolean => {
    if (machine === DESIGN_MACHINE || probe.accepts === undefined) return true;
    const key = `${kind}|${machine}`;
    let ok = acceptMemo.get(key);
    if (ok === undefined) {
      ok = probe.accepts(opts.design, kind, machine).usable;
      acceptMemo.set(key, ok);
    }
    return ok;
  };
  const fleetUpgraded = () => !hosts.some((h) => opts.upgradeTo[h.kind] !== undefined);

  const markDown = (vm: Vm, state: VmState) => {
    if (vm.state === "running") vm.downSince = sim.now;
    vm.state = state;
  };
  const markUp = (vm: Vm) => {
    if (vm.state !== "running") vm.downtimeNs += sim.now - vm.downSince;
    vm.state = "running";
  };

  /** The scheduler: the least loaded of 8 sampled hosts that pass the filters, else the first. */
  const pickHost = (exclude: ReadonlySet<number>, machine: string | undefined): FleetHost | undefined => {
    const ok = (h: FleetHost) =>
      !exclude.has(h.id) &&
      !h.draining &&
      !h.down &&
      h.vms.size < slots &&
      (machine === undefined || accepts(h.kind, machine));
    let best: FleetHost | undefined;
    for (let k = 0; k < 8; k++) {
      const h = hosts[rng.int(0, hosts.length - 1)];
      if (!ok(h)) continue;
      if (!best || h.vms.size < best.vms.size) best = h;
    }
    return best ?? hosts.find(ok);
  };

  /** Where a VM (re)starts and with which machine type, per policy. */
  const placeNew = (exclude: ReadonlySet<number>): { host: FleetHost; machine: string } | undefined => {
    if (policy === "naive") {
      const host = pickHost(exclude, undefined);
      return host && { host, machine: machines.new };
    }
    if (policy === "pin-old" && !fleetUpgraded()) {
      const host = pickHost(exclude, machines.old);
      return host && { host, machine: machines.old };
    }
    const fresh = pickHost(exclude, machines.new);
    if (fresh) return { host: fresh, machine: machines.new };
    const host = pickHost(exclude, machines.old);
    return host && { host, machine: machines.old };
  };

  const backOff = (vm: Vm) => Math.min(RESTART_DELAY_NS * 2 ** vm.attempts++, 60 * MINUTE);

  const bootOn = (vm: Vm, h: FleetHost, machine: string) => {
    const r = draw(vm, probe.boot(opts.design, h.kind, machineArg(machine)));
    boots[r.outcome]++;
    if (sim.trace.enabled)
      sim.trace.instant(hostTrack(h.id), "boot", "fleet", { vm: vm.id, kind: h.kind, outcome: r.outcome });
    vm.host = h.id;
    vm.bootKind = h.kind;
    vm.machine = machine;
    h.vms.add(vm.id);
    if (r.outcome === "failed-start") {
      // the management layer retries elsewhere with exponential back-off (2 min, 4 min ... 1 h)
      markDown(vm, "failed-start");
      h.vms.delete(vm.id);
      vm.host = -1;
      sim.schedule(backOff(vm), () => restart(vm), "start-retry");
    } else if (r.outcome === "crashed") {
      crash(vm);
    } else if (r.outcome === "hung") {
      hang(vm);
    } else {
      markUp(vm);
      vm.attempts = 0;
      vm.idle = r.outcome;
    }
  };

  const crash = (vm: Vm) => {
    markDown(vm, "crashed");
    if (vm.host >= 0) hosts[vm.host].vms.delete(vm.id);
    vm.host = -1;
    sim.schedule(backOff(vm), () => restart(vm), "restart");
  };
  const hang = (vm: Vm) => {
    markDown(vm, "hung");
    sim.schedule(
      HUNG_DETECT_NS,
      () => {
        if (vm.host >= 0) hosts[vm.host].vms.delete(vm.id);
        vm.host = -1;
        restart(vm);
      },
      "hung-detect",
    );
  };
  const restart = (vm: Vm) => {
    const p = placeNew(new Set());
    if (!p) {
      sim.schedule(RESTART_DELAY_NS, () => restart(vm), "restart-retry");
      return;
    }
    restarts++;
    bootOn(vm, p.host, p.machine);
  };

  // initial placement, spread over the hosts, boots staggered over the first minute
  for (let i = 0; i < opts.vms; i++) {
    const vm: Vm = {
      id: i,
      seed: vmSeeds.uint32(),
      draws: 0,
      host: -1,
      attempts: 0,
      bootKind: "",
      machine: machines.old,
      state: "running",
      idle: "not-used",
      downtimeNs: 0,
      downSince: 0,
    };
    vms.push(vm);
    const h = hosts[i % hosts.length];
    sim.schedule(
      Math.floor(rng.next() * MINUTE),
      () => {
        let machine: string;
        if (policy === "naive") machine = machines.new;
        else if (policy === "pin-old") machine = machines.old;
        else machine = accepts(h.kind, machines.new) ? machines.new : machines.old;
        if (h.vms.size < slots && (policy === "naive" || accepts(h.kind, machine))) {
          bootOn(vm, h, machine);
          return;
        }
        const p = placeNew(new Set());
        if (p) bootOn(vm, p.host, p.machine);
        else bootOn(vm, h, machine);
      },
      "boot",
    );
  }

  /**
   * Live-migrates `vm` off `from` through the management layer: the scheduler offers destinations
   * that accept the VM's machine type (any host for `naive`); a refused migration leaves the VM
   * running on `from` and the next destination is tried. `done(true)` once it moved.
   */
  const migrate = (vm: Vm, from: FleetHost, done: (moved: boolean) => void) => {
    const tried = new Set<number>([from.id]);
    const attempt = (n: number) => {
      if (vm.state !== "running" || vm.host !== from.id || n >= MIGRATION_ATTEMPTS) {
        done(false);
        return;
      }
      const to = pickHost(tried, policy === "naive" ? undefined : vm.machine);
      if (!to) {
        done(false);
        return;
      }
      tried.add(to.id);
      const r = draw(vm, probe.migrate(opts.design, vm.bootKind, from.kind, to.kind, machineArg(vm.machine)));
      migrations[r.outcome]++;
      if (sim.trace.enabled) {
        sim.trace.complete(hostTrack(from.id), "migration", "fleet", sim.now, r.totalTimeNs, {
          vm: vm.id,
          to: to.id,
          outcome: r.outcome,
        });
      }
      to.vms.add(vm.id); // the destination's slot is taken while the migration runs
      sim.schedule(
        r.totalTimeNs,
        () => {
          if (r.outcome === "refused") {
            to.vms.delete(vm.id);
            const why = r.refusal ? `${r.refusal.phase}: ${r.refusal.error}` : r.detail;
            refusals[why] = (refusals[why] ?? 0) + 1;
            attempt(n + 1);
            return;
          }
          from.vms.delete(vm.id);
          vm.host = to.id;
          vm.downtimeNs += r.downtimeNs;
          migrationDowntimes.push(r.downtimeNs);
          if (r.outcome === "crashed") crash(vm);
          else if (r.outcome === "hung") hang(vm);
          else vm.idle = r.outcome;
          done(true);
        },
        "migration",
      );
    };
    attempt(0);
  };

  /** Moves every running VM off `h` one after the other; `then(empty)`. */
  const drain = (h: FleetHost, then: (empty: boolean) => void) => {
    h.draining = true;
    const queue = [...h.vms].filter((id) => vms[id].state === "running");
    const next = () => {
      const id = queue.shift();
      if (id === undefined) {
        then([...h.vms].every((v) => vms[v].state !== "running"));
        return;
      }
      migrate(vms[id], h, () => next());
    };
    next();
  };

  if (opts.plan === "rolling-upgrade") {
    // hosts in order, `batch` of them drained and upgraded at a time; a host is upgraded only
    // once every VM has been live-migrated off it
    const queue = hosts.filter((h) => opts.upgradeTo[h.kind] !== undefined).map((h) => h.id);
    let busy = 0;
    const worker = () => {
      const id = queue.shift();
      if (id === undefined) {
        if (busy === 0 && upgradeFinishedNs === undefined) upgradeFinishedNs = sim.now;
        return;
      }
      busy++;
      const h = hosts[id];
      drain(h, (empty) => {
        if (!empty) {
          upgradesBlocked++;
          h.draining = false;
          busy--;
          worker();
          return;
        }
        h.down = true;
        sim.schedule(
          UPGRADE_NS,
          () => {
            if (sim.trace.enabled) {
              sim.trace.complete(hostTrack(h.id), "upgrade", "fleet", sim.now - UPGRADE_NS, UPGRADE_NS, {
                from: h.kind,
                to: opts.upgradeTo[h.kind],
              });
            }
            h.kind = opts.upgradeTo[h.kind];
            h.down = false;
            h.draining = false;
            hostsUpgraded++;
            busy--;
            worker();
          },
          "upgrade",
        );
      });
    };
    sim.scheduleAt(
      upgradeStartNs,
      () => {
        for (let k = 0; k < batch; k++) worker();
      },
      "rolling-upgrade",
    );
  } else {
    // evacuation: hosts go into maintenance at random (Poisson, about a tenth of the fleet per run)
    const rate = (opts.hosts * 0.1) / opts.durationNs;
    let t = rng.exponential(1 / rate);
    while (t < opts.durationNs) {
      const id = rng.int(0, hosts.length - 1);
      sim.scheduleAt(
        t,
        () => {
          const h = hosts[id];
          if (h.draining || h.down) return;
          drain(h, () => {
            h.down = true;
            sim.schedule(
              UPGRADE_NS,
              () => {
                h.down = false;
                h.draining = false;
              },
              "maintenance",
            );
          });
        },
        "evacuate",
      );
      t += rng.exponential(1 / rate);
    }
  }

  const series: FleetSample[] = [];
  const sample = () => {
    // the report's fleet chart reads these counts (@stopsim/report fleetStateCounts)
    const counts = fleetStateCounts(vms);
    let newMachine = 0;
    for (const vm of vms) if (vm.machine === machines.new && vm.host >= 0) newMachine++;
    counts["migrations-refused"] = migrations.refused;
    counts["hosts-upgraded"] = hostsUpgraded;
    counts["vms-new-machine"] = newMachine;
    series.push({ timeNs: sim.now, counts });
  };
  const steps = 100;
  let stoppedAtNs: number | undefined;
  for (let i = 1; i <= steps; i++) {
    sim.runUntil((opts.durationNs * i) / steps);
    sample();
    opts.onProgress?.(i / steps);
    if (i < steps && opts.shouldStop?.()) {
      stoppedAtNs = sim.now;
      break;
    }
    yield i / steps;
  }
  const hist = new LatencyHistogram("fleet downtime");
  let totalDown = 0;
  const vmFinal: Record<string, number> = { running: 0, crashed: 0, "failed-start": 0, hung: 0 };
  const stopLite = { native: 0, emulated: 0, notUsed: 0 };
  const vmMachines: Record<string, number> = {};
  for (const vm of vms) {
    if (vm.state !== "running") vm.downtimeNs += sim.now - vm.downSince;
    vmFinal[vm.state]++;
    hist.record(vm.downtimeNs);
    totalDown += vm.downtimeNs;
    if (vm.state === "running") {
      if (vm.idle === "native") stopLite.native++;
      else if (vm.idle === "emulated") stopLite.emulated++;
      else stopLite.notUsed++;
    }
    const m = vm.machine === DESIGN_MACHINE ? opts.design : vm.machine;
    vmMachines[m] = (vmMachines[m] ?? 0) + 1;
  }
  const sortedMig = migrationDowntimes.slice().sort((a, b) => a - b);
  return {
    design: opts.design,
    plan: opts.plan,
    policy,
    machines,
    hosts: opts.hosts,
    vms: opts.vms,
    durationNs: opts.durationNs,
    boots,
    migrations,
    refusals,
    vmFinal,
    stopLite,
    vmMachines,
    hostsUpgraded,
    upgradesBlocked,
    upgrade: {
      hostsToUpgrade: toUpgrade,
      batch,
      startNs: upgradeStartNs,
      ...(upgradeFinishedNs !== undefined
        ? { finishedNs: upgradeFinishedNs, durationNs: upgradeFinishedNs - upgradeStartNs }
        : {}),
    },
    restarts,
    downtime: {
      totalNs: totalDown,
      perVm: { median: hist.median, p99: hist.percentile(99), max: hist.max, mean: hist.mean },
    },
    migrationDowntime: {
      count: sortedMig.length,
      totalNs: sortedMig.reduce((a, b) => a + b, 0),
      medianNs: sortedMig.length ? sortedMig[Math.floor((sortedMig.length - 1) / 2)] : 0,
      maxNs: sortedMig.length ? sortedMig[sortedMig.length - 1] : 0,
    },
    series,
    ...(stoppedAtNs !== undefined ? { stoppedAtNs } : {}),
    ...(opts.trace && !opts.traceTo
      ? { trace: sim.trace.toJSON({ seed: String(opts.seed), command: "fleet" }) }
      : {}),
  };
}
