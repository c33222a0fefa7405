// The host idle loop decision by decision, as a powernv host kernel runs it: do_idle and
// cpuidle_idle_call (kernel/sched/idle.c) ask the governor for a state and whether to stop the
// tick (tick_nohz_get_sleep_length's sleep length and delta_next, kernel/time/tick-sched.c), then
// enter it: snooze_loop polls at HMT_very_low until need_resched or get_snooze_timeout (the next
// enabled state's target residency, default_snooze_timeout = TICK_USEC when none is left, no
// timeout when snooze is the driver's only state) and returns at HMT_medium; stop_loop ->
// arch300_idle_type writes PSSCR = (PSSCR & ~mask) | val and executes `stop`
// (linux: drivers/cpuidle/cpuidle-powernv.c, arch/powerpc/platforms/powernv/idle.c). The wake-up
// is the firmware's exit latency then the interrupt that woke the thread: the decrementer
// (timer_interrupt, hrtimer_interrupt), a reschedule doorbell (msgsnd: doorbell_exception) or
// an EC=1 state's system reset (0x100, idle_return), and a host interrupt signalled on the
// hypervisor ring (XIVE: the HVI line, LPCR[HVEE]).
// The governor here is scripted (its choices are the test's input, menu itself is
// @stopsim/linux's and idle-menu.test.ts's subject): what is checked is what the CPU does with
// each choice. Costs are exact (jitter 0) and the CPU's three siblings are stopped, so every
// cost is the table's figure (SMT speed 1).
import { nsToTb, Simulation } from "@stopsim/engine";
import {
  chipById,
  type HwThread,
  PnvMachine,
  PSSCR_EC,
  PSSCR_ESL,
  PSSCR_PSLL_MASK,
  SPRN_DEC,
  SPRN_LPCR,
  SPRN_PSSCR,
  STOP,
  XIVE_ESB_SET_PQ_00,
} from "@stopsim/isa";
import {
  CpuidleDevice,
  type CpuidleGovernor,
  type GovernorContext,
  type ReflectContext,
} from "@stopsim/linux";
import { buildHostDtb, parseFirmwareVersion } from "@stopsim/opal";
import { describe, expect, it } from "vitest";
import { DEFAULT_HOST_COSTS, resolveCosts } from "./costs.js";
import { HostCpu, type HostTask } from "./cpu.js";
import { bootHost } from "./host.js";
import { type HostIdleState, powernvIdleDriver } from "./idle.js";
import { KernelLog } from "./log.js";
import { HostXive } from "./xive-host.js";

const C = DEFAULT_HOST_COSTS;
const TICK_NS = 10_000_000; // CONFIG_HZ=100
/** The decrementer's reach: 0x7fffffff ticks of the 512 MHz timebase, in ns. */
const DEC_MAX_NS = Math.floor((0x7fffffff * 1e9) / 512_000_000);

interface Pick {
  readonly index: number;
  readonly stopTick?: boolean;
}

/** A governor that answers from a script and records what the CPU told it. */
function scriptedGovernor(picks: Pick[]) {
  const selects: { ctx: GovernorContext; priority: number }[] = [];
  const reflects: { index: number; ctx: ReflectContext }[] = [];
  let last: Pick = { index: 0 };
  let cpu: HostCpu | null = null;
  const gov: CpuidleGovernor = {
    name: "menu",
    select: (_dev, ctx) => {
      selects.push({ ctx, priority: cpu?.thread.priority ?? -1 });
      last = picks.shift() ?? last;
      return { index: last.index, stopTick: last.stopTick ?? false };
    },
    reflect: (_dev, index, ctx) => {
      reflects.push({ index, ctx });
    },
  };
  return { gov, selects, reflects, attach: (c: HostCpu) => (cpu = c) };
}

/**
 * One host CPU on a thread of its own core (siblings stopped), with the idle states and LPCR a
 * DD2.3 host reads from the new firmware's tree, and a scripted governor.
 */
