import { describe, expect, it } from "vitest";
import { runCli } from "./test-helpers/run-cli.js";

const run = runCli;

describe("stopsim CLI", () => {
  it("lists designs and hosts as JSON", async () => {
    const d = await run(["designs", "--json"]);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out).designs.map((x: { name: string }) => x.name)).toEqual([
      "upstream-2020",
      "rfc-as-posted",
      "host-probed",
      "emulate-fallback",
      "spapr-cap",
    ]);
    const h = await run(["hosts", "--json"]);
    expect(JSON.parse(h.out).hosts).toHaveLength(4);
  });

  it("gives one-line errors with exit code 2 for unknown commands and options", async () => {
    for (const args of [["bogus"], ["hosts", "--bad"], ["designs", "--scenario", "/nonexistent.yaml"]]) {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toMatch(/^stopsim: /);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });

  it("prints help for every command", async () => {
    for (const cmd of ["hosts", "designs"]) {
      const r = await run([cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: stopsim/);
    }
  });
});

describe("stopsim dtb", () => {
  it("writes the host tree and refuses bad chips, firmware and sizes with exit code 2", async () => {
    const { mkdtempSync, readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const { decodeDtb } = await import("@stopsim/devicetree");
    const dir = mkdtempSync(join(tmpdir(), "stopsim-dtb-"));
    const file = join(dir, "host.dtb");
    const ok = await run(["dtb", "host", "--chip", "dd2.3", "--firmware", "new", "-o", file]);
    expect(ok.code).toBe(0);
    const tree = decodeDtb(new Uint8Array(readFileSync(file)));
    expect(tree.getNode("/cpus/ibm,powerpc-cpu-features/idle-stop-guest")).toBeTruthy();
    const dd22 = await run(["dtb", "host", "--chip", "dd2.2", "--firmware", "new", "--dts"]);
    expect(dd22.code).toBe(0);
    expect(dd22.out).toMatch(/ibm,powerpc-cpu-features/);
    expect(dd22.out).not.toMatch(/idle-stop-guest \{/);
    for (const args of [
      ["dtb", "host", "--chip", "dd3", "--dts"],
      ["dtb", "host", "--firmware", "bogus", "--dts"],
      ["dtb", "host", "--cores", "0", "--dts"],
      ["dtb", "host"],
    ]) {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe("bad input on simulating commands", () => {
  it("unknown host, design, option, workload, duration, topology and a malformed scenario: one line, exit 2", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "stopsim-bad-"));
    const badScenario = join(dir, "bad.yaml");
    writeFileSync(badScenario, "hosts:\n  - name: lab\n    chip: dd9.9\n    firmware: new\n");
    const cases: [string[], RegExp][] = [
      [["boot", "--host", "nope", "--design", "spapr-cap"], /unknown host 'nope'/],
      [["boot", "--host", "dd2.3", "--design", "nope"], /unknown design 'nope'/],
      [["boot", "--host", "dd2.3", "--design", "spapr-cap", "--frobnicate"], /unknown option '--frobnicate'/],
      [["idle", "--host", "dd2.3", "--design", "spapr-cap", "--workload", "bitcoin"], /bitcoin/],
      [["idle", "--host", "dd2.3", "--design", "spapr-cap", "--duration", "soon"], /--duration/],
      [
        ["boot", "--host", "dd2.3", "--design", "spapr-cap", "--smp", "3,threads=4"],
        /smp|CPU topology|topology/i,
      ],
      [
        ["boot", "--host", "dd2.3", "--design", "spapr-cap", "--scenario", badScenario],
        /bad.yaml: hosts\[0\]\.chip/,
      ],
      [["migrate", "--from", "dd2.3", "--to", "mars", "--design", "spapr-cap"], /unknown host 'mars'/],
      [["fleet", "--hosts", "1", "--vms", "10"], /--hosts/],
      [["fleet", "--hosts", "10", "--vms", "10", "--mix", "dd2.2-old"], /--mix/],
      [["qemu", "--host", "dd2.3", "--duration", "1ms", "--", "-M", "pseries-5.1,cap-foo=on"], /cap-foo/],
      [["bench", "nothing"], /nothing/],
      [["matrix", "--trace", "m.json"], /--trace needs a single run/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.err, args.join(" ")).toMatch(re);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
});
