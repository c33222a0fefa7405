// Branch and condition-register instructions (Power ISA v3.0B Book I chapter 2) against the ISA's
// pseudocode: bc's CTR and condition tests by BO bit, the targets of b/bc (relative, absolute,
// sign-extended), bclr/bcctr/bctar, LR = CIA + 4, the CR logicals' truth tables, mcrf, mtcrf and
// mfocrf.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encode } from "./codec.js";
import { SPRN_CTR, SPRN_LR } from "./registers.js";
import { arbU64, exec, M64, registerThread, thread, u64 } from "./test-helpers/interp.js";
import { MSR_USER } from "./test-helpers/setup.js";
import { EXEC_INTERRUPT, EXEC_OK } from "./thread.js";

const RUNS = { numRuns: 80 };
const TAR = 815;

/** The encoded word, or null when GNU binutils' table refuses the BO value for this branch. */
function tryEncode(insn: Parameters<typeof encode>[0]): number | null {
  try {
    return encode(insn);
  } catch {
    return null;
  }
}

/** bc's decision (Book I 2.4): CTR decremented unless BO[2]; ctr_ok and cond_ok. */
function bcRef(bo: number, bi: number, cr: number, ctr: bigint, useCtr: boolean) {
  let c = ctr;
  let ctrOk = true;
  if (useCtr && !(bo & 4)) {
    c = u64(ctr - 1n);
    ctrOk = (c !== 0n) !== ((bo & 2) !== 0);
  }
  const condOk = (bo & 16) !== 0 || ((cr >>> (31 - bi)) & 1) === ((bo >>> 3) & 1);
  return { taken: ctrOk && condOk, ctr: c };
}

describe("bc: BO decides the CTR decrement and test and the CR bit test", () => {
  it("bc, bca, bcl, bcla: taken or not, target, LR and CTR as the ISA computes them", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: -8192, max: 8191 }).map((v) => v * 4),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.constantFrom(0n, 1n, 2n, 0x1_0000_0000n, M64, 7n),
        (bo, bi, disp, aa, lk, cr, ctr) => {
          const w = tryEncode({ op: "bc", bo, bi, disp, aa: aa ? 1 : 0, lk: lk ? 1 : 0 });
          fc.pre(w !== null);
          const t = registerThread();
          t.pc = 0x10_0000n;
          t.cr = cr;
          t.setSpr(SPRN_CTR, ctr);
          t.setSpr(SPRN_LR, 0x5550n);
          expect(t.execute(w as number)).toBe(EXEC_OK);
          const ref = bcRef(bo, bi, cr, ctr, true);
          const target = aa ? u64(BigInt(disp)) : 0x10_0000n + BigInt(disp);
          expect(t.pc).toBe(ref.taken ? target : 0x10_0004n);
          expect(t.getSpr(SPRN_CTR)).toBe(ref.ctr);
          expect(t.getSpr(SPRN_LR)).toBe(lk ? 0x10_0004n : 0x5550n);
          expect(t.cr).toBe(cr);
        },
      ),
      RUNS,
    );
  });

  it("bclr, bcctr, bctar: branch to LR, CTR, TAR with the low two bits cleared; bcctr never decrements CTR", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: 31 }),
        fc.constantFrom("bclr", "bcctr", "bctar"),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffffffff }),
        arbU64(),
        fc.constantFrom(0n, 1n, 2n, 0x1_0000_0000n),
        (bo, bi, op, lk, cr, target, ctr) => {
          const w = tryEncode({ op, bo, bi, bh: 0, lk: lk ? 1 : 0 });
          fc.pre(w !== null);
          const t = registerThread();
          t.pc = 0x2000n;
          t.cr = cr;
          const reg = op === "bclr" ? SPRN_LR : op === "bcctr" ? SPRN_CTR : TAR;
          t.setSpr(SPRN_CTR, ctr);
          t.setSpr(reg, target);
          expect(t.execute(w as number), op).toBe(EXEC_OK);
          const ref = bcRef(bo, bi, cr, op === "bcctr" ? target : ctr, op !== "bcctr");
          expect(t.pc, `${op} bo=${bo}`).toBe(ref.taken ? target & ~3n : 0x2004n);
          if (op !== "bcctr") expect(t.getSpr(SPRN_CTR)).toBe(ref.ctr);
          else expect(t.getSpr(SPRN_CTR)).toBe(target);
          // bclrl: the target is LR before LR is set
          if (lk) expect(t.getSpr(SPRN_LR)).toBe(0x2004n);
          else if (op !== "bclr") expect(t.getSpr(SPRN_LR)).toBe(0n);
        },
      ),
      RUNS,
    );
  });
});

