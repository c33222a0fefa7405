// The instruction builders of asm.ts against GNU as: fixtures/asm.s lists one instruction per
// builder and boundary operand (the largest register, the signed limits of D/DS/SI/BD/LI, Rc=1,
// AA/LK, BH), fixtures/make-binutils.sh assembles it with GNU as -mpower9 into
// fixtures/asm.objdump.txt. Each row pairs the source line with the builder call that must give
// the word GNU as gave it; the test also checks that the rows and asm.s list the same lines.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as A from "./asm.js";

const FIXTURES = new URL("../fixtures/", import.meta.url);

/**
 * [line of fixtures/asm.s, the builder's word] in file order. Built inside each test (not when the
 * module loads) so that a mutation tool sees which test runs which builder.
 */
const rows = (): ReadonlyArray<readonly [string, number]> => [
  ["nop", A.NOP],
  ["stop", A.STOP],
  ["rfid", A.RFID],
  ["hrfid", A.HRFID],
  ["isync", A.ISYNC],
  ["sync", A.SYNC],
  ["lwsync", A.LWSYNC],
  ["sc", A.SC],
  ["sc 1", A.SC1],
  ["blr", A.BLR],
  ["bctr", A.BCTR],
  ["attn", A.ATTN],
  ["sc", A.sc(0)],
  ["sc 1", A.sc(1)],
  ["mtspr 855,3", A.mtspr(855, 3)],
  ["mtspr 1023,31", A.mtspr(1023, 31)],
  ["mfspr 0,1", A.mfspr(0, 1)],
  ["mfspr 31,848", A.mfspr(31, 848)],
  ["mftb 3", A.mftb(3)],
  ["mftbu 5", A.mftbu(5)],
  ["mtmsrd 3", A.mtmsrd(3)],
  ["mtmsrd 13,1", A.mtmsrd(13, 1)],
  ["mfmsr 31", A.mfmsr(31)],
  ["msgsnd 3", A.msgsnd(3)],
  ["msgclr 4", A.msgclr(4)],
  ["msgsndp 5", A.msgsndp(5)],
  ["msgclrp 31", A.msgclrp(31)],
  ["or 3,4,5", A.or(3, 4, 5)],
  ["or. 31,0,17", A.or(31, 0, 17, 1)],
  ["and 3,4,5", A.and(3, 4, 5)],
  ["and. 31,0,17", A.and(31, 0, 17, 1)],
  ["xor 3,4,5", A.xor(3, 4, 5)],
  ["xor. 31,0,17", A.xor(31, 0, 17, 1)],
  ["mr 3,4", A.mr(3, 4)],
  ["or 31,31,31", A.HMT_VERY_LOW],
  ["or 1,1,1", A.HMT_LOW],
  ["or 6,6,6", A.HMT_MEDIUM_LOW],
  ["or 2,2,2", A.HMT_MEDIUM],
  ["or 5,5,5", A.HMT_MEDIUM_HIGH],
  ["or 3,3,3", A.HMT_HIGH],
  ["or 7,7,7", A.HMT_VERY_HIGH],
  ["add 3,4,5", A.add(3, 4, 5)],
  ["add. 31,0,17", A.add(31, 0, 17, 1)],
  ["subf 3,4,5", A.subf(3, 4, 5)],
  ["subf. 31,0,17", A.subf(31, 0, 17, 1)],
  ["mfcr 3", A.mfcr(3)],
  ["addi 3,4,-32768", A.addi(3, 4, -32768)],
  ["addi 31,1,32767", A.addi(31, 1, 32767)],
  ["addis 3,0,-1", A.addis(3, 0, -1)],
  ["li 3,-1", A.li(3, -1)],
  ["lis 31,0x7fff", A.lis(31, 0x7fff)],
  ["ori 3,4,0xffff", A.ori(3, 4, 0xffff)],
  ["oris 3,4,1", A.oris(3, 4, 1)],
  ["rldicr 3,4,32,31", A.rldicr(3, 4, 32, 31)],
  ["rldicr. 3,4,63,0", A.rldicr(3, 4, 63, 0, 1)],
  ["rldicr 31,0,5,58", A.rldicr(31, 0, 5, 58)],
  ["sldi 3,4,8", A.sldi(3, 4, 8)],
  ["sldi 3,4,40", A.sldi(3, 4, 40)],
  ["cmp 7,1,3,4", A.cmp(7, 1, 3, 4)],
  ["cmp 0,0,31,1", A.cmp(0, 0, 31, 1)],
  ["cmpl 5,1,3,4", A.cmpl(5, 1, 3, 4)],
  ["cmpi 1,1,3,-5", A.cmpi(1, 1, 3, -5)],
  ["cmpi 6,0,3,32767", A.cmpi(6, 0, 3, 32767)],
  ["cmpli 2,0,3,65535", A.cmpli(2, 0, 3, 65535)],
  ["cmpli 4,1,31,0", A.cmpli(4, 1, 31, 0)],
  ["cmpd 3,4,5", A.cmpd(3, 4, 5)],
  ["cmpdi 0,3,-1", A.cmpdi(0, 3, -1)],
  ["b .+8", A.b(8)],
  ["b .-0x2000000", A.b(-0x2000000)],
  ["b .+0x1fffffc", A.b(0x1fffffc)],
  ["ba 0x100", A.b(0x100, 1)],
  ["bla 0x1000", A.b(0x1000, 1, 1)],
  ["bl .+0x1fffffc", A.bl(0x1fffffc)],
  ["bl .-4", A.bl(-4)],
  ["bc 12,2,.+16", A.bc(12, 2, 16)],
  ["bc 4,1,.-32768", A.bc(4, 1, -32768)],
  ["bc 16,31,.+32764", A.bc(16, 31, 32764)],
  ["bca 16,0,0x100", A.bc(16, 0, 0x100, 1)],
  ["bcla 16,0,0x100", A.bc(16, 0, 0x100, 1, 1)],
  ["bcl 20,31,.+4", A.bc(20, 31, 4, 0, 1)],
  ["bclr 20,0", A.bclr(20, 0)],
  ["bclrl 12,2", A.bclr(12, 2, 0, 1)],
  ["bclr 4,10,1", A.bclr(4, 10, 1)],
  ["bclr 16,31,3", A.bclr(16, 31, 3)],
  ["bcctr 20,0", A.bcctr(20, 0)],
  ["bcctrl 20,0", A.bcctr(20, 0, 0, 1)],
  ["bcctr 12,2,3", A.bcctr(12, 2, 3)],
  ["bcctrl 12,31,1", A.bcctr(12, 31, 1, 1)],
  ["lwz 3,-4(1)", A.lwz(3, -4, 1)],
  ["lwz 31,32767(31)", A.lwz(31, 32767, 31)],
  ["stw 31,32764(0)", A.stw(31, 32764, 0)],
  ["stw 3,-32768(1)", A.stw(3, -32768, 1)],
  ["ld 3,-32768(1)", A.ld(3, -32768, 1)],
  ["ld 31,32764(31)", A.ld(31, 32764, 31)],
  ["std 3,32760(13)", A.std(3, 32760, 13)],
  ["std 31,-4(1)", A.std(31, -4, 1)],
  ["sync 0", A.sync()],
  ["sync 1", A.sync(1)],
  ["sync 2", A.sync(2)],
];

