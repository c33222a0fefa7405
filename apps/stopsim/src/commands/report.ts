// `stopsim report --out report.html`: one self-contained HTML report from real runs.
import { writeFileSync } from "node:fs";
import { renderReport } from "@stopsim/report";
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { findDesign, findHost } from "../presets.js";
import { buildReportData, REPORT_DEFAULTS } from "../report.js";
import { parseDurationOption, parseSeed } from "./args.js";
import { positiveInt } from "./dtb.js";

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("a self-contained HTML report: matrix, vCPU timeline, wakeup latency, fleet outcomes")
    .requiredOption("-o, --out <file.html>", "output file")
    .option("--host <host>", "host of the timeline run", "dd2.2")
    .option("--design <design>", "design of the timeline and fleet runs", "spapr-cap")
    .option("--seed <n>", "root seed", "1")
    .option("--timeline <time>", "timeline window after boot", "2ms")
    .option("--samples <n>", "wakeup samples per state and method", String(REPORT_DEFAULTS.wakeupSamples))
    .option("--fleet-hosts <n>", "fleet hosts", String(REPORT_DEFAULTS.fleetHosts))
    .option("--fleet-vms <n>", "fleet VMs", String(REPORT_DEFAULTS.fleetVms))
    .option("--fleet-duration <time>", "fleet simulated time", "24h")
    .action(
      (o: {
        out: string;
        host: string;
        design: string;
        seed: string;
        timeline: string;
        samples: string;
        fleetHosts: string;
        fleetVms: string;
        fleetDuration: string;
      }) => {
        findHost(o.host);
        findDesign(o.design);
        const seed = parseSeed(o.seed);
        const data = buildReportData({
          seed,
          host: o.host,
          design: o.design,
          timelineNs: parseDurationOption(o.timeline, "--timeline"),
          fleetHosts: positiveInt(o.fleetHosts, "--fleet-hosts"),
          fleetVms: positiveInt(o.fleetVms, "--fleet-vms"),
          fleetDurationNs: parseDurationOption(o.fleetDuration, "--fleet-duration"),
          wakeupSamples: positiveInt(o.samples, "--samples"),
          version: "0.1.0",
          command: `stopsim report --seed ${o.seed} --host ${o.host} --design ${o.design}`,
          onProgress: (what) => process.stderr.isTTY && console.error(`report: ${what}...`),
        });
        const html = renderReport(data);
        try {
          writeFileSync(o.out, html);
        } catch (e) {
          throw new UsageError(
            `cannot write '${o.out}' (${(e as NodeJS.ErrnoException).code ?? "error"}): check the path`,
          );
        }
        console.error(`wrote ${o.out} (${(html.length / 1024).toFixed(0)} KiB)`);
      },
    );
}
