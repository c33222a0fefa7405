// `stopsim demo`: a narrated tour of the story (DOMAIN.md section 1) with outcomes from real runs,
// ending with the matrix. Every outcome printed here is what the layers did in that run.
import { formatDuration, NS_PER_MS } from "@stopsim/engine";
import type { Command } from "commander";
import { runMatrix } from "../matrix.js";
import { runMigrate } from "../migrate.js";
import { colour, heading } from "../output.js";
import { runBoot } from "../scenarios.js";
import { parseSeed } from "./args.js";
import { outcomeText, printMatrix } from "./simulate.js";

function say(text: string): void {
  console.log(colour.dim(text));
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("a narrated tour of guest stop on POWER9 KVM, with real runs, ending with the matrix")
    .option("--seed <n>", "root seed", "1")
    .action((o: { seed: string }) => {
      const seed = parseSeed(o.seed);
      const opts = { seed, durationNs: 20 * NS_PER_MS };
      const t0 = performance.now();
      console.log(heading("stopsim: letting a KVM guest run the POWER9 stop instruction\n"));
      say("POWER ISA v3.0 lets a guest kernel execute `stop`. With PSSCR[ESL]=PSSCR[EC]=0 the thread");
      say("just pauses (stop0lite); with either bit set, `stop` traps to the hypervisor (H_FAC_UNAVAIL).");
      say("Only the hypervisor writes those bits. Each step below boots firmware, host kernel, QEMU and");
      say("the guest kernel, and idles the guest for 20 ms of simulated time.\n");

      const step = (
        title: string,
        text: string[],
        run: () => { outcome: Parameters<typeof outcomeText>[0]; facts: string },
      ) => {
        console.log(heading(title));
        for (const t of text) say(t);
        const r = run();
        console.log(`  -> ${outcomeText(r.outcome)}: ${r.facts}\n`);
      };
      const boot = (host: string, design: string, extra = "") => {
        const r = runBoot(host, design, { ...opts, machineExtra: extra });
        const stop = r.guest.idleStates.stop0lite;
        const facts =
          r.outcome === "failed-start"
            ? (r.qemu.error ?? "").split("\n").join(" / ")
            : r.outcome === "crashed"
              ? r.guest.consoleTail.filter((l) => /Oops|panic|NIP \[/.test(l)).join(" / ")
              : `stop0lite used ${stop?.usage ?? 0}x, H_FAC_UNAVAIL exits ${r.exits.H_FAC_UNAVAIL ?? 0} (${r.emulatedStops} stop wake-ups emulated by KVM)`;
        return { outcome: r.outcome, facts };
      };
      step(
        "1. A 2020 host: KVM enters guests with ESL|EC set and cannot emulate stop",
        ["A guest kernel with the RFC's stop0lite state, on a DD2.2 host running the 2020 kernel:"],
        () => boot("dd2.2-old", "rfc-as-posted"),
      );
      step(
        "2. Patch 1: KVM emulates the wake-up (PC+4) when a guest stop traps",
        [
          "emulate-fallback on a DD2.2 host (new firmware, no idle-stop-guest): every stop traps and is emulated.",
        ],
        () => boot("dd2.2", "emulate-fallback"),
      );
      step(
        "3. DD2.3 with firmware that publishes idle-stop-guest: KVM clears ESL|EC",
        [
          "The same design on DD2.3: the stop runs natively, with no stop exit (any H_FAC_UNAVAIL left is a msgsndp doorbell).",
        ],
        () => boot("dd2.3", "emulate-fallback"),
      );
      step(
        "4. The host-probed design (Nack'd): guest features depend on the host it booted on",
        ["A guest boots on DD2.3 (told it may use stop), then migrates live to a 2020 DD2.2 host:"],
        () => {
          const m = runMigrate("dd2.3", "dd2.2-old", "host-probed", opts);
          return { outcome: m.outcome, facts: m.detail };
        },
      );
      step(
        "5. The agreed design: spapr capability cap-stop-lite, on by default in pseries-5.1",
        ["The same migration with the capability design: the destination cannot provide the capability."],
        () => {
          const m = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", opts);
          const after = m.migration.sourceAfter;
          return {
            outcome: m.outcome,
            facts: `${m.migration.errorDesc ?? m.detail}; source guest ${after?.guestState ?? "?"} (${after?.progressed ? "still making progress" : "not progressing"})`,
          };
        },
      );
      step("6. New machine type on an old host kernel", ["pseries-5.1 on a 2020 DD2.2 host:"], () =>
        boot("dd2.2-old", "spapr-cap"),
      );
      step("   ...and with the fix QEMU suggests", ["-machine pseries-5.1,cap-stop-lite=off:"], () =>
        boot("dd2.2-old", "spapr-cap", ",cap-stop-lite=off"),
      );
      console.log(heading("The matrix: every design x every ordered host pair (from = to: no migration)"));
      const rows = runMatrix({ seed, durationNs: 10 * NS_PER_MS });
      printMatrix(rows);
      say(
        `\n${rows.length} full-stack runs; wall time ${formatDuration((performance.now() - t0) * 1e6)}. Try: stopsim matrix --json, stopsim migrate --help`,
      );
    });
}
