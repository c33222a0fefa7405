// The instruction table of @stopsim/isa: every Power ISA v3.0B fixed-point, branch,
// condition-register, storage, cache-management, storage-control and system instruction (plus
// POWER8's nap/sleep/rvwinkle/doze for ISA 2.07 chips), with its encoding and operand fields.
// Encodings: Power ISA v3.0B Book I-III instruction formats and the opcode maps of Appendix
// "Opcode Maps"; the accepted word set (reserved fields must be zero, except where GNU objdump
// ignores them) and the operand order follow GNU binutils 2.40 (opcodes/ppc-opc.c), checked
// word by word with fixtures/make-binutils.sh and fixtures/make-random.mjs.
//
// identify(word) -> form id (0 = not in the table) is the single source of truth for "which
// instruction is this word": the interpreter switches on the form's class and the codec builds
// decode()/encode()/disassemble() on the same table.

/** An operand field of an instruction form. */
export interface FieldDef {
  readonly name: string;
  /** Reads the field's value from a word. */
  readonly get: (w: number) => number;
  /** Places a value into a word (no range check: see `min`/`max`/`step`). */
  readonly put: (v: number) => number;
  /** Word bits the field occupies. */
  readonly bits: number;
  readonly min: number;
  readonly max: number;
  /** Values must be multiples of `step` (displacements of DS/DQ forms and branches). */
  readonly step: number;
}

function plain(name: string, shift: number, width: number, signed = false, scale = 1): FieldDef {
  const m = 2 ** width - 1;
  const bits = (m << shift) >>> 0;
  const lg = Math.log2(scale);
  return {
    name,
    get: signed
      ? (w) => (((w >>> shift) & m) << (32 - width)) >> (32 - width - lg)
      : (w) => ((w >>> shift) & m) * scale,
    put: (v) => ((((v / scale) & m) << shift) >>> 0) as number,
    bits,
    min: signed ? -(2 ** (width - 1)) * scale : 0,
    max: signed ? (2 ** (width - 1) - 1) * scale : m * scale,
    step: scale,
  };
}

/** 6-bit shift of MD/MDS/XS forms: sh[0:4] in bits 16:20, sh[5] in bit 30. */
const SH6: FieldDef = {
  name: "sh",
  get: (w) => ((w >>> 11) & 31) | (((w >>> 1) & 1) << 5),
  put: (v) => ((((v & 31) << 11) | ((v >>> 5) << 1)) >>> 0) as number,
  bits: (31 << 11) | 2,
  min: 0,
  max: 63,
  step: 1,
};

/** 6-bit mb/me of MD/MDS forms: word bits 21:26 hold m[5] || m[0:4]... stored as m[0:4] || m[5]. */
function mask6(name: string): FieldDef {
  return {
    name,
    get: (w) => {
      const f = (w >>> 5) & 63;
      return ((f >>> 1) & 31) | ((f & 1) << 5);
    },
    put: (v) => ((((v & 31) << 6) | ((v >>> 5) << 5)) >>> 0) as number,
    bits: 63 << 5,
    min: 0,
    max: 63,
    step: 1,
  };
}

/** SPR/TBR field: spr[5:9] || spr[0:4] in bits 11:20. */
const SPRF: FieldDef = {
  name: "spr",
  get: (w) => ((w >>> 16) & 31) | (((w >>> 11) & 31) << 5),
  put: (v) => ((((v & 31) << 16) | (((v >>> 5) & 31) << 11)) >>> 0) as number,
  bits: 0x3ff << 11,
  min: 0,
  max: 1023,
  step: 1,
};

/** addpcis D: d0 (bits 16:25) || d1 (bits 11:15) || d2 (bit 31), a signed 16-bit value. */
const DX: FieldDef = {
  name: "d",
  get: (w) => ((((((w >>> 6) & 0x3ff) << 6) | (((w >>> 16) & 31) << 1) | (w & 1)) << 16) >> 16) as number,
  put: (v) => ((((v >>> 6) & 0x3ff) << 6) | (((v >>> 1) & 31) << 16) | (v & 1)) >>> 0,
  bits: (0x3ff << 6) | (31 << 16) | 1,
  min: -32768,
  max: 32767,
  step: 1,
};

