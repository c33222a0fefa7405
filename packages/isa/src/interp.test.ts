// Execution of each instruction class against results computed by hand from the Power ISA v3.0B
// pseudocode (Book I chapters 2-3, Book II chapter 4, Book III chapter 7 for the interrupts).

import { describe, expect, it } from "vitest";
import { encode, type Insn } from "./codec.js";
import { Memory } from "./memory.js";
import {
  MSR_HV,
  MSR_LE,
  MSR_PR,
  SPRN_CTR,
  SPRN_DAR,
  SPRN_FSCR,
  SPRN_LR,
  SPRN_SRR0,
  SPRN_SRR1,
  SPRN_XER,
} from "./registers.js";
import { MSR_GUEST, MSR_HOST, MSR_USER, setup } from "./test-helpers/setup.js";
import { EXEC_INTERRUPT, EXEC_OK, type HwThread } from "./thread.js";

const XER_SO = 0x80000000n;
const XER_OV = 0x40000000n;
const XER_CA = 0x20000000n;
const XER_OV32 = 0x00080000n;
const XER_CA32 = 0x00040000n;
const M64 = (1n << 64n) - 1n;
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

function thread(msr = MSR_HOST): HwThread {
  const { t } = setup();
  t.msr = msr;
  t.memory = new Memory(1 << 20);
  return t;
}

function exec(t: HwThread, insn: Insn): number {
  return t.execute(encode(insn));
}

/** Runs `insn` with GPRs set from `regs` (r<N>: value) and XER = xer; returns the thread. */
function run(insn: Insn, regs: Record<number, bigint>, xer = 0n, msr = MSR_HOST): HwThread {
  const t = thread(msr);
  for (const [r, v] of Object.entries(regs)) t.setGpr(Number(r), u64(v));
  t.setSpr(SPRN_XER, xer);
  expect(exec(t, insn)).toBe(EXEC_OK);
  return t;
}

const cr0 = (t: HwThread): number => (t.cr >>> 28) & 0xf;
const xer = (t: HwThread): bigint => t.getSpr(SPRN_XER);

