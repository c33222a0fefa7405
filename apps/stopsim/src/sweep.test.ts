import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { UsageError } from "./errors.js";
import { runSweepPool, runSweepSerial, type SweepOptions, sweepTasks } from "./sweep.js";

const OPTS: SweepOptions = {
  host: "dd2.3",
  design: "spapr-cap",
  seeds: 6,
  firstSeed: 40,
  durationNs: 5 * NS_PER_MS,
  workload: "mixed",
};

describe("seed sweep", () => {
  it("splits the seeds into consecutive tasks", () => {
    const tasks = sweepTasks(OPTS, 4);
    expect(tasks.map((t) => t.seeds)).toEqual([
      [40, 41, 42, 43],
      [44, 45],
    ]);
  });

  it("gives the same samples on a worker pool as on one thread, in seed order", async () => {
    const serial = runSweepSerial(OPTS);
    const pooled = await runSweepPool(OPTS, { workers: 2, chunk: 2 });
    expect(pooled).toEqual(serial);
    expect(serial.samples.map((s) => s.seed)).toEqual([40, 41, 42, 43, 44, 45]);
    // dd2.3 with new firmware under the agreed design: the guest idles in stop0lite natively
    expect(serial.outcomes.native).toBe(6);
    expect(serial.idleEntries.min).toBeGreaterThan(0);
    // the mixed workload draws from the seed: the seeds do not all behave alike
    expect(new Set(serial.samples.map((s) => s.idleEntries)).size).toBeGreaterThan(1);
  });

  it("rejects a bad seed count or duration with a usage error", () => {
    expect(() => runSweepSerial({ ...OPTS, seeds: 0 })).toThrow(UsageError);
    expect(() => runSweepSerial({ ...OPTS, durationNs: -1 })).toThrow(UsageError);
  });
});
