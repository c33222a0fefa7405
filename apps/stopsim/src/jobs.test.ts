// The jobs of the process pool: each kind's code is loaded by its first job, so a worker that only
// runs sweep jobs loads the simulation's layers and nothing else; the pool's worker options.
import { execFileSync } from "node:child_process";
import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { BENCH_CASES, benchRateCase, benchWakeupCase } from "./bench.js";
import {
  type CellJob,
  loadJobRunner,
  type ProbeJob,
  type RateJob,
  runJob,
  type SweepJob,
  type WakeupJob,
} from "./jobs.js";
import { runMatrixCell } from "./matrix.js";
import { builtModule, workerExecArgv } from "./pool.js";
import { runProbeCase } from "./probe.js";
import { runSweepTask } from "./sweep.js";

const JOB: SweepJob = {
  kind: "sweep",
  task: { host: "dd2.3", design: "spapr-cap", durationNs: 2 * NS_PER_MS, workload: "mixed", seeds: [3, 4] },
};

describe("pool jobs", () => {
  it("runs a sweep job as the sweep does, its runner loaded once", async () => {
    expect(await runJob(JOB)).toEqual(runSweepTask(JOB.task));
    const run = await loadJobRunner("sweep");
    expect(await loadJobRunner("sweep")).toBe(run);
  });

  it("refuses a job of no known kind, naming it", async () => {
    await expect(runJob({ kind: "nope" } as unknown as SweepJob)).rejects.toThrow(
      /no such kind of job: "nope"/,
    );
  });

  it("a process running sweep jobs does not load hdr-histogram-js; a latency histogram does", () => {
    // the built modules, as a pool worker loads them; CommonJS packages show in require.cache
    const jobs = builtModule("jobs.js", "test");
    const script = `
      import { createRequire } from "node:module";
      const { runJob } = await import(${JSON.stringify(jobs)});
      const samples = await runJob(${JSON.stringify(JOB)});
      const cached = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({ samples: samples.length, hdr: cached.some((p) => p.includes("hdr-histogram-js")) }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({ samples: 2, hdr: false });
    // and a latency histogram still loads it on demand
    const withHistogram = `
      import { createRequire } from "node:module";
      const { LatencyHistogram } = await import("@stopsim/engine");
      const h = new LatencyHistogram("x");
      h.record(5);
      const cached = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({ median: h.summary().median, hdr: cached.some((p) => p.includes("hdr-histogram-js")) }));
    `;
    const out2 = execFileSync(process.execPath, ["--input-type=module", "-e", withHistogram], {
      encoding: "utf8",
      cwd: new URL("..", import.meta.url),
    });
    expect(JSON.parse(out2)).toEqual({ median: 5, hdr: true });
  });

  it("collects garbage and compiles on one thread per worker only when the workers take every core", () => {
    expect(workerExecArgv(2, 2)).toEqual(["--single-threaded"]);
    expect(workerExecArgv(4, 2)).toEqual(["--single-threaded"]);
    expect(workerExecArgv(1, 2)).toEqual([]);
  });

  it("each kind of job gives what its function gives in this process, from plain data", async () => {
    const ms = NS_PER_MS;
    const cell: CellJob = {
      kind: "cell",
      cell: { design: "spapr-cap", from: "dd2.3", to: "dd2.2" },
      seed: 2,
      durationNs: ms,
      guest: {},
    };
    expect(await runJob(cell)).toEqual(runMatrixCell(cell.cell, { seed: 2, durationNs: ms, guest: {} }));
    const wakeup: WakeupJob = { kind: "wakeup", caseIndex: 1, seed: 3, samples: 2 };
    expect(await runJob(wakeup)).toEqual(benchWakeupCase(BENCH_CASES[1], 3, 2));
    const rate: RateJob = { kind: "rate", what: "ctxsw", caseIndex: 0, seed: 4, windowNs: ms };
    expect(await runJob(rate)).toEqual(benchRateCase("ctxsw", BENCH_CASES[0], 4, ms));
    const probe: ProbeJob = {
      kind: "probe",
      probe: { kind: "boot", design: "host-probed", hostKind: "dd2.2-old" },
      options: { seed: 5, phaseNs: ms },
    };
    expect(await runJob(probe)).toEqual(runProbeCase(probe.probe, probe.options));
  });

  it("refuses a benchmark case that does not exist, saying how many there are", async () => {
    await expect(
      runJob({ kind: "wakeup", caseIndex: BENCH_CASES.length, seed: 1, samples: 2 }),
    ).rejects.toThrow(`no benchmark case ${BENCH_CASES.length} (there are ${BENCH_CASES.length})`);
    await expect(
      runJob({ kind: "rate", what: "ebizzy", caseIndex: -1, seed: 1, windowNs: NS_PER_MS }),
    ).rejects.toThrow(/no benchmark case -1/);
  });
});
