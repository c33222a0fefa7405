// The job thread of a queue worker (queue-thread.ts), loaded here with its parent port replaced:
// each message {id, job} is answered with {id, ok: true, result} (what runJob gives) or
// {id, ok: false, error} carrying the failure's stack, which the worker reports as the job's failure.
import type { EventEmitter } from "node:events";
import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it, vi } from "vitest";
import { runJob, type SweepJob } from "./jobs.js";

const port = vi.hoisted(() => {
  const { EventEmitter: E } = require("node:events") as typeof import("node:events");
  const p = new E() as EventEmitter & { posted: unknown[]; postMessage: (m: unknown) => void };
  p.posted = [];
  p.postMessage = (m: unknown) => {
    p.posted.push(m);
    p.emit("posted");
  };
  return p;
});
vi.mock("node:worker_threads", async (importOriginal) => ({
  ...(await importOriginal<typeof import("node:worker_threads")>()),
  parentPort: port,
}));

const nextPost = () => new Promise<void>((resolve) => port.once("posted", () => resolve()));

describe("queue job thread", () => {
  it("answers each job with its id and runJob's result, and a failing job with its error's stack", async () => {
    await import("./queue-thread.js");
    const job: SweepJob = {
      kind: "sweep",
      task: { host: "dd2.3", design: "spapr-cap", durationNs: NS_PER_MS, workload: "timers", seeds: [5] },
    };
    let posted = nextPost();
    port.emit("message", { id: 7, job });
    await posted;
    expect(port.posted).toEqual([{ id: 7, ok: true, result: await runJob(job) }]);
    posted = nextPost();
    port.emit("message", { id: 8, job: { kind: "nope" } });
    await posted;
    const failed = port.posted[1] as { id: number; ok: boolean; error: string };
    expect(failed.id).toBe(8);
    expect(failed.ok).toBe(false);
    expect(Object.keys(failed).sort()).toEqual(["error", "id", "ok"]);
    // the stack: the message first, then where it came from
    expect(failed.error).toMatch(/^TypeError: no such kind of job: "nope"[^\n]*\n\s+at /);
  });
});
