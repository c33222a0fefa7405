// `stopsim fleet`: many hosts and VMs under a rolling upgrade or an evacuation plan.

import { formatDuration } from "@stopsim/engine";
import { type Command, Option } from "commander";
import { checkWritable } from "../atomic.js";
import { UsageError } from "../errors.js";
import {
  FLEET_OLD_MACHINE,
  type FleetPlan,
  type FleetPolicy,
  type FleetResult,
  fleetSteps,
  RUN_OUTCOMES,
  validateFleetSize,
} from "../fleet.js";
import {
  DEFAULT_PROBE_SEEDS,
  type FleetBaseOptions,
  fleetSpread,
  runFleetSeeds,
  SPREAD_STATISTIC,
  spreadText,
} from "../fleet-seeds.js";
import { heading, printJson, table } from "../output.js";
import { parseWorkers } from "../pool.js";
import { findDesign, findHost } from "../presets.js";
import { FullStackProbe } from "../probe.js";
import { parseQueueOption } from "../queue-url.js";
import { loadScenario } from "../scenario.js";
import { formatSeeds, parseSeeds, resolveSeeds } from "../seeds.js";
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
    .option("--seed <n>", "root seed (alone: the only fleet seed; with --seeds: the first)", "1")
    .option("--seeds <n|a..b|list>", "run the fleet over these seeds and give each count's spread")
    .option(
      "--probe-seeds <n|a..b|list>",
      "seeds each boot and migration case is probed over (a count starts at the first fleet seed)",
      String(DEFAULT_PROBE_SEEDS),
    )
    .option("--workers <n>", "worker processes for the probes (default: every core)")
    .option(
      "--queue <redis://host:port>",
      "run the probes through this Redis server's queue (stopsim worker processes anywhere) instead of local worker processes",
    )
    .option("--scenario <file>", "YAML or JSON file with extra hosts and designs")
    .option(
      "--trace <file.json>",
      "write the fleet's events (boots, migrations, upgrades per host) as a Chrome/Perfetto trace",
    )
    .option("--json", "machine-readable output")
    .action(
      async (
        o: {
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
          seeds?: string;
          probeSeeds: string;
          workers?: string;
          queue?: string;
          scenario?: string;
          trace?: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        // sizes, duration, seed and output path first: nothing is allocated for a refused run
        const hosts = parseCount(o.hosts, "--hosts", 2, LIMITS.fleetHosts);
        const vms = parseCount(o.vms, "--vms", 1, LIMITS.fleetVms);
        const durationNs = parseDurationOption(o.duration, "--duration", LIMITS.fleetDurationNs);
        validateFleetSize({ hosts, vms, durationNs });
        const seed = parseSeed(o.seed);
        const seeds = resolveSeeds(o, 1, cmd.getOptionValueSource("seed") === "cli");
        const first = typeof seeds[0] === "number" ? seeds[0] : 1;
        const probeSeeds = parseSeeds(o.probeSeeds, "--probe-seeds", first);
        const workers = parseWorkers(o.workers);
        const queue = parseQueueOption(o.queue);
        if (o.trace !== undefined && seeds.length > 1) {
          throw new UsageError(
            "fleet: --trace takes one fleet seed (one trace per seed would be needed); drop --seeds, or trace one seed with --seed N",
          );
        }
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
        const probe = new FullStackProbe({ seeds: probeSeeds, hosts: sc?.hosts, designs: sc?.designs });
        const base: FleetBaseOptions = {
          hosts,
          vms,
          durationNs,
          design: design.name,
          plan: o.plan as FleetPlan,
          policy: o.policy as FleetPolicy,
          machines: { old: o.oldMachine, new: design.machine },
          ...(o.upgradeBatch !== undefined
            ? { upgradeBatch: parseCount(o.upgradeBatch, "--upgrade-batch", 1, hosts) }
            : {}),
          mix,
          upgradeTo,
        };
        const t0 = performance.now();
        // the full-stack probes first, on the worker processes (Ctrl-C ends them)
        const ac = new AbortController();
        const stopProbing = onInterrupt(() => ac.abort());
        let probed: Awaited<ReturnType<typeof runFleetSeeds>>;
        let probeBar = progress("fleet probes", 1, { enabled: false });
        try {
          probed = await runFleetSeeds(base, seeds, probe, {
            workers,
            queue,
            signal: ac.signal,
            onProgress: (d, total) => {
              if (d === 1) {
                probeBar.stop();
                probeBar = progress("fleet probes", total, { enabled: !o.json });
              }
              probeBar.update(d);
            },
          });
        } finally {
          stopProbing();
          probeBar.stop();
        }
        if (probed.interrupted) {
          throw new Interrupted(
            `fleet interrupted while probing its cases (${probe.runs} full-stack runs finished); no fleet result`,
          );
        }
        if (seeds.length > 1) {
          printSeeds(probed.results, {
            seeds,
            probeSeeds,
            probe,
            json: o.json === true,
            wallSeconds: (performance.now() - t0) / 1000,
          });
          return;
        }
        const bar = progress("fleet", 100, { enabled: !o.json });
        let interrupted = false;
        const stopListening = onInterrupt(() => {
          interrupted = true;
        });
        const r = await withTraceFile(o.trace, traceMeta(seed, "fleet"), async (t) => {
          const run = fleetSteps(
            {
              ...base,
              seed: seeds[0],
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
          printJson({
            ...result,
            seed: seeds[0],
            probeSeeds,
            probes: probe.summary(),
            fullStackRuns: probe.runs,
            wallSeconds,
          });
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
        console.log(
          `${probe.runs} full-stack runs (each case over probe seeds ${formatSeeds(probeSeeds)}); wall time ${wallSeconds.toFixed(1)} s`,
        );
        printRareProbes(probe);
        if (stopped) throw stopped;
      },
    );
}

/** Probe cases whose outcome was not the same on every probe seed (what the VMs drew from). */
function printRareProbes(probe: FullStackProbe): void {
  const mixed = probe.summary().filter((p) => p.minority.length > 0);
  if (mixed.length === 0) return;
  console.log(heading("cases whose outcome depends on the seed (each VM draws one probe seed)"));
  for (const p of mixed) {
    const c = p.case;
    const what =
      c.kind === "boot"
        ? `boot on ${c.hostKind}`
        : `migration of a guest booted on ${c.bootKind} to ${c.toKind}`;
    const counts = Object.entries(p.outcomes)
      .map(([k, v]) => `${k} ${v}/${probe.seeds.length}`)
      .join(", ");
    const seeds = p.minority.map((m) => `${m.outcome} on ${m.seeds.join(", ")}`).join("; ");
    console.log(`  ${what}${c.machine ? ` (${c.machine})` : ""}: ${counts} (${seeds})`);
  }
}

/** The fleet over several seeds: every count as its median and range, or the per-seed JSON. */
function printSeeds(
  results: FleetResult[],
  o: {
    seeds: readonly (number | string)[];
    probeSeeds: readonly (number | string)[];
    probe: FullStackProbe;
    json: boolean;
    wallSeconds: number;
  },
): void {
  const spread = fleetSpread(results);
  if (o.json) {
    printJson({
      seeds: o.seeds,
      probeSeeds: o.probeSeeds,
      statistic: SPREAD_STATISTIC,
      spread,
      runs: results.map((r, i) => ({ seed: o.seeds[i], result: r })),
      probes: o.probe.summary(),
      fullStackRuns: o.probe.runs,
      wallSeconds: o.wallSeconds,
    });
    return;
  }
  const r = results[0];
  console.log(
    heading(
      `fleet over ${o.seeds.length} seeds (${formatSeeds(o.seeds)}): ${r.hosts} hosts, ${r.vms} VMs, ${formatDuration(r.durationNs)}, design ${r.design}, ${r.plan}, policy ${r.policy} (${r.machines.old} / ${r.machines.new})`,
    ),
  );
  console.log(`counts: ${SPREAD_STATISTIC}`);
  console.log(
    table(
      ["outcome", "boots", "migrations"],
      RUN_OUTCOMES.map((k) => [k, spreadText(spread.boots[k]), spreadText(spread.migrations[k])]),
    ),
  );
  console.log(
    `VMs at the end: ${Object.entries(spread.vmFinal)
      .map(([k, v]) => `${k} ${spreadText(v)}`)
      .join(", ")}; restarts ${spreadText(spread.restarts)}`,
  );
  console.log(
    `stop0lite at the end: native ${spreadText(spread.stopLite.native)}, emulated ${spreadText(spread.stopLite.emulated)}, not used ${spreadText(spread.stopLite.notUsed)}`,
  );
  if (r.plan === "rolling-upgrade")
    console.log(
      `hosts upgraded ${spreadText(spread.hostsUpgraded)}, blocked ${spreadText(spread.upgradesBlocked)}`,
    );
  for (const [why, v] of Object.entries(spread.refusals)) console.log(`  refused ${spreadText(v)} x ${why}`);
  console.log(
    `guest downtime, whole fleet: ${spreadText(spread.downtimeTotalNs, formatDuration)}; of live migrations ${spreadText(spread.migrationDowntimeTotalNs, formatDuration)}`,
  );
  console.log(
    `${o.probe.runs} full-stack runs (each case over probe seeds ${formatSeeds(o.probeSeeds)}); wall time ${o.wallSeconds.toFixed(1)} s`,
  );
  printRareProbes(o.probe);
}
