// Loads, stores, reservations, load/store multiple and string, atomic memory operations and the
// cache-management stores (Power ISA v3.0B Book I 3.3.2-3.3.7, Book II 4.3-4.6) against reference
// definitions: EA = (RA|0) + D, DS || 0b00 or RB, 64-bit EA only in 64-bit mode (Book III 5.7.2),
// bytes placed in the thread's byte order (MSR[LE]) or reversed, update forms writing EA to RA.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Insn } from "./codec.js";
import { MSR_LE, SPRN_DAR, SPRN_SRR0, SPRN_SRR1, SPRN_XER } from "./registers.js";
import {
  arbU64,
  cr0,
  exec,
  M32,
  M64,
  MSR_HOST32,
  prepare,
  thread,
  u64,
  XER_SO,
} from "./test-helpers/interp.js";
import { MSR_GUEST, MSR_HOST, MSR_USER, setup } from "./test-helpers/setup.js";
import { EXEC_INTERRUPT, EXEC_OK, type HwThread } from "./thread.js";

const RUNS = { numRuns: 40 };
const BASE = 0x8000n;

/** The bytes of memory [addr, addr+n). */
function bytes(t: HwThread, addr: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => t.memory?.read8(addr + i) ?? -1);
}

/** The value of n bytes, first byte most significant (big-endian) or least (little-endian). */
function value(bs: number[], le: boolean): bigint {
  const order = le ? [...bs].reverse() : bs;
  return order.reduce((a, b) => (a << 8n) | BigInt(b), 0n);
}

/** n bytes of v in big- or little-endian order. */
function split(v: bigint, n: number, le: boolean): number[] {
  const be = Array.from({ length: n }, (_, i) => Number((v >> BigInt(8 * (n - 1 - i))) & 0xffn));
  return le ? be.reverse() : be;
}

const LOADS: [string, number, boolean][] = [
  ["lbz", 1, false],
  ["lhz", 2, false],
  ["lha", 2, true],
  ["lwz", 4, false],
  ["lwa", 4, true],
  ["ld", 8, false],
];
const STORES: [string, number][] = [
  ["stb", 1],
  ["sth", 2],
  ["stw", 4],
  ["std", 8],
];
const DS_FORMS = new Set(["lwa", "ld", "ldu", "std", "stdu"]);

/** A load/store with base r4 and offset `off`: D/DS form, indexed (offset in r5), update or not. */
function accessInsn(op: string, r: number, indexed: boolean, update: boolean, off: number): Insn {
  const name = op + (update ? "u" : "") + (indexed ? "x" : "");
  const reg: Record<string, number> = op.startsWith("st") ? { rs: r } : { rt: r };
  if (indexed) return { op: name, ...reg, ra: 4, rb: 5 };
  if (DS_FORMS.has(op)) return { op: name, ...reg, ra: 4, ds: off };
  return { op: name, ...reg, ra: 4, d: off };
}

/** The forms the ISA has: no lwau (DS-form lwa has no update form), no lbau. */
const hasForm = (op: string, indexed: boolean, update: boolean): boolean =>
  !(op === "lwa" && update && !indexed);

