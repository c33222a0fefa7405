// In-memory device tree: nodes, properties, phandles, typed accessors.
// Semantics follow the devicetree specification v0.3 (chapter 2) and libfdt's lookups
// (dtc: libfdt/fdt_ro.c fdt_path_offset, fdt_subnode_offset, fdt_node_offset_by_phandle);
// the typed readers mirror Linux's of_property_read_* helpers (linux: include/linux/of.h).

import { isLatin1, readU32, readU64, stringListBytes, u32Cells, u64Cells, utf8String } from "./bytes.js";
import { DeviceTreeError, PropertyFormatError } from "./errors.js";

/** One /memreserve/ entry of the memory reservation block. */
export interface MemReserve {
  readonly address: bigint;
  readonly size: bigint;
}

/**
 * How a decoded blob was laid out, kept so that re-encoding an unmodified tree reproduces the
 * original bytes (header fields, block offsets and order, the exact strings block, NOP tokens).
 * Trees built in memory have no layout and encode the way dtc does.
 */
export interface DtbLayout {
  /** Header `version` (17 for current blobs, 16 accepted). */
  readonly version: number;
  /** Header `last_comp_version`. */
  readonly lastCompVersion: number;
  readonly offMemRsvmap: number;
  readonly offDtStruct: number;
  readonly offDtStrings: number;
  readonly totalSize: number;
  /** The strings block exactly as found (string order, shared suffixes, unused strings). */
  readonly strings: Uint8Array;
  /** NOP tokens: `count` FDT_NOP tokens stand before the non-NOP token number `tokenIndex`. */
  readonly nops: readonly { readonly tokenIndex: number; readonly count: number }[];
  /** Bytes between FDT_END and the end of the structure block (`size_dt_struct`), if any. */
  readonly structTail: Uint8Array;
}

