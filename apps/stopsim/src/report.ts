// `stopsim report`: feeds the HTML report (@stopsim/report) from real runs: the matrix, a traced
// boot for the vCPU timeline, the wakeup benchmark, and a fleet run.
import {
  NS_PER_MS,
  NS_PER_S,
  Simulation,
  type TraceConsumer,
  type TraceEvent,
  type TraceTrack,
} from "@stopsim/engine";
import { FLEET_STATES, type ReportData } from "@stopsim/report";
import { benchWakeupSeeds } from "./bench-seeds.js";
import { FLEET_OLD_MACHINE, RUN_OUTCOMES } from "./fleet.js";
import {
  type FleetSpread,
  fleetSpread,
  runFleetSeeds,
  SPREAD_STATISTIC,
  type Spread,
} from "./fleet-seeds.js";
import { runMatrixPool } from "./matrix.js";
import { findDesign, findHost } from "./presets.js";
import { FullStackProbe } from "./probe.js";
import {
  createDesignGuest,
  DEFAULT_GUEST,
  qemuCommandLine,
  startQemu,
  startWorkload,
  vmCounters,
} from "./run.js";
import { formatSeeds } from "./seeds.js";
import { bootSimHost } from "./stack.js";

type TimelineData = NonNullable<ReportData["timeline"]>;
type SegmentState = TimelineData["vcpus"][number]["segments"][number]["state"];

export interface ReportOptions {
  seed: number | string;
  /** Seeds of the matrix and the wakeup benchmark (default: `seed` alone). */
  seeds?: (number | string)[];
  /** Worker processes of those sweeps (default: every core). */
  workers?: number;
  host: string;
  design: string;
  /** Window of the timeline run (after boot), ns. */
  timelineNs: number;
  fleetHosts: number;
  fleetVms: number;
  fleetDurationNs: number;
  wakeupSamples: number;
  version: string;
  command: string;
  onProgress?: (what: string) => void;
}

/** Most segments and markers kept per vCPU: beyond them the timeline is cut and says so. */
export const TIMELINE_MAX_ITEMS_PER_VCPU = 20_000;

type VcpuTimeline = TimelineData["vcpus"][number];

/**
 * Builds per-vCPU state segments from the guest's cpu_idle / cpu_idle_exit trace events and KVM
 * exits as they are recorded (a TraceConsumer: nothing else of the trace is kept). Memory is
 * bounded: once a vCPU has `maxItems` segments or markers, the timeline stops at that time
 * (`cutAtNs`) and the report says so.
 */
export class TimelineBuilder implements TraceConsumer {
  private readonly vcpus = new Map<
    string,
    {
      segments: VcpuTimeline["segments"];
      markers: VcpuTimeline["markers"];
      open: { t: number; state: SegmentState };
    }
  >();
  /** Set when a vCPU reached `maxItems`: the timeline ends at this time, ns. */
  cutAtNs: number | undefined;

  constructor(
    private readonly from: number,
    private to: number,
    private readonly emulated: () => boolean,
    private readonly maxItems = TIMELINE_MAX_ITEMS_PER_VCPU,
  ) {}

  /** Tracks arrive with each event: nothing to keep. */
  track(_t: TraceTrack): void {}

  private get(name: string) {
    let v = this.vcpus.get(name);
    if (v === undefined) {
      v = { segments: [], markers: [], open: { t: this.from, state: "running" } };
      this.vcpus.set(name, v);
    }
    return v;
  }

  private close(v: ReturnType<TimelineBuilder["get"]>, t: number, next: SegmentState): void {
    const start = Math.max(this.from, v.open.t);
    const end = Math.min(this.to, t);
    if (end > start) v.segments.push({ start, end, state: v.open.state });
    v.open = { t, state: next };
    if (v.segments.length >= this.maxItems) this.cut(t);
  }

  private cut(t: number): void {
    if (this.cutAtNs === undefined || t < this.cutAtNs) this.cutAtNs = t;
    this.to = Math.min(this.to, t);
  }

  private stateOf(name: string): SegmentState {
    if (name === "snooze") return "snooze";
    if (name === "stop0lite") return this.emulated() ? "stop0lite-emulated" : "stop0lite";
    return "cede";
  }

