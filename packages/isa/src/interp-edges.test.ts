// The interpreter at the exact edges the property suites' random operands rarely reach, each
// against the Power ISA v3.0B pseudocode (Book I chapter 3) computed on BigInt here, or the QEMU
// translation named beside it (target/ppc/translate.c, translate/fixedpoint-impl.c.inc): every
// shift count of the doubleword shifts, every mask of the doubleword rotates, the multiply and
// divide results at the ends of the signed range, and the program counter and link register at a
// 2^32 boundary.

import { describe, expect, it } from "vitest";
import type { Insn } from "./codec.js";
import {
  MSR_HV,
  MSR_LE,
  SPRN_DAR,
  SPRN_HDAR,
  SPRN_HDSISR,
  SPRN_HSRR0,
  SPRN_HSRR1,
  SPRN_LR,
  SPRN_SRR0,
  SPRN_SRR1,
  SPRN_XER,
} from "./registers.js";
import {
  crField,
  exec,
  M64,
  MSR_HOST32,
  prepareRegs,
  registerThread,
  s64,
  thread,
  u64,
  XER_CA,
  XER_CA32,
  XER_OV,
  XER_OV32,
  XER_SO,
  xerOf,
} from "./test-helpers/interp.js";
import { MSR_GUEST, MSR_HOST } from "./test-helpers/setup.js";
import { EXEC_INTERRUPT } from "./thread.js";

const VALUES = [
  0x8000_0000_0000_0001n,
  0xffff_ffff_ffff_ffffn,
  0x7fff_ffff_ffff_ffffn,
  0x8000_0000_0000_0000n,
  0x0123_4567_89ab_cdefn,
  0xfedc_ba98_8000_0000n,
  0x0000_0001_0000_0000n,
  0xffff_fffe_0000_0000n,
];

/** ISA MASK(mb, me): ones from bit mb through bit me (IBM numbering), wrapping when mb > me. */
function maskRef(mb: number, me: number): bigint {
  let m = 0n;
  for (let i = 0; i < 64; i++) {
    const inside = mb <= me ? i >= mb && i <= me : i >= mb || i <= me;
    if (inside) m |= 1n << BigInt(63 - i);
  }
  return m;
}
const rotl = (v: bigint, n: number): bigint => u64((v << BigInt(n)) | (v >> BigInt((64 - n) % 64)));

describe("shifts by every count (Book I 3.3.14.2)", () => {
  it("sld, srd, srad by each count 0..127, srad's CA = CA32 = a negative value losing 1 bits", () => {
    for (const s of VALUES) {
      for (let n = 0; n < 128; n++) {
        const lost = n >= 64 ? s !== 0n : (s & ((1n << BigInt(n)) - 1n)) !== 0n;
        const ca = s64(s) < 0n && lost;
        const cases: [string, bigint, boolean | null][] = [
          ["sld", n >= 64 ? 0n : u64(s << BigInt(n)), null],
          ["srd", n >= 64 ? 0n : s >> BigInt(n), null],
          ["srad", u64(s64(s) >> BigInt(n)), ca],
        ];
        for (const [op, want, wantCa] of cases) {
          const t = prepareRegs({ 4: s, 5: BigInt(n) });
          exec(t, { op, ra: 3, rs: 4, rb: 5, rc: 0 });
          const what = `${op} 0x${s.toString(16)} by ${n}`;
          expect(t.gpr(3), what).toBe(want);
          if (wantCa !== null) expect(xerOf(t), what).toBe(wantCa ? XER_CA | XER_CA32 : 0n);
        }
      }
    }
  });

  it("slw, srw by each count 0..63: counts 32..63 give 0; the high word is 0", () => {
    for (const s of VALUES) {
      const w = s & 0xffff_ffffn;
      for (let n = 0; n < 64; n++) {
        const t = prepareRegs({ 4: s, 5: BigInt(n) });
        exec(t, { op: "slw", ra: 3, rs: 4, rb: 5, rc: 0 });
        expect(t.gpr(3), `slw ${n}`).toBe(n >= 32 ? 0n : (w << BigInt(n)) & 0xffff_ffffn);
        const r = prepareRegs({ 4: s, 5: BigInt(n) });
        exec(r, { op: "srw", ra: 3, rs: 4, rb: 5, rc: 0 });
        expect(r.gpr(3), `srw ${n}`).toBe(n >= 32 ? 0n : w >> BigInt(n));
      }
    }
  });
});

