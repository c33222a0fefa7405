// One host CPU's own decisions: its hrtimers (linux: kernel/time/hrtimer.c, a timerqueue ordered
// by expiry, equal expiries in arming order), the decrementer it programs for the next one
// (arch/powerpc/kernel/time.c decrementer_set_next_event, up to decrementer_max), the wake-up of a task on
// an idle CPU (try_to_wake_up + the reschedule IPI) and the interrupt entry's PPR handling
// (exceptions-64s.S: the interrupted PPR saved, then HMT_MEDIUM).
import { encodeDtb } from "@stopsim/devicetree";
import { nsToTb, Simulation } from "@stopsim/engine";
import { chipById, PnvMachine, SPRN_DEC, SPRN_PPR } from "@stopsim/isa";
import { buildHostDtb, buildHostTree, parseFirmwareVersion } from "@stopsim/opal";
import { describe, expect, it } from "vitest";
import type { HostCpu, HostTask } from "./cpu.js";
import { bootHost } from "./host.js";

function host() {
  const machine = new PnvMachine(new Simulation({ seed: 3 }), { chip: chipById("dd2.3") });
  const h = bootHost({
    machine,
    dtb: buildHostDtb({ machine, firmware: parseFirmwareVersion("new") }),
    kernel: "fallback",
  });
  return h;
}

/** A kernel task that records when it gets the CPU. */
function task(name: string) {
  const ins: { cpu: number; fromIdle: boolean }[] = [];
  const t: HostTask = {
    name,
    schedIn: (cpu: HostCpu, fromIdle: boolean) => {
      ins.push({ cpu: cpu.cpuId, fromIdle });
    },
    guestInterrupt: () => {},
    runStep: () => {},
  };
  return { t, ins };
}

describe("host timers (hrtimer)", () => {
  it("expire in time order, equal expiries in the order they were armed", () => {
    const h = host();
    const cpu = h.cpus[1];
    const now = h.sim.now;
    const fired: string[] = [];
    const mk = (label: string) => cpu.createTimer(() => fired.push(label), label);
    const [a, b, c, d] = ["a", "b", "c", "d"].map(mk);
    c.start(now + 30_000);
    a.start(now + 10_000);
    b.start(now + 20_000);
    d.start(now + 10_000);
    expect(cpu.nextTimerAt).toBe(now + 10_000);
    expect([a.armed, b.armed, c.armed, d.armed]).toEqual([true, true, true, true]);
    h.sim.runFor(25_000);
    expect(fired).toEqual(["a", "d", "b"]);
    expect([a.armed, b.armed, c.armed, d.armed]).toEqual([false, false, true, false]);
    h.sim.runFor(10_000);
    expect(fired).toEqual(["a", "d", "b", "c"]);
  });

  it("re-arming moves a timer, cancelling disarms it, a time in the past means now", () => {
    const h = host();
    const cpu = h.cpus[2];
    const now = h.sim.now;
    const fired: string[] = [];
    const t = cpu.createTimer(() => fired.push("t"), "t");
    const u = cpu.createTimer(() => fired.push("u"), "u");
    t.start(now + 50_000);
    u.start(now + 60_000);
    t.start(now + 70_000);
    expect(t.at).toBe(now + 70_000);
    u.cancel();
    expect([u.armed, u.at]).toEqual([false, -1]);
    u.cancel(); // cancelling twice is harmless
    h.sim.runFor(100_000);
    expect(fired).toEqual(["t"]);
    const p = cpu.createTimer(() => fired.push("p"), "p");
    p.start(h.sim.now - 5_000);
    expect(p.at).toBe(h.sim.now);
    expect(cpu.runExpiredTimers()).toBe(true);
    expect(fired).toEqual(["t", "p"]);
    expect(cpu.runExpiredTimers()).toBe(false);
  });

  it("the decrementer of a sleeping CPU is reprogrammed for a new earlier timer, clamped to decrementer_max", () => {
    const h = host();
    // long enough for menu to stop the tick (idle-menu.test.ts): no host timer left on the CPU
    h.sim.runFor(300_000_000);
    const cpu = h.cpus[3];
    expect(cpu.state).toBe("idle-stop");
    const t = cpu.createTimer(() => {}, "x");
    t.start(h.sim.now + 2_000);
    expect(cpu.thread.getSpr(SPRN_DEC)).toBe(BigInt(nsToTb(h.sim.now + 2_000) - nsToTb(h.sim.now)));
    t.cancel();
    expect(cpu.nextTimerAt).toBe(Number.POSITIVE_INFINITY);
    // a timer 10 s away is within skiboot's 56-bit large decrementer's reach
    const far = cpu.createTimer(() => {}, "far");
    far.start(h.sim.now + 10_000_000_000);
    expect(cpu.thread.getSpr(SPRN_DEC)).toBe(BigInt(nsToTb(h.sim.now + 10_000_000_000) - nsToTb(h.sim.now)));
    // a timer beyond 2^52 ticks: the largest value the model programs (2^52 - 1; Linux's is 2^55 - 1)
    const farther = cpu.createTimer(() => {}, "farther");
    far.cancel();
    farther.start(h.sim.now + 2 ** 54);
    expect(cpu.thread.getSpr(SPRN_DEC)).toBe(BigInt(2 ** 52 - 1));
  });

  it("with the 32-bit decrementer (no ibm,dec-bits) a timer beyond 2^31 ticks (~4.2 s) gets the largest positive value", () => {
    const machine = new PnvMachine(new Simulation({ seed: 3 }), { chip: chipById("dd2.3") });
    const tree = buildHostTree({ machine, firmware: parseFirmwareVersion("new") });
    for (const c of tree.requireNode("/cpus").children) c.removeProp("ibm,dec-bits");
    const h = bootHost({ machine, dtb: encodeDtb(tree), kernel: "fallback" });
    h.sim.runFor(300_000_000);
    const cpu = h.cpus[3];
    expect(cpu.state).toBe("idle-stop");
    const far = cpu.createTimer(() => {}, "far");
    far.start(h.sim.now + 10_000_000_000);
    expect(cpu.thread.getSpr(SPRN_DEC)).toBe(0x7fffffffn);
  });
});