/** Field definitions by operand token (the default placement of each field name). */
const FIELDS: Readonly<Record<string, FieldDef>> = {
  rt: plain("rt", 21, 5),
  rs: plain("rs", 21, 5),
  ra: plain("ra", 16, 5),
  rb: plain("rb", 11, 5),
  rcr: plain("rcr", 6, 5),
  si: plain("si", 0, 16, true),
  ui: plain("ui", 0, 16),
  d: plain("d", 0, 16, true),
  ds: plain("ds", 2, 14, true, 4),
  dq: plain("dq", 4, 12, true, 16),
  bf: plain("bf", 23, 3),
  bfa: plain("bfa", 18, 3),
  l: plain("l", 21, 1),
  bt: plain("bt", 21, 5),
  ba: plain("ba", 16, 5),
  bb: plain("bb", 11, 5),
  bo: plain("bo", 21, 5),
  bi: plain("bi", 16, 5),
  bh: plain("bh", 11, 2),
  li: plain("disp", 2, 24, true, 4),
  bd: plain("disp", 2, 14, true, 4),
  sh: plain("sh", 11, 5),
  mb: plain("mb", 6, 5),
  me: plain("me", 1, 5),
  sh6: SH6,
  mb6: mask6("mb"),
  me6: mask6("me"),
  spr: SPRF,
  fxm: plain("fxm", 12, 8),
  to: plain("to", 21, 5),
  lev: plain("lev", 5, 7),
  th: plain("th", 21, 5),
  eh: plain("eh", 0, 1),
  wc: plain("wc", 21, 2),
  cy: plain("cy", 9, 2),
  nb: plain("nb", 11, 5),
  fc: plain("fc", 11, 5),
  ih: plain("ih", 21, 3),
  ric: plain("ric", 18, 2),
  prs: plain("prs", 17, 1),
  r: plain("r", 16, 1),
  ct: plain("ct", 21, 5),
  bc: plain("bc", 6, 5),
  dx: DX,
  s: plain("s", 11, 1),
};

/** Fields that are not printed operands but mnemonic suffixes ("." "o" "l" "a"). */
const RC = plain("rc", 0, 1);
const OE = plain("oe", 10, 1);
const LK = plain("lk", 0, 1);
const AA = plain("aa", 1, 1);

/** Operand kinds (how an operand prints). */
export const K_REG = 0; // rN
export const K_RA0 = 1; // rN, or 0 when the field is 0
export const K_NUM = 2; // decimal
export const K_CRF = 3; // crN
export const K_CRBIT = 4; // lt/gt/eq/so or 4*crN+xx
export const K_TARGET = 5; // branch target (absolute address)
export const K_DISP = 6; // d(rA) pair: the displacement; the next operand is its base register
export const K_NB = 7; // byte count of lswi/stswi: 0 means (and prints) 32

export interface Operand {
  readonly field: FieldDef;
  readonly kind: number;
  /** Omitted from objdump's text when it is 0 (trailing optional operands). */
  readonly optional: boolean;
  /** The value objdump leaves out for an optional operand (0, or 1 for rfebb S and paste. L). */
  readonly defaultValue: number;
}

/** Execution classes (src/interp.ts switches on them). */
export interface Form {
  readonly id: number;
  /** Base mnemonic without "o", "." or the l/a suffixes; dotted when Rc=1 is part of it (stwcx.). */
  readonly name: string;
  readonly opcode: number;
  readonly mask: number;
  readonly operands: readonly Operand[];
  /** All fields (operands plus suffix fields rc/oe/lk/aa), in encode order. */
  readonly fields: readonly FieldDef[];
  readonly rc: boolean;
  readonly oe: boolean;
  readonly lk: boolean;
  readonly aa: boolean;
  /** Dialects that know the instruction: both, or only objdump's default (POWER8 instructions). */
  readonly defaultOnly: boolean;
  /** Optional assembler flag the mnemonic needs (GNU as -mpower9 rejects it otherwise). */
  readonly asmNeeds: string | null;
  /** Instruction category, for the README and the interpreter. */
  readonly category: string;
}

// ---------------------------------------------------------------------------------------------
// The table. One line per instruction:
//   <form> <primary> <xo> <name> <operands> [flags]
// forms: D (no xo), DS (xo in bits 30:31), X/XL/XFX (xo in bits 21:30), XO (xo bits 22:30 with
// OE), A (xo bits 26:30), M (no xo), MD (xo bits 27:29), MDS (xo bits 27:30), XS (xo bits 21:29),
// VA (xo bits 26:31), Z23 (xo bits 23:30), I/B (no xo), SC (bits 30:31), X1 (X form with bit 31
// set: the dotted storage-control forms), DX (xo bits 26:30).
// operands: comma separated tokens of FIELDS; "ra0" prints 0 for register 0; "d(ra0)" is a
// displacement and base pair; suffix "?" marks an optional operand; "@crf"/"@bit"/"@num" force a
// print kind; "=N" fixes a field value (part of the opcode, not an operand).
// flags: "." Rc variant, "o" OE variant, "lk" LK variant, "aa" AA variant, "def" default dialect
// only (POWER8), "ign=0x..." word bits objdump ignores, "as=..." assembler option needed.
// ---------------------------------------------------------------------------------------------