describe("loads: EA, byte order, sign extension, update forms", () => {
  it("every load of every width, D/DS/X and update forms, in both byte orders, matches memory", () => {
    const pattern = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 8, maxLength: 8 });
    const off = fc.integer({ min: -64, max: 64 }).map((v) => v * 4);
    fc.assert(
      fc.property(pattern, off, fc.boolean(), fc.boolean(), fc.boolean(), (bs, o, le, indexed, update) => {
        for (const [op, size, signed] of LOADS) {
          if (!hasForm(op, indexed, update)) continue;
          const t = thread(le ? MSR_HOST : MSR_HOST & ~MSR_LE);
          const ea = BASE + BigInt(o);
          for (const [i, b] of bs.entries()) t.memory?.write8(Number(ea) + i, b);
          t.setGpr(4, BASE);
          t.setGpr(5, u64(BigInt(o)));
          t.setGpr(3, 0x5555n);
          expect(exec(t, accessInsn(op, 3, indexed, update, o)), op).toBe(EXEC_OK);
          const raw = value(bs.slice(0, size), le);
          const want = signed ? u64(BigInt.asIntN(8 * size, raw)) : raw;
          expect(t.gpr(3), `${op} le=${le} x=${indexed} u=${update}`).toBe(want);
          expect(t.gpr(4), `${op} RA`).toBe(update ? ea : BASE);
          expect(t.pc).toBe(0x1004n);
        }
      }),
      RUNS,
    );
  });

  it("byte-reversed loads and stores use the other byte order", () => {
    const pattern = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(pattern, arbU64(), fc.boolean(), (bs, v, le) => {
        for (const [op, st, size] of [
          ["lhbrx", "sthbrx", 2],
          ["lwbrx", "stwbrx", 4],
          ["ldbrx", "stdbrx", 8],
        ] as const) {
          const t = thread(le ? MSR_HOST : MSR_HOST & ~MSR_LE);
          for (const [i, b] of bs.entries()) t.memory?.write8(0x8000 + i, b);
          t.setGpr(5, 0x8000n);
          exec(t, { op, rt: 3, ra: 0, rb: 5 });
          expect(t.gpr(3), op).toBe(value(bs.slice(0, size), !le));
          t.setGpr(6, v);
          exec(t, { op: st, rs: 6, ra: 0, rb: 5 });
          expect(bytes(t, 0x8000, size), st).toEqual(split(v & ((1n << BigInt(8 * size)) - 1n), size, !le));
          expect(bytes(t, 0x8000 + size, 8 - size)).toEqual(bs.slice(size));
        }
      }),
      RUNS,
    );
  });

  it("RA = 0 means 0 for the non-update forms; the DS field's low bits are not part of the offset", () => {
    const t = thread();
    t.memory?.write64(0x100, 0x1122334455667788n);
    t.setGpr(0, 0x4000n);
    exec(t, { op: "ld", rt: 3, ra: 0, ds: 0x100 });
    expect(t.gpr(3)).toBe(0x1122334455667788n);
    exec(t, { op: "lwz", rt: 3, ra: 0, d: 0x104 });
    expect(t.gpr(3)).toBe(0x11223344n);
    t.setGpr(5, 0x100n);
    exec(t, { op: "lhzx", rt: 3, ra: 0, rb: 5 });
    expect(t.gpr(3)).toBe(0x7788n);
    // lwa with ds = -4 from 0x108: 0x104
    t.setGpr(4, 0x108n);
    exec(t, { op: "lwa", rt: 3, ra: 4, ds: -4 });
    expect(t.gpr(3)).toBe(0x11223344n);
  });

  it("32-bit mode: the EA is the low 32 bits of the sum, and the update form writes it (high word 0)", () => {
    const t = thread(MSR_HOST32);
    t.memory?.write32(0x10, 0xdeadbeef, true);
    t.setGpr(4, 0xffff_ffff_ffff_fff0n); // + 0x20 wraps to 0x10 in 32 bits
    exec(t, { op: "lwzu", rt: 3, ra: 4, d: 0x20 });
    expect(t.gpr(3)).toBe(0xdeadbeefn);
    expect(t.gpr(4)).toBe(0x10n);
    // 64-bit mode: the same sum is 0x1_0000_0010, outside memory: a machine check in HV real mode
    const w = thread();
    w.setGpr(4, 0xffff_fff0n);
    w.pc = 0x2000n;
    expect(exec(w, { op: "lwzu", rt: 3, ra: 4, d: 0x20 })).toBe(EXEC_INTERRUPT);
    expect(w.gpr(4)).toBe(0xffff_fff0n);
  });

  it("real addressing ignores EA bits 0:3 (the quadrant bits)", () => {
    const t = thread();
    t.memory?.write32(0x40, 0x12345678, true);
    t.setGpr(4, 0xc000_0000_0000_0040n);
    exec(t, { op: "lwz", rt: 3, ra: 4, d: 0 });
    expect(t.gpr(3)).toBe(0x12345678n);
  });
});

