// fast-check generators of device trees that dtc also accepts (valid, unique names; no
// properties dtc treats specially such as phandle or reg).
import fc from "fast-check";
import { DeviceTree, type DtNode } from "../index.js";

export interface NodeSpec {
  name: string;
  props: { name: string; value: Uint8Array }[];
  children: NodeSpec[];
}

const nameChars = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789,._+-".split(""));
const stem = fc
  .tuple(fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz".split("")), fc.array(nameChars, { maxLength: 12 }))
  .map(([a, rest]) => a + rest.join(""));

const propName = stem.map((s) => `p-${s}`);
const nodeName = fc
  .tuple(stem, fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }))
  .map(([s, unit]) => (unit === undefined ? `n-${s}` : `n-${s}@${unit.toString(16)}`));

const printable = fc.integer({ min: 0x20, max: 0x7e });
/** Values shaped like the real ones: strings, string lists, cells, 64-bit cells, raw bytes, empty. */
export const propValue: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(new Uint8Array(0)),
  fc.array(fc.array(printable, { maxLength: 10 }), { minLength: 1, maxLength: 4 }).map((strs) => {
    const bytes: number[] = [];
    for (const s of strs) bytes.push(...s, 0);
    return Uint8Array.from(bytes);
  }),
  fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 8 }).map((cells) => {
    const b = new Uint8Array(cells.length * 4);
    cells.forEach((c, i) => {
      b[i * 4] = c >>> 24;
      b[i * 4 + 1] = (c >>> 16) & 0xff;
      b[i * 4 + 2] = (c >>> 8) & 0xff;
      b[i * 4 + 3] = c & 0xff;
    });
    return b;
  }),
  fc.uint8Array({ minLength: 1, maxLength: 24 }),
);

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const props = fc
  .array(fc.record({ name: propName, value: propValue }), { maxLength: 6 })
  .map((ps) => uniqueBy(ps, (p) => p.name));

function nodeAt(depth: number): fc.Arbitrary<NodeSpec> {
  const children: fc.Arbitrary<NodeSpec[]> =
    depth === 0 ? fc.constant([]) : fc.array(nodeAt(depth - 1), { maxLength: 3 });
  return fc
    .record({ name: nodeName, props, children })
    .map((n) => ({ ...n, children: uniqueBy(n.children, (c) => c.name) }));
}

/** A node with up to 3 levels of children below it. */
export const nodeSpec: fc.Arbitrary<NodeSpec> = nodeAt(3);

export const memReserves = fc.array(
  fc.record({
    address: fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
    size: fc.bigInt({ min: 1n, max: 0xffffffffffffffffn }),
  }),
  { maxLength: 3 },
);

export const treeSpec = fc.record({
  root: fc.record({ props, children: fc.array(nodeSpec, { maxLength: 4 }) }),
  reserves: memReserves,
  bootCpuidPhys: fc.integer({ min: 0, max: 0xffffffff }),
});

export type TreeSpec = typeof treeSpec extends fc.Arbitrary<infer T> ? T : never;

function fill(node: DtNode, spec: Pick<NodeSpec, "props" | "children">): void {
  for (const p of spec.props) node.setProp(p.name, p.value);
  for (const c of uniqueBy(spec.children, (x) => x.name)) fill(node.addChild(c.name), c);
}

export function buildTree(spec: TreeSpec): DeviceTree {
  const t = new DeviceTree();
  fill(t.root, spec.root);
  t.memReserves = spec.reserves;
  t.bootCpuidPhys = spec.bootCpuidPhys;
  return t;
}

/** A structural snapshot for equality checks (names, values as hex, order kept). */
export function snapshot(t: DeviceTree): unknown {
  const walk = (n: DtNode): unknown => ({
    name: n.name,
    props: n.properties.map((p) => [p.name, Buffer.from(p.rawValue).toString("hex")]),
    children: n.children.map(walk),
  });
  return {
    root: walk(t.root),
    reserves: t.memReserves.map((r) => [r.address.toString(16), r.size.toString(16)]),
    boot: t.bootCpuidPhys,
  };
}
