// KVM userspace API constants (capabilities, exit reasons, ONE_REG ids), PAPR hypercall numbers
// and return codes, and the errno values the ioctl-shaped API returns.
// Sources: linux: include/uapi/linux/kvm.h, arch/powerpc/include/uapi/asm/kvm.h,
// arch/powerpc/include/asm/hvcall.h, include/uapi/asm-generic/errno-base.h.

// ---------------------------------------------------------------------------------------------
// errno (linux: include/uapi/asm-generic/errno-base.h). The API returns them negated, like the
// kernel's ioctl handlers.
// ---------------------------------------------------------------------------------------------
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const E2BIG = 7;
export const EBADF = 9;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const ENXIO = 6;
export const EINVAL = 22;
export const ENOSPC = 28;
export const EOPNOTSUPP = 95;

// ---------------------------------------------------------------------------------------------
// Capabilities (linux: include/uapi/linux/kvm.h "Extension capability list")
// ---------------------------------------------------------------------------------------------
export const KVM_CAP_IRQCHIP = 0;
export const KVM_CAP_USER_MEMORY = 3;
export const KVM_CAP_NR_VCPUS = 9;
export const KVM_CAP_NR_MEMSLOTS = 10;
export const KVM_CAP_SYNC_MMU = 16;
export const KVM_CAP_PPC_SEGSTATE = 43;
export const KVM_CAP_PPC_UNSET_IRQ = 53;
export const KVM_CAP_ENABLE_CAP = 54;
export const KVM_CAP_PPC_GET_PVINFO = 57;
export const KVM_CAP_PPC_IRQ_LEVEL = 58;
export const KVM_CAP_SPAPR_TCE = 63;
export const KVM_CAP_PPC_SMT = 64;
export const KVM_CAP_PPC_RMA = 65;
export const KVM_CAP_MAX_VCPUS = 66;
export const KVM_CAP_PPC_HIOR = 67;
export const KVM_CAP_PPC_PAPR = 68;
export const KVM_CAP_ONE_REG = 70;
export const KVM_CAP_PPC_GET_SMMU_INFO = 78;
export const KVM_CAP_PPC_ALLOC_HTAB = 80;
export const KVM_CAP_PPC_HTAB_FD = 84;
export const KVM_CAP_PPC_RTAS = 91;
export const KVM_CAP_IRQ_XICS = 92;
export const KVM_CAP_ENABLE_CAP_VM = 98;
export const KVM_CAP_PPC_FIXUP_HCALL = 103;
export const KVM_CAP_PPC_ENABLE_HCALL = 104;
export const KVM_CAP_CHECK_EXTENSION_VM = 105;
export const KVM_CAP_MAX_VCPU_ID = 128;
export const KVM_CAP_PPC_HTM = 132;
export const KVM_CAP_PPC_MMU_RADIX = 134;
export const KVM_CAP_PPC_MMU_HASH_V3 = 135;
export const KVM_CAP_IMMEDIATE_EXIT = 136;
export const KVM_CAP_PPC_FWNMI = 146;
export const KVM_CAP_PPC_SMT_POSSIBLE = 147;
export const KVM_CAP_PPC_GET_CPU_CHAR = 151;
export const KVM_CAP_PPC_NESTED_HV = 160;
export const KVM_CAP_PPC_IRQ_XIVE = 169;
export const KVM_CAP_PPC_SECURE_GUEST = 181;

/**
 * NEW IN THIS DESIGN, not in any upstream kernel: the host-probed design's capability
 * ("kvm_vm_ioctl_check_extension: KVM_CAP_STOP returns true iff enable_guest_stop", linuxppc-dev
 * 2020-04-03). Real capability numbers are small consecutive integers (below 300 in 2024); this
 * value lives in a range the kernel never allocates so it cannot collide with one.
 */
export const KVM_CAP_STOP = 0x53540001;

/**
 * NEW IN THIS DESIGN, not in any upstream kernel: the spapr-capability design's query "does this
 * KVM handle guest use of the lite `stop` instruction" (PSSCR[ESL|EC] cleared natively on hosts
 * with idle-stop-guest, trap + emulated wakeup elsewhere). QEMU's cap-stop-lite apply hook checks
 * it. Returns 0 (unsupported) or a non-zero mask of KVM_PPC_GUEST_STOP_* flags.
 */