describe("stores: EA, byte order, update forms", () => {
  it("every store of every width, D/DS/X and update forms, in both byte orders, writes exactly its bytes", () => {
    const off = fc.integer({ min: -64, max: 64 }).map((v) => v * 4);
    fc.assert(
      fc.property(arbU64(), off, fc.boolean(), fc.boolean(), fc.boolean(), (v, o, le, indexed, update) => {
        for (const [op, size] of STORES) {
          const t = thread(le ? MSR_HOST : MSR_HOST & ~MSR_LE);
          const ea = Number(BASE) + o;
          for (let i = -2; i < 10; i++) t.memory?.write8(ea + i, 0xee);
          t.setGpr(4, BASE);
          t.setGpr(5, u64(BigInt(o)));
          t.setGpr(3, v);
          expect(exec(t, accessInsn(op, 3, indexed, update, o)), op).toBe(EXEC_OK);
          const m = (1n << BigInt(8 * size)) - 1n;
          expect(bytes(t, ea, size), `${op} le=${le}`).toEqual(split(v & m, size, le));
          expect(bytes(t, ea - 2, 2)).toEqual([0xee, 0xee]);
          expect(bytes(t, ea + size, 2)).toEqual([0xee, 0xee]);
          expect(t.gpr(4)).toBe(update ? u64(BASE + BigInt(o)) : BASE);
        }
      }),
      RUNS,
    );
  });

  it("a store outside memory in guest state takes the Hypervisor Data Storage interrupt and stores nothing", () => {
    const t = thread(MSR_GUEST);
    t.setGpr(4, 0xffffcn);
    t.setGpr(3, M64);
    t.pc = 0x2000n;
    // the doubleword crosses the end of memory
    expect(exec(t, { op: "std", rs: 3, ra: 4, ds: 0 })).toBe(EXEC_INTERRUPT);
    expect(t.lastInterrupt?.vector).toBe(0xe00);
    expect(bytes(t, 0xffffc, 4)).toEqual([0, 0, 0, 0]);
    // the last 8 bytes of memory are in it
    const u = thread(MSR_GUEST);
    u.setGpr(4, 0xffff8n);
    u.setGpr(3, M64);
    expect(exec(u, { op: "std", rs: 3, ra: 4, ds: 0 })).toBe(EXEC_OK);
    expect(exec(u, { op: "stb", rs: 3, ra: 4, d: 8 })).toBe(EXEC_INTERRUPT);
  });
});

describe("cache-inhibited loads and stores are hypervisor privileged", () => {
  const CI: [string, string, number][] = [
    ["lbzcix", "stbcix", 1],
    ["lhzcix", "sthcix", 2],
    ["lwzcix", "stwcix", 4],
    ["ldcix", "stdcix", 8],
  ];
  it("in hypervisor state they load and store like the indexed forms; in problem or guest state they are privileged", () => {
    for (const [ld, st, size] of CI) {
      const t = prepare({ 5: 0x3000n, 6: 0x0102030405060708n });
      expect(exec(t, { op: st, rs: 6, ra: 0, rb: 5 }), st).toBe(EXEC_OK);
      expect(bytes(t, 0x3000, size)).toEqual(
        split(0x0102030405060708n & ((1n << BigInt(8 * size)) - 1n), size, true),
      );
      expect(exec(t, { op: ld, rt: 7, ra: 0, rb: 5 }), ld).toBe(EXEC_OK);
      expect(t.gpr(7)).toBe(0x0102030405060708n & ((1n << BigInt(8 * size)) - 1n));
      for (const msr of [MSR_USER, MSR_GUEST]) {
        for (const insn of [
          { op: ld, rt: 7, ra: 0, rb: 5 },
          { op: st, rs: 6, ra: 0, rb: 5 },
        ] as Insn[]) {
          const u = prepare({ 5: 0x3000n, 7: 0x99n }, 0n, msr);
          u.pc = 0x2000n;
          expect(exec(u, insn), `${insn.op} msr ${msr.toString(16)}`).toBe(EXEC_INTERRUPT);
          expect(u.lastInterrupt?.vector).toBe(0x700);
          expect(u.getSpr(SPRN_SRR1) & 0x40000n).toBe(0x40000n);
          expect(u.getSpr(SPRN_SRR0)).toBe(0x2000n);
          expect(u.gpr(7)).toBe(0x99n);
        }
      }
    }
  });
});

