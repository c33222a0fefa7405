// The command line's frame: exit codes (0 done, 1 internal error, 2 bad input in one line naming
// the problem, 130 interrupted), commander's errors as one line, help and version, the hosts and
// designs listings, the shared option parsers (seeds, durations, counts) with their exact messages,
// and `stopsim dtb`. Nothing here runs a simulation.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeDtb } from "@stopsim/devicetree";
import { NS_PER_MS, NS_PER_S } from "@stopsim/engine";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "./cli.js";
import { parseCount, parseDurationOption, parseSeed } from "./commands/args.js";
import { DESIGNS, HOSTS } from "./presets.js";
import { Interrupted } from "./terminal.js";
import { plain, runCli } from "./test-helpers/run-cli.js";
import { usageMessage } from "./test-helpers/usage.js";
import { VERSION } from "./version.js";

const tmp = () => mkdtempSync(join(tmpdir(), "stopsim-cli-main-"));

/** The table row (cells trimmed) whose first cell is `first`. */
function row(out: string, first: string): string[] | undefined {
  for (const line of plain(out).split("\n")) {
    const cells = line.split("│").map((c) => c.trim());
    if (cells[1] === first) return cells.slice(1, -1);
  }
  return undefined;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("exit codes and one-line errors", () => {
  it("commander's errors: one line naming the problem and where to look, exit 2", async () => {
    const r = await runCli(["hosts", "--bad"]);
    expect(r).toEqual({ code: 2, out: "", err: "stopsim: unknown option '--bad' (see stopsim --help)\n" });
    const m = await runCli(["boot", "--host", "dd2.3"]);
    expect(m.code).toBe(2);
    expect(m.err).toBe("stopsim: required option '--design <design>' not specified (see stopsim --help)\n");
    const c = await runCli(["nope"]);
    expect(c.code).toBe(2);
    expect(c.err).toBe("stopsim: unknown command 'nope' (see stopsim --help)\n");
  });

  it("a usage error: 'stopsim: ' and its message, exit 2", async () => {
    const r = await runCli(["dtb", "host", "--cores", "0", "--dts"]);
    expect(r).toEqual({ code: 2, out: "", err: "stopsim: --cores 0 is out of range: use 1 to 24\n" });
  });

  it("--help and --version exit 0; no command prints the help", async () => {
    const h = await runCli(["--help"]);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(
      /^Usage: stopsim \[options\] \[command\]\n\nSimulate guest use of the POWER9 stop instruction/,
    );
    for (const cmd of [
      "hosts",
      "designs",
      "boot",
      "idle",
      "migrate",
      "matrix",
      "fleet",
      "bench",
      "demo",
      "qemu",
      "report",
      "worker",
      "dtb",
    ])
      expect(h.out).toContain(`  ${cmd}`);
    const v = await runCli(["--version"]);
    expect(v).toEqual({ code: 0, out: `${VERSION}\n`, err: "" });
    expect((await runCli(["-V"])).out).toBe(`${VERSION}\n`);
    const none = await runCli([]);
    expect(none.code).toBe(0);
    expect(none.out + none.err).toMatch(/Usage: stopsim/);
    const sub = await runCli(["hosts", "--help"]);
    expect(sub.code).toBe(0);
    expect(sub.out).toMatch(/^Usage: stopsim hosts \[options\]\n\nlist the host presets/);
  });

  /** Runs `hosts` with console.log throwing `e`: what main makes of an error from a command. */
  async function failing(e: unknown) {
    let err = "";
    let out = "";
    vi.spyOn(console, "log").mockImplementation(() => {
      throw e;
    });
    vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => {
      err += `${a.join(" ")}\n`;
    });
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      err += String(s);
      return true;
    });
    vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    const code = await main(["hosts"]);
    vi.restoreAllMocks();
    return { code, out, err };
  }

  it("a closed output pipe ends quietly with 0", async () => {
    expect(await failing(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))).toEqual({
      code: 0,
      out: "",
      err: "",
    });
  });

  it("an interrupted command: its message, exit 130", async () => {
    expect(await failing(new Interrupted("interrupted: 3 of 8 runs finished"))).toEqual({
      code: 130,
      out: "",
      err: "stopsim: interrupted: 3 of 8 runs finished\n",
    });
  });

  it("anything else is an internal error in one line with the error's name, exit 1", async () => {
    expect(await failing(new TypeError("x is not a function"))).toEqual({
      code: 1,
      out: "",
      err: "stopsim: internal error: TypeError: x is not a function\n",
    });
    expect((await failing("a string")).err).toBe("stopsim: internal error: a string\n");
  });
});

