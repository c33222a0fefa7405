// Sweeps through a real Redis server's BullMQ queue, run by real `stopsim worker` processes: the
// same bytes as a local run, a worker killed mid-job (SIGKILL) loses nothing, and a bad or
// unreachable address is one line naming the fix.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closedPort, type TestRedis, testRedis } from "./test-helpers/redis.js";
import { runCli } from "./test-helpers/run-cli.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

interface WorkerProcess {
  child: ChildProcess;
  log: () => string;
  /** Resolves when the log matches. */
  waitFor: (re: RegExp) => Promise<RegExpMatchArray>;
}

function startWorker(url: string, lockMs = 30_000): WorkerProcess {
  const child = spawn(process.execPath, [CLI, "worker", "--queue", url, "--lock-ms", String(lockMs)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  child.stderr?.on("data", (d) => {
    log += d;
    for (const w of [...waiters]) {
      const m = log.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    child,
    log: () => log,
    waitFor: (re) =>
      new Promise((resolve) => {
        const m = log.match(re);
        if (m) resolve(m);
        else waiters.push({ re, resolve });
      }),
  };
}

async function stop(w: WorkerProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    w.child.once("exit", () => resolve());
    w.child.kill(signal);
  });
}

const strip = (out: string) => {
  const j = JSON.parse(out) as Record<string, unknown>;
  delete j.wallSeconds;
  return JSON.stringify(j);
};

let redis: TestRedis;
beforeAll(async () => {
  redis = await testRedis();
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});

describe("sweeps through a Redis queue", () => {
  const matrix = [
    ...["matrix", "--seeds", "2", "--designs", "spapr-cap,rfc-as-posted", "--hosts", "dd2.2,dd2.3"],
    ...["--duration", "2ms", "--json"],
  ];

  it("matrix and fleet through two workers give the bytes of a local run", async () => {
    const workers = [startWorker(redis.url), startWorker(redis.url)];
    try {
      await Promise.all(workers.map((w) => w.waitFor(/waiting for jobs/)));
      const queued = await runCli([...matrix, "--queue", redis.url]);
      expect(queued.code, queued.err).toBe(0);
      const local = await runCli([...matrix, "--workers", "2"]);
      expect(queued.out).toBe(local.out);
      // both workers took jobs
      for (const w of workers) expect(w.log()).toMatch(/finished cell job/);
      const fleet = [
        ...["fleet", "--hosts", "4", "--vms", "8", "--duration", "1h", "--mix", "dd2.2-old=0.5,dd2.3=0.5"],
        ...["--seeds", "2", "--probe-seeds", "2", "--json"],
      ];
      const fq = await runCli([...fleet, "--queue", redis.url]);
      expect(fq.code, fq.err).toBe(0);
      const fl = await runCli([...fleet, "--workers", "1"]);
      expect(strip(fq.out)).toBe(strip(fl.out));
    } finally {
      await Promise.all(workers.map((w) => stop(w)));
    }
  }, 240_000);

  it("a worker killed mid-job loses nothing: the job runs again once its lock has expired", async () => {
    const lockMs = 1500;
    const a = startWorker(redis.url, lockMs);
    let b: WorkerProcess | undefined;
    try {
      await a.waitFor(/waiting for jobs/);
      const run = runCli([...matrix, "--duration", "20ms", "--queue", redis.url]);
      // the first job worker A takes: kill it there, without any chance to clean up
      const [, id] = await a.waitFor(/started cell job (\S+)/);
      await stop(a, "SIGKILL");
      expect(a.log()).not.toContain(`finished cell job ${id}`);
      b = startWorker(redis.url, lockMs);
      const queued = await run;
      expect(queued.code, queued.err).toBe(0);
      // worker B ran the killed job again, and the result is complete and the same as a local run
      expect(b.log()).toContain(`finished cell job ${id}`);
      const local = await runCli([...matrix, "--duration", "20ms", "--workers", "2"]);
      expect(queued.out).toBe(local.out);
    } finally {
      await stop(a, "SIGKILL");
      if (b) await stop(b);
    }
  }, 240_000);

  it("a bad address or an unreachable server is one line naming the fix", async () => {
    const bad = await runCli(["matrix", "--queue", "http://127.0.0.1:6379", "--seeds", "1"]);
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split("\n")).toHaveLength(1);
    expect(bad.err).toMatch(
      /--queue: 'http:\/\/127\.0\.0\.1:6379' is not a redis:\/\/ URL; .*redis:\/\/HOST:PORT/,
    );
    const port = await closedPort();
    for (const args of [
      ["matrix", "--seeds", "1", "--designs", "spapr-cap", "--hosts", "dd2.3"],
      ["worker"],
    ]) {
      const r = await runCli([...args, "--queue", `redis://127.0.0.1:${port}`]);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toContain(`cannot reach a Redis server at 127.0.0.1:${port}`);
      expect(r.err).toContain(`redis-server --port ${port}`);
    }
  }, 30_000);
});
