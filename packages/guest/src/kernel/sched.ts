// linux: kernel/sched/core.c (wake_up_process, schedule) and kernel/kthread.c: the guest's tasks on
// their CPUs, their operations, and init.
// and kernel/sched/core.c on a CPU: need_resched, the runqueue, try_to_wake_up, schedule().

import { type GuestCpu, type HrTimer, type KCode, type KOp, PPC_MSG_RESCHEDULE, SYNC } from "./cpu.js";
import type { GuestKernel } from "./kernel.js";
import { stepCharge, stepSync } from "./runner.js";
import { sendIpi } from "./smp.js";
import type { Task, TaskOp, TaskProgram } from "./task.js";
import { hrtimerStartStep } from "./time.js";

export function* initProgram(kernel: GuestKernel): TaskProgram {
  for (;;) {
    yield { k: "sleep", ns: kernel.config.initPollNs };
    if (kernel.pendingSpawns.length > 0) yield { k: "forkPending" };
  }
}

/** wake_up_new_task for the tasks created since the last call, run on `cpu`. */
export function* drainSpawns(kernel: GuestKernel, cpu: GuestCpu): KCode {
  while (kernel.pendingSpawns.length > 0) {
    const t = kernel.pendingSpawns.shift() as Task;
    yield* cpu.ttwu(t);
  }
}

export function* taskMain(kernel: GuestKernel, cpu: GuestCpu, task: Task): KCode {
  let input = kernel.sim.now;
  let w: KOp | null;
  for (;;) {
    const r = task.program.next(input);
    if (r.done) {
      task.state = "dead";
      task.cpuTimeNs += kernel.sim.now - task.ranAt;
      cpu.releaseTask(task);
      yield* cpu.schedule();
      return;
    }
    const op = r.value;
    if (op.k === "compute") {
      // the common ops inline (no generator per op): user work, or a system call's kernel time,
      // then the return-to-user reschedule check
      yield { k: "work", ns: op.ns };
      if (cpu.needResched && task.state === "running") yield* schedule(cpu);
    } else if (op.k === "syscall") {
      w = stepCharge(cpu, op.ns);
      if (w !== null) yield w;
      if (cpu.needResched && task.state === "running") yield* schedule(cpu);
    } else if (op.k === "sleep" || op.k === "sleepUntil") {
      // hrtimer_nanosleep: the task sleeps on an hrtimer whose callback wakes it
      const expires = op.k === "sleep" ? cpu.ktime() + op.ns : op.guestNs;
      w = stepCharge(cpu, kernel.costs.pipeSyscallNs / 2);
      if (w !== null) yield w;
      const t: HrTimer = {
        name: "hrtimer_wakeup",
        expires,
        period: 0,
        queued: false,
        fn: (cc) => cc.ttwu(task),
      };
      task.state = "sleeping";
      w = hrtimerStartStep(cpu, t);
      if (w !== null) yield w;
      // __schedule
      w = stepCharge(cpu, cpu.k.costs.contextSwitchNs);
      if (w !== null) yield w;
      w = stepSync(cpu);
      if (w !== null) yield w;
      yield pickNextTask(cpu);
      // return to user mode: reschedule if asked to
      if (cpu.needResched && taskIsRunning(task)) yield* schedule(cpu);
    } else {
      yield* taskOp(kernel, cpu, task, op);
    }
    // the return to user mode: the program goes on once the kernel path's time has passed
    w = stepSync(cpu);
    if (w !== null) yield w;
    input = kernel.sim.now;
  }
}

/** task_is_running(p) (read after the task was switched back in). */
function taskIsRunning(task: Task): boolean {
  return task.state === "running";
}

/** The task operations taskMain does not run inline: pipes, fork, cross-CPU calls. */
type BlockingTaskOp = Exclude<TaskOp, { k: "compute" | "syscall" | "sleep" | "sleepUntil" }>;

