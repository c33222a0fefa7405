// The matrix's bookkeeping on few, short runs: which cells there are and in what order, the jobs
// sent to the pool, a row's majority and ties, and one cell run in this process, serially and
// through the pool's serial path (matrix.test.ts runs the whole matrix and the CLI).
import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { NO_HAZARDS } from "./hazards.js";
import {
  MATRIX_WORKLOAD,
  type MatrixSeedResult,
  matrixCells,
  matrixJobs,
  matrixRow,
  runMatrix,
  runMatrixCell,
  runMatrixPool,
} from "./matrix.js";
import { runMigrate } from "./migrate.js";
import type { DesignSpec, HostPreset } from "./presets.js";
import { bootDetail, runBoot } from "./scenarios.js";

const lab: HostPreset = {
  name: "lab",
  description: "",
  chip: "dd2.3",
  firmware: "new",
  kernel: "design",
  sockets: 1,
  coresPerSocket: 4,
};
const mine: DesignSpec = {
  name: "mine",
  description: "",
  hostKvm: "fallback",
  qemu: { stopLiteCap: true, probeKvmCapStop: false },
  machine: "pseries-5.1",
  guest: { stop0lite: "platform" },
};
const seed = (s: number, outcome: MatrixSeedResult["outcome"], hazards = NO_HAZARDS): MatrixSeedResult => ({
  seed: s,
  outcome,
  detail: `${outcome} ${s}`,
  hazards,
});

describe("matrix cells and jobs", () => {
  it("every design by every ordered host pair, a scenario's hosts and designs first", () => {
    const all = matrixCells({ seed: 1, durationNs: 1 });
    expect(all).toHaveLength(5 * 4 * 4);
    expect(all[0]).toEqual({ design: "upstream-2020", from: "dd2.2-old", to: "dd2.2-old" });
    expect(all[1]).toEqual({ design: "upstream-2020", from: "dd2.2-old", to: "dd2.3-old" });
    expect(all[4]).toEqual({ design: "upstream-2020", from: "dd2.3-old", to: "dd2.2-old" });
    expect(all.at(-1)).toEqual({ design: "spapr-cap", from: "dd2.3", to: "dd2.3" });
    expect([...new Set(all.map((c) => c.design))]).toEqual([
      "upstream-2020",
      "rfc-as-posted",
      "host-probed",
      "emulate-fallback",
      "spapr-cap",
    ]);
    const withScenario = matrixCells({ seed: 1, durationNs: 1, hosts: [lab], designs: [mine] });
    expect(withScenario).toHaveLength(6 * 5 * 5);
    expect(withScenario[0]).toEqual({ design: "mine", from: "lab", to: "lab" });
    expect([...new Set(withScenario.map((c) => c.from))]).toEqual([
      "lab",
      "dd2.2-old",
      "dd2.3-old",
      "dd2.2",
      "dd2.3",
    ]);
    expect(
      matrixCells({ seed: 1, durationNs: 1, designNames: ["x"], hostNames: ["a", "b"], hosts: [lab] }),
    ).toEqual([
      { design: "x", from: "a", to: "a" },
      { design: "x", from: "a", to: "b" },
      { design: "x", from: "b", to: "a" },
      { design: "x", from: "b", to: "b" },
    ]);
  });

  it("one job per cell and seed, cells in order and each cell's seeds in list order", () => {
    const opts = { seed: 1, durationNs: 7, designNames: ["d"], hostNames: ["a", "b"] };
    const jobs = matrixJobs(opts, [9, "18446744073709551615"]);
    expect(jobs.map((j) => [j.cell.from, j.cell.to, j.seed])).toEqual([
      ["a", "a", 9],
      ["a", "a", "18446744073709551615"],
      ["a", "b", 9],
      ["a", "b", "18446744073709551615"],
      ["b", "a", 9],
      ["b", "a", "18446744073709551615"],
      ["b", "b", 9],
      ["b", "b", "18446744073709551615"],
    ]);
    expect(jobs[0]).toEqual({
      kind: "cell",
      cell: { design: "d", from: "a", to: "a" },
      seed: 9,
      durationNs: 7,
      guest: {},
    });
    const scenario = matrixJobs({ ...opts, guest: { smp: "4" }, hosts: [lab], designs: [mine] }, [1])[0];
    expect(scenario).toMatchObject({ guest: { smp: "4" }, hosts: [lab], designs: [mine] });
  });
});

