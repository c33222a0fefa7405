import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EncodeError } from "./asm.js";
import { type Dialect, decode, disassemble, encode } from "./codec.js";
import { BO_KIND_BC, boValid, FORMS, type Form, identify, K_DISP, K_TARGET } from "./opcodes.js";
import { type DumpLine, expectSameText, parseObjdump } from "./test-helpers/objdump.js";

const FIXTURES = new URL("../fixtures/", import.meta.url);

describe("disassemble() against GNU objdump fixtures (fixtures/make-binutils.sh)", () => {
  for (const [file, dialect] of [
    ["insns.objdump.txt", "power9"],
    ["insns.default.txt", "default"],
    ["sprs.objdump.txt", "power9"],
    ["sprs.default.txt", "default"],
  ] as const) {
    it(`prints what objdump prints for every word of ${file} and re-encodes it`, () => {
      const lines = parseObjdump(readFileSync(new URL(file, FIXTURES), "utf8"));
      expect(lines.length).toBeGreaterThan(100);
      expectSameText(lines, dialect);
      for (const l of lines) {
        const insn = decode(l.word);
        expect(insn.op).not.toBe("invalid");
        expect(encode(insn)).toBe(l.word);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The real kernel's idle and hypercall routines (fixtures/make-kernel.sh)
// ---------------------------------------------------------------------------------------------

interface Routine {
  symbol: string;
  address: string;
  size: number;
  offset: number;
}

describe("a real kernel's idle and hcall routines (Debian linux-image-6.1.0-54-powerpc64le)", () => {
  const routines = JSON.parse(readFileSync(new URL("kernel/routines.json", FIXTURES), "utf8")) as Routine[];
  const bin = readFileSync(new URL("kernel/routines.bin", FIXTURES));
  const words = new Map<bigint, number>();
  for (const r of routines) {
    for (let i = 0; i < r.size; i += 4)
      words.set(BigInt(`0x${r.address}`) + BigInt(i), bin.readUInt32LE(r.offset + i));
  }

  it("covers the named routines, power9_idle_stop and plpar_hcall_norets included", () => {
    const names = routines.map((r) => r.symbol);
    for (const s of [
      "power9_idle_stop",
      "isa300_idle_stop_noloss",
      "power7_idle_insn",
      "arch_cpu_idle",
      "dedicated_cede_loop",
      "shared_cede_loop",
      "plpar_hcall_norets",
    ]) {
      expect(names).toContain(s);
    }
    expect(words.size).toBeGreaterThan(2000);
  });

  for (const [file, dialect] of [
    ["kernel/routines.objdump.txt", "default"],
    ["kernel/routines.power9.txt", "power9"],
  ] as const) {
    it(`every word disassembles as objdump -d${dialect === "power9" ? " -Mpower9" : ""} printed it`, () => {
      const lines = parseObjdump(readFileSync(new URL(file, FIXTURES), "utf8"));
      // the dump covers every word of routines.bin, with the same bytes
      expect(lines.length).toBe(words.size);
      for (const l of lines) expect(words.get(l.address), l.address.toString(16)).toBe(l.word);
      expectSameText(lines, dialect);
      // the words the issue found undecoded decode now
      const seen = new Set(lines.map((l) => l.text.split(" ")[0]));
      for (const m of [
        "stdu",
        "lbz",
        "stb",
        "stdx",
        "ldx",
        "ldarx",
        "stdcx.",
        "andi.",
        "rlwinm",
        "neg",
        "extsw",
      ])
        expect(seen, m).toContain(m);
      if (dialect === "default") {
        for (const m of ["nap", "sleep", "rvwinkle", "mtlpcr", "mthpsscr", "mfpurr", "twui", "tdnei"])
          expect(seen, m).toContain(m);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Properties over the table
// ---------------------------------------------------------------------------------------------

const TABLE = FORMS.slice(1);
const operandBits = (f: Form): number => f.fields.reduce((m, fd) => m | fd.bits, 0);

/** A random word of a random form (operand fields random, reserved bits zero), valid for identify(). */
const tableWord: fc.Arbitrary<number> = fc
  .tuple(fc.integer({ min: 0, max: TABLE.length - 1 }), fc.integer({ min: 0, max: 0xffffffff }))
  .map(([i, r]) => (TABLE[i].opcode | (r & operandBits(TABLE[i]))) >>> 0)
  .filter((w) => identify(w) !== 0);

describe("codec properties", () => {
  it("decode(encode(decode(w))) = decode(w) and encode(decode(w)) = w over the table", () => {
    fc.assert(
      fc.property(tableWord, (w) => {
        const insn = decode(w);
        expect(encode(insn)).toBe(w);
        expect(decode(encode(insn))).toEqual(insn);
        expect(disassemble(w, 0, { dialect: "default" })).not.toMatch(/^\.long/);
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

  it("decodes to the ISA's field names and builds words from them", () => {
    expect(decode(0x7c6320ac)).toEqual({ op: "dcbf", ra: 3, rb: 4, l: 3 });
    expect(decode(0x548a0000)).toEqual({ op: "rlwinm", ra: 10, rs: 4, sh: 0, mb: 0, me: 0, rc: 0 });
    expect(encode({ op: "add", rt: 3, ra: 4, rb: 5, oe: 1, rc: 1 })).toBe(0x7c642e15);
    expect(disassemble(0x7c642e15)).toBe("addo.   r3,r4,r5");
    // optional operands may be left out
    expect(encode({ op: "mtmsrd", rs: 3 })).toBe(0x7c600164);
    expect(encode({ op: "b", disp: 8 })).toBe(0x48000008);
  });

  it("rejects unknown ops, unknown or missing fields, out-of-range values and invalid forms with EncodeError", () => {
    expect(() => encode({ op: "addi", rt: 32, ra: 0, si: 0 })).toThrow(EncodeError);
    expect(() => encode({ op: "addi", rt: 1, ra: 0, si: 40000 })).toThrow(
      /si must be an integer in -32768\.\.32767/,
    );
    expect(() => encode({ op: "addi", rt: 1, si: 1 })).toThrow(/needs field "ra"/);
    expect(() => encode({ op: "addi", rt: 1, ra: 0, si: 1, imm: 2 })).toThrow(/no field "imm"/);
    expect(() => encode({ op: "slwi", ra: 1, rs: 1, n: 2 })).toThrow(/unknown instruction "slwi"/);
    expect(() => encode({ op: "bc", bo: 21, bi: 0, disp: 8 })).toThrow(/reserved \(invalid\) form/);
    expect(() => encode({ op: "ld", rt: 1, ra: 1, ds: 6 })).toThrow(/multiple of 4/);
    // invalid forms of the ISA: a load with update into its base register, lq into an odd pair
    expect(() => encode({ op: "lwzu", rt: 3, ra: 3, d: 8 })).toThrow(EncodeError);
    expect(() => encode({ op: "lq", rt: 3, ra: 4, dq: 16 })).toThrow(EncodeError);
    expect(() => encode({ op: "invalid", word: 0 })).toThrow(EncodeError);
    expect(() => decode(2 ** 32)).toThrow(EncodeError);
    expect(() => disassemble(0, 0, { dialect: "power8" as Dialect })).toThrow(/unknown dialect "power8"/);
  });

  it("keeps BO validity as binutils has it for bc", () => {
    expect(boValid(21, 0, BO_KIND_BC)).toBe(false);
    expect(boValid(17, 1, BO_KIND_BC)).toBe(false);
    expect(boValid(17, 0, BO_KIND_BC)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// The real tools at test time
// ---------------------------------------------------------------------------------------------

/** Forms GNU as -mpower9 does not assemble (POWER8-only and phased-out): emitted as .long. */
const AS_REJECTS = new Set(["nap", "sleep", "rvwinkle", "doze", "mftb"]);

/** GNU as source (raw base mnemonic, numeric operands) for a word of the table. */
function asmSource(w: number): string {
  const f = FORMS[identify(w)];
  const x = decode(w) as Record<string, number | string>;
  if (AS_REJECTS.has(f.name)) return `.long ${w}`;
  // GNU as turns an mtcrf of a single field into mtocrf (bit 11 set) for POWER4 and later
  if (f.name === "mtcrf" && (Number(x.fxm) & (Number(x.fxm) - 1)) === 0) return `.long ${w}`;
  // GNU as spells cp_abort as objdump prints it
  let mn = f.name === "cp_abort" ? "cpabort" : f.name;
  if (f.oe && x.oe) mn += "o";
  if (f.rc && x.rc) mn += ".";
  if (f.lk && x.lk) mn += "l";
  if (f.aa && x.aa) mn += "a";
  const ops: string[] = [];
  for (let i = 0; i < f.operands.length; i++) {
    const o = f.operands[i];
    const v = Number(x[o.field.name]);
    if (o.kind === K_DISP) {
      ops.push(`${v}(${Number(x[f.operands[++i].field.name])})`);
    } else if (o.kind === K_TARGET) {
      ops.push(f.aa && x.aa ? String(v) : v >= 0 ? `.+${v}` : `.-${-v}`);
    } else ops.push(String(v));
  }
  // trailing optional operands at their default value are left out (paste. has no L on POWER9)
  let n = ops.length;
  for (let i = f.operands.length - 1; i >= 0 && f.operands[i].optional; i--) {
    if (Number(x[f.operands[i].field.name]) !== f.operands[i].defaultValue) break;
    n--;
  }
  return `${mn} ${ops.slice(0, n).join(",")}`;
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

function objdump(obj: string, dialect: Dialect, binary = false): DumpLine[] {
  const args = ["-d", ...(dialect === "power9" ? ["-Mpower9"] : [])];
  if (binary) args.splice(0, 1, "-D", "-b", "binary", "-m", "powerpc:common64", "-EL");
  return parseObjdump(
    execFileSync("powerpc64le-linux-gnu-objdump", [...args, obj], { maxBuffer: 1 << 27 }).toString(),
  );
}

describe.skipIf(!HAVE_BINUTILS)("against GNU as/objdump at test time (random operands)", () => {
  it("every form of the table: GNU as builds encode()'s words, objdump prints disassemble()'s text in both dialects", () => {
    // a few random words of every form, plus every SPR number through mfspr and mtspr
    let seed = 20200331;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed ^ (seed >>> 13)) >>> 0;
    };
    const ws: number[] = [];
    for (const f of TABLE) {
      for (let k = 0, tries = 0; k < 12 && tries < 1000; tries++) {
        // half the operands random, half with small values (zero fields select extended mnemonics)
        const r = tries & 1 ? rnd() : rnd() & rnd() & rnd();
        const w = (f.opcode | (r & operandBits(f))) >>> 0;
        if (identify(w) === f.id) {
          ws.push(w);
          k++;
        }
      }
    }
    for (let spr = 0; spr < 1024; spr++) {
      ws.push(encode({ op: "mfspr", rt: 3, spr }), encode({ op: "mtspr", spr, rs: 3 }));
    }
    expect(new Set(ws.map(identify)).size).toBe(TABLE.length);
    const dir = mkdtempSync(join(tmpdir(), "isa-binutils-"));
    try {
      const src = join(dir, "r.s");
      const obj = join(dir, "r.o");
      const lines = ws.map((w) => asmSource(w));
      // GNU as refuses some words objdump prints (bcctr forms that decrement CTR, lmw/lswi in
      // little-endian mode, BO values with the old hint bit): those lines become .long and are
      // counted; every other word must come out of the assembler as encode() builds it
      const rejected = new Set<string>();
      for (let pass = 0; pass < 2; pass++) {
        writeFileSync(src, `\t.text\n${lines.map((l) => `\t${l}`).join("\n")}\n`);
        try {
          execFileSync("powerpc64le-linux-gnu-as", ["-mpower9", "-mlittle", "-o", obj, src], {
            stdio: "pipe",
          });
          break;
        } catch (e) {
          if (pass === 1) throw e;
          const stderr = String((e as { stderr?: Buffer }).stderr ?? "");
          for (const m of stderr.matchAll(/r\.s:(\d+): Error/g)) {
            const k = Number(m[1]) - 2;
            rejected.add(FORMS[identify(ws[k])].name);
            lines[k] = `.long ${ws[k]}`;
          }
        }
      }
      expect([...rejected].sort(), [...rejected].join(" ")).toEqual(
        ["bc", "bcctr", "lmw", "lswi", "lswx", "stmw", "stswi", "stswx"].filter((n) => rejected.has(n)),
      );
      expect(lines.filter((l) => l.startsWith(".long")).length).toBeLessThan(ws.length / 20);
      for (const dialect of ["default", "power9"] as const) {
        const dump = objdump(obj, dialect);
        expect(dump).toHaveLength(ws.length);
        for (const [k, l] of dump.entries()) expect(l.word, lines[k]).toBe(ws[k]);
        expectSameText(dump, dialect);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("words outside the table: disassemble() agrees with objdump wherever the word is a neighbour of a table form", () => {
    // reserved bits set, invalid operand combinations, POWER10 variants of table instructions
    const rnd = fc.sample(fc.integer({ min: 0, max: 0xffffffff }), {
      numRuns: 3 * 20 * TABLE.length,
      seed: 7,
    });
    const ws: number[] = [];
    TABLE.forEach((f, i) => {
      for (let k = 0; k < 20; k++) {
        const [a, b, c] = [rnd[(i * 20 + k) * 3], rnd[(i * 20 + k) * 3 + 1], rnd[(i * 20 + k) * 3 + 2]];
        const noise = (a & b & c & ~f.mask & 0x03ffffff) >>> 0;
        ws.push(((f.opcode & f.mask) | (a & operandBits(f)) | noise) >>> 0);
      }
    });
    const dir = mkdtempSync(join(tmpdir(), "isa-binutils-"));
    try {
      const bin = join(dir, "w.bin");
      const buf = Buffer.alloc(4 * ws.length);
      for (const [k, w] of ws.entries()) buf.writeUInt32LE(w, 4 * k);
      writeFileSync(bin, buf);
      for (const dialect of ["default", "power9"] as const) {
        const lines = objdump(bin, dialect, true);
        expect(lines).toHaveLength(ws.length);
        expectSameText(lines, dialect);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
