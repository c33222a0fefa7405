// Bad and large inputs: every one ends with a one-line error (exit 2) before any work, or runs in
// bounded memory; output files are never destroyed by a failed run.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RngRoot } from "@stopsim/engine";
import { Command } from "commander";
import { describe, expect, it, vi } from "vitest";
import { checkWritable, setAtomicFsForTest, writeFileAtomic } from "./atomic.js";
import { LIMITS, parseSeed } from "./commands/args.js";
import { runOptions, withCommon } from "./commands/simulate.js";
import { runFleet } from "./fleet.js";
import { parseScenario } from "./scenario.js";
import { onInterrupt, progress } from "./terminal.js";
import { runCli, runCliProcess } from "./test-helpers/run-cli.js";

const tmp = () => mkdtempSync(join(tmpdir(), "stopsim-rel-"));
const oneLine = (r: { err: string }) => {
  expect(r.err.trim().split("\n")).toHaveLength(1);
  expect(r.err).not.toMatch(/\n\s+at |internal error/);
};

describe("writes that cannot destroy", () => {
  it("a trace write failing on a full filesystem leaves the earlier file intact and says so", async () => {
    const dir = tmp();
    const keep = join(dir, "keep.json");
    writeFileSync(keep, '{"earlier":true}');
    let written = 0;
    const restore = setAtomicFsForTest({
      writeSync: () => {
        written++;
        throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      },
    });
    try {
      const r = await runCli([
        "boot",
        ...["--host", "dd2.3", "--design", "spapr-cap", "--duration", "2ms", "--trace", keep],
      ]);
      expect(r.code).toBe(2);
      oneLine(r);
      expect(r.err).toMatch(/cannot write '.*keep\.json' \(ENOSPC.*the earlier file is left as it was/);
    } finally {
      restore();
    }
    expect(written).toBeGreaterThan(0);
    expect(readFileSync(keep, "utf8")).toBe('{"earlier":true}');
    expect(readdirSync(dir)).toEqual(["keep.json"]); // no temporary file left behind
  });

  it("a failing rename (report --out) leaves the earlier file intact, not a 0-byte file", () => {
    const dir = tmp();
    const out = join(dir, "x.html");
    writeFileSync(out, "<p>earlier</p>");
    const restore = setAtomicFsForTest({
      renameSync: () => {
        throw Object.assign(new Error("rename"), { code: "EXDEV" });
      },
    });
    try {
      expect(() => writeFileAtomic(out, "<p>new</p>")).toThrow(/EXDEV.*earlier file is left as it was/);
    } finally {
      restore();
    }
    expect(readFileSync(out, "utf8")).toBe("<p>earlier</p>");
    expect(readdirSync(dir)).toEqual(["x.html"]);
    writeFileAtomic(out, "<p>new</p>");
    expect(readFileSync(out, "utf8")).toBe("<p>new</p>");
  });

  it("an unwritable output is refused before any work (report --out /proc/x.html, qemu --trace /proc/x)", async () => {
    expect(() => checkWritable("/proc/x.html", "--out")).toThrow(/--out '\/proc\/x.html': cannot create/);
    const r = await runCli(["report", "--out", "/proc/x.html"]);
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.err).not.toMatch(/report: matrix/);
    const q = await runCli([
      "qemu",
      "--host",
      "dd2.3",
      "--duration",
      "5ms",
      "--trace",
      "/proc/x",
      "--",
      "-smp",
      "4",
    ]);
    expect(q.code).toBe(2);
    expect(q.err).toMatch(/^stopsim: --trace '\/proc\/x': cannot create/);
    expect(r.out + q.out).toBe("");
  });
});

