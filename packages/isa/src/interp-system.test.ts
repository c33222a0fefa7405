// The system instructions the interpreter decodes first (src/interp/system.ts): sc and its LEV,
// MSR moves and their privilege and field rules, rfid/hrfid privilege, doorbells, the
// privileged and hypervisor-privileged storage-control instructions (Power ISA v3.0B Book III
// 4.3, 5.9, 6.x; qemu: target/ppc/translate.c gen_sc, gen_mtmsrd, gen_rfid/gen_hrfid,
// gen_msgsnd/gen_msgsndp, gen_slbfee_).

import { describe, expect, it } from "vitest";
import { encode, type Insn } from "./codec.js";
import {
  MSR_DR,
  MSR_EE,
  MSR_HV,
  MSR_IR,
  MSR_LE,
  MSR_ME,
  MSR_PR,
  MSR_RI,
  MSR_SF,
  SPRN_HEIR,
  SPRN_HSRR0,
  SPRN_HSRR1,
  SPRN_SRR0,
  SPRN_SRR1,
} from "./registers.js";
import { cr0, exec, M64, prepare, thread, XER_SO } from "./test-helpers/interp.js";
import { MSR_GUEST, MSR_HOST, MSR_USER, setup } from "./test-helpers/setup.js";
import { EXEC_INTERRUPT, EXEC_OK, type HwThread } from "./thread.js";

const MSR_S = 1n << 41n; // MSR[S] (IBM bit 22)
const MSR_TS_S = 1n << 33n;
const HFSCR = 190;
const FSCR = 153;
const SRR1_PRIV = 0x40000n;

function expectProgramPriv(t: HwThread, pc: bigint, what: string): void {
  expect(t.lastInterrupt?.vector, what).toBe(0x700);
  expect(t.getSpr(SPRN_SRR0), what).toBe(pc);
  expect(t.getSpr(SPRN_SRR1) & 0x1f0000n, what).toBe(SRR1_PRIV);
}

describe("sc", () => {
  it("sc: System Call at 0xc00 with SRR0 = CIA + 4 and SRR1 = MSR; the guest stays out of hypervisor state", () => {
    const t = thread(MSR_USER);
    t.pc = 0x1_ffff_fffcn;
    expect(exec(t, { op: "sc", lev: 0 })).toBe(EXEC_INTERRUPT);
    expect(t.lastInterrupt?.vector).toBe(0xc00);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x2_0000_0000n);
    expect(t.getSpr(SPRN_SRR1) & (MSR_PR | MSR_SF | MSR_EE)).toBe(MSR_PR | MSR_SF | MSR_EE);
    expect(t.msr & (MSR_PR | MSR_HV)).toBe(0n);
    expect(t.pc).toBe(0xc00n);
  });

  it("sc 1 from a guest kernel enters the hypervisor; LEV > 1 is reserved: Hypervisor Emulation Assistance", () => {
    const t = thread(MSR_GUEST);
    t.pc = 0x3000n;
    exec(t, { op: "sc", lev: 1 });
    expect(t.lastInterrupt?.vector).toBe(0xc00);
    expect(t.msr & MSR_HV).toBe(MSR_HV);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x3004n);
    expect(t.getSpr(SPRN_SRR1) & MSR_HV).toBe(0n);
    for (const lev of [2, 3, 127]) {
      const u = thread(MSR_GUEST);
      u.pc = 0x3000n;
      const w = encode({ op: "sc", lev });
      expect(u.execute(w), `lev ${lev}`).toBe(EXEC_INTERRUPT);
      expect(u.lastInterrupt?.vector).toBe(0xe40);
      expect(u.getSpr(SPRN_HSRR0)).toBe(0x3000n);
      expect(u.getSpr(SPRN_HEIR)).toBe(BigInt(w));
    }
  });
});

