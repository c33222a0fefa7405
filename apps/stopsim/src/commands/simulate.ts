// Simulating commands: boot, idle, migrate, matrix. Each takes --seed, --trace FILE.json and --json.

import { formatDuration } from "@stopsim/engine";
import { type Command, Option } from "commander";
import { checkWritable, writeFileAtomic } from "../atomic.js";
import { UsageError } from "../errors.js";
import type { RunOutcome } from "../fleet.js";
import { colour, heading, printJson, table } from "../output.js";
import { parseWorkload, WORKLOADS } from "../run.js";
import { loadScenario, type Scenario } from "../scenario.js";
import {
  type BootReport,
  type MatrixRow,
  type MigrateReport,
  type PhaseReport,
  type RunOptions,
  runBoot,
  runMatrix,
  runMigrate,
} from "../scenarios.js";
import { LIMITS, parseDurationOption, parseSeed } from "./args.js";

export interface CommonOpts {
  seed: string;
  trace?: string;
  json?: boolean;
  scenario?: string;
  duration: string;
  workload: string;
  governor: string;
  smp?: string;
  memory?: string;
}

export function withCommon(cmd: Command, defaultDuration: string, defaultWorkload = "timers"): Command {
  return cmd
    .option("--seed <n>", "root seed of every random stream", "1")
    .option("--duration <time>", "simulated time to run (e.g. 50ms, 2s)", defaultDuration)
    .addOption(
      new Option("--workload <w>", "guest workload").choices([...WORKLOADS]).default(defaultWorkload),
    )
    .addOption(
      new Option("--governor <g>", "guest cpuidle governor (teo by default: see DEFAULT_GUEST)")
        .choices(["menu", "teo"])
        .default("teo"),
    )
    .option("--smp <spec>", "guest topology in QEMU's -smp syntax", "8,sockets=1,cores=2,threads=4")
    .option("--memory <size>", "guest memory in QEMU's -m syntax", "1G")
    .option(
      "--scenario <file>",
      "YAML or JSON file with extra hosts, designs and guest settings (explicit flags win over it)",
    )
    .option("--trace <file.json>", "write a Chrome/Perfetto trace of the run")
    .option("--json", "machine-readable output");
}

/** True when the user typed `--<name>` (not commander's default). */
export function explicit(cmd: Command | undefined, name: string): boolean {
  return cmd?.getOptionValueSource(name) === "cli";
}

/**
 * The run options of a simulating command. Precedence for the guest settings: an explicit flag,
 * else the scenario file's `guest` section, else the command's default.
 */
export function runOptions(o: CommonOpts, cmd?: Command): RunOptions & { scenario?: Scenario } {
  const durationNs = parseDurationOption(
    o.duration,
    "--duration",
    LIMITS.fullStackDurationNs,
    " for full-stack runs; use `stopsim fleet` for longer spans",
  );
  const seed = parseSeed(o.seed);
  if (o.trace !== undefined) checkWritable(o.trace, "--trace");
  const scenario = o.scenario ? loadScenario(o.scenario) : undefined;
  const file = scenario?.guest ?? {};
  const pick = <T>(name: string, flag: T, fromFile: T | undefined): T =>
    explicit(cmd, name) || fromFile === undefined ? flag : fromFile;
  const workload = pick("workload", o.workload, file.workload);
  return {
    seed,
    durationNs,
    trace: o.trace !== undefined,
    guest: {
      workload: parseWorkload(workload),
      governor: pick("governor", o.governor, file.governor) === "teo" ? "teo" : "menu",
      smp: pick("smp", o.smp, file.smp),
      memory: pick("memory", o.memory, file.memory),
    },
    hosts: scenario?.hosts,
    designs: scenario?.designs,
    scenario,
  };
}

export function writeTrace(file: string | undefined, trace: string | undefined): void {
  if (!file || trace === undefined) return;
  writeFileAtomic(file, trace);
  console.error(`trace written to ${file} (open it in https://ui.perfetto.dev or chrome://tracing)`);
}

const OUTCOME_COLOUR: Record<RunOutcome, (s: string) => string> = {
  native: colour.green,
  emulated: colour.yellow,
  "not-used": colour.dim,
  crashed: colour.red,
  refused: colour.blue,
  "failed-start": colour.magenta,
  hung: colour.red,
};

export function outcomeText(o: RunOutcome): string {
  return OUTCOME_COLOUR[o](o);
}

function idleTable(idle: PhaseReport["idleStates"], cpuTimeNs: number): string {
  return table(
    ["guest idle state", "usage", "time (all vCPUs)", "share of vCPU time"],
    Object.entries(idle).map(([name, s]) => [
      name,
      s.usage,
      formatDuration(s.timeNs),
      `${((100 * s.timeNs) / Math.max(1, cpuTimeNs)).toFixed(1)}%`,
    ]),
  );
}

function exitsTable(exits: Record<string, number>, durationNs: number): string {
  const rows = Object.entries(exits).map(([k, v]) => [k, v, Math.round((v * 1e9) / durationNs)]);
  return rows.length ? table(["kvm_exit", "count", "per second"], rows) : "no KVM exits";
}