/** The words of objdump -d lines "   addr:\tb0 b1 b2 b3 \ttext" (little-endian bytes). */
function objdumpWords(text: string): number[] {
  return text
    .split("\n")
    .filter((l) => /^ *[0-9a-f]+:\t/.test(l))
    .map((l) => {
      const b = l
        .split("\t")[1]
        .trim()
        .split(" ")
        .map((x) => Number.parseInt(x, 16));
      return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
    });
}

describe("asm.ts builders against GNU as (fixtures/asm.s, fixtures/make-binutils.sh)", () => {
  it("the rows are the lines of asm.s, in order", () => {
    const lines = readFileSync(new URL("asm.s", FIXTURES), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("\t") && !l.startsWith("\t."))
      .map((l) => l.trim());
    expect(lines).toEqual(rows().map(([line]) => line));
  });

  it("every builder gives the word GNU as assembled", () => {
    const words = objdumpWords(readFileSync(new URL("asm.objdump.txt", FIXTURES), "utf8"));
    const built = rows();
    expect(words.length).toBe(built.length);
    built.forEach(([line, word], i) => {
      expect(`${line}: 0x${word.toString(16).padStart(8, "0")}`).toBe(
        `${line}: 0x${words[i].toString(16).padStart(8, "0")}`,
      );
    });
  });
});