describe("MSR moves: privilege and the fields mtmsr/mtmsrd may change", () => {
  it("mfmsr reads the MSR; it and mtmsr(d) are privileged in problem state; mfcr is not", () => {
    const t = thread(MSR_GUEST | MSR_EE);
    exec(t, { op: "mfmsr", rt: 3 });
    expect(t.gpr(3)).toBe(MSR_GUEST | MSR_EE);
    for (const insn of [
      { op: "mfmsr", rt: 3 },
      { op: "mtmsrd", rs: 3, l: 0 },
      { op: "mtmsrd", rs: 3, l: 1 },
      { op: "mtmsr", rs: 3, l: 0 },
    ] as Insn[]) {
      const u = prepare({ 3: 0x777n }, 0n, MSR_USER);
      u.pc = 0x2000n;
      expect(exec(u, insn), insn.op).toBe(EXEC_INTERRUPT);
      expectProgramPriv(u, 0x2000n, insn.op);
    }
    const u = thread(MSR_USER);
    u.cr = 0x80000001;
    expect(exec(u, { op: "mfcr", rt: 3 })).toBe(EXEC_OK);
    expect(u.gpr(3)).toBe(0x80000001n);
  });

  it("mtmsrd L=1 changes only EE and RI", () => {
    const t = prepare({ 3: M64 & ~MSR_RI }, 0n, MSR_GUEST | MSR_RI);
    exec(t, { op: "mtmsrd", rs: 3, l: 1 });
    expect(t.msr).toBe(MSR_GUEST | MSR_EE);
    t.setGpr(3, MSR_RI);
    exec(t, { op: "mtmsrd", rs: 3, l: 1 });
    expect(t.msr).toBe(MSR_GUEST | MSR_RI);
    expect(t.pc).toBe(0x1008n);
  });

  it("mtmsrd L=0 keeps HV, S and the TM state; a guest cannot change ME; setting PR also sets EE, IR and DR", () => {
    const g = prepare({ 3: MSR_SF | MSR_HV | MSR_S | MSR_TS_S | MSR_LE }, 0n, MSR_GUEST);
    exec(g, { op: "mtmsrd", rs: 3, l: 0 });
    // ME stays set (guest), HV/S/TS stay clear
    expect(g.msr).toBe(MSR_SF | MSR_ME | MSR_LE);
    const h = prepare({ 3: MSR_SF | MSR_LE }, 0n, MSR_HOST);
    exec(h, { op: "mtmsrd", rs: 3, l: 0 });
    // the hypervisor clears ME; HV stays
    expect(h.msr).toBe(MSR_SF | MSR_HV | MSR_LE);
    const p = prepare({ 3: MSR_SF | MSR_ME | MSR_LE | MSR_PR }, 0n, MSR_GUEST);
    exec(p, { op: "mtmsrd", rs: 3, l: 0 });
    expect(p.msr).toBe(MSR_SF | MSR_ME | MSR_LE | MSR_PR | MSR_EE | MSR_IR | MSR_DR);
  });

  it("mtmsr changes MSR[32:63] only: SF stays whatever RS[0] is", () => {
    const t = prepare({ 3: MSR_ME | MSR_LE | MSR_EE }, 0n, MSR_HOST);
    exec(t, { op: "mtmsr", rs: 3, l: 0 });
    expect(t.msr).toBe(MSR_SF | MSR_HV | MSR_ME | MSR_LE | MSR_EE);
    const d = prepare({ 3: MSR_ME | MSR_LE }, 0n, MSR_HOST);
    exec(d, { op: "mtmsrd", rs: 3, l: 0 });
    expect(d.msr & MSR_SF).toBe(0n);
  });
});

describe("rfid and hrfid privilege (Book III 6.4.2)", () => {
  it("rfid in problem state and hrfid outside hypervisor state are privileged; in the hypervisor hrfid returns through HSRR0/1", () => {
    for (const [op, msr] of [
      ["rfid", MSR_USER],
      ["hrfid", MSR_USER],
      ["hrfid", MSR_GUEST],
    ] as const) {
      const t = thread(msr);
      t.pc = 0x2000n;
      expect(exec(t, { op }), op).toBe(EXEC_INTERRUPT);
      expectProgramPriv(t, 0x2000n, op);
    }
    const h = thread(MSR_HOST);
    h.setSpr(SPRN_HSRR0, 0x5000n);
    h.setSpr(SPRN_HSRR1, MSR_GUEST);
    h.setSpr(SPRN_SRR0, 0x6000n);
    expect(exec(h, { op: "hrfid" })).toBe(EXEC_OK);
    expect(h.pc).toBe(0x5000n);
    expect(h.msr).toBe(MSR_GUEST);
    const g = thread(MSR_GUEST);
    g.setSpr(SPRN_SRR0, 0x6000n);
    g.setSpr(SPRN_SRR1, MSR_USER | MSR_HV);
    expect(exec(g, { op: "rfid" })).toBe(EXEC_OK);
    expect(g.pc).toBe(0x6000n);
    expect(g.msr & (MSR_HV | MSR_PR)).toBe(MSR_PR);
  });
});

