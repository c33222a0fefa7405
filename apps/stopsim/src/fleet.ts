// Fleet simulation: many hosts and VMs under a rolling upgrade or an evacuation plan, with live
// migrations. The fleet level (placement, plans, timing) is simulated here; what happens to a guest
// when it boots on a host kind, or migrates between two host kinds, comes from full-stack runs of the
// layers (firmware, host kernel + KVM, QEMU, guest kernel) through a FleetProbe. Each distinct case is
// run once and memoised: 10,000 VMs do not need 10,000 identical full-stack migrations.
import { LatencyHistogram, NS_PER_S, type Rng, Simulation, type TraceConsumer } from "@stopsim/engine";
import { UsageError } from "./errors.js";
import { LIMITS } from "./limits.js";

export type RunOutcome = "native" | "emulated" | "not-used" | "crashed" | "refused" | "failed-start" | "hung";

export const RUN_OUTCOMES: readonly RunOutcome[] = [
  "native",
  "emulated",
  "not-used",
  "crashed",
  "refused",
  "failed-start",
  "hung",
];

/** What a full-stack boot of a guest on a host kind ended in. */
export interface BootProbeResult {
  readonly outcome: RunOutcome;
  readonly detail: string;
}

/** What a full-stack live migration ended in. */
export interface MigrationProbeResult {
  readonly outcome: RunOutcome;
  readonly detail: string;
  /** Guest downtime of the stop-and-copy phase, ns (0 when refused before it). */
  readonly downtimeNs: number;
  /** Total migration time, ns. */
  readonly totalTimeNs: number;
}

/** Full-stack runs the fleet asks for (implemented in stack.ts with the real layers). */
export interface FleetProbe {
  boot(design: string, hostKind: string): BootProbeResult;
  /** A guest booted on `bootKind`, now on `fromKind`, migrates to `toKind`. */
  migrate(design: string, bootKind: string, fromKind: string, toKind: string): MigrationProbeResult;
}

export type FleetPlan = "rolling-upgrade" | "evacuation";

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
  readonly hosts: number;
  readonly vms: number;
  readonly durationNs: number;
  readonly boots: Record<RunOutcome, number>;
  readonly migrations: Record<RunOutcome, number>;
  readonly vmFinal: Record<string, number>;
  readonly hostsUpgraded: number;
  readonly upgradesBlocked: number;
  readonly restarts: number;
  readonly downtime: { totalNs: number; perVm: { median: number; p99: number; max: number; mean: number } };
  readonly series: FleetSample[];
  /** Set when the run was stopped early (shouldStop): the simulated time reached, ns. */
  readonly stoppedAtNs?: number;
  /** Chrome Trace Event JSON of the fleet's events, when asked for. */
  readonly trace?: string;
}

type VmState = "running" | "crashed" | "failed-start" | "hung";

