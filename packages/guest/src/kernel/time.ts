// linux: kernel/time/tick-sched.c and arch/powerpc/kernel/time.c (timer_interrupt): the periodic
// tick on each CPU, stopped while idle (NO_HZ_IDLE) and restarted on the way out.
// and kernel/time/hrtimer.c with arch/powerpc/kernel/time.c (set_dec, timer_interrupt): a CPU's
// hrtimers and its decrementer.

import type { ExecOp, GuestCpu, HrTimer, KCode, KOp } from "./cpu.js";
import { R_SPR, TEXT } from "./image.js";
import type { GuestKernel } from "./kernel.js";
import { stepCharge, stepExec } from "./runner.js";

export function* startTick(kernel: GuestKernel, cpu: GuestCpu): KCode {
  const tick = kernel.tickNs;
  const t: HrTimer = {
    name: "tick_sched_timer",
    expires: (Math.floor(cpu.ktime() / tick) + 1) * tick,
    period: tick,
    queued: false,
    fn: (c) => tickHandler(kernel, c),
  };
  cpu.tickTimer = t;
  cpu.tickRunning = true;
  yield* cpu.hrtimerStart(t);
}

// tick_sched_timer -> update_process_times -> scheduler_tick
export function* tickHandler(kernel: GuestKernel, cpu: GuestCpu): KCode {
  yield { k: "delay", ns: kernel.costs.tickNs };
  const cur = cpu.current;
  if (cur !== null && cpu.runqueue.length > 0 && kernel.sim.now - cur.ranAt >= 3 * kernel.tickNs) {
    cpu.setNeedResched();
  }
}

/** tick_nohz_idle_stop_tick */
export function stopTick(_kernel: GuestKernel, cpu: GuestCpu): void {
  if (!cpu.tickRunning || cpu.tickTimer === null) return;
  cpu.hrtimerCancel(cpu.tickTimer);
  cpu.tickRunning = false;
}

/**
 * tick_nohz_idle_exit -> tick_nohz_restart, inline: null when done, else the operation the caller
 * yields (runner.ts stepExec).
 */
export function restartTick(kernel: GuestKernel, cpu: GuestCpu): KOp | null {
  if (cpu.tickRunning || cpu.tickTimer === null) return null;
  const tick = kernel.tickNs;
  cpu.tickTimer.expires = (Math.floor(cpu.ktime() / tick) + 1) * tick;
  cpu.tickRunning = true;
  return hrtimerStartStep(cpu, cpu.tickTimer);
}

/** set_dec's instruction: mtspr DEC from r(R_SPR). */
export const SET_DEC: ExecOp = { k: "exec", sym: TEXT.setDec, i: 0 };

/** set_dec(ticks) up to its mtspr DEC: loads the register with `ticks`, returns the instruction to issue. */
export function decOp(cpu: GuestCpu, ticks: number): ExecOp {
  const v = Math.trunc(ticks);
  if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
    // the register's halves directly (no BigInt on cpu hot path)
    cpu.thread.gprHi[R_SPR] = Math.floor(v / 4294967296);
    cpu.thread.gprLo[R_SPR] = v >>> 0;
  } else {
    cpu.thread.setGpr(R_SPR, BigInt.asUintN(64, BigInt(v)));
  }
  return SET_DEC;
}

/** set_dec(ticks): mtspr DEC. */
export function* setDecTicks(cpu: GuestCpu, ticks: number): KCode {
  yield decOp(cpu, ticks);
}

/** The earliest queued hrtimer, optionally ignoring the tick. */
export function nextTimer(cpu: GuestCpu, ignoreTick: boolean): HrTimer | undefined {
  let best: HrTimer | undefined;
  for (const t of cpu.hrtimers) {
    if (ignoreTick && t === cpu.tickTimer) continue;
    if (best === undefined || t.expires < best.expires) best = t;
  }
  return best;
}

/**
 * hrtimer_start inline: queues `t` and reprograms the decrementer if it is now the first. Returns
 * null when done, else the operation the caller yields (runner.ts stepExec).
 */
export function hrtimerStartStep(cpu: GuestCpu, t: HrTimer): KOp | null {
  if (!t.queued) {
    cpu.hrtimers.push(t);
    t.queued = true;
  }
  if (nextTimer(cpu, false) === t) return stepExec(cpu, decOp(cpu, programDecTicks(cpu)));
  return null;
}

/** hrtimer_start: queue `t` and reprogram the decrementer if it is now the first. */
export function* hrtimerStart(cpu: GuestCpu, t: HrTimer): KCode {
  const w = hrtimerStartStep(cpu, t);
  if (w !== null) yield w;
}

export function hrtimerCancel(cpu: GuestCpu, t: HrTimer): void {
  if (!t.queued) return;
  const q = cpu.hrtimers;
  const i = q.indexOf(t);
  if (i >= 0) {
    // removed in place, the others keeping their order (no array of removed items)
    for (let j = i + 1; j < q.length; j++) q[j - 1] = q[j];
    q.pop();
  }
  t.queued = false;
}

/** The DEC value for the earliest timer (clockevents set_next_event), in timebase ticks. */
export function programDecTicks(cpu: GuestCpu): number {
  const next = nextTimer(cpu, false);
  const decMax = cpu.k.decMax();
  let ticks = decMax;
  if (next !== undefined) {
    const delta = next.expires - cpu.ktime();
    ticks = Math.ceil((delta * cpu.k.tbFreq()) / 1e9);
    if (ticks < 1) ticks = 1;
    if (ticks > decMax) ticks = decMax;
  }
  return ticks;
}

/** Programs DEC for the earliest timer (clockevents set_next_event). */
export function* programDec(cpu: GuestCpu): KCode {
  yield decOp(cpu, programDecTicks(cpu));
}

// linux: arch/powerpc/kernel/time.c timer_interrupt -> hrtimer_interrupt
export function* timerInterrupt(cpu: GuestCpu): KCode {
  const c = cpu.k.costs;
  let w: KOp | null;
  // ack: set DEC to its maximum first
  w = stepExec(cpu, decOp(cpu, cpu.k.decMax()));
  if (w !== null) yield w;
  w = stepCharge(cpu, c.timerInterruptNs);
  if (w !== null) yield w;
  const now = cpu.ktime();
  const expired = cpu.hrtimers.filter((t) => t.expires <= now);
  if (expired.length > 1) expired.sort((a, b) => a.expires - b.expires);
  for (const t of expired) {
    hrtimerCancel(cpu, t);
    if (t === cpu.tickTimer && cpu.inIdle) cpu.gotTick = true;
    w = stepCharge(cpu, c.hrtimerCallbackNs);
    if (w !== null) yield w;
    const body = t.fn(cpu);
    if (body !== null) yield* body;
    if (t.period > 0 && !t.queued) {
      while (t.expires <= now) t.expires += t.period;
      cpu.hrtimers.push(t);
      t.queued = true;
    }
  }
  w = stepExec(cpu, decOp(cpu, programDecTicks(cpu)));
  if (w !== null) yield w;
}
