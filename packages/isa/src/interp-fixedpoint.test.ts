// The fixed-point instructions (Power ISA v3.0B Book I chapter 3) against reference definitions
// written from the ISA's pseudocode on BigInt: each property draws register values, XER bits and
// the Rc/OE forms, executes one word and compares RT, XER (SO, OV, CA, OV32, CA32) and CR0 with
// the reference. 32-bit mode (MSR[SF] = 0) follows Book I 3.3.9 and QEMU
// target/ppc/translate.c gen_op_arith_add/gen_op_arith_compute_ov (NARROW_MODE: CA is the carry
// into bit 32, OV the overflow of the low word, CR0 compares the low word).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encode, type Insn } from "./codec.js";
import { SPRN_SRR0, SPRN_SRR1 } from "./registers.js";
import {
  arbU64,
  arbXer,
  cr0,
  crField,
  crOf,
  exec,
  M32,
  M64,
  MSR_HOST32,
  prepareRegs,
  registerThread,
  s32,
  s64,
  u64,
  XER_CA,
  XER_CA32,
  XER_OV,
  XER_OV32,
  XER_SO,
  xerOf,
} from "./test-helpers/interp.js";
import { MSR_HOST } from "./test-helpers/setup.js";
import { EXEC_INTERRUPT, EXEC_OK } from "./thread.js";

const RUNS = { numRuns: 50 };

/** The add family: RT = (~)RA + operand + carry-in (Book I 3.3.9). */
const ADDS: Record<
  string,
  { inv: boolean; b: (rb: bigint) => bigint; cin: (ca: bigint) => bigint; setsCa: boolean; rb: boolean }
> = {
  add: { inv: false, b: (rb) => rb, cin: () => 0n, setsCa: false, rb: true },
  subf: { inv: true, b: (rb) => rb, cin: () => 1n, setsCa: false, rb: true },
  addc: { inv: false, b: (rb) => rb, cin: () => 0n, setsCa: true, rb: true },
  subfc: { inv: true, b: (rb) => rb, cin: () => 1n, setsCa: true, rb: true },
  adde: { inv: false, b: (rb) => rb, cin: (ca) => ca, setsCa: true, rb: true },
  subfe: { inv: true, b: (rb) => rb, cin: (ca) => ca, setsCa: true, rb: true },
  addme: { inv: false, b: () => M64, cin: (ca) => ca, setsCa: true, rb: false },
  subfme: { inv: true, b: () => M64, cin: (ca) => ca, setsCa: true, rb: false },
  addze: { inv: false, b: () => 0n, cin: (ca) => ca, setsCa: true, rb: false },
  subfze: { inv: true, b: () => 0n, cin: (ca) => ca, setsCa: true, rb: false },
  neg: { inv: true, b: () => 0n, cin: () => 1n, setsCa: false, rb: false },
};

/** a + b + cin: the result, the carries out of bits 0 and 32, the overflows of 64 and 32 bits. */
function addRef(a: bigint, b: bigint, cin: bigint) {
  const r = u64(a + b + cin);
  return {
    r,
    ca: a + b + cin > M64,
    ca32: (a & M32) + (b & M32) + cin > M32,
    ov: s64(a) + s64(b) + cin !== s64(r),
    ov32: s32(a) + s32(b) + cin !== s32(r),
  };
}

/** XER after an instruction that sets CA (when `ca` is given) and OV (when `ov` is given). */
function xerAfter(xer: bigint, ca?: [boolean, boolean], ov?: [boolean, boolean]): bigint {
  let x = xer;
  if (ca) x = (x & ~(XER_CA | XER_CA32)) | (ca[0] ? XER_CA : 0n) | (ca[1] ? XER_CA32 : 0n);
  if (ov) x = (x & ~(XER_OV | XER_OV32)) | (ov[0] ? XER_OV | XER_SO : 0n) | (ov[1] ? XER_OV32 : 0n);
  return x;
}

