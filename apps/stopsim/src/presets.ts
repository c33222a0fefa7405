// Hosts and designs as data (DOMAIN.md sections 4 and 5). A design is a set of per-layer
// settings; nothing here names an outcome: outcomes come from running the layers.
import type { KvmBuildName } from "@stopsim/host";
import { UsageError } from "./errors.js";

/** Which guest kernel runs: the cpuidle-pseries configurations of the guest package. */
export type GuestStopPolicy = "never" | "always" | "arch300" | "platform";

/** Host KVM builds: the host package's presets (@stopsim/host KVM_BUILDS), named there only. */
export type { KvmBuildName };

export interface DesignSpec {
  readonly name: string;
  readonly description: string;
  /** The KVM build an upgraded host of this design runs. */
  readonly hostKvm: KvmBuildName;
  /** The QEMU every host of this design runs. */
  readonly qemu: {
    /** This QEMU knows the spapr capability cap-stop-lite. */
    readonly stopLiteCap: boolean;
    /** This QEMU copies KVM_CAP_STOP into the guest tree (the host-probed design). */
    readonly probeKvmCapStop: boolean;
  };
  /** The guest's default machine type. */
  readonly machine: string;
  readonly guest: { readonly stop0lite: GuestStopPolicy };
}

export type FirmwareName = "2020" | "new";

export interface HostPreset {
  readonly name: string;
  readonly description: string;
  /** Chip model id of @stopsim/isa ("dd2.2"). */
  readonly chip: string;
  readonly firmware: FirmwareName;
  /** "old": the 2020 upstream kernel whatever the design; "design": the design's host kernel; or a KVM build. */
  readonly kernel: "old" | "design" | KvmBuildName;
  readonly sockets: number;
  readonly coresPerSocket: number;
  /**
   * The guest-stop erratum's chance of losing one wake event of a natively stopped guest thread
   * (@stopsim/isa errata.ts; default: the ISA model's, on DD levels before 2.3 only).
   */
  readonly lostWakeupProbability?: number;
}

export const DESIGNS: readonly DesignSpec[] = [
  {
    name: "upstream-2020",
    description: "KVM as of 2020: ESL|EC always set, no stop emulation; guests have no stop0lite",
    hostKvm: "upstream-2020",
    qemu: { stopLiteCap: false, probeKvmCapStop: false },
    machine: "pseries-5.0",
    guest: { stop0lite: "never" },
  },
  {
    name: "rfc-as-posted",
    description:
      "the RFC series: KVM emulates stop wakeups and always clears ESL|EC; guests always use stop0lite",
    hostKvm: "patch2-as-posted",
    qemu: { stopLiteCap: false, probeKvmCapStop: false },
    machine: "pseries-5.0",
    guest: { stop0lite: "always" },
  },
  {
    name: "host-probed",
    description:
      "OPAL idle-stop-guest -> enable_guest_stop -> KVM_CAP_STOP; QEMU copies it into the guest tree (Nack'd)",
    hostKvm: "host-probed",
    qemu: { stopLiteCap: false, probeKvmCapStop: true },
    machine: "pseries-5.0",
    guest: { stop0lite: "platform" },
  },
  {
    name: "emulate-fallback",
    description:
      "native stop if idle-stop-guest, else trap and emulate; guests use stop0lite iff CPU_FTR_ARCH_300",
    hostKvm: "fallback",
    qemu: { stopLiteCap: false, probeKvmCapStop: false },
    machine: "pseries-5.0",
    guest: { stop0lite: "arch300" },
  },
  {
    name: "spapr-cap",
    description:
      "the agreed design: emulate-fallback KVM reporting support, spapr cap-stop-lite on by default from pseries-5.1",
    hostKvm: "fallback",
    qemu: { stopLiteCap: true, probeKvmCapStop: false },
    machine: "pseries-5.1",
    guest: { stop0lite: "platform" },
  },
];

export const HOSTS: readonly HostPreset[] = [
  {
    name: "dd2.2-old",
    description: "POWER9 DD2.2, 2020 firmware, 2020 upstream host kernel",
    chip: "dd2.2",
    firmware: "2020",
    kernel: "old",
    sockets: 1,
    coresPerSocket: 4,
  },
  {
    name: "dd2.3-old",
    description: "POWER9 DD2.3, 2020 firmware, 2020 upstream host kernel",
    chip: "dd2.3",
    firmware: "2020",
    kernel: "old",
    sockets: 1,
    coresPerSocket: 4,
  },
  {
    name: "dd2.2",
    description: "POWER9 DD2.2, new firmware, the design's host kernel",
    chip: "dd2.2",
    firmware: "new",
    kernel: "design",
    sockets: 1,
    coresPerSocket: 4,
  },
  {
    name: "dd2.3",
    description: "POWER9 DD2.3, new firmware (publishes idle-stop-guest), the design's host kernel",
    chip: "dd2.3",
    firmware: "new",
    kernel: "design",
    sockets: 1,
    coresPerSocket: 4,
  },
];

export function findDesign(name: string, extra: readonly DesignSpec[] = []): DesignSpec {
  const all = [...extra, ...DESIGNS];
  const d = all.find((x) => x.name === name);
  if (!d) {
    throw new UsageError(
      `unknown design '${name}': expected one of ${all.map((x) => x.name).join(", ")} (or define it in a --scenario file)`,
    );
  }
  return d;
}

export function findHost(name: string, extra: readonly HostPreset[] = []): HostPreset {
  const all = [...extra, ...HOSTS];
  const h = all.find((x) => x.name === name);
  if (!h) {
    throw new UsageError(
      `unknown host '${name}': expected one of ${all.map((x) => x.name).join(", ")} (or define it in a --scenario file)`,
    );
  }
  return h;
}

/** The KVM build a host runs under a design. */
export function hostKvmBuild(host: HostPreset, design: DesignSpec): KvmBuildName {
  if (host.kernel === "old") return "upstream-2020";
  if (host.kernel === "design") return design.hostKvm;
  return host.kernel;
}
