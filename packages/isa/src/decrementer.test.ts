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
  BOOK3S_INTERRUPT_SYSTEM_RESET,
  LPCR_HDICE,
  LPCR_LD,
  LPCR_PECE1,
  MSR_EE,
  makePsscr,
  SPRN_DEC,
  SPRN_HDEC,
  SPRN_LPCR,
  SPRN_PSSCR,
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

  it("a value written negative long after boot wraps and turns negative again 2^32 ticks after its first edge", () => {
    const { t, hv, sim } = setup();
    t.setSpr(SPRN_LPCR, LPCR_PECE1);
    t.msr = MSR_HOST;
    sim.runUntil(tbToNs(2 ** 33));
    const tb0 = t.timebaseValue;
    t.setSpr(SPRN_DEC, 0xffff_fff0n); // -16: negative at once
    // 2^31 + 100 ticks later it has wrapped to positive
    sim.runUntil(tbToNs(tb0 + 2 ** 31 + 100));
    expect(t.getSpr(SPRN_DEC)).toBe(BigInt(2 ** 32 - 16 - 2 ** 31 - 100));
    // a stop that wakes on the decrementer (LPCR[PECE1], EC=1): when it turns negative again
    t.setSpr(SPRN_PSSCR, makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: true }));
    t.execute(A.STOP);
    sim.runUntil(tbToNs(tb0 + 2 ** 32 + 100));
    expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_SYSTEM_RESET]);
    expect(hv.last?.time).toBe(tbToNs(tb0 - 15 + 2 ** 32));
  });

  it("three half-periods below zero read as -2^31, the most negative 32-bit value", () => {
    const { t, sim } = setup();
    t.msr = MSR_GUEST;
    t.setSpr(SPRN_DEC, 0n);
    sim.runUntil(tbToNs(3 * 2 ** 31));
    expect(t.getSpr(SPRN_DEC)).toBe(U64(-(2n ** 31n)));
  });

  it("reset leaves DEC and HDEC at 0x7fffffff: each turns negative 2^31 ticks later on its own timer", () => {
    {
      // the DEC alone (HDEC interrupts disabled)
      const { t, hv, sim } = setup();
      t.setSpr(SPRN_DEC, 5n);
      t.reset();
      t.msr = MSR_HOST | MSR_EE;
      expect(t.getSpr(SPRN_DEC)).toBe(0x7fff_ffffn);
      expect(t.getSpr(SPRN_HDEC)).toBe(0x7fff_ffffn);
      sim.runUntil(tbToNs(2 ** 31) + 10);
      expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_DECREMENTER]);
      expect(hv.last?.time).toBe(tbToNs(2 ** 31));
    }
    {
      // the HDEC alone (DEC moved out of the way after the reset)
      const { t, hv, sim } = setup();
      t.setSpr(SPRN_HDEC, 5n);
      t.reset();
      t.setSpr(SPRN_LPCR, LPCR_HDICE);
      t.msr = MSR_HOST | MSR_EE;
      sim.runUntil(1000);
      t.setSpr(SPRN_DEC, 0x7fff_ffffn);
      sim.runUntil(tbToNs(2 ** 31) + 10);
      expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_HV_DECREMENTER]);
      expect(hv.last?.time).toBe(tbToNs(2 ** 31));
    }
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
