// End to end: render a realistic report, open the file in headless Chromium (Debian's chromium
// package, driven by playwright-core) and check what a reader would see: every chart drew its
// data, nothing was fetched, nothing went wrong on the console, and no text became markup.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderReport } from "./index.js";
import { sampleReportData } from "./test-helpers/sample-data.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), "..", "test-artifacts");
const EVIL = `<img src=x onerror="window.__pwned=1">`;

interface PageReport {
  ready: boolean;
  charts: Record<string, { title: string; series: { name: string; points: number }[]; rendered: boolean }>;
}

describe("report in headless Chromium", () => {
  let browser: Browser;
  let page: Page;
  let dir: string;
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} not found: the browser test needs Debian's chromium package. ` +
          "Install it with `sudo apt-get install -y chromium` (.ci/run does this in CI).",
      );
    }
    dir = mkdtempSync(join(tmpdir(), "stopsim-report-"));
    const file = join(dir, "report.html");
    writeFileSync(file, renderReport(sampleReportData({ seed: "42" })));

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // playwright starts every launch with a fresh, empty profile (its own --user-data-dir)
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await open(file);
  });

  /** Opens `file` in a new page, recording problems, and waits until every chart has rendered. */
  async function open(file: string, width = 1280): Promise<Page> {
    const p = await browser.newPage({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
    p.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    p.on("pageerror", (e) => pageErrors.push(e.message));
    p.on("request", (r) => requests.push(r.url()));
    await p.goto(pathToFileURL(file).href, { waitUntil: "load" });
    await p.waitForFunction(
      () => (window as unknown as { stopsimReport?: PageReport }).stopsimReport?.ready === true,
      null,
      { timeout: 20_000 },
    );
    return p;
  }

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("loads without console errors, page errors or any request but the file itself", () => {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatch(/^file:\/\/.*report\.html$/);
  });

  it("renders all six charts with data in every series", async () => {
    const report = await page.evaluate(
      () => (window as unknown as { stopsimReport: PageReport }).stopsimReport,
    );
    expect(Object.keys(report.charts).sort()).toEqual([
      "chart-fleet",
      "chart-latency-0",
      "chart-latency-1",
      "chart-latency-2",
      "chart-latency-3",
      "chart-timeline",
    ]);
    for (const [id, c] of Object.entries(report.charts)) {
      expect(c.rendered, id).toBe(true);
      expect(c.series.length, id).toBeGreaterThan(0);
      for (const s of c.series) expect(s.points, `${id} ${s.name}`).toBeGreaterThan(0);
    }
    // the library's own model holds the same data
    const fromLibrary = await page.evaluate(() => {
      const ec = (window as unknown as { echarts: typeof import("echarts") }).echarts;
      return Array.from(document.querySelectorAll<HTMLElement>(".chart")).map((el) => {
        const chart = ec.getInstanceByDom(el);
        const option = chart?.getOption() as { series: { data: unknown[] }[]; title: { text: string }[] };
        return { id: el.id, title: option.title[0].text, lengths: option.series.map((s) => s.data.length) };
      });
    });
    expect(fromLibrary).toHaveLength(6);
    for (const c of fromLibrary) {
      expect(c.title).toBe(report.charts[c.id].title);
      expect(c.lengths.every((n) => n > 0)).toBe(true);
    }
  });

  it("saves a full-page screenshot as a test artifact", async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const png = join(ARTIFACTS, "report.png");
    await page.screenshot({ path: png, fullPage: true });
    expect(statSync(png).size).toBeGreaterThan(100_000);
  });

  it("paints data on every chart's canvas, the timeline in each state's colour", async () => {
    const paint = await page.evaluate(() => {
      const hex = (r: number, g: number, b: number) =>
        `#${[r, g, b].map((x) => x.toString(16).padStart(2, "0")).join("")}`.toUpperCase();
      return Array.from(document.querySelectorAll<HTMLElement>(".chart")).map((el) => {
        const canvas = el.querySelector("canvas");
        if (!canvas) return { id: el.id, inked: 0, colours: 0, byColour: {} as Record<string, number> };
        const ctx = canvas.getContext("2d");
        const img = ctx?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
        let inked = 0;
        const byColour: Record<string, number> = {};
        for (let i = 0; i < img.length; i += 4) {
          if (img[i + 3] === 0) continue;
          if (img[i] > 245 && img[i + 1] > 245 && img[i + 2] > 245) continue;
          inked++;
          const k = hex(img[i], img[i + 1], img[i + 2]);
          byColour[k] = (byColour[k] ?? 0) + 1;
        }
        return {
          id: el.id,
          inked,
          colours: Object.keys(byColour).length,
          byColour,
          size: canvas.width * canvas.height,
        };
      });
    });
    expect(paint).toHaveLength(6);
    for (const p of paint) {
      expect(p.inked, `${p.id} has too little ink`).toBeGreaterThan(8_000);
      expect(p.colours, p.id).toBeGreaterThan(20);
    }
    // every state that occurs in the sample run is drawn as solid bars of its colour
    const timeline = paint.find((p) => p.id === "chart-timeline");
    const states = {
      running: "#009E73",
      snooze: "#F0E442",
      stop0lite: "#56B4E9",
      emulated: "#E69F00",
      cede: "#0072B2",
    };
    for (const [state, colour] of Object.entries(states)) {
      expect(timeline?.byColour[colour] ?? 0, `${state} (${colour}) pixels`).toBeGreaterThan(200);
    }
  });

  it("zooms the timeline to a time range and back", async () => {
    const extent = () =>
      page.evaluate(() => {
        const ec = (window as unknown as { echarts: typeof import("echarts") }).echarts;
        const el = document.getElementById("chart-timeline");
        const chart = el ? ec.getInstanceByDom(el) : undefined;
        if (!chart) throw new Error("no timeline chart");
        const dz = (chart.getOption() as { dataZoom: { startValue: number; endValue: number }[] })
          .dataZoom[0];
        return [dz.startValue, dz.endValue];
      });
    const zoom = (start: number, end: number) =>
      page.evaluate(
        ([start, end]) => {
          const ec = (window as unknown as { echarts: typeof import("echarts") }).echarts;
          const el = document.getElementById("chart-timeline");
          if (el) ec.getInstanceByDom(el)?.dispatchAction({ type: "dataZoom", start, end });
        },
        [start, end],
      );
    const [a0, b0] = await extent();
    expect([a0, b0]).toEqual([0, 2000]); // the whole 2 ms run, in µs
    await zoom(40, 60);
    const [a1, b1] = await extent();
    expect(b1 - a1).toBeCloseTo((b0 - a0) * 0.2, 3);
    expect(a1).toBeCloseTo(a0 + (b0 - a0) * 0.4, 3);
    await zoom(0, 100);
    expect(await extent()).toEqual([a0, b0]);
    expect(await page.locator("#chart-timeline").evaluate((el) => el.getAttribute("aria-label"))).toContain(
      "vCPU states over time",
    );
  });

  it("shows hostile text as text in tooltips and cell titles, never as markup", async () => {
    // hostile text where the page itself writes HTML: a marker name and detail (legend,
    // tooltip) and a matrix detail (cell title)
    const data = sampleReportData({ seed: "hostile", spanNs: 200_000 });
    if (!data.timeline) throw new Error("sample has no timeline");
    const v0 = data.timeline.vcpus[0];
    v0.markers.push({ time: v0.segments[1].start, name: EVIL, detail: `${EVIL}</script>` });
    v0.markers.sort((a, b) => a.time - b.time);
    data.matrix.rows[0] = { ...data.matrix.rows[0], detail: `"><script>window.__pwned=2</script>${EVIL}` };
    const file = join(dir, "hostile.html");
    writeFileSync(file, renderReport(data));
    const hostile = await open(file);
    await hostile.evaluate((evil) => {
      const ec = (window as unknown as { echarts: typeof import("echarts") }).echarts;
      const el = document.getElementById("chart-timeline");
      const chart = el ? ec.getInstanceByDom(el) : undefined;
      if (!chart) throw new Error("no timeline chart");
      const series = (chart.getOption() as { series: { name: string }[] }).series;
      chart.dispatchAction({
        type: "showTip",
        seriesIndex: series.findIndex((s) => s.name === evil),
        dataIndex: 0,
      });
    }, EVIL);
    // the tooltip is a div the library fills with the formatter's HTML: the hostile name and
    // detail must arrive as text
    const tooltip = await hostile.waitForFunction(
      (evil) =>
        Array.from(document.querySelectorAll<HTMLElement>("#chart-timeline div")).find(
          (d) => d.children.length > 0 && d.textContent?.startsWith(evil),
        )?.textContent,
      EVIL,
      { timeout: 5_000 },
    );
    expect(await tooltip.jsonValue()).toMatch(
      /^<img src=x onerror="window.__pwned=1"> on vcpu0at [\d.]+ µs<img src=x onerror="window.__pwned=1"><\/script>$/,
    );
    const cell = await hostile.locator("table.matrix td.cell").first().getAttribute("title");
    expect(cell).toContain(`"><script>window.__pwned=2</script>${EVIL}`);
    const state = await hostile.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: number }).__pwned,
      images: document.querySelectorAll("img").length,
      scripts: document.querySelectorAll("script").length,
    }));
    expect(state).toEqual({ pwned: undefined, images: 0, scripts: 3 });
    expect(requests.filter((r) => !r.endsWith("/report.html"))).toEqual([pathToFileURL(file).href]);
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await hostile.close();
  });

  it("shows the matrix as a table with symbols, labels and details", async () => {
    const cells = await page.$$eval("table.matrix tbody td.cell", (tds) =>
      tds.map((td) => ({ text: td.textContent ?? "", title: td.getAttribute("title") ?? "" })),
    );
    expect(cells).toHaveLength(25);
    for (const c of cells) {
      expect(c.text).toMatch(/^[✓↻○✗⊘⚠∞] (native|emulated|not-used|crashed|refused|failed-start|hung)/);
      expect(c.title.length).toBeGreaterThan(0);
    }
  });

  it("at 1400 px a wide matrix scrolls in its own box with the design column fixed; the page does not", async () => {
    const d = sampleReportData({ seed: "7" });
    const hosts = ["dd2.0", "dd2.1", "dd2.2", "dd2.3", "dd2.2-old", "dd2.3-old", "lab-a", "lab-b"];
    d.matrix.rows = [
      "upstream-2020",
      "rfc-as-posted",
      "host-probed",
      "emulate-fallback",
      "spapr-cap",
    ].flatMap((design) =>
      hosts.flatMap((from) =>
        hosts.map((to) => ({
          design,
          from,
          to,
          outcome: "native" as const,
          detail: `${design} ${from} ${to}`,
        })),
      ),
    );
    const file = join(dir, "wide.html");
    writeFileSync(file, renderReport(d));
    const p = await open(file, 1400);
    const m = await p.evaluate(() => {
      const wrap = document.querySelector<HTMLElement>("#matrix .table-wrap");
      const th = document.querySelector<HTMLElement>("table.matrix tbody th");
      if (!wrap || !th) throw new Error("no matrix");
      const before = th.getBoundingClientRect().left;
      wrap.scrollLeft = wrap.scrollWidth;
      return {
        page: document.documentElement.scrollWidth,
        viewport: document.documentElement.clientWidth,
        wrapScroll: wrap.scrollWidth,
        wrapWidth: wrap.clientWidth,
        scrolled: wrap.scrollLeft,
        headerMoved: Math.abs(th.getBoundingClientRect().left - before),
      };
    });
    expect(m.page).toBeLessThanOrEqual(m.viewport);
    expect(m.wrapScroll).toBeGreaterThan(m.wrapWidth);
    expect(m.scrolled).toBeGreaterThan(0);
    expect(m.headerMoved).toBeLessThan(1);
    await p.screenshot({ path: join(ARTIFACTS, "report-wide-matrix-1400.png") });
    await p.close();
  });
});
