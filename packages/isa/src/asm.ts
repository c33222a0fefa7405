// Instruction word builders for software layers that issue instructions through
// HwThread.execute(word). Encodings: Power ISA v3.0B Book I/III instruction formats; checked
// against GNU as (fixtures/insns.s, fixtures/make-binutils.sh).

export class EncodeError extends RangeError {
  override readonly name = "EncodeError";
}

function reg(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 31) {
    throw new EncodeError(`${what} must be a register number 0..31, got ${String(n)}`);
  }
  return n;
}

function field(n: number, bits: number, what: string, signed = false): number {
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new EncodeError(`${what} must be an integer in ${min}..${max}, got ${String(n)}`);
  }
  return n & (2 ** bits - 1);
}

function sprField(spr: number): number {
  const n = field(spr, 10, "SPR number");
  return ((n & 31) << 5) | (n >>> 5);
}

const u32 = (v: number): number => v >>> 0;

export const NOP = 0x60000000;
export const STOP = 0x4c0002e4;
export const RFID = 0x4c000024;
export const HRFID = 0x4c000224;
export const ISYNC = 0x4c00012c;
export const SYNC = 0x7c0004ac;
export const LWSYNC = 0x7c2004ac;
export const SC = 0x44000002;
/** `sc 1`: hypercall. */
export const SC1 = 0x44000022;
export const BLR = 0x4e800020;
export const BCTR = 0x4e800420;
export const ATTN = 0x00000200;

export const sc = (lev: number): number => u32(0x44000002 | (field(lev, 1, "sc LEV") << 5));
export const mtspr = (spr: number, rs: number): number =>
  u32((31 << 26) | (reg(rs, "RS") << 21) | (sprField(spr) << 11) | (467 << 1));
export const mfspr = (rt: number, spr: number): number =>
  u32((31 << 26) | (reg(rt, "RT") << 21) | (sprField(spr) << 11) | (339 << 1));
/** mftb RT (= mfspr RT,268, what GNU as emits for POWER9); mftbu is mfspr RT,269. */
export const mftb = (rt: number): number => mfspr(rt, 268);
export const mftbu = (rt: number): number => mfspr(rt, 269);
export const mtmsrd = (rs: number, l = 0): number =>
  u32((31 << 26) | (reg(rs, "RS") << 21) | (field(l, 1, "mtmsrd L") << 16) | (178 << 1));
export const mfmsr = (rt: number): number => u32((31 << 26) | (reg(rt, "RT") << 21) | (83 << 1));
export const msgsnd = (rb: number): number => u32((31 << 26) | (reg(rb, "RB") << 11) | (206 << 1));
export const msgclr = (rb: number): number => u32((31 << 26) | (reg(rb, "RB") << 11) | (238 << 1));
export const msgsndp = (rb: number): number => u32((31 << 26) | (reg(rb, "RB") << 11) | (142 << 1));
export const msgclrp = (rb: number): number => u32((31 << 26) | (reg(rb, "RB") << 11) | (174 << 1));
export const or = (ra: number, rs: number, rb: number, rc = 0): number =>
  u32(
    (31 << 26) |
      (reg(rs, "RS") << 21) |
      (reg(ra, "RA") << 16) |
      (reg(rb, "RB") << 11) |
      (444 << 1) |
      field(rc, 1, "Rc"),
  );
export const and = (ra: number, rs: number, rb: number, rc = 0): number =>
  u32(
    (31 << 26) |
      (reg(rs, "RS") << 21) |
      (reg(ra, "RA") << 16) |
      (reg(rb, "RB") << 11) |
      (28 << 1) |
      field(rc, 1, "Rc"),
  );
export const xor = (ra: number, rs: number, rb: number, rc = 0): number =>
  u32(
    (31 << 26) |
      (reg(rs, "RS") << 21) |
      (reg(ra, "RA") << 16) |
      (reg(rb, "RB") << 11) |
      (316 << 1) |
      field(rc, 1, "Rc"),
  );
