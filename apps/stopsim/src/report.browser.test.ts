// End to end: `stopsim report` generates a report from real runs, headless Chromium (Debian's
// chromium, driven by playwright-core) opens it, every chart has data points, nothing errs, and a
// screenshot is kept as a test artifact (test-artifacts/report.png).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { main } from "./cli.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), "..", "test-artifacts");

interface PageReport {
  ready: boolean;
  charts: Record<string, { title: string; series: { name: string; points: number }[]; rendered: boolean }>;
}

describe("stopsim report in headless Chromium", () => {
  it("renders every chart of a report made from real runs, without errors", async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium); .ci/run does`,
      );
    }
    const dir = mkdtempSync(join(tmpdir(), "stopsim-report-e2e-"));
    const out = join(dir, "report.html");
    const code = await main([
      "report",
      "--out",
      out,
      "--seed",
      "7",
      "--samples",
      "12",
      "--timeline",
      "1ms",
      "--fleet-hosts",
      "20",
      "--fleet-vms",
      "120",
      "--fleet-duration",
      "6h",
    ]);
    expect(code).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html).not.toMatch(/<script[^>]+src=["']https?:/);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
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
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(pathToFileURL(out).href, { waitUntil: "load" });
      await page.waitForFunction(
        () => (globalThis as unknown as { stopsimReport?: PageReport }).stopsimReport?.ready === true,
        null,
        {
          timeout: 30_000,
        },
      );
      const report = await page.evaluate(
        () => (globalThis as unknown as { stopsimReport: PageReport }).stopsimReport,
      );
      expect(Object.keys(report.charts)).toEqual(
        expect.arrayContaining(["chart-timeline", "chart-fleet", "chart-latency-0"]),
      );
      for (const [id, c] of Object.entries(report.charts)) {
        expect(c.rendered, id).toBe(true);
        expect(
          c.series.some((s) => s.points > 0),
          id,
        ).toBe(true);
      }
      // the matrix table has a cell per design and host pair, each with an outcome label
      const cells = await page.locator("table.matrix td[data-outcome]").count();
      expect(cells).toBe(80);
      expect(errors).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "report.png"), fullPage: true });
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
