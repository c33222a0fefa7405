import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { chipById, POWER9_DD22, POWER9_DD23 } from "./chips.js";
import { MachineConfigError, PnvMachine, pnvPirP9 } from "./pnv.js";
import { SPRN_PIR, SPRN_PVR } from "./registers.js";

describe("PnvMachine (qemu hw/ppc/pnv.c, pnv_core.c)", () => {
  it("builds chips, SMT4 cores and threads with the P9 PIR layout", () => {
    const m = new PnvMachine(new Simulation(), { chip: POWER9_DD22, chips: 2, coresPerChip: 3 });
    expect(m.chips.map((c) => c.chipId)).toEqual([0, 8]);
    expect(m.cores).toHaveLength(6);
    expect(m.threads).toHaveLength(24);
    expect(m.chips[1].cores[2].pir).toBe(0x808);
    expect(m.chips[1].cores[2].threads.map((t) => t.pir)).toEqual([0x808, 0x809, 0x80a, 0x80b]);
    expect(pnvPirP9(8, 2, 3)).toBe(0x80b);
    expect(m.chips.map((c) => c.memoryBytes)).toEqual([2n << 30n, 2n << 30n]);
  });

  it("each thread reports its chip's PVR and its PIR through mfspr", () => {
    for (const chip of [POWER9_DD22, POWER9_DD23]) {
      const m = new PnvMachine(new Simulation(), { chip });
      for (const t of m.threads) {
        expect(Number(t.getSpr(SPRN_PVR))).toBe(chip.pvr);
        expect(Number(t.getSpr(SPRN_PIR))).toBe(t.pir);
      }
    }
  });

  it("finds a thread and its core by PIR; threads outside the present set are not found", () => {
    const m = new PnvMachine(new Simulation(), {
      chip: chipById("dd2.3"),
      coresPerChip: 1,
      threadsPerCore: 2,
    });
    expect(m.threadByPir(1)?.index).toBe(1);
    expect(m.threadByPir(2)).toBeUndefined();
    expect(m.coreOf(1)?.core).toBe(m.cores[0].core);
    expect(m.coreOf(0x7fff)).toBeUndefined();
    const two = new PnvMachine(new Simulation(), { chips: 2, coresPerChip: 2 });
    expect([two.coreOf(0x805)?.chipId, two.coreOf(0x805)?.coreId]).toEqual([8, 1]);
    // doorbells reach every thread of the machine through one fabric
    expect(m.cores[0].core.lookupPir(1)).toBe(m.threadByPir(1));
  });

  it("errata are hardware facts of the chip: the guest-stop erratum is on before DD2.3 and configurable", () => {
    const on = new PnvMachine(new Simulation(), { chip: POWER9_DD22 });
    const off = new PnvMachine(new Simulation(), { chip: POWER9_DD23 });
    expect(on.cores.every((c) => c.core.errata.enabled)).toBe(true);
    expect(off.cores.every((c) => c.core.errata.enabled)).toBe(false);
    const p = new PnvMachine(new Simulation(), {
      chip: POWER9_DD22,
      guestStopErratum: { lostWakeupProbability: 0.5 },
    });
    expect(p.cores[0].core.errata.lostWakeupProbability).toBe(0.5);
  });

  it("validates its configuration with clear errors", () => {
    const sim = new Simulation();
    const bad = (o: ConstructorParameters<typeof PnvMachine>[1]) => () => new PnvMachine(sim, o);
    expect(bad({ threadsPerCore: 8 })).toThrow(MachineConfigError);
    expect(() => new PnvMachine(sim, { chips: 0 })).toThrow(
      expect.objectContaining({ name: "MachineConfigError" }),
    );
    expect(bad({ threadsPerCore: 8 })).toThrow("threadsPerCore must be an integer from 1 to 4, got 8");
    expect(bad({ coresPerChip: 25 })).toThrow("coresPerChip");
    expect(bad({ chips: 0 })).toThrow("chips");
    expect(bad({ memoryBytes: 1000 })).toThrow("multiple of");
    expect(bad({ memoryBytes: 1.5 })).toThrow(MachineConfigError);
    expect(bad({ clockMhz: 0 })).toThrow("clockMhz");
    expect(bad({ clockMhz: 10001 })).toThrow("clockMhz must be an integer from 1 to 10000, got 10001");
    expect(bad({ chips: 17 })).toThrow("chips must be an integer from 1 to 16, got 17");
    expect(bad({ coresPerChip: 0 })).toThrow("coresPerChip must be an integer from 1 to 24, got 0");
    expect(bad({ threadsPerCore: 0 })).toThrow("threadsPerCore");
    // memory is split per chip in 256 MiB units: 256 MiB is enough for one chip, not for two
    expect(new PnvMachine(sim, { memoryBytes: 256n << 20n }).chips[0].memoryBytes).toBe(256n << 20n);
    expect(bad({ chips: 2, memoryBytes: 256n << 20n })).toThrow(
      "memoryBytes must be a positive multiple of 2 x 256 MiB (536870912 bytes), got 268435456",
    );
    expect(bad({ memoryBytes: 0 })).toThrow("memoryBytes");
    expect(bad({ memoryBytes: "lots" as unknown as number })).toThrow(
      "memoryBytes must be an integer number of bytes, got lots",
    );
  });

  it("the largest machine it accepts: 16 chips of 24 cores, ids up to 120, PIRs within 15 bits", () => {
    const m = new PnvMachine(new Simulation(), {
      chips: 16,
      coresPerChip: 24,
      threadsPerCore: 1,
      clockMhz: 10000,
    });
    expect(m.chips.at(-1)?.chipId).toBe(120);
    expect(m.threads).toHaveLength(16 * 24);
    expect(Math.max(...m.threads.map((t) => t.pir))).toBe(pnvPirP9(120, 23, 0));
    expect(pnvPirP9(120, 23, 3)).toBeLessThanOrEqual(0x7fff);
    expect(m.clockMhz).toBe(10000);
  });

  it("a machine of one thread per core: the thread has its core to itself (speed 1, not SMT4's share)", () => {
    const m = new PnvMachine(new Simulation(), { threadsPerCore: 1 });
    for (const c of m.cores) {
      expect(c.core.threads).toEqual(c.threads);
      expect(c.threads).toHaveLength(1);
      c.threads[0].setSoftware("hv", { interrupt: () => {}, resume: () => {} });
      expect(c.core.effectiveSpeed(0)).toBe(1);
    }
  });

  it("defaults: one POWER9 DD2.3 chip of two SMT4 cores, 4 GiB, 3800 MHz", () => {
    const m = new PnvMachine(new Simulation());
    expect(m.chips).toHaveLength(1);
    expect(m.chips[0].model).toBe(POWER9_DD23);
    expect(m.cores).toHaveLength(2);
    expect(m.threadsPerCore).toBe(4);
    expect(m.memoryBytes).toBe(4n << 30n);
    expect(m.clockMhz).toBe(3800);
  });
});
