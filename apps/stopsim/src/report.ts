// `stopsim report`: feeds the HTML report (@stopsim/report) from real runs: the matrix, a traced
// boot for the vCPU timeline, the wakeup benchmark, and a fleet run.
import { NS_PER_MS, NS_PER_S, Simulation, type TraceEvent } from "@stopsim/engine";
import type { ReportData } from "@stopsim/report";
import { benchWakeup } from "./bench.js";
import { runFleet } from "./fleet.js";
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
import { runMatrix } from "./scenarios.js";
import { bootSimHost } from "./stack.js";

type TimelineData = NonNullable<ReportData["timeline"]>;
type SegmentState = TimelineData["vcpus"][number]["segments"][number]["state"];

export interface ReportOptions {
  seed: number | string;
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

/** Per-vCPU state segments from the guest's cpu_idle / cpu_idle_exit trace events and KVM exits. */
export function timelineFromTrace(
  events: readonly TraceEvent[],
  trackName: (id: number) => { process: string; thread: string },
  from: number,
  to: number,
  emulated: boolean,
): TimelineData["vcpus"] {
  const vcpus = new Map<
    string,
    {
      segments: { start: number; end: number; state: SegmentState }[];
      markers: { time: number; name: string; detail?: string }[];
      open: { t: number; state: SegmentState };
    }
  >();
  const get = (name: string) => {
    let v = vcpus.get(name);
    if (v === undefined) {
      v = { segments: [], markers: [], open: { t: from, state: "running" } };
      vcpus.set(name, v);
    }
    return v;
  };
  const close = (v: ReturnType<typeof get>, t: number, next: SegmentState) => {
    const start = Math.max(from, v.open.t);
    const end = Math.min(to, t);
    if (end > start) v.segments.push({ start, end, state: v.open.state });
    v.open = { t, state: next };
  };
  const stateOf = (name: string): SegmentState =>
    name === "snooze"
      ? "snooze"
      : name === "stop0lite"
        ? emulated
          ? "stop0lite-emulated"
          : "stop0lite"
        : "cede";
  for (const e of events) {
    if (e.time > to) break;
    const tr = trackName(e.track);
    if (tr.process === "guest" && (e.name === "cpu_idle" || e.name === "cpu_idle_exit")) {
      const v = get(`v${tr.thread}`);
      if (e.name === "cpu_idle") close(v, e.time, stateOf(String(e.args?.state ?? "")));
      else close(v, e.time, "running");
    } else if (tr.process === "host" && e.name === "kvm_exit" && e.time >= from) {
      const v = get(`vcpu${String(e.args?.vcpu ?? "?")}`);
      v.markers.push({ time: e.time, name: String(e.args?.exit ?? "exit") });
    }
  }
  const out: TimelineData["vcpus"] = [];
  for (const [name, v] of [...vcpus.entries()].sort(([a], [b]) =>
    a.localeCompare(b, "en", { numeric: true }),
  )) {
    close(v, to, v.open.state);
    out.push({ name, segments: v.segments, markers: v.markers.filter((m) => m.time <= to) });
  }
  return out;
}

export function buildReportData(o: ReportOptions): ReportData {
  o.onProgress?.("matrix");
  const rows = runMatrix({ seed: o.seed, durationNs: 10 * NS_PER_MS });

  o.onProgress?.("timeline");
  const design = findDesign(o.design);
  const sim = new Simulation({ seed: o.seed, trace: true });
  const h = bootSimHost(sim, findHost(o.host), design);
  const kernel = createDesignGuest(sim, design, DEFAULT_GUEST);
  const q = startQemu(sim, h, design, kernel, qemuCommandLine(design, DEFAULT_GUEST), `qemu@${o.host}`);
  let timeline: ReportData["timeline"];
  if (q.ok) {
    startWorkload(sim, kernel, "timers");
    sim.runFor(5 * NS_PER_MS);
    const from = sim.now;
    sim.runFor(o.timelineNs);
    const emulated = vmCounters(q.qemu).emulatedStops > 0;
    timeline = {
      runLabel: `${o.design} on ${o.host}, seed ${o.seed}, ${(o.timelineNs / NS_PER_MS).toFixed(1)} ms after boot`,
      vcpus: timelineFromTrace(
        sim.trace.events(),
        (id) => sim.trace.getTrack(id),
        from,
        sim.now,
        emulated,
      ).map((v) => ({
        ...v,
        segments: v.segments.map((s) => ({ ...s, start: s.start - from, end: s.end - from })),
        markers: v.markers.map((m) => ({ ...m, time: m.time - from })),
      })),
    };
  }

  o.onProgress?.("wakeup latency");
  const wake = benchWakeup(o.seed, o.wakeupSamples);
  const latency: ReportData["latency"] = {
    states: wake.map((w) => ({
      state:
        w.state === "stop0lite"
          ? "stop0lite native"
          : w.state === "stop0lite (emulated)"
            ? "stop0lite emulated"
            : w.state === "CEDE"
              ? "Shared CEDE"
              : w.state,
      timer: { samples: w.timerSamplesNs },
      ipi: { samples: w.ipiSamplesNs },
    })),
  };

  o.onProgress?.("fleet");
  const probe = new FullStackProbe({ seed: o.seed });
  const fleet = runFleet(
    {
      hosts: o.fleetHosts,
      vms: o.fleetVms,
      durationNs: o.fleetDurationNs,
      design: o.design,
      seed: o.seed,
      plan: "rolling-upgrade",
      mix: { "dd2.2-old": 0.3, "dd2.3-old": 0.3, "dd2.2": 0.2, "dd2.3": 0.2 },
      upgradeTo: { "dd2.2-old": "dd2.2", "dd2.3-old": "dd2.3" },
    },
    probe,
  );
  return {
    title: `stopsim report: guest stop designs on POWER9 hosts (seed ${o.seed})`,
    generatedBy: { seed: o.seed, command: o.command, version: o.version },
    matrix: {
      rows: rows.map(({ design, from, to, outcome, detail }) => ({ design, from, to, outcome, detail })),
    },
    ...(timeline ? { timeline } : {}),
    latency,
    fleet: { series: fleet.series, stacked: ["running", "crashed", "failed-start", "hung"] },
  };
}

export const REPORT_DEFAULTS = {
  timelineNs: 2 * NS_PER_MS,
  fleetHosts: 100,
  fleetVms: 1000,
  fleetDurationNs: 24 * 3600 * NS_PER_S,
  wakeupSamples: 60,
};
