// Instruction identification for the modelled subset of Power ISA v3.0B.
// identify() is the single source of truth for "which instruction is this word": the executor
// switches on its result and the codec builds decode()/disassemble() on it. A word whose opcode
// is not in the subset, or whose reserved fields are not zero, identifies as OP_INVALID.

export const OP_INVALID = 0;
export const OP_ADDI = 1;
export const OP_ADDIS = 2;
export const OP_ORI = 3;
export const OP_ORIS = 4;
export const OP_CMPI = 5;
export const OP_CMPLI = 6;
export const OP_B = 7;
export const OP_BC = 8;
export const OP_SC = 9;
export const OP_BCLR = 10;
export const OP_BCCTR = 11;
export const OP_RFID = 12;
export const OP_HRFID = 13;
export const OP_ISYNC = 14;
export const OP_STOP = 15;
export const OP_RLDICR = 16;
export const OP_CMP = 17;
export const OP_CMPL = 18;
export const OP_OR = 19;
export const OP_MFSPR = 20;
export const OP_MTSPR = 21;
/** Slot 22 is unused: mftb (XO 371) is not a POWER9 instruction for GNU objdump -Mpower9. */
export const OP_UNUSED_22 = 22;
export const OP_MTMSRD = 23;
export const OP_MFMSR = 24;
export const OP_MSGSND = 25;
export const OP_MSGCLR = 26;
export const OP_MSGSNDP = 27;
export const OP_MSGCLRP = 28;
export const OP_SYNC = 29;
export const OP_ADD = 30;
export const OP_SUBF = 31;
export const OP_LWZ = 32;
export const OP_STW = 33;
export const OP_LD = 34;
export const OP_STD = 35;
export const OP_ATTN = 36;
export const OP_AND = 37;
export const OP_XOR = 38;
export const OP_MFCR = 39;

export const OP_NAMES: readonly string[] = [
  "invalid",
  "addi",
  "addis",
  "ori",
  "oris",
  "cmpi",
  "cmpli",
  "b",
  "bc",
  "sc",
  "bclr",
  "bcctr",
  "rfid",
  "hrfid",
  "isync",
  "stop",
  "rldicr",
  "cmp",
  "cmpl",
  "or",
  "mfspr",
  "mtspr",
  "invalid",
  "mtmsrd",
  "mfmsr",
  "msgsnd",
  "msgclr",
  "msgsndp",
  "msgclrp",
  "sync",
  "add",
  "subf",
  "lwz",
  "stw",
  "ld",
  "std",
  "attn",
  "and",
  "xor",
  "mfcr",
];

// Field extraction (IBM bit numbering: bit 0 is the most significant bit of the word)
export const fRT = (w: number): number => (w >>> 21) & 31;
export const fRA = (w: number): number => (w >>> 16) & 31;
export const fRB = (w: number): number => (w >>> 11) & 31;
export const fBF = (w: number): number => (w >>> 23) & 7;
export const fL10 = (w: number): number => (w >>> 21) & 1;
export const fSI = (w: number): number => (w << 16) >> 16;
export const fUI = (w: number): number => w & 0xffff;
export const fRc = (w: number): number => w & 1;
/** SPR number of mfspr/mtspr/mftb: spr[5:9] || spr[0:4]. */
export const fSPR = (w: number): number => (((w >>> 16) & 31) | (((w >>> 11) & 31) << 5)) >>> 0;
export const fBO = (w: number): number => (w >>> 21) & 31;
export const fBI = (w: number): number => (w >>> 16) & 31;
export const fBH = (w: number): number => (w >>> 11) & 3;
export const fLK = (w: number): number => w & 1;
export const fAA = (w: number): number => (w >>> 1) & 1;
/** Branch displacement of b (sign-extended LI || 0b00). */
export const fLI = (w: number): number => ((w & 0x03fffffc) << 6) >> 6;
/** Branch displacement of bc (sign-extended BD || 0b00). */
export const fBD = (w: number): number => ((w & 0xfffc) << 16) >> 16;
/** DS displacement (ld/std), sign-extended, already multiplied by 4. */
export const fDS = (w: number): number => ((w & 0xfffc) << 16) >> 16;
export const fLEV = (w: number): number => (w >>> 5) & 0x7f;
/** rldicr shift amount: sh[5] is word bit 30. */
export const fSH6 = (w: number): number => ((w >>> 11) & 31) | (((w >>> 1) & 1) << 5);
/** rldicr mask end: me field is word bits 21:26 stored as me[5] || me[0:4]. */
export const fME6 = (w: number): number => {
  const f = (w >>> 5) & 63;
  return ((f >>> 1) & 31) | ((f & 1) << 5);
};
export const fMtmsrdL = (w: number): number => (w >>> 16) & 1;
export const fSyncL = (w: number): number => (w >>> 21) & 3;

export const BO_KIND_BC = 0;
export const BO_KIND_LR = 1;
export const BO_KIND_CTR = 2;

