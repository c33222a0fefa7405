// Scenario files without the CLI: each field's documented range and default, the size, entry and
// nesting limits, names that clash with presets or each other, and reading files (loadScenario).
// Every refusal names the file, the path in it and what was expected.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadScenario, parseScenario } from "./scenario.js";
import { usageMessage } from "./test-helpers/usage.js";

const host = (fields: Record<string, unknown> = {}) => ({
  name: "lab",
  chip: "dd2.2",
  firmware: "new",
  ...fields,
});
const design = (fields: Record<string, unknown> = {}) => ({
  name: "mine",
  hostKvm: "fallback",
  qemu: {},
  machine: "pseries-5.1",
  guest: { stop0lite: "platform" },
  ...fields,
});
const json = (doc: unknown) => JSON.stringify(doc);

const loadRefusal = (file: string) => usageMessage(() => loadScenario(file));
const refusal = (text: string, file = "s.json") => usageMessage(() => parseScenario(text, file));

describe("scenario fields", () => {
  it("fills each default and keeps what is given", () => {
    const sc = parseScenario(json({ hosts: [host()], designs: [design()] }), "s.json");
    expect(sc.hosts).toEqual([
      {
        name: "lab",
        description: "user-defined host",
        chip: "dd2.2",
        firmware: "new",
        kernel: "design",
        sockets: 1,
        coresPerSocket: 4,
      },
    ]);
    expect(sc.designs).toEqual([
      {
        name: "mine",
        description: "user-defined design",
        hostKvm: "fallback",
        qemu: { stopLiteCap: false, probeKvmCapStop: false },
        machine: "pseries-5.1",
        guest: { stop0lite: "platform" },
      },
    ]);
    expect(sc.guest).toBeUndefined();
    expect(sc.file).toBe("s.json");
    const full = parseScenario(
      json({
        hosts: [
          host({ sockets: 16, coresPerSocket: 24, kernel: "patch2-as-posted", lostWakeupProbability: 1 }),
        ],
        guest: { smp: "4", memory: "2G", workload: "timers", governor: "teo", watchdogThresh: "5ms" },
      }),
      "s.json",
    );
    expect(full.hosts[0]).toMatchObject({ sockets: 16, coresPerSocket: 24, kernel: "patch2-as-posted" });
    expect(full.guest).toEqual({
      smp: "4",
      memory: "2G",
      workload: "timers",
      governor: "teo",
      watchdogThresh: "5ms",
    });
    expect(parseScenario("", "empty.yaml")).toEqual({
      file: "empty.yaml",
      hosts: [],
      designs: [],
      guest: undefined,
    });
  });

  it("takes every chip, firmware, KVM build, stop0lite policy and governor", () => {
    for (const chip of ["dd2.0", "dd2.1", "dd2.2", "dd2.3"])
      expect(parseScenario(json({ hosts: [host({ chip })] }), "s.json").hosts[0].chip).toBe(chip);
    for (const firmware of ["2020", "new"]) parseScenario(json({ hosts: [host({ firmware })] }), "s.json");
    for (const kernel of ["old", "design", "upstream-2020", "patch2-as-posted", "host-probed", "fallback"])
      parseScenario(json({ hosts: [host({ kernel })] }), "s.json");
    for (const hostKvm of ["upstream-2020", "patch2-as-posted", "host-probed", "fallback"])
      parseScenario(json({ designs: [design({ hostKvm })] }), "s.json");
    for (const stop0lite of ["never", "always", "arch300", "platform"])
      parseScenario(json({ designs: [design({ guest: { stop0lite } })] }), "s.json");
    for (const governor of ["menu", "teo"]) parseScenario(json({ guest: { governor } }), "s.json");
    for (const machine of ["pseries", "pseries-5.0", "pseries-10.12"])
      parseScenario(json({ designs: [design({ machine })] }), "s.json");
    for (const name of ["a", "0", "dd2.3-lab_x"]) parseScenario(json({ hosts: [host({ name })] }), "s.json");
  });

  it("refuses each field out of its range, naming the path", () => {
    const bad: [unknown, RegExp][] = [
      [{ hosts: [host({ sockets: 0 })] }, /^s\.json: hosts\[0\]\.sockets: /],
      [{ hosts: [host({ sockets: 17 })] }, /^s\.json: hosts\[0\]\.sockets: /],
      [{ hosts: [host({ sockets: 1.5 })] }, /^s\.json: hosts\[0\]\.sockets: /],
      [{ hosts: [host({ coresPerSocket: 0 })] }, /hosts\[0\]\.coresPerSocket: /],
      [{ hosts: [host({ coresPerSocket: 25 })] }, /hosts\[0\]\.coresPerSocket: /],
      [{ hosts: [host({ coresPerSocket: 2.5 })] }, /hosts\[0\]\.coresPerSocket: /],
      [{ hosts: [host({ lostWakeupProbability: -0.1 })] }, /hosts\[0\]\.lostWakeupProbability: /],
      [{ hosts: [host({ lostWakeupProbability: 1.1 })] }, /hosts\[0\]\.lostWakeupProbability: /],
      [{ hosts: [host({ firmware: "2021" })] }, /hosts\[0\]\.firmware: /],
      [{ hosts: [host({ kernel: "new" })] }, /hosts\[0\]\.kernel: /],
      [
        { hosts: [host({ name: "Lab" })] },
        /hosts\[0\]\.name: a lower-case name of letters, digits, '\.', '_' or '-'/,
      ],
      [{ hosts: [host({ name: "-lab" })] }, /hosts\[0\]\.name: a lower-case name/],
      [{ hosts: [host({ name: "la b" })] }, /hosts\[0\]\.name: a lower-case name/],
      [{ hosts: [host({ extra: 1 })] }, /hosts\[0\]: /],
      [{ designs: [design({ hostKvm: "old" })] }, /designs\[0\]\.hostKvm: /],
      [
        { designs: [design({ machine: "pseries-5" })] },
        /designs\[0\]\.machine: a pseries machine type such as pseries-5\.1/,
      ],
      [{ designs: [design({ machine: "xpseries-5.1" })] }, /designs\[0\]\.machine: a pseries/],
      [{ designs: [design({ machine: "pseries-5.1x" })] }, /designs\[0\]\.machine: a pseries/],
      [{ designs: [design({ qemu: { stopLiteCap: true, x: 1 } })] }, /designs\[0\]\.qemu: /],
      [{ designs: [design({ qemu: { stopLiteCap: "yes" } })] }, /designs\[0\]\.qemu\.stopLiteCap: /],
      [{ designs: [design({ guest: { stop0lite: "sometimes" } })] }, /designs\[0\]\.guest\.stop0lite: /],
      [{ designs: [design({ guest: { stop0lite: "never", x: 1 } })] }, /designs\[0\]\.guest: /],
      [{ guest: { governor: "ladder" } }, /^s\.json: guest\.governor: /],
      [{ guest: { cpus: 4 } }, /^s\.json: guest: /],
      [{ guest: { smp: 4 } }, /^s\.json: guest\.smp: /],
      [[1], /^s\.json: \(top level\): /],
    ];
    for (const [doc, re] of bad) expect(refusal(json(doc)), json(doc)).toMatch(re);
  });

  it("refuses a name given twice or a preset's, saying which entry", () => {
    expect(refusal(json({ hosts: [host(), host({ name: "b" }), host({ name: "b" })] }))).toBe(
      "s.json: hosts[2].name: 'b' is already defined; choose another name",
    );
    expect(refusal(json({ designs: [design({ name: "spapr-cap" })] }))).toBe(
      "s.json: designs[0].name: 'spapr-cap' is already defined; choose another name",
    );
    expect(refusal(json({ designs: [design(), design()] }))).toBe(
      "s.json: designs[1].name: 'mine' is already defined; choose another name",
    );
    // a host and a design may share a name
    const sc = parseScenario(
      json({ hosts: [host({ name: "x" })], designs: [design({ name: "x" })] }),
      "s.json",
    );
    expect([sc.hosts[0].name, sc.designs[0].name]).toEqual(["x", "x"]);
  });

  it("says which syntax is broken by the file's extension, first line of the parser's message", () => {
    expect(refusal("{", "a.json")).toMatch(/^a\.json: not valid JSON: /);
    let why = "";
    try {
      parseYaml("a: [");
    } catch (e) {
      why = (e as Error).message;
    }
    expect(why).toContain("\n");
    expect(refusal("a: [", "a.yml")).toBe(`a.yml: not valid YAML: ${why.split("\n")[0]}`);
    // a .json file is read as JSON only
    expect(refusal("hosts: []", "a.json")).toMatch(/^a\.json: not valid JSON: /);
    expect(parseScenario("null", "n.json").hosts).toEqual([]);
  });

  it("takes up to the limits of size, entries and nesting, and refuses one more", () => {
    const entries = (n: number) => Array.from({ length: n }, (_, i) => host({ name: `h${i}` }));
    expect(parseScenario(json({ hosts: entries(1000) }), "s.json").hosts).toHaveLength(1000);
    expect(refusal(json({ hosts: entries(1001) }))).toBe(
      "s.json: hosts: 1001 entries is above the limit of 1000",
    );
    const designs = Array.from({ length: 1001 }, (_, i) => design({ name: `d${i}` }));
    expect(refusal(json({ designs }))).toBe("s.json: designs: 1001 entries is above the limit of 1000");
    const padded = (bytes: number) => `{"hosts": []}${" ".repeat(bytes - 13)}`;
    expect(parseScenario(padded(1024 * 1024), "s.json").hosts).toEqual([]);
    expect(refusal(padded(1024 * 1024 + 1))).toBe(
      "s.json: 1048577 bytes is above the scenario limit of 1048576 bytes (1 MiB)",
    );
    // bytes, not characters
    expect(refusal(`{"hosts": []}${"é".repeat(524_283)}`)).toMatch(/1048579 bytes is above/);
    const nest = (d: number) => `${"[".repeat(d)}${"]".repeat(d)}`;
    // 16 levels: the guest object and 15 arrays in it pass the depth check (and fail the schema)
    expect(refusal(`{"guest": {"smp": ${nest(14)}}}`)).toMatch(/guest\.smp: /);
    expect(refusal(`{"guest": {"smp": ${nest(15)}}}`)).toBe(
      "s.json: nested deeper than 16 levels: a scenario needs 4 (hosts, a host, its fields)",
    );
    expect(refusal(`{"guest": {"smp": ${nest(200)}}}`)).toMatch(/nested deeper than 16 levels/);
    // a value at the 16th level is not a 17th
    expect(refusal(`{"guest": {"smp": ${"[".repeat(14)}1${"]".repeat(14)}}}`)).toMatch(/guest\.smp: /);
    // nesting past what the YAML parser's stack takes is refused the same way
    expect(refusal(`guest: ${"[".repeat(20_000)}${"]".repeat(20_000)}`, "deep.yaml")).toBe(
      "deep.yaml: nested deeper than 16 levels: a scenario needs 4 (hosts, a host, its fields)",
    );
  });
});