const TABLE = `
# ---- branch
I 18 - b target lk aa cat=branch
B 16 - bc bo,bi@bit,target lk aa cat=branch
XL 19 16 bclr bo,bi@bit,bh? lk cat=branch
XL 19 528 bcctr bo,bi@bit,bh? lk cat=branch
XL 19 560 bctar bo,bi@bit,bh? lk cat=branch
DX 19 2 addpcis rt,dx cat=fixed
SC 17 2 sc lev? ign=0x0000f01c cat=system
SC 17 1 scv lev ign=0x0000f01c cat=system
# ---- condition register
XL 19 0 mcrf bf,bfa cat=cr
XL 19 33 crnor bt,ba,bb cat=cr
XL 19 129 crandc bt,ba,bb cat=cr
XL 19 193 crxor bt,ba,bb cat=cr
XL 19 225 crnand bt,ba,bb cat=cr
XL 19 257 crand bt,ba,bb cat=cr
XL 19 289 creqv bt,ba,bb cat=cr
XL 19 417 crorc bt,ba,bb cat=cr
XL 19 449 cror bt,ba,bb cat=cr
X 31 19 mfcr rt cat=cr
X 31 19 mfocrf rt,fxm@num cat=cr bit11
X 31 144 mtcrf fxm@num,rs cat=cr
X 31 144 mtocrf fxm@num,rs cat=cr bit11
X 31 576 mcrxrx bf cat=cr
X 31 128 setb rt,bfa cat=cr
# ---- system
XL 19 18 rfid - cat=system
XL 19 274 hrfid - cat=system
XL 19 82 rfscv - cat=system
XL 19 146 rfebb s?1 cat=system
XL 19 150 isync - cat=system
XL 19 370 stop - cat=system
XL 19 434 nap - def cat=system
XL 19 466 sleep - def cat=system
XL 19 498 rvwinkle - def cat=system
XL 19 402 doze - def cat=system
X 0 256 attn - ign=0x03fff800 cat=system
X 31 83 mfmsr rt cat=system
X 31 146 mtmsr rs,l@16? cat=system
X 31 178 mtmsrd rs,l@16? cat=system
XFX 31 339 mfspr rt,spr cat=system
XFX 31 467 mtspr spr,rs cat=system
XFX 31 371 mftb rt,spr def cat=system
X 31 206 msgsnd rb cat=system
X 31 238 msgclr rb cat=system
X 31 142 msgsndp rb cat=system
X 31 174 msgclrp rb cat=system
X 31 886 msgsync - cat=system
X 31 755 darn rt,l@16/2 cat=system
# ---- traps
D 2 - tdi to,ra,si cat=trap
D 3 - twi to,ra,si cat=trap
X 31 4 tw to,ra,rb cat=trap
X 31 68 td to,ra,rb cat=trap
# ---- fixed-point arithmetic
D 7 - mulli rt,ra,si cat=fixed
D 8 - subfic rt,ra,si cat=fixed
D 12 - addic rt,ra,si cat=fixed
D 13 - addic. rt,ra,si cat=fixed
D 14 - addi rt,ra0,si cat=fixed
D 15 - addis rt,ra0,si cat=fixed
XO 31 8 subfc rt,ra,rb . o cat=fixed
XO 31 10 addc rt,ra,rb . o cat=fixed
XO 31 40 subf rt,ra,rb . o cat=fixed
XO 31 104 neg rt,ra . o cat=fixed
XO 31 136 subfe rt,ra,rb . o cat=fixed
XO 31 138 adde rt,ra,rb . o cat=fixed
XO 31 200 subfze rt,ra . o cat=fixed
XO 31 202 addze rt,ra . o cat=fixed
XO 31 232 subfme rt,ra . o cat=fixed
XO 31 234 addme rt,ra . o cat=fixed
XO 31 266 add rt,ra,rb . o cat=fixed
XO 31 233 mulld rt,ra,rb . o cat=fixed
XO 31 235 mullw rt,ra,rb . o cat=fixed
XO 31 9 mulhdu rt,ra,rb . cat=fixed
XO 31 11 mulhwu rt,ra,rb . cat=fixed
XO 31 73 mulhd rt,ra,rb . cat=fixed
XO 31 75 mulhw rt,ra,rb . cat=fixed
XO 31 393 divdeu rt,ra,rb . o cat=fixed
XO 31 395 divweu rt,ra,rb . o cat=fixed
XO 31 425 divde rt,ra,rb . o cat=fixed
XO 31 427 divwe rt,ra,rb . o cat=fixed
XO 31 457 divdu rt,ra,rb . o cat=fixed
XO 31 459 divwu rt,ra,rb . o cat=fixed
XO 31 489 divd rt,ra,rb . o cat=fixed
XO 31 491 divw rt,ra,rb . o cat=fixed
X 31 265 modud rt,ra,rb cat=fixed
X 31 267 moduw rt,ra,rb cat=fixed
X 31 777 modsd rt,ra,rb cat=fixed
X 31 779 modsw rt,ra,rb cat=fixed
Z23 31 170 addex rt,ra,rb,cy cat=fixed
VA 4 48 maddhd rt,ra,rb,rcr cat=fixed
VA 4 49 maddhdu rt,ra,rb,rcr cat=fixed
VA 4 51 maddld rt,ra,rb,rcr cat=fixed
# ---- compare
D 10 - cmpli bf,l,ra,ui ign=0x00400000 cat=fixed
D 11 - cmpi bf,l,ra,si ign=0x00400000 cat=fixed
X 31 0 cmp bf,l,ra,rb cat=fixed
X 31 32 cmpl bf,l,ra,rb cat=fixed
X 31 192 cmprb bf,l,ra,rb cat=fixed
X 31 224 cmpeqb bf,ra,rb cat=fixed
# ---- logical
D 24 - ori ra,rs,ui cat=fixed
D 25 - oris ra,rs,ui cat=fixed
D 26 - xori ra,rs,ui cat=fixed
D 27 - xoris ra,rs,ui cat=fixed
D 28 - andi. ra,rs,ui cat=fixed
D 29 - andis. ra,rs,ui cat=fixed
X 31 28 and ra,rs,rb . cat=fixed
X 31 60 andc ra,rs,rb . cat=fixed
X 31 124 nor ra,rs,rb . cat=fixed
X 31 284 eqv ra,rs,rb . cat=fixed
X 31 316 xor ra,rs,rb . cat=fixed
X 31 412 orc ra,rs,rb . cat=fixed
X 31 444 or ra,rs,rb . cat=fixed
X 31 476 nand ra,rs,rb . cat=fixed
X 31 508 cmpb ra,rs,rb cat=fixed
X 31 922 extsh ra,rs . cat=fixed
X 31 954 extsb ra,rs . cat=fixed
X 31 986 extsw ra,rs . cat=fixed
X 31 26 cntlzw ra,rs . cat=fixed
X 31 58 cntlzd ra,rs . cat=fixed
X 31 538 cnttzw ra,rs . cat=fixed
X 31 570 cnttzd ra,rs . cat=fixed
X 31 122 popcntb ra,rs cat=fixed
X 31 378 popcntw ra,rs cat=fixed
X 31 506 popcntd ra,rs cat=fixed
X 31 154 prtyw ra,rs cat=fixed
X 31 186 prtyd ra,rs cat=fixed
X 31 252 bpermd ra,rs,rb cat=fixed
A 31 15 isel rt,ra0,rb,bc@bit cat=fixed
# ---- rotate and shift
M 20 - rlwimi ra,rs,sh,mb,me . cat=fixed
M 21 - rlwinm ra,rs,sh,mb,me . cat=fixed
M 23 - rlwnm ra,rs,rb,mb,me . cat=fixed
MD 30 0 rldicl ra,rs,sh6,mb6 . cat=fixed
MD 30 1 rldicr ra,rs,sh6,me6 . cat=fixed
MD 30 2 rldic ra,rs,sh6,mb6 . cat=fixed
MD 30 3 rldimi ra,rs,sh6,mb6 . cat=fixed
MDS 30 8 rldcl ra,rs,rb,mb6 . cat=fixed
MDS 30 9 rldcr ra,rs,rb,me6 . cat=fixed
X 31 24 slw ra,rs,rb . cat=fixed
X 31 536 srw ra,rs,rb . cat=fixed
X 31 792 sraw ra,rs,rb . cat=fixed
X 31 824 srawi ra,rs,sh . cat=fixed
X 31 27 sld ra,rs,rb . cat=fixed
X 31 539 srd ra,rs,rb . cat=fixed
X 31 794 srad ra,rs,rb . cat=fixed
XS 31 413 sradi ra,rs,sh6 . cat=fixed
XS 31 445 extswsli ra,rs,sh6 . cat=fixed
# ---- loads and stores
D 34 - lbz rt,d(ra0) cat=storage
D 35 - lbzu rt,d(ra) cat=storage
D 40 - lhz rt,d(ra0) cat=storage
D 41 - lhzu rt,d(ra) cat=storage
D 42 - lha rt,d(ra0) cat=storage
D 43 - lhau rt,d(ra) cat=storage
D 32 - lwz rt,d(ra0) cat=storage
D 33 - lwzu rt,d(ra) cat=storage
DS 58 2 lwa rt,ds(ra0) cat=storage
DS 58 0 ld rt,ds(ra0) cat=storage
DS 58 1 ldu rt,ds(ra) cat=storage
D 38 - stb rs,d(ra0) cat=storage
D 39 - stbu rs,d(ra) cat=storage
D 44 - sth rs,d(ra0) cat=storage
D 45 - sthu rs,d(ra) cat=storage
D 36 - stw rs,d(ra0) cat=storage
D 37 - stwu rs,d(ra) cat=storage
DS 62 0 std rs,ds(ra0) cat=storage
DS 62 1 stdu rs,ds(ra) cat=storage
DQ 56 - lq rt,dq(ra0) cat=storage
DS 62 2 stq rs,ds(ra0) cat=storage
D 46 - lmw rt,d(ra0) cat=storage
D 47 - stmw rs,d(ra0) cat=storage
X 31 87 lbzx rt,ra0,rb cat=storage
X 31 119 lbzux rt,ra,rb cat=storage
X 31 279 lhzx rt,ra0,rb cat=storage
X 31 311 lhzux rt,ra,rb cat=storage
X 31 343 lhax rt,ra0,rb cat=storage
X 31 375 lhaux rt,ra,rb cat=storage
X 31 23 lwzx rt,ra0,rb cat=storage
X 31 55 lwzux rt,ra,rb cat=storage
X 31 341 lwax rt,ra0,rb cat=storage
X 31 373 lwaux rt,ra,rb cat=storage
X 31 21 ldx rt,ra0,rb cat=storage
X 31 53 ldux rt,ra,rb cat=storage
X 31 215 stbx rs,ra0,rb cat=storage
X 31 247 stbux rs,ra,rb cat=storage
X 31 407 sthx rs,ra0,rb cat=storage
X 31 439 sthux rs,ra,rb cat=storage
X 31 151 stwx rs,ra0,rb cat=storage
X 31 183 stwux rs,ra,rb cat=storage
X 31 149 stdx rs,ra0,rb cat=storage
X 31 181 stdux rs,ra,rb cat=storage
X 31 790 lhbrx rt,ra0,rb cat=storage
X 31 534 lwbrx rt,ra0,rb cat=storage
X 31 532 ldbrx rt,ra0,rb cat=storage
X 31 918 sthbrx rs,ra0,rb cat=storage
X 31 662 stwbrx rs,ra0,rb cat=storage
X 31 660 stdbrx rs,ra0,rb cat=storage
X 31 597 lswi rt,ra0,nb@nb cat=storage
X 31 533 lswx rt,ra0,rb cat=storage
X 31 725 stswi rs,ra0,nb@nb cat=storage
X 31 661 stswx rs,ra0,rb cat=storage
X 31 52 lbarx rt,ra0,rb,eh? cat=storage
X 31 116 lharx rt,ra0,rb,eh? cat=storage
X 31 20 lwarx rt,ra0,rb,eh? cat=storage
X 31 84 ldarx rt,ra0,rb,eh? cat=storage
X 31 276 lqarx rt,ra0,rb,eh? cat=storage
X1 31 694 stbcx. rs,ra0,rb cat=storage
X1 31 726 sthcx. rs,ra0,rb cat=storage
X1 31 150 stwcx. rs,ra0,rb cat=storage
X1 31 214 stdcx. rs,ra0,rb cat=storage
X1 31 182 stqcx. rs,ra0,rb cat=storage
X 31 582 lwat rt,ra0,fc cat=storage
X 31 614 ldat rt,ra0,fc cat=storage
X 31 710 stwat rs,ra0,fc cat=storage
X 31 742 stdat rs,ra0,fc cat=storage
X 31 853 lbzcix rt,ra0,rb cat=storage
X 31 821 lhzcix rt,ra0,rb cat=storage
X 31 789 lwzcix rt,ra0,rb cat=storage
X 31 885 ldcix rt,ra0,rb cat=storage
X 31 981 stbcix rs,ra0,rb cat=storage
X 31 949 sthcix rs,ra0,rb cat=storage
X 31 917 stwcix rs,ra0,rb cat=storage
X 31 1013 stdcix rs,ra0,rb cat=storage
# ---- synchronization and cache management
X 31 598 sync l@21/2? cat=sync
X 31 854 eieio - cat=sync
X 31 30 wait wc@21/2? cat=sync
X 31 278 dcbt ra0,rb,th? cat=cache
X 31 246 dcbtst ra0,rb,th? cat=cache
X 31 86 dcbf ra0,rb,l@21/3? cat=cache
X 31 54 dcbst ra0,rb cat=cache
X 31 1014 dcbz ra0,rb cat=cache
X 31 982 icbi ra0,rb cat=cache
X 31 22 icbt ct?,ra0,rb cat=cache
X 31 774 copy ra0,rb =l@21/1=1 cat=cache
X1 31 902 paste. ra0,rb,l@21/1?1 cat=cache
X 31 838 cp_abort - cat=cache
# ---- storage control (Book III)
X 31 434 slbie rb cat=mmu
X 31 498 slbia ih? cat=mmu
X 31 402 slbmte rs,rb cat=mmu
X 31 851 slbmfev rt,rb cat=mmu
X 31 915 slbmfee rt,rb cat=mmu
X1 31 979 slbfee. rt,rb cat=mmu
X 31 338 slbsync - cat=mmu
X 31 850 slbiag rs cat=mmu
X 31 306 tlbie rb,rs,ric?,prs?,r? cat=mmu
X 31 274 tlbiel rb,rs?,ric?,prs?,r? cat=mmu
X 31 566 tlbsync - cat=mmu
`;

