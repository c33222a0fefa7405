// The host's idle-state table decision by decision, on hand-built /ibm,opal/power-mgt nodes,
// against linux: arch/powerpc/platforms/powernv/idle.c (pnv_parse_cpuidle_dt,
// pnv_arch300_idle_init, validate_psscr_val_mask) and drivers/cpuidle/cpuidle-powernv.c
// (powernv_add_idle_states, powernv_idle_probe).
import { DeviceTree } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import { PSSCR_EC, PSSCR_ESL } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import {
  arch300IdleInit,
  ERR_DEEP_STATE_ESL_MISMATCH,
  ERR_EC_ESL_MISMATCH,
  initIdleStates,
  OPAL_PM_LOSE_FULL_CONTEXT,
  OPAL_PM_LOSE_HYP_CONTEXT,
  OPAL_PM_NAP_ENABLED,
  OPAL_PM_STOP_INST_DEEP,
  OPAL_PM_STOP_INST_FAST,
  OPAL_PM_TIMEBASE_STOP,
  type PnvIdleState,
  PSSCR_HV_DEFAULT_MASK,
  PSSCR_HV_DEFAULT_VAL,
  parsePowerMgt,
  powernvAddIdleStates,
  powernvIdleDriver,
  validatePsscrValMask,
} from "./idle.js";
import { KernelLog } from "./log.js";

const FAST = OPAL_PM_STOP_INST_FAST;
const DEEP = OPAL_PM_STOP_INST_DEEP | OPAL_PM_LOSE_FULL_CONTEXT | OPAL_PM_LOSE_HYP_CONTEXT;
const ESL_EC = PSSCR_ESL | PSSCR_EC;
const MASK = 0x00000000003f03ffn; // skiboot's psscr mask for stop states (all fields)

interface Row {
  name: string;
  flags: number;
  lat: number;
  res: number;
  val: bigint;
  mask?: bigint;
}

/** skiboot-like rows: stop0_lite (no ESL), stop0, stop1, stop2 fast; stop4, stop5 deep. */
const P9_ROWS: Row[] = [
  { name: "stop0_lite", flags: FAST, lat: 1000, res: 10000, val: 0x0n },
  { name: "stop0", flags: FAST, lat: 2000, res: 20000, val: ESL_EC | 0x0n },
  { name: "stop1", flags: FAST, lat: 5000, res: 50000, val: ESL_EC | 0x1n },
  { name: "stop2", flags: FAST, lat: 10000, res: 100000, val: ESL_EC | 0x2n },
  { name: "stop4", flags: DEEP | OPAL_PM_TIMEBASE_STOP, lat: 100000, res: 10000000, val: ESL_EC | 0x4n },
  { name: "stop5", flags: DEEP | OPAL_PM_TIMEBASE_STOP, lat: 200000, res: 50000000, val: ESL_EC | 0x5n },
];

