// The SPRs the POWER9 model implements, with their access class per direction.
// The set and the access classes follow kvm-unit-tests powerpc/sprs.c (tables sprs_common,
// sprs_power_common, sprs_300, sprs_power9_10 and sprs_power_common_pmu, the POWER9 case of
// setup_sprs) and POWER ISA v3.0B Book III "Move To/From Special Purpose Register".

/** Who may access an SPR in one direction. */
export const ACC_UNDEFINED = 0;
/** Problem state and above (MSR[PR]=1 allowed). */
export const ACC_USER = 1;
/** Privileged: guest kernel (MSR[HV PR]=0b00) and hypervisor. */
export const ACC_OS = 2;
/** Hypervisor only (MSR[HV PR]=0b10). */
export const ACC_HV = 3;

export type SprAccess = typeof ACC_UNDEFINED | typeof ACC_USER | typeof ACC_OS | typeof ACC_HV;

/** Behaviour beyond "plain storage". */
export const K_PLAIN = 0;
export const K_DEC = 1;
export const K_HDEC = 2;
export const K_TB = 3;
export const K_TBU = 4;
export const K_TBWL = 5;
export const K_TBWU = 6;
export const K_TBU40 = 7;
export const K_PSSCR_PR = 8;
export const K_PSSCR = 9;
export const K_PVR = 10;
export const K_PIR = 11;
export const K_TIR = 12;
export const K_DPDES = 13;
export const K_PPR = 14;
export const K_PPR32 = 15;
export const K_HMER = 16;
export const K_BESCRS = 17;
export const K_BESCRSU = 18;
export const K_BESCRR = 19;
export const K_BESCRRU = 20;
export const K_AMR_USER = 21;
export const K_AMR_OS = 22;
export const K_UAMOR = 23;
export const K_XER = 24;
export const K_CTRL_READ = 25;
export const K_CTRL_WRITE = 26;
export const K_NOP_WRITE = 27;
export const K_LPCR = 28;
export const K_DHDES = 29;

export interface SprInfo {
  readonly spr: number;
  readonly name: string;
  /** 32 or 64: 32-bit SPRs keep the low word and read zero-extended. */
  readonly width: 32 | 64;
  readonly read: SprAccess;
  readonly write: SprAccess;
  /** Storage slot: aliases (user views, DSCR 3/17 ...) share the canonical register. */
  readonly canonical: number;
  /** FSCR/HFSCR facility bit that gates the access, or -1. */
  readonly facility: number;
  readonly kind: number;
}

const FAC_DSCR = 2;
const FAC_PM = 3;
const FAC_EBB = 7;
const FAC_TAR = 8;

type Row = [spr: number, name: string, width: 32 | 64, read: SprAccess, write: SprAccess, extra?: Extra];
interface Extra {
  canonical?: number;
  facility?: number;
  kind?: number;
}

const U = ACC_USER;
const O = ACC_OS;
const H = ACC_HV;
const X = ACC_UNDEFINED;

