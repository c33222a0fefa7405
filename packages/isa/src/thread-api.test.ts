// HwThread's public API against what it models: the architected state (Power ISA v3.0B Book III:
// 32 GPRs, word-aligned PC, the timebase at 512 MHz with its offset, CR fields, the real address
// ignoring EA bits 0:3), run()'s outcomes, and the errors software gets for bad input (named
// error classes with a message naming the problem).
import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import * as A from "./asm.js";
import { POWER9_DD20, POWER9_DD23 } from "./chips.js";
import { Memory } from "./memory.js";
import {
  BOOK3S_INTERRUPT_H_INST_STORAGE,
  BOOK3S_INTERRUPT_MACHINE_CHECK,
  LPCR_PECE1,
  MSR_LE,
  MSR_PR,
  makePsscr,
  RegisterValueError,
  SPRN_DEC,
  SPRN_LPCR,
  SPRN_PSSCR,
  SPRN_PVR,
  SPRN_TBU40,
} from "./registers.js";
import { MSR_GUEST, MSR_HOST, MSR_USER, Recorder, setup } from "./test-helpers/setup.js";
import {
  EXEC_INTERRUPT,
  EXEC_OK,
  HwThread,
  InstructionWordError,
  SprAccessError,
  ThreadStateError,
  UnknownSprError,
} from "./thread.js";

describe("construction", () => {
  it("defaults to a POWER9 DD2.3 thread with little-endian hypervisor interrupts", () => {
    const sim = new Simulation();
    const t = new HwThread(sim, { pir: 3, index: 3 });
    expect(t.chip).toBe(POWER9_DD23);
    expect(t.getSpr(SPRN_PVR)).toBe(0x004e1203n);
    t.execute(A.SC);
    expect(t.msr & MSR_LE).toBe(MSR_LE);
    const old = new HwThread(sim, { pir: 4, index: 0, chip: POWER9_DD20, hile: false });
    expect(old.getSpr(SPRN_PVR)).toBe(0x004e1200n);
    old.execute(A.SC);
    expect(old.msr & MSR_LE).toBe(0n);
  });

  it("a thread outside a core takes MSR changes without a core to tell", () => {
    const t = new HwThread(new Simulation(), { pir: 0, index: 0 });
    t.msr = MSR_GUEST;
    expect(t.msr).toBe(MSR_GUEST);
    t.setSpr(0x016, 0xffff_ffffn); // DEC negative
    t.msr = MSR_GUEST | (1n << 15n);
    expect(t.execute(A.NOP)).toBe(EXEC_INTERRUPT);
    expect(t.pc).toBe(0x900n);
  });
});

