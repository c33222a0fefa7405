// Architected register numbers, bit masks and interrupt vectors of POWER ISA v3.0B (POWER9).
// Names and values follow linux: arch/powerpc/include/asm/reg.h and
// arch/powerpc/include/asm/kvm_asm.h; public values are bigint (64-bit registers).

// ---------------------------------------------------------------------------------------------
// Special purpose register numbers (linux: arch/powerpc/include/asm/reg.h SPRN_*)
// ---------------------------------------------------------------------------------------------
export const SPRN_XER = 0x001;
export const SPRN_DSCR_USER = 0x003;
export const SPRN_LR = 0x008;
export const SPRN_CTR = 0x009;
export const SPRN_AMR_USER = 0x00d;
export const SPRN_DSCR = 0x011;
export const SPRN_DSISR = 0x012;
export const SPRN_DAR = 0x013;
export const SPRN_DEC = 0x016;
export const SPRN_SRR0 = 0x01a;
export const SPRN_SRR1 = 0x01b;
export const SPRN_CFAR = 0x01c;
export const SPRN_AMR = 0x01d;
/** Process ID register (ISA 3.0 PIDR; linux SPRN_PID). */
export const SPRN_PIDR = 0x030;
export const SPRN_PID = SPRN_PIDR;
export const SPRN_IAMR = 0x03d;
export const SPRN_CTRLF = 0x088;
export const SPRN_TIDR = 144;
export const SPRN_CTRLT = 0x098;
export const SPRN_FSCR = 0x099;
export const SPRN_UAMOR = 0x09d;
export const SPRN_PSPB = 0x09f;
export const SPRN_DPDES = 0x0b0;
export const SPRN_DHDES = 0x0b1;
export const SPRN_DAWR0 = 0x0b4;
export const SPRN_DAWR = SPRN_DAWR0;
export const SPRN_RPR = 0x0ba;
export const SPRN_CIABR = 0x0bb;
export const SPRN_DAWRX0 = 0x0bc;
export const SPRN_DAWRX = SPRN_DAWRX0;
export const SPRN_HFSCR = 0x0be;
export const SPRN_VRSAVE = 0x100;
export const SPRN_USPRG3 = 0x103;
/** Time Base Read Lower: `mftb` is `mfspr RT,268`. */
export const SPRN_TBRL = 0x10c;
export const SPRN_TBRU = 0x10d;
export const SPRN_SPRG0 = 0x110;
export const SPRN_SPRG1 = 0x111;
export const SPRN_SPRG2 = 0x112;
export const SPRN_SPRG3 = 0x113;
export const SPRN_TBWL = 0x11c;
export const SPRN_TBWU = 0x11d;
export const SPRN_TBU40 = 0x11e;
export const SPRN_PVR = 0x11f;
export const SPRN_HSPRG0 = 0x130;
export const SPRN_HSPRG1 = 0x131;
export const SPRN_HDSISR = 0x132;
export const SPRN_HDAR = 0x133;
export const SPRN_SPURR = 0x134;
export const SPRN_PURR = 0x135;
export const SPRN_HDEC = 0x136;
export const SPRN_HRMOR = 0x139;
export const SPRN_HSRR0 = 0x13a;
export const SPRN_HSRR1 = 0x13b;
export const SPRN_TFMR = 0x13d;
export const SPRN_LPCR = 0x13e;
/** Logical partition ID register (linux SPRN_LPID). */
export const SPRN_LPIDR = 0x13f;
export const SPRN_LPID = SPRN_LPIDR;
export const SPRN_HMER = 0x150;
export const SPRN_HMEER = 0x151;
export const SPRN_PCR = 0x152;
export const SPRN_HEIR = 0x153;
export const SPRN_AMOR = 0x15d;
export const SPRN_TIR = 0x1be;
export const SPRN_PTCR = 0x1d0;
export const SPRN_SIER = 784;
export const SPRN_MMCR2 = 785;
export const SPRN_MMCRA = 0x312;
export const SPRN_PMC1 = 787;
export const SPRN_PMC2 = 788;
export const SPRN_PMC3 = 789;
export const SPRN_PMC4 = 790;
export const SPRN_PMC5 = 791;
export const SPRN_PMC6 = 792;
export const SPRN_MMCR0 = 795;
export const SPRN_SIAR = 796;
export const SPRN_SDAR = 797;
export const SPRN_MMCR1 = 798;
export const SPRN_IMC = 799;
export const SPRN_BESCRS = 800;
export const SPRN_BESCRSU = 801;
export const SPRN_BESCRR = 802;
export const SPRN_BESCRRU = 803;
export const SPRN_EBBHR = 804;
export const SPRN_EBBRR = 805;
export const SPRN_BESCR = 806;
export const SPRN_TAR = 0x32f;
export const SPRN_ASDR = 0x330;
/** PSSCR, privileged (guest-kernel) view: only PSSCR_GUEST_VIS fields (ISA 3.0). */
export const SPRN_PSSCR_PR = 0x337;
export const SPRN_IC = 0x350;
export const SPRN_VTB = 0x351;
export const SPRN_LDBAR = 0x352;
export const SPRN_MMCRC = 851;
export const SPRN_PMSR = 0x355;
/** Processor Stop Status and Control Register, full hypervisor view (ISA 3.0). */
export const SPRN_PSSCR = 0x357;
export const SPRN_L2QOSR = 861;
export const SPRN_TRIG1 = 881;
export const SPRN_TRIG2 = 882;
export const SPRN_PMCR = 0x374;
export const SPRN_RWMR = 0x375;
export const SPRN_WORT = 895;
/** Program Priority Register (SMT thread priority). */
export const SPRN_PPR = 0x380;
export const SPRN_PPR32 = 0x382;
export const SPRN_TSCR = 0x399;
export const SPRN_TTR = 0x39a;
export const SPRN_TRACE = 1006;
export const SPRN_HID0 = 0x3f0;
export const SPRN_PIR = 0x3ff;

