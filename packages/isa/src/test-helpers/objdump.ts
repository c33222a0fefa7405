// GNU objdump's disassembly as the isa suites read it (fixtures/make-binutils.sh writes the dumps).

import { expect } from "vitest";
import { type Dialect, disassemble } from "../codec.js";

export const norm = (s: string): string => s.trim().replace(/\s+/g, " ");

export interface DumpLine {
  address: bigint;
  word: number;
  text: string;
}

/**
 * Parses objdump -d lines "   addr:\tb0 b1 b2 b3 \ttext" (little-endian bytes). Branch targets
 * objdump prints with a symbol ("c00000000001c610 <arch_cpu_idle+0x90>") become "0x..." as
 * disassemble() prints them (objdump prints that form for code without symbols).
 */
export function parseObjdump(text: string): DumpLine[] {
  return text
    .split("\n")
    .filter((l) => /^ *[0-9a-f]+:\t/.test(l))
    .map((l) => {
      const [addr, bytes, insn] = l.split("\t");
      const b = bytes
        .trim()
        .split(" ")
        .map((x) => Number.parseInt(x, 16));
      const word = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
      const t = (insn ?? "").replace(/\b([0-9a-f]{16}) <[^>]*>/, "0x$1");
      return { address: BigInt(`0x${addr.trim().replace(":", "")}`), word, text: norm(t) };
    });
}

/** Every line disassembles as objdump printed it. */
export function expectSameText(lines: DumpLine[], dialect: Dialect): void {
  for (const l of lines) {
    expect(
      norm(disassemble(l.word, l.address, { dialect })),
      `0x${l.word.toString(16)} at 0x${l.address.toString(16)} (${dialect})`,
    ).toBe(l.text);
  }
}