const ROWS: Row[] = [
  [1, "XER", 64, U, U, { kind: K_XER }],
  [3, "DSCR", 64, U, U, { canonical: 17, facility: FAC_DSCR }],
  [8, "LR", 64, U, U],
  [9, "CTR", 64, U, U],
  [13, "AMR", 64, U, U, { canonical: 29, kind: K_AMR_USER }],
  [17, "DSCR", 64, O, O, { facility: FAC_DSCR }],
  [18, "DSISR", 32, O, O],
  [19, "DAR", 64, O, O],
  [22, "DEC", 64, O, O, { kind: K_DEC }],
  [26, "SRR0", 64, O, O],
  [27, "SRR1", 64, O, O],
  [28, "CFAR", 64, O, O],
  [29, "AMR", 64, O, O, { kind: K_AMR_OS }],
  [48, "PIDR", 32, O, O],
  [61, "IAMR", 64, O, O, { kind: K_AMR_OS }],
  [136, "CTRL", 32, U, X, { canonical: 152, kind: K_CTRL_READ }],
  [144, "TIDR", 64, O, O],
  [152, "CTRL", 32, X, O, { kind: K_CTRL_WRITE }],
  [153, "FSCR", 64, O, O],
  [157, "UAMOR", 64, O, O, { kind: K_UAMOR }],
  [159, "PSPB", 32, O, O],
  [176, "DPDES", 64, O, H, { kind: K_DPDES }],
  [177, "DHDES", 64, H, H, { kind: K_DHDES }],
  [180, "DAWR0", 64, H, H],
  [186, "RPR", 64, H, H],
  [187, "CIABR", 64, H, H],
  [188, "DAWRX0", 32, H, H],
  [190, "HFSCR", 64, H, H],
  [256, "VRSAVE", 32, U, U],
  [259, "SPRG3", 64, U, X, { canonical: 275 }],
  [268, "TB", 64, U, X, { kind: K_TB }],
  [269, "TBU", 32, U, X, { kind: K_TBU }],
  [272, "SPRG0", 64, O, O],
  [273, "SPRG1", 64, O, O],
  [274, "SPRG2", 64, O, O],
  [275, "SPRG3", 64, O, O],
  [284, "TBL", 32, X, H, { kind: K_TBWL }],
  [285, "TBU", 32, X, H, { kind: K_TBWU }],
  [286, "TBU40", 64, X, H, { kind: K_TBU40 }],
  [287, "PVR", 32, O, X, { kind: K_PVR }],
  [304, "HSPRG0", 64, H, H],
  [305, "HSPRG1", 64, H, H],
  [306, "HDSISR", 32, H, H],
  [307, "HDAR", 64, H, H],
  [308, "SPURR", 64, O, H],
  [309, "PURR", 64, O, H],
  [310, "HDEC", 64, H, H, { kind: K_HDEC }],
  [313, "HRMOR", 64, H, H],
  [314, "HSRR0", 64, H, H],
  [315, "HSRR1", 64, H, H],
  [317, "TFMR", 64, H, H],
  [318, "LPCR", 64, H, H, { kind: K_LPCR }],
  [319, "LPIDR", 32, H, H],
  [336, "HMER", 64, H, H, { kind: K_HMER }],
  [337, "HMEER", 64, H, H],
  [338, "PCR", 64, H, H],
  [339, "HEIR", 32, H, H],
  [349, "AMOR", 64, H, H],
  [446, "TIR", 64, O, X, { kind: K_TIR }],
  [464, "PTCR", 64, H, H],
  // POWER8/9 PMU: 768-782 are the problem-state views of 784-798
  [768, "SIER", 64, U, X, { canonical: 784, facility: FAC_PM }],
  [769, "MMCR2", 64, U, U, { canonical: 785, facility: FAC_PM }],
  [770, "MMCRA", 64, U, U, { canonical: 786, facility: FAC_PM }],
  [771, "PMC1", 32, U, U, { canonical: 787, facility: FAC_PM }],
  [772, "PMC2", 32, U, U, { canonical: 788, facility: FAC_PM }],
  [773, "PMC3", 32, U, U, { canonical: 789, facility: FAC_PM }],
  [774, "PMC4", 32, U, U, { canonical: 790, facility: FAC_PM }],
  [775, "PMC5", 32, U, U, { canonical: 791, facility: FAC_PM }],
  [776, "PMC6", 32, U, U, { canonical: 792, facility: FAC_PM }],
  [779, "MMCR0", 64, U, U, { canonical: 795, facility: FAC_PM }],
  [780, "SIAR", 64, U, X, { canonical: 796, facility: FAC_PM }],
  [781, "SDAR", 64, U, X, { canonical: 797, facility: FAC_PM }],
  [782, "MMCR1", 64, U, X, { canonical: 798, facility: FAC_PM }],
  [784, "SIER", 64, O, O, { facility: FAC_PM }],
  [785, "MMCR2", 64, O, O, { facility: FAC_PM }],
  [786, "MMCRA", 64, O, O, { facility: FAC_PM }],
  [787, "PMC1", 32, O, O, { facility: FAC_PM }],
  [788, "PMC2", 32, O, O, { facility: FAC_PM }],
  [789, "PMC3", 32, O, O, { facility: FAC_PM }],
  [790, "PMC4", 32, O, O, { facility: FAC_PM }],
  [791, "PMC5", 32, O, O, { facility: FAC_PM }],
  [792, "PMC6", 32, O, O, { facility: FAC_PM }],
  [795, "MMCR0", 64, O, O, { facility: FAC_PM }],
  [796, "SIAR", 64, O, O, { facility: FAC_PM }],
  [797, "SDAR", 64, O, O, { facility: FAC_PM }],
  [798, "MMCR1", 64, O, O, { facility: FAC_PM }],
  [799, "IMC", 64, H, H],
  [800, "BESCRS", 64, U, U, { canonical: 806, facility: FAC_EBB, kind: K_BESCRS }],
  [801, "BESCRSU", 32, U, U, { canonical: 806, facility: FAC_EBB, kind: K_BESCRSU }],
  [802, "BESCRR", 64, U, U, { canonical: 806, facility: FAC_EBB, kind: K_BESCRR }],
  [803, "BESCRRU", 32, U, U, { canonical: 806, facility: FAC_EBB, kind: K_BESCRRU }],
  [804, "EBBHR", 64, U, U, { facility: FAC_EBB }],
  [805, "EBBRR", 64, U, U, { facility: FAC_EBB }],
  [806, "BESCR", 64, U, U, { facility: FAC_EBB }],
  [815, "TAR", 64, U, U, { facility: FAC_TAR }],
  [816, "ASDR", 64, H, H],
  [823, "PSSCR", 64, O, O, { canonical: 855, kind: K_PSSCR_PR }],
  [848, "IC", 64, O, H],
  [849, "VTB", 64, O, H],
  [850, "LDBAR", 64, H, X],
  [851, "MMCRC", 32, H, H],
  [853, "PMSR", 32, H, X],
  [855, "PSSCR", 64, H, H, { kind: K_PSSCR }],
  [861, "L2QOSR", 64, X, H],
  [881, "TRIG1", 64, X, O, { kind: K_NOP_WRITE }],
  [882, "TRIG2", 64, X, O, { kind: K_NOP_WRITE }],
  [884, "PMCR", 64, H, H],
  [885, "RWMR", 64, H, H],
  [895, "WORT", 64, O, O],
  [896, "PPR", 64, U, U, { kind: K_PPR }],
  [898, "PPR32", 32, U, U, { canonical: 896, kind: K_PPR32 }],
  [921, "TSCR", 32, H, H],
  [922, "TTR", 64, H, H],
  [1006, "TRACE", 64, X, U, { kind: K_NOP_WRITE }],
  [1008, "HID0", 64, H, H],
  [1023, "PIR", 32, O, X, { kind: K_PIR }],
];

