#!/usr/bin/env node
// The stopsim command line. Every command has --help; simulating commands take --seed, --trace
// and --json. Usage errors print one line and exit with code 2; Ctrl-C exits 130 after restoring
// the terminal; a closed output pipe ends the command quietly.
import { Command, CommanderError } from "commander";
import { registerBench } from "./commands/bench.js";
import { registerDemo } from "./commands/demo.js";
import { registerDtb } from "./commands/dtb.js";
import { registerFleet } from "./commands/fleet.js";
import { registerQemu } from "./commands/qemu.js";
import { registerReport } from "./commands/report.js";
import { registerSimulate } from "./commands/simulate.js";
import { registerWorker } from "./commands/worker.js";
import { UsageError } from "./errors.js";
import { printJson, table } from "./output.js";
import { DESIGNS, HOSTS } from "./presets.js";
import { loadScenario, type Scenario } from "./scenario.js";
import { EXIT_INTERRUPTED, guardPipes, Interrupted, isBrokenPipe, restoreTerminal } from "./terminal.js";
import { VERSION } from "./version.js";

function scenarioOf(opts: { scenario?: string }): Scenario | undefined {
  return opts.scenario ? loadScenario(opts.scenario) : undefined;
}

export function buildProgram(): Command {
  const program = new Command("stopsim")
    .description(
      "Simulate guest use of the POWER9 stop instruction across firmware, KVM, QEMU and the guest kernel",
    )
    .configureOutput({
      // commander's own errors become one line: "stopsim: unknown option '--bad' (see stopsim --help)"
      outputError: (str, write) =>
        write(`stopsim: ${str.trim().replace(/^error: /, "")} (see stopsim --help)\n`),
    })
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride();

  program
    .command("hosts")
    .description("list the host presets (and those of a scenario file)")
    .option("--scenario <file>", "YAML or JSON file with extra hosts and designs")
    .option("--json", "machine-readable output")
    .action((opts: { scenario?: string; json?: boolean }) => {
      const sc = scenarioOf(opts);
      const hosts = [...HOSTS, ...(sc?.hosts ?? [])];
      if (opts.json) return printJson({ hosts });
      console.log(
        table(
          ["host", "chip", "firmware", "kernel", "cores", "description"],
          hosts.map((h) => [
            h.name,
            h.chip,
            h.firmware,
            h.kernel,
            h.sockets * h.coresPerSocket,
            h.description,
          ]),
        ),
      );
    });

  program
    .command("designs")
    .description("list the designs compared (and those of a scenario file)")
    .option("--scenario <file>", "YAML or JSON file with extra hosts and designs")
    .option("--json", "machine-readable output")
    .action((opts: { scenario?: string; json?: boolean }) => {
      const sc = scenarioOf(opts);
      const designs = [...DESIGNS, ...(sc?.designs ?? [])];
      if (opts.json) return printJson({ designs });
      console.log(
        table(
          ["design", "host KVM", "QEMU", "machine", "guest stop0lite", "description"],
          designs.map((d) => [
            d.name,
            d.hostKvm,
            [d.qemu.stopLiteCap ? "cap-stop-lite" : "", d.qemu.probeKvmCapStop ? "probes KVM_CAP_STOP" : ""]
              .filter(Boolean)
              .join(", ") || "-",
            d.machine,
            d.guest.stop0lite,
            d.description,
          ]),
        ),
      );
    });

  registerDtb(program);
  registerSimulate(program);
  registerFleet(program);
  registerBench(program);
  registerDemo(program);
  registerQemu(program);
  registerReport(program);
  registerWorker(program);
  return program;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      )
        return 0;
      return 2; // commander already printed its one-line error
    }
    if (e instanceof UsageError) {
      console.error(`stopsim: ${e.message}`);
      return 2;
    }
    if (e instanceof Interrupted) {
      restoreTerminal();
      console.error(`stopsim: ${e.message}`);
      return EXIT_INTERRUPTED;
    }
    if (isBrokenPipe(e)) return 0; // the reader went away: nothing more to say
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    console.error(`stopsim: internal error: ${msg}`);
    return 1;
  }
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop() ?? "");
if (isMain) {
  guardPipes();
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
