// `stopsim fleet`: many hosts and VMs under a rolling upgrade or an evacuation plan.

import { formatDuration } from "@stopsim/engine";
import { type Command, Option } from "commander";
import { checkWritable } from "../atomic.js";
import { UsageError } from "../errors.js";
import {
  FLEET_OLD_MACHINE,
  type FleetPlan,
  type FleetPolicy,
  fleetSteps,
  RUN_OUTCOMES,
  validateFleetSize,
} from "../fleet.js";
import { heading, printJson, table } from "../output.js";
import { findDesign, findHost } from "../presets.js";
import { FullStackProbe } from "../probe.js";
import { loadScenario } from "../scenario.js";
import { Interrupted, onInterrupt, progress, yieldToEventLoop } from "../terminal.js";
import { withTraceFile } from "../trace-file.js";
import { LIMITS, parseCount, parseDurationOption, parseSeed } from "./args.js";
import { traceMeta } from "./simulate.js";

function parseMix(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(",")) {
    const [k, v] = part.split("=");
    const n = Number(v);
    if (!k || v === undefined || !(n >= 0)) {
      throw new UsageError(`--mix: '${part}' is not kind=share (e.g. dd2.2-old=0.5,dd2.3-old=0.5)`);
    }
    out[k.trim()] = n;
  }
  return out;
}

