// The interrupt controller as 2020 QEMU and KVM give it: pseries-5.1 defaults to ic-mode=dual, the
// guest asks for XIVE at CAS; `-M pseries-5.1,ic-mode=xics` gives the XICS path. Outcomes must not
// depend on it; migration keeps the mode, and libvirt's migration is refused where the destination
// has no XIVE.
import { NS_PER_MS } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { runMatrix } from "./matrix.js";
import { runMigrate } from "./migrate.js";
import { runBoot } from "./scenarios.js";

const opts = { seed: 1, durationNs: 5 * NS_PER_MS };

describe("interrupt mode", () => {
  it("stopsim boot: CAS chooses XIVE by default and says why; ic-mode=xics keeps XICS", () => {
    const r = runBoot("dd2.3", "spapr-cap", opts);
    expect(r.qemu.interruptController).toEqual({
      mode: "dual",
      active: "xive",
      cas: "the platform offered both XICS and XIVE (ic-mode=dual); the guest asked for XIVE exploitation (OV5 byte 23 = 0x40)",
    });
    expect(r.exits.H_DOORBELL ?? 0).toBe(0);
    const x = runBoot("dd2.3", "spapr-cap", { ...opts, machineExtra: ",ic-mode=xics" });
    expect(x.qemu.commandLine).toContain("-M pseries-5.1,ic-mode=xics");
    expect(x.qemu.interruptController?.active).toBe("xics");
    expect(x.qemu.interruptController?.cas).toMatch(
      /only XICS \(ic-mode=xics\); the guest did not ask for XIVE/,
    );
    expect(x.outcome).toBe(r.outcome);
  });

  it("the matrix has the same outcomes in both modes", () => {
    const cells = {
      designNames: ["upstream-2020", "rfc-as-posted", "spapr-cap"],
      hostNames: ["dd2.2-old", "dd2.3"],
    };
    const xive = runMatrix({ ...opts, ...cells });
    const xics = runMatrix({ ...opts, ...cells, machineExtra: ",ic-mode=xics" });
    expect(xive.length).toBe(12);
    expect(xics.map((r) => [r.design, r.from, r.to, r.outcome])).toEqual(
      xive.map((r) => [r.design, r.from, r.to, r.outcome]),
    );
  });

  it("migration through libvirt keeps the mode, and is refused cleanly where the destination has no XIVE", () => {
    const xive = runMigrate("dd2.3", "dd2.2", "spapr-cap", opts);
    expect(xive.migration.status).toBe("completed");
    expect(xive.migration.interruptController).toEqual({ source: "xive", destination: "xive" });
    expect(xive.outcome).toBe("emulated");
    const xics = runMigrate("dd2.3", "dd2.2", "spapr-cap", { ...opts, machineExtra: ",ic-mode=xics" });
    expect(xics.migration.interruptController).toEqual({ source: "xics", destination: "xics" });
    expect(xics.outcome).toBe("emulated");
    const refused = runMigrate("dd2.3", "dd2.2", "spapr-cap", { ...opts, destCaps: { "ic-mode": "xics" } });
    expect(refused.outcome).toBe("refused");
    expect(refused.migration.failedPhase).toBe("finish3");
    expect(refused.detail).toContain("Unknown savevm section or instance 'spapr-xive' 0");
    expect(refused.migration.sourceAfter?.guestState).toBe("running");
    expect(refused.migration.sourceAfter?.progressed).toBe(true);
  });
});
