// Sums the vitest JSON reports (test-results.json) of every package and app and prints the plain
// closing line "N passed, N failed". A package with a test script but no report counts as one
// failure (its test run did not complete). Exit code 1 when anything failed.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];
for (const group of ["packages", "apps", "tests"]) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir).sort()) {
    const pkgFile = join(dir, name, "package.json");
    if (!existsSync(pkgFile)) continue;
    const pkg = JSON.parse(readFileSync(pkgFile, "utf8"));
    if (!pkg.scripts?.test) continue;
    const report = join(dir, name, "test-results.json");
    if (!existsSync(report)) {
      failed += 1;
      problems.push(`${group}/${name}: no test report (the test run did not complete)`);
      continue;
    }
    const r = JSON.parse(readFileSync(report, "utf8"));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    if (r.success === false && (r.numFailedTests ?? 0) === 0) {
      failed += 1;
      problems.push(`${group}/${name}: test suite failed to load`);
    }
  }
}
for (const p of problems) console.log(p);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
