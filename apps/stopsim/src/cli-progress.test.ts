// Progress bars on a TTY: each long command draws one on stderr (never with --json, never for a
// full-stack run under a second), and Ctrl-C leaves the terminal restored. Each run is interrupted
// as soon as it listens for Ctrl-C, so only the start of each command runs.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { interruptAt, interruptWhen, runCli } from "./test-helpers/run-cli.js";

let had: PropertyDescriptor | undefined;
beforeEach(() => {
  had = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
  Object.defineProperty(process.stderr, "isTTY", { value: true, configurable: true });
});
afterEach(() => {
  if (had) Object.defineProperty(process.stderr, "isTTY", had);
  else Reflect.deleteProperty(process.stderr, "isTTY");
});

const BOOT = ["--host", "dd2.3", "--design", "spapr-cap"];
const RESTORE = "\u001b[?7h\u001b[?25h";

describe("progress bars on a TTY", () => {
  it("boot and idle: a bar in simulated ms for runs of a second or more, none with --json or below a second", async () => {
    const idle = await interruptAt(1, ["idle", ...BOOT, "--duration", "1s"]);
    expect(idle.code).toBe(130);
    expect(idle.err).toContain("idle (simulated ms) [");
    expect(idle.err).toMatch(/\| \d+\/1000/);
    expect(idle.err).toContain(RESTORE);
    const boot = await interruptAt(1, ["boot", ...BOOT, "--duration", "2s"]);
    expect(boot.err).toContain("boot (simulated ms) [");
    expect(boot.err).toMatch(/\| \d+\/2000/);
    const short = await interruptAt(1, ["idle", ...BOOT, "--duration", "999ms"]);
    expect(short.err).not.toContain("(simulated ms)");
    const json = await interruptAt(1, ["idle", ...BOOT, "--duration", "1s", "--json"]);
    expect(json.err).not.toContain("(simulated ms)");
  });

  it("matrix: a bar of its runs, none with --json", async () => {
    const args = [
      "matrix",
      "--hosts",
      "dd2.3",
      "--designs",
      "spapr-cap,upstream-2020",
      "--seeds",
      "3",
      "--duration",
      "1ms",
      "--workers",
      "1",
    ];
    const r = await interruptAt(1, args);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(/matrix \[.*\] \d+% \| \d\/6/);
    const j = await interruptAt(1, [...args, "--json"]);
    expect(j.err).not.toContain("matrix [");
  });

  it("bench: a bar of its runs, none with --json", async () => {
    const args = ["bench", "ctxsw", "--seeds", "2", "--window", "1ms", "--workers", "1"];
    const r = await interruptAt(1, args);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(/bench ctxsw \[.*\] \d+% \| \d\/8/);
    const w = await interruptAt(1, ["bench", "wakeup", "--seeds", "3", "--samples", "1", "--workers", "1"]);
    expect(w.err).toMatch(/bench wakeup \[.*\] \d+% \| \d\/12/);
    const j = await interruptAt(1, [...args, "--json"]);
    expect(j.err).not.toContain("bench ctxsw [");
  });

  it("fleet: a bar of the probes once the first finished, then one of the fleet's run; none with --json", async () => {
    const args = [
      "fleet",
      "--hosts",
      "2",
      "--vms",
      "2",
      "--duration",
      "1h",
      "--probe-seeds",
      "1",
      "--workers",
      "1",
      "--mix",
      "dd2.3=1",
    ];
    const r = await interruptAt(2, args);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(/fleet probes \[.*\] \d+% \| \d+\/\d+/);
    expect(r.err).toMatch(/fleet \[.*\] \d+% \| \d+\/100/);
    const j = await interruptAt(2, [...args, "--json"]);
    expect(j.code).toBe(130);
    expect(j.err).not.toMatch(/fleet (probes )?\[/);
  }, 60_000);
});

describe("what the bars count", () => {
  const lastBar = (err: string, total: number) => {
    const all = [...err.matchAll(new RegExp(`\\| (\\d+)/${total}(?!\\d)`, "g"))];
    return Number(all.at(-1)?.[1]);
  };

  it("idle: simulated milliseconds of the run, the bar's value never past the time the figures cover", async () => {
    // Ctrl-C once the bar has moved: the figures cover at least what the bar showed
    const r = await interruptWhen(
      (err) => /\| [1-9]\d*\/1000/.test(err),
      ["idle", ...BOOT, "--duration", "1s"],
    );
    expect(r.code).toBe(130);
    const shown = lastBar(r.err, 1000);
    expect(shown).toBeGreaterThanOrEqual(10);
    expect(shown % 10).toBe(0); // 10 ms slices
    const covered = /the figures cover the first ([\d.]+) ms of 1 s\n$/.exec(r.err);
    expect(covered, r.err).not.toBeNull();
    expect(Number(covered?.[1])).toBeGreaterThanOrEqual(shown);
    expect(Number(covered?.[1])).toBeLessThan(1000);
  });

  it("matrix: runs finished, as the interruption's count of finished runs says", async () => {
    const args = [
      "matrix",
      "--hosts",
      "dd2.3",
      "--designs",
      "spapr-cap,upstream-2020",
      "--seeds",
      "3",
      "--duration",
      "40ms",
      "--workers",
      "1",
    ];
    // interrupted once the bar shows 1 to 4 runs done: the SIGINT is handled after the run in
    // progress, and at most the 5th finishes before the sweep looks at it (at 5/6 the last run
    // would finish first, the sweep would end whole and the signal reach whatever runs next)
    const r = await interruptWhen((err) => /matrix \[.*\| [1-4]\/6/.test(err), args);
    expect(r.code).toBe(130);
    const shown = lastBar(r.err, 6);
    const done = /matrix interrupted: (\d) of 6 runs finished/.exec(r.err);
    expect(Number(done?.[1])).toBeGreaterThanOrEqual(shown);
    expect(shown).toBeGreaterThan(0);
  });

  it("fleet: the probes' jobs, then percent of the fleet's simulated time, each bar full at the end", async () => {
    const r = await runCli([
      "fleet",
      "--hosts",
      "2",
      "--vms",
      "2",
      "--duration",
      "1h",
      "--probe-seeds",
      "2",
      "--workers",
      "1",
      "--mix",
      "dd2.3=1",
    ]);
    expect(r.code, r.err).toBe(0);
    // one boot case over two probe seeds: two jobs
    expect(r.err).toMatch(/fleet probes \[█+\] 100% \| 2\/2/);
    // one bar for the probes, drawn from 0 once the first job finished
    expect(r.err.match(/fleet probes \[[^\]]*\] 0% \| 0\/2/g)).toHaveLength(1);
    expect(r.err).toMatch(/fleet \[█+\] 100% \| 100\/100/);
    const m = await runCli([
      "matrix",
      "--hosts",
      "dd2.3",
      "--designs",
      "spapr-cap",
      "--seeds",
      "2",
      "--duration",
      "1ms",
      "--workers",
      "1",
    ]);
    expect(m.err).toMatch(/matrix \[█+\] 100% \| 2\/2/);
  }, 60_000);
});
