// Reads a packed .tgz (gzip + ustar, as npm and pnpm write it) without unpacking it to disk.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

/** path inside the tarball (with its leading "package/") -> contents */
export function readTarball(file: string): Map<string, Buffer> {
  const data = gunzipSync(readFileSync(file));
  const out = new Map<string, Buffer>();
  const str = (off: number, len: number) => {
    const s = data.subarray(off, off + len);
    const nul = s.indexOf(0);
    return s.subarray(0, nul < 0 ? len : nul).toString("utf8");
  };
  let off = 0;
  while (off + 512 <= data.length) {
    const name = str(off, 100);
    if (name === "") break; // two zero blocks end the archive
    const size = Number.parseInt(str(off + 124, 12).trim() || "0", 8);
    const type = str(off + 156, 1);
    const prefix = str(off + 345, 155);
    const path = prefix ? `${prefix}/${name}` : name;
    if (type === "0" || type === "") out.set(path, data.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

export function packedManifest(file: string): Record<string, unknown> {
  const pkg = readTarball(file).get("package/package.json");
  if (!pkg) throw new Error(`${file} has no package/package.json`);
  return JSON.parse(pkg.toString("utf8")) as Record<string, unknown>;
}
