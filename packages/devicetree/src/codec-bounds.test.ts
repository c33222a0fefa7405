// decodeDtb at the edge of each check libfdt's fdt_check_header / fdt_check_full makes: the last
// valid value decodes, the first invalid one gives that check's code, offset and full reason. The
// blobs are a small tree written by encodeDtb and patched field by field (dtc layout: 40-byte
// header, reservation map at 40, structure block, strings block).
import { describe, expect, it } from "vitest";
import {
  bytesEqual,
  DeviceTree,
  decodeDtb,
  encodeDtb,
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FdtError,
  readU32,
  stringListBytes,
  u32Cells,
  u64Cells,
  writeU32,
} from "./index.js";

function small(): Uint8Array {
  const t = new DeviceTree();
  t.root.setPropU32("#address-cells", 2);
  t.root.addChild("cpus").addChild("cpu@0").setPropU32("reg", 0);
  t.memReserves = [{ address: 0x1000n, size: 0x2000n }];
  return encodeDtb(t);
}

function patched(at: number, value: number, blob = small()): Uint8Array {
  const b = blob.slice();
  writeU32(b, at, value);
  return b;
}

/** The FdtError decodeDtb throws, as "CODE at offset N: reason". */
function failure(blob: unknown): string {
  try {
    decodeDtb(blob as Uint8Array);
  } catch (e) {
    expect(e).toBeInstanceOf(FdtError);
    return (e as Error).message;
  }
  return "decoded";
}

