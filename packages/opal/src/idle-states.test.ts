import { describe, expect, it } from "vitest";
import {
  OPAL_PM_PSSCR_MASK,
  OPAL_PM_STOP_INST_DEEP,
  OPAL_PM_STOP_INST_FAST,
  POWER9_CPU_IDLE_STATES,
  selectIdleStates,
} from "./index.js";

describe("POWER9 idle state table (skiboot hw/slw.c power9_cpu_idle_states)", () => {
  it("has skiboot's names, latencies, residencies, flags and PSSCR values", () => {
    // Expected numbers written out from skiboot hw/slw.c and include/opal-api.h; the first two and
    // stop4 also appear in a real POWER9 device tree quoted on linuxppc-dev (2019-08-23):
    // psscr <0x330 0x300330>, psscr-mask 0x3003ff, flags <0x100000 0x101000>, stop4 0x300374/0x207000.
    expect(
      POWER9_CPU_IDLE_STATES.map((s) => [s.name, s.latencyNs, s.residencyNs, s.flags, s.psscr, s.psscrMask]),
    ).toEqual([
      ["stop0_lite", 1000, 10000, 0x100000, 0x330n, 0x3003ffn],
      ["stop0", 2000, 20000, 0x101000, 0x300330n, 0x3003ffn],
      ["stop1", 5000, 50000, 0x101000, 0x300331n, 0x3003ffn],
      ["stop2", 10000, 100000, 0x101000, 0x300332n, 0x3003ffn],
      ["stop4", 100000, 10000000, 0x207000, 0x300374n, 0x3003ffn],
      ["stop5", 200000, 20000000, 0x207000, 0x300375n, 0x3003ffn],
      ["stop8", 2000000, 20000000, 0x207003, 0x3003b8n, 0x3003ffn],
      ["stop11", 10000000, 100000000, 0x207003, 0x3003bbn, 0x3003ffn],
    ]);
    expect(OPAL_PM_PSSCR_MASK).toBe(0x3003ffn);
  });
});

describe("selectIdleStates (skiboot add_cpu_idle_state_properties)", () => {
  const names = (sel: ReturnType<typeof selectIdleStates>) => sel.states.map((s) => s.name);

  it("default: hostboot's 0xEC000000 levels, wakeup engine present -> stop0_lite..stop5, deep states on", () => {
    const sel = selectIdleStates();
    expect(names(sel)).toEqual(["stop0_lite", "stop0", "stop1", "stop2", "stop4", "stop5"]);
    expect(sel.hasDeepStates).toBe(true);
    expect(sel.enabledStopLevels).toBe(0xec000000);
  });

  it("OPAL disables levels 6 and up (stop8, stop11) even when hostboot enables them", () => {
    const sel = selectIdleStates({ enabledStopLevels: 0xffffffff });
    expect(names(sel)).toEqual(["stop0_lite", "stop0", "stop1", "stop2", "stop4", "stop5"]);
  });

  it("an NVRAM opal-stop-state-disable-mask forces OPAL-disabled states on, or disables more", () => {
    expect(names(selectIdleStates({ enabledStopLevels: 0xffffffff, nvramStopStateDisableMask: 0 }))).toEqual(
      POWER9_CPU_IDLE_STATES.map((s) => s.name),
    );
    // 0x20000000 = level 2
    expect(names(selectIdleStates({ nvramStopStateDisableMask: 0x20000000 }))).toEqual([
      "stop0_lite",
      "stop0",
      "stop1",
      "stop4",
      "stop5",
    ]);
  });

  it("without the wakeup engine only fast states are published and deep states are off", () => {
    const sel = selectIdleStates({ wakeupEngine: false });
    expect(names(sel)).toEqual(["stop0_lite", "stop0", "stop1", "stop2"]);
    expect(sel.states.every((s) => s.flags & OPAL_PM_STOP_INST_FAST)).toBe(true);
    expect(sel.hasDeepStates).toBe(false);
  });

  it("hostboot levels decide: no levels -> no states; only shallow levels -> no deep states", () => {
    const none = selectIdleStates({ enabledStopLevels: 0 });
    expect(none.states).toEqual([]);
    expect(none.hasDeepStates).toBe(false);
    const shallow = selectIdleStates({ enabledStopLevels: 0xe0000000 });
    expect(names(shallow)).toEqual(["stop0_lite", "stop0", "stop1", "stop2"]);
    expect(shallow.hasDeepStates).toBe(false);
    expect(shallow.states.some((s) => s.flags & OPAL_PM_STOP_INST_DEEP)).toBe(false);
  });
});
