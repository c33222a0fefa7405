import { nsToTb } from "@stopsim/engine";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as A from "./asm.js";
import { Memory } from "./memory.js";
import {
  BOOK3S_INTERRUPT_DECREMENTER,
  BOOK3S_INTERRUPT_DOORBELL,
  BOOK3S_INTERRUPT_EXTERNAL,
  BOOK3S_INTERRUPT_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_H_DATA_STORAGE,
  BOOK3S_INTERRUPT_H_DOORBELL,
  BOOK3S_INTERRUPT_H_EMUL_ASSIST,
  BOOK3S_INTERRUPT_H_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_HV_DECREMENTER,
  BOOK3S_INTERRUPT_PROGRAM,
  BOOK3S_INTERRUPT_SYSCALL,
  dbellServerMessage,
  FSCR_INTR_CAUSE,
  FSCR_MSGP_LG,
  FSCR_TAR,
  FSCR_TAR_LG,
  HFSCR_MSGP,
  HFSCR_TAR,
  LPCR_HDICE,
  LPCR_LD,
  LPCR_LPES0,
  MSR_EE,
  MSR_HV,
  MSR_LE,
  MSR_ME,
  MSR_PR,
  MSR_SF,
  makePsscr,
  PSSCR_EC,
  PSSCR_ESL,
  PSSCR_GUEST_VIS,
  PSSCR_PLS,
  RegisterValueError,
  SPRN_AMOR,
  SPRN_AMR,
  SPRN_CTR,
  SPRN_DEC,
  SPRN_DPDES,
  SPRN_FSCR,
  SPRN_HDAR,
  SPRN_HDEC,
  SPRN_HEIR,
  SPRN_HFSCR,
  SPRN_HSRR0,
  SPRN_HSRR1,
  SPRN_LPCR,
  SPRN_LR,
  SPRN_PIR,
  SPRN_PPR,
  SPRN_PSSCR,
  SPRN_PSSCR_PR,
  SPRN_PVR,
  SPRN_SPRG0,
  SPRN_SRR0,
  SPRN_SRR1,
  SPRN_TAR,
  SPRN_TBRL,
  SPRN_XER,
  SRR1_PROGPRIV,
  setPsscrMtl,
  setPsscrPsll,
} from "./registers.js";
import { MSR_GUEST, MSR_GUEST_EE, MSR_USER, setup } from "./test-helpers/setup.js";
import {
  EXEC_INTERRUPT,
  EXEC_OK,
  EXEC_STOPPED,
  SprAccessError,
  ThreadStateError,
  UnknownSprError,
} from "./thread.js";