// devicetree specification v0.3, 2.2.1 (node names) and 2.2.4 (property names).
// The specification's 31-character limit is not enforced: real firmware (skiboot's
// "processor-utilization-of-resources-register" cpu feature) exceeds it and dtc accepts that.
const NODE_NAME_RE = /^[0-9A-Za-z,._+-]+(@[0-9A-Za-z,._+-]+)?$/;
const PROP_NAME_RE = /^[0-9A-Za-z,._+?#-]+$/;

function checkNodeName(name: string): void {
  if (!NODE_NAME_RE.test(name)) {
    throw new DeviceTreeError(
      `invalid node name '${name}': expected characters of [0-9A-Za-z,._+-], optionally followed by @unit-address (devicetree specification 2.2.1)`,
    );
  }
}

function checkPropName(name: string): void {
  if (!PROP_NAME_RE.test(name)) {
    throw new DeviceTreeError(
      `invalid property name '${name}': expected characters of [0-9A-Za-z,._+?#-] (devicetree specification 2.2.4)`,
    );
  }
}

/** A property: a name and a byte string. Typed readers check the length and throw PropertyFormatError. */
export class DtProperty {
  readonly name: string;
  private data: Uint8Array;
  /** The node the property belongs to (null once removed). */
  node: DtNode | null = null;
  /** Offset of the name in the strings block of the blob it was decoded from. */
  sourceNameOffset: number | undefined;
  /**
   * Non-zero alignment padding found after the value in the decoded blob (libfdt's read-write
   * functions can leave stale bytes there); written back when the padding length still fits.
   */
  sourcePadding: Uint8Array | undefined;

  /** @internal Use DtNode.setProp* to create properties. */
  constructor(name: string, value: Uint8Array) {
    this.name = name;
    this.data = value;
  }

  /** Number of value bytes. */
  get length(): number {
    return this.data.length;
  }

  /** The value bytes without a copy. Treat as read-only; change values through DtNode.setProp. */
  get rawValue(): Uint8Array {
    return this.data;
  }

  /** @internal */
  replaceValue(value: Uint8Array): void {
    this.data = value;
  }

  /** A copy of the value bytes. */
  asBytes(): Uint8Array {
    return this.data.slice();
  }

  isEmpty(): boolean {
    return this.data.length === 0;
  }

  private where(): string {
    return this.node ? `${this.node.path === "/" ? "" : this.node.path}/${this.name}` : this.name;
  }

  private fail(expected: string): never {
    throw new PropertyFormatError(
      `property ${this.where()}: expected ${expected}, found ${this.data.length} bytes`,
    );
  }

  /** One 32-bit cell (like of_property_read_u32 on a 4-byte property). */
  asU32(): number {
    if (this.data.length !== 4) this.fail("4 bytes (one 32-bit cell)");
    return readU32(this.data, 0);
  }

  /** One 64-bit value stored as two cells (like of_property_read_u64). */
  asU64(): bigint {
    if (this.data.length !== 8) this.fail("8 bytes (one 64-bit value)");
    return readU64(this.data, 0);
  }

  /** All 32-bit cells (like of_property_read_u32_array over the whole value). */
  asU32Array(): number[] {
    if (this.data.length % 4 !== 0) this.fail("a multiple of 4 bytes (32-bit cells)");
    const out: number[] = [];
    for (let i = 0; i < this.data.length; i += 4) out.push(readU32(this.data, i));
    return out;
  }

  /** All 64-bit values (like of_property_read_u64_array over the whole value). */
  asU64Array(): bigint[] {
    if (this.data.length % 8 !== 0) this.fail("a multiple of 8 bytes (64-bit values)");
    const out: bigint[] = [];
    for (let i = 0; i < this.data.length; i += 8) out.push(readU64(this.data, i));
    return out;
  }

  /** Cells read as phandles (a `<&a &b>` list, e.g. dt-cpu-features "dependencies"). */
  asPhandles(): number[] {
    return this.asU32Array();
  }

  /**
   * The first NUL-terminated string (like of_property_read_string, which returns the start of the
   * value). Decoded as UTF-8.
   */
  asString(): string {
    const nul = this.data.indexOf(0);
    if (nul < 0) this.fail("a NUL-terminated string");
    return utf8String(this.data.subarray(0, nul));
  }

  /** All strings of a string list (like of_property_read_string_array). Empty value -> []. */
  asStringList(): string[] {
    if (this.data.length === 0) return [];
    if (this.data[this.data.length - 1] !== 0) this.fail("a list of NUL-terminated strings");
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < this.data.length; i++) {
      if (this.data[i] === 0) {
        out.push(utf8String(this.data.subarray(start, i)));
        start = i + 1;
      }
    }
    return out;
  }
}

/** A node: a name (`base@unit`), ordered properties, ordered children. */
export class DtNode {
  readonly name: string;
  parent: DtNode | null = null;
  /** Non-zero alignment padding after the name in the decoded blob (see DtProperty.sourcePadding). */
  sourcePadding: Uint8Array | undefined;
  private readonly props: DtProperty[] = [];
  private readonly kids: DtNode[] = [];

  /** @internal Use DeviceTree.root and DtNode.addChild. */
  constructor(name: string) {
    this.name = name;
  }

  get properties(): readonly DtProperty[] {
    return this.props;
  }

  get children(): readonly DtNode[] {
    return this.kids;
  }

  /** The name before '@' (e.g. "PowerPC,POWER9" for "PowerPC,POWER9@8"). */
  get baseName(): string {
    const at = this.name.indexOf("@");
    return at < 0 ? this.name : this.name.slice(0, at);
  }

  /** The unit address after '@', if any (e.g. "8"). */
  get unitAddress(): string | undefined {
    const at = this.name.indexOf("@");
    return at < 0 ? undefined : this.name.slice(at + 1);
  }

