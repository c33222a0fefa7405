import { Simulation } from "@stopsim/engine";
import { type ChipModel, chipById, PnvMachine, type PnvMachineOptions } from "@stopsim/isa";

/** A PowerNV machine of `chip` ("dd2.3" or a ChipModel) for the firmware to probe. */
export function p9Machine(chip: string | ChipModel, opts: Omit<PnvMachineOptions, "chip"> = {}): PnvMachine {
  return new PnvMachine(new Simulation(), {
    chip: typeof chip === "string" ? chipById(chip) : chip,
    ...opts,
  });
}