export const KVM_CAP_PPC_GUEST_STOP = 0x53540002;
/** KVM_CAP_PPC_GUEST_STOP flag: a trapped guest stop is emulated (patch 1 of the series). */
export const KVM_PPC_GUEST_STOP_EMULATED = 1;
/** KVM_CAP_PPC_GUEST_STOP flag: guests run with PSSCR[ESL|EC] clear on this host (native stop). */
export const KVM_PPC_GUEST_STOP_NATIVE = 2;

// ---------------------------------------------------------------------------------------------
// Exit reasons (linux: include/uapi/linux/kvm.h KVM_EXIT_*)
// ---------------------------------------------------------------------------------------------
export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_EXCEPTION = 1;
export const KVM_EXIT_DEBUG = 4;
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_SHUTDOWN = 8;
export const KVM_EXIT_FAIL_ENTRY = 9;
export const KVM_EXIT_INTR = 10;
export const KVM_EXIT_INTERNAL_ERROR = 17;
export const KVM_EXIT_PAPR_HCALL = 19;
export const KVM_EXIT_SYSTEM_EVENT = 24;
/** KVM_EXIT_INTERNAL_ERROR suberror: emulation failed. */
export const KVM_INTERNAL_ERROR_EMULATION = 1;

/** KVM_CREATE_VM machine types on powerpc (linux: include/uapi/linux/kvm.h). */
export const KVM_VM_PPC_HV = 1;
export const KVM_VM_PPC_PR = 2;

/** KVM_INTERRUPT irq values (linux: arch/powerpc/include/uapi/asm/kvm.h). */
export const KVM_INTERRUPT_SET = -1;
export const KVM_INTERRUPT_UNSET = -2;
export const KVM_INTERRUPT_SET_LEVEL = -3;

// ---------------------------------------------------------------------------------------------
// ONE_REG ids (linux: include/uapi/linux/kvm.h KVM_REG_*, arch/powerpc/include/uapi/asm/kvm.h)
// ---------------------------------------------------------------------------------------------
export const KVM_REG_PPC = 0x1000000000000000n;
export const KVM_REG_ARCH_MASK = 0xff00000000000000n;
export const KVM_REG_SIZE_SHIFT = 52n;
export const KVM_REG_SIZE_MASK = 0x00f0000000000000n;
export const KVM_REG_SIZE_U32 = 0x0020000000000000n;
export const KVM_REG_SIZE_U64 = 0x0030000000000000n;
export const KVM_REG_SIZE_U128 = 0x0040000000000000n;

const u64 = (n: number): bigint => KVM_REG_PPC | KVM_REG_SIZE_U64 | BigInt(n);
const u32 = (n: number): bigint => KVM_REG_PPC | KVM_REG_SIZE_U32 | BigInt(n);