export const mr = (ra: number, rs: number): number => or(ra, rs, rs);
/** `or 1,1,1` (HMT_low), `or 2,2,2` (HMT_medium), `or 31,31,31` (HMT_very_low) ... */
export const priorityHint = (r: number): number => or(r, r, r);
export const HMT_VERY_LOW = priorityHint(31);
export const HMT_LOW = priorityHint(1);
export const HMT_MEDIUM_LOW = priorityHint(6);
export const HMT_MEDIUM = priorityHint(2);
export const HMT_MEDIUM_HIGH = priorityHint(5);
export const HMT_HIGH = priorityHint(3);
export const HMT_VERY_HIGH = priorityHint(7);
export const add = (rt: number, ra: number, rb: number, rc = 0): number =>
  u32(
    (31 << 26) |
      (reg(rt, "RT") << 21) |
      (reg(ra, "RA") << 16) |
      (reg(rb, "RB") << 11) |
      (266 << 1) |
      field(rc, 1, "Rc"),
  );
export const subf = (rt: number, ra: number, rb: number, rc = 0): number =>
  u32(
    (31 << 26) |
      (reg(rt, "RT") << 21) |
      (reg(ra, "RA") << 16) |
      (reg(rb, "RB") << 11) |
      (40 << 1) |
      field(rc, 1, "Rc"),
  );
export const mfcr = (rt: number): number => u32((31 << 26) | (reg(rt, "RT") << 21) | (19 << 1));
export const addi = (rt: number, ra: number, si: number): number =>
  u32((14 << 26) | (reg(rt, "RT") << 21) | (reg(ra, "RA") << 16) | field(si, 16, "SI", true));
export const addis = (rt: number, ra: number, si: number): number =>
  u32((15 << 26) | (reg(rt, "RT") << 21) | (reg(ra, "RA") << 16) | field(si, 16, "SI", true));
export const li = (rt: number, si: number): number => addi(rt, 0, si);
export const lis = (rt: number, si: number): number => addis(rt, 0, si);
export const ori = (ra: number, rs: number, ui: number): number =>
  u32((24 << 26) | (reg(rs, "RS") << 21) | (reg(ra, "RA") << 16) | field(ui, 16, "UI"));
export const oris = (ra: number, rs: number, ui: number): number =>
  u32((25 << 26) | (reg(rs, "RS") << 21) | (reg(ra, "RA") << 16) | field(ui, 16, "UI"));
export const rldicr = (ra: number, rs: number, sh: number, me: number, rc = 0): number => {
  const s = field(sh, 6, "SH");
  const m = field(me, 6, "ME");
  return u32(
    (30 << 26) |
      (reg(rs, "RS") << 21) |
      (reg(ra, "RA") << 16) |
      ((s & 31) << 11) |
      ((((m & 31) << 1) | (m >>> 5)) << 5) |
      (1 << 2) |
      ((s >>> 5) << 1) |
      field(rc, 1, "Rc"),
  );
};
/** sldi RA,RS,n = rldicr RA,RS,n,63-n. */
export const sldi = (ra: number, rs: number, n: number): number => rldicr(ra, rs, n, 63 - field(n, 6, "n"));
export const cmp = (bf: number, l: number, ra: number, rb: number): number =>
  u32(
    (31 << 26) |
      (field(bf, 3, "BF") << 23) |
      (field(l, 1, "L") << 21) |
      (reg(ra, "RA") << 16) |
      (reg(rb, "RB") << 11),
  );
export const cmpl = (bf: number, l: number, ra: number, rb: number): number =>
  u32(
    (31 << 26) |
      (field(bf, 3, "BF") << 23) |
      (field(l, 1, "L") << 21) |
      (reg(ra, "RA") << 16) |
      (reg(rb, "RB") << 11) |
      (32 << 1),
  );
