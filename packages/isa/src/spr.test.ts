// mfspr/mtspr (spr.ts) and the SPR table (sprs.ts), decision by decision against Power ISA v3.0B
// Book III 5.4.4 "Move To/From System Register Instructions" and QEMU's POWER9 model
// (target/ppc/translate.c gen_op_mfspr/gen_mtspr for undefined SPRs, target/ppc/cpu_init.c
// register_*_sprs for which SPRs exist), with the SPR numbers and names of linux
// arch/powerpc/include/asm/reg.h (registers.ts's SPRN_*).
import { tbToNs } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import * as A from "./asm.js";
import { POWER9_DD23 } from "./chips.js";
import * as R from "./registers.js";
import {
  BOOK3S_INTERRUPT_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_H_EMUL_ASSIST,
  BOOK3S_INTERRUPT_H_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_PROGRAM,
  SRR1_PROGPRIV,
} from "./registers.js";
import { sprInfo, sprIsPrivilegedNumber } from "./sprs.js";
import { MSR_GUEST, MSR_GUEST_EE, MSR_HOST, MSR_USER, setup } from "./test-helpers/setup.js";
import { EXEC_OK, SprAccessError, UnknownSprError } from "./thread.js";

type State = "user" | "os" | "hv";
const MSR: Record<State, bigint> = { user: MSR_USER & ~R.MSR_EE, os: MSR_GUEST, hv: MSR_HOST };
const SENTINEL = 0x5555aaaa5555aaaan;
const ALL_FACILITIES = 0xffffn; // every FSCR/HFSCR enable bit of v3.0B (IC 0:7 left clear)

interface Outcome {
  /** The interrupt taken (0: none). */
  vector: number;
  /** r5 after the instruction (mfspr's target; SENTINEL when untouched). */
  r5: bigint;
  /** The PC advanced past the instruction. */
  advanced: boolean;
  t: ReturnType<typeof setup>["t"];
}

/** Runs one instruction word in `state` with r5 = value (SENTINEL by default). */
function run(
  state: State,
  word: number,
  prep: (t: Outcome["t"]) => void = () => {},
  value: bigint = SENTINEL,
): Outcome {
  const s = setup();
  const t = s.t;
  t.setSpr(R.SPRN_HFSCR, ALL_FACILITIES);
  t.setSpr(R.SPRN_FSCR, ALL_FACILITIES);
  prep(t);
  t.setGpr(5, value);
  t.msr = MSR[state];
  t.pc = 0x2000n;
  t.execute(word);
  const vectors = [...s.hv.vectors(), ...s.os.vectors()];
  return { vector: vectors[0] ?? 0, r5: t.gpr(5), advanced: t.pc === 0x2004n, t };
}
const mf = (state: State, spr: number, prep?: (t: Outcome["t"]) => void) => run(state, A.mfspr(5, spr), prep);
const mt = (state: State, spr: number, value: bigint, prep?: (t: Outcome["t"]) => void) =>
  run(state, A.mtspr(spr, 5), prep, value);

describe("32-bit SPRs", () => {
  it("a 32-bit SPR keeps the low word of what is written, a 64-bit one all of it", () => {
    const { t } = setup();
    t.setSpr(R.SPRN_DSISR, 0x1234567890abcdefn);
    expect(t.getSpr(R.SPRN_DSISR)).toBe(0x90abcdefn);
    t.setSpr(R.SPRN_DAR, 0x1234567890abcdefn);
    expect(t.getSpr(R.SPRN_DAR)).toBe(0x1234567890abcdefn);
  });
});