describe("add and subtract from: RT, CA/CA32, OV/OV32/SO and CR0 against the ISA's definitions", () => {
  for (const [op, d] of Object.entries(ADDS)) {
    it(`${op}[o][.] in 64-bit and 32-bit mode`, () => {
      fc.assert(
        fc.property(
          arbU64(),
          arbU64(),
          arbXer(),
          fc.boolean(),
          fc.boolean(),
          fc.boolean(),
          (a, b, x, oe, rc, m32) => {
            const t = prepareRegs({ 4: a, 5: b }, x, m32 ? MSR_HOST32 : MSR_HOST);
            const insn: Insn = d.rb
              ? { op, rt: 3, ra: 4, rb: 5, oe: oe ? 1 : 0, rc: rc ? 1 : 0 }
              : { op, rt: 3, ra: 4, oe: oe ? 1 : 0, rc: rc ? 1 : 0 };
            t.cr = 0x12345678;
            expect(exec(t, insn)).toBe(EXEC_OK);
            const ref = addRef(d.inv ? ~a & M64 : a, d.b(b), d.cin((x & XER_CA) !== 0n ? 1n : 0n));
            expect(t.gpr(3)).toBe(ref.r);
            // 32-bit mode: CA and OV come from the low word (and CA32/OV32 equal them)
            const ca: [boolean, boolean] = m32 ? [ref.ca32, ref.ca32] : [ref.ca, ref.ca32];
            const ov: [boolean, boolean] = m32 ? [ref.ov32, ref.ov32] : [ref.ov, ref.ov32];
            const want = xerAfter(x, d.setsCa ? ca : undefined, oe ? ov : undefined);
            expect(xerOf(t)).toBe(want);
            const crWant = rc ? crOf(m32 ? s32(ref.r) : s64(ref.r), (want & XER_SO) !== 0n) : 0x1;
            expect(cr0(t)).toBe(crWant);
            expect(t.cr & 0x0fffffff).toBe(0x02345678);
            expect(t.pc).toBe(0x1004n);
          },
        ),
        RUNS,
      );
    });
  }

  it("addi/addis/addic/addic./subfic: RA = 0 reads 0 for addi(s) only; CA from the 64-bit sum", () => {
    fc.assert(
      fc.property(
        arbU64(),
        fc.integer({ min: -32768, max: 32767 }),
        arbXer(),
        fc.boolean(),
        (a, si, x, m32) => {
          const msr = m32 ? MSR_HOST32 : MSR_HOST;
          const s = BigInt(si);
          const addi = prepareRegs({ 4: a }, x, msr);
          exec(addi, { op: "addi", rt: 3, ra: 4, si });
          expect(addi.gpr(3)).toBe(u64(a + s));
          expect(xerOf(addi)).toBe(x);
          const addis = prepareRegs({ 4: a, 0: a }, x, msr);
          exec(addis, { op: "addis", rt: 3, ra: 4, si });
          expect(addis.gpr(3)).toBe(u64(a + (s << 16n)));
          exec(addis, { op: "addis", rt: 6, ra: 0, si });
          expect(addis.gpr(6)).toBe(u64(s << 16n));
          exec(addis, { op: "addi", rt: 7, ra: 0, si });
          expect(addis.gpr(7)).toBe(u64(s));
          for (const op of ["addic", "addic."]) {
            const t = prepareRegs({ 4: a }, x, msr);
            exec(t, { op, rt: 3, ra: 4, si });
            const ref = addRef(a, u64(s), 0n);
            expect(t.gpr(3)).toBe(ref.r);
            const ca: [boolean, boolean] = m32 ? [ref.ca32, ref.ca32] : [ref.ca, ref.ca32];
            expect(xerOf(t)).toBe(xerAfter(x, ca));
            expect(cr0(t)).toBe(
              op === "addic." ? crOf(m32 ? s32(ref.r) : s64(ref.r), (x & XER_SO) !== 0n) : 0,
            );
          }
          // addic with RA = 0 reads r0 (only addi, addis and the storage forms read 0)
          const r0 = prepareRegs({ 0: a }, x, msr);
          exec(r0, { op: "addic", rt: 3, ra: 0, si });
          expect(r0.gpr(3)).toBe(u64(a + s));
          const sf = prepareRegs({ 4: a }, x, msr);
          exec(sf, { op: "subfic", rt: 3, ra: 4, si });
          const ref = addRef(~a & M64, u64(s), 1n);
          expect(sf.gpr(3)).toBe(ref.r);
          const ca: [boolean, boolean] = m32 ? [ref.ca32, ref.ca32] : [ref.ca, ref.ca32];
          expect(xerOf(sf)).toBe(xerAfter(x, ca));
        },
      ),
      RUNS,
    );
  });

  it("addpcis: RT = NIA + (D || 0x0000), the carry crossing into the high word", () => {
    const t = registerThread();
    t.pc = 0xfffffff8n;
    exec(t, { op: "addpcis", rt: 3, d: 1 });
    expect(t.gpr(3)).toBe(0xfffffffcn + 0x10000n);
    t.pc = 0x1_fffffffcn;
    exec(t, { op: "addpcis", rt: 3, d: -1 });
    expect(t.gpr(3)).toBe(0x2_00000000n - 0x10000n);
    t.pc = 0x2000n;
    exec(t, { op: "addpcis", rt: 3, d: 0 });
    expect(t.gpr(3)).toBe(0x2004n);
  });

  it("addex (CY = 0) adds with XER[OV] as the carry; OV gets the carry out, OV32 the carry out of the low word, SO unchanged", () => {
    fc.assert(
      fc.property(arbU64(), arbU64(), arbXer(), (a, b, x) => {
        const t = prepareRegs({ 4: a, 5: b }, x);
        exec(t, { op: "addex", rt: 3, ra: 4, rb: 5, cy: 0 });
        const ref = addRef(a, b, (x & XER_OV) !== 0n ? 1n : 0n);
        expect(t.gpr(3)).toBe(ref.r);
        const want = (x & ~(XER_OV | XER_OV32)) | (ref.ca ? XER_OV : 0n) | (ref.ca32 ? XER_OV32 : 0n);
        expect(xerOf(t)).toBe(want);
      }),
      RUNS,
    );
  });

  it("addex with CY != 0 is reserved in v3.0B: Hypervisor Emulation Assistance", () => {
    for (const cy of [1, 2, 3]) {
      const t = registerThread();
      const w = encode({ op: "addex", rt: 3, ra: 4, rb: 5, cy: 0 }) | (cy << 9);
      expect(t.execute(w >>> 0)).toBe(EXEC_INTERRUPT);
      expect(t.lastInterrupt?.vector).toBe(0xe40);
    }
  });
});

