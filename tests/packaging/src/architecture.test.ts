// docs/ARCHITECTURE.md's dependency block ("## Packages and dependencies") says which packages
// each package depends on; this checks it against every package.json (packages/* and the app).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { publishablePackages, ROOT, readManifest } from "./workspace.js";

/** Package short name -> the short names of its @stopsim dependencies, as the block draws them. */
export function parseDependencyBlock(markdown: string): Map<string, string[]> {
  const section = markdown.split("## Packages and dependencies")[1];
  if (section === undefined)
    throw new Error("docs/ARCHITECTURE.md has no '## Packages and dependencies' section");
  const block = section.split("```")[1];
  if (block === undefined) throw new Error("the dependency section has no ``` block");
  const drawn = new Map<string, string[]>();
  for (const raw of block.split("\n")) {
    const line = raw.replace(/\([^)]*\)/g, "").trim();
    if (line === "") continue;
    const [left, right = ""] = line.split("<-");
    const deps = right
      .split(",")
      .map((d) => d.trim())
      .filter((d) => d !== "")
      .sort();
    for (const name of left.split(",").map((n) => n.trim().split(/\s+/)[0])) drawn.set(name, deps);
  }
  return drawn;
}

/** The same from the package.json files: `@stopsim/x` dependencies, the app as "app". */
function actualDependencies(): Map<string, string[]> {
  const dirs = [
    ...publishablePackages().map((p) => ({ name: p.manifest.name.replace("@stopsim/", ""), path: p.path })),
    { name: "app", path: join(ROOT, "apps", "stopsim") },
  ];
  const out = new Map<string, string[]>();
  for (const d of dirs) {
    const deps = Object.keys(readManifest(d.path).dependencies ?? {})
      .filter((n) => n.startsWith("@stopsim/"))
      .map((n) => n.replace("@stopsim/", ""))
      .sort();
    out.set(d.name, deps);
  }
  return out;
}

describe("docs/ARCHITECTURE.md dependency block", () => {
  it("draws every package with exactly the dependencies of its package.json", () => {
    const drawn = parseDependencyBlock(readFileSync(join(ROOT, "docs", "ARCHITECTURE.md"), "utf8"));
    const actual = actualDependencies();
    expect(
      Object.fromEntries([...drawn].sort()),
      "update the block in docs/ARCHITECTURE.md to the package.json files",
    ).toEqual(Object.fromEntries([...actual].sort()));
  });

  it("the parser reads a drawn edge and a missing one differently", () => {
    const md =
      "## Packages and dependencies\n```\nengine    (none)\nisa <- engine\nopal <- isa, devicetree\n```\n";
    expect(Object.fromEntries(parseDependencyBlock(md))).toEqual({
      engine: [],
      isa: ["engine"],
      opal: ["devicetree", "isa"],
    });
  });
});
