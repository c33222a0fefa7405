// stop and its wake-up, decision by decision: Power ISA v3.0B Book III 4.3 (stop, PSSCR: RL, MTL,
// PSLL, EC, ESL, SD, PLS), 7.5.1 (the System Reset interrupt of an EC=1 wake-up: SRR1[42:45] the
// wake reason, SRR1[46:47] the state lost), linux arch/powerpc/include/asm/reg.h SRR1_WAKE* and
// SRR1_WS_*, qemu target/ppc/excp_helper.c p9_interrupt_powersave (EC=1: LPCR's PECE bits choose
// the wake events) and target/ppc/cpu_init.c cpu_has_work_POWER9 (EC=0: any exception wakes).
// The pending wake event of one source at a time: which events wake a stopped thread and which do
// not, what the thread finds in PSSCR, SRR1 and its doorbells after it, and what it traces.
import { Simulation, tbToNs } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import * as A from "./asm.js";
import { POWER9_DD22 } from "./chips.js";
import {
  BOOK3S_INTERRUPT_DECREMENTER,
  BOOK3S_INTERRUPT_H_VIRT,
  BOOK3S_INTERRUPT_SYSTEM_RESET,
  LPCR_HDICE,
  LPCR_HVICE,
  LPCR_LPES0,
  LPCR_PECE_HVEE,
  LPCR_PECE0,
  LPCR_PECE1,
  LPCR_PECEDH,
  LPCR_PECEDP,
  MSR_EE,
  makePsscr,
  PSSCR_PLS,
  SPRN_DEC,
  SPRN_HDEC,
  SPRN_LPCR,
  SPRN_PSSCR,
  SPRN_SRR1,
  SRR1_WAKEDEC,
  SRR1_WAKEMASK_P8,
  SRR1_WAKESTATE,
  SRR1_WS_HVLOSS,
} from "./registers.js";
import { MSR_GUEST, MSR_GUEST_EE, MSR_HOST, setup } from "./test-helpers/setup.js";
import { EXEC_INTERRUPT, EXEC_STOPPED, HwThread } from "./thread.js";

const LITE = makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: false });
const EC1 = (rl: number, esl = true) => makePsscr({ rl, mtl: 15, psll: 15, esl, ec: true });
const PECE_ALL = LPCR_PECE0 | LPCR_PECE1 | LPCR_PECEDP | LPCR_PECEDH | LPCR_PECE_HVEE;

describe("what does not wake a stopped thread", () => {
  it.each([
    ["LPCR[LPES0] with no external interrupt", LPCR_LPES0 | PECE_ALL],
    ["LPCR[HVICE] with no virtualization interrupt", LPCR_HVICE | PECE_ALL],
    ["LPCR[HDICE] with HDEC positive", LPCR_HDICE | PECE_ALL],
  ])("a guest EC=0 stop and a hypervisor EC=1 stop stay stopped: %s", (_, lpcr) => {
    const g = setup();
    g.t.setSpr(SPRN_LPCR, lpcr);
    g.t.setSpr(SPRN_PSSCR, LITE);
    g.t.msr = MSR_GUEST;
    expect(g.t.execute(A.STOP)).toBe(EXEC_STOPPED);
    g.sim.runFor(1000);
    expect(g.t.stopped).toBe(true);
    const h = setup();
    h.t.setSpr(SPRN_LPCR, lpcr);
    h.t.setSpr(SPRN_PSSCR, EC1(0));
    h.t.msr = MSR_HOST;
    expect(h.t.execute(A.STOP)).toBe(EXEC_STOPPED);
    h.sim.runFor(1000);
    expect(h.t.stopped).toBe(true);
  });

  it("a DEC of 0 is not yet a wake event: the thread stops and wakes one tick later", () => {
    for (const [msr, psscr] of [
      [MSR_GUEST, LITE],
      [MSR_HOST, EC1(0)],
    ] as const) {
      const { t, sim } = setup();
      t.setSpr(SPRN_LPCR, PECE_ALL);
      t.setSpr(SPRN_PSSCR, psscr);
      t.msr = msr;
      t.setSpr(SPRN_DEC, 0n);
      expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
      sim.runFor(10);
      expect(t.stopped).toBe(false);
      expect(t.lastInterrupt === null ? sim.now : t.lastInterrupt.time).toBeLessThanOrEqual(tbToNs(1) + 10);
    }
  });

  it("a negative HDEC without LPCR[HDICE] does not wake a guest EC=0 stop", () => {
    const { t, sim } = setup();
    t.setSpr(SPRN_LPCR, 0n);
    t.setSpr(SPRN_PSSCR, LITE);
    t.msr = MSR_GUEST;
    t.setSpr(SPRN_HDEC, 10n);
    t.execute(A.STOP);
    sim.runFor(1000);
    expect(t.stopped).toBe(true);
  });

  it("a hypervisor virtualization interrupt without LPCR[HVICE] does not wake a guest EC=0 stop", () => {
    const { t } = setup();
    t.setSpr(SPRN_PSSCR, LITE);
    t.msr = MSR_GUEST;
    t.execute(A.STOP);
    t.setHvVirtInterrupt(true);
    expect(t.stopped).toBe(true);
    expect(t.externalInterrupt).toBe(false);
  });
});

