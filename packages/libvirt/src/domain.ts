// A domain definition (the part of libvirt's domain XML this model uses) and the QEMU command line
// libvirt's QEMU driver builds from it.
// libvirt: src/qemu/qemu_command.c qemuBuildCommandLine (qemuBuildMachineCommandLine,
//          qemuBuildCpuCommandLine, qemuBuildSmpCommandLine, qemuBuildMemCommandLine, -S always,
//          -incoming defer for an incoming migration), src/conf/domain_conf.h virDomainDef.

/** <domain type='kvm'>: name, <os><type machine=...>, <features> (spapr caps), <vcpu>, <memory>. */
export interface DomainDef {
  readonly name: string;
  /** <os><type arch='ppc64' machine='pseries-5.1'>hvm</type>. */
  readonly machine: string;
  /**
   * spapr capabilities set on the domain (libvirt's <features> map some of them: <htm>, <hpt>,
   * <nested-hv>, <ccf-assist>...; the model passes any cap by its QEMU name), e.g. { "stop-lite": "off" }.
   */
  readonly caps?: Readonly<Record<string, string>>;
  /**
   * The pseries machine's interrupt controller mode (`-machine ic-mode=xics|xive|dual`). libvirt's
   * domain XML has no element for it (a domain passes it through `<qemu:commandline>`); the model
   * takes it as a field so that a destination definition can differ in it.
   */
  readonly icMode?: "xics" | "xive" | "dual";
  /** <cpu mode='host-model'/>: on pseries QEMU's -cpu POWER9 (the host's PVR under KVM). */
  readonly cpu?: string;
  /** <vcpu> and <cpu><topology sockets= cores= threads=>. */
  readonly vcpus: {
    readonly count: number;
    readonly sockets: number;
    readonly cores: number;
    readonly threads: number;
  };
  /** <memory unit='KiB'>. */
  readonly memoryKiB: number;
}

export class DomainDefError extends Error {
  override readonly name: string = "DomainDefError";
}

/** Checks what virDomainDefParse would refuse for the fields modelled. */
export function validateDomainDef(def: DomainDef): void {
  if (!/^[^/\s]+$/.test(def.name)) {
    throw new DomainDefError(`domain name '${def.name}' is not valid: use a name without spaces or '/'`);
  }
  const { count, sockets, cores, threads } = def.vcpus;
  for (const [k, v] of Object.entries({ count, sockets, cores, threads })) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new DomainDefError(`vcpus.${k} must be a whole number >= 1, got ${v}`);
    }
  }
  if (sockets * cores * threads !== count) {
    throw new DomainDefError(
      `CPU topology doesn't match maximum vcpu count: ${sockets} sockets x ${cores} cores x ${threads} threads != ${count} vcpus`,
    );
  }
  if (!Number.isSafeInteger(def.memoryKiB) || def.memoryKiB < 1024 || def.memoryKiB % 1024 !== 0) {
    throw new DomainDefError(
      `memoryKiB must be a whole number of MiB (a multiple of 1024), got ${def.memoryKiB}`,
    );
  }
}

export interface CommandLineOptions {
  /** Prepare of an incoming migration: `-incoming defer` (qemuProcessPrepareDomain ... incoming). */
  readonly incoming?: boolean;
}

/**
 * The command line libvirt starts QEMU with: always `-S` (the CPUs start with QMP cont once libvirt
 * has finished setting up), KVM, the machine type with the domain's caps, the CPU, the topology,
 * the memory in MiB, no graphics; `-incoming defer` when preparing an incoming migration.
 */
export function domainCommandLine(def: DomainDef, opts: CommandLineOptions = {}): string[] {
  validateDomainDef(def);
  const caps = Object.entries(def.caps ?? {}).map(([k, v]) => `,cap-${k}=${v}`);
  const { count, sockets, cores, threads } = def.vcpus;
  const argv = [
    "-S",
    "-accel",
    "kvm",
    "-M",
    `${def.machine}${def.icMode !== undefined ? `,ic-mode=${def.icMode}` : ""}${caps.join("")}`,
    "-cpu",
    def.cpu ?? "POWER9",
    "-smp",
    `${count},sockets=${sockets},cores=${cores},threads=${threads}`,
    "-m",
    `${def.memoryKiB / 1024}M`,
    "-nographic",
  ];
  if (opts.incoming) argv.push("-incoming", "defer");
  return argv;
}
