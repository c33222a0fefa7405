import type { Simulation } from "@stopsim/engine";

export type LogLevel = "err" | "warn" | "info" | "debug";

export interface LogLine {
  /** Virtual time in ns. */
  readonly time: number;
  readonly level: LogLevel;
  readonly text: string;
}

/** The host kernel's ring buffer: dmesg-like lines with a virtual timestamp. */
export class KernelLog {
  private readonly lines: LogLine[] = [];

  constructor(private readonly sim: Simulation) {}

  private push(level: LogLevel, text: string): void {
    this.lines.push({ time: this.sim.now, level, text });
  }
  err(text: string): void {
    this.push("err", text);
  }
  warn(text: string): void {
    this.push("warn", text);
  }
  info(text: string): void {
    this.push("info", text);
  }
  debug(text: string): void {
    this.push("debug", text);
  }

  entries(): readonly LogLine[] {
    return this.lines;
  }

  /** Lines formatted like dmesg: "[    0.000000] text". */
  dmesg(): string[] {
    return this.lines.map((l) => {
      const s = (l.time / 1e9).toFixed(6).padStart(12, " ");
      return `[${s}] ${l.text}`;
    });
  }

  /** Lines at the given levels (e.g. every warning). */
  at(...levels: LogLevel[]): string[] {
    return this.lines.filter((l) => levels.includes(l.level)).map((l) => l.text);
  }
}
