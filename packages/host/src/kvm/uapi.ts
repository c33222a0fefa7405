// KVM userspace API constants (capabilities, exit reasons, ONE_REG ids, the XIVE native device)
// and the errno values the ioctl-shaped API returns. The hcall numbers and return codes are the
// kernel's own (@stopsim/linux hvcall.h), shared with the pseries guest.
// Sources: linux: include/uapi/linux/kvm.h, arch/powerpc/include/uapi/asm/kvm.h,
// include/uapi/asm-generic/errno-base.h.

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
