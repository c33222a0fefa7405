import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { writeBenchResult } from "./index.js";

/** When set, the next writeFileSync writes half its data and fails as a full disk does. */
const fault = vi.hoisted(() => ({ diskFull: false }));

vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  return {
    ...real,
    writeFileSync: (path: fs.PathOrFileDescriptor, data: string) => {
      if (!fault.diskFull) return real.writeFileSync(path, data);
      fault.diskFull = false;
      real.writeFileSync(path, data.slice(0, data.length >> 1));
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    },
  };
});

describe("bench results", () => {
  // process.cwd() answers the temporary root instead of chdir (which worker threads refuse)
  afterEach(() => vi.restoreAllMocks());

  it("a write failing on a full disk leaves the earlier results as they were", () => {
    const root = fs.mkdtempSync(join(tmpdir(), "stopsim-bench-"));
    fs.writeFileSync(join(root, "pnpm-workspace.yaml"), "packages: []\n");
    fs.mkdirSync(join(root, "bench-results"));
    const file = join(root, "bench-results", "x.json");
    fs.writeFileSync(file, '{"earlier":true}\n');
    vi.spyOn(process, "cwd").mockReturnValue(root);
    fault.diskFull = true;
    expect(() => writeBenchResult("x", 1, { figure: 2 })).toThrow(/ENOSPC/);
    expect(fs.readFileSync(file, "utf8")).toBe('{"earlier":true}\n');
    expect(fs.readdirSync(join(root, "bench-results"))).toEqual(["x.json"]);
    writeBenchResult("x", 1, { figure: 3 });
    expect(JSON.parse(fs.readFileSync(file, "utf8")).figure).toBe(3);
    expect(fs.readdirSync(join(root, "bench-results"))).toEqual(["x.json"]);
  });
});
