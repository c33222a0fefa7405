// Looking up hosts and designs: a scenario file's entries come first (a file may redefine a
// preset's name), an unknown name lists every choice, and the KVM build a host runs follows its
// kernel setting.
import { describe, expect, it } from "vitest";
import { type DesignSpec, findDesign, findHost, type HostPreset, hostKvmBuild } from "./presets.js";
import { usageMessage } from "./test-helpers/usage.js";

const labHost: HostPreset = {
  name: "dd2.3",
  description: "a lab DD2.3 pinned to the RFC's KVM",
  chip: "dd2.3",
  firmware: "new",
  kernel: "patch2-as-posted",
  sockets: 2,
  coresPerSocket: 8,
};
const labDesign: DesignSpec = {
  name: "lab",
  description: "a scenario's design",
  hostKvm: "host-probed",
  qemu: { stopLiteCap: true, probeKvmCapStop: true },
  machine: "pseries-6.0",
  guest: { stop0lite: "always" },
};

describe("host and design lookup", () => {
  it("a scenario's entries come before the presets of the same name", () => {
    expect(findHost("dd2.3", [labHost])).toBe(labHost);
    expect(findHost("dd2.2", [labHost]).name).toBe("dd2.2");
    expect(findDesign("lab", [labDesign])).toBe(labDesign);
    expect(findDesign("spapr-cap", [labDesign]).name).toBe("spapr-cap");
  });

  it("an unknown name lists the scenario's and the presets' names and how to add one", () => {
    expect(() => findDesign("nope", [labDesign])).toThrow(
      "unknown design 'nope': expected one of lab, upstream-2020, rfc-as-posted, host-probed, emulate-fallback, spapr-cap (or define it in a --scenario file)",
    );
    expect(() => findHost("dd9", [labHost])).toThrow(
      "unknown host 'dd9': expected one of dd2.3, dd2.2-old, dd2.3-old, dd2.2, dd2.3 (or define it in a --scenario file)",
    );
  });

  it("without a scenario, an unknown name lists the presets alone", () => {
    expect(usageMessage(() => findDesign("nope"))).toBe(
      "unknown design 'nope': expected one of upstream-2020, rfc-as-posted, host-probed, emulate-fallback, spapr-cap (or define it in a --scenario file)",
    );
    expect(usageMessage(() => findHost("dd9"))).toBe(
      "unknown host 'dd9': expected one of dd2.2-old, dd2.3-old, dd2.2, dd2.3 (or define it in a --scenario file)",
    );
  });

  it("an old host runs the 2020 KVM, a design host the design's, a pinned host its own build", () => {
    const design = findDesign("host-probed");
    expect(hostKvmBuild(findHost("dd2.3-old"), design)).toBe("upstream-2020");
    expect(hostKvmBuild(findHost("dd2.3"), design)).toBe("host-probed");
    expect(hostKvmBuild(labHost, design)).toBe("patch2-as-posted");
    expect(hostKvmBuild(findHost("dd2.2"), findDesign("rfc-as-posted"))).toBe("patch2-as-posted");
  });
});