describe("EC=0 wake-ups", () => {
  it("a virtualization interrupt (LPCR[HVICE]) wakes a guest EC=0 stop and is taken by the hypervisor at 0xEA0", () => {
    const { t, hv, os } = setup();
    t.setSpr(SPRN_LPCR, LPCR_HVICE);
    t.setSpr(SPRN_PSSCR, LITE);
    t.msr = MSR_GUEST;
    t.pc = 0x3000n;
    t.execute(A.STOP);
    t.setHvVirtInterrupt(true);
    expect(t.stopped).toBe(false);
    expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_H_VIRT]);
    // the interrupt is taken at the instruction after stop
    expect(t.getSpr(0x13a)).toBe(0x3004n);
    expect(os.events).toHaveLength(0);
  });

  it("the trace names each wake reason", () => {
    // DEC and HDEC count down to their edge (-1 at timebase tick 101); the other sources arrive at 300 ns
    const cases: [string, bigint, (t: HwThread) => void, number][] = [
      ["dec", 0n, (t) => t.setSpr(SPRN_DEC, 100n), tbToNs(101)],
      ["hdec", LPCR_HDICE, (t) => t.setSpr(SPRN_HDEC, 100n), tbToNs(101)],
      ["doorbell", 0n, (t) => t.receivePrivilegedDoorbell(), 300],
      ["hdoorbell", 0n, (t) => t.receiveHypervisorDoorbell(), 300],
      ["hvi", LPCR_HVICE, (t) => t.setHvVirtInterrupt(true), 300],
      ["external", 0n, (t) => t.setExternalInterrupt(true), 300],
      ["external", LPCR_LPES0, (t) => t.setExternalInterrupt(true), 300],
    ];
    for (const [reason, lpcr, wake, at] of cases) {
      const { t, sim } = setup();
      sim.trace.enable();
      t.setSpr(SPRN_LPCR, lpcr);
      t.setSpr(SPRN_PSSCR, LITE);
      t.msr = MSR_GUEST;
      if (at < 300) wake(t);
      t.execute(A.STOP);
      sim.runUntil(300);
      if (at === 300) wake(t);
      expect(t.stopped).toBe(false);
      const stop = sim.trace.events().find((e) => e.name === "stop0");
      expect(stop).toMatchObject({
        cat: "power",
        ph: "X",
        time: 0,
        dur: at,
        args: { esl: false, ec: false, reason },
      });
    }
  });

  it("traces entry (cpu_idle with the level and PSSCR bits) and exit (cpu_idle -1) on the thread's track", () => {
    const sim = new Simulation();
    const t = new HwThread(sim, { pir: 22, index: 2 });
    sim.trace.enable();
    t.setSpr(SPRN_LPCR, PECE_ALL);
    t.setSpr(SPRN_PSSCR, EC1(4));
    sim.runUntil(700);
    t.setSpr(SPRN_DEC, 1000n);
    t.execute(A.STOP);
    sim.runFor(5000);
    const ev = sim.trace.events();
    // the DEC written at 700 ns (timebase 358) turns -1 at timebase 1359
    const woke = tbToNs(1359);
    expect(ev.map((e) => [e.name, e.cat, e.time, e.dur, e.args])).toEqual([
      ["cpu_idle", "power", 700, 0, { state: 4, esl: true, ec: true, hv: true }],
      ["stop4", "power", 700, woke - 700, { esl: true, ec: true, reason: "dec" }],
      ["cpu_idle", "power", woke, 0, { state: 4294967295 }],
      ["interrupt", "isa", woke, 0, { vector: "0x100", level: "hv" }],
    ]);
    expect(new Set(ev.map((e) => e.track)).size).toBe(1);
    expect(sim.trace.getTrack(ev[0].track)).toMatchObject({
      process: "isa core 0",
      thread: "thread 2 (pir 22)",
    });
  });

  it("a thread outside any core, without software, stops and wakes", () => {
    const sim = new Simulation();
    const t = new HwThread(sim, { pir: 0, index: 0 });
    t.setSpr(SPRN_LPCR, PECE_ALL);
    t.setSpr(SPRN_PSSCR, LITE);
    t.msr = MSR_GUEST;
    t.pc = 0x2000n;
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    t.setSpr(SPRN_DEC, 100n);
    sim.runFor(1000);
    expect(t.stopped).toBe(false);
    expect(t.pc).toBe(0x2004n);
    // and an EC=1 stop in the hypervisor ends in the System Reset vector
    t.msr = MSR_HOST;
    t.setSpr(SPRN_PSSCR, EC1(0, false));
    t.execute(A.STOP);
    t.receiveHypervisorDoorbell();
    expect(t.pc).toBe(0x100n);
  });
});