/** A tree with /ibm,opal/power-mgt holding `rows` (the named arrays may be left out or cut). */
function powerMgt(rows: Row[], o: { omit?: string; cut?: string } = {}): DeviceTree {
  const tree = new DeviceTree();
  const pm = tree.root.addChild("ibm,opal").addChild("power-mgt");
  const n = (name: string) => (o.cut === name ? rows.length - 1 : rows.length);
  const set = (name: string, f: () => void) => {
    if (o.omit !== name) f();
  };
  set("ibm,cpu-idle-state-flags", () =>
    pm.setPropU32(
      "ibm,cpu-idle-state-flags",
      ...rows.slice(0, n("ibm,cpu-idle-state-flags")).map((r) => r.flags),
    ),
  );
  set("ibm,cpu-idle-state-latencies-ns", () =>
    pm.setPropU32(
      "ibm,cpu-idle-state-latencies-ns",
      ...rows.slice(0, n("ibm,cpu-idle-state-latencies-ns")).map((r) => r.lat),
    ),
  );
  set("ibm,cpu-idle-state-residency-ns", () =>
    pm.setPropU32(
      "ibm,cpu-idle-state-residency-ns",
      ...rows.slice(0, n("ibm,cpu-idle-state-residency-ns")).map((r) => r.res),
    ),
  );
  set("ibm,cpu-idle-state-psscr", () =>
    pm.setPropU64(
      "ibm,cpu-idle-state-psscr",
      ...rows.slice(0, n("ibm,cpu-idle-state-psscr")).map((r) => r.val),
    ),
  );
  set("ibm,cpu-idle-state-psscr-mask", () =>
    pm.setPropU64(
      "ibm,cpu-idle-state-psscr-mask",
      ...rows.slice(0, n("ibm,cpu-idle-state-psscr-mask")).map((r) => r.mask ?? MASK),
    ),
  );
  set("ibm,cpu-idle-state-names", () =>
    pm.setPropStrings(
      "ibm,cpu-idle-state-names",
      rows.slice(0, n("ibm,cpu-idle-state-names")).map((r) => r.name),
    ),
  );
  return tree;
}

const newLog = () => new KernelLog(new Simulation());

describe("pnv_parse_cpuidle_dt", () => {
  it("reads every array in order, names cut to 15 characters, nothing valid yet", () => {
    const rows = [...P9_ROWS.slice(0, 2), { ...P9_ROWS[2], name: "a-very-long-state-name" }];
    const log = newLog();
    const states = parsePowerMgt(powerMgt(rows), true, log);
    expect(states).toEqual(
      rows.map((r) => ({
        name: r.name.slice(0, 15),
        flags: r.flags,
        latencyNs: r.lat,
        residencyNs: r.res,
        psscrVal: r.val,
        psscrMask: MASK,
        valid: false,
      })),
    );
    expect(states?.[2].name).toBe("a-very-long-sta");
    expect(log.at("warn")).toEqual([]);
  });

  it("without ISA 3.00 the PSSCR arrays are not read (POWER8 nap/sleep trees have none)", () => {
    const states = parsePowerMgt(powerMgt(P9_ROWS, { omit: "ibm,cpu-idle-state-psscr" }), false, newLog());
    expect(states?.map((s) => [s.psscrVal, s.psscrMask])).toEqual(P9_ROWS.map(() => [0n, 0n]));
  });

  it("no power-mgt node: no platform states", () => {
    const log = newLog();
    expect(parsePowerMgt(new DeviceTree(), true, log)).toBeUndefined();
    expect(log.at("warn")).toEqual(["opal: PowerMgmt Node not found"]);
  });

  for (const prop of [
    "ibm,cpu-idle-state-flags",
    "ibm,cpu-idle-state-latencies-ns",
    "ibm,cpu-idle-state-residency-ns",
    "ibm,cpu-idle-state-psscr",
    "ibm,cpu-idle-state-psscr-mask",
    "ibm,cpu-idle-state-names",
  ])
    it(`a missing or short ${prop} drops the table with the kernel's warning`, () => {
      for (const o of [{ omit: prop }, { cut: prop }]) {
        const log = newLog();
        const got = parsePowerMgt(powerMgt(P9_ROWS, o), true, log);
        if (prop === "ibm,cpu-idle-state-flags" && o.cut !== undefined) {
          // fewer flags means fewer states: the others are read up to that count
          expect(got?.length).toBe(P9_ROWS.length - 1);
          continue;
        }
        expect(got).toBeUndefined();
        expect(log.at("warn")).toEqual([`cpuidle-powernv: missing ${prop} in DT`]);
      }
    });

  it("an empty flags array counts as missing; names that are not strings too", () => {
    const tree = powerMgt(P9_ROWS);
    const pm = tree.requireNode("/ibm,opal/power-mgt");
    pm.setProp("ibm,cpu-idle-state-flags", new Uint8Array(0));
    const log = newLog();
    expect(parsePowerMgt(tree, true, log)).toBeUndefined();
    expect(log.at("warn")).toEqual(["cpuidle-powernv: missing ibm,cpu-idle-state-flags in DT"]);
    const t2 = powerMgt(P9_ROWS);
    t2.requireNode("/ibm,opal/power-mgt").setProp("ibm,cpu-idle-state-names", new Uint8Array([0x73, 0x74]));
    const log2 = newLog();
    expect(parsePowerMgt(t2, true, log2)).toBeUndefined();
    expect(log2.at("warn")).toEqual(["cpuidle-powernv: missing ibm,cpu-idle-state-names in DT"]);
  });

  it("a 64-bit array one byte short of n entries is missing", () => {
    const tree = powerMgt(P9_ROWS);
    const pm = tree.requireNode("/ibm,opal/power-mgt");
    const raw = pm.requireProp("ibm,cpu-idle-state-psscr").asBytes();
    pm.setProp("ibm,cpu-idle-state-psscr", raw.slice(0, raw.length - 1));
    expect(parsePowerMgt(tree, true, newLog())).toBeUndefined();
    // extra trailing entries are ignored
    const t2 = powerMgt(P9_ROWS);
    t2.requireNode("/ibm,opal/power-mgt").setPropU64(
      "ibm,cpu-idle-state-psscr",
      ...P9_ROWS.map((r) => r.val),
      7n,
    );
    expect(parsePowerMgt(t2, true, newLog())?.map((s) => s.psscrVal)).toEqual(P9_ROWS.map((r) => r.val));
  });
});