describe("asm.ts operand checks: a clear EncodeError naming the operand and its range", () => {
  it("register numbers 0..31, integers only", () => {
    expect(() => A.addi(32, 0, 0)).toThrow("RT must be a register number 0..31, got 32");
    expect(() => A.addi(3, -1, 0)).toThrow("RA must be a register number 0..31, got -1");
    expect(() => A.or(3, 1.5, 4)).toThrow("RS must be a register number 0..31, got 1.5");
    expect(() => A.msgsnd(32)).toThrow("RB must be a register number 0..31, got 32");
    expect(() => A.mtspr(855, 32)).toThrow(A.EncodeError);
  });

  it("immediates within their signed or unsigned field", () => {
    expect(() => A.addi(3, 4, 32768)).toThrow("SI must be an integer in -32768..32767, got 32768");
    expect(() => A.addi(3, 4, -32769)).toThrow("SI must be an integer in -32768..32767, got -32769");
    expect(() => A.ori(3, 4, 65536)).toThrow("UI must be an integer in 0..65535, got 65536");
    expect(() => A.ori(3, 4, -1)).toThrow("UI must be an integer in 0..65535, got -1");
    expect(() => A.lwz(3, 32768, 1)).toThrow("D must be an integer in -32768..32767, got 32768");
    expect(() => A.mtspr(1024, 3)).toThrow("SPR number must be an integer in 0..1023, got 1024");
    expect(() => A.sc(2)).toThrow("sc LEV must be an integer in 0..1, got 2");
    expect(() => A.add(3, 4, 5, 2)).toThrow("Rc must be an integer in 0..1, got 2");
    expect(() => A.mtmsrd(3, 2)).toThrow("mtmsrd L must be an integer in 0..1, got 2");
    expect(() => A.cmp(8, 0, 3, 4)).toThrow("BF must be an integer in 0..7, got 8");
    expect(() => A.sync(4)).toThrow("L must be an integer in 0..3, got 4");
    expect(() => A.rldicr(3, 4, 64, 0)).toThrow("SH must be an integer in 0..63, got 64");
    expect(() => A.sldi(3, 4, 64)).toThrow("n must be an integer in 0..63, got 64");
    expect(() => A.bclr(20, 0, 4)).toThrow("BH must be an integer in 0..3, got 4");
    expect(() => A.bc(32, 0, 0)).toThrow("BO must be an integer in 0..31, got 32");
  });

  it("branch and DS displacements: multiples of 4 within LI, BD and DS", () => {
    expect(() => A.b(2)).toThrow("branch displacement must be a multiple of 4, got 2");
    expect(() => A.bc(12, 2, 6)).toThrow("branch displacement must be a multiple of 4, got 6");
    expect(() => A.b(0x2000000)).toThrow("LI must be an integer in -8388608..8388607, got 8388608");
    expect(() => A.bc(12, 2, 32768)).toThrow("BD must be an integer in -8192..8191, got 8192");
    expect(() => A.ld(3, 2, 1)).toThrow("ld displacement must be a multiple of 4, got 2");
    expect(() => A.std(3, 6, 1)).toThrow("std displacement must be a multiple of 4, got 6");
    expect(() => A.ld(3, 32768, 1)).toThrow("DS must be an integer in -32768..32767, got 32768");
    expect(() => A.b(4, 2)).toThrow("AA must be an integer in 0..1, got 2");
    expect(() => A.b(4, 0, 2)).toThrow("LK must be an integer in 0..1, got 2");
  });

  it("every builder names the operand out of range", () => {
    // register operands are checked in the order the builder puts them in the word
    const cases: ReadonlyArray<readonly [() => number, string]> = [
      [() => A.mtspr(855, 32), "RS"],
      [() => A.mfspr(32, 855), "RT"],
      [() => A.mftb(32), "RT"],
      [() => A.mftbu(32), "RT"],
      [() => A.mtmsrd(32), "RS"],
      [() => A.mfmsr(32), "RT"],
      [() => A.msgsnd(32), "RB"],
      [() => A.msgclr(32), "RB"],
      [() => A.msgsndp(32), "RB"],
      [() => A.msgclrp(32), "RB"],
      ...[A.or, A.and, A.xor].flatMap((op) => [
        [() => op(32, 0, 0), "RA"] as const,
        [() => op(0, 32, 0), "RS"] as const,
        [() => op(0, 0, 32), "RB"] as const,
        [() => op(0, 0, 0, 2), "Rc"] as const,
      ]),
      ...[A.add, A.subf].flatMap((op) => [
        [() => op(32, 0, 0), "RT"] as const,
        [() => op(0, 32, 0), "RA"] as const,
        [() => op(0, 0, 32), "RB"] as const,
        [() => op(0, 0, 0, 2), "Rc"] as const,
      ]),
      [() => A.mfcr(32), "RT"],
      ...[A.addi, A.addis].flatMap((op) => [
        [() => op(32, 0, 0), "RT"] as const,
        [() => op(0, 32, 0), "RA"] as const,
        [() => op(0, 0, 32768), "SI"] as const,
      ]),
      ...[A.ori, A.oris].flatMap((op) => [
        [() => op(32, 0, 0), "RA"] as const,
        [() => op(0, 32, 0), "RS"] as const,
        [() => op(0, 0, 65536), "UI"] as const,
      ]),
      [() => A.rldicr(32, 0, 0, 0), "RA"],
      [() => A.rldicr(0, 32, 0, 0), "RS"],
      [() => A.rldicr(0, 0, 0, 64), "ME"],
      [() => A.rldicr(0, 0, 0, 0, 2), "Rc"],
      ...[A.cmp, A.cmpl].flatMap((op) => [
        [() => op(8, 0, 0, 0), "BF"] as const,
        [() => op(0, 2, 0, 0), "L"] as const,
        [() => op(0, 0, 32, 0), "RA"] as const,
        [() => op(0, 0, 0, 32), "RB"] as const,
      ]),
      [() => A.cmpi(8, 0, 0, 0), "BF"],
      [() => A.cmpi(0, 2, 0, 0), "L"],
      [() => A.cmpi(0, 0, 32, 0), "RA"],
      [() => A.cmpi(0, 0, 0, 32768), "SI"],
      [() => A.cmpli(8, 0, 0, 0), "BF"],
      [() => A.cmpli(0, 2, 0, 0), "L"],
      [() => A.cmpli(0, 0, 32, 0), "RA"],
      [() => A.cmpli(0, 0, 0, 65536), "UI"],
      [() => A.bc(0, 32, 0), "BI"],
      [() => A.bc(20, 0, 0, 2), "AA"],
      [() => A.bc(20, 0, 0, 0, 2), "LK"],
      ...[A.bclr, A.bcctr].flatMap((op) => [
        [() => op(32, 0), "BO"] as const,
        [() => op(20, 32), "BI"] as const,
        [() => op(20, 0, 4), "BH"] as const,
        [() => op(20, 0, 0, 2), "LK"] as const,
      ]),
      [() => A.lwz(32, 0, 0), "RT"],
      [() => A.lwz(0, 0, 32), "RA"],
      [() => A.stw(32, 0, 0), "RS"],
      [() => A.stw(0, 0, 32), "RA"],
      [() => A.stw(0, -32769, 0), "D"],
      [() => A.ld(32, 0, 0), "RT"],
      [() => A.ld(0, 0, 32), "RA"],
      [() => A.std(32, 0, 0), "RS"],
      [() => A.std(0, 0, 32), "RA"],
      [() => A.std(0, -32772, 0), "DS"],
    ];
    for (const [call, operand] of cases) {
      expect(call).toThrow(A.EncodeError);
      expect(call).toThrow(new RegExp(`^${operand} must be`));
    }
  });

  it("branch and DS displacements are bytes: a multiple of 4, stored divided by 4", () => {
    // 4 bytes is LI/BD/DS 1: the word's displacement bits hold 4
    expect(A.b(4) & 0x03fffffc).toBe(4);
    expect(A.bc(20, 0, 4) & 0xfffc).toBe(4);
    expect(A.ld(0, 4, 0) & 0xfffc).toBe(4);
    expect(A.std(0, -4, 0) & 0xffff).toBe(0xfffc);
  });

  it("EncodeError is a RangeError named EncodeError", () => {
    const e = (() => {
      try {
        A.li(40, 0);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).name).toBe("EncodeError");
  });
});
