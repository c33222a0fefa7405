// linux: arch/powerpc/kernel/irq.c and include/asm/hw_irq.h (soft-masking, replay of what arrived
// while masked), arch/powerpc/kernel/exceptions-64s.S (the exception prolog, masked_interrupt,
// the return from interrupt) and kernel/dbell.c: a CPU's interrupts.

import {
  BOOK3S_INTERRUPT_DECREMENTER,
  BOOK3S_INTERRUPT_DOORBELL,
  BOOK3S_INTERRUPT_EXTERNAL,
  EXEC_INTERRUPT,
  type HwThread,
  MSR_EE,
  MSR_RI,
  SPRN_SRR0,
  SPRN_SRR1,
} from "@stopsim/isa";
import { H_EOI, H_IPI, H_XIRR, LOWEST_PRIORITY, XICS_IPI, XICS_IRQ_SPURIOUS } from "@stopsim/linux";
import {
  Ctx,
  EXC_PROLOG_HMT_MEDIUM,
  EXC_PROLOG_SAVE_PPR,
  type ExecOp,
  type Frame,
  GPRS_SAVED,
  type GuestCpu,
  type KCode,
  type KOp,
  PACA_IRQ_DBELL,
  PACA_IRQ_DEC,
  PACA_IRQ_EE,
  PACA_IRQ_HARD_DIS,
} from "./cpu.js";
import { R_MSR, R_SPR, TEXT } from "./image.js";
import { continueSoon, stepCharge, stepExec, stepSync } from "./runner.js";
import { schedule } from "./sched.js";
import { ipiDemux } from "./smp.js";
import { setDecTicks, timerInterrupt } from "./time.js";

export function takeInterrupt(cpu: GuestCpu, vector: number, resume: KOp | null): void {
  const t = cpu.thread;
  const frame: Frame = {
    ctx: cpu.cur ?? cpu.idleCtx,
    resume,
    softEnabled: cpu.softEnabled,
    srr0: t.getSpr(SPRN_SRR0),
    srr1: t.getSpr(SPRN_SRR1),
    gprs: saveGprs(cpu),
    masked: false,
    soft: false,
    pprHi: -1,
    pprLo: 0,
  };
  cpu.frames.push(frame);
  const counts = cpu.stats.interrupts;
  counts.set(vector, (counts.get(vector) ?? 0) + 1);
  if (cpu.sim.trace.enabled) cpu.k.trace(cpu, "interrupt", { vector: `0x${vector.toString(16)}` });
  const maskable =
    vector === BOOK3S_INTERRUPT_DECREMENTER ||
    vector === BOOK3S_INTERRUPT_EXTERNAL ||
    vector === BOOK3S_INTERRUPT_DOORBELL;
  if (maskable && !frame.softEnabled) frame.masked = true;
  cpu.softEnabled = false;
  cpu.cur = new Ctx(exceptionEntry(cpu, vector, frame), "irq", cpu.current);
  cpu.wait = { k: "frozen", op: null };
  continueSoon(cpu, null);
}

// linux: arch/powerpc/kernel/exceptions-64s.S: the exception prolog (CPU_FTR_HAS_PPR: save PPR,
// then HMT_MEDIUM), then masked_interrupt when soft-masked, else the handler (timer_interrupt,
// do_IRQ, doorbell_exception) between the interrupt entry and exit code, then the return. One
// generator frame: the pieces join the timed step inline (runner.ts stepCharge, stepExec).
export function* exceptionEntry(cpu: GuestCpu, vector: number, frame: Frame): KCode {
  let w: KOp | null;
  w = stepExec(cpu, EXC_PROLOG_SAVE_PPR);
  if (w !== null) yield w;
  frame.pprHi = cpu.thread.gprHi[R_SPR];
  frame.pprLo = cpu.thread.gprLo[R_SPR];
  w = stepExec(cpu, EXC_PROLOG_HMT_MEDIUM);
  if (w !== null) yield w;
  if (frame.masked) {
    yield* maskedInterrupt(cpu, vector, frame);
    return;
  }
  if (vector === BOOK3S_INTERRUPT_DECREMENTER) {
    w = stepCharge(cpu, cpu.k.costs.interruptEntryNs);
    if (w !== null) yield w;
    yield* timerInterrupt(cpu);
  } else if (vector === BOOK3S_INTERRUPT_EXTERNAL) {
    w = stepCharge(cpu, cpu.k.costs.interruptEntryNs);
    if (w !== null) yield w;
    yield* doIrq(cpu);
  } else if (vector === BOOK3S_INTERRUPT_DOORBELL) {
    w = stepCharge(cpu, cpu.k.costs.interruptEntryNs);
    if (w !== null) yield w;
    yield* doorbellException(cpu);
  } else {
    yield* cpu.k.die(cpu, vector, frame.srr0, frame.srr1);
    return;
  }
  w = stepCharge(cpu, cpu.k.costs.interruptExitNs);
  if (w !== null) yield w;
  yield IRET;
}

