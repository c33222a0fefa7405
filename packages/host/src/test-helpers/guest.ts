// A small guest kernel for tests: OS-level software that executes real instruction words on
// the vCPU's hardware thread, one word per event, and records the interrupts it takes.
import type { Simulation } from "@stopsim/engine";
import {
  EXEC_OK,
  type HwThread,
  li,
  lis,
  mtspr,
  ori,
  SPRN_DEC,
  SPRN_SRR0,
  SPRN_SRR1,
  type ThreadSoftware,
} from "@stopsim/isa";

export const GUEST_BASE = 0x10000n;

export interface TakenInterrupt {
  readonly vector: number;
  readonly time: number;
  readonly srr0: bigint;
  readonly srr1: bigint;
}

/** Loads a 32-bit value into rD with lis/ori. */
export function load32(rd: number, value: number): number[] {
  const hi = (value >>> 16) & 0xffff;
  const lo = value & 0xffff;
  return [lis(rd, hi >= 0x8000 ? hi - 0x10000 : hi), ori(rd, rd, lo)];
}

/** Sets the guest DEC to `ticks` (timebase ticks, 512 MHz). */
export function setDec(ticks: number): number[] {
  return [...load32(9, ticks), mtspr(SPRN_DEC, 9)];
}

/** `li r3, hcall` + `sc 1` */
export function hcall(nr: number, ...args: number[]): number[] {
  const out = [li(3, nr)];
  args.forEach((a, i) => {
    out.push(li(4 + i, a));
  });
  out.push(0x44000022);
  return out;
}

/**
 * Executes `program` from GUEST_BASE; each word takes `stepNs`. Control that returns at
 * thread.pc continues with the word at that address; interrupts are recorded and handled by
 * `onInterrupt` (default: stop executing).
 */
export class TestGuest implements ThreadSoftware {
  readonly interrupts: TakenInterrupt[] = [];
  readonly resumes: { pc: bigint; time: number }[] = [];
  executed = 0;
  halted = false;
  private pending = false;

  constructor(
    readonly sim: Simulation,
    readonly program: number[],
    readonly stepNs = 10,
    readonly onInterrupt?: (g: TestGuest, t: HwThread, vector: number) => void,
  ) {}

  resume(thread: HwThread): void {
    this.resumes.push({ pc: thread.pc, time: this.sim.now });
    this.next(thread);
  }

  interrupt(thread: HwThread, vector: number): void {
    this.interrupts.push({
      vector,
      time: this.sim.now,
      srr0: thread.getSpr(SPRN_SRR0),
      srr1: thread.getSpr(SPRN_SRR1),
    });
    if (this.onInterrupt) this.onInterrupt(this, thread, vector);
    else this.halted = true;
  }

  /** Continue at thread.pc after `delay`. */
  next(thread: HwThread, delay = this.stepNs): void {
    if (this.pending) return;
    this.pending = true;
    this.sim.schedule(delay, () => {
      this.pending = false;
      this.step(thread);
    });
  }

  private step(thread: HwThread): void {
    if (this.halted || thread.stopped || thread.hypervisorState) return;
    const idx = Number((thread.pc - GUEST_BASE) / 4n);
    if (idx < 0 || idx >= this.program.length) return; // end of program: the guest spins
    this.executed++;
    const r = thread.execute(this.program[idx]);
    if (r === EXEC_OK) this.next(thread);
  }
}