// ---------------------------------------------------------------------------------------------
// MSR (linux: reg.h MSR_*_LG and MSR_*)
// ---------------------------------------------------------------------------------------------
export const MSR_SF_LG = 63;
export const MSR_HV_LG = 60;
export const MSR_TS_T_LG = 34;
export const MSR_TS_S_LG = 33;
export const MSR_TM_LG = 32;
export const MSR_VEC_LG = 25;
export const MSR_VSX_LG = 23;
export const MSR_EE_LG = 15;
export const MSR_PR_LG = 14;
export const MSR_FP_LG = 13;
export const MSR_ME_LG = 12;
export const MSR_FE0_LG = 11;
export const MSR_SE_LG = 10;
export const MSR_BE_LG = 9;
export const MSR_FE1_LG = 8;
export const MSR_IR_LG = 5;
export const MSR_DR_LG = 4;
export const MSR_PMM_LG = 2;
export const MSR_RI_LG = 1;
export const MSR_LE_LG = 0;

export const MSR_SF = 1n << 63n;
export const MSR_HV = 1n << 60n;
export const MSR_TS_T = 1n << 34n;
export const MSR_TS_S = 1n << 33n;
export const MSR_TS_MASK = MSR_TS_T | MSR_TS_S;
export const MSR_TM = 1n << 32n;
export const MSR_VEC = 1n << 25n;
export const MSR_VSX = 1n << 23n;
export const MSR_EE = 1n << 15n;
export const MSR_PR = 1n << 14n;
export const MSR_FP = 1n << 13n;
export const MSR_ME = 1n << 12n;
export const MSR_FE0 = 1n << 11n;
export const MSR_SE = 1n << 10n;
export const MSR_BE = 1n << 9n;
export const MSR_FE1 = 1n << 8n;
export const MSR_IR = 1n << 5n;
export const MSR_DR = 1n << 4n;
export const MSR_PMM = 1n << 2n;
export const MSR_RI = 1n << 1n;
export const MSR_LE = 1n << 0n;
/** MSR of a 64-bit little-endian hypervisor kernel with translation on (linux MSR_KERNEL + HV). */
export const MSR_KERNEL = MSR_SF | MSR_HV | MSR_ME | MSR_RI | MSR_IR | MSR_DR | MSR_LE;
/** MSR value Linux uses for its idle code: real mode, hypervisor (linux MSR_IDLE, LE). */
export const MSR_IDLE = MSR_ME | MSR_SF | MSR_HV | MSR_LE;

