// Interrupt entry and return, decision by decision, against Power ISA v3.0B Book III:
// 7.5 (interrupt processing: SRR0/SRR1 or HSRR0/HSRR1, SRR1 bits 33:36 and 42:47 interrupt-specific,
// the other SRR1 bits copied from the MSR; the new MSR: SF=1, HV set only for hypervisor
// interrupts, system reset and machine check, ME kept, LE = HILE or LPCR[ILE], the rest cleared)
// and 3.3.1 (rfid/hrfid: MSR[HV] <- MSR[HV] & SRR1[HV], ME changes only in hypervisor state,
// MSR[PR]=1 forces EE, IR and DR on, NIA = SRR0 with its low two bits cleared).
// qemu: target/ppc/excp_helper.c powerpc_excp_books, helper_rfid, helper_hrfid, helper_scv.
import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import * as A from "./asm.js";
import { SmtCore } from "./core.js";
import { Memory } from "./memory.js";
import {
  BOOK3S_INTERRUPT_H_DATA_STORAGE,
  BOOK3S_INTERRUPT_MACHINE_CHECK,
  BOOK3S_INTERRUPT_PROGRAM,
  BOOK3S_INTERRUPT_SYSCALL,
  FSCR_SCV,
  LPCR_ILE,
  MSR_DR,
  MSR_EE,
  MSR_HV,
  MSR_IR,
  MSR_LE,
  MSR_ME,
  MSR_PR,
  MSR_RI,
  MSR_SF,
  MSR_TM,
  SPRN_CTR,
  SPRN_FSCR,
  SPRN_HDAR,
  SPRN_HDSISR,
  SPRN_HSRR0,
  SPRN_HSRR1,
  SPRN_LPCR,
  SPRN_LR,
  SPRN_SRR0,
  SPRN_SRR1,
  SRR1_PROGPRIV,
} from "./registers.js";
import { MSR_GUEST, MSR_GUEST_EE, MSR_HOST, MSR_USER, Recorder, setup } from "./test-helpers/setup.js";
import { EXEC_INTERRUPT, EXEC_OK, HwThread } from "./thread.js";

/** scv LEV (Power ISA v3.0B: primary opcode 17, bit 30 set). */
const scv = (lev: number) => (0x44000001 | (lev << 5)) >>> 0;
/** MSR bits 33 and 47 (IBM numbering): inside SRR1's interrupt-specific fields 33:36 and 42:47. */
const MSR_BIT33 = 1n << 30n;
const MSR_BIT47 = 1n << 16n;

