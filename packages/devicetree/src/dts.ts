// DTS printer in the style of `dtc -I dtb -O dts` (dtc 1.6.1: treesource.c dt_to_source,
// write_tree_source_node, write_propval, guess_value_type, write_propval_string,
// write_propval_int). For a decoded blob there is no type information, so the value type is
// guessed exactly as dtc does; the default output equals dtc's byte for byte.

import type { DeviceTree, DtNode, DtProperty } from "./tree.js";

export interface FormatDtsOptions {
  /**
   * How NULs inside a string value are printed. "dtc" (default) prints `"a\0b"` as dtc 1.6.1
   * does; "split" prints the string list `"a", "b"` (same bytes when compiled again).
   */
  readonly stringLists?: "dtc" | "split";
  /**
   * "dtc" (default): leave out a "name" property whose value is the node's base name, as dtc's
   * name_properties check does before printing (dtc: checks.c check_name_properties deletes such
   * redundant properties). "keep": print every property.
   */
  readonly nameProperties?: "dtc" | "keep";
}

/** dtc checks.c check_name_properties: a "name" property equal to the base name is redundant. */
function isRedundantName(node: DtNode, p: DtProperty): boolean {
  if (p.name !== "name") return false;
  const v = p.rawValue;
  const base = node.baseName;
  if (v.length !== base.length + 1 || v[base.length] !== 0) return false;
  for (let i = 0; i < base.length; i++) if (v[i] !== base.charCodeAt(i)) return false;
  return true;
}

// isprint() in the C locale, plus the escapes dtc's isstring() accepts (dtc: treesource.c).
const isPrint = (c: number): boolean => c >= 0x20 && c <= 0x7e;
const isStringChar = (c: number): boolean => isPrint(c) || c === 0 || (c >= 7 && c <= 13);

type ValueType = "string" | "u32" | "u8";

/** dtc guess_value_type() for a value without type markers (and without labels). */
export function guessValueType(v: Uint8Array): ValueType {
  const len = v.length;
  let nnotstring = 0;
  let nnul = 0;
  for (let i = 0; i < len; i++) {
    if (!isStringChar(v[i])) nnotstring++;
    if (v[i] === 0) nnul++;
  }
  if (v[len - 1] === 0 && nnotstring === 0 && nnul <= len - nnul) return "string";
  if (len % 4 === 0) return "u32";
  return "u8";
}

const ESCAPES: Record<number, string> = {
  7: "\\a",
  8: "\\b",
  9: "\\t",
  10: "\\n",
  11: "\\v",
  12: "\\f",
  13: "\\r",
  92: "\\\\",
  34: '\\"',
};

function formatString(v: Uint8Array, split: boolean): string {
  let s = '"';
  for (let i = 0; i < v.length - 1; i++) {
    const c = v[i];
    if (c === 0) s += split ? '", "' : "\\0";
    else if (ESCAPES[c] !== undefined) s += ESCAPES[c];
    else if (isPrint(c)) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return `${s}"`;
}

function formatCells(v: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < v.length; i += 4) {
    const x = ((v[i] << 24) | (v[i + 1] << 16) | (v[i + 2] << 8) | v[i + 3]) >>> 0;
    parts.push(`0x${x.toString(16).padStart(2, "0")}`);
  }
  return `<${parts.join(" ")}>`;
}

function formatBytes(v: Uint8Array): string {
  const parts: string[] = [];
  for (const c of v) parts.push(c.toString(16).padStart(2, "0"));
  return `[${parts.join(" ")}]`;
}

/** The text after the property name: `;` or ` = <...>;` etc. */
export function formatPropertyValue(prop: DtProperty, options: FormatDtsOptions = {}): string {
  const v = prop.rawValue;
  if (v.length === 0) return ";";
  switch (guessValueType(v)) {
    case "string":
      return ` = ${formatString(v, options.stringLists === "split")};`;
    case "u32":
      return ` = ${formatCells(v)};`;
    default:
      return ` = ${formatBytes(v)};`;
  }
}

/** Prints a tree as DTS text, as `dtc -I dtb -O dts` prints the same blob. */
export function formatDts(tree: DeviceTree, options: FormatDtsOptions = {}): string {
  const out: string[] = ["/dts-v1/;\n\n"];
  for (const r of tree.memReserves) {
    out.push(
      `/memreserve/\t0x${r.address.toString(16).padStart(16, "0")} 0x${r.size.toString(16).padStart(16, "0")};\n`,
    );
  }
  type Frame = { node: DtNode; depth: number; next: number };
  const open = (node: DtNode, depth: number): void => {
    const indent = "\t".repeat(depth);
    out.push(`${indent}${node.name !== "" ? node.name : "/"} {\n`);
    let nameDropped = false;
    for (const p of node.properties) {
      // dtc deletes only the first "name" property of a node
      if (!nameDropped && options.nameProperties !== "keep" && p.name === "name") {
        nameDropped = true;
        if (isRedundantName(node, p)) continue;
      }
      out.push(`${indent}\t${p.name}${formatPropertyValue(p, options)}\n`);
    }
  };
  const stack: Frame[] = [{ node: tree.root, depth: 0, next: 0 }];
  open(tree.root, 0);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next < top.node.children.length) {
      const child = top.node.children[top.next++];
      out.push("\n");
      open(child, top.depth + 1);
      stack.push({ node: child, depth: top.depth + 1, next: 0 });
    } else {
      out.push(`${"\t".repeat(top.depth)}};\n`);
      stack.pop();
    }
  }
  return out.join("");
}
