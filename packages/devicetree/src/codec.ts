// Flattened device tree (DTB) codec, format version 17 (last compatible version 16).
// Format: devicetree specification v0.3 chapter 5; checks follow libfdt's fdt_check_header()
// and fdt_check_full() (dtc: libfdt/fdt.c, libfdt/fdt_check.c); the default encoding follows
// dtc's dt_to_blob() (dtc: flattree.c), the "libfdt-sw" encoding libfdt's sequential-write
// API as used by skiboot's create_dtb() (dtc: libfdt/fdt_sw.c; skiboot: core/fdt.c).

import { latin1, latin1Bytes, readU32, readU64, writeU32, writeU64 } from "./bytes.js";
import { DeviceTreeError, FdtError } from "./errors.js";
import { DeviceTree, type DtbLayout, DtNode, DtProperty, type MemReserve } from "./tree.js";

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;

/** Version written by the encoder and its last compatible version (dtc: dtc.h DEFAULT_FDT_VERSION). */
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;
/** Oldest version decoded: earlier versions store full paths as node names. */
export const FDT_FIRST_DECODED_VERSION = 16;
/** libfdt: FDT_LAST_SUPPORTED_VERSION. A blob whose last_comp_version is newer cannot be read. */
export const FDT_LAST_SUPPORTED_VERSION = 17;

const HEADER_SIZE_V16 = 36;
const HEADER_SIZE_V17 = 40;
const RSV_ENTRY_SIZE = 16;

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes a DTB. Throws only FdtError (libfdt error code, byte offset, reason) whatever the input,
 * and runs in time linear in the input length.
 */
