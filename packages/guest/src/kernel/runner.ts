import { EXEC_INTERRUPT, EXEC_OK, EXEC_STOPPED, SPRN_SRR0 } from "@stopsim/isa";
import { Ctx, type GuestCpu, type KCode, type KOp, SRR0_SPR, type Wait } from "./cpu.js";
import { iret, localIrqEnable, takeInterrupt } from "./irq.js";
import type { Task } from "./task.js";
import { programDec } from "./time.js";

/**
 * Continues the kernel code with `op` as a new event at the current time (after whatever else
 * is due now): the caller may be inside the ISA or the hypervisor. One re-armable timer serves
 * these continuations; a second one while it is armed (not seen in practice) gets its own event.
 */
export function continueSoon(cpu: GuestCpu, op: KOp | null): void {
  if (cpu.kickTimer.armed) {
    cpu.sim.schedule(0, () => advance(cpu, op), `guest cpu${cpu.logical}`);
    return;
  }
  cpu.kickOp = op;
  cpu.kickTimer.arm(cpu.sim.now);
}

export function onKick(cpu: GuestCpu): void {
  const op = cpu.kickOp;
  cpu.kickOp = null;
  advance(cpu, op);
}

/** Starts running `ctx` (boot entry). */
export function startCtx(cpu: GuestCpu, ctx: Ctx): void {
  cpu.cur = ctx;
  continueSoon(cpu, null);
}

