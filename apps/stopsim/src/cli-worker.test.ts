// `stopsim worker`: its options and refusals, and what it does around the queue worker (started
// with the lock asked for, each job's start and end logged, ended by SIGINT or SIGTERM after the
// job it runs, the count of jobs run). The queue worker is replaced by a recording double here;
// queue-jobs.test.ts and queue.test.ts run the real one against a real Redis server.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { QueueWorkerOptions } from "./queue.js";
import { DEFAULT_LOCK_MS } from "./queue-url.js";
import { runCli } from "./test-helpers/run-cli.js";

const started = vi.hoisted(() => ({
  calls: [] as { url: string; o: QueueWorkerOptions }[],
  closed: 0,
}));
vi.mock("./queue.js", () => ({
  startQueueWorker: async (url: string, o: QueueWorkerOptions) => {
    started.calls.push({ url, o });
    // two jobs run while the worker waits
    setImmediate(() => {
      o.onJob?.("start", "s-0", "cell");
      o.onJob?.("done", "s-0", "cell");
      o.onJob?.("start", "s-1", "probe");
      o.onJob?.("done", "s-1", "probe");
      // still running when the worker is told to stop: not counted as run
      o.onJob?.("start", "s-2", "cell");
    });
    return async () => {
      started.closed++;
    };
  },
}));

afterEach(() => {
  started.calls.length = 0;
  started.closed = 0;
});

/** Runs the worker and sends `signal` once it says it is waiting for jobs. */
async function runWorker(args: string[], signal: "SIGINT" | "SIGTERM") {
  const write = process.stderr.write.bind(process.stderr);
  const poll = setInterval(() => {
    if (started.calls.length > 0 && process.listenerCount(signal) > 0) {
      clearInterval(poll);
      setTimeout(() => process.emit(signal), 5);
    }
  }, 1);
  try {
    return await runCli(["worker", ...args]);
  } finally {
    clearInterval(poll);
    void write;
  }
}

describe("stopsim worker", () => {
  it("starts the queue worker with the default lock, logs each job, ends on SIGTERM with the count", async () => {
    const r = await runWorker(["--queue", "redis://127.0.0.1:6390"], "SIGTERM");
    expect(r.code).toBe(0);
    expect(started.calls.map((c) => [c.url, c.o.lockMs])).toEqual([
      ["redis://127.0.0.1:6390", DEFAULT_LOCK_MS],
    ]);
    expect(started.closed).toBe(1);
    expect(r.err).toBe(
      [
        `worker: waiting for jobs on redis://127.0.0.1:6390 (lock ${DEFAULT_LOCK_MS} ms; Ctrl-C ends)`,
        "worker: started cell job s-0",
        "worker: finished cell job s-0",
        "worker: started probe job s-1",
        "worker: finished probe job s-1",
        "worker: started cell job s-2",
        "worker: 2 jobs run",
        "",
      ].join("\n"),
    );
    expect(process.listenerCount("SIGTERM")).toBe(0);
  });

  it("--lock-ms sets the lock; Ctrl-C ends it too", async () => {
    const r = await runWorker(["--queue", "redis://h:1", "--lock-ms", "100"], "SIGINT");
    expect(r.code).toBe(0);
    expect(started.calls[0].o.lockMs).toBe(100);
    expect(r.err).toContain("worker: waiting for jobs on redis://h:1 (lock 100 ms; Ctrl-C ends)\n");
    expect(r.err.endsWith("worker: 2 jobs run\n")).toBe(true);
  });

  it("refuses a bad address or lock before starting anything", async () => {
    const cases: [string[], string][] = [
      [
        ["--queue", "redis://h:1", "--lock-ms", "99"],
        "stopsim: --lock-ms 99 is out of range: use 100 to 3,600,000\n",
      ],
      [
        ["--queue", "redis://h:1", "--lock-ms", "3600001"],
        "stopsim: --lock-ms 3600001 is out of range: use 100 to 3,600,000\n",
      ],
      [
        ["--queue", "redis://h:1", "--lock-ms", "1s"],
        "stopsim: --lock-ms must be a whole number from 100 to 3600000, got '1s'\n",
      ],
      [[], "stopsim: required option '--queue <redis://host:port>' not specified (see stopsim --help)\n"],
    ];
    for (const [args, err] of cases) {
      const r = await runCli(["worker", ...args]);
      expect(r, args.join(" ")).toEqual({ code: 2, out: "", err });
    }
    const bad = await runCli(["worker", "--queue", "http://h:1"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^stopsim: --queue: 'http:\/\/h:1' is not a redis:\/\/ URL/);
    expect(started.calls).toEqual([]);
    const h = (await runCli(["worker", "--help"])).out.replace(/\s+/g, " ");
    expect(h).toContain(`(default: "${DEFAULT_LOCK_MS}")`);
    expect(h).toContain("run sweep jobs from a Redis server's queue (start one per core, on any machine)");
  });
});
