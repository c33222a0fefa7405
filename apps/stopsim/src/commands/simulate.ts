// Simulating commands: boot, idle, migrate, matrix. Each takes --seed, --trace FILE.json and --json.

import { formatDuration, NS_PER_MS, NS_PER_S } from "@stopsim/engine";
import { type Command, Option } from "commander";
import { checkWritable } from "../atomic.js";
import { UsageError } from "../errors.js";
import type { RunOutcome } from "../fleet.js";
import { type Hazards, hazardText } from "../hazards.js";
import { parseCaps } from "../management.js";
import { MATRIX_WORKLOAD, type MatrixRow, matrixCells, runMatrixPool } from "../matrix.js";
import { type MigrateReport, runMigrate } from "../migrate.js";
import { colour, heading, printJson, table } from "../output.js";
import { parseWorkers } from "../pool.js";
import { findDesign, findHost } from "../presets.js";
import { parseQueueOption } from "../queue-url.js";
import { DEFAULT_GUEST, parseWorkload, WORKLOADS } from "../run.js";
import { loadScenario, type Scenario } from "../scenario.js";
import { type BootReport, bootSteps, type PhaseReport, type RunOptions } from "../scenarios.js";
import { formatSeeds, resolveSeeds } from "../seeds.js";
import { Interrupted, onInterrupt, progress, yieldToEventLoop } from "../terminal.js";
import { withTraceFile } from "../trace-file.js";
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
      new Option("--governor <g>", "guest cpuidle governor (menu, the 2020 default, unless teo is chosen)")
        .choices(["menu", "teo"])
        .default(DEFAULT_GUEST.governor),
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
      ...(file.watchdogThresh !== undefined
        ? {
            watchdogThreshS:
              parseDurationOption(file.watchdogThresh, `${scenario?.file}: guest.watchdogThresh`) / 1e9,
          }
        : {}),
    },
    hosts: scenario?.hosts,
    designs: scenario?.designs,
    scenario,
  };
}

export function traceMeta(seed: number | string, command: string): Record<string, string> {
  return { seed: String(seed), command };
}

/** Slices of simulated time between which progress is drawn and Ctrl-C is taken. */
const SLICE_NS = 10 * NS_PER_MS;
/** Runs this long (simulated) or longer show a progress bar on a TTY. */
const PROGRESS_FROM_NS = NS_PER_S;

/**
 * boot / idle driven in 10 ms slices: the trace streams to its file, a progress bar shows on a TTY
 * for runs of a second or more, and Ctrl-C ends the run at the next slice with the figures so far.
 */
async function slicedBoot(
  command: string,
  o: CommonOpts & { host: string; design: string; machineOpts?: string },
  ro: RunOptions,
): Promise<BootReport> {
  let interrupted = false;
  const stopListening = onInterrupt(() => {
    interrupted = true;
  });
  const totalMs = Math.round(ro.durationNs / NS_PER_MS);
  const bar = progress(`${command} (simulated ms)`, totalMs, {
    enabled: !o.json && ro.durationNs >= PROGRESS_FROM_NS,
  });
  try {
    return await withTraceFile(o.trace, traceMeta(ro.seed, `${command} ${o.host} ${o.design}`), async (t) => {
      const steps = bootSteps(
        o.host,
        o.design,
        { ...ro, trace: false, traceTo: t?.consumer, machineExtra: o.machineOpts ? `,${o.machineOpts}` : "" },
        { sliceNs: SLICE_NS, shouldStop: () => interrupted },
      );
      for (;;) {
        const step = steps.next();
        if (step.done) return step.value;
        bar.update(Math.round(step.value / NS_PER_MS));
        await yieldToEventLoop();
      }
    });
  } finally {
    stopListening();
    bar.stop();
  }
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
    const ic = r.qemu.interruptController;
    if (ic !== undefined) {
      const name = ic.active === "xive" ? "XIVE exploitation mode" : "XICS";
      console.log(
        `  interrupt controller: ${name} (ic-mode=${ic.mode}); ${ic.cas === null ? "the guest made no CAS call" : `CAS: ${ic.cas}`}`,
      );
    }
    console.log(heading("guest kernel"));
    const t = r.guest.cpuidleTable;
    console.log(
      `  cpuidle: ${t.table}${t.table === "none" ? "" : ` (lppaca_shared_proc() = ${t.sharedProc ? 1 : 0}: the VPA's __old_status byte read back as 0x${t.lppacaOldStatus.toString(16).padStart(2, "0")}, LPPACA_OLD_SHARED_PROC ${t.sharedProc ? "set by the hypervisor's H_REGISTER_VPA" : "clear"})`}, governor ${t.governor}`,
    );
    console.log(`  idle states offered: ${r.guest.idleStatesOffered.join(", ")}`);
    console.log(idleTable(r.guest.idleStates, durationNs * Math.max(1, r.guest.cpus)));
    console.log(exitsTable(r.exits, durationNs));
    const hazards = hazardText(r.hazards);
    if (hazards) console.log(colour.yellow(hazards));
    if (r.guest.state !== "running") console.log(colour.red(r.guest.consoleTail.join("\n")));
  }
  console.log(
    `guest ${r.guest.state}: ${outcomeText(r.outcome)}${hazardText(r.hazards) ? " (with hazards, see above)" : ""}`,
  );
}