describe("validate_psscr_val_mask", () => {
  it("mask 0xf (old firmware: RL only): the default fields are filled in", () => {
    const s = { psscrVal: 0x3n, psscrMask: 0xfn, flags: 0 };
    expect(validatePsscrValMask(s)).toBe(0);
    expect(s).toEqual({ psscrVal: 0x3n | PSSCR_HV_DEFAULT_VAL, psscrMask: PSSCR_HV_DEFAULT_MASK, flags: 0 });
    // the defaults: ESL, EC, PSLL, TR and MTL all set, and RL in the mask
    expect(PSSCR_HV_DEFAULT_VAL).toBe(0x003f03f0n);
    expect(PSSCR_HV_DEFAULT_MASK).toBe(0x003f03ffn);
  });

  it("ESL must equal EC; a state losing full context needs ESL", () => {
    const v = (psscrVal: bigint, flags = 0) => validatePsscrValMask({ psscrVal, psscrMask: MASK, flags });
    expect(v(0n)).toBe(0);
    expect(v(ESL_EC)).toBe(0);
    expect(v(PSSCR_ESL)).toBe(ERR_EC_ESL_MISMATCH);
    expect(v(PSSCR_EC)).toBe(ERR_EC_ESL_MISMATCH);
    expect(v(0n, OPAL_PM_LOSE_FULL_CONTEXT)).toBe(ERR_DEEP_STATE_ESL_MISMATCH);
    expect(v(ESL_EC, OPAL_PM_LOSE_FULL_CONTEXT)).toBe(0);
    // the mismatch is reported first
    expect(v(PSSCR_EC, OPAL_PM_LOSE_FULL_CONTEXT)).toBe(ERR_EC_ESL_MISMATCH);
    // a mask other than 0xf leaves the value alone
    const s = { psscrVal: 0x3n, psscrMask: 0x7n, flags: 0 };
    validatePsscrValMask(s);
    expect(s.psscrVal).toBe(0x3n);
  });
});

