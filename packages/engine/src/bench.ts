import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";

/** The machine a benchmark ran on, recorded beside its figures. */
export interface BenchMachine {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  platform: string;
  arch: string;
}

export interface BenchResult {
  name: string;
  machine: BenchMachine;
  node: string;
  seed: string | number;
  date: string;
  [figure: string]: unknown;
}

export function benchMachine(): BenchMachine {
  const c = cpus();
  return {
    cpuModel: c[0]?.model ?? "unknown",
    cores: c.length,
    memoryBytes: totalmem(),
    platform: process.platform,
    arch: process.arch,
  };
}

/** The workspace root: the nearest directory above `from` that holds pnpm-workspace.yaml. */
export function findWorkspaceRoot(from: string = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(from);
    dir = up;
  }
}

/**
 * Writes `bench-results/<name>.json` at the workspace root with the machine, the Node version,
 * the seed and the given figures; returns the path.
 */
export function writeBenchResult(
  name: string,
  seed: string | number,
  figures: Record<string, unknown>,
): string {
  const root = findWorkspaceRoot();
  const dir = join(root, "bench-results");
  mkdirSync(dir, { recursive: true });
  const result: BenchResult = {
    name,
    machine: benchMachine(),
    node: process.version,
    seed,
    date: new Date().toISOString(),
    ...figures,
  };
  const path = join(dir, `${name}.json`);
  // written beside the target and renamed over it: a failed write leaves the earlier results
  const temp = join(dir, `.${name}.json.${process.pid}.tmp`);
  try {
    writeFileSync(temp, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
  return path;
}