function idleCpu(
  picks: Pick[],
  o: {
    disabled?: string[];
    states?: (all: readonly HostIdleState[]) => HostIdleState[];
    trace?: boolean;
  } = {},
) {
  // the host kernel booted on a machine of its own: what its tree gave it (idle states, LPCR)
  const machine = new PnvMachine(new Simulation({ seed: 5 }), { chip: chipById("dd2.3"), coresPerChip: 1 });
  const host = bootHost({
    machine,
    dtb: buildHostDtb({ machine, firmware: parseFirmwareVersion("new") }),
    kernel: "fallback",
  });
  const sim = new Simulation({ seed: 5, trace: o.trace ?? false });
  const own = new PnvMachine(sim, { chip: chipById("dd2.3"), coresPerChip: 1, threadsPerCore: 1 });
  const core = own.chips[0].cores[0].core;
  for (const sibling of core.threads.slice(1)) sibling.execute(STOP);
  const thread = core.threads[0];
  thread.setSpr(SPRN_LPCR, host.cpuSpec.lpcr);
  const states = o.states ? o.states(host.idleStates) : [...host.idleStates];
  const dev = new CpuidleDevice(0, powernvIdleDriver(states));
  for (const n of o.disabled ?? []) dev.setDisabled(n, true);
  const g = scriptedGovernor(picks);
  const log = new KernelLog(sim);
  const cpu = new HostCpu(
    sim,
    0,
    thread,
    dev,
    g.gov,
    resolveCosts({ jitterSigma: 0 }),
    sim.rng.stream("cpu"),
    log,
    { latencyReqNs: Number.POSITIVE_INFINITY, tickNs: TICK_NS },
  );
  g.attach(cpu);
  return { sim, cpu, thread, dev, host, log, ...g };
}

/** A kernel task that records when it gets the CPU, and the CPU's priority then. */
function task(name = "vcpu") {
  const ins: { at: number; fromIdle: boolean; priority: number }[] = [];
  const vectors: number[] = [];
  const t: HostTask = {
    name,
    schedIn: (cpu, fromIdle) => {
      ins.push({ at: cpu.sim.now, fromIdle, priority: cpu.thread.priority });
    },
    guestInterrupt: (_cpu, vector) => {
      vectors.push(vector);
    },
    runStep: () => {},
  };
  return { t, ins, vectors };
}

/**
 * The host XIVE on the CPU's thread (xive_native_init, xive_setup_cpu) and one interrupt routed to
 * it (request_irq), armed: the times its handler runs are recorded.
 */
function hostIrq(sim: Simulation, cpu: HostCpu, thread: HwThread) {
  const xive = new HostXive([thread]);
  xive.onRaise = () => cpu.hostIrqRaised();
  cpu.hostIrqs = xive;
  const handled: number[] = [];
  const irq = xive.requestIrq(0, () => handled.push(sim.now));
  xive.hw.esbLoad(irq, XIVE_ESB_SET_PQ_00);
  return { xive, irq, handled };
}

/** Runs until the CPU is in an idle state; returns the time it entered it. */
function untilIdle(sim: Simulation, cpu: HostCpu): number {
  for (let i = 0; i < 1000 && !cpu.idle; i++) sim.runFor(100);
  expect(cpu.idle).toBe(true);
  return sim.now;
}

