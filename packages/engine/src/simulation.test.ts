import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidTimeError, SchedulingInPastError, Simulation, SimulationFinishedError } from "./index.js";

describe("Simulation event queue", () => {
  it("dispatches in time order and equal times in insertion order", () => {
    const sim = new Simulation();
    const seen: string[] = [];
    sim.schedule(20, () => seen.push("c"));
    sim.schedule(10, () => seen.push("a"));
    sim.schedule(10, () => seen.push("b"));
    sim.schedule(0, () => seen.push("now"));
    sim.runAll();
    expect(seen).toEqual(["now", "a", "b", "c"]);
    expect(sim.now).toBe(20);
  });

  it("cancels and re-arms timers without duplicating them", () => {
    const sim = new Simulation();
    let fired = 0;
    const t = sim.createTimer(() => fired++, "dec");
    t.arm(100);
    t.arm(50);
    t.armIn(70);
    expect(sim.pending).toBe(1);
    expect(t.armed).toBe(true);
    expect(t.cancel()).toBe(true);
    expect(t.cancel()).toBe(false);
    expect(sim.pending).toBe(0);
    t.arm(30);
    sim.runFor(1000);
    expect(fired).toBe(1);
    expect(sim.now).toBe(1000);
  });

  it("a re-armed timer takes a new place among equal times", () => {
    const sim = new Simulation();
    const seen: string[] = [];
    const a = sim.createTimer(() => seen.push("a"));
    const b = sim.createTimer(() => seen.push("b"));
    a.arm(10);
    b.arm(10);
    a.arm(10);
    sim.runAll();
    expect(seen).toEqual(["b", "a"]);
  });

  it("runUntil stops at the limit and leaves later events queued", () => {
    const sim = new Simulation();
    const seen: number[] = [];
    for (const t of [5, 10, 15]) sim.scheduleAt(t, () => seen.push(sim.now));
    expect(sim.runUntil(10)).toBe(2);
    expect(seen).toEqual([5, 10]);
    expect(sim.pending).toBe(1);
    expect(sim.nextTime).toBe(15);
    expect(sim.step()).toBe(true);
    expect(sim.step()).toBe(false);
  });

  it("events scheduled from callbacks at the current time run in the same pass", () => {
    const sim = new Simulation();
    const seen: string[] = [];
    sim.schedule(5, () => {
      seen.push("first");
      sim.schedule(0, () => seen.push("chained"));
    });
    sim.runUntil(5);
    expect(seen).toEqual(["first", "chained"]);
  });

  it("matches a reference model under random schedule/cancel/re-arm operations", () => {
    type Op =
      | { kind: "add"; delay: number }
      | { kind: "cancel"; idx: number }
      | { kind: "rearm"; idx: number; delay: number }
      | { kind: "step" };
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), delay: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant("cancel" as const), idx: fc.nat(40) }),
      fc.record({
        kind: fc.constant("rearm" as const),
        idx: fc.nat(40),
        delay: fc.integer({ min: 0, max: 50 }),
      }),
      fc.record({ kind: fc.constant("step" as const) }),
    );
    fc.assert(
      // size "max": fast-check 4's default size keeps arrays near a dozen elements whatever
      // maxLength says, which would never grow the heap past its first 64 slots
      fc.property(fc.array(op, { maxLength: 200, size: "max" }), (ops: Op[]) => {
        const sim = new Simulation();
        const fired: number[] = [];
        const timers = [] as ReturnType<Simulation["createTimer"]>[];
        // reference: id -> [time, seq]
        const ref = new Map<number, [number, number]>();
        let seq = 0;
        const refFired: number[] = [];
        const refStep = () => {
          let best: number | undefined;
          for (const [id, [t, s]] of ref) {
            const b = best === undefined ? undefined : ref.get(best)!;
            if (b === undefined || t < b[0] || (t === b[0] && s < b[1])) best = id;
          }
          if (best !== undefined) {
            refFired.push(best);
            ref.delete(best);
          }
        };
        for (const o of ops) {
          if (o.kind === "add") {
            const id = timers.length;
            const t = sim.createTimer(() => fired.push(id));
            timers.push(t);
            t.armIn(o.delay);
            ref.set(id, [sim.now + o.delay, seq++]);
          } else if (o.kind === "cancel" && o.idx < timers.length) {
            timers[o.idx].cancel();
            ref.delete(o.idx);
          } else if (o.kind === "rearm" && o.idx < timers.length) {
            timers[o.idx].armIn(o.delay);
            ref.set(o.idx, [sim.now + o.delay, seq++]);
          } else if (o.kind === "step") {
            sim.step();
            refStep();
          }
        }
        sim.runAll();
        while (ref.size > 0) refStep();
        expect(fired).toEqual(refFired);
      }),
      { numRuns: 300 },
    );
  });
});

