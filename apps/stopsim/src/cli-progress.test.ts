// Progress bars on a TTY: each long command draws one on stderr (never with --json, never for a
// full-stack run under a second), and Ctrl-C leaves the terminal restored. Each run is interrupted
// as soon as it listens for Ctrl-C, so only the start of each command runs.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { interruptAt } from "./test-helpers/run-cli.js";

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
