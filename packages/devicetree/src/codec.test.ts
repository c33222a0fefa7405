import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { latin1 } from "./bytes.js";
import {
  DeviceTree,
  decodeDtb,
  encodeDtb,
  FDT_END,
  FDT_NOP,
  FdtError,
  type FdtErrorCode,
  readU32,
  writeU32,
} from "./index.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));

function small(): DeviceTree {
  const t = new DeviceTree();
  t.root.setPropU32("#address-cells", 2);
  t.root.setPropString("compatible", "stopsim");
  const c = t.root.addChild("cpus");
  c.setPropU32("#size-cells", 0);
  c.addChild("cpu@0").setPropU32("reg", 0);
  t.memReserves = [{ address: 0x1000n, size: 0x2000n }];
  t.bootCpuidPhys = 4;
  return t;
}

function expectFdtError(blob: Uint8Array, code: FdtErrorCode, offset?: number, reason?: string): FdtError {
  let err: unknown;
  try {
    decodeDtb(blob);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FdtError);
  const fe = err as FdtError;
  expect(fe.code).toBe(code);
  if (offset !== undefined) expect(fe.offset).toBe(offset);
  if (reason !== undefined) expect(fe.reason).toContain(reason);
  return fe;
}

describe("encodeDtb (dtc layout)", () => {
  it("writes dtc's header and block layout", () => {
    const b = encodeDtb(small());
    expect(readU32(b, 0)).toBe(0xd00dfeed);
    expect(readU32(b, 4)).toBe(b.length); // totalsize
    expect(readU32(b, 16)).toBe(40); // off_mem_rsvmap right after the 40-byte header
    expect(readU32(b, 8)).toBe(40 + 32); // struct after one entry + terminator
    expect(readU32(b, 20)).toBe(17);
    expect(readU32(b, 24)).toBe(16);
    expect(readU32(b, 28)).toBe(4); // boot_cpuid_phys
    const offStrings = readU32(b, 12);
    expect(offStrings).toBe(readU32(b, 8) + readU32(b, 36));
    expect(offStrings + readU32(b, 32)).toBe(b.length);
    // strings in first-use order
    const strings = Buffer.from(b.subarray(offStrings)).toString("latin1");
    expect(strings).toBe("#address-cells\0compatible\0#size-cells\0reg\0");
  });

  it("round-trips and is deterministic", () => {
    const t = small();
    const a = encodeDtb(t);
    expect(encodeDtb(t)).toEqual(a);
    const d = decodeDtb(a);
    expect(d.bootCpuidPhys).toBe(4);
    expect(d.memReserves).toEqual([{ address: 0x1000n, size: 0x2000n }]);
    expect(d.requireNode("/cpus/cpu@0").requireProp("reg").asU32()).toBe(0);
    expect(encodeDtb(d)).toEqual(a);
    expect(encodeDtb(d, { layout: "dtc" })).toEqual(a);
  });

  it("shares a name that is the suffix of a stored one, like dtc's stringtable_insert", () => {
    const t = new DeviceTree();
    t.root.setPropU32("#size-cells", 0);
    t.root.setPropU32("cells", 1);
    const b = encodeDtb(t);
    const offStrings = readU32(b, 12);
    expect(readU32(b, 32)).toBe("#size-cells\0".length);
    // second property's nameoff points into "#size-cells"
    const off = readU32(b, 8);
    const secondProp = off + 8 + 12 + 4; // BEGIN_NODE + "\0" padded, first PROP (12 + 4 value)
    expect(readU32(b, secondProp)).toBe(3);
    expect(readU32(b, secondProp + 8)).toBe(6);
    expect(Buffer.from(b.subarray(offStrings + 6, offStrings + 12)).toString("latin1")).toBe("cells\0");
  });
});