describe("registers", () => {
  it("holds 64-bit GPR, SPR, MSR and PC values as bigint", () => {
    const { t } = setup();
    t.setGpr(3, 0xcafefacec0debaben);
    expect(t.gpr(3)).toBe(0xcafefacec0debaben);
    t.setSpr(SPRN_SPRG0, 0xffffffffffffffffn);
    expect(t.getSpr(SPRN_SPRG0)).toBe(0xffffffffffffffffn);
    t.pc = 0xc000000000001234n & ~3n;
    expect(t.pc).toBe(0xc000000000001234n & ~3n);
    expect(t.msr).toBe(MSR_SF | MSR_HV | MSR_ME | MSR_LE);
  });

  it("setSprHalves, getSprHi and getSprLo agree with setSpr and getSpr, write rules and errors included", () => {
    const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
    const spr = fc.constantFrom(SPRN_LR, SPRN_SPRG0, SPRN_DEC, SPRN_LPCR, SPRN_PVR);
    fc.assert(
      fc.property(spr, u64, (n, v) => {
        const a = setup().t;
        const b = setup().t;
        const hi = Number(v >> 32n);
        const lo = Number(v & 0xffffffffn);
        let errA = "";
        let errB = "";
        try {
          a.setSpr(n, v);
        } catch (e) {
          errA = String(e);
        }
        try {
          b.setSprHalves(n, hi, lo);
        } catch (e) {
          errB = String(e);
        }
        expect(errB).toBe(errA);
        const got = a.getSpr(n);
        expect(b.getSpr(n)).toBe(got);
        expect(b.getSprHi(n)).toBe(Number(got >> 32n));
        expect(b.getSprLo(n)).toBe(Number(got & 0xffffffffn));
      }),
    );
    expect(() => setup().t.getSprLo(12345)).toThrow(UnknownSprError);
  });

  it("bulk SPR save/restore in halves agrees with getSpr/setSpr, write rules included", () => {
    const list = [SPRN_LR, SPRN_CTR, SPRN_SPRG0, SPRN_PVR];
    const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
    fc.assert(
      fc.property(fc.tuple(u64, u64, u64), ([a, b, c]) => {
        const { t } = setup();
        t.setSpr(SPRN_LR, a);
        t.setSpr(SPRN_CTR, b);
        t.setSpr(SPRN_SPRG0, c);
        const hi = new Uint32Array(4);
        const lo = new Uint32Array(4);
        t.saveSprHalves(list, hi, lo);
        list.forEach((n, i) => {
          expect((BigInt(hi[i]) << 32n) | BigInt(lo[i])).toBe(t.getSpr(n));
        });
        const { t: u } = setup();
        // PVR is read-only: restoring it must fail like mtspr would, unless it is not present
        expect(() => u.restoreSprHalves(list, hi, lo, new Uint8Array([1, 1, 1, 1]))).toThrow(SprAccessError);
        const { t: w } = setup();
        w.restoreSprHalves(list, hi, lo, new Uint8Array([1, 1, 0, 0]));
        expect(w.getSpr(SPRN_LR)).toBe(a);
        expect(w.getSpr(SPRN_CTR)).toBe(b);
        expect(w.getSpr(SPRN_SPRG0)).toBe(0n);
      }),
      { numRuns: 100 },
    );
    const { t } = setup();
    expect(() => t.saveSprHalves([4095], new Uint32Array(1), new Uint32Array(1))).toThrow(UnknownSprError);
  });

  it("reads back every value written through the API or by instructions, at any width", () => {
    const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
    const small = fc.bigInt({ min: 0n, max: 0xffffn });
    const value = fc.oneof(u64, small, fc.constantFrom(0n, 1n << 53n, (1n << 53n) - 1n, 1n << 32n));
    const op = fc.oneof(
      fc.record({ kind: fc.constant("api" as const), n: fc.nat(3), v: value }),
      // an instruction (or the hypervisor's halves) changes the register behind the API's back
      fc.record({ kind: fc.constant("insn" as const), n: fc.nat(3), v: value }),
      fc.record({ kind: fc.constant("spr" as const), v: value }),
      fc.record({ kind: fc.constant("mtspr" as const), n: fc.nat(3) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { t } = setup();
        const gprs = [0n, 0n, 0n, 0n];
        let sprg0 = t.getSpr(SPRN_SPRG0);
        for (const o of ops) {
          if (o.kind === "api") {
            t.setGpr(o.n, o.v);
            gprs[o.n] = o.v;
          } else if (o.kind === "insn") {
            t.gprHi[o.n] = Number(o.v >> 32n);
            t.gprLo[o.n] = Number(o.v & 0xffffffffn);
            gprs[o.n] = o.v;
          } else if (o.kind === "spr") {
            t.setSpr(SPRN_SPRG0, o.v);
            sprg0 = o.v;
          } else {
            t.pc = 0x1000n;
            expect(t.execute(A.mtspr(SPRN_SPRG0, o.n))).toBe(EXEC_OK);
            sprg0 = gprs[o.n];
          }
          for (let n = 0; n < 4; n++) expect(t.gpr(n)).toBe(gprs[n]);
          expect(t.getSpr(SPRN_SPRG0)).toBe(sprg0);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("rejects out-of-range values and unknown SPRs with named errors", () => {
    const { t } = setup();
    expect(() => t.setGpr(3, -1n)).toThrow(RegisterValueError);
    expect(() => t.setGpr(32, 0n)).toThrow(RegisterValueError);
    expect(() => t.setSpr(SPRN_SPRG0, 1n << 64n)).toThrow(RegisterValueError);
    expect(() => t.getSpr(4)).toThrow(UnknownSprError);
    expect(() => t.setSpr(1024, 0n)).toThrow(UnknownSprError);
    expect(() => t.setSpr(SPRN_PVR, 0n)).toThrow(SprAccessError);
    expect(() => t.execute(2 ** 32)).toThrow(RangeError);
  });

  it("reports PVR, PIR and the 512 MHz timebase", () => {
    const { t, sim, core } = setup();
    expect(t.getSpr(SPRN_PVR)).toBe(0x004e1203n);
    expect(core.threads[3].getSpr(SPRN_PIR)).toBe(3n);
    sim.runFor(1_000_000);
    expect(t.getSpr(SPRN_TBRL)).toBe(512_000n);
    t.execute(A.mftb(5));
    expect(t.gpr(5)).toBe(512_000n);
  });

  it("keeps only the architected XER bits", () => {
    const { t } = setup();
    t.setSpr(SPRN_XER, 0xffffffffffffffffn);
    expect(t.getSpr(SPRN_XER)).toBe(0xe00c007fn);
  });
});

describe("integer and branch instructions", () => {
  it("computes li/lis/ori/oris/sldi/add/subf and compares", () => {
    const { t } = setup();
    for (const w of [
      A.lis(3, 0x1234),
      A.ori(3, 3, 0x5678),
      A.sldi(3, 3, 32),
      A.oris(3, 3, 0x9abc),
      A.ori(3, 3, 0xdef0),
    ]) {
      expect(t.execute(w)).toBe(EXEC_OK);
    }
    expect(t.gpr(3)).toBe(0x123456789abcdef0n);
    t.execute(A.li(4, -1));
    expect(t.gpr(4)).toBe(0xffffffffffffffffn);
    t.execute(A.add(5, 3, 4));
    expect(t.gpr(5)).toBe(0x123456789abcdeefn);
    t.execute(A.subf(6, 4, 3));
    expect(t.gpr(6)).toBe(0x123456789abcdef1n);
    t.execute(A.cmpdi(0, 4, -1));
    expect(t.cr >>> 28).toBe(0b0010);
    t.execute(A.cmpd(7, 4, 3));
    expect(t.cr & 0xf).toBe(0b1000);
  });

  it("branches with b, bl, bc, blr and bctr", () => {
    const { t } = setup();
    t.pc = 0x2000n;
    t.execute(A.bl(0x100));
    expect(t.pc).toBe(0x2100n);
    expect(t.getSpr(SPRN_LR)).toBe(0x2004n);
    t.execute(A.BLR);
    expect(t.pc).toBe(0x2004n);
    t.setSpr(SPRN_CTR, 0x3000n);
    t.execute(A.BCTR);
    expect(t.pc).toBe(0x3000n);
    t.execute(A.li(3, 5));
    t.execute(A.cmpdi(0, 3, 5));
    t.execute(A.bc(12, 2, -8)); // beq -8
    expect(t.pc).toBe(0x3000n);
    t.execute(A.bc(4, 2, 16)); // bne: not taken
    expect(t.pc).toBe(0x3004n);
  });
});

describe("privilege rules for SPRs", () => {
  it("gives a guest kernel a privileged program interrupt on hypervisor SPRs", () => {
    const { t, os, hv } = setup();
    t.setSpr(SPRN_LPCR, 0x1234n);
    t.msr = MSR_GUEST;
    for (const w of [
      A.mfspr(3, SPRN_LPCR),
      A.mtspr(SPRN_LPCR, 3),
      A.mtspr(SPRN_HSRR0, 3),
      A.mfspr(3, SPRN_HDEC),
    ]) {
      t.pc = 0x1000n;
      expect(t.execute(w)).toBe(EXEC_INTERRUPT);
      expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
      expect(t.getSpr(SPRN_SRR0)).toBe(0x1000n);
      expect(t.getSpr(SPRN_SRR1) & SRR1_PROGPRIV).toBe(SRR1_PROGPRIV);
      expect(t.getSpr(SPRN_SRR1) & MSR_HV).toBe(0n);
      expect(t.msr & MSR_HV).toBe(0n);
      t.msr = MSR_GUEST;
    }
    expect(hv.events).toHaveLength(0);
    expect(t.getSpr(SPRN_LPCR)).toBe(0x1234n);
  });

  it("gives problem state a privileged program interrupt on privileged SPRs", () => {
    const { t, os } = setup();
    t.msr = MSR_USER;
    expect(t.execute(A.mfspr(3, SPRN_SRR0))).toBe(EXEC_INTERRUPT);
    expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
    t.msr = MSR_USER;
    expect(t.execute(A.mfspr(3, SPRN_LR))).toBe(EXEC_OK);
  });

  it("treats undefined SPRs as the ISA says: no-op, program interrupt or HEAI", () => {
    const { t, os, hv } = setup();
    t.msr = MSR_GUEST;
    t.setGpr(3, 77n);
    expect(t.execute(A.mfspr(3, 0x3a0))).toBe(EXEC_OK); // spr0=0, privileged: no-op
    expect(t.execute(A.mfspr(3, 0x3b0))).toBe(EXEC_OK); // spr0=1, privileged: no-op
    expect(t.gpr(3)).toBe(77n);
    t.pc = 0x1000n;
    expect(t.execute(A.mfspr(3, 4))).toBe(EXEC_INTERRUPT); // mfspr of SPR 4: HEAI (an mtspr of it is a no-op)
    expect(hv.last?.vector).toBe(BOOK3S_INTERRUPT_H_EMUL_ASSIST);
    expect(t.getSpr(SPRN_HEIR)).toBe(BigInt(A.mfspr(3, 4)));
    expect(t.getSpr(SPRN_HSRR0)).toBe(0x1000n);
    t.msr = MSR_USER;
    expect(t.execute(A.mfspr(3, 0x3b0))).toBe(EXEC_INTERRUPT);
    expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
    t.msr = MSR_USER;
    expect(t.execute(A.mfspr(3, 0x3a0))).toBe(EXEC_INTERRUPT);
    expect(hv.last?.vector).toBe(BOOK3S_INTERRUPT_H_EMUL_ASSIST);
  });

  it("raises facility unavailable interrupts from HFSCR and FSCR", () => {
    const { t, os, hv } = setup();
    t.setSpr(SPRN_HFSCR, 0n);
    t.msr = MSR_GUEST;
    expect(t.execute(A.mtspr(SPRN_TAR, 3))).toBe(EXEC_INTERRUPT);
    expect(hv.last?.vector).toBe(BOOK3S_INTERRUPT_H_FAC_UNAVAIL);
    expect((t.getSpr(SPRN_HFSCR) & FSCR_INTR_CAUSE) >> 56n).toBe(BigInt(FSCR_TAR_LG));
    t.setSpr(SPRN_HFSCR, HFSCR_TAR);
    t.msr = MSR_USER;
    expect(t.execute(A.mtspr(SPRN_TAR, 3))).toBe(EXEC_INTERRUPT);
    expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_FAC_UNAVAIL);
    expect(t.getSpr(SPRN_FSCR) >> 56n).toBe(BigInt(FSCR_TAR_LG));
    t.setSpr(SPRN_FSCR, FSCR_TAR);
    t.msr = MSR_USER;
    expect(t.execute(A.mtspr(SPRN_TAR, 3))).toBe(EXEC_OK);
  });

  it("masks AMR writes by AMOR in guest state", () => {
    const { t } = setup();
    t.setSpr(SPRN_AMOR, 0xff00n);
    t.setSpr(SPRN_AMR, 0x0011n);
    t.msr = MSR_GUEST;
    t.setGpr(3, 0xffffn);
    t.execute(A.mtspr(SPRN_AMR, 3));
    expect(t.getSpr(SPRN_AMR)).toBe(0xff11n);
  });

  it("lets a guest see and change only PSSCR_GUEST_VIS through SPR 823", () => {
    const { t } = setup();
    t.setSpr(SPRN_PSSCR, PSSCR_ESL | PSSCR_EC | 0xf0000n | 0xf0n);
    t.msr = MSR_GUEST;
    t.setGpr(3, 0xffffffffffffffffn);
    expect(t.execute(A.mtspr(SPRN_PSSCR_PR, 3))).toBe(EXEC_OK);
    const full = t.getSpr(SPRN_PSSCR);
    expect(full & (PSSCR_ESL | PSSCR_EC | 0xf0000n)).toBe(PSSCR_ESL | PSSCR_EC | 0xf0000n);
    expect(full & 0x3ffn).toBe(0x3ffn);
    expect(full & PSSCR_PLS).toBe(0n);
    t.execute(A.mfspr(4, SPRN_PSSCR_PR));
    expect(t.gpr(4)).toBe(full & PSSCR_GUEST_VIS);
    t.pc = 0x1000n;
    expect(t.execute(A.mtspr(SPRN_PSSCR, 3))).toBe(EXEC_INTERRUPT);
  });
});

describe("MSR instructions and interrupts", () => {
  it("mtmsrd L=1 changes only EE and RI; mfmsr is privileged", () => {
    const { t, os } = setup();
    t.msr = MSR_GUEST;
    t.setGpr(3, 0xffffffffffffffffn);
    t.execute(A.mtmsrd(3, 1));
    expect(t.msr).toBe(MSR_GUEST | MSR_EE | 2n);
    t.execute(A.mtmsrd(3, 0));
    expect(t.msr & MSR_HV).toBe(0n);
    t.msr = MSR_USER;
    expect(t.execute(A.mfmsr(3))).toBe(EXEC_INTERRUPT);
    expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
  });

  it("routes sc to the OS and sc 1 to the hypervisor with SRR0 = next instruction", () => {
    const { t, os, hv } = setup();
    t.msr = MSR_GUEST;
    t.pc = 0x4000n;
    expect(t.execute(A.SC)).toBe(EXEC_INTERRUPT);
    expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_SYSCALL);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x4004n);
    expect(t.msr & MSR_HV).toBe(0n);
    t.msr = MSR_GUEST;
    t.pc = 0x4000n;
    expect(t.execute(A.SC1)).toBe(EXEC_INTERRUPT);
    expect(hv.last?.vector).toBe(BOOK3S_INTERRUPT_SYSCALL);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x4004n);
    expect(t.getSpr(SPRN_SRR1) & MSR_HV).toBe(0n);
    expect(t.msr & MSR_HV).toBe(MSR_HV);
    expect(t.pc).toBe(0xc00n);
  });

  it("enters a guest with hrfid and dispatch(), as KVM does", () => {
    const { t, os, hv } = setup();
    t.setSpr(SPRN_HSRR0, 0x8000n);
    t.setSpr(SPRN_HSRR1, MSR_GUEST_EE);
    expect(t.execute(A.HRFID)).toBe(EXEC_OK);
    expect(t.msr).toBe(MSR_GUEST_EE);
    expect(t.pc).toBe(0x8000n);
    t.dispatch();
    expect(os.last?.kind).toBe("resume");
    // hrfid from the guest is a privileged instruction
    expect(t.execute(A.HRFID)).toBe(EXEC_INTERRUPT);
    expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
    expect(hv.events).toHaveLength(0);
  });

  it("gives illegal words a HEAI with HEIR and never throws", () => {
    const { t, hv } = setup();
    t.msr = MSR_GUEST;
    for (const w of [0, 0xffffffff, A.ATTN, 0x7c0002a6 | 1]) {
      t.msr = MSR_GUEST;
      expect(t.execute(w)).toBe(EXEC_INTERRUPT);
      expect(hv.last?.vector).toBe(BOOK3S_INTERRUPT_H_EMUL_ASSIST);
      expect(t.getSpr(SPRN_HEIR)).toBe(BigInt(w >>> 0));
    }
  });

  it("refuses execute() on a stopped thread and nested execute() with named errors", () => {
    const { t } = setup();
    t.execute(A.STOP);
    expect(() => t.execute(A.NOP)).toThrow(ThreadStateError);
    expect(() => t.dispatch()).toThrow(ThreadStateError);
  });

  it("loads and stores little-endian and traps guest accesses outside memory", () => {
    const { t, hv } = setup();
    t.memory = new Memory(0x10000);
    t.setGpr(4, 0x1122334455667788n);
    t.setGpr(5, 0x100n);
    t.execute(A.std(4, 8, 5));
    expect(t.memory.read8(0x108)).toBe(0x88);
    t.execute(A.ld(6, 8, 5));
    expect(t.gpr(6)).toBe(0x1122334455667788n);
    t.execute(A.lwz(7, 12, 5));
    expect(t.gpr(7)).toBe(0x11223344n);
    t.msr = MSR_GUEST;
    t.setGpr(5, 0x20000n);
    expect(t.execute(A.ld(6, 0, 5))).toBe(EXEC_INTERRUPT);
    expect(hv.last?.vector).toBe(BOOK3S_INTERRUPT_H_DATA_STORAGE);
    expect(t.getSpr(SPRN_HDAR)).toBe(0x20000n);
  });
});

describe("decrementers", () => {
  it("takes DEC 0x900 when DEC goes negative with MSR[EE]=1", () => {
    const { t, sim, os } = setup();
    t.msr = MSR_GUEST_EE;
    t.setGpr(3, 512n); // 1 us
    t.execute(A.mtspr(SPRN_DEC, 3));
    sim.runFor(999);
    expect(os.events).toHaveLength(0);
    sim.runFor(10);
    expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_DECREMENTER);
    // DEC = 512 reaches -1 at timebase 513, i.e. ceil(513 / 0.512 ns)
    expect(os.last?.time).toBe(1002);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x1004n);
    expect(t.msr & MSR_EE).toBe(0n);
  });

  it("keeps DEC pending while MSR[EE]=0 and takes it on mtmsrd EE=1", () => {
    const { t, sim, os } = setup();
    t.msr = MSR_GUEST;
    t.setSpr(SPRN_DEC, 100n);
    sim.runFor(10_000);
    expect(os.events).toHaveLength(0);
    expect(t.getSpr(SPRN_DEC)).toBe(BigInt.asUintN(64, BigInt(100 - nsToTb(10_000))));
    t.setGpr(3, MSR_EE);
    expect(t.execute(A.mtmsrd(3, 1))).toBe(EXEC_INTERRUPT);
    expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_DECREMENTER);
    expect(t.getSpr(SPRN_SRR0)).toBe(0x1004n);
  });

  it("supports the 56-bit large decrementer with LPCR[LD]", () => {
    const { t } = setup();
    t.setSpr(SPRN_LPCR, LPCR_LD);
    t.setSpr(SPRN_DEC, 0x0000ffffffffffffn);
    expect(t.getSpr(SPRN_DEC)).toBe(0x0000ffffffffffffn);
    t.setSpr(SPRN_DEC, 0x00ffffffffffffffn); // -1 in 56 bits, sign-extended
    expect(t.getSpr(SPRN_DEC)).toBe(0xffffffffffffffffn);
    // beyond 2^53 ticks the model clamps (documented limitation)
    t.setSpr(SPRN_DEC, 0x007fffffffffffffn);
    expect(t.getSpr(SPRN_DEC)).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    t.setSpr(SPRN_LPCR, 0n);
    t.setSpr(SPRN_DEC, 0xffffffffn);
    expect(t.getSpr(SPRN_DEC)).toBe(0xffffffffffffffffn);
  });

  it("delivers HDEC 0x980 to the hypervisor while a guest runs", () => {
    const { t, sim, hv, os } = setup();
    t.setSpr(SPRN_LPCR, LPCR_HDICE);
    t.setSpr(SPRN_HDEC, 5120n); // 10 us
    t.msr = MSR_GUEST; // EE=0 does not mask hypervisor interrupts in guest state
    sim.runFor(20_000);
    expect(hv.last?.vector).toBe(BOOK3S_INTERRUPT_HV_DECREMENTER);
    expect(hv.last?.time).toBe(10_002);
    expect(t.getSpr(SPRN_HSRR1) & MSR_HV).toBe(0n);
    expect(os.events).toHaveLength(0);
  });
});