export function registerSimulate(program: Command): void {
  const addBoot = (name: string, desc: string, duration: string) =>
    withCommon(program.command(name).description(desc), duration)
      .requiredOption("--host <host>", "host preset (see `stopsim hosts`)")
      .requiredOption("--design <design>", "design (see `stopsim designs`)")
      .option("--machine-opts <opts>", "appended to -machine, e.g. cap-stop-lite=off")
      .action(
        async (o: CommonOpts & { host: string; design: string; machineOpts?: string }, cmd: Command) => {
          const ro = runOptions(o, cmd);
          const r = await slicedBoot(name, o, ro);
          if (o.json) printJson({ ...r, guest: { ...r.guest } });
          else printBoot(r, r.stoppedAtNs ?? ro.durationNs);
          if (r.stoppedAtNs !== undefined)
            throw new Interrupted(
              `interrupted: the figures cover the first ${formatDuration(r.stoppedAtNs)} of ${formatDuration(ro.durationNs)}`,
            );
        },
      );
  addBoot(
    "boot",
    "firmware -> host kernel -> QEMU -> guest, then idle for a while; what each layer decided",
    "20ms",
  );
  addBoot("idle", "idle statistics per guest state and KVM exits by reason under a workload", "100ms");

  withCommon(
    program.command("migrate").description("boot on one host, migrate live to another, run there"),
    "20ms",
    MATRIX_WORKLOAD,
  )
    .requiredOption("--from <host>", "source host preset")
    .requiredOption("--to <host>", "destination host preset")
    .requiredOption("--design <design>", "design")
    .option("--machine-opts <opts>", "appended to -machine of the domain, e.g. cap-stop-lite=off")
    .option(
      "--dest-caps <caps>",
      "caps of the destination's definition (virsh migrate --xml), e.g. stop-lite=off",
    )
    .option("--return-path", "migrate-set-capabilities return-path on both QEMUs")
    .option("--no-libvirt", "QEMU alone over QMP, no management layer (shows what QEMU leaves behind)")
    .option("--verbose", "print the migration's steps as libvirtd logs them")
    .action(
      async (
        o: CommonOpts & {
          from: string;
          to: string;
          design: string;
          machineOpts?: string;
          destCaps?: string;
          returnPath?: boolean;
          libvirt?: boolean;
          verbose?: boolean;
        },
        cmd: Command,
      ) => {
        const ro = runOptions(o, cmd);
        const r = await withTraceFile(
          o.trace,
          traceMeta(ro.seed, `migrate ${o.from} ${o.to} ${o.design}`),
          (t) =>
            runMigrate(o.from, o.to, o.design, {
              ...ro,
              trace: false,
              traceTo: t?.consumer,
              machineExtra: o.machineOpts ? `,${o.machineOpts}` : "",
              noLibvirt: o.libvirt === false,
              returnPath: o.returnPath === true,
              verbose: o.verbose === true,
              ...(o.destCaps ? { destCaps: parseCaps(o.destCaps) } : {}),
            }),
        );
        const { trace: _t, ...rest } = r;
        if (o.json) return printJson(rest);
        printMigrate(r);
      },
    );

  withCommon(
    program
      .command("matrix")
      .description(
        "every design x every ordered host pair, each cell from real runs over several seeds (the distribution of outcomes)",
      ),
    "10ms",
    MATRIX_WORKLOAD,
  )
    .option(
      "--seeds <spec>",
      `seeds of every cell: a count (from --seed on), FIRST..LAST or a list a,b,c (default ${MATRIX_DEFAULT_SEEDS}; --seed alone runs that one seed)`,
    )
    .option("--workers <n>", "worker processes (default: every core; 1 runs serially in this process)")
    .option(
      "--queue <redis://host:port>",
      "run the jobs through this Redis server's queue (stopsim worker processes anywhere) instead of local worker processes",
    )
    .option("--designs <list>", "only these designs, comma-separated (default: all, scenario ones first)")
    .option("--hosts <list>", "only these hosts, comma-separated (default: all, scenario ones first)")
    .action(
      async (
        o: CommonOpts & {
          seeds?: string;
          workers?: string;
          queue?: string;
          designs?: string;
          hosts?: string;
        },
        cmd: Command,
      ) => {
        if (o.trace !== undefined) {
          throw new UsageError(
            "matrix: --trace needs a single run; the matrix makes one simulation per cell. Trace one cell with `stopsim boot` or `stopsim migrate --trace FILE.json`",
          );
        }
        const base = runOptions(o, cmd);
        const ro = {
          ...base,
          ...(o.designs
            ? { designNames: nameList(o.designs, "--designs", (n) => findDesign(n, base.designs)) }
            : {}),
          ...(o.hosts ? { hostNames: nameList(o.hosts, "--hosts", (n) => findHost(n, base.hosts)) } : {}),
        };
        const seeds = resolveSeeds(o, MATRIX_DEFAULT_SEEDS, cmd.getOptionValueSource("seed") === "cli");
        const workers = parseWorkers(o.workers);
        const queue = parseQueueOption(o.queue);
        const total = matrixCells(ro).length * seeds.length;
        const bar = progress("matrix", total, { enabled: !o.json });
        const ac = new AbortController();
        const removeHandler = onInterrupt(() => ac.abort());
        let r: Awaited<ReturnType<typeof runMatrixPool>>;
        try {
          r = await runMatrixPool({ ...ro, trace: false }, seeds, {
            workers,
            queue,
            signal: ac.signal,
            onProgress: (d) => bar.update(d),
          });
        } finally {
          removeHandler();
          bar.stop();
        }
        const { workers: _w, ...out } = r;
        if (o.json) printJson(out);
        else printMatrix(r.rows, { seeds, replay: replayHint(o, cmd, base.scenario) });
        if (r.interrupted) {
          throw new Interrupted(
            `matrix interrupted: ${r.runs.done} of ${r.runs.total} runs finished; ${r.rows.length} complete cells shown`,
          );
        }
      },
    );
}