describe("pnv_arch300_idle_init", () => {
  const rows = (r: Row[]): PnvIdleState[] =>
    r.map((x) => ({
      name: x.name,
      flags: x.flags,
      latencyNs: x.lat,
      residencyNs: x.res,
      psscrVal: x.val,
      psscrMask: x.mask ?? MASK,
      valid: false,
    }));
  const hex = (v: bigint) => `0x${v.toString(16).padStart(16, "0")}`;

  it("POWER9: default = first fast state, deepest = largest residency, loss levels 4 and 4", () => {
    const states = rows(P9_ROWS);
    const log = newLog();
    const r = arch300IdleInit(states, log);
    expect(states.every((s) => s.valid)).toBe(true);
    expect(r.defaultStop).toEqual({ val: 0n, mask: MASK });
    expect(r.deepestStop).toEqual({ val: ESL_EC | 5n, mask: MASK });
    expect(log.at("info")).toEqual([
      `cpuidle-powernv: Default stop: psscr = ${hex(0n)},mask=${hex(MASK)}`,
      `cpuidle-powernv: Deepest stop: psscr = ${hex(ESL_EC | 5n)},mask=${hex(MASK)}`,
      "cpuidle-powernv: First stop level that may lose SPRs = 0x4",
      "cpuidle-powernv: First stop level that may lose timebase = 0x4",
    ]);
    expect(log.at("warn")).toEqual([]);
  });

  it("the first fast state wins the default; equal residencies keep the first as deepest", () => {
    const states = rows([
      { name: "deep", flags: DEEP, lat: 1, res: 500, val: ESL_EC | 6n },
      { name: "a", flags: FAST, lat: 1, res: 100, val: ESL_EC | 1n },
      { name: "b", flags: FAST, lat: 1, res: 500, val: ESL_EC | 2n },
    ]);
    const r = arch300IdleInit(states, newLog());
    expect(r.defaultStop?.val).toBe(ESL_EC | 1n);
    expect(r.deepestStop?.val).toBe(ESL_EC | 6n);
  });

  it("invalid states are skipped with the kernel's messages, but still count for the loss levels", () => {
    const states = rows([
      { name: "bad-ec", flags: FAST, lat: 1, res: 100, val: PSSCR_EC | 1n },
      { name: "bad-deep", flags: DEEP | OPAL_PM_TIMEBASE_STOP, lat: 1, res: 9999, val: 3n },
      { name: "ok", flags: FAST, lat: 1, res: 50, val: ESL_EC | 2n },
    ]);
    const log = newLog();
    const r = arch300IdleInit(states, log);
    expect(states.map((s) => s.valid)).toEqual([false, false, true]);
    expect(log.at("warn")).toEqual([
      `Invalid psscr ${hex(PSSCR_EC | 1n)} : ESL,EC bits unequal`,
      `Invalid psscr ${hex(3n)} : ESL cleared for deep stop-state`,
    ]);
    expect(r.defaultStop?.val).toBe(ESL_EC | 2n);
    expect(r.deepestStop?.val).toBe(ESL_EC | 2n);
    expect(log.at("info")).toContain("cpuidle-powernv: First stop level that may lose SPRs = 0x3");
    expect(log.at("info")).toContain("cpuidle-powernv: First stop level that may lose timebase = 0x3");
  });

  it("timebase loss in a shallower state than SPR loss moves the SPR-loss level up to it", () => {
    const states = rows([
      { name: "tb", flags: FAST | OPAL_PM_TIMEBASE_STOP, lat: 1, res: 10, val: ESL_EC | 2n },
      { name: "full", flags: DEEP, lat: 1, res: 20, val: ESL_EC | 4n },
    ]);
    const log = newLog();
    arch300IdleInit(states, log);
    expect(log.at("info")).toContain("cpuidle-powernv: First stop level that may lose SPRs = 0x2");
    expect(log.at("info")).toContain("cpuidle-powernv: First stop level that may lose timebase = 0x2");
    // and the lowest level wins when several states lose them
    const l2 = newLog();
    arch300IdleInit(
      rows([
        { name: "x", flags: DEEP | OPAL_PM_TIMEBASE_STOP, lat: 1, res: 10, val: ESL_EC | 0xbn },
        { name: "y", flags: DEEP | OPAL_PM_TIMEBASE_STOP, lat: 1, res: 20, val: ESL_EC | 0x5n },
        { name: "z", flags: DEEP | OPAL_PM_TIMEBASE_STOP, lat: 1, res: 30, val: ESL_EC | 0x7n },
      ]),
      l2,
    );
    expect(l2.at("info")).toContain("cpuidle-powernv: First stop level that may lose SPRs = 0x5");
    expect(l2.at("info")).toContain("cpuidle-powernv: First stop level that may lose timebase = 0x5");
  });

  it("no fast state: platform idle disabled; no valid state at all: no hotplug state; levels 0x10", () => {
    const log = newLog();
    const r = arch300IdleInit(rows([{ name: "deep", flags: DEEP, lat: 1, res: 10, val: ESL_EC | 4n }]), log);
    expect(r.defaultStop).toBeUndefined();
    expect(r.deepestStop?.val).toBe(ESL_EC | 4n);
    expect(log.at("warn")).toEqual([
      "cpuidle-powernv: No suitable default stop state found. Disabling platform idle.",
    ]);
    const none = newLog();
    const r2 = arch300IdleInit([], none);
    expect(r2).toEqual({ defaultStop: undefined, deepestStop: undefined });
    expect(none.at("warn")).toEqual([
      "cpuidle-powernv: No suitable default stop state found. Disabling platform idle.",
      "cpuidle-powernv: No suitable stop state for CPU-Hotplug. Offlining will busy-wait.",
    ]);
    expect(none.at("info")).toEqual([
      "cpuidle-powernv: First stop level that may lose SPRs = 0x10",
      "cpuidle-powernv: First stop level that may lose timebase = 0x10",
    ]);
  });

  it("a state with zero residency never becomes the deepest", () => {
    const r = arch300IdleInit(rows([{ name: "z", flags: FAST, lat: 1, res: 0, val: ESL_EC | 1n }]), newLog());
    expect(r.defaultStop?.val).toBe(ESL_EC | 1n);
    expect(r.deepestStop).toBeUndefined();
  });
});