describe("hosts and designs", () => {
  const dir = tmp();
  const scenario = join(dir, "lab.yaml");
  writeFileSync(
    scenario,
    [
      "hosts:",
      "  - { name: lab1, chip: dd2.1, firmware: new, sockets: 2, coresPerSocket: 3, description: the lab box }",
      "designs:",
      "  - { name: both, hostKvm: fallback, qemu: { stopLiteCap: true, probeKvmCapStop: true }, machine: pseries-5.1, guest: { stop0lite: platform } }",
      "  - { name: probe, hostKvm: fallback, qemu: { probeKvmCapStop: true }, machine: pseries-5.0, guest: { stop0lite: never } }",
      "",
    ].join("\n"),
  );

  it("hosts: one row per preset with its chip, firmware, kernel and cores (sockets x cores per socket)", async () => {
    const r = await runCli(["hosts"]);
    expect(r.code).toBe(0);
    expect(row(r.out, "host")).toEqual(["host", "chip", "firmware", "kernel", "cores", "description"]);
    for (const h of HOSTS)
      expect(row(r.out, h.name)).toEqual([
        h.name,
        h.chip,
        h.firmware,
        h.kernel,
        String(h.sockets * h.coresPerSocket),
        h.description,
      ]);
    const s = await runCli(["hosts", "--scenario", scenario]);
    expect(row(s.out, "lab1")).toEqual(["lab1", "dd2.1", "new", "design", "6", "the lab box"]);
    expect(row(s.out, "dd2.3")).toBeDefined();
    const j = await runCli(["hosts", "--json", "--scenario", scenario]);
    const hosts = JSON.parse(j.out).hosts as { name: string }[];
    expect(hosts.map((h) => h.name)).toEqual([...HOSTS.map((h) => h.name), "lab1"]);
    expect(JSON.parse((await runCli(["hosts", "--json"])).out)).toEqual({ hosts: HOSTS });
  });

  it("designs: one row per design; the QEMU column names cap-stop-lite and the KVM_CAP_STOP probe, or '-'", async () => {
    const r = await runCli(["designs", "--scenario", scenario]);
    expect(r.code).toBe(0);
    expect(row(r.out, "design")).toEqual([
      "design",
      "host KVM",
      "QEMU",
      "machine",
      "guest stop0lite",
      "description",
    ]);
    for (const d of DESIGNS) {
      const qemu = [
        d.qemu.stopLiteCap ? "cap-stop-lite" : "",
        d.qemu.probeKvmCapStop ? "probes KVM_CAP_STOP" : "",
      ]
        .filter(Boolean)
        .join(", ");
      expect(row(r.out, d.name)).toEqual([
        d.name,
        d.hostKvm,
        qemu || "-",
        d.machine,
        d.guest.stop0lite,
        d.description,
      ]);
    }
    expect(row(r.out, "upstream-2020")?.[2]).toBe("-");
    expect(row(r.out, "spapr-cap")?.[2]).toBe("cap-stop-lite");
    expect(row(r.out, "both")).toEqual([
      "both",
      "fallback",
      "cap-stop-lite, probes KVM_CAP_STOP",
      "pseries-5.1",
      "platform",
      "user-defined design",
    ]);
    expect(row(r.out, "probe")?.[2]).toBe("probes KVM_CAP_STOP");
    const j = await runCli(["designs", "--json", "--scenario", scenario]);
    expect((JSON.parse(j.out).designs as { name: string }[]).map((d) => d.name)).toEqual([
      ...DESIGNS.map((d) => d.name),
      "both",
      "probe",
    ]);
  });
});

