// The Simulation's API contract at its edges: refused times with the message that names the fix,
// finished simulations, tryAdvance's rule, timers re-armed or cancelled from their own callback,
// a callback that throws, runAll's limit.
import { describe, expect, it } from "vitest";
import { InvalidTimeError, SchedulingInPastError, Simulation, SimulationFinishedError } from "./index.js";

describe("refused times and finished simulations", () => {
  it("each bad time names the event and the fix", () => {
    const sim = new Simulation();
    sim.runUntil(100);
    expect(() => sim.scheduleAt(99, () => {}, "dec")).toThrow(
      new SchedulingInPastError(
        "event 'dec' at 99 ns is in the past (now is 100 ns): schedule at now or later",
      ),
    );
    expect(() => sim.scheduleAt(Number.NaN, () => {}, "dec")).toThrow(
      new InvalidTimeError("time of event 'dec' must be a finite number of ns, got NaN"),
    );
    expect(() => sim.scheduleAt(Number.POSITIVE_INFINITY, () => {}, "dec")).toThrow(InvalidTimeError);
    expect(() => sim.schedule(-1, () => {}, "tick")).toThrow(
      "delay of event 'tick' must be a finite, non-negative number of nanoseconds, got -1",
    );
    expect(() => sim.schedule(Number.POSITIVE_INFINITY, () => {}, "tick")).toThrow(InvalidTimeError);
    const t = sim.createTimer(() => {}, "hrtimer");
    expect(() => t.armIn(-5)).toThrow(
      "delay of timer 'hrtimer' must be a finite, non-negative number of ns, got -5",
    );
    expect(() => t.armIn(Number.POSITIVE_INFINITY)).toThrow(InvalidTimeError);
    expect(() => sim.runUntil(50)).toThrow(
      "runUntil(50) is in the past (now is 100 ns): give a time at or after now",
    );
    expect(() => sim.runFor(-1)).toThrow(InvalidTimeError);
    // scheduling at now itself is allowed, and so is a zero delay
    expect(sim.scheduleAt(100, () => {}).armed).toBe(true);
    expect(sim.schedule(0, () => {}).armed).toBe(true);
    expect(sim.pending).toBe(2);
  });

  it("a finished simulation refuses runs and schedules", () => {
    const sim = new Simulation();
    sim.schedule(10, () => {});
    sim.finish();
    expect(sim.finished).toBe(true);
    for (const [what, f] of [
      ["step", () => sim.step()],
      ["runUntil", () => sim.runUntil(20)],
      ["runAll", () => sim.runAll()],
    ] as const) {
      expect(f).toThrow(
        new SimulationFinishedError(
          `${what}() on a finished simulation: create a new Simulation to run again`,
        ),
      );
    }
    expect(() => sim.schedule(1, () => {}, "late")).toThrow(
      "cannot schedule 'late': the simulation was finished; create a new Simulation",
    );
  });

  it("finish() from a callback ends runUntil and runAll after that event", () => {
    for (const run of [(s: Simulation) => s.runUntil(1000), (s: Simulation) => s.runAll()]) {
      const sim = new Simulation();
      const seen: number[] = [];
      sim.schedule(10, () => seen.push(10));
      sim.schedule(20, () => {
        seen.push(20);
        sim.finish();
      });
      sim.schedule(30, () => seen.push(30));
      expect(run(sim)).toBe(2);
      expect(seen).toEqual([10, 20]);
      expect(sim.now).toBe(20);
    }
  });
});