// ---------------------------------------------------------------------------------------------
// PSSCR (linux: reg.h "Power Management - Processor Stop Status and Control Register Fields")
// ---------------------------------------------------------------------------------------------
export const PSSCR_RL_MASK = 0x000000000000000fn;
export const PSSCR_MTL_MASK = 0x00000000000000f0n;
export const PSSCR_TR_MASK = 0x0000000000000300n;
export const PSSCR_PSLL_MASK = 0x00000000000f0000n;
export const PSSCR_EC = 0x0000000000100000n;
export const PSSCR_ESL = 0x0000000000200000n;
export const PSSCR_SD = 0x0000000000400000n;
export const PSSCR_PLS = 0xf000000000000000n;
export const PSSCR_GUEST_VIS = 0xf0000000000003ffn;
export const PSSCR_MTL_SHIFT = 4n;
export const PSSCR_TR_SHIFT = 8n;
export const PSSCR_PSLL_SHIFT = 16n;
export const PSSCR_PLS_SHIFT = 60n;
/** PSSCR bits software can write through SPR 855 (PLS is status, read-only; the rest reserved). */
export const PSSCR_HV_WRITABLE = PSSCR_SD | PSSCR_ESL | PSSCR_EC | PSSCR_PSLL_MASK | 0x3ffn;
/** PSSCR bits a guest kernel can write through SPR 823: RL, MTL, TR (PLS is read-only). */
export const PSSCR_GUEST_WRITABLE = PSSCR_GUEST_VIS & ~PSSCR_PLS;

// ---------------------------------------------------------------------------------------------
// LPCR (linux: reg.h LPCR_*)
// ---------------------------------------------------------------------------------------------
export const LPCR_VPM0 = 0x8000000000000000n;
export const LPCR_VPM1 = 0x4000000000000000n;
export const LPCR_ISL = 0x2000000000000000n;
export const LPCR_DPFD_SH = 52n;
export const LPCR_DPFD = 7n << LPCR_DPFD_SH;
export const LPCR_VRMASD_SH = 47n;
export const LPCR_VRMASD = 0x1fn << LPCR_VRMASD_SH;
/** P9: Hypervisor Virtualization Exit Enable: hypervisor exceptions wake a thread stopped with MSR[HV]=0. */
export const LPCR_PECE_HVEE = 0x0000400000000000n;
export const LPCR_ILE = 0x0000000002000000n;
export const LPCR_AIL = 0x0000000001800000n;
export const LPCR_AIL_0 = 0x0000000000000000n;
export const LPCR_AIL_3 = 0x0000000001800000n;
export const LPCR_UPRT = 0x0000000000400000n;
export const LPCR_HR = 0x0000000000100000n;
export const LPCR_ONL = 0x0000000000040000n;
/** Large decrementer (DEC is 56 bits wide instead of 32). */
export const LPCR_LD = 0x0000000000020000n;
export const LPCR_PECE = 0x000000000001f000n;
/** Directed privileged doorbells cause exit from power saving. */
export const LPCR_PECEDP = 0x0000000000010000n;
/** Directed hypervisor doorbells cause exit. */
export const LPCR_PECEDH = 0x0000000000008000n;
/** External exceptions (and hypervisor virtualization exceptions) cause exit. */
export const LPCR_PECE0 = 0x0000000000004000n;
/** Decrementer exceptions cause exit. */
export const LPCR_PECE1 = 0x0000000000002000n;
/** Machine check and other exceptions cause exit. */
export const LPCR_PECE2 = 0x0000000000001000n;
export const LPCR_MER = 0x0000000000000800n;
export const LPCR_GTSE = 0x0000000000000400n;
export const LPCR_TC = 0x0000000000000200n;
export const LPCR_HEIC = 0x0000000000000010n;
export const LPCR_LPES = 0x000000000000000cn;
/** LPES0: 1 = external interrupts go to the OS (SRR0/1); 0 = to the hypervisor (HSRR0/1). */
export const LPCR_LPES0 = 0x0000000000000008n;
export const LPCR_LPES1 = 0x0000000000000004n;
/** P9: hypervisor virtualization interrupt enable. */
export const LPCR_HVICE = 0x0000000000000002n;
/** Hypervisor decrementer interrupt enable. */
export const LPCR_HDICE = 0x0000000000000001n;

// ---------------------------------------------------------------------------------------------
// FSCR / HFSCR (linux: reg.h "HFSCR and FSCR bit numbers are the same")
// ---------------------------------------------------------------------------------------------
export const FSCR_PREFIX_LG = 13;
export const FSCR_SCV_LG = 12;
export const FSCR_MSGP_LG = 10;
/**
 * Interrupt cause of a Hypervisor Facility Unavailable interrupt taken by a guest `stop` while
 * PSSCR[ESL|EC] is set. Source: the RFC patch "powerpc/kvm: Handle H_FAC_UNAVAIL when guest
 * executes stop" (linuxppc-dev, 2020-03-31) adds `#define FSCR_STOP_LG 9` ("Enable stop states")
 * and matches `(vcpu->arch.hfscr >> 56) == FSCR_STOP_LG` in kvmppc_handle_exit_hv.
 */
