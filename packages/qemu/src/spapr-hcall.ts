// qemu: hw/ppc/spapr_hcall.c spapr_hypercall, h_set_mode and hw/char/spapr_vty.c h_put_term_char /
// h_get_term_char: the hypercalls KVM leaves to userspace (KVM_EXIT_PAPR_HCALL).

import { KVM_REG_PPC_LPCR_64 } from "@stopsim/host";
import { LPCR_ILE } from "@stopsim/isa";
import type { Qemu, Vcpu } from "./spapr.js";
import { hRtas } from "./spapr-rtas.js";

// QEMU's own hcall numbers and return codes (qemu: include/hw/ppc/spapr.h): QEMU keeps its copy
// of the PAPR numbers rather than including the kernel's hvcall.h, so they are not taken from
// the Linux model.
export const H_SUCCESS = 0;
export const H_FUNCTION = -2;
export const H_PARAMETER = -4;
export const H_GET_TERM_CHAR = 0x54;
export const H_PUT_TERM_CHAR = 0x58;
export const H_SET_MODE = 0x31c;
/** KVMPPC_HCALL_BASE + 0x0: RTAS through an hcall. */
export const KVMPPC_H_RTAS = 0xf000;
/** KVMPPC_HCALL_BASE + 0x2: client architecture support from the firmware. */
export const KVMPPC_H_CAS = 0xf002;
/** The sPAPR interrupt management hcalls (XIVE exploitation mode). */
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
// H_SET_MODE resources and flags, hcall return codes
export const H_SET_MODE_RESOURCE_LE = 4n;
export const H_SET_MODE_ENDIAN_BIG = 0n;
export const H_SET_MODE_ENDIAN_LITTLE = 1n;
export const H_HARDWARE = -1;
export const H_P2 = -55;
export const H_P3 = -56;
export const H_P4 = -57;
export const H_P5 = -58;
export const H_UNSUPPORTED_FLAG = -256;

// hw/ppc/spapr_hcall.c spapr_hypercall for the calls KVM leaves to userspace
// (args are r4.. of the vCPU: values left in them are returned to the guest, as KVM copies
// kvm_run.papr_hcall.args back into r4.. on the next KVM_RUN)
export function spaprHypercall(q: Qemu, v: Vcpu, nr: number, args: bigint[]): number {
  switch (nr) {
    case KVMPPC_H_RTAS:
      return hRtas(q, v, Number(args[0] ?? 0n));
    case H_SET_MODE:
      return hSetMode(q, args);
    case H_PUT_TERM_CHAR: {
      // hw/char/spapr_vty.c h_put_term_char: len bytes packed big-endian in two registers
      const len = Number(args[1] ?? 0n);
      if (len > 16) return H_PARAMETER;
      const bytes: number[] = [];
      for (const reg of [args[2] ?? 0n, args[3] ?? 0n]) {
        for (let i = 7; i >= 0; i--) bytes.push(Number((reg >> BigInt(8 * i)) & 0xffn));
      }
      q.console += String.fromCharCode(...bytes.slice(0, len));
      return H_SUCCESS;
    }
    case H_GET_TERM_CHAR: {
      // hw/char/spapr_vty.c h_get_term_char: len in r4, up to 16 bytes big-endian in r5, r6
      const chunk = q.consoleInputQueue.slice(0, 16);
      q.consoleInputQueue = q.consoleInputQueue.slice(chunk.length);
      let hi = 0n;
      let lo = 0n;
      for (let i = 0; i < 16; i++) {
        const byte = BigInt(i < chunk.length ? chunk.charCodeAt(i) & 0xff : 0);
        if (i < 8) hi |= byte << BigInt(8 * (7 - i));
        else lo |= byte << BigInt(8 * (15 - i));
      }
      args[0] = BigInt(chunk.length);
      args[1] = hi;
      args[2] = lo;
      return H_SUCCESS;
    }
    default:
      // KVMPPC_H_CAS and the H_INT_* calls (hw/ppc/spapr_irq.c, hw/intc/spapr_xive.c)
      return q.irq.hcall(v.id, nr, args) ?? H_FUNCTION;
  }
}

// hw/ppc/spapr_hcall.c h_set_mode: KVM HV handles the CIABR/DAWR resources itself and leaves
// the others to QEMU; the interrupt-endianness resource sets LPCR[ILE] on every vCPU
// (h_set_mode_resource_le -> spapr_set_all_lpcrs), which QEMU writes through ONE_REG.
export function hSetMode(q: Qemu, args: bigint[]): number {
  const mflags = args[0] ?? 0n;
  const resource = args[1] ?? 0n;
  if (resource !== H_SET_MODE_RESOURCE_LE) return H_P2;
  if ((args[2] ?? 0n) !== 0n) return H_P3;
  if ((args[3] ?? 0n) !== 0n) return H_P4;
  let set: boolean;
  if (mflags === H_SET_MODE_ENDIAN_BIG) set = false;
  else if (mflags === H_SET_MODE_ENDIAN_LITTLE) set = true;
  else return H_UNSUPPORTED_FLAG;
  for (const v of q.vcpus) {
    const get = v.fd.getOneReg(KVM_REG_PPC_LPCR_64);
    if (get.ret < 0) return H_HARDWARE;
    const lpcr = set ? get.value | LPCR_ILE : get.value & ~LPCR_ILE;
    if (v.fd.setOneReg(KVM_REG_PPC_LPCR_64, lpcr) < 0) return H_HARDWARE;
  }
  return H_SUCCESS;
}
