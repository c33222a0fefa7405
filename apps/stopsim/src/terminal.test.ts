// Terminal and pipe hygiene: what a closed pipe, a stream error, Ctrl-C (once and twice) and a
// progress bar do to the process and to what the terminal shows, with stderr a TTY and not.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  EXIT_INTERRUPTED,
  guardPipes,
  Interrupted,
  isBrokenPipe,
  onInterrupt,
  progress,
  restoreTerminal,
  yieldToEventLoop,
} from "./terminal.js";

// xterm control sequences (ctlseqs): CSI ? 7 h = DECAWM (line wrap) on, CSI ? 25 h = DECTCEM
// (cursor) shown; their `l` forms turn them off.
const WRAP_ON = "\u001b[?7h";
const CURSOR_SHOWN = "\u001b[?25h";
const WRAP_OFF = "\u001b[?7l";
const CURSOR_HIDDEN = "\u001b[?25l";

/** Captures process.stderr, as a TTY or not, for the body. */
async function onStderr(tty: boolean, body: (written: () => string) => unknown | Promise<unknown>) {
  let written = "";
  const had = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
  Object.defineProperty(process.stderr, "isTTY", { value: tty, configurable: true });
  const w = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
    written += String(s);
    return true;
  });
  try {
    await body(() => written);
  } finally {
    w.mockRestore();
    if (had) Object.defineProperty(process.stderr, "isTTY", had);
    else Reflect.deleteProperty(process.stderr, "isTTY");
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("restoreTerminal", () => {
  it("turns line wrap on and shows the cursor on a TTY, in that order", () => {
    const out: string[] = [];
    restoreTerminal({ isTTY: true, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream);
    expect(out).toEqual([`${WRAP_ON}${CURSOR_SHOWN}`]);
  });

  it("writes nothing to a pipe or a file", () => {
    const out: string[] = [];
    restoreTerminal({ isTTY: false, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream);
    restoreTerminal({ write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream);
    expect(out).toEqual([]);
  });

  it("writes to stderr by default", async () => {
    await onStderr(true, (written) => {
      restoreTerminal();
      expect(written()).toBe(`${WRAP_ON}${CURSOR_SHOWN}`);
    });
  });
});

describe("Interrupted", () => {
  it("is an Error named Interrupted with the message given (the CLI prints it, exit 130 as shells report SIGINT)", () => {
    const e = new Interrupted("interrupted: 3 of 8 runs finished");
    expect(e).toBeInstanceOf(Error);
    expect(String(e)).toBe("Interrupted: interrupted: 3 of 8 runs finished");
    expect(EXIT_INTERRUPTED).toBe(128 + 2); // 128 + SIGINT's number
  });
});

describe("isBrokenPipe", () => {
  it("is true only for EPIPE", () => {
    expect(isBrokenPipe(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))).toBe(true);
    expect(isBrokenPipe(Object.assign(new Error("write EIO"), { code: "EIO" }))).toBe(false);
    expect(isBrokenPipe(new Error("EPIPE"))).toBe(false);
    expect(isBrokenPipe(undefined)).toBe(false);
    expect(isBrokenPipe(null)).toBe(false);
  });
});

/** What process.exit does as far as the code after it can tell: it does not return. */
class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
const exitsWith = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    if (e instanceof Exited) return e.code;
    throw e;
  }
  return undefined;
};

describe("guardPipes", () => {
  it("ends quietly with 0 on EPIPE, and with 1 and one line on any other stream error, on stdout and stderr; once", async () => {
    const exit = ((code: number) => {
      throw new Exited(code);
    }) as (code: number) => never;
    const before = [process.stdout.listenerCount("error"), process.stderr.listenerCount("error")];
    guardPipes(exit);
    guardPipes(exit); // idempotent: one listener per stream
    expect([process.stdout.listenerCount("error"), process.stderr.listenerCount("error")]).toEqual(
      before.map((n) => n + 1),
    );
    await onStderr(false, (written) => {
      for (const stream of [process.stdout, process.stderr]) {
        const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
        expect(exitsWith(() => stream.emit("error", epipe))).toBe(0);
        expect(written()).toBe("");
      }
      const eio = Object.assign(new Error("write EIO"), { code: "EIO" });
      expect(exitsWith(() => process.stdout.emit("error", eio))).toBe(1);
      expect(written()).toBe("stopsim: cannot write output (EIO)\n");
      expect(exitsWith(() => process.stderr.emit("error", new Error("stream destroyed")))).toBe(1);
      expect(written()).toBe(
        "stopsim: cannot write output (EIO)\nstopsim: cannot write output (stream destroyed)\n",
      );
    });
    // the exit still comes when the report itself cannot be written
    const w = vi.spyOn(process.stderr, "write").mockImplementation(() => {
      throw Object.assign(new Error("write EIO"), { code: "EIO" });
    });
    try {
      const enospc = Object.assign(new Error("x"), { code: "ENOSPC" });
      expect(exitsWith(() => process.stdout.emit("error", enospc))).toBe(1);
    } finally {
      w.mockRestore();
    }
  });
});

describe("onInterrupt", () => {
  it("first Ctrl-C: restores the terminal, says what happens next, calls the handler; the second restores it and exits 130", async () => {
    await onStderr(true, (written) => {
      let calls = 0;
      const exit = vi.spyOn(process, "exit").mockImplementation(((code: number) => {
        throw new Exited(code);
      }) as () => never);
      const off = onInterrupt(() => {
        calls++;
      });
      try {
        process.emit("SIGINT");
        expect(calls).toBe(1);
        expect(exit).not.toHaveBeenCalled();
        expect(written()).toBe(
          `${WRAP_ON}${CURSOR_SHOWN}\nstopsim: interrupted; finishing the current step (Ctrl-C again to quit now)\n`,
        );
        const first = written().length;
        expect(exitsWith(() => process.emit("SIGINT"))).toBe(EXIT_INTERRUPTED);
        expect(written().slice(first)).toBe(`${WRAP_ON}${CURSOR_SHOWN}`);
        expect(calls).toBe(1);
      } finally {
        off();
      }
      // removed: a later SIGINT reaches neither the handler nor exit
      const listeners = process.listenerCount("SIGINT");
      process.emit("SIGINT");
      expect(calls).toBe(1);
      expect(exit).toHaveBeenCalledTimes(1);
      expect(listeners).toBe(process.listenerCount("SIGINT"));
    });
  });

  it("each registration counts its own Ctrl-Cs", async () => {
    await onStderr(false, () => {
      const exit = vi.spyOn(process, "exit").mockImplementation(((code: number) => {
        throw new Exited(code);
      }) as () => never);
      const a = onInterrupt(() => {});
      process.emit("SIGINT");
      a();
      let b = 0;
      const off = onInterrupt(() => {
        b++;
      });
      process.emit("SIGINT");
      off();
      expect(b).toBe(1);
      expect(exit).not.toHaveBeenCalled();
    });
  });
});

describe("yieldToEventLoop", () => {
  it("resolves after the callbacks already queued for the check phase (a SIGINT handler gets its turn)", async () => {
    const order: string[] = [];
    setImmediate(() => order.push("queued"));
    await yieldToEventLoop();
    order.push("after");
    expect(order).toEqual(["queued", "after"]);
  });
});

describe("progress", () => {
  it("shows nothing off a TTY, or when disabled", async () => {
    for (const [tty, enabled] of [
      [false, true],
      [true, false],
      [false, undefined],
    ] as const) {
      await onStderr(tty, (written) => {
        const bar = progress("matrix", 10, enabled === undefined ? {} : { enabled });
        bar.update(5, { cell: "x" });
        bar.stop();
        bar.stop();
        expect(written()).toBe("");
      });
    }
  });

  it("on a TTY: label, bar, percentage, count and the payload's detail; wrap and cursor never turned off; stop restores them once", async () => {
    await onStderr(true, async (written) => {
      const bar = progress("fleet probes", 4);
      expect(written()).toContain("fleet probes [");
      expect(written()).toContain("] 0% | 0/4");
      // no detail yet: nothing after the count (not the placeholder's name)
      expect(written()).toContain("] 0% | 0/4\u001b[0K"); // then the erase to the end of line
      bar.update(2, { case: "boot", host: "dd2.3" });
      // cli-progress redraws on its timer; wait for one redraw
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(written()).toContain("] 50% | 2/4 boot dd2.3");
      bar.update(3);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(written()).toContain("] 75% | 3/4");
      expect(written()).not.toContain(WRAP_OFF);
      expect(written()).not.toContain(CURSOR_HIDDEN);
      const before = written().length;
      bar.stop();
      const atStop = written().slice(before);
      expect(atStop.endsWith(`${WRAP_ON}${CURSOR_SHOWN}`)).toBe(true);
      const afterStop = written().length;
      bar.stop();
      bar.update(4);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(written().length).toBe(afterStop);
    });
  });
});
