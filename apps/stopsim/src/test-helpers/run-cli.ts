// Runs the CLI in-process with stdout/stderr captured (tests only; not part of the build).
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { vi } from "vitest";
import { main } from "../cli.js";

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** `onErr` sees stderr so far after each write to it. */
export async function runCli(args: string[], onErr?: (err: string) => void): Promise<CliRun> {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    onErr?.(err);
    return true;
  });
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
    out += `${a.join(" ")}\n`;
  });
  const cerr = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => {
    err += `${a.join(" ")}\n`;
    onErr?.(err);
  });
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    log.mockRestore();
    cerr.mockRestore();
  }
}

/** Runs `stopsim <args>` in-process and sends Ctrl-C once the `n`th SIGINT handler is installed. */
export async function interruptAt(n: number, args: string[]): Promise<CliRun> {
  let seen = 0;
  const on = process.on.bind(process);
  const spy = vi.spyOn(process, "on").mockImplementation(((event: string, f: (...a: unknown[]) => void) => {
    on(event as "SIGINT", f);
    if (event === "SIGINT" && ++seen === n) setImmediate(() => process.emit("SIGINT"));
    return process;
  }) as typeof process.on);
  try {
    return await runCli(args);
  } finally {
    spy.mockRestore();
  }
}

/** Runs `stopsim <args>` in-process and sends Ctrl-C once, when its stderr so far satisfies `when`. */
export async function interruptWhen(when: (err: string) => boolean, args: string[]): Promise<CliRun> {
  let sent = false;
  return runCli(args, (err) => {
    if (!sent && when(err)) {
      sent = true;
      setImmediate(() => process.emit("SIGINT"));
    }
  });
}

/** Output without ANSI colour codes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes
export const plain = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, "");

const appDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Runs `stopsim <args>` in a child process through a shell (for pipes, signals, TTYs). */
export function runCliProcess(shellTail: string, args: string[], timeoutMs = 60_000) {
  const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  return spawnSync("sh", ["-c", `node --import tsx src/cli.ts ${quoted} ${shellTail}`], {
    cwd: appDir,
    encoding: "utf8",
    timeout: timeoutMs,
  });
}
