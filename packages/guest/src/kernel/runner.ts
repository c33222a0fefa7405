import { Ctx, type ExecOp, type GuestCpu, type KCode, type KOp, SRR0_SPR, SYNC } from "./cpu.js";
import { TEXT } from "./image.js";
import { iret, lazyIrqPending, localIrqEnable, localIrqEnableNoReplay, takeInterrupt } from "./irq.js";
import type { Task } from "./task.js";
import { programDec } from "./time.js";

/**
 * Continues the kernel code with `op` as a new event at the current time (after whatever else
 * is due now): the caller may be inside the ISA or the hypervisor.
 */
export function continueSoon(cpu: GuestCpu, op: KOp | null): void {
  cpu.rt.continueSoon(op);
}

/** Starts running `ctx` (boot entry). */
export function startCtx(cpu: GuestCpu, ctx: Ctx): void {
  cpu.cur = ctx;
  continueSoon(cpu, null);
}

/** Runs the current context until it waits. */
export function advance(cpu: GuestCpu, op: KOp | null): void {
  for (;;) {
    // a stopped CPU (panic: smp_send_stop, stop_this_cpu) runs no more kernel code: a continuation
    // pending when it stopped (an interrupt just taken, work injected) ends here
    if (cpu.wait.k === "dead") return;
    if (cpu.k.halted() && cpu.cur?.kind !== "irq" && cpu.cur?.kind !== "boot") {
      cpu.halt();
      return;
    }
    if (cpu.decResync && cpu.cur !== null) {
      // first kernel step on a new thread: reprogram DEC (like an interrupt, then continue)
      cpu.decResync = false;
      cpu.pushSoftFrame(op, programDec(cpu));
      op = null;
      continue;
    }
    const ctx = cpu.cur;
    if (ctx === null) return;
    if (op === null) {
      const r = ctx.gen.next();
      if (r.done && ctx.next !== null) {
        cpu.cur = ctx.next;
        continue;
      }
      if (r.done) {
        if (ctx.kind === "irq") throw new Error(`cpu${cpu.logical}: interrupt handler ended without iret`);
        if (ctx.kind === "boot") {
          // the boot code falls into the idle loop (cpu_startup_entry)
          cpu.cur = cpu.idleCtx;
          op = null;
          continue;
        }
        throw new Error(`cpu${cpu.logical}: ${ctx.kind} context ended`);
      }
      op = r.value;
    }
    const cur: KOp = op;
    op = null;
    // the code ran a step inline and the thread waits now
    if (cur.k === "waiting") return;
    if (cpu.timedSteps) {
      if (cur.k === "delay") {
        // a piece of a kernel path: its cost joins the current timed step, no event
        chargeStep(cpu, cur.ns);
        continue;
      }
      // the step ends before anything another layer or CPU can see: its summed cost passes first
      // (one event, or none when nothing else is due), then `cur` runs
      if (cpu.rt.debt > 0 && !stepLocal(cur) && !cpu.rt.payDebt(cur)) return;
    }
    switch (cur.k) {
      case "sync":
        continue;
      case "delay":
        // kernel code: nothing else due before it ends (no interrupt can come), it runs inline
        if (cur.ns <= 0 || cpu.rt.runCode(cur.ns)) continue;
        return;
      case "rest":
        // what was left of an interrupted step, then the operation that ended it
        if (cur.ns <= 0 || cpu.rt.runCode(cur.ns, cur.next)) {
          op = cur.next;
          continue;
        }
        return;
      case "work":
        // user work: nothing else due before it ends, it runs to its end inline
        if (cur.ns <= 0 || cpu.rt.runWork(cur.ns)) continue;
        return;
      case "poll":
        cpu.rt.poll(cur.deadline);
        return;
      case "park":
        cpu.rt.park();
        return;
      case "switch": {
        const next = cur.to === null ? cpu.idleCtx : taskCtx(cpu, cur.to);
        if (next === ctx) continue;
        ctx.resume = null;
        const pending = next.resume;
        next.resume = null;
        // finish_task_switch: the incoming context runs with interrupts enabled
        if (pending === null && !lazyIrqPending(cpu)) {
          // nothing to replay nor to re-issue: local_irq_enable inline, then the incoming context
          cpu.cur = next;
          if (localIrqEnableNoReplay(cpu) === null) continue;
          return;
        }
        const tail = new Ctx(switchTail(cpu, pending), next.kind, next.task);
        tail.next = next;
        cpu.cur = tail;
        continue;
      }
      case "iret": {
        const r = iret(cpu);
        if (r === "wait") return;
        op = r;
        continue;
      }
      case "exec": {
        const r = execOp(cpu, cur);
        if (r === "continue") continue;
        return;
      }
    }
  }
}

