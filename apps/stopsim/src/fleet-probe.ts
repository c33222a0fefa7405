// What the fleet asks the full stack, and how a VM draws its result from the answers: the contract
// between the fleet simulation (fleet.ts: placement, plans, timing) and the full-stack probe that
// implements it with the real layers (probe.ts FullStackProbe). Each distinct case (a boot on a
// host kind, a migration between two host kinds, a machine type on a host kind) is answered over a
// few probe seeds; a VM picks one of those answers by a pure function of its own seed and draw
// count, so an outcome that one probe seed in k gives reaches about one VM in k.
import { MATRIX_OUTCOMES, type MatrixOutcome } from "@stopsim/report";

/** What a run ended in: the report model's outcomes (@stopsim/report MATRIX_OUTCOMES, named there only). */
export type RunOutcome = MatrixOutcome;

export const RUN_OUTCOMES: readonly RunOutcome[] = MATRIX_OUTCOMES;

/** What a full-stack boot of a guest on a host kind ended in. */
export interface BootProbeResult {
  readonly outcome: RunOutcome;
  readonly detail: string;
}

/** What a full-stack live migration ended in. */
export interface MigrationProbeResult {
  readonly outcome: RunOutcome;
  readonly detail: string;
  /** Guest downtime of the stop-and-copy phase, ns (0 when refused before it). */
  readonly downtimeNs: number;
  /** Total migration time, ns. */
  readonly totalTimeNs: number;
  /** For a refusal: the management layer's phase that failed and its error's first line. */
  readonly refusal?: { readonly phase: string; readonly error: string };
}

/** Whether a host kind accepts a machine type (libvirt's domain capabilities). */
export interface AcceptProbeResult {
  readonly usable: boolean;
  /** The refusal when not usable. */
  readonly error?: string;
}

/**
 * Full-stack runs the fleet asks for (implemented by FullStackProbe with the real layers): each
 * case's results over the probe's seeds (at least one), from which each VM draws one. The machine
 * type argument is the VM's (omitted: the design's own).
 */
export interface FleetProbe {
  boot(design: string, hostKind: string, machine?: string): readonly BootProbeResult[];
  /** A guest booted on `bootKind`, now on `fromKind`, migrates to `toKind`. */
  migrate(
    design: string,
    bootKind: string,
    fromKind: string,
    toKind: string,
    machine?: string,
  ): readonly MigrationProbeResult[];
  /** The host kind's domain capabilities: can it start this machine type with its default caps? */
  accepts?(design: string, hostKind: string, machine: string): AcceptProbeResult;
}

/** A 32-bit integer finaliser (murmur3's fmix32): spreads every input bit over the output. */
function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * The index of the probe a VM gets at its `n`-th draw among `k`: uniform, a pure function of the
 * VM's seed and the draw count, so a VM's draws do not depend on what other VMs drew.
 */
export function vmDraw(vmSeed: number, n: number, k: number): number {
  const u = fmix32(vmSeed ^ fmix32(Math.imul(n + 1, 0x9e3779b9)));
  return Math.floor((u / 2 ** 32) * k);
}