describe("Simulation heap under many equal times", () => {
  it("keeps (time, arming order) across growth, cancels and re-arms with few distinct times", () => {
    fc.assert(
      fc.property(
        // minLength 65: the heap starts with 64 slots, so every run grows it at least once
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 65, maxLength: 300, size: "max" }),
        fc.array(fc.tuple(fc.nat(299), fc.option(fc.integer({ min: 0, max: 3 }))), {
          maxLength: 300,
          size: "max",
        }),
        (delays: number[], changes: Array<[number, number | null]>) => {
          const sim = new Simulation();
          const fired: number[] = [];
          const timers = delays.map((d, id) => sim.createTimer(() => fired.push(id)).armIn(d));
          // reference: id -> [time, arming order]
          const ref = new Map<number, [number, number]>();
          let order = 0;
          for (const [id, d] of delays.entries()) ref.set(id, [d, order++]);
          for (const [idx, delay] of changes) {
            const id = idx % timers.length;
            if (delay === null) {
              timers[id].cancel();
              ref.delete(id);
            } else {
              timers[id].armIn(delay);
              ref.set(id, [delay, order++]);
            }
          }
          expect(sim.pending).toBe(ref.size);
          sim.runAll();
          const expected = [...ref.entries()]
            .sort(([, a], [, b]) => a[0] - b[0] || a[1] - b[1])
            .map(([id]) => id);
          expect(fired).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("Simulation timers re-armed from their own callback", () => {
  it("a firing timer is not armed or pending during its callback until it re-arms", () => {
    const sim = new Simulation();
    const seen: Array<[boolean, number, number]> = [];
    const t = sim.createTimer(() => {
      seen.push([t.armed, sim.pending, sim.nextTime]);
      if (sim.now < 30) t.armIn(10);
      seen.push([t.armed, sim.pending, sim.nextTime]);
    });
    sim.schedule(25, () => {});
    t.armIn(10);
    sim.runAll();
    expect(seen).toEqual([
      [false, 1, 25],
      [true, 2, 20],
      [false, 1, 25],
      [true, 2, 25],
      [false, 0, Number.POSITIVE_INFINITY],
      [false, 0, Number.POSITIVE_INFINITY],
    ]);
    expect(sim.now).toBe(30);
  });

  it("a callback may run the simulation itself, and one that throws leaves the queue usable", () => {
    const sim = new Simulation();
    const fired: string[] = [];
    sim.schedule(10, () => {
      fired.push("outer");
      sim.step(); // dispatches the event at 20 from inside this one
    });
    sim.schedule(20, () => fired.push("inner"));
    const boom = sim.schedule(30, () => {
      throw new Error("boom");
    });
    sim.schedule(40, () => fired.push("after"));
    expect(() => sim.runAll()).toThrow("boom");
    expect(boom.armed).toBe(false);
    expect(sim.pending).toBe(1);
    sim.runAll();
    expect(fired).toEqual(["outer", "inner", "after"]);
  });

  it("matches a reference model when callbacks re-arm themselves and re-arm or cancel others", () => {
    type Act = { self: number | null; other: number; otherDelay: number | null };
    const act = fc.record({
      self: fc.option(fc.integer({ min: 0, max: 30 })),
      other: fc.nat(7),
      otherDelay: fc.option(fc.integer({ min: 0, max: 30 })),
    });
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 8 }),
        fc.array(act, { maxLength: 150 }),
        (initial: number[], acts: Act[]) => {
          const LIMIT = 200;
          const sim = new Simulation();
          const fired: Array<[number, number]> = [];
          const timers: ReturnType<Simulation["createTimer"]>[] = [];
          let k = 0;
          initial.forEach((d, id) => {
            const t = sim.createTimer(() => {
              fired.push([id, sim.now]);
              const a = acts[k++ % Math.max(acts.length, 1)];
              if (a === undefined) return;
              if (a.self !== null) t.armIn(a.self);
              const o = timers[a.other % timers.length];
              if (a.otherDelay === null) o.cancel();
              else o.armIn(a.otherDelay);
            });
            timers.push(t);
            t.armIn(d);
          });
          sim.runAll(LIMIT);
          // reference: id -> [time, seq], linear search for the least
          const ref = new Map<number, [number, number]>();
          let seq = 0;
          for (const [id, d] of initial.entries()) ref.set(id, [d, seq++]);
          const refFired: Array<[number, number]> = [];
          let rk = 0;
          while (ref.size > 0 && refFired.length < LIMIT) {
            let best = -1;
            for (const [id, [t, s]] of ref) {
              const b = ref.get(best);
              if (b === undefined || t < b[0] || (t === b[0] && s < b[1])) best = id;
            }
            const now = (ref.get(best) as [number, number])[0];
            ref.delete(best);
            refFired.push([best, now]);
            const a = acts[rk++ % Math.max(acts.length, 1)];
            if (a === undefined) continue;
            if (a.self !== null) ref.set(best, [now + a.self, seq++]);
            const other = a.other % initial.length;
            if (a.otherDelay === null) ref.delete(other);
            else ref.set(other, [now + a.otherDelay, seq++]);
          }
          expect(fired).toEqual(refFired);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("Simulation bad input", () => {
  it("rejects negative and NaN delays with InvalidTimeError", () => {
    const sim = new Simulation();
    expect(() => sim.schedule(-1, () => {})).toThrow(InvalidTimeError);
    expect(() => sim.schedule(Number.NaN, () => {})).toThrow(InvalidTimeError);
    expect(() => sim.schedule(Number.POSITIVE_INFINITY, () => {})).toThrow(InvalidTimeError);
    expect(() => sim.createTimer(() => {}).armIn(-5)).toThrow(/non-negative/);
    expect(() => sim.runFor(Number.NaN)).toThrow(InvalidTimeError);
    expect(() => sim.runUntil(-1)).toThrow(InvalidTimeError);
  });

  it("rejects scheduling in the past with SchedulingInPastError", () => {
    const sim = new Simulation();
    sim.runFor(100);
    expect(() => sim.scheduleAt(50, () => {})).toThrow(SchedulingInPastError);
    expect(() => sim.scheduleAt(50, () => {})).toThrow(/in the past \(now is 100 ns\)/);
    expect(() => sim.runUntil(10)).toThrow(SchedulingInPastError);
    expect(() => sim.scheduleAt(Number.NaN, () => {})).toThrow(InvalidTimeError);
  });

  it("rejects running or scheduling on a finished simulation", () => {
    const sim = new Simulation();
    sim.schedule(10, () => sim.finish());
    sim.schedule(20, () => {});
    sim.runFor(100);
    expect(sim.finished).toBe(true);
    expect(sim.now).toBe(10);
    expect(() => sim.runFor(10)).toThrow(SimulationFinishedError);
    expect(() => sim.step()).toThrow(SimulationFinishedError);
    expect(() => sim.schedule(1, () => {})).toThrow(/create a new Simulation/);
  });

  it("leaves the queue intact after a rejected call", () => {
    const sim = new Simulation();
    let n = 0;
    sim.schedule(10, () => n++);
    expect(() => sim.schedule(-3, () => n++)).toThrow();
    sim.runAll();
    expect(n).toBe(1);
  });
});

describe("Simulation.tryAdvance", () => {
  it("only moves the clock inside a run, up to its end, and not past a due event", () => {
    const sim = new Simulation();
    expect(sim.tryAdvance(10)).toBe(false); // no run in progress
    const seen: boolean[] = [];
    sim.schedule(100, () => {});
    sim.schedule(0, () => {
      seen.push(sim.tryAdvance(50)); // 50 < 100: yes
      seen.push(sim.tryAdvance(50)); // 100: the event armed first goes first
      seen.push(sim.tryAdvance(-1));
    });
    sim.runUntil(1000);
    expect(seen).toEqual([true, false, false]);
    sim.schedule(0, () => {
      seen.push(sim.tryAdvance(600)); // past the run's end (1500)
      seen.push(sim.tryAdvance(500));
    });
    sim.runUntil(1500);
    expect(seen.slice(3)).toEqual([false, true]);
    expect(sim.now).toBe(1500);
  });

  it("processes that continue inline see the same times and order as processes that arm timers", () => {
    // n processes, each a list of steps (delay, then log its time); run once arming a timer per
    // step and once trying tryAdvance first: the logs must be identical
    const run = (steps: number[][], inline: boolean): string[] => {
      const sim = new Simulation();
      const log: string[] = [];
      steps.forEach((delays, p) => {
        let i = 0;
        const timer = sim.createTimer(() => go(), `p${p}`);
        const go = (): void => {
          for (;;) {
            log.push(`${p}@${sim.now}#${i}`);
            if (i >= delays.length) return;
            const d = delays[i++];
            if (inline && sim.tryAdvance(d)) continue;
            timer.arm(sim.now + d);
            return;
          }
        };
        timer.arm(0);
      });
      sim.runUntil(1e9);
      return log;
    };
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 30 }), {
          minLength: 1,
          maxLength: 6,
        }),
        (steps) => {
          expect(run(steps, true)).toEqual(run(steps, false));
        },
      ),
      { numRuns: 300 },
    );
  });
});
