import { decodeDtb } from "@stopsim/devicetree";
import { describe, expect, it } from "vitest";
import { FIRMWARE_VERSIONS } from "./firmware.js";
import { hostbootIplFeatures, P9_DD23_IPL_FEATURES, skibootFwFeatureName } from "./fw-features.js";
import { buildHostDtb } from "./host-tree.js";
import { p9Machine } from "./test-helpers/machine.js";

// skiboot external/mambo/skiboot.tcl: the fw-features it writes for a POWER9 ("These values ~=
// P9N DD2.3, except for fw_count_cache_flush_assist=0"), name and mconf default, in its order.
const SKIBOOT_MAMBO_P9: readonly [string, 0 | 1][] = [
  ["speculation-policy-favor-security", 1],
  ["needs-l1d-flush-msr-hv-1-to-0", 1],
  ["needs-l1d-flush-msr-pr-0-to-1", 1],
  ["fw-l1d-thread-split", 1],
  ["needs-spec-barrier-for-bound-checks", 1],
  ["fw-bcctrl-serialized", 0],
  ["fw-count-cache-disabled", 0],
  ["needs-count-cache-flush-on-context-switch", 1],
  ["fw-count-cache-flush-bcctr2,0,0", 0],
  ["inst-spec-barrier-ori31,31,0", 1],
  ["inst-l1d-flush-trig2", 1],
  ["inst-l1d-flush-ori30,30,0", 0],
];

describe("/ibm,opal/fw-features (hostboot IPL parameters copied by skiboot hdata/spira.c)", () => {
  it("DD2.3: skiboot's mambo P9N DD2.3 table, with the count cache flush assist the chip has", () => {
    expect(P9_DD23_IPL_FEATURES.map((f) => f.name)).toEqual(SKIBOOT_MAMBO_P9.map(([n]) => n));
    const differing = P9_DD23_IPL_FEATURES.filter((f, i) => f.enabled !== (SKIBOOT_MAMBO_P9[i][1] === 1));
    expect(differing.map((f) => f.name)).toEqual(["fw-count-cache-flush-bcctr2,0,0"]);
    expect(hostbootIplFeatures(0x004e1203)).toEqual(P9_DD23_IPL_FEATURES);
    // a later level keeps the DD2.3 settings; a DD1 part (minor 3, major 1) is not a DD2.3
    expect(hostbootIplFeatures(0x004e1301)).toEqual(P9_DD23_IPL_FEATURES);
    expect(hostbootIplFeatures(0x004e0103)).not.toEqual(P9_DD23_IPL_FEATURES);
  });

  it("before DD2.3 the count cache is disabled instead of flushed; nothing else differs", () => {
    for (const pvr of [0x004e1200, 0x004e1201, 0x004e1202]) {
      const f = hostbootIplFeatures(pvr);
      const changed = f.filter((x, i) => x.enabled !== P9_DD23_IPL_FEATURES[i].enabled).map((x) => x.name);
      expect(changed).toEqual([
        "fw-count-cache-disabled",
        "needs-count-cache-flush-on-context-switch",
        "fw-count-cache-flush-bcctr2,0,0",
      ]);
      expect(f.find((x) => x.name === "fw-count-cache-disabled")?.enabled).toBe(true);
    }
  });

  it("are written as skiboot writes them: one node each under /ibm,opal, an empty enabled or disabled", () => {
    for (const [dd, pvr] of [
      ["dd2.2", 0x004e1202],
      ["dd2.3", 0x004e1203],
    ] as const) {
      const t = decodeDtb(buildHostDtb({ machine: p9Machine(dd), firmware: FIRMWARE_VERSIONS["2020"] }));
      const nodes = t.requireNode("/ibm,opal/fw-features").children;
      expect(nodes.map((n) => n.name)).toEqual(hostbootIplFeatures(pvr).map((f) => f.name));
      for (const [i, n] of nodes.entries()) {
        const want = hostbootIplFeatures(pvr)[i].enabled ? "enabled" : "disabled";
        expect(n.properties.map((p) => p.name)).toEqual(["phandle", want]);
        expect(n.requireProp(want).length).toBe(0);
      }
    }
    expect(skibootFwFeatureName("tm-suspend-mode-enabled")).toBe("tm-suspend-mode");
    expect(skibootFwFeatureName("fw-l1d-thread-split")).toBe("fw-l1d-thread-split");
  });
});
