// A deterministic ReportData generator for the tests: realistic shapes and sizes (a five-design
// matrix, a 4-vCPU timeline of a run that migrates from a DD2.3 host to a DD2.2 host, latency
// samples around the measured POWER9 medians, a rolling upgrade of a fleet of guests over three simulated hours), drawn from the
// engine's seeded PRNG streams so the same seed gives the same report.
// INVENTED DATA: every outcome, timeline, latency sample and fleet figure here is made up for the
// tests (shapes and sizes only); none comes from a simulation run or a measurement, except the
// POWER9 wakeup medians of POWER9_WAKEUP_REFERENCE that the latency samples are drawn around.
import { RngRoot } from "@stopsim/engine";
import type { MatrixOutcome, ReportData, TimelineMarker, TimelineSegment, TimelineVcpu } from "../index.js";
import { fleetStateCounts, POWER9_WAKEUP_REFERENCE } from "../index.js";

const PAIRS: [string, string][] = [
  ["dd2.3-new", "dd2.3-new"],
  ["dd2.2-new", "dd2.2-new"],
  ["dd2.2-old", "dd2.2-old"],
  ["dd2.3-new", "dd2.2-new"],
  ["dd2.3-new", "dd2.2-old"],
];

const OUTCOMES: Record<string, { outcome: MatrixOutcome; detail: string }[]> = {
  "upstream-2020": PAIRS.map(() => ({ outcome: "not-used", detail: "guest idles in snooze and CEDE only" })),
  "rfc-as-posted": [
    { outcome: "native", detail: "stop0lite native, 0 H_FAC_UNAVAIL exits" },
    { outcome: "hung", detail: "DD2.2 guest-stop erratum: vCPU 3 never woke from stop" },
    { outcome: "crashed", detail: "Oops: Exception in kernel mode, sig: 4 [#1] (program check at stop)" },
    { outcome: "hung", detail: "after migration: DD2.2 guest-stop erratum on vCPU 1" },
    { outcome: "crashed", detail: "after migration: program check in the idle path" },
  ],
  "host-probed": [
    { outcome: "native", detail: "KVM_CAP_STOP present; stop0lite native" },
    { outcome: "not-used", detail: "no KVM_CAP_STOP: guest not told, no stop0lite" },
    { outcome: "not-used", detail: "old kernel: no KVM_CAP_STOP" },
    { outcome: "crashed", detail: "booted with stop0lite on DD2.3, program check after migration" },
    { outcome: "crashed", detail: "booted with stop0lite on DD2.3, program check after migration" },
  ],
  "emulate-fallback": [
    { outcome: "native", detail: "idle-stop-guest: ESL|EC cleared, stop0lite native" },
    { outcome: "emulated", detail: "H_FAC_UNAVAIL on each stop, KVM emulates the wakeup" },
    { outcome: "crashed", detail: "old kernel lacks the stop emulation: program check" },
    { outcome: "emulated", detail: "native before migration, emulated after" },
    { outcome: "crashed", detail: "destination kernel lacks the stop emulation" },
  ],
  "spapr-cap": [
    { outcome: "native", detail: "cap-stop-lite=on, stop0lite native" },
    { outcome: "emulated", detail: "cap-stop-lite=on, trap and emulate" },
    {
      outcome: "failed-start",
      detail:
        "qemu-system-ppc64: Guest lite stop not available with KVM, try appending -machine cap-stop-lite=off",
    },
    { outcome: "emulated", detail: "native before migration, emulated after" },
    { outcome: "refused", detail: "destination cannot provide cap-stop-lite; source guest keeps running" },
  ],
};

export interface SampleOptions {
  seed?: string;
  vcpus?: number;
  /** Timeline length, ns. */
  spanNs?: number;
  latencySamples?: number;
  fleetGuests?: number;
}