export const FSCR_STOP_LG = 9;
export const FSCR_TAR_LG = 8;
export const FSCR_EBB_LG = 7;
export const FSCR_TM_LG = 5;
export const FSCR_BHRB_LG = 4;
export const FSCR_PM_LG = 3;
export const FSCR_DSCR_LG = 2;
export const FSCR_VECVSX_LG = 1;
export const FSCR_FP_LG = 0;
export const FSCR_SCV = 1n << 12n;
export const FSCR_MSGP = 1n << 10n;
export const FSCR_TAR = 1n << 8n;
export const FSCR_EBB = 1n << 7n;
export const FSCR_DSCR = 1n << 2n;
/** Interrupt cause field (IC, bits 0:7) of FSCR and HFSCR. */
export const FSCR_INTR_CAUSE = 0xffn << 56n;
export const HFSCR_INTR_CAUSE = FSCR_INTR_CAUSE;
export const HFSCR_MSGP = 1n << 10n;
export const HFSCR_TAR = 1n << 8n;
export const HFSCR_EBB = 1n << 7n;
export const HFSCR_TM = 1n << 5n;
export const HFSCR_PM = 1n << 3n;
export const HFSCR_BHRB = 1n << 4n;
export const HFSCR_DSCR = 1n << 2n;
export const HFSCR_VECVSX = 1n << 1n;
export const HFSCR_FP = 1n << 0n;

// ---------------------------------------------------------------------------------------------
// SRR1 interrupt-specific bits (linux: reg.h SRR1_*)
// ---------------------------------------------------------------------------------------------
export const SRR1_WAKEMASK = 0x00380000n;
/** Wake reason field on POWER8 and POWER9 (SRR1[42:45]). */
export const SRR1_WAKEMASK_P8 = 0x003c0000n;
export const SRR1_WAKESYSERR = 0x00300000n;
export const SRR1_WAKEEE = 0x00200000n;
export const SRR1_WAKEHVI = 0x00240000n;
export const SRR1_WAKEMT = 0x00280000n;
export const SRR1_WAKEHMI = 0x00280000n;
export const SRR1_WAKEDEC = 0x00180000n;
export const SRR1_WAKEDBELL = 0x00140000n;
export const SRR1_WAKETHERM = 0x00100000n;
export const SRR1_WAKERESET = 0x00100000n;
export const SRR1_WAKEHDBELL = 0x000c0000n;
/** Power-saving exit state field (SRR1[46:47]). */
export const SRR1_WAKESTATE = 0x00030000n;
export const SRR1_WS_HVLOSS = 0x00030000n;
export const SRR1_WS_GPRLOSS = 0x00020000n;
export const SRR1_WS_NOLOSS = 0x00010000n;
export const SRR1_PROGTM = 0x00200000n;
export const SRR1_PROGFPE = 0x00100000n;
export const SRR1_PROGILL = 0x00080000n;
export const SRR1_PROGPRIV = 0x00040000n;
export const SRR1_PROGTRAP = 0x00020000n;
export const SRR1_PROGADDR = 0x00010000n;

/** DSISR bit: no translation / no partition-scope mapping (linux DSISR_NOHPTE). */
export const DSISR_NOHPTE = 0x40000000n;