describe("limits checked up front", () => {
  it("refuses fleet sizes beyond the limits at once, naming the option as typed", async () => {
    for (const [args, re] of [
      [["fleet", "--hosts", "1e9", "--vms", "10"], /^stopsim: --hosts must be a whole number/],
      [["fleet", "--hosts", "1000000"], /^stopsim: --hosts 1000000 is out of range/],
      [["fleet", "--vms", "2000000"], /^stopsim: --vms 2000000 is out of range/],
      [["fleet", "--duration", "365d"], /^stopsim: --duration 365d is above the maximum of 100d/],
      [["report", "-o", "x.html", "--fleet-duration", "365d"], /^stopsim: --fleet-duration 365d is above/],
      [["report", "-o", "x.html", "--fleet-hosts", "1"], /^stopsim: --fleet-hosts 1 is out of range/],
      [
        ["report", "-o", "x.html", "--timeline", "20s"],
        /^stopsim: --timeline 20s is above the maximum of 10s/,
      ],
      [["bench", "wakeup", "--samples", "0"], /^stopsim: --samples 0 is out of range/],
      [["report", "-o", "x.html", "--samples", "1e6"], /^stopsim: --samples must be a whole number/],
      [
        ["idle", "--host", "dd2.3", "--design", "spapr-cap", "--duration", "2h"],
        /--duration 2h is above the maximum of 1h/,
      ],
      [["dtb", "host", "--dts", "--sockets", "17"], /^stopsim: --sockets 17 is out of range/],
    ] as const) {
      const r = await runCli([...args]);
      expect(r.code, args.join(" ")).toBe(2);
      oneLine(r);
      expect(r.err).toMatch(re);
      expect(r.out, args.join(" ")).toBe("");
    }
  });

  it("the fleet library refuses oversize fleets before allocating (no out of memory)", () => {
    const probe = { boot: vi.fn(), migrate: vi.fn() };
    const base = {
      vms: 10,
      durationNs: 1e9,
      design: "spapr-cap",
      seed: 1,
      plan: "rolling-upgrade" as const,
      mix: { "dd2.3": 1 },
      upgradeTo: {},
    };
    expect(() => runFleet({ ...base, hosts: 1e9 }, probe)).toThrow(
      /--hosts must be a whole number from 2 to 100,000/,
    );
    expect(probe.boot).not.toHaveBeenCalled();
  });

  it("a fleet longer than an hour of downtime per VM summarises (the histogram's range grows)", () => {
    const probe = {
      boot: () => [{ outcome: "failed-start" as const, detail: "refused" }],
      migrate: () => [{ outcome: "refused" as const, detail: "", downtimeNs: 0, totalTimeNs: 1e9 }],
    };
    const r = runFleet(
      {
        hosts: 2,
        vms: 2,
        durationNs: 100 * 86_400e9,
        design: "d",
        seed: 1,
        plan: "evacuation",
        mix: { a: 1 },
        upgradeTo: {},
      },
      probe,
    );
    expect(r.downtime.perVm.max).toBeGreaterThan(99 * 86_400e9);
  });

  it("scenario files: /dev/zero, 15 MB, 200k hosts and deep nesting are refused in one line", async () => {
    const dir = tmp();
    const big = join(dir, "big.yaml");
    const host = (i: number) => `  - { name: h${i}, chip: dd2.3, firmware: new }\n`;
    writeFileSync(big, `hosts:\n${Array.from({ length: 200_000 }, (_, i) => host(i)).join("")}`);
    expect(readFileSync(big).length).toBeGreaterThan(8e6);
    const many = join(dir, "many.yaml");
    writeFileSync(
      many,
      `hosts:\n${Array.from({ length: LIMITS.scenarioEntries + 1 }, (_, i) => host(i)).join("")}`,
    );
    const deep = join(dir, "deep.json");
    writeFileSync(deep, `${"[".repeat(100_000)}${"]".repeat(100_000)}`);
    const deepYaml = join(dir, "deep.yaml");
    writeFileSync(deepYaml, `guest: ${"[".repeat(40)}${"]".repeat(40)}`);
    for (const [file, re] of [
      ["/dev/zero", /\/dev\/zero: larger than the scenario limit of 1048576 bytes/],
      [big, /big.yaml: larger than the scenario limit/],
      [many, /many.yaml: hosts: 1001 entries is above the limit of 1000/],
      [deep, /deep.json: nested deeper than 16 levels/],
      [deepYaml, /deep.yaml: nested deeper than 16 levels/],
      [dir, /is a directory/],
    ] as const) {
      const r = await runCli(["hosts", "--scenario", file]);
      expect(r.code, file).toBe(2);
      oneLine(r);
      expect(r.err).toMatch(re);
      expect(r.out, file).toBe("");
    }
    expect(() => parseScenario("x".repeat(LIMITS.scenarioBytes + 1), "s.yaml")).toThrow(
      /above the scenario limit/,
    );
  });
});

