// The preset table against its sources: each design of DOMAIN.md section 4 (the mail thread's
// designs: "[RFC/PATCH 0/3] Add support for stop instruction inside KVM guest" and the replies)
// and each host of section 4's last paragraph, read back from what the layers do with it when the
// host boots from the preset and QEMU starts the design's guest on it (no guest instruction runs:
// a few milliseconds of wall time for all twenty pairs). A changed field of the table fails here
// with the fact of the thread it breaks.
import { Simulation } from "@stopsim/engine";
import { parseCommandLine, QemuError } from "@stopsim/qemu";
import { describe, expect, it } from "vitest";
import { DESIGNS, type DesignSpec, findDesign, findHost, HOSTS, type HostPreset } from "./presets.js";
import { createDesignGuest, DEFAULT_GUEST, qemuCommandLine, startQemu } from "./run.js";
import { capsRecord, type HostReport, hostReport, stopLitePermitted } from "./scenarios.js";
import { bootSimHost } from "./stack.js";

interface Pair {
  host: HostReport;
  threads: number;
  release: string;
  /** QEMU's start: the guest tree's ibm,stop-lite-permitted and cap-stop-lite, or QEMU's refusal. */
  qemu: { permitted: boolean; capStopLite: string | undefined } | { error: string };
}

function boot(hostName: string, designName: string, machine?: string): Pair {
  const design = findDesign(designName);
  const preset = findHost(hostName);
  const sim = new Simulation();
  const h = bootSimHost(sim, preset, design);
  const image = createDesignGuest(sim, design, DEFAULT_GUEST);
  const d: DesignSpec = machine === undefined ? design : { ...design, machine };
  const q = startQemu(sim, h, d, image, qemuCommandLine(d, DEFAULT_GUEST), "guest");
  return {
    host: hostReport(h),
    threads: h.machine.threads.length,
    release: image.release,
    qemu: q.ok
      ? { permitted: stopLitePermitted(q.qemu), capStopLite: capsRecord(q.qemu)["cap-stop-lite"] }
      : { error: q.error },
  };
}

const OLD = ["dd2.2-old", "dd2.3-old"];
const UPGRADED = ["dd2.2", "dd2.3"];

describe("the hosts (DOMAIN.md section 4: DD level, firmware, kernel)", () => {
  it("the four presets: DD2.2 and DD2.3, each old and upgraded, in that order", () => {
    expect(HOSTS.map((h) => h.name)).toEqual([...OLD, ...UPGRADED]);
    for (const name of [...OLD, ...UPGRADED]) {
      const r = boot(name, "spapr-cap").host;
      const dd = name.startsWith("dd2.2") ? "DD2.2" : "DD2.3";
      // the chip the machine is built with is the DD level the name and the description say
      expect(r.chip).toBe(`POWER9 ${dd}`);
      expect(findHost(name).description).toContain(`POWER9 ${dd}`);
    }
  });

  it("an old host runs the 2020 firmware and the 2020 kernel whatever the design", () => {
    for (const name of OLD)
      for (const d of DESIGNS) {
        const r = boot(name, d.name).host;
        expect(r.firmware).toBe("2020");
        expect(r.kvmBuild).toBe("upstream-2020");
        expect(r.psscrPolicy).toBe("always-set");
        expect(r.emulateStopTrap).toBe(false);
        // the 2020 firmware never publishes idle-stop-guest, whatever the chip
        expect(r.idleStopGuestInDt).toBe(false);
        expect(r.enableGuestStop).toBe(false);
      }
    for (const name of OLD)
      expect(findHost(name).description).toContain("2020 firmware, 2020 upstream host kernel");
  });

  it("an upgraded host runs the new firmware (idle-stop-guest on DD2.3 only) and the design's kernel", () => {
    for (const name of UPGRADED)
      for (const d of DESIGNS) {
        const r = boot(name, d.name).host;
        expect(r.firmware).toBe("new");
        expect(r.kvmBuild).toBe(d.hostKvm);
        expect(r.idleStopGuestInDt).toBe(name === "dd2.3");
      }
    for (const name of UPGRADED) expect(findHost(name).description).toContain("new firmware");
    expect(findHost("dd2.3").description).toContain("publishes idle-stop-guest");
  });

  it("each host is one POWER9 chip of four SMT4 cores: room for the thread's guest (2 vCores bound to cores)", () => {
    for (const h of HOSTS) {
      expect([h.sockets, h.coresPerSocket]).toEqual([1, 4]);
      expect(boot(h.name, "upstream-2020").threads).toBe(16);
    }
  });
});

/** What the host kernel of a design does on the upgraded DD2.2 and DD2.3 hosts. */
function designOnUpgraded(design: string): [Pair, Pair] {
  return [boot("dd2.2", design), boot("dd2.3", design)];
}

