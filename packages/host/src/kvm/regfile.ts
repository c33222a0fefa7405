// The guest register state KVM keeps per vCPU while the vCPU is not on a thread (vcpu->arch.regs
// and the SPR fields of struct kvm_vcpu_arch, linux: arch/powerpc/include/asm/kvm_host.h). Values
// are kept as 32-bit halves, the ISA thread's own representation, so that the exit and entry paths
// copy registers without making BigInts; the BigInt accessors serve the ioctl-side paths.
// Each file keeps its halves in one buffer (hi, lo and the present flags side by side) and every
// vCPU shares the SPR-to-slot map of its SPR list: with a thousand vCPUs in one simulation, a
// vCPU's register state is one compact block instead of several scattered arrays and a Map each.

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
  private readonly buf = new ArrayBuffer(2 * 32 * 4);
  readonly hi = new Uint32Array(this.buf, 0, 32);
  readonly lo = new Uint32Array(this.buf, 32 * 4, 32);

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

/** SPR number -> slot of each SPR list, shared by every file of that list. */
const slotMaps = new WeakMap<readonly number[], ReadonlyMap<number, number>>();

function slotMap(list: readonly number[]): ReadonlyMap<number, number> {
  let m = slotMaps.get(list);
  if (m === undefined) {
    const made = new Map<number, number>();
    list.forEach((n, i) => {
      made.set(n, i);
    });
    slotMaps.set(list, made);
    m = made;
  }
  return m;
}

/**
 * The guest SPRs KVM switches on entry and exit (`switched`, in the order the exit path saves
 * them), plus any other SPR a KVM_SET_ONE_REG wrote. An SPR is restored on entry only once it has
 * a value (set through the ioctls or saved at an exit).
 */
export class GuestSprs {
  private readonly slot: ReadonlyMap<number, number>;
  private readonly hi: Uint32Array;
  private readonly lo: Uint32Array;
  private readonly present: Uint8Array;
  /** SPRs outside the switched list that a KVM_SET_ONE_REG wrote (rare: made on first use). */
  private other: Map<number, bigint> | null = null;

  constructor(private readonly switched: readonly number[]) {
    this.slot = slotMap(switched);
    const n = switched.length;
    const buf = new ArrayBuffer(8 * n + n);
    this.hi = new Uint32Array(buf, 0, n);
    this.lo = new Uint32Array(buf, 4 * n, n);
    this.present = new Uint8Array(buf, 8 * n, n);
  }

  get(n: number): bigint | undefined {
    const i = this.slot.get(n);
    if (i === undefined) return this.other?.get(n);
    return this.present[i] === 0 ? undefined : join(this.hi[i], this.lo[i]);
  }

  set(n: number, v: bigint): void {
    const i = this.slot.get(n);
    if (i === undefined) {
      this.other ??= new Map();
      this.other.set(n, v);
      return;
    }
    split(v, this.hi, this.lo, i);
    this.present[i] = 1;
  }

  /** Entry path: mtspr of every SPR that has a value. */
  loadInto(t: HwThread): void {
    t.restoreSprHalves(this.switched, this.hi, this.lo, this.present);
    if (this.other !== null) for (const [n, v] of this.other) t.setSpr(n, v);
  }

  /** Exit path: mfspr of every switched SPR. */
  saveFrom(t: HwThread): void {
    t.saveSprHalves(this.switched, this.hi, this.lo);
    this.present.fill(1);
  }
}