// ---------------------------------------------------------------------------------------------
// Table construction
// ---------------------------------------------------------------------------------------------

function xoField(form: string, xo: number): { value: number; bits: number } {
  switch (form) {
    case "D":
    case "DQ":
    case "M":
    case "I":
    case "B":
      return { value: 0, bits: 0 };
    case "DS":
      return { value: xo, bits: 3 };
    case "SC":
      return { value: xo, bits: 3 };
    case "X":
    case "XL":
    case "XFX":
      return { value: xo << 1, bits: 0x7ff };
    case "X1":
      return { value: (xo << 1) | 1, bits: 0x7ff };
    case "XO":
      return { value: xo << 1, bits: 0x1ff << 1 };
    case "A":
      return { value: xo << 1, bits: 31 << 1 };
    case "MD":
      return { value: xo << 2, bits: 7 << 2 };
    case "MDS":
      return { value: xo << 1, bits: 15 << 1 };
    case "XS":
      return { value: xo << 2, bits: 0x1ff << 2 };
    case "VA":
      return { value: xo, bits: 63 };
    case "Z23":
      return { value: xo << 1, bits: 0xff << 1 };
    case "DX":
      return { value: xo << 1, bits: 31 << 1 };
    default:
      throw new Error(`opcodes: unknown form ${form}`);
  }
}

