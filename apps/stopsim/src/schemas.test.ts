// Every command's --json output matches its exported zod schema (strict: no undocumented field).
import { describe, expect, it } from "vitest";
import { JSON_SCHEMAS, type JsonCommand } from "./schemas.js";
import { runCli } from "./test-helpers/run-cli.js";

const RUNS: Record<JsonCommand, string[]> = {
  hosts: ["hosts"],
  designs: ["designs"],
  boot: ["boot", "--host", "dd2.3", "--design", "spapr-cap", "--duration", "2ms"],
  idle: ["idle", "--host", "dd2.2", "--design", "emulate-fallback", "--duration", "2ms"],
  migrate: ["migrate", "--from", "dd2.3", "--to", "dd2.2-old", "--design", "spapr-cap", "--duration", "2ms"],
  matrix: ["matrix", "--duration", "1ms", "--seeds", "2", "--designs", "spapr-cap", "--hosts", "dd2.2,dd2.3"],
  "bench wakeup": ["bench", "wakeup", "--samples", "2", "--seeds", "2"],
  "bench ebizzy": ["bench", "ebizzy", "--window", "5ms", "--seeds", "2"],
  "bench ctxsw": ["bench", "ctxsw", "--window", "5ms", "--seeds", "2"],
  fleet: ["fleet", "--hosts", "4", "--vms", "8", "--duration", "1h", "--probe-seeds", "2"],
  "fleet --seeds": [
    "fleet",
    "--hosts",
    "4",
    "--vms",
    "8",
    "--duration",
    "1h",
    "--seeds",
    "2",
    "--probe-seeds",
    "2",
  ],
  qemu: ["qemu", "--host", "dd2.3", "--duration", "2ms", "--json", "--", "-M", "pseries-5.1", "-smp", "4"],
};

describe("--json schemas", () => {
  for (const [command, args] of Object.entries(RUNS) as [JsonCommand, string[]][]) {
    it(`${command} --json matches its schema`, async () => {
      const r = await runCli(args.includes("--json") ? args : [...args, "--json"]);
      expect(r.code, r.err).toBe(0);
      const parsed = JSON_SCHEMAS[command].safeParse(JSON.parse(r.out));
      expect(parsed.success ? "ok" : JSON.stringify(parsed.error.issues.slice(0, 3))).toBe("ok");
    });
  }

  it("rejects an output with an undocumented field", () => {
    expect(JSON_SCHEMAS.matrix.safeParse({ rows: [], extra: 1 }).success).toBe(false);
  });
});
