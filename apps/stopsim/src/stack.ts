// Composes the layers into a simulated machine. The app only wires packages together through
// their public APIs and real channels: firmware DTB bytes into the host kernel, the host's KVM
// API into QEMU, QEMU's guest DTB into the guest kernel.
import type { Simulation } from "@stopsim/engine";
import { bootHost, type Host } from "@stopsim/host";
import { chipById, UnknownChipError } from "@stopsim/isa";
import { bootOpal, type OpalBoot, parseFirmwareVersion } from "@stopsim/opal";
import { UsageError } from "./errors.js";
import { type DesignSpec, type HostPreset, hostKvmBuild } from "./presets.js";

export interface FirmwareOptions {
  chip: string;
  firmware: string;
  sockets?: number;
  coresPerSocket?: number;
}

/** Runs the firmware model: the host's DTB bytes and its OPAL runtime. */
export function bootFirmware(opts: FirmwareOptions): OpalBoot {
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
  try {
    return bootOpal({
      chip,
      firmware,
      chips: opts.sockets ?? 1,
      coresPerChip: opts.coresPerSocket ?? 4,
      threadsPerCore: 4,
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

export interface SimHost {
  readonly preset: HostPreset;
  readonly firmware: OpalBoot;
  readonly host: Host;
}

/** Boots one host of `preset` under `design`: firmware, then the host kernel from the DTB bytes. */
export function bootSimHost(
  sim: Simulation,
  preset: HostPreset,
  design: DesignSpec,
  name = preset.name,
): SimHost {
  const firmware = bootFirmware(preset);
  const host = bootHost({
    sim,
    dtb: firmware.dtb,
    opal: firmware.opal,
    kernel: hostKvmBuild(preset, design),
    name,
    ...(preset.lostWakeupProbability !== undefined
      ? { guestStopErratum: { lostWakeupProbability: preset.lostWakeupProbability } }
      : {}),
  });
  return { preset, firmware, host };
}
