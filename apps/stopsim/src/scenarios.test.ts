// Cross-layer scenarios: the behaviours of the domain brief (section 5) must come out of real runs
// of firmware, host kernel + KVM, QEMU and the guest kernel.
import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { runMatrix } from "./matrix.js";
import { runMigrate } from "./migrate.js";
import { runBoot } from "./scenarios.js";

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
    // libvirt aborts in prepare: QEMU never migrated, so there is no query-migrate error to show
    expect(r.migration.managementLayer).toBe("libvirt");
    expect(r.migration.status).toBe("none");
    expect(r.migration.errorDesc).toBeUndefined();
    expect(r.migration.failedPhase).toBe("prepare");
    expect(r.migration.virError).toMatchObject({ code: 1, domain: 10, level: 2 });
    expect(r.migration.virError?.message).toMatch(
      /^internal error: QEMU unexpectedly closed the monitor \(vm='guest'\): qemu-system-ppc64: Guest use of the lite stop/,
    );
    expect(r.detail).toMatch(/^refused in prepare: internal error: QEMU unexpectedly closed the monitor/);
    expect(r.migration.sourceAfter).toEqual({
      status: "running",
      guestState: "running",
      progressed: true,
      wasPaused: false,
    });
  });

  it("spapr-cap with the destination's cap turned off: the stream is refused, libvirt resumes the source", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", { ...opts, destCaps: { "stop-lite": "off" } });
    expect(r.outcome).toBe("refused");
    expect(r.migration.status).toBe("completed");
    expect(r.migration.failedPhase).toBe("finish3");
    expect(r.migration.virError?.message).toContain("cap-stop-lite higher level (1) in incoming stream");
    expect(r.migration.sourceAfter).toMatchObject({ status: "running", progressed: true, wasPaused: true });
    const rp = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", {
      ...opts,
      destCaps: { "stop-lite": "off" },
      returnPath: true,
    });
    expect(rp.migration.failedPhase).toBe("perform3");
    expect(rp.migration.virError?.message).toBe("operation failed: migration out job: unexpectedly failed");
    expect(rp.migration.sourceAfter).toMatchObject({ status: "running", progressed: true });
  });

  it("--no-libvirt: QEMU alone completes, the destination exits and the source stays paused in postmigrate", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", {
      ...opts,
      destCaps: { "stop-lite": "off" },
      noLibvirt: true,
    });
    expect(r.migration.managementLayer).toBe("none");
    expect(r.migration.status).toBe("completed");
    expect(r.outcome).toBe("hung");
    expect(r.migration.sourceAfter).toMatchObject({
      status: "postmigrate",
      progressed: false,
      wasPaused: true,
    });
    expect(r.destination.error).toContain("cap-stop-lite higher level (1) in incoming stream");
    // with the return path QEMU itself resumes the source
    const rp = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", {
      ...opts,
      destCaps: { "stop-lite": "off" },
      noLibvirt: true,
      returnPath: true,
    });
    expect(rp.migration.status).toBe("failed");
    expect(rp.outcome).toBe("refused");
    expect(rp.migration.sourceAfter).toMatchObject({ status: "running", progressed: true });
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
    // the management layer produced the refusal and names the phase that failed
    const refused = rows.find((r) => r.outcome === "refused");
    expect(refused?.detail).toMatch(
      /^refused in prepare: internal error: QEMU unexpectedly closed the monitor/,
    );
    expect(refused?.detail).toMatch(/source running, never paused$/);
  });
});

describe("the 2020 guest as KVM runs it", () => {
  it("every design's guest registers shared_states, from the VPA bit KVM's H_REGISTER_VPA set", () => {
    for (const [design, stop0lite] of [
      ["upstream-2020", false],
      ["rfc-as-posted", true],
      ["host-probed", true],
      ["emulate-fallback", true],
      ["spapr-cap", true],
    ] as const) {
      const r = runBoot("dd2.3", design, { ...opts, durationNs: 10 * NS_PER_MS });
      expect(r.guest.cpuidleTable).toEqual({
        table: "shared_states",
        lppacaOldStatus: 0x02,
        sharedProc: true,
        governor: "menu",
      });
      expect(r.guest.idleStatesOffered).toEqual(
        stop0lite ? ["snooze", "stop0lite", "Shared Cede"] : ["snooze", "Shared Cede"],
      );
    }
  });

  it("menu is the default governor; its per-state usage shows snooze-timeout chains under 100 us timers", () => {
    const r = runBoot("dd2.3", "spapr-cap", opts);
    expect(r.guest.cpuidleTable.governor).toBe("menu");
    const snooze = r.guest.idleStates.snooze;
    // timed-out snoozes are recorded as idle periods shorter than the next state's residency
    expect(snooze?.below ?? 0).toBeGreaterThan((snooze?.usage ?? 0) / 2);
  });

  it("the pre-DD2.3 erratum is counted where it fires (rfc-as-posted on DD2.2: native stop) and only there", () => {
    const rows = runMatrix({
      ...opts,
      designNames: ["rfc-as-posted", "spapr-cap"],
      hostNames: ["dd2.2", "dd2.3"],
    });
    const cell = (d: string, f: string, t: string) =>
      rows.find((r) => r.design === d && r.from === f && r.to === t);
    const hit = cell("rfc-as-posted", "dd2.2", "dd2.2");
    expect(hit?.outcome).toBe("native");
    expect(hit?.seeds[0].hazards.lostWakeups).toBeGreaterThan(0);
    expect(hit?.detail).toMatch(/hazards: \d+ lost wake-up/);
    for (const r of rows) {
      // rfc-as-posted never forces EC: its guest stops natively on DD2.2, as source or destination
      const nativeOnDd22 = r.design === "rfc-as-posted" && (r.from === "dd2.2" || r.to === "dd2.2");
      if (!nativeOnDd22) expect(r.seeds[0].hazards.lostWakeups).toBe(0);
    }
  });
});
