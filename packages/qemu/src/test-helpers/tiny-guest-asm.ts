// The tiny guest's assembler: its code is a list of real instruction words at guest addresses
// (`W`), "C" steps in TypeScript that run as modelled time (`C`), words computed when the code runs
// (`DYN`), branches to labels resolved at assembly (`B`, `BL`) and compare-and-branch decided by C
// (`BIF`), laid out from KERNEL_BASE (`ORG`, `L`). tiny-guest.ts writes the kernel with these.
import { b, bl, type HwThread, lis, type Memory, NOP, ori, oris, sldi } from "@stopsim/isa";
import type { TinyGuestCpu, TinyGuestImage } from "./tiny-guest.js";

/** Where the kernel's text starts. */
export const KERNEL_BASE = 0x10000n;

export const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
export const s16 = (v: number): number => (v & 0x8000 ? (v & 0xffff) - 0x10000 : v & 0xffff);

export interface Ctx {
  readonly t: HwThread;
  readonly cpu: TinyGuestCpu;
  readonly k: TinyGuestImage;
  readonly ram: Memory;
}

export type Op =
  | { readonly kind: "word"; readonly word: number }
  | { readonly kind: "c"; readonly fn: (c: Ctx) => void; readonly ns: number }
  | { readonly kind: "dyn"; readonly fn: (c: Ctx) => number }
  | { readonly kind: "b"; readonly label: string; readonly link: boolean }
  | { readonly kind: "bif"; readonly label: string; readonly cond: (c: Ctx) => boolean }
  | { readonly kind: "label"; readonly name: string }
  | { readonly kind: "org"; readonly addr: number };

export type Resolved =
  | { readonly kind: "word"; readonly word: number }
  | { readonly kind: "c"; readonly fn: (c: Ctx) => void; readonly ns: number }
  | { readonly kind: "dyn"; readonly fn: (c: Ctx) => number };

export const W = (word: number): Op => ({ kind: "word", word });
export const C = (fn: (c: Ctx) => void, ns = 20): Op => ({ kind: "c", fn, ns });
export const DYN = (fn: (c: Ctx) => number): Op => ({ kind: "dyn", fn });
export const B = (label: string): Op => ({ kind: "b", label, link: false });
export const BL = (label: string): Op => ({ kind: "b", label, link: true });
/** A conditional branch: the compare-and-branch of compiled code, decided by C. */
export const BIF = (cond: (c: Ctx) => boolean, label: string): Op => ({ kind: "bif", label, cond });
export const L = (name: string): Op => ({ kind: "label", name });
export const ORG = (addr: number): Op => ({ kind: "org", addr });

/** lis/ori/sldi/oris/ori: a 64-bit constant into rD. */
export function load64(rd: number, v: bigint): Op[] {
  const x = u64(v);
  const h = (sh: bigint) => Number((x >> sh) & 0xffffn);
  return [
    W(lis(rd, s16(h(48n)))),
    W(ori(rd, rd, h(32n))),
    W(sldi(rd, rd, 32)),
    W(oris(rd, rd, h(16n))),
    W(ori(rd, rd, h(0n))),
  ];
}

/** The same with a value C computes when the code runs. */
export function load64Dyn(rd: number, v: (c: Ctx) => bigint): Op[] {
  const h = (c: Ctx, sh: bigint) => Number((u64(v(c)) >> sh) & 0xffffn);
  return [
    DYN((c) => lis(rd, s16(h(c, 48n)))),
    DYN((c) => ori(rd, rd, h(c, 32n))),
    W(sldi(rd, rd, 32)),
    DYN((c) => oris(rd, rd, h(c, 16n))),
    DYN((c) => ori(rd, rd, h(c, 0n))),
  ];
}

/** lis/ori: a 32-bit non-negative value into rD. */
export function load32Dyn(rd: number, v: (c: Ctx) => number): Op[] {
  return [DYN((c) => lis(rd, s16((v(c) >>> 16) & 0xffff))), DYN((c) => ori(rd, rd, v(c) & 0xffff))];
}

export function assemble(ops: readonly Op[]): { text: Map<number, Resolved>; labels: Map<string, number> } {
  const labels = new Map<string, number>();
  let pc = Number(KERNEL_BASE);
  for (const op of ops) {
    if (op.kind === "org") pc = op.addr;
    else if (op.kind === "label") labels.set(op.name, pc);
    else pc += 4;
  }
  const at = (name: string): number => {
    const a = labels.get(name);
    if (a === undefined) throw new Error(`tiny guest: no label ${name}`);
    return a;
  };
  const text = new Map<number, Resolved>();
  pc = Number(KERNEL_BASE);
  for (const op of ops) {
    if (op.kind === "org") {
      pc = op.addr;
      continue;
    }
    if (op.kind === "label") continue;
    const here = pc;
    if (op.kind === "b") {
      text.set(here, { kind: "word", word: op.link ? bl(at(op.label) - here) : b(at(op.label) - here) });
    } else if (op.kind === "bif") {
      const taken = b(at(op.label) - here);
      text.set(here, { kind: "dyn", fn: (c) => (op.cond(c) ? taken : NOP) });
    } else {
      text.set(here, op);
    }
    pc += 4;
  }
  return { text, labels };
}