describe("rotates by every mask (Book I 3.3.14.1)", () => {
  it("rldicl, rldicr, rldic and rldimi for every mb/me and a few shifts", () => {
    const s = 0x0123_4567_89ab_cdefn;
    const old = 0xa5a5_5a5a_f0f0_0f0fn;
    for (const sh of [0, 1, 31, 32, 33, 63]) {
      const r = rotl(s, sh);
      for (let m = 0; m < 64; m++) {
        const cases: [string, Record<string, number>, bigint][] = [
          ["rldicl", { mb: m }, r & maskRef(m, 63)],
          ["rldicr", { me: m }, r & maskRef(0, m)],
          ["rldic", { mb: m }, r & maskRef(m, 63 - sh)],
          ["rldimi", { mb: m }, (r & maskRef(m, 63 - sh)) | (old & ~maskRef(m, 63 - sh) & M64)],
        ];
        for (const [op, f, want] of cases) {
          const t = prepareRegs({ 3: old, 4: s });
          exec(t, { op, ra: 3, rs: 4, sh, ...f, rc: 0 });
          expect(t.gpr(3), `${op} sh ${sh} ${JSON.stringify(f)}`).toBe(want);
        }
      }
    }
  });

  it("rlwinm for every mb/me: ROTL32 of the low word duplicated into both halves, under MASK(mb+32, me+32)", () => {
    const s = 0x0f0f_0f0f_8123_4567n;
    const w = s & 0xffff_ffffn;
    for (const sh of [0, 4, 31]) {
      const r32 = ((w << BigInt(sh)) | (w >> BigInt((32 - sh) % 32))) & 0xffff_ffffn;
      const r = (r32 << 32n) | r32;
      for (let mb = 0; mb < 32; mb++) {
        for (let me = 0; me < 32; me++) {
          const t = prepareRegs({ 4: s });
          exec(t, { op: "rlwinm", ra: 3, rs: 4, sh, mb, me, rc: 0 });
          expect(t.gpr(3), `rlwinm ${sh},${mb},${me}`).toBe(r & maskRef(mb + 32, me + 32));
        }
      }
    }
  });
});

