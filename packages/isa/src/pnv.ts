// The POWER9 PowerNV machine: processor chips, their SMT4 cores and hardware threads, built before
// any firmware runs. Firmware and kernels find it the way the real ones do: by probing its threads
// (PVR and PIR through mfspr) and by the thread a PIR names.
// qemu: hw/ppc/pnv.c (pnv_init: num-chips chips of one chip type; pnv_chip_pir_p9: PIR = chip id
// << 8 | core id << 2 | thread id for SMT4 cores), hw/ppc/pnv_core.c (pnv_core_realize: one CPU
// per thread of the core), target/ppc/cpu-models.c (the PVR of each POWER9 DD level).
// Chip ids are 0, 8, 16, ... as hostboot numbers the chips of two-socket systems (group id << 3);
// QEMU numbers them 0, 1, 2, ...: with SMT4 cores the PIR layout is the same.

import type { Simulation } from "@stopsim/engine";
import { type ChipModel, POWER9_DD23 } from "./chips.js";
import { DoorbellFabric, SmtCore } from "./core.js";
import type { GuestStopErratumConfig } from "./errata.js";
import type { HwThread } from "./thread.js";

/** POWER9 Nimbus: at most 24 SMT4 cores per chip (qemu: hw/ppc/pnv.c POWER9_CORE_MASK). */
export const PNV_P9_MAX_CORES_PER_CHIP = 24;
/** At most 16 chips in one machine (model limit, 8 groups of 2 sockets). */
export const PNV_MAX_CHIPS = 16;
/** Memory is split between chips in units of 256 MiB. */
export const PNV_MEMORY_GRANULE = 256n << 20n;

export class MachineConfigError extends RangeError {
  override readonly name = "MachineConfigError";
}

export interface PnvMachineOptions {
  /** Chip type and DD level of every chip (the PVR each thread reports). Default POWER9 DD2.3. */
  readonly chip?: ChipModel;
  /** Processor chips (sockets), 1..16. Default 1. */
  readonly chips?: number;
  /** Cores per chip, 1..24. Default 2. */
  readonly coresPerChip?: number;
  /**
   * Threads of each core that are present (QEMU's `-smp threads=N`), 1..the chip's threads per
   * core. Default: all of them (4 on POWER9).
   */
  readonly threadsPerCore?: number;
  /** Memory in bytes, split evenly between the chips. Default 4 GiB. */
  readonly memoryBytes?: bigint | number;
  /** Core clock in MHz (what hostboot reports as the actual clock speed). Default 3800. */
  readonly clockMhz?: number;
  /** Guest-stop erratum of the cores (default: by DD level, see errata.ts). */
  readonly guestStopErratum?: Partial<GuestStopErratumConfig>;
}

/** One SMT core of a chip. */
export interface PnvCore {
  readonly chipId: number;
  /** Core number inside the chip (0..23). */
  readonly coreId: number;
  /** PIR of thread 0. */
  readonly pir: number;
  /** The hardware: its `threadsPerCore` threads sharing issue resources. */
  readonly core: SmtCore;
  /** The core's threads, in thread order (`threadsPerCore` of them). */
  readonly threads: readonly HwThread[];
}

/** One processor chip. */
export interface PnvChip {
  /** Chip id (the PIR's chip field). */
  readonly chipId: number;
  readonly model: ChipModel;
  readonly cores: readonly PnvCore[];
  /** Memory attached to this chip, bytes. */
  readonly memoryBytes: bigint;
}

/** qemu: hw/ppc/pnv.c pnv_chip_pir_p9 (SMT4 cores). */
export function pnvPirP9(chipId: number, coreId: number, thread: number): number {
  return (chipId << 8) | (coreId << 2) | thread;
}

function intOption(name: string, v: number | undefined, def: number, min: number, max: number): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < min || x > max) {
    throw new MachineConfigError(`${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
  return x;
}

/** A POWER9 PowerNV machine: the hardware firmware probes and the host kernel runs on. */
export class PnvMachine {
  readonly sim: Simulation;
  readonly chips: readonly PnvChip[];
  /** msgsnd delivery between all threads of the machine. */
  readonly fabric = new DoorbellFabric();
  readonly memoryBytes: bigint;
  readonly clockMhz: number;
  readonly threadsPerCore: number;
  private readonly byPir = new Map<number, HwThread>();

  constructor(sim: Simulation, options: PnvMachineOptions = {}) {
    this.sim = sim;
    const model = options.chip ?? POWER9_DD23;
    const nChips = intOption("chips", options.chips, 1, 1, PNV_MAX_CHIPS);
    const nCores = intOption("coresPerChip", options.coresPerChip, 2, 1, PNV_P9_MAX_CORES_PER_CHIP);
    this.threadsPerCore = intOption(
      "threadsPerCore",
      options.threadsPerCore,
      model.threadsPerCore,
      1,
      model.threadsPerCore,
    );
    this.clockMhz = intOption("clockMhz", options.clockMhz, 3800, 1, 10000);
    let memoryBytes: bigint;
    try {
      memoryBytes = BigInt(options.memoryBytes ?? 4n << 30n);
    } catch {
      throw new MachineConfigError(
        `memoryBytes must be an integer number of bytes, got ${String(options.memoryBytes)}`,
      );
    }
    const unit = PNV_MEMORY_GRANULE * BigInt(nChips);
    if (memoryBytes <= 0n || memoryBytes % unit !== 0n) {
      throw new MachineConfigError(
        `memoryBytes must be a positive multiple of ${nChips} x 256 MiB (${unit} bytes), got ${memoryBytes}`,
      );
    }
    this.memoryBytes = memoryBytes;
    const chips: PnvChip[] = [];
    for (let i = 0; i < nChips; i++) {
      const chipId = i * 8;
      const cores: PnvCore[] = [];
      for (let coreId = 0; coreId < nCores; coreId++) {
        const pir = pnvPirP9(chipId, coreId, 0);
        // SmtCore numbers its threads (coreId << 2) | thread: its core number is the PIR's upper bits
        const core = new SmtCore(sim, {
          chip: model,
          coreId: pir >>> 2,
          fabric: this.fabric,
          guestStopErratum: options.guestStopErratum,
          threads: this.threadsPerCore,
        });
        const threads = core.threads;
        for (const t of threads) this.byPir.set(t.pir, t);
        cores.push({ chipId, coreId, pir, core, threads });
      }
      chips.push({ chipId, model, cores, memoryBytes: memoryBytes / BigInt(nChips) });
    }
    this.chips = chips;
  }

  /** Every core, chip by chip. */
  get cores(): readonly PnvCore[] {
    return this.chips.flatMap((c) => c.cores);
  }

  /** Every present thread, chip by chip, core by core. */
  get threads(): readonly HwThread[] {
    return this.chips.flatMap((c) => c.cores.flatMap((k) => k.threads));
  }

  /** The present thread with this PIR (how OPAL_START_CPU names a thread), or undefined. */
  threadByPir(pir: number): HwThread | undefined {
    return this.byPir.get(pir);
  }

  /** The core (SmtCore) a present thread belongs to. */
  coreOf(pir: number): PnvCore | undefined {
    const t = this.byPir.get(pir);
    if (t === undefined) return undefined;
    for (const chip of this.chips) for (const c of chip.cores) if (c.core === t.core) return c;
    return undefined;
  }
}