describe("quadword, load and reserve, store conditional", () => {
  it("lq/stq: EA = (RA|0) + DQ / DS; RA = 0 reads 0; big-endian puts the even register at EA", () => {
    const t = thread(MSR_HOST & ~MSR_LE);
    t.setGpr(0, 0x7000n);
    t.setGpr(4, 0x1111n);
    t.setGpr(5, 0x2222n);
    exec(t, { op: "stq", rs: 4, ra: 0, ds: 0x40 });
    expect(value(bytes(t, 0x40, 8), false)).toBe(0x1111n);
    expect(value(bytes(t, 0x48, 8), false)).toBe(0x2222n);
    exec(t, { op: "lq", rt: 6, ra: 0, dq: 0x40 });
    expect([t.gpr(6), t.gpr(7)]).toEqual([0x1111n, 0x2222n]);
    t.setGpr(8, 0x60n);
    exec(t, { op: "lq", rt: 10, ra: 8, dq: -0x20 });
    expect([t.gpr(10), t.gpr(11)]).toEqual([0x1111n, 0x2222n]);
    // stq must be quadword aligned too
    t.setGpr(8, 0x48n);
    t.pc = 0x2000n;
    expect(exec(t, { op: "stq", rs: 4, ra: 8, ds: 0 })).toBe(EXEC_INTERRUPT);
    expect(t.lastInterrupt?.vector).toBe(0x600);
    expect(t.getSpr(SPRN_DAR)).toBe(0x48n);
  });

  const RES: [string, string, number][] = [
    ["lbarx", "stbcx.", 1],
    ["lharx", "sthcx.", 2],
    ["lwarx", "stwcx.", 4],
    ["ldarx", "stdcx.", 8],
  ];

  it("each larx/stcx. pair: the load, a successful store (CR0 = 0b001 || SO) once, alignment by size", () => {
    for (const [larx, stcx, size] of RES) {
      for (const so of [false, true]) {
        const t = prepare({ 5: 0x4000n, 6: 0x0807060504030201n }, so ? XER_SO : 0n);
        t.memory?.write64(0x4000, 0xf8f7f6f5f4f3f2f1n);
        const m = (1n << BigInt(8 * size)) - 1n;
        exec(t, { op: larx, rt: 3, ra: 0, rb: 5 });
        expect(t.gpr(3), larx).toBe(0xf8f7f6f5f4f3f2f1n & m);
        exec(t, { op: stcx, rs: 6, ra: 0, rb: 5 });
        expect(cr0(t), stcx).toBe(0b0010 | (so ? 1 : 0));
        expect(t.memory?.read64(0x4000)).toBe((0xf8f7f6f5f4f3f2f1n & ~m) | (0x0807060504030201n & m));
        exec(t, { op: stcx, rs: 5, ra: 0, rb: 5 });
        expect(cr0(t), `${stcx} again`).toBe(so ? 1 : 0);
      }
      if (size > 1) {
        const u = prepare({ 5: 0x4001n });
        u.pc = 0x2000n;
        expect(exec(u, { op: larx, rt: 3, ra: 0, rb: 5 }), larx).toBe(EXEC_INTERRUPT);
        expect(u.lastInterrupt?.vector).toBe(0x600);
        expect(u.getSpr(SPRN_SRR0)).toBe(0x2000n);
        const v = prepare({ 5: 0x4001n });
        expect(exec(v, { op: stcx, rs: 3, ra: 0, rb: 5 }), stcx).toBe(EXEC_INTERRUPT);
      }
    }
  });

  it("stcx. to another address than the reservation fails and stores nothing; EA = (RA|0) + RB", () => {
    const t = prepare({ 4: 0x4000n, 5: 0x8n, 6: 42n });
    exec(t, { op: "ldarx", rt: 3, ra: 4, rb: 5 });
    t.setGpr(5, 0x10n);
    exec(t, { op: "stdcx.", rs: 6, ra: 4, rb: 5 });
    expect(cr0(t)).toBe(0);
    expect(t.memory?.read64(0x4010)).toBe(0n);
    t.setGpr(5, 0x8n);
    exec(t, { op: "ldarx", rt: 3, ra: 4, rb: 5 });
    exec(t, { op: "stdcx.", rs: 6, ra: 4, rb: 5 });
    expect(cr0(t)).toBe(0b0010);
    expect(t.memory?.read64(0x4008)).toBe(42n);
  });

  it("lqarx/stqcx.: a 16-byte reservation on an even/odd pair", () => {
    const t = prepare({ 5: 0x4010n, 6: 0xaan, 7: 0xbbn });
    t.memory?.write64(0x4010, 0x22n);
    t.memory?.write64(0x4018, 0x11n);
    exec(t, { op: "lqarx", rt: 8, ra: 0, rb: 5 });
    expect([t.gpr(8), t.gpr(9)]).toEqual([0x11n, 0x22n]);
    exec(t, { op: "stqcx.", rs: 6, ra: 0, rb: 5 });
    expect(cr0(t)).toBe(0b0010);
    expect([t.memory?.read64(0x4018), t.memory?.read64(0x4010)]).toEqual([0xaan, 0xbbn]);
    const u = prepare({ 5: 0x4008n });
    expect(exec(u, { op: "lqarx", rt: 8, ra: 0, rb: 5 })).toBe(EXEC_INTERRUPT);
    expect(u.lastInterrupt?.vector).toBe(0x600);
  });

  it("a sibling's store outside the reservation granule keeps it; one overlapping its end clears it", () => {
    const { t, core } = setup();
    t.msr = MSR_HOST;
    const s = core.threads[1];
    s.msr = MSR_HOST;
    t.memory = thread().memory;
    s.memory = t.memory;
    t.setGpr(5, 0x4000n);
    s.setGpr(5, 0x4008n);
    exec(t, { op: "ldarx", rt: 3, ra: 0, rb: 5 });
    exec(s, { op: "stb", rs: 0, ra: 5, d: 0 }); // 0x4008: just past the 8-byte reservation
    exec(s, { op: "stb", rs: 0, ra: 5, d: -9 }); // 0x3fff: just before it
    exec(t, { op: "stdcx.", rs: 3, ra: 0, rb: 5 });
    expect(cr0(t)).toBe(0b0010);
    exec(t, { op: "ldarx", rt: 3, ra: 0, rb: 5 });
    exec(s, { op: "std", rs: 0, ra: 5, ds: -4 }); // 0x4004..0x400b overlaps
    exec(t, { op: "stdcx.", rs: 3, ra: 0, rb: 5 });
    expect(cr0(t)).toBe(0);
  });
});

