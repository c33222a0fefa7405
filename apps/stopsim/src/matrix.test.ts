import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { NO_HAZARDS } from "./hazards.js";
import type { MatrixRow } from "./matrix.js";
import { matrixRow, runMatrix, runMatrixPool } from "./matrix.js";
import { runCli } from "./test-helpers/run-cli.js";

const SCENARIO = fileURLToPath(new URL("../scenarios/lost-wakeup.yaml", import.meta.url));
const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

describe("matrix over seeds", () => {
  it("a cell counts each outcome over the seeds, majority first, with the minority's seeds", () => {
    const cell = { design: "d", from: "a", to: "b" };
    const row = matrixRow(cell, [
      { seed: 1, outcome: "native", detail: "n1", hazards: NO_HAZARDS },
      {
        seed: 2,
        outcome: "hung",
        detail: "h2",
        hazards: { ...NO_HAZARDS, stalledVcpus: 1 },
      },
      {
        seed: 3,
        outcome: "native",
        detail: "n3",
        hazards: { ...NO_HAZARDS, lostWakeups: 2 },
      },
      { seed: 4, outcome: "crashed", detail: "c4", hazards: NO_HAZARDS },
      {
        seed: 5,
        outcome: "hung",
        detail: "h5",
        hazards: { ...NO_HAZARDS, stalledVcpus: 2, lostWakeups: 1 },
      },
      { seed: 6, outcome: "native", detail: "n6", hazards: NO_HAZARDS },
    ]);
    expect(row.outcome).toBe("native");
    expect(row.detail).toBe("n1");
    expect(Object.entries(row.outcomes)).toEqual([
      ["native", 3],
      ["hung", 2],
      ["crashed", 1],
    ]);
    expect(row.minority).toEqual([
      { outcome: "hung", seeds: [2, 5] },
      { outcome: "crashed", seeds: [4] },
    ]);
    expect(row.seeds.map((s) => s.seed)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(row.hazards).toEqual([
      { kind: "lostWakeups", seeds: [3, 5] },
      { kind: "stalledVcpus", seeds: [2, 5] },
    ]);
    // seed 3 idled natively yet lost wake-ups: the cell is marked
    expect(row.hazardMark).toBe(true);
    const hungOnly = matrixRow(cell, [
      { seed: 2, outcome: "hung", detail: "", hazards: { ...NO_HAZARDS, stalls: 1 } },
    ]);
    expect(hungOnly.hazardMark).toBe(false);
  });

  it("gives byte-identical JSON on a pool of processes and serially, for the same seeds", async () => {
    const args = [
      "matrix",
      "--designs",
      "spapr-cap",
      "--hosts",
      "dd2.2,dd2.3",
      "--seeds",
      "2..4",
      "--duration",
      "5ms",
      "--json",
    ];
    const pooled = await runCli([...args, "--workers", "2"]);
    const serial = await runCli([...args, "--workers", "1"]);
    expect(pooled.code).toBe(0);
    expect(serial.code).toBe(0);
    expect(pooled.out).toBe(serial.out);
    const json = JSON.parse(pooled.out) as { seeds: number[]; rows: MatrixRow[]; interrupted: boolean };
    expect(json.seeds).toEqual([2, 3, 4]);
    expect(json.interrupted).toBe(false);
    expect(json.rows).toHaveLength(4);
    for (const r of json.rows) expect(r.seeds.map((s) => s.seed)).toEqual([2, 3, 4]);
    // the in-process matrix of the library agrees with both
    const lib = runMatrix({
      seed: 2,
      seeds: [2, 3, 4],
      durationNs: 5 * NS_PER_MS,
      designNames: ["spapr-cap"],
      hostNames: ["dd2.2", "dd2.3"],
    });
    expect(JSON.parse(JSON.stringify(lib))).toEqual(json.rows);
  });

  it("shows a rare outcome of a scenario as a minority with its seeds, and replaying one gives it", async () => {
    const rare = [
      "matrix",
      "--scenario",
      SCENARIO,
      "--designs",
      "rfc-as-posted",
      "--hosts",
      "dd2.2-flaky",
      "--seeds",
      "10",
    ];
    const m = await runCli([...rare, "--json"]);
    expect(m.code).toBe(0);
    const [row] = (JSON.parse(m.out) as { rows: MatrixRow[] }).rows;
    // the erratum loses a wake event now and then: most seeds idle natively, some hang
    expect(row.outcome).toBe("native");
    const hung = row.minority.find((x) => x.outcome === "hung");
    expect(hung?.seeds.length ?? 0).toBeGreaterThan(0);
    expect(row.outcomes.hung).toBe(hung?.seeds.length);
    expect(row.outcomes.native).toBeGreaterThan(row.outcomes.hung ?? 0);
    // the layers saw why: every hung seed lost wake-ups (the ISA erratum) and had a stalled vCPU
    // (the guest); a native seed that lost wake-ups too marks the cell
    const lost = row.hazards.find((h) => h.kind === "lostWakeups")?.seeds ?? [];
    const stalled = row.hazards.find((h) => h.kind === "stalledVcpus")?.seeds ?? [];
    for (const s of hung?.seeds ?? []) {
      expect(lost).toContain(s);
      expect(stalled).toContain(s);
    }
    if (lost.some((s) => !hung?.seeds.includes(s))) expect(row.hazardMark).toBe(true);
    // the table shows the distribution and names the seeds with a replay command
    const t = await runCli(rare);
    expect(t.out).toContain(`native ${row.outcomes.native}/10, hung ${row.outcomes.hung}/10`);
    expect(t.out).toContain(
      `hung on seed${(hung?.seeds.length ?? 0) > 1 ? "s" : ""} ${hung?.seeds.join(", ")}`,
    );
    // replaying each minority seed with `stopsim boot --seed` gives that outcome, and a majority
    // seed gives the majority's
    const majority = row.seeds.find((s) => s.outcome === "native")?.seed;
    for (const [seed, want] of [
      ...(hung?.seeds ?? []).map((s) => [s, "hung"] as const),
      [majority, "native"] as const,
    ]) {
      const b = await runCli([
        "boot",
        "--scenario",
        SCENARIO,
        "--host",
        "dd2.2-flaky",
        "--design",
        "rfc-as-posted",
        "--duration",
        "10ms",
        // the matrix's cells run the mixed workload (MATRIX_WORKLOAD; the table's replay hint says so)
        "--workload",
        "mixed",
        "--seed",
        String(seed),
        "--json",
      ]);
      const boot = JSON.parse(b.out);
      expect(boot.outcome, `seed ${seed}`).toBe(want);
      // the replay counts the same hazards as the matrix's run of that seed
      expect(boot.hazards).toEqual(row.seeds.find((s) => s.seed === seed)?.hazards);
    }
  });

  it("an abort stops the pool and keeps only the runs that finished", async () => {
    const ac = new AbortController();
    const r = await runMatrixPool(
      { seed: 1, durationNs: 5 * NS_PER_MS, designNames: ["spapr-cap"], hostNames: ["dd2.2", "dd2.3"] },
      [1, 2, 3, 4, 5, 6],
      {
        workers: 2,
        signal: ac.signal,
        onProgress: (done) => {
          if (done === 3) ac.abort();
        },
      },
    );
    expect(r.interrupted).toBe(true);
    expect(r.runs.total).toBe(24);
    expect(r.runs.done).toBeGreaterThanOrEqual(3);
    expect(r.runs.done).toBeLessThan(24);
    for (const row of r.rows) expect(row.seeds).toHaveLength(6);
  });

  it("Ctrl-C ends the CLI's matrix cleanly: exit code 130, what finished reported, no worker left", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "matrix", "--seeds", "20", "--workers", "2", "--duration", "5ms", "--json"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    child.stderr.on("data", (d) => {
      err += String(d);
    });
    // wait for the two workers to be up (a loaded machine starts them late; ps exits 1 while the
    // CLI has no child yet)
    const children = (): number[] => {
      try {
        return execFileSync("ps", ["-o", "pid=", "--ppid", String(child.pid)], { encoding: "utf8" })
          .split("\n")
          .map((l) => Number(l.trim()))
          .filter((n) => n > 0);
      } catch {
        return [];
      }
    };
    let workers = children();
    for (let waited = 0; workers.length < 2 && waited < 30_000; waited += 250) {
      await new Promise((r) => setTimeout(r, 250));
      workers = children();
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(workers).toHaveLength(2);
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    child.kill("SIGINT");
    const code = await exited;
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 20 && workers.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(workers.filter(alive)).toEqual([]);
    expect(code).toBe(130);
    expect(err).toMatch(
      /\nstopsim: matrix interrupted: \d+ of 1600 runs finished; \d+ complete cells shown\n$/,
    );
    const json = JSON.parse(out) as { interrupted: boolean; runs: { done: number; total: number } };
    expect(json.interrupted).toBe(true);
    expect(json.runs.done).toBeLessThan(json.runs.total);
  });
});
