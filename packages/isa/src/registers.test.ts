// registers.ts: the PSSCR field helpers (linux: arch/powerpc/include/asm/reg.h PSSCR_* fields;
// ISA v3.0B Book III 4.3.2 "Processor Stop Status and Control Register"), the u64 checks every
// public register setter makes, the vectors that enter the hypervisor and the msgsnd operand.
import { describe, expect, it } from "vitest";
import {
  BOOK3S_INTERRUPT_DECREMENTER,
  BOOK3S_INTERRUPT_DOORBELL,
  BOOK3S_INTERRUPT_EXTERNAL,
  BOOK3S_INTERRUPT_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_PROGRAM,
  BOOK3S_INTERRUPT_SYSCALL,
  checkU64,
  dbellServerMessage,
  HV_VECTORS,
  isU64,
  makePsscr,
  psscrEc,
  psscrEsl,
  psscrMtl,
  psscrPls,
  psscrPsll,
  psscrRl,
  psscrSd,
  psscrTr,
  RegisterValueError,
  setPsscrEc,
  setPsscrEsl,
  setPsscrMtl,
  setPsscrPls,
  setPsscrPsll,
  setPsscrRl,
  setPsscrSd,
  setPsscrTr,
} from "./registers.js";
import { setup } from "./test-helpers/setup.js";

describe("PSSCR fields (ISA v3.0B: PLS 0:3, SD 41, ESL 42, EC 43, PSLL 44:47, TR 54:55, MTL 56:59, RL 60:63)", () => {
  it("makePsscr places each field where reg.h's masks say", () => {
    // RL 3 (0x3), MTL 5 (0x50), TR 2 (0x200), PSLL 15 (0xf0000), EC 0x100000, ESL 0x200000, SD 0x400000
    const v = makePsscr({ rl: 3, mtl: 5, tr: 2, psll: 15, esl: true, ec: true, sd: true });
    expect(v).toBe(0x7f0253n);
    expect([psscrRl(v), psscrMtl(v), psscrTr(v), psscrPsll(v)]).toEqual([3, 5, 2, 15]);
    expect([psscrEsl(v), psscrEc(v), psscrSd(v), psscrPls(v)]).toEqual([true, true, true, 0]);
  });

  it("TR and SD default to 0 (what Linux's stop states in the device tree leave them)", () => {
    const v = makePsscr({ rl: 4, mtl: 4, psll: 4, esl: true, ec: false });
    expect(v).toBe(0x240044n);
    expect([psscrTr(v), psscrSd(v), psscrEc(v)]).toEqual([0, false, false]);
  });

  it("setters replace one field and keep the others, and the flags clear as well as set", () => {
    const all = 0xf0000000007f03ffn; // PLS 15 and every writable field at its maximum
    expect(setPsscrRl(all, 0)).toBe(all & ~0xfn);
    expect(setPsscrMtl(all, 1)).toBe((all & ~0xf0n) | 0x10n);
    expect(setPsscrTr(all, 1)).toBe((all & ~0x300n) | 0x100n);
    expect(setPsscrPsll(all, 2)).toBe((all & ~0xf0000n) | 0x20000n);
    expect(setPsscrPls(all, 1)).toBe((all & ~(0xfn << 60n)) | (1n << 60n));
    expect(psscrPls(all)).toBe(15);
    expect(setPsscrEsl(all, false)).toBe(all & ~0x200000n);
    expect(setPsscrEc(all, false)).toBe(all & ~0x100000n);
    expect(setPsscrSd(all, false)).toBe(all & ~0x400000n);
    expect(setPsscrEsl(0n, true)).toBe(0x200000n);
    expect(setPsscrEc(0n, true)).toBe(0x100000n);
    expect(setPsscrSd(0n, true)).toBe(0x400000n);
  });

  it("a field value outside its width is refused, naming the field and its range", () => {
    expect(setPsscrRl(0n, 15)).toBe(15n);
    expect(() => setPsscrRl(0n, 16)).toThrow(RegisterValueError);
    expect(() => setPsscrRl(0n, 16)).toThrow("PSSCR[RL] must be an integer in 0..15, got 16");
    expect(() => setPsscrMtl(0n, -1)).toThrow("PSSCR[MTL] must be an integer in 0..15, got -1");
    expect(setPsscrTr(0n, 3)).toBe(0x300n);
    expect(() => setPsscrTr(0n, 4)).toThrow("PSSCR[TR] must be an integer in 0..3, got 4");
    expect(() => setPsscrPsll(0n, 1.5)).toThrow("PSSCR[PSLL] must be an integer in 0..15, got 1.5");
    expect(() => setPsscrPls(0n, 16)).toThrow("PSSCR[PLS] must be an integer in 0..15, got 16");
    expect(setPsscrPls(0n, 0)).toBe(0n);
  });
});

