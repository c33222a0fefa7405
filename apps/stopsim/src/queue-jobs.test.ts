// The queue's client and worker in this process against a real redis-server (no mock): results in
// job order with progress, each job's start and end reported by the worker, a job failing on a
// worker failing the sweep with its reason, an abort removing the jobs nobody took (and only them),
// another sweep's jobs and a job completed twice counting for nothing, finished jobs kept in Redis
// for their age, events the client missed found by its look at the jobs, a job thread dying mid-job,
// a job's lock lost, and the server check's refusals (nothing listening, a server that never
// answers) naming the fix, with no connection, timer or stray output left behind. Short jobs (1 ms
// runs) and jobs finished by hand, so the suite takes seconds; queue.test.ts runs the CLI's sweeps
// through worker processes.
import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:net";
import type { Worker as Thread } from "node:worker_threads";
import { NS_PER_MS } from "@stopsim/engine";
import { Job as BullJob, Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { ResultOf, SweepJob } from "./jobs.js";
import { CONNECT_TIMEOUT_MS, checkServer, QUEUE_NAME, runJobsOnQueue, startQueueWorker } from "./queue.js";
import { DEFAULT_LOCK_MS, parseQueueUrl } from "./queue-url.js";
import type { SweepSample, SweepTask } from "./sweep-task.js";
import { closedPort, type TestRedis, testRedis } from "./test-helpers/redis.js";
import { usageMessage } from "./test-helpers/usage.js";

// each test's own limit, far above its normal time (a check in milliseconds, a sweep in about a
// second, the missed-event sweep in five): a change that makes one wait for ever fails it soon
const CHECK_MS = 10_000;
const SWEEP_MS = 20_000;

// every job thread a queue worker starts (real threads, recorded so a test can kill one)
const threads = vi.hoisted(() => [] as Thread[]);
vi.mock("node:worker_threads", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:worker_threads")>();
  class Recorded extends real.Worker {
    constructor(...args: ConstructorParameters<typeof real.Worker>) {
      super(...args);
      threads.push(this);
    }
  }
  return { ...real, Worker: Recorded };
});

/** What a local run of the task gives (the simulation stack loads only for the tests that need it). */
const local = async (task: SweepTask): Promise<SweepSample[]> =>
  (await import("./sweep-task.js")).runSweepTask(task);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

/** Clients connected to the server now (INFO clients), `admin`'s own connection among them. */
async function connectedClients(admin: Redis): Promise<number> {
  const m = /connected_clients:(\d+)/.exec(await admin.info("clients"));
  return Number(m?.[1]);
}