const IRET: KOp = { k: "iret" };

/**
 * Saves the GPRs an exception frame holds (GPRS_SAVED) as halves, high words then low words, in
 * the save area of the frame about to be pushed: one per nesting depth, reused (frames are
 * pushed and popped in order, and a popped frame's registers are restored at once).
 */
export function saveGprs(cpu: GuestCpu): Uint32Array {
  const depth = cpu.frames.length;
  const areas = cpu.gprSaveAreas;
  const n = GPRS_SAVED.length;
  let g = areas[depth];
  if (g === undefined) {
    g = new Uint32Array(2 * n);
    areas[depth] = g;
  }
  const t = cpu.thread;
  for (let i = 0; i < n; i++) {
    g[i] = t.gprHi[GPRS_SAVED[i]];
    g[n + i] = t.gprLo[GPRS_SAVED[i]];
  }
  return g;
}

/** Restores the GPRs `saveGprs` saved. */
function restoreGprs(t: HwThread, g: Uint32Array): void {
  const n = GPRS_SAVED.length;
  for (let i = 0; i < n; i++) {
    t.gprHi[GPRS_SAVED[i]] = g[i];
    t.gprLo[GPRS_SAVED[i]] = g[n + i];
  }
}

// linux: arch/powerpc/kernel/exceptions-64s.S masked_interrupt
export function* maskedInterrupt(cpu: GuestCpu, vector: number, frame: Frame): KCode {
  cpu.stats.maskedInterrupts++;
  yield { k: "delay", ns: cpu.k.costs.maskedInterruptNs };
  if (vector === BOOK3S_INTERRUPT_DECREMENTER) {
    cpu.irqHappened |= PACA_IRQ_DEC;
    // stop the decrementer from firing again until it is replayed
    yield* setDecTicks(cpu, cpu.k.decMax());
  } else if (vector === BOOK3S_INTERRUPT_EXTERNAL) {
    // level-triggered: return hard-disabled so it does not fire again
    cpu.irqHappened |= PACA_IRQ_EE | PACA_IRQ_HARD_DIS;
    (frame as { srr1: bigint }).srr1 = frame.srr1 & ~MSR_EE;
  } else {
    cpu.irqHappened |= PACA_IRQ_DBELL;
  }
  yield { k: "iret" };
}

/** Returns from the innermost interrupt; yields the op to continue with, or "wait". */
export function iret(cpu: GuestCpu): KOp | null | "wait" {
  const frame = cpu.frames.pop();
  if (frame === undefined) throw new Error(`cpu${cpu.logical}: iret without an interrupt frame`);
  const t = cpu.thread;
  if (frame.pprHi >= 0 && ((frame.pprHi >>> 18) & 7) !== t.priority) {
    // RESTORE_PPR: the interrupted code continues at the priority it had
    t.gprHi[R_SPR] = frame.pprHi;
    t.gprLo[R_SPR] = frame.pprLo;
    cpu.rt.stepping = true;
    try {
      t.setPc32(TEXT.restorePpr.addr);
      t.execute(TEXT.restorePpr.words[0]);
    } finally {
      cpu.rt.stepping = false;
    }
  }
  restoreGprs(t, frame.gprs);
  if (frame.soft) {
    cpu.softEnabled = frame.softEnabled;
    cpu.cur = frame.ctx;
    return frame.resume;
  }
  t.setSpr(SPRN_SRR0, frame.srr0);
  t.setSpr(SPRN_SRR1, frame.srr1);
  cpu.softEnabled = frame.softEnabled;
  cpu.cur = frame.ctx;
  // preemption on return to user mode (the interrupted context was running user work)
  if (
    !frame.masked &&
    cpu.needResched &&
    frame.ctx.kind === "task" &&
    frame.resume !== null &&
    frame.resume.k === "work" &&
    cpu.current !== null
  ) {
    frame.ctx.resume = frame.resume;
    cpu.cur = new Ctx(preemptFromIret(cpu, frame.ctx), "task", cpu.current);
    return rfid(cpu, null, frame);
  }
  return rfid(cpu, frame.resume, frame);
}

