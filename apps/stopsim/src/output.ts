// Human output (tables, colour on a TTY) and JSON output for every command.
import Table from "cli-table3";
import pc from "picocolors";

export interface OutputOptions {
  json?: boolean;
}

/** Writes `value` as pretty JSON (the --json form of every command). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A table with a header row; colour only when stdout is a TTY (picocolors decides). */
export function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({
    head: head.map((h) => pc.bold(h)),
    style: { head: [], border: [] },
  });
  for (const r of rows) t.push(r.map((c) => String(c)));
  return t.toString();
}

export function heading(text: string): string {
  return pc.bold(pc.cyan(text));
}

export const colour = pc;
