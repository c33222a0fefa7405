// `stopsim demo` and `stopsim report` around their runs: the demo's steps (which host, design and
// machine options each boots or migrates, for how long, DOMAIN.md section 1's story) and the facts
// it prints from each run's report; the report's options as they reach buildReportData, the file it
// writes and what it says. The full-stack runs are replaced by recording doubles here (the demo's
// real runs take a minute; report.browser.test.ts renders a real report).
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { REPORT_DEFAULT_SEEDS } from "./commands/report.js";
import type { ReportOptions } from "./report.js";
import { plain, runCli } from "./test-helpers/run-cli.js";
import { VERSION } from "./version.js";

const calls = vi.hoisted(() => ({ log: [] as string[], report: [] as unknown[] }));

// biome-ignore lint/suspicious/noExplicitAny: report doubles
type Any = any;

/** A boot report with what the demo reads, by outcome. */
function bootReport(host: string, design: string, extra: string): Any {
  const outcome =
    extra === "" && design === "spapr-cap" && host === "dd2.2-old"
      ? "failed-start"
      : design === "rfc-as-posted"
        ? "crashed"
        : host === "dd2.2"
          ? "emulated"
          : "native";
  return {
    outcome,
    qemu: { error: "qemu-system-ppc64: no stop here\nTry appending -machine cap-stop-lite=off" },
    guest: {
      idleStates:
        outcome === "native"
          ? { stop0lite: { usage: 12 } }
          : outcome === "emulated"
            ? { stop0lite: { usage: 7 } }
            : {},
      consoleTail: [
        "[ 0.1] booting",
        "[ 0.2] Oops: Exception in kernel mode",
        "[ 0.2] NIP [c0000000] stop_loop",
        "[ 0.3] Kernel panic - not syncing: Fatal exception",
        "[ 0.3] ---[ end ]---",
      ],
    },
    exits: outcome === "emulated" ? { H_FAC_UNAVAIL: 7 } : {},
    emulatedStops: outcome === "emulated" ? 7 : 0,
  };
}

vi.mock("./scenarios.js", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  runBoot: (
    host: string,
    design: string,
    o: { seed: unknown; durationNs: number; machineExtra?: string },
  ) => {
    calls.log.push(`boot ${host} ${design} "${o.machineExtra ?? ""}" seed ${o.seed} ${o.durationNs}`);
    return bootReport(host, design, o.machineExtra ?? "");
  },
}));
vi.mock("./migrate.js", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  runMigrate: (from: string, to: string, design: string, o: { seed: unknown; durationNs: number }) => {
    calls.log.push(`migrate ${from} ${to} ${design} seed ${o.seed} ${o.durationNs}`);
    return design === "host-probed"
      ? { outcome: "crashed", detail: "native on dd2.3, crashed on dd2.2-old", migration: {} }
      : {
          outcome: "refused",
          detail: "refused in prepare",
          migration: {
            errorDesc:
              design === "spapr-cap" ? "cap-stop-lite higher level (1) in incoming stream" : undefined,
            sourceAfter: { guestState: "running", progressed: design === "spapr-cap" },
          },
        };
  },
}));
vi.mock("./matrix.js", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  runMatrix: (o: { seed: unknown; durationNs: number }) => {
    calls.log.push(`matrix seed ${o.seed} ${o.durationNs}`);
    return [
      {
        design: "spapr-cap",
        from: "dd2.3",
        to: "dd2.3",
        outcome: "native",
        detail: "",
        outcomes: { native: 1 },
        minority: [],
        seeds: [{ hazards: { lostWakeups: 0 } }],
        hazards: [],
        hazardMark: false,
      },
    ];
  },
}));
vi.mock("./report.js", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  buildReportData: async (o: ReportOptions) => {
    calls.report.push({ ...o, onProgress: typeof o.onProgress });
    o.onProgress?.("matrix");
    return { made: "from runs" };
  },
}));
vi.mock("@stopsim/report", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  renderReport: (data: unknown) => `<html>${JSON.stringify(data)}${"x".repeat(3000)}</html>`,
}));

afterEach(() => {
  calls.log.length = 0;
  calls.report.length = 0;
});