export const KVM_REG_PPC_HIOR = u64(0x1);
export const KVM_REG_PPC_DABR = u64(0x8);
export const KVM_REG_PPC_DSCR = u64(0x9);
export const KVM_REG_PPC_PURR = u64(0xa);
export const KVM_REG_PPC_SPURR = u64(0xb);
export const KVM_REG_PPC_DAR = u64(0xc);
export const KVM_REG_PPC_DSISR = u32(0xd);
export const KVM_REG_PPC_AMR = u64(0xe);
export const KVM_REG_PPC_UAMOR = u64(0xf);
export const KVM_REG_PPC_MMCR0 = u64(0x10);
export const KVM_REG_PPC_MMCR1 = u64(0x11);
export const KVM_REG_PPC_MMCRA = u64(0x12);
export const KVM_REG_PPC_MMCR2 = u64(0x13);
export const KVM_REG_PPC_SIAR = u64(0x15);
export const KVM_REG_PPC_SDAR = u64(0x16);
export const KVM_REG_PPC_SIER = u64(0x17);
export const KVM_REG_PPC_PMC1 = u32(0x18);
export const KVM_REG_PPC_PMC2 = u32(0x19);
export const KVM_REG_PPC_PMC3 = u32(0x1a);
export const KVM_REG_PPC_PMC4 = u32(0x1b);
export const KVM_REG_PPC_PMC5 = u32(0x1c);
export const KVM_REG_PPC_PMC6 = u32(0x1d);
export const KVM_REG_PPC_VPA_ADDR = u64(0x82);
export const KVM_REG_PPC_TB_OFFSET = u64(0x9c);
export const KVM_REG_PPC_IAMR = u64(0x9f);
export const KVM_REG_PPC_FSCR = u64(0xa3);
export const KVM_REG_PPC_PSPB = u32(0xa4);
export const KVM_REG_PPC_EBBHR = u64(0xa5);
export const KVM_REG_PPC_EBBRR = u64(0xa6);
export const KVM_REG_PPC_BESCR = u64(0xa7);
export const KVM_REG_PPC_TAR = u64(0xa8);
export const KVM_REG_PPC_DPDES = u64(0xa9);
export const KVM_REG_PPC_DAWR = u64(0xaa);
export const KVM_REG_PPC_DAWRX = u64(0xab);
export const KVM_REG_PPC_CIABR = u64(0xac);
export const KVM_REG_PPC_IC = u64(0xad);
export const KVM_REG_PPC_VTB = u64(0xae);
export const KVM_REG_PPC_PID = u64(0xb2);
export const KVM_REG_PPC_VRSAVE = u32(0xb4);
export const KVM_REG_PPC_LPCR = u32(0xb5);
export const KVM_REG_PPC_LPCR_64 = u64(0xb5);
export const KVM_REG_PPC_PPR = u64(0xb6);
export const KVM_REG_PPC_ARCH_COMPAT = u32(0xb7);
export const KVM_REG_PPC_WORT = u64(0xb9);
export const KVM_REG_PPC_TIDR = u64(0xbc);
export const KVM_REG_PPC_PSSCR = u64(0xbd);
export const KVM_REG_PPC_DEC_EXPIRY = u64(0xbe);
export const KVM_REG_PPC_ONLINE = u32(0xbf);

/**
 * struct kvm_ppc_cpu_char bits (linux: arch/powerpc/include/uapi/asm/kvm.h, IBM bit numbering:
 * bit 0 is the most significant). The answer of KVM_PPC_GET_CPU_CHAR.
 */
export const KVM_PPC_CPU_CHAR_SPEC_BAR_ORI31 = 1n << 63n;
export const KVM_PPC_CPU_CHAR_BCCTRL_SERIALISED = 1n << 62n;
export const KVM_PPC_CPU_CHAR_L1D_FLUSH_ORI30 = 1n << 61n;
export const KVM_PPC_CPU_CHAR_L1D_FLUSH_TRIG2 = 1n << 60n;
export const KVM_PPC_CPU_CHAR_L1D_THREAD_PRIV = 1n << 59n;
export const KVM_PPC_CPU_CHAR_BR_HINT_HONOURED = 1n << 58n;
export const KVM_PPC_CPU_CHAR_MTTRIG_THR_RECONF = 1n << 57n;
export const KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS = 1n << 56n;
export const KVM_PPC_CPU_CHAR_BCCTR_FLUSH_ASSIST = 1n << 54n;
export const KVM_PPC_CPU_BEHAV_FAVOUR_SECURITY = 1n << 63n;
export const KVM_PPC_CPU_BEHAV_L1D_FLUSH_PR = 1n << 62n;
export const KVM_PPC_CPU_BEHAV_BNDS_CHK_SPEC_BAR = 1n << 61n;
export const KVM_PPC_CPU_BEHAV_FLUSH_COUNT_CACHE = 1n << 58n;

