// Global setup: packs every package under packages/ once with `pnpm pack` (which rewrites
// `workspace:*` the way `pnpm publish` does) into a temporary directory that every test file
// reads; removed at teardown.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ok, pnpm, publishablePackages, ROOT } from "./workspace.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** package name -> absolute path of its packed tarball */
    tarballs: Record<string, string>;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const packages = publishablePackages();
  const unbuilt = packages.filter((p) => !existsSync(join(p.path, "dist", "index.js")));
  if (unbuilt.length > 0) {
    throw new Error(
      `not built: ${unbuilt.map((p) => p.manifest.name).join(", ")}; run \`npx -y pnpm@10 build\` first, and list ` +
        "every package under packages/ in tests/packaging/package.json devDependencies so turbo builds it before this suite",
    );
  }
  const dest = mkdtempSync(join(tmpdir(), "stopsim-pack-"));
  const r = ok(
    await pnpm(["-r", "--filter", "./packages/*", "pack", "--pack-destination", dest, "--json"], ROOT),
    "pnpm pack",
  );
  const packed = JSON.parse(r.stdout) as { name: string; filename: string }[];
  const tarballs: Record<string, string> = {};
  for (const p of packed) tarballs[p.name] = p.filename;
  project.provide("tarballs", tarballs);
  return () => rmSync(dest, { recursive: true, force: true });
}
