// The pool's worker process (pool-worker.ts), loaded here with workerpool's registration and the
// process's handlers captured: it offers `run` (what pool.ts execs for each job) running the job as
// runJob does, ignores SIGINT (the parent decides what finished on Ctrl-C) and exits when the
// parent goes away.
import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it, vi } from "vitest";
import { runJob, type SweepJob } from "./jobs.js";

const registered = vi.hoisted(() => ({
  methods: undefined as Record<string, (...a: unknown[]) => unknown> | undefined,
}));
vi.mock("workerpool", () => ({
  default: {
    worker: (methods: Record<string, (...a: unknown[]) => unknown>) => {
      registered.methods = methods;
    },
  },
}));

describe("pool worker", () => {
  it("offers run(job), ignores SIGINT and exits 0 on disconnect", async () => {
    const handlers = new Map<string, () => void>();
    const on = vi.spyOn(process, "on").mockImplementation(((event: string, f: () => void) => {
      handlers.set(event, f);
      return process;
    }) as typeof process.on);
    try {
      await import("./pool-worker.js");
    } finally {
      on.mockRestore();
    }
    expect([...handlers.keys()].sort()).toEqual(["SIGINT", "disconnect"]);
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as () => never);
    try {
      handlers.get("SIGINT")?.();
      expect(exit).not.toHaveBeenCalled();
      handlers.get("disconnect")?.();
      expect(exit).toHaveBeenCalledWith(0);
    } finally {
      exit.mockRestore();
    }
    expect(Object.keys(registered.methods ?? {})).toEqual(["run"]);
    const job: SweepJob = {
      kind: "sweep",
      task: { host: "dd2.3", design: "spapr-cap", durationNs: NS_PER_MS, workload: "timers", seeds: [2] },
    };
    expect(await registered.methods?.run(job)).toEqual(await runJob(job));
  });
});