describe("stopsim demo", () => {
  it("tells the story in its steps, each from a run of 20 ms at the seed, then the matrix at 10 ms", async () => {
    const r = await runCli(["demo", "--seed", "9"]);
    expect(r.code, r.err).toBe(0);
    expect(calls.log).toEqual([
      'boot dd2.2-old rfc-as-posted "" seed 9 20000000',
      'boot dd2.2 emulate-fallback "" seed 9 20000000',
      'boot dd2.3 emulate-fallback "" seed 9 20000000',
      "migrate dd2.3 dd2.2-old host-probed seed 9 20000000",
      "migrate dd2.3 dd2.2-old spapr-cap seed 9 20000000",
      'boot dd2.2-old spapr-cap "" seed 9 20000000',
      'boot dd2.2-old spapr-cap ",cap-stop-lite=off" seed 9 20000000',
      "matrix seed 9 10000000",
    ]);
    const out = plain(r.out);
    const steps = out.split("\n").filter((l) => /^ {2}-> /.test(l));
    expect(steps).toEqual([
      "  -> crashed: [ 0.2] Oops: Exception in kernel mode / [ 0.2] NIP [c0000000] stop_loop / [ 0.3] Kernel panic - not syncing: Fatal exception",
      "  -> emulated: stop0lite used 7x, H_FAC_UNAVAIL exits 7 (7 stop wake-ups emulated by KVM)",
      "  -> native: stop0lite used 12x, H_FAC_UNAVAIL exits 0 (0 stop wake-ups emulated by KVM)",
      "  -> crashed: native on dd2.3, crashed on dd2.2-old",
      "  -> refused: cap-stop-lite higher level (1) in incoming stream; source guest running (still making progress)",
      "  -> failed-start: qemu-system-ppc64: no stop here / Try appending -machine cap-stop-lite=off",
      "  -> native: stop0lite used 12x, H_FAC_UNAVAIL exits 0 (0 stop wake-ups emulated by KVM)",
    ]);
    for (const heading of [
      "stopsim: letting a KVM guest run the POWER9 stop instruction",
      "1. A 2020 host: KVM enters guests with ESL|EC set and cannot emulate stop",
      "2. Patch 1: KVM emulates the wake-up (PC+4) when a guest stop traps",
      "3. DD2.3 with firmware that publishes idle-stop-guest: KVM clears ESL|EC",
      "4. The host-probed design (Nack'd): guest features depend on the host it booted on",
      "5. The agreed design: spapr capability cap-stop-lite, on by default in pseries-5.1",
      "6. New machine type on an old host kernel",
      "   ...and with the fix QEMU suggests",
      "The matrix: every design x every ordered host pair (from = to: no migration)",
    ])
      expect(out).toContain(`${heading}\n`);
    expect(out).toMatch(/│ dd2\.3 -> dd2\.3 │ native 1\/1 │/);
    expect(out).toMatch(
      /\n1 full-stack runs; wall time [\d.]+ (ns|us|ms|s)\. Try: stopsim matrix --json, stopsim migrate --help\n$/,
    );
    // the default seed is 1
    calls.log.length = 0;
    await runCli(["demo"]);
    expect(calls.log.at(-1)).toBe("matrix seed 1 10000000");
    expect((await runCli(["demo", "--seed", "x"])).code).toBe(2);
  });
});