describe("fixed-point arithmetic: carry, overflow, CR0", () => {
  it("addc of -1 and 1: 0 with CA and CA32 set, no overflow; CR0 EQ with Rc", () => {
    const t = run({ op: "addc", rt: 3, ra: 4, rb: 5, rc: 1, oe: 1 }, { 4: -1n, 5: 1n });
    expect(t.gpr(3)).toBe(0n);
    expect(xer(t)).toBe(XER_CA | XER_CA32);
    expect(cr0(t)).toBe(0b0010);
  });

  it("addo of 0x7fff...ffff and 1 overflows (OV, SO) but not in the low word (OV32 = 0); CR0 LT|SO", () => {
    const t = run({ op: "add", rt: 3, ra: 4, rb: 5, oe: 1, rc: 1 }, { 4: 0x7fffffffffffffffn, 5: 1n });
    expect(t.gpr(3)).toBe(0x8000000000000000n);
    expect(xer(t)).toBe(XER_SO | XER_OV);
    expect(cr0(t)).toBe(0b1001);
  });

  it("add without OE leaves XER alone; SO stays sticky and shows in CR0", () => {
    const t = run({ op: "add", rt: 3, ra: 4, rb: 5, rc: 1 }, { 4: 2n, 5: 3n }, XER_SO);
    expect(t.gpr(3)).toBe(5n);
    expect(xer(t)).toBe(XER_SO);
    expect(cr0(t)).toBe(0b0101);
  });

  it("subfc computes RB - RA with CA = no borrow", () => {
    let t = run({ op: "subfc", rt: 3, ra: 4, rb: 5 }, { 4: 5n, 5: 3n });
    expect(t.gpr(3)).toBe(u64(-2n));
    expect(xer(t) & XER_CA).toBe(0n);
    t = run({ op: "subfc", rt: 3, ra: 4, rb: 5 }, { 4: 3n, 5: 5n });
    expect(t.gpr(3)).toBe(2n);
    expect(xer(t) & (XER_CA | XER_CA32)).toBe(XER_CA | XER_CA32);
  });

  it("adde, subfe, addme, addze, subfze, subfme consume XER[CA]", () => {
    expect(run({ op: "adde", rt: 3, ra: 4, rb: 5 }, { 4: 1n, 5: 2n }, XER_CA).gpr(3)).toBe(4n);
    // subfe: ~RA + RB + CA = RB - RA - 1 + CA
    expect(run({ op: "subfe", rt: 3, ra: 4, rb: 5 }, { 4: 3n, 5: 10n }, 0n).gpr(3)).toBe(6n);
    expect(run({ op: "subfe", rt: 3, ra: 4, rb: 5 }, { 4: 3n, 5: 10n }, XER_CA).gpr(3)).toBe(7n);
    // addme: RA + CA - 1
    expect(run({ op: "addme", rt: 3, ra: 4 }, { 4: 10n }, 0n).gpr(3)).toBe(9n);
    const ze = run({ op: "addze", rt: 3, ra: 4 }, { 4: -1n }, XER_CA);
    expect(ze.gpr(3)).toBe(0n);
    expect(xer(ze) & XER_CA).toBe(XER_CA);
    // subfze: ~RA + CA; subfme: ~RA + CA - 1
    expect(run({ op: "subfze", rt: 3, ra: 4 }, { 4: 5n }, XER_CA).gpr(3)).toBe(u64(-5n));
    expect(run({ op: "subfme", rt: 3, ra: 4 }, { 4: 5n }, 0n).gpr(3)).toBe(u64(-7n));
  });

  it("neg of the most negative number overflows; addic. sets CA and CR0; subfic computes SI - RA", () => {
    const n = run({ op: "neg", rt: 3, ra: 4, oe: 1 }, { 4: 0x8000000000000000n });
    expect(n.gpr(3)).toBe(0x8000000000000000n);
    expect(xer(n) & (XER_OV | XER_SO)).toBe(XER_OV | XER_SO);
    const a = run({ op: "addic.", rt: 3, ra: 4, si: 1 }, { 4: -1n });
    expect(a.gpr(3)).toBe(0n);
    expect(xer(a) & XER_CA).toBe(XER_CA);
    expect(cr0(a)).toBe(0b0010);
    const s = run({ op: "subfic", rt: 3, ra: 4, si: 10 }, { 4: 3n });
    expect(s.gpr(3)).toBe(7n);
    expect(xer(s) & XER_CA).toBe(XER_CA);
  });

  it("addi/addis with RA=0 use 0; addpcis adds D||0x0000 to the next instruction's address", () => {
    expect(run({ op: "addis", rt: 3, ra: 0, si: -1 }, { 0: 7n }).gpr(3)).toBe(u64(-0x10000n));
    const t = thread();
    t.pc = 0x1000n;
    exec(t, { op: "addpcis", rt: 3, d: 2 });
    expect(t.gpr(3)).toBe(0x1004n + 0x20000n);
  });

  it("multiply: low and high doublewords, signed and unsigned, word forms, overflow", () => {
    expect(run({ op: "mulhdu", rt: 3, ra: 4, rb: 5 }, { 4: -1n, 5: 2n }).gpr(3)).toBe(1n);
    expect(run({ op: "mulhd", rt: 3, ra: 4, rb: 5 }, { 4: -1n, 5: 2n }).gpr(3)).toBe(M64);
    const o = run({ op: "mulld", rt: 3, ra: 4, rb: 5, oe: 1 }, { 4: 1n << 62n, 5: 4n });
    expect(o.gpr(3)).toBe(0n);
    expect(xer(o) & XER_OV).toBe(XER_OV);
    // mullw: the full 64-bit product of the low words; OV when it does not fit 32 bits
    const w = run({ op: "mullw", rt: 3, ra: 4, rb: 5, oe: 1 }, { 4: 0xffffffff00010000n, 5: 0x10000n });
    expect(w.gpr(3)).toBe(0x100000000n);
    expect(xer(w) & (XER_OV | XER_OV32)).toBe(XER_OV | XER_OV32);
    expect(run({ op: "mulhwu", rt: 3, ra: 4, rb: 5 }, { 4: 0xffffffffn, 5: 0x10n }).gpr(3)).toBe(0xfn);
    expect(run({ op: "mulhw", rt: 3, ra: 4, rb: 5 }, { 4: 0xffffffffn, 5: 0x10n }).gpr(3)).toBe(0xffffffffn);
    expect(run({ op: "mulli", rt: 3, ra: 4, si: -3 }, { 4: 7n }).gpr(3)).toBe(u64(-21n));
    // maddld/maddhd(u): (RA * RB + RC) low and high doublewords
    expect(run({ op: "maddld", rt: 3, ra: 4, rb: 5, rcr: 6 }, { 4: 3n, 5: 4n, 6: 5n }).gpr(3)).toBe(17n);
    expect(run({ op: "maddhdu", rt: 3, ra: 4, rb: 5, rcr: 6 }, { 4: -1n, 5: -1n, 6: 0n }).gpr(3)).toBe(
      M64 - 1n,
    );
    expect(run({ op: "maddhd", rt: 3, ra: 4, rb: 5, rcr: 6 }, { 4: -1n, 5: 1n, 6: 0n }).gpr(3)).toBe(M64);
  });

  it("divide truncates toward zero; division by zero sets OV; extended divides shift the dividend", () => {
    expect(run({ op: "divd", rt: 3, ra: 4, rb: 5 }, { 4: -7n, 5: 2n }).gpr(3)).toBe(u64(-3n));
    expect(run({ op: "divdu", rt: 3, ra: 4, rb: 5 }, { 4: -1n, 5: 2n }).gpr(3)).toBe(M64 >> 1n);
    expect(run({ op: "divw", rt: 3, ra: 4, rb: 5 }, { 4: 0xfffffff9n, 5: 2n }).gpr(3) & 0xffffffffn).toBe(
      0xfffffffdn,
    );
    const z = run({ op: "divwu", rt: 3, ra: 4, rb: 5, oe: 1 }, { 4: 9n, 5: 0n });
    expect(xer(z) & (XER_OV | XER_OV32 | XER_SO)).toBe(XER_OV | XER_OV32 | XER_SO);
    // divdeu: (RA || 64 zeros) / RB = 2^64 / 2 = 2^63
    expect(run({ op: "divdeu", rt: 3, ra: 4, rb: 5 }, { 4: 1n, 5: 2n }).gpr(3)).toBe(1n << 63n);
    // divde overflows when the quotient does not fit: 2^64 / 1
    const o = run({ op: "divde", rt: 3, ra: 4, rb: 5, oe: 1 }, { 4: 1n, 5: 1n });
    expect(xer(o) & XER_OV).toBe(XER_OV);
    expect(run({ op: "modsd", rt: 3, ra: 4, rb: 5 }, { 4: -7n, 5: 2n }).gpr(3)).toBe(M64);
    expect(run({ op: "modud", rt: 3, ra: 4, rb: 5 }, { 4: 7n, 5: 4n }).gpr(3)).toBe(3n);
    expect(run({ op: "modsw", rt: 3, ra: 4, rb: 5 }, { 4: 0xfffffff9n, 5: 2n }).gpr(3)).toBe(M64);
  });

  it("addex uses XER[OV] as its carry", () => {
    const t = run({ op: "addex", rt: 3, ra: 4, rb: 5, cy: 0 }, { 4: -1n, 5: 0n }, XER_OV);
    expect(t.gpr(3)).toBe(0n);
    expect(xer(t) & (XER_OV | XER_OV32)).toBe(XER_OV | XER_OV32);
  });
});

