import { describe, expect, it } from "vitest";
import { DeviceTree, DeviceTreeError, PropertyFormatError } from "./index.js";

function sample(): DeviceTree {
  const t = new DeviceTree();
  t.root.setPropU32("#address-cells", 2);
  const cpus = t.root.addChild("cpus");
  const c0 = cpus.addChild("PowerPC,POWER9@0");
  c0.setPropU32("reg", 0);
  c0.setPropU32("ibm,ppc-interrupt-server#s", 0, 1, 2, 3);
  c0.setPropString("device_type", "cpu");
  const c8 = cpus.addChild("PowerPC,POWER9@8");
  c8.setPropU32("reg", 8);
  const feat = cpus.addChild("ibm,powerpc-cpu-features");
  const fp = feat.addChild("floating-point");
  const vec = feat.addChild("vector");
  vec.setPropU32("dependencies", t.ensurePhandle(fp));
  const aliases = t.root.addChild("aliases");
  aliases.setPropString("cpu8", "/cpus/PowerPC,POWER9@8");
  return t;
}

describe("DtNode / DtProperty", () => {
  it("reads typed values back", () => {
    const t = new DeviceTree();
    const n = t.root.addChild("n");
    n.setPropU32("cells", 1, 0xffffffff);
    n.setPropU64("wide", 0x300330n, 0xfedcba9876543210n);
    n.setPropString("s", "stop0_lite");
    n.setPropStrings("list", ["a", "", "bc"]);
    n.setPropEmpty("flag");
    n.setPropBytes("raw", Uint8Array.from([1, 2, 3]));
    expect(n.requireProp("cells").asU32Array()).toEqual([1, 0xffffffff]);
    expect(n.requireProp("wide").asU64Array()).toEqual([0x300330n, 0xfedcba9876543210n]);
    expect(n.requireProp("wide").asU32Array()).toEqual([0, 0x300330, 0xfedcba98, 0x76543210]);
    expect(n.requireProp("s").asString()).toBe("stop0_lite");
    expect(n.requireProp("list").asStringList()).toEqual(["a", "", "bc"]);
    expect(n.requireProp("list").asString()).toBe("a");
    expect(n.requireProp("flag").isEmpty()).toBe(true);
    expect(n.requireProp("flag").asStringList()).toEqual([]);
    expect(Array.from(n.requireProp("raw").asBytes())).toEqual([1, 2, 3]);
  });

  it("rejects reads that do not fit the length, naming the property path", () => {
    const t = new DeviceTree();
    const n = t.root.addChild("power-mgt");
    n.setPropU32("two", 1, 2);
    n.setPropBytes("odd", Uint8Array.from([1, 2, 3]));
    expect(() => n.requireProp("two").asU32()).toThrow(PropertyFormatError);
    expect(() => n.requireProp("two").asU32()).toThrow("/power-mgt/two: expected 4 bytes");
    expect(n.requireProp("two").asU64()).toBe(0x100000002n);
    expect(() => n.requireProp("odd").asU32Array()).toThrow(PropertyFormatError);
    expect(() => n.requireProp("odd").asU64Array()).toThrow(PropertyFormatError);
    expect(() => n.requireProp("odd").asString()).toThrow("NUL-terminated");
    expect(() => n.requireProp("missing")).toThrow("node /power-mgt has no property 'missing'");
  });

  it("keeps a property's position when it is set again, appends new ones", () => {
    const t = new DeviceTree();
    const n = t.root.addChild("n");
    n.setPropU32("a", 1);
    n.setPropU32("b", 2);
    n.setPropU32("a", 3);
    expect(n.properties.map((p) => p.name)).toEqual(["a", "b"]);
    expect(n.requireProp("a").asU32()).toBe(3);
    expect(n.removeProp("a")).toBe(true);
    expect(n.removeProp("a")).toBe(false);
    expect(n.properties.map((p) => p.name)).toEqual(["b"]);
  });

  it("copies values on set (later changes to the caller's array do not leak in)", () => {
    const t = new DeviceTree();
    const v = Uint8Array.from([1, 2, 3, 4]);
    const p = t.root.setPropBytes("v", v);
    v[0] = 9;
    expect(p.asU32()).toBe(0x01020304);
  });

  it("validates names", () => {
    const t = new DeviceTree();
    expect(() => t.root.addChild("")).toThrow(DeviceTreeError);
    expect(() => t.root.addChild("a/b")).toThrow("invalid node name");
    expect(() => t.root.addChild("a@b@c")).toThrow("invalid node name");
    expect(() => t.root.setPropU32("bad name", 1)).toThrow("invalid property name");
    t.root.addChild("processor-utilization-of-resources-register");
    t.root.setPropU32("ibm,processor-radix-AP-encodings", 1);
    t.root.addChild("dup");
    expect(() => t.root.addChild("dup")).toThrow("already has a child 'dup'");
    expect(() => t.root.setPropU32("x", -1)).toThrow(RangeError);
    expect(() => t.root.setPropStrings("x", ["a\0b"])).toThrow(RangeError);
  });
});

describe("DeviceTree lookups", () => {
  it("finds nodes by path like fdt_path_offset, with or without unit address", () => {
    const t = sample();
    expect(t.getNode("/")).toBe(t.root);
    expect(t.getNode("/cpus/PowerPC,POWER9@8")?.requireProp("reg").asU32()).toBe(8);
    expect(t.getNode("/cpus/PowerPC,POWER9")?.name).toBe("PowerPC,POWER9@0");
    expect(t.getNode("/cpus/ibm,powerpc-cpu-features/vector")?.path).toBe(
      "/cpus/ibm,powerpc-cpu-features/vector",
    );
    expect(t.getNode("/cpus/PowerPC,POWER9@4")).toBeUndefined();
    expect(t.getNode("/nope/x")).toBeUndefined();
    expect(() => t.requireNode("/nope")).toThrow("no node at path '/nope'");
  });

  it("resolves aliases", () => {
    const t = sample();
    expect(t.getNode("cpu8")?.name).toBe("PowerPC,POWER9@8");
    expect(t.getNode("unknown-alias")).toBeUndefined();
  });

  it("assigns and resolves phandles", () => {
    const t = sample();
    const vec = t.requireNode("/cpus/ibm,powerpc-cpu-features/vector");
    const [dep] = vec.requireProp("dependencies").asPhandles();
    expect(t.findByPhandle(dep)?.name).toBe("floating-point");
    expect(t.maxPhandle()).toBe(1);
    expect(t.ensurePhandle(vec)).toBe(2);
    expect(t.ensurePhandle(vec)).toBe(2);
    expect(t.findByPhandle(0)).toBeUndefined();
    expect(t.findByPhandle(99)).toBeUndefined();
  });

  it("walks depth first in insertion order", () => {
    const t = sample();
    expect([...t.nodes()].map((n) => n.path)).toEqual([
      "/",
      "/cpus",
      "/cpus/PowerPC,POWER9@0",
      "/cpus/PowerPC,POWER9@8",
      "/cpus/ibm,powerpc-cpu-features",
      "/cpus/ibm,powerpc-cpu-features/floating-point",
      "/cpus/ibm,powerpc-cpu-features/vector",
      "/aliases",
    ]);
    const cpu = t.requireNode("/cpus/PowerPC,POWER9@8");
    expect(cpu.baseName).toBe("PowerPC,POWER9");
    expect(cpu.unitAddress).toBe("8");
    expect(t.requireNode("/cpus").unitAddress).toBeUndefined();
  });
});