describe("encodeDtb (libfdt sequential-write layout, as skiboot's create_dtb)", () => {
  it("names a property by the first match in the strings block, a suffix of a later string too", () => {
    // dtc: libfdt/fdt_sw.c fdt_find_add_string_ prepends new strings and looks a name up with
    // libfdt/fdt.c fdt_find_string_, which scans from the lowest address: once "dma-ranges" is in
    // front, "ranges" is found inside it
    const t = new DeviceTree();
    t.root.setPropU32("ranges", 1);
    const child = t.root.addChild("bus@0");
    child.setPropU32("dma-ranges", 2);
    child.setPropU32("ranges", 3);
    child.addChild("dev@1").setPropU32("dma-ranges", 4);
    const blob = encodeDtb(t, { layout: "libfdt-sw" });
    const d = decodeDtb(blob);
    expect(latin1(d.layout?.strings ?? new Uint8Array())).toBe("dma-ranges\0ranges\0");
    const off = (n: import("./index.js").DtNode, name: string) => n.getProp(name)?.sourceNameOffset;
    const bus = d.root.getChild("bus@0");
    expect(off(d.root, "ranges")).toBe(11);
    expect(bus && off(bus, "dma-ranges")).toBe(0);
    expect(bus && off(bus, "ranges")).toBe(4);
    const dev = bus?.getChild("dev@1");
    expect(dev && off(dev, "dma-ranges")).toBe(0);
  });

  it("matches a blob written by the real libfdt", () => {
    type PropSpec = { name: string; type: string; value: (number | string)[] };
    type NodeSpec = { name: string; props?: PropSpec[]; children?: NodeSpec[] };
    const spec = JSON.parse(readFileSync(join(FIXTURES, "libfdt-sw.tree.json"), "utf8")) as {
      reserves: [string, string][];
      root: NodeSpec;
    };
    const t = new DeviceTree();
    const fill = (node: import("./index.js").DtNode, s: NodeSpec): void => {
      for (const p of s.props ?? []) {
        if (p.type === "u32") node.setPropU32(p.name, ...(p.value as number[]));
        else if (p.type === "u64")
          node.setPropU64(p.name, ...(p.value as string[]).map((v) => BigInt(`0x${v}`)));
        else if (p.type === "strings") node.setPropStrings(p.name, p.value as string[]);
        else node.setPropEmpty(p.name);
      }
      for (const c of s.children ?? []) fill(node.addChild(c.name), c);
    };
    fill(t.root, spec.root);
    t.memReserves = spec.reserves.map(([a, s]) => ({ address: BigInt(`0x${a}`), size: BigInt(`0x${s}`) }));
    const real = fixture("libfdt-sw.dtb");
    expect(readU32(real, 16)).toBe(48);
    expect(Buffer.from(encodeDtb(t, { layout: "libfdt-sw" }))).toEqual(Buffer.from(real));
    const d = decodeDtb(real);
    expect(Buffer.from(encodeDtb(d))).toEqual(Buffer.from(real));
  });
});

describe("layout preservation", () => {
  it("keeps NOP tokens where they were", () => {
    const base = encodeDtb(small());
    // Insert two NOPs before the first FDT_PROP of /cpus and one before FDT_END.
    const offStruct = readU32(base, 8);
    const sizeStruct = readU32(base, 36);
    const struct = Array.from(base.subarray(offStruct, offStruct + sizeStruct));
    const words: number[] = [];
    for (let i = 0; i < struct.length; i += 4) words.push(readU32(Uint8Array.from(struct), i));
    const endIdx = words.lastIndexOf(FDT_END);
    words.splice(endIdx, 0, FDT_NOP);
    words.splice(2, 0, FDT_NOP, FDT_NOP); // after BEGIN_NODE and the root name word ("\0" padded)
    const newStruct = new Uint8Array(words.length * 4);
    words.forEach((w, i) => {
      writeU32(newStruct, i * 4, w);
    });
    const strings = base.subarray(readU32(base, 12), readU32(base, 12) + readU32(base, 32));
    const out = new Uint8Array(offStruct + newStruct.length + strings.length);
    out.set(base.subarray(0, offStruct));
    out.set(newStruct, offStruct);
    out.set(strings, offStruct + newStruct.length);
    writeU32(out, 4, out.length);
    writeU32(out, 12, offStruct + newStruct.length);
    writeU32(out, 36, newStruct.length);
    const t = decodeDtb(out);
    expect(t.layout?.nops).toEqual([
      { tokenIndex: 1, count: 2 },
      { tokenIndex: 10, count: 1 },
    ]);
    expect(Buffer.from(encodeDtb(t))).toEqual(Buffer.from(out));
    expect(Buffer.from(encodeDtb(t, { layout: "dtc" }))).toEqual(Buffer.from(base));
  });

  it("keeps dtc's padding (-p), boot cpu (-b) and header versions", () => {
    for (const f of ["padded.dtb", "basic-bootcpu8.dtb", "basic.dtb"]) {
      const b = fixture(f);
      expect(Buffer.from(encodeDtb(decodeDtb(b)))).toEqual(Buffer.from(b));
    }
    const padded = decodeDtb(fixture("padded.dtb"));
    expect(padded.layout?.totalSize).toBeGreaterThan(
      readU32(fixture("padded.dtb"), 12) + readU32(fixture("padded.dtb"), 32),
    );
    expect(decodeDtb(fixture("basic-bootcpu8.dtb")).bootCpuidPhys).toBe(8);
  });

  it("appends new names to the preserved strings block and keeps the old offsets", () => {
    const t = decodeDtb(fixture("basic.dtb"));
    t.requireNode("/cpus").setPropU32("stopsim,new-property", 7);
    const b = encodeDtb(t);
    const d = decodeDtb(b);
    expect(d.requireNode("/cpus").requireProp("stopsim,new-property").asU32()).toBe(7);
    const oldStrings = decodeDtb(fixture("basic.dtb")).layout?.strings ?? new Uint8Array();
    expect(Buffer.from(d.layout?.strings.subarray(0, oldStrings.length) ?? [])).toEqual(
      Buffer.from(oldStrings),
    );
  });

  it("decodes version 16 blobs (no size_dt_struct) and writes them back", () => {
    const b = encodeDtb(small());
    const v16 = b.slice();
    writeU32(v16, 20, 16);
    writeU32(v16, 36, 0); // not part of a v16 header: padding before the reserve map
    const t = decodeDtb(v16);
    expect(t.requireNode("/cpus/cpu@0").requireProp("reg").asU32()).toBe(0);
    expect(t.layout?.version).toBe(16);
    expect(Buffer.from(encodeDtb(t))).toEqual(Buffer.from(v16));
  });
});