describe("multiply and divide at the ends of the signed range", () => {
  it("mulldo and mullwo: exactly the most negative product does not overflow, one past the most positive does", () => {
    const cases: [string, bigint, bigint, boolean][] = [
      ["mulld", -(1n << 62n), 2n, false], // -2^63
      ["mulld", 1n << 62n, 2n, true], // 2^63
      ["mulld", (1n << 62n) - 1n, 2n, false], // 2^63 - 2
      ["mulld", (1n << 63n) - 1n, 1n, false], // 2^63 - 1
      ["mullw", (1n << 31n) - 1n, 1n, false], // 2^31 - 1
      ["mullw", -(1n << 30n), 2n, false], // -2^31
      ["mullw", 1n << 30n, 2n, true], // 2^31
    ];
    for (const [op, a, b, ov] of cases) {
      const t = prepareRegs({ 4: a, 5: b });
      exec(t, { op, rt: 3, ra: 4, rb: 5, oe: 1, rc: 0 });
      const product = op === "mulld" ? s64(a * b) : a * b;
      expect(t.gpr(3), `${op} ${a} ${b}`).toBe(u64(product));
      expect(xerOf(t), `${op} ${a} ${b}`).toBe(ov ? XER_SO | XER_OV | XER_OV32 : 0n);
    }
  });

  it("divdo/divwo: the most negative quotient is no overflow; divw's quotient is zero-extended (QEMU gen_op_arith_divw: extu)", () => {
    const d = prepareRegs({ 4: 1n << 63n, 5: 1n });
    exec(d, { op: "divd", rt: 3, ra: 4, rb: 5, oe: 1, rc: 0 });
    expect(d.gpr(3)).toBe(1n << 63n);
    expect(xerOf(d)).toBe(0n);
    const w = prepareRegs({ 4: u64(-(1n << 31n)), 5: 1n });
    exec(w, { op: "divw", rt: 3, ra: 4, rb: 5, oe: 1, rc: 0 });
    expect(w.gpr(3)).toBe(0x8000_0000n);
    expect(xerOf(w)).toBe(0n);
    const n = prepareRegs({ 4: u64(-6n), 5: 3n });
    exec(n, { op: "divw", rt: 3, ra: 4, rb: 5, oe: 0, rc: 0 });
    expect(n.gpr(3)).toBe(0xffff_fffen);
  });

  it("modsd/modsw by 0 and by -1 give 0 (the ISA leaves them undefined; the model returns 0)", () => {
    for (const op of ["modsd", "modsw", "modud", "moduw"]) {
      const z = prepareRegs({ 4: 7n, 5: 0n });
      exec(z, { op, rt: 3, ra: 4, rb: 5 });
      expect(z.gpr(3), `${op} by 0`).toBe(0n);
    }
    for (const op of ["modsd", "modsw"]) {
      const m = prepareRegs({ 4: 7n, 5: M64 });
      exec(m, { op, rt: 3, ra: 4, rb: 5 });
      expect(m.gpr(3), `${op} by -1`).toBe(0n);
    }
  });
});

describe("compares and traps at equality", () => {
  it("cmprb: a byte equal to either end of a range is in it", () => {
    // v3.0B cmprb: src22lo = RB[56:63], src22hi = RB[48:55] (0x30..0x39); with L = 1 also
    // src21lo = RB[40:47], src21hi = RB[32:39] (0x41..0x5a)
    const rb = 0x5a41_3930n;
    for (const [b, l, inRange] of [
      [0x30, 0, true],
      [0x39, 0, true],
      [0x3a, 0, false],
      [0x41, 1, true],
      [0x5a, 1, true],
      [0x5b, 1, false],
      [0x41, 0, false],
    ] as const) {
      const t = prepareRegs({ 4: BigInt(b), 5: rb });
      exec(t, { op: "cmprb", bf: 2, l, ra: 4, rb: 5 });
      expect(crField(t, 2), `0x${b.toString(16)} l=${l}`).toBe(inRange ? 4 : 0);
    }
  });

  it("tw/td with TO = unsigned less-than or greater-than do not trap on equal operands", () => {
    for (const op of ["tw", "td"]) {
      for (const to of [1, 2, 16, 8]) {
        const t = prepareRegs({ 4: 5n, 5: 5n });
        exec(t, { op, to, ra: 4, rb: 5 });
        expect(t.pc, `${op} ${to}`).toBe(0x1004n);
      }
    }
  });

  it("a trap in guest state is a Program interrupt to the OS: SRR0 = the trap (Book III 7.5.9)", () => {
    const t = prepareRegs({ 4: 5n, 5: 5n }, 0n, MSR_GUEST);
    exec(t, { op: "tw", to: 4, ra: 4, rb: 5 });
    expect(t.pc).toBe(0x700n);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x1000n);
    expect(t.msr & MSR_HV).toBe(0n); // the OS takes it: MSR[HV] stays 0
  });
});

