import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CAPABILITY_TABLE,
  formatCapValue,
  SPAPR_CAP_HPT_MAXPAGESIZE,
  SPAPR_CAP_HTM,
  SPAPR_CAP_STOP_LITE,
} from "./caps.js";
import { defaultCapsWithCpu, findMachine, MACHINE_TYPES, type QemuBuild } from "./machine.js";
import { optionsObjectToArgv, parseCommandLine, type QemuConfig, splitCommandLine } from "./options.js";
import { formatSize, parseSize } from "./size.js";
import { qemuErrorOf } from "./test-helpers/errors.js";

const CAP_BUILD: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };
const OLD_BUILD: QemuBuild = { stopLiteCap: false, probeKvmCapStop: false };

function config(input: Parameters<typeof parseCommandLine>[0], build = CAP_BUILD): QemuConfig {
  const r = parseCommandLine(input, build);
  if (r.kind !== "config") throw new Error("expected a configuration");
  return r.config;
}

const errorOf = qemuErrorOf;

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);

describe("command line", () => {
  it("parses the reference command line in string, argv and object form alike", () => {
    const s = config("qemu-system-ppc64 -M pseries -cpu POWER9 -smp 2 -m 1G -nographic");
    const a = config(["-machine", "pseries", "-cpu", "POWER9", "-smp", "2", "-m", "1G", "-nographic"]);
    const o = config({ machine: "pseries", cpu: "POWER9", smp: 2, memory: "1G", nographic: true });
    for (const c of [s, a, o]) {
      expect(c.machineType.name).toBe("pseries-5.1");
      expect(c.cpuModel).toBe("POWER9");
      expect(c.smp).toEqual({ cpus: 2, maxCpus: 2, sockets: 2, dies: 1, cores: 1, threads: 1 });
      expect(c.ramSize).toBe(1 << 30);
      expect(c.nographic).toBe(true);
      expect(c.accel).toBe("kvm");
    }
  });

  it("reads caps, dumpdtb and topology", () => {
    const c = config(
      "-M pseries-5.0,cap-htm=on,cap-hpt-max-page-size=16M,dumpdtb=out.dtb -smp 8,cores=2,threads=4",
    );
    expect(c.cmdLineCaps.get(SPAPR_CAP_HTM)).toBe(1);
    expect(c.cmdLineCaps.get(SPAPR_CAP_HPT_MAXPAGESIZE)).toBe(24);
    expect(c.dumpdtb).toBe("out.dtb");
    expect(c.smp).toMatchObject({ cpus: 8, sockets: 1, cores: 2, threads: 4 });
    const o = config({ machine: "pseries-5.1", machineProps: { "cap-stop-lite": false } });
    expect(o.cmdLineCaps.get(SPAPR_CAP_STOP_LITE)).toBe(0);
  });

  it("refuses what real QEMU refuses, with its exact messages (fixtures/qemu-errors.json)", () => {
    const cases = JSON.parse(readFileSync(fixture("qemu-errors.json"), "utf8")) as {
      args: string;
      stderr: string;
    }[];
    expect(cases.length).toBeGreaterThan(10);
    for (const c of cases) {
      const e = errorOf(() => parseCommandLine(c.args, CAP_BUILD));
      expect(e.message, c.args).toBe(c.stderr);
    }
  });

  it("knows cap-stop-lite only in builds of the capability design", () => {
    expect(config("-M pseries-5.1,cap-stop-lite=off").cmdLineCaps.get(SPAPR_CAP_STOP_LITE)).toBe(0);
    expect(errorOf(() => parseCommandLine("-M pseries,cap-stop-lite=off", OLD_BUILD)).message).toBe(
      "qemu-system-ppc64: Property 'pseries-5.1-machine.cap-stop-lite' not found",
    );
  });

  it("refuses impossible topologies and other accelerators", () => {
    expect(errorOf(() => parseCommandLine("-smp 6,threads=3", CAP_BUILD)).reason).toBe(
      "Cannot support 3 threads/core on a pseries machine",
    );
    expect(errorOf(() => parseCommandLine("-smp 2048", CAP_BUILD)).reason).toBe(
      "Invalid SMP CPUs 2048. The max CPUs supported by machine 'pseries-5.1' is 1024",
    );
    expect(errorOf(() => parseCommandLine("-accel tcg", CAP_BUILD)).message).toBe(
      "qemu-system-ppc64: -accel tcg: invalid accelerator tcg",
    );
    expect(errorOf(() => parseCommandLine("-m 64M", CAP_BUILD)).reason).toMatch(/requires >= 128MiB/);
    expect(errorOf(() => parseCommandLine("-cpu", CAP_BUILD)).message).toBe(
      "qemu-system-ppc64: -cpu: requires an argument",
    );
    expect(config("-enable-kvm").accel).toBe("kvm");
  });

  it("answers help requests", () => {
    const list = parseCommandLine("-M help", CAP_BUILD);
    expect(list.kind === "help" && list.text).toMatch(
      /pseries\s+pSeries Logical Partition \(PAPR compliant\) \(alias of pseries-5\.1\)/,
    );
    const props = parseCommandLine("-M pseries,help", CAP_BUILD);
    expect(props.kind === "help" && props.text).toMatch(/cap-stop-lite=<bool>/);
    const old = parseCommandLine("-M pseries,help", OLD_BUILD);
    expect(old.kind === "help" && old.text).not.toMatch(/stop-lite/);
  });
});

