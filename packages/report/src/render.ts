import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { type ClientData, reportClient } from "./client.js";
import { escapeHtml, jsonForScript, scriptForInline } from "./html.js";
import {
  type FleetOverSeeds,
  MATRIX_OUTCOMES,
  type MatrixOutcome,
  parseReportData,
  type ReportData,
  TIMELINE_STATES,
} from "./model.js";
import {
  type FleetSummaryRow,
  formatNs,
  type LatencyKindStats,
  type LatencySummaryRow,
  prepareFleet,
  prepareLatency,
  prepareTimeline,
  STATE_STYLE,
  type TimelineSummary,
} from "./prepare.js";

/** How each matrix outcome is shown: a symbol and a label (never colour alone) and its meaning. */
export const OUTCOME_STYLE: Record<MatrixOutcome, { symbol: string; meaning: string }> = {
  native: { symbol: "✓", meaning: "the guest's stop0lite runs natively (PSSCR[ESL|EC] clear, no exit)" },
  emulated: {
    symbol: "↻",
    meaning: "the guest's stop traps to KVM (H_FAC_UNAVAIL) and KVM emulates the wakeup",
  },
  "not-used": { symbol: "○", meaning: "the guest does not use stop0lite (idle in snooze and CEDE only)" },
  crashed: { symbol: "✗", meaning: "the guest died (e.g. program check in its idle path)" },
  refused: { symbol: "⊘", meaning: "the migration was refused up front; the source guest keeps running" },
  "failed-start": { symbol: "⚠", meaning: "QEMU refused to start the guest" },
  hung: { symbol: "∞", meaning: "the guest stopped making progress before the end of the run" },
};

/** The ECharts distribution inlined into every report. */
export const CHARTING_LIBRARY = { name: "echarts", file: "echarts/dist/echarts.min.js" } as const;

let libraryCache: { code: string; version: string } | undefined;

/** Reads the ECharts bundle and version from node_modules (once per process). */
export function chartingLibrary(): { code: string; version: string } {
  if (!libraryCache) {
    const require = createRequire(import.meta.url);
    const code = readFileSync(require.resolve(CHARTING_LIBRARY.file), "utf8");
    const pkg = JSON.parse(readFileSync(require.resolve("echarts/package.json"), "utf8")) as {
      version: string;
    };
    libraryCache = { code: scriptForInline(code), version: pkg.version };
  }
  return libraryCache;
}

const sha256 = (s: string) => `'sha256-${createHash("sha256").update(s, "utf8").digest("base64")}'`;

function empty(text: string): string {
  return `<p class="empty">${escapeHtml(text)}</p>`;
}

/** The mark of a matrix cell whose clean outcome came with hazards. */
export const HAZARD_MARK = "⚠";

