// Where benchmark results go: the workspace root found from any directory below it, and what
// each result records about the machine.
import * as fs from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { benchMachine, findWorkspaceRoot, writeBenchResult } from "./index.js";

describe("benchmark results", () => {
  it("the workspace root is the nearest directory above holding pnpm-workspace.yaml", () => {
    const root = fs.mkdtempSync(join(tmpdir(), "stopsim-root-"));
    fs.writeFileSync(join(root, "pnpm-workspace.yaml"), "packages: []\n");
    const deep = join(root, "packages", "x", "bench");
    fs.mkdirSync(deep, { recursive: true });
    expect(findWorkspaceRoot(deep)).toBe(root);
    expect(findWorkspaceRoot(root)).toBe(root);
    // a nested workspace wins over the outer one
    fs.writeFileSync(join(root, "packages", "pnpm-workspace.yaml"), "packages: []\n");
    expect(findWorkspaceRoot(deep)).toBe(join(root, "packages"));
    // no workspace anywhere above: the directory itself
    const lone = fs.mkdtempSync(join(tmpdir(), "stopsim-lone-"));
    expect(findWorkspaceRoot(join(lone, "a/.."))).toBe(resolve(lone));
  });

  it("records the machine, the Node version, the seed and the figures", () => {
    const m = benchMachine();
    expect(m).toEqual({
      cpuModel: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      memoryBytes: totalmem(),
      platform: process.platform,
      arch: process.arch,
    });
    const root = fs.mkdtempSync(join(tmpdir(), "stopsim-bench-"));
    fs.writeFileSync(join(root, "pnpm-workspace.yaml"), "packages: []\n");
    const cwd = process.cwd;
    process.cwd = () => root;
    try {
      const path = writeBenchResult("probe", 42, { eventsPerSecond: 7 });
      expect(path).toBe(join(root, "bench-results", "probe.json"));
      const r = JSON.parse(fs.readFileSync(path, "utf8"));
      expect(r).toMatchObject({
        name: "probe",
        node: process.version,
        seed: 42,
        eventsPerSecond: 7,
        machine: m,
      });
      expect(Number.isNaN(Date.parse(r.date))).toBe(false);
      expect(fs.readFileSync(path, "utf8").endsWith("}\n")).toBe(true);
    } finally {
      process.cwd = cwd;
    }
  });
});
