import { PartitionedSimulation, Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { chipById } from "./chips.js";
import {
  DEFAULT_LOST_WAKEUP_PROBABILITY,
  defaultGuestStopErratum,
  ErratumConfigError,
  GuestStopErratum,
} from "./errata.js";

describe("GuestStopErratum's random stream", () => {
  it("is opened at the first draw: cores of the same id in two partitions coexist until both draw", () => {
    const group = new PartitionedSimulation({ seed: 3 });
    const a = group.partition("host a");
    const b = group.partition("host b");
    // DD2.3 has no guest-stop erratum: never draws, holds no stream
    const off = [a, b].map((s) => new GuestStopErratum(s, 0, chipById("dd2.3")));
    expect(off.map((e) => e.loseWakeup())).toEqual([false, false]);
    // DD2.2 has it: the stream (named per core id) is the first partition's
    const onA = new GuestStopErratum(a, 0, chipById("dd2.2"), { lostWakeupProbability: 1 });
    const onB = new GuestStopErratum(b, 0, chipById("dd2.2"), { lostWakeupProbability: 1 });
    expect(onA.loseWakeup()).toBe(true);
    expect(onA.lostWakeups).toBe(1);
    expect(() => onB.loseWakeup()).toThrow(
      /'isa\/errata\/guest-stop\/core0' is used by partitions 'host a' and 'host b'/,
    );
  });
});

describe("GuestStopErratum's configuration and draws", () => {
  it("defaults to the chip's flag (on before DD2.3) and a 1% rate", () => {
    expect(DEFAULT_LOST_WAKEUP_PROBABILITY).toBe(0.01);
    expect(defaultGuestStopErratum(chipById("dd2.2"))).toEqual({
      enabled: true,
      lostWakeupProbability: 0.01,
    });
    expect(defaultGuestStopErratum(chipById("dd2.3"))).toEqual({
      enabled: false,
      lostWakeupProbability: 0.01,
    });
    const e = new GuestStopErratum(new Simulation(), 0, chipById("dd2.0"));
    expect([e.enabled, e.lostWakeupProbability]).toEqual([true, 0.01]);
    const forced = new GuestStopErratum(new Simulation(), 0, chipById("dd2.3"), { enabled: true });
    expect(forced.enabled).toBe(true);
  });

  it("refuses a probability outside [0, 1], naming the value", () => {
    for (const p of [-0.01, 1.01, Number.NaN, "0.5" as unknown as number]) {
      expect(
        () => new GuestStopErratum(new Simulation(), 0, chipById("dd2.2"), { lostWakeupProbability: p }),
      ).toThrow(new ErratumConfigError(`lostWakeupProbability must be a number in [0, 1], got ${String(p)}`));
    }
    for (const p of [0, 1]) {
      expect(
        new GuestStopErratum(new Simulation(), 0, chipById("dd2.2"), { lostWakeupProbability: p })
          .lostWakeupProbability,
      ).toBe(p);
    }
    expect(new ErratumConfigError("x").name).toBe("ErratumConfigError");
  });

  it("draws each wake event from the core's seeded stream with the probability set, counting the lost ones", () => {
    const p = 0.3;
    const e = new GuestStopErratum(new Simulation({ seed: 11 }), 5, chipById("dd2.2"), {
      lostWakeupProbability: p,
    });
    const got = Array.from({ length: 200 }, () => e.loseWakeup());
    const stream = new Simulation({ seed: 11 }).rng.stream("isa/errata/guest-stop/core5");
    const want = Array.from({ length: 200 }, () => stream.bool(p));
    expect(got).toEqual(want);
    expect(e.lostWakeups).toBe(want.filter(Boolean).length);
    expect(e.lostWakeups).toBeGreaterThan(20);
    expect(e.lostWakeups).toBeLessThan(180);
  });

  it("at probability 0 or disabled it never draws (the stream stays free for the other partition)", () => {
    const group = new PartitionedSimulation({ seed: 3 });
    const a = group.partition("host a");
    const b = group.partition("host b");
    const zero = new GuestStopErratum(a, 0, chipById("dd2.2"), { lostWakeupProbability: 0 });
    const off = new GuestStopErratum(a, 1, chipById("dd2.2"), { enabled: false, lostWakeupProbability: 1 });
    expect([zero.loseWakeup(), off.loseWakeup()]).toEqual([false, false]);
    expect([zero.lostWakeups, off.lostWakeups]).toEqual([0, 0]);
    const onB0 = new GuestStopErratum(b, 0, chipById("dd2.2"), { lostWakeupProbability: 1 });
    const onB1 = new GuestStopErratum(b, 1, chipById("dd2.2"), { lostWakeupProbability: 1 });
    expect([onB0.loseWakeup(), onB1.loseWakeup()]).toEqual([true, true]);
  });
});