const KIND_OF: Readonly<Record<string, number>> = {
  rt: K_REG,
  rs: K_REG,
  ra: K_REG,
  rb: K_REG,
  rcr: K_REG,
  ra0: K_RA0,
  bf: K_CRF,
  bfa: K_CRF,
  bt: K_CRBIT,
  ba: K_CRBIT,
  bb: K_CRBIT,
  bi: K_CRBIT,
  li: K_TARGET,
  bd: K_TARGET,
};

function parseToken(tok: string, formKind: string): Operand {
  let t = tok;
  let defaultValue = 0;
  if (t.endsWith("?1")) {
    defaultValue = 1;
    t = t.slice(0, -1);
  }
  const optional = t.endsWith("?");
  if (optional) t = t.slice(0, -1);
  let kind = -1;
  const at = t.indexOf("@");
  let place = "";
  if (at >= 0) {
    place = t.slice(at + 1);
    t = t.slice(0, at);
    if (place === "bit") kind = K_CRBIT;
    else if (place === "num") kind = K_NUM;
    else if (place === "crf") kind = K_CRF;
    else if (place === "nb") kind = K_NB;
  }
  if (t === "target") t = formKind === "I" ? "li" : "bd";
  const baseName = t === "ra0" ? "ra" : t;
  let field = FIELDS[baseName];
  if (field === undefined) throw new Error(`opcodes: unknown operand ${tok}`);
  if (/^\d+(\/\d+)?$/.test(place)) {
    const [shift, width] = place.split("/").map(Number);
    field = plain(field.name, shift, width ?? 1);
  }
  if (kind < 0) kind = KIND_OF[t] ?? K_NUM;
  return { field, kind, optional, defaultValue };
}