describe("seeds are unsigned 64-bit integers, parsed exactly", () => {
  it("refuses anything else in one line", async () => {
    for (const bad of ["abc", "-1", "1.5", "1e3", "0x10", "18446744073709551616", ""]) {
      expect(() => parseSeed(bad), bad).toThrow(/--seed/);
    }
    for (const args of [["--seed", "abc"], ["--seed=-1"], ["--seed", "1.5"]]) {
      const r = await runCli(["bench", "wakeup", "--samples", "1", ...args]);
      expect(r.code).toBe(2);
      oneLine(r);
    }
  });

  it("2^53 and 2^53+1 (and 2^64-1) give different streams; small seeds keep their streams", () => {
    const first = (text: string) => new RngRoot(parseSeed(text)).stream("x").next();
    expect(first("9007199254740992")).not.toBe(first("9007199254740993"));
    expect(first("18446744073709551615")).not.toBe(first("18446744073709551614"));
    expect(parseSeed("18446744073709551615")).toBe("18446744073709551615");
    expect(parseSeed("0042")).toBe(42);
    expect(first("42")).toBe(new RngRoot(42).stream("x").next());
  });
});

describe("precedence: explicit flags > scenario file > defaults", () => {
  const dir = tmp();
  const file = join(dir, "partial.yaml");
  writeFileSync(file, "guest:\n  smp: '4'\n  memory: 3G\n  governor: teo\n  workload: ebizzy\n");
  const opts = async (args: string[]) => {
    let got: ReturnType<typeof runOptions> | undefined;
    const cmd = withCommon(new Command("x").exitOverride(), "1ms").action((o, c) => {
      got = runOptions(o, c);
    });
    await cmd.parseAsync(args, { from: "user" });
    if (!got) throw new Error("no options");
    return got.guest ?? {};
  };
  for (const [option, flag, value, fromFile, fallback] of [
    ["smp", "--smp", "2", "4", "8,sockets=1,cores=2,threads=4"],
    ["memory", "--memory", "2G", "3G", "1G"],
    ["governor", "--governor", "menu", "teo", "menu"],
    ["workload", "--workload", "timers", "ebizzy", "timers"],
  ] as const) {
    it(`${flag}: the flag wins over the file, the file over the default`, async () => {
      expect((await opts([flag, value, "--scenario", file]))[option]).toBe(value);
      expect((await opts(["--scenario", file]))[option]).toBe(fromFile);
      expect((await opts([]))[option]).toBe(fallback);
    });
  }

  it("boot --smp 2 --memory 2G with a file setting only guest.smp runs -smp 2 -m 2G", async () => {
    const only = join(dir, "smp-only.yaml");
    writeFileSync(only, "guest:\n  smp: '4'\n");
    const r = await runCli([
      "boot",
      ...["--host", "dd2.3", "--design", "spapr-cap", "--duration", "1ms", "--smp", "2", "--memory", "2G"],
      ...["--governor", "menu", "--scenario", only, "--json"],
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).qemu.commandLine).toMatch(/-smp 2 -m 2G/);
  });
});

describe("clean terminals and pipes", () => {
  it("a closed pipe ends the command quietly, without a stack trace", () => {
    const r = runCliProcess("| head -1", ["dtb", "host", "--dts", "--sockets", "16", "--cores", "24"]);
    expect(r.stdout).toBe("/dts-v1/;\n");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("the progress bar never turns line wrap off; Ctrl-C restores wrap and cursor", () => {
    let written = "";
    const had = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
    Object.defineProperty(process.stderr, "isTTY", { value: true, configurable: true });
    const w = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      written += String(s);
      return true;
    });
    try {
      const bar = progress("fleet", 100);
      bar.update(50);
      expect(written).not.toContain("\u001b[?7l");
      expect(written).not.toContain("\u001b[?25l");
      let stopped = false;
      const off = onInterrupt(() => {
        stopped = true;
      });
      process.emit("SIGINT");
      off();
      expect(stopped).toBe(true);
      expect(written).toContain("\u001b[?7h\u001b[?25h");
      bar.stop();
    } finally {
      w.mockRestore();
      if (had) Object.defineProperty(process.stderr, "isTTY", had);
      else Reflect.deleteProperty(process.stderr, "isTTY");
    }
  });

  it("prints the version", async () => {
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(
      JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version,
    );
  });
});

it("leaves no temporary files when a write succeeds", () => {
  const dir = tmp();
  writeFileAtomic(join(dir, "a.dtb"), new Uint8Array([1, 2, 3]));
  expect(readdirSync(dir)).toEqual(["a.dtb"]);
  expect(existsSync(join(dir, "a.dtb"))).toBe(true);
});
