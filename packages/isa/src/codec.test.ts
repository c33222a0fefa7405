import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EncodeError } from "./asm.js";
import { decode, disassemble, encode, type Insn } from "./codec.js";
import { BO_KIND_BC, BO_KIND_CTR, BO_KIND_LR, boValid } from "./insn.js";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const norm = (s: string): string => s.trim().replace(/\s+/g, " ");

interface DumpLine {
  address: number;
  word: number;
  text: string;
}

/** Parses objdump -d lines "   addr:\tb0 b1 b2 b3 \ttext" (little-endian bytes). */
function parseObjdump(text: string): DumpLine[] {
  return text
    .split("\n")
    .filter((l) => /^ +[0-9a-f]+:\t/.test(l))
    .map((l) => {
      const [addr, bytes, insn] = l.split("\t");
      const b = bytes
        .trim()
        .split(" ")
        .map((x) => Number.parseInt(x, 16));
      const word = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
      return { address: Number.parseInt(addr, 16), word, text: norm(insn ?? "") };
    });
}

describe("disassemble() against GNU objdump fixtures (fixtures/make-binutils.sh)", () => {
  for (const file of ["insns.objdump.txt", "sprs.objdump.txt"]) {
    it(`prints what objdump prints for every word of ${file} and re-encodes it`, () => {
      const lines = parseObjdump(readFileSync(new URL(file, FIXTURES), "utf8"));
      expect(lines.length).toBeGreaterThan(100);
      for (const l of lines) {
        expect(
          norm(disassemble(l.word, l.address)),
          `0x${l.word.toString(16)} at 0x${l.address.toString(16)}`,
        ).toBe(l.text);
        const insn = decode(l.word);
        expect(insn.op).not.toBe("invalid");
        expect(encode(insn)).toBe(l.word);
      }
      if (file === "insns.objdump.txt")
        expect(new Set(lines.map((l) => l.word)).size).toBeGreaterThanOrEqual(60);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------
const reg = fc.integer({ min: 0, max: 31 });
const bit = fc.integer({ min: 0, max: 1 });
const s16 = fc.integer({ min: -32768, max: 32767 });
const u16 = fc.integer({ min: 0, max: 65535 });
const bf = fc.integer({ min: 0, max: 7 });

function branchBo(kind: number, asSafe: boolean): fc.Arbitrary<[number, number]> {
  const asBo =
    kind === BO_KIND_CTR
      ? [4, 6, 7, 12, 14, 15, 20]
      : [0, 2, 4, 6, 7, 8, 10, 12, 14, 15, 16, 18, 20, 24, 25, 26, 27];
  const bo = asSafe ? fc.constantFrom(...asBo) : fc.integer({ min: 0, max: 31 });
  return fc.tuple(bo, reg).filter(([o, i]) => boValid(o, i, kind));
}

function insnArb(asSafe: boolean): fc.Arbitrary<Insn> {
  return fc.oneof(
    fc.constantFrom<Insn>({ op: "stop" }, { op: "rfid" }, { op: "hrfid" }, { op: "isync" }, { op: "attn" }),
    fc.record({ op: fc.constant("sc" as const), lev: fc.integer({ min: 0, max: asSafe ? 1 : 127 }) }),
    fc.record({ op: fc.constantFrom("addi" as const, "addis" as const), rt: reg, ra: reg, si: s16 }),
    fc.record({ op: fc.constantFrom("ori" as const, "oris" as const), ra: reg, rs: reg, ui: u16 }),
    fc.record({
      op: fc.constantFrom("or" as const, "and" as const, "xor" as const),
      ra: reg,
      rs: reg,
      rb: reg,
      rc: bit,
    }),
    fc.record({ op: fc.constantFrom("add" as const, "subf" as const), rt: reg, ra: reg, rb: reg, rc: bit }),
    fc.record({
      op: fc.constant("rldicr" as const),
      ra: reg,
      rs: reg,
      sh: fc.integer({ min: 0, max: 63 }),
      me: fc.integer({ min: 0, max: 63 }),
      rc: bit,
    }),
    fc.record({ op: fc.constantFrom("cmp" as const, "cmpl" as const), bf, l: bit, ra: reg, rb: reg }),
    fc.record({ op: fc.constant("cmpi" as const), bf, l: bit, ra: reg, si: s16 }),
    fc.record({ op: fc.constant("cmpli" as const), bf, l: bit, ra: reg, ui: u16 }),
    fc.record({
      op: fc.constant("b" as const),
      disp: fc.integer({ min: -(2 ** 23), max: 2 ** 23 - 1 }).map((x) => x * 4),
      aa: bit,
      lk: bit,
    }),
    fc
      .tuple(branchBo(BO_KIND_BC, asSafe), fc.integer({ min: -8192, max: 8191 }), bit, bit)
      .map(([[bo, bi], d, aa, lk]): Insn => ({ op: "bc", bo, bi, disp: d * 4, aa, lk })),
    fc
      .tuple(branchBo(BO_KIND_LR, asSafe), fc.integer({ min: 0, max: 3 }), bit)
      .map(([[bo, bi], bh, lk]): Insn => ({ op: "bclr", bo, bi, bh, lk })),
    fc
      .tuple(branchBo(BO_KIND_CTR, asSafe), fc.integer({ min: 0, max: 3 }), bit)
      .map(([[bo, bi], bh, lk]): Insn => ({ op: "bcctr", bo, bi, bh, lk })),
    fc.record({ op: fc.constant("mfspr" as const), rt: reg, spr: fc.integer({ min: 0, max: 1023 }) }),
    fc.record({ op: fc.constant("mtspr" as const), spr: fc.integer({ min: 0, max: 1023 }), rs: reg }),
    fc.record({ op: fc.constant("mtmsrd" as const), rs: reg, l: bit }),
    fc.record({ op: fc.constantFrom("mfmsr" as const, "mfcr" as const), rt: reg }),
    fc.record({
      op: fc.constantFrom("msgsnd" as const, "msgclr" as const, "msgsndp" as const, "msgclrp" as const),
      rb: reg,
    }),
    fc.record({ op: fc.constant("sync" as const), l: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ op: fc.constantFrom("lwz" as const, "stw" as const), rt: reg, ra: reg, d: s16 }),
    fc.record({
      op: fc.constantFrom("ld" as const, "std" as const),
      rt: reg,
      ra: reg,
      ds: fc.integer({ min: -8192, max: 8191 }).map((x) => x * 4),
    }),
  );
}

describe("codec properties", () => {
  it("decode(encode(insn)) = insn over the subset", () => {
    fc.assert(
      fc.property(insnArb(false), (insn) => {
        const w = encode(insn);
        expect(decode(w)).toEqual(insn);
        expect(disassemble(w)).not.toMatch(/^\.long/);
      }),
      { numRuns: 20_000 },
    );
  });

  it("every 32-bit word decodes without throwing, and valid ones survive encode/decode", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (w) => {
        const insn = decode(w);
        if (insn.op === "invalid") {
          expect(disassemble(w)).toBe(`.long 0x${w.toString(16)}`);
          return;
        }
        expect(decode(encode(insn))).toEqual(insn);
      }),
      { numRuns: 50_000 },
    );
  });

  it("rejects out-of-range fields and invalid forms with EncodeError", () => {
    expect(() => encode({ op: "addi", rt: 32, ra: 0, si: 0 })).toThrow(EncodeError);
    expect(() => encode({ op: "addi", rt: 1, ra: 0, si: 40000 })).toThrow(EncodeError);
    expect(() => encode({ op: "bc", bo: 21, bi: 0, disp: 8, aa: 0, lk: 0 })).toThrow(EncodeError);
    expect(() => encode({ op: "ld", rt: 1, ra: 1, ds: 6 })).toThrow(EncodeError);
    expect(() => encode({ op: "invalid", word: 0 })).toThrow(EncodeError);
    expect(() => decode(2 ** 32)).toThrow(EncodeError);
  });
});

// ---------------------------------------------------------------------------------------------
// The real tool at test time
// ---------------------------------------------------------------------------------------------

/** GNU as source text (raw, non-extended forms) for an instruction at the current location. */
function asmSource(i: Insn): string {
  const dot = (rc: number) => (rc ? "." : "");
  const rel = (d: number) => (d >= 0 ? `.+${d}` : `.-${-d}`);
  switch (i.op) {
    case "invalid":
      return `.long ${i.word}`;
    case "stop":
    case "rfid":
    case "hrfid":
    case "isync":
    case "attn":
      return i.op;
    case "sc":
      return `sc ${i.lev}`;
    case "addi":
    case "addis":
      return `${i.op} ${i.rt},${i.ra},${i.si}`;
    case "ori":
    case "oris":
      return `${i.op} ${i.ra},${i.rs},${i.ui}`;
    case "or":
    case "and":
    case "xor":
      return `${i.op}${dot(i.rc)} ${i.ra},${i.rs},${i.rb}`;
    case "add":
    case "subf":
      return `${i.op}${dot(i.rc)} ${i.rt},${i.ra},${i.rb}`;
    case "rldicr":
      return `rldicr${dot(i.rc)} ${i.ra},${i.rs},${i.sh},${i.me}`;
    case "cmp":
    case "cmpl":
      return `${i.op} ${i.bf},${i.l},${i.ra},${i.rb}`;
    case "cmpi":
      return `cmpi ${i.bf},${i.l},${i.ra},${i.si}`;
    case "cmpli":
      return `cmpli ${i.bf},${i.l},${i.ra},${i.ui}`;
    case "b":
      return `b${i.lk ? "l" : ""}${i.aa ? "a" : ""} ${i.aa ? i.disp : rel(i.disp)}`;
    case "bc":
      return `bc${i.lk ? "l" : ""}${i.aa ? "a" : ""} ${i.bo},${i.bi},${i.aa ? i.disp : rel(i.disp)}`;
    case "bclr":
    case "bcctr":
      return `${i.op}${i.lk ? "l" : ""} ${i.bo},${i.bi},${i.bh}`;
    case "mfspr":
      return `mfspr ${i.rt},${i.spr}`;
    case "mtspr":
      return `mtspr ${i.spr},${i.rs}`;
    case "mtmsrd":
      return `mtmsrd ${i.rs},${i.l}`;
    case "mfmsr":
    case "mfcr":
      return `${i.op} ${i.rt}`;
    case "msgsnd":
    case "msgclr":
    case "msgsndp":
    case "msgclrp":
      return `${i.op} ${i.rb}`;
    case "sync":
      return `sync ${i.l}`;
    case "lwz":
    case "stw":
      return `${i.op} ${i.rt},${i.d}(${i.ra})`;
    case "ld":
    case "std":
      return `${i.op} ${i.rt},${i.ds}(${i.ra})`;
  }
}

function hasTool(name: string): boolean {
  try {
    execFileSync(name, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const HAVE_BINUTILS = hasTool("powerpc64le-linux-gnu-as") && hasTool("powerpc64le-linux-gnu-objdump");

describe.skipIf(!HAVE_BINUTILS)("against GNU as/objdump at test time (random operands)", () => {
  it("assembles to encode()'s words and disassembles to disassemble()'s text", () => {
    const insns = fc.sample(insnArb(true), { numRuns: 1500, seed: 20200331 });
    const dir = mkdtempSync(join(tmpdir(), "isa-binutils-"));
    try {
      const src = join(dir, "r.s");
      const obj = join(dir, "r.o");
      writeFileSync(src, `\t.text\n${insns.map((i) => `\t${asmSource(i)}`).join("\n")}\n`);
      execFileSync("powerpc64le-linux-gnu-as", ["-mpower9", "-mlittle", "-o", obj, src]);
      const dump = execFileSync("powerpc64le-linux-gnu-objdump", ["-d", "-Mpower9", obj], {
        maxBuffer: 1 << 26,
      }).toString();
      const lines = parseObjdump(dump);
      expect(lines).toHaveLength(insns.length);
      lines.forEach((l, k) => {
        const src = asmSource(insns[k]);
        expect(l.word, src).toBe(encode(insns[k]));
        expect(norm(disassemble(l.word, l.address)), src).toBe(l.text);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