describe("load/store multiple and string (big-endian mode)", () => {
  const BE = MSR_HOST & ~MSR_LE;

  it("stmw stores RS..r31 big-endian; lmw loads them back", () => {
    const t = thread(BE);
    for (let r = 28; r < 32; r++) t.setGpr(r, 0xdead_0000_0000_0000n | BigInt(0x01020304 * (r - 27)));
    t.setGpr(4, 0x5000n);
    exec(t, { op: "stmw", rs: 28, ra: 4, d: 0x10 });
    expect(bytes(t, 0x5010, 16)).toEqual([1, 2, 3, 4, 2, 4, 6, 8, 3, 6, 9, 12, 4, 8, 12, 16]);
    expect(bytes(t, 0x5020, 4)).toEqual([0, 0, 0, 0]);
    const u = thread(BE);
    u.memory = t.memory;
    u.setGpr(4, 0x5000n);
    exec(u, { op: "lmw", rt: 29, ra: 4, d: 0x14 });
    expect([u.gpr(29), u.gpr(30), u.gpr(31)]).toEqual([0x02040608n, 0x0306090cn, 0x04080c10n]);
    // stmw in little-endian mode: Alignment
    const le = thread();
    le.setGpr(4, 0x5000n);
    expect(exec(le, { op: "stmw", rs: 30, ra: 4, d: 0 })).toBe(EXEC_INTERRUPT);
    expect(le.lastInterrupt?.vector).toBe(0x600);
  });

  it("lswi NB = 0 moves 32 bytes, wrapping from r31 to r0; stswi stores them; lswx/stswx take the count from XER[57:63]", () => {
    const t = thread(BE);
    for (let i = 0; i < 40; i++) t.memory?.write8(0x6000 + i, i + 1);
    t.setGpr(4, 0x6000n);
    exec(t, { op: "lswi", rt: 28, ra: 4, nb: 0 });
    expect([t.gpr(28), t.gpr(31), t.gpr(0), t.gpr(3)]).toEqual([
      0x01020304n,
      0x0d0e0f10n,
      0x11121314n,
      0x1d1e1f20n,
    ]);
    t.setGpr(4, 0x7000n);
    t.setGpr(28, 0xa1a2a3a4n);
    t.setGpr(29, 0xb1b2b3b4n);
    exec(t, { op: "stswi", rs: 28, ra: 4, nb: 5 });
    expect(bytes(t, 0x7000, 6)).toEqual([0xa1, 0xa2, 0xa3, 0xa4, 0xb1, 0]);
    // lswx: EA = (RA|0) + RB, n = XER[57:63]
    t.setSpr(SPRN_XER, 6n);
    t.setGpr(5, 0x6000n);
    exec(t, { op: "lswx", rt: 10, ra: 0, rb: 5 });
    expect([t.gpr(10), t.gpr(11)]).toEqual([0x01020304n, 0x05060000n]);
    t.setSpr(SPRN_XER, 0x80000003n); // SO is not part of the count
    t.setGpr(6, 0x10n);
    t.setGpr(12, 0xc1c2c3c4n);
    exec(t, { op: "stswx", rs: 12, ra: 6, rb: 4 });
    expect(bytes(t, 0x7010, 4)).toEqual([0xc1, 0xc2, 0xc3, 0]);
    // lswi with RA = 0 starts at address 0
    const z = thread(BE);
    z.memory?.write32(0, 0x0a0b0c0d, false);
    z.setGpr(0, 0x6000n);
    exec(z, { op: "lswi", rt: 5, ra: 0, nb: 4 });
    expect(z.gpr(5)).toBe(0x0a0b0c0dn);
  });

  it("the string instructions in little-endian mode take the Alignment interrupt", () => {
    for (const insn of [
      { op: "lswi", rt: 5, ra: 4, nb: 4 },
      { op: "stswi", rs: 5, ra: 4, nb: 4 },
      { op: "lswx", rt: 5, ra: 4, rb: 6 },
      { op: "stswx", rs: 5, ra: 4, rb: 6 },
    ] as Insn[]) {
      const t = prepare({ 4: 0x6000n });
      expect(exec(t, insn), insn.op).toBe(EXEC_INTERRUPT);
      expect(t.lastInterrupt?.vector).toBe(0x600);
    }
  });
});