  /** Full path from the root ("/" for the root). */
  get path(): string {
    const parts: string[] = [];
    let n: DtNode | null = this;
    while (n?.parent) {
      parts.push(n.name);
      n = n.parent;
    }
    return `/${parts.reverse().join("/")}`;
  }

  /** The phandle from "phandle" (or legacy "linux,phandle"), if the node has one. */
  get phandle(): number | undefined {
    const p = this.getProp("phandle") ?? this.getProp("linux,phandle");
    return p && p.length === 4 ? readU32(p.rawValue, 0) : undefined;
  }

  getProp(name: string): DtProperty | undefined {
    return this.props.find((p) => p.name === name);
  }

  hasProp(name: string): boolean {
    return this.getProp(name) !== undefined;
  }

  /** Like getProp but throws a DeviceTreeError naming the node when the property is missing. */
  requireProp(name: string): DtProperty {
    const p = this.getProp(name);
    if (!p) throw new DeviceTreeError(`node ${this.path} has no property '${name}'`);
    return p;
  }

  /**
   * Child lookup with libfdt's rule (fdt_subnode_offset): an exact name match, or, when `name`
   * has no '@', a child whose name before '@' equals it. The first match in order wins.
   */
  getChild(name: string): DtNode | undefined {
    const exact = this.kids.find((k) => k.name === name);
    if (exact || name.includes("@")) return exact;
    return this.kids.find((k) => k.baseName === name);
  }

  /** Adds a child at the end (node order is kept in the blob). Throws if the exact name exists. */
  addChild(name: string): DtNode {
    checkNodeName(name);
    if (this.kids.some((k) => k.name === name)) {
      throw new DeviceTreeError(`node ${this.path} already has a child '${name}'`);
    }
    return this.attachChild(new DtNode(name));
  }

  /** @internal Appends without validation (used by the decoder, which keeps any name it finds). */
  attachChild(child: DtNode): DtNode {
    child.parent = this;
    this.kids.push(child);
    return child;
  }

  removeChild(child: DtNode): boolean {
    const i = this.kids.indexOf(child);
    if (i < 0) return false;
    this.kids.splice(i, 1);
    child.parent = null;
    return true;
  }

  /** @internal Appends a property without validation (decoder). */
  attachProp(prop: DtProperty): DtProperty {
    prop.node = this;
    this.props.push(prop);
    return prop;
  }

  /**
   * Sets a property to a copy of `value`. An existing property keeps its position (like libfdt
   * fdt_setprop); a new one is appended.
   */
  setProp(name: string, value: Uint8Array): DtProperty {
    const existing = this.getProp(name);
    if (existing) {
      existing.replaceValue(value.slice());
      return existing;
    }
    checkPropName(name);
    return this.attachProp(new DtProperty(name, value.slice()));
  }

  /** `name;` (an empty, boolean property). */
  setPropEmpty(name: string): DtProperty {
    return this.setProp(name, new Uint8Array(0));
  }

  /** `name = <a b c>;` */
  setPropU32(name: string, ...cells: number[]): DtProperty {
    return this.setProp(name, u32Cells(cells));
  }

  /** `name = /bits/ 64 <a b>;` (each value as two cells, high first). */
  setPropU64(name: string, ...values: bigint[]): DtProperty {
    return this.setProp(name, u64Cells(values));
  }

  /** `name = "value";` (UTF-8, NUL-terminated). */
  setPropString(name: string, value: string): DtProperty {
    return this.setProp(name, stringListBytes([value]));
  }

  /** `name = "a", "b";` */
  setPropStrings(name: string, values: readonly string[]): DtProperty {
    return this.setProp(name, stringListBytes(values));
  }

  /** `name = [01 02];` */
  setPropBytes(name: string, bytes: Uint8Array): DtProperty {
    return this.setProp(name, bytes);
  }

  removeProp(name: string): boolean {
    const i = this.props.findIndex((p) => p.name === name);
    if (i < 0) return false;
    const [p] = this.props.splice(i, 1);
    p.node = null;
    return true;
  }

