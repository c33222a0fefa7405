// Streamed traces: `stopsim idle --duration 60s --trace t.json` (the built CLI, as a user runs it)
// must finish with a peak RSS under 300 MB, and the trace must parse completely, every event
// checked against its schema. Writes bench-results/trace-stream.json.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeBenchResult } from "@stopsim/engine";
import { checkTraceFile } from "../src/trace-file.js";

const SEED = 1;
const DURATION = process.env.TRACE_BENCH_DURATION ?? "60s";
const RSS_LIMIT_MB = 300;
const app = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "stopsim-trace-bench-"));
const trace = join(dir, "t.json");
const rssFile = join(dir, "rss");

const args = [
  "idle",
  "--host",
  "dd2.3",
  "--design",
  "spapr-cap",
  "--duration",
  DURATION,
  "--seed",
  String(SEED),
];
const t0 = performance.now();
const run = spawnSync(
  process.execPath,
  ["--import", "./bench/max-rss.mjs", "dist/cli.js", ...args, "--trace", trace, "--json"],
  { cwd: app, encoding: "utf8", env: { ...process.env, STOPSIM_RSS_FILE: rssFile }, maxBuffer: 1 << 26 },
);
const wallSeconds = (performance.now() - t0) / 1000;
if (run.status !== 0) throw new Error(`stopsim ${args.join(" ")} exited ${run.status}: ${run.stderr}`);
const peakRssMB = Number(readFileSync(rssFile, "utf8")) / 1024;
const t1 = performance.now();
const check = await checkTraceFile(trace);
const checkSeconds = (performance.now() - t1) / 1000;
rmSync(dir, { recursive: true, force: true });

const figures = {
  command: `stopsim ${args.join(" ")} --trace t.json`,
  wallSeconds: Number(wallSeconds.toFixed(1)),
  peakRssMB: Number(peakRssMB.toFixed(1)),
  traceBytes: check.bytes,
  traceMiB: Number((check.bytes / 1048576).toFixed(1)),
  traceEvents: check.events,
  traceMetadataEvents: check.metadata,
  everyEventCheckedAgainstSchema: true,
  checkSeconds: Number(checkSeconds.toFixed(1)),
  targets: { maxPeakRssMB: RSS_LIMIT_MB },
  met: peakRssMB < RSS_LIMIT_MB,
};
const path = writeBenchResult("trace-stream", SEED, figures);
console.log(
  `trace-stream: ${DURATION} idle traced in ${figures.wallSeconds} s, peak RSS ${figures.peakRssMB} MB (limit ${RSS_LIMIT_MB}), ${figures.traceMiB} MiB, ${figures.traceEvents} events all valid -> ${path}`,
);
if (!figures.met) process.exitCode = 1;