describe("doorbells and external interrupts", () => {
  it("msgsndp from a guest without HFSCR[MSGP] raises H_FAC_UNAVAIL with IC = FSCR_MSGP_LG", () => {
    const { t, hv } = setup();
    t.setSpr(SPRN_HFSCR, 0n);
    t.msr = MSR_GUEST;
    t.setGpr(4, dbellServerMessage(1));
    expect(t.execute(A.msgsndp(4))).toBe(EXEC_INTERRUPT);
    expect(hv.last?.vector).toBe(BOOK3S_INTERRUPT_H_FAC_UNAVAIL);
    expect(t.getSpr(SPRN_HFSCR) >> 56n).toBe(BigInt(FSCR_MSGP_LG));
    expect(t.getSpr(SPRN_HSRR0)).toBe(0x1000n);
  });

  it("msgsndp with HFSCR[MSGP] rings a sibling's privileged doorbell (0xA00)", () => {
    const { t, core } = setup();
    const sib = core.threads[2];
    const sibOs = new (class {
      vectors: number[] = [];
      interrupt(_t: unknown, v: number) {
        this.vectors.push(v);
      }
      resume() {}
    })();
    sib.setSoftware("os", sibOs);
    sib.msr = MSR_GUEST; // EE=0: pending
    t.setSpr(SPRN_HFSCR, HFSCR_MSGP);
    t.msr = MSR_GUEST;
    t.setGpr(4, dbellServerMessage(2));
    expect(t.execute(A.msgsndp(4))).toBe(EXEC_OK);
    expect(sib.getSpr(SPRN_DPDES)).toBe(4n);
    expect(sibOs.vectors).toEqual([]);
    sib.setGpr(3, MSR_EE);
    expect(sib.execute(A.mtmsrd(3, 1))).toBe(EXEC_INTERRUPT);
    expect(sibOs.vectors).toEqual([BOOK3S_INTERRUPT_DOORBELL]);
    expect(sib.getSpr(SPRN_DPDES)).toBe(0n);
  });

  it("msgsnd delivers a hypervisor doorbell (0xE80) by PIR, even to a guest-running thread", () => {
    const { t, core } = setup();
    const target = core.threads[1];
    const events: number[] = [];
    target.setSoftware("hv", { interrupt: (_t, v) => events.push(v), resume: () => {} });
    target.msr = MSR_GUEST;
    t.setGpr(4, dbellServerMessage(target.pir));
    expect(t.execute(A.msgsnd(4))).toBe(EXEC_OK);
    expect(events).toEqual([BOOK3S_INTERRUPT_H_DOORBELL]);
    // msgsnd is hypervisor privileged
    t.msr = MSR_GUEST;
    expect(t.execute(A.msgsnd(4))).toBe(EXEC_INTERRUPT);
    expect(t.lastInterrupt?.vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
  });

  it("routes the external interrupt by LPCR[LPES]", () => {
    const { t, hv, os } = setup();
    t.msr = MSR_GUEST;
    t.setExternalInterrupt(true);
    expect(hv.last?.vector).toBe(BOOK3S_INTERRUPT_EXTERNAL);
    t.setExternalInterrupt(false);
    t.setSpr(SPRN_LPCR, LPCR_LPES0);
    t.msr = MSR_GUEST_EE;
    t.setExternalInterrupt(true);
    expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_EXTERNAL);
  });

  it("sets PPR from priority hints within the privilege's range", () => {
    const { t } = setup();
    t.msr = MSR_GUEST;
    t.execute(A.HMT_VERY_LOW);
    expect(t.priority).toBe(1);
    t.execute(A.HMT_VERY_HIGH); // hypervisor only: no change
    expect(t.priority).toBe(1);
    t.execute(A.HMT_MEDIUM);
    expect(t.priority).toBe(4);
    t.msr = MSR_USER;
    t.execute(A.HMT_VERY_LOW); // privileged: ignored in problem state
    expect(t.priority).toBe(4);
    t.setSpr(SPRN_PPR, 7n << 50n);
    expect(t.priority).toBe(7);
  });
});

describe("msr setter", () => {
  it("defers pending interrupts to the next execute or dispatch", () => {
    const { t, os } = setup();
    t.setSpr(SPRN_DEC, 0xffffffffn);
    t.msr = MSR_GUEST_EE;
    expect(os.events).toHaveLength(0);
    t.dispatch();
    expect(os.last?.kind).toBe("interrupt");
    expect(os.last?.vector).toBe(BOOK3S_INTERRUPT_DECREMENTER);
    expect(MSR_PR).toBe(1n << 14n);
  });
});

describe("bad input", () => {
  it("rejects invalid PSSCR field values with RegisterValueError and clamps requested levels", () => {
    expect(() => makePsscr({ rl: 16, mtl: 0, psll: 15, esl: false, ec: false })).toThrow(RegisterValueError);
    expect(() => setPsscrPsll(0n, -1)).toThrow(RegisterValueError);
    expect(() => setPsscrMtl(0n, 1.5)).toThrow(RegisterValueError);
    // an unimplemented requested level enters the deepest implemented level below it
    const { t } = setup();
    t.setSpr(SPRN_PSSCR, makePsscr({ rl: 7, mtl: 7, psll: 15, esl: true, ec: true }));
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    expect(t.stopState?.level).toBe(5);
  });
});