describe("state", () => {
  it("GPR numbers are 0..31", () => {
    const { t } = setup();
    for (const n of [-1, 32, 1.5]) {
      expect(() => t.gpr(n)).toThrow(new RegisterValueError(`GPR number must be 0..31, got ${n}`));
      expect(() => t.setGpr(n, 1n)).toThrow(RegisterValueError);
    }
    t.setGpr(31, 7n);
    expect(t.gpr(31)).toBe(7n);
  });

  it("setPc32 takes a word-aligned address below 2^32", () => {
    const { t } = setup();
    t.setPc32(0xffff_fffc);
    expect(t.pc).toBe(0xffff_fffcn);
    for (const bad of [0x1002, -4, 2 ** 32, 1.5]) {
      expect(() => t.setPc32(bad)).toThrow(
        new RegisterValueError(`pc must be a word-aligned address below 2^32, got ${bad}`),
      );
    }
  });

  it("pc must be word aligned; msr a 64-bit value", () => {
    const { t } = setup();
    expect(() => {
      t.pc = 0x1002n;
    }).toThrow(new RegisterValueError("pc must be word aligned, got 0x1002"));
    expect(() => {
      t.msr = -1n;
    }).toThrow(/^msr: -1 is not an unsigned 64-bit value/);
    expect(() => {
      t.pc = -4n;
    }).toThrow(/^pc: -4 is not an unsigned 64-bit value/);
    expect(() => t.setGpr(3, -1n)).toThrow(/^r3: -1 is not an unsigned 64-bit value/);
    expect(() => t.setSpr(0x110, 1n << 64n)).toThrow(/^SPR 272 \(SPRG0\): 18446744073709551616 is not/);
  });

  it("the PC carries into its high word past 4 GiB", () => {
    const { t } = setup();
    t.pc = 0xffff_fffcn;
    expect(t.execute(A.NOP)).toBe(EXEC_OK);
    expect(t.pc).toBe(0x1_0000_0000n);
    t.execute(A.NOP);
    expect(t.pc).toBe(0x1_0000_0004n);
  });

  it("problemState is MSR[PR]", () => {
    const { t } = setup();
    t.msr = MSR_USER;
    expect(t.problemState).toBe(true);
    t.msr = MSR_USER & ~MSR_PR;
    expect(t.problemState).toBe(false);
  });

  it("the timebase counts at 512 MHz from 0 plus what mttbu40 moved it by", () => {
    const { t, sim } = setup();
    sim.runUntil(1000);
    expect(t.timebase).toBe(512n);
    expect(t.timebaseValue).toBe(512);
    // TBU40: the upper 40 bits of the timebase
    t.setSpr(SPRN_TBU40, 0x1_0000_0000n);
    expect(t.timebase).toBe(0x1_0000_0000n + 512n);
    expect(t.timebaseValue).toBe(2 ** 32 + 512);
    sim.runUntil(2000);
    expect(t.timebase).toBe(0x1_0000_0000n + 1024n);
    expect(t.timebaseValue).toBe(2 ** 32 + 1024);
  });

  it("a compare sets its CR field and leaves the others", () => {
    const { t } = setup();
    t.setGpr(3, 5n);
    t.execute(A.cmpdi(1, 3, 9)); // cr1: LT
    t.execute(A.cmpdi(0, 3, 1)); // cr0: GT
    t.execute(A.cmpdi(7, 3, 5)); // cr7: EQ
    expect(t.cr).toBe(0x48000002);
  });

  it("reports the external interrupt input's level", () => {
    const { t } = setup();
    t.setExternalInterrupt(true);
    expect(t.externalInterrupt).toBe(true);
    t.setExternalInterrupt(false);
    expect(t.externalInterrupt).toBe(false);
  });
});

describe("software and dispatch", () => {
  it("registers software per level and refuses other levels", () => {
    const { t, hv, os } = setup();
    expect(t.software("hv")).toBe(hv);
    expect(t.software("os")).toBe(os);
    expect(() => t.setSoftware("user" as "os", new Recorder())).toThrow(
      new ThreadStateError('software level must be "hv" or "os", got user'),
    );
    expect(t.software("os")).toBe(os);
  });

  it("dispatch refuses a stopped thread and a level without software, naming both", () => {
    const { t } = setup();
    t.setSoftware("hv", null);
    expect(() => t.dispatch()).toThrow('no "hv" software registered');
    t.setSoftware("hv", new Recorder());
    t.setSoftware("os", null);
    t.msr = MSR_GUEST;
    expect(() => t.dispatch()).toThrow(
      new ThreadStateError('dispatch() on thread pir 0: no "os" software registered (setSoftware)'),
    );
    t.msr = MSR_HOST;
    t.setSpr(SPRN_LPCR, LPCR_PECE1);
    t.setSpr(SPRN_PSSCR, makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: false }));
    t.execute(A.STOP);
    expect(() => t.dispatch()).toThrow(
      new ThreadStateError("dispatch() on thread pir 0: the thread is stopped"),
    );
  });

  it("the errors are named", () => {
    const { t } = setup();
    const name = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as Error).name;
      }
      return "none";
    };
    expect(name(() => t.getSpr(4))).toBe("UnknownSprError");
    expect(name(() => t.setSpr(SPRN_PVR, 0n))).toBe("SprAccessError");
    expect(name(() => t.execute(1.5))).toBe("InstructionWordError");
    expect(name(() => t.setSoftware("x" as "hv", null))).toBe("ThreadStateError");
    expect([UnknownSprError, SprAccessError].every((c) => typeof c === "function")).toBe(true);
  });
});