export const FORMS: Form[] = [];
/** Forms by primary opcode, in table order. */
const BY_PRIMARY: Form[][] = Array.from({ length: 64 }, () => []);

function build(): void {
  FORMS.push({
    id: 0,
    name: "invalid",
    opcode: 0,
    mask: 0,
    operands: [],
    fields: [],
    rc: false,
    oe: false,
    lk: false,
    aa: false,
    defaultOnly: false,
    asmNeeds: null,
    category: "invalid",
  });
  for (const raw of TABLE.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [form, po, xo, name, ops, ...flags] = line.split(/\s+/);
    const x = xoField(form, xo === "-" ? 0 : Number(xo));
    let opcode = ((Number(po) << 26) | x.value) >>> 0;
    const operands: Operand[] = [];
    const fields: FieldDef[] = [];
    if (ops !== "-") {
      for (const tok of ops.split(",")) {
        if (tok.startsWith("d(") || tok.startsWith("ds(") || tok.startsWith("dq(")) {
          const disp = tok.slice(0, tok.indexOf("("));
          const base = tok.slice(tok.indexOf("(") + 1, -1);
          operands.push({ field: FIELDS[disp], kind: K_DISP, optional: false, defaultValue: 0 });
          operands.push(parseToken(base, form));
          continue;
        }
        if (tok === "dx") {
          operands.push({ field: DX, kind: K_NUM, optional: false, defaultValue: 0 });
          continue;
        }
        operands.push(parseToken(tok, form));
      }
    }
    for (const o of operands) fields.push(o.field);
    const has = (f: string): boolean => flags.includes(f);
    const rc = has(".");
    const oe = has("o");
    const lk = has("lk");
    const aa = has("aa");
    if (rc) fields.push(RC);
    if (oe) fields.push(OE);
    if (lk) fields.push(LK);
    if (aa) fields.push(AA);
    let ignore = 0;
    let category = "fixed";
    for (const f of flags) {
      if (f.startsWith("ign=")) ignore = Number(f.slice(4));
      if (f.startsWith("cat=")) category = f.slice(4);
      if (f.startsWith("=")) {
        // a fixed field value: "=l@21/1=1"
        const [spec, val] = f.slice(1).split("=");
        const o = parseToken(spec, form);
        opcode = (opcode | o.field.put(Number(val))) >>> 0;
      }
    }
    if (has("bit11")) {
      opcode = (opcode | (1 << 20)) >>> 0;
    }
    let operandBits = 0;
    for (const f of fields) operandBits |= f.bits;
    // every bit that is not an operand is part of the opcode (reserved bits must be 0)
    const mask = ~(operandBits | ignore) >>> 0;
    const id = FORMS.length;
    const entry: Form = {
      id,
      name,
      opcode,
      mask: mask >>> 0,
      operands,
      fields,
      rc,
      oe,
      lk,
      aa,
      defaultOnly: has("def"),
      asmNeeds: null,
      category,
    };
    FORMS.push(entry);
    BY_PRIMARY[Number(po)].push(entry);
  }
}
build();