/**
 * Whether a BO value is valid for a conditional branch (Power ISA v3.0B Book I 2.4 with the
 * "at" hint encodings; the set GNU objdump -Mpower9 accepts): BO 21-23 and 28-31 are reserved;
 * with a displacement (bc) BO 17 and 19 need BI = 0; bclr/bcctr also reject the odd BO values
 * whose z bit is set (1, 3, 5, 9, 11, 13, 17, 19).
 */
export function boValid(bo: number, bi: number, kind: number): boolean {
  if ((bo >= 21 && bo <= 23) || bo >= 28) return false;
  if (kind === BO_KIND_BC) return !((bo === 17 || bo === 19) && bi !== 0);
  return !(bo < 20 && (bo & 1) === 1 && (bo & 0x10 ? true : (bo & 4) === 0 || (bo & 2) === 0));
}

/** Identifies a 32-bit instruction word; OP_INVALID when it is not a well-formed subset word. */
export function identify(word: number): number {
  const w = word >>> 0;
  switch (w >>> 26) {
    case 0:
      // attn: GNU objdump matches primary opcode 0 with XO 256 whatever the other fields hold
      return (w & 0x000007ff) === 0x00000200 ? OP_ATTN : OP_INVALID;
    // cmpli/cmpi: GNU objdump ignores the reserved bit 9, and so does the model
    case 10:
      return OP_CMPLI;
    case 11:
      return OP_CMPI;
    case 14:
      return OP_ADDI;
    case 15:
      return OP_ADDIS;
    case 16:
      return boValid(fBO(w), fBI(w), BO_KIND_BC) ? OP_BC : OP_INVALID;
    case 17:
      // sc LEV: other fields reserved, bit 30 = 1 (LEV > 1 decodes but is reserved in v3.0B)
      return (w & 0xfffff01f) === 0x44000002 ? OP_SC : OP_INVALID;
    case 18:
      return OP_B;
    case 19: {
      const xo = (w >>> 1) & 0x3ff;
      switch (xo) {
        case 16:
          return (w & 0x0000e000) === 0 && boValid(fBO(w), fBI(w), BO_KIND_LR) ? OP_BCLR : OP_INVALID;
        case 528:
          return (w & 0x0000e000) === 0 && boValid(fBO(w), fBI(w), BO_KIND_CTR) ? OP_BCCTR : OP_INVALID;
        case 18:
          return (w & 0x03fff801) === 0 ? OP_RFID : OP_INVALID;
        case 274:
          return (w & 0x03fff801) === 0 ? OP_HRFID : OP_INVALID;
        case 150:
          return (w & 0x03fff801) === 0 ? OP_ISYNC : OP_INVALID;
        case 370:
          return (w & 0x03fff801) === 0 ? OP_STOP : OP_INVALID;
        default:
          return OP_INVALID;
      }
    }
    case 24:
      return OP_ORI;
    case 25:
      return OP_ORIS;
    case 30:
      return ((w >>> 2) & 7) === 1 ? OP_RLDICR : OP_INVALID;
    case 31: {
      const xo = (w >>> 1) & 0x3ff;
      switch (xo) {
        case 0:
          return (w & 0x00400001) === 0 ? OP_CMP : OP_INVALID;
        case 32:
          return (w & 0x00400001) === 0 ? OP_CMPL : OP_INVALID;
        case 19:
          // mfcr RT (bit 11 = 0 distinguishes it from mfocrf)
          return (w & 0x001ff801) === 0 ? OP_MFCR : OP_INVALID;
        case 28:
          return OP_AND;
        case 316:
          return OP_XOR;
        case 444:
          return OP_OR;
        case 339:
          return (w & 1) === 0 ? OP_MFSPR : OP_INVALID;
        case 467:
          return (w & 1) === 0 ? OP_MTSPR : OP_INVALID;
        case 178:
          return (w & 0x001ef801) === 0 ? OP_MTMSRD : OP_INVALID;
        case 83:
          return (w & 0x001ff801) === 0 ? OP_MFMSR : OP_INVALID;
        case 206:
          return (w & 0x03ff0001) === 0 ? OP_MSGSND : OP_INVALID;
        case 238:
          return (w & 0x03ff0001) === 0 ? OP_MSGCLR : OP_INVALID;
        case 142:
          return (w & 0x03ff0001) === 0 ? OP_MSGSNDP : OP_INVALID;
        case 174:
          return (w & 0x03ff0001) === 0 ? OP_MSGCLRP : OP_INVALID;
        case 598:
          // sync L (L = 0 sync, 1 lwsync, 2 ptesync); bits 6:8 and 11:20 reserved
          return (w & 0x039ff801) === 0 && fSyncL(w) !== 3 ? OP_SYNC : OP_INVALID;
        case 266:
          return OP_ADD;
        case 40:
          return OP_SUBF;
        default:
          // add/subf with OE=1 have xo | 0x200
          return OP_INVALID;
      }
    }
    case 32:
      return OP_LWZ;
    case 36:
      return OP_STW;
    case 58:
      return (w & 3) === 0 ? OP_LD : OP_INVALID;
    case 62:
      return (w & 3) === 0 ? OP_STD : OP_INVALID;
    default:
      return OP_INVALID;
  }
}