describe("do_idle: the idle entry path, then cpuidle_idle_call", () => {
  it("the governor is asked after the entry path, with the sleep length and the next tick", () => {
    const { sim, cpu, selects } = idleCpu([{ index: 1 }]);
    cpu.schedule(false);
    expect(selects).toHaveLength(0);
    sim.runFor(C.idleEntryNs - 1);
    expect(selects).toHaveLength(0);
    sim.runFor(1);
    expect(selects).toHaveLength(1);
    const ctx = selects[0].ctx;
    expect(ctx.now).toBe(C.idleEntryNs);
    // no host timer: the decrementer's reach; the tick runs: the next jiffy
    expect(ctx.sleepLengthNs).toBe(DEC_MAX_NS);
    expect(ctx.deltaNextNs).toBe(TICK_NS - C.idleEntryNs);
    expect(ctx.tickStopped).toBe(false);
    expect(ctx.latencyReqNs).toBe(Number.POSITIVE_INFINITY);
    expect(ctx.tickNs).toBe(TICK_NS);
    expect(ctx.nrIowaiters).toBe(0);
  });

  it("a host timer closer than the tick is the sleep length and delta_next", () => {
    const { sim, cpu, selects } = idleCpu([{ index: 1 }]);
    cpu.createTimer(() => {}, "t").start(300_000);
    cpu.schedule(false);
    sim.runFor(C.idleEntryNs);
    expect(selects[0].ctx.sleepLengthNs).toBe(300_000 - C.idleEntryNs);
    expect(selects[0].ctx.deltaNextNs).toBe(300_000 - C.idleEntryNs);
  });

  it("a task woken during the entry path cuts it: no governor call, the task runs at once", () => {
    const { sim, cpu, selects } = idleCpu([{ index: 1 }]);
    const a = task();
    cpu.schedule(false);
    sim.runFor(300);
    cpu.wakeTask(a.t);
    sim.runFor(10_000);
    expect(selects).toHaveLength(0);
    expect(a.ins).toEqual([{ at: 300, fromIdle: false, priority: 4 }]);
    expect(cpu.state).toBe("busy");
  });
});

describe("do_idle after a task blocks", () => {
  it("a task woken during the entry path that follows a block runs at once, not from idle", () => {
    const { sim, cpu, selects } = idleCpu([{ index: 1 }]);
    const a = task("a");
    const b = task("b");
    cpu.schedule(false);
    cpu.wakeTask(a.t);
    sim.runFor(1_000);
    expect(cpu.current).toBe(a.t);
    cpu.taskBlocked(a.t);
    expect(cpu.state).toBe("busy");
    sim.runFor(500);
    const t = sim.now;
    cpu.wakeTask(b.t);
    sim.runFor(10_000);
    expect(selects).toHaveLength(0);
    expect(b.ins).toEqual([{ at: t, fromIdle: false, priority: 4 }]);
  });

  it("a timer due at the end of the entry path that wakes a task: the task runs, no idle state", () => {
    const { sim, cpu, selects } = idleCpu([{ index: 1 }]);
    const a = task();
    cpu.createTimer(() => cpu.wakeTask(a.t), "wake").start(C.idleEntryNs);
    cpu.schedule(false);
    sim.runFor(10_000);
    expect(selects).toHaveLength(0);
    expect(a.ins).toEqual([{ at: C.idleEntryNs, fromIdle: false, priority: 4 }]);
  });

  it("a timer due at the end of the entry path that wakes nothing: the governor is asked then", () => {
    const { sim, cpu, selects } = idleCpu([{ index: 1 }]);
    const fired: number[] = [];
    cpu.createTimer(() => fired.push(sim.now), "t").start(C.idleEntryNs);
    cpu.schedule(false);
    sim.runFor(10_000);
    expect(fired).toEqual([C.idleEntryNs]);
    expect(selects.map((x) => x.ctx.now)).toEqual([C.idleEntryNs]);
  });

  it("a task that gives the CPU back as soon as it gets it: the CPU idles, a later wake-up reaches it", () => {
    const { sim, cpu, selects } = idleCpu([{ index: 1 }]);
    const ins: number[] = [];
    const t: HostTask = {
      name: "short",
      schedIn: (c) => {
        ins.push(sim.now);
        c.taskBlocked(t);
      },
      guestInterrupt: () => {},
      runStep: () => {},
    };
    cpu.schedule(false);
    cpu.wakeTask(t);
    sim.runFor(10_000);
    expect(ins).toEqual([0]);
    expect(cpu.current).toBeNull();
    expect(selects.map((x) => x.ctx.now)).toEqual([C.idleEntryNs]);
    expect(cpu.idle).toBe(true);
    cpu.wakeTask(t);
    sim.runFor(100_000);
    expect(ins).toHaveLength(2);
  });

  it("schedule() while a task has the CPU runs the timers but does not preempt it", () => {
    const { sim, cpu } = idleCpu([{ index: 1 }]);
    const a = task("a");
    const b = task("b");
    cpu.schedule(false);
    cpu.wakeTask(a.t);
    sim.runFor(1_000);
    cpu.wakeTask(b.t);
    const fired: number[] = [];
    cpu.createTimer(() => fired.push(sim.now), "t").start(sim.now);
    cpu.schedule(false);
    expect(fired).toEqual([sim.now]);
    expect(cpu.current).toBe(a.t);
    expect(b.ins).toEqual([]);
    // a task woken twice is queued once, the running one not at all: after a blocks, b runs,
    // then the CPU idles
    cpu.wakeTask(b.t);
    cpu.wakeTask(a.t);
    cpu.taskBlocked(a.t);
    expect(cpu.current).toBe(b.t);
    cpu.taskBlocked(b.t);
    expect(cpu.current).toBeNull();
    sim.runFor(10_000);
    expect(b.ins).toHaveLength(1);
    expect(a.ins).toHaveLength(1);
    expect(cpu.idle).toBe(true);
  });
});