describe("decodeDtb header checks at their edges", () => {
  const b = small();
  const T = b.length;
  const offStruct = readU32(b, 8);
  const offStrings = readU32(b, 12);
  const sizeStrings = readU32(b, 32);
  const sizeStruct = readU32(b, 36);

  it("the layout the patches rely on", () => {
    expect([readU32(b, 4), readU32(b, 16), offStruct]).toEqual([T, 40, 72]);
    expect(offStrings).toBe(offStruct + sizeStruct);
    expect(offStrings + sizeStrings).toBe(T);
  });

  it("input type, magic and lengths", () => {
    expect(failure([1, 2, 3])).toBe("FDT_ERR_BADVALUE at offset 0: input is not a Uint8Array");
    expect(failure(b.subarray(0, 3))).toBe(
      "FDT_ERR_TRUNCATED at offset 0: blob is 3 bytes, too short for the magic number",
    );
    expect(failure(patched(0, 0xd00dfeef))).toBe(
      "FDT_ERR_BADMAGIC at offset 0: magic is 0xd00dfeef, expected 0xd00dfeed",
    );
    expect(failure(b.subarray(0, 27))).toBe(
      "FDT_ERR_TRUNCATED at offset 27: blob is 27 bytes, too short for the header",
    );
    expect(failure(b.subarray(0, 39))).toBe(
      "FDT_ERR_TRUNCATED at offset 39: blob is 39 bytes, the version 17 header needs 40",
    );
  });

  it("versions: 16 is the oldest decoded, 17 the newest last_comp_version", () => {
    expect(failure(patched(20, 15))).toBe(
      "FDT_ERR_BADVERSION at offset 20: version 15 is older than 16 (full-path node names are not supported)",
    );
    expect(failure(patched(24, 18))).toBe(
      "FDT_ERR_BADVERSION at offset 24: last_comp_version 18 is newer than the supported version 17",
    );
    expect(failure(patched(24, 17))).toBe("decoded");
    // version 16 has a 36-byte header: no size_dt_struct, the structure block runs to totalsize
    expect(decodeDtb(patched(20, 16)).layout?.version).toBe(16);
  });

  it("totalsize: at most the blob, at least the header", () => {
    expect(failure(patched(4, T + 1))).toBe(
      `FDT_ERR_TRUNCATED at offset 4: totalsize ${T + 1} exceeds the ${T} bytes given`,
    );
    expect(failure(patched(4, 39))).toBe(
      "FDT_ERR_TRUNCATED at offset 4: totalsize 39 is smaller than the 40-byte header",
    );
    // a blob longer than totalsize decodes: the bytes after it are not part of the tree
    const longer = new Uint8Array(T + 8);
    longer.set(b);
    expect(decodeDtb(longer).layout?.totalSize).toBe(T);
  });

  it("memory reservation map: inside [header, totalsize] and 8-byte aligned", () => {
    expect(failure(patched(16, 32))).toBe(
      `FDT_ERR_TRUNCATED at offset 16: off_mem_rsvmap 32 is outside [40, ${T}]`,
    );
    expect(failure(patched(16, T + 8))).toBe(
      `FDT_ERR_TRUNCATED at offset 16: off_mem_rsvmap ${T + 8} is outside [40, ${T}]`,
    );
    expect(failure(patched(16, 44))).toBe(
      "FDT_ERR_ALIGNMENT at offset 16: memory reservation block at 44 is not 8-byte aligned",
    );
    // the map is bounded by the structure block that follows it
    const noTerminator = b.slice();
    noTerminator.fill(0xff, 56, 72);
    expect(failure(noTerminator)).toBe(
      "FDT_ERR_TRUNCATED at offset 72: memory reservation block reaches 72 without its (0, 0) terminating entry",
    );
    expect(decodeDtb(b).memReserves).toEqual([{ address: 0x1000n, size: 0x2000n }]);
  });

  it("structure block: inside the blob, 4-byte aligned, its size within totalsize", () => {
    expect(failure(patched(8, 36))).toBe(
      `FDT_ERR_TRUNCATED at offset 8: off_dt_struct 36 is outside [40, ${T}]`,
    );
    expect(failure(patched(8, T + 4))).toBe(
      `FDT_ERR_TRUNCATED at offset 8: off_dt_struct ${T + 4} is outside [40, ${T}]`,
    );
    expect(failure(patched(8, 74))).toBe(
      "FDT_ERR_ALIGNMENT at offset 8: structure block at 74 is not 4-byte aligned",
    );
    const over = T - offStruct + 1;
    expect(failure(patched(36, over))).toBe(
      `FDT_ERR_TRUNCATED at offset 36: structure block (${over} bytes at 72) runs past totalsize ${T}`,
    );
    // size_dt_struct up to totalsize is accepted (the strings then sit inside it)
    expect(failure(patched(36, T - offStruct))).toBe("decoded");
  });

  it("strings block: inside [header, totalsize] with its size", () => {
    expect(failure(patched(12, 36))).toBe(
      `FDT_ERR_TRUNCATED at offset 12: strings block (${sizeStrings} bytes at 36) is outside [40, ${T}]`,
    );
    expect(failure(patched(12, T + 4))).toBe(
      `FDT_ERR_TRUNCATED at offset 12: strings block (${sizeStrings} bytes at ${T + 4}) is outside [40, ${T}]`,
    );
    expect(failure(patched(32, sizeStrings + 1))).toBe(
      `FDT_ERR_TRUNCATED at offset 12: strings block (${sizeStrings + 1} bytes at ${offStrings}) is outside [40, ${T}]`,
    );
  });
});

