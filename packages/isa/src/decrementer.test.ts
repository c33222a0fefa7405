// The decrementers against Power ISA v3.0B Book III 6.5 (Decrementer) and 6.6 (Hypervisor
// Decrementer): driven by the timebase (512 MHz), an exception when the value goes from 0 to -1
// (its most significant bit turning 1) and for as long as it stays negative; 32 bits wide with
// LPCR[LD]=0 (mtspr takes the low 32 bits, mfspr reads the value sign-extended), 56 bits on
// POWER9 with LPCR[LD]=1 (sign-extended from bit 8). qemu: hw/ppc/ppc.c cpu_ppc_store_decr,
// __cpu_ppc_load_decr, cpu_ppc_decr_cb; linux: arch/powerpc/kernel/time.c (decrementer_max).
import { tbToNs } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import * as A from "./asm.js";
import {
  BOOK3S_INTERRUPT_DECREMENTER,
  BOOK3S_INTERRUPT_HV_DECREMENTER,
  LPCR_HDICE,
  LPCR_LD,
  MSR_EE,
  SPRN_DEC,
  SPRN_HDEC,
  SPRN_LPCR,
  SPRN_SRR0,
} from "./registers.js";
import { MSR_GUEST, MSR_GUEST_EE, MSR_HOST, setup } from "./test-helpers/setup.js";
import { EXEC_INTERRUPT, EXEC_OK } from "./thread.js";

const U64 = (v: bigint) => BigInt.asUintN(64, v);

describe("the 32-bit decrementer (LPCR[LD]=0)", () => {
  it("mtspr takes the low 32 bits; mfspr reads the value sign-extended", () => {
    const { t } = setup();
    t.setSpr(SPRN_DEC, 0x1_0000_0010n);
    expect(t.getSpr(SPRN_DEC)).toBe(16n);
    t.setSpr(SPRN_DEC, 0xffff_fff0n);
    expect(t.getSpr(SPRN_DEC)).toBe(U64(-16n));
  });

  it("a value written negative is an exception at once: taken before the next instruction", () => {
    const { t, os } = setup();
    t.msr = MSR_GUEST_EE;
    t.setGpr(3, 0xffff_ffffn);
    // mtspr DEC from the hypervisor's API while the guest runs: DEC = -1
    t.setSpr(SPRN_DEC, 0xffff_ffffn);
    expect(t.execute(A.NOP)).toBe(EXEC_INTERRUPT);
    expect(os.vectors()).toEqual([BOOK3S_INTERRUPT_DECREMENTER]);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x1000n);
  });

  it("0 is not yet an exception: it comes one tick later, when the value turns -1", () => {
    const { t, os, sim } = setup();
    t.msr = MSR_GUEST_EE;
    t.setSpr(SPRN_DEC, 0n);
    expect(t.execute(A.NOP)).toBe(EXEC_OK);
    expect(os.events).toHaveLength(0);
    sim.runFor(10);
    expect(os.vectors()).toEqual([BOOK3S_INTERRUPT_DECREMENTER]);
    // timebase tick 1 after the write at 0 ns
    expect(os.last?.time).toBe(tbToNs(1));
  });

  it("wraps to positive after 2^31 ticks below zero and turns negative again 2^32 ticks after the first edge", () => {
    const { t, os, sim } = setup();
    t.msr = MSR_GUEST;
    t.setSpr(SPRN_DEC, 0n);
    sim.runUntil(tbToNs(2 ** 31 + 10));
    // 0 - (2^31 + 10) modulo 2^32, as a signed 32-bit value
    expect(t.getSpr(SPRN_DEC)).toBe(0x7fff_fff6n);
    // positive: no exception, an enabled guest runs on
    t.msr = MSR_GUEST_EE;
    expect(t.execute(A.NOP)).toBe(EXEC_OK);
    sim.runUntil(tbToNs(2 ** 32 + 5));
    expect(os.vectors()).toEqual([BOOK3S_INTERRUPT_DECREMENTER]);
    expect(os.last?.time).toBe(tbToNs(2 ** 32 + 1));
  });

  it("reset leaves DEC and HDEC at 0x7fffffff: their first exceptions come 2^31 ticks later", () => {
    const { t, hv, sim } = setup();
    t.setSpr(SPRN_LPCR, LPCR_HDICE);
    t.msr = MSR_HOST | MSR_EE;
    t.reset();
    t.setSpr(SPRN_LPCR, LPCR_HDICE);
    t.msr = MSR_HOST | MSR_EE;
    expect(t.getSpr(SPRN_DEC)).toBe(0x7fff_ffffn);
    expect(t.getSpr(SPRN_HDEC)).toBe(0x7fff_ffffn);
    sim.runUntil(tbToNs(2 ** 31) + 10);
    // both turn negative at the same tick: HDEC first (higher priority), which clears MSR[EE]
    expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_HV_DECREMENTER]);
    expect(hv.last?.time).toBe(tbToNs(2 ** 31));
    t.msr = MSR_HOST | MSR_EE;
    t.setSpr(SPRN_HDEC, 0x7fff_ffffn);
    expect(t.execute(A.NOP)).toBe(EXEC_INTERRUPT);
    expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_HV_DECREMENTER, BOOK3S_INTERRUPT_DECREMENTER]);
  });
});