describe("b and the program counter's high word", () => {
  it("b, ba, bl, bla: relative and absolute (sign-extended) targets; LR = CIA + 4", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(1 << 23), max: (1 << 23) - 1 }).map((v) => v * 4),
        fc.boolean(),
        fc.boolean(),
        (disp, aa, lk) => {
          const t = registerThread();
          t.pc = 0x4000_0000n;
          t.setSpr(SPRN_LR, 0x5550n);
          exec(t, { op: "b", disp, aa: aa ? 1 : 0, lk: lk ? 1 : 0 });
          expect(t.pc).toBe(aa ? u64(BigInt(disp)) : 0x4000_0000n + BigInt(disp));
          expect(t.getSpr(SPRN_LR)).toBe(lk ? 0x4000_0004n : 0x5550n);
        },
      ),
      RUNS,
    );
  });

  it("a relative branch carries into or borrows from the high word of the PC; LR = CIA + 4 crosses it too", () => {
    const t = registerThread();
    t.pc = 0x1_ffff_fff0n;
    exec(t, { op: "b", disp: 0x20 });
    expect(t.pc).toBe(0x2_0000_0010n);
    exec(t, { op: "b", disp: -0x20 });
    expect(t.pc).toBe(0x1_ffff_fff0n);
    t.pc = 0x1_ffff_fffcn;
    exec(t, { op: "bc", bo: 20, bi: 0, disp: 8, lk: 1 });
    expect(t.getSpr(SPRN_LR)).toBe(0x2_0000_0000n);
    expect(t.pc).toBe(0x2_0000_0004n);
    // not taken: the next instruction, across the boundary
    t.pc = 0x2_ffff_fffcn;
    t.cr = 0;
    exec(t, { op: "bc", bo: 12, bi: 2, disp: 8 });
    expect(t.pc).toBe(0x3_0000_0000n);
  });

  it("bdnz borrows from CTR's high word", () => {
    const t = registerThread();
    t.setSpr(SPRN_CTR, 0x1_0000_0000n);
    t.pc = 0x2000n;
    exec(t, { op: "bc", bo: 16, bi: 0, disp: 0x40 });
    expect(t.getSpr(SPRN_CTR)).toBe(0xffff_ffffn);
    expect(t.pc).toBe(0x2040n);
  });

  it("bctar in problem state is allowed with HFSCR[TAR] and FSCR[TAR]; with HFSCR alone FSCR still gates it", () => {
    const u = thread(MSR_USER);
    u.setSpr(190, 1n << 8n); // HFSCR[TAR]
    u.setSpr(153, 1n << 8n); // FSCR[TAR]
    u.setSpr(TAR, 0x7000n);
    expect(exec(u, { op: "bctar", bo: 20, bi: 0 })).toBe(EXEC_OK);
    expect(u.pc).toBe(0x7000n);
    const v = thread(MSR_USER);
    v.setSpr(153, 1n << 8n); // FSCR[TAR] alone: HFSCR denies it in guest state
    expect(exec(v, { op: "bctar", bo: 20, bi: 0 })).toBe(EXEC_INTERRUPT);
    expect(v.lastInterrupt?.vector).toBe(0xf80);
  });
});

describe("condition-register logicals and moves", () => {
  const OPS: [string, (a: number, b: number) => number][] = [
    ["crand", (a, b) => a & b],
    ["crnand", (a, b) => 1 - (a & b)],
    ["cror", (a, b) => a | b],
    ["crnor", (a, b) => 1 - (a | b)],
    ["crxor", (a, b) => a ^ b],
    ["creqv", (a, b) => 1 - (a ^ b)],
    ["crandc", (a, b) => a & (1 - b)],
    ["crorc", (a, b) => a | (1 - b)],
  ];

  it("the eight CR logicals set bit BT to op(CR[BA], CR[BB]) and leave the other bits", () => {
    const bit = fc.integer({ min: 0, max: 31 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), bit, bit, bit, (cr, bt, ba, bb) => {
        for (const [op, f] of OPS) {
          const t = registerThread();
          t.cr = cr;
          exec(t, { op, bt, ba, bb });
          const a = (cr >>> (31 - ba)) & 1;
          const b = (cr >>> (31 - bb)) & 1;
          const m = (1 << (31 - bt)) >>> 0;
          const want = (f(a, b) ? cr | m : cr & ~m) >>> 0;
          expect(t.cr, op).toBe(want);
        }
      }),
      RUNS,
    );
  });

  it("mcrf copies field BFA to BF; mtcrf/mtocrf copy the FXM-selected fields of RS[32:63]; mfcr and mfocrf read", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 255 }),
        arbU64(),
        (cr, bf, bfa, fxm, rs) => {
          const t = registerThread();
          t.cr = cr;
          exec(t, { op: "mcrf", bf, bfa });
          const f = (cr >>> (28 - 4 * bfa)) & 0xf;
          const sh = 28 - 4 * bf;
          expect(t.cr).toBe(((cr & ~(0xf << sh)) | (f << sh)) >>> 0);
          const u = registerThread();
          u.cr = cr;
          u.setGpr(3, rs);
          exec(u, { op: "mtcrf", fxm, rs: 3 });
          let m = 0;
          for (let i = 0; i < 8; i++) if (fxm & (0x80 >> i)) m |= 0xf << (28 - 4 * i);
          const want = ((cr & ~m) | (Number(rs & 0xffffffffn) & m)) >>> 0;
          expect(u.cr).toBe(want);
          exec(u, { op: "mfcr", rt: 4 });
          expect(u.gpr(4)).toBe(BigInt(want));
          const one = 0x80 >> bf;
          const v = registerThread();
          v.cr = cr;
          v.setGpr(3, rs);
          exec(v, { op: "mtocrf", fxm: one, rs: 3 });
          const fm = (0xf << sh) >>> 0;
          expect(v.cr).toBe(((cr & ~fm) | (Number(rs & 0xffffffffn) & fm)) >>> 0);
          v.setGpr(5, M64);
          exec(v, { op: "mfocrf", rt: 5, fxm: one });
          // the selected field in place; the others are undefined (0 in this model, as on POWER9)
          expect(v.gpr(5) & BigInt(fm)).toBe(BigInt((v.cr & fm) >>> 0));
          expect(v.gpr(5) >> 32n).toBe(0n);
        },
      ),
      RUNS,
    );
  });
});
