// Instruction codec over the table of src/opcodes.ts: decode(word) -> Insn, encode(insn) -> word
// and disassemble(word, address, { dialect }) -> the text GNU objdump 2.40 prints, in its
// default dialect (`objdump -d`) or with `-Mpower9`. Checked against the real tool by
// fixtures/make-binutils.sh, fixtures/make-random.mjs, fixtures/make-kernel.sh and codec.test.ts.

import { EncodeError } from "./asm.js";
import {
  type FieldDef,
  FORM_BY_NAME,
  FORMS,
  type Form,
  identify,
  K_CRBIT,
  K_CRF,
  K_DISP,
  K_NB,
  K_RA0,
  K_REG,
  K_TARGET,
} from "./opcodes.js";

/**
 * A decoded instruction: `op` is the base mnemonic of src/opcodes.ts (without the "o", ".",
 * "l" and "a" suffixes, which are the fields `oe`, `rc`, `lk`, `aa`), the other keys its
 * fields by their ISA names (rt, ra, rb, rs, si, ui, d, ds, bo, bi, disp, sh, mb, me, spr ...).
 * Words outside the table decode to `{ op: "invalid", word }`.
 */
export interface Insn {
  readonly op: string;
  readonly [field: string]: number | string;
}

export type InsnOp = string;

/** objdump's disassembler dialects: `objdump -d` ("default") and `objdump -d -Mpower9`. */
export type Dialect = "default" | "power9";

export interface DisassembleOptions {
  /** Default "power9" (`-Mpower9`); "default" is plain `objdump -d` (POWER10 + any). */
  readonly dialect?: Dialect;
}

function checkWord(word: number): number {
  if (typeof word !== "number" || !Number.isInteger(word) || word < -0x80000000 || word > 0xffffffff) {
    throw new EncodeError(`instruction word must be a 32-bit integer, got ${String(word)}`);
  }
  return word >>> 0;
}

/** Decodes a 32-bit word. Words outside the table decode to { op: "invalid", word }. */
export function decode(word: number): Insn {
  const w = checkWord(word);
  const id = identify(w);
  if (id === 0) return { op: "invalid", word: w };
  const f = FORMS[id];
  const out: Record<string, number | string> = { op: f.name };
  for (const fd of f.fields) out[fd.name] = fd.get(w);
  return out as Insn;
}

/** The form of `op`, or EncodeError naming the problem. */
export function formOf(op: string): Form {
  const f = FORM_BY_NAME.get(op);
  if (f === undefined) {
    throw new EncodeError(
      `unknown instruction "${op}": use a base mnemonic of the table (e.g. "rlwinm", not "slwi"; "add" with oe/rc fields, not "addo.")`,
    );
  }
  return f;
}

const SUFFIX_FIELDS = new Set(["rc", "oe", "lk", "aa"]);