describe("doorbells: msgsnd/msgclr (hypervisor) and msgsndp/msgclrp (privileged)", () => {
  const DBELL = 5 << 27; // message type 5: the doorbell of the own partition

  it("msgsnd is hypervisor privileged; a type-5 message to a sibling's PIR rings its hypervisor doorbell; msgclr clears the own", () => {
    const { core } = setup();
    const [a, b] = core.threads;
    a.msr = MSR_HOST;
    for (const msr of [MSR_USER, MSR_GUEST]) {
      for (const op of ["msgsnd", "msgclr", "msgsync"]) {
        const t = thread(msr);
        t.pc = 0x2000n;
        expect(exec(t, op === "msgsync" ? { op } : { op, rb: 3 }), op).toBe(EXEC_INTERRUPT);
        expectProgramPriv(t, 0x2000n, op);
      }
    }
    // a message of another type does nothing
    a.setGpr(3, BigInt((4 << 27) | b.pir));
    exec(a, { op: "msgsnd", rb: 3 });
    expect(b.hDoorbell).toBe(false);
    a.setGpr(3, BigInt(DBELL | b.pir));
    expect(exec(a, { op: "msgsnd", rb: 3 })).toBe(EXEC_OK);
    expect(b.hDoorbell).toBe(true);
    expect(a.hDoorbell).toBe(false);
    a.setGpr(3, BigInt(DBELL | a.pir));
    exec(a, { op: "msgsnd", rb: 3 });
    expect(a.hDoorbell).toBe(true);
    a.setGpr(4, BigInt(4 << 27));
    exec(a, { op: "msgclr", rb: 4 });
    expect(a.hDoorbell).toBe(true);
    a.setGpr(4, BigInt(DBELL));
    exec(a, { op: "msgclr", rb: 4 });
    expect(a.hDoorbell).toBe(false);
    expect(exec(a, { op: "msgsync" })).toBe(EXEC_OK);
  });

  it("msgsndp needs HFSCR[MSGP] in guest state; it rings the privileged doorbell of thread TIR of the core", () => {
    const g = thread(MSR_GUEST);
    g.setGpr(3, BigInt(DBELL | 1));
    g.pc = 0x2000n;
    expect(exec(g, { op: "msgsndp", rb: 3 })).toBe(EXEC_INTERRUPT);
    expect(g.lastInterrupt?.vector).toBe(0xf80);
    expect(g.getSpr(SPRN_HSRR0)).toBe(0x2000n);
    const u = thread(MSR_USER);
    u.setSpr(HFSCR, 1n << 10n);
    expect(exec(u, { op: "msgclrp", rb: 3 })).toBe(EXEC_INTERRUPT);
    expect(u.lastInterrupt?.vector).toBe(0x700);
    const { core } = setup();
    const [a, , c] = core.threads;
    a.msr = MSR_GUEST;
    a.setSpr(HFSCR, 1n << 10n);
    a.setGpr(3, BigInt(DBELL | 2));
    expect(exec(a, { op: "msgsndp", rb: 3 })).toBe(EXEC_OK);
    expect(c.pDoorbell).toBe(true);
    expect(a.pDoorbell).toBe(false);
    a.setGpr(3, BigInt((3 << 27) | 0));
    exec(a, { op: "msgsndp", rb: 3 });
    expect(a.pDoorbell).toBe(false);
    a.setGpr(3, BigInt(DBELL | 0));
    exec(a, { op: "msgsndp", rb: 3 });
    expect(a.pDoorbell).toBe(true);
    a.setGpr(3, BigInt(3 << 27));
    exec(a, { op: "msgclrp", rb: 3 });
    expect(a.pDoorbell).toBe(true);
    a.setGpr(3, BigInt(DBELL));
    exec(a, { op: "msgclrp", rb: 3 });
    expect(a.pDoorbell).toBe(false);
    // the hypervisor needs no HFSCR bit
    const h = thread(MSR_HOST);
    h.setGpr(3, BigInt(DBELL | 0));
    expect(exec(h, { op: "msgsndp", rb: 3 })).toBe(EXEC_OK);
  });
});