describe("interrupt entry (Power ISA v3.0B Book III 7.5)", () => {
  it("SRR1 takes the MSR except its interrupt-specific bits 33:36 and 42:47, which the interrupt sets", () => {
    const { t, os } = setup();
    t.msr = MSR_GUEST_EE | MSR_RI | MSR_BIT33 | MSR_BIT47;
    t.setGpr(3, 0n);
    // mtspr to a hypervisor SPR from a guest kernel: privileged-instruction program interrupt
    expect(t.execute(A.mtspr(SPRN_HSRR0, 3))).toBe(EXEC_INTERRUPT);
    expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x1000n);
    expect(t.getSpr(SPRN_SRR1)).toBe(MSR_GUEST_EE | MSR_RI | SRR1_PROGPRIV);
    // the new MSR: SF and ME kept, LE from LPCR[ILE] (clear here), EE/RI/PR cleared, HV unchanged
    expect(t.msr).toBe(MSR_SF | MSR_ME);
    expect(t.pc).toBe(0x700n);
  });

  it("HSRR1 follows the same rule for hypervisor interrupts", () => {
    const { t, hv } = setup();
    t.msr = MSR_GUEST_EE | MSR_BIT33 | MSR_BIT47;
    t.receiveHypervisorDoorbell();
    expect(hv.last?.vector).toBe(0xe80);
    expect(t.getSpr(SPRN_HSRR1)).toBe(MSR_GUEST_EE);
    expect(t.getSpr(SPRN_HSRR0)).toBe(0x1000n);
    expect(t.msr).toBe(MSR_SF | MSR_HV | MSR_ME | MSR_LE);
  });

  it("an interrupt taken in hypervisor state keeps MSR[HV] and goes to the hypervisor", () => {
    const { t, hv, os } = setup();
    t.msr = MSR_HOST;
    t.execute(A.SC);
    expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_SYSCALL]);
    expect(os.events).toHaveLength(0);
    expect(t.hypervisorState).toBe(true);
    expect(t.getSpr(SPRN_SRR1)).toBe(MSR_HOST);
    expect(t.lastInterrupt).toEqual({ vector: 0xc00, time: 0, level: "hv" });
  });

  it("LE of an OS interrupt is LPCR[ILE]; of a hypervisor interrupt HID0[HILE]", () => {
    for (const ile of [false, true]) {
      const { t } = setup();
      t.setSpr(SPRN_LPCR, ile ? LPCR_ILE : 0n);
      t.msr = MSR_GUEST;
      t.execute(A.SC);
      expect((t.msr & MSR_LE) !== 0n).toBe(ile);
    }
    const sim = new Simulation();
    const t = new SmtCore(sim, { hile: false }).threads[0];
    const hv = new Recorder();
    t.setSoftware("hv", hv);
    t.setSpr(SPRN_LPCR, LPCR_ILE);
    t.msr = MSR_HOST;
    t.execute(A.SC);
    expect(hv.vectors()).toEqual([0xc00]);
    expect(t.msr & MSR_LE).toBe(0n);
  });

  it("an interrupt loses the reservation of a lwarx/ldarx", () => {
    const { t } = setup();
    t.reservationAddr = 0x100;
    t.reservationSize = 8;
    t.msr = MSR_GUEST;
    t.execute(A.SC);
    expect(t.reservationSize).toBe(0);
  });

  it("is recorded in the trace with its vector and level when tracing is on", () => {
    const { t, sim } = setup();
    sim.trace.enable();
    t.msr = MSR_GUEST;
    t.execute(A.SC);
    const ev = sim.trace.events();
    expect(ev.map((e) => [e.name, e.cat, e.args])).toEqual([
      ["interrupt", "isa", { vector: "0xc00", level: "os" }],
    ]);
  });

  it("an interrupt for a level without software is taken without a notification", () => {
    const sim = new Simulation();
    const t = new SmtCore(sim).threads[0];
    t.msr = MSR_GUEST;
    t.pc = 0x2000n;
    expect(t.execute(A.SC)).toBe(EXEC_INTERRUPT);
    expect(t.pc).toBe(0xc00n);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x2004n);
  });

  it("scv keeps MSR[HV]: LR = the next instruction, CTR = the MSR, vector 0x17000 + 0x20 LEV", () => {
    for (const [msr, level] of [
      [MSR_HOST, "hv"],
      [MSR_GUEST_EE, "os"],
    ] as const) {
      const { t, hv, os } = setup();
      t.setSpr(SPRN_FSCR, FSCR_SCV);
      t.msr = msr;
      expect(t.execute(scv(2))).toBe(EXEC_INTERRUPT);
      const sw = level === "hv" ? hv : os;
      expect(sw.vectors()).toEqual([0x17040]);
      expect(t.hypervisorState).toBe(level === "hv");
      expect(t.getSpr(SPRN_LR)).toBe(0x1004n);
      expect(t.getSpr(SPRN_CTR)).toBe(msr);
      expect(t.msr & MSR_EE).toBe(0n);
    }
  });

  it("a hypervisor access outside memory is a machine check; a guest's is an HDSI with HDAR and HDSISR", () => {
    const mem = new Memory(0x10000);
    {
      const { t, hv } = setup();
      t.memory = mem;
      t.msr = MSR_HOST;
      t.setGpr(4, 0x20000n);
      expect(t.execute(A.ld(3, 0, 4))).toBe(EXEC_INTERRUPT);
      expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_MACHINE_CHECK]);
      expect(t.getSpr(SPRN_SRR0)).toBe(0x1000n);
      expect(t.hypervisorState).toBe(true);
    }
    {
      const { t, hv } = setup();
      t.memory = mem;
      t.msr = MSR_GUEST;
      t.setGpr(4, 0x123_0000_0000n);
      expect(t.execute(A.std(3, 8, 4))).toBe(EXEC_INTERRUPT);
      expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_H_DATA_STORAGE]);
      expect(t.getSpr(SPRN_HDAR)).toBe(0x123_0000_0008n);
      // DSISR_NOHPTE (bit 33) | DSISR_ISSTORE (bit 38)
      expect(t.getSpr(SPRN_HDSISR)).toBe(0x42000000n);
      t.msr = MSR_GUEST;
      expect(t.execute(A.ld(3, 0, 4))).toBe(EXEC_INTERRUPT);
      expect(t.getSpr(SPRN_HDSISR)).toBe(0x40000000n);
    }
  });
});