function printBoot(r: BootReport, durationNs: number): void {
  const h = r.host;
  console.log(heading(`firmware and host kernel (${h.name}: ${h.chip}, firmware ${h.firmware})`));
  console.log(
    `  dt-cpu-feature idle-stop-guest: ${h.idleStopGuestInDt ? "published" : "absent"}; enable_guest_stop=${h.enableGuestStop}`,
  );
  console.log(
    `  KVM build ${h.kvmBuild}: PSSCR policy ${h.psscrPolicy}, stop trap ${h.emulateStopTrap ? "emulated" : "not emulated"}`,
  );
  console.log(
    `  KVM_CAP_STOP=${h.kvmCapStop} KVM_CAP_PPC_GUEST_STOP=${h.kvmCapGuestStop}; host idle states ${h.hostIdleStates.join(", ")}`,
  );
  console.log(heading(`QEMU (${r.design})`));
  console.log(`  qemu-system-ppc64 ${r.qemu.commandLine}`);
  if (!r.qemu.started) {
    console.log(colour.red(`  ${r.qemu.error?.split("\n").join("\n  ")}`));
  } else {
    const caps = Object.entries(r.qemu.caps)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    console.log(`  caps: ${caps}`);
    console.log(`  guest tree: ibm,stop-lite-permitted ${r.qemu.stopLitePermitted ? "present" : "absent"}`);
    console.log(heading("guest kernel"));
    console.log(`  idle states offered: ${r.guest.idleStatesOffered.join(", ")}`);
    console.log(idleTable(r.guest.idleStates, durationNs * Math.max(1, r.guest.cpus)));
    console.log(exitsTable(r.exits, durationNs));
    if (r.guest.state !== "running") console.log(colour.red(r.guest.consoleTail.join("\n")));
  }
  console.log(`guest ${r.guest.state}: ${outcomeText(r.outcome)}`);
}

export function registerSimulate(program: Command): void {
  const addBoot = (name: string, desc: string, duration: string) =>
    withCommon(program.command(name).description(desc), duration)
      .requiredOption("--host <host>", "host preset (see `stopsim hosts`)")
      .requiredOption("--design <design>", "design (see `stopsim designs`)")
      .option("--machine-opts <opts>", "appended to -machine, e.g. cap-stop-lite=off")
      .action((o: CommonOpts & { host: string; design: string; machineOpts?: string }, cmd: Command) => {
        const ro = runOptions(o, cmd);
        const r = runBoot(o.host, o.design, {
          ...ro,
          machineExtra: o.machineOpts ? `,${o.machineOpts}` : "",
        });
        writeTrace(o.trace, r.trace);
        const { trace: _t, ...rest } = r;
        if (o.json) return printJson({ ...rest, guest: { ...rest.guest } });
        printBoot(r, ro.durationNs);
      });
  addBoot(
    "boot",
    "firmware -> host kernel -> QEMU -> guest, then idle for a while; what each layer decided",
    "20ms",
  );
  addBoot("idle", "idle statistics per guest state and KVM exits by reason under a workload", "100ms");

  withCommon(
    program.command("migrate").description("boot on one host, migrate live to another, run there"),
    "20ms",
  )
    .requiredOption("--from <host>", "source host preset")
    .requiredOption("--to <host>", "destination host preset")
    .requiredOption("--design <design>", "design")
    .action((o: CommonOpts & { from: string; to: string; design: string }, cmd: Command) => {
      const ro = runOptions(o, cmd);
      const r = runMigrate(o.from, o.to, o.design, ro);
      writeTrace(o.trace, r.trace);
      const { trace: _t, ...rest } = r;
      if (o.json) return printJson(rest);
      printMigrate(r);
    });

  withCommon(
    program
      .command("matrix")
      .description("every design x every ordered host pair, each cell from a real run"),
    "10ms",
  ).action((o: CommonOpts, cmd: Command) => {
    if (o.trace !== undefined) {
      throw new UsageError(
        "matrix: --trace needs a single run; the matrix makes one simulation per cell. Trace one cell with `stopsim boot` or `stopsim migrate --trace FILE.json`",
      );
    }
    const ro = runOptions(o, cmd);
    const rows = runMatrix({ ...ro, trace: false });
    if (o.json) return printJson({ rows });
    printMatrix(rows);
  });
}

function printMigrate(r: MigrateReport): void {
  console.log(heading(`${r.design}: ${r.from} -> ${r.to}`));
  if (!r.source.started) console.log(colour.red(`source QEMU refused to start: ${r.source.error}`));
  if (r.source.phase)
    console.log(
      `  on ${r.from}: ${outcomeText(r.source.phase.outcome)}, exits ${JSON.stringify(r.source.phase.exits)}`,
    );
  const m = r.migration;
  console.log(
    `  query-migrate: status ${m.status}${m.errorDesc ? `, error-desc "${m.errorDesc}"` : ""}${m.downtimeNs !== undefined ? `, downtime ${formatDuration(m.downtimeNs)}` : ""}${m.totalTimeNs !== undefined ? `, total ${formatDuration(m.totalTimeNs)}` : ""}`,
  );
  if (m.sourceAfter)
    console.log(
      `  source after the failure: ${m.sourceAfter.status}, guest ${m.sourceAfter.guestState}, ${m.sourceAfter.progressed ? "still making progress" : "not progressing"}`,
    );
  if (r.destination.phase)
    console.log(
      `  on ${r.to}: ${outcomeText(r.destination.phase.outcome)}, exits ${JSON.stringify(r.destination.phase.exits)}`,
    );
  console.log(`outcome: ${outcomeText(r.outcome)} (${r.detail})`);
}

export function printMatrix(rows: MatrixRow[]): void {
  const pairs = [...new Set(rows.map((r) => `${r.from} -> ${r.to}`))];
  const designs = [...new Set(rows.map((r) => r.design))];
  console.log(
    table(
      ["from -> to", ...designs],
      pairs.map((p) => [
        p,
        ...designs.map((d) => {
          const r = rows.find((x) => x.design === d && `${x.from} -> ${x.to}` === p);
          return r ? outcomeText(r.outcome) : "";
        }),
      ]),
    ),
  );
}
