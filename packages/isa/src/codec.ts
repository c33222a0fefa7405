// Instruction codec for the modelled subset: decode(word) -> Insn, encode(insn) -> word and
// disassemble(word, address) -> the text GNU objdump -d -Mpower9 prints (binutils 2.40), checked
// against the real tool by fixtures/make-binutils.sh and codec.test.ts.

import * as A from "./asm.js";
import { EncodeError } from "./asm.js";
import {
  fBD,
  fBH,
  fBI,
  fBO,
  fDS,
  fLEV,
  fLI,
  fME6,
  fMtmsrdL,
  fRA,
  fRB,
  fRT,
  fSH6,
  fSI,
  fSPR,
  fSyncL,
  fUI,
  identify,
  OP_ADD,
  OP_ADDI,
  OP_ADDIS,
  OP_AND,
  OP_ATTN,
  OP_B,
  OP_BC,
  OP_BCCTR,
  OP_BCLR,
  OP_CMP,
  OP_CMPI,
  OP_CMPL,
  OP_CMPLI,
  OP_HRFID,
  OP_ISYNC,
  OP_LD,
  OP_LWZ,
  OP_MFCR,
  OP_MFMSR,
  OP_MFSPR,
  OP_MSGCLR,
  OP_MSGCLRP,
  OP_MSGSND,
  OP_MSGSNDP,
  OP_MTMSRD,
  OP_MTSPR,
  OP_OR,
  OP_ORI,
  OP_ORIS,
  OP_RFID,
  OP_RLDICR,
  OP_SC,
  OP_STD,
  OP_STOP,
  OP_STW,
  OP_SUBF,
  OP_SYNC,
  OP_XOR,
} from "./insn.js";

export type Insn =
  | { readonly op: "invalid"; readonly word: number }
  | { readonly op: "stop" | "rfid" | "hrfid" | "isync" | "attn" }
  | { readonly op: "sc"; readonly lev: number }
  | { readonly op: "addi" | "addis"; readonly rt: number; readonly ra: number; readonly si: number }
  | { readonly op: "ori" | "oris"; readonly ra: number; readonly rs: number; readonly ui: number }
  | {
      readonly op: "or" | "and" | "xor";
      readonly ra: number;
      readonly rs: number;
      readonly rb: number;
      readonly rc: number;
    }
  | {
      readonly op: "add" | "subf";
      readonly rt: number;
      readonly ra: number;
      readonly rb: number;
      readonly rc: number;
    }
  | {
      readonly op: "rldicr";
      readonly ra: number;
      readonly rs: number;
      readonly sh: number;
      readonly me: number;
      readonly rc: number;
    }
  | {
      readonly op: "cmp" | "cmpl";
      readonly bf: number;
      readonly l: number;
      readonly ra: number;
      readonly rb: number;
    }
  | { readonly op: "cmpi"; readonly bf: number; readonly l: number; readonly ra: number; readonly si: number }
  | {
      readonly op: "cmpli";
      readonly bf: number;
      readonly l: number;
      readonly ra: number;
      readonly ui: number;
    }
  | { readonly op: "b"; readonly disp: number; readonly aa: number; readonly lk: number }
  | {
      readonly op: "bc";
      readonly bo: number;
      readonly bi: number;
      readonly disp: number;
      readonly aa: number;
      readonly lk: number;
    }
  | {
      readonly op: "bclr" | "bcctr";
      readonly bo: number;
      readonly bi: number;
      readonly bh: number;
      readonly lk: number;
    }
  | { readonly op: "mfspr"; readonly rt: number; readonly spr: number }
  | { readonly op: "mtspr"; readonly spr: number; readonly rs: number }
  | { readonly op: "mtmsrd"; readonly rs: number; readonly l: number }
  | { readonly op: "mfmsr" | "mfcr"; readonly rt: number }
  | { readonly op: "msgsnd" | "msgclr" | "msgsndp" | "msgclrp"; readonly rb: number }
  | { readonly op: "sync"; readonly l: number }
  | { readonly op: "lwz" | "stw"; readonly rt: number; readonly ra: number; readonly d: number }
  | { readonly op: "ld" | "std"; readonly rt: number; readonly ra: number; readonly ds: number };

export type InsnOp = Insn["op"];

