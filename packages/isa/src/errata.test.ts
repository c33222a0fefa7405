import { PartitionedSimulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { chipById } from "./chips.js";
import { GuestStopErratum } from "./errata.js";

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