// ---------------------------------------------------------------------------------------------
// Interrupt vectors (linux: arch/powerpc/include/asm/kvm_asm.h BOOK3S_INTERRUPT_*)
// ---------------------------------------------------------------------------------------------
export const BOOK3S_INTERRUPT_SYSTEM_RESET = 0x100;
export const BOOK3S_INTERRUPT_MACHINE_CHECK = 0x200;
export const BOOK3S_INTERRUPT_DATA_STORAGE = 0x300;
export const BOOK3S_INTERRUPT_DATA_SEGMENT = 0x380;
export const BOOK3S_INTERRUPT_INST_STORAGE = 0x400;
export const BOOK3S_INTERRUPT_INST_SEGMENT = 0x480;
export const BOOK3S_INTERRUPT_EXTERNAL = 0x500;
export const BOOK3S_INTERRUPT_EXTERNAL_HV = 0x502;
export const BOOK3S_INTERRUPT_ALIGNMENT = 0x600;
export const BOOK3S_INTERRUPT_PROGRAM = 0x700;
export const BOOK3S_INTERRUPT_FP_UNAVAIL = 0x800;
export const BOOK3S_INTERRUPT_DECREMENTER = 0x900;
export const BOOK3S_INTERRUPT_HV_DECREMENTER = 0x980;
export const BOOK3S_INTERRUPT_DOORBELL = 0xa00;
export const BOOK3S_INTERRUPT_SYSCALL = 0xc00;
export const BOOK3S_INTERRUPT_TRACE = 0xd00;
export const BOOK3S_INTERRUPT_H_DATA_STORAGE = 0xe00;
export const BOOK3S_INTERRUPT_H_INST_STORAGE = 0xe20;
export const BOOK3S_INTERRUPT_H_EMUL_ASSIST = 0xe40;
export const BOOK3S_INTERRUPT_HMI = 0xe60;
export const BOOK3S_INTERRUPT_H_DOORBELL = 0xe80;
export const BOOK3S_INTERRUPT_H_VIRT = 0xea0;
export const BOOK3S_INTERRUPT_PERFMON = 0xf00;
export const BOOK3S_INTERRUPT_ALTIVEC = 0xf20;
export const BOOK3S_INTERRUPT_VSX = 0xf40;
export const BOOK3S_INTERRUPT_FAC_UNAVAIL = 0xf60;
export const BOOK3S_INTERRUPT_H_FAC_UNAVAIL = 0xf80;

/** Vectors delivered to the hypervisor ("hv") software: they set MSR[HV]=1. */
export const HV_VECTORS: ReadonlySet<number> = new Set([
  BOOK3S_INTERRUPT_SYSTEM_RESET,
  BOOK3S_INTERRUPT_MACHINE_CHECK,
  BOOK3S_INTERRUPT_HV_DECREMENTER,
  BOOK3S_INTERRUPT_H_DATA_STORAGE,
  BOOK3S_INTERRUPT_H_INST_STORAGE,
  BOOK3S_INTERRUPT_H_EMUL_ASSIST,
  BOOK3S_INTERRUPT_HMI,
  BOOK3S_INTERRUPT_H_DOORBELL,
  BOOK3S_INTERRUPT_H_VIRT,
  BOOK3S_INTERRUPT_H_FAC_UNAVAIL,
]);

// ---------------------------------------------------------------------------------------------
// Doorbell messages (linux: arch/powerpc/include/asm/dbell.h)
// ---------------------------------------------------------------------------------------------
export const PPC_DBELL_MSG_BRDCAST = 0x04000000n;
/** Message type field: rB[32:36]. */
export const PPC_DBELL_TYPE_SHIFT = 27n;
/** Server doorbell type used by msgsnd/msgsndp on POWER8/9 (linux PPC_DBELL_SERVER). */
export const PPC_DBELL_SERVER = 5n;
/** msgsnd target: PIR in rB[49:63]. */
export const PPC_DBELL_PIR_MASK = 0x7fffn;
/** msgsndp target: thread in rB[57:63]. */
export const PPC_DBELL_TIR_MASK = 0x7fn;

/** Builds the rB operand of msgsnd (hypervisor doorbell to a thread by PIR). */
export function dbellServerMessage(target: number): bigint {
  return (PPC_DBELL_SERVER << PPC_DBELL_TYPE_SHIFT) | (BigInt(target) & PPC_DBELL_PIR_MASK);
}

// ---------------------------------------------------------------------------------------------
// Program Priority Register (ISA 3.0 Book II 3.2 "or Rx,Rx,Rx" priority hints)
// ---------------------------------------------------------------------------------------------
/** PPR[PRI] field, bits 11:13. */
export const PPR_PRI_SHIFT = 50n;
export const PPR_PRI_MASK = 7n << PPR_PRI_SHIFT;
export const PPR_PRIO_VERY_LOW = 1;
export const PPR_PRIO_LOW = 2;
export const PPR_PRIO_MEDIUM_LOW = 3;
export const PPR_PRIO_MEDIUM = 4;
export const PPR_PRIO_MEDIUM_HIGH = 5;
export const PPR_PRIO_HIGH = 6;
export const PPR_PRIO_VERY_HIGH = 7;