describe("atomic memory operations (Book II 4.5): fetch-and-op and store-and-op", () => {
  const sgn = (v: bigint, bits: number) => BigInt.asIntN(bits, v);
  function amo(fc_: number, old: bigint, src: bigint, bits: number): bigint {
    const m = (1n << BigInt(bits)) - 1n;
    switch (fc_) {
      case 0:
        return (old + src) & m;
      case 1:
        return old ^ src;
      case 2:
        return old | src;
      case 3:
        return old & src;
      case 4:
        return old > src ? old : src;
      case 5:
        return sgn(old, bits) > sgn(src, bits) ? old : src;
      case 6:
        return old < src ? old : src;
      case 7:
        return sgn(old, bits) < sgn(src, bits) ? old : src;
      default:
        return src;
    }
  }

  it("lwat/ldat FC 0-8 return the old value and store op(old, RT+1); stwat/stdat FC 0-7 store op(old, RS)", () => {
    fc.assert(
      fc.property(arbU64(), arbU64(), fc.integer({ min: 0, max: 8 }), (old, src, f) => {
        for (const [ld, st, size] of [
          ["lwat", "stwat", 4],
          ["ldat", "stdat", 8],
        ] as const) {
          const bits = 8 * size;
          const m = (1n << BigInt(bits)) - 1n;
          const t = prepare({ 5: 0x9000n, 4: src, 8: src });
          t.memory?.write64(0x9000, 0xababababababababn);
          if (size === 4) t.memory?.write32(0x9000, Number(old & M32), true);
          else t.memory?.write64(0x9000, old);
          exec(t, { op: ld, rt: 3, ra: 5, fc: f });
          expect(t.gpr(3), `${ld} fc=${f}`).toBe(old & m);
          const after = amo(f, old & m, src & m, bits);
          const read = size === 4 ? BigInt(t.memory?.read32(0x9000) ?? 0) : (t.memory?.read64(0x9000) ?? 0n);
          expect(read, `${ld} fc=${f} memory`).toBe(after);
          if (size === 4) expect(t.memory?.read32(0x9004)).toBe(0xabababab);
          if (f === 8) continue;
          const u = prepare({ 5: 0x9000n, 8: src });
          if (size === 4) u.memory?.write32(0x9000, Number(old & M32), true);
          else u.memory?.write64(0x9000, old);
          exec(u, { op: st, rs: 8, ra: 5, fc: f });
          const r2 = size === 4 ? BigInt(u.memory?.read32(0x9000) ?? 0) : (u.memory?.read64(0x9000) ?? 0n);
          expect(r2, `${st} fc=${f}`).toBe(amo(f, old & m, src & m, bits));
        }
      }),
      RUNS,
    );
  });

  it("reserved function codes are illegal; an unaligned EA takes the Alignment interrupt; RA = 0 reads 0", () => {
    for (const [op, fc_] of [
      ["lwat", 9],
      ["ldat", 24],
      ["stwat", 8],
      ["stdat", 9],
    ] as const) {
      const t = prepare({ 5: 0x9000n });
      const insn: Insn = op.startsWith("l") ? { op, rt: 3, ra: 5, fc: fc_ } : { op, rs: 3, ra: 5, fc: fc_ };
      expect(exec(t, insn), `${op} ${fc_}`).toBe(EXEC_INTERRUPT);
      expect(t.lastInterrupt?.vector).toBe(0xe40);
    }
    for (const [op, addr] of [
      ["lwat", 0x9002n],
      ["ldat", 0x9004n],
      ["stwat", 0x9001n],
      ["stdat", 0x9004n],
    ] as const) {
      const t = prepare({ 5: addr });
      const insn: Insn = op.startsWith("l") ? { op, rt: 3, ra: 5, fc: 0 } : { op, rs: 3, ra: 5, fc: 0 };
      expect(exec(t, insn), op).toBe(EXEC_INTERRUPT);
      expect(t.lastInterrupt?.vector).toBe(0x600);
      expect(t.getSpr(SPRN_DAR)).toBe(addr);
    }
    const z = prepare({ 0: 0x9000n, 4: 5n });
    z.memory?.write64(0, 10n);
    exec(z, { op: "ldat", rt: 3, ra: 0, fc: 0 });
    expect(z.gpr(3)).toBe(10n);
    expect(z.memory?.read64(0)).toBe(15n);
    // 32-bit mode: the EA is RA's low word
    const n = prepare({ 5: 0xffff_ffff_0000_9000n, 4: 1n }, 0n, MSR_HOST32);
    exec(n, { op: "ldat", rt: 3, ra: 5, fc: 0 });
    expect(n.memory?.read64(0x9000)).toBe(1n);
  });
});