/** Form by base mnemonic (the Insn `op`). */
export const FORM_BY_NAME: ReadonlyMap<string, Form> = new Map(FORMS.slice(1).map((f) => [f.name, f]));

/** Form id by base mnemonic; throws for names not in the table (a programming error). */
export function formId(name: string): number {
  const f = FORM_BY_NAME.get(name);
  if (f === undefined) throw new Error(`opcodes: no instruction ${name}`);
  return f.id;
}

// Lookup: per primary opcode, a map from the bits every form of that opcode fixes to the forms.
const KEY_MASK = new Uint32Array(64);
const KEYED: Map<number, Form[]>[] = [];
for (let po = 0; po < 64; po++) {
  const list = BY_PRIMARY[po];
  let km = 0xffffffff;
  for (const f of list) km &= f.mask;
  km = (km & 0x03ffffff) >>> 0;
  KEY_MASK[po] = km;
  const m = new Map<number, Form[]>();
  for (const f of list) {
    const k = (f.opcode & km) >>> 0;
    const arr = m.get(k);
    if (arr === undefined) m.set(k, [f]);
    else arr.push(f);
  }
  KEYED.push(m);
}

/** Slow path of identify(): the table lookup. */
function lookup(w: number): number {
  const po = w >>> 26;
  const list = KEYED[po].get((w & KEY_MASK[po]) >>> 0);
  if (list === undefined) return 0;
  for (const f of list) {
    if ((w & f.mask) >>> 0 === f.opcode && valid(f, w)) return f.id;
  }
  return 0;
}

// Word-level validity rules beyond fixed bits (reserved operand values binutils rejects).
const ID_BC = formId("bc");
const ID_BCLR = formId("bclr");
const ID_BCCTR = formId("bcctr");
const ID_BCTAR = formId("bctar");
const ID_SC = formId("sc");
const ID_SYNC = formId("sync");
const ID_MTOCRF = formId("mtocrf");
const ID_MFOCRF = formId("mfocrf");
const ID_MFTB = formId("mftb");
const ID_WAIT = formId("wait");
const ID_DCBF = formId("dcbf");
const ID_LQ = formId("lq");
const ID_STQ = formId("stq");
const ID_LQARX = formId("lqarx");
const ID_STQCX = formId("stqcx.");
const ID_LMW = formId("lmw");
const ID_LSWI = formId("lswi");
const ID_LSWX = formId("lswx");
const ID_PASTE = formId("paste.");
const ID_RFEBB = formId("rfebb");