// ---------------------------------------------------------------------------------------------
// PSSCR field helpers
// ---------------------------------------------------------------------------------------------
export class RegisterValueError extends RangeError {
  override readonly name = "RegisterValueError";
}

const U64 = (1n << 64n) - 1n;

/** Checks that `value` fits an unsigned 64-bit register; throws RegisterValueError otherwise. */
export function checkU64(value: bigint, what: string): bigint {
  if (!isU64(value)) {
    throw new RegisterValueError(
      `${what}: ${String(value)} is not an unsigned 64-bit value; pass a bigint in 0..0xffffffffffffffffn (use BigInt.asUintN(64, v) for negative values)`,
    );
  }
  return value;
}

/** Whether `value` is a bigint in 0..2^64-1 (checkU64 without building its message). */
export function isU64(value: bigint): boolean {
  return typeof value === "bigint" && value >= 0n && value <= U64;
}

function checkField(value: number, max: number, what: string): bigint {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RegisterValueError(`${what} must be an integer in 0..${max}, got ${String(value)}`);
  }
  return BigInt(value);
}

export const psscrRl = (psscr: bigint): number => Number(psscr & PSSCR_RL_MASK);
export const psscrMtl = (psscr: bigint): number => Number((psscr & PSSCR_MTL_MASK) >> PSSCR_MTL_SHIFT);
export const psscrTr = (psscr: bigint): number => Number((psscr & PSSCR_TR_MASK) >> PSSCR_TR_SHIFT);
export const psscrPsll = (psscr: bigint): number => Number((psscr & PSSCR_PSLL_MASK) >> PSSCR_PSLL_SHIFT);
export const psscrPls = (psscr: bigint): number => Number((psscr & PSSCR_PLS) >> PSSCR_PLS_SHIFT);
export const psscrEsl = (psscr: bigint): boolean => (psscr & PSSCR_ESL) !== 0n;
export const psscrEc = (psscr: bigint): boolean => (psscr & PSSCR_EC) !== 0n;
export const psscrSd = (psscr: bigint): boolean => (psscr & PSSCR_SD) !== 0n;

export const setPsscrRl = (psscr: bigint, rl: number): bigint =>
  (psscr & ~PSSCR_RL_MASK) | checkField(rl, 15, "PSSCR[RL]");
export const setPsscrMtl = (psscr: bigint, mtl: number): bigint =>
  (psscr & ~PSSCR_MTL_MASK) | (checkField(mtl, 15, "PSSCR[MTL]") << PSSCR_MTL_SHIFT);
export const setPsscrTr = (psscr: bigint, tr: number): bigint =>
  (psscr & ~PSSCR_TR_MASK) | (checkField(tr, 3, "PSSCR[TR]") << PSSCR_TR_SHIFT);
export const setPsscrPsll = (psscr: bigint, psll: number): bigint =>
  (psscr & ~PSSCR_PSLL_MASK) | (checkField(psll, 15, "PSSCR[PSLL]") << PSSCR_PSLL_SHIFT);
export const setPsscrPls = (psscr: bigint, pls: number): bigint =>
  (psscr & ~PSSCR_PLS) | (checkField(pls, 15, "PSSCR[PLS]") << PSSCR_PLS_SHIFT);
export const setPsscrEsl = (psscr: bigint, on: boolean): bigint =>
  on ? psscr | PSSCR_ESL : psscr & ~PSSCR_ESL;
export const setPsscrEc = (psscr: bigint, on: boolean): bigint => (on ? psscr | PSSCR_EC : psscr & ~PSSCR_EC);
export const setPsscrSd = (psscr: bigint, on: boolean): bigint => (on ? psscr | PSSCR_SD : psscr & ~PSSCR_SD);

export interface PsscrFields {
  rl: number;
  mtl: number;
  tr?: number;
  psll: number;
  esl: boolean;
  ec: boolean;
  sd?: boolean;
}

/** Composes a PSSCR value from its fields (PLS left 0: it is status). */
export function makePsscr(f: PsscrFields): bigint {
  let v = 0n;
  v = setPsscrRl(v, f.rl);
  v = setPsscrMtl(v, f.mtl);
  v = setPsscrTr(v, f.tr ?? 0);
  v = setPsscrPsll(v, f.psll);
  v = setPsscrEsl(v, f.esl);
  v = setPsscrEc(v, f.ec);
  v = setPsscrSd(v, f.sd ?? false);
  return v;
}