describe("the designs (DOMAIN.md section 4 table)", () => {
  it("the five designs of the thread, in the order the table compares them", () => {
    expect(DESIGNS.map((d) => d.name)).toEqual([
      "upstream-2020",
      "rfc-as-posted",
      "host-probed",
      "emulate-fallback",
      "spapr-cap",
    ]);
  });

  it("upstream-2020: EC always set, no stop emulation, nothing new in QEMU, no stop0lite in the guest", () => {
    for (const p of designOnUpgraded("upstream-2020")) {
      expect(p.host).toMatchObject({
        kvmBuild: "upstream-2020",
        psscrPolicy: "always-set",
        emulateStopTrap: false,
      });
      expect(p.host.kvmCapStop).toBe(0);
      expect(p.host.kvmCapGuestStop).toBe(0);
      expect(p.qemu).toEqual({ permitted: false, capStopLite: "off" });
      expect(p.release).toBe("5.6.0");
    }
    expect(findDesign("upstream-2020").description).toContain("no stop emulation");
  });

  it("rfc-as-posted: patches 1+2 (EC never forced, the trap emulated), stop0lite always", () => {
    for (const p of designOnUpgraded("rfc-as-posted")) {
      expect(p.host).toMatchObject({ psscrPolicy: "always-clear", emulateStopTrap: true });
      expect(p.host.kvmCapStop).toBe(0);
      expect(p.qemu).toEqual({ permitted: false, capStopLite: "off" });
      expect(p.release).toBe("5.6.0-stop0lite-always");
    }
    expect(findDesign("rfc-as-posted").description).toContain("always clears ESL|EC");
  });

  it("host-probed (Nack'd): idle-stop-guest -> enable_guest_stop -> KVM_CAP_STOP, QEMU tells the guest by the tree", () => {
    const [dd22, dd23] = designOnUpgraded("host-probed");
    for (const p of [dd22, dd23]) {
      expect(p.host).toMatchObject({ psscrPolicy: "clear-if-enable-guest-stop", emulateStopTrap: false });
      expect(p.release).toBe("5.6.0-stop0lite-platform");
    }
    expect([dd22.host.enableGuestStop, dd23.host.enableGuestStop]).toEqual([false, true]);
    expect([dd22.host.kvmCapStop, dd23.host.kvmCapStop]).toEqual([0, 1]);
    // QEMU copies KVM_CAP_STOP into the guest tree: the guest is told on DD2.3 only
    expect(dd22.qemu).toEqual({ permitted: false, capStopLite: "off" });
    expect(dd23.qemu).toEqual({ permitted: true, capStopLite: "off" });
    expect(findDesign("host-probed").description).toContain("KVM_CAP_STOP");
    expect(findDesign("host-probed").description).toContain("Nack'd");
  });

  it("emulate-fallback: native if idle-stop-guest, else trap and emulate; nothing new in QEMU; stop0lite iff ARCH_300", () => {
    const [dd22, dd23] = designOnUpgraded("emulate-fallback");
    for (const p of [dd22, dd23]) {
      expect(p.host).toMatchObject({ psscrPolicy: "clear-if-enable-guest-stop", emulateStopTrap: true });
      expect(p.host.kvmCapStop).toBe(0);
      // the guest is told nothing: it decides by CPU_FTR_ARCH_300 alone
      expect(p.qemu).toEqual({ permitted: false, capStopLite: "off" });
      expect(p.release).toBe("5.6.0-stop0lite-arch300");
    }
    expect([dd22.host.enableGuestStop, dd23.host.enableGuestStop]).toEqual([false, true]);
    expect(findDesign("emulate-fallback").description).toContain("CPU_FTR_ARCH_300");
  });

  it("spapr-cap (agreed): emulate-fallback KVM reporting support, cap-stop-lite on by default from pseries-5.1", () => {
    const [dd22, dd23] = designOnUpgraded("spapr-cap");
    for (const p of [dd22, dd23]) {
      expect(p.host).toMatchObject({ kvmBuild: "fallback", emulateStopTrap: true });
      expect(p.host.kvmCapGuestStop).toBeGreaterThan(0);
      expect(p.qemu).toEqual({ permitted: true, capStopLite: "on" });
      expect(p.release).toBe("5.6.0-stop0lite-platform");
    }
    // an older machine type keeps the cap off and the guest is not told
    expect(boot("dd2.3", "spapr-cap", "pseries-5.0").qemu).toEqual({ permitted: false, capStopLite: "off" });
    // new machine type + old host kernel: QEMU refuses to start, naming the cap=off way out
    for (const name of OLD) {
      const q = boot(name, "spapr-cap").qemu;
      expect("error" in q && q.error).toContain("Try appending -machine cap-stop-lite=off");
    }
    expect(findDesign("spapr-cap").description).toContain("pseries-5.1");
  });

  it("only the spapr-cap design's QEMU knows cap-stop-lite; every other design's guest runs the pre-5.1 machine", () => {
    for (const d of DESIGNS) {
      const parse = () => parseCommandLine("-M pseries-5.0,cap-stop-lite=on -cpu POWER9", d.qemu);
      if (d.name === "spapr-cap") expect(parse).not.toThrow();
      else expect(parse).toThrow(QemuError);
      expect(d.machine).toBe(d.name === "spapr-cap" ? "pseries-5.1" : "pseries-5.0");
      // only the host-probed QEMU copies KVM_CAP_STOP into the guest tree
      expect(d.qemu.probeKvmCapStop).toBe(d.name === "host-probed");
    }
  });
});

describe("a host preset's settings reach the machine and the firmware", () => {
  it("a scenario host's sockets, cores and chip build the machine OPAL describes", () => {
    const lab: HostPreset = { ...findHost("dd2.2"), name: "lab", sockets: 2, coresPerSocket: 3 };
    const sim = new Simulation();
    const h = bootSimHost(sim, lab, findDesign("emulate-fallback"));
    expect(h.machine.threads.length).toBe(2 * 3 * 4);
    expect(hostReport(h)).toMatchObject({ name: "lab", chip: "POWER9 DD2.2", kvmBuild: "fallback" });
  });
});