describe("decodeDtb structure block checks", () => {
  const b = small();
  const s = readU32(b, 8);
  const structEnd = s + readU32(b, 36);

  it("tokens in the wrong place", () => {
    expect(failure(patched(s, FDT_END))).toBe(
      `FDT_ERR_BADSTRUCTURE at offset ${s}: FDT_END before any root node`,
    );
    expect(failure(patched(s, FDT_END_NODE))).toBe(
      `FDT_ERR_BADSTRUCTURE at offset ${s}: FDT_END_NODE without a matching FDT_BEGIN_NODE`,
    );
    // the last FDT_END becomes a second root: FDT_BEGIN_NODE after the root was closed
    expect(failure(patched(structEnd - 4, FDT_BEGIN_NODE))).toBe(
      `FDT_ERR_BADSTRUCTURE at offset ${structEnd - 4}: FDT_BEGIN_NODE after the root node was closed`,
    );
    // the structure block ends before FDT_END
    expect(failure(patched(36, structEnd - s - 4))).toBe(
      `FDT_ERR_TRUNCATED at offset ${structEnd - 4}: structure block ends at ${structEnd - 4} before FDT_END`,
    );
  });

  it("a property header that does not fit, a name not NUL-terminated", () => {
    // structure block cut to 8 bytes after the root's FDT_BEGIN_NODE: room for the tag only
    expect(failure(patched(36, 4 + 4 + 8))).toBe(
      `FDT_ERR_TRUNCATED at offset ${s + 8}: property header runs past the end of the structure block`,
    );
    // root's name (empty, NUL and padding) overwritten with non-zero bytes up to the block's end
    const nameless = b.slice();
    nameless.fill(0x41, s + 4, structEnd);
    expect(failure(nameless)).toBe(
      `FDT_ERR_TRUNCATED at offset ${s + 4}: node name is not NUL-terminated inside the structure block`,
    );
    // the strings block's last NUL removed: the last name runs to its end
    const offStrings = readU32(b, 12);
    const size = readU32(b, 32);
    const unterminated = b.slice();
    unterminated[offStrings + size - 1] = 0x41;
    const msg = failure(unterminated);
    expect(msg).toMatch(
      /^FDT_ERR_TRUNCATED at offset \d+: property name at strings offset \d+ is not NUL-terminated inside the strings block$/,
    );
  });

  it("property value length and name offset at their limits", () => {
    const vlenAt = s + 8 + 4; // the root's first FDT_PROP: tag, len, nameoff
    const vstart = s + 8 + 12;
    const room = structEnd - vstart;
    expect(failure(patched(vlenAt, room + 1))).toBe(
      `FDT_ERR_TRUNCATED at offset ${vlenAt}: property value of ${room + 1} bytes runs past the end of the structure block at ${structEnd}`,
    );
    const size = readU32(b, 32);
    expect(failure(patched(vlenAt + 4, size))).toBe(
      `FDT_ERR_BADOFFSET at offset ${vlenAt + 4}: property name offset ${size} is outside the ${size}-byte strings block`,
    );
  });
});

describe("long names and strings blocks", () => {
  it("a strings block over 4 KiB survives decode and a preserving encode byte for byte", () => {
    const t = new DeviceTree();
    const n = t.root.addChild("props");
    for (let i = 0; i < 300; i++) n.setPropU32(`a-rather-long-name-${String(i).padStart(4, "0")}`, i);
    const dtb = encodeDtb(t);
    expect(readU32(dtb, 32)).toBeGreaterThan(4096);
    const back = decodeDtb(dtb);
    expect(bytesEqual(encodeDtb(back), dtb)).toBe(true);
    expect(back.requireNode("/props").properties[299].name).toBe("a-rather-long-name-0299");
    expect(back.requireNode("/props").properties.map((p) => p.name)).toEqual(n.properties.map((p) => p.name));
  });
});

describe("byte helpers", () => {
  it("bytesEqual compares length and every byte", () => {
    expect(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false);
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it("cells: 32 and 64-bit ranges and string lists refuse what they cannot encode", () => {
    expect([...u32Cells([0, 0xffffffff])]).toEqual([0, 0, 0, 0, 255, 255, 255, 255]);
    expect(() => u32Cells([0x100000000])).toThrow("cell value 4294967296 is not a 32-bit unsigned integer");
    expect(() => u32Cells([-1])).toThrow(RangeError);
    expect(() => u32Cells([1.5])).toThrow(RangeError);
    expect([...u64Cells([0xffffffffffffffffn])]).toEqual(Array(8).fill(255));
    expect([...u64Cells([0n])]).toEqual(Array(8).fill(0));
    expect(() => u64Cells([0x10000000000000000n])).toThrow(
      "value 18446744073709551616 is not a 64-bit unsigned integer",
    );
    expect(() => u64Cells([-1n])).toThrow("value -1 is not a 64-bit unsigned integer");
    expect([...stringListBytes(["ab", "c"])]).toEqual([0x61, 0x62, 0, 0x63, 0]);
    expect(() => stringListBytes(["a\0b"])).toThrow('string "a\\u0000b" contains a NUL character');
  });
});
