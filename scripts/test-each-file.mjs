// Runs every test file of the given workspace packages (default: all packages, apps and tests)
// alone, `vitest run <file>` in its package, one after the other, so that a test that passes
// only after another file's tests (shared module state, files left behind, a cwd) shows up.
// Prints one line per file and exits 1 if any failed. Not part of CI (it starts vitest once per
// file); run it after adding tests: `node scripts/test-each-file.mjs [packages/isa ...]`.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;

function packageDirs() {
  const out = [];
  for (const group of ["packages", "apps", "tests"]) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const pkg = join(dir, name, "package.json");
      if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).scripts?.test) out.push(join(group, name));
    }
  }
  return out;
}

function testFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d).sort()) {
      if (e === "node_modules" || e === "dist" || e.startsWith(".")) continue;
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith(".test.ts")) out.push(p);
    }
  };
  for (const sub of ["src", "test"]) if (existsSync(join(dir, sub))) walk(join(dir, sub));
  return out;
}

const dirs = process.argv.length > 2 ? process.argv.slice(2) : packageDirs();
const failed = [];
for (const d of dirs) {
  const abs = join(root, d);
  for (const file of testFiles(abs)) {
    const rel = relative(abs, file);
    const started = Date.now();
    const r = spawnSync("npx", ["vitest", "run", rel], {
      cwd: abs,
      encoding: "utf8",
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
    });
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const ok = r.status === 0;
    console.log(`${ok ? "ok  " : "FAIL"} ${d}/${rel} (${secs} s)`);
    if (!ok) {
      failed.push(`${d}/${rel}`);
      console.log(
        `${r.stdout}\n${r.stderr}`
          .split("\n")
          .filter((l) => /FAIL|Error|✗|×/.test(l))
          .slice(0, 20)
          .join("\n"),
      );
    }
  }
}
console.log(
  failed.length === 0
    ? "every test file passes alone"
    : `${failed.length} failed alone:\n  ${failed.join("\n  ")}`,
);
process.exit(failed.length === 0 ? 0 : 1);