function renderMatrix(d: ReportData): string {
  const rows = d.matrix.rows;
  if (rows.length === 0) {
    return empty("No matrix data in this report: no design was run on any host pair.");
  }
  const designs: string[] = [];
  const pairs: { from: string; to: string; key: string }[] = [];
  const cells = new Map<string, (typeof rows)[number]>();
  for (const r of rows) {
    if (!designs.includes(r.design)) designs.push(r.design);
    const key = JSON.stringify([r.from, r.to]);
    if (!pairs.some((p) => p.key === key)) pairs.push({ from: r.from, to: r.to, key });
    cells.set(JSON.stringify([r.design, r.from, r.to]), r);
  }
  const counts = new Map<MatrixOutcome, number>();
  for (const r of rows) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const head = pairs
    .map(
      (p) =>
        `<th scope="col"><span class="from">${escapeHtml(p.from)}</span> <span aria-label="to">→</span> <span class="to">${escapeHtml(p.to)}</span></th>`,
    )
    .join("");
  const body = designs
    .map((design) => {
      const tds = pairs
        .map((p) => {
          const r = cells.get(JSON.stringify([design, p.from, p.to]));
          if (!r)
            return `<td class="cell o-none" title="not run">—<span class="sr-only"> not run</span></td>`;
          const st = OUTCOME_STYLE[r.outcome];
          const n = r.outcomes ? Object.values(r.outcomes).reduce((a, x) => a + (x ?? 0), 0) : 0;
          const dist =
            r.outcomes && n > 1
              ? ` (${Object.entries(r.outcomes)
                  .map(([o, c]) => `${o} ${c}/${n}`)
                  .join(", ")})`
              : "";
          const minority = (r.minority ?? [])
            .map((m) => `; ${m.outcome} on seed${m.seeds.length > 1 ? "s" : ""} ${m.seeds.join(", ")}`)
            .join("");
          const hazards = (r.hazards ?? [])
            .map((h) => `; hazard ${h.kind} on ${h.seeds.join(", ")}`)
            .join("");
          const detail = `${dist}${r.detail ? `: ${r.detail}` : ""}${minority}${hazards}`;
          const majority = r.outcomes?.[r.outcome];
          const minorityMark = (r.minority ?? []).length
            ? ` <span class="minority" data-minority="${(r.minority ?? []).map((m) => m.outcome).join(" ")}">+${(
                r.minority ?? []
              )
                .map((m) => `${m.seeds.length} ${m.outcome}`)
                .join(", ")}</span>`
            : "";
          const hazardMark = r.hazardMark
            ? ` <span class="hazard" data-hazard="true" aria-label="hazards in a clean run">${HAZARD_MARK}</span>`
            : "";
          return (
            `<td class="cell o-${r.outcome}" title="${escapeHtml(r.outcome + detail)}" tabindex="0" data-outcome="${r.outcome}">` +
            `<span class="sym" aria-hidden="true">${st.symbol}</span> <span class="lbl">${r.outcome}${majority !== undefined && n > 1 ? ` ${majority}/${n}` : ""}</span>` +
            minorityMark +
            hazardMark +
            (detail ? `<span class="sr-only">${escapeHtml(detail)}</span>` : "") +
            "</td>"
          );
        })
        .join("");
      return `<tr><th scope="row">${escapeHtml(design)}</th>${tds}</tr>`;
    })
    .join("\n");
  const legend = MATRIX_OUTCOMES.map((o) => {
    const st = OUTCOME_STYLE[o];
    return `<li><span class="cell o-${o} swatch"><span class="sym" aria-hidden="true">${st.symbol}</span> ${o}</span> ${escapeHtml(st.meaning)}</li>`;
  }).join("");
  const summary = MATRIX_OUTCOMES.filter((o) => counts.has(o))
    .map((o) => `${counts.get(o)} ${o}`)
    .join(", ");
  // the description sits above the scrolling box (a caption would be as wide as the table and
  // scroll out of view); the caption names the table for screen readers
  return `<p class="note" id="matrix-desc">Outcome of each design (rows) for each host pair, guest booted on the first host and migrated to the second (columns). Hover or focus a cell for its detail. ${escapeHtml(`${rows.length} runs: ${summary}.`)}${pairs.length > 6 ? " The table scrolls sideways; the design column stays in place." : ""}</p>
<div class="table-wrap"><table class="matrix" aria-describedby="matrix-desc">
<caption class="sr-only">Design × host-pair outcomes</caption>
<thead><tr><th scope="col">design</th>${head}</tr></thead>
<tbody>
${body}
</tbody></table></div>
<h3 id="matrix-legend">Legend</h3>
<ul class="legend" aria-labelledby="matrix-legend">${legend}<li><span class="minority">+2 hung</span> a cell over several seeds is coloured by its majority outcome; the mark counts each minority outcome (hover for its seeds)</li><li><span class="hazard">${HAZARD_MARK}</span> a seed with a clean outcome (native, emulated, not-used) had hazards short of a crash: lost or late wake-ups, stalled vCPUs, watchdog near misses, emulated-stop storms (hover for which and on which seeds)</li></ul>`;
}

function renderTimelineSummary(s: TimelineSummary, unitLabel: string): string {
  const states = TIMELINE_STATES.filter((st) => s.vcpus.some((v) => v.ns[st] > 0));
  const head = states.map((st) => `<th scope="col">${escapeHtml(STATE_STYLE[st].label)}</th>`).join("");
  const body = s.vcpus
    .map((v) => {
      const tds = states
        .map((st) => {
          const pct = v.totalNs > 0 ? (100 * v.ns[st]) / v.totalNs : 0;
          return `<td>${formatNs(v.ns[st])} <span class="pct">(${pct.toFixed(1)}%)</span></td>`;
        })
        .join("");
      return `<tr><th scope="row">${escapeHtml(v.name)}</th>${tds}<td>${v.markers}</td></tr>`;
    })
    .join("\n");
  const markers = s.markerNames.length
    ? `<p>Markers: ${s.markerNames.map((m) => `${escapeHtml(m.name)} × ${m.count}`).join(", ")}.</p>`
    : "<p>No exit markers in this run.</p>";
  return `<div class="table-wrap"><table class="data" id="timeline-table">
<caption>Time per state and vCPU over ${escapeHtml(formatNs(s.spanNs))} (chart axis in ${escapeHtml(unitLabel)})</caption>
<thead><tr><th scope="col">vCPU</th>${head}<th scope="col">markers</th></tr></thead>
<tbody>
${body}
</tbody></table></div>
${markers}`;
}

