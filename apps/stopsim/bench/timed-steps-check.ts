// Checks that the guest kernel's timed steps (kernel paths whose costs are summed and spent once)
// left the simulation's outcomes and statistics where they were: every matrix cell the same, and
// the wakeup medians and ebizzy / context_switch2 rates within 5% at the same seeds, against the
// figures in timed-steps-before.json (measured on the build before timed steps; its "source" says
// how). Runs the built CLI (build first: `npx -y pnpm@10 build`); exits 1 on a difference.
// Usage: cd apps/stopsim && npx tsx bench/timed-steps-check.ts
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface Cell {
  design: string;
  from: string;
  to: string;
  outcomes: Record<string, number>;
}
interface Before {
  matrix: { seeds: number[]; cells: Cell[] };
  wakeup: {
    seeds: number[];
    samples: number;
    states: { state: string; host: string; timer: number; ipi: number }[];
  };
  ebizzy: { seeds: number[]; states: { state: string; host: string; rate: number }[] };
  ctxsw: { seeds: number[]; states: { state: string; host: string; rate: number }[] };
}

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "..", "dist", "cli.js");
const before = JSON.parse(readFileSync(join(here, "timed-steps-before.json"), "utf8")) as Before;
const TOLERANCE = 0.05;

function run<T>(args: string[]): T {
  const out = execFileSync(process.execPath, [cli, ...args, "--json"], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  return JSON.parse(out) as T;
}

const seeds = (s: number[]) => s.join(",");
const failures: string[] = [];
const lines: string[] = [];

const matrix = run<{ rows: Cell[] }>(["matrix", "--seeds", seeds(before.matrix.seeds)]);
let same = 0;
for (const b of before.matrix.cells) {
  const a = matrix.rows.find((r) => r.design === b.design && r.from === b.from && r.to === b.to);
  if (a !== undefined && JSON.stringify(a.outcomes) === JSON.stringify(b.outcomes)) same++;
  else
    failures.push(
      `matrix ${b.design} ${b.from} -> ${b.to}: ${JSON.stringify(b.outcomes)} before, ${JSON.stringify(a?.outcomes)} now`,
    );
}
lines.push(
  `matrix: ${same}/${before.matrix.cells.length} cells the same over seeds ${seeds(before.matrix.seeds)}`,
);

function compare(what: string, b: number, a: number | undefined): void {
  const d = a === undefined ? Number.NaN : a / b - 1;
  const text = `${what}: ${b} before, ${a} now (${(d * 100).toFixed(1)}%)`;
  lines.push(text);
  if (!(Math.abs(d) <= TOLERANCE)) failures.push(text);
}

type Median = { median: number };
const wakeup = run<{ states: { state: string; timer: Median; ipi: Median }[] }>([
  "bench",
  "wakeup",
  "--seeds",
  seeds(before.wakeup.seeds),
  "--samples",
  String(before.wakeup.samples),
]);
for (const b of before.wakeup.states) {
  const a = wakeup.states.find((s) => s.state === b.state);
  compare(`wakeup ${b.state} by timer, ns`, b.timer, a?.timer.median);
  compare(`wakeup ${b.state} by IPI, ns`, b.ipi, a?.ipi.median);
}
for (const name of ["ebizzy", "ctxsw"] as const) {
  const now = run<{ states: { state: string; rate: Median }[] }>([
    "bench",
    name,
    "--seeds",
    seeds(before[name].seeds),
  ]);
  for (const b of before[name].states) {
    compare(`${name} ${b.state}, per s`, b.rate, now.states.find((s) => s.state === b.state)?.rate.median);
  }
}
console.log(lines.join("\n"));
if (failures.length > 0) {
  console.error(`\n${failures.length} difference(s):\n${failures.join("\n")}`);
  process.exit(1);
}
console.log("\nsame outcomes, statistics within 5%");
