// The kernel log (printk ring buffer as `dmesg` shows it): each line carries the virtual time
// in seconds since boot, like linux: kernel/printk/printk.c print_time.

export type LogLevel = "emerg" | "alert" | "crit" | "err" | "warning" | "notice" | "info" | "debug";

export interface ConsoleLine {
  /** Virtual time of the printk, ns. */
  readonly time: number;
  readonly level: LogLevel;
  readonly text: string;
}

export class KernelConsole {
  readonly lines: ConsoleLine[] = [];
  /** Called for every line (e.g. to forward to a QEMU serial console model). */
  onLine: ((line: ConsoleLine) => void) | null = null;

  constructor(
    private readonly now: () => number,
    private readonly bootTime: () => number,
  ) {}

  printk(level: LogLevel, text: string): void {
    const line: ConsoleLine = { time: this.now(), level, text };
    this.lines.push(line);
    this.onLine?.(line);
  }

  /** The log formatted as dmesg prints it: `[    1.234567] text`. */
  dmesg(): string[] {
    return this.lines.map((l) => `${formatStamp(l.time - this.bootTime())} ${l.text}`);
  }

  /** True if a line contains `needle`. */
  contains(needle: string): boolean {
    return this.lines.some((l) => l.text.includes(needle));
  }
}

function formatStamp(ns: number): string {
  const t = Math.max(0, ns);
  const sec = Math.floor(t / 1e9);
  const usec = Math.floor((t % 1e9) / 1e3);
  return `[${String(sec).padStart(5, " ")}.${String(usec).padStart(6, "0")}]`;
}