describe("views that share one register (v3.0B: the problem-state copies and aliases)", () => {
  const pairs: [view: number, canonical: number][] = [
    [3, 17], // DSCR
    [13, 29], // AMR
    [136, 152], // CTRL: read at 136, written at 152
    [259, 275], // SPRG3: problem-state read-only view
    [823, 855], // PSSCR: privileged view
    [898, 896], // PPR32: the high word of PPR
  ];
  for (let n = 768; n <= 782; n++) if (n !== 777 && n !== 778) pairs.push([n, n + 16]); // PMU

  it("a value written through the canonical SPR reads back through the view", () => {
    for (const [view, canonical] of pairs) {
      const { t } = setup();
      const v =
        canonical === 152 ? 1n : canonical === 896 ? 3n << 50n : canonical === 855 ? 0x3n : 0x12345678n;
      t.setSpr(canonical, v);
      const want = view === 898 ? 3n << 18n : v;
      expect(t.getSpr(view), `${sprInfo(view)?.name} (${view})`).toBe(want);
    }
  });

  it("the PMU's problem-state views of SIER, SIAR, SDAR and MMCR1 are read-only; of MMCR0/2/A and PMCn writable", () => {
    for (const n of [768, 780, 781, 782])
      expect(() => setup().t.setSpr(n, 1n), String(n)).toThrow(SprAccessError);
    for (const n of [769, 770, 771, 779]) {
      const { t } = setup();
      t.setSpr(n, 7n);
      expect(t.getSpr(n + 16)).toBe(7n);
    }
  });
});