export function* taskOp(kernel: GuestKernel, cpu: GuestCpu, task: Task, op: BlockingTaskOp): KCode {
  const c = kernel.costs;
  switch (op.k) {
    case "read": {
      yield { k: "delay", ns: c.pipeSyscallNs };
      // the pipe is shared with tasks on other CPUs: read it once the path's time has passed
      if (cpu.rt.debt > 0) yield SYNC;
      while (op.pipe.tokens === 0) {
        task.state = "sleeping";
        op.pipe.waiters.push(task);
        yield* cpu.schedule();
      }
      op.pipe.tokens--;
      break;
    }
    case "write": {
      yield { k: "delay", ns: c.pipeSyscallNs };
      if (cpu.rt.debt > 0) yield SYNC;
      op.pipe.tokens++;
      const w = op.pipe.waiters.shift();
      if (w !== undefined) yield* cpu.ttwu(w);
      break;
    }
    case "forkPending":
      yield { k: "delay", ns: c.pipeSyscallNs };
      yield* drainSpawns(kernel, cpu);
      break;
    case "callFunction": {
      const target = kernel.cpuLogical(op.cpu);
      yield* cpu.callFunctionSingle(target, op.fn);
      break;
    }
  }
  // return to user mode: reschedule if asked to
  if (cpu.needResched && task.state === "running") yield* cpu.schedule();
}

/** resched_curr / set_nr_if_polling on cpu CPU. */
export function setNeedResched(cpu: GuestCpu): void {
  cpu.needResched = true;
  if (cpu.polling) cpu.pollKick();
}

// linux: kernel/sched/core.c scheduler_ipi -> sched_ttwu_pending
export function schedulerIpi(cpu: GuestCpu): void {
  const list = cpu.wakeList.splice(0);
  for (const t of list) enqueue(cpu, t);
  if (list.length > 0 && cpu.current === null) setNeedResched(cpu);
}

export function enqueue(cpu: GuestCpu, t: Task): void {
  t.state = "runnable";
  cpu.runqueue.push(t);
}

/** try_to_wake_up(p) from cpu CPU. */
export function* ttwu(cpu: GuestCpu, p: Task): KCode {
  if (p.state !== "sleeping") return;
  let w = stepCharge(cpu, cpu.k.costs.ttwuNs);
  if (w !== null) yield w;
  const target = cpu.k.cpu(p.cpu);
  // a remote wake-up is seen by the target CPU once the path's time has passed
  if (target !== cpu) {
    w = stepSync(cpu);
    if (w !== null) yield w;
  }
  p.state = "runnable";
  p.wokenAt = cpu.sim.now;
  if (target === cpu) {
    cpu.runqueue.push(p);
    if (cpu.current === null) setNeedResched(cpu);
    return;
  }
  // ttwu_queue_remote: queue on the target's wake list; IPI unless it polls for need_resched
  target.wakeList.push(p);
  if (target.current === null && target.polling) {
    target.schedulerIpi();
    return;
  }
  if (target.wakeList.length === 1) yield* sendIpi(cpu, target, PPC_MSG_RESCHEDULE);
}

/** __schedule(): picks the next task and switches to it. */
export function* schedule(cpu: GuestCpu): KCode {
  let w = stepCharge(cpu, cpu.k.costs.contextSwitchNs);
  if (w !== null) yield w;
  // the runqueue is read and the switch accounted once the path's time has passed
  w = stepSync(cpu);
  if (w !== null) yield w;
  yield pickNextTask(cpu);
}

/**
 * __schedule() once its cost has passed (`schedule`, or its callers inline): picks the next task
 * (pick_next_task) and returns the context switch to yield.
 */
export function pickNextTask(cpu: GuestCpu): KOp {
  // pick up remote wakeups queued for us (sched_ttwu_pending on the way)
  for (const t of cpu.wakeList.splice(0)) enqueue(cpu, t);
  cpu.needResched = false;
  const prev = cpu.current;
  if (prev !== null && prev.state === "running") {
    prev.state = "runnable";
    cpu.runqueue.push(prev);
  }
  const next = cpu.runqueue.shift() ?? null;
  if (prev !== null) prev.cpuTimeNs += cpu.sim.now - prev.ranAt;
  if (next !== prev) cpu.stats.contextSwitches++;
  cpu.current = next;
  if (next !== null) {
    next.state = "running";
    next.switches++;
    next.ranAt = cpu.sim.now;
    next.onSwitchIn?.(next, cpu.sim.now);
  }
  return { k: "switch", to: next };
}