describe("a cell's row", () => {
  it("ties go to the earlier outcome of RUN_OUTCOMES, whatever the seed order", () => {
    const row = matrixRow({ design: "d", from: "a", to: "b" }, [seed(1, "hung"), seed(2, "emulated")]);
    expect(row.outcome).toBe("emulated");
    expect(row.detail).toBe("emulated 2");
    expect(row.minority).toEqual([{ outcome: "hung", seeds: [1] }]);
    expect(Object.keys(row.outcomes)).toEqual(["emulated", "hung"]);
  });

  it("marks hazards in a clean outcome only: native, emulated and not-used", () => {
    const cell = { design: "d", from: "a", to: "a" };
    const stall = { ...NO_HAZARDS, stalls: 1 };
    for (const o of ["native", "emulated", "not-used"] as const)
      expect(matrixRow(cell, [seed(1, o, stall)]).hazardMark, o).toBe(true);
    for (const o of ["crashed", "refused", "failed-start", "hung"] as const)
      expect(matrixRow(cell, [seed(1, o, stall)]).hazardMark, o).toBe(false);
    // the late-wake-up and storm counts mark as well; the lateness alone does not
    expect(matrixRow(cell, [seed(1, "native", { ...NO_HAZARDS, maxWakeupLatenessNs: 5e6 })]).hazardMark).toBe(
      false,
    );
    expect(matrixRow(cell, [seed(1, "native", { ...NO_HAZARDS, emulatedStopStorms: 1 })]).hazards).toEqual([
      { kind: "emulatedStopStorms", seeds: [1] },
    ]);
    expect(matrixRow(cell, [seed(1, "native")]).hazards).toEqual([]);
  });
});

describe("one cell through the layers", () => {
  const o = { durationNs: NS_PER_MS };

  it("a cell on one host is a boot, across two a migration, both under the matrix's workload", () => {
    const boot = runMatrixCell({ design: "spapr-cap", from: "dd2.3", to: "dd2.3" }, { ...o, seed: 4 });
    const b = runBoot("dd2.3", "spapr-cap", { ...o, seed: 4, guest: { workload: MATRIX_WORKLOAD } });
    expect(boot).toEqual({ seed: 4, outcome: b.outcome, detail: bootDetail(b), hazards: b.hazards });
    const mig = runMatrixCell({ design: "spapr-cap", from: "dd2.3", to: "dd2.2" }, { ...o, seed: 4 });
    const m = runMigrate("dd2.3", "dd2.2", "spapr-cap", {
      ...o,
      seed: 4,
      guest: { workload: MATRIX_WORKLOAD },
    });
    expect(mig).toEqual({ seed: 4, outcome: m.outcome, detail: m.detail, hazards: m.hazards });
    // a workload given by the caller wins
    const timers = runMatrixCell(
      { design: "spapr-cap", from: "dd2.3", to: "dd2.3" },
      {
        ...o,
        seed: 4,
        guest: { workload: "timers" },
      },
    );
    const t = runBoot("dd2.3", "spapr-cap", { ...o, seed: 4, guest: { workload: "timers" } });
    expect(timers.detail).toBe(bootDetail(t));
  });

  it("the matrix in this process and on the pool's serial path give the same rows; one seed by default", async () => {
    const opts = { ...o, seed: 3, designNames: ["emulate-fallback"], hostNames: ["dd2.2"] };
    const seen: string[] = [];
    const rows = runMatrix({ ...opts, onRow: (r) => seen.push(`${r.design} ${r.from}->${r.to}`) });
    expect(seen).toEqual(["emulate-fallback dd2.2->dd2.2"]);
    expect(rows.map((r) => r.seeds.map((s) => s.seed))).toEqual([[3]]);
    const pooled = await runMatrixPool(opts, [3], { workers: 1 });
    expect(pooled).toEqual({ seeds: [3], rows, runs: { done: 1, total: 1 }, interrupted: false, workers: 1 });
    // an aborted pool keeps no partial cell
    const stopped = new AbortController();
    stopped.abort();
    const none = await runMatrixPool(opts, [3, 4], { workers: 1, signal: stopped.signal });
    expect(none.rows).toEqual([]);
    expect(none.interrupted).toBe(true);
    expect(none.runs.total).toBe(2);
  });
});