/** A comma-separated list of names, each one checked (an unknown name is a usage error). */
function nameList(text: string, option: string, check: (name: string) => unknown): string[] {
  const names = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError(`${option}: give at least one name, e.g. ${option} a,b`);
  for (const n of names) check(n);
  return names;
}

/**
 * The matrix's default seed count. Measured with /usr/bin/time (user + sys, the worker processes
 * included) on the 2-core benchmark machine: a cell's run costs 0.145 s of CPU (80 runs per seed:
 * 11.4 s serially, 23.2 s for 2 seeds on 2 workers), so a seed of the 80-cell matrix is about
 * 11.6 s of CPU, 6-7 s of wall on two idle cores with the workers' GC threads competing: 4 seeds
 * keep the default matrix under ~30 s there (the machine was too loaded for a wall-time figure).
 */
export const MATRIX_DEFAULT_SEEDS = 4;

/**
 * Options a replay of one cell needs besides host, design and seed: the guest settings resolve in
 * the replayed `boot` or `migrate` as they did in the matrix. A flag the user typed is passed on (it
 * wins over the scenario there too); a setting the scenario gives comes from the same scenario; the
 * matrix's own workload default (MATRIX_WORKLOAD) is not `boot`'s, so it is always spelled out.
 */
function replayHint(o: CommonOpts, cmd: Command, scenario: Scenario | undefined): string {
  const typed = (name: keyof CommonOpts & string) => (explicit(cmd, name) ? `--${name} ${o[name]}` : "");
  return [
    `--duration ${o.duration}`,
    explicit(cmd, "workload") || scenario?.guest?.workload === undefined ? `--workload ${o.workload}` : "",
    typed("governor"),
    typed("smp"),
    typed("memory"),
    o.scenario ? `--scenario ${o.scenario}` : "",
  ]
    .filter(Boolean)
    .join(" ");
}

function hazardLine(h: Hazards): string {
  const t = hazardText(h);
  return t ? `\n    ${colour.yellow(t)}` : "";
}

