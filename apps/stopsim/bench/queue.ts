// Queue benchmark: the same matrix jobs (5 designs x the dd2.2/dd2.3 host pairs x 2 seeds = 40
// full-stack runs) on the local process pool (2 workers) and through a real Redis server's BullMQ
// queue with 2 local `stopsim worker` processes: the queue's overhead per job, identical results;
// then a run in which one of the two workers is killed (SIGKILL) mid-job and a third takes over:
// it completes, with the same results. Written to bench-results/queue.json. Redis: the server of
// STOPSIM_TEST_REDIS_URL, or one started from PATH on a free port (redis-server, Debian package).
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { NS_PER_MS, writeBenchResult } from "@stopsim/engine";
import { runMatrixPool } from "../src/matrix.js";
import { testRedis } from "../src/test-helpers/redis.js";

const SEED = 1;
const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const opts = {
  seed: SEED,
  durationNs: 10 * NS_PER_MS,
  hostNames: ["dd2.2", "dd2.3"],
  trace: false,
};
const seeds = [1, 2];

interface W {
  child: ChildProcess;
  log: string;
  ready: Promise<void>;
  started: Promise<string>;
}

function worker(url: string, lockMs: number): W {
  const child = spawn(process.execPath, [CLI, "worker", "--queue", url, "--lock-ms", String(lockMs)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const w: W = { child, log: "", ready: Promise.resolve(), started: Promise.resolve("") };
  let onReady = () => {};
  let onStarted = (_id: string) => {};
  w.ready = new Promise((r) => {
    onReady = r;
  });
  w.started = new Promise((r) => {
    onStarted = r;
  });
  child.stderr?.on("data", (d) => {
    w.log += d;
    if (w.log.includes("waiting for jobs")) onReady();
    const m = w.log.match(/started cell job (\S+)/);
    if (m) onStarted(m[1]);
  });
  return w;
}

const stop = (w: W, signal: NodeJS.Signals = "SIGTERM") =>
  new Promise<void>((resolve) => {
    if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
    w.child.once("exit", () => resolve());
    w.child.kill(signal);
  });

const redis = await testRedis();
try {
  const jobs = 5 * 4 * seeds.length;
  let t = performance.now();
  const pool = await runMatrixPool(opts, seeds, { workers: 2 });
  const poolSeconds = (performance.now() - t) / 1000;

  const two = [worker(redis.url, 30_000), worker(redis.url, 30_000)];
  await Promise.all(two.map((w) => w.ready));
  t = performance.now();
  const queued = await runMatrixPool(opts, seeds, { queue: redis.url });
  const queueSeconds = (performance.now() - t) / 1000;
  await Promise.all(two.map((w) => stop(w)));
  const identical = JSON.stringify(queued.rows) === JSON.stringify(pool.rows);

  // a worker killed mid-job: its job runs again on another once the 2 s lock has expired
  const lockMs = 2000;
  const a = worker(redis.url, lockMs);
  const b = worker(redis.url, lockMs);
  await Promise.all([a.ready, b.ready]);
  t = performance.now();
  const run = runMatrixPool(opts, seeds, { queue: redis.url });
  const killedJob = await a.started;
  await stop(a, "SIGKILL");
  const c = worker(redis.url, lockMs);
  const killedRun = await run;
  const killSeconds = (performance.now() - t) / 1000;
  await Promise.all([stop(b), stop(c)]);
  const retriedBy = [b, c].filter((w) => w.log.includes(`finished cell job ${killedJob}`)).length;
  const killIdentical = JSON.stringify(killedRun.rows) === JSON.stringify(pool.rows);

  const path = writeBenchResult("queue", SEED, {
    jobs,
    pool: { workers: 2, wallSeconds: Number(poolSeconds.toFixed(3)) },
    queue: { workers: 2, wallSeconds: Number(queueSeconds.toFixed(3)), identical },
    overheadPerJobMs: Number((((queueSeconds - poolSeconds) / jobs) * 1000).toFixed(1)),
    ratio: Number((queueSeconds / poolSeconds).toFixed(3)),
    killedWorker: {
      lockMs,
      wallSeconds: Number(killSeconds.toFixed(3)),
      completed: killedRun.runs.done === jobs && !killedRun.interrupted,
      identical: killIdentical,
      killedJobRetried: retriedBy > 0,
    },
  });
  console.log(
    `queue: ${jobs} jobs, pool ${poolSeconds.toFixed(2)} s, queue ${queueSeconds.toFixed(2)} s (${identical ? "identical" : "DIFFERENT"}), ${(((queueSeconds - poolSeconds) / jobs) * 1000).toFixed(0)} ms per job; killed worker: ${killSeconds.toFixed(2)} s, ${killedRun.runs.done}/${jobs} done, job ${killedJob} ${retriedBy > 0 ? "run again" : "NOT run again"} -> ${path}`,
  );
  if (!identical || !killIdentical || retriedBy === 0) process.exitCode = 1;
} finally {
  await redis.stop();
}