describe("powernv_add_idle_states and the driver", () => {
  const init = (rows: Row[]) => {
    const log = newLog();
    return { ...initIdleStates(powerMgt(rows), true, log), log };
  };

  it("POWER9: snooze, then each valid stop state in firmware order, us rounded up", () => {
    const rows = P9_ROWS.map((r, i) => (i === 1 ? { ...r, lat: 2001, res: 20001 } : r));
    const { cpuidle, log } = init(rows);
    expect(cpuidle.map((s) => [s.index, s.name, s.kind])).toEqual([
      [0, "snooze", "snooze"],
      [1, "stop0_lite", "stop"],
      [2, "stop0", "stop"],
      [3, "stop1", "stop"],
      [4, "stop2", "stop"],
      [5, "stop4", "stop"],
      [6, "stop5", "stop"],
    ]);
    const stop0 = cpuidle[2];
    expect([
      stop0.exitLatencyUs,
      stop0.targetResidencyUs,
      stop0.exitLatencyNs,
      stop0.targetResidencyNs,
    ]).toEqual([3, 21, 3000, 21000]);
    expect(stop0.firmwareLatencyNs).toBe(2001);
    expect([cpuidle[1].exitLatencyUs, cpuidle[1].targetResidencyUs]).toEqual([1, 10]);
    expect(cpuidle.map((s) => s.timerStop)).toEqual([false, false, false, false, false, true, true]);
    expect(cpuidle.map((s) => s.polling)).toEqual(cpuidle.map(() => false));
    expect(cpuidle[5].psscrVal).toBe(ESL_EC | 4n);
    expect(cpuidle[5].psscrMask).toBe(MASK);
    expect(cpuidle[5].flags).toBe(DEEP | OPAL_PM_TIMEBASE_STOP);
    expect(cpuidle[5].desc).toBe("stop4");
    expect(log.at("info")).toContain(
      "cpuidle: using governor menu; powernv_idle driver with 7 states: snooze, stop0_lite, stop0, stop1, stop2, stop4, stop5",
    );
  });

  it("states slower to exit than 200 us are left out of cpuidle (the threshold itself is kept)", () => {
    const rows = [...P9_ROWS.slice(0, 4), { ...P9_ROWS[4], lat: 200001 }, P9_ROWS[5]];
    expect(rows[5].lat).toBe(200000);
    expect(init(rows).cpuidle.map((s) => s.name)).toEqual([
      "snooze",
      "stop0_lite",
      "stop0",
      "stop1",
      "stop2",
      "stop5",
    ]);
  });

  it("invalid stop states are left out", () => {
    const rows = P9_ROWS.map((r) => (r.name === "stop1" ? { ...r, val: PSSCR_ESL | 1n } : r));
    expect(init(rows).cpuidle.map((s) => s.name)).not.toContain("stop1");
  });

  it("more than CPUIDLE_STATE_MAX - 1 firmware states: only the first nine, with a warning", () => {
    const rows: Row[] = Array.from({ length: 11 }, (_, i) => ({
      name: `s${i}`,
      flags: FAST,
      lat: 1000 + i,
      res: 10000 * (i + 1),
      val: ESL_EC | BigInt(i % 16),
    }));
    const { cpuidle, log } = init(rows);
    expect(cpuidle.map((s) => s.name)).toEqual([
      "snooze",
      "s0",
      "s1",
      "s2",
      "s3",
      "s4",
      "s5",
      "s6",
      "s7",
      "s8",
    ]);
    expect(log.at("warn")).toContain("cpuidle-powernv: discovered idle states more than allowed");
    const nine = init(rows.slice(0, 9));
    expect(nine.cpuidle).toHaveLength(10);
    expect(nine.log.at("warn")).not.toContain("cpuidle-powernv: discovered idle states more than allowed");
  });

  it("a table whose first state is not a stop state (POWER8 nap) adds nothing but snooze", () => {
    const nap = [{ name: "nap", flags: OPAL_PM_NAP_ENABLED, lat: 4000, res: 100000, val: 0n }, ...P9_ROWS];
    expect(init(nap).cpuidle.map((s) => s.name)).toEqual(["snooze"]);
  });

  it("no platform states: only snooze, with the kernel's warning; snooze has no timeout then", () => {
    const log = newLog();
    const table = powernvAddIdleStates(undefined, log);
    expect(table.map((s) => s.name)).toEqual(["snooze"]);
    expect(log.at("warn")).toEqual(["cpuidle-powernv : Only Snooze is available"]);
    expect(powernvAddIdleStates([], newLog()).map((s) => s.name)).toEqual(["snooze"]);
    expect(powernvIdleDriver(table)).toEqual({
      name: "powernv_idle",
      states: table,
      snoozeTimeoutEnabled: false,
    });
    const full = init(P9_ROWS).cpuidle;
    expect(powernvIdleDriver(full).snoozeTimeoutEnabled).toBe(true);
    expect(powernvIdleDriver(full.slice(0, 2)).snoozeTimeoutEnabled).toBe(true);
  });

  it("initIdleStates without ISA 3.00 skips the stop validation: no default or deepest stop", () => {
    const log = newLog();
    const r = initIdleStates(powerMgt(P9_ROWS), false, log);
    expect(r.states).toHaveLength(P9_ROWS.length);
    expect(r.defaultStop).toBeUndefined();
    expect(r.deepestStop).toBeUndefined();
    // nothing validated: the stop states are not offered to cpuidle
    expect(r.cpuidle.map((s) => s.name)).toEqual(["snooze"]);
    const none = initIdleStates(new DeviceTree(), true, newLog());
    expect(none.states).toEqual([]);
    expect(none.cpuidle.map((s) => s.name)).toEqual(["snooze"]);
    expect(none.defaultStop).toBeUndefined();
  });
});