describe("multiply, divide, modulo against BigInt arithmetic", () => {
  it("mulld[o][.], mullw[o][.]: the low 64 bits of the product; OV and OV32 when it does not fit", () => {
    fc.assert(
      fc.property(arbU64(), arbU64(), arbXer(), fc.boolean(), fc.boolean(), (a, b, x, oe, rc) => {
        const d = prepareRegs({ 4: a, 5: b }, x);
        exec(d, { op: "mulld", rt: 3, ra: 4, rb: 5, oe: oe ? 1 : 0, rc: rc ? 1 : 0 });
        const p = s64(a) * s64(b);
        const ovd = p !== s64(p);
        expect(d.gpr(3)).toBe(u64(p));
        const xd = xerAfter(x, undefined, oe ? [ovd, ovd] : undefined);
        expect(xerOf(d)).toBe(xd);
        expect(cr0(d)).toBe(rc ? crOf(s64(p), (xd & XER_SO) !== 0n) : 0);
        const w = prepareRegs({ 4: a, 5: b }, x);
        exec(w, { op: "mullw", rt: 3, ra: 4, rb: 5, oe: oe ? 1 : 0, rc: rc ? 1 : 0 });
        const q = s32(a) * s32(b);
        const ovw = q !== s32(q);
        expect(w.gpr(3)).toBe(u64(q));
        const xw = xerAfter(x, undefined, oe ? [ovw, ovw] : undefined);
        expect(xerOf(w)).toBe(xw);
        expect(cr0(w)).toBe(rc ? crOf(q, (xw & XER_SO) !== 0n) : 0);
      }),
      RUNS,
    );
  });

  it("mulhd, mulhdu: the high doubleword; mulhw, mulhwu: the high word of the word product in RT[32:63]", () => {
    fc.assert(
      fc.property(arbU64(), arbU64(), fc.boolean(), (a, b, rc) => {
        const x = XER_SO;
        const cases: [string, bigint][] = [
          ["mulhd", u64((s64(a) * s64(b)) >> 64n)],
          ["mulhdu", (a * b) >> 64n],
        ];
        for (const [op, want] of cases) {
          const t = prepareRegs({ 4: a, 5: b }, x);
          exec(t, { op, rt: 3, ra: 4, rb: 5, rc: rc ? 1 : 0 });
          expect(t.gpr(3), op).toBe(want);
          expect(xerOf(t)).toBe(x);
          expect(cr0(t)).toBe(rc ? crOf(s64(want), true) : 0);
        }
        const words: [string, bigint][] = [
          ["mulhw", u64((s32(a) * s32(b)) >> 32n) & M32],
          ["mulhwu", (((a & M32) * (b & M32)) >> 32n) & M32],
        ];
        for (const [op, want] of words) {
          const t = prepareRegs({ 4: a, 5: b }, x);
          exec(t, { op, rt: 3, ra: 4, rb: 5 });
          expect(t.gpr(3) & M32, op).toBe(want);
        }
        const li = prepareRegs({ 4: a }, x);
        exec(li, { op: "mulli", rt: 3, ra: 4, si: -7 });
        expect(li.gpr(3)).toBe(u64(s64(a) * -7n));
      }),
      RUNS,
    );
  });

  it("maddhd, maddhdu, maddld: (RA * RB + RC), high signed, high unsigned, low doubleword", () => {
    fc.assert(
      fc.property(arbU64(), arbU64(), arbU64(), (a, b, c) => {
        const cases: [string, bigint][] = [
          ["maddhd", u64((s64(a) * s64(b) + s64(c)) >> 64n)],
          ["maddhdu", u64((a * b + c) >> 64n)],
          ["maddld", u64(a * b + c)],
        ];
        for (const [op, want] of cases) {
          const t = prepareRegs({ 4: a, 5: b, 6: c });
          exec(t, { op, rt: 3, ra: 4, rb: 5, rcr: 6 });
          expect(t.gpr(3), op).toBe(want);
        }
      }),
      RUNS,
    );
  });

  /** divide: [op, word, signed, extended]. */
  const DIVS: [string, boolean, boolean, boolean][] = [
    ["divd", false, true, false],
    ["divdu", false, false, false],
    ["divw", true, true, false],
    ["divwu", true, false, false],
    ["divde", false, true, true],
    ["divdeu", false, false, true],
    ["divwe", true, true, true],
    ["divweu", true, false, true],
  ];

  /** The quotient, or null when the ISA calls the result undefined and sets OV. */
  function divRef(a: bigint, b: bigint, word: boolean, signed: boolean, ext: boolean): bigint | null {
    const bits = word ? 32n : 64n;
    const val = (v: bigint) => (signed ? BigInt.asIntN(Number(bits), v) : BigInt.asUintN(Number(bits), v));
    const dividend = ext ? val(a) << bits : val(a);
    const divisor = val(b);
    if (divisor === 0n) return null;
    const q = dividend / divisor; // BigInt division truncates toward zero, as the ISA's
    const fits = signed ? q === BigInt.asIntN(Number(bits), q) : q === BigInt.asUintN(Number(bits), q);
    return fits ? q : null;
  }

  for (const [op, word, signed, ext] of DIVS) {
    it(`${op}[o][.]: the quotient truncated toward zero; OV = OV32 on division by 0 and on overflow`, () => {
      const small = fc.oneof(
        arbU64(),
        fc.bigInt({ min: 0n, max: 40n }),
        fc.bigInt({ min: -40n, max: -1n }).map(u64),
      );
      fc.assert(
        fc.property(small, small, arbXer(), fc.boolean(), fc.boolean(), (a, b, x, oe, rc) => {
          const t = prepareRegs({ 4: a, 5: b }, x);
          exec(t, { op, rt: 3, ra: 4, rb: 5, oe: oe ? 1 : 0, rc: rc ? 1 : 0 });
          const q = divRef(a, b, word, signed, ext);
          const ov = q === null;
          const want = xerAfter(x, undefined, oe ? [ov, ov] : undefined);
          expect(xerOf(t)).toBe(want);
          if (q !== null) {
            // word forms: RT[32:63] = the quotient (RT[0:31] undefined); CR0 from the 64-bit RT
            if (word) expect(t.gpr(3) & M32).toBe(BigInt.asUintN(32, q));
            else {
              expect(t.gpr(3)).toBe(u64(q));
              expect(cr0(t)).toBe(rc ? crOf(s64(u64(q)), (want & XER_SO) !== 0n) : 0);
            }
          }
        }),
        RUNS,
      );
    });
  }

  it("modsd, modud, modsw, moduw: the remainder with the dividend's sign", () => {
    fc.assert(
      fc.property(arbU64(), arbU64(), (a, b) => {
        const cases: [string, bigint, bigint][] = [
          ["modsd", s64(a), s64(b)],
          ["modud", a, b],
          ["modsw", s32(a), s32(b)],
          ["moduw", a & M32, b & M32],
        ];
        for (const [op, x, y] of cases) {
          // division by 0 and (most negative) % -1 are undefined
          if (y === 0n || y === -1n) continue;
          const t = prepareRegs({ 4: a, 5: b });
          exec(t, { op, rt: 3, ra: 4, rb: 5 });
          expect(t.gpr(3), op).toBe(u64(x % y));
        }
      }),
      RUNS,
    );
  });
});

