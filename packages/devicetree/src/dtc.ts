// A bridge to the real dtc (Debian package device-tree-compiler), for checking trees against the
// reference tool: used by this package's and the firmware package's real-tool tests.
import { spawnSync } from "node:child_process";

const INSTALL_HINT =
  "dtc (the device tree compiler) is required by these tests but was not found: install it with `apt-get install -y device-tree-compiler`";

let checked = false;

/** Throws a clear error when dtc is missing (checks must run it for real, never skip). */
export function requireDtc(): void {
  if (checked) return;
  const r = spawnSync("dtc", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error(INSTALL_HINT);
  checked = true;
}

function run(args: string[], input: Uint8Array | string): Buffer {
  requireDtc();
  const r = spawnSync("dtc", args, { input, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${INSTALL_HINT} (${r.error.message})`);
  if (r.status !== 0) {
    throw new Error(`dtc ${args.join(" ")} failed with status ${r.status}: ${r.stderr.toString()}`);
  }
  return r.stdout;
}

/** `dtc -I dtb -O dts -` on the given blob. */
export function dtcDecompile(dtb: Uint8Array): string {
  return run(["-I", "dtb", "-O", "dts", "-"], dtb).toString("utf8");
}

/** `dtc -I dts -O dtb -` on the given source. */
export function dtcCompile(dts: string, extraArgs: string[] = []): Uint8Array {
  return new Uint8Array(run(["-I", "dts", "-O", "dtb", ...extraArgs, "-"], dts));
}