describe("the server check", () => {
  it(
    "a reachable server passes, leaving no connection and no timer behind",
    async () => {
      const a = parseQueueUrl(redis.url);
      const admin = new Redis({ host: a.host, port: a.port });
      try {
        const before = await connectedClients(admin);
        // the timers the check sets, on a fake clock (the connection is real): none is left pending
        // once the socket has closed (ioredis keeps a guard on a closing socket till then), where the
        // check's own 3 s one would keep a CLI that is done alive that long
        vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
        try {
          await expect(checkServer(a)).resolves.toBeUndefined();
          const t0 = performance.now();
          while (vi.getTimerCount() > 0 && performance.now() - t0 < 1000)
            await new Promise((resolve) => setImmediate(resolve));
          expect(vi.getTimerCount()).toBe(0);
        } finally {
          vi.useRealTimers();
        }
        // the server sees the check's connection close (milliseconds; a second at most here)
        for (let i = 0; i < 50 && (await connectedClients(admin)) !== before; i++) await sleep(20);
        expect(await connectedClients(admin)).toBe(before);
      } finally {
        admin.disconnect();
      }
    },
    CHECK_MS,
  );

  it(
    "nothing listening: one line naming the address, the option, the reason and how to start a server",
    async () => {
      const port = await closedPort();
      // the refusal is the only word: no "[ioredis] Unhandled error event" stack on stderr
      const stderr = vi.spyOn(console, "error");
      try {
        expect(await usageOf(checkServer(parseQueueUrl(`redis://127.0.0.1:${port}`), "--redis"))).toBe(
          refusal(port, "Connection is closed.", "--redis"),
        );
        expect(await usageOf(checkServer(parseQueueUrl(`redis://127.0.0.1:${port}`)))).toBe(
          refusal(port, "Connection is closed."),
        );
        expect(stderr).not.toHaveBeenCalled();
      } finally {
        stderr.mockRestore();
      }
    },
    CHECK_MS,
  );

  it(
    `a server that accepts but never answers is refused ${CONNECT_TIMEOUT_MS} ms after the check began`,
    async () => {
      // reads what it is sent (so it sees the client close) and never answers
      const silent: Server = createServer((socket) => socket.resume());
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
        // and its connection is closed, not left open on the silent server
        const open = () => new Promise<number>((resolve) => silent.getConnections((_, n) => resolve(n)));
        vi.useRealTimers();
        for (let i = 0; i < 50 && (await open()) > 0; i++) await sleep(20);
        expect(await open()).toBe(0);
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

/**
 * A queue, an admin connection and a worker driven by hand on the test server: `take` takes the next
 * waiting job (FIFO) and holds its lock, as a `stopsim worker` would while running it.
 */
interface Hand {
  q: Queue;
  admin: Redis;
  take: () => Promise<BullJob>;
  /** Waits until `n` jobs wait in the queue (the sweep has added its jobs). */
  waiting: (n: number) => Promise<void>;
}

async function byHand(test: (h: Hand) => Promise<void>): Promise<void> {
  const a = parseQueueUrl(redis.url);
  const admin = new Redis({ host: a.host, port: a.port });
  const q = new Queue(QUEUE_NAME, { connection: { ...a } });
  const hand = new Worker(QUEUE_NAME, null, {
    connection: { ...a, maxRetriesPerRequest: null },
    autorun: false,
  });
  try {
    await test({
      q,
      admin,
      take: async () => {
        const j = await hand.getNextJob(HAND);
        if (!j) throw new Error("no job waiting");
        return j;
      },
      waiting: async (n) => {
        for (let i = 0; i < 200 && (await q.getJobCounts("waiting")).waiting < n; i++) await sleep(10);
        expect((await q.getJobCounts("waiting")).waiting).toBe(n);
      },
    });
  } finally {
    await hand.close();
    await q.close();
    admin.disconnect();
  }
}

/** The lock token of the hand worker's jobs. */
const HAND = "by-hand";

/** A result as a worker hands it back (the client returns what the worker completed the job with). */
const handResult = (n: number) => [{ by: "hand", n }] as unknown as ResultOf<SweepJob>;

/** Where the client's QueueEvents connection, the one blocked in XREAD on the events stream, is killed. */
async function killEventsReader(admin: Redis): Promise<void> {
  const clients = String(await admin.client("LIST")).split("\n");
  const reader = clients.find((l) => / cmd=xread( |$)/.test(l));
  expect(reader).toBeDefined();
  await admin.client("KILL", "ID", /^id=(\d+)/.exec(reader ?? "")?.[1] ?? "0");
}

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("resolved: no rejection");
}

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
            results: [await local(job(1).task), await local(job(2).task)],
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
          results: await Promise.all(jobs.map((j) => local(j.task))),
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
      const result = handResult(1);
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
    "another sweep's jobs finishing or failing on the same server count for nothing in this one",
    async () => {
      await byHand(async ({ q, take, waiting }) => {
        // no onProgress asked: nothing calls it, and nothing lands on stderr
        const stderr = vi.spyOn(console, "error");
        try {
          const run = runJobsOnQueue([job(1)], redis.url);
          await waiting(1);
          const ours = await take();
          expect(ours.id).toMatch(/-0$/);
          await q.add("sweep", job(2), { jobId: "other-0" });
          await q.add("sweep", job(3), { jobId: "other-1" });
          await (await take()).moveToCompleted(handResult(2), HAND, false);
          await (await take()).moveToFailed(new Error("not this sweep's"), HAND, false);
          // the events come in this order: the other sweep's two, then ours
          await ours.moveToCompleted(handResult(1), HAND, false);
          expect(await run).toEqual({ results: [handResult(1)], done: 1, interrupted: false, workers: 0 });
          expect(stderr).not.toHaveBeenCalled();
        } finally {
          stderr.mockRestore();
        }
      });
    },
    SWEEP_MS,
  );

  it(
    "a sweep ends as its last job's event comes (not at the next look at the jobs, seconds later), and leaves no listener on its signal",
    async () => {
      await byHand(async ({ take, waiting }) => {
        const ac = new AbortController();
        const run = runJobsOnQueue([job(1)], redis.url, { signal: ac.signal });
        await waiting(1);
        await (await take()).moveToCompleted(handResult(1), HAND, false);
        let t = performance.now();
        expect(await run).toEqual({ results: [handResult(1)], done: 1, interrupted: false, workers: 0 });
        expect(performance.now() - t).toBeLessThan(2000);
        // a signal shared by many sweeps (a CLI's Ctrl-C) gathers no listeners
        expect(getEventListeners(ac.signal, "abort")).toEqual([]);

        const failing = runJobsOnQueue([job(2)], redis.url);
        await waiting(1);
        await (await take()).moveToFailed(new Error("failed 2"), HAND, false);
        t = performance.now();
        expect(String(await rejectionOf(failing))).toBe("Error: job 0 failed on a worker: failed 2");
        expect(performance.now() - t).toBeLessThan(2000);
      });
    },
    SWEEP_MS,
  );

  it(
    "a job completed twice (retried by hand after it completed) counts once",
    async () => {
      await byHand(async ({ q, take, waiting }) => {
        const progress: string[] = [];
        const run = runJobsOnQueue([job(1), job(2)], redis.url, {
          onProgress: (d, t) => progress.push(`${d}/${t}`),
        });
        await waiting(2);
        const first = await take();
        await first.moveToCompleted(handResult(1), HAND, false);
        const second = await take();
        // BullMQ's retry of a completed job: it waits again, runs again, completes again
        await (await BullJob.fromId(q, String(first.id)))?.retry("completed");
        const again = await take();
        expect(again.id).toBe(first.id);
        await again.moveToCompleted(handResult(1), HAND, false);
        await second.moveToCompleted(handResult(2), HAND, false);
        expect(await run).toEqual({
          results: [handResult(1), handResult(2)],
          done: 2,
          interrupted: false,
          workers: 0,
        });
        expect(progress).toEqual(["1/2", "2/2"]);
      });
    },
    SWEEP_MS,
  );

  it(
    "a finished job stays in Redis an hour after it completed, a day after it failed; a later job's end removes it then",
    async () => {
      await byHand(async ({ q, take, waiting }) => {
        // one job's sweep, its job finished by hand at `now` (BullMQ stamps finishedOn and trims the
        // finished jobs older than the age from the worker's clock, faked here), or now if not given
        const finish = async (how: "complete" | "fail", n: number, now?: number) => {
          const run = runJobsOnQueue([job(n)], redis.url);
          await waiting(1);
          const j = await take();
          if (now !== undefined) vi.useFakeTimers({ toFake: ["Date"], now });
          try {
            if (how === "complete") await j.moveToCompleted(handResult(n), HAND, false);
            else await j.moveToFailed(new Error(`failed ${n}`), HAND, false);
          } finally {
            vi.useRealTimers();
          }
          if (how === "complete") expect((await run).results).toEqual([handResult(n)]);
          else expect(String(await rejectionOf(run))).toBe(`Error: job 0 failed on a worker: failed ${n}`);
          const finished = (await q.getJob(String(j.id)))?.finishedOn;
          expect(finished).toBeDefined();
          return { id: String(j.id), finishedOn: finished ?? 0 };
        };
        const kept = async (id: string) => (await q.getJob(id)) !== undefined;
        const MIN = 60_000;
        const HOUR = 60 * MIN;

        const done = await finish("complete", 1);
        const later = await finish("complete", 2, done.finishedOn + HOUR - MIN);
        expect(await kept(done.id)).toBe(true);
        await finish("complete", 3, done.finishedOn + HOUR + MIN);
        expect(await kept(done.id)).toBe(false);
        expect(await kept(later.id)).toBe(true);

        const failed = await finish("fail", 4);
        const laterFailed = await finish("fail", 5, failed.finishedOn + 24 * HOUR - MIN);
        expect(await kept(failed.id)).toBe(true);
        await finish("fail", 6, failed.finishedOn + 24 * HOUR + MIN);
        expect(await kept(failed.id)).toBe(false);
        expect(await kept(laterFailed.id)).toBe(true);
      });
    },
    SWEEP_MS,
  );

  it(
    "an abort removes only the jobs still waiting: a job a worker runs stays, a job gone from Redis is passed over",
    async () => {
      await byHand(async ({ q, take, waiting }) => {
        const ac = new AbortController();
        const run = runJobsOnQueue([job(1), job(2), job(3)], redis.url, { signal: ac.signal });
        await waiting(3);
        const running = await take();
        const sweep = String(running.id).replace(/-0$/, "");
        // someone removed job 1 (an operator, another tool); job 2 waits
        await q.remove(`${sweep}-1`);
        ac.abort();
        expect(await run).toEqual({
          results: [undefined, undefined, undefined],
          done: 0,
          interrupted: true,
          workers: 0,
        });
        expect(await (await q.getJob(`${sweep}-0`))?.getState()).toBe("active");
        expect(await q.getJob(`${sweep}-2`)).toBeUndefined();
        expect(await q.getJobCounts("waiting", "active")).toEqual({ waiting: 0, active: 1 });
      });
    },
    SWEEP_MS,
  );

  it(
    "finishes whose events the client missed are found by the look at the jobs: a completion counts, a failure fails the sweep with the first failing index, a job gone from Redis is passed over",
    async () => {
      await byHand(async ({ q, admin, take, waiting }) => {
        const progress: string[] = [];
        const t0 = performance.now();
        const run = runJobsOnQueue([job(1), job(2), job(3), job(4)], redis.url, {
          onProgress: (d, t) => progress.push(`${d}/${t}`),
        });
        const rejected = rejectionOf(run);
        await waiting(4);
        await killEventsReader(admin);
        // BullMQ reconnects after a second or more: the jobs end and their events go meanwhile
        const first = await take();
        const sweep = String(first.id).replace(/-0$/, "");
        await first.moveToCompleted(handResult(1), HAND, false);
        await q.remove(`${sweep}-1`);
        await (await take()).moveToFailed(new Error("failed 3"), HAND, false);
        await (await take()).moveToFailed(new Error("failed 4"), HAND, false);
        await admin.xtrim(`bull:${QUEUE_NAME}:events`, "MAXLEN", 0);
        const e = await rejected;
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message).toBe("job 2 failed on a worker: failed 3");
        expect(progress).toEqual(["1/4"]);
        // the look comes after five one-second waits, not later
        const took = performance.now() - t0;
        expect(took).toBeGreaterThanOrEqual(4000);
        expect(took).toBeLessThan(5900);
      });
    },
    SWEEP_MS,
  );

  it(
    "a job thread that dies mid-job fails that job with the reason, and the worker goes on with a new thread",
    async () => {
      const kills: ((t: Thread) => void)[] = [
        // an uncaught error on the thread: a message its handler cannot read
        (t) => t.postMessage(null),
        // the thread is ended from outside, with the exit code Node gives
        (t) => {
          exitCode = t.terminate();
        },
      ];
      let exitCode: Promise<number> | undefined;
      const started = threads.length;
      const close = await startQueueWorker(redis.url, {
        lockMs: 5000,
        // the job is handed to the thread right after this: the thread dies with it pending
        onJob: (event) => {
          // (a new thread starts as the job is handed over: the latest one, once this returns)
          if (event === "start") queueMicrotask(() => kills.shift()?.(threads[threads.length - 1] as Thread));
        },
      });
      try {
        expect(threads.length).toBe(started + 1);
        expect(String(await rejectionOf(runJobsOnQueue([job(1)], redis.url)))).toBe(
          "Error: job 0 failed on a worker: Cannot read properties of null (reading 'id')",
        );
        const ended = String(await rejectionOf(runJobsOnQueue([job(2)], redis.url)));
        expect(ended).toBe(
          `Error: job 0 failed on a worker: the job thread exited with code ${await exitCode}`,
        );
        expect(await runJobsOnQueue([job(3)], redis.url)).toEqual({
          results: [await local(job(3).task)],
          done: 1,
          interrupted: false,
          workers: 0,
        });
        // one new thread after each death
        expect(threads.length).toBe(started + 3);
      } finally {
        // closing the worker ends its thread (a live one would keep the process running)
        const last = threads[threads.length - 1] as Thread;
        const exited = new Promise((resolve) => last.once("exit", () => resolve("exited")));
        await close();
        expect(await Promise.race([exited, sleep(2000).then(() => "running")])).toBe("exited");
      }
      // a worker whose thread died before any job came closes all the same
      const idle = await startQueueWorker(redis.url);
      const dead = threads[threads.length - 1] as Thread;
      const exited = new Promise((resolve) => dead.once("exit", resolve));
      dead.postMessage(null);
      await exited;
      await expect(idle()).resolves.toBeUndefined();
    },
    SWEEP_MS,
  );

  it(
    "a job whose lock was lost runs again once the stalled check finds it, and the worker prints nothing of it",
    async () => {
      const a = parseQueueUrl(redis.url);
      const admin = new Redis({ host: a.host, port: a.port });
      const events: string[] = [];
      let lost = false;
      const close = await startQueueWorker(redis.url, {
        lockMs: 1000,
        onJob: (event, id) => {
          events.push(`${event} ${id.replace(/^[0-9a-f-]{36}-/, "")}`);
          // the lock goes while the job runs (as when it expired): its completion is refused
          if (event === "start" && !lost) {
            lost = true;
            void admin.del(`bull:${QUEUE_NAME}:${id}:lock`);
          }
        },
      });
      const stderr = vi.spyOn(console, "error");
      try {
        expect(await runJobsOnQueue([job(1)], redis.url)).toEqual({
          results: [await local(job(1).task)],
          done: 1,
          interrupted: false,
          workers: 0,
        });
        expect(events).toEqual(["start 0", "done 0", "start 0", "done 0"]);
        // BullMQ reports the refused completion as the worker's error event: heard, not printed
        expect(stderr).not.toHaveBeenCalled();
      } finally {
        stderr.mockRestore();
        await close();
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
