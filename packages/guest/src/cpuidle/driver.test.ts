// The pseries idle state tables per kernel configuration (pseries_idle_probe), and the menu
// governor of @stopsim/linux run on the table a KVM guest registers.
import { CPU_FTRS_POWER8, CPU_FTRS_POWER9_DD2_2, CpuidleDevice, MenuGovernor } from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { pseriesIdleProbe, type Stop0liteMode } from "./driver.js";

function sharedDriver(stop0lite: Stop0liteMode = "always") {
  return pseriesIdleProbe({
    shared: true,
    stop0lite,
    cpuFeatures: CPU_FTRS_POWER9_DD2_2,
    stopLitePermitted: false,
    tbFreq: 512_000_000,
  });
}

describe("pseries idle state tables per kernel configuration", () => {
  const cases: Array<[Stop0liteMode, bigint, boolean, string[]]> = [
    ["never", CPU_FTRS_POWER9_DD2_2, true, ["snooze", "Shared Cede"]],
    ["always", CPU_FTRS_POWER8, false, ["snooze", "stop0lite", "Shared Cede"]],
    ["arch300", CPU_FTRS_POWER9_DD2_2, false, ["snooze", "stop0lite", "Shared Cede"]],
    ["arch300", CPU_FTRS_POWER8, true, ["snooze", "Shared Cede"]],
    ["platform", CPU_FTRS_POWER9_DD2_2, false, ["snooze", "Shared Cede"]],
    ["platform", CPU_FTRS_POWER9_DD2_2, true, ["snooze", "stop0lite", "Shared Cede"]],
    ["platform", CPU_FTRS_POWER8, true, ["snooze", "stop0lite", "Shared Cede"]],
  ];
  for (const [mode, ftrs, permitted, names] of cases) {
    it(`${mode}, ${ftrs === CPU_FTRS_POWER8 ? "POWER8 features" : "ARCH_300"}, permitted=${permitted}`, () => {
      const drv = pseriesIdleProbe({
        shared: true,
        stop0lite: mode,
        cpuFeatures: ftrs,
        stopLitePermitted: permitted,
        tbFreq: 512_000_000,
      });
      expect(drv.states.map((s) => s.name)).toEqual(names);
    });
  }

  it("has the driver's latencies and residencies", () => {
    const drv = sharedDriver();
    expect(drv.states.map((s) => [s.name, s.desc, s.exitLatencyUs, s.targetResidencyUs])).toEqual([
      ["snooze", "snooze", 0, 0],
      ["stop0lite", "Pauses the CPU", 2, 20],
      ["Shared Cede", "Shared Cede", 10, 100],
    ]);
    const ded = pseriesIdleProbe({
      shared: false,
      stop0lite: "always",
      cpuFeatures: CPU_FTRS_POWER9_DD2_2,
      stopLitePermitted: true,
      tbFreq: 512_000_000,
    });
    // the patch adds stop0lite to shared_states only
    expect(ded.states.map((s) => [s.name, s.desc, s.exitLatencyUs, s.targetResidencyUs])).toEqual([
      ["snooze", "snooze", 0, 0],
      ["CEDE", "CEDE", 10, 100],
    ]);
  });

  it("computes snooze_timeout from the next state's residency", () => {
    expect(sharedDriver("always").snoozeTimeoutTb).toBe(20 * 512);
    expect(sharedDriver("never").snoozeTimeoutTb).toBe(100 * 512);
  });

  it("snooze_timeout: whole timebase ticks per us (tb_ticks_per_usec), on the dedicated table too", () => {
    // tb_ticks_per_usec = ppc_tb_freq / 1000000 in integer arithmetic: 512.999999 MHz -> 512
    const probe = (shared: boolean, tbFreq: number) =>
      pseriesIdleProbe({
        shared,
        stop0lite: "always",
        cpuFeatures: CPU_FTRS_POWER9_DD2_2,
        stopLitePermitted: false,
        tbFreq,
      });
    expect(probe(true, 512_999_999).snoozeTimeoutTb).toBe(20 * 512);
    const ded = probe(false, 512_000_000);
    expect([ded.snoozeTimeoutTb, ded.snoozeTimeoutEnabled]).toEqual([100 * 512, true]);
  });

  it("registers as pseries_idle and says which table and VPA byte it chose", () => {
    // cpuidle-pseries.c: .name = "pseries_idle"; lppaca_shared_proc() reads the VPA's
    // __old_status byte (LPPACA_OLD_SHARED_PROC = 0x02)
    const shared = sharedDriver();
    expect([shared.name, shared.shared, shared.lppacaOldStatus]).toEqual(["pseries_idle", true, 0x02]);
    expect(shared.states.map((s) => s.kind)).toEqual(["snooze", "stop0lite", "shared-cede"]);
    const ded = pseriesIdleProbe({
      shared: false,
      stop0lite: "never",
      cpuFeatures: CPU_FTRS_POWER9_DD2_2,
      stopLitePermitted: false,
      tbFreq: 512_000_000,
    });
    expect([ded.shared, ded.lppacaOldStatus]).toEqual([false, 0]);
    expect(ded.states.map((s) => s.kind)).toEqual(["snooze", "cede"]);
    // the byte as the hypervisor wrote it, when the caller read one
    const read = pseriesIdleProbe({
      shared: true,
      lppacaOldStatus: 0x03,
      stop0lite: "never",
      cpuFeatures: CPU_FTRS_POWER9_DD2_2,
      stopLitePermitted: false,
      tbFreq: 512_000_000,
    });
    expect(read.lppacaOldStatus).toBe(0x03);
  });
});

describe("menu on the shared table", () => {
  it("learns a ~30 us wakeup pattern and picks stop0lite on the table pseries_idle_probe builds", () => {
    const drv = sharedDriver();
    const dev = new CpuidleDevice(0, drv);
    const menu = new MenuGovernor();
    const picks: string[] = [];
    let now = 0;
    for (let i = 0; i < 12; i++) {
      const { index } = menu.select(dev, {
        sleepLengthNs: 4_000_000,
        deltaNextNs: 4_000_000,
        latencyReqNs: Number.POSITIVE_INFINITY,
        tickStopped: false,
        nrIowaiters: 0,
        now,
        tickNs: 10_000_000,
      });
      dev.account(index, now, now + 30_000);
      now += 30_000;
      menu.reflect(dev, index, { gotTick: false, now, tickNs: 10_000_000 });
      now += 5_000;
      picks.push(drv.states[index].kind);
    }
    expect(picks[0]).toBe("snooze");
    expect(picks.at(-1)).toBe("stop0lite");
  });
});