describe("option values", () => {
  it("--seed: an unsigned 64-bit integer, exactly; numbers up to 2^53-1, decimal text above", () => {
    expect(parseSeed("0")).toBe(0);
    expect(parseSeed(" 42 ")).toBe(42);
    expect(parseSeed(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseSeed("9007199254740992")).toBe("9007199254740992");
    expect(parseSeed("18446744073709551615")).toBe("18446744073709551615");
    expect(parseSeed("007")).toBe(7);
    expect(usageMessage(() => parseSeed("18446744073709551616"))).toBe(
      "--seed 18446744073709551616 is above the largest seed, 2^64-1 = 18446744073709551615",
    );
    for (const bad of ["-1", "1.5", "1e3", "abc", "", "0x10", "1 2"])
      expect(usageMessage(() => parseSeed(bad))).toBe(
        `--seed must be an unsigned integer (0 to 18446744073709551615), got '${bad}'`,
      );
    expect(usageMessage(() => parseSeed("x", "--probe-seed"))).toMatch(/^--probe-seed must be/);
  });

  it("durations: malformed, not positive or above the maximum (in its largest whole unit), with the option's name", () => {
    expect(parseDurationOption("50ms", "--duration")).toBe(50 * NS_PER_MS);
    expect(parseDurationOption("2s", "--window", 2 * NS_PER_S)).toBe(2 * NS_PER_S); // the maximum itself
    expect(usageMessage(() => parseDurationOption("soon", "--duration"))).toMatch(/^--duration: .*soon/);
    for (const zero of ["0", "0ms"])
      expect(usageMessage(() => parseDurationOption(zero, "--window"))).toBe(
        `--window must be positive, e.g. 50ms, got '${zero}'`,
      );
    const above = (text: string, max: number, hint?: string) =>
      usageMessage(() => parseDurationOption(text, "--duration", max, hint));
    expect(above("3d", 2 * 86_400 * NS_PER_S)).toBe("--duration 3d is above the maximum of 2d");
    expect(above("37h", 36 * 3_600 * NS_PER_S)).toBe("--duration 37h is above the maximum of 36h");
    expect(above("91s", 90 * NS_PER_S, "; use less")).toBe(
      "--duration 91s is above the maximum of 90s; use less",
    );
    expect(above("2ms", 1_500_000)).toBe("--duration 2ms is above the maximum of 1500000 ns");
    expect(above("2s", NS_PER_S + 1)).toBe(`--duration 2s is above the maximum of ${NS_PER_S + 1} ns`);
    // 24 h is a whole number of days: days win over hours
    expect(above("25h", 86_400 * NS_PER_S)).toBe("--duration 25h is above the maximum of 1d");
    expect(above("61m", 3_600 * NS_PER_S)).toBe("--duration 61m is above the maximum of 1h");
    expect(above("61s", 60 * NS_PER_S)).toBe("--duration 61s is above the maximum of 60s");
  });

  it("counts: whole numbers within the bounds, both inclusive; anything else named as typed", () => {
    expect(parseCount("1", "--hosts", 1, 5)).toBe(1);
    expect(parseCount(" 5 ", "--hosts", 1, 5)).toBe(5);
    expect(usageMessage(() => parseCount("6", "--hosts", 1, 5))).toBe(
      "--hosts 6 is out of range: use 1 to 5",
    );
    expect(usageMessage(() => parseCount("1", "--hosts", 2, 5))).toBe(
      "--hosts 1 is out of range: use 2 to 5",
    );
    expect(usageMessage(() => parseCount("2000000", "--vms", 1, 1_000_000))).toBe(
      "--vms 2000000 is out of range: use 1 to 1,000,000",
    );
    for (const bad of ["1e9", "1.5", "-3", "abc", "", "99999999999999999999"])
      expect(usageMessage(() => parseCount(bad, "--vms", 1, 10))).toBe(
        `--vms must be a whole number from 1 to 10, got '${bad}'`,
      );
  });
});

describe("stopsim dtb host", () => {
  it("writes the DTB to -o, says what it wrote on stderr; --dts writes dtc's text", async () => {
    const dir = tmp();
    const file = join(dir, "h.dtb");
    const r = await runCli(["dtb", "host", "-o", file]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("");
    const bytes = readFileSync(file);
    expect(r.err).toBe(`wrote ${bytes.length}-byte host tree (dd2.3, firmware new) to ${file}\n`);
    // the defaults: a DD2.3 chip, new firmware (idle-stop-guest published), 1 socket of 4 cores
    const tree = decodeDtb(new Uint8Array(bytes));
    expect(tree.getNode("/cpus/ibm,powerpc-cpu-features/idle-stop-guest")).toBeTruthy();
    const cpus = tree.getNode("/cpus")?.children.filter((c) => c.name.startsWith("PowerPC,POWER9")) ?? [];
    expect(cpus).toHaveLength(4);
    const dts = join(dir, "h.dts");
    const t = await runCli([
      "dtb",
      "host",
      "--dts",
      "-o",
      dts,
      "--chip",
      "dd2.2",
      "--firmware",
      "2020",
      "--sockets",
      "2",
      "--cores",
      "3",
    ]);
    expect(t.err).toMatch(/^wrote \d+-byte host tree \(dd2\.2, firmware 2020\) to .*h\.dts\n$/);
    const text = readFileSync(dts, "utf8");
    expect(text.startsWith("/dts-v1/;")).toBe(true);
    expect(text.match(/PowerPC,POWER9@/g)).toHaveLength(6);
    expect(text).not.toContain("idle-stop-guest {");
  });

  it("--dts alone prints to stdout, nothing on stderr", async () => {
    const r = await runCli(["dtb", "host", "--dts", "--cores", "1"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out.startsWith("/dts-v1/;")).toBe(true);
    expect(r.out.match(/PowerPC,POWER9@/g)).toHaveLength(1);
  });

  it("refuses no output, bad sizes and an unwritable file before building anything", async () => {
    const cases: [string[], string][] = [
      [[], "stopsim: dtb: give -o FILE for the binary blob, or --dts to print DTS text\n"],
      [["--sockets", "17", "--dts"], "stopsim: --sockets 17 is out of range: use 1 to 16\n"],
      [["--sockets", "0", "--dts"], "stopsim: --sockets 0 is out of range: use 1 to 16\n"],
      [["--cores", "25", "--dts"], "stopsim: --cores 25 is out of range: use 1 to 24\n"],
    ];
    for (const [args, err] of cases) {
      const r = await runCli(["dtb", "host", ...args]);
      expect(r, args.join(" ")).toEqual({ code: 2, out: "", err });
    }
    const bad = await runCli(["dtb", "host", "--chip", "dd9", "-o", "/proc/stopsim-x/h.dtb"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^stopsim: --out .\/proc\/stopsim-x\/h\.dtb/);
  });
});