describe("execute", () => {
  it("accepts a 32-bit word signed or unsigned and nothing else", () => {
    const { t } = setup();
    for (const bad of [1.5, 2 ** 32, -0x8000_0001, Number.NaN, "0" as unknown as number]) {
      expect(() => t.execute(bad)).toThrow(
        new InstructionWordError(`instruction word must be a 32-bit integer, got ${String(bad)}`),
      );
    }
    expect(t.instructions).toBe(0);
    // -0x80000000 is the word 0x80000000 (primary opcode 32, lwz): executes
    t.memory = new Memory(0x10000);
    expect(t.execute(-0x8000_0000)).toBe(EXEC_OK);
    expect(t.execute(A.NOP)).toBe(EXEC_OK);
    expect(t.instructions).toBe(2);
  });

  it("refuses to be re-entered from inside an instruction, naming the thread", () => {
    // msgsnd from thread 1 interrupts thread 0 at once; thread 0's hypervisor, notified inside
    // thread 1's msgsnd, tries to run an instruction on thread 1
    const { core, hv } = setup();
    const t0 = core.threads[0];
    const t1 = core.threads[1];
    t0.msr = MSR_GUEST;
    let inner: unknown = null;
    hv.onInterrupt = () => {
      try {
        t1.execute(A.NOP);
      } catch (e) {
        inner = e;
      }
    };
    t1.setGpr(3, 0x28000000n); // DBELL_TYPE_SERVER, PIR 0
    expect(t1.execute(A.msgsnd(3))).toBe(EXEC_OK);
    expect(hv.vectors()).toEqual([0xe80]);
    expect(inner).toEqual(
      new ThreadStateError(
        "execute() on thread pir 1 re-entered from an interrupt or resume notification: schedule the continuation on the engine instead",
      ),
    );
    // and the thread is not left marked as executing
    expect(t1.execute(A.NOP)).toBe(EXEC_OK);
  });

  it("on a stopped thread names the time it stopped", () => {
    const { t, sim } = setup();
    sim.runUntil(250);
    t.setSpr(SPRN_LPCR, LPCR_PECE1);
    t.setSpr(SPRN_PSSCR, makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: false }));
    t.execute(A.STOP);
    expect(() => t.execute(A.NOP)).toThrow(
      "execute() on thread pir 0: the thread is stopped (since 250 ns); wait for its wake-up",
    );
  });

  it("an interrupt an instruction raises on its own thread is taken after it (SRR0 = the next instruction)", () => {
    const { t, os } = setup();
    t.setSpr(0x0be, 1n << 10n); // HFSCR[MSGP]
    t.msr = MSR_GUEST | (1n << 15n);
    t.setGpr(3, 0x28000000n); // msgsndp to thread 0 (itself): DBELL_TYPE_SERVER, TIR 0
    expect(t.execute(A.msgsndp(3))).toBe(EXEC_INTERRUPT);
    expect(os.vectors()).toEqual([0xa00]);
    expect(t.getSpr(0x01a)).toBe(0x1004n);
    expect(t.pc).toBe(0xa00n);
  });
});

