// A fleet's size and mix are checked before anything is allocated (fleet.ts validateFleetSize,
// validateFleetOptions): each documented maximum (README "Limits") is accepted and one past it
// refused in one line naming the option as the command calls it, and the fix.
import { NS_PER_S } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { type FleetOptions, validateFleetOptions, validateFleetSize } from "./fleet.js";
import { usageMessage } from "./test-helpers/usage.js";

const DAY = 86_400 * NS_PER_S;

const refusal = usageMessage;
const size =
  (hosts: number, vms: number, durationNs = DAY) =>
  () =>
    validateFleetSize({ hosts, vms, durationNs });

describe("fleet sizes", () => {
  it("takes 2 to 100,000 hosts, whole", () => {
    size(2, 1)();
    size(100_000, 1)();
    for (const hosts of [1, 0, -5, 100_001, 2.5, Number.NaN])
      expect(refusal(size(hosts, 1)), String(hosts)).toBe(
        `--hosts must be a whole number from 2 to 100,000, got ${hosts}`,
      );
  });

  it("takes 1 to 1,000,000 VMs, whole, at most 64 a host", () => {
    size(2, 128)();
    size(100_000, 1_000_000)();
    for (const vms of [0, 1_000_001, 1.5, Number.NaN])
      expect(refusal(size(100_000, vms)), String(vms)).toBe(
        `--vms must be a whole number from 1 to 1,000,000, got ${vms}`,
      );
    expect(refusal(size(2, 129))).toBe(
      "--vms 129 does not fit on 2 hosts (at most 64 VMs per host): raise --hosts",
    );
  });

  it("takes a positive duration up to 100 days", () => {
    size(2, 1, 1)();
    size(2, 1, 100 * DAY)();
    for (const d of [0, -1, Number.NaN])
      expect(refusal(size(2, 1, d)), String(d)).toBe("--duration must be positive, e.g. 24h");
    expect(refusal(size(2, 1, 100 * DAY + 1))).toBe(
      "--duration is above the fleet maximum of 100d (virtual time is exact integer ns up to 104 days)",
    );
  });

  it("names the options as the calling command does", () => {
    const names = { hosts: "--fleet-hosts", vms: "--fleet-vms", duration: "--fleet-duration" };
    expect(refusal(() => validateFleetSize({ hosts: 1, vms: 1, durationNs: 1 }, names))).toMatch(
      /^--fleet-hosts /,
    );
    expect(refusal(() => validateFleetSize({ hosts: 2, vms: 0, durationNs: 1 }, names))).toMatch(
      /^--fleet-vms /,
    );
    expect(refusal(() => validateFleetSize({ hosts: 2, vms: 200, durationNs: 1 }, names))).toBe(
      "--fleet-vms 200 does not fit on 2 hosts (at most 64 VMs per host): raise --fleet-hosts",
    );
    expect(refusal(() => validateFleetSize({ hosts: 2, vms: 1, durationNs: 0 }, names))).toMatch(
      /^--fleet-duration /,
    );
  });
});

describe("fleet host mix", () => {
  const base: FleetOptions = {
    hosts: 4,
    vms: 4,
    durationNs: DAY,
    design: "d",
    seed: 1,
    plan: "evacuation",
    mix: {},
    upgradeTo: {},
  };
  const MIX = "--mix needs kind=share pairs with non-negative shares, e.g. dd2.2-old=0.5,dd2.3-old=0.5";

  it("needs at least one kind, no negative share and a positive total", () => {
    validateFleetOptions({ ...base, mix: { a: 1 } });
    validateFleetOptions({ ...base, mix: { a: 0, b: 0.1 } });
    for (const mix of [{}, { a: -1, b: 2 }, { a: 0 }, { a: 0, b: 0 }, { a: Number.NaN }] as Record<
      string,
      number
    >[])
      expect(
        refusal(() => validateFleetOptions({ ...base, mix })),
        JSON.stringify(mix),
      ).toBe(MIX);
    // the size is checked first
    expect(refusal(() => validateFleetOptions({ ...base, hosts: 1, mix: {} }))).toMatch(/^--hosts /);
  });
});