describe("dcbz, copy, paste., cp_abort", () => {
  it("dcbz zeroes the 128-byte block holding EA = (RA|0) + RB and nothing else", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 127 }), (blk, off) => {
        const t = thread();
        for (let i = 0; i < 32 * 128; i++) t.memory?.write8(i, 0x5a);
        t.setGpr(4, BigInt(blk * 128));
        t.setGpr(5, BigInt(off));
        exec(t, { op: "dcbz", ra: 4, rb: 5 });
        expect(t.memory?.read8(blk * 128 - 1)).toBe(0x5a);
        expect(bytes(t, blk * 128, 128).every((b) => b === 0)).toBe(true);
        expect(t.memory?.read8(blk * 128 + 128)).toBe(0x5a);
      }),
      { numRuns: 20 },
    );
    const g = prepare({ 5: 0x100000n }, 0n, MSR_GUEST);
    expect(exec(g, { op: "dcbz", ra: 0, rb: 5 })).toBe(EXEC_INTERRUPT);
    expect(g.lastInterrupt?.vector).toBe(0xe00);
  });

  it("copy and paste. need a 128-byte aligned EA; cp_abort drops the copy buffer; paste. copies all 128 bytes", () => {
    const t = thread();
    for (let i = 0; i < 128; i++) t.memory?.write8(0x2000 + i, i + 1);
    t.setGpr(5, 0x2000n);
    t.setGpr(6, 0x3000n);
    t.setGpr(7, 0x3040n);
    t.pc = 0x1000n;
    t.setGpr(8, 0x2008n);
    expect(exec(t, { op: "copy", ra: 0, rb: 8 })).toBe(EXEC_INTERRUPT);
    expect(t.lastInterrupt?.vector).toBe(0x600);
    expect(t.getSpr(SPRN_DAR)).toBe(0x2008n);
    t.pc = 0x1000n;
    expect(exec(t, { op: "copy", ra: 0, rb: 5 })).toBe(EXEC_OK);
    expect(exec(t, { op: "paste.", ra: 0, rb: 7 })).toBe(EXEC_INTERRUPT);
    t.pc = 0x1000n;
    exec(t, { op: "paste.", ra: 0, rb: 6 });
    expect(bytes(t, 0x3000, 128)).toEqual(bytes(t, 0x2000, 128));
    exec(t, { op: "copy", ra: 0, rb: 5 });
    exec(t, { op: "cp_abort" });
    t.setGpr(6, 0x3080n);
    exec(t, { op: "paste.", ra: 0, rb: 6 });
    expect(cr0(t) & 0b1110).toBe(0);
    expect(t.memory?.read8(0x3080)).toBe(0);
    // copy from outside memory in guest state
    const g = prepare({ 5: 0x100000n }, 0n, MSR_GUEST);
    expect(exec(g, { op: "copy", ra: 0, rb: 5 })).toBe(EXEC_INTERRUPT);
    expect(g.lastInterrupt?.vector).toBe(0xe00);
  });
});

describe("EA sums against BigInt", () => {
  it("the 64-bit EA of a D form is RA + EXTS(D) modulo 2^64: a negative base carries into the high word", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7000 }), fc.integer({ min: 0, max: 0xfff }), (k, off) => {
        const t = thread();
        t.memory?.write8(off, 0x7e);
        t.setGpr(4, u64(-BigInt(k)));
        exec(t, { op: "lbzu", rt: 3, ra: 4, d: k + off });
        expect(t.gpr(3)).toBe(0x7en);
        expect(t.gpr(4)).toBe(BigInt(off));
        // and a positive base with a negative displacement borrows from it
        const u = thread();
        u.memory?.write8(off, 0x3c);
        u.setGpr(4, BigInt(off + k));
        exec(u, { op: "lbzu", rt: 3, ra: 4, d: -k });
        expect(u.gpr(3)).toBe(0x3cn);
        expect(u.gpr(4)).toBe(BigInt(off));
      }),
      { numRuns: 60 },
    );
  });
});
