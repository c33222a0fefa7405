// linux: arch/powerpc/kvm/book3s_hv.c kvmppc_get_one_reg_hv, kvmppc_set_one_reg_hv and
// kvmppc_set_lpcr: the ONE_REG registers of a vCPU (KVM_GET_ONE_REG / KVM_SET_ONE_REG).

import {
  LPCR_AIL,
  LPCR_DPFD,
  LPCR_ILE,
  LPCR_LD,
  LPCR_TC,
  PSSCR_GUEST_VIS,
  SPRN_AMR,
  SPRN_BESCR,
  SPRN_CIABR,
  SPRN_DAR,
  SPRN_DAWR0,
  SPRN_DAWRX0,
  SPRN_DSCR,
  SPRN_DSISR,
  SPRN_EBBHR,
  SPRN_EBBRR,
  SPRN_FSCR,
  SPRN_IAMR,
  SPRN_MMCR0,
  SPRN_MMCR1,
  SPRN_MMCR2,
  SPRN_MMCRA,
  SPRN_PIDR,
  SPRN_PMC1,
  SPRN_PMC2,
  SPRN_PMC3,
  SPRN_PMC4,
  SPRN_PMC5,
  SPRN_PMC6,
  SPRN_PPR,
  SPRN_PSPB,
  SPRN_SDAR,
  SPRN_SIAR,
  SPRN_SIER,
  SPRN_TAR,
  SPRN_TIDR,
  SPRN_UAMOR,
  SPRN_VRSAVE,
  SPRN_WORT,
} from "@stopsim/isa";
import * as U from "./abi.js";
import type { KvmVcpu } from "./vcpu.js";

const SPR_REGS: ReadonlyMap<bigint, number> = new Map<bigint, number>([
  [U.KVM_REG_PPC_DSCR, SPRN_DSCR],
  [U.KVM_REG_PPC_DAR, SPRN_DAR],
  [U.KVM_REG_PPC_DSISR, SPRN_DSISR],
  [U.KVM_REG_PPC_AMR, SPRN_AMR],
  [U.KVM_REG_PPC_UAMOR, SPRN_UAMOR],
  [U.KVM_REG_PPC_IAMR, SPRN_IAMR],
  [U.KVM_REG_PPC_FSCR, SPRN_FSCR],
  [U.KVM_REG_PPC_PSPB, SPRN_PSPB],
  [U.KVM_REG_PPC_EBBHR, SPRN_EBBHR],
  [U.KVM_REG_PPC_EBBRR, SPRN_EBBRR],
  [U.KVM_REG_PPC_BESCR, SPRN_BESCR],
  [U.KVM_REG_PPC_TAR, SPRN_TAR],
  [U.KVM_REG_PPC_DAWR, SPRN_DAWR0],
  [U.KVM_REG_PPC_DAWRX, SPRN_DAWRX0],
  [U.KVM_REG_PPC_CIABR, SPRN_CIABR],
  [U.KVM_REG_PPC_PID, SPRN_PIDR],
  [U.KVM_REG_PPC_VRSAVE, SPRN_VRSAVE],
  [U.KVM_REG_PPC_PPR, SPRN_PPR],
  [U.KVM_REG_PPC_WORT, SPRN_WORT],
  [U.KVM_REG_PPC_TIDR, SPRN_TIDR],
  // the PMU (kvmppc_get_one_reg_hv: mmcr[], pmc[], siar, sdar, sier)
  [U.KVM_REG_PPC_MMCR0, SPRN_MMCR0],
  [U.KVM_REG_PPC_MMCR1, SPRN_MMCR1],
  [U.KVM_REG_PPC_MMCRA, SPRN_MMCRA],
  [U.KVM_REG_PPC_MMCR2, SPRN_MMCR2],
  [U.KVM_REG_PPC_SIAR, SPRN_SIAR],
  [U.KVM_REG_PPC_SDAR, SPRN_SDAR],
  [U.KVM_REG_PPC_SIER, SPRN_SIER],
  [U.KVM_REG_PPC_PMC1, SPRN_PMC1],
  [U.KVM_REG_PPC_PMC2, SPRN_PMC2],
  [U.KVM_REG_PPC_PMC3, SPRN_PMC3],
  [U.KVM_REG_PPC_PMC4, SPRN_PMC4],
  [U.KVM_REG_PPC_PMC5, SPRN_PMC5],
  [U.KVM_REG_PPC_PMC6, SPRN_PMC6],
]);

export function readOneReg(vcpu: KvmVcpu, id: bigint): bigint | undefined {
  const spr = SPR_REGS.get(id);
  if (spr !== undefined) {
    const v = vcpu.sprv(spr);
    return U.oneRegSize(id) === 4 ? v & 0xffffffffn : v;
  }
  switch (id) {
    case U.KVM_REG_PPC_PSSCR:
      return vcpu.psscr;
    case U.KVM_REG_PPC_DEC_EXPIRY:
      return vcpu.decExpires;
    case U.KVM_REG_PPC_LPCR:
      return vcpu.vcore.lpcr & 0xffffffffn;
    case U.KVM_REG_PPC_LPCR_64:
      return vcpu.vcore.lpcr;
    case U.KVM_REG_PPC_ARCH_COMPAT:
      return BigInt(vcpu.vcore.archCompat);
    case U.KVM_REG_PPC_ONLINE:
      return BigInt(vcpu.online);
    default:
      return undefined;
  }
}

export function writeOneReg(vcpu: KvmVcpu, id: bigint, val: bigint): number {
  const spr = SPR_REGS.get(id);
  if (spr !== undefined) {
    vcpu.spr.set(spr, val);
    return 0;
  }
  switch (id) {
    case U.KVM_REG_PPC_PSSCR:
      // linux: kvmppc_set_one_reg_hv: vcpu->arch.psscr = set_reg_val(id, *val) & PSSCR_GUEST_VIS
      vcpu.psscr = val & PSSCR_GUEST_VIS;
      return 0;
    case U.KVM_REG_PPC_DEC_EXPIRY:
      vcpu.decExpires = val;
      return 0;
    case U.KVM_REG_PPC_LPCR:
      setLpcr(vcpu, val, true);
      return 0;
    case U.KVM_REG_PPC_LPCR_64:
      setLpcr(vcpu, val, false);
      return 0;
    case U.KVM_REG_PPC_ARCH_COMPAT: {
      const v = Number(val);
      const ok = [0, U.PVR_ARCH_205, U.PVR_ARCH_206, U.PVR_ARCH_206p, U.PVR_ARCH_207, U.PVR_ARCH_300];
      if (!ok.includes(v)) return -U.EINVAL;
      vcpu.vcore.archCompat = v;
      return 0;
    }
    case U.KVM_REG_PPC_ONLINE:
      vcpu.online = Number(val);
      return 0;
    default:
      return -U.EINVAL;
  }
}

// linux: book3s_hv.c kvmppc_set_lpcr: userspace may change DPFD, ILE, TC, AIL and LD only
export function setLpcr(vcpu: KvmVcpu, newLpcr: bigint, preserveTop32: boolean): void {
  let mask = LPCR_DPFD | LPCR_ILE | LPCR_TC | LPCR_AIL;
  if (vcpu.h.arch300) mask |= LPCR_LD;
  if (preserveTop32) mask &= 0xffffffffn;
  vcpu.vcore.lpcr = (vcpu.vcore.lpcr & ~mask) | (newLpcr & mask);
}