/** Encodes an instruction; throws EncodeError for unknown ops, missing or out-of-range fields. */
export function encode(insn: Insn): number {
  if (insn.op === "invalid") {
    throw new EncodeError(`cannot encode an invalid instruction (word 0x${Number(insn.word).toString(16)})`);
  }
  const f = formOf(insn.op);
  const known = new Set(f.fields.map((x) => x.name));
  for (const k of Object.keys(insn)) {
    if (k !== "op" && !known.has(k)) {
      throw new EncodeError(
        `${insn.op} has no field "${k}"; its fields are ${[...known].join(", ") || "(none)"}`,
      );
    }
  }
  let w = f.opcode;
  for (const fd of f.fields) {
    let v = insn[fd.name];
    const operand = f.operands.find((o) => o.field === fd);
    if (v === undefined) {
      // suffix fields default to 0, optional operands to the value objdump leaves out
      if (SUFFIX_FIELDS.has(fd.name)) continue;
      if (operand === undefined || !operand.optional)
        throw new EncodeError(`${insn.op} needs field "${fd.name}"`);
      v = operand.defaultValue;
    }
    if (typeof v !== "number" || !Number.isInteger(v) || v < fd.min || v > fd.max || v % fd.step !== 0) {
      throw new EncodeError(
        `${insn.op} ${fd.name} must be an integer in ${fd.min}..${fd.max}${fd.step > 1 ? ` (a multiple of ${fd.step})` : ""}, got ${String(v)}`,
      );
    }
    w = (w | fd.put(v)) >>> 0;
  }
  if (identify(w) !== f.id) {
    throw new EncodeError(
      `${insn.op} with these fields is a reserved (invalid) form (word 0x${w.toString(16)})`,
    );
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// Disassembly in GNU objdump's syntax
// ---------------------------------------------------------------------------------------------

// SPR extended mnemonics GNU objdump 2.40 prints for mfspr/mtspr ("spr:name" or "spr:name/N" for
// the indexed forms mfsprg rT,N / mtsprg N,rS), gathered by disassembling every SPR number with
// both dialects (fixtures/make-binutils.sh checks them). The default dialect knows every -Mpower9
// name plus the second list.
const MF_P9 =
  "1:xer 3:udscr 4:rtcu 5:rtcl 8:lr 9:ctr 13:uamr 17:dscr 18:dsisr 19:dar 22:dec 25:sdr1 26:srr0 27:srr1 28:cfar 29:amr 136:ctrl 157:uamor 256:vrsave 268:tb 269:tbu 272:sprg/0 273:sprg/1 274:sprg/2 275:sprg/3 280:asr 282:ear 287:pvr 336:hmer 337:hmeer 349:amor 528:ibatu/0 529:ibatl/0 530:ibatu/1 531:ibatl/1 532:ibatu/2 533:ibatl/2 534:ibatu/3 535:ibatl/3 536:dbatu/0 537:dbatl/0 538:dbatu/1 539:dbatl/1 540:dbatu/2 541:dbatl/2 542:dbatu/3 543:dbatl/3 769:ummcr2 770:ummcra 771:upmc1 772:upmc2 773:upmc3 774:upmc4 775:upmc5 776:upmc6 779:ummcr0 780:usiar 781:usdar 782:ummcr1 800:bescrs 801:bescrsu 802:bescrr 803:bescrru 804:ebbhr 805:ebbrr 806:bescr 815:tar 848:ic 849:vtb 896:ppr 898:ppr32";
const MF_DEFAULT =
  "48:pidr 61:iamr 153:fscr 159:pspb 176:dpdes 180:dawr0 181:dawr1 186:rpr 187:ciabr 188:dawrx0 189:dawrx1 190:hfscr 259:usprg3 304:hsprg0 305:hsprg1 306:hdisr 307:hdar 308:spurr 309:purr 310:hdec 313:hrmor 314:hsrr0 315:hsrr1 318:lpcr 319:lpidr 338:pcr 339:heir 446:tir 464:ptcr 496:usprg0 497:usprg1 505:urmor 506:usrr0 507:usrr1 511:smfctrl 736:usier2 737:usier3 738:ummcr3 768:usier 816:asdr 823:psscr 855:hpsscr 1023:pir";
const MT_P9 =
  "1:xer 3:udscr 8:lr 9:ctr 13:uamr 17:dscr 18:dsisr 19:dar 20:rtcu 21:rtcl 22:dec 25:sdr1 26:srr0 27:srr1 28:cfar 29:amr 128:tfhar 129:tfiar 130:texasr 131:texasru 152:ctrl 157:uamor 256:vrsave 272:sprg/0 273:sprg/1 274:sprg/2 275:sprg/3 280:asr 282:ear 284:tbl 285:tbu 336:hmer 337:hmeer 349:amor 528:ibatu/0 529:ibatl/0 530:ibatu/1 531:ibatl/1 532:ibatu/2 533:ibatl/2 534:ibatu/3 535:ibatl/3 536:dbatu/0 537:dbatl/0 538:dbatu/1 539:dbatl/1 540:dbatu/2 541:dbatl/2 542:dbatu/3 543:dbatl/3 769:ummcr2 770:ummcra 771:upmc1 772:upmc2 773:upmc3 774:upmc4 775:upmc5 776:upmc6 779:ummcr0 786:mmcra 787:pmc1 788:pmc2 789:pmc3 790:pmc4 791:pmc5 792:pmc6 795:mmcr0 798:mmcr1 800:bescrs 801:bescrsu 802:bescrr 803:bescrru 804:ebbhr 805:ebbrr 806:bescr 815:tar 848:ic 849:vtb 896:ppr 898:ppr32";
const MT_DEFAULT =
  "48:pidr 61:iamr 153:fscr 159:pspb 176:dpdes 180:dawr0 181:dawr1 186:rpr 187:ciabr 188:dawrx0 189:dawrx1 190:hfscr 286:tbu40 304:hsprg0 305:hsprg1 306:hdisr 307:hdar 308:spurr 309:purr 310:hdec 313:hrmor 314:hsrr0 315:hsrr1 318:lpcr 319:lpidr 338:pcr 339:heir 464:ptcr 496:usprg0 497:usprg1 505:urmor 506:usrr0 507:usrr1 511:smfctrl 752:sier2 753:sier3 754:mmcr3 784:sier 796:siar 797:sdar 816:asdr 823:psscr 855:hpsscr";

function sprNames(...lists: string[]): ReadonlyMap<number, string> {
  const m = new Map<number, string>();
  for (const list of lists) {
    for (const e of list.split(" ")) {
      const i = e.indexOf(":");
      m.set(Number(e.slice(0, i)), e.slice(i + 1));
    }
  }
  return m;
}
const MF_NAMES_P9 = sprNames(MF_P9);
const MF_NAMES_DEFAULT = sprNames(MF_P9, MF_DEFAULT);
const MT_NAMES_P9 = sprNames(MT_P9);
const MT_NAMES_DEFAULT = sprNames(MT_P9, MT_DEFAULT);

/** `or Rx,Rx,Rx` forms objdump prints by name (the rest print as mr). */
const OR_HINTS: Readonly<Record<number, string>> = { 26: "miso", 27: "yield", 29: "mdoio", 30: "mdoom" };

const CR_BIT = ["lt", "gt", "eq", "so"];
const COND_TRUE = ["lt", "gt", "eq", "so"];
const COND_FALSE = ["ge", "le", "ne", "ns"];
/** Trap conditions by TO value (objdump's tw/td/twi/tdi extended mnemonics). */
const TO_NAMES: Readonly<Record<number, string>> = {
  1: "lgt",
  2: "llt",
  4: "eq",
  5: "lge",
  6: "lle",
  8: "gt",
  12: "ge",
  16: "lt",
  20: "le",
  24: "ne",
  31: "u",
};

const r = (n: number): string => `r${n}`;
const crbit = (bi: number): string => (bi >> 2 === 0 ? CR_BIT[bi & 3] : `4*cr${bi >> 2}+${CR_BIT[bi & 3]}`);

function fmt(name: string, ops: string): string {
  return ops === "" ? name : `${name.padEnd(7)} ${ops}`;
}

/** Branch target as objdump prints it: 64-bit for relative branches, 32-bit for AA=1. */
function target(address: bigint, disp: number, absolute: boolean): string {
  const t = absolute ? BigInt.asUintN(32, BigInt(disp)) : BigInt.asUintN(64, address + BigInt(disp));
  return `0x${t.toString(16)}`;
}

/** Mnemonic parts for a conditional branch: [base, hint, operand prefix kind]. */
function condBranch(
  bo: number,
  bi: number,
  kind: "bc" | "lr" | "ctr" | "tar",
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

type Fields = Readonly<Record<string, number>>;

function fieldsOf(f: Form, w: number): Fields {
  const out: Record<string, number> = {};
  for (const fd of f.fields) out[fd.name] = fd.get(w);
  return out;
}

/** The base form's text: mnemonic with suffixes and every operand (trailing optional zeros omitted). */
function baseText(f: Form, x: Fields, address: bigint, name = f.name): string {
  let mn = name;
  if (f.oe && x.oe) mn += "o";
  if (f.rc && x.rc) mn += ".";
  if (f.lk && x.lk) mn += "l";
  if (f.aa && x.aa) mn += "a";
  const parts: string[] = [];
  const ops = f.operands;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i];
    const v = x[o.field.name];
    // objdump leaves out an optional operand when it and every later optional operand hold
    // their default value
    if (o.optional && ops.slice(i).every((p) => !p.optional || x[p.field.name] === p.defaultValue)) continue;
    switch (o.kind) {
      case K_NB:
        parts.push(String(v === 0 ? 32 : v));
        break;
      case K_REG:
        parts.push(r(v));
        break;
      case K_RA0:
        parts.push(v === 0 ? "0" : r(v));
        break;
      case K_CRF:
        parts.push(`cr${v}`);
        break;
      case K_CRBIT:
        parts.push(crbit(v));
        break;
      case K_TARGET:
        parts.push(target(address, v, f.aa && x.aa === 1));
        break;
      case K_DISP: {
        const base = ops[++i];
        const b = x[base.field.name];
        parts.push(`${v}(${base.kind === K_RA0 && b === 0 ? "0" : r(b)})`);
        break;
      }
      default:
        parts.push(String(v));
    }
  }
  return fmt(mn, parts.join(","));
}

function dot(x: Fields): string {
  return x.rc ? "." : "";
}

/** Extended mnemonics, by base mnemonic; null when the base form prints. */
type Ext = (x: Fields, d: Dialect, address: bigint, f: Form) => string | null;

const trapExt =
  (base: string, imm: boolean): Ext =>
  (x) => {
    if (base === "tw" && !imm && x.to === 31 && x.ra === 0 && x.rb === 0) return "trap";
    const c = TO_NAMES[x.to];
    if (c === undefined) return null;
    return fmt(`${base}${c}${imm ? "i" : ""}`, `${r(x.ra)},${imm ? x.si : r(x.rb)}`);
  };

const cmpExt =
  (base: string, imm: "" | "si" | "ui"): Ext =>
  (x) => {
    const cr = x.bf ? `cr${x.bf},` : "";
    const b = imm === "" ? r(x.rb) : String(x[imm]);
    return fmt(`${base}${x.l ? "d" : "w"}${imm ? "i" : ""}`, `${cr}${r(x.ra)},${b}`);
  };

const branchExt =
  (kind: "lr" | "ctr" | "tar"): Ext =>
  (x) => {
    const c = condBranch(x.bo, x.bi, kind);
    const bh = x.bh ? `,${x.bh}` : "";
    const op = kind === "lr" ? "bclr" : kind === "ctr" ? "bcctr" : "bctar";
    if (c.ops === "raw") return fmt(`${op}${x.lk ? "l" : ""}${c.hint}`, `${x.bo},${crbit(x.bi)}${bh}`);
    const name = `${c.name}${kind}${x.lk ? "l" : ""}${c.hint}`;
    if (c.ops === "none") return fmt(name, x.bh ? String(x.bh) : "");
    if (c.ops === "cr") {
      const cr = x.bi >> 2;
      return fmt(name, cr || x.bh ? `cr${cr}${bh}` : "");
    }
    return fmt(name, `${crbit(x.bi)}${bh}`);
  };

const EXT: Readonly<Record<string, Ext>> = {
  addi: (x) => (x.ra === 0 ? fmt("li", `${r(x.rt)},${x.si}`) : null),
  addis: (x) => (x.ra === 0 ? fmt("lis", `${r(x.rt)},${x.si}`) : null),
  ori: (x) => (x.ra === 0 && x.rs === 0 && x.ui === 0 ? "nop" : null),
  or: (x) => {
    if (x.rs !== x.rb) return null;
    const hint = OR_HINTS[x.rs];
    if (!x.rc && x.rs === x.ra && hint !== undefined) return hint;
    return fmt(`mr${dot(x)}`, `${r(x.ra)},${r(x.rs)}`);
  },
  nor: (x) => (x.rs === x.rb ? fmt(`not${dot(x)}`, `${r(x.ra)},${r(x.rs)}`) : null),
  rlwinm: (x) => {
    if (x.mb === 0 && x.me === 31) return fmt(`rotlwi${dot(x)}`, `${r(x.ra)},${r(x.rs)},${x.sh}`);
    if (x.sh === 0 && x.me === 31) return fmt(`clrlwi${dot(x)}`, `${r(x.ra)},${r(x.rs)},${x.mb}`);
    if (x.sh === 0 && x.mb === 0) return fmt(`clrrwi${dot(x)}`, `${r(x.ra)},${r(x.rs)},${31 - x.me}`);
    if (x.mb === 0 && x.me === 31 - x.sh) return fmt(`slwi${dot(x)}`, `${r(x.ra)},${r(x.rs)},${x.sh}`);
    if (x.me === 31 && x.sh === 32 - x.mb) return fmt(`srwi${dot(x)}`, `${r(x.ra)},${r(x.rs)},${x.mb}`);
    return null;
  },
  rlwnm: (x) =>
    x.mb === 0 && x.me === 31 ? fmt(`rotlw${dot(x)}`, `${r(x.ra)},${r(x.rs)},${r(x.rb)}`) : null,
  rldicl: (x) => {
    if (x.mb === 0) return fmt(`rotldi${dot(x)}`, `${r(x.ra)},${r(x.rs)},${x.sh}`);
    if (x.sh === 0) return fmt(`clrldi${dot(x)}`, `${r(x.ra)},${r(x.rs)},${x.mb}`);
    if (x.mb === 64 - x.sh) return fmt(`srdi${dot(x)}`, `${r(x.ra)},${r(x.rs)},${x.mb}`);
    return null;
  },
  rldicr: (x) => {
    if (x.sh === 0) return fmt(`clrrdi${dot(x)}`, `${r(x.ra)},${r(x.rs)},${63 - x.me}`);
    if (x.me === 63 - x.sh) return fmt(`sldi${dot(x)}`, `${r(x.ra)},${r(x.rs)},${x.sh}`);
    return null;
  },
  rldcl: (x) => (x.mb === 0 ? fmt(`rotld${dot(x)}`, `${r(x.ra)},${r(x.rs)},${r(x.rb)}`) : null),
  cmp: cmpExt("cmp", ""),
  cmpl: cmpExt("cmpl", ""),
  cmpi: cmpExt("cmp", "si"),
  cmpli: cmpExt("cmpl", "ui"),
  tw: trapExt("tw", false),
  td: trapExt("td", false),
  twi: trapExt("tw", true),
  tdi: trapExt("td", true),
  mtcrf: (x) => (x.fxm === 0xff ? fmt("mtcr", r(x.rs)) : null),
  crxor: (x) => (x.bt === x.ba && x.ba === x.bb ? fmt("crclr", crbit(x.bt)) : null),
  creqv: (x) => (x.bt === x.ba && x.ba === x.bb ? fmt("crset", crbit(x.bt)) : null),
  cror: (x) => (x.ba === x.bb ? fmt("crmove", `${crbit(x.bt)},${crbit(x.ba)}`) : null),
  crnor: (x) => (x.ba === x.bb ? fmt("crnot", `${crbit(x.bt)},${crbit(x.ba)}`) : null),
  isel: (x) =>
    x.bc < 3 ? fmt(`isel${CR_BIT[x.bc]}`, `${r(x.rt)},${x.ra === 0 ? "0" : r(x.ra)},${r(x.rb)}`) : null,
  sync: (x) => ["hwsync", "lwsync", "ptesync"][x.l] ?? null,
  b: (x, _d, a) => fmt(`b${x.lk ? "l" : ""}${x.aa ? "a" : ""}`, target(a, x.disp, x.aa === 1)),
  bc: (x, _d, a) => {
    const c = condBranch(x.bo, x.bi, "bc");
    const name = `${c.name}${x.lk ? "l" : ""}${x.aa ? "a" : ""}${c.hint}`;
    const t = target(a, x.disp, x.aa === 1);
    if (c.ops === "none") return fmt(name, t);
    if (c.ops === "cr") return fmt(name, `${x.bi >> 2 ? `cr${x.bi >> 2},` : ""}${t}`);
    if (c.ops === "crbit") return fmt(name, `${crbit(x.bi)},${t}`);
    return fmt(name, `${x.bo},${crbit(x.bi)},${t}`);
  },
  bclr: branchExt("lr"),
  bcctr: branchExt("ctr"),
  bctar: branchExt("tar"),
  mfspr: (x, d) => {
    const named = (d === "default" ? MF_NAMES_DEFAULT : MF_NAMES_P9).get(x.spr);
    if (named === undefined) return null;
    const slash = named.indexOf("/");
    if (slash < 0) return fmt(`mf${named}`, r(x.rt));
    return fmt(`mf${named.slice(0, slash)}`, `${r(x.rt)},${named.slice(slash + 1)}`);
  },
  mtspr: (x, d) => {
    const named = (d === "default" ? MT_NAMES_DEFAULT : MT_NAMES_P9).get(x.spr);
    if (named === undefined) return null;
    const slash = named.indexOf("/");
    if (slash < 0) return fmt(`mt${named}`, r(x.rs));
    return fmt(`mt${named.slice(0, slash)}`, `${named.slice(slash + 1)},${r(x.rs)}`);
  },
  sc: (x) => (x.lev === 0 ? "sc" : fmt("sc", String(x.lev))),
  xori: (x) => (x.ra === 0 && x.rs === 0 && x.ui === 0 ? "xnop" : null),
  addpcis: (x) => (x.d === 0 ? fmt("lnia", r(x.rt)) : null),
  mftb: (x) => fmt(x.spr === 268 ? "mftb" : "mftbu", r(x.rt)),
  cp_abort: () => "cpabort",
  dcbt: (x, d) => touchExt("dcbt", x, d),
  dcbtst: (x, d) => touchExt("dcbtst", x, d),
  dcbf: (x) => (x.l === 1 ? fmt("dcbfl", ra0rb(x)) : x.l === 3 ? fmt("dcbflp", ra0rb(x)) : null),
};

function ra0rb(x: Fields): string {
  return `${x.ra === 0 ? "0" : r(x.ra)},${r(x.rb)}`;
}

/** dcbt/dcbtst by TH: objdump's dcbtct (0-7), dcbtds (8-15), dcbtt (16), dcbna (17, default). */
function touchExt(base: string, x: Fields, d: Dialect): string {
  const th = x.th;
  if (th < 8) return fmt(`${base}ct`, th === 0 ? ra0rb(x) : `${ra0rb(x)},${th}`);
  if (th < 16) return fmt(`${base}ds`, th === 8 ? ra0rb(x) : `${ra0rb(x)},${th}`);
  if (th === 16) return fmt(`${base}t`, ra0rb(x));
  if (th === 17 && base === "dcbt" && d === "default") return fmt("dcbna", ra0rb(x));
  return fmt(base, `${ra0rb(x)},${th}`);
}

/**
 * Words the default dialect (POWER10 + any) prints although they are not POWER9 instructions:
 * POWER10 forms of wait/dcbf/paste. and the POWER (RIOS) names binutils falls back to for
 * invalid forms of lwzu/stwu/lwzux/stwux/lmw/lswi/lswx. Null for every other word.
 */
function defaultOnlyText(w: number, address: bigint): string | null {
  const po = w >>> 26;
  const rt = (w >>> 21) & 31;
  const ra = (w >>> 16) & 31;
  const rb = (w >>> 11) & 31;
  const d = (w << 16) >> 16;
  const ra0 = ra === 0 ? "0" : r(ra);
  switch (po) {
    case 19: {
      // bclr/bcctr with the pre-v2.00 "y" hint bit in BO (an odd BO): the default dialect
      // prints the branch with a "+" hint, -Mpower9 rejects the word
      const xo = (w >>> 1) & 0x3ff;
      const bo = rt;
      if ((w & 0xe000) !== 0 || (xo !== 16 && xo !== 528) || (bo & 1) === 0) return null;
      const ok =
        xo === 16
          ? [1, 3, 5, 9, 11, 13].includes(bo) || ((bo === 17 || bo === 19) && ra === 0)
          : bo === 5 || bo === 13;
      if (!ok) return null;
      const x = { bo: bo - 1, bi: ra, bh: (w >>> 11) & 3, lk: w & 1 };
      const t = branchExt(xo === 16 ? "lr" : "ctr")(x, "default", address, FORMS[0]) ?? "";
      const sp = t.indexOf(" ");
      return sp < 0 ? `${t}+` : fmt(`${t.slice(0, sp)}+`, t.slice(sp).trim());
    }
    case 33:
      return fmt("lu", `${r(rt)},${d}(${ra0})`);
    case 37:
      return fmt("stu", `${r(rt)},${d}(${ra0})`);
    case 46:
      return fmt("lm", `${r(rt)},${d}(${ra0})`);
    case 56:
      // invalid lq forms: the default dialect's fallback is Gekko's paired-single load
      return fmt("psq_l", `f${rt},${(w << 20) >> 20}(${r(ra)}),${(w >>> 15) & 1},${(w >>> 12) & 7}`);
    case 31:
      break;
    default:
      return null;
  }
  if ((w & 1) !== 0 && ((w >>> 1) & 0x3ff) !== 902) return null;
  switch ((w >>> 1) & 0x3ff) {
    case 55:
      return fmt("lux", `${r(rt)},${r(ra)},${r(rb)}`);
    case 183:
      return fmt("stux", `${r(rt)},${ra0},${r(rb)}`);
    case 597:
      return fmt("lsi", `${r(rt)},${ra0},${rb === 0 ? 32 : rb}`);
    case 533:
      return fmt("lsx", `${r(rt)},${r(ra)},${r(rb)}`);
    case 30:
      if ((w & 0x001ff801) !== 0) return null;
      return rt === 1 ? "waitrsv" : rt === 2 ? "pause_short" : null;
    case 86:
      if ((w & 0x03000001) !== 0 || (rt !== 4 && rt !== 6)) return null;
      return fmt(rt === 4 ? "dcbfps" : "dcbstps", `${ra0},${r(rb)}`);
    case 902:
      return (w & 0x03e00001) === 0x00000001 ? fmt("paste.", `${ra0},${r(rb)},0`) : null;
    default:
      return null;
  }
}

/**
 * The text GNU objdump 2.40 prints for `word` at `address` (mnemonic, padded to 7 columns, a
 * space and the operands): `-Mpower9` by default, plain `objdump -d` with
 * `{ dialect: "default" }`. Branch targets are absolute, as objdump prints them. Words outside
 * the table (and POWER8-only instructions in the power9 dialect) print as `.long 0x...`.
 */
export function disassemble(
  word: number,
  address: number | bigint = 0,
  options: DisassembleOptions = {},
): string {
  const w = checkWord(word);
  const dialect = options.dialect ?? "power9";
  if (dialect !== "default" && dialect !== "power9") {
    throw new EncodeError(`unknown dialect "${String(dialect)}": use "default" or "power9"`);
  }
  const id = identify(w);
  const f = FORMS[id];
  const addr = BigInt(address);
  if (id === 0 && dialect === "default") {
    const t = defaultOnlyText(w, addr);
    if (t !== null) return t;
  }
  if (id === 0 || (f.defaultOnly && dialect !== "default")) return `.long 0x${w.toString(16)}`;
  const x = fieldsOf(f, w);
  const ext = EXT[f.name];
  if (ext !== undefined) {
    const t = ext(x, dialect, addr, f);
    if (t !== null) return t;
  }
  return baseText(f, x, addr);
}

/** The fields of a form, for documentation and tests. */
export function formFields(op: string): readonly FieldDef[] {
  return formOf(op).fields;
}
