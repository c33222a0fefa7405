import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CAPABILITY_TABLE,
  formatCapValue,
  SPAPR_CAP_HPT_MAXPAGESIZE,
  SPAPR_CAP_HTM,
  SPAPR_CAP_STOP_LITE,
} from "./caps.js";
import { QemuError } from "./errors.js";
import { defaultCapsWithCpu, findMachine, MACHINE_TYPES, type QemuBuild } from "./machine.js";
import { parseCommandLine, type QemuConfig } from "./options.js";

const CAP_BUILD: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };
const OLD_BUILD: QemuBuild = { stopLiteCap: false, probeKvmCapStop: false };

function config(input: Parameters<typeof parseCommandLine>[0], build = CAP_BUILD): QemuConfig {
  const r = parseCommandLine(input, build);
  if (r.kind !== "config") throw new Error("expected a configuration");
  return r.config;
}

function errorOf(fn: () => unknown): QemuError {
  try {
    fn();
  } catch (e) {
    if (e instanceof QemuError) return e;
    throw e;
  }
  throw new Error("expected a QemuError");
}

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