describe("rfid and hrfid (Power ISA v3.0B Book III 3.3.1)", () => {
  it("rfid in problem state and hrfid outside hypervisor state are privileged", () => {
    for (const [msr, word] of [
      [MSR_USER, A.RFID],
      [MSR_USER | MSR_HV, A.HRFID],
      [MSR_GUEST, A.HRFID],
    ] as const) {
      const { t } = setup();
      t.msr = msr;
      expect(t.execute(word)).toBe(EXEC_INTERRUPT);
      expect(t.lastInterrupt?.vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
      expect(t.getSpr(SPRN_SRR1) & SRR1_PROGPRIV).toBe(SRR1_PROGPRIV);
    }
  });

  it("rfid from a guest kernel cannot set MSR[HV] nor change MSR[ME]", () => {
    const { t } = setup();
    t.msr = MSR_GUEST;
    t.setSpr(SPRN_SRR0, 0x4003n);
    t.setSpr(SPRN_SRR1, (MSR_HOST & ~MSR_ME) | MSR_EE);
    expect(t.execute(A.RFID)).toBe(EXEC_OK);
    expect(t.pc).toBe(0x4000n);
    expect(t.msr).toBe(MSR_SF | MSR_LE | MSR_ME | MSR_EE);
  });

  it("rfid in hypervisor state takes MSR[HV] and MSR[ME] from SRR1", () => {
    const { t } = setup();
    t.msr = MSR_HOST;
    t.setSpr(SPRN_SRR0, 0x4000n);
    t.setSpr(SPRN_SRR1, MSR_SF | MSR_LE);
    t.execute(A.RFID);
    expect(t.msr).toBe(MSR_SF | MSR_LE);
    t.msr = MSR_HOST;
    t.setSpr(SPRN_SRR1, MSR_HOST | MSR_EE);
    t.execute(A.RFID);
    expect(t.msr).toBe(MSR_HOST | MSR_EE);
  });

  it("hrfid enters a guest from HSRR0/HSRR1; returning to problem state turns EE, IR and DR on", () => {
    const { t } = setup();
    t.msr = MSR_HOST;
    t.setSpr(SPRN_HSRR0, 0x8000n);
    t.setSpr(SPRN_HSRR1, MSR_SF | MSR_ME | MSR_LE | MSR_PR);
    expect(t.execute(A.HRFID)).toBe(EXEC_OK);
    expect(t.pc).toBe(0x8000n);
    expect(t.msr).toBe(MSR_SF | MSR_ME | MSR_LE | MSR_PR | MSR_EE | MSR_IR | MSR_DR);
  });

  it("rfscv returns to LR with the MSR in CTR, by rfid's rules: a guest cannot set MSR[HV]", () => {
    const { t } = setup();
    t.msr = MSR_GUEST;
    t.setSpr(SPRN_LR, 0x4400n);
    t.setSpr(SPRN_CTR, MSR_HOST | MSR_EE);
    // rfscv: XL-form 19/82
    expect(t.execute(0x4c0000a4)).toBe(EXEC_OK);
    expect(t.pc).toBe(0x4400n);
    expect(t.msr).toBe(MSR_GUEST | MSR_EE);
  });

  it("a thread outside any core returns with rfid", () => {
    const bare = new HwThread(new Simulation(), { pir: 0, index: 0 });
    bare.setSpr(SPRN_SRR0, 0x4000n);
    bare.setSpr(SPRN_SRR1, MSR_GUEST);
    expect(bare.execute(A.RFID)).toBe(EXEC_OK);
    expect([bare.pc, bare.msr]).toEqual([0x4000n, MSR_GUEST]);
  });

  it("MSR[TM] is not changed by rfid (the model's transactional-memory facility stays as it is)", () => {
    const { t } = setup();
    t.msr = MSR_HOST | MSR_TM;
    t.setSpr(SPRN_SRR0, 0x4000n);
    t.setSpr(SPRN_SRR1, MSR_HOST);
    t.execute(A.RFID);
    expect(t.msr).toBe(MSR_HOST | MSR_TM);
    t.setSpr(SPRN_SRR1, MSR_HOST | MSR_TM);
    t.msr = MSR_HOST;
    t.execute(A.RFID);
    expect(t.msr).toBe(MSR_HOST);
  });

  it("a return that lowers the priority of nothing still re-evaluates pending interrupts: rfid to EE=1 takes a pending DEC", () => {
    const { t, os } = setup();
    t.msr = MSR_GUEST;
    t.setSpr(0x016, 0xffffffffn); // DEC = -1: a decrementer exception is pending
    t.setSpr(SPRN_SRR0, 0x5000n);
    t.setSpr(SPRN_SRR1, MSR_GUEST_EE);
    expect(t.execute(A.RFID)).toBe(EXEC_INTERRUPT);
    expect(os.vectors()).toEqual([0x900]);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x5000n);
  });
});

