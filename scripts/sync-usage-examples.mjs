// Copies each package's examples/usage.ts into its README, between the marker line
// "<!-- examples/usage.ts -->" and the end of the ```ts block that follows it; with --check,
// changes nothing and exits 1 naming each README that differs. tests/packaging runs the same
// files against the packed tarballs, so the README shows code that runs as it stands.
// Usage: node scripts/sync-usage-examples.mjs [--check]
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const MARKER = "<!-- examples/usage.ts -->";

/** The README with its usage block replaced by `code`; throws when the README has no marker. */
export function withUsage(readme, code, where) {
  const start = readme.indexOf(MARKER);
  if (start < 0) throw new Error(`${where}: no "${MARKER}" line; add a "## Usage" section with it`);
  const open = readme.indexOf("```ts\n", start);
  const close = readme.indexOf("\n```\n", open + 5);
  if (open < 0 || close < 0) throw new Error(`${where}: the marker must be followed by a \`\`\`ts block`);
  return `${readme.slice(0, open + 6)}${code.trimEnd()}${readme.slice(close)}`;
}

const root = new URL("..", import.meta.url).pathname;
const check = process.argv.includes("--check");
let stale = 0;
for (const dir of readdirSync(join(root, "packages")).sort()) {
  const example = join(root, "packages", dir, "examples", "usage.ts");
  const readmePath = join(root, "packages", dir, "README.md");
  if (!existsSync(example) || !existsSync(readmePath)) continue;
  const readme = readFileSync(readmePath, "utf8");
  const next = withUsage(readme, readFileSync(example, "utf8"), `packages/${dir}/README.md`);
  if (next === readme) continue;
  stale++;
  if (check) console.log(`packages/${dir}/README.md: usage block differs from examples/usage.ts`);
  else writeFileSync(readmePath, next);
}
if (check && stale > 0) {
  console.log("run: node scripts/sync-usage-examples.mjs");
  process.exit(1);
}