/** Decodes a 32-bit word. Words outside the modelled subset decode to { op: "invalid", word }. */
export function decode(word: number): Insn {
  if (typeof word !== "number" || !Number.isInteger(word) || word < -0x80000000 || word > 0xffffffff) {
    throw new EncodeError(`instruction word must be a 32-bit integer, got ${String(word)}`);
  }
  const w = word >>> 0;
  switch (identify(w)) {
    case OP_STOP:
      return { op: "stop" };
    case OP_RFID:
      return { op: "rfid" };
    case OP_HRFID:
      return { op: "hrfid" };
    case OP_ISYNC:
      return { op: "isync" };
    case OP_ATTN:
      return { op: "attn" };
    case OP_SC:
      return { op: "sc", lev: fLEV(w) };
    case OP_ADDI:
      return { op: "addi", rt: fRT(w), ra: fRA(w), si: fSI(w) };
    case OP_ADDIS:
      return { op: "addis", rt: fRT(w), ra: fRA(w), si: fSI(w) };
    case OP_ORI:
      return { op: "ori", ra: fRA(w), rs: fRT(w), ui: fUI(w) };
    case OP_ORIS:
      return { op: "oris", ra: fRA(w), rs: fRT(w), ui: fUI(w) };
    case OP_OR:
      return { op: "or", ra: fRA(w), rs: fRT(w), rb: fRB(w), rc: w & 1 };
    case OP_AND:
      return { op: "and", ra: fRA(w), rs: fRT(w), rb: fRB(w), rc: w & 1 };
    case OP_XOR:
      return { op: "xor", ra: fRA(w), rs: fRT(w), rb: fRB(w), rc: w & 1 };
    case OP_ADD:
      return { op: "add", rt: fRT(w), ra: fRA(w), rb: fRB(w), rc: w & 1 };
    case OP_SUBF:
      return { op: "subf", rt: fRT(w), ra: fRA(w), rb: fRB(w), rc: w & 1 };
    case OP_RLDICR:
      return { op: "rldicr", ra: fRA(w), rs: fRT(w), sh: fSH6(w), me: fME6(w), rc: w & 1 };
    case OP_CMP:
      return { op: "cmp", bf: (w >>> 23) & 7, l: (w >>> 21) & 1, ra: fRA(w), rb: fRB(w) };
    case OP_CMPL:
      return { op: "cmpl", bf: (w >>> 23) & 7, l: (w >>> 21) & 1, ra: fRA(w), rb: fRB(w) };
    case OP_CMPI:
      return { op: "cmpi", bf: (w >>> 23) & 7, l: (w >>> 21) & 1, ra: fRA(w), si: fSI(w) };
    case OP_CMPLI:
      return { op: "cmpli", bf: (w >>> 23) & 7, l: (w >>> 21) & 1, ra: fRA(w), ui: fUI(w) };
    case OP_B:
      return { op: "b", disp: fLI(w), aa: (w >>> 1) & 1, lk: w & 1 };
    case OP_BC:
      return { op: "bc", bo: fBO(w), bi: fBI(w), disp: fBD(w), aa: (w >>> 1) & 1, lk: w & 1 };
    case OP_BCLR:
      return { op: "bclr", bo: fBO(w), bi: fBI(w), bh: fBH(w), lk: w & 1 };
    case OP_BCCTR:
      return { op: "bcctr", bo: fBO(w), bi: fBI(w), bh: fBH(w), lk: w & 1 };
    case OP_MFSPR:
      return { op: "mfspr", rt: fRT(w), spr: fSPR(w) };
    case OP_MTSPR:
      return { op: "mtspr", spr: fSPR(w), rs: fRT(w) };
    case OP_MTMSRD:
      return { op: "mtmsrd", rs: fRT(w), l: fMtmsrdL(w) };
    case OP_MFMSR:
      return { op: "mfmsr", rt: fRT(w) };
    case OP_MFCR:
      return { op: "mfcr", rt: fRT(w) };
    case OP_MSGSND:
      return { op: "msgsnd", rb: fRB(w) };
    case OP_MSGCLR:
      return { op: "msgclr", rb: fRB(w) };
    case OP_MSGSNDP:
      return { op: "msgsndp", rb: fRB(w) };
    case OP_MSGCLRP:
      return { op: "msgclrp", rb: fRB(w) };
    case OP_SYNC:
      return { op: "sync", l: fSyncL(w) };
    case OP_LWZ:
      return { op: "lwz", rt: fRT(w), ra: fRA(w), d: fSI(w) };
    case OP_STW:
      return { op: "stw", rt: fRT(w), ra: fRA(w), d: fSI(w) };
    case OP_LD:
      return { op: "ld", rt: fRT(w), ra: fRA(w), ds: fDS(w) };
    case OP_STD:
      return { op: "std", rt: fRT(w), ra: fRA(w), ds: fDS(w) };
    default:
      return { op: "invalid", word: w };
  }
}

