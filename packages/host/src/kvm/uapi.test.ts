// The KVM ABI a VMM passes as numbers: ONE_REG ids are built by the kernel's macros
// (linux: include/uapi/linux/kvm.h KVM_REG_PPC = 0x1000000000000000, KVM_REG_SIZE_U32/U64/U128
// = 2/3/4 << KVM_REG_SIZE_SHIFT 52; arch/powerpc/include/uapi/asm/kvm.h
// `#define KVM_REG_PPC_x (KVM_REG_PPC | KVM_REG_SIZE_Uxx | index)`), and the register size is
// read back from an id as arch/powerpc/kvm/powerpc.c does (one_reg_size:
// `1ul << ((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT)`). The hex values below are those
// macros evaluated: what QEMU's linux-headers copy passes to KVM_{GET,SET}_ONE_REG.
import { describe, expect, it } from "vitest";
import {
  KVM_INTERRUPT_SET,
  KVM_INTERRUPT_SET_LEVEL,
  KVM_INTERRUPT_UNSET,
  KVM_REG_PPC_ARCH_COMPAT,
  KVM_REG_PPC_DEC_EXPIRY,
  KVM_REG_PPC_DSISR,
  KVM_REG_PPC_HIOR,
  KVM_REG_PPC_LPCR,
  KVM_REG_PPC_LPCR_64,
  KVM_REG_PPC_ONLINE,
  KVM_REG_PPC_PMC6,
  KVM_REG_PPC_PSSCR,
  KVM_REG_PPC_VP_STATE,
  oneRegSize,
} from "./uapi.js";

describe("ONE_REG ids (KVM_REG_PPC | size | index)", () => {
  it("64-bit, 32-bit and 128-bit registers carry the size field of their type", () => {
    expect(KVM_REG_PPC_HIOR).toBe(0x1030000000000001n);
    expect(KVM_REG_PPC_PSSCR).toBe(0x10300000000000bdn);
    expect(KVM_REG_PPC_DEC_EXPIRY).toBe(0x10300000000000ben);
    expect(KVM_REG_PPC_LPCR_64).toBe(0x10300000000000b5n);
    expect(KVM_REG_PPC_DSISR).toBe(0x102000000000000dn);
    expect(KVM_REG_PPC_PMC6).toBe(0x102000000000001dn);
    expect(KVM_REG_PPC_LPCR).toBe(0x10200000000000b5n);
    expect(KVM_REG_PPC_ARCH_COMPAT).toBe(0x10200000000000b7n);
    expect(KVM_REG_PPC_ONLINE).toBe(0x10200000000000bfn);
    expect(KVM_REG_PPC_VP_STATE).toBe(0x104000000000008dn);
  });

  it("one_reg_size reads the size back from the id", () => {
    expect(oneRegSize(KVM_REG_PPC_DSISR)).toBe(4);
    expect(oneRegSize(KVM_REG_PPC_PSSCR)).toBe(8);
    expect(oneRegSize(KVM_REG_PPC_VP_STATE)).toBe(16);
    // KVM_REG_SIZE_U8 (0) and the largest field value (KVM_REG_SIZE_U2048 is 8): 1 and 256 bytes
    expect(oneRegSize(0x1000000000000001n)).toBe(1);
    expect(oneRegSize(0x1080000000000001n)).toBe(256);
    // an id given as a negative number is its 64-bit pattern (the ioctl's __u64 id)
    expect(oneRegSize(KVM_REG_PPC_PSSCR - (1n << 64n))).toBe(8);
  });

  it("KVM_INTERRUPT's irq values are the header's -1U, -2U, -3U (the __u32 irq of struct kvm_interrupt)", () => {
    // arch/powerpc/include/uapi/asm/kvm.h: KVM_INTERRUPT_SET -1U, _UNSET -2U, _SET_LEVEL -3U
    expect([KVM_INTERRUPT_SET, KVM_INTERRUPT_UNSET, KVM_INTERRUPT_SET_LEVEL].map((v) => v >>> 0)).toEqual([
      0xffffffff, 0xfffffffe, 0xfffffffd,
    ]);
  });
});
