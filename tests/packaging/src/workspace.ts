// What the packaging checks need to know about the workspace: its root, the publishable
// packages (every directory under packages/ with a package.json, so a new package is checked
// the day it appears), and how to run pnpm and other tools without a shell.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  description?: string;
  keywords?: string[];
  license?: string;
  repository?: { type?: string; url?: string; directory?: string } | string;
  type?: string;
  sideEffects?: boolean | string[];
  main?: string;
  types?: string;
  exports?: Record<string, unknown>;
  files?: string[];
  engines?: Record<string, string>;
  publishConfig?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export interface WorkspacePackage {
  /** directory name under packages/ */
  dir: string;
  /** absolute path */
  path: string;
  manifest: Manifest;
}

export function readManifest(path: string): Manifest {
  return JSON.parse(readFileSync(join(path, "package.json"), "utf8")) as Manifest;
}

/** Every package under packages/, sorted by directory name. */
export function publishablePackages(root = ROOT): WorkspacePackage[] {
  const base = join(root, "packages");
  return readdirSync(base)
    .sort()
    .filter((dir) => existsSync(join(base, dir, "package.json")))
    .map((dir) => ({ dir, path: join(base, dir), manifest: readManifest(join(base, dir)) }));
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; never throws on a non-zero exit (the caller asserts on it). */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1", ...opts.env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 300_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Throws with the command's output when it failed, so a test failure shows why. */
export function ok(r: RunResult, what: string): RunResult {
  if (r.code !== 0) {
    throw new Error(
      `${what} exited ${r.code}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-6000)}`,
    );
  }
  return r;
}

/**
 * pnpm as the workspace runs it: the pnpm that started this test run (npm_execpath) when there
 * is one, else pnpm 10 through npx (CONTRIBUTING.md: corepack does not work here).
 */
export function pnpm(args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  const execpath = process.env.npm_execpath;
  if (execpath && /pnpm/.test(execpath)) return run(process.execPath, [execpath, ...args], { cwd, env });
  return run("npx", ["-y", "pnpm@10", ...args], { cwd, env });
}

/** The internal dependencies of a manifest (runtime and peer), by name. */
export function internalDeps(m: Manifest, names: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const deps of [m.dependencies, m.peerDependencies]) {
    for (const [k, v] of Object.entries(deps ?? {})) if (names.has(k)) out[k] = v;
  }
  return out;
}
