// Terminal and pipe hygiene shared by every command: a closed pipe ends the command quietly, Ctrl-C
// restores the terminal and says what finished, and long runs show progress on a TTY only.
//
// Use from a command:
//   const stop = onInterrupt(() => { interrupted = true });   // first Ctrl-C: restore, set a flag
//   const bar = progress("fleet", 100);  bar.update(n);  bar.stop();
//   await yieldToEventLoop();        // between chunks of work, so the Ctrl-C handler can run
//   stop();                          // remove the handler
import cliProgress from "cli-progress";

/** Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** Thrown by a command that stopped early on Ctrl-C; the CLI prints its message and exits 130. */
export class Interrupted extends Error {
  override name = "Interrupted";
}

// Line wrap on (DECAWM, CSI ? 7 h) and cursor shown (DECTCEM, CSI ? 25 h): the modes a progress
// bar may have changed.
const RESTORE = "\u001b[?7h\u001b[?25h";

/** Puts the terminal back (line wrap on, cursor shown) when stderr is a TTY; harmless otherwise. */
export function restoreTerminal(stream: NodeJS.WriteStream = process.stderr): void {
  if (stream.isTTY) stream.write(RESTORE);
}

let pipesGuarded = false;

/**
 * A reader that closes the pipe early (`stopsim dtb host --dts | head -1`) makes the next write
 * fail with EPIPE: end the command quietly with exit 0, as `cat` does, with no stack trace.
 * Other stream errors are reported in one line (exit 1). Idempotent.
 */
export function guardPipes(exit: (code: number) => never = process.exit): void {
  if (pipesGuarded) return;
  pipesGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") exit(0);
      try {
        process.stderr.write(`stopsim: cannot write output (${e.code ?? e.message})\n`);
      } finally {
        exit(1);
      }
    });
  }
}

/** True when `e` is a write to a closed pipe (a synchronous write to a closed pipe throws it). */
export function isBrokenPipe(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === "EPIPE";
}

/**
 * Calls `handler` on the first Ctrl-C (after restoring the terminal): the command stops at its next
 * check and reports what finished. A second Ctrl-C exits at once with code 130. Work that runs
 * synchronously must call `yieldToEventLoop()` between chunks for the handler to run. Returns a
 * function that removes the handler.
 */
export function onInterrupt(handler: () => void): () => void {
  let count = 0;
  const listener = () => {
    count++;
    restoreTerminal();
    if (count > 1) process.exit(EXIT_INTERRUPTED);
    process.stderr.write("\nstopsim: interrupted; finishing the current step (Ctrl-C again to quit now)\n");
    handler();
  };
  process.on("SIGINT", listener);
  return () => {
    process.off("SIGINT", listener);
  };
}

/** Lets pending signals and I/O run between chunks of synchronous work. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface Progress {
  /** Sets the amount done (0..total). */
  update(done: number, payload?: Record<string, string | number>): void;
  /** Removes the bar and restores the terminal. */
  stop(): void;
}

const NO_PROGRESS: Progress = { update() {}, stop() {} };

/**
 * A progress bar on stderr when it is a TTY (nothing otherwise, so pipes and --json stay clean).
 * The bar never turns line wrap off nor hides the cursor, so even a killed process leaves the
 * terminal as it was; `stop()` also restores both.
 */
export function progress(label: string, total: number, opts: { enabled?: boolean } = {}): Progress {
  const stream = process.stderr;
  if (!(opts.enabled ?? true) || !stream.isTTY) return NO_PROGRESS;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total}{detail}`,
      stream,
      linewrap: true, // keeps wrap on (cli-progress turns it off by default and on again only in stop())
      hideCursor: false,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { detail: "" });
  let stopped = false;
  return {
    update(done, payload) {
      if (!stopped) bar.update(done, payload ? { detail: ` ${Object.values(payload).join(" ")}` } : {});
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
      restoreTerminal(stream);
    },
  };
}