  /** This node and all descendants, depth first in blob order (iterative: no recursion limit). */
  *walk(): Generator<DtNode> {
    const stack: DtNode[] = [this];
    while (stack.length > 0) {
      const n = stack.pop() as DtNode;
      yield n;
      for (let i = n.kids.length - 1; i >= 0; i--) stack.push(n.kids[i]);
    }
  }
}

/** A device tree: root node, memory reservations, boot CPU, and (for decoded blobs) the layout. */
export class DeviceTree {
  readonly root: DtNode;
  memReserves: MemReserve[] = [];
  /** Header `boot_cpuid_phys`: the physical id (PIR on POWER) of the boot CPU. */
  bootCpuidPhys = 0;
  /** Layout of the blob this tree was decoded from; null for trees built in memory. */
  layout: DtbLayout | null = null;

  /** An empty tree (root named ""), or a tree around an existing parentless root node. */
  constructor(root?: DtNode) {
    if (root?.parent) throw new DeviceTreeError(`node ${root.path} has a parent and cannot be a root`);
    this.root = root ?? new DtNode("");
  }

  /**
   * Looks a node up by path like libfdt's fdt_path_offset: "/cpus/PowerPC,POWER9@8", where a
   * component without '@' also matches "name@anything". A path not starting with '/' starts with
   * an alias from /aliases.
   */
  getNode(path: string): DtNode | undefined {
    let node: DtNode | undefined = this.root;
    let rest = path;
    if (!path.startsWith("/")) {
      const slash = path.indexOf("/");
      const alias = slash < 0 ? path : path.slice(0, slash);
      const target = this.root.getChild("aliases")?.getProp(alias);
      if (!target || target.length === 0 || target.rawValue[target.length - 1] !== 0) return undefined;
      const aliasPath = target.asString();
      if (!aliasPath.startsWith("/")) return undefined;
      node = this.getNode(aliasPath);
      rest = slash < 0 ? "" : path.slice(slash);
    }
    for (const part of rest.split("/")) {
      if (part === "" || node === undefined) continue;
      node = node.getChild(part);
    }
    return node;
  }

  /** Like getNode but throws a DeviceTreeError when the path does not exist. */
  requireNode(path: string): DtNode {
    const n = this.getNode(path);
    if (!n) throw new DeviceTreeError(`no node at path '${path}'`);
    return n;
  }

  /** The node whose "phandle" (or "linux,phandle") equals `phandle` (libfdt fdt_node_offset_by_phandle). */
  findByPhandle(phandle: number): DtNode | undefined {
    if (phandle === 0 || phandle === 0xffffffff) return undefined;
    for (const n of this.root.walk()) if (n.phandle === phandle) return n;
    return undefined;
  }

  /** Every node, depth first in blob order. */
  nodes(): Generator<DtNode> {
    return this.root.walk();
  }

  /** Largest phandle in use (0 if none), like libfdt fdt_find_max_phandle. */
  maxPhandle(): number {
    let max = 0;
    for (const n of this.root.walk()) {
      const ph = n.phandle;
      if (ph !== undefined && ph !== 0xffffffff && ph > max) max = ph;
    }
    return max;
  }

  /** Gives `node` a "phandle" property if it has none (next free value) and returns its phandle. */
  ensurePhandle(node: DtNode): number {
    const existing = node.phandle;
    if (existing !== undefined) return existing;
    const ph = this.maxPhandle() + 1;
    node.setPropU32("phandle", ph);
    return ph;
  }
}

/** True for names the tree API accepts for nodes (devicetree specification 2.2.1). */
export function isValidNodeName(name: string): boolean {
  return NODE_NAME_RE.test(name) && isLatin1(name);
}

/** True for names the tree API accepts for properties (devicetree specification 2.2.4). */
export function isValidPropertyName(name: string): boolean {
  return PROP_NAME_RE.test(name);
}