/**
 * Whether an operation belongs inside a timed step: instruction words whose effect only this
 * thread's own later code sees, issued in order at the step's start. `mtspr DEC` is one (the
 * kernel computed its value at the same moment, so the decrementer fires at the absolute time the
 * kernel asked for); so are the exception prolog's `mfspr PPR`, `mftb` and `mfspr PVR`. Everything
 * else ends the step: `sc 1`, `stop`, `msgsndp`, SMT priority changes (they change the siblings'
 * share of the core), `mtmsrd` (it opens or closes the MSR[EE] window in which interrupts arrive
 * mid-path, where the real kernel's path splits too), `rfid`, waits, context switches and `sync`.
 */
export function stepLocal(op: KOp): boolean {
  if (op.k !== "exec") return false;
  const sym = op.sym;
  if (sym === TEXT.setDec || sym === TEXT.getTb || sym === TEXT.start || sym === TEXT.secondary) return true;
  return sym === TEXT.exceptionProlog && op.i === 0;
}

/** The runner stops: code that ran a step inline left the thread waiting (KOp "waiting"). */
export const WAITING: KOp = { k: "waiting" };

/**
 * A piece of a kernel path of cost `ns` (KOp "delay") without the runner: its cost joins the
 * current timed step. Returns null when done inline, else the delay itself (without timed steps)
 * for the caller to yield.
 */
export function stepCharge(cpu: GuestCpu, ns: number): KOp | null {
  if (!cpu.timedSteps) return { k: "delay", ns };
  chargeStep(cpu, ns);
  return null;
}

/**
 * Adds `ns` to the timed step. A step runs under one soft mask: an interrupt arriving in it is
 * taken at once when soft-enabled, masked and replayed at the next local_irq_enable when
 * soft-disabled (linux: arch/powerpc/kernel/irq.c arch_local_irq_restore). Code that changes the
 * mask ends the step first (stepSync before local_irq_disable, at each check of localIrqEnable's
 * replay), so that the part before the change passes under the old mask: a step that would span
 * a change is a fault of the kernel path, refused here.
 */
function chargeStep(cpu: GuestCpu, ns: number): void {
  const rt = cpu.rt;
  if (rt.debt === 0) cpu.stepSoftEnabled = cpu.softEnabled;
  else if (cpu.softEnabled !== cpu.stepSoftEnabled)
    throw new Error(
      `cpu${cpu.logical}: the soft mask changed inside a timed step (${cpu.stepSoftEnabled ? "enabled" : "disabled"} to ${cpu.softEnabled ? "enabled" : "disabled"}): the step must pass before the change`,
    );
  rt.charge(ns);
}

/**
 * The end of a timed step (KOp "sync") without the runner: the step's summed cost passes, inline
 * when nothing else is due (null), else as a wait after which the runner continues the code
 * (WAITING).
 */
export function stepSync(cpu: GuestCpu): KOp | null {
  if (cpu.rt.debt <= 0 || !cpu.timedSteps) return null;
  return cpu.rt.payDebt(SYNC) ? null : WAITING;
}

/**
 * Executes an instruction of kernel text (KOp "exec") without the runner: a step in progress
 * passes first unless the instruction belongs inside it (`stepLocal`). Returns null when it
 * executed and the code goes on, else WAITING (the step's time passes as a wait, after which the
 * runner executes `op`; or the thread stopped, or an interrupt or another software took it).
 */
export function stepExec(cpu: GuestCpu, op: ExecOp): KOp | null {
  if (cpu.timedSteps && cpu.rt.debt > 0 && !stepLocal(op) && !cpu.rt.payDebt(op)) return WAITING;
  return execOp(cpu, op) === "continue" ? null : WAITING;
}

export function* switchTail(cpu: GuestCpu, pending: KOp | null): KCode {
  yield* localIrqEnable(cpu);
  if (pending !== null) yield pending;
}

export function taskCtx(cpu: GuestCpu, task: Task): Ctx {
  let ctx = cpu.taskCtxs.get(task);
  if (ctx === undefined) {
    ctx = new Ctx(cpu.k.taskMain(cpu, task), "task", task);
    cpu.taskCtxs.set(task, ctx);
  }
  return ctx;
}

/** Forgets the kernel stack of an exited task. */
export function releaseTask(cpu: GuestCpu, task: Task): void {
  cpu.taskCtxs.delete(task);
}

/** Another CPU set need_resched while cpu one polls: the loop notices at its next iteration. */
export function pollKick(cpu: GuestCpu): void {
  cpu.rt.pollKick();
}

/** Converts the current wait into the operation to re-issue after an interrupt. */
export function captureWait(cpu: GuestCpu): KOp | null {
  return cpu.rt.capture();
}

/** Executes one instruction word of a text symbol. */
export function execOp(cpu: GuestCpu, op: ExecOp): "continue" | "wait" {
  const addr = op.sym.addr + 4 * op.i;
  const r = cpu.rt.exec(addr, op.sym.words[op.i], op);
  if (r === "ok") return "continue";
  if (r === "interrupt") {
    // an interrupt for us: taken before the instruction (SRR0 = it) or after it (SRR0 = next)
    const v = cpu.rt.takeDeferredVector() as number;
    const srr0 = Number(cpu.thread.getSpr(SRR0_SPR));
    takeInterrupt(cpu, v, srr0 === addr ? op : null);
  }
  return "wait";
}
