// Kernel build configurations of the host KVM: the RFC series and the designs discussed around
// it (linuxppc-dev, "[RFC/PATCH 0/3] Add support for stop instruction inside KVM guest",
// 2020-03-31, and replies), expressed as orthogonal settings with named presets.

/** How KVM sets PSSCR[ESL|EC] on guest entry. */
export type PsscrPolicy =
  /** 2020 upstream: PSSCR_EC is always ORed in ("This makes stop trap to HV"). */
  | "always-set"
  /** RFC patch 2 as posted: ESL and EC always cleared ("Allow guest to call stop"). */
  | "always-clear"
  /** Cleared iff the host found the dt-cpu-feature "idle-stop-guest" (enable_guest_stop). */
  | "clear-if-enable-guest-stop";

export interface KvmBuild {
  /** Preset name or a free label for custom builds (appears in the boot log). */
  readonly name: string;
  /** RFC patch 1: H_FAC_UNAVAIL caused by `stop` advances the guest PC by 4 and resumes it. */
  readonly emulateStopTrap: boolean;
  readonly psscrPolicy: PsscrPolicy;
  /** Host-probed design: KVM_CAP_STOP returns enable_guest_stop. */
  readonly reportsKvmCapStop: boolean;
  /** spapr-cap design: KVM_CAP_PPC_GUEST_STOP reports that guest stop is handled. */
  readonly reportsGuestStopSupport: boolean;
}

export type KvmBuildName = "upstream-2020" | "patch1" | "patch2-as-posted" | "host-probed" | "fallback";

export const KVM_BUILDS: Readonly<Record<KvmBuildName, KvmBuild>> = {
  "upstream-2020": {
    name: "upstream-2020",
    emulateStopTrap: false,
    psscrPolicy: "always-set",
    reportsKvmCapStop: false,
    reportsGuestStopSupport: false,
  },
  patch1: {
    name: "patch1",
    emulateStopTrap: true,
    psscrPolicy: "always-set",
    reportsKvmCapStop: false,
    reportsGuestStopSupport: false,
  },
  "patch2-as-posted": {
    name: "patch2-as-posted",
    emulateStopTrap: true,
    psscrPolicy: "always-clear",
    reportsKvmCapStop: false,
    reportsGuestStopSupport: false,
  },
  "host-probed": {
    name: "host-probed",
    emulateStopTrap: false,
    psscrPolicy: "clear-if-enable-guest-stop",
    reportsKvmCapStop: true,
    reportsGuestStopSupport: false,
  },
  fallback: {
    name: "fallback",
    emulateStopTrap: true,
    psscrPolicy: "clear-if-enable-guest-stop",
    reportsKvmCapStop: false,
    reportsGuestStopSupport: true,
  },
};

export class KvmBuildError extends Error {
  override readonly name = "KvmBuildError";
}

/**
 * Whether the build's dt_cpu_ftrs.c knows the feature "idle-stop-guest" (its enable handler
 * sets enable_guest_stop). Builds that never look at enable_guest_stop do not carry the handler:
 * to them the feature is unknown and handled by the generic unknown-feature path.
 */
export function buildKnowsIdleStopGuest(build: KvmBuild): boolean {
  return build.psscrPolicy === "clear-if-enable-guest-stop" || build.reportsKvmCapStop;
}

/** Resolves a preset name or validates a custom build. */
export function resolveKvmBuild(build: KvmBuild | KvmBuildName): KvmBuild {
  if (typeof build === "string") {
    // own keys only: "toString" and the other Object.prototype names are not presets
    const preset = Object.hasOwn(KVM_BUILDS, build) ? KVM_BUILDS[build as KvmBuildName] : undefined;
    if (preset === undefined) {
      throw new KvmBuildError(
        `unknown KVM build '${build}': use one of ${Object.keys(KVM_BUILDS).join(", ")} or pass a KvmBuild object`,
      );
    }
    return preset;
  }
  const policies: readonly string[] = ["always-set", "always-clear", "clear-if-enable-guest-stop"];
  if (!policies.includes(build.psscrPolicy)) {
    throw new KvmBuildError(
      `KvmBuild '${build.name}': psscrPolicy '${String(build.psscrPolicy)}' is not one of ${policies.join(", ")}`,
    );
  }
  for (const key of ["emulateStopTrap", "reportsKvmCapStop", "reportsGuestStopSupport"] as const) {
    if (typeof build[key] !== "boolean") {
      throw new KvmBuildError(
        `KvmBuild '${build.name}': ${key} must be a boolean, got ${String(build[key])}`,
      );
    }
  }
  return build;
}