describe("compares, CR-setting and select against the ISA's definitions", () => {
  it("cmp, cmpl, cmpi, cmpli: L = 1 compares doublewords, L = 0 the sign- or zero-extended low words; SO copied", () => {
    fc.assert(
      fc.property(
        arbU64(),
        arbU64(),
        fc.integer({ min: -32768, max: 32767 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 1 }),
        fc.boolean(),
        (a, b, si, bf, l, so) => {
          const x = so ? XER_SO : 0n;
          const ui = si & 0xffff;
          const val = (v: bigint, signed: boolean) => (l ? (signed ? s64(v) : v) : signed ? s32(v) : v & M32);
          const cmp = (p: bigint, q: bigint) => (p < q ? 8 : p > q ? 4 : 2) | (so ? 1 : 0);
          const cases: [object, number][] = [
            [{ op: "cmp", bf, l, ra: 4, rb: 5 }, cmp(val(a, true), val(b, true))],
            [{ op: "cmpl", bf, l, ra: 4, rb: 5 }, cmp(val(a, false), val(b, false))],
            [{ op: "cmpi", bf, l, ra: 4, si }, cmp(val(a, true), BigInt(si))],
            [{ op: "cmpli", bf, l, ra: 4, ui }, cmp(val(a, false), BigInt(ui))],
          ];
          for (const [insn, want] of cases) {
            const t = prepareRegs({ 4: a, 5: b }, x);
            t.cr = 0xffffffff;
            exec(t, insn as never);
            expect(crField(t, bf)).toBe(want);
            expect((t.cr | (0xf << (28 - 4 * bf))) >>> 0).toBe(0xffffffff);
          }
        },
      ),
      RUNS,
    );
  });

  it("cmprb: byte RA[56:63] within range 1 (RB[56:63] low, RB[48:55] high) or, with L = 1, range 2; cmpeqb: equal to a byte of RB", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), arbU64(), fc.integer({ min: 0, max: 7 }), (c, rb, bf) => {
        const byte = (i: number) => Number((rb >> BigInt(8 * i)) & 0xffn);
        const in1 = c >= byte(0) && c <= byte(1);
        const in2 = c >= byte(2) && c <= byte(3);
        for (const l of [0, 1]) {
          const t = prepareRegs({ 4: 0x1234_5600n | BigInt(c), 5: rb }, XER_SO);
          exec(t, { op: "cmprb", bf, l, ra: 4, rb: 5 });
          // CR field = 0b0 || in_range || 0b00 (SO is not copied)
          expect(crField(t, bf), `l=${l}`).toBe(in1 || (l === 1 && in2) ? 4 : 0);
        }
        const t = prepareRegs({ 4: 0xab00n | BigInt(c), 5: rb }, XER_SO);
        exec(t, { op: "cmpeqb", bf, ra: 4, rb: 5 });
        const hit = [0, 1, 2, 3, 4, 5, 6, 7].some((i) => byte(i) === c);
        expect(crField(t, bf)).toBe(hit ? 2 : 0);
      }),
      RUNS,
    );
  });

  it("setb: -1 when the field's LT is set, else 1 when GT is set, else 0", () => {
    for (let f = 0; f < 16; f++) {
      for (const bfa of [0, 3, 7]) {
        const t = registerThread();
        t.cr = (f << (28 - 4 * bfa)) >>> 0;
        exec(t, { op: "setb", rt: 3, bfa });
        expect(t.gpr(3), `field ${f} in cr${bfa}`).toBe(f & 8 ? M64 : f & 4 ? 1n : 0n);
      }
    }
  });

  it("mcrxrx: the field gets OV, OV32, CA, CA32", () => {
    fc.assert(
      fc.property(arbXer(), fc.integer({ min: 0, max: 7 }), (x, bf) => {
        const t = prepareRegs({}, x);
        exec(t, { op: "mcrxrx", bf });
        const want =
          (x & XER_OV ? 8 : 0) | (x & XER_OV32 ? 4 : 0) | (x & XER_CA ? 2 : 0) | (x & XER_CA32 ? 1 : 0);
        expect(crField(t, bf)).toBe(want);
      }),
      RUNS,
    );
  });

  it("isel: RT = (RA|0) when CR bit BC is set, RB otherwise", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: 31 }),
        arbU64(),
        arbU64(),
        (bc, ra, a, b) => {
          const t = prepareRegs({ 4: a, 5: b, 0: 0x77n });
          t.cr = ((0x5a5a5a5a >>> 0) ^ (bc * 0x01010101)) >>> 0;
          const bit = (t.cr >>> (31 - bc)) & 1;
          const reg = ra === 0 ? 0 : 4;
          exec(t, { op: "isel", rt: 3, ra: reg, rb: 5, bc });
          expect(t.gpr(3)).toBe(bit ? (reg === 0 ? 0n : a) : b);
        },
      ),
      RUNS,
    );
  });
});

