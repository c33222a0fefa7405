// `stopsim bench wakeup|ebizzy|ctxsw`: the thread-shaped measurements on the full stack, over
// several seeds (each case x seed one run on the process pool): each figure is the median over the
// seeds with an order-statistics confidence interval, beside the thread's figure.

import { formatDuration } from "@stopsim/engine";
import { Argument, type Command, Option } from "commander";
import type { RateBench } from "../bench.js";
import { benchRateSeeds, benchWakeupSeeds, type SeedsRun } from "../bench-seeds.js";
import type { MedianInterval } from "../interval.js";
import { printJson, table } from "../output.js";
import { type PoolOptions, parseWorkers } from "../pool.js";
import { parseQueueOption } from "../queue-url.js";
import { formatSeeds, resolveSeeds } from "../seeds.js";
import { Interrupted, onInterrupt, progress } from "../terminal.js";
import { LIMITS, parseCount, parseDurationOption } from "./args.js";

/** Seeds of a benchmark by default: five, the fewest whose [min, max] is a 93.8% interval. */
export const BENCH_DEFAULT_SEEDS = 5;

/** "4.57 us [4.21 us-5.02 us]": the median and its interval. */
export function intervalText(m: MedianInterval, f: (n: number) => string): string {
  return m.n === 1 ? f(m.median) : `${f(m.median)} [${f(m.lo)}-${f(m.hi)}]`;
}

function coverageText(r: SeedsRun & { states: { seeds: unknown[] }[] }): string {
  return `over ${r.seeds.length} seeds (${formatSeeds(r.seeds)}); interval: ${r.method}`;
}

/** Runs a sweep with a progress bar and Ctrl-C handling; returns its result. */
async function sweep<T>(label: string, total: number, json: boolean, run: (p: PoolOptions) => Promise<T>) {
  const bar = progress(label, total, { enabled: !json });
  const ac = new AbortController();
  const removeHandler = onInterrupt(() => ac.abort());
  try {
    return await run({ signal: ac.signal, onProgress: (d) => bar.update(d) });
  } finally {
    removeHandler();
    bar.stop();
  }
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description(
      "the thread's measurements on the full stack over several seeds: wakeup latency, ebizzy, context_switch2 per idle state",
    )
    .addArgument(new Argument("<what>", "wakeup, ebizzy or ctxsw").choices(["wakeup", "ebizzy", "ctxsw"]))
    .option("--seed <n>", "root seed (alone: that one seed)", "1")
    .option(
      "--seeds <spec>",
      `seeds: a count (from --seed on), FIRST..LAST or a,b,c (default ${BENCH_DEFAULT_SEEDS})`,
    )
    .option("--workers <n>", "worker processes (default: every core; 1 runs serially in this process)")
    .option(
      "--queue <redis://host:port>",
      "run the jobs through this Redis server's queue (stopsim worker processes anywhere) instead of local worker processes",
    )
    .addOption(new Option("--samples <n>", "wakeup samples per state, method and seed").default("60"))
    .option("--window <time>", "ebizzy and ctxsw: measured window of simulated time", "200ms")
    .option("--json", "machine-readable output")
    .action(
      async (
        what: string,
        o: {
          seed: string;
          seeds?: string;
          workers?: string;
          queue?: string;
          samples: string;
          window: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const seeds = resolveSeeds(o, BENCH_DEFAULT_SEEDS, cmd.getOptionValueSource("seed") === "cli");
        const samples = parseCount(o.samples, "--samples", 1, LIMITS.samples);
        const windowNs = parseDurationOption(o.window, "--window", LIMITS.fullStackDurationNs);
        const workers = parseWorkers(o.workers);
        const queue = parseQueueOption(o.queue);
        const json = o.json === true;
        const f = (n: number) => formatDuration(n);
        if (what === "wakeup") {
          const r = await sweep("bench wakeup", 4 * seeds.length, json, (p) =>
            benchWakeupSeeds(seeds, samples, { ...p, workers, queue }),
          );
          const { samplesNs: _s, ...out } = r;
          if (json) printJson(out);
          else {
            console.log(
              table(
                [
                  "state",
                  "host",
                  "by timer: median [interval]",
                  "thread",
                  "by IPI: median [interval]",
                  "thread",
                ],
                r.states.map((s) => [
                  s.state,
                  s.host,
                  intervalText(s.timer, f),
                  s.thread ? f(s.thread.timer) : "-",
                  intervalText(s.ipi, f),
                  s.thread ? f(s.thread.ipi) : "-",
                ]),
              ),
            );
            const cov = r.states[0]?.timer;
            console.log(
              `median of each seed's median of ${samples} wakeups, ${coverageText(r)}${cov && cov.n > 1 ? `, coverage ${(100 * cov.coverage).toFixed(1)}%` : ""}`,
            );
          }
          if (r.interrupted)
            throw new Interrupted(`bench interrupted: ${r.runs.done} of ${r.runs.total} runs finished`);
          return;
        }
        const r = await sweep(`bench ${what}`, 4 * seeds.length, json, (p) =>
          benchRateSeeds(what as RateBench, seeds, windowNs, { ...p, workers, queue }),
        );
        if (json) printJson(r);
        else {
          const n = (x: number) => Math.round(x).toLocaleString("en");
          console.log(
            table(
              ["state", "host", "rate: median [interval]", "thread"],
              r.states.map((s) => [
                s.state,
                s.host,
                `${intervalText(s.rate, n)} ${s.unit}`,
                s.thread === null ? "-" : `${n(s.thread)} ${s.unit}`,
              ]),
            ),
          );
          const cov = r.states[0]?.rate;
          console.log(
            `median over seeds of each seed's rate in ${f(windowNs)}, ${coverageText(r)}${cov && cov.n > 1 ? `, coverage ${(100 * cov.coverage).toFixed(1)}%` : ""}`,
          );
        }
        if (r.interrupted)
          throw new Interrupted(`bench interrupted: ${r.runs.done} of ${r.runs.total} runs finished`);
      },
    );
}