describe("pending-interrupt selection (qemu p9_next_unmasked_interrupt)", () => {
  it("LPCR's enables alone are no interrupt: LPES0, HVICE and HDICE without their sources", () => {
    const { t, hv, os } = setup();
    t.setSpr(SPRN_LPCR, 0x8n | 0x2n | 0x1n); // LPES0 | HVICE | HDICE
    t.msr = MSR_GUEST_EE;
    expect(t.execute(A.NOP)).toBe(EXEC_OK);
    expect([...hv.events, ...os.events]).toHaveLength(0);
  });

  it("a hypervisor virtualization interrupt is taken at 0xEA0 only with LPCR[HVICE]", () => {
    const { t, hv } = setup();
    t.msr = MSR_GUEST_EE;
    t.setHvVirtInterrupt(true);
    expect(t.execute(A.NOP)).toBe(EXEC_OK);
    expect(hv.events).toHaveLength(0);
    t.setSpr(SPRN_LPCR, 0x2n); // HVICE
    expect(t.execute(A.NOP)).toBe(EXEC_INTERRUPT);
    expect(hv.vectors()).toEqual([0xea0]);
    expect(t.getSpr(SPRN_HSRR0)).toBe(0x1004n);
  });

  it("an external interrupt goes to the OS with LPCR[LPES0] (SRR0/1 at 0x500) and only with MSR[EE]", () => {
    const { t, hv, os } = setup();
    t.setSpr(SPRN_LPCR, 0x8n);
    t.msr = MSR_GUEST;
    t.setExternalInterrupt(true);
    expect(t.execute(A.NOP)).toBe(EXEC_OK);
    t.msr = MSR_GUEST_EE;
    expect(t.execute(A.NOP)).toBe(EXEC_INTERRUPT);
    expect(os.vectors()).toEqual([0x500]);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x1004n);
    expect(hv.events).toHaveLength(0);
  });
});