describe("logical, extend, count and bit-permute against the ISA's definitions", () => {
  it("ori, oris, xori, xoris, andi., andis.: the immediate at bits 48:63 or 32:47; the and forms set CR0", () => {
    fc.assert(
      fc.property(arbU64(), fc.integer({ min: 0, max: 0xffff }), fc.boolean(), (s, ui, so) => {
        const u = BigInt(ui);
        const cases: [string, bigint, boolean][] = [
          ["ori", s | u, false],
          ["oris", s | (u << 16n), false],
          ["xori", s ^ u, false],
          ["xoris", s ^ (u << 16n), false],
          ["andi.", s & u, true],
          ["andis.", s & (u << 16n), true],
        ];
        for (const [op, want, rc] of cases) {
          const t = prepareRegs({ 4: s }, so ? XER_SO : 0n);
          exec(t, { op, ra: 3, rs: 4, ui });
          expect(t.gpr(3), op).toBe(want);
          expect(cr0(t), op).toBe(rc ? crOf(s64(want), so) : 0);
        }
      }),
      RUNS,
    );
  });

  it("the register logicals with Rc = 0 leave CR0; or rX,rX,rX is a priority hint that leaves rX", () => {
    const t = prepareRegs({ 4: 0xf0n, 5: 0x0fn });
    t.cr = 0x12345678;
    exec(t, { op: "xor", ra: 3, rs: 4, rb: 5 });
    expect(t.gpr(3)).toBe(0xffn);
    expect(t.cr).toBe(0x12345678);
    // or 1,1,1 sets a low priority (PPR[PRI] = 2: Book II 3.2) and keeps r1
    t.setGpr(1, 0xabcdn);
    exec(t, { op: "or", ra: 1, rs: 1, rb: 1 });
    expect(t.gpr(1)).toBe(0xabcdn);
    expect((t.getSpr(896) >> 50n) & 7n).toBe(2n);
    // or. 1,1,1 is no hint: an ordinary or. that sets CR0
    exec(t, { op: "or", ra: 1, rs: 1, rb: 1, rc: 1 });
    expect(cr0(t)).toBe(0b0100);
    // or 3,4,4 (mr 3,4) copies
    exec(t, { op: "or", ra: 3, rs: 4, rb: 4 });
    expect(t.gpr(3)).toBe(0xf0n);
  });

  it("extsb, extsh, extsw sign-extend the low byte, halfword, word; Rc sets CR0", () => {
    fc.assert(
      fc.property(arbU64(), fc.boolean(), (s, rc) => {
        const cases: [string, bigint][] = [
          ["extsb", u64(BigInt.asIntN(8, s))],
          ["extsh", u64(BigInt.asIntN(16, s))],
          ["extsw", u64(s32(s))],
        ];
        for (const [op, want] of cases) {
          const t = prepareRegs({ 4: s });
          exec(t, { op, ra: 3, rs: 4, rc: rc ? 1 : 0 });
          expect(t.gpr(3), op).toBe(want);
          expect(cr0(t), op).toBe(rc ? crOf(s64(want), false) : 0);
        }
      }),
      RUNS,
    );
  });

  function clz(v: bigint, bits: number): bigint {
    let n = 0n;
    for (let i = bits - 1; i >= 0 && ((v >> BigInt(i)) & 1n) === 0n; i--) n++;
    return n;
  }
  function ctz(v: bigint, bits: number): bigint {
    let n = 0n;
    for (let i = 0; i < bits && ((v >> BigInt(i)) & 1n) === 0n; i++) n++;
    return n;
  }
  const pop = (v: bigint): bigint => BigInt([...v.toString(2)].filter((c) => c === "1").length);

  it("cntlzw, cntlzd, cnttzw, cnttzd count zeros of the word or doubleword; Rc sets CR0", () => {
    const shifted = fc
      .tuple(arbU64(), fc.integer({ min: 0, max: 63 }))
      .map(([v, n]) => (v >> BigInt(n)) << BigInt(n));
    fc.assert(
      fc.property(
        fc.oneof(
          arbU64(),
          shifted,
          fc.integer({ min: 0, max: 63 }).map((n) => 1n << BigInt(n)),
        ),
        fc.boolean(),
        (s, rc) => {
          const cases: [string, bigint][] = [
            ["cntlzw", clz(s & M32, 32)],
            ["cntlzd", clz(s, 64)],
            ["cnttzw", ctz(s & M32, 32)],
            ["cnttzd", ctz(s, 64)],
          ];
          for (const [op, want] of cases) {
            const t = prepareRegs({ 4: s });
            exec(t, { op, ra: 3, rs: 4, rc: rc ? 1 : 0 });
            expect(t.gpr(3), op).toBe(want);
            expect(cr0(t), op).toBe(rc ? crOf(want, false) : 0);
          }
        },
      ),
      RUNS,
    );
  });

  it("popcntb, popcntw, popcntd count ones per byte, word, doubleword; prtyw, prtyd: parity of each byte's low bit", () => {
    fc.assert(
      fc.property(arbU64(), (s) => {
        let pb = 0n;
        for (let i = 0n; i < 8n; i++) pb |= pop((s >> (8n * i)) & 0xffn) << (8n * i);
        const lsb = (i: bigint) => (s >> (8n * i)) & 1n;
        const pw = (from: bigint) => lsb(from) ^ lsb(from + 1n) ^ lsb(from + 2n) ^ lsb(from + 3n);
        const cases: [string, bigint][] = [
          ["popcntb", pb],
          ["popcntw", (pop(s >> 32n) << 32n) | pop(s & M32)],
          ["popcntd", pop(s)],
          ["prtyw", (pw(4n) << 32n) | pw(0n)],
          ["prtyd", pw(0n) ^ pw(4n)],
        ];
        for (const [op, want] of cases) {
          const t = prepareRegs({ 4: s, 3: 0x5555n });
          exec(t, { op, ra: 3, rs: 4 });
          expect(t.gpr(3), op).toBe(want);
        }
      }),
      RUNS,
    );
  });

  it("cmpb: each byte 0xff where RS and RB agree; bpermd: bit i of the result = RB bit RS.byte[i] (IBM numbering), 0 for indices >= 64", () => {
    const bytes = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 70 })), {
      minLength: 8,
      maxLength: 8,
    });
    fc.assert(
      fc.property(arbU64(), bytes, (rb, bs) => {
        const rs = bs.reduce((a, b) => (a << 8n) | BigInt(b), 0n);
        let want = 0n;
        for (let i = 0n; i < 8n; i++) {
          const m = 0xffn << (8n * i);
          if ((rs & m) === (rb & m)) want |= m;
        }
        const t = prepareRegs({ 4: rs, 5: rb });
        exec(t, { op: "cmpb", ra: 3, rs: 4, rb: 5 });
        expect(t.gpr(3)).toBe(want);
        let perm = 0n;
        bs.forEach((idx, i) => {
          if (idx < 64) perm |= ((rb >> BigInt(63 - idx)) & 1n) << BigInt(7 - i);
        });
        const p = prepareRegs({ 4: rs, 5: rb });
        exec(p, { op: "bpermd", ra: 3, rs: 4, rb: 5 });
        expect(p.gpr(3)).toBe(perm);
      }),
      RUNS,
    );
  });
});