describe("host timers of an idle CPU", () => {
  it("a timer armed for time 0 is armed; a new one is not", () => {
    const { cpu } = idleCpu([{ index: 1 }]);
    const t = cpu.createTimer(() => {}, "t");
    expect(t.armed).toBe(false);
    t.start(0);
    expect([t.armed, t.at, cpu.nextTimerAt]).toEqual([true, 0, 0]);
  });
});

describe("snooze_loop", () => {
  it("polls at very low priority and leaves at the next state's target residency at medium priority", () => {
    const { sim, cpu, dev, selects, reflects } = idleCpu([{ index: 0 }, { index: 1 }]);
    cpu.schedule(false);
    const t0 = untilIdle(sim, cpu);
    expect(t0).toBe(C.idleEntryNs);
    expect(cpu.state).toBe("idle-snooze");
    expect(cpu.currentIdleState?.name).toBe("snooze");
    expect(cpu.thread.priority).toBe(1); // HMT_very_low
    expect(cpu.usage.get("snooze")).toBe(1);
    // stop0_lite's target residency: 10 us
    sim.runFor(10_000 - 1);
    expect(cpu.state).toBe("idle-snooze");
    expect(reflects).toHaveLength(0);
    sim.runFor(1);
    expect(reflects).toEqual([{ index: 0, ctx: { gotTick: false, now: t0 + 10_000, tickNs: TICK_NS } }]);
    expect(cpu.thread.priority).toBe(4); // HMT_medium
    expect(dev.statesUsage[0].timeNs).toBe(10_000);
    expect(dev.statesUsage[0].usage).toBe(1);
    expect(cpu.residencyNs.get("snooze")).toBe(10_000);
    // the next idle entry asks the governor again, from medium priority
    sim.runFor(C.idleEntryNs);
    expect(selects).toHaveLength(2);
    expect(selects[1].ctx.now).toBe(t0 + 10_000 + C.idleEntryNs);
    expect(selects[1].priority).toBe(4);
  });

  it("get_snooze_timeout skips disabled states, and falls back to the tick when none is left", () => {
    const a = idleCpu([{ index: 0 }], { disabled: ["stop0_lite"] });
    a.cpu.schedule(false);
    const ta = untilIdle(a.sim, a.cpu);
    a.sim.runFor(20_000); // stop0: 20 us
    expect(a.reflects.map((r) => r.ctx.now)).toEqual([ta + 20_000]);

    const all = ["stop0_lite", "stop0", "stop1", "stop2", "stop4", "stop5"];
    // the tick stopped: its jiffy would end the poll first
    const b = idleCpu([{ index: 0, stopTick: true }], { disabled: all });
    b.cpu.schedule(false);
    const tb = untilIdle(b.sim, b.cpu);
    b.sim.runFor(TICK_NS - 1);
    expect(b.reflects).toHaveLength(0);
    b.sim.runFor(1);
    expect(b.reflects.map((r) => r.ctx.now)).toEqual([tb + TICK_NS]);
  });

  it("without other states the loop has no timeout: it polls until need_resched", () => {
    const { sim, cpu, reflects } = idleCpu([{ index: 0, stopTick: true }], {
      states: (all) => all.slice(0, 1),
    });
    const a = task();
    cpu.schedule(false);
    untilIdle(sim, cpu);
    sim.runFor(5 * TICK_NS);
    expect(reflects).toHaveLength(0);
    expect(cpu.state).toBe("idle-snooze");
    const woken = sim.now;
    cpu.wakeTask(a.t);
    sim.runFor(10_000);
    expect(a.ins).toEqual([{ at: woken + C.snoozeExitNs, fromIdle: true, priority: 4 }]);
  });

  it("a task woken while it polls runs one loop iteration later, from idle", () => {
    const { sim, cpu, reflects } = idleCpu([{ index: 0 }]);
    const a = task();
    cpu.schedule(false);
    const t0 = untilIdle(sim, cpu);
    sim.runFor(3_000);
    cpu.wakeTask(a.t);
    sim.runFor(C.snoozeExitNs - 1);
    expect(a.ins).toEqual([]);
    sim.runFor(1);
    expect(a.ins).toEqual([{ at: t0 + 3_000 + C.snoozeExitNs, fromIdle: true, priority: 4 }]);
    expect(reflects.map((r) => r.ctx.now)).toEqual([t0 + 3_000 + C.snoozeExitNs]);
    expect(cpu.current).toBe(a.t);
  });

  it("a timer armed once a task was woken does not move the exit from the next iteration", () => {
    const { sim, cpu } = idleCpu([{ index: 0 }]);
    const a = task();
    cpu.schedule(false);
    const t0 = untilIdle(sim, cpu);
    sim.runFor(1_000);
    cpu.wakeTask(a.t);
    sim.runFor(100);
    cpu.createTimer(() => {}, "t").start(t0 + 5_000);
    sim.runFor(10_000);
    expect(a.ins.map((i) => i.at)).toEqual([t0 + 1_000 + C.snoozeExitNs]);
  });

  it("a host timer armed while it polls ends the poll at its expiry", () => {
    const { sim, cpu, reflects } = idleCpu([{ index: 0 }, { index: 1 }]);
    cpu.schedule(false);
    const t0 = untilIdle(sim, cpu);
    const fired: number[] = [];
    cpu.createTimer(() => fired.push(sim.now), "t").start(t0 + 4_000);
    sim.runFor(5_000);
    expect(fired).toEqual([t0 + 4_000]);
    expect(reflects.map((r) => r.ctx.now)).toEqual([t0 + 4_000]);
  });

  it("a host interrupt on the hypervisor ring ends the poll one iteration later and is handled", () => {
    const { sim, cpu, thread } = idleCpu([{ index: 0 }]);
    const { xive, irq, handled } = hostIrq(sim, cpu, thread);
    cpu.schedule(false);
    const t0 = untilIdle(sim, cpu);
    sim.runFor(2_000);
    xive.hw.trigger(irq);
    sim.runFor(5_000);
    expect(handled).toEqual([t0 + 2_000 + C.snoozeExitNs]);
  });
});