  event(e: TraceEvent, tr: TraceTrack): void {
    if (e.time > this.to) return;
    if (tr.process === "guest" && (e.name === "cpu_idle" || e.name === "cpu_idle_exit")) {
      const v = this.get(`v${tr.thread}`);
      if (e.name === "cpu_idle") this.close(v, e.time, this.stateOf(String(e.args?.state ?? "")));
      else {
        // an exit with no entry seen: the CPU was idle when the window opened, in the state the
        // exit names (the guest traces it on both events)
        if (v.open.state === "running" && e.args?.state !== undefined)
          v.open.state = this.stateOf(String(e.args.state));
        this.close(v, e.time, "running");
      }
    } else if (tr.process === "host" && e.name === "kvm_exit" && e.time >= this.from) {
      const v = this.get(`vcpu${String(e.args?.vcpu ?? "?")}`);
      v.markers.push({ time: e.time, name: String(e.args?.exit ?? "exit") });
      if (v.markers.length >= this.maxItems) this.cut(e.time);
    }
  }

  end(): void {}

  /** The timeline up to `to` (or the cut), vCPUs in natural order. */
  result(): TimelineData["vcpus"] {
    const out: TimelineData["vcpus"] = [];
    for (const [name, v] of [...this.vcpus.entries()].sort(([a], [b]) =>
      a.localeCompare(b, "en", { numeric: true }),
    )) {
      this.close(v, this.to, v.open.state);
      out.push({
        name,
        segments: v.segments
          .filter((sg) => sg.start < this.to)
          .map((sg) => ({ ...sg, end: Math.min(sg.end, this.to) })),
        markers: v.markers.filter((m) => m.time <= this.to),
      });
    }
    return out;
  }
}

/** Per-vCPU state segments from recorded trace events (see TimelineBuilder). */
export function timelineFromTrace(
  events: readonly TraceEvent[],
  trackName: (id: number) => { process: string; thread: string },
  from: number,
  to: number,
  emulated: boolean,
): TimelineData["vcpus"] {
  const b = new TimelineBuilder(from, to, () => emulated);
  for (const e of events) {
    if (e.time > to) break;
    const t = trackName(e.track);
    b.event(e, { id: e.track, pid: 0, tid: 0, ...t });
  }
  return b.result();
}

