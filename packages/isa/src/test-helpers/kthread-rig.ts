// The KThread rig of the runtime's suites (kthread.test.ts, kthread-waits.test.ts): a guest
// kernel's runtime on thread 0 of an SMT4 core, recording what it runs and when.
import { Simulation } from "@stopsim/engine";
import * as A from "../asm.js";
import { SmtCore } from "../core.js";
import { KThread, type KThreadOptions } from "../kthread.js";
import { LPCR_PECE1, makePsscr, SPRN_LPCR, SPRN_PSSCR } from "../registers.js";
import type { HwThread } from "../thread.js";
import { MSR_GUEST, Recorder } from "./setup.js";

export type Op =
  | { k: "delay"; ns: number; next: Op | null }
  | { k: "work"; ns: number }
  | { k: "poll"; deadline: number }
  | { k: "park" }
  | { k: "mark"; name: string };

export const OPS = {
  delay: (ns: number, next: Op | null): Op => ({ k: "delay", ns, next }),
  work: (ns: number): Op => ({ k: "work", ns }),
  poll: (deadline: number): Op => ({ k: "poll", deadline }),
  park: (): Op => ({ k: "park" }),
};

export const LITE = makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: false });

export function rig(opts: Partial<KThreadOptions<Op>> = {}, withCore = true) {
  const sim = new Simulation({ seed: 7 });
  const core = withCore ? new SmtCore(sim) : null;
  const t = core !== null ? core.threads[0] : new SmtCore(new Simulation()).threads[0];
  const hv = new Recorder();
  const os = new Recorder();
  if (core !== null) for (const th of core.threads) th.setSoftware("hv", new Recorder());
  t.setSoftware("hv", hv);
  t.setSoftware("os", os);
  // the software of these tests is a guest kernel running in guest state
  t.msr = MSR_GUEST;
  t.pc = 0x1000n;
  const runs: Array<[number, Op | null]> = [];
  let done = false;
  const rt = new KThread<Op>({
    thread: t,
    level: "os",
    label: "test cpu0",
    rng: null,
    jitterSigma: 0,
    pollPeriodNs: 40,
    ops: OPS,
    run: (op) => runs.push([sim.now, op]),
    pollDone: () => done,
    ...opts,
  });
  return { sim, core, t, hv, os, rt, runs, setDone: () => (done = true) };
}

export function stopSibling(t: HwThread): void {
  t.setSpr(SPRN_LPCR, LPCR_PECE1);
  t.setSpr(SPRN_PSSCR, LITE);
  t.execute(A.STOP);
}

/** Puts thread `t` in guest state (MSR[HV]=0) at `pc`. */
export function toGuest(t: HwThread, pc: bigint, msr = MSR_GUEST): void {
  t.msr = msr;
  t.pc = pc;
}
