// A project outside the workspace installs every package from its packed tarball with plain npm
// (their npm dependencies come from the registry), type-checks each package's README example
// (packages/<dir>/examples/usage.ts) against the installed types with tsc, and runs it with node.
// The README shows the same file (scripts/sync-usage-examples.mjs), so it cannot drift.
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
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ok, publishablePackages, ROOT, readManifest, run } from "./workspace.js";

const MARKER = "<!-- examples/usage.ts -->";
const packages = publishablePackages();
const rootManifest = readManifest(ROOT);
let project = "";

/** npm as a user outside this workspace runs it: no pnpm or npm_* variables from the parent run. */
function plainEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|pnpm_|PNPM_)/i.test(k)) env[k] = v;
  return { ...env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
}

/** The code block after the README's usage marker. */
export function readmeUsage(readme: string): string | null {
  const start = readme.indexOf(MARKER);
  if (start < 0) return null;
  const open = readme.indexOf("```ts\n", start);
  const close = readme.indexOf("\n```\n", open + 5);
  if (open < 0 || close < 0) return null;
  return readme.slice(open + 6, close);
}

beforeAll(async () => {
  const tarballs = inject("tarballs");
  project = mkdtempSync(join(tmpdir(), "stopsim-consumer-"));
  const dependencies: Record<string, string> = {};
  for (const p of packages) dependencies[p.manifest.name] = `file:${tarballs[p.manifest.name]}`;
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify(
      {
        name: "stopsim-consumer",
        private: true,
        type: "module",
        dependencies,
        devDependencies: {
          typescript: rootManifest.devDependencies?.typescript,
          "@types/node": rootManifest.devDependencies?.["@types/node"],
        },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2022"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        types: ["node"],
        strict: true,
        outDir: "dist",
        rootDir: "examples",
        skipLibCheck: false,
      },
      include: ["examples/*.ts"],
    }),
  );
  mkdirSync(join(project, "examples"));
  for (const p of packages) {
    const example = join(p.path, "examples", "usage.ts");
    if (existsSync(example)) cpSync(example, join(project, "examples", `${p.dir}.ts`));
  }
  ok(
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: project,
      env: plainEnv(),
    }),
    "npm install",
  );
  ok(
    await run(process.execPath, [join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "."], {
      cwd: project,
      env: plainEnv(),
    }),
    "tsc in the consumer project",
  );
});

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe("a project outside the workspace", () => {
  it("gets every package from its tarball, once, at the packed version", () => {
    for (const p of packages) {
      const installed = readManifest(join(project, "node_modules", ...p.manifest.name.split("/")));
      expect(installed.version).toBe(p.manifest.version);
    }
    // internal dependencies resolve to the top-level copies, not to registry downloads
    const nested = readdirSync(join(project, "node_modules", "@stopsim")).filter((d) =>
      existsSync(join(project, "node_modules", "@stopsim", d, "node_modules", "@stopsim")),
    );
    expect(nested).toEqual([]);
  });
});

describe.each(packages)("$manifest.name usage example", ({ dir, path }) => {
  it("exists and the README shows it as it stands", () => {
    const example = join(path, "examples", "usage.ts");
    expect(existsSync(example), `add packages/${dir}/examples/usage.ts`).toBe(true);
    const shown = readmeUsage(readFileSync(join(path, "README.md"), "utf8"));
    expect(shown, `packages/${dir}/README.md needs a "${MARKER}" line and a \`\`\`ts block`).not.toBeNull();
    expect(shown, "run: node scripts/sync-usage-examples.mjs").toBe(readFileSync(example, "utf8").trimEnd());
  });

  it("type-checks against the installed types and runs with node", async () => {
    const r = ok(
      await run(process.execPath, [join("dist", `${dir}.js`)], {
        cwd: project,
        env: plainEnv(),
        timeoutMs: 120_000,
      }),
      `node dist/${dir}.js`,
    );
    expect(r.stdout.trim().length).toBeGreaterThan(0);
  });
});
