// Checks against the real dtc (Debian package device-tree-compiler, dtc 1.6.1) and real QEMU
// output. dtc is run for real: when it is missing these tests fail and say how to install it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dtcCompile, dtcDecompile, requireDtc } from "./dtc.js";
import { DeviceTree, decodeDtb, encodeDtb, formatDts } from "./index.js";
import { buildTree, snapshot, treeSpec } from "./test-helpers/arbitraries.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));
const text = (name: string): string => readFileSync(join(FIXTURES, name), "utf8");

// The DTS comparison needs no normalisation: formatDts reproduces dtc 1.6.1's text exactly
// (same indentation, value guessing, "\0" inside string lists, trailing newline).

describe("real dtc", () => {
  it("is installed", () => {
    expect(() => requireDtc()).not.toThrow();
  });

  it("compiles the committed .dts fixtures to the committed .dtb files (the fixtures are current)", () => {
    expect(Buffer.from(dtcCompile(text("basic.dts")))).toEqual(Buffer.from(read("basic.dtb")));
    expect(Buffer.from(dtcCompile(text("basic.dts"), ["-b", "8"]))).toEqual(
      Buffer.from(read("basic-bootcpu8.dtb")),
    );
    expect(Buffer.from(dtcCompile(text("padded.dts"), ["-p", "64"]))).toEqual(
      Buffer.from(read("padded.dtb")),
    );
  });

  for (const f of [
    "basic.dtb",
    "basic-bootcpu8.dtb",
    "padded.dtb",
    "libfdt-sw.dtb",
    "qemu-pseries-power9-smp2.dtb",
  ]) {
    it(`${f}: decodes, re-encodes byte-identically, prints as dtc does`, () => {
      const blob = read(f);
      const tree = decodeDtb(blob);
      expect(Buffer.from(encodeDtb(tree))).toEqual(Buffer.from(blob));
      expect(formatDts(tree)).toBe(dtcDecompile(blob));
    });
  }

  it("QEMU's pseries POWER9 tree matches its committed dtc decompilation and has the expected content", () => {
    const tree = decodeDtb(read("qemu-pseries-power9-smp2.dtb"));
    expect(formatDts(tree)).toBe(text("qemu-pseries-power9-smp2.dts"));
    expect(tree.root.requireProp("compatible").asStringList()).toEqual(["qemu,pseries"]);
    const cpus = tree.requireNode("/cpus");
    const cpuNodes = cpus.children.filter((c) => c.getProp("device_type")?.asString() === "cpu");
    expect(cpuNodes.map((c) => c.name)).toEqual(["PowerPC,POWER9@0", "PowerPC,POWER9@1"]);
    const cpu0 = tree.requireNode("/cpus/PowerPC,POWER9@0");
    expect(cpu0.requireProp("timebase-frequency").asU32()).toBe(512_000_000);
    expect(cpu0.requireProp("cpu-version").asU32() >>> 16).toBe(0x004e);
    const mem = tree.requireNode("/memory@0");
    expect(mem.requireProp("reg").asU64Array()).toEqual([0n, 1n << 30n]);
  });

  it("the tree of basic.dts built with the API encodes to dtc's bytes", () => {
    const t = new DeviceTree();
    t.memReserves = [
      { address: 0n, size: 0x10000n },
      { address: 0x30000000n, size: 0x1c00000n },
    ];
    const r = t.root;
    r.setPropU32("#address-cells", 2);
    r.setPropU32("#size-cells", 2);
    r.setPropStrings("compatible", ["ibm,powernv", "qemu,powernv9"]);
    r.setPropString("model", "stopsim fixture");
    const cpus = r.addChild("cpus");
    cpus.setPropU32("#address-cells", 1);
    cpus.setPropU32("#size-cells", 0);
    const cpu = cpus.addChild("PowerPC,POWER9@0");
    cpu.setPropString("device_type", "cpu");
    cpu.setPropString("status", "okay");
    cpu.setPropU32("reg", 0);
    cpu.setPropU32("ibm,ppc-interrupt-server#s", 0, 1, 2, 3);
    cpu.setPropU32("cpu-version", 0x004e1203);
    cpu.setPropU32("timebase-frequency", 512000000);
    cpu.setPropU64("ibm,extended-clock-frequency", 3800000000n);
    cpu.setPropEmpty("64-bit");
    const l2 = cpus.addChild("l2-cache@20000000");
    l2.setPropString("device_type", "cache");
    l2.setPropU32("reg", 0x20000000);
    l2.setPropEmpty("cache-unified");
    // dtc assigns phandles to referenced nodes in reference order and appends "phandle".
    cpu.setPropU32("l2-cache", 1);
    l2.setPropU32("phandle", 1);
    const feats = cpus.addChild("ibm,powerpc-cpu-features");
    feats.setPropString("compatible", "ibm,powerpc-cpu-features");
    feats.setPropU32("isa", 3000);
    feats.setPropString("display-name", "POWER9");
    feats.setPropString("device_type", "cpu-features");
    const fp = feats.addChild("floating-point");
    fp.setPropU32("isa", 0);
    fp.setPropU32("usable-privilege", 7);
    fp.setPropU32("hv-support", 0);
    fp.setPropU32("os-support", 0);
    fp.setPropU32("hfscr-bit-nr", 0);
    fp.setPropU32("hwcap-bit-nr", 27);
    fp.setPropU32("phandle", 2);
    const vec = feats.addChild("vector");
    vec.setPropU32("isa", 0);
    vec.setPropU32("usable-privilege", 7);
    vec.setPropU32("dependencies", 2);
    const pm = r.addChild("ibm,opal").addChild("power-mgt");
    pm.setPropStrings("ibm,cpu-idle-state-names", ["stop0_lite", "stop0"]);
    pm.setPropU64("ibm,cpu-idle-state-psscr", 0x330n, 0x300330n);
    pm.setPropBytes("bytes", Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x01]));
    pm.setPropString("escapes", 'tab\there "quoted" back\\slash');
    pm.setPropString("empty-string", "");
    const blob = read("basic.dtb");
    expect(Buffer.from(encodeDtb(t))).toEqual(Buffer.from(blob));
    expect(snapshot(decodeDtb(blob))).toEqual(snapshot(t));
  });

  it("dtc drops a redundant name property; formatDts does the same", () => {
    const t = new DeviceTree();
    const fw = t.root.addChild("firmware");
    fw.setPropString("compatible", "ibm,opal-firmware");
    fw.setPropString("name", "firmware");
    fw.setPropString("version", "v6.6");
    expect(formatDts(t)).toBe(dtcDecompile(encodeDtb(t)));
  });

  it("random trees: dtc decompiles our blobs to formatDts's text, and compiles that text back to our bytes", () => {
    fc.assert(
      fc.property(treeSpec, (spec) => {
        const tree = buildTree(spec);
        const blob = encodeDtb(tree);
        const dts = formatDts(tree);
        expect(dtcDecompile(blob)).toBe(dts);
        // dtc prints a NUL inside a string as "\0"; when an octal digit follows, dtc reads the
        // text back as a longer octal escape, so its own output does not compile to the same
        // bytes. Only unambiguous texts are compiled back.
        if (!/\\0[0-7]/.test(dts)) {
          expect(Buffer.from(dtcCompile(dts, ["-b", String(tree.bootCpuidPhys)]))).toEqual(Buffer.from(blob));
        }
      }),
      { numRuns: 60, seed: 0x5eed },
    );
  });
});
