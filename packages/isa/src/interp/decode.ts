// qemu: target/ppc/insn32.decode and translate.c's opcode tables: the class, access size, flags
// and sub-operation of each instruction form the interpreter executes (src/opcodes.ts names them).

import { FORMS, formId } from "../opcodes.js";

// Classes of instructions the interpreter distinguishes, grouped as src/interp/*.ts executes them
// fixed-point (Book I chapter 3)
export const C_ADDI = 1;
export const C_ADDIS = 2;
export const C_ADDIC = 3;
export const C_SUBFIC = 4;
export const C_MULLI = 5;
export const C_ADDPCIS = 6;
export const C_XO_ADD = 7; // add family: see ADD_KIND
export const C_MUL = 8;
export const C_DIV = 9;
export const C_MOD = 10;
export const C_MADD = 11;
export const C_ADDEX = 12;
export const C_CMP = 13;
export const C_CMPRB = 14;
export const C_CMPEQB = 15;
export const C_SETB = 16;
export const C_MCRXRX = 17;
export const C_LOGIC_IMM = 18;
export const C_LOGIC = 19;
export const C_EXTS = 20;
export const C_COUNT = 21;
export const C_POPCNT = 22;
export const C_PRTY = 23;
export const C_CMPB = 24;
export const C_BPERMD = 25;
export const C_ISEL = 26;
export const C_RLW = 27;
export const C_RLD = 28;
export const C_SHIFT = 29;
export const C_SRAWI = 30;
export const C_SRADI = 31;
export const C_EXTSWSLI = 32;
export const C_TRAP = 33;
// storage access, cache management (Book I 3.3, Book II 4)
export const C_LOAD = 34;
export const C_STORE = 35;
export const C_LQ = 36;
export const C_STQ = 37;
export const C_LMW = 38;
export const C_STMW = 39;
export const C_STRING = 40;
export const C_LARX = 41;
export const C_STCX = 42;
export const C_AMO_LOAD = 43;
export const C_AMO_STORE = 44;
export const C_DCBZ = 45;
export const C_COPY = 46;
export const C_PASTE = 47;
export const C_CPABORT = 48;
// branch and condition register (Book I chapter 2)
export const C_B = 49;
export const C_BC = 50;
export const C_BCREG = 51;
export const C_CRLOGIC = 52;
export const C_MCRF = 53;
export const C_MFOCRF = 54;
export const C_MTCRF = 55;
// system and storage control (Book III)
export const C_NOP = 56;
export const C_PRIV_NOP = 57; // privileged storage control without an MMU model (slbie, tlbie ...)
export const C_SLBMF = 58;
export const C_SLBFEE = 59;
export const C_DARN = 60;
export const C_SCV = 61;
export const C_RFSCV = 62;
export const C_RFEBB = 63;
/** Last class of each group: execInterp dispatches on these ranges. */
export const C_LAST_FIXED_POINT = C_TRAP;
export const C_LAST_STORAGE = C_CPABORT;
export const C_LAST_BRANCH = C_MTCRF;

export const CLASS = new Uint8Array(FORMS.length);
/** Per form: access size in bytes, or a class-specific parameter. */
export const SIZE = new Uint8Array(FORMS.length);
/** Per form flags. */
export const FLAGS = new Uint8Array(FORMS.length);
export const F_INDEXED = 1;
export const F_UPDATE = 2;
export const F_SIGNED = 4; // sign-extending load (lha, lwa), signed compare/multiply/divide
export const F_BREV = 8; // byte-reversed
export const F_HVPRIV = 16; // hypervisor privileged (cache-inhibited loads and stores)
export const F_DS = 32; // DS-form displacement
/** Sub-operation for classes with several instructions. */
export const SUB = new Uint8Array(FORMS.length);

function set(names: string, cls: number, size = 0, flags = 0, sub = 0): void {
  for (const n of names.trim().split(/\s+/)) {
    const id = formId(n);
    CLASS[id] = cls;
    SIZE[id] = size;
    FLAGS[id] = flags;
    SUB[id] = sub;
  }
}

/** Classes with several instructions: SUB is the index in `names`. */
function setSeq(names: readonly string[], cls: number): void {
  for (let i = 0; i < names.length; i++) set(names[i], cls, 0, 0, i);
}

