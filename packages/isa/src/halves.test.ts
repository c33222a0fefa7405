// The two 32-bit halves every 64-bit register is held in (halves.ts), checked against BigInt
// arithmetic: toBig and splitBig are exact inverses over the whole u64 range, and in particular
// at the edge of the doubles' exact range (2^53) where the fast paths hand over to the BigInt one.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EXACT_HI,
  LPCRH_HVEE,
  LPCRL_LD,
  LPCRL_PECE0,
  MSRH_HV,
  MSRH_SF,
  MSRL_EE,
  MSRL_LE,
  MSRL_PR,
  PSSCRH_PLS,
  PSSCRL_ESL,
  PSSCRL_GUEST_VIS,
  PSSCRL_HV_WRITABLE,
  SPLIT,
  splitBig,
  toBig,
} from "./halves.js";
import {
  LPCR_LD,
  LPCR_PECE_HVEE,
  LPCR_PECE0,
  MSR_EE,
  MSR_HV,
  MSR_LE,
  MSR_PR,
  MSR_SF,
  PSSCR_ESL,
  PSSCR_GUEST_VIS,
  PSSCR_HV_WRITABLE,
  PSSCR_PLS,
} from "./registers.js";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const join = (hi: number, lo: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

describe("toBig: the value of two 32-bit halves", () => {
  it("property: equals hi * 2^32 + lo computed with BigInt, for any halves", () => {
    fc.assert(fc.property(u32, u32, (hi, lo) => toBig(hi, lo) === join(hi, lo)));
  });

  it("property: near 2^53, where a double stops holding every integer, the value stays exact", () => {
    // high halves around EXACT_HI (2^21) with odd low halves: a double would round these
    const hiNear = fc.integer({ min: EXACT_HI - 2, max: EXACT_HI + 2 });
    fc.assert(fc.property(hiNear, u32, (hi, lo) => toBig(hi, lo) === join(hi, lo)));
    expect(toBig(EXACT_HI, 1)).toBe((1n << 53n) + 1n);
    expect(toBig(EXACT_HI - 1, 0xffffffff)).toBe((1n << 53n) - 1n);
  });

  it("reads the halves as unsigned words (Int32 halves of a typed array read negative)", () => {
    expect(toBig(-1, -1)).toBe(0xffffffffffffffffn);
    expect(toBig(0, -2)).toBe(0xfffffffen);
    expect(toBig(-0x80000000, 0)).toBe(0x8000000000000000n);
  });
});

describe("splitBig: the halves of a u64", () => {
  it("property: SPLIT holds the high and low words BigInt computes, and toBig inverts it", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        splitBig(v);
        return (
          SPLIT[0] === Number(v >> 32n) &&
          SPLIT[1] === Number(v & 0xffffffffn) &&
          toBig(SPLIT[0], SPLIT[1]) === v
        );
      }),
    );
  });

  it("splits exactly at the edge of the doubles' exact range and at the extremes", () => {
    for (const v of [
      0n,
      0xffffffffn,
      1n << 32n,
      (1n << 53n) - 1n,
      1n << 53n,
      (1n << 53n) + 1n,
      0xffffffffffffffffn,
    ]) {
      splitBig(v);
      expect([SPLIT[0], SPLIT[1]], `0x${v.toString(16)}`).toEqual([
        Number(v >> 32n),
        Number(v & 0xffffffffn),
      ]);
    }
  });
});

describe("the halves' bit constants are the halves of linux reg.h's 64-bit bits", () => {
  it("MSR, LPCR and PSSCR bits the hot path tests on a half", () => {
    const hi = (v: bigint) => Number(v >> 32n);
    const lo = (v: bigint) => Number(v & 0xffffffffn);
    expect([MSRH_SF, MSRH_HV]).toEqual([hi(MSR_SF), hi(MSR_HV)]);
    expect([MSRL_EE, MSRL_PR, MSRL_LE]).toEqual([lo(MSR_EE), lo(MSR_PR), lo(MSR_LE)]);
    expect([LPCRL_LD, LPCRL_PECE0, LPCRH_HVEE]).toEqual([lo(LPCR_LD), lo(LPCR_PECE0), hi(LPCR_PECE_HVEE)]);
    expect([PSSCRL_ESL, PSSCRL_GUEST_VIS, PSSCRH_PLS]).toEqual([
      lo(PSSCR_ESL),
      lo(PSSCR_GUEST_VIS),
      hi(PSSCR_PLS),
    ]);
    expect(PSSCRL_HV_WRITABLE).toBe(lo(PSSCR_HV_WRITABLE));
    expect(hi(PSSCR_HV_WRITABLE)).toBe(0); // PLS (the high nibble) is status: never written
  });
});