function printMigrate(r: MigrateReport): void {
  console.log(heading(`${r.design}: ${r.from} -> ${r.to}`));
  if (!r.source.started) console.log(colour.red(`source QEMU refused to start: ${r.source.error}`));
  if (r.source.phase)
    console.log(
      `  on ${r.from}: ${outcomeText(r.source.phase.outcome)}, exits ${JSON.stringify(r.source.phase.exits)}${hazardLine(r.source.phase.hazards)}`,
    );
  const m = r.migration;
  if (m.log) {
    console.log(
      heading(`libvirtd (${m.managementLayer === "none" ? "QEMU alone" : "virsh migrate --live"})`),
    );
    for (const l of m.log) console.log(`  ${l}`);
  }
  if (m.phases)
    console.log(
      `  libvirt phases: ${m.phases.join(" -> ")}${m.failedPhase ? colour.red(` (failed in ${m.failedPhase})`) : ""}`,
    );
  if (m.virError) console.log(colour.red(`  error: ${m.virError.message.split("\n").join("\n         ")}`));
  if (m.managementLayer === "none") console.log("  management layer: none (QEMU alone over QMP)");
  console.log(
    `  query-migrate: status ${m.status}${m.errorDesc ? `, error-desc "${m.errorDesc}"` : ""}${m.downtimeNs !== undefined ? `, downtime ${formatDuration(m.downtimeNs)}` : ""}${m.totalTimeNs !== undefined ? `, total ${formatDuration(m.totalTimeNs)}` : ""}`,
  );
  if (m.sourceAfter)
    console.log(
      `  source after the failure: ${m.sourceAfter.status}${m.sourceAfter.wasPaused ? " (paused during the attempt)" : " (never paused)"}, guest ${m.sourceAfter.guestState}, ${m.sourceAfter.progressed ? "still making progress" : "not progressing"}`,
    );
  if (r.destination.phase)
    console.log(
      `  on ${r.to}: ${outcomeText(r.destination.phase.outcome)}, exits ${JSON.stringify(r.destination.phase.exits)}${hazardLine(r.destination.phase.hazards)}`,
    );
  console.log(`outcome: ${outcomeText(r.outcome)} (${r.detail})`);
}

/** A cell's text: the majority outcome with its count, then each minority with its count. */
export function cellText(r: MatrixRow): string {
  const n = r.seeds.length;
  const text = Object.entries(r.outcomes)
    .map(([k, v]) => `${outcomeText(k as RunOutcome)} ${v}/${n}`)
    .join(", ");
  // a cell where the hardware erratum fired must not read as a clean outcome
  const hit = r.seeds.filter((x) => x.hazards.lostWakeups > 0).length;
  const lost = r.seeds.reduce((a, x) => a + x.hazards.lostWakeups, 0);
  const withErratum = hit > 0 ? `${text} + erratum ${hit}/${n} (${lost} lost)` : text;
  return r.hazardMark ? `${withErratum} ${colour.yellow(HAZARD_MARK)}` : withErratum;
}

/** The table's mark of a cell whose clean outcome came with hazards. */
export const HAZARD_MARK = "⚠";

/** The command that replays one seed of one cell. */
export function replayCommand(r: MatrixRow, seed: number | string, extra = ""): string {
  const where = r.from === r.to ? `boot --host ${r.from}` : `migrate --from ${r.from} --to ${r.to}`;
  return `stopsim ${where} --design ${r.design} --seed ${seed}${extra ? ` ${extra}` : ""}`;
}

export function printMatrix(
  rows: MatrixRow[],
  o: { seeds?: readonly (number | string)[]; replay?: string } = {},
): void {
  const pairs = [...new Set(rows.map((r) => `${r.from} -> ${r.to}`))];
  const designs = [...new Set(rows.map((r) => r.design))];
  if (o.seeds) console.log(heading(`matrix over ${o.seeds.length} seeds (${formatSeeds(o.seeds)})`));
  console.log(
    table(
      ["from -> to", ...designs],
      pairs.map((p) => [
        p,
        ...designs.map((d) => {
          const r = rows.find((x) => x.design === d && `${x.from} -> ${x.to}` === p);
          return r ? cellText(r) : "";
        }),
      ]),
    ),
  );
  const marked = rows.filter((r) => r.hazardMark);
  if (marked.length > 0) {
    console.log(heading(`${HAZARD_MARK} hazards in runs with a clean outcome (seeds per hazard)`));
    for (const r of marked) {
      console.log(
        `  ${r.design}, ${r.from} -> ${r.to}: ${r.hazards.map((h) => `${h.kind} on ${h.seeds.join(", ")}`).join("; ")}`,
      );
    }
  }
  const split = rows.filter((r) => r.minority.length > 0);
  if (split.length === 0) return;
  console.log(heading("minority outcomes (replay a seed with the command shown)"));
  for (const r of split) {
    for (const m of r.minority) {
      console.log(
        `  ${r.design}, ${r.from} -> ${r.to}: ${outcomeText(m.outcome)} on seed${m.seeds.length > 1 ? "s" : ""} ${m.seeds.join(", ")}; e.g. ${replayCommand(r, m.seeds[0], o.replay)}`,
      );
    }
  }
}
