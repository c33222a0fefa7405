// `stopsim bench wakeup|ebizzy|ctxsw`: the thread-shaped measurements on the full stack.

import { formatDuration } from "@stopsim/engine";
import { Argument, type Command, Option } from "commander";
import { benchCtxsw, benchEbizzy, benchWakeup } from "../bench.js";
import { printJson, table } from "../output.js";
import { LIMITS, parseCount, parseDurationOption, parseSeed } from "./args.js";

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description(
      "the thread's measurements on the full stack: wakeup latency, ebizzy, context_switch2 per idle state",
    )
    .addArgument(new Argument("<what>", "wakeup, ebizzy or ctxsw").choices(["wakeup", "ebizzy", "ctxsw"]))
    .option("--seed <n>", "root seed", "1")
    .addOption(new Option("--samples <n>", "wakeup samples per state and method").default("60"))
    .option("--window <time>", "ebizzy and ctxsw: measured window of simulated time", "200ms")
    .option("--json", "machine-readable output")
    .action((what: string, o: { seed: string; samples: string; window: string; json?: boolean }) => {
      const seed = parseSeed(o.seed);
      const samples = parseCount(o.samples, "--samples", 1, LIMITS.samples);
      const windowNs = parseDurationOption(o.window, "--window", LIMITS.fullStackDurationNs);
      if (what === "wakeup") {
        const states = benchWakeup(seed, samples);
        if (o.json) {
          return printJson({
            states: states.map(({ timerSamplesNs: _t, ipiSamplesNs: _i, ...s }) => s),
          });
        }
        const f = (n: number) => formatDuration(n);
        console.log(
          table(
            [
              "state",
              "host",
              "by timer: median (min-max)",
              "avg ± stddev",
              "by IPI: median (min-max)",
              "avg ± stddev",
            ],
            states.map((s) => [
              s.state,
              s.host,
              `${f(s.timer.median)} (${f(s.timer.min)}-${f(s.timer.max)})`,
              `${f(s.timer.avg)} ± ${f(s.timer.stddev)}`,
              `${f(s.ipi.median)} (${f(s.ipi.min)}-${f(s.ipi.max)})`,
              `${f(s.ipi.avg)} ± ${f(s.ipi.stddev)}`,
            ]),
          ),
        );
        return;
      }
      const states = what === "ebizzy" ? benchEbizzy(seed, windowNs) : benchCtxsw(seed, windowNs);
      if (o.json) return printJson({ states });
      console.log(
        table(
          ["state", "host", "rate"],
          states.map((s) => [s.state, s.host, `${s.rate.toLocaleString("en")} ${s.unit}`]),
        ),
      );
    });
}