describe("decodeDtb errors (libfdt codes, offset, reason)", () => {
  const good = (): Uint8Array => encodeDtb(small());

  it("checks the header", () => {
    expectFdtError(new Uint8Array(0), "FDT_ERR_TRUNCATED", 0, "too short");
    expectFdtError(Uint8Array.from([0xd0, 0x0d, 0xfe, 0xef, 0, 0, 0, 0]), "FDT_ERR_BADMAGIC", 0, "magic");
    expectFdtError(good().subarray(0, 20), "FDT_ERR_TRUNCATED");
    const b = good();
    writeU32(b, 20, 15);
    expectFdtError(b, "FDT_ERR_BADVERSION", 20, "older than 16");
    const c = good();
    writeU32(c, 24, 18);
    expectFdtError(c, "FDT_ERR_BADVERSION", 24);
    const d = good();
    writeU32(d, 4, d.length + 1);
    expectFdtError(d, "FDT_ERR_TRUNCATED", 4, "exceeds");
    const e = good();
    writeU32(e, 16, 44);
    expectFdtError(e, "FDT_ERR_ALIGNMENT", 16);
    const f = good();
    writeU32(f, 8, 2);
    expectFdtError(f, "FDT_ERR_TRUNCATED", 8);
    const g = good();
    writeU32(g, 32, 0xffffffff);
    expectFdtError(g, "FDT_ERR_TRUNCATED", 12, "strings block");
    const h = good();
    writeU32(h, 36, 0xfffffff0);
    expectFdtError(h, "FDT_ERR_TRUNCATED", 36, "structure block");
  });

  it("checks the structure block", () => {
    const b = good();
    const offStruct = readU32(b, 8);
    const bad = b.slice();
    writeU32(bad, offStruct, 7);
    expectFdtError(bad, "FDT_ERR_BADSTRUCTURE", offStruct, "unknown structure block token 0x7");
    const prop = b.slice();
    writeU32(prop, offStruct, 3);
    expectFdtError(prop, "FDT_ERR_BADSTRUCTURE", offStruct, "FDT_PROP outside any node");
    const endEarly = b.slice();
    writeU32(endEarly, offStruct + 8, FDT_END); // replaces the root's first FDT_PROP
    expectFdtError(endEarly, "FDT_ERR_BADSTRUCTURE", offStruct + 8, "FDT_END inside node /");
    const nameoff = b.slice();
    writeU32(nameoff, offStruct + 16, 0x1000);
    expectFdtError(nameoff, "FDT_ERR_BADOFFSET", offStruct + 16, "name offset 4096");
    const vlen = b.slice();
    writeU32(vlen, offStruct + 12, 0x10000);
    expectFdtError(vlen, "FDT_ERR_TRUNCATED", offStruct + 12, "runs past the end");
  });

  it("reports a reserve map without terminator", () => {
    const b = good();
    b.fill(0xff, 40 + 16, 40 + 32); // overwrite the (0,0) terminator
    expectFdtError(b, "FDT_ERR_TRUNCATED", 72, "without its (0, 0) terminating entry");
  });

  it("gives the errno of libfdt", () => {
    const e = new FdtError("FDT_ERR_BADSTRUCTURE", 12, "x");
    expect(e.errno).toBe(11);
    expect(e.message).toBe("FDT_ERR_BADSTRUCTURE at offset 12: x");
    expect(e.name).toBe("FdtError");
  });
});