/** Executes rfid; an interrupt pending and now enabled is taken at once. */
export function rfid(cpu: GuestCpu, resume: KOp | null, frame: Frame): KOp | null | "wait" {
  const addr = TEXT.irqReturn.addr;
  cpu.thread.setPc32(addr);
  cpu.rt.stepping = true;
  let r: number;
  try {
    r = cpu.thread.execute(TEXT.irqReturn.words[0]);
  } finally {
    cpu.rt.stepping = false;
  }
  if (r === EXEC_INTERRUPT) {
    const v = cpu.rt.takeDeferredVector();
    if (v !== null) {
      cpu.wait = { k: "frozen", op: null };
      takeInterrupt(cpu, v, resume);
      return "wait";
    }
    cpu.wait = { k: "frozen", op: resume };
    void frame;
    return "wait";
  }
  return resume;
}

/** Interrupt return to user mode with need_resched: schedule, then continue the user work. */
export function* preemptFromIret(cpu: GuestCpu, taskCtx: Ctx): KCode {
  const task = cpu.current;
  const saved = taskCtx.resume;
  taskCtx.resume = null;
  if (task !== null && task.state === "running") {
    task.state = "runnable";
    cpu.runqueue.push(task);
  }
  // resume the task's own context (with its pending work) once it is picked again
  taskCtx.resume = saved;
  yield* schedule(cpu);
}

/** local_irq_disable(): soft-disable. */
export function localIrqDisable(cpu: GuestCpu): void {
  cpu.softEnabled = false;
}

/** __hard_irq_enable / __hard_irq_disable's instruction: mtmsrd r(R_MSR),1. */
export const HARD_IRQ: ExecOp = { k: "exec", sym: TEXT.hardIrq, i: 0 };

/** MSR[EE] in the MSR's low word (HwThread.msrLo). */
const MSRL_EE = Number(MSR_EE & 0xffffffffn);

/**
 * local_irq_enable() when nothing happened while soft-masked (lazyIrqPending false: nothing to
 * replay): enables, hard-enabling with mtmsrd if needed. Returns null when done inline, else the
 * operation the caller yields (runner.ts stepExec).
 */
export function localIrqEnableNoReplay(cpu: GuestCpu): KOp | null {
  cpu.softEnabled = true;
  if (cpu.irqHappened & PACA_IRQ_HARD_DIS || (cpu.thread.msrLo & MSRL_EE) === 0) {
    // __hard_irq_enable
    cpu.irqHappened &= ~PACA_IRQ_HARD_DIS;
    cpu.thread.setGpr(R_MSR, MSR_EE_RI);
    return stepExec(cpu, HARD_IRQ);
  }
  return null;
}

const MSR_EE_RI = MSR_EE | MSR_RI;

/** __hard_irq_disable(): mtmsrd with EE=0. */
export function* hardIrqDisable(cpu: GuestCpu): KCode {
  cpu.thread.setGpr(R_MSR, MSR_RI);
  yield { k: "exec", sym: TEXT.hardIrq, i: 0 };
  cpu.irqHappened |= PACA_IRQ_HARD_DIS;
}

/** __hard_irq_enable(): mtmsrd with EE=1; a pending interrupt is taken right after it. */
export function* hardIrqEnable(cpu: GuestCpu): KCode {
  cpu.irqHappened &= ~PACA_IRQ_HARD_DIS;
  cpu.thread.setGpr(R_MSR, MSR_EE | MSR_RI);
  yield { k: "exec", sym: TEXT.hardIrq, i: 0 };
}