describe("EC=1 wake-ups (System Reset)", () => {
  it("a doorbell of a source the wake-up did not name stays pending", () => {
    const { t, sim } = setup();
    // DEC enabled to wake, the doorbells not
    t.setSpr(SPRN_LPCR, LPCR_PECE1);
    t.setSpr(SPRN_PSSCR, EC1(0, false));
    t.msr = MSR_HOST;
    t.execute(A.STOP);
    t.receivePrivilegedDoorbell();
    t.receiveHypervisorDoorbell();
    expect(t.stopped).toBe(true);
    t.setSpr(SPRN_DEC, 10n);
    sim.runFor(100);
    expect(t.stopped).toBe(false);
    expect(t.lastInterrupt?.vector).toBe(BOOK3S_INTERRUPT_SYSTEM_RESET);
    expect(t.getSpr(SPRN_SRR1) & SRR1_WAKEMASK_P8).toBe(SRR1_WAKEDEC);
    expect(t.pDoorbell).toBe(true);
    expect(t.hDoorbell).toBe(true);
  });

  it("stop8, the first level that loses hypervisor state, reports SRR1_WS_HVLOSS", () => {
    const { t, sim } = setup();
    t.setSpr(SPRN_LPCR, PECE_ALL);
    t.setSpr(SPRN_PSSCR, EC1(8));
    t.msr = MSR_HOST;
    t.execute(A.STOP);
    expect(t.stopState?.level).toBe(8);
    t.setSpr(SPRN_DEC, 10n);
    sim.runFor(100);
    expect(t.getSpr(SPRN_SRR1) & SRR1_WAKESTATE).toBe(SRR1_WS_HVLOSS);
  });

  it("PSSCR[PLS] holds the level of the last stop, not of an earlier deeper one", () => {
    const { t, sim } = setup();
    t.setSpr(SPRN_LPCR, PECE_ALL);
    t.msr = MSR_HOST;
    for (const rl of [11, 1]) {
      t.setSpr(SPRN_PSSCR, EC1(rl));
      t.execute(A.STOP);
      t.setSpr(SPRN_DEC, 10n);
      sim.runFor(100);
      expect(t.stopped).toBe(false);
      expect(t.getSpr(SPRN_PSSCR) & PSSCR_PLS).toBe(BigInt(rl) << 60n);
      t.msr = MSR_HOST;
    }
  });

  it("the stop state reports the PSSCR it stopped with", () => {
    const { t } = setup();
    t.setSpr(SPRN_LPCR, PECE_ALL);
    t.msr = MSR_HOST;
    const psscr = makePsscr({ rl: 5, mtl: 11, psll: 8, esl: true, ec: true });
    t.setSpr(SPRN_PSSCR, psscr);
    t.execute(A.STOP);
    expect(t.stopState?.psscr).toBe(psscr);
    expect(t.stopState).toMatchObject({ level: 5, requestedLevel: 5, maxTransitionLevel: 8 });
  });
});