describe("reading scenario files", () => {
  const dir = mkdtempSync(join(tmpdir(), "stopsim-scenario-"));

  it("reads a file whole, by its extension", () => {
    const f = join(dir, "lab.yaml");
    writeFileSync(f, "hosts:\n  - { name: lab, chip: dd2.3, firmware: new }\n");
    expect(loadScenario(f).hosts[0]).toMatchObject({ name: "lab", chip: "dd2.3" });
    const big = join(dir, "big.json");
    // larger than one read: the file is read to its end
    const hosts = Array.from({ length: 900 }, (_, i) =>
      host({ name: `h${i}`, description: "x".repeat(200) }),
    );
    writeFileSync(big, json({ hosts }));
    expect(loadScenario(big).hosts).toHaveLength(900);
  });

  it("refuses a missing file, a directory and a file past the size limit, naming the file", () => {
    const missing = join(dir, "nope.yaml");
    expect(loadRefusal(missing)).toBe(`${missing}: cannot read the scenario file (ENOENT): check the path`);
    mkdirSync(join(dir, "sub"));
    expect(loadRefusal(join(dir, "sub"))).toBe(`${join(dir, "sub")} is a directory: give a scenario file`);
    const big = join(dir, "big.yaml");
    writeFileSync(big, `# ${"x".repeat(1024 * 1024)}\n`);
    expect(loadRefusal(big)).toBe(`${big}: larger than the scenario limit of 1048576 bytes (1 MiB)`);
    const exact = join(dir, "exact.yaml");
    writeFileSync(exact, `#${"x".repeat(1024 * 1024 - 2)}\n`);
    expect(loadScenario(exact).hosts).toEqual([]);
  });
});
