// Composes the layers into a simulated machine. The app only wires packages together through
// their public APIs and real channels: firmware DTB bytes into the host kernel, the host's KVM
// API into QEMU, QEMU's guest DTB into the guest kernel.
import { Simulation } from "@stopsim/engine";
import { bootHost, type Host } from "@stopsim/host";
import { chipById, MachineConfigError, PnvMachine, UnknownChipError } from "@stopsim/isa";
import { bootOpal, type OpalBoot, parseFirmwareVersion } from "@stopsim/opal";
import { UsageError } from "./errors.js";
import { type DesignSpec, type HostPreset, hostKvmBuild } from "./presets.js";

export interface FirmwareOptions {
  chip: string;
  firmware: string;
  sockets?: number;
  coresPerSocket?: number;
  /** The guest-stop erratum's lost-wakeup probability (a hardware fact of the chips). */
  lostWakeupProbability?: number;
}

/** A booted firmware and the machine it probed. */
export interface FirmwareBoot extends OpalBoot {
  readonly machine: PnvMachine;
}

/**
 * Builds the machine (chips, cores, threads: the hardware comes first) on `sim`, then runs the
 * firmware model on it: the host's DTB bytes and its OPAL runtime.
 */
export function bootFirmware(opts: FirmwareOptions, sim: Simulation = new Simulation()): FirmwareBoot {
  let chip: ReturnType<typeof chipById>;
  try {
    chip = chipById(opts.chip);
  } catch (e) {
    if (e instanceof UnknownChipError) throw new UsageError(e.message);
    throw e;
  }
  let firmware: ReturnType<typeof parseFirmwareVersion>;
  try {
    firmware = parseFirmwareVersion(opts.firmware);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  let machine: PnvMachine;
  try {
    machine = new PnvMachine(sim, {
      chip,
      chips: opts.sockets ?? 1,
      coresPerChip: opts.coresPerSocket ?? 4,
      threadsPerCore: 4,
      ...(opts.lostWakeupProbability !== undefined
        ? { guestStopErratum: { lostWakeupProbability: opts.lostWakeupProbability } }
        : {}),
    });
  } catch (e) {
    if (e instanceof MachineConfigError || e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  try {
    return { ...bootOpal({ machine, firmware }), machine };
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

export interface SimHost {
  readonly preset: HostPreset;
  /** The machine the firmware and the host kernel run on. */
  readonly machine: PnvMachine;
  readonly firmware: FirmwareBoot;
  readonly host: Host;
}

/**
 * Boots one host of `preset` under `design`: the machine, the firmware on it, then the host
 * kernel on the machine from the DTB bytes.
 */
export function bootSimHost(
  sim: Simulation,
  preset: HostPreset,
  design: DesignSpec,
  name = preset.name,
): SimHost {
  const firmware = bootFirmware(preset, sim);
  const host = bootHost({
    machine: firmware.machine,
    dtb: firmware.dtb,
    opal: firmware.opal,
    kernel: hostKvmBuild(preset, design),
    name,
  });
  return { preset, machine: firmware.machine, firmware, host };
}
