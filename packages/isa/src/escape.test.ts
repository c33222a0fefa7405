// Guest-escape property: one million random instruction words executed in guest-kernel state
// (MSR[HV]=0, MSR[PR]=0) with random register contents never change hypervisor-only state,
// except as the architected hypervisor interrupt they raise says (HSRR0/1, and HEIR for 0xE40,
// HFSCR[IC] for 0xF80, HDAR/HDSISR for 0xE00).
import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { STOP } from "./asm.js";
import { SmtCore } from "./core.js";
import { Memory } from "./memory.js";
import { FORMS } from "./opcodes.js";
import {
  BOOK3S_INTERRUPT_ALIGNMENT,
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
  HV_VECTORS,
  LPCR_LPES0,
  LPCR_PECE0,
  SPRN_HDAR,
  SPRN_HDSISR,
  SPRN_HEIR,
  SPRN_HFSCR,
  SPRN_HSRR0,
  SPRN_HSRR1,
  SPRN_LPCR,
  SPRN_PSSCR,
} from "./registers.js";
import { ACC_HV, implementedSprs } from "./sprs.js";
import { EXEC_INTERRUPT, EXEC_OK, EXEC_STOPPED, sprStoreIndex } from "./thread.js";

/** PSSCR ESL, EC, PSLL and SD: fields only the hypervisor can write. */
const PSSCR_HV_FIELDS = 0x007f0000;

/** Every instruction form of the table: opcode bits and the bits of its operand fields. */
const FORM_OPCODE = Uint32Array.from(FORMS.slice(1), (f) => f.opcode);
const FORM_OPERANDS = Uint32Array.from(FORMS.slice(1), (f) => f.fields.reduce((m, fd) => m | fd.bits, 0));
const FORM_IS_SPR = Uint8Array.from(FORMS.slice(1), (f) =>
  f.name === "mfspr" || f.name === "mtspr" ? 1 : 0,
);

const GUEST_OS_VECTORS = new Set([
  BOOK3S_INTERRUPT_ALIGNMENT,
  BOOK3S_INTERRUPT_PROGRAM,
  BOOK3S_INTERRUPT_SYSCALL,
  BOOK3S_INTERRUPT_DECREMENTER,
  BOOK3S_INTERRUPT_DOORBELL,
  BOOK3S_INTERRUPT_EXTERNAL,
  BOOK3S_INTERRUPT_FAC_UNAVAIL,
]);
const GUEST_HV_VECTORS = new Set([
  BOOK3S_INTERRUPT_H_EMUL_ASSIST,
  BOOK3S_INTERRUPT_H_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_H_DATA_STORAGE,
  BOOK3S_INTERRUPT_SYSCALL,
  BOOK3S_INTERRUPT_HV_DECREMENTER,
  BOOK3S_INTERRUPT_H_DOORBELL,
  BOOK3S_INTERRUPT_EXTERNAL,
]);