describe("compares", () => {
  it("signed and unsigned doubleword compares; SO is copied into the field", () => {
    const s = run({ op: "cmp", bf: 7, l: 1, ra: 4, rb: 5 }, { 4: -1n, 5: 1n }, XER_SO);
    expect(s.cr & 0xf).toBe(0b1001);
    const u = run({ op: "cmpl", bf: 7, l: 1, ra: 4, rb: 5 }, { 4: -1n, 5: 1n });
    expect(u.cr & 0xf).toBe(0b0100);
  });

  it("word compares look at the low words only", () => {
    expect(cr0(run({ op: "cmpi", bf: 0, l: 0, ra: 4, si: -1 }, { 4: 0x1ffffffffn }))).toBe(0b0010);
    expect(cr0(run({ op: "cmpli", bf: 0, l: 1, ra: 4, ui: 0xffff }, { 4: 0x1ffffffffn }))).toBe(0b0100);
  });

  it("cmprb, cmpeqb, setb, mcrxrx", () => {
    // '5' in '0'..'9'
    expect(run({ op: "cmprb", bf: 1, l: 0, ra: 4, rb: 5 }, { 4: 0x35n, 5: 0x3930n }).cr >>> 24).toBe(0b0100);
    expect(run({ op: "cmprb", bf: 1, l: 0, ra: 4, rb: 5 }, { 4: 0x41n, 5: 0x3930n }).cr >>> 24).toBe(0);
    // second range used with L=1: 'A' in 'A'..'F'
    expect(run({ op: "cmprb", bf: 1, l: 1, ra: 4, rb: 5 }, { 4: 0x41n, 5: 0x46413930n }).cr >>> 24).toBe(
      0b0100,
    );
    expect(run({ op: "cmpeqb", bf: 0, ra: 4, rb: 5 }, { 4: 0x42n, 5: 0x4200000000000000n }).cr >>> 28).toBe(
      0b0010,
    );
    const t = thread();
    t.cr = 0x00800000; // cr2 = LT
    exec(t, { op: "setb", rt: 3, bfa: 2 });
    expect(t.gpr(3)).toBe(M64);
    const x = run({ op: "mcrxrx", bf: 0 }, {}, XER_OV | XER_CA32);
    expect(cr0(x)).toBe(0b1001);
  });
});

