// Cross-layer scenarios: the behaviours of the domain brief (section 5) must come out of real runs
// of firmware, host kernel + KVM, QEMU and the guest kernel.
import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { runBoot, runMatrix, runMigrate } from "./scenarios.js";

const opts = { seed: 3, durationNs: 20 * NS_PER_MS };

describe("boot on one host", () => {
  it("a stop0lite guest on a 2020 host (ESL|EC set, no patch 1) dies with a program check in its idle path", () => {
    const r = runBoot("dd2.2-old", "rfc-as-posted", opts);
    expect(r.outcome).toBe("crashed");
    expect(r.guest.state).toBe("panicked");
    expect(r.host.psscrPolicy).toBe("always-set");
    expect(r.guest.consoleTail.join("\n")).toMatch(/Kernel panic - not syncing/);
    expect(r.guest.consoleTail.join("\n")).toMatch(/stop_loop/);
  });

  it("with patch 1 the same trap is emulated and the guest keeps running", () => {
    const r = runBoot("dd2.2", "emulate-fallback", opts);
    expect(r.guest.state).toBe("running");
    expect(r.outcome).toBe("emulated");
    expect(r.emulatedStops).toBeGreaterThan(0);
    expect(r.exits.H_FAC_UNAVAIL).toBeGreaterThanOrEqual(r.emulatedStops);
    expect(r.host.enableGuestStop).toBe(false);
  });

  it("DD2.3 with idle-stop-guest and the clearing policy runs stop natively with no stop exits", () => {
    const r = runBoot("dd2.3", "emulate-fallback", opts);
    expect(r.host.idleStopGuestInDt).toBe(true);
    expect(r.host.enableGuestStop).toBe(true);
    expect(r.outcome).toBe("native");
    expect(r.emulatedStops).toBe(0);
    expect(r.guest.idleStates.stop0lite.usage).toBeGreaterThan(0);
  });

  it("the new machine type on an old host kernel refuses to start, and starts with cap-stop-lite=off", () => {
    const r = runBoot("dd2.2-old", "spapr-cap", opts);
    expect(r.outcome).toBe("failed-start");
    expect(r.qemu.error).toMatch(/not available with KVM.*\n.*Try appending -machine cap-stop-lite=off/s);
    const ok = runBoot("dd2.2-old", "spapr-cap", { ...opts, machineExtra: ",cap-stop-lite=off" });
    expect(ok.qemu.started).toBe(true);
    expect(ok.qemu.stopLitePermitted).toBe(false);
    expect(ok.guest.state).toBe("running");
    expect(ok.outcome).toBe("not-used");
  });
});

describe("live migration", () => {
  it("host-probed: a guest that booted on DD2.3 dies after migrating to a 2020 DD2.2 host", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "host-probed", opts);
    expect(r.migration.status).toBe("completed");
    expect(r.source.phase?.outcome).toBe("native");
    expect(r.outcome).toBe("crashed");
  });

  it("spapr-cap: the same migration is refused up front and the source guest keeps running", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", opts);
    expect(r.outcome).toBe("refused");
    expect(r.migration.errorDesc).toMatch(/cap-stop-lite|lite stop/);
    expect(r.migration.sourceAfter?.guestState).toBe("running");
    expect(r.migration.sourceAfter?.status).toBe("running");
    expect(r.migration.sourceAfter?.progressed).toBe(true);
  });

  it("spapr-cap: DD2.3 to an upgraded DD2.2 completes and the guest's stops become emulated", () => {
    const r = runMigrate("dd2.3", "dd2.2", "spapr-cap", opts);
    expect(r.migration.status).toBe("completed");
    expect(r.migration.downtimeNs).toBeGreaterThan(0);
    expect(r.outcome).toBe("emulated");
  });
});

describe("matrix", () => {
  it("produces one row per design and ordered host pair, from runs", () => {
    const rows = runMatrix({
      ...opts,
      durationNs: 5 * NS_PER_MS,
      designNames: ["upstream-2020", "spapr-cap"],
      hostNames: ["dd2.2-old", "dd2.3"],
    });
    expect(rows).toHaveLength(8);
    const cell = (d: string, f: string, t: string) =>
      rows.find((r) => r.design === d && r.from === f && r.to === t)?.outcome;
    expect(cell("upstream-2020", "dd2.3", "dd2.3")).toBe("not-used");
    expect(cell("spapr-cap", "dd2.2-old", "dd2.2-old")).toBe("failed-start");
    expect(cell("spapr-cap", "dd2.3", "dd2.2-old")).toBe("refused");
    expect(cell("spapr-cap", "dd2.3", "dd2.3")).toBe("native");
    for (const r of rows) expect(r.detail.length).toBeGreaterThan(0);
  });
});