describe("immediates and the 2^32 boundary of the PC", () => {
  it("addi with SI = 0 copies RA; addis with SI = 0 too", () => {
    for (const op of ["addi", "addis"]) {
      const t = prepareRegs({ 4: 0x1234_5678_9abc_def0n });
      exec(t, { op, rt: 3, ra: 4, si: 0 });
      expect(t.gpr(3), op).toBe(0x1234_5678_9abc_def0n);
    }
  });

  it("bl and addpcis at PC 0x1_0000_0000: LR and the next instruction's address keep the high word", () => {
    const t = registerThread();
    t.pc = 0x1_0000_0000n;
    exec(t, { op: "b", disp: 0x100, lk: 1, aa: 0 });
    expect(t.getSpr(SPRN_LR)).toBe(0x1_0000_0004n);
    expect(t.pc).toBe(0x1_0000_0100n);
    const a = registerThread();
    a.pc = 0x1_0000_0000n;
    exec(a, { op: "addpcis", rt: 3, d: 0 });
    expect(a.gpr(3)).toBe(0x1_0000_0004n);
  });

  it("a relative branch from 0xffff_fffc by 4 lands exactly on the next 2^32 boundary", () => {
    const t = registerThread();
    t.pc = 0x1_ffff_fffcn;
    exec(t, { op: "b", disp: 4, lk: 0, aa: 0 });
    expect(t.pc).toBe(0x2_0000_0000n);
    const b = registerThread();
    b.pc = 0x2_0000_0000n;
    exec(b, { op: "b", disp: -4, lk: 0, aa: 0 });
    expect(b.pc).toBe(0x1_ffff_fffcn);
    const z = registerThread();
    z.pc = 0x2_0000_0004n;
    exec(z, { op: "b", disp: -4, lk: 0, aa: 0 });
    expect(z.pc).toBe(0x2_0000_0000n);
  });
});

describe("32-bit mode (MSR[SF] = 0): the high word of every next instruction's address is 0", () => {
  // Book I 1.9.1/2.4 and qemu: target/ppc/translate.c (gen_update_nip, gen_b, gen_setlr in
  // NARROW_MODE) and target/ppc/excp_helper.c do_rfi (a return to 32-bit mode crops the address)
  it("a sequential instruction at 0xffff_fffc wraps to 0; in 64-bit mode it carries into the high word", () => {
    const t = registerThread(MSR_HOST32);
    t.pc = 0xffff_fffcn;
    exec(t, { op: "addi", rt: 3, ra: 0, si: 1 });
    expect(t.pc).toBe(0n);
    const w = registerThread(MSR_HOST);
    w.pc = 0xffff_fffcn;
    exec(w, { op: "addi", rt: 3, ra: 0, si: 1 });
    expect(w.pc).toBe(0x1_0000_0000n);
  });

  it("a not-taken bc at 0xffff_fffc wraps to 0 as well", () => {
    const t = registerThread(MSR_HOST32);
    t.pc = 0xffff_fffcn;
    t.cr = 0; // bc 12,2 (beq) with CR0[EQ] clear: not taken
    exec(t, { op: "bc", bo: 12, bi: 2, disp: 0x40, lk: 0, aa: 0 });
    expect(t.pc).toBe(0n);
  });

  it("relative branches wrap modulo 2^32 both ways", () => {
    const up = registerThread(MSR_HOST32);
    up.pc = 0xffff_fff0n;
    exec(up, { op: "b", disp: 0x20, lk: 0, aa: 0 });
    expect(up.pc).toBe(0x10n);
    const down = registerThread(MSR_HOST32);
    down.pc = 0x10n;
    exec(down, { op: "b", disp: -0x20, lk: 0, aa: 0 });
    expect(down.pc).toBe(0xffff_fff0n);
    const taken = registerThread(MSR_HOST32);
    taken.pc = 0xffff_fff0n;
    taken.cr = 0x2000_0000; // CR0[EQ]
    exec(taken, { op: "bc", bo: 12, bi: 2, disp: 0x20, lk: 0, aa: 0 });
    expect(taken.pc).toBe(0x10n);
  });

  it("an absolute branch to a negative address lands in the low 4 GiB; in 64-bit mode it is sign-extended", () => {
    const t = registerThread(MSR_HOST32);
    exec(t, { op: "b", disp: -0x100, lk: 0, aa: 1 });
    expect(t.pc).toBe(0xffff_ff00n);
    const w = registerThread(MSR_HOST);
    exec(w, { op: "b", disp: -0x100, lk: 0, aa: 1 });
    expect(w.pc).toBe(0xffff_ffff_ffff_ff00n);
  });

  it("bl at 0xffff_fffc puts 0 in LR (64-bit mode: 0x1_0000_0000)", () => {
    const t = registerThread(MSR_HOST32);
    t.pc = 0xffff_fffcn;
    exec(t, { op: "b", disp: 0x100, lk: 1, aa: 0 });
    expect(t.getSpr(SPRN_LR)).toBe(0n);
    expect(t.pc).toBe(0xfcn);
    const w = registerThread(MSR_HOST);
    w.pc = 0xffff_fffcn;
    exec(w, { op: "b", disp: 0x100, lk: 1, aa: 0 });
    expect(w.getSpr(SPRN_LR)).toBe(0x1_0000_0000n);
  });

  it("rfid and hrfid to an MSR without SF crop SRR0's high word; with SF they keep it", () => {
    for (const [op, s0, s1] of [
      ["rfid", SPRN_SRR0, SPRN_SRR1],
      ["hrfid", SPRN_HSRR0, SPRN_HSRR1],
    ] as const) {
      for (const [msr, pc] of [
        [MSR_HOST32, 0x2345_6788n],
        [MSR_HOST, 0x1_2345_6788n],
      ] as const) {
        const t = registerThread(MSR_HOST);
        t.setSpr(s0, 0x1_2345_678bn);
        t.setSpr(s1, msr);
        exec(t, { op });
        expect(t.pc, `${op} to ${msr.toString(16)}`).toBe(pc);
        expect(t.msr, op).toBe(msr);
      }
    }
  });
});

