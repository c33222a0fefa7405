/** The host kernel could not boot from the firmware's device tree (truncated, corrupt, unusable). */
export class HostBootError extends Error {
  override readonly name = "HostBootError";
}

/** Misuse of the host API that no ioctl errno describes (e.g. invalid options to bootHost). */
export class HostConfigError extends Error {
  override readonly name = "HostConfigError";
}
