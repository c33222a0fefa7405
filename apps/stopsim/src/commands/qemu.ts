// `stopsim qemu --host H [--design D] [--duration T] -- <qemu-system-ppc64 arguments>`: start one
// guest the way QEMU is started, run it for T (default: until interrupted), print what happened.
import { formatDuration, NS_PER_MS, Simulation } from "@stopsim/engine";
import { QemuError, Qemu as QemuMachine } from "@stopsim/qemu";
import type { Command } from "commander";
import { checkWritable, writeFileAtomic } from "../atomic.js";
import { UsageError } from "../errors.js";
import { colour, heading, printJson } from "../output.js";
import { findDesign, findHost } from "../presets.js";
import {
  classifyIdle,
  createDesignGuest,
  DEFAULT_GUEST,
  guestIdleStates,
  guestRunState,
  vmCounters,
} from "../run.js";
import { loadScenario } from "../scenario.js";
import { bootSimHost } from "../stack.js";
import { Interrupted, onInterrupt, yieldToEventLoop } from "../terminal.js";
import { TraceFile } from "../trace-file.js";
import { LIMITS, parseDurationOption, parseSeed } from "./args.js";
import { outcomeText, traceMeta } from "./simulate.js";

export function registerQemu(program: Command): void {
  program
    .command("qemu")
    .description(
      "start one guest the way qemu-system-ppc64 is started: stopsim qemu --host dd2.3 -- -M pseries-5.1 -smp 4",
    )
    .requiredOption("--host <host>", "host preset the QEMU runs on")
    .option("--design <design>", "design of the host kernel, QEMU and guest kernel", "spapr-cap")
    .option("--duration <time>", "simulated time to run (default: until interrupted with Ctrl-C)")
    .option("--seed <n>", "root seed", "1")
    .option("--scenario <file>", "YAML or JSON file with extra hosts and designs")
    .option("--trace <file.json>", "write a Chrome/Perfetto trace of the run")
    .option("--json", "machine-readable output")
    .argument("[qemuArgs...]", "qemu-system-ppc64 arguments (after --)")
    .action(
      async (
        qemuArgs: string[],
        o: {
          host: string;
          design: string;
          duration?: string;
          seed: string;
          scenario?: string;
          trace?: string;
          json?: boolean;
        },
      ) => {
        let durationNs: number | undefined;
        if (o.duration !== undefined)
          durationNs = parseDurationOption(o.duration, "--duration", LIMITS.fullStackDurationNs);
        const seed = parseSeed(o.seed);
        if (o.trace !== undefined) checkWritable(o.trace, "--trace");
        const sc = o.scenario ? loadScenario(o.scenario) : undefined;
        const preset = findHost(o.host, sc?.hosts);
        const design = findDesign(o.design, sc?.designs);
        const args = qemuArgs.length
          ? qemuArgs
          : ["-M", design.machine, "-cpu", "POWER9", "-smp", "2", "-m", "1G", "-nographic"];
        const sim = new Simulation({ seed });
        const trace =
          o.trace === undefined
            ? undefined
            : new TraceFile(o.trace, traceMeta(seed, `qemu ${args.join(" ")}`));
        try {
          if (trace) sim.trace.streamTo(trace.consumer);
          await runQemu();
        } finally {
          trace?.abort(); // a no-op once finished; drops the partial file on errors and early exits
        }
        async function runQemu(): Promise<void> {
          const h = bootSimHost(sim, preset, design);
          const kernel = createDesignGuest(sim, design, DEFAULT_GUEST);
          let q0: ReturnType<typeof QemuMachine.create>;
          try {
            q0 = QemuMachine.create({
              sim,
              host: { kvm: h.host.kvm, procDeviceTree: h.host.tree },
              build: design.qemu,
              image: kernel,
              commandLine: args,
              name: `qemu@${preset.name}`,
            });
          } catch (e) {
            // QEMU's own stderr, as one line
            if (e instanceof QemuError) throw new UsageError(e.message.split("\n").join(" / "));
            throw e;
          }
          if (q0.kind === "dumpdtb") {
            // like real QEMU: write the tree and exit
            writeFileAtomic(q0.file, q0.dtb);
            console.error(`wrote ${q0.dtb.length}-byte guest tree to ${q0.file}`);
            return;
          }
          if (q0.kind === "help") {
            console.log(q0.text);
            return;
          }
          const q = q0.qemu;
          let interrupted = false;
          const stopListening = onInterrupt(() => {
            interrupted = true;
          });
          const limit = durationNs ?? Number.POSITIVE_INFINITY;
          let nextReport = 1e9;
          while (sim.now < limit && !interrupted) {
            sim.runFor(Math.min(10 * NS_PER_MS, limit - sim.now));
            if (guestRunState(kernel, q) !== "running") break;
            if (durationNs === undefined && sim.now >= nextReport) {
              nextReport += 1e9;
              if (!o.json)
                console.error(
                  colour.dim(
                    `[${formatDuration(sim.now)}] guest ${kernel.state}, exits ${JSON.stringify(vmCounters(q).exits)}`,
                  ),
                );
            }
            await yieldToEventLoop(); // lets Ctrl-C stop the run between 10 ms slices
          }
          stopListening();

          const c = vmCounters(q);
          const idle = guestIdleStates(kernel);
          const state = guestRunState(kernel, q);
          const outcome = classifyIdle(state, idle.stop0lite?.usage ?? 0, c.emulatedStops);
          trace?.finish(); // what ran until the end or Ctrl-C
          if (o.json)
            printJson({
              host: preset.name,
              design: design.name,
              args,
              simulatedNs: sim.now,
              status: q.status,
              guest: { state, idleStates: idle },
              exits: c.exits,
              emulatedStops: c.emulatedStops,
              outcome,
              console: kernel.console.dmesg().slice(-10),
            });
          else printQemuRun();
          // without --duration, Ctrl-C is how the run ends; with one, it stopped the run early
          if (interrupted && durationNs !== undefined)
            throw new Interrupted(
              `interrupted after ${formatDuration(sim.now)} of the ${formatDuration(durationNs)} asked for`,
            );
          function printQemuRun(): void {
            console.log(heading(`qemu-system-ppc64 ${args.join(" ")} on ${preset.name} (${design.name})`));
            console.log(
              `ran ${formatDuration(sim.now)}; QEMU status ${q.status}; guest ${state}: ${outcomeText(outcome)}`,
            );
            console.log(`exits: ${JSON.stringify(c.exits)}; stop wake-ups emulated: ${c.emulatedStops}`);
            console.log(
              `idle: ${Object.entries(idle)
                .map(([k, v]) => `${k} ${v.usage}x/${formatDuration(v.timeNs)}`)
                .join(", ")}`,
            );
            if (state !== "running") console.log(kernel.console.dmesg().slice(-8).join("\n"));
          }
        }
      },
    );
}