describe("logical, count, extend", () => {
  it("the eight register logicals and their Rc forms", () => {
    const a = 0xff00ff00f0f0f0f0n;
    const b = 0x0ff00ff0ff00ff00n;
    const cases: [string, bigint][] = [
      ["and", a & b],
      ["andc", a & ~b & M64],
      ["nor", ~(a | b) & M64],
      ["eqv", ~(a ^ b) & M64],
      ["xor", a ^ b],
      ["orc", (a | ~b) & M64],
      ["or", a | b],
      ["nand", ~(a & b) & M64],
    ];
    for (const [op, want] of cases) {
      const t = run({ op, ra: 3, rs: 4, rb: 5, rc: 1 }, { 4: a, 5: b });
      expect(t.gpr(3), op).toBe(want);
      expect(cr0(t), op).toBe(want >> 63n ? 0b1000 : want === 0n ? 0b0010 : 0b0100);
    }
  });

  it("immediate logicals: andis. clears the high word and sets CR0; xoris flips bits 32:47", () => {
    const t = run({ op: "andis.", ra: 3, rs: 4, ui: 0x8000 }, { 4: 0xffffffff80000000n });
    expect(t.gpr(3)).toBe(0x80000000n);
    expect(cr0(t)).toBe(0b0100);
    expect(run({ op: "xoris", ra: 3, rs: 4, ui: 0xffff }, { 4: 0x1234_0000_5678n }).gpr(3)).toBe(
      0x1234_ffff_5678n,
    );
  });

  it("sign extension, leading and trailing zero counts, population counts and parities", () => {
    expect(run({ op: "extsb", ra: 3, rs: 4 }, { 4: 0x80n }).gpr(3)).toBe(u64(-128n));
    expect(run({ op: "extsh", ra: 3, rs: 4 }, { 4: 0x17fffn }).gpr(3)).toBe(0x7fffn);
    expect(run({ op: "extsw", ra: 3, rs: 4 }, { 4: 0x80000000n }).gpr(3)).toBe(0xffffffff80000000n);
    expect(run({ op: "cntlzd", ra: 3, rs: 4 }, { 4: 1n }).gpr(3)).toBe(63n);
    expect(run({ op: "cntlzw", ra: 3, rs: 4 }, { 4: 0xffffffff00000000n }).gpr(3)).toBe(32n);
    expect(run({ op: "cnttzd", ra: 3, rs: 4 }, { 4: 1n << 40n }).gpr(3)).toBe(40n);
    expect(run({ op: "cnttzw", ra: 3, rs: 4 }, { 4: 1n << 40n }).gpr(3)).toBe(32n);
    expect(run({ op: "popcntd", ra: 3, rs: 4 }, { 4: M64 }).gpr(3)).toBe(64n);
    expect(run({ op: "popcntw", ra: 3, rs: 4 }, { 4: 0x0000000f000000ffn }).gpr(3)).toBe(0x0000000400000008n);
    expect(run({ op: "popcntb", ra: 3, rs: 4 }, { 4: 0xff0103n }).gpr(3)).toBe(0x080102n);
    expect(run({ op: "prtyd", ra: 3, rs: 4 }, { 4: 0x0100000000000001n }).gpr(3)).toBe(0n);
    expect(run({ op: "prtyw", ra: 3, rs: 4 }, { 4: 0x0000000100000001n }).gpr(3)).toBe(0x0000000100000001n);
    expect(run({ op: "cmpb", ra: 3, rs: 4, rb: 5 }, { 4: 0x1122n, 5: 0x3322n }).gpr(3)).toBe(
      0xffffffffffff00ffn,
    );
    // bpermd: byte i of RS selects bit RS.byte[i] of RB (IBM numbering) into bit i of the result
    expect(
      run(
        { op: "bpermd", ra: 3, rs: 4, rb: 5 },
        { 4: 0x00_3f_ff_ff_ff_ff_ff_ffn, 5: 0x8000000000000001n },
      ).gpr(3),
    ).toBe(0b11000000n);
  });

  it("isel picks RA (0 for r0) or RB by a CR bit", () => {
    const t = thread();
    t.setGpr(4, 4n);
    t.setGpr(5, 5n);
    t.cr = 0x20000000; // cr0 eq
    exec(t, { op: "isel", rt: 3, ra: 4, rb: 5, bc: 2 });
    expect(t.gpr(3)).toBe(4n);
    exec(t, { op: "isel", rt: 3, ra: 0, rb: 5, bc: 2 });
    expect(t.gpr(3)).toBe(0n);
    exec(t, { op: "isel", rt: 3, ra: 4, rb: 5, bc: 0 });
    expect(t.gpr(3)).toBe(5n);
  });
});

describe("rotate and shift: masks and carries", () => {
  it("rlwinm rotates the low word duplicated into both halves; MASK wraps when mb > me", () => {
    expect(run({ op: "rlwinm", ra: 3, rs: 4, sh: 8, mb: 0, me: 31 }, { 4: 0xabcd12345678n }).gpr(3)).toBe(
      0x34567812n,
    );
    // MASK(60, 35): bits 0:35 and 60:63 -> ROTL32 duplicated keeps the high word
    expect(run({ op: "rlwinm", ra: 3, rs: 4, sh: 0, mb: 28, me: 3 }, { 4: 0xffffffff12345678n }).gpr(3)).toBe(
      0x1234567810000008n,
    );
    // rlwimi inserts under the mask; rlwnm rotates by RB[59:63]
    expect(
      run({ op: "rlwimi", ra: 3, rs: 4, sh: 16, mb: 0, me: 15 }, { 3: 0xaaaabbbbn, 4: 0x1234n }).gpr(3),
    ).toBe(0x1234bbbbn);
    expect(run({ op: "rlwnm", ra: 3, rs: 4, rb: 5, mb: 0, me: 31 }, { 4: 0x80000001n, 5: 33n }).gpr(3)).toBe(
      3n,
    );
  });

  it("rldicl/rldicr/rldic/rldimi/rldcl/rldcr", () => {
    // srdi 1 = rldicl sh=63 mb=1
    expect(run({ op: "rldicl", ra: 3, rs: 4, sh: 63, mb: 1 }, { 4: 0x8000000000000001n }).gpr(3)).toBe(
      0x4000000000000000n,
    );
    // sldi 4 = rldicr sh=4 me=59
    expect(run({ op: "rldicr", ra: 3, rs: 4, sh: 4, me: 59 }, { 4: 0x0123456789abcdefn }).gpr(3)).toBe(
      0x123456789abcdef0n,
    );
    // rldic sh=8 mb=48: MASK(48, 55)
    expect(run({ op: "rldic", ra: 3, rs: 4, sh: 8, mb: 48 }, { 4: 0xffabn }).gpr(3)).toBe(0xab00n);
    // rldimi sh=32 mb=0: insert the low word into the high word
    expect(
      run({ op: "rldimi", ra: 3, rs: 4, sh: 32, mb: 0 }, { 3: 0x1111111122222222n, 4: 0xcafen }).gpr(3),
    ).toBe(0x0000cafe22222222n);
    expect(run({ op: "rldcl", ra: 3, rs: 4, rb: 5, mb: 0 }, { 4: 0x8000000000000000n, 5: 65n }).gpr(3)).toBe(
      1n,
    );
    expect(run({ op: "rldcr", ra: 3, rs: 4, rb: 5, me: 0 }, { 4: 1n, 5: 63n }).gpr(3)).toBe(
      0x8000000000000000n,
    );
  });

  it("shifts: word shifts clear the high word, counts >= the width give 0, algebraic shifts set CA", () => {
    expect(run({ op: "slw", ra: 3, rs: 4, rb: 5 }, { 4: 0xffffffff00000001n, 5: 31n }).gpr(3)).toBe(
      0x80000000n,
    );
    expect(run({ op: "srw", ra: 3, rs: 4, rb: 5 }, { 4: 0xffffffffn, 5: 32n }).gpr(3)).toBe(0n);
    expect(run({ op: "sld", ra: 3, rs: 4, rb: 5 }, { 4: 1n, 5: 64n }).gpr(3)).toBe(0n);
    expect(run({ op: "srd", ra: 3, rs: 4, rb: 5 }, { 4: 0x8000000000000000n, 5: 63n }).gpr(3)).toBe(1n);
    const a = run({ op: "srawi", ra: 3, rs: 4, sh: 1 }, { 4: 0xfffffffbn }); // -5 >> 1
    expect(a.gpr(3)).toBe(u64(-3n));
    expect(xer(a) & (XER_CA | XER_CA32)).toBe(XER_CA | XER_CA32);
    const b = run({ op: "srawi", ra: 3, rs: 4, sh: 1 }, { 4: 4n });
    expect(b.gpr(3)).toBe(2n);
    expect(xer(b) & XER_CA).toBe(0n);
    const c = run({ op: "sraw", ra: 3, rs: 4, rb: 5 }, { 4: 0x80000000n, 5: 40n });
    expect(c.gpr(3)).toBe(M64);
    expect(xer(c) & XER_CA).toBe(XER_CA);
    const d = run({ op: "srad", ra: 3, rs: 4, rb: 5 }, { 4: -1n, 5: 64n });
    expect(d.gpr(3)).toBe(M64);
    expect(xer(d) & XER_CA).toBe(XER_CA);
    const e = run({ op: "sradi", ra: 3, rs: 4, sh: 4 }, { 4: -16n });
    expect(e.gpr(3)).toBe(u64(-1n));
    expect(xer(e) & XER_CA).toBe(0n);
    expect(run({ op: "extswsli", ra: 3, rs: 4, sh: 4 }, { 4: 0x80000000n }).gpr(3)).toBe(0xfffffff800000000n);
  });
});

