// The fields of the lppaca (the VPA) both kernels touch: KVM's init_vpa writes the
// shared-processor bit, the pseries guest reads it back (lppaca_shared_proc()).
// linux: arch/powerpc/include/asm/lppaca.h; the VPA size rule of
// arch/powerpc/kvm/book3s_hv.c do_h_register_vpa.

/** Size the guest writes in the lppaca size field (1 KiB). */
export const LPPACA_SIZE = 0x400;
/** struct lppaca is 640 bytes (BUILD_BUG_ON in do_h_register_vpa): the least a VPA may declare. */
export const LPPACA_USED_SIZE = 640;
/** Offset of lppaca.size (be16). */
export const LPPACA_SIZE_OFFSET = 4;
/** Offset of lppaca.__old_status (u8). */
export const LPPACA_OLD_STATUS_OFFSET = 9;
/** Shared-processor bit of __old_status (LPPACA_OLD_SHARED_PROC). */
export const LPPACA_OLD_SHARED_PROC = 0x2;
/** L1_CACHE_BYTES on ppc64: a VPA must be cache-line aligned (do_h_register_vpa). */
export const L1_CACHE_BYTES = 128;
