// `stopsim qemu`, `stopsim bench` and `stopsim report` with 1 ms runs, one seed and the serial pool:
// QEMU's own arguments and outputs (help, dumpdtb, its errors as one line), the --json fields, the
// text reports, the benchmark tables with the thread's figures and intervals, Ctrl-C, and every
// refusal before the first run.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeDtb } from "@stopsim/devicetree";
import { formatDuration } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { BENCH_DEFAULT_SEEDS, intervalText } from "./commands/bench.js";
import { interruptAt, interruptWhen, plain, runCli } from "./test-helpers/run-cli.js";
import { checkTraceFile } from "./trace-file.js";

const tmp = () => mkdtempSync(join(tmpdir(), "stopsim-cli-run-"));

describe("stopsim qemu", () => {
  const Q = ["qemu", "--host", "dd2.3", "--duration", "1ms"];

  it("without QEMU arguments: the design's machine, POWER9, 2 vCPUs, 1G; the --json report", async () => {
    const r = await runCli([...Q, "--json"]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.host).toBe("dd2.3");
    expect(j.design).toBe("spapr-cap");
    expect(j.args).toEqual(["-M", "pseries-5.1", "-cpu", "POWER9", "-smp", "2", "-m", "1G", "-nographic"]);
    expect(j.simulatedNs).toBe(1e6);
    expect(j.status).toBe("running");
    expect(j.guest.state).toBe("running");
    expect(Object.keys(j.guest.idleStates)).toEqual(["snooze", "stop0lite", "Shared Cede"]);
    expect(j.outcome).toBe("not-used");
    expect(j.emulatedStops).toBe(0);
    expect(j.exits.SYSCALL).toBeGreaterThan(0);
    expect(j.console.length).toBeGreaterThan(0);
    expect(j.console.length).toBeLessThanOrEqual(10);
    const old = JSON.parse(
      (
        await runCli([
          "qemu",
          "--host",
          "dd2.2-old",
          "--design",
          "upstream-2020",
          "--duration",
          "1ms",
          "--json",
        ])
      ).out,
    );
    expect(old.args.slice(0, 2)).toEqual(["-M", "pseries-5.0"]);
  });

  it("the text report: the command line, the run, its exits and idle states", async () => {
    const j = JSON.parse((await runCli([...Q, "--json", "--", "-M", "pseries-5.1", "-smp", "4"])).out);
    const r = await runCli([...Q, "--", "-M", "pseries-5.1", "-smp", "4"]);
    const out = plain(r.out);
    const idle = Object.entries(j.guest.idleStates as Record<string, { usage: number; timeNs: number }>)
      .map(([k, v]) => `${k} ${v.usage}x/${formatDuration(v.timeNs)}`)
      .join(", ");
    expect(out).toBe(
      [
        "qemu-system-ppc64 -M pseries-5.1 -smp 4 on dd2.3 (spapr-cap)",
        "ran 1 ms; QEMU status running; guest running: not-used",
        `exits: ${JSON.stringify(j.exits)}; stop wake-ups emulated: 0`,
        `idle: ${idle}`,
        "",
      ].join("\n"),
    );
  });

  it("the text report's idle line: each state's usage and time", async () => {
    const j = JSON.parse((await runCli([...Q, "--json"])).out);
    expect(j.guest.idleStates.snooze.usage).toBeGreaterThan(0);
    const out = plain((await runCli(Q)).out);
    const idle = Object.entries(j.guest.idleStates as Record<string, { usage: number; timeNs: number }>)
      .map(([k, v]) => `${k} ${v.usage}x/${formatDuration(v.timeNs)}`)
      .join(", ");
    expect(out.endsWith(`\nidle: ${idle}\n`)).toBe(true);
    expect(idle).toMatch(/^snooze \d+x\/\d+ us, stop0lite 0x\/0 ns, Shared Cede 0x\/0 ns$/);
  });

  it("a guest that panics: the console's last lines after the report", async () => {
    const args = ["qemu", "--host", "dd2.2-old", "--design", "rfc-as-posted", "--duration", "50ms"];
    const j = JSON.parse((await runCli([...args, "--json"])).out);
    expect(j.guest.state).toBe("panicked");
    expect(j.outcome).toBe("crashed");
    // --json: the console's last ten lines; the text report: its last eight after the report
    expect(j.console).toHaveLength(10);
    expect(j.console.some((l: string) => l.includes("Kernel panic - not syncing"))).toBe(true);
    const out = plain((await runCli(args)).out);
    expect(out).toContain("guest panicked: crashed\n");
    const lines = out.split("\n");
    expect(lines.at(-1)).toBe("");
    expect(lines.slice(-9, -1)).toEqual(j.console.slice(-8));
    expect(lines.at(-10)).toMatch(/^idle: /);
    // the run stopped at the end of the 10 ms slice in which the guest did, not after 50 ms
    expect(j.simulatedNs).toBe(10e6);
  });

  it("QEMU's help and dumpdtb as real QEMU gives them; its errors as one line", async () => {
    const help = await runCli([...Q, "--", "-M", "help"]);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Supported machines are:\npseries-4\.2 /);
    const dir = tmp();
    const file = join(dir, "g.dtb");
    const d = await runCli([...Q, "--", "-M", `pseries-5.1,dumpdtb=${file}`]);
    expect(d.code).toBe(0);
    expect(d.out).toBe("");
    const bytes = readFileSync(file);
    expect(d.err).toBe(`wrote ${bytes.length}-byte guest tree to ${file}\n`);
    expect(decodeDtb(new Uint8Array(bytes)).getNode("/cpus")).toBeTruthy();
    const e = await runCli([...Q, "--", "-M", "pseries-5.1,cap-foo=on"]);
    expect(e).toEqual({
      code: 2,
      out: "",
      err: "stopsim: qemu-system-ppc64: Property 'pseries-5.1-machine.cap-foo' not found\n",
    });
    // QEMU's refusal of cap-stop-lite on a host without guest stop, an error and its hint on two
    // lines, as one line
    const old = await runCli(["qemu", "--host", "dd2.2-old", "--duration", "1ms"]);
    expect(old).toEqual({
      code: 2,
      out: "",
      err: "stopsim: qemu-system-ppc64: Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop) / Try appending -machine cap-stop-lite=off\n",
    });
  });

  it("--trace: the run's trace with its seed and QEMU command line; none left when QEMU refuses", async () => {
    const dir = tmp();
    const file = join(dir, "q.json");
    const r = await runCli([...Q, "--seed", "4", "--trace", file, "--json"]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^trace written to /);
    const c = await checkTraceFile(file);
    expect(c.otherData).toEqual({
      generator: "stopsim",
      seed: "4",
      command: "qemu -M pseries-5.1 -cpu POWER9 -smp 2 -m 1G -nographic",
    });
    expect(c.events).toBeGreaterThan(0);
    const bad = join(dir, "bad.json");
    const e = await runCli([...Q, "--trace", bad, "--", "-M", "pseries-5.1,cap-foo=on"]);
    expect(e.code).toBe(2);
    expect(readdirSync(dir)).toEqual(["q.json"]);
  });

  it("--help: what it does, each option and its default", async () => {
    const h = (await runCli(["qemu", "--help"])).out.replace(/\s+/g, " ");
    for (const d of [
      "Usage: stopsim qemu [options] [qemuArgs...]",
      "start one guest the way qemu-system-ppc64 is started: stopsim qemu --host dd2.3 -- -M pseries-5.1 -smp 4",
      "qemuArgs qemu-system-ppc64 arguments (after --)",
      "--host <host> host preset the QEMU runs on",
      '--design <design> design of the host kernel, QEMU and guest kernel (default: "spapr-cap")',
      "--duration <time> simulated time to run (default: until interrupted with Ctrl-C)",
      '--seed <n> root seed (default: "1")',
      "--scenario <file> YAML or JSON file with extra hosts and designs",
      "--trace <file.json> write a Chrome/Perfetto trace of the run",
      "--json machine-readable output",
    ])
      expect(h).toContain(d);
  });

  it("--seed reaches the run: another seed, other event times in the trace", async () => {
    const dir = tmp();
    const times = async (seed: string) => {
      const file = join(dir, `s${seed}.json`);
      expect((await runCli([...Q, "--seed", seed, "--trace", file, "--json"])).code).toBe(0);
      const doc = JSON.parse(readFileSync(file, "utf8")) as { traceEvents: { ph: string; ts?: number }[] };
      return doc.traceEvents.filter((e) => e.ph !== "M").map((e) => e.ts);
    };
    const four = await times("4");
    expect(four.length).toBeGreaterThan(0);
    expect(await times("5")).not.toEqual(four);
    expect(await times("4")).toEqual(four);
  });

  it("--duration runs exactly that long in 10 ms slices, the last one shorter", async () => {
    const j = JSON.parse((await runCli(["qemu", "--host", "dd2.3", "--duration", "15ms", "--json"])).out);
    expect(j.simulatedNs).toBe(15e6);
  });

  it("without --duration: a line on stderr each simulated second with the guest's state and exits", async () => {
    // Ctrl-C once the first line is out: the run stops at that second, and its report's exits are the line's
    const r = await interruptWhen((err) => err.includes("] guest "), ["qemu", "--host", "dd2.3"]);
    expect(r.code, r.err).toBe(0);
    const out = plain(r.out);
    expect(out).toContain("\nran 1 s; QEMU status running; guest running: ");
    const exits = /\nexits: (\{[^\n]*\}); stop wake-ups emulated: /.exec(out)?.[1];
    expect(exits).toMatch(/"SYSCALL":\d+/);
    expect(plain(r.err)).toBe(
      `[1 s] guest running, exits ${exits}\n\nstopsim: interrupted; finishing the current step (Ctrl-C again to quit now)\n`,
    );
    // with --duration, no such line: the run ends by itself
    const timed = await runCli(["qemu", "--host", "dd2.3", "--duration", "1010ms"]);
    expect(timed.code).toBe(0);
    expect(timed.err).toBe("");
    expect(plain(timed.out)).toContain("\nran 1.01 s; ");
  }, 120_000);

  it("refuses a bad duration, seed, host, design, trace path or scenario before starting", async () => {
    const cases: [string[], RegExp][] = [
      [["qemu", "--host", "dd2.3", "--duration", "0"], /^stopsim: --duration must be positive/],
      [
        ["qemu", "--host", "dd2.3", "--duration", "365d"],
        /^stopsim: --duration 365d is above the maximum of /,
      ],
      [["qemu", "--host", "dd2.3", "--seed", "-1"], /^stopsim: --seed must be an unsigned integer/],
      [["qemu", "--host", "mars", "--duration", "1ms"], /^stopsim: unknown host 'mars'/],
      [["qemu", "--host", "dd2.3", "--design", "x", "--duration", "1ms"], /^stopsim: unknown design 'x'/],
      [["qemu", "--host", "dd2.3", "--trace", "/proc/stopsim-x/q.json"], /^stopsim: --trace /],
      [["qemu", "--host", "dd2.3", "--scenario", "/nonexistent.yaml"], /^stopsim: .*nonexistent\.yaml/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(re);
      expect(r.err.trim().split("\n")).toHaveLength(1);
    }
  });

  it("Ctrl-C ends a run without --duration normally (exit 0); with one, it is an interruption (exit 130)", async () => {
    const free = await interruptAt(1, ["qemu", "--host", "dd2.3", "--json"]);
    expect(free.code).toBe(0);
    expect(JSON.parse(free.out).status).toBe("running");
    const timed = await interruptAt(1, ["qemu", "--host", "dd2.3", "--duration", "10s"]);
    expect(timed.code).toBe(130);
    expect(plain(timed.out)).toMatch(/^qemu-system-ppc64 .* on dd2\.3 \(spapr-cap\)\nran /);
    expect(timed.err).toMatch(/\nstopsim: interrupted after [\d.]+ (us|ms) of the 10 s asked for\n$/);
  });
});