/** Size in bytes of a ONE_REG id (linux: arch/powerpc/kvm/powerpc.c one_reg_size). */
export function oneRegSize(id: bigint): number {
  return 1 << Number((BigInt.asUintN(64, id) & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

/** Logical PVR values for KVM_REG_PPC_ARCH_COMPAT (linux: arch/powerpc/include/asm/reg.h). */
export const PVR_ARCH_205 = 0x0f000002;
export const PVR_ARCH_206 = 0x0f000003;
export const PVR_ARCH_206p = 0x0f100003;
export const PVR_ARCH_207 = 0x0f000004;
export const PVR_ARCH_300 = 0x0f000005;

// ---------------------------------------------------------------------------------------------
// PAPR hypercalls (linux: arch/powerpc/include/asm/hvcall.h)
// ---------------------------------------------------------------------------------------------
export const H_SUCCESS = 0;
export const H_BUSY = 1;
export const H_HARDWARE = -1;
export const H_FUNCTION = -2;
export const H_PRIVILEGE = -3;
export const H_PARAMETER = -4;
export const H_RESOURCE = -16;
export const H_TOO_HARD = 9999;

export const H_REMOVE = 0x04;
export const H_ENTER = 0x08;
export const H_READ = 0x0c;
export const H_CLEAR_MOD = 0x10;
export const H_CLEAR_REF = 0x14;
export const H_PROTECT = 0x18;
export const H_GET_TCE = 0x1c;
export const H_PUT_TCE = 0x20;
export const H_SET_SPRG0 = 0x24;
export const H_SET_DABR = 0x28;
export const H_PAGE_INIT = 0x2c;
export const H_SET_ASR = 0x30;
export const H_ASR_ON = 0x34;
export const H_ASR_OFF = 0x38;
export const H_LOGICAL_CI_LOAD = 0x3c;
export const H_LOGICAL_CI_STORE = 0x40;
export const H_EOI = 0x64;
export const H_CPPR = 0x68;
export const H_IPI = 0x6c;
export const H_IPOLL = 0x70;
export const H_XIRR = 0x74;
export const H_PERFMON = 0x7c;
export const H_REGISTER_VPA = 0xdc;
/** H_REGISTER_VPA sub-functions in flags bits 45-47 (linux: hvcall.h H_VPA_FUNC_SHIFT/MASK). */
export const H_VPA_FUNC_SHIFT = 45n;
export const H_VPA_FUNC_MASK = 7n;
export const H_VPA_REG_VPA = 1;
export const H_VPA_REG_DTL = 2;
export const H_VPA_REG_SLB = 3;
export const H_VPA_DEREG_VPA = 5;
export const H_VPA_DEREG_DTL = 6;
export const H_VPA_DEREG_SLB = 7;
/** struct lppaca: 640 bytes (BUILD_BUG_ON in do_h_register_vpa); __old_status is byte 9. */
export const LPPACA_USED_SIZE = 640;
export const LPPACA_OLD_STATUS_OFFSET = 9;
/** linux: arch/powerpc/include/asm/lppaca.h LPPACA_OLD_SHARED_PROC */
export const LPPACA_OLD_SHARED_PROC = 0x2;
/** L1_CACHE_BYTES on ppc64: a VPA must be cache-line aligned (do_h_register_vpa). */
export const L1_CACHE_BYTES = 128;
export const H_CEDE = 0xe0;
export const H_CONFER = 0xe4;
export const H_PROD = 0xe8;
export const H_GET_PPP = 0xec;
export const H_SET_PPP = 0xf0;
export const H_BULK_REMOVE = 0x24c;
export const H_XIRR_X = 0x2fc;
export const H_RANDOM = 0x300;
export const H_SET_MODE = 0x31c;
export const H_GET_CPU_CHARACTERISTICS = 0x1c8;
/** H_SCM_HEALTH, the last hcall of the 2020 table. */
export const H_SCM_HEALTH = 0x400;
/** Highest hcall number KVM tracks in its enabled-hcall bitmap (linux v5.7: H_SCM_HEALTH). */
export const MAX_HCALL_OPCODE = H_SCM_HEALTH;
/** QEMU-private hcall range (linux: hvcall.h KVMPPC_HCALL_BASE; qemu: include/hw/ppc/spapr.h). */
export const KVMPPC_HCALL_BASE = 0xf000;
/** RTAS entry through an hcall (qemu: include/hw/ppc/spapr.h KVMPPC_H_RTAS). */
export const H_RTAS = 0xf000;

/** XICS interrupt source number of the inter-processor interrupt (linux: asm/xics.h XICS_IPI). */
export const XICS_IPI = 2;
/** Least favoured XICS priority: no interrupt accepted (linux: asm/xics.h LOWEST_PRIORITY). */
export const XICS_LOWEST_PRIORITY = 0xff;
/** Priority Linux gives IPIs (linux: asm/xics.h IPI_PRIORITY). */
export const XICS_IPI_PRIORITY = 4;

// ---------------------------------------------------------------------------------------------
// The XIVE native device (linux: include/uapi/linux/kvm.h enum kvm_device_type,
// arch/powerpc/include/uapi/asm/kvm.h "POWER9 XIVE Native Interrupt Controller")
// ---------------------------------------------------------------------------------------------
export const KVM_DEV_TYPE_XICS = 3;
export const KVM_DEV_TYPE_XIVE = 9;
export const KVM_DEV_XIVE_GRP_CTRL = 1;
export const KVM_DEV_XIVE_RESET = 1;
export const KVM_DEV_XIVE_EQ_SYNC = 2;
export const KVM_DEV_XIVE_NR_SERVERS = 3;
export const KVM_DEV_XIVE_GRP_SOURCE = 2;
export const KVM_DEV_XIVE_GRP_SOURCE_CONFIG = 3;
export const KVM_DEV_XIVE_GRP_EQ_CONFIG = 4;
export const KVM_DEV_XIVE_GRP_SOURCE_SYNC = 5;
export const KVM_XIVE_LEVEL_SENSITIVE = 1n << 0n;
export const KVM_XIVE_LEVEL_ASSERTED = 1n << 1n;
export const KVM_XIVE_SOURCE_PRIORITY_SHIFT = 0n;
export const KVM_XIVE_SOURCE_PRIORITY_MASK = 0x7n;
export const KVM_XIVE_SOURCE_SERVER_SHIFT = 3n;
export const KVM_XIVE_SOURCE_SERVER_MASK = 0xfffffff8n;
export const KVM_XIVE_SOURCE_MASKED_SHIFT = 32n;
export const KVM_XIVE_SOURCE_MASKED_MASK = 0x100000000n;
export const KVM_XIVE_SOURCE_EISN_SHIFT = 33n;
export const KVM_XIVE_SOURCE_EISN_MASK = 0xfffffffe00000000n;
export const KVM_XIVE_EQ_PRIORITY_SHIFT = 0n;
export const KVM_XIVE_EQ_PRIORITY_MASK = 0x7n;
export const KVM_XIVE_EQ_SERVER_SHIFT = 3n;
export const KVM_XIVE_EQ_SERVER_MASK = 0xfffffff8n;
export const KVM_XIVE_EQ_ALWAYS_NOTIFY = 0x1;
/** mmap offsets (in pages) of the device fd: the TIMA and the ESB pages. */
export const KVM_XIVE_TIMA_PAGE_OFFSET = 0;
export const KVM_XIVE_ESB_PAGE_OFFSET = 4;
/** ONE_REG: a vCPU's XIVE context (the OS ring's words 0-1 as saved at the last pull, then 0). */
export const KVM_REG_PPC_VP_STATE = KVM_REG_PPC | KVM_REG_SIZE_U128 | 0x8dn;

/** sPAPR interrupt management hcalls (linux: arch/powerpc/include/asm/hvcall.h). */
export const H_INT_GET_SOURCE_INFO = 0x3a8;
export const H_INT_SET_SOURCE_CONFIG = 0x3ac;
export const H_INT_GET_SOURCE_CONFIG = 0x3b0;
export const H_INT_GET_QUEUE_INFO = 0x3b4;
export const H_INT_SET_QUEUE_CONFIG = 0x3b8;
export const H_INT_GET_QUEUE_CONFIG = 0x3bc;
export const H_INT_SET_OS_REPORTING_LINE = 0x3c0;
export const H_INT_GET_OS_REPORTING_LINE = 0x3c4;
export const H_INT_ESB = 0x3c8;
export const H_INT_SYNC = 0x3cc;
export const H_INT_RESET = 0x3d0;
/** Return codes of the H_INT_* calls (linux: hvcall.h). */
export const H_P2 = -55;
export const H_P3 = -56;
export const H_P4 = -57;
export const H_P5 = -58;
/** Client architecture support through SLOF (qemu: include/hw/ppc/spapr.h KVMPPC_H_CAS). */
export const KVMPPC_H_CAS = 0xf002;
