// Long runs in bounded memory: traces stream to their file as the run goes, Ctrl-C ends a run with
// the figures so far and a complete trace, and slicing a run does not change it.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { setAtomicFsForTest } from "./atomic.js";
import { TimelineBuilder } from "./report.js";
import { bootSteps, drain, runBoot } from "./scenarios.js";
import { runCli } from "./test-helpers/run-cli.js";
import { checkTraceFile } from "./trace-file.js";

const tmp = () => mkdtempSync(join(tmpdir(), "stopsim-stream-"));
const appDir = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Starts the CLI and sends SIGINT once `ready` holds (stderr matches, or a check of the files
 * passes), plus `graceMs`; resolves with its exit code and output.
 */
function interruptWhen(args: string[], ready: RegExp | (() => boolean), graceMs = 0) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], { cwd: appDir });
    let out = "";
    let err = "";
    let sent = false;
    const poll = setInterval(() => {
      if (!sent && (typeof ready === "function" ? ready() : ready.test(err))) {
        sent = true;
        setTimeout(() => p.kill("SIGINT"), graceMs);
      }
    }, 50);
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.stderr.on("data", (d) => {
      err += d;
    });
    p.on("exit", (code) => {
      clearInterval(poll);
      resolve({ code, out, err });
    });
  });
}

/** True once the run has created its trace's temporary file (it is running, Ctrl-C is handled). */
const tracing = (dir: string) => () => readdirSync(dir).some((f) => f.endsWith(".tmp"));

describe("streamed traces", () => {
  it("idle --trace writes the trace in chunks as the run goes, and every event parses", async () => {
    const dir = tmp();
    const file = join(dir, "t.json");
    const sizes: number[] = [];
    const restore = setAtomicFsForTest({
      writeSync: (fd, data) => {
        sizes.push(data.length);
        return typeof data === "string" ? writeSync(fd, data) : writeSync(fd, data);
      },
    });
    let r: Awaited<ReturnType<typeof runCli>>;
    try {
      r = await runCli([
        "idle",
        "--host",
        "dd2.3",
        "--design",
        "spapr-cap",
        "--duration",
        "200ms",
        "--trace",
        file,
      ]);
    } finally {
      restore();
    }
    expect(r.code, r.err).toBe(0);
    // the whole trace is ~7 MB: written as ~1 MiB chunks, never as one string
    expect(sizes.length).toBeGreaterThan(4);
    expect(Math.max(...sizes)).toBeLessThan(1.1 * 2 ** 20);
    const check = await checkTraceFile(file);
    expect(check.events).toBeGreaterThan(30_000);
    expect(r.err).toContain(`${check.events.toLocaleString("en")} events`);
    expect(check.otherData.command).toBe("idle dd2.3 spapr-cap");
    expect(readdirSync(dir)).toEqual(["t.json"]);
  });

  it("a run driven in slices gives the same report as one run", () => {
    const a = runBoot("dd2.2", "emulate-fallback", { seed: 3, durationNs: 20e6 });
    const b = drain(bootSteps("dd2.2", "emulate-fallback", { seed: 3, durationNs: 20e6 }, { sliceNs: 1e6 }));
    expect(b).toEqual(a);
  });
});

describe("Ctrl-C", () => {
  it("qemu without --duration: Ctrl-C ends the run, the trace is complete (exit 0)", async () => {
    const dir = tmp();
    const file = join(dir, "q.json");
    const r = await interruptWhen(
      ["qemu", "--host", "dd2.3", "--trace", file, "--", "-M", "pseries-5.1", "-smp", "4"],
      /\[1 s\]/,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toMatch(/\n\s+at |out of memory|internal error/);
    expect(r.out).toMatch(/ran \d/);
    const check = await checkTraceFile(file);
    expect(check.events).toBeGreaterThan(1000);
    expect(readdirSync(dir)).toEqual(["q.json"]);
  });

  it("idle: Ctrl-C reports the figures so far, keeps the trace, exits 130", async () => {
    const dir = tmp();
    const file = join(dir, "t.json");
    const r = await interruptWhen(
      ["idle", "--host", "dd2.3", "--design", "spapr-cap", "--duration", "60s", "--trace", file],
      tracing(dir),
      2000,
    );
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/stopsim: interrupted: the figures cover the first [\d.]+ (ms|s) of 60 s/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.out).toMatch(/guest idle state/);
    await checkTraceFile(file);
    expect(readdirSync(dir)).toEqual(["t.json"]);
  });

  it("fleet: Ctrl-C reports the figures so far and exits 130", async () => {
    const dir = tmp();
    // the probes run first; the trace's file appears as the fleet's own run starts: interrupt it then
    const r = await interruptWhen(
      [
        ...["fleet", "--hosts", "2000", "--vms", "20000", "--duration", "30d", "--probe-seeds", "1"],
        ...["--trace", join(dir, "f.json")],
      ],
      tracing(dir),
      0,
    );
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/interrupted: the results cover the first [\d.]+ h of 720 h/);
    expect(r.out).toMatch(/VMs at the end/);
  });
});

describe("bounded report timeline", () => {
  it("keeps at most maxItems segments per vCPU and says where it was cut", () => {
    const b = new TimelineBuilder(0, 1e9, () => false, 100);
    const guest = { id: 0, process: "guest", thread: "CPU 0", pid: 1, tid: 1 };
    b.track(guest);
    for (let i = 0; i < 1000; i++) {
      const time = i * 1000;
      const name = i % 2 === 0 ? "cpu_idle" : "cpu_idle_exit";
      b.event({ track: 0, name, cat: "power", ph: "i", time, dur: 0, args: { state: "snooze" } }, guest);
    }
    const [v] = b.result();
    expect(v.segments.length).toBeLessThanOrEqual(101);
    expect(b.cutAtNs).toBe(100_000);
    expect(Math.max(...v.segments.map((s) => s.end))).toBeLessThanOrEqual(100_000);
  });
});