/** Loads with update: RA = 0 or RA = RT is an invalid form (Power ISA v3.0B Book I 3.3.2). */
const LOAD_UPDATE = new Set(
  ["lbzu", "lhzu", "lhau", "lwzu", "ldu", "lbzux", "lhzux", "lhaux", "lwzux", "lwaux", "ldux"].map(formId),
);
/** Stores with update: RA = 0 is an invalid form. */
const STORE_UPDATE = new Set(
  ["stbu", "sthu", "stwu", "stdu", "stbux", "sthux", "stwux", "stdux"].map(formId),
);

export const BO_KIND_BC = 0;
export const BO_KIND_LR = 1;
export const BO_KIND_CTR = 2;

/**
 * Whether a BO value is valid for a conditional branch (Power ISA v3.0B Book I 2.4 with the
 * "at" hint encodings; the set GNU objdump accepts): BO 21-23 and 28-31 are reserved; with a
 * displacement (bc) BO 17 and 19 need BI = 0; bclr/bcctr also reject the odd BO values whose z
 * bit is set (1, 3, 5, 9, 11, 13, 17, 19).
 */
export function boValid(bo: number, bi: number, kind: number): boolean {
  if ((bo >= 21 && bo <= 23) || bo >= 28) return false;
  if (kind === BO_KIND_BC) return !((bo === 17 || bo === 19) && bi !== 0);
  return !(bo < 20 && (bo & 1) === 1 && (bo & 0x10 ? true : (bo & 4) === 0 || (bo & 2) === 0));
}

function valid(f: Form, w: number): boolean {
  const rt = (w >>> 21) & 31;
  const ra = (w >>> 16) & 31;
  const rb = (w >>> 11) & 31;
  if (LOAD_UPDATE.has(f.id)) return ra !== 0 && ra !== rt;
  if (STORE_UPDATE.has(f.id)) return ra !== 0;
  switch (f.id) {
    case ID_MFTB: {
      const tbr = ((w >>> 16) & 31) | (((w >>> 11) & 31) << 5);
      return tbr === 268 || tbr === 269;
    }
    case ID_WAIT:
      // v3.0B: WC = 0 only (WC 1 and 2 are POWER10's waitrsv and pause_short)
      return ((w >>> 21) & 3) === 0;
    case ID_DCBF: {
      // L = 0 (dcbf), 1 (dcbfl), 3 (dcbflp); 4 and 6 are POWER10's dcbfps and dcbstps
      const l = (w >>> 21) & 7;
      return l === 0 || l === 1 || l === 3;
    }
    case ID_PASTE:
      return ((w >>> 21) & 1) === 1;
    case ID_LQ:
      return (rt & 1) === 0 && rt !== ra;
    case ID_LQARX:
      return (rt & 1) === 0 && rt !== ra && rt !== rb;
    case ID_STQ:
    case ID_STQCX:
      return (rt & 1) === 0;
    case ID_LMW:
      return ra < rt;
    case ID_LSWI:
      return ra !== rt;
    case ID_LSWX:
      return ra !== rt && rb !== rt;
    case ID_RFEBB:
      return true;
    case ID_BC:
      return boValid((w >>> 21) & 31, (w >>> 16) & 31, BO_KIND_BC);
    case ID_BCLR:
    case ID_BCCTR:
    case ID_BCTAR:
      return boValid((w >>> 21) & 31, (w >>> 16) & 31, BO_KIND_LR);
    case ID_SYNC:
      return ((w >>> 21) & 3) !== 3;
    case ID_SC:
      return true;
    case ID_MTOCRF:
    case ID_MFOCRF: {
      // exactly one FXM bit
      const fxm = (w >>> 12) & 0xff;
      return fxm !== 0 && (fxm & (fxm - 1)) === 0;
    }
    default:
      return true;
  }
}

// Direct-mapped cache of identify() results: the idle hot path issues the same few words.
const CACHE_SIZE = 4096;
const cacheWord = new Uint32Array(CACHE_SIZE);
const cacheId = new Int32Array(CACHE_SIZE).fill(-1);

/** The form id of a 32-bit instruction word (0 when the word is not an instruction of the table). */
export function identify(word: number): number {
  const w = word >>> 0;
  const slot = (w ^ (w >>> 11) ^ (w >>> 22)) & (CACHE_SIZE - 1);
  if (cacheId[slot] >= 0 && cacheWord[slot] === w) return cacheId[slot];
  const id = lookup(w);
  cacheWord[slot] = w;
  cacheId[slot] = id;
  return id;
}
