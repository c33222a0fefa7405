// XICS interrupt numbers and priorities, used by the guest's XICS driver and by KVM's
// XICS(-on-XIVE) emulation alike. linux: arch/powerpc/include/asm/xics.h
import { H_CPPR, H_EOI, H_IPI, H_IPOLL, H_XIRR, H_XIRR_X } from "./hvcall.js";

export const XICS_IRQ_SPURIOUS = 0;
/** Interrupt source number of the inter-processor interrupt. */
export const XICS_IPI = 2;
/** Priority Linux gives IPIs. */
export const IPI_PRIORITY = 4;
export const DEFAULT_PRIORITY = 5;
/** Least favoured priority: no interrupt accepted. */
export const LOWEST_PRIORITY = 0xff;

/**
 * The XICS presentation hcalls (PAPR): what the guest's ICP driver calls
 * (linux: arch/powerpc/sysdev/xics/icp-hv.c) and what KVM enables and handles in real mode for it
 * (arch/powerpc/kvm/book3s_hv.c default_hcall_list's CONFIG_KVM_XICS block, hcall_real_table).
 */
export const XICS_HCALLS: readonly number[] = [H_EOI, H_CPPR, H_IPI, H_IPOLL, H_XIRR, H_XIRR_X];