describe("machine types and capability defaults", () => {
  it("match real QEMU's defaults per machine type (fixtures/qemu-cap-defaults.json)", () => {
    const real = JSON.parse(readFileSync(fixture("qemu-cap-defaults.json"), "utf8")) as Record<
      string,
      Record<string, boolean | string | number>
    >;
    for (const [name, caps] of Object.entries(real)) {
      const defaults = defaultCapsWithCpu(findMachine(name), CAP_BUILD);
      for (const [prop, value] of Object.entries(caps)) {
        const cap = CAPABILITY_TABLE.find((c) => `cap-${c.name}` === prop);
        expect(cap, prop).toBeDefined();
        if (cap) expect(formatCapValue(cap, defaults[cap.index]), `${name} ${prop}`).toEqual(value);
      }
    }
  });

  it("turns cap-stop-lite on by default only from pseries-5.1", () => {
    const levels = MACHINE_TYPES.map((m) => [m.name, defaultCapsWithCpu(m, CAP_BUILD)[SPAPR_CAP_STOP_LITE]]);
    expect(levels).toEqual([
      ["pseries-5.1", 1],
      ["pseries-5.0", 0],
      ["pseries-4.2", 0],
    ]);
    expect(defaultCapsWithCpu(findMachine("pseries"), OLD_BUILD)[SPAPR_CAP_STOP_LITE]).toBe(0);
  });
});

describe("command line forms and options", () => {
  it("the object form stands for the argv it gives, ',' in values doubled as QemuOpts escapes it", () => {
    const o = {
      machine: "pseries-5.1",
      machineProps: { "cap-htm": true, "cap-ibs": "broken", "cap-ccf-assist": false, dumpdtb: "a,b.dtb" },
      cpu: "POWER9",
      smp: { cpus: 4, sockets: 2, cores: 2, threads: 2, maxcpus: 8 },
      memory: 2 ** 30,
      nographic: true,
      accel: "kvm",
      startPaused: true,
      incoming: "defer",
    };
    expect(optionsObjectToArgv(o)).toEqual([
      "-machine",
      "pseries-5.1,cap-htm=on,cap-ibs=broken,cap-ccf-assist=off,dumpdtb=a,,b.dtb",
      "-cpu",
      "POWER9",
      "-smp",
      "4,sockets=2,cores=2,threads=2,maxcpus=8",
      "-m",
      "1073741824B",
      "-nographic",
      "-accel",
      "kvm",
      "-S",
      "-incoming",
      "defer",
    ]);
    const c = config(o);
    expect([c.dumpdtb, c.startPaused, c.incoming, c.ramSize]).toEqual(["a,b.dtb", true, "defer", 2 ** 30]);
    expect(c.smp).toEqual({ cpus: 4, maxCpus: 8, sockets: 2, dies: 1, cores: 2, threads: 2 });
    expect(optionsObjectToArgv({ smp: 2, memory: "2G" })).toEqual([
      "-machine",
      "pseries",
      "-smp",
      "2",
      "-m",
      "2G",
    ]);
    expect(optionsObjectToArgv({})).toEqual(["-machine", "pseries"]);
  });

  it("splits a command line string as a shell splits plain and quoted words", () => {
    expect(splitCommandLine(`qemu-system-ppc64 -M "pseries-5.1" -m '1 G' -nographic`)).toEqual([
      "qemu-system-ppc64",
      "-M",
      "pseries-5.1",
      "-m",
      "1 G",
      "-nographic",
    ]);
    // the program name is dropped from the string form, whatever its directory
    expect(config("/usr/bin/qemu-system-ppc64 -smp 2").smp.cpus).toBe(2);
  });

  it("later -machine options merge into earlier ones; -enable-kvm, -S, -incoming; host plumbing ignored", () => {
    const c = config(
      "-M pseries-5.1 -machine cap-htm=on -enable-kvm -S -incoming defer -display none -serial none -monitor none",
    );
    expect(c.machineType.name).toBe("pseries-5.1");
    expect(c.cmdLineCaps.get(SPAPR_CAP_HTM)).toBe(1);
    expect([c.accel, c.startPaused, c.incoming, c.nographic]).toEqual(["kvm", true, "defer", false]);
    expect(config("--smp 2").smp.cpus).toBe(2);
  });

  it("refuses a bare word (a legacy disk image), an unknown option and a missing argument", () => {
    expect(errorOf(() => parseCommandLine("disk.img", CAP_BUILD)).reason).toBe(
      "disk.img: disk images are not modelled; boot a guest kernel image instead",
    );
    expect(errorOf(() => parseCommandLine(["-"], CAP_BUILD)).reason).toMatch(/^-: disk images/);
    expect(errorOf(() => parseCommandLine("-hda x", CAP_BUILD)).message).toBe(
      "qemu-system-ppc64: -hda: invalid option",
    );
    expect(errorOf(() => parseCommandLine(["-m"], CAP_BUILD)).message).toBe(
      "qemu-system-ppc64: -m: requires an argument",
    );
  });

  it("-accel help and -cpu help answer instead of starting", () => {
    const a = parseCommandLine("-accel help", CAP_BUILD);
    expect(a).toEqual({ kind: "help", text: "Accelerators supported in QEMU binary:\nkvm" });
    const c = parseCommandLine("-cpu help", CAP_BUILD);
    expect(c.kind).toBe("help");
    expect(c.kind === "help" && c.text.split("\n")).toContain("PowerPC power9_v2.2      PVR 004e1202");
  });

  it("a zero topology count is accepted with QEMU's deprecation warning, maxcpus=0 without", () => {
    // qemu-system-ppc64 7.2 -M pseries-5.1 -smp 4,cores=0 prints "warning: Deprecated CPU
    // topology (considered invalid): CPU topology parameters must be greater than zero" and starts
    const warning =
      "Deprecated CPU topology (considered invalid): CPU topology parameters must be greater than zero";
    const a = config("-smp 4,cores=0");
    expect([a.warnings, a.smp.sockets, a.smp.cores]).toEqual([[warning], 4, 1]);
    const b = config("-smp 0");
    expect([b.warnings, b.smp.cpus]).toEqual([[warning], 1]);
    expect(config("-smp 4,maxcpus=0").warnings).toEqual([]);
    expect(config("-smp 4").warnings).toEqual([]);
  });

  it("-m 0 is the default 128 MiB; a topology with every count given keeps them", () => {
    expect(config("-m 0").ramSize).toBe(128 * 2 ** 20);
    expect(config("-smp 8,sockets=2,cores=2,threads=2").smp).toEqual({
      cpus: 8,
      maxCpus: 8,
      sockets: 2,
      dies: 1,
      cores: 2,
      threads: 2,
    });
    // no count at all: one socket of one core of one thread times the counts given
    expect(config("-smp sockets=2,threads=2").smp).toEqual({
      cpus: 4,
      maxCpus: 4,
      sockets: 2,
      dies: 1,
      cores: 1,
      threads: 2,
    });
  });
});