describe("storage control without an MMU model", () => {
  it("slbie, slbia, slbmte, slbsync, slbiag are privileged; tlbie, tlbiel, tlbsync hypervisor privileged", () => {
    const priv: Insn[] = [
      { op: "slbie", rb: 3 },
      { op: "slbia", ih: 0 },
      { op: "slbmte", rs: 3, rb: 4 },
      { op: "slbsync" },
      { op: "slbmfev", rt: 3, rb: 4 },
      { op: "slbfee.", rt: 3, rb: 4 },
    ];
    const hv: Insn[] = [{ op: "tlbie", rb: 3, rs: 4 }, { op: "tlbiel", rb: 3, rs: 4 }, { op: "tlbsync" }];
    for (const insn of [...priv, ...hv]) {
      const u = thread(MSR_USER);
      u.pc = 0x2000n;
      expect(exec(u, insn), insn.op).toBe(EXEC_INTERRUPT);
      expectProgramPriv(u, 0x2000n, insn.op);
      const g = thread(MSR_GUEST);
      g.pc = 0x2000n;
      expect(exec(g, insn), `guest ${insn.op}`).toBe(hv.includes(insn) ? EXEC_INTERRUPT : EXEC_OK);
      if (hv.includes(insn)) expectProgramPriv(g, 0x2000n, insn.op);
      else expect(g.pc).toBe(0x2004n);
      const h = thread(MSR_HOST);
      expect(exec(h, insn), `hv ${insn.op}`).toBe(EXEC_OK);
    }
  });

  it("slbmfev/slbmfee read an invalid entry (0); slbfee. finds none: RT = 0, CR0 = 0b000 || SO", () => {
    const t = prepare({ 3: 0x1234n, 5: 0x99n }, XER_SO, MSR_GUEST);
    t.cr = 0xf0000000;
    exec(t, { op: "slbmfee", rt: 5, rb: 4 });
    expect(t.gpr(5)).toBe(0n);
    t.setGpr(5, 0x99n);
    exec(t, { op: "slbmfev", rt: 5, rb: 4 });
    expect(t.gpr(5)).toBe(0n);
    exec(t, { op: "slbfee.", rt: 3, rb: 4 });
    expect(t.gpr(3)).toBe(0n);
    expect(cr0(t)).toBe(1);
  });

  it("sync, isync, eieio, the cache hints and wait execute as no-ops; attn is illegal (HID0[ENABLE_ATTN] off)", () => {
    for (const insn of [
      { op: "sync", l: 0 },
      { op: "isync" },
      { op: "eieio" },
      { op: "dcbf", ra: 0, rb: 3, l: 0 },
      { op: "dcbst", ra: 0, rb: 3 },
      { op: "icbi", ra: 0, rb: 3 },
    ] as Insn[]) {
      const t = thread(MSR_USER);
      expect(exec(t, insn), insn.op).toBe(EXEC_OK);
      expect(t.pc).toBe(0x1004n);
    }
    const a = thread();
    a.pc = 0x2000n;
    expect(exec(a, { op: "attn" })).toBe(EXEC_INTERRUPT);
    expect(a.lastInterrupt?.vector).toBe(0xe40);
    expect(a.getSpr(SPRN_HSRR0)).toBe(0x2000n);
    expect(a.getSpr(SPRN_HSRR1) & MSR_HV).toBe(MSR_HV);
  });
});

describe("rfebb, rfscv, scv", () => {
  it("rfebb: NIA = EBBRR, BESCR[GE] = S; needs FSCR[EBB] in problem state and HFSCR[EBB] in guest state", () => {
    const t = thread(MSR_USER);
    t.setSpr(HFSCR, 1n << 7n);
    t.setSpr(FSCR, 1n << 7n);
    t.setSpr(805, 0x7001n); // EBBRR
    t.setSpr(806, 0x1234n); // BESCR
    expect(exec(t, { op: "rfebb", s: 1 })).toBe(EXEC_OK);
    expect(t.pc).toBe(0x7000n);
    expect(t.getSpr(806)).toBe((1n << 63n) | 0x1234n);
    t.setSpr(805, 0x9000n);
    exec(t, { op: "rfebb", s: 0 });
    expect(t.pc).toBe(0x9000n);
    expect(t.getSpr(806)).toBe(0x1234n);
    const u = thread(MSR_USER);
    u.setSpr(HFSCR, 1n << 7n);
    expect(exec(u, { op: "rfebb", s: 1 })).toBe(EXEC_INTERRUPT);
    expect(u.lastInterrupt?.vector).toBe(0xf60);
    const g = thread(MSR_USER);
    g.setSpr(FSCR, 1n << 7n);
    expect(exec(g, { op: "rfebb", s: 1 })).toBe(EXEC_INTERRUPT);
    expect(g.lastInterrupt?.vector).toBe(0xf80);
  });

  it("rfscv is privileged; scv LEV 0 enters 0x17000", () => {
    const u = thread(MSR_USER);
    u.pc = 0x2000n;
    expect(exec(u, { op: "rfscv" })).toBe(EXEC_INTERRUPT);
    expectProgramPriv(u, 0x2000n, "rfscv");
    const s = thread(MSR_USER);
    s.setSpr(FSCR, 1n << 12n);
    exec(s, { op: "scv", lev: 0 });
    expect(s.lastInterrupt?.vector).toBe(0x17000);
    expect(s.getSpr(SPRN_HSRR1)).toBe(0n);
  });

  it("darn's 64-bit values use both halves of the stream; each thread has its own stream", () => {
    const { core } = setup();
    const [a, b] = core.threads;
    a.msr = MSR_HOST;
    b.msr = MSR_HOST;
    exec(a, { op: "darn", rt: 3, l: 1 });
    exec(b, { op: "darn", rt: 3, l: 1 });
    expect(a.gpr(3) >> 32n).not.toBe(0n);
    expect(a.gpr(3)).not.toBe(b.gpr(3));
    exec(a, { op: "darn", rt: 4, l: 2 });
    expect(a.gpr(4)).not.toBe(a.gpr(3));
  });
});