describe("loads and stores", () => {
  function mem(t: HwThread, addr: number, bytes: number[]): void {
    for (const [i, b] of bytes.entries()) t.memory?.write8(addr + i, b);
  }

  it("every width, algebraic, update and indexed forms in little-endian mode", () => {
    const t = thread();
    mem(t, 0x2000, [0x01, 0x02, 0x03, 0x84, 0x05, 0x06, 0x07, 0x88]);
    t.setGpr(4, 0x2000n);
    exec(t, { op: "lbz", rt: 3, ra: 4, d: 3 });
    expect(t.gpr(3)).toBe(0x84n);
    exec(t, { op: "lha", rt: 3, ra: 4, d: 2 });
    expect(t.gpr(3)).toBe(0xffffffffffff8403n);
    exec(t, { op: "lhz", rt: 3, ra: 4, d: 2 });
    expect(t.gpr(3)).toBe(0x8403n);
    exec(t, { op: "lwa", rt: 3, ra: 4, ds: 0 });
    expect(t.gpr(3)).toBe(0xffffffff84030201n);
    exec(t, { op: "ld", rt: 3, ra: 4, ds: 0 });
    expect(t.gpr(3)).toBe(0x8807060584030201n);
    t.setGpr(5, 4n);
    exec(t, { op: "lwzux", rt: 3, ra: 4, rb: 5 });
    expect(t.gpr(3)).toBe(0x88070605n);
    expect(t.gpr(4)).toBe(0x2004n);
    exec(t, { op: "stdu", rs: 3, ra: 4, ds: 0x10 });
    expect(t.gpr(4)).toBe(0x2014n);
    expect(t.memory?.read64(0x2014)).toBe(0x88070605n);
    exec(t, { op: "sth", rs: 3, ra: 0, d: 0x3000 });
    expect(t.memory?.read32(0x3000)).toBe(0x0605);
  });

  it("byte-reversed loads and stores", () => {
    const t = thread();
    mem(t, 0x2000, [1, 2, 3, 4, 5, 6, 7, 8]);
    t.setGpr(5, 0x2000n);
    exec(t, { op: "ldbrx", rt: 3, ra: 0, rb: 5 });
    expect(t.gpr(3)).toBe(0x0102030405060708n);
    exec(t, { op: "lhbrx", rt: 3, ra: 0, rb: 5 });
    expect(t.gpr(3)).toBe(0x0102n);
    t.setGpr(3, 0x1122334455667788n);
    exec(t, { op: "stdbrx", rs: 3, ra: 0, rb: 5 });
    expect(t.memory?.read64(0x2000)).toBe(0x8877665544332211n);
    exec(t, { op: "stwbrx", rs: 3, ra: 0, rb: 5 });
    expect(t.memory?.read32(0x2000)).toBe(0x88776655);
  });

  it("lq/stq move an even/odd pair as one 16-byte scalar; unaligned lq takes an alignment interrupt", () => {
    const t = thread();
    t.setGpr(4, 0x11n);
    t.setGpr(5, 0x22n);
    t.setGpr(6, 0x2000n);
    exec(t, { op: "stq", rs: 4, ra: 6, ds: 0 });
    // little-endian: the high doubleword (r4) at EA+8
    expect(t.memory?.read64(0x2000)).toBe(0x22n);
    expect(t.memory?.read64(0x2008)).toBe(0x11n);
    exec(t, { op: "lq", rt: 8, ra: 6, dq: 0 });
    expect([t.gpr(8), t.gpr(9)]).toEqual([0x11n, 0x22n]);
    t.setGpr(6, 0x2008n);
    t.pc = 0x1000n;
    expect(exec(t, { op: "lq", rt: 8, ra: 6, dq: 0 })).toBe(EXEC_INTERRUPT);
    expect(t.lastInterrupt?.vector).toBe(0x600);
    expect(t.getSpr(SPRN_DAR)).toBe(0x2008n);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x1000n);
  });

  it("lmw and the string instructions take an alignment interrupt in little-endian mode and run in big-endian", () => {
    const t = thread();
    t.setGpr(4, 0x2000n);
    expect(exec(t, { op: "lmw", rt: 30, ra: 4, d: 0 })).toBe(EXEC_INTERRUPT);
    expect(t.lastInterrupt?.vector).toBe(0x600);
    const b = thread(MSR_HOST & ~MSR_LE);
    mem(b, 0x2000, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    b.setGpr(4, 0x2000n);
    exec(b, { op: "lmw", rt: 30, ra: 4, d: 0 });
    expect([b.gpr(30), b.gpr(31)]).toEqual([0x01020304n, 0x05060708n]);
    exec(b, { op: "lswi", rt: 5, ra: 4, nb: 6 });
    expect([b.gpr(5), b.gpr(6)]).toEqual([0x01020304n, 0x05060000n]);
  });

  it("a guest access outside memory takes the Hypervisor Data Storage interrupt; the update does not happen", () => {
    const t = thread(MSR_GUEST);
    t.setGpr(4, 0x200000n);
    expect(exec(t, { op: "lbzu", rt: 3, ra: 4, d: 1 })).toBe(EXEC_INTERRUPT);
    expect(t.lastInterrupt?.vector).toBe(0xe00);
    expect(t.gpr(4)).toBe(0x200000n);
  });

  it("dcbz zeroes the aligned 128-byte block; copy/paste. copy one; cache hints do nothing", () => {
    const t = thread();
    for (let i = 0; i < 256; i++) t.memory?.write8(0x2000 + i, 0xaa);
    t.setGpr(5, 0x2085n);
    exec(t, { op: "dcbz", ra: 0, rb: 5 });
    expect(t.memory?.read8(0x207f)).toBe(0xaa);
    expect(t.memory?.read8(0x2080)).toBe(0);
    expect(t.memory?.read8(0x20ff)).toBe(0);
    t.setGpr(5, 0x2000n);
    t.setGpr(6, 0x3000n);
    exec(t, { op: "copy", ra: 0, rb: 5 });
    exec(t, { op: "paste.", ra: 0, rb: 6 });
    expect(cr0(t)).toBe(0b0010);
    expect(t.memory?.read8(0x307f)).toBe(0xaa);
    exec(t, { op: "paste.", ra: 0, rb: 6 });
    expect(cr0(t)).toBe(0); // no copy pending
    expect(exec(t, { op: "dcbt", ra: 0, rb: 5, th: 16 })).toBe(EXEC_OK);
  });
});

