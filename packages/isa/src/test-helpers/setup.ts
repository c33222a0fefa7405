import { Simulation } from "@stopsim/engine";
import type { ChipModel } from "../chips.js";
import { POWER9_DD23 } from "../chips.js";
import { SmtCore, type SmtCoreOptions } from "../core.js";
import { MSR_EE, MSR_HV, MSR_LE, MSR_ME, MSR_PR, MSR_SF } from "../registers.js";
import type { HwThread, ThreadSoftware } from "../thread.js";

export interface Event {
  kind: "interrupt" | "resume";
  vector: number;
  time: number;
  pc: bigint;
}

/** Software that records what the ISA tells it. */
export class Recorder implements ThreadSoftware {
  readonly events: Event[] = [];
  onInterrupt: ((t: HwThread, vector: number) => void) | null = null;
  interrupt(thread: HwThread, vector: number): void {
    this.events.push({ kind: "interrupt", vector, time: thread.sim.now, pc: thread.pc });
    this.onInterrupt?.(thread, vector);
  }
  resume(thread: HwThread): void {
    this.events.push({ kind: "resume", vector: 0, time: thread.sim.now, pc: thread.pc });
  }
  get last(): Event | undefined {
    return this.events[this.events.length - 1];
  }
  vectors(): number[] {
    return this.events.filter((e) => e.kind === "interrupt").map((e) => e.vector);
  }
}

export const MSR_GUEST = MSR_SF | MSR_ME | MSR_LE;
export const MSR_GUEST_EE = MSR_GUEST | MSR_EE;
export const MSR_HOST = MSR_SF | MSR_HV | MSR_ME | MSR_LE;
export const MSR_USER = MSR_SF | MSR_ME | MSR_LE | MSR_PR | MSR_EE;

export function setup(chip: ChipModel = POWER9_DD23, options: SmtCoreOptions = {}) {
  const sim = new Simulation({ seed: 42 });
  const core = new SmtCore(sim, { chip, ...options });
  const t = core.threads[0];
  const hv = new Recorder();
  const os = new Recorder();
  t.setSoftware("hv", hv);
  t.setSoftware("os", os);
  t.pc = 0x1000n;
  return { sim, core, t, hv, os };
}