export function registerFleet(program: Command): void {
  program
    .command("fleet")
    .description("a fleet of hosts and VMs under a rolling upgrade or evacuation plan with live migrations")
    .option("--hosts <n>", "number of hosts", "100")
    .option("--vms <n>", "number of VMs", "1000")
    .option("--duration <time>", "simulated time (e.g. 24h)", "24h")
    .option("--design <design>", "design", "spapr-cap")
    .addOption(
      new Option("--plan <plan>", "operations plan")
        .choices(["rolling-upgrade", "evacuation"])
        .default("rolling-upgrade"),
    )
    .addOption(
      new Option("--policy <policy>", "which machine type VMs get (see README)")
        .choices(["pin-old", "capable", "naive"])
        .default("capable"),
    )
    .option("--old-machine <type>", "the machine type before the design's", FLEET_OLD_MACHINE)
    .option("--upgrade-batch <n>", "hosts drained and upgraded at a time (default: 2% of the hosts)")
    .option(
      "--mix <kinds>",
      "initial host kinds and shares",
      "dd2.2-old=0.3,dd2.3-old=0.3,dd2.2=0.2,dd2.3=0.2",
    )
    .option("--seed <n>", "root seed", "1")
    .option("--scenario <file>", "YAML or JSON file with extra hosts and designs")
    .option(
      "--trace <file.json>",
      "write the fleet's events (boots, migrations, upgrades per host) as a Chrome/Perfetto trace",
    )
    .option("--json", "machine-readable output")
    .action(
      async (o: {
        hosts: string;
        vms: string;
        duration: string;
        design: string;
        plan: string;
        policy: string;
        oldMachine: string;
        upgradeBatch?: string;
        mix: string;
        seed: string;
        scenario?: string;
        trace?: string;
        json?: boolean;
      }) => {
        // sizes, duration, seed and output path first: nothing is allocated for a refused run
        const hosts = parseCount(o.hosts, "--hosts", 2, LIMITS.fleetHosts);
        const vms = parseCount(o.vms, "--vms", 1, LIMITS.fleetVms);
        const durationNs = parseDurationOption(o.duration, "--duration", LIMITS.fleetDurationNs);
        validateFleetSize({ hosts, vms, durationNs });
        const seed = parseSeed(o.seed);
        if (o.trace !== undefined) checkWritable(o.trace, "--trace");
        const sc = o.scenario ? loadScenario(o.scenario) : undefined;
        const design = findDesign(o.design, sc?.designs);
        const mix = parseMix(o.mix);
        const upgradeTo: Record<string, string> = {};
        for (const k of Object.keys(mix)) {
          const h = findHost(k, sc?.hosts);
          if (h.kernel === "old") {
            const up = [...(sc?.hosts ?? []), ...[findHost("dd2.2"), findHost("dd2.3")]].find(
              (x) => x.chip === h.chip && x.kernel === "design" && x.firmware === "new",
            );
            if (up) upgradeTo[k] = up.name;
          }
        }
        const probe = new FullStackProbe({ seed, hosts: sc?.hosts, designs: sc?.designs });
        const bar = progress("fleet", 100, { enabled: !o.json });
        const t0 = performance.now();
        let interrupted = false;
        const stopListening = onInterrupt(() => {
          interrupted = true;
        });
        const r = await withTraceFile(o.trace, traceMeta(seed, "fleet"), async (t) => {
          const run = fleetSteps(
            {
              hosts,
              vms,
              durationNs,
              design: design.name,
              seed,
              plan: o.plan as FleetPlan,
              policy: o.policy as FleetPolicy,
              machines: { old: o.oldMachine, new: design.machine },
              ...(o.upgradeBatch !== undefined
                ? { upgradeBatch: parseCount(o.upgradeBatch, "--upgrade-batch", 1, hosts) }
                : {}),
              mix,
              upgradeTo,
              onProgress: (f) => bar.update(Math.round(f * 100)),
              traceTo: t?.consumer,
              shouldStop: () => interrupted,
            },
            probe,
          );
          for (;;) {
            const step = run.next();
            if (step.done) return step.value;
            await yieldToEventLoop(); // progress and Ctrl-C between the 100 steps
          }
        }).finally(() => {
          stopListening();
          bar.stop();
        });
        const stopped =
          r.stoppedAtNs === undefined
            ? undefined
            : new Interrupted(
                `interrupted: the results cover the first ${formatDuration(r.stoppedAtNs)} of ${formatDuration(durationNs)}`,
              );
        const wallSeconds = (performance.now() - t0) / 1000;
        const { trace: _trace, ...result } = r;
        if (o.json) {
          printJson({ ...result, fullStackRuns: probe.runs, wallSeconds });
          if (stopped) throw stopped;
          return;
        }
        console.log(
          heading(
            `fleet: ${r.hosts} hosts, ${r.vms} VMs, ${formatDuration(r.durationNs)}, design ${r.design}, ${r.plan}, policy ${r.policy} (${r.machines.old} / ${r.machines.new})`,
          ),
        );
        console.log(
          table(
            ["outcome", "boots", "migrations"],
            RUN_OUTCOMES.map((k) => [k, r.boots[k], r.migrations[k]]),
          ),
        );
        console.log(
          `VMs at the end: ${Object.entries(r.vmFinal)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")}; restarts ${r.restarts}`,
        );
        console.log(
          `stop0lite at the end: native ${r.stopLite.native}, emulated ${r.stopLite.emulated}, not used ${r.stopLite.notUsed}; machine types ${Object.entries(
            r.vmMachines,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")}`,
        );
        const up = r.upgrade;
        if (r.plan === "rolling-upgrade")
          console.log(
            `hosts upgraded ${r.hostsUpgraded} of ${up.hostsToUpgrade} (${up.batch} at a time), blocked ${r.upgradesBlocked}; upgrade ${
              up.durationNs !== undefined ? `took ${formatDuration(up.durationNs)}` : "not finished"
            }`,
          );
        const refused = Object.entries(r.refusals);
        console.log(`migrations refused ${r.migrations.refused}${refused.length ? ":" : ""}`);
        for (const [why, n] of refused.sort((a, b) => b[1] - a[1])) console.log(`  ${n} x ${why}`);
        const md = r.migrationDowntime;
        console.log(
          `live migrations ${md.count}: downtime median ${formatDuration(md.medianNs)}, max ${formatDuration(md.maxNs)}, total ${formatDuration(md.totalNs)}`,
        );
        console.log(
          `guest downtime: total ${formatDuration(r.downtime.totalNs)}, per VM median ${formatDuration(r.downtime.perVm.median)}, p99 ${formatDuration(r.downtime.perVm.p99)}, max ${formatDuration(r.downtime.perVm.max)}`,
        );
        console.log(`${probe.runs} distinct full-stack runs; wall time ${wallSeconds.toFixed(1)} s`);
        if (stopped) throw stopped;
      },
    );
}