/** ROTL64 and MASK of the ISA (Book I 3.3.14): IBM bit numbering, 0 = most significant. */
const rotl64 = (v: bigint, n: number): bigint => u64((v << BigInt(n)) | (v >> BigInt((64 - n) % 64)));
function mask(mb: number, me: number): bigint {
  let m = 0n;
  if (mb <= me) for (let i = mb; i <= me; i++) m |= 1n << BigInt(63 - i);
  else {
    for (let i = mb; i <= 63; i++) m |= 1n << BigInt(63 - i);
    for (let i = 0; i <= me; i++) m |= 1n << BigInt(63 - i);
  }
  return m;
}

describe("rotates and shifts against ROTL64, MASK and the shift definitions", () => {
  const i5 = fc.integer({ min: 0, max: 31 });
  const i6 = fc.integer({ min: 0, max: 63 });

  it("rlwinm, rlwnm, rlwimi: ROTL32 of the low word duplicated, MASK(mb+32, me+32)", () => {
    fc.assert(
      fc.property(
        arbU64(),
        arbU64(),
        i5,
        i5,
        i5,
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (s, ra, sh, mb, me, rbv, rc) => {
          const low = s & M32;
          const dup = (low << 32n) | low;
          const m = mask(mb + 32, me + 32);
          const rot = (n: number) => rotl64(dup, n);
          const cases: [object, bigint][] = [
            [{ op: "rlwinm", ra: 3, rs: 4, sh, mb, me }, rot(sh) & m],
            [{ op: "rlwnm", ra: 3, rs: 4, rb: 5, mb, me }, rot(rbv & 31) & m],
            [{ op: "rlwimi", ra: 3, rs: 4, sh, mb, me }, (rot(sh) & m) | (ra & ~m & M64)],
          ];
          for (const [insn, want] of cases) {
            const t = prepareRegs({ 3: ra, 4: s, 5: BigInt(rbv) });
            exec(t, { ...(insn as { op: string }), rc: rc ? 1 : 0 });
            expect(t.gpr(3), (insn as { op: string }).op).toBe(want);
            expect(cr0(t)).toBe(rc ? crOf(s64(want), false) : 0);
          }
        },
      ),
      RUNS,
    );
  });

  it("rldicl, rldicr, rldic, rldimi, rldcl, rldcr: ROTL64 with MASK(mb, 63), MASK(0, me), MASK(mb, 63 - sh)", () => {
    fc.assert(
      fc.property(
        arbU64(),
        arbU64(),
        i6,
        i6,
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (s, ra, sh, mbe, rbv, rc) => {
          const n = rbv & 63;
          const cases: [object, bigint][] = [
            [{ op: "rldicl", ra: 3, rs: 4, sh, mb: mbe }, rotl64(s, sh) & mask(mbe, 63)],
            [{ op: "rldicr", ra: 3, rs: 4, sh, me: mbe }, rotl64(s, sh) & mask(0, mbe)],
            [{ op: "rldic", ra: 3, rs: 4, sh, mb: mbe }, rotl64(s, sh) & mask(mbe, 63 - sh)],
            [
              { op: "rldimi", ra: 3, rs: 4, sh, mb: mbe },
              (rotl64(s, sh) & mask(mbe, 63 - sh)) | (ra & ~mask(mbe, 63 - sh) & M64),
            ],
            [{ op: "rldcl", ra: 3, rs: 4, rb: 5, mb: mbe }, rotl64(s, n) & mask(mbe, 63)],
            [{ op: "rldcr", ra: 3, rs: 4, rb: 5, me: mbe }, rotl64(s, n) & mask(0, mbe)],
          ];
          for (const [insn, want] of cases) {
            const t = prepareRegs({ 3: ra, 4: s, 5: BigInt(rbv) });
            exec(t, { ...(insn as { op: string }), rc: rc ? 1 : 0 });
            expect(t.gpr(3), (insn as { op: string }).op).toBe(want);
            expect(cr0(t)).toBe(rc ? crOf(s64(want), false) : 0);
          }
        },
      ),
      RUNS,
    );
  });

  it("slw, srw, sraw, sld, srd, srad by RB[57:63] (word forms RB[58:63]); algebraic shifts set CA = CA32 when 1 bits leave a negative value", () => {
    fc.assert(
      fc.property(arbU64(), fc.integer({ min: 0, max: 255 }), arbXer(), fc.boolean(), (s, rbv, x, rc) => {
        const nw = rbv & 63;
        const nd = rbv & 127;
        const lw = s & M32;
        const sw = s32(s);
        const lostW = nw >= 32 ? lw !== 0n : (lw & ((1n << BigInt(nw)) - 1n)) !== 0n;
        const caW = sw < 0n && lostW;
        const lostD = nd >= 64 ? s !== 0n : (s & ((1n << BigInt(nd)) - 1n)) !== 0n;
        const caD = s64(s) < 0n && lostD;
        const cases: [string, bigint, boolean | null][] = [
          ["slw", nw >= 32 ? 0n : (lw << BigInt(nw)) & M32, null],
          ["srw", nw >= 32 ? 0n : lw >> BigInt(nw), null],
          ["sraw", u64(sw >> BigInt(Math.min(nw, 63))), caW],
          ["sld", nd >= 64 ? 0n : u64(s << BigInt(nd)), null],
          ["srd", nd >= 64 ? 0n : s >> BigInt(nd), null],
          ["srad", u64(s64(s) >> BigInt(Math.min(nd, 127))), caD],
        ];
        for (const [op, want, ca] of cases) {
          const t = prepareRegs({ 4: s, 5: 0xffff_ff00n | BigInt(rbv) }, x);
          exec(t, { op, ra: 3, rs: 4, rb: 5, rc: rc ? 1 : 0 });
          expect(t.gpr(3), `${op} ${rbv}`).toBe(want);
          const wantX = ca === null ? x : xerAfter(x, [ca, ca]);
          expect(xerOf(t), op).toBe(wantX);
          expect(cr0(t), op).toBe(rc ? crOf(s64(want), (x & XER_SO) !== 0n) : 0);
        }
      }),
      RUNS,
    );
  });

  it("srawi, sradi, extswsli: immediate shifts; CA = CA32 for the algebraic ones", () => {
    fc.assert(
      fc.property(arbU64(), i6, arbXer(), fc.boolean(), (s, sh, x, rc) => {
        const so = (x & XER_SO) !== 0n;
        const w = prepareRegs({ 4: s }, x);
        const shw = sh & 31;
        exec(w, { op: "srawi", ra: 3, rs: 4, sh: shw, rc: rc ? 1 : 0 });
        const rw = u64(s32(s) >> BigInt(shw));
        const caw = s32(s) < 0n && (s & ((1n << BigInt(shw)) - 1n)) !== 0n;
        expect(w.gpr(3)).toBe(rw);
        expect(xerOf(w)).toBe(xerAfter(x, [caw, caw]));
        expect(cr0(w)).toBe(rc ? crOf(s64(rw), so) : 0);
        const d = prepareRegs({ 4: s }, x);
        exec(d, { op: "sradi", ra: 3, rs: 4, sh, rc: rc ? 1 : 0 });
        const rd = u64(s64(s) >> BigInt(sh));
        const cad = s64(s) < 0n && (s & ((1n << BigInt(sh)) - 1n)) !== 0n;
        expect(d.gpr(3)).toBe(rd);
        expect(xerOf(d)).toBe(xerAfter(x, [cad, cad]));
        expect(cr0(d)).toBe(rc ? crOf(s64(rd), so) : 0);
        const e = prepareRegs({ 4: s }, x);
        exec(e, { op: "extswsli", ra: 3, rs: 4, sh, rc: rc ? 1 : 0 });
        const re = u64(s32(s) << BigInt(sh));
        expect(e.gpr(3)).toBe(re);
        expect(xerOf(e)).toBe(x);
        expect(cr0(e)).toBe(rc ? crOf(s64(re), so) : 0);
      }),
      RUNS,
    );
  });
});