function renderLatencyTable(rows: LatencySummaryRow[], method?: string): string {
  const kind = (k: LatencyKindStats) => {
    const ref = k.reference;
    const ratio =
      ref && Number.isFinite(k.medianNs) && ref.medianNs > 0
        ? `${(k.medianNs / ref.medianNs).toFixed(2)}×`
        : "—";
    const refText = ref
      ? `${formatNs(ref.medianNs)}${ref.rangeNs ? ` <span class="pct">(${formatNs(ref.rangeNs[0])}–${formatNs(ref.rangeNs[1])})</span>` : ""}`
      : "no reference";
    const iv = k.interval;
    const sim = iv
      ? `${formatNs(iv.median)} <span class="interval">[${formatNs(iv.lo)}–${formatNs(iv.hi)}]</span> <span class="pct">(${iv.n} seeds, ${(100 * iv.coverage).toFixed(1)}%)</span>`
      : Number.isFinite(k.medianNs)
        ? formatNs(k.medianNs)
        : "no samples";
    const ratioIv = iv && ref && ref.medianNs > 0 ? `${(iv.median / ref.medianNs).toFixed(2)}×` : ratio;
    return `<td>${k.count}${k.beyond ? ` <span class="pct">(${k.beyond} beyond chart)</span>` : ""}</td><td>${sim}</td><td>${refText}</td><td>${ratioIv}</td>`;
  };
  const body = rows
    .map((r) => `<tr><th scope="row">${escapeHtml(r.state)}</th>${kind(r.timer)}${kind(r.ipi)}</tr>`)
    .join("\n");
  return `<div class="table-wrap"><table class="data" id="latency-table">
<caption>Simulated wakeup latency medians beside the medians measured on a real POWER9 (measured reference)${method ? escapeHtml(`; over seeds: the median of each seed's median with its confidence interval [lo–hi] (${method})`) : ""}</caption>
<thead>
<tr><th scope="col" rowspan="2">idle state</th><th scope="colgroup" colspan="4">woken by timer</th><th scope="colgroup" colspan="4">woken by IPI</th></tr>
<tr><th scope="col">wakeups</th><th scope="col">simulated median</th><th scope="col">measured median (range)</th><th scope="col">sim / measured</th><th scope="col">wakeups</th><th scope="col">simulated median</th><th scope="col">measured median (range)</th><th scope="col">sim / measured</th></tr>
</thead>
<tbody>
${body}
</tbody></table></div>`;
}

function renderFleetTable(rows: FleetSummaryRow[]): string {
  const body = rows
    .map(
      (r) =>
        `<tr><th scope="row">${escapeHtml(r.outcome)}</th><td>${r.stacked ? "stacked area" : "line"}</td><td>${r.first}</td><td>${r.last}</td><td>${r.peak > 0 ? `${r.peak} <span class="pct">(at ${formatNs(r.peakNs)})</span>` : '0 <span class="pct">(zero throughout)</span>'}</td></tr>`,
    )
    .join("\n");
  return `<div class="table-wrap"><table class="data" id="fleet-table">
<caption>Counts at the start and end of the run, and their peak</caption>
<thead><tr><th scope="col">count</th><th scope="col">drawn as</th><th scope="col">at start</th><th scope="col">at end</th><th scope="col">peak</th></tr></thead>
<tbody>
${body}
</tbody></table></div>`;
}

function renderFleetSpread(o: FleetOverSeeds): string {
  const n = (x: number) => x.toLocaleString("en");
  const body = o.rows
    .map(
      (r) =>
        `<tr><th scope="row">${escapeHtml(r.count)}</th><td>${n(r.median)}</td><td>${r.min === r.max ? '<span class="pct">same on every seed</span>' : `${n(r.min)}-${n(r.max)}`}</td></tr>`,
    )
    .join("\n");
  return `<div class="table-wrap"><table class="data" id="fleet-seeds-table">
<caption>Counts over ${o.seeds.length} seeds (${escapeHtml(o.seeds.join(", "))}): ${escapeHtml(o.statistic)}</caption>
<thead><tr><th scope="col">count</th><th scope="col">median</th><th scope="col">range</th></tr></thead>
<tbody>
${body}
</tbody></table></div>`;
}

const CSS = `
:root { color-scheme: light; --ink: #1a1a1a; --muted: #555; --line: #c8c8c8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 "DejaVu Sans", Verdana, sans-serif; color: var(--ink); background: #fff; }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 16px; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.6rem; margin: 0.3em 0; }
h2 { font-size: 1.25rem; margin: 1.6em 0 0.4em; border-bottom: 2px solid #333; padding-bottom: 2px; }
h3 { font-size: 1rem; margin: 1em 0 0.3em; }
.meta { color: var(--muted); margin: 0.2em 0; }
.meta code { background: #f2f2f2; padding: 1px 4px; border-radius: 3px; color: var(--ink); }
nav ul { list-style: none; padding: 0; display: flex; gap: 18px; flex-wrap: wrap; }
.empty { padding: 12px 16px; background: #f6f6f6; border-left: 4px solid #999; color: var(--muted); }
/* a wide table scrolls inside its own box, never the page; position: relative keeps the
   absolutely positioned screen-reader texts of its cells inside that box too */
.table-wrap { overflow-x: auto; max-width: 100%; position: relative; }
table.matrix thead th:first-child, table.matrix tbody th { position: sticky; left: 0; z-index: 1; box-shadow: 1px 0 0 var(--line); }
table.matrix thead th:first-child { background: #f0f0f0; }
table { border-collapse: collapse; margin: 8px 0; }
caption { text-align: left; color: var(--muted); padding: 4px 0; caption-side: top; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: middle; }
thead th { background: #f0f0f0; font-weight: 600; }
tbody th { background: #fafafa; font-weight: 600; white-space: nowrap; }
table.matrix thead th { font-size: 0.82rem; white-space: nowrap; }
.cell { font-size: 0.85rem; white-space: nowrap; text-align: center; }
.cell .sym { font-weight: 700; font-size: 1rem; }
.cell .minority { font-size: 0.75rem; font-weight: 700; border: 1px dashed currentColor; border-radius: 3px; padding: 0 2px; }
.hazard { font-weight: 700; color: #8a5a00; }
.interval { color: var(--muted); }
td.cell:focus { outline: 3px solid #000; outline-offset: -3px; }
.o-native { background: #b8e6d3; }
.o-emulated { background: #fde4ac; }
.o-not-used { background: #e9e9e9; color: #333; }
.o-crashed { background: #f5b9a0; }
.o-refused { background: #bcd9f2; }
.o-failed-start { background: #efc6de; }
.o-hung { background: #6b6b6b; color: #fff; }
.o-none { background: #fff; color: #999; }
ul.legend { list-style: none; padding: 0; margin: 4px 0; }
ul.legend li { margin: 3px 0; }
ul.legend .swatch { display: inline-block; min-width: 130px; padding: 2px 6px; border: 1px solid var(--line); margin-right: 6px; }
.chart { width: 100%; height: 420px; border: 1px solid var(--line); margin: 8px 0; }
.charts-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
.charts-grid .chart { height: 380px; }
table.data td { font-variant-numeric: tabular-nums; white-space: nowrap; }
.pct { color: var(--muted); font-size: 0.85em; }
.note { color: var(--muted); font-size: 0.9rem; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
footer { color: var(--muted); font-size: 0.85rem; border-top: 1px solid var(--line); margin-top: 32px; padding-top: 8px; padding-bottom: 24px; }
`;

/**
 * Renders `data` (validated first: a ReportDataError names any invalid field) as one
 * self-contained HTML document: inline CSS, the ECharts bundle and the page script inline, the
 * data as inline JSON, and a Content-Security-Policy that allows no network access at all.
 */
export function renderReport(data: ReportData): string {
  const d = parseReportData(data);
  const lib = chartingLibrary();

  const timeline = d.timeline ? prepareTimeline(d.timeline) : null;
  const latency = d.latency ? prepareLatency(d.latency) : null;
  const fleet = d.fleet ? prepareFleet(d.fleet) : null;
  const timelineNote = d.timeline?.note;
  const intervalMethod = d.latency?.intervalMethod;
  const overSeeds = d.fleet?.overSeeds;
  const client: ClientData = {
    timeline: timeline?.client ?? null,
    latency: latency?.client ?? [],
    fleet: fleet?.client ?? null,
  };

  const timelineHtml = timeline
    ? `${timelineNote ? `<p class="note" id="timeline-note"><strong>Partial timeline:</strong> ${escapeHtml(timelineNote)}.</p>\n` : ""}<p>Run: <strong>${escapeHtml(timeline.client.runLabel)}</strong>. Bar height and the short tag inside wide bars also tell the state (running tallest, CEDE lowest); exit reasons are markers above the bars. Drag with the zoom tool, scroll the wheel, or move the slider to zoom.</p>
<div class="chart" id="chart-timeline" role="img" aria-describedby="timeline-table"></div>
${renderTimelineSummary(timeline.summary, timeline.client.unit.label)}`
    : empty(
        d.timeline
          ? "No timeline data in this report: the run recorded no vCPU segments or markers."
          : "No timeline data in this report: no run's vCPU states were recorded.",
      );

  const latencyHtml =
    latency && latency.rows.length > 0
      ? `<p>Histograms of simulated wakeup latencies by idle state, woken by the decrementer (timer) or by an IPI. Solid vertical lines are the simulated medians; dashed lines are the <strong>measured reference</strong>: medians measured on a real POWER9 (linuxppc-dev, "Add support for stop instruction inside KVM guest", 2020), with the measured min–max range shaded.</p>
${
  latency.client.length > 0
    ? `<div class="charts-grid">${latency.client.map((l, i) => `<div class="chart" id="chart-latency-${i}" role="img" aria-describedby="latency-table" data-state="${escapeHtml(l.state)}"></div>`).join("")}</div>`
    : empty("No wakeup-latency samples in this report: only the measured reference is listed below.")
}
${renderLatencyTable(latency.rows, intervalMethod)}`
      : empty("No wakeup-latency data in this report.");

  const fleetHtml = fleet
    ? `<div class="chart" id="chart-fleet" role="img" aria-describedby="fleet-table"></div>
${renderFleetTable(fleet.rows)}${overSeeds ? `\n${renderFleetSpread(overSeeds)}` : ""}`
    : empty("No fleet data in this report: no fleet run was recorded.");

  // Transpilers that keep function names (esbuild's keepNames, used by tsx and vitest) wrap
  // functions in __name(fn, "name") calls; the identity shim makes the source run either way.
  const clientCode = scriptForInline(
    `"use strict";(function(){var __name=function(f){return f;};(${reportClient.toString()})(window.echarts,document,window);})();`,
  );
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(lib.code)} ${sha256(clientCode)}`,
    "style-src 'unsafe-inline'",
    "img-src data: blob:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  const g = d.generatedBy;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="stopsim ${escapeHtml(g.version)}">
<title>${escapeHtml(d.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(d.title)}</h1>
<p class="meta">Generated by stopsim ${escapeHtml(g.version)} with seed <code>${escapeHtml(String(g.seed))}</code> from <code>${escapeHtml(g.command)}</code>.</p>
<nav aria-label="sections"><ul>
<li><a href="#matrix">Design × host-pair matrix</a></li>
<li><a href="#timeline">vCPU timeline</a></li>
<li><a href="#latency">Wakeup latency</a></li>
<li><a href="#fleet">Fleet outcomes</a></li>
</ul></nav>
</header>
<main>
<section id="matrix" aria-labelledby="matrix-h">
<h2 id="matrix-h">Design × host-pair matrix</h2>
${renderMatrix(d)}
</section>
<section id="timeline" aria-labelledby="timeline-h">
<h2 id="timeline-h">vCPU timeline</h2>
${timelineHtml}
</section>
<section id="latency" aria-labelledby="latency-h">
<h2 id="latency-h">Wakeup latency by idle state</h2>
${latencyHtml}
</section>
<section id="fleet" aria-labelledby="fleet-h">
<h2 id="fleet-h">Fleet outcomes over simulated time</h2>
${fleetHtml}
</section>
</main>
<footer>
<p>Self-contained report: charts drawn by Apache ECharts ${escapeHtml(lib.version)} (Apache-2.0), bundled into this file; it needs no network access.</p>
</footer>
<script type="application/json" id="report-data">${jsonForScript(client)}</script>
<script>${lib.code}</script>
<script>${clientCode}</script>
</body>
</html>
`;
}
