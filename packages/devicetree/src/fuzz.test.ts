// Property tests: encode/decode round trips of random trees, and robustness of decodeDtb against
// random mutations of valid blobs (bit flips, truncations, insertions, deletions, header and token
// overwrites): every outcome is a tree or an FdtError with a code, an offset and a reason.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DeviceTree, decodeDtb, encodeDtb, FDT_ERR, FdtError, formatDts } from "./index.js";
import { buildTree, snapshot, treeSpec } from "./test-helpers/arbitraries.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));

function smallBlob(): Uint8Array {
  const t = new DeviceTree();
  t.root.setPropU32("#address-cells", 2);
  t.root.setPropStrings("compatible", ["ibm,powernv", "qemu"]);
  const c = t.root.addChild("cpus").addChild("PowerPC,POWER9@0");
  c.setPropU32("reg", 0);
  c.setPropU64("ibm,extended-clock-frequency", 3_800_000_000n);
  c.setPropEmpty("64-bit");
  t.memReserves = [{ address: 0x30000000n, size: 0x1000n }];
  return encodeDtb(t);
}

const BASES: Uint8Array[] = [smallBlob(), read("basic.dtb"), read("libfdt-sw.dtb"), read("padded.dtb")];
const base = fc.constantFrom(...BASES);

/** Decodes; on success re-encodes and checks the result decodes to the same tree. */
function decodeSafely(blob: Uint8Array): void {
  let tree: DeviceTree;
  try {
    tree = decodeDtb(blob);
  } catch (e) {
    if (!(e instanceof FdtError)) throw new Error(`non-FdtError thrown: ${String(e)}`);
    expect(e.code in FDT_ERR).toBe(true);
    expect(e.code).not.toBe("FDT_ERR_INTERNAL");
    expect(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= blob.length).toBe(true);
    expect(e.reason.length).toBeGreaterThan(0);
    return;
  }
  const again = decodeDtb(encodeDtb(tree));
  expect(snapshot(again)).toEqual(snapshot(tree));
}

const RUNS = 26_000; // x4 mutation properties = 104k cases

describe("round trip", () => {
  it("decodeDtb(encodeDtb(t)) equals t, and both layouts re-encode identically", () => {
    fc.assert(
      fc.property(treeSpec, (spec) => {
        const tree = buildTree(spec);
        for (const layout of ["dtc", "libfdt-sw"] as const) {
          const blob = encodeDtb(tree, { layout });
          const back = decodeDtb(blob);
          expect(snapshot(back)).toEqual(snapshot(tree));
          expect(Buffer.from(encodeDtb(back))).toEqual(Buffer.from(blob));
          expect(formatDts(back)).toBe(formatDts(tree));
        }
      }),
      { numRuns: 400, seed: 1 },
    );
  });
});

describe("decodeDtb on mutated blobs", () => {
  it("bit flips", () => {
    fc.assert(
      fc.property(
        base,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }),
        (b, flips) => {
          const m = b.slice();
          for (const [at, bit] of flips) m[at % m.length] ^= 1 << bit;
          decodeSafely(m);
        },
      ),
      { numRuns: RUNS, seed: 2 },
    );
  });

  it("truncations and deletions", () => {
    fc.assert(
      fc.property(base, fc.nat(), fc.nat(), fc.boolean(), (b, x, y, truncate) => {
        const a = x % (b.length + 1);
        if (truncate) return decodeSafely(b.subarray(0, a));
        const end = Math.min(b.length, a + (y % 64) + 1);
        const m = new Uint8Array(b.length - (end - a));
        m.set(b.subarray(0, a));
        m.set(b.subarray(end), a);
        decodeSafely(m);
      }),
      { numRuns: RUNS, seed: 3 },
    );
  });

  it("insertions", () => {
    fc.assert(
      fc.property(base, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 32 }), (b, x, ins) => {
        const at = x % (b.length + 1);
        const m = new Uint8Array(b.length + ins.length);
        m.set(b.subarray(0, at));
        m.set(ins, at);
        m.set(b.subarray(at), at + ins.length);
        decodeSafely(m);
      }),
      { numRuns: RUNS, seed: 4 },
    );
  });

  it("header fields and structure tokens overwritten with hostile values", () => {
    const value = (len: number) =>
      fc.oneof(
        fc.constantFrom(0, 1, 2, 3, 4, 9, 16, 17, 40, 48, len, len - 4, len + 4, 0x7fffffff, 0xffffffff),
        fc.integer({ min: 0, max: 0xffffffff }),
      );
    fc.assert(
      fc.property(
        base.chain((b) =>
          fc.tuple(fc.constant(b), fc.integer({ min: 0, max: 9 }), fc.nat(), value(b.length), fc.boolean()),
        ),
        ([b, field, at, v, header]) => {
          const m = b.slice();
          const off = header ? field * 4 : (Math.floor((at % m.length) / 4) * 4) % (m.length - 3);
          m[off] = v >>> 24;
          m[off + 1] = (v >>> 16) & 0xff;
          m[off + 2] = (v >>> 8) & 0xff;
          m[off + 3] = v & 0xff;
          decodeSafely(m);
        },
      ),
      { numRuns: RUNS, seed: 5 },
    );
  });

  it("random bytes behind a valid magic", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        const m = new Uint8Array(4 + tail.length);
        m.set([0xd0, 0x0d, 0xfe, 0xed]);
        m.set(tail, 4);
        decodeSafely(m);
        decodeSafely(tail);
      }),
      { numRuns: 2_000, seed: 6 },
    );
  });

  it("the QEMU blob survives a smaller mutation run too", () => {
    const q = read("qemu-pseries-power9-smp2.dtb");
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 7 }), fc.nat(), (at, bit, cut) => {
        const m = q.slice();
        m[at % m.length] ^= 1 << bit;
        decodeSafely(m);
        decodeSafely(q.subarray(0, cut % q.length));
      }),
      { numRuns: 1_500, seed: 7 },
    );
  });
});
