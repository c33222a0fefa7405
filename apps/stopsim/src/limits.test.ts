// The documented maxima (README "Limits") as the options that use them refuse what is past them:
// a full-stack run up to an hour of simulated time, a fleet up to 100 days.
import { describe, expect, it } from "vitest";
import { parseDurationOption } from "./commands/args.js";
import { UsageError } from "./errors.js";
import { LIMITS } from "./limits.js";

describe("documented limits", () => {
  it("a full-stack run takes up to one hour of simulated time", () => {
    expect(parseDurationOption("60m", "--duration", LIMITS.fullStackDurationNs)).toBe(3_600_000_000_000);
    expect(() => parseDurationOption("61m", "--duration", LIMITS.fullStackDurationNs)).toThrow(UsageError);
  });

  it("a fleet takes up to 100 days", () => {
    expect(parseDurationOption("100d", "--duration", LIMITS.fleetDurationNs)).toBe(8_640_000_000_000_000);
    expect(() => parseDurationOption("101d", "--duration", LIMITS.fleetDurationNs)).toThrow(
      /--duration 101d is above/,
    );
  });

  it("a usage error is named so, whatever module copy catches it", () => {
    expect(new UsageError("x").name).toBe("UsageError");
  });
});
