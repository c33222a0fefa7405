// `stopsim report --out report.html`: one self-contained HTML report from real runs.
import { renderReport } from "@stopsim/report";
import type { Command } from "commander";
import { checkWritable, writeFileAtomic } from "../atomic.js";
import { validateFleetSize } from "../fleet.js";
import { parseWorkers } from "../pool.js";
import { findDesign, findHost } from "../presets.js";
import { buildReportData, REPORT_DEFAULTS } from "../report.js";
import { formatSeeds, resolveSeeds } from "../seeds.js";
import { VERSION } from "../version.js";
import { LIMITS, parseCount, parseDurationOption, parseSeed } from "./args.js";

/** Seeds of the report's matrix and wakeup latency by default. */
export const REPORT_DEFAULT_SEEDS = 5;

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("a self-contained HTML report: matrix, vCPU timeline, wakeup latency, fleet outcomes")
    .requiredOption("-o, --out <file.html>", "output file")
    .option("--host <host>", "host of the timeline run", "dd2.2")
    .option("--design <design>", "design of the timeline and fleet runs", "spapr-cap")
    .option("--seed <n>", "root seed (of the timeline and fleet runs; alone: the only seed)", "1")
    .option(
      "--seeds <spec>",
      `seeds of the matrix and wakeup latency: a count (from --seed on), FIRST..LAST or a,b,c (default ${REPORT_DEFAULT_SEEDS})`,
    )
    .option("--workers <n>", "worker processes (default: every core; 1 runs serially in this process)")
    .option("--timeline <time>", "timeline window after boot", "2ms")
    .option("--samples <n>", "wakeup samples per state and method", String(REPORT_DEFAULTS.wakeupSamples))
    .option("--fleet-hosts <n>", "fleet hosts", String(REPORT_DEFAULTS.fleetHosts))
    .option("--fleet-vms <n>", "fleet VMs", String(REPORT_DEFAULTS.fleetVms))
    .option("--fleet-duration <time>", "fleet simulated time", "24h")
    .action(
      async (
        o: {
          out: string;
          host: string;
          design: string;
          seed: string;
          seeds?: string;
          workers?: string;
          timeline: string;
          samples: string;
          fleetHosts: string;
          fleetVms: string;
          fleetDuration: string;
        },
        cmd: Command,
      ) => {
        // every option and the output path are checked before the first run
        findHost(o.host);
        findDesign(o.design);
        const seed = parseSeed(o.seed);
        const seeds = resolveSeeds(o, REPORT_DEFAULT_SEEDS, cmd.getOptionValueSource("seed") === "cli");
        const workers = parseWorkers(o.workers);
        const timelineNs = parseDurationOption(o.timeline, "--timeline", LIMITS.timelineNs);
        const fleetHosts = parseCount(o.fleetHosts, "--fleet-hosts", 2, LIMITS.fleetHosts);
        const fleetVms = parseCount(o.fleetVms, "--fleet-vms", 1, LIMITS.fleetVms);
        const fleetDurationNs = parseDurationOption(
          o.fleetDuration,
          "--fleet-duration",
          LIMITS.fleetDurationNs,
        );
        validateFleetSize(
          { hosts: fleetHosts, vms: fleetVms, durationNs: fleetDurationNs },
          { hosts: "--fleet-hosts", vms: "--fleet-vms", duration: "--fleet-duration" },
        );
        const wakeupSamples = parseCount(o.samples, "--samples", 1, LIMITS.samples);
        checkWritable(o.out, "--out");
        const data = await buildReportData({
          seed,
          seeds,
          workers,
          host: o.host,
          design: o.design,
          timelineNs,
          fleetHosts,
          fleetVms,
          fleetDurationNs,
          wakeupSamples,
          version: VERSION,
          command: `stopsim report --seed ${o.seed} --seeds ${formatSeeds(seeds)} --host ${o.host} --design ${o.design}`,
          onProgress: (what) => process.stderr.isTTY && console.error(`report: ${what}...`),
        });
        const html = renderReport(data);
        writeFileAtomic(o.out, html);
        console.error(`wrote ${o.out} (${(html.length / 1024).toFixed(0)} KiB)`);
      },
    );
}