interface Vm {
  readonly id: number;
  host: number;
  /** Failed starts in a row (for the management layer's back-off). */
  attempts: number;
  bootKind: string;
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

/**
 * The same run in 100 steps of simulated time: yields the fraction done after each, so a caller
 * can let the event loop run (progress, Ctrl-C) between steps; returns the result.
 */
export function* fleetSteps(opts: FleetOptions, probe: FleetProbe): Generator<number, FleetResult> {
  validateFleetOptions(opts);
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
  const vms: Vm[] = [];
  let restarts = 0;
  let hostsUpgraded = 0;
  let upgradesBlocked = 0;

  const markDown = (vm: Vm, state: VmState) => {
    if (vm.state === "running") vm.downSince = sim.now;
    vm.state = state;
  };
  const markUp = (vm: Vm) => {
    if (vm.state !== "running") vm.downtimeNs += sim.now - vm.downSince;
    vm.state = "running";
  };

  const pickHost = (exclude: number): FleetHost | undefined => {
    let best: FleetHost | undefined;
    for (let k = 0; k < 8; k++) {
      const h = hosts[rng.int(0, hosts.length - 1)];
      if (h.id === exclude || h.draining || h.down || h.vms.size >= slots) continue;
      if (!best || h.vms.size < best.vms.size) best = h;
    }
    if (best) return best;
    return hosts.find((h) => h.id !== exclude && !h.draining && !h.down && h.vms.size < slots);
  };

  const bootOn = (vm: Vm, h: FleetHost) => {
    const r = probe.boot(opts.design, h.kind);
    boots[r.outcome]++;
    if (sim.trace.enabled)
      sim.trace.instant(hostTrack(h.id), "boot", "fleet", { vm: vm.id, kind: h.kind, outcome: r.outcome });
    vm.host = h.id;
    vm.bootKind = h.kind;
    h.vms.add(vm.id);
    if (r.outcome === "failed-start") {
      // the management layer retries elsewhere with exponential back-off (2 min, 4 min ... 1 h)
      markDown(vm, "failed-start");
      h.vms.delete(vm.id);
      vm.host = -1;
      const delay = Math.min(RESTART_DELAY_NS * 2 ** vm.attempts, 60 * MINUTE);
      vm.attempts++;
      sim.schedule(delay, () => restart(vm), "start-retry");
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
    const delay = Math.min(RESTART_DELAY_NS * 2 ** vm.attempts, 60 * MINUTE);
    vm.attempts++;
    sim.schedule(delay, () => restart(vm), "restart");
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
    const h = pickHost(-1);
    if (!h) {
      sim.schedule(RESTART_DELAY_NS, () => restart(vm), "restart-retry");
      return;
    }
    restarts++;
    bootOn(vm, h);
  };

  // initial placement, boots staggered over the first minute
  for (let i = 0; i < opts.vms; i++) {
    const vm: Vm = {
      id: i,
      host: -1,
      attempts: 0,
      bootKind: "",
      state: "running",
      idle: "not-used",
      downtimeNs: 0,
      downSince: 0,
    };
    vms.push(vm);
    const h = hosts[i % hosts.length];
    sim.schedule(
      Math.floor(rng.next() * MINUTE),
      () => bootOn(vm, h.vms.size < slots ? h : (pickHost(-1) ?? h)),
      "boot",
    );
  }

  const migrate = (vm: Vm, from: FleetHost, done: () => void) => {
    const to = pickHost(from.id);
    if (!to || vm.state !== "running") {
      done();
      return;
    }
    const r = probe.migrate(opts.design, vm.bootKind, from.kind, to.kind);
    migrations[r.outcome]++;
    if (sim.trace.enabled) {
      sim.trace.complete(hostTrack(from.id), "migration", "fleet", sim.now, r.totalTimeNs, {
        vm: vm.id,
        to: to.id,
        outcome: r.outcome,
      });
    }
    to.vms.add(vm.id); // reserve the slot while the migration runs
    sim.schedule(
      r.totalTimeNs,
      () => {
        if (r.outcome === "refused") {
          to.vms.delete(vm.id);
        } else {
          from.vms.delete(vm.id);
          vm.host = to.id;
          vm.downtimeNs += r.downtimeNs;
          if (r.outcome === "crashed") crash(vm);
          else if (r.outcome === "hung") hang(vm);
          else vm.idle = r.outcome;
        }
        done();
      },
      "migration",
    );
  };

  const drain = (h: FleetHost, then: (empty: boolean) => void) => {
    h.draining = true;
    const queue = [...h.vms].filter((id) => vms[id].state === "running");
    const next = () => {
      const id = queue.shift();
      if (id === undefined) {
        then([...h.vms].every((v) => vms[v].state !== "running"));
        return;
      }
      migrate(vms[id], h, next);
    };
    next();
  };

  if (opts.plan === "rolling-upgrade") {
    const order = hosts.filter((h) => opts.upgradeTo[h.kind] !== undefined).map((h) => h.id);
    const span = opts.durationNs * 0.8;
    const start = Math.min(10 * MINUTE, opts.durationNs * 0.05);
    order.forEach((id, k) => {
      const at = start + (order.length > 1 ? (span * k) / order.length : 0);
      sim.scheduleAt(
        at,
        () => {
          const h = hosts[id];
          drain(h, (empty) => {
            if (!empty) {
              upgradesBlocked++;
              h.draining = false;
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
              },
              "upgrade",
            );
          });
        },
        "wave",
      );
    });
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
    const counts: Record<string, number> = {
      running: 0,
      crashed: 0,
      "failed-start": 0,
      hung: 0,
      native: 0,
      emulated: 0,
    };
    for (const vm of vms) {
      counts[vm.state]++;
      if (vm.state === "running" && (vm.idle === "native" || vm.idle === "emulated")) counts[vm.idle]++;
    }
    counts["migrations-refused"] = migrations.refused;
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
  for (const vm of vms) {
    if (vm.state !== "running") vm.downtimeNs += sim.now - vm.downSince;
    vmFinal[vm.state]++;
    hist.record(vm.downtimeNs);
    totalDown += vm.downtimeNs;
  }
  return {
    design: opts.design,
    plan: opts.plan,
    hosts: opts.hosts,
    vms: opts.vms,
    durationNs: opts.durationNs,
    boots,
    migrations,
    vmFinal,
    hostsUpgraded,
    upgradesBlocked,
    restarts,
    downtime: {
      totalNs: totalDown,
      perVm: { median: hist.median, p99: hist.percentile(99), max: hist.max, mean: hist.mean },
    },
    series,
    ...(stoppedAtNs !== undefined ? { stoppedAtNs } : {}),
    ...(opts.trace && !opts.traceTo
      ? { trace: sim.trace.toJSON({ seed: String(opts.seed), command: "fleet" }) }
      : {}),
  };
}