/** A realistic ReportData, the same for the same options. */
export function sampleReportData(opts: SampleOptions = {}): ReportData {
  const seed = opts.seed ?? "42";
  const rng = new RngRoot(seed);
  const nVcpus = opts.vcpus ?? 4;
  const span = opts.spanNs ?? 2_000_000;
  const migrateAt = span / 2;

  // timeline: running bursts and idle periods; idle state chosen as a governor would from the
  // idle length; stop0lite native before the migration, trapped and emulated after it
  const tl = rng.stream("timeline");
  const vcpus: TimelineVcpu[] = [];
  for (let v = 0; v < nVcpus; v++) {
    const segments: TimelineSegment[] = [];
    const markers: TimelineMarker[] = [];
    let t = v === nVcpus - 1 ? 40_000 : 0;
    if (t > 0) segments.push({ start: 0, end: t, state: "halted" });
    while (t < span) {
      const run = Math.round(tl.exponential(60_000)) + 2_000;
      const runEnd = Math.min(span, t + run);
      segments.push({ start: t, end: runEnd, state: "running" });
      t = runEnd;
      if (t >= span) break;
      const idle = Math.round(tl.exponential(40_000)) + 300;
      const idleEnd = Math.min(span, t + idle);
      let state: TimelineSegment["state"];
      if (idle < 5_000) state = "snooze";
      else if (idle < 60_000) state = t < migrateAt ? "stop0lite" : "stop0lite-emulated";
      else state = "cede";
      segments.push({ start: t, end: idleEnd, state });
      if (state === "stop0lite-emulated") {
        markers.push({ time: t, name: "H_FAC_UNAVAIL", detail: "HFSCR[IC] stop: KVM emulates, PC += 4" });
      }
      if (state === "cede") markers.push({ time: t, name: "H_CEDE", detail: "sc 1, r3 = H_CEDE (0xe0)" });
      if (idleEnd < span) {
        markers.push({
          time: idleEnd,
          name: tl.bool(0.6) ? "DEC" : "IPI",
          detail: "wakeup",
        });
      }
      t = idleEnd;
    }
    if (v === 0) markers.push({ time: migrateAt, name: "migration", detail: "dd2.3-new -> dd2.2-new" });
    markers.sort((a, b) => a.time - b.time);
    vcpus.push({ name: `vcpu${v}`, segments, markers });
  }

  // latency: log-normal around the measured medians
  const n = opts.latencySamples ?? 400;
  const lat = rng.stream("latency");
  const states = POWER9_WAKEUP_REFERENCE.map((r) => ({
    state: r.state,
    timer: {
      samples: Array.from({ length: n }, () => Math.round(lat.logNormal(r.timerMedianNs * 1.04, 0.18))),
    },
    ipi: { samples: Array.from({ length: n }, () => Math.round(lat.logNormal(r.ipiMedianNs * 0.97, 0.15))) },
  }));

  // fleet, shaped like the app's rolling upgrade: guests per state (a partition, stacked),
  // how running guests idle (subsets, lines) and refused migrations (cumulative, a line)
  const fl = rng.stream("fleet");
  const guests = opts.fleetGuests ?? 48;
  const vms = Array.from({ length: guests }, () => ({ state: "running", idle: "not-used", downFor: 0 }));
  let refused = 0;
  const steps = 100;
  const stepNs = (3 * 3600e9) / steps; // three simulated hours
  const series: { timeNs: number; counts: Record<string, number> }[] = [];
  for (let i = 0; i <= steps; i++) {
    const counts = fleetStateCounts(vms);
    counts["migrations-refused"] = refused;
    series.push({ timeNs: i * stepNs, counts });
    for (const vm of vms) {
      if (vm.state !== "running") {
        if (--vm.downFor <= 0) Object.assign(vm, { state: "running", idle: "native" });
        continue;
      }
      if (!fl.bool(0.04)) continue;
      const r = fl.next();
      if (r < 0.12) refused++;
      else if (r < 0.17) Object.assign(vm, { state: "crashed", downFor: 2 });
      else if (r < 0.19) Object.assign(vm, { state: "hung", downFor: 6 });
      else if (r < 0.2) Object.assign(vm, { state: "failed-start", downFor: 3 });
      else vm.idle = i < steps / 2 ? "emulated" : "native";
    }
  }

  return {
    title: "stopsim report: stop0lite designs on POWER9 hosts",
    generatedBy: { seed, command: `stopsim report --seed ${seed}`, version: "0.1.0" },
    matrix: {
      rows: Object.entries(OUTCOMES).flatMap(([design, cells]) =>
        cells.map((c, i) => ({ design, from: PAIRS[i][0], to: PAIRS[i][1], ...c })),
      ),
    },
    timeline: { runLabel: `emulate-fallback, dd2.3-new -> dd2.2-new, seed ${seed}`, vcpus },
    latency: { states },
    fleet: { series, stacked: ["running", "crashed", "failed-start", "hung"] },
  };
}
