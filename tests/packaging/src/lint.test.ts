// publint (packaging rules: exports, files, types) and arethetypeswrong (how TypeScript resolves
// the types under node16 and bundler resolution) on each packed tarball.
//
// attw runs with its `esm-only` profile: every package is `"type": "module"` with no CommonJS
// build, so the `node16-cjs` resolution (a `require()` from CommonJS, which gets the ESM file) and
// `node10` (no `exports` support, long out of date) are not targets; the profile ignores exactly
// those two and keeps node16-from-ESM and bundler strict.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { describe, expect, inject, it } from "vitest";
import { ok, publishablePackages, ROOT, run } from "./workspace.js";

const require = createRequire(import.meta.url);
const attwBin = join(dirname(require.resolve("@arethetypeswrong/cli/package.json")), "dist", "index.js");

describe.each(publishablePackages())("$manifest.name", ({ manifest: m }) => {
  it("publint finds nothing, suggestions included", async () => {
    const tgz = inject("tarballs")[m.name];
    const buf = readFileSync(tgz);
    const tarball = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    const { messages, pkg } = await publint({ pack: { tarball }, level: "suggestion", strict: true });
    expect(messages.map((msg) => `${msg.type}: ${formatMessage(msg, pkg) ?? msg.code}`)).toEqual([]);
  });

  it("attw --profile esm-only finds no problem", async () => {
    const tgz = inject("tarballs")[m.name];
    ok(
      await run(process.execPath, [attwBin, tgz, "--profile", "esm-only", "--format", "ascii"], {
        cwd: ROOT,
      }),
      "attw",
    );
  });
});