describe("stop_loop: arch300_idle_type", () => {
  it("PSSCR = (PSSCR & ~mask) | val of the chosen state, the decrementer set for the next timer, then stop", () => {
    const { sim, cpu, thread, host } = idleCpu([{ index: 1 }]);
    const st = host.idleStates[1];
    expect(st.name).toBe("stop0_lite");
    // bits outside the state's mask (PSLL) survive, those inside are replaced
    const before = PSSCR_PSLL_MASK | PSSCR_ESL | PSSCR_EC | 0xfn;
    thread.setSpr(SPRN_PSSCR, before);
    const at = 700_000;
    cpu.createTimer(() => {}, "t").start(at);
    cpu.schedule(false);
    const t0 = untilIdle(sim, cpu);
    expect(cpu.state).toBe("idle-stop");
    expect(thread.stopped).toBe(true);
    expect(thread.getSpr(SPRN_PSSCR)).toBe((before & ~st.psscrMask) | st.psscrVal);
    expect(thread.getSpr(SPRN_PSSCR) & (PSSCR_ESL | PSSCR_EC)).toBe(0n);
    expect(Number(thread.getSpr(SPRN_DEC))).toBeLessThanOrEqual(nsToTb(at) - nsToTb(t0));
    expect(Number(thread.getSpr(SPRN_DEC))).toBeGreaterThan(nsToTb(at) - nsToTb(t0) - 2);
  });

  it("a wake event already pending: an EC=0 stop does not stop, an EC=1 one takes its 0x100 at once", () => {
    for (const index of [1, 4]) {
      const { sim, cpu, thread, reflects, host } = idleCpu([{ index, stopTick: true }]);
      const lat = host.idleStates[index].firmwareLatencyNs;
      // a host interrupt no handler takes: the HVI line stays up (LPCR[HVEE] makes it a wake event)
      thread.setHvVirtInterrupt(true);
      cpu.schedule(false);
      sim.runFor(C.idleEntryNs);
      expect(reflects.map((r) => [r.index, r.ctx.now])).toEqual([[index, C.idleEntryNs + lat]]);
      expect(thread.stopped).toBe(false);
      expect(cpu.idle).toBe(false);
      expect(thread.lastInterrupt?.vector === 0x100).toBe(index === 4);
    }
  });

  it("with the tick stopped and no timer the decrementer gets its largest value", () => {
    const { sim, cpu, thread } = idleCpu([{ index: 1, stopTick: true }]);
    cpu.schedule(false);
    untilIdle(sim, cpu);
    expect(cpu.state).toBe("idle-stop");
    expect(cpu.nextTimerAt).toBe(Number.POSITIVE_INFINITY);
    expect(thread.getSpr(SPRN_DEC)).toBe(0x7fffffffn);
  });

  it("a doorbell that arrives after a timer already woke the CPU is not taken by the running host", () => {
    const { sim, cpu, host, log } = idleCpu([{ index: 1 }]);
    const lat = host.idleStates[1].firmwareLatencyNs;
    const a = task();
    const at = 200_000;
    cpu.createTimer(() => {}, "t").start(at);
    cpu.schedule(false);
    untilIdle(sim, cpu);
    // the reschedule IPI is sent 100 ns before the decrementer fires: it lands after the wake
    sim.runFor(at - 100 - sim.now);
    cpu.wakeTask(a.t);
    sim.runFor(50_000);
    expect(log.at("warn")).toEqual([]);
    expect(a.ins).toHaveLength(1);
    // woken by the timer: its interrupt's cost, not the IPI's
    expect(a.ins[0].at).toBeGreaterThanOrEqual(at + lat + C.hrtimerIrqNs);
    expect(a.ins[0].at).toBeLessThanOrEqual(at + 2 + lat + C.hrtimerIrqNs);
  });

  it("woken by its timer: the firmware's exit latency, then the timer interrupt's cost", () => {
    const { sim, cpu, host, reflects, dev } = idleCpu([{ index: 1 }, { index: 4 }], { trace: true });
    const lat = host.idleStates[1].firmwareLatencyNs; // stop0_lite: 1 us
    const fired: number[] = [];
    const at = 400_000;
    cpu.createTimer(() => fired.push(sim.now), "t").start(at);
    cpu.schedule(false);
    const t0 = untilIdle(sim, cpu);
    sim.runFor(at + 50_000 - t0);
    // the decrementer fires within a timebase tick of the timer's expiry
    expect(reflects).toHaveLength(1);
    const wake = reflects[0].ctx.now - lat;
    expect(wake).toBeGreaterThanOrEqual(at);
    expect(wake).toBeLessThanOrEqual(at + 2);
    expect(reflects[0].index).toBe(1);
    expect(fired).toEqual([wake + lat + C.hrtimerIrqNs]);
    // cpuidle_enter_state counts the exit latency in the residency, the CPU's own figure does not
    expect(dev.statesUsage[1].usage).toBe(1);
    expect(dev.statesUsage[1].timeNs).toBe(wake + lat - t0);
    expect(cpu.residencyNs.get("stop0_lite")).toBe(wake - t0);
    expect(sim.trace.getTrack(cpu.track)).toMatchObject({ process: "host", thread: "cpu0" });
    const ev = sim.trace.events().filter((e) => e.track === cpu.track && e.name === "cpu_idle");
    expect(ev.map((e) => [e.time, e.dur, e.args])).toEqual([
      [t0, wake - t0, { state: 1, name: "stop0_lite" }],
    ]);
  });

  it("woken by a reschedule doorbell: its delivery, the exit latency, then the IPI's cost", () => {
    const { sim, cpu, host, reflects, log } = idleCpu([{ index: 1 }]);
    const lat = host.idleStates[1].firmwareLatencyNs;
    const a = task();
    cpu.schedule(false);
    untilIdle(sim, cpu);
    sim.runFor(50_000);
    const woken = sim.now;
    cpu.wakeTask(a.t);
    sim.runFor(100_000);
    expect(reflects.map((r) => r.ctx.now)).toEqual([woken + C.ipiDeliveryNs + lat]);
    expect(a.ins).toEqual([
      { at: woken + C.ipiDeliveryNs + lat + C.hostIpiIrqNs, fromIdle: true, priority: 4 },
    ]);
    expect(cpu.thread.hDoorbell).toBe(false);
    expect(log.at("warn")).toEqual([]);
  });

  it("an EC=1 state wakes through the system reset (0x100) with its own, longer exit latency", () => {
    const { sim, cpu, host, thread, reflects } = idleCpu([{ index: 4 }]);
    const st = host.idleStates[4];
    expect(st.name).toBe("stop2");
    expect(st.psscrVal & (PSSCR_ESL | PSSCR_EC)).toBe(PSSCR_ESL | PSSCR_EC);
    const a = task();
    cpu.schedule(false);
    untilIdle(sim, cpu);
    expect(thread.getSpr(SPRN_PSSCR) & 0xfn).toBe(2n);
    sim.runFor(50_000);
    const woken = sim.now;
    cpu.wakeTask(a.t);
    sim.runFor(100_000);
    expect(thread.lastInterrupt?.vector).toBe(0x100);
    expect(reflects.map((r) => [r.index, r.ctx.now])).toEqual([
      [4, woken + C.ipiDeliveryNs + st.firmwareLatencyNs],
    ]);
    expect(a.ins.map((i) => i.at)).toEqual([woken + C.ipiDeliveryNs + st.firmwareLatencyNs + C.hostIpiIrqNs]);
  });

  it("a host interrupt wakes the stopped thread by itself (LPCR[HVEE]) and is handled after the wake-up", () => {
    const { sim, cpu, thread, host } = idleCpu([{ index: 1 }]);
    const lat = host.idleStates[1].firmwareLatencyNs;
    const { xive, irq, handled } = hostIrq(sim, cpu, thread);
    cpu.schedule(false);
    untilIdle(sim, cpu);
    sim.runFor(30_000);
    const raised = sim.now;
    xive.hw.trigger(irq);
    sim.runFor(50_000);
    expect(handled).toEqual([raised + lat + C.hostIpiIrqNs]);
  });

  it("a host interrupt raised during the idle entry path cuts it and is handled at once", () => {
    const { sim, cpu, thread, selects } = idleCpu([{ index: 1 }]);
    const { xive, irq, handled } = hostIrq(sim, cpu, thread);
    cpu.schedule(false);
    sim.runFor(200);
    xive.hw.trigger(irq);
    sim.runFor(0);
    expect(handled).toEqual([200]);
    expect(selects).toHaveLength(0);
    // then the idle loop again: a new entry path
    sim.runFor(C.idleEntryNs);
    expect(selects.map((s) => s.ctx.now)).toEqual([200 + C.idleEntryNs]);
  });
});

