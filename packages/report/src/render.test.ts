import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import {
  escapeHtml,
  HAZARD_MARK,
  MATRIX_OUTCOMES,
  type MatrixRow,
  OUTCOME_STYLE,
  POWER9_WAKEUP_REFERENCE,
  type ReportData,
  ReportDataError,
  renderReport,
  TIMELINE_STATES,
} from "./index.js";
import { FLEET_COLORS, prepareLatency, robustTop, STATE_STYLE } from "./prepare.js";
import { sampleReportData } from "./test-helpers/sample-data.js";

/** Asserts that `doc` contains `needle`, without printing a megabyte of HTML when it does not. */
function has(doc: string, needle: string | RegExp): void {
  const ok = typeof needle === "string" ? doc.includes(needle) : needle.test(doc);
  expect(ok, `expected the report to contain ${String(needle)}`).toBe(true);
}

/** Asserts that `doc` does not contain `needle`; on failure shows the text around the match. */
function hasNot(doc: string, needle: string | RegExp): void {
  const at = typeof needle === "string" ? doc.indexOf(needle) : doc.search(needle);
  expect(at < 0, `unexpected ${String(needle)} at: ${doc.slice(Math.max(0, at - 80), at + 80)}`).toBe(true);
}

/** The report without the inlined library bundle: the part this package writes. */
function ownPart(doc: string): string {
  const lib = scripts(doc).find((x) => x.tag === "<script>" && x.body.length > 100_000);
  return lib ? doc.replace(lib.body, "") : doc;
}

const sample = sampleReportData();
// rendered before each test, not when the file loads: `pnpm mutate` then knows which tests run
// which code and reruns only those for each mutant (code run at load time reruns every test)
let html = "";
beforeEach(() => {
  html = renderReport(sample);
});

function minimal(): ReportData {
  return {
    title: "empty run",
    generatedBy: { seed: "7", command: "stopsim report", version: "0.1.0" },
    matrix: { rows: [] },
  };
}

/** Contents of every <script ...>...</script> element, with its opening tag. */
function scripts(doc: string): { tag: string; body: string }[] {
  return [...doc.matchAll(/(<script\b[^>]*>)([\s\S]*?)<\/script>/gi)].map((m) => ({ tag: m[1], body: m[2] }));
}

/** The JSON the page script reads. */
function clientData(doc: string): {
  timeline: { vcpus: string[]; states: { state: string; data: number[][] }[] } | null;
  latency: { state: string; timer: { count: number; points: number[][] } }[];
  fleet: { outcomes: { name: string; stacked: boolean; data: number[][] }[] } | null;
} {
  const s = scripts(doc).find((x) => x.tag.includes('id="report-data"'));
  if (!s) throw new Error("no report-data script");
  return JSON.parse(s.body);
}

