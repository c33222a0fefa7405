// Each VM draws its run's result from a case's probe results by its own seed (fleet.ts vmDraw),
// so a rare outcome of the probes reaches the fleet's counts at its rate; the spread over fleet
// seeds. A probe double stands in for the full stack (fleet-seeds.test.ts runs the real one).
import { NS_PER_S } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { type FleetProbe, type MigrationProbeResult, runFleet, vmDraw } from "./fleet.js";
import { fleetSpread, spreadOf, spreadText } from "./fleet-seeds.js";

/** A probe whose dd2.2 boots hang on one probe seed of four (a rare outcome made on purpose). */
function rareProbe(): FleetProbe {
  const ok: MigrationProbeResult = { outcome: "native", detail: "", downtimeNs: 2e6, totalTimeNs: 1e8 };
  return {
    boot: (_d, kind) =>
      kind === "dd2.2"
        ? [
            { outcome: "native", detail: "s1" },
            { outcome: "hung", detail: "s2" },
            { outcome: "native", detail: "s3" },
            { outcome: "native", detail: "s4" },
          ]
        : [{ outcome: "native", detail: "" }],
    migrate: () => [ok],
  };
}

const fleet = {
  hosts: 200,
  vms: 4000,
  durationNs: 30 * 60 * NS_PER_S,
  design: "test",
  seed: 3,
  plan: "evacuation" as const,
  mix: { "dd2.2": 1 },
  upgradeTo: {},
};

describe("fleet probe draws", () => {
  it("each VM draws from a case's probes by its own seed, so a rare outcome reaches the counts at its rate", () => {
    const r = runFleet(fleet, rareProbe());
    const first = 4000;
    // one probe seed in four hangs: about a quarter of the boots hang (binomial, n >= 4000, 6 sigma)
    const rate = r.boots.hung / (r.boots.hung + r.boots.native);
    expect(rate).toBeGreaterThan(0.25 - 6 * Math.sqrt((0.25 * 0.75) / first));
    expect(rate).toBeLessThan(0.25 + 6 * Math.sqrt((0.25 * 0.75) / first));
    // with one probe result per case every VM gets it: no draw, no hang
    const one = runFleet(fleet, {
      boot: () => [{ outcome: "native", detail: "" }],
      migrate: rareProbe().migrate,
    });
    expect(one.boots.hung).toBe(0);
  });

  it("a VM's draws are uniform and its own (a pure function of its seed and draw count)", () => {
    const k = 5;
    const hist = new Array(k).fill(0);
    for (let seed = 0; seed < 2000; seed++) for (let n = 0; n < 10; n++) hist[vmDraw(seed, n, k)]++;
    for (const h of hist) expect(Math.abs(h - 4000)).toBeLessThan(6 * Math.sqrt(4000 * 0.8));
    expect(vmDraw(12345, 7, k)).toBe(vmDraw(12345, 7, k));
    expect(new Set(Array.from({ length: 50 }, (_, n) => vmDraw(99, n, k))).size).toBe(k);
  });

  it("the fleet over seeds gives each count's median and range", () => {
    const runs = [1, 2, 3].map((seed) => runFleet({ ...fleet, vms: 400, seed }, rareProbe()));
    const s = fleetSpread(runs);
    const hung = runs.map((r) => r.boots.hung).sort((a, b) => a - b);
    expect(s.boots.hung).toEqual({ median: hung[1], min: hung[0], max: hung[2] });
    expect(spreadOf([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(spreadText({ median: 3, min: 3, max: 3 })).toBe("3");
    expect(spreadText({ median: 1200, min: 1000, max: 1500 })).toBe("1,200 [1,000-1,500]");
  });

  it("draws by murmur3's fmix32 (smhasher MurmurHash3.cpp), so recorded fleets replay draw for draw", () => {
    // the reference finaliser in 64-bit BigInt arithmetic, masked to 32 bits after each step
    const M = 0xffffffffn;
    const fmix = (h: bigint) => {
      let x = h & M;
      x ^= x >> 16n;
      x = (x * 0x85ebca6bn) & M;
      x ^= x >> 13n;
      x = (x * 0xc2b2ae35n) & M;
      x ^= x >> 16n;
      return x;
    };
    const reference = (seed: number, n: number, k: number) => {
      const u = fmix(BigInt(seed >>> 0) ^ fmix((BigInt(n + 1) * 0x9e3779b9n) & M));
      return Number((u * BigInt(k)) >> 32n);
    };
    for (const [seed, k] of [
      [0, 2],
      [1, 4],
      [0xdeadbeef, 7],
      [0xffffffff, 1000],
      [123456789, 3],
    ])
      for (let n = 0; n < 40; n++)
        expect(vmDraw(seed, n, k), `${seed} ${n} ${k}`).toBe(reference(seed, n, k));
  });
});
