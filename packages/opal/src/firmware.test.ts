import { describe, expect, it } from "vitest";
import { FIRMWARE_VERSIONS, parseFirmwareVersion, UnknownFirmwareError } from "./index.js";

describe("firmware versions", () => {
  it("lists the 2020 firmware and the one with idle-stop-guest", () => {
    expect(Object.keys(FIRMWARE_VERSIONS)).toEqual(["2020", "idle-stop-guest"]);
    expect(FIRMWARE_VERSIONS["2020"].idleStopGuest).toBe(false);
    expect(FIRMWARE_VERSIONS["idle-stop-guest"].idleStopGuest).toBe(true);
    for (const f of Object.values(FIRMWARE_VERSIONS)) expect(f.description.length).toBeGreaterThan(20);
  });

  it("parses names and aliases", () => {
    expect(parseFirmwareVersion("2020").id).toBe("2020");
    expect(parseFirmwareVersion(" NEW ").id).toBe("idle-stop-guest");
    expect(parseFirmwareVersion("idle-stop-guest").id).toBe("idle-stop-guest");
    expect(parseFirmwareVersion("old").id).toBe("2020");
  });

  it("rejects unknown names with the list of choices", () => {
    expect(() => parseFirmwareVersion("2021")).toThrow(UnknownFirmwareError);
    expect(() => parseFirmwareVersion("2021")).toThrow(
      /unknown firmware '2021': expected one of '2020', .*'new'/,
    );
  });
});
