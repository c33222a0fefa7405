// linux: arch/powerpc/include/asm/reg.h MSR_*, SRR1_*, LPCR_* and PSSCR_* bits, as the two 32-bit
// halves (high word, low word) every 64-bit register is held in on the hot path (README).

export const TWO32 = 4294967296;
export const MAX_EXACT = Number.MAX_SAFE_INTEGER;

export const MSRH_SF = 0x80000000;
export const MSRH_HV = 0x10000000;
export const MSRH_S = 0x00000200;
export const MSRH_TM = 0x00000007;
export const MSRL_EE = 0x8000;
export const MSRL_PR = 0x4000;
export const MSRL_ME = 0x1000;
export const MSRL_IR = 0x20;
export const MSRL_DR = 0x10;
export const MSRL_RI = 0x2;
export const MSRL_LE = 0x1;

/** SRR1 bits 33:36 and 42:47 are interrupt-specific; the others copy MSR. */
export const SRR1_SPECIFIC_LO = 0x783f0000;
export const SRR1_PROGPRIV_LO = 0x00040000;

export const LPCRL_LD = 0x20000;
export const LPCRL_PECEDP = 0x10000;
export const LPCRL_PECEDH = 0x8000;
export const LPCRL_PECE0 = 0x4000;
export const LPCRL_PECE1 = 0x2000;
export const LPCRL_ILE = 0x2000000;
export const LPCRL_LPES0 = 0x8;
export const LPCRL_HEIC = 0x10;
export const LPCRL_HVICE = 0x2;
export const LPCRL_HDICE = 0x1;
export const LPCRH_HVEE = 0x4000;

export const PSSCRL_ESL = 0x200000;
export const PSSCRL_EC = 0x100000;
export const PSSCRL_SD = 0x400000;
export const PSSCRL_HV_WRITABLE = 0x007f03ff;
export const PSSCRL_GUEST_VIS = 0x3ff;
export const PSSCRH_PLS = 0xf0000000;

export const TWO32_BIG = 4294967296;
/** 2^53 / 2^32: a high half below this makes a value a double holds exactly. */
export const EXACT_HI = 0x200000;

/** The bigint of a value held in halves; one BigInt allocation when the value is below 2^53. */
export function toBig(hi: number, lo: number): bigint {
  hi >>>= 0;
  lo >>>= 0;
  if (hi === 0) return BigInt(lo);
  if (hi < EXACT_HI) return BigInt(hi * TWO32_BIG + lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Halves of a checked u64 bigint, in SPLIT[0] (hi) and SPLIT[1] (lo); no allocation below 2^53. */
export const SPLIT = new Uint32Array(2);
export function splitBig(v: bigint): void {
  if (v <= 0x1fffffffffffffn) {
    const d = Number(v);
    const hi = Math.floor(d / TWO32_BIG);
    SPLIT[0] = hi;
    SPLIT[1] = d - hi * TWO32_BIG;
  } else {
    SPLIT[0] = Number(v >> 32n);
    SPLIT[1] = Number(BigInt.asUintN(32, v));
  }
}
