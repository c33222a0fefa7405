// Shared by the interpreter's suites (src/interp-*.test.ts): a thread with memory, one instruction
// executed on it, and the 64-bit operand values fast-check draws (random words and the edges of
// the signed and unsigned ranges, where carries and overflows change).

import fc from "fast-check";
import { encode, type Insn } from "../codec.js";
import { Memory } from "../memory.js";
import { MSR_SF, SPRN_XER } from "../registers.js";
import type { HwThread } from "../thread.js";
import { MSR_HOST, setup } from "./setup.js";

export const M64 = (1n << 64n) - 1n;
export const M32 = 0xffffffffn;
export const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
export const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
export const s32 = (v: bigint): bigint => BigInt.asIntN(32, v);

// XER bits (Power ISA v3.0B Book I 3.2.2: SO 32, OV 33, CA 34, OV32 44, CA32 45)
export const XER_SO = 0x80000000n;
export const XER_OV = 0x40000000n;
export const XER_CA = 0x20000000n;
export const XER_OV32 = 0x00080000n;
export const XER_CA32 = 0x00040000n;

/** MSR of a hypervisor thread in 32-bit mode (MSR[SF] = 0). */
export const MSR_HOST32 = MSR_HOST & ~MSR_SF;

/** A thread of a fresh core in `msr`, with 1 MiB of memory. */
export function thread(msr = MSR_HOST): HwThread {
  const { t } = setup();
  t.msr = msr;
  t.memory = new Memory(1 << 20);
  return t;
}

let spare: HwThread | null = null;

/**
 * One thread reused by the register-only properties (a core costs ~0.5 ms to build): reset()
 * clears its registers and SPRs, the MSR is set to `msr`, PC to 0x1000, no reservation, no copy
 * buffer. Its memory keeps what earlier uses wrote: only for instructions that do not access it.
 */
export function registerThread(msr = MSR_HOST): HwThread {
  spare ??= thread(msr);
  const t = spare;
  t.reset();
  t.msr = msr;
  t.pc = 0x1000n;
  t.reservationSize = 0;
  t.copyBuffer = null;
  t.lastInterrupt = null;
  return t;
}

/** registerThread(msr) with GPRs from `regs` (r<N>: value) and XER = xer. */
export function prepareRegs(regs: Record<number, bigint>, xer = 0n, msr = MSR_HOST): HwThread {
  const t = registerThread(msr);
  for (const [r, v] of Object.entries(regs)) t.setGpr(Number(r), u64(v));
  t.setSpr(SPRN_XER, xer);
  return t;
}

export function exec(t: HwThread, insn: Insn): number {
  return t.execute(encode(insn));
}

/** A thread in `msr` with GPRs from `regs` (r<N>: value) and XER = xer. */
export function prepare(regs: Record<number, bigint>, xer = 0n, msr = MSR_HOST): HwThread {
  const t = thread(msr);
  for (const [r, v] of Object.entries(regs)) t.setGpr(Number(r), u64(v));
  t.setSpr(SPRN_XER, xer);
  return t;
}

export const cr0 = (t: HwThread): number => (t.cr >>> 28) & 0xf;
export const crField = (t: HwThread, bf: number): number => (t.cr >>> (28 - 4 * bf)) & 0xf;
export const xerOf = (t: HwThread): bigint => t.getSpr(SPRN_XER);

/** CR field value of a signed comparison of `v` with 0, with SO: what Rc=1 puts in CR0. */
export function crOf(v: bigint, so: boolean): number {
  return (v < 0n ? 8 : v > 0n ? 4 : 2) | (so ? 1 : 0);
}

const EDGES = [
  0n,
  1n,
  2n,
  M64,
  M64 - 1n,
  1n << 63n,
  (1n << 63n) - 1n,
  M32,
  0x80000000n,
  0x7fffffffn,
  0x100000000n,
  0xffffffff80000000n,
  0xffffffff7fffffffn,
  0x00000000ffff0000n,
];

/** A 64-bit register value: uniformly random, a random low word, or an edge of a range. */
export const arbU64 = (): fc.Arbitrary<bigint> =>
  fc.oneof(
    fc.bigInt({ min: 0n, max: M64 }),
    fc.bigInt({ min: 0n, max: M32 }),
    fc.bigInt({ min: -0x100000000n, max: -1n }).map(u64),
    fc.constantFrom(...EDGES),
  );

/** XER's SO, OV, CA, OV32, CA32 bits in any combination. */
export const arbXer = (): fc.Arbitrary<bigint> =>
  fc.subarray([XER_SO, XER_OV, XER_CA, XER_OV32, XER_CA32]).map((bits) => bits.reduce((a, b) => a | b, 0n));
