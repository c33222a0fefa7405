// The queue's client and worker in this process against a real redis-server (no mock): results in
// job order with progress, each job's start and end reported by the worker, a job failing on a
// worker failing the sweep with its reason, an abort removing the jobs nobody took, and the server
// check's refusals (nothing listening, a server that never answers) naming the fix. Short jobs
// (1 ms runs), so the suite takes seconds; queue.test.ts runs the CLI's sweeps through worker
// processes.
import { createServer, type Server } from "node:net";
import { NS_PER_MS } from "@stopsim/engine";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { SweepJob } from "./jobs.js";
import { CONNECT_TIMEOUT_MS, checkServer, QUEUE_NAME, runJobsOnQueue, startQueueWorker } from "./queue.js";
import { DEFAULT_LOCK_MS, parseQueueUrl } from "./queue-url.js";
import { runSweepTask } from "./sweep-task.js";
import { closedPort, type TestRedis, testRedis } from "./test-helpers/redis.js";
import { usageMessage } from "./test-helpers/usage.js";

// each test's own limit, far above its normal time (a check in milliseconds, a sweep in about a
// second, the missed-event sweep in five): a change that makes one wait for ever fails it soon
const CHECK_MS = 10_000;
const SWEEP_MS = 20_000;

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

const refusal = (port: number, why: string, option = "--queue") =>
  `${option}: cannot reach a Redis server at 127.0.0.1:${port} (${why}); start one with \`redis-server --port ${port}\` there (Debian: apt-get install redis-server) or fix the address`;

/** Connections the server has accepted so far (INFO stats), asked on `admin`'s own connection. */
async function connectionsSoFar(admin: Redis): Promise<number> {
  const m = /total_connections_received:(\d+)/.exec(await admin.info("stats"));
  return Number(m?.[1]);
}

describe("the server check", () => {
  it(
    "a reachable server passes",
    async () => {
      await expect(checkServer(parseQueueUrl(redis.url))).resolves.toBeUndefined();
    },
    CHECK_MS,
  );

  it(
    "nothing listening: one line naming the address, the option, the reason and how to start a server",
    async () => {
      const port = await closedPort();
      expect(await usageOf(checkServer(parseQueueUrl(`redis://127.0.0.1:${port}`), "--redis"))).toBe(
        refusal(port, "Connection is closed.", "--redis"),
      );
      expect(await usageOf(checkServer(parseQueueUrl(`redis://127.0.0.1:${port}`)))).toBe(
        refusal(port, "Connection is closed."),
      );
    },
    CHECK_MS,
  );

  it(
    `a server that accepts but never answers is refused ${CONNECT_TIMEOUT_MS} ms after the check began`,
    async () => {
      const silent: Server = createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      const port = (silent.address() as { port: number }).port;
      // the check's own timer on a fake clock (the connection itself is real): not a second waited here
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      try {
        const accepted = new Promise((resolve) => silent.once("connection", resolve));
        let settled = false;
        const msg = usageOf(checkServer(parseQueueUrl(`redis://127.0.0.1:${port}`))).finally(() => {
          settled = true;
        });
        await accepted;
        await vi.advanceTimersByTimeAsync(CONNECT_TIMEOUT_MS - 1);
        expect(settled).toBe(false);
        await vi.advanceTimersByTimeAsync(1);
        expect(await msg).toBe(refusal(port, `no answer in ${CONNECT_TIMEOUT_MS} ms`));
      } finally {
        vi.useRealTimers();
        silent.close();
      }
    },
    CHECK_MS,
  );

  it(
    "a server that answers PING with anything but PONG is not taken for Redis",
    async () => {
      // answers every command (the client's own setup and INFO ready check, then PING) with the simple
      // string HELLO; a RESP command is an array, `*<count>` at the start of a line
      const other: Server = createServer((socket) => {
        socket.on("data", (d: Buffer) => {
          for (const _ of d.toString("latin1").matchAll(/(?:^|\r\n)\*\d+\r\n/g)) socket.write("+HELLO\r\n");
        });
      });
      await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
      const port = (other.address() as { port: number }).port;
      try {
        expect(await usageOf(checkServer(parseQueueUrl(`redis://127.0.0.1:${port}`)))).toBe(
          refusal(port, "PING answered HELLO"),
        );
      } finally {
        other.close();
      }
    },
    CHECK_MS,
  );
});