describe("tasks on a host CPU", () => {
  it("a task woken on an idle CPU gets it (from idle); waking it again queues nothing more", () => {
    const h = host();
    h.sim.runFor(1_000_000);
    const cpu = h.cpus[4];
    const { t, ins } = task("vcpu");
    cpu.wakeTask(t);
    cpu.wakeTask(t);
    h.sim.runFor(200_000);
    expect(ins).toEqual([{ cpu: 4, fromIdle: true }]);
    expect(cpu.current).toBe(t);
    expect(cpu.state).toBe("busy");
    expect(cpu.idle).toBe(false);
    expect(cpu.currentIdleState).toBeNull();
    cpu.wakeTask(t); // already running: nothing
    h.sim.runFor(100_000);
    expect(ins).toHaveLength(1);
  });

  it("tasks run one after the other in wake-up order; a task that blocks gives the CPU back", () => {
    const h = host();
    h.sim.runFor(1_000_000);
    const cpu = h.cpus[5];
    const a = task("a");
    const b = task("b");
    cpu.wakeTask(a.t);
    cpu.wakeTask(b.t);
    h.sim.runFor(200_000);
    expect(cpu.current).toBe(a.t);
    expect(b.ins).toEqual([]);
    cpu.taskBlocked(b.t); // not the current task: nothing
    expect(cpu.current).toBe(a.t);
    cpu.taskBlocked(a.t);
    expect(cpu.current).toBe(b.t);
    expect(b.ins).toEqual([{ cpu: 5, fromIdle: false }]);
    cpu.taskBlocked(b.t);
    expect(cpu.current).toBeNull();
    h.sim.runFor(1_000_000);
    expect(cpu.idle).toBe(true);
  });
});

describe("the interrupt entry of the host", () => {
  it("saves the interrupted PPR and runs at medium priority; an interrupt it does not expect is logged", () => {
    const h = host();
    h.sim.runFor(1_000_000);
    const cpu = h.cpus[6];
    expect(cpu.state).toBe("idle-stop");
    // the thread stopped at very low priority (the snooze loop's HMT_VERY_LOW)
    const low = 1n << 50n;
    cpu.thread.setSpr(SPRN_PPR, low);
    expect(cpu.thread.priority).toBe(1);
    cpu.interrupt(cpu.thread, 0x500);
    expect(cpu.exceptionPpr).toBe(low);
    expect(cpu.thread.priority).toBe(4);
    expect(h.log.at("warn")).toContain("cpu6: unexpected interrupt 0x500 in state idle-stop");
  });
});
