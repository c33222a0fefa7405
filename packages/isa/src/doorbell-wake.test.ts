// A doorbell that wakes a thread from stop is consumed exactly once. Power ISA v3.0B (Book III
// 10.2, stop): with PSSCR[EC]=1 the wake-up is a System Reset interrupt whose SRR1 names the
// doorbell, and the doorbell exception is cleared by that interrupt (qemu:
// target/ppc/excp_helper.c p9_deliver_interrupt clears the pending doorbell, then
// powerpc_reset_wakeup turns its delivery into the System Reset); with
// EC=0 the thread resumes and the doorbell stays pending until it is taken as its own interrupt
// (0xA00, or 0xE80 for msgsnd), once. A doorbell left pending would end every later stop at once.
import { describe, expect, it } from "vitest";
import * as A from "./asm.js";
import {
  BOOK3S_INTERRUPT_DOORBELL,
  BOOK3S_INTERRUPT_H_DOORBELL,
  BOOK3S_INTERRUPT_SYSTEM_RESET,
  dbellServerMessage,
  LPCR_PECE1,
  LPCR_PECEDH,
  LPCR_PECEDP,
  makePsscr,
  SPRN_LPCR,
  SPRN_PSSCR,
  SPRN_SRR1,
  SRR1_WAKEDBELL,
  SRR1_WAKEHDBELL,
  SRR1_WAKEMASK_P8,
} from "./registers.js";
import { MSR_GUEST, MSR_GUEST_EE, setup } from "./test-helpers/setup.js";
import { EXEC_STOPPED } from "./thread.js";

const DEEP = makePsscr({ rl: 0, mtl: 15, psll: 15, esl: true, ec: true });
const LITE = makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: false });

/** Sends a privileged doorbell (msgsndp) from sibling thread 1 to thread `tir` of the core. */
function msgsndpFromSibling(core: ReturnType<typeof setup>["core"], tir: number): void {
  const sender = core.threads[1];
  sender.setGpr(3, dbellServerMessage(tir));
  sender.execute(A.msgsndp(3));
}

describe("a doorbell that wakes a thread from stop is consumed", () => {
  it("EC=1, msgsndp: System Reset with SRR1 'doorbell', the doorbell cleared, the next stop sleeps", () => {
    const { t, core, hv, sim } = setup();
    t.setSpr(SPRN_LPCR, LPCR_PECEDP | LPCR_PECE1);
    t.setSpr(SPRN_PSSCR, DEEP);
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    msgsndpFromSibling(core, 0);
    expect(t.stopped).toBe(false);
    expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_SYSTEM_RESET]);
    expect(t.getSpr(SPRN_SRR1) & SRR1_WAKEMASK_P8).toBe(SRR1_WAKEDBELL);
    expect(t.pDoorbell).toBe(false);
    // the same stop again: nothing pending, the thread stays stopped
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    sim.runFor(100_000);
    expect(t.stopped).toBe(true);
    expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_SYSTEM_RESET]);
  });

  it("EC=1, msgsnd (hypervisor doorbell): consumed by the System Reset as well", () => {
    const { t, core, hv, sim } = setup();
    t.setSpr(SPRN_LPCR, LPCR_PECEDH);
    t.setSpr(SPRN_PSSCR, DEEP);
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    const sender = core.threads[2];
    sender.setGpr(3, dbellServerMessage(t.pir));
    sender.execute(A.msgsnd(3));
    expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_SYSTEM_RESET]);
    expect(t.getSpr(SPRN_SRR1) & SRR1_WAKEMASK_P8).toBe(SRR1_WAKEHDBELL);
    expect(t.hDoorbell).toBe(false);
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    sim.runFor(100_000);
    expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_SYSTEM_RESET]);
  });

  it("EC=0 in a guest with MSR[EE]=1: the doorbell wakes it and is taken once as 0xA00", () => {
    const { t, core, os, sim } = setup();
    t.setSpr(SPRN_LPCR, 0n);
    t.setSpr(SPRN_PSSCR, LITE);
    t.msr = MSR_GUEST_EE;
    t.pc = 0x7000n;
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    msgsndpFromSibling(core, 0);
    expect(t.stopped).toBe(false);
    expect(os.vectors()).toEqual([BOOK3S_INTERRUPT_DOORBELL]);
    expect(t.pDoorbell).toBe(false);
    sim.runFor(100_000);
    expect(os.vectors()).toEqual([BOOK3S_INTERRUPT_DOORBELL]);
  });

  it("EC=0 with MSR[EE]=0: the thread resumes after stop, the doorbell stays pending until EE is set", () => {
    const { t, core, os } = setup();
    t.setSpr(SPRN_LPCR, 0n);
    t.setSpr(SPRN_PSSCR, LITE);
    t.msr = MSR_GUEST;
    t.pc = 0x7000n;
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    msgsndpFromSibling(core, 0);
    expect(t.stopped).toBe(false);
    expect(os.last).toMatchObject({ kind: "resume", pc: 0x7004n });
    expect(t.pDoorbell).toBe(true);
    // mtmsrd r5,1 with EE set: the pending doorbell is taken now, once
    t.setGpr(5, MSR_GUEST_EE);
    t.execute(A.mtmsrd(5, 1));
    expect(os.vectors()).toEqual([BOOK3S_INTERRUPT_DOORBELL]);
    expect(t.pDoorbell).toBe(false);
    t.execute(A.mtmsrd(5, 1));
    expect(os.vectors()).toEqual([BOOK3S_INTERRUPT_DOORBELL]);
  });

  it("a hypervisor doorbell that wakes a guest EC=0 stop is delivered to the hypervisor once (0xE80)", () => {
    const { t, hv } = setup();
    t.setSpr(SPRN_LPCR, 0n);
    t.setSpr(SPRN_PSSCR, LITE);
    t.msr = MSR_GUEST;
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    t.receiveHypervisorDoorbell();
    expect(hv.vectors()).toEqual([BOOK3S_INTERRUPT_H_DOORBELL]);
    expect(t.hDoorbell).toBe(false);
  });
});