/** Encodes an instruction; throws EncodeError for out-of-range fields or invalid forms. */
export function encode(insn: Insn): number {
  let w: number;
  switch (insn.op) {
    case "invalid":
      throw new EncodeError(`cannot encode an invalid instruction (word 0x${insn.word.toString(16)})`);
    case "stop":
      return A.STOP;
    case "rfid":
      return A.RFID;
    case "hrfid":
      return A.HRFID;
    case "isync":
      return A.ISYNC;
    case "attn":
      return A.ATTN;
    case "sc":
      if (!Number.isInteger(insn.lev) || insn.lev < 0 || insn.lev > 127) {
        throw new EncodeError(`sc LEV must be 0..127, got ${String(insn.lev)}`);
      }
      return (0x44000002 | (insn.lev << 5)) >>> 0;
    case "addi":
      return A.addi(insn.rt, insn.ra, insn.si);
    case "addis":
      return A.addis(insn.rt, insn.ra, insn.si);
    case "ori":
      return A.ori(insn.ra, insn.rs, insn.ui);
    case "oris":
      return A.oris(insn.ra, insn.rs, insn.ui);
    case "or":
      return A.or(insn.ra, insn.rs, insn.rb, insn.rc);
    case "and":
      return A.and(insn.ra, insn.rs, insn.rb, insn.rc);
    case "xor":
      return A.xor(insn.ra, insn.rs, insn.rb, insn.rc);
    case "add":
      return A.add(insn.rt, insn.ra, insn.rb, insn.rc);
    case "subf":
      return A.subf(insn.rt, insn.ra, insn.rb, insn.rc);
    case "rldicr":
      return A.rldicr(insn.ra, insn.rs, insn.sh, insn.me, insn.rc);
    case "cmp":
      return A.cmp(insn.bf, insn.l, insn.ra, insn.rb);
    case "cmpl":
      return A.cmpl(insn.bf, insn.l, insn.ra, insn.rb);
    case "cmpi":
      return A.cmpi(insn.bf, insn.l, insn.ra, insn.si);
    case "cmpli":
      return A.cmpli(insn.bf, insn.l, insn.ra, insn.ui);
    case "b":
      return A.b(insn.disp, insn.aa, insn.lk);
    case "bc":
      w = A.bc(insn.bo, insn.bi, insn.disp, insn.aa, insn.lk);
      break;
    case "bclr":
      w = A.bclr(insn.bo, insn.bi, insn.bh, insn.lk);
      break;
    case "bcctr":
      w = A.bcctr(insn.bo, insn.bi, insn.bh, insn.lk);
      break;
    case "mfspr":
      return A.mfspr(insn.rt, insn.spr);
    case "mtspr":
      return A.mtspr(insn.spr, insn.rs);
    case "mtmsrd":
      return A.mtmsrd(insn.rs, insn.l);
    case "mfmsr":
      return A.mfmsr(insn.rt);
    case "mfcr":
      return A.mfcr(insn.rt);
    case "msgsnd":
      return A.msgsnd(insn.rb);
    case "msgclr":
      return A.msgclr(insn.rb);
    case "msgsndp":
      return A.msgsndp(insn.rb);
    case "msgclrp":
      return A.msgclrp(insn.rb);
    case "sync":
      if (insn.l === 3) throw new EncodeError("sync L=3 is reserved");
      return A.sync(insn.l);
    case "lwz":
      return A.lwz(insn.rt, insn.d, insn.ra);
    case "stw":
      return A.stw(insn.rt, insn.d, insn.ra);
    case "ld":
      return A.ld(insn.rt, insn.ds, insn.ra);
    case "std":
      return A.std(insn.rt, insn.ds, insn.ra);
    default: {
      const never: never = insn;
      throw new EncodeError(`unknown instruction ${JSON.stringify(never)}`);
    }
  }
  if (identify(w) === 0) {
    throw new EncodeError(`${insn.op} with BO=${insn.bo} BI=${insn.bi} is a reserved (invalid) form`);
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// Disassembly in GNU objdump's syntax (-Mpower9)
// ---------------------------------------------------------------------------------------------

/** SPR extended mnemonics objdump prints for mfspr (spr -> name). */
const MF_NAMES: Readonly<Record<number, string>> = {
  1: "mfxer",
  3: "mfudscr",
  4: "mfrtcu",
  5: "mfrtcl",
  8: "mflr",
  9: "mfctr",
  13: "mfuamr",
  17: "mfdscr",
  18: "mfdsisr",
  19: "mfdar",
  22: "mfdec",
  25: "mfsdr1",
  26: "mfsrr0",
  27: "mfsrr1",
  28: "mfcfar",
  29: "mfamr",
  136: "mfctrl",
  157: "mfuamor",
  256: "mfvrsave",
  268: "mftb",
  269: "mftbu",
  280: "mfasr",
  282: "mfear",
  287: "mfpvr",
  336: "mfhmer",
  337: "mfhmeer",
  349: "mfamor",
  769: "mfummcr2",
  770: "mfummcra",
  771: "mfupmc1",
  772: "mfupmc2",
  773: "mfupmc3",
  774: "mfupmc4",
  775: "mfupmc5",
  776: "mfupmc6",
  779: "mfummcr0",
  780: "mfusiar",
  781: "mfusdar",
  782: "mfummcr1",
  800: "mfbescrs",
  801: "mfbescrsu",
  802: "mfbescrr",
  803: "mfbescrru",
  804: "mfebbhr",
  805: "mfebbrr",
  806: "mfbescr",
  815: "mftar",
  848: "mfic",
  849: "mfvtb",
  896: "mfppr",
  898: "mfppr32",
};

/** SPR extended mnemonics objdump prints for mtspr. */
const MT_NAMES: Readonly<Record<number, string>> = {
  1: "mtxer",
  3: "mtudscr",
  8: "mtlr",
  9: "mtctr",
  13: "mtuamr",
  17: "mtdscr",
  18: "mtdsisr",
  19: "mtdar",
  20: "mtrtcu",
  21: "mtrtcl",
  22: "mtdec",
  25: "mtsdr1",
  26: "mtsrr0",
  27: "mtsrr1",
  28: "mtcfar",
  29: "mtamr",
  128: "mttfhar",
  129: "mttfiar",
  130: "mttexasr",
  131: "mttexasru",
  152: "mtctrl",
  157: "mtuamor",
  256: "mtvrsave",
  280: "mtasr",
  282: "mtear",
  284: "mttbl",
  285: "mttbu",
  336: "mthmer",
  337: "mthmeer",
  349: "mtamor",
  769: "mtummcr2",
  770: "mtummcra",
  771: "mtupmc1",
  772: "mtupmc2",
  773: "mtupmc3",
  774: "mtupmc4",
  775: "mtupmc5",
  776: "mtupmc6",
  779: "mtummcr0",
  786: "mtmmcra",
  787: "mtpmc1",
  788: "mtpmc2",
  789: "mtpmc3",
  790: "mtpmc4",
  791: "mtpmc5",
  792: "mtpmc6",
  795: "mtmmcr0",
  798: "mtmmcr1",
  800: "mtbescrs",
  801: "mtbescrsu",
  802: "mtbescrr",
  803: "mtbescrru",
  804: "mtebbhr",
  805: "mtebbrr",
  806: "mtbescr",
  815: "mttar",
  848: "mtic",
  849: "mtvtb",
  896: "mtppr",
  898: "mtppr32",
};

/** Indexed SPR mnemonics: mfsprg rT,N / mtsprg N,rS and the BAT registers. */
function indexedSpr(spr: number): { name: string; n: number } | null {
  if (spr >= 272 && spr <= 275) return { name: "sprg", n: spr - 272 };
  if (spr >= 528 && spr <= 535) return { name: spr & 1 ? "ibatl" : "ibatu", n: (spr - 528) >> 1 };
  if (spr >= 536 && spr <= 543) return { name: spr & 1 ? "dbatl" : "dbatu", n: (spr - 536) >> 1 };
  return null;
}

/** `or Rx,Rx,Rx` forms objdump prints by name (the rest print as mr). */
const OR_HINTS: Readonly<Record<number, string>> = { 26: "miso", 27: "yield", 29: "mdoio", 30: "mdoom" };

const CR_BIT = ["lt", "gt", "eq", "so"];
const COND_TRUE = ["lt", "gt", "eq", "so"];
const COND_FALSE = ["ge", "le", "ne", "ns"];

const r = (n: number): string => `r${n}`;
const crbit = (bi: number): string => (bi >> 2 === 0 ? CR_BIT[bi & 3] : `4*cr${bi >> 2}+${CR_BIT[bi & 3]}`);

function fmt(name: string, ops: string): string {
  return ops === "" ? name : `${name.padEnd(7)} ${ops}`;
}

/** Branch target as objdump prints it: 64-bit for relative branches, 32-bit for AA=1. */
function hex(address: bigint, disp: number, absolute: boolean): string {
  const t = absolute ? BigInt.asUintN(32, BigInt(disp)) : BigInt.asUintN(64, address + BigInt(disp));
  return `0x${t.toString(16)}`;
}

/** Mnemonic parts for a conditional branch: [base, hint, operand prefix kind]. */
function condBranch(
  bo: number,
  bi: number,
  kind: "bc" | "lr" | "ctr",
): { name: string; hint: string; ops: "none" | "cr" | "crbit" | "raw" } {
  if (bo === 20)
    return bi === 0 && kind !== "bc"
      ? { name: "b", hint: "", ops: "none" }
      : { name: "bc", hint: "", ops: "raw" };
  if ((bo & 0x14) === 0x04) {
    // branch on condition only (BO = 001at / 011at)
    const names = bo & 8 ? COND_TRUE : COND_FALSE;
    const at = bo & 3;
    return { name: `b${names[bi & 3]}`, hint: at === 2 ? "-" : at === 3 ? "+" : "", ops: "cr" };
  }
  if ((bo & 0x14) === 0x00) {
    // decrement CTR and test condition (BO = 0000z / 0001z / 0100z / 0101z)
    const base = `bd${bo & 2 ? "z" : "nz"}${bo & 8 ? "t" : "f"}`;
    if (kind === "ctr") return { name: "bc", hint: "", ops: "raw" };
    return { name: base, hint: "", ops: "crbit" };
  }
  // BO = 1a00t / 1a01t: decrement CTR only
  const at = ((bo >> 2) & 2) | (bo & 1);
  const hint = (bo & 8) === 0 ? "" : at === 2 ? "-" : "+";
  if (bi === 0 && kind !== "ctr") return { name: `bd${bo & 2 ? "z" : "nz"}`, hint, ops: "none" };
  return { name: "bc", hint, ops: "raw" };
}

/**
 * The text GNU objdump -d -Mpower9 prints for `word` at `address` (mnemonic, padded to 7
 * columns, a space and the operands). Branch targets are absolute, as objdump prints them.
 * Invalid words print as `.long 0x...`.
 */
export function disassemble(word: number, address: number | bigint = 0): string {
  const insn = decode(word);
  const addr = BigInt(address);
  switch (insn.op) {
    case "invalid":
      return `.long 0x${insn.word.toString(16)}`;
    case "stop":
    case "rfid":
    case "hrfid":
    case "isync":
    case "attn":
      return insn.op;
    case "sc":
      return insn.lev === 0 ? "sc" : fmt("sc", String(insn.lev));
    case "addi":
      return insn.ra === 0
        ? fmt("li", `${r(insn.rt)},${insn.si}`)
        : fmt("addi", `${r(insn.rt)},${r(insn.ra)},${insn.si}`);
    case "addis":
      return insn.ra === 0
        ? fmt("lis", `${r(insn.rt)},${insn.si}`)
        : fmt("addis", `${r(insn.rt)},${r(insn.ra)},${insn.si}`);
    case "ori":
      if (insn.ra === 0 && insn.rs === 0 && insn.ui === 0) return "nop";
      return fmt("ori", `${r(insn.ra)},${r(insn.rs)},${insn.ui}`);
    case "oris":
      return fmt("oris", `${r(insn.ra)},${r(insn.rs)},${insn.ui}`);
    case "or": {
      const dot = insn.rc ? "." : "";
      if (insn.rs === insn.rb) {
        const hint = OR_HINTS[insn.rs];
        if (!insn.rc && insn.rs === insn.ra && hint !== undefined) return hint;
        return fmt(`mr${dot}`, `${r(insn.ra)},${r(insn.rs)}`);
      }
      return fmt(`or${dot}`, `${r(insn.ra)},${r(insn.rs)},${r(insn.rb)}`);
    }
    case "and":
    case "xor":
      return fmt(`${insn.op}${insn.rc ? "." : ""}`, `${r(insn.ra)},${r(insn.rs)},${r(insn.rb)}`);
    case "add":
    case "subf":
      return fmt(`${insn.op}${insn.rc ? "." : ""}`, `${r(insn.rt)},${r(insn.ra)},${r(insn.rb)}`);
    case "rldicr": {
      const dot = insn.rc ? "." : "";
      if (insn.sh === 0) return fmt(`clrrdi${dot}`, `${r(insn.ra)},${r(insn.rs)},${63 - insn.me}`);
      if (insn.me === 63 - insn.sh) return fmt(`sldi${dot}`, `${r(insn.ra)},${r(insn.rs)},${insn.sh}`);
      return fmt(`rldicr${dot}`, `${r(insn.ra)},${r(insn.rs)},${insn.sh},${insn.me}`);
    }
    case "cmp":
    case "cmpl": {
      const name = `${insn.op}${insn.l ? "d" : "w"}`;
      return fmt(name, `${insn.bf ? `cr${insn.bf},` : ""}${r(insn.ra)},${r(insn.rb)}`);
    }
    case "cmpi":
      return fmt(`cmp${insn.l ? "d" : "w"}i`, `${insn.bf ? `cr${insn.bf},` : ""}${r(insn.ra)},${insn.si}`);
    case "cmpli":
      return fmt(`cmpl${insn.l ? "d" : "w"}i`, `${insn.bf ? `cr${insn.bf},` : ""}${r(insn.ra)},${insn.ui}`);
    case "b":
      return fmt(`b${insn.lk ? "l" : ""}${insn.aa ? "a" : ""}`, hex(addr, insn.disp, insn.aa === 1));
    case "bc": {
      const c = condBranch(insn.bo, insn.bi, "bc");
      const name = `${c.name}${insn.lk ? "l" : ""}${insn.aa ? "a" : ""}${c.hint}`;
      const target = hex(addr, insn.disp, insn.aa === 1);
      if (c.ops === "none") return fmt(name, target);
      if (c.ops === "cr") return fmt(name, `${insn.bi >> 2 ? `cr${insn.bi >> 2},` : ""}${target}`);
      if (c.ops === "crbit") return fmt(name, `${crbit(insn.bi)},${target}`);
      return fmt(name, `${insn.bo},${crbit(insn.bi)},${target}`);
    }
    case "bclr":
    case "bcctr": {
      const kind = insn.op === "bclr" ? "lr" : "ctr";
      const c = condBranch(insn.bo, insn.bi, kind);
      const bh = insn.bh ? `,${insn.bh}` : "";
      if (c.ops === "raw") {
        return fmt(`${insn.op}${insn.lk ? "l" : ""}${c.hint}`, `${insn.bo},${crbit(insn.bi)}${bh}`);
      }
      const name = `${c.name}${kind}${insn.lk ? "l" : ""}${c.hint}`;
      if (c.ops === "none") return fmt(name, insn.bh ? String(insn.bh) : "");
      if (c.ops === "cr") {
        const cr = insn.bi >> 2;
        return fmt(name, cr || insn.bh ? `cr${cr}${bh}` : "");
      }
      return fmt(name, `${crbit(insn.bi)}${bh}`);
    }
    case "mfspr": {
      const named = MF_NAMES[insn.spr];
      if (named !== undefined) return fmt(named, r(insn.rt));
      const idx = indexedSpr(insn.spr);
      if (idx !== null) return fmt(`mf${idx.name}`, `${r(insn.rt)},${idx.n}`);
      return fmt("mfspr", `${r(insn.rt)},${insn.spr}`);
    }
    case "mtspr": {
      const named = MT_NAMES[insn.spr];
      if (named !== undefined) return fmt(named, r(insn.rs));
      const idx = indexedSpr(insn.spr);
      if (idx !== null) return fmt(`mt${idx.name}`, `${idx.n},${r(insn.rs)}`);
      return fmt("mtspr", `${insn.spr},${r(insn.rs)}`);
    }
    case "mtmsrd":
      return fmt("mtmsrd", insn.l ? `${r(insn.rs)},1` : r(insn.rs));
    case "mfmsr":
    case "mfcr":
      return fmt(insn.op, r(insn.rt));
    case "msgsnd":
    case "msgclr":
    case "msgsndp":
    case "msgclrp":
      return fmt(insn.op, r(insn.rb));
    case "sync":
      return ["hwsync", "lwsync", "ptesync"][insn.l] ?? `.long 0x${(word >>> 0).toString(16)}`;
    case "lwz":
    case "stw":
      return fmt(insn.op, `${r(insn.rt)},${insn.d}(${insn.ra === 0 ? "0" : r(insn.ra)})`);
    case "ld":
    case "std":
      return fmt(insn.op, `${r(insn.rt)},${insn.ds}(${insn.ra === 0 ? "0" : r(insn.ra)})`);
    default: {
      const never: never = insn;
      return String(never);
    }
  }
}