describe("the tick in idle (tick_nohz_idle_stop_tick / tick_nohz_idle_retain_tick)", () => {
  it("kept: the next jiffy wakes the CPU and the governor hears it was the tick", () => {
    const { sim, cpu, reflects, selects } = idleCpu([{ index: 1, stopTick: false }]);
    cpu.schedule(false);
    untilIdle(sim, cpu);
    sim.runFor(TICK_NS + 50_000);
    expect(reflects[0].ctx.gotTick).toBe(true);
    expect(reflects[0].ctx.now - 1_000).toBeGreaterThanOrEqual(TICK_NS);
    expect(reflects[0].ctx.now - 1_000).toBeLessThanOrEqual(TICK_NS + 2);
    expect(selects[1].ctx.tickStopped).toBe(false);
  });

  it("kept, with another timer due at the jiffy: the governor still hears it was the tick", () => {
    const { sim, cpu, reflects } = idleCpu([{ index: 1 }]);
    cpu.createTimer(() => {}, "at-jiffy").start(TICK_NS);
    cpu.schedule(false);
    untilIdle(sim, cpu);
    sim.runFor(TICK_NS + 50_000);
    expect(reflects[0].ctx.gotTick).toBe(true);
  });

  it("kept, while snooze polls until the tick (every later state disabled): it was the tick", () => {
    const all = ["stop0_lite", "stop0", "stop1", "stop2", "stop4", "stop5"];
    const { sim, cpu, reflects } = idleCpu([{ index: 0 }], { disabled: all });
    cpu.schedule(false);
    untilIdle(sim, cpu);
    sim.runFor(TICK_NS);
    expect(reflects.map((r) => [r.ctx.now, r.ctx.gotTick])).toEqual([[TICK_NS, true]]);
  });

  it("stopped: no wake-up at the jiffy; the next call sees the tick stopped and delta_next = sleep length", () => {
    const { sim, cpu, reflects, selects } = idleCpu([{ index: 1, stopTick: true }, { index: 1 }]);
    const at = 3 * TICK_NS + 500_000;
    cpu.createTimer(() => {}, "far").start(at);
    cpu.schedule(false);
    untilIdle(sim, cpu);
    sim.runFor(3 * TICK_NS);
    expect(reflects).toHaveLength(0);
    sim.runFor(600_000);
    expect(reflects).toHaveLength(1);
    expect(reflects[0].ctx.gotTick).toBe(false);
    sim.runFor(C.hrtimerIrqNs + C.idleEntryNs);
    expect(selects).toHaveLength(2);
    expect(selects[1].ctx.tickStopped).toBe(true);
    expect(selects[1].ctx.deltaNextNs).toBe(selects[1].ctx.sleepLengthNs);
    // nothing armed: the decrementer's reach
    expect(selects[1].ctx.sleepLengthNs).toBe(DEC_MAX_NS);
  });

  it("a task that runs restarts the tick: the next idle period starts with it on", () => {
    const { sim, cpu, selects } = idleCpu([{ index: 1, stopTick: true }, { index: 1 }]);
    const a = task();
    cpu.schedule(false);
    untilIdle(sim, cpu);
    sim.runFor(20_000);
    cpu.wakeTask(a.t);
    sim.runFor(50_000);
    expect(cpu.current).toBe(a.t);
    cpu.taskBlocked(a.t);
    sim.runFor(C.idleEntryNs);
    expect(selects).toHaveLength(2);
    expect(selects[1].ctx.tickStopped).toBe(false);
    expect(selects[1].ctx.deltaNextNs).toBeLessThan(TICK_NS);
  });
});

describe("interrupts while a task runs a guest", () => {
  it("go to the task (KVM's exit path), whatever the vector", () => {
    const { sim, cpu, thread, log } = idleCpu([{ index: 1 }]);
    const a = task();
    cpu.schedule(false);
    cpu.wakeTask(a.t);
    sim.runFor(10_000);
    expect(cpu.current).toBe(a.t);
    // in the kernel on the task's behalf, not in its guest: not the task's
    cpu.interrupt(thread, 0x500);
    expect(a.vectors).toEqual([]);
    expect(log.at("warn")).toEqual(["cpu0: unexpected interrupt 0x500 in state busy"]);
    cpu.state = "guest";
    cpu.interrupt(thread, 0x980);
    cpu.interrupt(thread, 0x100);
    expect(a.vectors).toEqual([0x980, 0x100]);
    expect(log.at("warn")).toHaveLength(1);
  });
});