describe("stopsim report", () => {
  it("passes its defaults and options to the report's runs, writes the page and says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stopsim-report-cli-"));
    const out = join(dir, "r.html");
    const r = await runCli(["report", "-o", out, "--workers", "1"]);
    expect(r.code, r.err).toBe(0);
    expect(calls.report).toEqual([
      {
        seed: 1,
        seeds: [1, 2, 3, 4, 5],
        workers: 1,
        host: "dd2.2",
        design: "spapr-cap",
        timelineNs: 2e6,
        fleetHosts: 100,
        fleetVms: 1000,
        fleetDurationNs: 24 * 3600e9,
        wakeupSamples: 60,
        version: VERSION,
        command: "stopsim report --seed 1 --seeds 1..5 --host dd2.2 --design spapr-cap",
        onProgress: "function",
      },
    ]);
    const html = readFileSync(out, "utf8");
    expect(html.startsWith('<html>{"made":"from runs"}')).toBe(true);
    expect(readdirSync(dir)).toEqual(["r.html"]);
    // off a TTY the progress lines stay out of the way
    expect(r.err).toBe(`wrote ${out} (${(html.length / 1024).toFixed(0)} KiB)\n`);
    const opts = [
      ...[
        "report",
        "-o",
        out,
        "--seed",
        "7",
        "--seeds",
        "2",
        "--host",
        "dd2.3",
        "--design",
        "emulate-fallback",
      ],
      ...[
        "--timeline",
        "1ms",
        "--samples",
        "3",
        "--fleet-hosts",
        "4",
        "--fleet-vms",
        "8",
        "--fleet-duration",
        "1h",
      ],
      "--workers",
      "2",
    ];
    const o = await runCli(opts);
    expect(o.code, o.err).toBe(0);
    expect(calls.report[1]).toMatchObject({
      seed: 7,
      seeds: [7, 8],
      workers: 2,
      host: "dd2.3",
      design: "emulate-fallback",
      timelineNs: 1e6,
      fleetHosts: 4,
      fleetVms: 8,
      fleetDurationNs: 3600e9,
      wakeupSamples: 3,
      command: "stopsim report --seed 7 --seeds 7,8 --host dd2.3 --design emulate-fallback",
    });
  });

  it("on a TTY, says which part it is making", async () => {
    const had = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
    Object.defineProperty(process.stderr, "isTTY", { value: true, configurable: true });
    try {
      const dir = mkdtempSync(join(tmpdir(), "stopsim-report-cli-"));
      const r = await runCli(["report", "-o", join(dir, "r.html"), "--workers", "1"]);
      expect(r.err.startsWith("report: matrix...\n")).toBe(true);
    } finally {
      if (had) Object.defineProperty(process.stderr, "isTTY", had);
      else Reflect.deleteProperty(process.stderr, "isTTY");
    }
  });
});

describe("stopsim report: help and refusals", () => {
  it("--help: its defaults", async () => {
    const h = (await runCli(["report", "--help"])).out.replace(/\s+/g, " ");
    for (const d of [
      '--host <host> host of the timeline run (default: "dd2.2")',
      '--design <design> design of the timeline and fleet runs (default: "spapr-cap")',
      '--timeline <time> timeline window after boot (default: "2ms")',
      '--fleet-duration <time> fleet simulated time (default: "24h")',
      `(default ${REPORT_DEFAULT_SEEDS})`,
    ])
      expect(h).toContain(d);
    expect(REPORT_DEFAULT_SEEDS).toBe(5);
  });

  it("refuses every bad option and an unwritable output before the first run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stopsim-report-cli-"));
    const out = join(dir, "r.html");
    const cases: [string[], string][] = [
      [["--host", "mars"], "stopsim: unknown host 'mars'"],
      [["--design", "x"], "stopsim: unknown design 'x'"],
      [["--seed", "x"], "stopsim: --seed must be an unsigned integer"],
      [["--workers", "0"], "stopsim: --workers 0 is out of range"],
      [["--timeline", "0"], "stopsim: --timeline must be positive"],
      [["--timeline", "365d"], "stopsim: --timeline 365d is above the maximum of "],
      [["--fleet-hosts", "1"], "stopsim: --fleet-hosts 1 is out of range: use 2 to "],
      [["--fleet-vms", "0"], "stopsim: --fleet-vms 0 is out of range: use 1 to "],
      [["--fleet-duration", "0"], "stopsim: --fleet-duration must be positive"],
      [["--fleet-duration", "3650d"], "stopsim: --fleet-duration 3650d is above the maximum of "],
      [["--samples", "0"], "stopsim: --samples 0 is out of range: use 1 to "],
    ];
    for (const [extra, start] of cases) {
      const r = await runCli(["report", "-o", out, ...extra]);
      expect(r.code, extra.join(" ")).toBe(2);
      expect(r.err.startsWith(start), r.err).toBe(true);
      expect(r.err.trim().split("\n")).toHaveLength(1);
    }
    const fleet = await runCli(["report", "-o", out, "--fleet-hosts", "2", "--fleet-vms", "1000000"]);
    expect(fleet.code).toBe(2);
    expect(fleet.err).toMatch(/--fleet-(vms|hosts)/);
    const unwritable = await runCli(["report", "-o", "/proc/stopsim-x/r.html"]);
    expect(unwritable.err).toMatch(/^stopsim: --out .*\/proc\/stopsim-x\/r\.html/);
    expect(readdirSync(dir)).toEqual([]);
    const missing = await runCli(["report"]);
    expect(missing.err).toBe(
      "stopsim: required option '-o, --out <file.html>' not specified (see stopsim --help)\n",
    );
  });
});
