// Output files that a failed run cannot destroy: data goes to a temporary file beside the target
// (same directory, so the same filesystem) and is renamed over the target only once complete and
// flushed. A full disk or a failing rename leaves the earlier file exactly as it was.
import * as nodeFs from "node:fs";
import { basename, dirname, join } from "node:path";
import { UsageError } from "./errors.js";

/** The file-system calls used here; tests replace some to inject faults (ENOSPC, EXDEV ...). */
export interface AtomicFs {
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, data: Uint8Array | string): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

const realFs: AtomicFs = {
  openSync: (p, f, m) => nodeFs.openSync(p, f, m),
  writeSync: (fd, d) => (typeof d === "string" ? nodeFs.writeSync(fd, d) : nodeFs.writeSync(fd, d)),
  fsyncSync: (fd) => nodeFs.fsyncSync(fd),
  closeSync: (fd) => nodeFs.closeSync(fd),
  renameSync: (a, b) => nodeFs.renameSync(a, b),
  unlinkSync: (p) => nodeFs.unlinkSync(p),
};

let fsImpl: AtomicFs = realFs;

/** Replaces the file-system calls (for fault-injection tests); returns a function that restores them. */
export function setAtomicFsForTest(fs: Partial<AtomicFs>): () => void {
  const before = fsImpl;
  fsImpl = { ...realFs, ...fs };
  return () => {
    fsImpl = before;
  };
}

let tempCounter = 0;
function tempPathFor(target: string): string {
  tempCounter++;
  return join(dirname(target), `.${basename(target)}.${process.pid}.${tempCounter}.tmp`);
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | undefined)?.code ?? (e instanceof Error ? e.message : String(e));
}

function failure(target: string, e: unknown, what: string): UsageError {
  const existed = nodeFs.existsSync(target);
  return new UsageError(
    `cannot write '${target}' (${errCode(e)} while ${what}): ${existed ? "the earlier file is left as it was" : "nothing was written"}; check the path and free space`,
  );
}

/**
 * A file written in pieces (a streamed trace) and published atomically: `write()` appends to a
 * temporary file beside `target`; `commit()` flushes, closes and renames it over `target`;
 * `abort()` removes the temporary file. Errors are UsageErrors naming the file.
 */
export class AtomicFileWriter {
  private fd: number | undefined;
  private readonly temp: string;
  private done = false;
  bytes = 0;

  constructor(readonly target: string) {
    this.temp = tempPathFor(target);
    try {
      this.fd = fsImpl.openSync(this.temp, "wx", 0o644);
    } catch (e) {
      throw failure(target, e, "creating a temporary file beside it");
    }
  }

  write(data: string | Uint8Array): void {
    if (this.fd === undefined) throw new UsageError(`'${this.target}' is already closed`);
    try {
      const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
      let off = 0;
      while (off < buf.length) off += fsImpl.writeSync(this.fd, buf.subarray(off));
      this.bytes += buf.length;
    } catch (e) {
      this.abort();
      throw failure(this.target, e, "writing");
    }
  }

  commit(): void {
    if (this.done) return;
    const fd = this.fd;
    if (fd === undefined) return;
    try {
      fsImpl.fsyncSync(fd);
      fsImpl.closeSync(fd);
      this.fd = undefined;
      fsImpl.renameSync(this.temp, this.target);
      this.done = true;
    } catch (e) {
      this.abort();
      throw failure(this.target, e, "replacing it");
    }
  }

  /** Drops what was written; the target is untouched. Safe to call more than once. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.fd !== undefined) {
      try {
        fsImpl.closeSync(this.fd);
      } catch {
        // already failing: the temporary file is removed below
      }
      this.fd = undefined;
    }
    try {
      fsImpl.unlinkSync(this.temp);
    } catch {
      // nothing to remove
    }
  }
}

/** Writes `data` to `target` atomically (temporary file + rename). */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const w = new AtomicFileWriter(target);
  w.write(data);
  w.commit();
}

/**
 * Checks before any work that `target` can be written (its directory exists and takes a new file),
 * so a long run does not fail at its end. `option` is named in the message, as the user typed it.
 */
export function checkWritable(target: string, option: string): void {
  try {
    if (nodeFs.statSync(target).isDirectory())
      throw new UsageError(`${option} '${target}' is a directory: give a file name`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
  }
  const temp = tempPathFor(target);
  let fd: number;
  try {
    fd = fsImpl.openSync(temp, "wx", 0o644);
  } catch (e) {
    throw new UsageError(
      `${option} '${target}': cannot create a file in '${dirname(target)}' (${errCode(e)}): check the directory exists and is writable`,
    );
  }
  fsImpl.closeSync(fd);
  fsImpl.unlinkSync(temp);
}
