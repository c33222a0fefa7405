// The fleet's full-stack probe: each distinct (design, host kind) boot and (design, boot kind,
// destination kind) migration is run once through every layer and memoised.
import { NS_PER_MS } from "@stopsim/engine";
import type { DomainCapabilities } from "@stopsim/libvirt";
import type { AcceptProbeResult, BootProbeResult, FleetProbe, MigrationProbeResult } from "./fleet.js";
import type { DesignSpec, HostPreset } from "./presets.js";
import { hostDomainCapabilities, runBoot, runMigrate } from "./scenarios.js";

export interface FullStackProbeOptions {
  seed: number | string;
  /** Simulated time per phase of each probe run. */
  phaseNs?: number;
  hosts?: readonly HostPreset[];
  designs?: readonly DesignSpec[];
}

export class FullStackProbe implements FleetProbe {
  private readonly boots = new Map<string, BootProbeResult>();
  private readonly migrations = new Map<string, MigrationProbeResult>();
  private readonly domcaps = new Map<string, DomainCapabilities>();
  /** Full-stack runs made so far. */
  runs = 0;

  constructor(private readonly opts: FullStackProbeOptions) {}

  private runOpts() {
    return {
      seed: this.opts.seed,
      durationNs: this.opts.phaseNs ?? 10 * NS_PER_MS,
      hosts: this.opts.hosts,
      designs: this.opts.designs,
    };
  }

  boot(design: string, hostKind: string, machine?: string): BootProbeResult {
    const key = `${design}|${hostKind}|${machine ?? ""}`;
    let r = this.boots.get(key);
    if (r === undefined) {
      this.runs++;
      const b = runBoot(hostKind, design, { ...this.runOpts(), machine });
      r = { outcome: b.outcome, detail: b.qemu.error?.split("\n")[0] ?? `guest ${b.guest.state}` };
      this.boots.set(key, r);
    }
    return r;
  }

  /**
   * A guest booted on `bootKind` migrates to `toKind` through libvirt. The guest's platform
   * decisions (idle states, caps in its stream) are made at boot, so a guest that already moved
   * once migrates like one booted on `bootKind`: the probe runs boot-kind -> destination-kind.
   */
  migrate(
    design: string,
    bootKind: string,
    _fromKind: string,
    toKind: string,
    machine?: string,
  ): MigrationProbeResult {
    const key = `${design}|${bootKind}|${toKind}|${machine ?? ""}`;
    let r = this.migrations.get(key);
    if (r === undefined) {
      this.runs++;
      const m = runMigrate(bootKind, toKind, design, { ...this.runOpts(), machine });
      const err = m.migration.virError?.message;
      r = {
        outcome: m.outcome,
        detail: m.detail,
        downtimeNs: m.migration.downtimeNs ?? 0,
        totalTimeNs: m.migration.totalTimeNs ?? NS_PER_MS,
        ...(m.outcome === "refused" && m.migration.failedPhase && err
          ? { refusal: { phase: m.migration.failedPhase, error: refusalReason(err) } }
          : {}),
      };
      this.migrations.set(key, r);
    }
    return r;
  }

  /** libvirt's domain capabilities of a host of `hostKind`: does `machine` start there? */
  accepts(design: string, hostKind: string, machine: string): AcceptProbeResult {
    const key = `${design}|${hostKind}`;
    const caps = this.domcaps.get(key) ?? hostDomainCapabilities(hostKind, design, this.runOpts());
    if (!this.domcaps.has(key)) {
      this.runs++;
      this.domcaps.set(key, caps);
    }
    const m = caps.machines.find((x) => x.name === machine || x.alias === machine);
    if (m === undefined) return { usable: false, error: `machine type ${machine} is not offered` };
    return m.usable ? { usable: true } : { usable: false, error: m.error ?? "refused" };
  }
}

/** The QEMU message inside libvirt's error, without the wrapping (for counting reasons). */
function refusalReason(message: string): string {
  const first = message.split("\n")[0];
  return first
    .replace(/^internal error: QEMU unexpectedly closed the monitor \(vm='[^']*'\): /, "QEMU exited: ")
    .replace(/qemu-system-ppc64: /g, "");
}