describe("load and reserve / store conditional", () => {
  it("stdcx. succeeds once after ldarx (CR0 EQ) and fails without a reservation", () => {
    const t = thread();
    t.setGpr(5, 0x2000n);
    t.setGpr(3, 42n);
    exec(t, { op: "stdcx.", rs: 3, ra: 0, rb: 5 });
    expect(cr0(t)).toBe(0b0000);
    expect(t.memory?.read64(0x2000)).toBe(0n);
    exec(t, { op: "ldarx", rt: 4, ra: 0, rb: 5 });
    exec(t, { op: "stdcx.", rs: 3, ra: 0, rb: 5 });
    expect(cr0(t)).toBe(0b0010);
    expect(t.memory?.read64(0x2000)).toBe(42n);
    exec(t, { op: "stdcx.", rs: 4, ra: 0, rb: 5 });
    expect(cr0(t)).toBe(0b0000);
    expect(t.memory?.read64(0x2000)).toBe(42n);
  });

  it("a reservation is lost on an interrupt, to another address or size, and on a sibling's store", () => {
    const { t, core } = setup();
    t.msr = MSR_HOST;
    const m = new Memory(1 << 20);
    for (const th of core.threads) th.memory = m;
    t.setGpr(5, 0x2000n);
    exec(t, { op: "lwarx", rt: 4, ra: 0, rb: 5 });
    exec(t, { op: "sc", lev: 0 });
    t.pc = 0x1000n;
    exec(t, { op: "stwcx.", rs: 3, ra: 0, rb: 5 });
    expect(cr0(t)).toBe(0b0000);
    // size mismatch
    exec(t, { op: "lwarx", rt: 4, ra: 0, rb: 5 });
    exec(t, { op: "stdcx.", rs: 3, ra: 0, rb: 5 });
    expect(cr0(t)).toBe(0b0000);
    // a sibling thread stores into the reservation granule
    exec(t, { op: "lwarx", rt: 4, ra: 0, rb: 5 });
    const s = core.threads[1];
    s.msr = MSR_HOST;
    s.setGpr(5, 0x2002n);
    s.execute(encode({ op: "stb", rs: 0, ra: 5, d: 0 }));
    exec(t, { op: "stwcx.", rs: 3, ra: 0, rb: 5 });
    expect(cr0(t)).toBe(0b0000);
    // own plain store does not clear it
    exec(t, { op: "lwarx", rt: 4, ra: 0, rb: 5 });
    exec(t, { op: "stb", rs: 0, ra: 5, d: 0 });
    exec(t, { op: "stwcx.", rs: 3, ra: 0, rb: 5 });
    expect(cr0(t)).toBe(0b0010);
  });

  it("an unaligned lwarx takes an alignment interrupt (DAR = EA)", () => {
    const t = thread();
    t.setGpr(5, 0x2002n);
    expect(exec(t, { op: "lwarx", rt: 4, ra: 0, rb: 5 })).toBe(EXEC_INTERRUPT);
    expect(t.lastInterrupt?.vector).toBe(0x600);
    expect(t.getSpr(SPRN_DAR)).toBe(0x2002n);
  });
});

