// The guest register state KVM keeps per vCPU while the vCPU is not on a thread (vcpu->arch.regs
// and the SPR fields of struct kvm_vcpu_arch, linux: arch/powerpc/include/asm/kvm_host.h). Values
// are kept as 32-bit halves, the ISA thread's own representation, so that the exit and entry paths
// copy registers without making BigInts; the BigInt accessors serve the ioctl-side paths.

import type { HwThread } from "@stopsim/isa";

const M32 = 0xffffffffn;

function split(v: bigint, hi: Uint32Array, lo: Uint32Array, i: number): void {
  const u = BigInt.asUintN(64, v);
  hi[i] = Number(u >> 32n);
  lo[i] = Number(u & M32);
}

function join(hi: number, lo: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** vcpu->arch.regs.gpr[0..31]. */
export class GuestGprs {
  readonly hi = new Uint32Array(32);
  readonly lo = new Uint32Array(32);

  get(i: number): bigint {
    return join(this.hi[i], this.lo[i]);
  }

  set(i: number, v: bigint): void {
    split(v, this.hi, this.lo, i);
  }

  toArray(): bigint[] {
    const out: bigint[] = [];
    for (let i = 0; i < 32; i++) out.push(this.get(i));
    return out;
  }

  /** Entry path: the thread's GPRs from the saved ones. */
  loadInto(t: HwThread): void {
    t.gprHi.set(this.hi);
    t.gprLo.set(this.lo);
  }

  /** Exit path: the thread's GPRs saved. */
  saveFrom(t: HwThread): void {
    this.hi.set(t.gprHi);
    this.lo.set(t.gprLo);
  }
}

/**
 * The guest SPRs KVM switches on entry and exit (`switched`, in the order the exit path saves
 * them), plus any other SPR a KVM_SET_ONE_REG wrote. An SPR is restored on entry only once it has
 * a value (set through the ioctls or saved at an exit).
 */
export class GuestSprs {
  private readonly slot = new Map<number, number>();
  private readonly hi: Uint32Array;
  private readonly lo: Uint32Array;
  private readonly present: Uint8Array;
  private readonly other = new Map<number, bigint>();

  constructor(private readonly switched: readonly number[]) {
    switched.forEach((n, i) => {
      this.slot.set(n, i);
    });
    this.hi = new Uint32Array(switched.length);
    this.lo = new Uint32Array(switched.length);
    this.present = new Uint8Array(switched.length);
  }

  get(n: number): bigint | undefined {
    const i = this.slot.get(n);
    if (i === undefined) return this.other.get(n);
    return this.present[i] === 0 ? undefined : join(this.hi[i], this.lo[i]);
  }

  set(n: number, v: bigint): void {
    const i = this.slot.get(n);
    if (i === undefined) {
      this.other.set(n, v);
      return;
    }
    split(v, this.hi, this.lo, i);
    this.present[i] = 1;
  }

  /** Entry path: mtspr of every SPR that has a value. */
  loadInto(t: HwThread): void {
    t.restoreSprHalves(this.switched, this.hi, this.lo, this.present);
    for (const [n, v] of this.other) t.setSpr(n, v);
  }

  /** Exit path: mfspr of every switched SPR. */
  saveFrom(t: HwThread): void {
    t.saveSprHalves(this.switched, this.hi, this.lo);
    this.present.fill(1);
  }
}
