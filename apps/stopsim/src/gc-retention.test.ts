// A finished run must leave nothing that keeps its simulation alive through V8's minor (young
// generation) collections. A sweep runs one whole model per seed; when an object of the old
// generation points into a finished run (a function literal assigned straight to a property is
// allocated old; a generator function declared inside another function gets an initial map of its
// own, in the old generation, that holds the function and its closure), every minor collection
// keeps the whole run alive and promotes it, and only full collections free it: ~650 KiB per seed
// of a boot sweep was promoted that way, with a full (mark-compact) collection every ~45 seeds.
// Measured in a child process without the optimising compiler (--no-opt), whose code may embed
// objects of the run it was compiled in: that part varies from run to run, this part must not.
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { builtModule } from "./pool.js";

const PROBE = `
const { getHeapSpaceStatistics } = await import("node:v8");
const { runSweepTask } = await import(process.env.SWEEP_TASK_URL);
const task = { host: "dd2.3", design: "spapr-cap", durationNs: 10e6, workload: "mixed", seeds: [] };
const young = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_used_size;
// warm: the first runs leave call feedback behind that points at their objects for a while
for (let seed = 1; seed <= 60; seed++) runSweepTask({ ...task, seeds: [seed] });
gc();
const kept = [];
for (let seed = 61; seed <= 66; seed++) {
  runSweepTask({ ...task, seeds: [seed] });
  gc({ type: "minor" });
  kept.push(young());
  gc({ type: "minor" });
}
console.log(JSON.stringify(kept));
`;

describe("memory of finished runs", () => {
  it("a minor collection after a boot sweep seed keeps almost none of its run", () => {
    const url = pathToFileURL(builtModule("sweep-task.js", "gc-retention test")).href;
    const out = execFileSync(
      process.execPath,
      [
        "--expose-gc",
        "--no-opt",
        "--single-threaded-gc",
        // a young generation no run fills: no collection but the probe's own during a run
        "--min-semi-space-size=32",
        "--max-semi-space-size=32",
        "--input-type=module",
        "-e",
        PROBE,
      ],
      { env: { ...process.env, SWEEP_TASK_URL: url }, encoding: "utf8" },
    );
    const kept = JSON.parse(out.trim().split("\n").pop() ?? "[]") as number[];
    expect(kept).toHaveLength(6);
    // a run's model is ~650 KiB; what survives here is the harness's own few objects
    for (const bytes of kept) expect(bytes).toBeLessThan(150 * 1024);
  }, 60_000);
});