describe("condition register moves", () => {
  it("mcrf copies the field as it is: XER[SO] is not ORed into it (Book I 2.5.1)", () => {
    const t = registerThread();
    t.setSpr(SPRN_XER, XER_SO);
    t.cr = 0x4000_0000; // CR0 = GT
    exec(t, { op: "mcrf", bf: 1, bfa: 0 });
    expect(crField(t, 1)).toBe(4);
  });

  it("or Rx,Ry,Ry and or Rx,Rx,Ry are moves, not priority hints: only or Rx,Rx,Rx is one", () => {
    for (const [rs, ra, rb] of [
      [4, 3, 4],
      [3, 3, 4],
      [4, 4, 3],
    ]) {
      const t = prepareRegs({ 3: 0x30n, 4: 0x0fn });
      exec(t, { op: "or", ra, rs, rb, rc: 0 });
      const v = (x: number) => (x === 3 ? 0x30n : 0x0fn);
      expect(t.gpr(ra), `or ${ra},${rs},${rb}`).toBe(v(rs) | v(rb));
    }
  });
});

describe("storage accesses outside memory and with RA = 0", () => {
  const HDSI = 0xe00;
  const OUTSIDE = 0x20_0000n; // past the suites' 1 MiB of memory

  it("each block, quadword, multiple, string and atomic access outside memory takes the HDSI in guest state, with HDSISR[ST] for stores, and does not complete", () => {
    const cases: [Insn, boolean][] = [
      [{ op: "dcbz", ra: 0, rb: 4 }, true],
      [{ op: "copy", ra: 0, rb: 4 }, false],
      [{ op: "lq", rt: 6, ra: 4, dq: 0 }, false],
      [{ op: "stq", rs: 6, ra: 4, ds: 0 }, true],
      [{ op: "lmw", rt: 30, ra: 4, d: 0 }, false],
      [{ op: "stmw", rs: 30, ra: 4, d: 0 }, true],
      [{ op: "lswi", rt: 6, ra: 4, nb: 8 }, false],
      [{ op: "stswi", rs: 6, ra: 4, nb: 8 }, true],
      [{ op: "ldat", rt: 6, ra: 4, fc: 0 }, true],
      [{ op: "stdat", rs: 6, ra: 4, fc: 0 }, true],
      [{ op: "stdcx.", rs: 6, ra: 0, rb: 4 }, true],
    ];
    for (const [insn, store] of cases) {
      const t = thread(MSR_GUEST & ~MSR_LE); // big-endian: lmw and the strings run
      t.setGpr(4, OUTSIDE);
      t.setGpr(6, 0x66n);
      t.setGpr(30, 0x3030n);
      expect(exec(t, insn), insn.op).toBe(EXEC_INTERRUPT);
      expect(t.lastInterrupt?.vector, insn.op).toBe(HDSI);
      expect(t.pc, insn.op).toBe(BigInt(HDSI));
      expect(t.getSpr(SPRN_HDAR), insn.op).toBe(OUTSIDE);
      expect(t.getSpr(SPRN_HDSISR), insn.op).toBe(store ? 0x4200_0000n : 0x4000_0000n);
      expect([t.gpr(6), t.gpr(30)], insn.op).toEqual([0x66n, 0x3030n]);
    }
  });

  it("paste. of a copied block to an address outside memory takes the HDSI as a store", () => {
    const t = thread(MSR_GUEST);
    t.setGpr(4, 0x1000n);
    exec(t, { op: "copy", ra: 0, rb: 4 });
    t.setGpr(4, OUTSIDE);
    expect(exec(t, { op: "paste.", ra: 0, rb: 4 })).toBe(EXEC_INTERRUPT);
    expect(t.pc).toBe(BigInt(HDSI));
    expect(t.getSpr(SPRN_HDSISR)).toBe(0x4200_0000n);
  });

  it("lq and ldat take RA = 0 as 0 and any other RA's value as the base", () => {
    const t = thread();
    t.memory?.write32(0x100, 0x11, false);
    t.memory?.write32(0x104, 0x22, false);
    t.memory?.write32(0x3100, 0x33, false);
    t.memory?.write32(0x3104, 0x44, false);
    t.msr = MSR_HOST & ~MSR_LE;
    t.setGpr(0, 0x3000n);
    t.setGpr(5, 0x3000n);
    exec(t, { op: "lq", rt: 6, ra: 0, dq: 0x100 });
    expect(t.gpr(6)).toBe(0x11_0000_0022n);
    exec(t, { op: "lq", rt: 8, ra: 5, dq: 0x100 });
    expect(t.gpr(8)).toBe(0x33_0000_0044n);
    t.setGpr(0, 0x3100n);
    t.setGpr(5, 0x3100n);
    t.setGpr(11, 1n);
    exec(t, { op: "ldat", rt: 10, ra: 0, fc: 0 }); // fetch and add RT+1 = 1 at 0
    expect(t.gpr(10)).toBe(0n);
    exec(t, { op: "ldat", rt: 10, ra: 5, fc: 0 });
    expect(t.gpr(10)).toBe(0x33_0000_0044n);
  });

  it("an unaligned lwarx in guest state is an Alignment interrupt to the OS (MSR[HV] stays 0)", () => {
    const t = thread(MSR_GUEST);
    t.setGpr(4, 0x1002n);
    expect(exec(t, { op: "lwarx", rt: 3, ra: 0, rb: 4 })).toBe(EXEC_INTERRUPT);
    expect(t.pc).toBe(0x600n);
    expect(t.msr & MSR_HV).toBe(0n);
    expect(t.getSpr(SPRN_DAR)).toBe(0x1002n);
  });
});