describe("run", () => {
  const BASE = 0x1000;

  it("executes a zero word (an illegal instruction: HEAI) like any other", () => {
    const { t, hv } = setup();
    t.msr = MSR_GUEST;
    t.pc = BigInt(BASE);
    expect(t.run(new Memory(0x10000))).toEqual({ status: "interrupt", steps: 1, vector: 0xe40 });
    expect(hv.vectors()).toEqual([0xe40]);
  });

  it("fetches big-endian words when MSR[LE] is clear", () => {
    const mem = new Memory(0x10000);
    mem.loadWords(BASE, [A.li(3, 7), A.SC], false);
    const { t } = setup();
    t.msr = MSR_GUEST & ~MSR_LE;
    t.pc = BigInt(BASE);
    expect(t.run(mem)).toEqual({ status: "interrupt", steps: 2, vector: 0xc00 });
    expect(t.gpr(3)).toBe(7n);
  });

  it("rfebb returns to EBBRR and sets BESCR[GE] from its S bit (Power ISA v3.0B Book II 6)", () => {
    const { t } = setup();
    t.setSpr(0x0be, 1n << 7n); // HFSCR[EBB]
    t.setSpr(0x099, 1n << 7n); // FSCR[EBB]
    t.setSpr(805, 0x7000n); // EBBRR
    t.msr = MSR_USER;
    expect(t.execute(0x4c000924)).toBe(EXEC_OK); // rfebb 1: XL-form 19/146, S = 1
    expect(t.pc).toBe(0x7000n);
    expect(t.getSpr(806) >> 63n).toBe(1n); // BESCR[GE]
  });

  it("runs until stop, until an interrupt, or for maxSteps instructions", () => {
    const mem = new Memory(0x10000);
    {
      const { t } = setup();
      t.setSpr(SPRN_LPCR, LPCR_PECE1);
      t.setSpr(SPRN_PSSCR, makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: false }));
      mem.loadWords(BASE, [A.NOP, A.NOP, A.STOP]);
      t.pc = BigInt(BASE);
      expect(t.run(mem)).toEqual({ status: "stopped", steps: 3 });
      // run on a stopped thread returns at once
      expect(t.run(mem)).toEqual({ status: "stopped", steps: 0 });
    }
    {
      const { t } = setup();
      t.msr = MSR_GUEST;
      mem.loadWords(BASE, [A.NOP, A.SC]);
      t.pc = BigInt(BASE);
      expect(t.run(mem)).toEqual({ status: "interrupt", steps: 2, vector: 0xc00 });
    }
    {
      const { t } = setup();
      mem.loadWords(BASE, [A.NOP, A.NOP, A.NOP, A.NOP]);
      t.pc = BigInt(BASE);
      expect(t.run(mem, 3)).toEqual({ status: "max-steps", steps: 3 });
      expect(t.pc).toBe(BigInt(BASE + 12));
      expect(t.run(mem, 0)).toEqual({ status: "max-steps", steps: 0 });
    }
  });

  it("a fetch outside memory: machine check in the hypervisor, instruction storage interrupt (0xE20) in a guest", () => {
    const mem = new Memory(0x10000);
    mem.loadWords(0xfff8, [A.NOP, A.NOP]);
    for (const [msr, vector] of [
      [MSR_HOST, BOOK3S_INTERRUPT_MACHINE_CHECK],
      [MSR_GUEST, BOOK3S_INTERRUPT_H_INST_STORAGE],
    ] as const) {
      const { t, hv } = setup();
      t.msr = msr;
      t.pc = 0xfff8n;
      expect(t.run(mem)).toEqual({ status: "interrupt", steps: 2, vector });
      expect(hv.vectors()).toEqual([vector]);
      expect(t.getSpr(msr === MSR_HOST ? 0x01a : 0x13a)).toBe(0x10000n);
    }
    // no memory at all
    const { t } = setup();
    t.msr = MSR_GUEST;
    expect(t.run(new Memory(0x1000), 5)).toEqual({ status: "interrupt", steps: 0, vector: 0xe20 });
  });

  it("an interrupt taken before the first instruction ends the run with that vector", () => {
    const mem = new Memory(0x10000);
    mem.loadWords(BASE, [A.NOP]);
    const { t } = setup();
    t.msr = MSR_GUEST | (1n << 15n);
    t.setSpr(SPRN_DEC, 0xffff_ffffn);
    t.pc = BigInt(BASE);
    expect(t.run(mem)).toEqual({ status: "interrupt", steps: 1, vector: 0x900 });
  });
});
