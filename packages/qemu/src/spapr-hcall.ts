// qemu: hw/ppc/spapr_hcall.c spapr_hypercall, h_set_mode and hw/char/spapr_vty.c h_put_term_char /
// h_get_term_char: the hypercalls KVM leaves to userspace (KVM_EXIT_PAPR_HCALL).

import { KVM_REG_PPC_LPCR_64 } from "@stopsim/host";
import { LPCR_ILE } from "@stopsim/isa";
import {
  H_FUNCTION,
  H_GET_TERM_CHAR,
  H_HARDWARE,
  H_P2,
  H_P3,
  H_P4,
  H_PARAMETER,
  H_PUT_TERM_CHAR,
  H_RTAS,
  H_SET_MODE,
  H_SET_MODE_RESOURCE_LE,
  H_SUCCESS,
} from "@stopsim/linux";
import type { Qemu, Vcpu } from "./spapr.js";
import { hRtas } from "./spapr-rtas.js";

// The PAPR hcall numbers and return codes come from the kernel's hvcall.h (@stopsim/linux), the one
// copy every layer uses (real QEMU keeps its own copy in include/hw/ppc/spapr.h: hvcall.h is no
// uapi header it could take into linux-headers/). What follows is QEMU's alone
// (qemu: include/hw/ppc/spapr.h).
/** H_SET_MODE_RESOURCE_LE's mflags: the interrupt endianness. */
export const H_SET_MODE_ENDIAN_BIG = 0n;
export const H_SET_MODE_ENDIAN_LITTLE = 1n;
export const H_UNSUPPORTED_FLAG = -256;

// hw/ppc/spapr_hcall.c spapr_hypercall for the calls KVM leaves to userspace
// (args are r4.. of the vCPU: values left in them are returned to the guest, as KVM copies
// kvm_run.papr_hcall.args back into r4.. on the next KVM_RUN)
export function spaprHypercall(q: Qemu, v: Vcpu, nr: number, args: bigint[]): number {
  switch (nr) {
    case H_RTAS: // QEMU's KVMPPC_H_RTAS
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