describe("the guest-stop erratum's bookkeeping (DD2.2, errata.ts)", () => {
  it("does not touch threads stopped in the hypervisor, with EC=0 or EC=1", () => {
    for (const psscr of [LITE, EC1(0)]) {
      const { t, sim } = setup(POWER9_DD22, { guestStopErratum: { lostWakeupProbability: 1 } });
      t.setSpr(SPRN_LPCR, PECE_ALL);
      t.setSpr(SPRN_PSSCR, psscr);
      t.msr = MSR_HOST;
      t.execute(A.STOP);
      t.setSpr(SPRN_DEC, 10n);
      sim.runFor(100);
      expect(t.stopped).toBe(false);
      expect(t.lostWakeups).toBe(0);
    }
  });

  it("a stall counts from the first swallowed event, also when that was at time 0; the maximum is kept", () => {
    const { t, sim, core } = setup(POWER9_DD22, { guestStopErratum: { lostWakeupProbability: 1 } });
    sim.trace.enable();
    t.setSpr(SPRN_LPCR, PECE_ALL);
    t.setSpr(SPRN_PSSCR, LITE);
    t.msr = MSR_GUEST;
    t.execute(A.STOP);
    t.receiveHypervisorDoorbell(); // lost at 0
    sim.runUntil(1000);
    t.receivePrivilegedDoorbell(); // lost at 1000
    expect(t.lostWakeups).toBe(2);
    expect(t.erratumStallNs).toBe(1000);
    expect(
      sim.trace
        .events()
        .filter((e) => e.name === "lost_wakeup")
        .map((e) => [e.time, e.args]),
    ).toEqual([
      [0, { reason: "hdoorbell" }],
      [1000, { reason: "hdoorbell" }],
    ]);
    sim.runUntil(5000);
    core.errata.lostWakeupProbability = 0;
    t.setExternalInterrupt(true);
    expect(t.stopped).toBe(false);
    expect([t.lateWakeups, t.lateWakeupNs, t.maxLateWakeupNs]).toEqual([1, 5000, 5000]);
    // a second, shorter stall: the sum grows, the maximum stays
    t.setExternalInterrupt(false);
    t.hDoorbell = false;
    t.pDoorbell = false;
    t.msr = MSR_GUEST;
    core.errata.lostWakeupProbability = 1;
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    sim.runUntil(6000);
    t.receivePrivilegedDoorbell(); // lost at 6000
    expect(t.stopped).toBe(true);
    sim.runUntil(7000);
    core.errata.lostWakeupProbability = 0;
    t.setExternalInterrupt(true);
    expect(t.stopped).toBe(false);
    expect([t.lateWakeups, t.lateWakeupNs, t.maxLateWakeupNs]).toEqual([2, 6000, 5000]);
  });

  it("a wake-up nothing swallowed is not late", () => {
    const { t, sim } = setup(POWER9_DD22, { guestStopErratum: { lostWakeupProbability: 0 } });
    t.setSpr(SPRN_PSSCR, LITE);
    t.msr = MSR_GUEST;
    t.execute(A.STOP);
    sim.runUntil(100);
    expect(t.erratumStallNs).toBe(0);
    t.receiveHypervisorDoorbell();
    expect(t.stopped).toBe(false);
    expect(t.lateWakeups).toBe(0);
    expect(t.lateWakeupNs).toBe(0);
  });

  it("a guest stop with MSR[EE]=1 woken by its DEC takes the interrupt at the next instruction", () => {
    const { t, os, sim } = setup();
    t.setSpr(SPRN_PSSCR, LITE);
    t.msr = MSR_GUEST_EE;
    t.pc = 0x6000n;
    t.setSpr(SPRN_DEC, 100n);
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    sim.runFor(1000);
    expect(os.vectors()).toEqual([BOOK3S_INTERRUPT_DECREMENTER]);
    expect(t.msr & MSR_EE).toBe(0n);
    expect(EXEC_INTERRUPT).toBe(2);
  });
});
