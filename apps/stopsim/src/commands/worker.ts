// `stopsim worker --queue redis://HOST:PORT`: takes sweep jobs (matrix cells, benchmark cases,
// fleet probes at one seed each) from a Redis server's BullMQ queue and runs them here, one at a
// time, until Ctrl-C or SIGTERM (it finishes the job it is running first). Start one per core on
// any machine that reaches the server; `stopsim matrix|bench|fleet ... --queue` adds the jobs.
import { type Command, Option } from "commander";
import { DEFAULT_LOCK_MS, parseQueueUrl } from "../queue-url.js";
import { parseCount } from "./args.js";

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("run sweep jobs from a Redis server's queue (start one per core, on any machine)")
    .requiredOption("--queue <redis://host:port>", "the Redis server the sweeps' queue lives on")
    .addOption(
      new Option(
        "--lock-ms <ms>",
        "job lock: if this worker dies mid-job, another runs the job again once the lock has expired",
      ).default(String(DEFAULT_LOCK_MS)),
    )
    .action(async (o: { queue: string; lockMs: string }) => {
      parseQueueUrl(o.queue);
      const lockMs = parseCount(o.lockMs, "--lock-ms", 100, 3_600_000);
      const { startQueueWorker } = await import("../queue.js");
      let jobs = 0;
      const close = await startQueueWorker(o.queue, {
        lockMs,
        onJob: (event, id, kind) => {
          if (event === "done") jobs++;
          process.stderr.write(`worker: ${event === "start" ? "started" : "finished"} ${kind} job ${id}\n`);
        },
      });
      process.stderr.write(`worker: waiting for jobs on ${o.queue} (lock ${lockMs} ms; Ctrl-C ends)\n`);
      await new Promise<void>((resolve) => {
        const end = () => resolve();
        process.once("SIGINT", end);
        process.once("SIGTERM", end);
      });
      await close();
      process.stderr.write(`worker: ${jobs} jobs run\n`);
    });
}
