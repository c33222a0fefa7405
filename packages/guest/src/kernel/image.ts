// Layout of the guest kernel image in guest real memory. The kernel's code is TypeScript, but
// every instruction it issues to the vCPU runs at a fixed address of this image, and load() writes
// the same instruction words there, so what a hypervisor reads back at SRR0/HSRR0 (for example to
// emulate a trapped msgsndp) is the instruction that trapped. Addresses are the kernel's physical
// addresses (QEMU loads vmlinux at 0, like hw/ppc/spapr.c with KERNEL_LOAD_ADDR 0).

import {
  HMT_LOW,
  HMT_MEDIUM,
  HMT_VERY_LOW,
  mfspr,
  mftb,
  msgsndp,
  mtmsrd,
  mtspr,
  RFID,
  SC1,
  SPRN_DEC,
  SPRN_PPR,
  SPRN_PVR,
  SPRN_SRR0,
  SPRN_SRR1,
  STOP,
} from "@stopsim/isa";

/** Entry point of vCPU 0 (__start). */
export const KERNEL_ENTRY = 0x0;
/** generic_secondary_smp_init: where start-cpu starts the secondaries. */
export const SECONDARY_ENTRY = 0x8000;

/** A named piece of kernel text: its address and instruction words. */
export interface TextSymbol {
  readonly name: string;
  readonly addr: number;
  readonly words: readonly number[];
}

// Register conventions used by the code below: r3..r12 hcall arguments (PAPR), r13 the value
// mtmsrd writes (hard enable/disable), r14 a scratch SPR value, r15 msgsndp's operand.
export const R_MSR = 13;
export const R_SPR = 14;
export const R_DBELL = 15;

function sym(name: string, addr: number, words: number[]): TextSymbol {
  return { name, addr, words };
}

export const TEXT = {
  start: sym("__start", KERNEL_ENTRY, [mfspr(R_SPR, SPRN_PVR)]),
  secondary: sym("generic_secondary_smp_init", SECONDARY_ENTRY, [mfspr(R_SPR, SPRN_PVR)]),
  /**
   * FIXUP_ENDIAN (arch/powerpc/include/asm/ppc_asm.h) at __start and generic_secondary_smp_init:
   * a CPU entered big-endian switches to little-endian with mtsrr0/mtsrr1/rfid.
   */
  fixupEndian: sym("__start_fixup_endian", 0x8f00, [mtspr(SPRN_SRR0, R_SPR), mtspr(SPRN_SRR1, R_MSR), RFID]),
  /** plpar_hcall / plpar_hcall_norets: `sc 1`. */
  hcall: sym("plpar_hcall", 0x9000, [SC1]),
  /** set_dec: mtspr DEC. */
  setDec: sym("set_dec", 0x9100, [mtspr(SPRN_DEC, R_SPR)]),
  /** get_tb: mftb. */
  getTb: sym("get_tb", 0x9140, [mftb(R_SPR)]),
  /** __hard_irq_disable / __hard_irq_enable: mtmsrd with L=1 (EE only). */
  hardIrq: sym("__hard_irq_enable", 0x9180, [mtmsrd(R_MSR, 1)]),
  /** snooze_loop: HMT_low(); HMT_very_low(); ... HMT_medium(). */
  snooze: sym("snooze_loop", 0x9200, [HMT_LOW, HMT_VERY_LOW, HMT_MEDIUM]),
  /**
   * stop_loop of the stop0lite patch: `asm volatile("stop")`. The patch does not write PSSCR_PR,
   * so the stop runs with whatever RL/MTL the hypervisor left in the guest-visible PSSCR fields.
   */
  stopLoop: sym("stop_loop", 0x9300, [STOP]),
  /** doorbell_core_ipi: msgsndp. */
  doorbell: sym("doorbell_core_ipi", 0x9400, [msgsndp(R_DBELL)]),
  /**
   * Exception prolog on CPUs with CPU_FTR_HAS_PPR (exceptions-64s.S): the interrupted PPR is
   * saved (mfspr PPR into the exception frame), then HMT_MEDIUM so the handler runs at medium
   * SMT priority whatever priority the interrupted code polled at.
   */
  exceptionProlog: sym("exception_prolog", 0x9480, [mfspr(R_SPR, SPRN_PPR), HMT_MEDIUM]),
  /** RESTORE_PPR on the way out of an interrupt: mtspr PPR from the exception frame. */
  restorePpr: sym("restore_ppr", 0x94c0, [mtspr(SPRN_PPR, R_SPR)]),
  /** Interrupt return: rfid. */
  irqReturn: sym("fast_interrupt_return", 0x9500, [RFID]),
} as const;

export const KERNEL_TEXT_SIZE = 0x10000;
/** Per-CPU lppaca (VPA) area, 1 KiB each (cache-line aligned as H_REGISTER_VPA requires). */
export const LPPACA_BASE = 0x20000;
/** RTAS argument buffer (rtas_args) of each CPU, 256 bytes each. */
export const RTAS_ARGS_BASE = 0x30000;
/** rtas_os_term_buf. */
export const RTAS_OS_TERM_BUF = 0x38000;

export function lppacaAddr(cpu: number): number {
  return LPPACA_BASE + cpu * 0x400;
}

export function rtasArgsAddr(cpu: number): number {
  return RTAS_ARGS_BASE + cpu * 0x100;
}