describe("branches and CR", () => {
  it("bdnz decrements CTR and branches while it is not zero; bl sets LR", () => {
    const t = thread();
    t.pc = 0x1000n;
    t.setSpr(SPRN_CTR, 2n);
    exec(t, { op: "bc", bo: 16, bi: 0, disp: -8 });
    expect(t.pc).toBe(0xff8n);
    exec(t, { op: "bc", bo: 16, bi: 0, disp: -8 });
    expect(t.pc).toBe(0xffcn);
    exec(t, { op: "b", disp: 0x100, lk: 1 });
    expect(t.getSpr(SPRN_LR)).toBe(0x1000n);
    expect(t.pc).toBe(0x10fcn);
  });

  it("bctar jumps to TAR; in problem state it needs FSCR[TAR]", () => {
    const t = thread();
    t.setSpr(815, 0x4000n);
    exec(t, { op: "bctar", bo: 20, bi: 0 });
    expect(t.pc).toBe(0x4000n);
    // a guest's user: HFSCR[TAR] first (Hypervisor Facility Unavailable), then FSCR[TAR]
    const g = thread(MSR_USER);
    expect(exec(g, { op: "bctar", bo: 20, bi: 0 })).toBe(EXEC_INTERRUPT);
    expect(g.lastInterrupt?.vector).toBe(0xf80);
    const u = thread(MSR_USER);
    u.setSpr(190, 1n << 8n);
    u.pc = 0x1000n;
    expect(exec(u, { op: "bctar", bo: 20, bi: 0 })).toBe(EXEC_INTERRUPT);
    expect(u.lastInterrupt?.vector).toBe(0xf60);
    expect(u.getSpr(SPRN_FSCR) >> 56n).toBe(8n);
    u.setSpr(SPRN_FSCR, 1n << 8n);
    u.setSpr(815, 0x4000n);
    expect(exec(u, { op: "bctar", bo: 20, bi: 0 })).toBe(EXEC_OK);
    expect(u.pc).toBe(0x4000n);
  });

  it("CR logicals, mcrf, mtcrf/mtocrf, mfocrf", () => {
    const t = thread();
    t.cr = 0x80000000; // cr0 lt
    exec(t, { op: "cror", bt: 6, ba: 0, bb: 2 }); // cr1 eq = lt | eq
    expect(t.cr).toBe(0x82000000);
    exec(t, { op: "crandc", bt: 0, ba: 0, bb: 6 });
    expect(t.cr).toBe(0x02000000);
    exec(t, { op: "creqv", bt: 31, ba: 31, bb: 31 }); // crset
    expect(t.cr & 1).toBe(1);
    exec(t, { op: "mcrf", bf: 7, bfa: 1 });
    expect(t.cr & 0xf).toBe(0x2);
    t.setGpr(3, 0xabcdef12n);
    exec(t, { op: "mtocrf", fxm: 0x80, rs: 3 });
    expect(t.cr >>> 28).toBe(0xa);
    exec(t, { op: "mtcrf", fxm: 0xff, rs: 3 });
    expect(t.cr).toBe(0xabcdef12);
    exec(t, { op: "mfocrf", rt: 4, fxm: 0x01 });
    expect(t.gpr(4)).toBe(0x2n);
  });

  it("traps: twi/tdi/tw/td take a program interrupt with SRR1[TRAP] when the condition holds", () => {
    const t = thread();
    t.setGpr(3, 5n);
    t.pc = 0x1000n;
    expect(exec(t, { op: "tdi", to: 24, ra: 3, si: 5 })).toBe(EXEC_OK); // tdnei: equal, no trap
    t.pc = 0x1000n;
    expect(exec(t, { op: "twi", to: 4, ra: 3, si: 5 })).toBe(EXEC_INTERRUPT); // tweqi
    expect(t.lastInterrupt?.vector).toBe(0x700);
    expect(t.getSpr(SPRN_SRR1) & 0x20000n).toBe(0x20000n);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x1000n);
    const u = thread();
    u.setGpr(3, u64(-1n));
    u.setGpr(4, 1n);
    expect(exec(u, { op: "td", to: 1, ra: 3, rb: 4 })).toBe(EXEC_INTERRUPT); // unsigned greater
    const v = thread();
    expect(exec(v, { op: "tw", to: 31, ra: 0, rb: 0 })).toBe(EXEC_INTERRUPT); // trap
  });
});