describe("sweeps through the queue", () => {
  it(
    "no jobs: an empty result without a queue (the server check's connection alone)",
    async () => {
      const a = parseQueueUrl(redis.url);
      const admin = new Redis({ host: a.host, port: a.port });
      try {
        const before = await connectionsSoFar(admin);
        expect(await runJobsOnQueue([], redis.url)).toEqual({
          results: [],
          done: 0,
          interrupted: false,
          workers: 0,
        });
        expect((await connectionsSoFar(admin)) - before).toBe(1);
      } finally {
        admin.disconnect();
      }
    },
    CHECK_MS,
  );

  it(
    "two sweeps at once on one server: each gets its own results; a job failing in one does not fail the other",
    async () => {
      const close = await startQueueWorker(redis.url, { lockMs: 5000 });
      try {
        const bad = { kind: "nope" } as unknown as SweepJob;
        const [a, b] = await Promise.allSettled([
          runJobsOnQueue([job(1), job(2)], redis.url),
          runJobsOnQueue([job(3), bad], redis.url),
        ]);
        expect(a).toEqual({
          status: "fulfilled",
          value: {
            results: [runSweepTask(job(1).task), runSweepTask(job(2).task)],
            done: 2,
            interrupted: false,
            workers: 0,
          },
        });
        expect(b.status).toBe("rejected");
        expect(String((b as PromiseRejectedResult).reason)).toMatch(/^Error: job 1 failed on a worker: /);
      } finally {
        await close();
      }
    },
    SWEEP_MS,
  );

  it(
    "the worker holds a job's lock for the time asked (30 s by default)",
    async () => {
      const a = parseQueueUrl(redis.url);
      const admin = new Redis({ host: a.host, port: a.port });
      const locks: number[] = [];
      for (const lockMs of [2000, undefined]) {
        let ttl: Promise<number> | undefined;
        const close = await startQueueWorker(redis.url, {
          ...(lockMs === undefined ? {} : { lockMs }),
          onJob: (event, id) => {
            // BullMQ's lock key of the job, set for lockDuration ms when the worker took it
            if (event === "start") ttl = admin.pttl(`bull:${QUEUE_NAME}:${id}:lock`);
          },
        });
        try {
          await runJobsOnQueue([job(1)], redis.url);
          locks.push(await (ttl ?? Promise.resolve(-3)));
        } finally {
          await close();
        }
      }
      admin.disconnect();
      expect(locks[0]).toBeGreaterThan(0);
      expect(locks[0]).toBeLessThanOrEqual(2000);
      expect(locks[1]).toBeGreaterThan(2000);
      expect(locks[1]).toBeLessThanOrEqual(DEFAULT_LOCK_MS);
    },
    SWEEP_MS,
  );

  it(
    "a worker here runs the jobs; the client gets each result in job order, with progress",
    async () => {
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
    },
    SWEEP_MS,
  );

  it(
    "a job failing on a worker fails the sweep with its index and reason",
    async () => {
      const close = await startQueueWorker(redis.url, { lockMs: 5000 });
      try {
        const bad = { kind: "nope" } as unknown as SweepJob;
        await expect(runJobsOnQueue([job(1), bad], redis.url)).rejects.toThrow(
          /^job 1 failed on a worker: .*no such kind of job: "nope"/,
        );
      } finally {
        await close();
      }
    },
    SWEEP_MS,
  );

  it(
    "an abort returns what finished and removes the jobs nobody took",
    async () => {
      const ac = new AbortController();
      const q = new Queue(QUEUE_NAME, { connection: { ...parseQueueUrl(redis.url) } });
      try {
        // no worker: the jobs wait; abort once they are in the queue
        const run = runJobsOnQueue([job(1), job(2)], redis.url, { signal: ac.signal });
        for (let i = 0; i < 100 && (await q.getJobCounts("waiting")).waiting < 2; i++)
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect((await q.getJobCounts("waiting")).waiting).toBe(2);
        ac.abort();
        expect(await run).toEqual({
          results: [undefined, undefined],
          done: 0,
          interrupted: true,
          workers: 0,
        });
        expect((await q.getJobCounts("waiting")).waiting).toBe(0);
      } finally {
        await q.close();
      }
    },
    SWEEP_MS,
  );

  it(
    "a completion whose event the client missed (its events connection dropped, the stream trimmed) is found by looking at the jobs",
    async () => {
      const a = parseQueueUrl(redis.url);
      const admin = new Redis({ host: a.host, port: a.port });
      const q = new Queue(QUEUE_NAME, { connection: { ...a } });
      // a worker driven by hand: it takes the job and completes it with the result it is given
      const hand = new Worker(QUEUE_NAME, null, {
        connection: { ...a, maxRetriesPerRequest: null },
        autorun: false,
      });
      const result = runSweepTask(job(1).task);
      try {
        const progress: string[] = [];
        const t0 = performance.now();
        const run = runJobsOnQueue([job(1)], redis.url, { onProgress: (d, t) => progress.push(`${d}/${t}`) });
        for (let i = 0; i < 200 && (await q.getJobCounts("waiting")).waiting < 1; i++)
          await new Promise((resolve) => setTimeout(resolve, 10));
        // the client's QueueEvents connection is the one blocked in XREAD on the events stream
        const clients = String(await admin.client("LIST")).split("\n");
        const reader = clients.find((l) => / cmd=xread( |$)/.test(l));
        expect(reader).toBeDefined();
        await admin.client("KILL", "ID", /^id=(\d+)/.exec(reader ?? "")?.[1] ?? "0");
        // BullMQ reconnects after a second or more: the job completes and its event goes meanwhile
        const taken = await hand.getNextJob("by-hand");
        expect(taken?.id).toMatch(/-0$/);
        await taken?.moveToCompleted(result, "by-hand", false);
        await admin.xtrim(`bull:${QUEUE_NAME}:events`, "MAXLEN", 0);
        expect(await run).toEqual({ results: [result], done: 1, interrupted: false, workers: 0 });
        expect(progress).toEqual(["1/1"]);
        // found by the look at the jobs after five one-second waits, not by an event
        expect(performance.now() - t0).toBeGreaterThanOrEqual(4000);
      } finally {
        await hand.close();
        await q.close();
        admin.disconnect();
      }
    },
    SWEEP_MS,
  );

  it(
    "an unreachable server or a bad address is refused before any job is queued",
    async () => {
      const port = await closedPort();
      const why = "Connection is closed.";
      expect(await usageOf(runJobsOnQueue([job(1)], `redis://127.0.0.1:${port}`))).toBe(refusal(port, why));
      expect(await usageOf(startQueueWorker(`redis://127.0.0.1:${port}`))).toBe(refusal(port, why));
      expect(await usageOf(runJobsOnQueue([job(1)], "http://x:1"))).toMatch(/is not a redis:\/\/ URL/);
    },
    SWEEP_MS,
  );
});
