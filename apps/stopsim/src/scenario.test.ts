import { describe, expect, it } from "vitest";
import { UsageError } from "./errors.js";
import { findDesign, findHost, hostKvmBuild } from "./presets.js";
import { parseScenario } from "./scenario.js";

describe("presets", () => {
  it("has the hosts and designs of the domain brief", () => {
    expect(findHost("dd2.2-old").kernel).toBe("old");
    expect(findHost("dd2.3").firmware).toBe("new");
    expect(findDesign("spapr-cap").machine).toBe("pseries-5.1");
    expect(hostKvmBuild(findHost("dd2.2-old"), findDesign("spapr-cap"))).toBe("upstream-2020");
    expect(hostKvmBuild(findHost("dd2.2"), findDesign("spapr-cap"))).toBe("fallback");
  });

  it("names the known choices for an unknown host or design", () => {
    expect(() => findHost("dd9")).toThrow(UsageError);
    expect(() => findHost("dd9")).toThrow(
      /unknown host 'dd9': expected one of dd2.2-old, dd2.3-old, dd2.2, dd2.3/,
    );
    expect(() => findDesign("nope")).toThrow(/unknown design 'nope'/);
  });
});

describe("scenario files", () => {
  const good = `
hosts:
  - name: dd2.1-lab
    chip: dd2.1
    firmware: new
designs:
  - name: cap-on-old-qemu
    hostKvm: fallback
    qemu: { stopLiteCap: true }
    machine: pseries-5.1
    guest: { stop0lite: platform }
`;

  it("parses YAML with defaults", () => {
    const sc = parseScenario(good, "lab.yaml");
    expect(sc.hosts[0]).toMatchObject({ name: "dd2.1-lab", kernel: "design", sockets: 1, coresPerSocket: 4 });
    expect(sc.designs[0].qemu).toEqual({ stopLiteCap: true, probeKvmCapStop: false });
    expect(findHost("dd2.1-lab", sc.hosts).chip).toBe("dd2.1");
  });

  it("parses JSON", () => {
    const sc = parseScenario(
      JSON.stringify({ hosts: [{ name: "x", chip: "dd2.0", firmware: "2020" }] }),
      "s.json",
    );
    expect(sc.hosts[0].chip).toBe("dd2.0");
  });

  it("names the file, the path and what was expected", () => {
    expect(() =>
      parseScenario("hosts:\n  - name: a\n    chip: dd3\n    firmware: new\n", "bad.yaml"),
    ).toThrow(/^bad.yaml: hosts\[0\]\.chip: .*dd2\.0.*dd2\.3/);
    expect(() =>
      parseScenario(
        "designs:\n  - name: d\n    hostKvm: fallback\n    qemu: {}\n    machine: q35\n    guest: {stop0lite: platform}\n",
        "d.yaml",
      ),
    ).toThrow(/d.yaml: designs\[0\]\.machine: a pseries machine type/);
    expect(() => parseScenario("hosts: [1", "broken.yaml")).toThrow(/broken.yaml: not valid YAML/);
    expect(() => parseScenario("{", "broken.json")).toThrow(/broken.json: not valid JSON/);
    expect(() => parseScenario("extra: 1", "x.yaml")).toThrow(/x.yaml: \(top level\): /);
    expect(() =>
      parseScenario("hosts:\n  - name: dd2.2\n    chip: dd2.2\n    firmware: new\n", "dup.yaml"),
    ).toThrow(/dup.yaml: hosts\[0\]\.name: 'dd2.2' is already defined/);
  });
});
