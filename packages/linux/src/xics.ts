// XICS interrupt numbers and priorities, used by the guest's XICS driver and by KVM's
// XICS(-on-XIVE) emulation alike. linux: arch/powerpc/include/asm/xics.h

export const XICS_IRQ_SPURIOUS = 0;
/** Interrupt source number of the inter-processor interrupt. */
export const XICS_IPI = 2;
/** Priority Linux gives IPIs. */
export const IPI_PRIORITY = 4;
export const DEFAULT_PRIORITY = 5;
/** Least favoured priority: no interrupt accepted. */
export const LOWEST_PRIORITY = 0xff;
