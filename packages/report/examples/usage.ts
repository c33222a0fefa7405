// Render a small report (matrix, one vCPU timeline, wakeup latencies beside the measured POWER9
// medians) to one self-contained HTML file, and show how bad input is reported.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseReportData, type ReportData, ReportDataError, renderReport } from "@stopsim/report";

const data: ReportData = {
  title: "stop0lite across two hosts",
  generatedBy: { seed: 1, command: "examples/usage.ts", version: "0.1.0" },
  matrix: {
    rows: [
      {
        design: "spapr-cap",
        from: "DD2.3",
        to: "DD2.3",
        outcome: "native",
        detail: "stop0lite in the guest",
      },
      { design: "spapr-cap", from: "DD2.3", to: "DD2.2", outcome: "emulated", detail: "H_FAC_UNAVAIL exits" },
    ],
  },
  timeline: {
    runLabel: "vcpu timeline",
    vcpus: [
      {
        name: "vcpu0",
        segments: [
          { start: 0, end: 40_000, state: "running" },
          { start: 40_000, end: 90_000, state: "stop0lite" },
          { start: 90_000, end: 120_000, state: "running" },
        ],
        markers: [{ time: 90_000, name: "timer" }],
      },
    ],
  },
  latency: {
    states: [{ state: "stop0lite", timer: { samples: [3100, 3300, 2900] }, ipi: { samples: [4100, 3900] } }],
  },
};

const html = renderReport(data);
assert.ok(html.startsWith("<!doctype html>"));
assert.equal(renderReport(data), html, "same input, same bytes");
assert.ok(!/\s(src|href)=["']https?:/.test(html), "no external reference: the charting library is inlined");
const file = join(tmpdir(), "stopsim-example-report.html");
writeFileSync(file, html);

// untrusted input: every invalid field by path
const bad = structuredClone(data) as { timeline: { vcpus: { segments: { end: number }[] }[] } };
bad.timeline.vcpus[0].segments[2].end = 80_000;
assert.throws(
  () => parseReportData(bad),
  (e: unknown) => e instanceof ReportDataError && /timeline\.vcpus\[0\]\.segments\[2\]/.test(e.message),
);
console.log(`wrote ${file} (${(html.length / 1024).toFixed(0)} KiB)`);
