// XIVE register layouts and constants with their Linux / QEMU names and values.
// linux: arch/powerpc/include/asm/xive-regs.h; qemu: include/hw/ppc/xive_regs.h, include/hw/ppc/xive.h

/** ESB PQ bits as a load returns them (linux: asm/xive-regs.h XIVE_ESB_VAL_P / _Q). */
export const XIVE_ESB_VAL_P = 0x2;
export const XIVE_ESB_VAL_Q = 0x1;
/** A load from an invalid ESB (XIVE_ESB_INVALID). */
export const XIVE_ESB_INVALID = 0xff;

/** PQ states (qemu: include/hw/ppc/xive.h). */
export const XIVE_ESB_RESET = 0x0;
export const XIVE_ESB_OFF = 0x1;
export const XIVE_ESB_PENDING = 0x2;
export const XIVE_ESB_QUEUED = 0x3;

/** ESB management page offsets (linux: asm/xive-regs.h). */
export const XIVE_ESB_STORE_TRIGGER = 0x000;
export const XIVE_ESB_LOAD_EOI = 0x000;
export const XIVE_ESB_STORE_EOI = 0x400;
export const XIVE_ESB_GET = 0x800;
export const XIVE_ESB_SET_PQ_00 = 0xc00;
export const XIVE_ESB_SET_PQ_01 = 0xd00;
export const XIVE_ESB_SET_PQ_10 = 0xe00;
export const XIVE_ESB_SET_PQ_11 = 0xf00;

/** ESB page shift of one source with two 64 KiB pages (trigger, management): XIVE_ESB_64K_2PAGE. */
export const XIVE_ESB_64K = 16;
export const XIVE_ESB_64K_2PAGE = 17;

/** TIMA rings (quad words) and their byte fields (linux: asm/xive-regs.h). */
export const TM_QW0_USER = 0x000;
export const TM_QW1_OS = 0x010;
export const TM_QW2_HV_POOL = 0x020;
export const TM_QW3_HV_PHYS = 0x030;
export const TM_NSR = 0x0;
export const TM_CPPR = 0x1;
export const TM_IPB = 0x2;
export const TM_LSMFB = 0x3;
export const TM_ACK_CNT = 0x4;
export const TM_INC = 0x5;
export const TM_AGE = 0x6;
export const TM_PIPR = 0x7;
export const TM_WORD2 = 0x8;
export const TM_WORD3 = 0xc;

/** OS ring word 2: valid bit and CAM (the NVT the context belongs to). */
export const TM_QW1W2_VO = 0x80000000;
export const TM_QW1W2_OS_CAM = 0x00ffffff;
/** PHYS ring word 2: valid bit of the hypervisor context. */
export const TM_QW3W2_VT = 0x80000000;

/** TIMA special operations (offsets in the TIMA page). */
export const TM_SPC_ACK_OS_REG = 0x810;
export const TM_SPC_PULL_OS_CTX = 0x818;
export const TM_SPC_PULL_POOL_CTX = 0x828;
export const TM_SPC_ACK_HV_REG = 0x830;

/** NSR bits: an OS exception (QW1) and the hypervisor's (QW3, 2 bits: HE_PHYS = 2). */
export const TM_QW1_NSR_EO = 0x80;
export const TM_QW3_NSR_HE = 0xc0;
export const TM_QW3_NSR_HE_POOL = 1;
export const TM_QW3_NSR_HE_PHYS = 2;

/** Priorities 0 (most favoured) to 7; 0xff is "no priority" (a CPPR that lets everything in). */
export const XIVE_PRIORITY_MAX = 7;

/** Priority -> IPB bit (qemu: hw/intc/xive.c priority_to_ipb). */
export function priorityToIpb(priority: number): number {
  return priority > XIVE_PRIORITY_MAX ? 0 : 1 << (XIVE_PRIORITY_MAX - priority);
}

/** IPB -> PIPR, the most favoured pending priority (qemu: hw/intc/xive.c ipb_to_pipr). */
export function ipbToPipr(ipb: number): number {
  return ipb === 0 ? 0xff : Math.clz32((ipb & 0xff) << 24);
}