describe("runs", () => {
  it("runUntil moves the clock to its time even with nothing to do; counts what it dispatched", () => {
    const sim = new Simulation({ trace: true });
    expect(sim.trace.enabled).toBe(true);
    expect(sim.nextTime).toBe(Number.POSITIVE_INFINITY);
    expect(sim.runUntil(500)).toBe(0);
    expect(sim.now).toBe(500);
    sim.schedule(100, () => {});
    sim.schedule(100, () => {});
    expect(sim.runFor(100)).toBe(2);
    expect(sim.dispatched).toBe(2);
    expect(sim.now).toBe(600);
    expect(sim.step()).toBe(false);
  });

  it("runAll(limit) stops after limit events", () => {
    const sim = new Simulation();
    for (let i = 1; i <= 5; i++) sim.schedule(i, () => {});
    expect(sim.runAll(3)).toBe(3);
    expect(sim.now).toBe(3);
    expect(sim.pending).toBe(2);
    expect(sim.runAll()).toBe(2);
  });

  it("a callback that throws leaves the queue consistent for the next run", () => {
    const sim = new Simulation();
    const seen: string[] = [];
    sim.schedule(5, () => {
      throw new Error("boom");
    });
    sim.schedule(7, () => seen.push("after"));
    expect(() => sim.runAll()).toThrow("boom");
    expect(sim.pending).toBe(1);
    expect(sim.nextTime).toBe(7);
    sim.runAll();
    expect(seen).toEqual(["after"]);
  });
});

describe("timers from their own callback", () => {
  it("re-armed from its callback it fires again; cancelled from it, it does not", () => {
    const sim = new Simulation();
    const fired: number[] = [];
    let ticks = 0;
    const periodic = sim.createTimer(() => {
      fired.push(sim.now);
      if (++ticks < 3) periodic.armIn(10);
    }, "tick");
    periodic.arm(10);
    const other = sim.schedule(15, () => fired.push(-sim.now));
    sim.runAll();
    expect(fired).toEqual([10, -15, 20, 30]);
    expect(periodic.armed).toBe(false);
    expect(other.armed).toBe(false);

    const once = sim.createTimer(() => {
      // the spent timer is no longer pending: cancel() has nothing to cancel
      expect(once.cancel()).toBe(false);
      expect(once.armed).toBe(false);
    });
    once.armIn(1);
    expect(sim.runAll()).toBe(1);
  });

  it("cancel() of a queued timer takes it out and reports it once", () => {
    const sim = new Simulation();
    const seen: number[] = [];
    const ts = [30, 10, 20, 40, 5].map((d) => sim.schedule(d, () => seen.push(d)));
    expect(ts[2].cancel()).toBe(true);
    expect(ts[2].cancel()).toBe(false);
    expect(ts[2].time).toBe(-1);
    expect(ts[4].cancel()).toBe(true);
    sim.runAll();
    expect(seen).toEqual([10, 30, 40]);
  });
});

describe("tryAdvance", () => {
  it("outside a run it never advances", () => {
    const sim = new Simulation();
    expect(sim.tryAdvance(10)).toBe(false);
    expect(sim.now).toBe(0);
  });

  it("inside a run: advances when nothing is due before the new time and the run reaches it", () => {
    const sim = new Simulation();
    const got: Array<[number, boolean, number]> = [];
    sim.schedule(100, () => {
      // the other events: at 150 and 130 (the children of the spent top)
      got.push([10, sim.tryAdvance(10), sim.now]); // 110: free
      got.push([20, sim.tryAdvance(20), sim.now]); // 130: an event due at that very time goes first
      got.push([19, sim.tryAdvance(19), sim.now]); // 129: free
      got.push([-1, sim.tryAdvance(-1), sim.now]);
    });
    sim.schedule(150, () => {});
    sim.schedule(130, () => {});
    sim.runUntil(1000);
    expect(got).toEqual([
      [10, true, 110],
      [20, false, 110],
      [19, true, 129],
      [-1, false, 129],
    ]);
  });

  it("not past the end of the run in progress", () => {
    const sim = new Simulation();
    const got: boolean[] = [];
    sim.schedule(10, () => {
      got.push(sim.tryAdvance(40)); // 50: the run ends at 50
      got.push(sim.tryAdvance(1)); // 51: past it
    });
    sim.runUntil(50);
    expect(got).toEqual([true, false]);
    expect(sim.now).toBe(50);
  });

  it("with only the spent timer in the queue the next event is at infinity", () => {
    const sim = new Simulation();
    let ok = false;
    sim.schedule(1, () => {
      ok = sim.tryAdvance(1_000_000);
    });
    sim.runAll();
    expect(ok).toBe(true);
    expect(sim.now).toBe(1_000_001);
  });
});