describe("stopsim bench", () => {
  it("intervalText: the median alone for one seed, else with its interval", () => {
    const f = (n: number) => `${n} ns`;
    expect(intervalText({ n: 1, median: 5, lo: 5, hi: 5, coverage: 0, level: 0.95 } as never, f)).toBe(
      "5 ns",
    );
    expect(intervalText({ n: 5, median: 5, lo: 4, hi: 7, coverage: 0.9375, level: 0.95 } as never, f)).toBe(
      "5 ns [4 ns-7 ns]",
    );
    expect(BENCH_DEFAULT_SEEDS).toBe(5);
  });

  it("--help: its defaults (seed 1, 60 samples, a 200 ms window) and what it measures", async () => {
    const h = (await runCli(["bench", "--help"])).out.replace(/\s+/g, " ");
    expect(h).toContain("Usage: stopsim bench [options] <what>");
    expect(h).toContain('wakeup, ebizzy or ctxsw (choices: "wakeup", "ebizzy", "ctxsw")');
    expect(h).toContain('--seed <n> root seed (alone: that one seed) (default: "1")');
    expect(h).toContain('--samples <n> wakeup samples per state, method and seed (default: "60")');
    expect(h).toContain(
      '--window <time> ebizzy and ctxsw: measured window of simulated time (default: "200ms")',
    );
    expect(h).toContain(`(default ${BENCH_DEFAULT_SEEDS})`);
    expect(h).toContain(
      "the thread's measurements on the full stack over several seeds: wakeup latency, ebizzy, context_switch2 per idle state",
    );
    expect(h).toContain(
      "--workers <n> worker processes (default: every core; 1 runs serially in this process)",
    );
    expect(h).toContain(
      "--queue <redis://host:port> run the jobs through this Redis server's queue (stopsim worker processes anywhere) instead of local worker processes",
    );
    expect(h).toContain("--json machine-readable output");
  });

  it("wakeup, one seed: a row per case with the thread's medians; --json without the raw samples", async () => {
    const args = ["bench", "wakeup", "--seed", "2", "--samples", "1", "--workers", "1"];
    const j = JSON.parse((await runCli([...args, "--json"])).out);
    expect(j.seeds).toEqual([2]);
    expect(j.samples).toBe(1);
    expect(j.samplesNs).toBeUndefined();
    expect(j.runs).toEqual({ done: 4, total: 4 });
    const text = await runCli(args);
    expect(text.code, text.err).toBe(0);
    const out = plain(text.out);
    expect(out).toMatch(
      /│ state\s*│ host\s*│ by timer: median \[interval\] │ thread\s*│ by IPI: median \[interval\] │ thread\s*│/,
    );
    for (const s of j.states)
      expect(out).toMatch(
        new RegExp(
          `│ ${s.state.replace(/[()]/g, "\\$&")}\\s*│ ${s.host}\\s*│ ${formatDuration(s.timer.median)}\\s*│ ${formatDuration(s.thread.timer)}\\s*│ ${formatDuration(s.ipi.median)}\\s*│ ${formatDuration(s.thread.ipi)}\\s*│`,
        ),
      );
    expect(out).toContain(
      "median of each seed's median of 1 wakeups, over 1 seeds (2); interval: order-statistics (distribution-free, binomial)\n",
    );
  }, 120_000);

  it("wakeup over two seeds: each median with its interval, the interval's coverage", async () => {
    const args = ["bench", "wakeup", "--seeds", "2", "--samples", "1", "--workers", "1"];
    const r = await runCli(args);
    expect(r.code, r.err).toBe(0);
    const out = plain(r.out);
    // two seeds: the interval is [min, max], whose coverage is 1 - 2 (1/2)^2 = 50%
    expect(out).toContain(
      "median of each seed's median of 1 wakeups, over 2 seeds (1,2); interval: order-statistics (distribution-free, binomial), coverage 50.0%\n",
    );
    expect(out).toMatch(/│ snooze\s*│ dd2\.3 │ [\d.]+ (ns|us) \[[\d.]+ (ns|us)-[\d.]+ (ns|us)\]\s*│/);
  }, 120_000);

  it("ctxsw over two seeds: medians with their intervals and coverage; no thread figure", async () => {
    const out = plain(
      (await runCli(["bench", "ctxsw", "--seeds", "2", "--window", "1ms", "--workers", "1"])).out,
    );
    expect(out).toMatch(/│ state\s*│ host\s*│ rate: median \[interval\]\s*│ thread │/);
    for (const [state, host] of [
      ["snooze", "dd2.3"],
      ["stop0lite", "dd2.3"],
      ["stop0lite \\(emulated\\)", "dd2.2"],
      ["Shared CEDE", "dd2.3"],
    ])
      expect(out).toMatch(
        new RegExp(`│ ${state}\\s*│ ${host} │ [\\d,]+ \\[[\\d,]+-[\\d,]+\\] context switches/s\\s*│ -\\s*│`),
      );
    // two seeds: the interval is [min, max], whose coverage is 1 - 2 (1/2)^2 = 50%
    expect(out).toContain(
      "median over seeds of each seed's rate in 1 ms, over 2 seeds (1,2); interval: order-statistics (distribution-free, binomial), coverage 50.0%\n",
    );
  }, 120_000);

  it("ebizzy, one seed: the thread's records/s beside snooze and stop0lite", async () => {
    const out = plain(
      (await runCli(["bench", "ebizzy", "--seed", "1", "--window", "1ms", "--workers", "1"])).out,
    );
    expect(out).toMatch(/│ snooze\s*│ dd2\.3 │ [\d,]+ records\/s\s*│ 1,379,032 records\/s │/);
    expect(out).toMatch(/│ stop0lite\s*│ dd2\.3 │ [\d,]+ records\/s\s*│ 1,561,906 records\/s │/);
    expect(out).toMatch(/│ Shared CEDE\s*│ dd2\.3 │ [\d,]+ records\/s\s*│ -\s*│/);
    expect(out).not.toContain("coverage");
  }, 120_000);

  it("refuses bad samples, windows, seeds and kinds before running", async () => {
    const cases: [string[], string][] = [
      [["bench", "wakeup", "--samples", "0"], "stopsim: --samples 0 is out of range: use 1 to "],
      [["bench", "ebizzy", "--window", "0"], "stopsim: --window must be positive, e.g. 50ms, got '0'"],
      [["bench", "ebizzy", "--window", "365d"], "stopsim: --window 365d is above the maximum of "],
      [
        ["bench", "ctxsw", "--workers", "x"],
        "stopsim: --workers must be a whole number from 1 to 256, got 'x'",
      ],
      [
        ["bench", "nothing"],
        "stopsim: command-argument value 'nothing' is invalid for argument 'what'. Allowed choices are wakeup, ebizzy, ctxsw.",
      ],
    ];
    for (const [args, start] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err.startsWith(start), r.err).toBe(true);
    }
  });

  it("Ctrl-C: the cases so far and how many runs finished, exit 130", async () => {
    const w = await interruptAt(1, ["bench", "wakeup", "--seeds", "2", "--samples", "1", "--workers", "1"]);
    expect(w.code).toBe(130);
    expect(w.err).toMatch(/\nstopsim: bench interrupted: \d of 8 runs finished\n$/);
    const r = await interruptAt(1, [
      "bench",
      "ctxsw",
      "--seeds",
      "2",
      "--window",
      "1ms",
      "--workers",
      "1",
      "--json",
    ]);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(/\nstopsim: bench interrupted: \d of 8 runs finished\n$/);
    expect(JSON.parse(r.out).interrupted).toBe(true);
  }, 120_000);
});
