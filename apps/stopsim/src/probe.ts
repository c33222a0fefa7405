// The fleet's full-stack probe: each distinct (design, host kind) boot and (design, boot kind,
// destination kind) migration is run once through every layer and memoised.
import { NS_PER_MS } from "@stopsim/engine";
import type { BootProbeResult, FleetProbe, MigrationProbeResult } from "./fleet.js";
import type { DesignSpec, HostPreset } from "./presets.js";
import { runBoot, runMigrate } from "./scenarios.js";

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

  boot(design: string, hostKind: string): BootProbeResult {
    const key = `${design}|${hostKind}`;
    let r = this.boots.get(key);
    if (r === undefined) {
      this.runs++;
      const b = runBoot(hostKind, design, this.runOpts());
      r = { outcome: b.outcome, detail: b.qemu.error?.split("\n")[0] ?? `guest ${b.guest.state}` };
      this.boots.set(key, r);
    }
    return r;
  }

  /**
   * A guest booted on `bootKind` migrates to `toKind`. The guest's platform decisions (idle states,
   * caps in its stream) are made at boot, so a guest that already moved once migrates like one
   * booted on `bootKind`: the probe runs boot-kind -> destination-kind.
   */
  migrate(design: string, bootKind: string, _fromKind: string, toKind: string): MigrationProbeResult {
    const key = `${design}|${bootKind}|${toKind}`;
    let r = this.migrations.get(key);
    if (r === undefined) {
      this.runs++;
      const m = runMigrate(bootKind, toKind, design, this.runOpts());
      r = {
        outcome: m.outcome,
        detail: m.detail,
        downtimeNs: m.migration.downtimeNs ?? 0,
        totalTimeNs: m.migration.totalTimeNs ?? NS_PER_MS,
      };
      this.migrations.set(key, r);
    }
    return r;
  }
}
