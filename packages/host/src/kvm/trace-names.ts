// Exit names of the kvm_exit tracepoint (linux: arch/powerpc/kvm/trace_book3s.h,
// kvm_trace_symbol_exit), keyed by interrupt vector.
export const KVM_TRACE_SYMBOL_EXIT: Readonly<Record<number, string>> = {
  0: "RETURN",
  256: "SYSTEM_RESET",
  512: "MACHINE_CHECK",
  768: "DATA_STORAGE",
  896: "DATA_SEGMENT",
  1024: "INST_STORAGE",
  1152: "INST_SEGMENT",
  1280: "EXTERNAL",
  1282: "EXTERNAL_HV",
  1536: "ALIGNMENT",
  1792: "PROGRAM",
  2048: "FP_UNAVAIL",
  2304: "DECREMENTER",
  2432: "HV_DECREMENTER",
  2560: "DOORBELL",
  3072: "SYSCALL",
  3328: "TRACE",
  3584: "H_DATA_STORAGE",
  3616: "H_INST_STORAGE",
  3648: "H_EMUL_ASSIST",
  3680: "HMI",
  3712: "H_DOORBELL",
  3744: "H_VIRT",
  3840: "PERFMON",
  3872: "ALTIVEC",
  3904: "VSX",
  3936: "FAC_UNAVAIL",
  3968: "H_FAC_UNAVAIL",
};

/** The kvm_exit name of `vector` ("0x…" when the table has none). */
export function exitName(vector: number): string {
  return KVM_TRACE_SYMBOL_EXIT[vector] ?? `0x${vector.toString(16)}`;
}
