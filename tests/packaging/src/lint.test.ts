// publint (packaging rules: exports, files, types) and arethetypeswrong (how TypeScript resolves
// the types under node16 and bundler resolution) on each packed tarball, both in this process.
//
// attw is checked as its CLI's `--profile esm-only` does: every package is `"type": "module"` with
// no CommonJS build, so the `node16-cjs` resolution (a `require()` from CommonJS, which gets the
// ESM file) and `node10` (no `exports` support) are not targets; the profile ignores exactly those
// two resolutions (@arethetypeswrong/cli src/profiles.ts) and keeps node16-from-ESM and bundler
// strict. The core library is used instead of the CLI so TypeScript loads once, not per package.
import { readFileSync } from "node:fs";
import { checkPackage, createPackageFromTarballData } from "@arethetypeswrong/core";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { describe, expect, inject, it } from "vitest";
import { publishablePackages } from "./workspace.js";

/** The resolutions `attw --profile esm-only` ignores. */
const ESM_ONLY_IGNORED: readonly string[] = ["node10", "node16-cjs"];

describe.each(publishablePackages())("$manifest.name", ({ manifest: m }) => {
  it("publint finds nothing, suggestions included", async () => {
    const tgz = inject("tarballs")[m.name];
    const buf = readFileSync(tgz);
    const tarball = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    const { messages, pkg } = await publint({ pack: { tarball }, level: "suggestion", strict: true });
    expect(messages.map((msg) => `${msg.type}: ${formatMessage(msg, pkg) ?? msg.code}`)).toEqual([]);
  });

  it("arethetypeswrong (esm-only profile) finds types and no problem", async () => {
    const analysis = await checkPackage(
      createPackageFromTarballData(new Uint8Array(readFileSync(inject("tarballs")[m.name]))),
    );
    if (!analysis.types) throw new Error(`${m.name}: attw found no types in the tarball`);
    const problems = analysis.problems.filter(
      (p) => !("resolutionKind" in p) || !ESM_ONLY_IGNORED.includes(p.resolutionKind),
    );
    expect(problems).toEqual([]);
  });
});
