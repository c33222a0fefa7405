// Atomic output files (atomic.ts) call by call: data goes to a temporary file beside the target
// and replaces it only once complete and flushed, so no failure at any step loses an earlier file
// or leaves a temporary one behind, and each failure is one line naming the file, the step and
// the fix. Faults are injected through setAtomicFsForTest.

import * as nodeFs from "node:fs";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  AtomicFileWriter,
  type AtomicFs,
  checkWritable,
  setAtomicFsForTest,
  writeFileAtomic,
} from "./atomic.js";
import { usageMessage } from "./test-helpers/usage.js";

const tmp = () => mkdtempSync(join(tmpdir(), "stopsim-atomic-"));
const fault = (code: string) => Object.assign(new Error(`${code} (injected)`), { code });

let restore: (() => void) | undefined;
function inject(fs: Partial<AtomicFs>): void {
  restore?.();
  restore = setAtomicFsForTest(fs);
}
afterEach(() => {
  restore?.();
  restore = undefined;
});

const message = usageMessage;

describe("atomic writes", () => {
  it("replaces the file with the whole data, text or bytes, readable by others, nothing else left", () => {
    const dir = tmp();
    const out = join(dir, "out.json");
    writeFileSync(out, "earlier");
    writeFileAtomic(out, "héllo\n");
    expect(readFileSync(out, "utf8")).toBe("héllo\n");
    writeFileAtomic(out, new Uint8Array([0, 1, 2, 255]));
    expect([...readFileSync(out)]).toEqual([0, 1, 2, 255]);
    expect(readdirSync(dir)).toEqual(["out.json"]);
    expect(statSync(out).mode & 0o777).toBe(0o644 & ~process.umask());
  });

  it("writes the rest after a short write and counts the bytes of the UTF-8 text", () => {
    const dir = tmp();
    const out = join(dir, "trace.json");
    // a file system that takes at most 3 bytes per call
    inject({ writeSync: (fd, d) => nodeFs.writeSync(fd, (d as Uint8Array).subarray(0, 3)) });
    const w = new AtomicFileWriter(out);
    w.write("ünïcode");
    w.write(new Uint8Array([10]));
    expect(w.bytes).toBe(Buffer.byteLength("ünïcode") + 1);
    expect(existsSync(out)).toBe(false); // nothing is published before commit
    w.commit();
    expect(readFileSync(out, "utf8")).toBe("ünïcode\n");
    expect(readdirSync(dir)).toEqual(["trace.json"]);
  });

  it("renames a temporary file from the target's own directory (same file system) over the target", () => {
    const dir = tmp();
    const out = join(dir, "r.html");
    const renames: [string, string][] = [];
    inject({
      renameSync: (a, b) => {
        renames.push([a, b]);
        nodeFs.renameSync(a, b);
      },
    });
    writeFileAtomic(out, "x");
    writeFileAtomic(out, "y");
    expect(renames).toHaveLength(2);
    for (const [from, to] of renames) {
      expect(to).toBe(out);
      expect(dirname(from)).toBe(dir);
      expect(basename(from)).toMatch(new RegExp(`^\\.r\\.html\\.${process.pid}\\.\\d+\\.tmp$`));
    }
    // each writer has a temporary file of its own
    expect(renames[0][0]).not.toBe(renames[1][0]);
  });

  it("a failing write removes the temporary file and keeps the earlier one, saying so", () => {
    const dir = tmp();
    const out = join(dir, "keep.json");
    writeFileSync(out, "earlier");
    inject({
      writeSync: () => {
        throw fault("ENOSPC");
      },
    });
    expect(message(() => writeFileAtomic(out, "new"))).toBe(
      `cannot write '${out}' (ENOSPC while writing): the earlier file is left as it was; check the path and free space`,
    );
    expect(readFileSync(out, "utf8")).toBe("earlier");
    expect(readdirSync(dir)).toEqual(["keep.json"]);
  });

  it("a failing flush or rename keeps the earlier file; with no earlier file, nothing was written", () => {
    for (const step of ["fsyncSync", "closeSync", "renameSync"] as const) {
      const dir = tmp();
      const out = join(dir, "o.dtb");
      writeFileSync(out, "earlier");
      inject({
        [step]: () => {
          throw fault("EIO");
        },
      });
      expect(
        message(() => writeFileAtomic(out, "new")),
        step,
      ).toBe(
        `cannot write '${out}' (EIO while replacing it): the earlier file is left as it was; check the path and free space`,
      );
      expect(readFileSync(out, "utf8"), step).toBe("earlier");
      expect(readdirSync(dir), step).toEqual(["o.dtb"]);
      const fresh = join(dir, "fresh.dtb");
      expect(
        message(() => writeFileAtomic(fresh, "new")),
        step,
      ).toMatch(/\(EIO while replacing it\): nothing was written;/);
      expect(readdirSync(dir), step).toEqual(["o.dtb"]);
      restore?.();
      restore = undefined;
    }
  });

  it("a temporary file that cannot be created is reported with the error's text when it has no code", () => {
    const dir = tmp();
    const out = join(dir, "t.json");
    inject({
      openSync: () => {
        throw new Error("read-only file system");
      },
    });
    expect(message(() => new AtomicFileWriter(out))).toBe(
      `cannot write '${out}' (read-only file system while creating a temporary file beside it): nothing was written; check the path and free space`,
    );
    inject({
      openSync: () => {
        throw "odd";
      },
    });
    expect(message(() => new AtomicFileWriter(out))).toMatch(/\(odd while creating/);
  });

  it("abort drops what was written and leaves the target as it was; commit after it publishes nothing", () => {
    const dir = tmp();
    const out = join(dir, "a.json");
    writeFileSync(out, "earlier");
    const closed: number[] = [];
    inject({
      closeSync: (fd) => {
        closed.push(fd);
        nodeFs.closeSync(fd);
      },
    });
    const w = new AtomicFileWriter(out);
    w.write("partial");
    w.abort();
    expect(closed).toHaveLength(1); // its descriptor is closed
    w.abort(); // safe twice
    w.commit();
    expect(closed).toHaveLength(1);
    expect(readFileSync(out, "utf8")).toBe("earlier");
    expect(readdirSync(dir)).toEqual(["a.json"]);
    expect(message(() => w.write("more"))).toBe(`'${out}' is already closed`);
  });

  it("abort still removes the temporary file when closing it fails", () => {
    const dir = tmp();
    const out = join(dir, "b.json");
    inject({
      closeSync: (fd) => {
        nodeFs.closeSync(fd);
        throw fault("EBADF");
      },
    });
    const w = new AtomicFileWriter(out);
    w.write("x");
    w.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("commit publishes once: a second commit does not touch the file again", () => {
    const dir = tmp();
    const out = join(dir, "c.json");
    let renames = 0;
    inject({
      renameSync: (a, b) => {
        renames++;
        nodeFs.renameSync(a, b);
      },
    });
    const w = new AtomicFileWriter(out);
    w.write("one");
    w.commit();
    writeFileSync(out, "changed since");
    w.commit();
    w.abort(); // after a commit, abort removes nothing
    expect(renames).toBe(1);
    expect(readFileSync(out, "utf8")).toBe("changed since");
    expect(message(() => w.write("late"))).toBe(`'${out}' is already closed`);
  });
});

describe("the file-system seam", () => {
  it("restoring the real calls after a fault injection writes again", () => {
    const dir = tmp();
    const out = join(dir, "r.json");
    const back = setAtomicFsForTest({
      writeSync: () => {
        throw fault("ENOSPC");
      },
    });
    expect(() => writeFileAtomic(out, "x")).toThrow(/ENOSPC/);
    back();
    writeFileAtomic(out, "x");
    expect(readFileSync(out, "utf8")).toBe("x");
  });

  it("a thrown undefined is still one line naming the file", () => {
    inject({
      openSync: () => {
        throw undefined;
      },
    });
    const out = join(tmp(), "u.json");
    expect(message(() => writeFileAtomic(out, "x"))).toMatch(
      /^cannot write '.*u\.json' \(undefined while creating/,
    );
  });

  it("leaves no file descriptor open, after a success or a failure", () => {
    const open = () => readdirSync("/proc/self/fd").length;
    const dir = tmp();
    const before = open();
    for (let i = 0; i < 20; i++) writeFileAtomic(join(dir, `f${i}`), "data");
    for (let i = 0; i < 20; i++) checkWritable(join(dir, `g${i}`), "--out");
    inject({
      renameSync: () => {
        throw fault("EXDEV");
      },
    });
    for (let i = 0; i < 20; i++) expect(() => writeFileAtomic(join(dir, "h"), "data")).toThrow(/EXDEV/);
    expect(open()).toBe(before);
  });
});

describe("checking an output before the work", () => {
  it("accepts a new or existing file in a writable directory and leaves nothing behind", () => {
    const dir = tmp();
    checkWritable(join(dir, "new.html"), "--out");
    writeFileSync(join(dir, "old.html"), "earlier");
    checkWritable(join(dir, "old.html"), "--out");
    expect(readdirSync(dir)).toEqual(["old.html"]);
    expect(readFileSync(join(dir, "old.html"), "utf8")).toBe("earlier");
  });

  it("refuses a directory and a missing directory, naming the option as typed", () => {
    const dir = tmp();
    mkdirSync(join(dir, "sub"));
    expect(message(() => checkWritable(join(dir, "sub"), "--trace"))).toBe(
      `--trace '${join(dir, "sub")}' is a directory: give a file name`,
    );
    const missing = join(dir, "nope", "x.json");
    expect(message(() => checkWritable(missing, "--out"))).toBe(
      `--out '${missing}': cannot create a file in '${join(dir, "nope")}' (ENOENT): check the directory exists and is writable`,
    );
  });
});