/** local_irq_enable() = arch_local_irq_restore(IRQS_ENABLED): replays what happened while masked. */
export function* localIrqEnable(cpu: GuestCpu): KCode {
  for (;;) {
    // the code so far (a replayed handler too) ran soft-disabled: it passes before irq_happened is
    // read, and an interrupt arriving in it is masked and replayed here
    const w = stepSync(cpu);
    if (w !== null) yield w;
    const happened = cpu.irqHappened & ~PACA_IRQ_HARD_DIS;
    if (happened === 0) break;
    // __check_irq_replay, in its order: DEC, then external, then doorbell
    if (cpu.irqHappened & PACA_IRQ_DEC) {
      cpu.irqHappened &= ~PACA_IRQ_DEC;
      yield* timerInterrupt(cpu);
    } else if (cpu.irqHappened & PACA_IRQ_EE) {
      cpu.irqHappened &= ~PACA_IRQ_EE;
      yield* doIrq(cpu);
    } else {
      cpu.irqHappened &= ~PACA_IRQ_DBELL;
      yield* doorbellException(cpu);
    }
  }
  cpu.softEnabled = true;
  if (cpu.irqHappened & PACA_IRQ_HARD_DIS || (cpu.thread.msr & MSR_EE) === 0n) {
    yield* hardIrqEnable(cpu);
  }
}

/** lazy_irq_pending(): something happened while soft-masked. */
export function lazyIrqPending(cpu: GuestCpu): boolean {
  return (cpu.irqHappened & ~PACA_IRQ_HARD_DIS) !== 0;
}

// linux: arch/powerpc/kernel/irq.c prep_irq_for_idle (CEDE)
export function* prepIrqForIdle(cpu: GuestCpu): Generator<KOp, boolean, void> {
  yield* hardIrqDisable(cpu);
  if (lazyIrqPending(cpu)) return false;
  cpu.irqHappened &= ~PACA_IRQ_HARD_DIS;
  cpu.softEnabled = true;
  return true;
}

// linux: arch/powerpc/kernel/irq.c prep_irq_for_idle_irqsoff (stop0lite)
export function* prepIrqForIdleIrqsoff(cpu: GuestCpu): Generator<KOp, boolean, void> {
  yield* hardIrqDisable(cpu);
  return !lazyIrqPending(cpu);
}

// linux: arch/powerpc/sysdev/xics/xics-common.c + icp-hv.c (the hypervisor ICP); with XIVE,
// sysdev/xive/common.c xive_get_irq, the IPI's handler, xive_ipi_eoi
export function* doIrq(cpu: GuestCpu): KCode {
  const xive = cpu.k.xive();
  if (xive !== null) {
    const irq = yield* xive.getIrq(cpu);
    if (irq === 0) return;
    yield* ipiDemux(cpu);
    // more in the queue: force_external_irq_replay (replayed at the next irq enable)
    if (yield* xive.ipiEoi(cpu)) cpu.irqHappened |= PACA_IRQ_EE;
    return;
  }
  const [rc, xirr] = yield* cpu.hcall(H_XIRR, BigInt(LOWEST_PRIORITY));
  if (rc !== 0n) {
    // icp_hv_get_xirr: the error is logged and the interrupt taken as XICS_IRQ_SPURIOUS (no EOI)
    cpu.k.console.printk(
      "err",
      `icp_hv_get_xirr: bad return code xirr cppr=0x${LOWEST_PRIORITY.toString(16)} returned ${rc}`,
    );
    return;
  }
  const vec = Number(xirr & 0xffffffn);
  // icp_hv_get_irq: nothing to handle, nothing to EOI
  if (vec === XICS_IRQ_SPURIOUS) return;
  if (vec === XICS_IPI) {
    // icp_hv_ipi_action: clear our MFRR, then demux
    yield* cpu.hcall(H_IPI, BigInt(cpu.hwId), BigInt(LOWEST_PRIORITY));
    yield* ipiDemux(cpu);
  }
  yield* cpu.hcall(H_EOI, xirr);
}

// linux: arch/powerpc/kernel/dbell.c doorbell_exception
export function* doorbellException(cpu: GuestCpu): KCode {
  yield* ipiDemux(cpu);
}