export const cmpi = (bf: number, l: number, ra: number, si: number): number =>
  u32(
    (11 << 26) |
      (field(bf, 3, "BF") << 23) |
      (field(l, 1, "L") << 21) |
      (reg(ra, "RA") << 16) |
      field(si, 16, "SI", true),
  );
export const cmpli = (bf: number, l: number, ra: number, ui: number): number =>
  u32(
    (10 << 26) |
      (field(bf, 3, "BF") << 23) |
      (field(l, 1, "L") << 21) |
      (reg(ra, "RA") << 16) |
      field(ui, 16, "UI"),
  );
export const cmpd = (bf: number, ra: number, rb: number): number => cmp(bf, 1, ra, rb);
export const cmpdi = (bf: number, ra: number, si: number): number => cmpi(bf, 1, ra, si);
/** b/bl/ba/bla: displacement in bytes (multiple of 4). */
export const b = (disp: number, aa = 0, lk = 0): number => {
  if (disp % 4 !== 0) throw new EncodeError(`branch displacement must be a multiple of 4, got ${disp}`);
  return u32(
    (18 << 26) |
      ((field(disp / 4, 24, "LI", true) << 2) & 0x03fffffc) |
      (field(aa, 1, "AA") << 1) |
      field(lk, 1, "LK"),
  );
};
export const bl = (disp: number): number => b(disp, 0, 1);
export const bc = (bo: number, bi: number, disp: number, aa = 0, lk = 0): number => {
  if (disp % 4 !== 0) throw new EncodeError(`branch displacement must be a multiple of 4, got ${disp}`);
  return u32(
    (16 << 26) |
      (field(bo, 5, "BO") << 21) |
      (field(bi, 5, "BI") << 16) |
      ((field(disp / 4, 14, "BD", true) << 2) & 0xfffc) |
      (field(aa, 1, "AA") << 1) |
      field(lk, 1, "LK"),
  );
};
export const bclr = (bo: number, bi: number, bh = 0, lk = 0): number =>
  u32(
    (19 << 26) |
      (field(bo, 5, "BO") << 21) |
      (field(bi, 5, "BI") << 16) |
      (field(bh, 2, "BH") << 11) |
      (16 << 1) |
      field(lk, 1, "LK"),
  );
export const bcctr = (bo: number, bi: number, bh = 0, lk = 0): number =>
  u32(
    (19 << 26) |
      (field(bo, 5, "BO") << 21) |
      (field(bi, 5, "BI") << 16) |
      (field(bh, 2, "BH") << 11) |
      (528 << 1) |
      field(lk, 1, "LK"),
  );
export const lwz = (rt: number, d: number, ra: number): number =>
  u32((32 << 26) | (reg(rt, "RT") << 21) | (reg(ra, "RA") << 16) | field(d, 16, "D", true));
export const stw = (rs: number, d: number, ra: number): number =>
  u32((36 << 26) | (reg(rs, "RS") << 21) | (reg(ra, "RA") << 16) | field(d, 16, "D", true));
export const ld = (rt: number, ds: number, ra: number): number => {
  if (ds % 4 !== 0) throw new EncodeError(`ld displacement must be a multiple of 4, got ${ds}`);
  return u32(
    (58 << 26) | (reg(rt, "RT") << 21) | (reg(ra, "RA") << 16) | (field(ds, 16, "DS", true) & 0xfffc),
  );
};
export const std = (rs: number, ds: number, ra: number): number => {
  if (ds % 4 !== 0) throw new EncodeError(`std displacement must be a multiple of 4, got ${ds}`);
  return u32(
    (62 << 26) | (reg(rs, "RS") << 21) | (reg(ra, "RA") << 16) | (field(ds, 16, "DS", true) & 0xfffc),
  );
};
export const sync = (l = 0): number => u32((31 << 26) | (field(l, 2, "L") << 21) | (598 << 1));
