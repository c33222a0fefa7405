// Firmware versions the model boots. "2020" is skiboot as of early 2020 (v6.6); the
// "idle-stop-guest" firmware is the same plus the dt-cpu-feature proposed in the 2020 RFC
// "[RFC/PATCH 0/3] Add support for stop instruction inside KVM guest" (linuxppc-dev,
// 2020-03-31): OPAL publishes "idle-stop-guest" on POWER9 DD2.3 and later. That feature never
// went into upstream skiboot.

export type FirmwareId = "2020" | "idle-stop-guest";

export interface FirmwareVersion {
  readonly id: FirmwareId;
  /** The version string in /ibm,opal/firmware "version". */
  readonly versionString: string;
  readonly description: string;
  /** Adds the "idle-stop-guest" cpu feature on DD2.3 and later. */
  readonly idleStopGuest: boolean;
}

export const FIRMWARE_VERSIONS: Readonly<Record<FirmwareId, FirmwareVersion>> = {
  "2020": {
    id: "2020",
    versionString: "skiboot-v6.6",
    description:
      "skiboot as of early 2020 (v6.6): POWER9 dt-cpu-features of core/cpufeatures.c, idle states of hw/slw.c; no idle-stop-guest",
    idleStopGuest: false,
  },
  "idle-stop-guest": {
    id: "idle-stop-guest",
    versionString: "skiboot-v6.6-idle-stop-guest",
    description:
      'skiboot v6.6 plus the 2020 RFC design: publishes the dt-cpu-feature "idle-stop-guest" on POWER9 DD2.3 and later',
    idleStopGuest: true,
  },
};

/** Accepted aliases: "new" is the firmware with the RFC's feature. */
const ALIASES: Readonly<Record<string, FirmwareId>> = {
  "2020": "2020",
  old: "2020",
  "skiboot-v6.6": "2020",
  "idle-stop-guest": "idle-stop-guest",
  new: "idle-stop-guest",
};

export class UnknownFirmwareError extends Error {
  override readonly name = "UnknownFirmwareError";
}

/** Parses a firmware name ("2020", "idle-stop-guest", "new", ...); unknown names throw UnknownFirmwareError. */
export function parseFirmwareVersion(name: string): FirmwareVersion {
  const id = ALIASES[name.trim().toLowerCase()];
  if (!id) {
    throw new UnknownFirmwareError(
      `unknown firmware '${name}': expected one of ${Object.keys(ALIASES)
        .map((a) => `'${a}'`)
        .join(", ")} (${Object.values(FIRMWARE_VERSIONS)
        .map((f) => `${f.id}: ${f.description}`)
        .join("; ")})`,
    );
  }
  return FIRMWARE_VERSIONS[id];
}