export async function buildReportData(o: ReportOptions): Promise<ReportData> {
  const seeds = o.seeds ?? [o.seed];
  o.onProgress?.("matrix");
  const { rows } = await runMatrixPool({ seed: o.seed, durationNs: 10 * NS_PER_MS }, seeds, {
    workers: o.workers,
  });

  o.onProgress?.("timeline");
  const design = findDesign(o.design);
  const sim = new Simulation({ seed: o.seed });
  const h = bootSimHost(sim, findHost(o.host), design);
  const kernel = createDesignGuest(sim, design, DEFAULT_GUEST);
  const q = startQemu(sim, h, design, kernel, qemuCommandLine(design, DEFAULT_GUEST), `qemu@${o.host}`);
  let timeline: ReportData["timeline"];
  if (q.ok) {
    startWorkload(sim, kernel, "timers");
    sim.runFor(5 * NS_PER_MS);
    const from = sim.now;
    // the timeline is built as the run goes: the trace itself is never kept
    const builder = new TimelineBuilder(
      from,
      from + o.timelineNs,
      () => vmCounters(q.qemu).emulatedStops > 0,
    );
    sim.trace.streamTo(builder);
    sim.runFor(o.timelineNs);
    sim.trace.endStream();
    const vcpus = builder.result();
    const cut = builder.cutAtNs;
    timeline = {
      runLabel: `${o.design} on ${o.host}, seed ${o.seed}, ${(o.timelineNs / NS_PER_MS).toFixed(1)} ms after boot`,
      ...(cut !== undefined
        ? {
            note: `cut at ${((cut - from) / NS_PER_MS).toFixed(3)} ms of ${(o.timelineNs / NS_PER_MS).toFixed(1)} ms: a vCPU reached ${TIMELINE_MAX_ITEMS_PER_VCPU.toLocaleString("en")} segments or exits, the most kept per vCPU`,
          }
        : {}),
      vcpus: vcpus.map((v) => ({
        ...v,
        segments: v.segments.map((s) => ({ ...s, start: s.start - from, end: s.end - from })),
        markers: v.markers.map((m) => ({ ...m, time: m.time - from })),
      })),
    };
  }

  o.onProgress?.("wakeup latency");
  const wake = await benchWakeupSeeds(seeds, o.wakeupSamples, { workers: o.workers });
  const latency: ReportData["latency"] = {
    ...(seeds.length > 1 ? { intervalMethod: wake.method } : {}),
    states: wake.states.map((w, i) => ({
      state:
        w.state === "stop0lite"
          ? "stop0lite native"
          : w.state === "stop0lite (emulated)"
            ? "stop0lite emulated"
            : w.state,
      timer: { samples: wake.samplesNs[i].timer },
      ipi: { samples: wake.samplesNs[i].ipi },
      ...(seeds.length > 1 ? { timerInterval: w.timer, ipiInterval: w.ipi } : {}),
    })),
  };

  o.onProgress?.("fleet");
  // the fleet over the report's seeds, each case probed over them on the pool; the chart shows the
  // first seed's run, the table every count's spread
  const probe = new FullStackProbe({ seeds });
  const fleets = await runFleetSeeds(
    {
      hosts: o.fleetHosts,
      vms: o.fleetVms,
      durationNs: o.fleetDurationNs,
      design: o.design,
      plan: "rolling-upgrade",
      mix: { "dd2.2-old": 0.3, "dd2.3-old": 0.3, "dd2.2": 0.2, "dd2.3": 0.2 },
      upgradeTo: { "dd2.2-old": "dd2.2", "dd2.3-old": "dd2.3" },
      policy: "capable",
      machines: { old: FLEET_OLD_MACHINE, new: findDesign(o.design).machine },
    },
    seeds,
    probe,
    { workers: o.workers },
  );
  const fleet = fleets.results[0];
  return {
    title: `stopsim report: guest stop designs on POWER9 hosts (${seeds.length > 1 ? `seeds ${formatSeeds(seeds)}` : `seed ${o.seed}`})`,
    generatedBy: { seed: o.seed, command: o.command, version: o.version },
    matrix: {
      rows: rows.map(({ design, from, to, outcome, detail, outcomes, minority, hazards, hazardMark }) => ({
        design,
        from,
        to,
        outcome,
        detail,
        outcomes,
        minority,
        hazards,
        hazardMark,
      })),
    },
    ...(timeline ? { timeline } : {}),
    latency,
    fleet: {
      series: fleet.series,
      stacked: [...FLEET_STATES],
      ...(seeds.length > 1
        ? { overSeeds: { seeds, statistic: SPREAD_STATISTIC, rows: spreadRows(fleetSpread(fleets.results)) } }
        : {}),
    },
  };
}

/** The report's table of a fleet's counts over seeds: every count some seed saw. */
export function spreadRows(s: FleetSpread): { count: string; median: number; min: number; max: number }[] {
  const rows: { count: string; median: number; min: number; max: number }[] = [];
  const add = (count: string, v: Spread) => {
    if (v.max > 0) rows.push({ count, ...v });
  };
  for (const k of RUN_OUTCOMES) add(`boots: ${k}`, s.boots[k]);
  for (const k of RUN_OUTCOMES) add(`live migrations: ${k}`, s.migrations[k]);
  for (const [k, v] of Object.entries(s.refusals)) add(`refused: ${k}`, v);
  add("stop0lite at the end: native", s.stopLite.native);
  add("stop0lite at the end: emulated", s.stopLite.emulated);
  add("stop0lite at the end: not used", s.stopLite.notUsed);
  add("restarts", s.restarts);
  add("hosts upgraded", s.hostsUpgraded);
  add("upgrades blocked", s.upgradesBlocked);
  return rows;
}

export const REPORT_DEFAULTS = {
  timelineNs: 2 * NS_PER_MS,
  fleetHosts: 100,
  fleetVms: 1000,
  fleetDurationNs: 24 * 3600 * NS_PER_S,
  wakeupSamples: 60,
};
