// The release flow end to end on a throwaway copy of the workspace (the repository itself is
// never modified): `changeset version` turns the pending changesets, plus one patch changeset for
// every package written here, into versions and CHANGELOGs; `pnpm -r publish --dry-run` then
// goes through every package; `pnpm pack` of the versioned copy shows `workspace:*` rewritten to
// the NEW versions.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packedManifest } from "./tarball.js";
import { internalDeps, ok, pnpm, publishablePackages, ROOT, readManifest, run } from "./workspace.js";

const require = createRequire(import.meta.url);
const changesetBin = join(
  dirname(require.resolve("@changesets/cli/package.json", { paths: [ROOT] })),
  "bin.js",
);

let copy = "";
const before = publishablePackages();
const names = new Set(before.map((p) => p.manifest.name));

function bumpPatch(v: string): string {
  const [maj, min, pat] = v.split(".").map(Number);
  return `${maj}.${min}.${pat + 1}`;
}
function cmp(a: string, b: string): number {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

beforeAll(async () => {
  copy = mkdtempSync(join(tmpdir(), "stopsim-release-"));
  // the workspace as git sees it (tracked and new files, nothing ignored) plus each package's build
  const r = ok(
    await run("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: ROOT }),
    "git ls-files",
  );
  for (const f of r.stdout.split("\0").filter(Boolean)) {
    if (!existsSync(join(ROOT, f))) continue; // deleted but not yet committed
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    cpSync(join(ROOT, f), join(copy, f));
  }
  for (const p of before)
    cpSync(join(p.path, "dist"), join(copy, "packages", p.dir, "dist"), { recursive: true });
  const releases = before.map((p) => `"${p.manifest.name}": patch`).join("\n");
  writeFileSync(join(copy, ".changeset", "zz-release-check.md"), `---\n${releases}\n---\n\nRelease check.\n`);
});

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe("release flow on a copy of the workspace", () => {
  it("changeset version, pnpm -r publish --dry-run, and packs with workspace:* rewritten", async () => {
    ok(await run(process.execPath, [changesetBin, "version"], { cwd: copy }), "changeset version");
    const pending = readdirSync(join(copy, ".changeset")).filter(
      (f) => f.endsWith(".md") && f !== "README.md",
    );
    expect(pending, "changeset version consumes every changeset").toEqual([]);
    const after = new Map(before.map((p) => [p.manifest.name, readManifest(join(copy, "packages", p.dir))]));
    for (const p of before) {
      const v = after.get(p.manifest.name)?.version ?? "";
      // at least the patch written above; more where a pending changeset asked for minor or major
      expect(
        cmp(v, bumpPatch(p.manifest.version)),
        `${p.manifest.name} ${p.manifest.version} -> ${v}`,
      ).toBeGreaterThanOrEqual(0);
      expect(readFileSync(join(copy, "packages", p.dir, "CHANGELOG.md"), "utf8")).toContain(`## ${v}`);
      expect(internalDeps(after.get(p.manifest.name) ?? p.manifest, names)).toEqual(
        internalDeps(p.manifest, names),
      );
    }

    // pnpm resolves workspace:* from the copy's own node_modules: link it from the store, offline
    ok(
      await pnpm(["install", "--offline", "--no-frozen-lockfile", "--ignore-scripts"], copy),
      "pnpm install --offline",
    );
    const pub = ok(
      await pnpm(["-r", "publish", "--dry-run", "--no-git-checks"], copy),
      "pnpm -r publish --dry-run",
    );
    const out = pub.stdout + pub.stderr;
    for (const [name, m] of after) expect(out).toContain(`+ ${name}@${m.version}`);

    const dest = join(copy, "packed");
    const packed = JSON.parse(
      ok(
        await pnpm(["-r", "--filter", "./packages/*", "pack", "--pack-destination", dest, "--json"], copy),
        "pnpm pack",
      ).stdout,
    ) as { name: string; filename: string }[];
    expect(packed.map((p) => p.name).sort()).toEqual([...names].sort());
    for (const p of packed) {
      const m = packedManifest(p.filename) as unknown as ReturnType<typeof readManifest>;
      expect(m.version).toBe(after.get(p.name)?.version);
      for (const [dep, range] of Object.entries(internalDeps(m, names))) {
        expect(range, `${p.name} -> ${dep}`).toBe(after.get(dep)?.version);
      }
    }
  });
});
