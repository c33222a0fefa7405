// Every package under packages/ is publishable: the manifest fields a registry and a consumer
// rely on, what the packed tarball holds, and `workspace:*` rewritten to the exact versions.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { packedManifest, readTarball } from "./tarball.js";
import { internalDeps, publishablePackages, ROOT, readManifest } from "./workspace.js";

const root = readManifest(ROOT);
const packages = publishablePackages();
const names = new Set(packages.map((p) => p.manifest.name));
const versions = new Map(packages.map((p) => [p.manifest.name, p.manifest.version]));

/** TypeDoc's page name for a package's module (non-alphanumerics become "_"). */
export function apiPage(name: string): string {
  return `docs/api/modules/${name.replace(/[^A-Za-z0-9]/g, "_")}.html`;
}

describe("workspace", () => {
  it("finds the packages under packages/", () => {
    expect(packages.length).toBeGreaterThan(0);
    for (const p of packages) expect(p.manifest.name).toMatch(/^@stopsim\/[a-z0-9-]+$/);
  });

  it("this suite depends on every package, so turbo builds them all before it runs", () => {
    const own = readManifest(join(ROOT, "tests", "packaging"));
    const missing = [...names].filter((n) => own.devDependencies?.[n] !== "workspace:*");
    expect(missing, `add these to tests/packaging/package.json devDependencies as "workspace:*"`).toEqual([]);
  });

  it("has one MIT licence at the root that the root manifest names", () => {
    expect(root.license).toBe("MIT");
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License\n/);
  });

  it("changesets publish scoped packages as public", () => {
    const config = JSON.parse(readFileSync(join(ROOT, ".changeset", "config.json"), "utf8")) as {
      access: string;
    };
    expect(config.access).toBe("public");
  });
});

describe.each(packages)("$manifest.name", ({ dir, path, manifest: m }) => {
  it("has the registry fields: not private, licence, repository with directory, keywords, engines", () => {
    expect(m.private, 'remove "private": true').not.toBe(true);
    expect(m.description).toBeTruthy();
    expect(m.license).toBe(root.license);
    const repo = m.repository;
    expect(typeof repo === "object" && repo !== null, "repository must be an object with a directory").toBe(
      true,
    );
    if (typeof repo === "object") {
      const rootRepo = root.repository as { url: string };
      expect(repo.type).toBe("git");
      expect(repo.url).toBe(rootRepo.url);
      expect(repo.directory).toBe(`packages/${dir}`);
    }
    expect(m.keywords?.length ?? 0).toBeGreaterThanOrEqual(3);
    expect(m.keywords).toContain("stopsim");
    expect(m.engines?.node).toBe(root.engines?.node);
    expect(m.publishConfig?.access).toBe("public");
  });

  it("is ESM-only with types, side-effect free, and exports its single entry", () => {
    expect(m.type).toBe("module");
    expect(m.sideEffects).toBe(false);
    expect(m.exports).toEqual({
      ".": { types: "./dist/index.d.ts", default: "./dist/index.js" },
      "./package.json": "./package.json",
    });
    expect(m.types).toBe("./dist/index.d.ts");
    expect(m.main).toBe("./dist/index.js");
    expect(m.files).toContain("dist");
  });

  it("packs its build, sources for the source maps, README and the root LICENSE, and no tests", () => {
    const tgz = inject("tarballs")[m.name];
    expect(tgz, `${m.name} was not packed`).toBeTruthy();
    const files = [...readTarball(tgz).keys()];
    for (const f of [
      "package.json",
      "README.md",
      "LICENSE",
      "dist/index.js",
      "dist/index.d.ts",
      "src/index.ts",
    ]) {
      expect(files).toContain(`package/${f}`);
    }
    expect(files.filter((f) => /\.test\.|test-helpers|\/fixtures\/|\/bench\//.test(f))).toEqual([]);
    // every source map points at a source that is in the tarball
    const missing = new Set<string>();
    for (const f of files.filter((f) => f.endsWith(".map"))) {
      const map = JSON.parse(readTarball(tgz).get(f)?.toString("utf8") ?? "{}") as { sources?: string[] };
      for (const s of map.sources ?? []) {
        const target = join(f, "..", s);
        if (!files.includes(target)) missing.add(target);
      }
    }
    expect(
      [...missing],
      `source maps point at missing sources: stale files in packages/${dir}/dist from deleted sources? ` +
        `rm -rf packages/${dir}/dist and build again`,
    ).toEqual([]);
  });

  it("rewrites workspace:* to the exact version of each internal dependency", () => {
    const packed = packedManifest(inject("tarballs")[m.name]) as unknown as typeof m;
    expect(JSON.stringify(packed)).not.toContain("workspace:");
    const deps = internalDeps(packed, names);
    for (const [dep, range] of Object.entries(internalDeps(m, names))) {
      expect(range).toBe("workspace:*");
      expect(deps[dep]).toBe(versions.get(dep));
    }
  });

  it("links its API reference from the README and says how to build it", () => {
    const readme = readFileSync(join(path, "README.md"), "utf8");
    expect(readme).toContain(`](../../${apiPage(m.name)})`);
    expect(readme).toMatch(/pnpm(@10)? run docs/);
    if (existsSync(join(ROOT, "docs", "api", "index.html"))) {
      expect(existsSync(join(ROOT, apiPage(m.name))), `${apiPage(m.name)} missing: rerun pnpm run docs`).toBe(
        true,
      );
    }
  });
});
