// A small guest kernel for tests: OS-level software that executes real instruction words on
// the vCPU's hardware thread through the runtime every kernel of the project uses (KThread), and
// records the interrupts it takes.
import type { Simulation } from "@stopsim/engine";
import {
  type HwThread,
  KThread,
  type KThreadOps,
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

/** H_GET_TERM_CHAR (linux: arch/powerpc/include/asm/hvcall.h 0x54): an hcall QEMU handles, not KVM. */
export const H_GET_TERM_CHAR = 0x54;

/** An onInterrupt that stops the guest at its first interrupt. */
export const haltOnInterrupt = (g: TestGuest): void => {
  g.halted = true;
};

export interface TakenInterrupt {
  readonly vector: number;
  readonly time: number;
  readonly srr0: bigint;
  readonly srr1: bigint;
}

/** The test guest's operations on its runtime: one step (the word at thread.pc), or the runtime's own. */
type TestOp =
  | { readonly k: "step" }
  | { readonly k: "delay"; readonly ns: number; readonly then: TestOp | null }
  | { readonly k: "work"; readonly ns: number }
  | { readonly k: "poll"; readonly deadline: number }
  | { readonly k: "park" };

const STEP: TestOp = { k: "step" };
const TEST_OPS: KThreadOps<TestOp> = {
  delay: (ns, then) => ({ k: "delay", ns, then }),
  work: (ns) => ({ k: "work", ns }),
  poll: (deadline) => ({ k: "poll", deadline }),
  park: () => ({ k: "park" }),
};

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
 * Executes `program` from GUEST_BASE; each word takes `stepNs` of the thread's time. The guest runs
 * on the runtime of software on a hardware thread (@stopsim/isa KThread, "os" level) as the guest
 * kernel does: its words cost SMT-scaled time, a word due while the hypervisor holds the thread
 * waits until the thread comes back (frozen at hypervisor entry, extended after), and the next word
 * runs inline when nothing else is due before it. Control that returns at thread.pc continues with
 * the word at that address; interrupts are recorded and handled by `onInterrupt` (default: stop
 * executing).
 */
export class TestGuest implements ThreadSoftware {
  readonly interrupts: TakenInterrupt[] = [];
  readonly resumes: { pc: bigint; time: number }[] = [];
  executed = 0;
  halted = false;
  /** A word's step is queued as an event (next()). */
  private pending = false;
  private rt: KThread<TestOp> | null = null;

  constructor(
    readonly sim: Simulation,
    readonly program: number[],
    readonly stepNs = 10,
    readonly onInterrupt?: (g: TestGuest, t: HwThread, vector: number) => void,
  ) {}

  /** The runtime on `thread` (created on first use, moved when the vCPU runs on another thread). */
  private runtime(thread: HwThread): KThread<TestOp> {
    if (this.rt === null) {
      this.rt = new KThread<TestOp>({
        thread,
        level: "os",
        label: "test guest",
        rng: null,
        jitterSigma: 0,
        pollPeriodNs: this.stepNs,
        ops: TEST_OPS,
        run: (op) => this.run(op),
        pollDone: () => true,
      });
    } else if (this.rt.thread !== thread) this.rt.rebind(thread);
    return this.rt;
  }

  resume(thread: HwThread): void {
    this.resumes.push({ pc: thread.pc, time: this.sim.now });
    const rt = this.runtime(thread);
    const w = rt.wait;
    if (w.k === "entry" || w.k === "away" || w.k === "stopped" || (w.k === "frozen" && w.op === null)) {
      // control comes back at thread.pc (first entry, return from the hypervisor, wake-up after
      // stop): the word there runs after one step
      rt.wait = { k: "frozen", op: null };
      this.next(thread);
      return;
    }
    // a word's time was running or frozen when the hypervisor took the thread: it goes on
    rt.resumeAt(Number(thread.pc & 0x0fffffffffffffffn));
  }

  interrupt(thread: HwThread, vector: number): void {
    this.interrupts.push({
      vector,
      time: this.sim.now,
      srr0: thread.getSpr(SPRN_SRR0),
      srr1: thread.getSpr(SPRN_SRR1),
    });
    const rt = this.runtime(thread);
    // taken while one of this guest's words executes: handled once execute() returns
    if (rt.deferIfStepping(vector)) return;
    // the PC is at the vector now: what was pending does not continue
    rt.capture();
    rt.wait = { k: "frozen", op: null };
    this.handle(thread, vector);
  }

  private handle(thread: HwThread, vector: number): void {
    if (this.onInterrupt) this.onInterrupt(this, thread, vector);
    else this.halted = true;
  }

  /** Continue at thread.pc after `delay` of this thread's time (always as an event). */
  next(thread: HwThread, delay = this.stepNs): void {
    if (this.pending) return;
    this.pending = true;
    const rt = this.runtime(thread);
    rt.later(rt.cost(delay), STEP);
  }

  private run(op: TestOp | null): void {
    const rt = this.rt;
    if (rt === null) return;
    if (op === STEP) this.pending = false;
    else if (op !== null && op.k === "delay") {
      // what was left of a word's time when an interrupt or the hypervisor cut it
      if (op.ns > 0 && !rt.runCode(op.ns, op.then)) return;
    }
    for (;;) {
      const t = rt.thread;
      if (this.halted || t.stopped || t.hypervisorState) return;
      const idx = Number((t.pc - GUEST_BASE) / 4n);
      if (idx < 0 || idx >= this.program.length) return; // end of program: the guest spins
      this.executed++;
      const r = rt.exec(null, this.program[idx], STEP);
      if (r === "interrupt") {
        const v = rt.takeDeferredVector();
        if (v !== null) this.handle(t, v);
        return;
      }
      if (r !== "ok") return; // stopped, or control went to the hypervisor
      // the next word after one step: inline when nothing else is due before it
      if (!rt.runCode(this.stepNs, STEP)) return;
    }
  }
}