describe("renderReport structure", () => {
  it("is one HTML document with a title, one h1 and a section and heading per part", () => {
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(html.trimEnd().endsWith("</html>")).toBe(true);
    has(html, `<title>${sample.title}</title>`);
    expect(html.match(/<h1>/g)).toHaveLength(1);
    for (const id of ["matrix", "timeline", "latency", "fleet"]) {
      has(html, `<section id="${id}" aria-labelledby="${id}-h">`);
      has(html, new RegExp(`<h2 id="${id}-h">[^<]+</h2>`));
    }
    has(html, "seed <code>42</code>");
    has(html, "<code>stopsim report --seed 42</code>");
  });

  it("draws the matrix as a table: designs as row headers, host pairs as column headers", () => {
    const table = html.slice(html.indexOf('<table class="matrix"'), html.indexOf("</table>"));
    const designs = [...new Set(sample.matrix.rows.map((r) => r.design))];
    const pairs = [...new Set(sample.matrix.rows.map((r) => `${r.from} → ${r.to}`))];
    expect([...table.matchAll(/<th scope="row">([^<]+)<\/th>/g)].map((m) => m[1])).toEqual(designs);
    const cols = [
      ...table.matchAll(
        /<th scope="col"><span class="from">([^<]+)<\/span> <span aria-label="to">→<\/span> <span class="to">([^<]+)<\/span><\/th>/g,
      ),
    ];
    expect(cols.map((m) => `${m[1]} → ${m[2]}`)).toEqual(pairs);
    expect(table.match(/<td class="cell o-/g)).toHaveLength(designs.length * pairs.length);
    // each cell: a symbol, its outcome as text, its detail on hover and for screen readers
    const row = sample.matrix.rows.find((r) => r.outcome === "refused");
    if (!row) throw new Error("sample has no refused cell");
    has(
      table,
      `<td class="cell o-refused" title="refused: ${row.detail}" tabindex="0" data-outcome="refused"><span class="sym" aria-hidden="true">⊘</span> <span class="lbl">refused</span><span class="sr-only">: ${row.detail}</span></td>`,
    );
  });

  it("has a legend naming every outcome with its symbol", () => {
    const legend = html.slice(
      html.indexOf('<ul class="legend"'),
      html.indexOf("</ul>", html.indexOf('<ul class="legend"')),
    );
    for (const o of MATRIX_OUTCOMES) has(legend, `</span> ${o}</span>`);
  });

  it("marks missing cells as not run", () => {
    const d = minimal();
    d.matrix.rows = [
      { design: "a", from: "h1", to: "h1", outcome: "native", detail: "" },
      { design: "b", from: "h2", to: "h2", outcome: "crashed", detail: "x" },
    ];
    const out = renderReport(d);
    expect(out.match(/<td class="cell o-none" title="not run">/g)).toHaveLength(2);
  });

  it("gives every chart a container, an accessible description and a summary table", () => {
    has(html, '<div class="chart" id="chart-timeline" role="img" aria-describedby="timeline-table">');
    has(html, '<table class="data" id="timeline-table">');
    has(html, '<div class="chart" id="chart-fleet" role="img" aria-describedby="fleet-table">');
    has(html, '<table class="data" id="fleet-table">');
    for (let i = 0; i < 4; i++) has(html, `id="chart-latency-${i}" role="img"`);
    has(html, '<table class="data" id="latency-table">');
  });

  it("puts the measured POWER9 medians in the latency table as the measured reference", () => {
    const table = html.slice(
      html.indexOf('id="latency-table"'),
      html.indexOf("</table>", html.indexOf('id="latency-table"')),
    );
    has(table, "measured on a real POWER9 (measured reference)");
    has(table, '<th scope="row">stop0lite emulated</th>');
    has(table, "5.01 µs"); // 5006 ns timer median
    has(table, "29.2 µs"); // 29219 ns Shared CEDE timer median
    has(table, "21.8 µs"); // 21827 ns Shared CEDE IPI median
  });

  it("hands the charts every data point in display units", () => {
    const c = clientData(html);
    expect(c.timeline?.vcpus).toEqual(["vcpu0", "vcpu1", "vcpu2", "vcpu3"]);
    const segments = sample.timeline?.vcpus.reduce((n, v) => n + v.segments.length, 0);
    expect(c.timeline?.states.reduce((n, s) => n + s.data.length, 0)).toBe(segments);
    // 2 ms run: microseconds on the axis
    has(html, '"unit":{"label":"µs","ns":1000}');
    expect(c.latency.map((l) => l.state)).toEqual(POWER9_WAKEUP_REFERENCE.map((r) => r.state));
    for (const l of c.latency) {
      expect(l.timer.count).toBe(400);
      const binned = l.timer.points.slice(0, -1).reduce((n, p) => n + p[1], 0);
      expect(binned).toBeGreaterThan(390); // at most the top 0.5% lies beyond the chart
    }
    // fleet: the partition stacked first, then the subsets and the cumulative count as lines;
    // three hours on a minutes axis
    expect(c.fleet?.outcomes.map((o) => [o.name, o.stacked])).toEqual([
      ["running", true],
      ["failed-start", true],
      ["hung", true],
      ["crashed", true],
      ["native", false],
      ["emulated", false],
      ["migrations-refused", false],
    ]);
    expect(c.fleet?.outcomes[0].data[0]).toEqual([0, 48]);
    expect(c.fleet?.outcomes[0].data[100][0]).toBe(180);
    has(html, '"unit":{"label":"min","ns":60000000000}');
    const stackedTotal = (i: number) =>
      (c.fleet?.outcomes ?? []).filter((o) => o.stacked).reduce((n, o) => n + o.data[i][1], 0);
    for (let i = 0; i <= 100; i++) expect(stackedTotal(i)).toBe(48);
  });

  it("is deterministic", () => {
    expect(renderReport(sampleReportData())).toBe(html);
  });
});

describe("renderReport is self-contained", () => {
  it("inlines the ECharts bundle from node_modules byte for byte", () => {
    const require = createRequire(import.meta.url);
    const lib = readFileSync(require.resolve("echarts/dist/echarts.min.js"), "utf8");
    const bodies = scripts(html).map((s) => s.body);
    expect(bodies).toContain(lib);
    expect(lib.length).toBeGreaterThan(500_000);
  });

  it("has exactly three script elements, none with src, and no link, import or remote url", () => {
    const s = scripts(html);
    expect(s.map((x) => x.tag)).toEqual([
      '<script type="application/json" id="report-data">',
      "<script>",
      "<script>",
    ]);
    const own = ownPart(html);
    hasNot(own, /<script[^>]*\ssrc\s*=/i);
    hasNot(own, /<link\b/i);
    hasNot(own, /<(img|iframe|embed|object|source|video|audio)\b/i);
    hasNot(own, /\s(src|href|action)\s*=\s*["']?\s*(https?:)?\/\//i);
    hasNot(own, /url\(/i);
    hasNot(own, /@import/i);
    // no http(s) address at all outside the library bundle
    hasNot(own, /https?:\/\//);
    // and inside it only namespace names and licence links, never something it would load
    const lib = s[1].body;
    const urls = new Set(lib.match(/https?:\/\/[^"'\s)]+/g));
    expect([...urls].sort()).toEqual([
      "http://www.apache.org/licenses/LICENSE-2.0",
      "http://www.w3.org/1999/xlink",
      "http://www.w3.org/2000/svg",
      "http://www.w3.org/2000/xmlns/",
      "http://www.w3.org/XML/1998/namespace",
      "https://github.com/ecomfe/zrender/blob/master/LICENSE",
    ]);
  });

  it("allows exactly its own scripts and no network through a Content-Security-Policy", () => {
    const csp = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/)?.[1];
    expect(csp).toBeDefined();
    expect(csp).toContain("default-src &#39;none&#39;");
    const hashes = [...(csp ?? "").matchAll(/sha256-([A-Za-z0-9+/=]+)/g)].map((m) => m[1]);
    const executable = scripts(html).filter((x) => x.tag === "<script>");
    expect(hashes).toEqual(
      executable.map((x) => createHash("sha256").update(x.body, "utf8").digest("base64")),
    );
  });
});

describe("renderReport escaping", () => {
  const evil = `</script><script>alert(1)</script><img src=x onerror="alert(2)">'&`;

  it("escapes every text field, so no markup can be injected", () => {
    const d = sampleReportData({ seed: evil });
    d.title = evil;
    d.generatedBy.command = evil;
    d.generatedBy.version = evil;
    d.matrix.rows[0] = { ...d.matrix.rows[0], design: evil, from: evil, detail: evil };
    if (!d.timeline || !d.latency || !d.fleet) throw new Error("sample is incomplete");
    d.timeline.runLabel = evil;
    d.timeline.note = evil;
    d.timeline.vcpus[0].name = evil;
    d.timeline.vcpus[0].markers[0] = { ...d.timeline.vcpus[0].markers[0], name: evil, detail: evil };
    d.latency.states[0].state = evil;
    d.fleet.series[0].counts[evil] = 1;
    const out = renderReport(d);
    const own = ownPart(out);
    hasNot(own, "<img");
    hasNot(own, "alert(1)</script>");
    expect(scripts(out)).toHaveLength(3);
    has(
      out,
      `<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;&#39;&amp;</title>`,
    );
    // the chart data carries the strings intact (the page draws them as canvas text or escapes them)
    const c = clientData(out);
    expect(c.timeline?.vcpus[0]).toBe(evil);
    expect(c.fleet?.outcomes.some((o) => o.name === evil)).toBe(true);
  });

  it("keeps the document's tag structure for any text in any field", () => {
    const base = renderReport(minimal());
    const tags = (s: string) => (s.match(/<[a-z!/][^>]*>/gi) ?? []).length;
    const baseRow = { from: "h", to: "h", outcome: "crashed" as const };
    const withRow = renderReport({
      ...minimal(),
      matrix: { rows: [{ design: "d", detail: "x", ...baseRow }] },
    });
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", minLength: 1 }),
        fc.string({ unit: "binary", minLength: 1 }),
        (text, design) => {
          expect(tags(renderReport({ ...minimal(), title: `t${text}` }))).toBe(tags(base));
          const out = renderReport({
            ...minimal(),
            matrix: { rows: [{ design, detail: text, ...baseRow }] },
          });
          expect(tags(out)).toBe(tags(withRow));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("renderReport empty sections", () => {
  it("says so in a sentence for each section without data and draws no chart", () => {
    const out = renderReport(minimal());
    has(out, '<p class="empty">No matrix data in this report');
    has(out, '<p class="empty">No timeline data in this report');
    has(out, '<p class="empty">No wakeup-latency data in this report.</p>');
    has(out, '<p class="empty">No fleet data in this report');
    hasNot(out, 'class="chart"');
    expect(clientData(out)).toEqual({ timeline: null, latency: [], fleet: null });
  });

  it("treats present but empty sections as empty", () => {
    const out = renderReport({
      ...minimal(),
      timeline: { runLabel: "r", vcpus: [{ name: "vcpu0", segments: [], markers: [] }] },
      latency: { states: [{ state: "snooze", timer: { samples: [] }, ipi: { samples: [] } }] },
      fleet: { series: [] },
    });
    has(out, "No timeline data in this report: the run recorded no vCPU segments or markers.");
    has(out, "No wakeup-latency samples in this report");
    // the reference is still listed, with no samples beside it
    has(out, '<th scope="row">Shared CEDE</th><td>0</td><td>no samples</td>');
    has(out, "No fleet data in this report");
    hasNot(out, 'class="chart"');
  });

  it("leaves out the reference when given an empty one", () => {
    const out = renderReport({
      ...minimal(),
      latency: {
        states: [{ state: "mine", timer: { samples: [1000] }, ipi: { samples: [2000] } }],
        reference: [],
      },
    });
    has(out, '<th scope="row">mine</th><td>1</td><td>1.00 µs</td><td>no reference</td>');
    hasNot(out, "Shared CEDE");
  });

  it("validates before rendering", () => {
    expect(() => renderReport({ ...minimal(), title: "" })).toThrow(ReportDataError);
    expect(() => renderReport({ ...minimal(), title: "" })).toThrow(/title: must be a non-empty title/);
  });
});

describe("partial timelines", () => {
  it("say so above the chart when the timeline is not the whole run", () => {
    const d = sampleReportData();
    if (!d.timeline) throw new Error("sample has no timeline");
    expect(renderReport(d)).not.toContain('id="timeline-note"');
    d.timeline.note = "cut at 1.2 ms of 20 ms";
    expect(renderReport(d)).toMatch(
      /id="timeline-note"><strong>Partial timeline:<\/strong> cut at 1.2 ms of 20 ms\./,
    );
  });
});

describe("outliers, zero series and wide tables", () => {
  it("an outlier does not flatten a histogram's axis: it is counted beyond the axis", () => {
    const samples = Array.from({ length: 59 }, (_, i) => 20_000 + i * 200);
    samples.push(210_000); // one wakeup ten times the others
    const sorted = Float64Array.from(samples).sort();
    expect(robustTop(sorted)).toBeLessThan(60_000);
    const { client } = prepareLatency({
      states: [{ state: "Shared CEDE", timer: { samples }, ipi: { samples } }],
    });
    expect(client[0].hiUs).toBeLessThan(70);
    expect(client[0].timer.beyond).toBe(1);
    expect(client[0].beyondMaxUs).toBe(210);
    // without outliers nothing is cut
    expect(robustTop(Float64Array.from([1, 2, 3, 4]))).toBe(4);
  });

  it("a fleet count that stays at zero has no peak time", () => {
    const d = sampleReportData();
    if (!d.fleet) throw new Error("sample has no fleet");
    for (const p of d.fleet.series) p.counts.hung = 0;
    const html = renderReport(d);
    expect(html).toMatch(
      /<th scope="row">hung<\/th>(<td>[^<]*<\/td>){3}<td>0 <span class="pct">\(zero throughout\)<\/span><\/td>/,
    );
    expect(html).not.toMatch(/<td>0 <span class="pct">\(at /);
  });

  it("a fleet over several seeds lists each count's median and range under the chart", () => {
    const d = sampleReportData();
    if (!d.fleet) throw new Error("sample has no fleet");
    expect(renderReport(d)).not.toContain("fleet-seeds-table");
    d.fleet.overSeeds = {
      seeds: [1, 2, 3],
      statistic: "median [min-max] over the fleet seeds",
      rows: [
        { count: "boots: hung", median: 12, min: 9, max: 1500 },
        { count: "restarts", median: 0, min: 0, max: 0 },
      ],
    };
    const html = renderReport(d);
    has(html, '<div class="table-wrap"><table class="data" id="fleet-seeds-table">');
    has(html, "<caption>Counts over 3 seeds (1, 2, 3): median [min-max] over the fleet seeds</caption>");
    has(html, '<th scope="row">boots: hung</th><td>12</td><td>9-1,500</td>');
    has(html, '<th scope="row">restarts</th><td>0</td><td><span class="pct">same on every seed</span></td>');
    d.fleet.overSeeds.rows[0].min = 13;
    expect(() => renderReport(d)).toThrow(/min <= median <= max/);
  });

  it("every table sits in a box that scrolls on its own", () => {
    const html = renderReport(sampleReportData());
    for (const id of ["timeline-table", "latency-table", "fleet-table"])
      expect(html).toContain(`<div class="table-wrap"><table class="data" id="${id}">`);
    expect(html).toContain('<div class="table-wrap"><table class="matrix" aria-describedby="matrix-desc">');
  });
});

describe("verdicts over seeds", () => {
  const data: ReportData = {
    ...minimal(),
    matrix: {
      rows: [
        {
          design: "rfc-as-posted",
          from: "dd2.2",
          to: "dd2.2",
          outcome: "native",
          detail: "guest running",
          outcomes: { native: 8, hung: 2 },
          minority: [{ outcome: "hung", seeds: [2, 5] }],
          hazards: [{ kind: "lostWakeups", seeds: [2, 3, 5] }],
          hazardMark: true,
        },
        {
          design: "spapr-cap",
          from: "dd2.2",
          to: "dd2.2",
          outcome: "emulated",
          detail: "guest running",
          outcomes: { emulated: 10 },
          minority: [],
          hazards: [],
          hazardMark: false,
        },
      ],
    },
    latency: {
      intervalMethod: "order-statistics (distribution-free, binomial)",
      states: [
        {
          state: "snooze",
          timer: { samples: [900, 1000, 1100] },
          ipi: { samples: [2000, 2100] },
          timerInterval: { n: 5, median: 1012, lo: 1001, hi: 1040, coverage: 0.9375 },
        },
      ],
    },
  };
  let doc = "";
  beforeEach(() => {
    doc = ownPart(renderReport(data));
  });

  it("colours a cell by its majority and marks its minority with the seeds on hover", () => {
    has(
      doc,
      /class="cell o-native"[^>]*title="native \(native 8\/10, hung 2\/10\): guest running; hung on seeds 2, 5; hazard lostWakeups on 2, 3, 5"/,
    );
    has(
      doc,
      '<span class="lbl">native 8/10</span> <span class="minority" data-minority="hung">+2 hung</span>',
    );
    has(doc, '<span class="lbl">emulated 10/10</span><span class="sr-only">');
  });

  it("marks a clean cell that had hazards, and only that one", () => {
    expect(doc.match(/data-hazard="true"/g)?.length).toBe(1);
    has(doc, /class="cell o-native"[^>]*>[^\n]*?data-hazard="true"/);
  });

  it("shows a benchmark median with its interval over seeds and the method", () => {
    has(
      doc,
      /1\.01 µs <span class="interval">\[1(\.00)? µs–1\.04 µs\]<\/span> <span class="pct">\(5 seeds, 93\.8%\)<\/span>/,
    );
    has(doc, "order-statistics (distribution-free, binomial)");
  });

  it("refuses an interval whose median lies outside it", () => {
    const bad = structuredClone(data);
    const st = bad.latency?.states[0];
    if (st) st.timerInterval = { n: 5, median: 2000, lo: 1001, hi: 1040, coverage: 0.9375 };
    expect(() => renderReport(bad)).toThrow(/timerInterval: must have lo <= median <= hi/);
  });
});

/** The text of the element that starts at the first match of `open`, up to its closing `close`. */
function part(doc: string, open: string, close: string): string {
  const at = doc.indexOf(open);
  expect(at, `no ${open} in the report`).toBeGreaterThanOrEqual(0);
  return doc.slice(at, doc.indexOf(close, at) + close.length);
}

describe("the matrix table, cell by cell", () => {
  const row = (design: string, from: string, outcome: MatrixRow["outcome"], detail = ""): MatrixRow => ({
    design,
    from,
    to: from,
    outcome,
    detail,
  });

  it("sums up the runs by outcome above the table, and says when the table scrolls", () => {
    const rows = [
      row("a", "h1", "native"),
      row("a", "h2", "hung"),
      row("a", "h3", "native"),
      row("a", "h4", "crashed"),
      row("a", "h5", "native"),
      row("a", "h6", "crashed"),
    ];
    const six = renderReport({ ...minimal(), matrix: { rows } });
    // outcomes in MATRIX_OUTCOMES order, those that occur only
    has(six, "Hover or focus a cell for its detail. 6 runs: 3 native, 2 crashed, 1 hung.</p>");
    const seven = renderReport({ ...minimal(), matrix: { rows: [...rows, row("a", "h7", "emulated")] } });
    has(
      seven,
      "7 runs: 3 native, 1 emulated, 2 crashed, 1 hung. The table scrolls sideways; the design column stays in place.</p>",
    );
  });

  it("lists each design and each host pair once, in order of first appearance", () => {
    const doc = renderReport({
      ...minimal(),
      matrix: {
        rows: [
          { ...row("b", "h2", "native"), to: "h3" },
          row("a", "h1", "crashed"),
          { ...row("a", "h2", "hung"), to: "h3" },
          row("b", "h1", "refused"),
        ],
      },
    });
    const table = part(doc, '<table class="matrix"', "</table>");
    expect([...table.matchAll(/<th scope="row">([^<]+)<\/th>/g)].map((m) => m[1])).toEqual(["b", "a"]);
    expect(
      [...table.matchAll(/<span class="from">([^<]+)<\/span>.*?<span class="to">([^<]+)<\/span>/g)].map(
        (m) => `${m[1]}>${m[2]}`,
      ),
    ).toEqual(["h2>h3", "h1>h1"]);
    expect([...table.matchAll(/data-outcome="([a-z-]+)"/g)].map((m) => m[1])).toEqual([
      "native",
      "refused",
      "hung",
      "crashed",
    ]);
  });

  it("shows a symbol and the outcome in every cell, the detail only when there is one", () => {
    // the symbols the README lists for each outcome
    const symbols = {
      native: "✓",
      emulated: "↻",
      "not-used": "○",
      crashed: "✗",
      refused: "⊘",
      "failed-start": "⚠",
      hung: "∞",
    };
    const rows = MATRIX_OUTCOMES.map((o, i) => row("d", `h${i}`, o, o === "hung" ? "" : `why ${o}`));
    const table = part(renderReport({ ...minimal(), matrix: { rows } }), '<table class="matrix"', "</table>");
    for (const o of MATRIX_OUTCOMES) {
      const sr = o === "hung" ? "" : `<span class="sr-only">: why ${o}</span>`;
      has(
        table,
        `<td class="cell o-${o}" title="${o}${o === "hung" ? "" : `: why ${o}`}" tabindex="0" data-outcome="${o}"><span class="sym" aria-hidden="true">${symbols[o]}</span> <span class="lbl">${o}</span>${sr}</td>`,
      );
    }
  });

  it("gives a cell over one seed no tally, and names a lone minority seed in the singular", () => {
    const doc = renderReport({
      ...minimal(),
      matrix: {
        rows: [
          { ...row("d", "h1", "emulated", "ok"), outcomes: { emulated: 1 } },
          {
            ...row("d", "h2", "native", ""),
            outcomes: { native: 2, crashed: 1 },
            minority: [{ outcome: "crashed", seeds: [4] }],
          },
          { ...row("d", "h3", "native", ""), hazards: [{ kind: "late wakeup", seeds: ["s1"] }] },
        ],
      },
    });
    has(
      doc,
      '<td class="cell o-emulated" title="emulated: ok" tabindex="0" data-outcome="emulated"><span class="sym" aria-hidden="true">↻</span> <span class="lbl">emulated</span><span class="sr-only">: ok</span></td>',
    );
    has(
      doc,
      '<td class="cell o-native" title="native (native 2/3, crashed 1/3); crashed on seed 4" tabindex="0" data-outcome="native"><span class="sym" aria-hidden="true">✓</span> <span class="lbl">native 2/3</span> <span class="minority" data-minority="crashed">+1 crashed</span><span class="sr-only"> (native 2/3, crashed 1/3); crashed on seed 4</span></td>',
    );
    // hazards without the mark: named in the hover text only
    has(doc, 'title="native; hazard late wakeup on s1"');
    hasNot(doc, 'data-hazard="true"');
  });

  it("tallies several minorities and a majority that is not among the counts", () => {
    const doc = renderReport({
      ...minimal(),
      matrix: {
        rows: [
          {
            ...row("d", "h1", "native", "x"),
            outcomes: { hung: 1, crashed: 2 },
            minority: [
              { outcome: "hung", seeds: [1] },
              { outcome: "crashed", seeds: [2, 3] },
            ],
            hazardMark: true,
          },
        ],
      },
    });
    has(
      doc,
      '<span class="lbl">native</span> <span class="minority" data-minority="hung crashed">+1 hung, 2 crashed</span>',
    );
    has(
      doc,
      `<span class="hazard" data-hazard="true" aria-label="hazards in a clean run">${HAZARD_MARK}</span>`,
    );
    has(doc, 'title="native (hung 1/3, crashed 2/3): x; hung on seed 1; crashed on seeds 2, 3"');
  });

  it("explains every outcome, the minority mark and the hazard mark in the legend", () => {
    const doc = renderReport({ ...minimal(), matrix: { rows: [row("d", "h", "native")] } });
    const legend = part(doc, '<ul class="legend"', "</ul>");
    const meanings = MATRIX_OUTCOMES.map((o) => {
      const m = new RegExp(
        `<li><span class="cell o-${o} swatch"><span class="sym" aria-hidden="true">${OUTCOME_STYLE[o].symbol}</span> ${o}</span> ([^<]+)</li>`,
      ).exec(legend);
      expect(m, `legend entry for ${o}`).not.toBeNull();
      return m?.[1] ?? "";
    });
    // each a sentence of its own
    for (const m of meanings) expect(m.length).toBeGreaterThan(20);
    expect(new Set(meanings).size).toBe(MATRIX_OUTCOMES.length);
    expect(new Set(MATRIX_OUTCOMES.map((o) => OUTCOME_STYLE[o].symbol)).size).toBe(MATRIX_OUTCOMES.length);
    has(
      legend,
      '<li><span class="minority">+2 hung</span> a cell over several seeds is coloured by its majority outcome',
    );
    has(legend, `<li><span class="hazard">${HAZARD_MARK}</span> a seed with a clean outcome`);
    // meanings are text: the apostrophes are escaped
    has(legend, escapeHtml("the guest's stop0lite runs natively"));
  });
});

describe("the timeline section", () => {
  const timeline = {
    runLabel: "spapr-cap <dd2.3>",
    vcpus: [
      {
        name: "v0",
        segments: [
          { start: 0, end: 30_000, state: "running" as const },
          { start: 30_000, end: 40_000, state: "cede" as const },
        ],
        markers: [
          { time: 30_000, name: "H_CEDE" },
          { time: 40_000, name: "DEC" },
          { time: 70_000, name: "H_CEDE" },
        ],
      },
      { name: "v1", segments: [], markers: [] },
    ],
  };

  it("tabulates each vCPU's time and share per state that occurs, and its markers", () => {
    const doc = renderReport({ ...minimal(), timeline });
    const table = part(doc, '<table class="data" id="timeline-table">', "</table>");
    // 70 µs from the first segment to the last marker; only running and CEDE occur
    has(table, "<caption>Time per state and vCPU over 70.0 µs (chart axis in µs)</caption>");
    has(
      table,
      '<thead><tr><th scope="col">vCPU</th><th scope="col">running</th><th scope="col">CEDE</th><th scope="col">markers</th></tr></thead>',
    );
    has(
      table,
      '<tr><th scope="row">v0</th><td>30.0 µs <span class="pct">(75.0%)</span></td><td>10.0 µs <span class="pct">(25.0%)</span></td><td>3</td></tr>',
    );
    // a vCPU without segments: zero time, no share
    has(
      table,
      '<tr><th scope="row">v1</th><td>0 ns <span class="pct">(0.0%)</span></td><td>0 ns <span class="pct">(0.0%)</span></td><td>0</td></tr>',
    );
    has(doc, "</table></div>\n<p>Markers: H_CEDE × 2, DEC × 1.</p>");
    has(doc, "Run: <strong>spapr-cap &lt;dd2.3&gt;</strong>.");
  });

  it("says when a run has no markers, and tells an absent timeline from an empty one", () => {
    const noMarkers = renderReport({
      ...minimal(),
      timeline: {
        runLabel: "r",
        vcpus: [{ name: "v", segments: [{ start: 0, end: 5, state: "halted" }], markers: [] }],
      },
    });
    has(noMarkers, "<p>No exit markers in this run.</p>");
    has(noMarkers, '<th scope="col">halted</th>');
    has(
      renderReport(minimal()),
      '<p class="empty">No timeline data in this report: no run&#39;s vCPU states were recorded.</p>',
    );
  });

  it("tells each state apart by tag, height and colour, not by colour alone", () => {
    // the tags the README lists; heights from running (tallest) down to halted
    expect(TIMELINE_STATES.map((st) => STATE_STYLE[st].tag)).toEqual([
      "run",
      "snz",
      "s0l",
      "emu",
      "cede",
      "halt",
    ]);
    const h = TIMELINE_STATES.map((st) => STATE_STYLE[st].height);
    expect(h[0]).toBe(1);
    for (let i = 1; i < h.length; i++) expect(h[i]).toBeLessThanOrEqual(h[i - 1]);
    expect(STATE_STYLE.cede.height).toBeLessThan(STATE_STYLE["stop0lite-emulated"].height);
    const colors = TIMELINE_STATES.map((st) => STATE_STYLE[st].color);
    for (const c of colors) expect(c).toMatch(/^#[0-9A-F]{6}$/);
    expect(new Set(colors).size).toBe(colors.length);
    const labels = TIMELINE_STATES.map((st) => STATE_STYLE[st].label);
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels.every((l) => l.length > 0)).toBe(true);
  });
});

describe("the latency table", () => {
  const latency = {
    states: [
      { state: "snooze", timer: { samples: [1000, 1200, 1400] }, ipi: { samples: [2000] } },
      {
        state: "mine",
        timer: { samples: [] },
        ipi: { samples: [500] },
        timerInterval: { n: 3, median: 700, lo: 600, hi: 800, coverage: 0.75 },
        ipiInterval: { n: 5, median: 520, lo: 480, hi: 600, coverage: 0.9375 },
      },
      { state: "noref", timer: { samples: [100] }, ipi: { samples: [] } },
    ],
    reference: [
      {
        state: "snooze",
        timerMedianNs: 1000,
        ipiMedianNs: 2500,
        timerRangeNs: [800, 1500] as [number, number],
      },
      { state: "mine", timerMedianNs: 0, ipiMedianNs: 400 },
      { state: "refonly", timerMedianNs: 3000, ipiMedianNs: 4000 },
    ],
  };

  it("gives per wake source the wakeups, the simulated median, the measured one and their ratio", () => {
    const table = part(
      renderReport({ ...minimal(), latency }),
      '<table class="data" id="latency-table">',
      "</table>",
    );
    const rowOf = (state: string) => part(table, `<tr><th scope="row">${state}</th>`, "</tr>");
    expect(rowOf("snooze")).toBe(
      '<tr><th scope="row">snooze</th>' +
        '<td>3</td><td>1.20 µs</td><td>1.00 µs <span class="pct">(800 ns–1.50 µs)</span></td><td>1.20×</td>' +
        "<td>1</td><td>2.00 µs</td><td>2.50 µs</td><td>0.80×</td></tr>",
    );
    // a reference median of 0 gives no ratio; an interval over seeds replaces the median
    expect(rowOf("mine")).toBe(
      '<tr><th scope="row">mine</th>' +
        '<td>0</td><td>700 ns <span class="interval">[600 ns–800 ns]</span> <span class="pct">(3 seeds, 75.0%)</span></td><td>0 ns</td><td>—</td>' +
        '<td>1</td><td>520 ns <span class="interval">[480 ns–600 ns]</span> <span class="pct">(5 seeds, 93.8%)</span></td><td>400 ns</td><td>1.30×</td></tr>',
    );
    expect(rowOf("noref")).toBe(
      '<tr><th scope="row">noref</th><td>1</td><td>100 ns</td><td>no reference</td><td>—</td>' +
        "<td>0</td><td>no samples</td><td>no reference</td><td>—</td></tr>",
    );
    expect(rowOf("refonly")).toBe(
      '<tr><th scope="row">refonly</th><td>0</td><td>no samples</td><td>3.00 µs</td><td>—</td>' +
        "<td>0</td><td>no samples</td><td>4.00 µs</td><td>—</td></tr>",
    );
    // no interval method given: the caption says nothing about seeds
    has(table, "measured on a real POWER9 (measured reference)</caption>");
  });

  it("counts the samples beyond a histogram's axis in the table", () => {
    const samples = Array.from({ length: 59 }, (_, i) => 20_000 + i * 200);
    const doc = renderReport({
      ...minimal(),
      latency: {
        states: [{ state: "s", timer: { samples: [...samples, 210_000] }, ipi: { samples } }],
        reference: [],
      },
    });
    has(doc, '<tr><th scope="row">s</th><td>60 <span class="pct">(1 beyond chart)</span></td>');
    has(doc, "<td>59</td>");
  });

  it("draws one chart per state with samples, named by its state", () => {
    const doc = renderReport({
      ...minimal(),
      latency: {
        ...latency,
        states: [...latency.states, { state: "a&b", timer: { samples: [1] }, ipi: { samples: [] } }],
      },
    });
    expect(
      [
        ...doc.matchAll(
          /<div class="chart" id="chart-latency-(\d)" role="img" aria-describedby="latency-table" data-state="([^"]+)"><\/div>/g,
        ),
      ].map((m) => [m[1], m[2]]),
    ).toEqual([
      ["0", "snooze"],
      ["1", "mine"],
      ["2", "noref"],
      ["3", "a&amp;b"],
    ]);
    has(doc, '<div class="charts-grid"><div class="chart" id="chart-latency-0"');
  });

  it("says there is no latency data when neither samples nor a reference are given", () => {
    const doc = renderReport({ ...minimal(), latency: { states: [], reference: [] } });
    has(
      doc,
      '<h2 id="latency-h">Wakeup latency by idle state</h2>\n<p class="empty">No wakeup-latency data in this report.</p>',
    );
    hasNot(doc, 'id="latency-table"');
  });
});

describe("the fleet table", () => {
  it("says how each count is drawn and gives its start, end and peak with the peak's time", () => {
    const doc = renderReport({
      ...minimal(),
      fleet: {
        series: [
          { timeNs: 0, counts: { running: 5, hung: 0 } },
          { timeNs: 90e9, counts: { running: 3, hung: 2 } },
          { timeNs: 180e9, counts: { running: 4, hung: 1 } },
        ],
        stacked: ["running", "hung"],
      },
    });
    const table = part(doc, '<table class="data" id="fleet-table">', "</table>");
    has(
      table,
      '<tr><th scope="row">running</th><td>stacked area</td><td>5</td><td>4</td><td>5 <span class="pct">(at 0 ns)</span></td></tr>',
    );
    has(
      table,
      '<tr><th scope="row">hung</th><td>stacked area</td><td>0</td><td>1</td><td>2 <span class="pct">(at 1.50 min)</span></td></tr>',
    );
    has(
      doc,
      '<div class="chart" id="chart-fleet" role="img" aria-describedby="fleet-table"></div>\n<div class="table-wrap"><table class="data" id="fleet-table">',
    );
    const lines = renderReport({ ...minimal(), fleet: { series: [{ timeNs: 0, counts: { native: 1 } }] } });
    has(
      lines,
      '<tr><th scope="row">native</th><td>line</td><td>1</td><td>1</td><td>1 <span class="pct">(at 0 ns)</span></td></tr>',
    );
  });

  it("colours the known counts apart in a colour-blind safe palette", () => {
    const colors = Object.values(FLEET_COLORS);
    for (const c of colors) expect(c).toMatch(/^#[0-9A-F]{6}$/);
    expect(new Set(colors).size).toBe(colors.length);
  });

  it("orders the counts it knows: states of a guest first, then how they idle, then refusals and failures", () => {
    const order = [
      "running",
      "migrating",
      "migrated",
      "native",
      "emulated",
      "not-used",
      "refused",
      "migrations-refused",
      "failed-start",
      "hung",
      "crashed",
    ];
    const counts = Object.fromEntries([...order].reverse().map((n) => [n, 1]));
    const c = clientData(renderReport({ ...minimal(), fleet: { series: [{ timeNs: 0, counts }] } }));
    expect(c.fleet?.outcomes.map((o) => o.name)).toEqual(order);
  });
});

describe("the document around the sections", () => {
  it("names the generator, the sections and the bundled library's version", () => {
    const require = createRequire(import.meta.url);
    const version = (
      JSON.parse(readFileSync(require.resolve("echarts/package.json"), "utf8")) as { version: string }
    ).version;
    const doc = renderReport({
      ...minimal(),
      generatedBy: { seed: 9, command: "stopsim matrix", version: "1.2.3" },
    });
    has(doc, '<meta name="generator" content="stopsim 1.2.3">');
    has(
      doc,
      '<p class="meta">Generated by stopsim 1.2.3 with seed <code>9</code> from <code>stopsim matrix</code>.</p>',
    );
    for (const id of ["matrix", "timeline", "latency", "fleet"]) has(doc, `<li><a href="#${id}">`);
    has(doc, `charts drawn by Apache ECharts ${version} (Apache-2.0), bundled into this file`);
  });

  it("allows styles inline, images from data and blob only, and no base or form target", () => {
    const csp = renderReport(minimal()).match(
      /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/,
    )?.[1];
    expect(csp?.replace(/&#39;sha256-[A-Za-z0-9+/=]+&#39;/g, "HASH")).toBe(
      "default-src &#39;none&#39;; script-src HASH HASH; style-src &#39;unsafe-inline&#39;; img-src data: blob:; base-uri &#39;none&#39;; form-action &#39;none&#39;",
    );
  });

  it("keeps the design column in place and every wide table in its own scrolling box", () => {
    const style = part(renderReport(minimal()), "<style>", "</style>");
    has(style, "table.matrix thead th:first-child, table.matrix tbody th { position: sticky; left: 0;");
    has(style, ".table-wrap { overflow-x: auto;");
    for (const o of MATRIX_OUTCOMES) has(style, `.o-${o} { background: #`);
  });

  it("runs the page script on the inlined library, the document and the window", () => {
    const page = scripts(renderReport(minimal()))[2].body;
    expect(page.startsWith('"use strict";(function(){var __name=function(f){return f;};(')).toBe(true);
    expect(page.endsWith(")(window.echarts,document,window);})();")).toBe(true);
    // the client function in between parses
    expect(() => new Function(page)).not.toThrow();
  });
});