set("addi", C_ADDI);
set("addis", C_ADDIS);
set("addic", C_ADDIC, 0, 0, 0);
set("addic.", C_ADDIC, 0, 0, 1);
set("subfic", C_SUBFIC);
set("mulli", C_MULLI);
set("addpcis", C_ADDPCIS);
// add family, SUB: 0 add, 1 subf, 2 addc, 3 subfc, 4 adde, 5 subfe, 6 addme, 7 subfme, 8 addze,
// 9 subfze, 10 neg
setSeq(
  ["add", "subf", "addc", "subfc", "adde", "subfe", "addme", "subfme", "addze", "subfze", "neg"],
  C_XO_ADD,
);
// multiply, SUB: 0 mulld, 1 mullw, 2 mulhd, 3 mulhdu, 4 mulhw, 5 mulhwu
setSeq(["mulld", "mullw", "mulhd", "mulhdu", "mulhw", "mulhwu"], C_MUL);
// divide, SUB: 0 divd 1 divdu 2 divw 3 divwu 4 divde 5 divdeu 6 divwe 7 divweu
setSeq(["divd", "divdu", "divw", "divwu", "divde", "divdeu", "divwe", "divweu"], C_DIV);
setSeq(["modsd", "modud", "modsw", "moduw"], C_MOD);
setSeq(["maddhd", "maddhdu", "maddld"], C_MADD);
set("addex", C_ADDEX);
setSeq(["cmp", "cmpl", "cmpi", "cmpli"], C_CMP);
set("cmprb", C_CMPRB);
set("cmpeqb", C_CMPEQB);
set("setb", C_SETB);
set("mcrxrx", C_MCRXRX);
// immediate logical, SUB: 0 ori 1 oris 2 xori 3 xoris 4 andi. 5 andis.
setSeq(["ori", "oris", "xori", "xoris", "andi.", "andis."], C_LOGIC_IMM);
// register logical, SUB: 0 and 1 andc 2 nor 3 eqv 4 xor 5 orc 6 or 7 nand
setSeq(["and", "andc", "nor", "eqv", "xor", "orc", "or", "nand"], C_LOGIC);
set("extsb", C_EXTS, 1);
set("extsh", C_EXTS, 2);
set("extsw", C_EXTS, 4);
// counts, SUB: 0 cntlzw 1 cntlzd 2 cnttzw 3 cnttzd
setSeq(["cntlzw", "cntlzd", "cnttzw", "cnttzd"], C_COUNT);
set("popcntb", C_POPCNT, 1);
set("popcntw", C_POPCNT, 4);
set("popcntd", C_POPCNT, 8);
set("prtyw", C_PRTY, 4);
set("prtyd", C_PRTY, 8);
set("cmpb", C_CMPB);
set("bpermd", C_BPERMD);
set("isel", C_ISEL);
// rotate word, SUB: 0 rlwinm 1 rlwnm 2 rlwimi
setSeq(["rlwinm", "rlwnm", "rlwimi"], C_RLW);
// rotate doubleword, SUB: 0 rldicl 1 rldicr 2 rldic 3 rldimi 4 rldcl 5 rldcr
setSeq(["rldicl", "rldicr", "rldic", "rldimi", "rldcl", "rldcr"], C_RLD);
// shifts by register, SUB: 0 slw 1 srw 2 sraw 3 sld 4 srd 5 srad
setSeq(["slw", "srw", "sraw", "sld", "srd", "srad"], C_SHIFT);
set("srawi", C_SRAWI);
set("sradi", C_SRADI);
set("extswsli", C_EXTSWSLI);
// loads
set("lbz", C_LOAD, 1);
set("lbzu", C_LOAD, 1, F_UPDATE);
set("lbzx", C_LOAD, 1, F_INDEXED);
set("lbzux", C_LOAD, 1, F_INDEXED | F_UPDATE);
set("lhz", C_LOAD, 2);
set("lhzu", C_LOAD, 2, F_UPDATE);
set("lhzx", C_LOAD, 2, F_INDEXED);
set("lhzux", C_LOAD, 2, F_INDEXED | F_UPDATE);
set("lha", C_LOAD, 2, F_SIGNED);
set("lhau", C_LOAD, 2, F_SIGNED | F_UPDATE);
set("lhax", C_LOAD, 2, F_SIGNED | F_INDEXED);
set("lhaux", C_LOAD, 2, F_SIGNED | F_INDEXED | F_UPDATE);
set("lwz", C_LOAD, 4);
set("lwzu", C_LOAD, 4, F_UPDATE);
set("lwzx", C_LOAD, 4, F_INDEXED);
set("lwzux", C_LOAD, 4, F_INDEXED | F_UPDATE);
set("lwa", C_LOAD, 4, F_SIGNED | F_DS);
set("lwax", C_LOAD, 4, F_SIGNED | F_INDEXED);
set("lwaux", C_LOAD, 4, F_SIGNED | F_INDEXED | F_UPDATE);
set("ld", C_LOAD, 8, F_DS);
set("ldu", C_LOAD, 8, F_DS | F_UPDATE);
set("ldx", C_LOAD, 8, F_INDEXED);
set("ldux", C_LOAD, 8, F_INDEXED | F_UPDATE);
set("lhbrx", C_LOAD, 2, F_INDEXED | F_BREV);
set("lwbrx", C_LOAD, 4, F_INDEXED | F_BREV);
set("ldbrx", C_LOAD, 8, F_INDEXED | F_BREV);
set("lbzcix", C_LOAD, 1, F_INDEXED | F_HVPRIV);
set("lhzcix", C_LOAD, 2, F_INDEXED | F_HVPRIV);
set("lwzcix", C_LOAD, 4, F_INDEXED | F_HVPRIV);
set("ldcix", C_LOAD, 8, F_INDEXED | F_HVPRIV);
// stores
set("stb", C_STORE, 1);
set("stbu", C_STORE, 1, F_UPDATE);
set("stbx", C_STORE, 1, F_INDEXED);
set("stbux", C_STORE, 1, F_INDEXED | F_UPDATE);
set("sth", C_STORE, 2);
set("sthu", C_STORE, 2, F_UPDATE);
set("sthx", C_STORE, 2, F_INDEXED);
set("sthux", C_STORE, 2, F_INDEXED | F_UPDATE);
set("stw", C_STORE, 4);
set("stwu", C_STORE, 4, F_UPDATE);
set("stwx", C_STORE, 4, F_INDEXED);
set("stwux", C_STORE, 4, F_INDEXED | F_UPDATE);
set("std", C_STORE, 8, F_DS);
set("stdu", C_STORE, 8, F_DS | F_UPDATE);
set("stdx", C_STORE, 8, F_INDEXED);
set("stdux", C_STORE, 8, F_INDEXED | F_UPDATE);
set("sthbrx", C_STORE, 2, F_INDEXED | F_BREV);
set("stwbrx", C_STORE, 4, F_INDEXED | F_BREV);
set("stdbrx", C_STORE, 8, F_INDEXED | F_BREV);
set("stbcix", C_STORE, 1, F_INDEXED | F_HVPRIV);
set("sthcix", C_STORE, 2, F_INDEXED | F_HVPRIV);
set("stwcix", C_STORE, 4, F_INDEXED | F_HVPRIV);
set("stdcix", C_STORE, 8, F_INDEXED | F_HVPRIV);
set("lq", C_LQ, 16);
set("stq", C_STQ, 16, F_DS);
set("lmw", C_LMW, 4);
set("stmw", C_STMW, 4);
set("lswi lswx stswi stswx", C_STRING);
set("lbarx", C_LARX, 1, F_INDEXED);
set("lharx", C_LARX, 2, F_INDEXED);
set("lwarx", C_LARX, 4, F_INDEXED);
set("ldarx", C_LARX, 8, F_INDEXED);
set("lqarx", C_LARX, 16, F_INDEXED);
set("stbcx.", C_STCX, 1, F_INDEXED);
set("sthcx.", C_STCX, 2, F_INDEXED);
set("stwcx.", C_STCX, 4, F_INDEXED);
set("stdcx.", C_STCX, 8, F_INDEXED);
set("stqcx.", C_STCX, 16, F_INDEXED);
set("lwat", C_AMO_LOAD, 4);
set("ldat", C_AMO_LOAD, 8);
set("stwat", C_AMO_STORE, 4);
set("stdat", C_AMO_STORE, 8);
// branches and CR
set("b", C_B);
set("bc", C_BC);
set("bclr", C_BCREG, 0, 0, 0);
set("bcctr", C_BCREG, 0, 0, 1);
set("bctar", C_BCREG, 0, 0, 2);
// CR logical, SUB = the 4-bit truth table (a, b) -> bit: index (a << 1) | b
set("crand", C_CRLOGIC, 0, 0, 0b1000);
set("crnand", C_CRLOGIC, 0, 0, 0b0111);
set("cror", C_CRLOGIC, 0, 0, 0b1110);
set("crnor", C_CRLOGIC, 0, 0, 0b0001);
set("crxor", C_CRLOGIC, 0, 0, 0b0110);
set("creqv", C_CRLOGIC, 0, 0, 0b1001);
set("crandc", C_CRLOGIC, 0, 0, 0b0100);
set("crorc", C_CRLOGIC, 0, 0, 0b1101);
set("mcrf", C_MCRF);
set("mfocrf", C_MFOCRF);
set("mtcrf mtocrf", C_MTCRF);
set("tw", C_TRAP, 4, F_INDEXED);
set("td", C_TRAP, 8, F_INDEXED);
set("twi", C_TRAP, 4);
set("tdi", C_TRAP, 8);
// synchronization and cache management: no architected register effect in this model
set("eieio wait dcbt dcbtst dcbf dcbst icbi icbt", C_NOP);
set("dcbz", C_DCBZ);
set("copy", C_COPY);
set("paste.", C_PASTE);
set("cp_abort", C_CPABORT);
// storage control: privileged; no MMU is modelled (README "Not modelled")
set("slbie slbia slbmte slbsync slbiag", C_PRIV_NOP);
set("tlbie tlbiel tlbsync", C_PRIV_NOP, 0, F_HVPRIV);
set("slbmfev slbmfee", C_SLBMF);
set("slbfee.", C_SLBFEE);
set("darn", C_DARN);
set("scv", C_SCV);
set("rfscv", C_RFSCV);
set("rfebb", C_RFEBB);