describe("guest escape", () => {
  it("1,000,000 random words in guest-kernel state never change hypervisor-only state", () => {
    const sim = new Simulation({ seed: "guest-escape" });
    const rng = sim.rng.stream("test/guest-escape");
    const core = new SmtCore(sim);
    const t = core.threads[0];
    const nop = { interrupt: () => {}, resume: () => {} };
    for (const th of core.threads) {
      th.setSoftware("hv", nop);
      th.setSoftware("os", nop);
    }
    t.memory = new Memory(1 << 20);
    // Hypervisor-only state: every SPR only the hypervisor may write (LPCR, HFSCR, HSRR0/1,
    // PSSCR (855), HDEC, LPIDR, AMOR, HEIR ...) plus MSR[HV]
    const hvSprs = implementedSprs()
      .filter((s) => s.write === ACC_HV && s.canonical === s.spr)
      .map((s) => s.spr);
    expect(hvSprs).toEqual(
      expect.arrayContaining([SPRN_LPCR, SPRN_HFSCR, SPRN_HSRR0, SPRN_HSRR1, SPRN_PSSCR]),
    );
    const snapHi = new Uint32Array(1024);
    const snapLo = new Uint32Array(1024);
    const implemented = implementedSprs().map((s) => s.spr);
    const counts = { ok: 0, stopped: 0, os: 0, hv: 0 };
    const vectors = new Map<number, number>();
    const N = 1_000_000;

    for (let i = 0; i < N; i++) {
      // ---- random word: half uniformly random, half instructions of the table
      let w = rng.uint32();
      if (i & 1) {
        // a word of the table: a random form's opcode with random operand fields
        const f = rng.uint32() % FORM_OPCODE.length;
        w = (FORM_OPCODE[f] | (rng.uint32() & FORM_OPERANDS[f])) >>> 0;
        if (FORM_IS_SPR[f]) {
          // bias SPR numbers to implemented ones, hypervisor ones included
          const spr = rng.bool(0.7) ? implemented[rng.uint32() % implemented.length] : rng.uint32() & 1023;
          w = ((w & ~0x001ff800) | ((((spr & 31) << 5) | (spr >>> 5)) << 11)) >>> 0;
        }
        if ((i & 63) === 1) w = STOP;
      }
      // ---- random guest state
      const gH = t.gprHi;
      const gL = t.gprLo;
      for (const f of [21, 16, 11]) {
        const r = (w >>> f) & 31;
        gH[r] = rng.uint32();
        gL[r] = rng.bool(0.3) ? rng.uint32() & 0xfffff : rng.uint32();
      }
      t.msrHi = 0x80000000;
      t.msrLo = 0x1001 | (rng.bool() ? 0x8000 : 0) | (rng.bool() ? 0x30 : 0);
      t.pcHi = rng.bool(0.5) ? 0xc0000000 : 0;
      t.pcLo = (rng.uint32() & ~3) >>> 0;
      const sH = t.sprHi;
      const sL = t.sprLo;
      // hypervisor set-up varies: HFSCR facilities, PSSCR ESL/EC/PSLL/SD, LPCR wake bits
      sL[sprStoreIndex(SPRN_HFSCR)] = rng.uint32() & 0x7ff;
      sH[sprStoreIndex(SPRN_HFSCR)] = 0;
      sL[sprStoreIndex(SPRN_PSSCR)] = (rng.uint32() & 0x7f03ff) >>> 0;
      sH[sprStoreIndex(SPRN_PSSCR)] = 0;
      sL[sprStoreIndex(SPRN_LPCR)] = Number(LPCR_PECE0 | LPCR_LPES0) | (rng.uint32() & 0x0100_2000);
      sH[sprStoreIndex(SPRN_LPCR)] = rng.uint32() & 0x4000;
      for (const s of hvSprs) {
        snapHi[s] = sH[sprStoreIndex(s)];
        snapLo[s] = sL[sprStoreIndex(s)];
      }
      const pcHi = t.pcHi;
      const pcLo = t.pcLo;
      const msrLo = t.msrLo;

      const r = t.execute(w);

      if (r === EXEC_OK || r === EXEC_STOPPED) {
        if (r === EXEC_STOPPED) {
          // only a native stop with ESL=EC=0 may pause a guest thread
          if (snapLo[SPRN_PSSCR] & 0x300000) throw new Error(`0x${w.toString(16)}: stopped with ESL|EC set`);
          counts.stopped++;
          t.setExternalInterrupt(true); // LPES=1, PECE0: wakes it (EC=0 resume)
          t.setExternalInterrupt(false);
          if (t.stopped) throw new Error("the stopped guest thread did not wake on an external interrupt");
        } else counts.ok++;
        if (t.msrHi & 0x10000000)
          throw new Error(`word 0x${w.toString(16)} set MSR[HV] without an interrupt`);
        for (const s of hvSprs) {
          if (s === SPRN_PSSCR) {
            // PLS (status) and RL/MTL/TR (guest-visible, SPR 823) may change; ESL/EC/PSLL/SD not
            if ((sL[sprStoreIndex(s)] & PSSCR_HV_FIELDS) !== (snapLo[s] & PSSCR_HV_FIELDS)) {
              throw new Error(`word 0x${w.toString(16)} changed PSSCR[ESL|EC|PSLL|SD]`);
            }
            continue;
          }
          if (sH[sprStoreIndex(s)] !== snapHi[s] || sL[sprStoreIndex(s)] !== snapLo[s]) {
            throw new Error(`word 0x${w.toString(16)} changed hypervisor SPR ${s} without an interrupt`);
          }
        }
        continue;
      }
      if (r !== EXEC_INTERRUPT) throw new Error(`0x${w.toString(16)}: unknown result ${r}`);
      const v = t.lastInterrupt?.vector ?? -1;
      vectors.set(v, (vectors.get(v) ?? 0) + 1);
      const toHv = (t.msrHi & 0x10000000) !== 0;
      if (toHv) {
        counts.hv++;
        if (!GUEST_HV_VECTORS.has(v))
          throw new Error(`word 0x${w.toString(16)}: unexpected HV vector 0x${v.toString(16)}`);
        if (v !== BOOK3S_INTERRUPT_SYSCALL && v !== BOOK3S_INTERRUPT_EXTERNAL && !HV_VECTORS.has(v)) {
          throw new Error(`0x${v.toString(16)} is not a hypervisor vector`);
        }
      } else {
        counts.os++;
        // scv LEV enters at 0x17000 + 0x20 * LEV
        if (!GUEST_OS_VECTORS.has(v) && !(v >= 0x17000 && v < 0x18000 && (v & 0x1f) === 0))
          throw new Error(`word 0x${w.toString(16)}: unexpected OS vector 0x${v.toString(16)}`);
      }
      for (const s of hvSprs) {
        if (sH[sprStoreIndex(s)] === snapHi[s] && sL[sprStoreIndex(s)] === snapLo[s]) continue;
        if (s === SPRN_PSSCR && (sL[sprStoreIndex(s)] & PSSCR_HV_FIELDS) === (snapLo[s] & PSSCR_HV_FIELDS))
          continue;
        const allowed =
          toHv &&
          (s === SPRN_HSRR0 ||
            s === SPRN_HSRR1 ||
            (s === SPRN_HEIR && v === BOOK3S_INTERRUPT_H_EMUL_ASSIST) ||
            (s === SPRN_HFSCR &&
              v === BOOK3S_INTERRUPT_H_FAC_UNAVAIL &&
              sL[sprStoreIndex(s)] === snapLo[s]) ||
            ((s === SPRN_HDAR || s === SPRN_HDSISR) && v === BOOK3S_INTERRUPT_H_DATA_STORAGE));
        if (!allowed) {
          throw new Error(
            `word 0x${w.toString(16)} (vector 0x${v.toString(16)}) changed hypervisor SPR ${s}`,
          );
        }
      }
      if (toHv && v !== BOOK3S_INTERRUPT_SYSCALL) {
        // HSRR0 = the guest instruction (or the next one), HSRR1 = the guest MSR (HV=0)
        const next = (pcLo + 4) >>> 0;
        if (
          sH[sprStoreIndex(SPRN_HSRR1)] & 0x10000000 ||
          (sL[sprStoreIndex(SPRN_HSRR1)] & ~0x783f0000) >>> 0 !== (msrLo & ~0x783f0000) >>> 0 ||
          sH[sprStoreIndex(SPRN_HSRR0)] !== pcHi ||
          (sL[sprStoreIndex(SPRN_HSRR0)] !== pcLo && sL[sprStoreIndex(SPRN_HSRR0)] !== next)
        ) {
          throw new Error(`word 0x${w.toString(16)}: HSRR0/HSRR1 do not describe the guest`);
        }
      }
    }
    expect(counts.ok + counts.stopped + counts.os + counts.hv).toBe(N);
    // the mix exercised every outcome
    expect(counts.ok).toBeGreaterThan(100_000);
    expect(counts.stopped).toBeGreaterThan(100);
    expect(vectors.get(BOOK3S_INTERRUPT_H_FAC_UNAVAIL) ?? 0).toBeGreaterThan(100);
    expect(vectors.get(BOOK3S_INTERRUPT_PROGRAM) ?? 0).toBeGreaterThan(500);
    expect(vectors.get(BOOK3S_INTERRUPT_H_EMUL_ASSIST) ?? 0).toBeGreaterThan(100_000);
  });
});