/** Access class for mfspr, indexed by SPR number. */
export const SPR_READ = new Uint8Array(1024);
/** Access class for mtspr, indexed by SPR number. */
export const SPR_WRITE = new Uint8Array(1024);
/** 1 for 32-bit SPRs. */
export const SPR_IS32 = new Uint8Array(1024);
/** Facility bit + 1 (0 = none). */
export const SPR_FACILITY = new Uint8Array(1024);
export const SPR_KIND = new Uint8Array(1024);
export const SPR_CANONICAL = new Uint16Array(1024);

const INFO: (SprInfo | undefined)[] = new Array(1024);

for (const [spr, name, width, read, write, extra] of ROWS) {
  const info: SprInfo = {
    spr,
    name,
    width,
    read,
    write,
    canonical: extra?.canonical ?? spr,
    facility: extra?.facility ?? -1,
    kind: extra?.kind ?? K_PLAIN,
  };
  INFO[spr] = info;
  SPR_READ[spr] = read;
  SPR_WRITE[spr] = write;
  SPR_IS32[spr] = width === 32 ? 1 : 0;
  SPR_FACILITY[spr] = info.facility + 1;
  SPR_KIND[spr] = info.kind;
  SPR_CANONICAL[spr] = info.canonical;
}
for (let i = 0; i < 1024; i++) if (INFO[i] === undefined) SPR_CANONICAL[i] = i;

/** The SPR description, or undefined when the model does not implement that SPR number. */
export function sprInfo(spr: number): SprInfo | undefined {
  return Number.isInteger(spr) && spr >= 0 && spr < 1024 ? INFO[spr] : undefined;
}

/** Every implemented SPR, by number. */
export function implementedSprs(): readonly SprInfo[] {
  return INFO.filter((i): i is SprInfo => i !== undefined);
}

/**
 * True when the SPR number is privileged by encoding: spr[0] (bit 0x10 of the number) = 1
 * (ISA v3.0B Book III: "spr0=1 if and only if writing the register is privileged").
 */
export function sprIsPrivilegedNumber(spr: number): boolean {
  return (spr & 0x10) !== 0;
}
