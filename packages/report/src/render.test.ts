import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MATRIX_OUTCOMES,
  POWER9_WAKEUP_REFERENCE,
  type ReportData,
  ReportDataError,
  renderReport,
} from "./index.js";
import { prepareLatency, robustTop } from "./prepare.js";
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
const html = renderReport(sample);

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
  const doc = ownPart(renderReport(data));

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