/** Runs the current context until it waits. */
export function advance(cpu: GuestCpu, op: KOp | null): void {
  for (;;) {
    if (cpu.k.halted() && cpu.wait.k !== "dead" && cpu.cur?.kind !== "irq" && cpu.cur?.kind !== "boot") {
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
    switch (cur.k) {
      case "delay":
        if (cur.ns <= 0) continue;
        if (armTimerWait(cpu, cur, cur.ns)) continue;
        return;
      case "work": {
        if (cur.ns <= 0) continue;
        const speed = threadSpeed(cpu);
        // nothing else due before the work ends: it runs to its end inline
        if (cpu.sim.tryAdvance(Math.max(1, Math.ceil(cur.ns / speed)))) continue;
        const now = cpu.sim.now;
        cpu.wait = {
          k: "work",
          timer: cpu.waitTimer,
          remaining: cur.ns,
          lastUpdate: now,
          speed,
          startedAt: now,
        };
        cpu.waitTimer.arm(now + Math.max(1, Math.ceil(cur.ns / speed)));
        return;
      }
      case "poll": {
        const now = cpu.sim.now;
        cpu.wait = {
          k: "poll",
          timer: cpu.waitTimer,
          deadline: cur.deadline,
          startedAt: now,
          loopStart: now,
        };
        armPoll(cpu);
        return;
      }
      case "park":
        cpu.wait = { k: "park" };
        return;
      case "switch": {
        const next = cur.to === null ? cpu.idleCtx : taskCtx(cpu, cur.to);
        if (next === ctx) continue;
        ctx.resume = null;
        const pending = next.resume;
        next.resume = null;
        // finish_task_switch: the incoming context runs with interrupts enabled
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

export function threadSpeed(cpu: GuestCpu): number {
  const core = cpu.thread.core;
  if (core === null) return 1;
  const s = core.effectiveSpeed(cpu.thread.index);
  return s > 0 ? s : 1e-6;
}

/**
 * Kernel code running for `ns` of work: like user work, it shares the core's issue resources
 * with the SMT siblings (smt.ts), so it takes ns / speed of virtual time at the speed the
 * thread has when the code starts (kernel paths are short: a sibling changing state during
 * one is not followed). Returns true when the time passed inline (Simulation.tryAdvance).
 */
export function armTimerWait(cpu: GuestCpu, op: KOp, ns: number): boolean {
  const now = cpu.sim.now;
  const core = cpu.hw.core;
  const speed = core === null ? 1 : core.runningSpeed(cpu.hw.index);
  const sigma = cpu.k.costs.jitterSigma;
  const t = sigma > 0 ? cpu.costRng.logNormal(ns, sigma) : ns;
  const d = speed === 1 && t === ns ? ns : Math.max(1, Math.round(t / speed));
  // nothing else due before the code ends (no interrupt can come): it runs inline
  if (cpu.sim.tryAdvance(d)) return true;
  const endAt = now + d;
  cpu.wait = { k: "timer", op, timer: cpu.waitTimer, startedAt: now, endAt, speed };
  cpu.waitTimer.arm(endAt);
  return false;
}

/** The snooze loop's next iteration boundary at or after now (and the deadline check). */
export function armPoll(cpu: GuestCpu): void {
  const w = cpu.wait;
  if (w.k !== "poll") return;
  const p = cpu.k.costs.snoozePollNs;
  const now = cpu.sim.now;
  const target = cpu.needResched ? now : Math.max(now, w.deadline);
  if (!Number.isFinite(target)) {
    w.timer.cancel();
    return;
  }
  const n = Math.ceil((target - w.loopStart) / p);
  w.timer.arm(w.loopStart + Math.max(n, 0) * p);
}

/** Another CPU set need_resched while cpu one polls: the loop notices at its next iteration. */
export function pollKick(cpu: GuestCpu): void {
  if (cpu.wait.k === "poll") armPoll(cpu);
}

export function onWaitTimer(cpu: GuestCpu): void {
  const w = cpu.wait;
  if (cpu.thread.hypervisorState || cpu.thread.stopped) {
    // the hypervisor took the thread (asynchronous exit): freeze until it returns
    if (w.k === "timer" || w.k === "work" || w.k === "poll") freezeAtHvEntry(cpu, w);
    return;
  }
  cpu.wait = { k: "frozen", op: null };
  advance(cpu, null);
}

/**
 * The pending wait stopped when the hypervisor took the thread: what is left of it at that time
 * becomes the operation to re-issue when the kernel runs again.
 */
export function freezeAtHvEntry(cpu: GuestCpu, w: Wait & { k: "timer" | "work" | "poll" }): void {
  const hvSince = hvEntryTime(cpu, w);
  if (w.k === "timer")
    cpu.wait = { k: "frozen", op: { k: "delay", ns: Math.max(0, (w.endAt - hvSince) * w.speed) } };
  else if (w.k === "work") {
    const done = (hvSince - w.lastUpdate) * w.speed;
    cpu.wait = { k: "frozen", op: { k: "work", ns: Math.max(0, w.remaining - done) } };
  } else cpu.wait = { k: "frozen", op: { k: "poll", deadline: w.deadline } };
}

export function hvEntryTime(cpu: GuestCpu, w: Wait): number {
  const li = cpu.thread.lastInterrupt;
  const since = "startedAt" in w ? w.startedAt : 0;
  if (li !== null && li.level === "hv" && li.time >= since) return li.time;
  return cpu.sim.now;
}

export function extendAfterHv(cpu: GuestCpu, w: Wait & { k: "timer" | "work" | "poll" }): void {
  const hvSince = hvEntryTime(cpu, w);
  const lost = cpu.sim.now - hvSince;
  if (lost <= 0) return;
  if (w.k === "timer") {
    w.endAt += lost;
    w.timer.arm(w.endAt);
  } else if (w.k === "work") {
    const done = (hvSince - w.lastUpdate) * w.speed;
    w.remaining = Math.max(0, w.remaining - done);
    w.lastUpdate = cpu.sim.now;
    w.speed = threadSpeed(cpu);
    w.timer.arm(cpu.sim.now + Math.max(1, Math.ceil(w.remaining / w.speed)));
  } else {
    armPoll(cpu);
  }
}

export function onSpeedChange(cpu: GuestCpu): void {
  const w = cpu.wait;
  if (w.k !== "work" || cpu.thread.hypervisorState) return;
  const now = cpu.sim.now;
  const s = threadSpeed(cpu);
  if (s === w.speed) return;
  w.remaining = Math.max(0, w.remaining - (now - w.lastUpdate) * w.speed);
  w.lastUpdate = now;
  w.speed = s;
  w.timer.arm(now + Math.max(1, Math.ceil(w.remaining / s)));
}

/** Converts the current wait into the operation to re-issue after an interrupt. */
export function captureWait(cpu: GuestCpu): KOp | null {
  const w = cpu.wait;
  const now = cpu.sim.now;
  switch (w.k) {
    case "timer":
      w.timer.cancel();
      cpu.wait = { k: "frozen", op: null };
      return { k: "delay", ns: Math.max(0, (w.endAt - now) * w.speed) };
    case "work": {
      w.timer.cancel();
      const rem = Math.max(0, w.remaining - (now - w.lastUpdate) * w.speed);
      cpu.wait = { k: "frozen", op: null };
      return { k: "work", ns: rem };
    }
    case "poll":
      // the polling loop continues after the interrupt: it re-checks need_resched and the time
      w.timer.cancel();
      cpu.wait = { k: "frozen", op: null };
      return null;
    case "hv": {
      cpu.wait = { k: "frozen", op: null };
      const srr0 = Number(cpu.thread.getSpr(SPRN_SRR0));
      return srr0 === w.addr ? w.op : null;
    }
    case "stopped":
      cpu.wait = { k: "frozen", op: null };
      return null;
    case "frozen": {
      const op = w.op;
      cpu.wait = { k: "frozen", op: null };
      return op;
    }
    case "park":
      return { k: "park" };
    default:
      return null;
  }
}

/** Executes one instruction word of a text symbol. */
export function execOp(cpu: GuestCpu, op: KOp & { k: "exec" }): "continue" | "wait" {
  const addr = op.sym.addr + 4 * op.i;
  const word = op.sym.words[op.i];
  cpu.thread.setPc32(addr);
  cpu.stepping = true;
  let r: number;
  try {
    r = cpu.thread.execute(word);
  } finally {
    cpu.stepping = false;
  }
  if (r === EXEC_OK) return "continue";
  if (r === EXEC_STOPPED) {
    cpu.wait = { k: "stopped", addr };
    return "wait";
  }
  if (r === EXEC_INTERRUPT) {
    const v = cpu.deferredVector;
    cpu.deferredVector = null;
    if (v !== null) {
      // an interrupt for us: taken before the instruction (SRR0 = it) or after it (SRR0 = next)
      const srr0 = Number(cpu.thread.getSpr(SRR0_SPR));
      cpu.wait = { k: "frozen", op: null };
      takeInterrupt(cpu, v, srr0 === addr ? op : null);
      return "wait";
    }
    cpu.wait = { k: "hv", op, addr };
    return "wait";
  }
  throw new Error(`cpu${cpu.logical}: unexpected execute() result ${r}`);
}