describe("privilege and system", () => {
  it("problem state: mtmsr, slbmte, tlbie and the cache-inhibited loads are privileged", () => {
    for (const insn of [
      { op: "mtmsr", rs: 3 },
      { op: "slbmte", rs: 3, rb: 4 },
      { op: "tlbie", rb: 3, rs: 4 },
      { op: "ldcix", rt: 3, ra: 0, rb: 4 },
      { op: "slbmfee", rt: 3, rb: 4 },
    ] as Insn[]) {
      const t = thread(MSR_USER);
      expect(exec(t, insn), insn.op).toBe(EXEC_INTERRUPT);
      expect(t.lastInterrupt?.vector, insn.op).toBe(0x700);
      expect(t.getSpr(SPRN_SRR1) & 0x40000n, insn.op).toBe(0x40000n);
    }
  });

  it("guest state: tlbie and the cache-inhibited accesses are hypervisor-privileged, slbmte is not", () => {
    const g = thread(MSR_GUEST);
    expect(exec(g, { op: "stwcix", rs: 3, ra: 0, rb: 4 })).toBe(EXEC_INTERRUPT);
    expect(g.lastInterrupt?.vector).toBe(0x700);
    const h = thread(MSR_GUEST);
    expect(exec(h, { op: "tlbie", rb: 3, rs: 4 })).toBe(EXEC_INTERRUPT);
    const s = thread(MSR_GUEST);
    expect(exec(s, { op: "slbmte", rs: 3, rb: 4 })).toBe(EXEC_OK);
  });

  it("POWER8's nap/sleep/rvwinkle/doze are illegal on POWER9: Hypervisor Emulation Assistance", () => {
    for (const op of ["nap", "sleep", "rvwinkle", "doze"]) {
      const t = thread();
      expect(exec(t, { op }), op).toBe(EXEC_INTERRUPT);
      expect(t.lastInterrupt?.vector).toBe(0xe40);
    }
  });

  it("mtmsr changes only MSR[32:63]; in guest state it cannot set HV", () => {
    const t = thread(MSR_GUEST);
    t.setGpr(3, MSR_HV | 0x8000n | MSR_LE);
    exec(t, { op: "mtmsr", rs: 3 });
    expect(t.msr & MSR_HV).toBe(0n);
    expect(t.msr & 0x8000n).toBe(0x8000n);
    expect(t.msr >> 63n).toBe(1n);
  });

  it("scv needs FSCR[SCV]; then it enters 0x17000 + 0x20*LEV with LR = NIA and CTR = MSR; rfscv returns", () => {
    const t = thread(MSR_USER);
    t.pc = 0x1000n;
    expect(exec(t, { op: "scv", lev: 1 })).toBe(EXEC_INTERRUPT);
    expect(t.lastInterrupt?.vector).toBe(0xf60);
    const s = thread(MSR_USER);
    s.setSpr(SPRN_FSCR, 1n << 12n);
    s.pc = 0x1000n;
    expect(exec(s, { op: "scv", lev: 1 })).toBe(EXEC_INTERRUPT);
    expect(s.lastInterrupt?.vector).toBe(0x17020);
    expect(s.getSpr(SPRN_LR)).toBe(0x1004n);
    expect(s.getSpr(SPRN_CTR)).toBe(MSR_USER);
    expect(s.msr & MSR_PR).toBe(0n);
    exec(s, { op: "rfscv" });
    expect(s.pc).toBe(0x1004n);
    expect(s.msr & MSR_PR).toBe(MSR_PR);
  });

  it("darn returns seeded random numbers: 32-bit for L=0, 64-bit for L=1/2, the error value for L=3", () => {
    const t = thread();
    exec(t, { op: "darn", rt: 3, l: 0 });
    expect(t.gpr(3) >> 32n).toBe(0n);
    exec(t, { op: "darn", rt: 3, l: 3 });
    expect(t.gpr(3)).toBe(M64);
    const a = thread();
    const b = thread();
    exec(a, { op: "darn", rt: 3, l: 1 });
    exec(b, { op: "darn", rt: 3, l: 1 });
    expect(a.gpr(3)).toBe(b.gpr(3));
  });

  it("atomic memory operations: ldat fetch-and-add returns the old value, stwat or-s into memory", () => {
    const t = thread();
    t.memory?.write64(0x2000, 40n);
    t.setGpr(5, 0x2000n);
    t.setGpr(4, 2n); // RT+1 holds the operand
    exec(t, { op: "ldat", rt: 3, ra: 5, fc: 0 });
    expect(t.gpr(3)).toBe(40n);
    expect(t.memory?.read64(0x2000)).toBe(42n);
    t.setGpr(6, 0x100n);
    exec(t, { op: "stwat", rs: 6, ra: 5, fc: 2 });
    expect(t.memory?.read64(0x2000)).toBe(0x12an);
  });
});