describe("sizes as qemu_strtosz reads them (qemu: util/cutils.c do_strtosz) and size_to_str prints them", () => {
  it("suffixes B K M G T P E in either case are powers of 1024; a bare number takes the default unit", () => {
    const K = 1024n;
    expect(
      ["7", "7b", "7B", "2k", "2K", "3m", "3M", "1g", "1G", "1t", "1T", "1p", "1P", "1e", "1E"].map((t) =>
        parseSize(t),
      ),
    ).toEqual([
      7n,
      7n,
      7n,
      2n * K,
      2n * K,
      3n * K ** 2n,
      3n * K ** 2n,
      K ** 3n,
      K ** 3n,
      K ** 4n,
      K ** 4n,
      K ** 5n,
      K ** 5n,
      K ** 6n,
      K ** 6n,
    ]);
    // -m reads a bare number as MiB
    expect(parseSize("512", "M")).toBe(512n * K ** 2n);
    expect(parseSize(" 64 ")).toBe(64n);
  });

  it("a fraction needs a unit; 2^64 and beyond, negatives and junk are refused", () => {
    expect(parseSize("1.5G")).toBe(3n << 29n);
    expect(parseSize("0.25k")).toBe(256n);
    expect(parseSize("1.5", "M")).toBe(3n << 19n);
    expect(parseSize("1.5")).toBeUndefined();
    expect(parseSize("16E")).toBeUndefined(); // 2^64
    expect(parseSize("15E")).toBe(15n << 60n);
    expect(parseSize("18446744073709551615")).toBe((1n << 64n) - 1n);
    expect(parseSize("-5")).toBeUndefined();
    expect(parseSize("1X")).toBeUndefined();
    expect(parseSize("1Z", "z")).toBeUndefined();
    expect(parseSize("")).toBeUndefined();
  });

  it("prints the largest binary unit that divides the size", () => {
    expect(
      [0n, 1000n, 1024n, 1536n, 1n << 20n, 3n << 30n, 1n << 40n, 1n << 50n, 1n << 60n, 1n << 62n].map((b) =>
        formatSize(b),
      ),
    ).toEqual(["0 B", "1000 B", "1 KiB", "1536 B", "1 MiB", "3 GiB", "1 TiB", "1 PiB", "1 EiB", "4 EiB"]);
    expect(formatSize(65536)).toBe("64 KiB");
  });
});