describe("access checks (v3.0B 5.4.4; qemu: target/ppc/translate.c gen_op_mfspr, gen_mtspr)", () => {
  it("problem-state SPRs in problem state, privileged ones from the OS, hypervisor ones from the hypervisor", () => {
    expect(mf("user", R.SPRN_LR, (t) => t.setSpr(R.SPRN_LR, 0x42n))).toMatchObject({
      vector: 0,
      r5: 0x42n,
      advanced: true,
    });
    expect(mf("user", R.SPRN_SRR0)).toMatchObject({
      vector: BOOK3S_INTERRUPT_PROGRAM,
      r5: SENTINEL,
      advanced: false,
    });
    expect(mt("user", R.SPRN_SPRG0, 1n).vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
    expect(mf("os", R.SPRN_SRR0, (t) => t.setSpr(R.SPRN_SRR0, 0x77n)).r5).toBe(0x77n);
    // hypervisor resources from the OS: a privileged-instruction program interrupt (v3.0B; the
    // LPCR[EVIRT] HEAI alternative is v3.1)
    const hs = mf("os", R.SPRN_HSPRG0);
    expect(hs).toMatchObject({ vector: BOOK3S_INTERRUPT_PROGRAM, r5: SENTINEL });
    expect(hs.t.getSpr(R.SPRN_SRR1) & SRR1_PROGPRIV).toBe(SRR1_PROGPRIV);
    expect(mt("os", R.SPRN_LPCR, 0n).vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
    expect(mf("hv", R.SPRN_HSPRG0, (t) => t.setSpr(R.SPRN_HSPRG0, 9n))).toMatchObject({ vector: 0, r5: 9n });
    const w = mt("hv", R.SPRN_HSPRG1, 0xabn);
    expect(w.vector).toBe(0);
    expect(w.t.getSpr(R.SPRN_HSPRG1)).toBe(0xabn);
    expect(w.advanced).toBe(true);
    // DPDES: the OS reads it, only the hypervisor writes it (v3.0B; qemu register_book3s_dpdes_sprs)
    expect(mf("os", R.SPRN_DPDES).vector).toBe(0);
    expect(mt("os", R.SPRN_DPDES, 0n).vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
  });

  it("an undefined SPR with spr0=1: privileged program interrupt in problem state, otherwise a no-op", () => {
    const spr = 0x3f1; // 1009 (HID1 on older chips): not a POWER9 SPR
    expect(sprInfo(spr)).toBeUndefined();
    const u = mf("user", spr);
    expect(u).toMatchObject({ vector: BOOK3S_INTERRUPT_PROGRAM, r5: SENTINEL, advanced: false });
    expect(u.t.getSpr(R.SPRN_SRR1) & SRR1_PROGPRIV).toBe(SRR1_PROGPRIV);
    expect(mt("user", spr, 1n).vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
    for (const s of ["os", "hv"] as const) {
      expect(mf(s, spr)).toMatchObject({ vector: 0, r5: SENTINEL, advanced: true });
      expect(mt(s, spr, 1n)).toMatchObject({ vector: 0, advanced: true });
    }
    // a defined SPR undefined in one direction behaves the same: PVR (287 = 0x11f) is read-only
    expect(mt("user", R.SPRN_PVR, 1n).vector).toBe(BOOK3S_INTERRUPT_PROGRAM);
    const p = mt("os", R.SPRN_PVR, 1n);
    expect(p).toMatchObject({ vector: 0, advanced: true });
    expect(p.t.getSpr(R.SPRN_PVR)).toBe(BigInt(POWER9_DD23.pvr));
  });

  it("an undefined SPR with spr0=0: HEAI in problem state and for mfspr of 0, 4, 5, 6 / mtspr of 0, else a no-op", () => {
    const heai = (o: Outcome, word: number) => {
      expect(o).toMatchObject({ vector: BOOK3S_INTERRUPT_H_EMUL_ASSIST, r5: o.r5, advanced: false });
      expect(o.t.getSpr(R.SPRN_HEIR)).toBe(BigInt(word)); // HEIR holds the instruction
    };
    heai(mf("user", 2), A.mfspr(5, 2));
    heai(mt("user", 2, 1n), A.mtspr(2, 5));
    for (const spr of [0, 4, 5, 6]) {
      heai(mf("os", spr), A.mfspr(5, spr));
      heai(mf("hv", spr), A.mfspr(5, spr));
    }
    heai(mt("os", 0, 1n), A.mtspr(0, 5));
    // mtspr of 4, 5, 6 is an ordinary undefined SPR (qemu gen_mtspr: `ctx->pr || sprn == 0`)
    for (const spr of [4, 5, 6, 2, 7, 0x20])
      expect(mt("os", spr, 1n), String(spr)).toMatchObject({ vector: 0, advanced: true });
    for (const spr of [2, 7, 0x20, 0x3ee - 1])
      expect(mf("os", spr), String(spr)).toMatchObject({ vector: 0, r5: SENTINEL });
    // write-only and read-only SPRs of the table: TB (268) is not written from problem state
    heai(mt("user", 268, 1n), A.mtspr(268, 5));
    heai(mf("user", R.SPRN_TRACE), A.mfspr(5, R.SPRN_TRACE));
    expect(mf("os", R.SPRN_TRACE)).toMatchObject({ vector: 0, r5: SENTINEL, advanced: true });
  });

  it("facility-gated SPRs: HFSCR from guest states, then FSCR from problem state (v3.0B 4.2.x, linux FSCR_*_LG)", () => {
    const gated: [spr: number, bit: number][] = [
      [R.SPRN_DSCR, R.FSCR_DSCR_LG],
      [R.SPRN_DSCR_USER, R.FSCR_DSCR_LG],
      [R.SPRN_MMCR0, R.FSCR_PM_LG],
      [771, R.FSCR_PM_LG],
      [R.SPRN_EBBHR, R.FSCR_EBB_LG],
      [R.SPRN_BESCRS, R.FSCR_EBB_LG],
      [R.SPRN_TAR, R.FSCR_TAR_LG],
    ];
    for (const [spr, bit] of gated) {
      const without = ALL_FACILITIES & ~(1n << BigInt(bit));
      const state = sprIsPrivilegedNumber(spr) ? "os" : "user";
      const h = mf(state, spr, (t) => t.setSpr(R.SPRN_HFSCR, without));
      expect(h.vector, `${spr} HFSCR`).toBe(BOOK3S_INTERRUPT_H_FAC_UNAVAIL);
      expect(h.t.getSpr(R.SPRN_HFSCR) >> 56n, `${spr} HFSCR[IC]`).toBe(BigInt(bit));
      expect(mf("hv", spr, (t) => t.setSpr(R.SPRN_HFSCR, 0n)).vector, `${spr} hv`).toBe(0);
      expect(mf(state, spr).vector, `${spr} enabled`).toBe(0);
      if (state === "user") {
        const f = mt(state, spr, 0n, (t) => t.setSpr(R.SPRN_FSCR, without));
        expect(f.vector, `${spr} FSCR`).toBe(BOOK3S_INTERRUPT_FAC_UNAVAIL);
        expect(f.t.getSpr(R.SPRN_FSCR) >> 56n).toBe(BigInt(bit));
      } else {
        expect(mf(state, spr, (t) => t.setSpr(R.SPRN_FSCR, 0n)).vector, `${spr} FSCR unused`).toBe(0);
      }
    }
    expect(mf("user", R.SPRN_LR, (t) => t.setSpr(R.SPRN_FSCR, 0n)).vector).toBe(0); // ungated
  });
});

describe("what each SPR does on a read and a write", () => {
  it("the time base: mftb counts at 512 MHz; TBL, TBU and TBU40 writes set their part (v3.0B 6.2)", () => {
    const { t, sim } = setup();
    t.setSpr(R.SPRN_TBWU, 0x12n);
    t.setSpr(R.SPRN_TBWL, 0xff000010n);
    expect(t.getSpr(R.SPRN_TBRL)).toBe(0x12ff000010n);
    expect(t.getSpr(R.SPRN_TBRU)).toBe(0x12n);
    sim.runFor(1000); // 1 us: 512 ticks
    expect(t.getSpr(R.SPRN_TBRL)).toBe(0x12ff000010n + 512n);
    // TBU40: TB[0:39] from RS[0:39], the low 24 bits keep counting
    // (the time base is held in a double: exact below 2^53 ticks, 203 days at 512 MHz)
    t.setSpr(R.SPRN_TBU40, 0x00000123ab123456n);
    expect(t.getSpr(R.SPRN_TBRL)).toBe(0x123ab000210n);
    expect(t.getSpr(R.SPRN_TBRU)).toBe(0x123n);
    const u = mf("user", R.SPRN_TBRU, (x) => x.setSpr(R.SPRN_TBWU, 0x7n));
    expect(u.r5).toBe(7n);
  });

  it("DEC and HDEC count down with the time base; DEC reads sign-extended from 32 bits without LPCR[LD]", () => {
    const { t, sim } = setup();
    t.setSpr(R.SPRN_DEC, 1000n);
    t.setSpr(R.SPRN_HDEC, 0x10000n);
    sim.runFor(1000);
    expect(t.getSpr(R.SPRN_DEC)).toBe(1000n - 512n);
    expect(t.getSpr(R.SPRN_HDEC)).toBe(0x10000n - 512n);
    t.setSpr(R.SPRN_DEC, 0xffffffffn);
    expect(t.getSpr(R.SPRN_DEC)).toBe(0xffffffffffffffffn);
  });

  it("an LPCR write that clears LD makes a 56-bit DEC 32 bits wide: its next 0 -> -1 edge is the 32-bit one (v3.0B 6.5)", () => {
    const { t, os, sim } = setup();
    t.msr = MSR_GUEST; // EE=0: the first edge is not taken
    t.setSpr(R.SPRN_LPCR, R.LPCR_LD);
    t.setSpr(R.SPRN_DEC, 0n);
    sim.runUntil(tbToNs(2 ** 31 + 10));
    // 56 bits: -(2^31 + 10), negative; the large decrementer's next edge is 2^56 ticks away
    expect(t.getSpr(R.SPRN_DEC)).toBe(BigInt.asUintN(64, -(2n ** 31n + 10n)));
    t.setSpr(R.SPRN_LPCR, 0n);
    // 32 bits: the same count reads 2^31 - 10, positive, and turns -1 at tick 2^32 + 1
    expect(t.getSpr(R.SPRN_DEC)).toBe(0x7fff_fff6n);
    t.msr = MSR_GUEST_EE;
    expect(t.execute(A.NOP)).toBe(EXEC_OK);
    expect(os.vectors()).toEqual([]);
    sim.runUntil(tbToNs(2 ** 32 + 5));
    expect(os.vectors()).toEqual([R.BOOK3S_INTERRUPT_DECREMENTER]);
    expect(os.last?.time).toBe(tbToNs(2 ** 32 + 1));
  });

  it("PVR, PIR and TIR identify the chip, the thread and its place in the core", () => {
    const { core } = setup();
    const t1 = core.threads[1];
    expect(t1.getSpr(R.SPRN_PVR)).toBe(0x004e1203n); // linux PVR_POWER9, DD2.3
    expect(t1.getSpr(R.SPRN_PIR)).toBe(BigInt(t1.pir));
    expect(t1.getSpr(R.SPRN_TIR)).toBe(1n);
    expect(core.threads[3].getSpr(R.SPRN_TIR)).toBe(3n);
  });

  it("XER keeps SO, OV, CA, OV32, CA32 and the string byte count; HMER writes can only clear bits", () => {
    const { t } = setup();
    t.setSpr(R.SPRN_XER, 0xffffffffffffffffn);
    expect(t.getSpr(R.SPRN_XER)).toBe(0xe00c007fn);
    t.setSpr(R.SPRN_HMER, 0xffffffffffffffffn); // mtspr HMER ANDs (v3.0B 7.2.x)
    expect(t.getSpr(R.SPRN_HMER)).toBe(0n);
  });

  it("CTRL: the RUN bit written at 152 reads at 136 (other bits read zero)", () => {
    const o = mf("user", R.SPRN_CTRLF, (t) => t.setSpr(R.SPRN_CTRLT, 0xffffffffn));
    expect(o.r5).toBe(1n);
    const z = mf("user", R.SPRN_CTRLF, (t) => t.setSpr(R.SPRN_CTRLT, 0xfffffffen));
    expect(z.r5).toBe(0n);
  });

  it("PSSCR: the OS view shows PLS and RL/MTL/TR and writes only RL/MTL/TR; the hypervisor writes the rest but not PLS", () => {
    const { t } = setup();
    t.setSpr(R.SPRN_PSSCR, 0xffffffffffffffffn);
    expect(t.getSpr(R.SPRN_PSSCR)).toBe(R.PSSCR_HV_WRITABLE);
    expect(t.getSpr(R.SPRN_PSSCR_PR)).toBe(0x3ffn);
    const o = mt("os", R.SPRN_PSSCR_PR, 0xffffffffffffff05n, (x) =>
      x.setSpr(R.SPRN_PSSCR, R.makePsscr({ rl: 3, mtl: 3, psll: 15, esl: true, ec: true })),
    );
    expect(o.t.getSpr(R.SPRN_PSSCR)).toBe(0x3f0305n); // ESL|EC|PSLL kept, RL/MTL/TR from the guest
    // from zero, a guest's write of all ones sets exactly the bits a guest may write
    expect(mt("os", R.SPRN_PSSCR_PR, 0xffffffffffffffffn).t.getSpr(R.SPRN_PSSCR)).toBe(
      R.PSSCR_GUEST_WRITABLE,
    );
    expect(R.PSSCR_GUEST_WRITABLE).toBe(0x3ffn); // RL, MTL, TR (linux reg.h PSSCR_GUEST_VIS without PLS)
  });

  it("PPR: a priority outside what the privilege allows leaves it; PPR32 is its high word", () => {
    const pri = (o: Outcome) => Number((o.t.getSpr(R.SPRN_PPR) >> 50n) & 7n);
    expect(pri(mt("user", R.SPRN_PPR, 3n << 50n))).toBe(3);
    expect(pri(mt("user", R.SPRN_PPR, 1n << 50n))).toBe(4); // very low: privileged
    expect(pri(mt("user", R.SPRN_PPR, 5n << 50n))).toBe(4);
    expect(pri(mt("user", R.SPRN_PPR, 2n << 50n))).toBe(2);
    expect(pri(mt("user", R.SPRN_PPR32, 2n << 18n))).toBe(2);
    expect(pri(mt("user", R.SPRN_PPR32, 0n))).toBe(4); // 0 is reserved
    expect(pri(mt("os", R.SPRN_PPR, 1n << 50n))).toBe(1);
    expect(pri(mt("os", R.SPRN_PPR, 6n << 50n))).toBe(6);
    expect(pri(mt("os", R.SPRN_PPR, 7n << 50n))).toBe(4); // very high: hypervisor only
    expect(pri(mt("hv", R.SPRN_PPR, 7n << 50n))).toBe(7);
    expect(pri(mt("hv", R.SPRN_PPR, 0n))).toBe(4);
    const w = mt("os", R.SPRN_PPR, (6n << 50n) | 0xffffn);
    expect(w.t.getSpr(R.SPRN_PPR)).toBe(6n << 50n); // only PRI is kept
    expect(mf("user", R.SPRN_PPR32, (x) => x.setSpr(R.SPRN_PPR, 5n << 50n)).r5).toBe(5n << 18n);
  });

  it("a new priority reaches the core, which shares its cycles by priority; the same one does not", () => {
    const { core, t } = setup();
    const speed0 = core.runningSpeed(0);
    let calls = 0;
    core.onSpeedChange(() => calls++);
    t.setSpr(R.SPRN_PPR, 4n << 50n); // medium, as at reset
    expect(calls).toBe(0);
    t.setSpr(R.SPRN_PPR, 6n << 50n);
    expect(calls).toBe(1);
    expect(core.runningSpeed(0)).toBeGreaterThan(speed0);
  });

  it("or Rx,Rx,Rx priority hints (v3.0B Book II 3.2): 31 1 6 2 5 3 7 -> very low .. very high", () => {
    const hints: [number, number][] = [
      [A.HMT_VERY_LOW, 1],
      [A.HMT_LOW, 2],
      [A.HMT_MEDIUM_LOW, 3],
      [A.HMT_MEDIUM, 4],
      [A.HMT_MEDIUM_HIGH, 5],
      [A.HMT_HIGH, 6],
      [A.HMT_VERY_HIGH, 7],
    ];
    for (const [word, p] of hints) {
      const o = run("hv", word, (t) => t.setSpr(R.SPRN_PPR, (p === 4 ? 2n : 4n) << 50n));
      expect(Number(o.t.getSpr(R.SPRN_PPR) >> 50n), `or ${p}`).toBe(p);
    }
    expect(Number(run("user", A.HMT_HIGH).t.getSpr(R.SPRN_PPR) >> 50n)).toBe(4); // not allowed
    expect(Number(run("user", A.HMT_LOW).t.getSpr(R.SPRN_PPR) >> 50n)).toBe(2);
    expect(Number(run("hv", A.or(4, 4, 4)).t.getSpr(R.SPRN_PPR) >> 50n)).toBe(4); // not a hint
  });

  it("BESCR: S/R set and reset bits, the U forms act on the high word; reads of S and R show BESCR", () => {
    const { t } = setup();
    t.setSpr(R.SPRN_BESCRS, 0x8000000000000003n);
    t.setSpr(R.SPRN_BESCRSU, 0x40000000n);
    expect(t.getSpr(R.SPRN_BESCR)).toBe(0xc000000000000003n);
    expect(t.getSpr(R.SPRN_BESCRS)).toBe(0xc000000000000003n);
    expect(t.getSpr(R.SPRN_BESCRSU)).toBe(0xc0000000n);
    t.setSpr(R.SPRN_BESCRR, 0x8000000000000001n);
    expect(t.getSpr(R.SPRN_BESCRR)).toBe(0x4000000000000002n);
    t.setSpr(R.SPRN_BESCRRU, 0x40000000n);
    expect(t.getSpr(R.SPRN_BESCRRU)).toBe(0n);
    expect(t.getSpr(R.SPRN_BESCR)).toBe(2n);
  });

  it("AMR, IAMR and UAMOR: the OS writes where AMOR allows, problem state where UAMOR allows (v3.0B 5.7.13)", () => {
    const prep = (t: Outcome["t"]) => {
      t.setSpr(R.SPRN_AMR, 0x00f00000000000f0n);
      t.setSpr(R.SPRN_IAMR, 0xf0n);
      t.setSpr(R.SPRN_AMOR, 0xff00000000000f0fn);
      t.setSpr(R.SPRN_UAMOR, 0x3n);
    };
    // the bits outside AMOR keep their value, in both words
    expect(mt("os", R.SPRN_AMR, 0xffffffffffffff0fn, prep).t.getSpr(R.SPRN_AMR)).toBe(0xfff0000000000fffn);
    expect(mt("os", R.SPRN_AMR, 0n, prep).t.getSpr(R.SPRN_AMR)).toBe(0x00f00000000000f0n);
    expect(mt("os", R.SPRN_IAMR, 0n, prep).t.getSpr(R.SPRN_IAMR)).toBe(0xf0n);
    expect(mt("os", R.SPRN_UAMOR, 0xffffffffffffffffn, prep).t.getSpr(R.SPRN_UAMOR)).toBe(
      0xff00000000000f0fn,
    );
    expect(mt("user", R.SPRN_AMR_USER, 0xffn, prep).t.getSpr(R.SPRN_AMR)).toBe(0x00f00000000000f3n);
    expect(mt("user", R.SPRN_AMR_USER, 0x0n, prep).t.getSpr(R.SPRN_AMR)).toBe(0x00f00000000000f0n);
    expect(mt("hv", R.SPRN_AMR, 0x1234n, prep).t.getSpr(R.SPRN_AMR)).toBe(0x1234n);
    expect(mt("hv", R.SPRN_UAMOR, 0x1234n, prep).t.getSpr(R.SPRN_UAMOR)).toBe(0x1234n);
  });

  it("DPDES/DHDES: a bit per thread of the core, LSB = thread 0 (linux kvmppc_read_dpdes: 1 << thr)", () => {
    const { core, t } = setup();
    const [, t1, t2] = core.threads;
    t1.receivePrivilegedDoorbell();
    expect(t.getSpr(R.SPRN_DPDES)).toBe(2n);
    t.setSpr(R.SPRN_DPDES, 0b101n); // this thread and thread 2 get one, thread 1's is cleared
    expect([t.pDoorbell, t1.pDoorbell, t2.pDoorbell]).toEqual([true, false, true]);
    expect(t1.getSpr(R.SPRN_DPDES)).toBe(5n);
    t.setSpr(R.SPRN_DPDES, 0n);
    expect(core.threads.map((x) => x.pDoorbell)).toEqual([false, false, false, false]);
    t.setSpr(R.SPRN_DHDES, 0b1010n);
    expect(core.threads.map((x) => x.hDoorbell)).toEqual([false, true, false, true]);
    expect(t.getSpr(R.SPRN_DHDES)).toBe(0b1010n);
    expect(t.getSpr(R.SPRN_DPDES)).toBe(0n);
    t.setSpr(R.SPRN_DHDES, 0b0001n);
    expect(core.threads.map((x) => x.hDoorbell)).toEqual([true, false, false, false]);
  });

  it("write-only and read-only SPRs through the API: a clear error naming the SPR and the direction", () => {
    const { t } = setup();
    expect(() => t.getSpr(R.SPRN_TBWL)).toThrow(
      new SprAccessError("SPR 284 (TBL) is write-only: it cannot be read"),
    );
    expect(() => t.setSpr(R.SPRN_PVR, 0n)).toThrow(
      new SprAccessError("SPR 287 (PVR) is read-only: it cannot be written"),
    );
    expect(() => t.getSpr(2)).toThrow(UnknownSprError);
    expect(() => t.setSpr(2, 0n)).toThrow(
      "SPR 2 is not implemented by the POWER9 model; see implementedSprs() for the SPRs it has",
    );
  });
});

describe("time base and priority writes from a running state", () => {
  it("TBU written while TB's low word counts keeps the low word (v3.0B: mtspr TBU sets TB[0:31] only)", () => {
    const { t, sim } = setup();
    sim.runFor(1000); // TB = 512
    t.setSpr(R.SPRN_TBWU, 3n);
    expect(t.getSpr(R.SPRN_TBRL)).toBe((3n << 32n) + 512n);
  });

  it("problem state may set medium (4) from another priority", () => {
    const o = mt("user", R.SPRN_PPR, 4n << 50n, (t) => t.setSpr(R.SPRN_PPR, 2n << 50n));
    expect(o.t.getSpr(R.SPRN_PPR) >> 50n).toBe(4n);
  });
});