describe("traps: TO against the signed and unsigned comparisons (Book I 3.3.11)", () => {
  it("tw, twi, td, tdi trap exactly when a selected condition holds; SRR0 = the trap, SRR1[TRAP]", () => {
    fc.assert(
      fc.property(
        arbU64(),
        arbU64(),
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: -32768, max: 32767 }),
        (a, b, to, si) => {
          const cond = (p: bigint, q: bigint, up: bigint, uq: bigint) =>
            (to & 16 && p < q) ||
            (to & 8 && p > q) ||
            (to & 4 && p === q) ||
            (to & 2 && up < uq) ||
            (to & 1 && up > uq);
          const sb = u64(BigInt(si));
          const cases: [object, boolean][] = [
            [{ op: "tw", to, ra: 4, rb: 5 }, !!cond(s32(a), s32(b), a & M32, b & M32)],
            [{ op: "twi", to, ra: 4, si }, !!cond(s32(a), BigInt(si), a & M32, sb & M32)],
            [{ op: "td", to, ra: 4, rb: 5 }, !!cond(s64(a), s64(b), a, b)],
            [{ op: "tdi", to, ra: 4, si }, !!cond(s64(a), BigInt(si), a, sb)],
          ];
          for (const [insn, trap] of cases) {
            const t = prepareRegs({ 4: a, 5: b });
            t.pc = 0x3000n;
            const r = exec(t, insn as never);
            expect(r, `${(insn as { op: string }).op} to=${to}`).toBe(trap ? EXEC_INTERRUPT : EXEC_OK);
            if (trap) {
              expect(t.lastInterrupt?.vector).toBe(0x700);
              expect(t.getSpr(SPRN_SRR0)).toBe(0x3000n);
              expect(t.getSpr(SPRN_SRR1) & 0x1f0000n).toBe(0x20000n);
            } else expect(t.pc).toBe(0x3004n);
          }
        },
      ),
      RUNS,
    );
  });
});