describe("the large decrementer (LPCR[LD]=1, 56 bits on POWER9)", () => {
  it("holds values beyond 32 bits, sign-extended from its 56th bit", () => {
    const { t } = setup();
    t.setSpr(SPRN_LPCR, LPCR_LD);
    t.setSpr(SPRN_DEC, 0x1_0000_0010n);
    expect(t.getSpr(SPRN_DEC)).toBe(0x1_0000_0010n);
    // bit 55 set: a negative value (-2^32 here)
    t.setSpr(SPRN_DEC, 0xff_ffff_0000_0000n);
    expect(t.getSpr(SPRN_DEC)).toBe(U64(-(2n ** 32n)));
  });

  it("values beyond what a double holds exactly are clamped to +-(2^53 - 1) ticks (model limit)", () => {
    const { t } = setup();
    t.setSpr(SPRN_LPCR, LPCR_LD);
    t.setSpr(SPRN_DEC, 0x7f_ffff_ffff_ffffn);
    expect(t.getSpr(SPRN_DEC)).toBe(2n ** 53n - 1n);
    t.setSpr(SPRN_DEC, 0x80_0000_0000_0000n);
    expect(t.getSpr(SPRN_DEC)).toBe(U64(-(2n ** 53n - 1n)));
  });

  it("a DEC that far out holds no event; a nearer one fires on time", () => {
    const { t, os, sim } = setup();
    t.setSpr(SPRN_LPCR, LPCR_LD);
    t.msr = MSR_GUEST_EE;
    t.setSpr(SPRN_DEC, 2n ** 53n - 1n);
    expect(t.decTimer.armed).toBe(false);
    t.setSpr(SPRN_DEC, 2n ** 33n);
    expect(t.decTimer.armed).toBe(true);
    sim.runUntil(tbToNs(2 ** 33 + 2));
    expect(os.vectors()).toEqual([BOOK3S_INTERRUPT_DECREMENTER]);
    expect(os.last?.time).toBe(tbToNs(2 ** 33 + 1));
  });
});

describe("the hypervisor decrementer", () => {
  it("HDEC at 0 is not yet an exception; at -1 it interrupts the guest to the hypervisor (LPCR[HDICE])", () => {
    const { t, hv, sim } = setup();
    t.setSpr(SPRN_LPCR, LPCR_HDICE);
    t.msr = MSR_GUEST;
    t.setSpr(SPRN_HDEC, 0n);
    expect(t.execute(A.NOP)).toBe(EXEC_OK);
    sim.runFor(10);
    expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_HV_DECREMENTER]);
    expect(hv.last?.time).toBe(tbToNs(1));
  });

  it("without LPCR[HDICE] a negative HDEC interrupts nothing", () => {
    const { t, hv } = setup();
    t.msr = MSR_GUEST_EE;
    t.setSpr(SPRN_HDEC, 0xffff_ffffn);
    expect(t.execute(A.NOP)).toBe(EXEC_OK);
    expect(hv.events).toHaveLength(0);
  });
});