describe("u64 values of the public API", () => {
  it("isU64 takes bigints in 0..2^64-1 only", () => {
    expect([0n, 1n, 0xffffffffffffffffn].map(isU64)).toEqual([true, true, true]);
    expect([-1n, 1n << 64n].map(isU64)).toEqual([false, false]);
    // a JavaScript caller passing a number (which compares with bigints without complaint)
    expect(isU64(5 as unknown as bigint)).toBe(false);
  });

  it("checkU64 returns the value or throws a RegisterValueError saying what to pass", () => {
    expect(checkU64(0xffffffffffffffffn, "r3")).toBe(0xffffffffffffffffn);
    expect(() => checkU64(-1n, "r3")).toThrow(RegisterValueError);
    expect(() => checkU64(-1n, "r3")).toThrow(
      "r3: -1 is not an unsigned 64-bit value; pass a bigint in 0..0xffffffffffffffffn (use BigInt.asUintN(64, v) for negative values)",
    );
  });

  it("the thread's setters refuse what is not a u64, naming the register", () => {
    const { t } = setup();
    expect(() => t.setGpr(3, 5 as unknown as bigint)).toThrow(/^r3: 5 is not an unsigned 64-bit value/);
    expect(() => t.setSpr(26, 1n << 64n)).toThrow(/^SPR 26 \(SRR0\): 18446744073709551616 is not/);
    expect(() => {
      t.msr = -1n;
    }).toThrow(/^msr: -1 is not/);
  });
});

describe("vectors that enter the hypervisor (ISA v3.0B Book III 7.5: they set MSR[HV]=1)", () => {
  it("system reset, machine check and the hypervisor interrupts (0x980, 0xe00-0xea0, 0xf80)", () => {
    expect([...HV_VECTORS].sort((a, b) => a - b)).toEqual([
      0x100, 0x200, 0x980, 0xe00, 0xe20, 0xe40, 0xe60, 0xe80, 0xea0, 0xf80,
    ]);
    for (const v of [
      BOOK3S_INTERRUPT_EXTERNAL,
      BOOK3S_INTERRUPT_PROGRAM,
      BOOK3S_INTERRUPT_DECREMENTER,
      BOOK3S_INTERRUPT_DOORBELL,
      BOOK3S_INTERRUPT_SYSCALL,
      BOOK3S_INTERRUPT_FAC_UNAVAIL,
    ])
      expect(HV_VECTORS.has(v), `0x${v.toString(16)}`).toBe(false);
  });
});

describe("msgsnd operand (linux: asm/dbell.h PPC_DBELL_SERVER << PPC_DBELL_TYPE_SHIFT | tag)", () => {
  it("server doorbell type 5 in rB[32:36] and the target PIR in rB[49:63]", () => {
    expect(dbellServerMessage(3)).toBe(0x28000003n);
    expect(dbellServerMessage(0x7fff)).toBe(0x28007fffn);
    expect(dbellServerMessage(0x8001)).toBe(0x28000001n); // PIRs are 15 bits
  });
});

describe("error names", () => {
  it("a bad register value is a RegisterValueError by name too (what a log or a JSON report shows)", () => {
    let e: unknown;
    try {
      checkU64(-1n, "r1");
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).name).toBe("RegisterValueError");
  });
});

describe("PSSCR flags read clear", () => {
  it("ESL, EC and SD read false on a value without them", () => {
    const v = makePsscr({ rl: 15, mtl: 15, tr: 3, psll: 15, esl: false, ec: false, sd: false });
    expect([psscrEsl(v), psscrEc(v), psscrSd(v)]).toEqual([false, false, false]);
  });
});