export function decodeDtb(blob: Uint8Array): DeviceTree {
  if (!(blob instanceof Uint8Array)) {
    throw new FdtError("FDT_ERR_BADVALUE", 0, "input is not a Uint8Array");
  }
  try {
    return decode(blob);
  } catch (e) {
    if (e instanceof FdtError) throw e;
    // Safety net so callers only ever see FdtError; the fuzz tests assert this never happens.
    throw new FdtError(
      "FDT_ERR_INTERNAL",
      0,
      `decoder failure: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

function decode(b: Uint8Array): DeviceTree {
  const len = b.length;
  if (len < 4)
    throw new FdtError("FDT_ERR_TRUNCATED", 0, `blob is ${len} bytes, too short for the magic number`);
  const magic = readU32(b, 0);
  if (magic !== FDT_MAGIC) {
    throw new FdtError("FDT_ERR_BADMAGIC", 0, `magic is ${hex(magic)}, expected ${hex(FDT_MAGIC)}`);
  }
  if (len < 28) {
    throw new FdtError("FDT_ERR_TRUNCATED", len, `blob is ${len} bytes, too short for the header`);
  }
  const version = readU32(b, 20);
  const lastComp = readU32(b, 24);
  if (version < FDT_FIRST_DECODED_VERSION) {
    throw new FdtError(
      "FDT_ERR_BADVERSION",
      20,
      `version ${version} is older than ${FDT_FIRST_DECODED_VERSION} (full-path node names are not supported)`,
    );
  }
  if (lastComp > FDT_LAST_SUPPORTED_VERSION) {
    throw new FdtError(
      "FDT_ERR_BADVERSION",
      24,
      `last_comp_version ${lastComp} is newer than the supported version ${FDT_LAST_SUPPORTED_VERSION}`,
    );
  }
  const hdrSize = version >= 17 ? HEADER_SIZE_V17 : HEADER_SIZE_V16;
  if (len < hdrSize) {
    throw new FdtError(
      "FDT_ERR_TRUNCATED",
      len,
      `blob is ${len} bytes, the version ${version} header needs ${hdrSize}`,
    );
  }
  const totalSize = readU32(b, 4);
  const offStruct = readU32(b, 8);
  const offStrings = readU32(b, 12);
  const offRsv = readU32(b, 16);
  const bootCpuid = readU32(b, 28);
  const sizeStrings = readU32(b, 32);
  const sizeStructHdr = version >= 17 ? readU32(b, 36) : undefined;

  if (totalSize > len) {
    throw new FdtError("FDT_ERR_TRUNCATED", 4, `totalsize ${totalSize} exceeds the ${len} bytes given`);
  }
  if (totalSize < hdrSize) {
    throw new FdtError(
      "FDT_ERR_TRUNCATED",
      4,
      `totalsize ${totalSize} is smaller than the ${hdrSize}-byte header`,
    );
  }
  if (offRsv < hdrSize || offRsv > totalSize) {
    throw new FdtError(
      "FDT_ERR_TRUNCATED",
      16,
      `off_mem_rsvmap ${offRsv} is outside [${hdrSize}, ${totalSize}]`,
    );
  }
  if (offRsv % 8 !== 0) {
    throw new FdtError(
      "FDT_ERR_ALIGNMENT",
      16,
      `memory reservation block at ${offRsv} is not 8-byte aligned`,
    );
  }
  if (offStruct < hdrSize || offStruct > totalSize) {
    throw new FdtError(
      "FDT_ERR_TRUNCATED",
      8,
      `off_dt_struct ${offStruct} is outside [${hdrSize}, ${totalSize}]`,
    );
  }
  if (offStruct % 4 !== 0) {
    throw new FdtError("FDT_ERR_ALIGNMENT", 8, `structure block at ${offStruct} is not 4-byte aligned`);
  }
  if (sizeStructHdr !== undefined && sizeStructHdr > totalSize - offStruct) {
    throw new FdtError(
      "FDT_ERR_TRUNCATED",
      36,
      `structure block (${sizeStructHdr} bytes at ${offStruct}) runs past totalsize ${totalSize}`,
    );
  }
  if (offStrings < hdrSize || offStrings > totalSize || sizeStrings > totalSize - offStrings) {
    throw new FdtError(
      "FDT_ERR_TRUNCATED",
      12,
      `strings block (${sizeStrings} bytes at ${offStrings}) is outside [${hdrSize}, ${totalSize}]`,
    );
  }

  // Memory reservation block: (address, size) pairs up to a (0, 0) terminator. Its size is not in
  // the header; it is bounded by the next block or totalsize.
  let rsvLimit = totalSize;
  for (const o of [offStruct, offStrings]) if (o > offRsv && o < rsvLimit) rsvLimit = o;
  const reserves: MemReserve[] = [];
  for (let p = offRsv; ; p += RSV_ENTRY_SIZE) {
    if (p + RSV_ENTRY_SIZE > rsvLimit) {
      throw new FdtError(
        "FDT_ERR_TRUNCATED",
        p,
        `memory reservation block reaches ${rsvLimit} without its (0, 0) terminating entry`,
      );
    }
    const address = readU64(b, p);
    const size = readU64(b, p + 8);
    if (address === 0n && size === 0n) break;
    reserves.push({ address, size });
  }

  // Structure block.
  const structEnd = sizeStructHdr !== undefined ? offStruct + sizeStructHdr : totalSize;
  const stringsEnd = offStrings + sizeStrings;
  const nops: { tokenIndex: number; count: number }[] = [];
  let tokenIndex = 0;
  let depth = 0;
  let rootSeen = false;
  let rootClosed = false;
  let root: DtNode | null = null;
  const stack: DtNode[] = [];
  // property names by strings-block offset: a tree names the same few properties many times
  const names = new Map<number, string>();
  let pos = offStruct;
  for (;;) {
    if (pos + 4 > structEnd) {
      throw new FdtError("FDT_ERR_TRUNCATED", pos, `structure block ends at ${structEnd} before FDT_END`);
    }
    const tag = readU32(b, pos);
    if (tag === FDT_NOP) {
      const last = nops[nops.length - 1];
      if (last && last.tokenIndex === tokenIndex) last.count++;
      else nops.push({ tokenIndex, count: 1 });
      pos += 4;
      continue;
    }
    tokenIndex++;
    if (tag === FDT_BEGIN_NODE) {
      if (rootClosed) {
        throw new FdtError("FDT_ERR_BADSTRUCTURE", pos, "FDT_BEGIN_NODE after the root node was closed");
      }
      const nameStart = pos + 4;
      const nul = nulAfter(b, nameStart, structEnd);
      if (nul < 0) {
        throw new FdtError(
          "FDT_ERR_TRUNCATED",
          nameStart,
          "node name is not NUL-terminated inside the structure block",
        );
      }
      const node = new DtNode(latin1(b, nameStart, nameStart + nul));
      if (depth === 0) {
        rootSeen = true;
        root = node;
        stack.push(node);
      } else {
        stack[stack.length - 1].attachChild(node);
        stack.push(node);
      }
      depth++;
      node.sourcePadding = nonZeroPadding(b, nameStart + nul + 1, structEnd);
      pos = align(nameStart + nul + 1, 4);
    } else if (tag === FDT_END_NODE) {
      if (depth === 0) {
        throw new FdtError("FDT_ERR_BADSTRUCTURE", pos, "FDT_END_NODE without a matching FDT_BEGIN_NODE");
      }
      depth--;
      stack.pop();
      if (depth === 0) rootClosed = true;
      pos += 4;
    } else if (tag === FDT_PROP) {
      if (depth === 0) throw new FdtError("FDT_ERR_BADSTRUCTURE", pos, "FDT_PROP outside any node");
      if (pos + 12 > structEnd) {
        throw new FdtError(
          "FDT_ERR_TRUNCATED",
          pos,
          "property header runs past the end of the structure block",
        );
      }
      const vlen = readU32(b, pos + 4);
      const nameoff = readU32(b, pos + 8);
      const vstart = pos + 12;
      if (vlen > structEnd - vstart) {
        throw new FdtError(
          "FDT_ERR_TRUNCATED",
          pos + 4,
          `property value of ${vlen} bytes runs past the end of the structure block at ${structEnd}`,
        );
      }
      if (nameoff >= sizeStrings) {
        throw new FdtError(
          "FDT_ERR_BADOFFSET",
          pos + 8,
          `property name offset ${nameoff} is outside the ${sizeStrings}-byte strings block`,
        );
      }
      let name = names.get(nameoff);
      if (name === undefined) {
        const nameStart = offStrings + nameoff;
        const nul = nulAfter(b, nameStart, stringsEnd);
        if (nul < 0) {
          throw new FdtError(
            "FDT_ERR_TRUNCATED",
            nameStart,
            `property name at strings offset ${nameoff} is not NUL-terminated inside the strings block`,
          );
        }
        name = latin1(b, nameStart, nameStart + nul);
        names.set(nameoff, name);
      }
      const prop = new DtProperty(name, b.slice(vstart, vstart + vlen));
      prop.sourceNameOffset = nameoff;
      prop.sourcePadding = nonZeroPadding(b, vstart + vlen, structEnd);
      stack[stack.length - 1].attachProp(prop);
      pos = align(vstart + vlen, 4);
    } else if (tag === FDT_END) {
      if (depth !== 0) {
        throw new FdtError(
          "FDT_ERR_BADSTRUCTURE",
          pos,
          `FDT_END inside node ${stack[stack.length - 1].path} (${depth} node(s) not closed)`,
        );
      }
      if (!rootSeen || root === null) {
        throw new FdtError("FDT_ERR_BADSTRUCTURE", pos, "FDT_END before any root node");
      }
      pos += 4;
      break;
    } else {
      throw new FdtError("FDT_ERR_BADSTRUCTURE", pos, `unknown structure block token ${hex(tag)}`);
    }
  }
  const structTail = sizeStructHdr !== undefined ? b.slice(pos, structEnd) : new Uint8Array(0);
  const layout: DtbLayout = {
    version,
    lastCompVersion: lastComp,
    offMemRsvmap: offRsv,
    offDtStruct: offStruct,
    offDtStrings: offStrings,
    totalSize,
    strings: b.slice(offStrings, stringsEnd),
    nops,
    structTail,
  };
  if (root === null) throw new FdtError("FDT_ERR_BADSTRUCTURE", offStruct, "no root node");
  const tree = new DeviceTree(root);
  tree.bootCpuidPhys = bootCpuid;
  tree.memReserves = reserves;
  tree.layout = layout;
  return tree;
}

/** The distance from `start` to the first NUL before `end`, or -1 (no subarray per lookup). */
function nulAfter(b: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) if (b[i] === 0) return i - start;
  return -1;
}

/** The alignment padding at `end` (up to the next 4-byte boundary) if any byte of it is non-zero. */
function nonZeroPadding(b: Uint8Array, end: number, limit: number): Uint8Array | undefined {
  const stop = Math.min(align(end, 4), limit);
  for (let i = end; i < stop; i++) if (b[i] !== 0) return b.slice(end, stop);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * - "preserve" (default): reproduce the layout recorded in tree.layout by decodeDtb (header
 *   versions, block offsets and order, strings block, NOPs); trees without a layout use "dtc".
 * - "dtc": what `dtc -O dtb` writes: header, memory reservation block at 40, structure block,
 *   strings block in first-use order (a name that is a suffix of a stored one shares it).
 * - "libfdt-sw": what libfdt's sequential-write API writes (skiboot's create_dtb): same block
 *   order, but each new string is put in front of the strings block.
 */
export type DtbLayoutMode = "preserve" | "dtc" | "libfdt-sw";

export interface EncodeOptions {
  readonly layout?: DtbLayoutMode;
}

class StringTable {
  private table: string;
  /** First match of each name looked up so far (appending tables only). */
  private readonly first = new Map<string, number>();
  /** For "libfdt-sw": offsets are taken from the end while strings are prepended. */
  private readonly prepend: boolean;
  /**
   * For "libfdt-sw": each name looked up so far -> the offset from the end of its first match.
   * Prepending string S moves the first match of exactly the names that are suffixes of S (a match
   * holds one NUL, at its end, so it cannot straddle S's terminator and the older strings).
   */
  private readonly firstFromEnd = new Map<string, number>();

  constructor(initial: string, prepend: boolean) {
    this.table = initial;
    this.prepend = prepend;
  }

  /** Offset of `name`: reuse a hint, else the first occurrence of name+NUL, else add it. */
  offsetOf(name: string, hint: number | undefined): number | { fromEnd: number } {
    const t = this.table;
    if (
      hint !== undefined &&
      !this.prepend &&
      t.startsWith(name, hint) &&
      hint + name.length < t.length &&
      t.charCodeAt(hint + name.length) === 0
    ) {
      return hint;
    }
    if (this.prepend) {
      // libfdt-sw: offsets count from the end; a prepended string may hold an earlier match
      const cached = this.firstFromEnd.get(name);
      if (cached !== undefined) return { fromEnd: cached };
      const key = `${name}\0`;
      const found = this.table.indexOf(key);
      if (found >= 0) {
        this.firstFromEnd.set(name, this.table.length - found);
        return { fromEnd: this.table.length - found };
      }
      this.table = key + this.table;
      const len = this.table.length;
      for (const known of this.firstFromEnd.keys()) {
        if (name.endsWith(known)) this.firstFromEnd.set(known, len - (name.length - known.length));
      }
      this.firstFromEnd.set(name, len);
      return { fromEnd: len };
    }
    const key = `${name}\0`;
    // a name without NUL matches only inside one NUL-terminated string, so appending strings never
    // creates an earlier match: the first match, once known, stays the first
    const known = this.first.get(name);
    if (known !== undefined) return known;
    const found = this.table.indexOf(key);
    if (found >= 0) {
      this.first.set(name, found);
      return found;
    }
    const off = this.table.length;
    this.table += key;
    this.first.set(name, off);
    return off;
  }

  get content(): string {
    return this.table;
  }
}

function checkEncodable(name: string, what: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0 || c > 0xff) {
      throw new DeviceTreeError(
        `${what} name ${JSON.stringify(name)} cannot be encoded: it has a NUL or non-byte character`,
      );
    }
  }
  return name;
}

class ByteWriter {
  private buf = new Uint8Array(4096);
  length = 0;

  private grow(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let n = this.buf.length * 2;
    while (n < this.length + extra) n *= 2;
    const nb = new Uint8Array(n);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
  }

  u32(v: number): void {
    this.grow(4);
    writeU32(this.buf, this.length, v);
    this.length += 4;
  }

  /** The bytes of a string of chars <= 0xff, then a NUL (a node name). */
  latin1z(s: string): void {
    this.grow(s.length + 1);
    const at = this.length;
    for (let i = 0; i < s.length; i++) this.buf[at + i] = s.charCodeAt(i);
    this.buf[at + s.length] = 0;
    this.length += s.length + 1;
  }

  bytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Pads to 4 bytes with zeros, or with `fill` when it has exactly the padding length. */
  padTo4(fill?: Uint8Array): void {
    const n = align(this.length, 4) - this.length;
    this.grow(n);
    if (fill && fill.length === n) this.buf.set(fill, this.length);
    else this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Encodes a tree as a DTB (deterministic: the same tree and options give the same bytes). */
export function encodeDtb(tree: DeviceTree, options: EncodeOptions = {}): Uint8Array {
  const mode = options.layout ?? "preserve";
  const layout = mode === "preserve" ? tree.layout : null;
  const strings = new StringTable(layout ? latin1(layout.strings) : "", mode === "libfdt-sw");

  // Structure block, iteratively (no recursion limit on depth).
  const w = new ByteWriter();
  const fromEndFixups: { at: number; fromEnd: number }[] = [];
  const nops = layout?.nops ?? [];
  let nopCursor = 0;
  let tokenIndex = 0;
  const token = (tag: number): void => {
    while (nopCursor < nops.length && nops[nopCursor].tokenIndex === tokenIndex) {
      for (let i = 0; i < nops[nopCursor].count; i++) w.u32(FDT_NOP);
      nopCursor++;
    }
    tokenIndex++;
    w.u32(tag);
  };
  type Frame = { node: DtNode; next: number };
  const begin = (node: DtNode): void => {
    token(FDT_BEGIN_NODE);
    w.latin1z(checkEncodable(node.name, "node"));
    w.padTo4(layout ? node.sourcePadding : undefined);
    for (const p of node.properties) {
      token(FDT_PROP);
      w.u32(p.length);
      const off = strings.offsetOf(
        checkEncodable(p.name, "property"),
        layout ? p.sourceNameOffset : undefined,
      );
      if (typeof off === "number") w.u32(off);
      else {
        fromEndFixups.push({ at: w.length, fromEnd: off.fromEnd });
        w.u32(0);
      }
      w.bytes(p.rawValue);
      w.padTo4(layout ? p.sourcePadding : undefined);
    }
  };
  const stack: Frame[] = [{ node: tree.root, next: 0 }];
  begin(tree.root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next < top.node.children.length) {
      const child = top.node.children[top.next++];
      begin(child);
      stack.push({ node: child, next: 0 });
    } else {
      token(FDT_END_NODE);
      stack.pop();
    }
  }
  token(FDT_END);
  if (layout) w.bytes(layout.structTail);
  const struct = w.result();
  const stringsBytes = latin1Bytes(strings.content);
  for (const f of fromEndFixups) writeU32(struct, f.at, stringsBytes.length - f.fromEnd);

  // Memory reservation block.
  const rsv = new Uint8Array((tree.memReserves.length + 1) * RSV_ENTRY_SIZE);
  tree.memReserves.forEach((r, i) => {
    writeU64(rsv, i * RSV_ENTRY_SIZE, r.address);
    writeU64(rsv, i * RSV_ENTRY_SIZE + 8, r.size);
  });

  const version = layout?.version ?? FDT_VERSION;
  const lastComp = layout?.lastCompVersion ?? FDT_LAST_COMP_VERSION;
  const hdrSize = version >= 17 ? HEADER_SIZE_V17 : HEADER_SIZE_V16;

  // Place the blocks: at their recorded offsets when they still fit, else packed after the
  // previous block, in the recorded order (dtc and libfdt order: rsvmap, struct, strings).
  const blocks = [
    { id: "rsv", data: rsv, align: 8, want: layout?.offMemRsvmap ?? 0 },
    { id: "struct", data: struct, align: 4, want: layout?.offDtStruct ?? 0 },
    { id: "strings", data: stringsBytes, align: 1, want: layout?.offDtStrings ?? 0 },
  ];
  const order = layout ? [...blocks].sort((a, c) => a.want - c.want) : blocks;
  const placed = new Map<string, number>();
  // dtc: reserve map at ALIGN(header, 8) = 40; libfdt sequential write: ALIGN(header, 16) = 48.
  let cursor = align(hdrSize, mode === "libfdt-sw" ? RSV_ENTRY_SIZE : 8);
  for (const blk of order) {
    const packed = align(cursor, blk.align);
    const at = layout && blk.want >= packed && blk.want % blk.align === 0 ? blk.want : packed;
    placed.set(blk.id, at);
    cursor = at + blk.data.length;
  }
  const totalSize = Math.max(cursor, layout?.totalSize ?? 0);
  const out = new Uint8Array(totalSize);
  for (const blk of blocks) out.set(blk.data, placed.get(blk.id) ?? 0);
  writeU32(out, 0, FDT_MAGIC);
  writeU32(out, 4, totalSize);
  writeU32(out, 8, placed.get("struct") ?? 0);
  writeU32(out, 12, placed.get("strings") ?? 0);
  writeU32(out, 16, placed.get("rsv") ?? 0);
  writeU32(out, 20, version);
  writeU32(out, 24, lastComp);
  writeU32(out, 28, tree.bootCpuidPhys >>> 0);
  writeU32(out, 32, stringsBytes.length);
  if (version >= 17) writeU32(out, 36, struct.length);
  return out;
}
