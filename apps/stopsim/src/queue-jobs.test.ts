// The queue's client and worker in this process against a real redis-server (no mock): results in
// job order with progress, each job's start and end reported by the worker, a job failing on a
// worker failing the sweep with its reason, an abort removing the jobs nobody took, and the server
// check's refusals (nothing listening, a server that never answers) naming the fix. Short jobs
// (1 ms runs), so the suite takes seconds; queue.test.ts runs the CLI's sweeps through worker
// processes.
import { createServer, type Server } from "node:net";
import { NS_PER_MS } from "@stopsim/engine";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SweepJob } from "./jobs.js";
import { CONNECT_TIMEOUT_MS, checkServer, QUEUE_NAME, runJobsOnQueue, startQueueWorker } from "./queue.js";
import { parseQueueUrl } from "./queue-url.js";
import { runSweepTask } from "./sweep-task.js";
import { closedPort, type TestRedis, testRedis } from "./test-helpers/redis.js";
import { usageMessage } from "./test-helpers/usage.js";

const job = (seed: number): SweepJob => ({
  kind: "sweep",
  task: { host: "dd2.3", design: "spapr-cap", durationNs: NS_PER_MS, workload: "timers", seeds: [seed] },
});

let redis: TestRedis;
beforeAll(async () => {
  redis = await testRedis();
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});
beforeEach(async () => {
  const a = parseQueueUrl(redis.url);
  const c = new Redis({ host: a.host, port: a.port });
  await c.flushall();
  c.disconnect();
});

async function usageOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return usageMessage(() => {
      throw e;
    });
  }
  throw new Error("accepted: no error");
}

describe("the server check", () => {
  it("a reachable server passes", async () => {
    await expect(checkServer(parseQueueUrl(redis.url))).resolves.toBeUndefined();
  });

  it("nothing listening: one line naming the address, the option and how to start a server", async () => {
    const port = await closedPort();
    const msg = await usageOf(checkServer(parseQueueUrl(`redis://127.0.0.1:${port}`), "--redis"));
    expect(msg).toMatch(
      new RegExp(
        `^--redis: cannot reach a Redis server at 127\\.0\\.0\\.1:${port} \\([^\\n]+\\); start one with \`redis-server --port ${port}\` there \\(Debian: apt-get install redis-server\\) or fix the address$`,
      ),
    );
    expect(await usageOf(checkServer(parseQueueUrl(`redis://127.0.0.1:${port}`)))).toMatch(
      /^--queue: cannot reach/,
    );
  });

  it(`a server that accepts but never answers is refused after ${CONNECT_TIMEOUT_MS} ms`, async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const msg = await usageOf(checkServer(parseQueueUrl(`redis://127.0.0.1:${port}`)));
      expect(msg).toContain(`cannot reach a Redis server at 127.0.0.1:${port} (`);
      expect(msg).toContain(`(no answer in ${CONNECT_TIMEOUT_MS} ms)`);
    } finally {
      silent.close();
    }
  }, 20_000);
});

describe("sweeps through the queue", () => {
  it("no jobs: an empty result without a queue", async () => {
    expect(await runJobsOnQueue([], redis.url)).toEqual({
      results: [],
      done: 0,
      interrupted: false,
      workers: 0,
    });
  });

  it("a worker here runs the jobs; the client gets each result in job order, with progress", async () => {
    const events: string[] = [];
    const close = await startQueueWorker(redis.url, {
      lockMs: 5000,
      onJob: (event, id, kind) => events.push(`${event} ${kind} ${id}`),
    });
    try {
      const jobs = [job(1), job(2), job(3)];
      const progress: string[] = [];
      const r = await runJobsOnQueue(jobs, redis.url, { onProgress: (d, t) => progress.push(`${d}/${t}`) });
      expect(r).toEqual({
        results: jobs.map((j) => runSweepTask(j.task)),
        done: 3,
        interrupted: false,
        workers: 0,
      });
      expect(progress).toEqual(["1/3", "2/3", "3/3"]);
      // one job at a time, each started then finished, ids of one sweep numbered by job index
      expect(events).toHaveLength(6);
      const ids = events.filter((e) => e.startsWith("start")).map((e) => e.split(" ")[2]);
      expect(ids.map((id) => id.replace(/^[0-9a-f-]{36}-/, ""))).toEqual(["0", "1", "2"]);
      expect(new Set(ids.map((id) => id.slice(0, 36))).size).toBe(1);
      expect(events).toEqual(ids.flatMap((id) => [`start sweep ${id}`, `done sweep ${id}`]));
      // the jobs went through the queue every stopsim client and worker uses
      const q = new Queue(QUEUE_NAME, { connection: { ...parseQueueUrl(redis.url) } });
      expect(await q.getJobCounts("completed")).toEqual({ completed: 3 });
      await q.close();
    } finally {
      await close();
    }
  }, 60_000);

  it("a job failing on a worker fails the sweep with its index and reason", async () => {
    const close = await startQueueWorker(redis.url, { lockMs: 5000 });
    try {
      const bad = { kind: "nope" } as unknown as SweepJob;
      await expect(runJobsOnQueue([job(1), bad], redis.url)).rejects.toThrow(
        /^job 1 failed on a worker: .*no such kind of job: "nope"/,
      );
    } finally {
      await close();
    }
  }, 60_000);

  it("an abort returns what finished and removes the jobs nobody took", async () => {
    const ac = new AbortController();
    const q = new Queue(QUEUE_NAME, { connection: { ...parseQueueUrl(redis.url) } });
    try {
      // no worker: the jobs wait; abort once they are in the queue
      const run = runJobsOnQueue([job(1), job(2)], redis.url, { signal: ac.signal });
      for (let i = 0; i < 100 && (await q.getJobCounts("waiting")).waiting < 2; i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await q.getJobCounts("waiting")).waiting).toBe(2);
      ac.abort();
      expect(await run).toEqual({ results: [undefined, undefined], done: 0, interrupted: true, workers: 0 });
      expect((await q.getJobCounts("waiting")).waiting).toBe(0);
    } finally {
      await q.close();
    }
  }, 60_000);

  it("an unreachable server or a bad address is refused before any job is queued", async () => {
    const port = await closedPort();
    expect(await usageOf(runJobsOnQueue([job(1)], `redis://127.0.0.1:${port}`))).toContain(
      `cannot reach a Redis server at 127.0.0.1:${port}`,
    );
    expect(await usageOf(startQueueWorker(`redis://127.0.0.1:${port}`))).toContain(
      `cannot reach a Redis server at 127.0.0.1:${port}`,
    );
    expect(await usageOf(runJobsOnQueue([job(1)], "http://x:1"))).toMatch(/is not a redis:\/\/ URL/);
  }, 30_000);
});
