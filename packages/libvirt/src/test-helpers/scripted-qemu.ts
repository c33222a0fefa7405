// A QEMU monitor whose answers a test writes, for checking the QEMU driver's decisions one at a
// time (what libvirt does when query-status or query-migrate says X) in milliseconds. It speaks
// QEMU's names (qapi/run-state.json RunStatus: prelaunch, running, paused, inmigrate, postmigrate,
// finish-migrate, guest-panicked; qapi/migration.json MigrationStatus: setup, active, device,
// completed, failed, cancelled) and nothing else of QEMU: the suites that need a real QEMU on a
// real host use test-helpers/world.ts.

import { Simulation } from "@stopsim/engine";
import type { DomainDef } from "../domain.js";
import { QemuDriver, type QemuLauncher, type QemuProcess, type QmpEventRecord } from "../driver.js";

export interface QmpCall {
  readonly command: string;
  readonly args?: Readonly<Record<string, unknown>>;
}

export class ScriptedQemu implements QemuProcess {
  exitStatus: number | undefined;
  stderr = "";
  /** RunStatus query-status answers; cont makes it "running", migration completion "postmigrate". */
  status = "prelaunch";
  readonly events: QmpEventRecord[] = [];
  readonly calls: QmpCall[] = [];
  /** Successive query-migrate answers; the last one repeats. Empty: `{}` (no migration yet). */
  migrate: Record<string, unknown>[] = [];
  /** query-machines' answer. */
  machines: { name: string; alias?: string }[] = [];
  /** Commands whose call throws as QEMU's error reply would (`qmp` throws). */
  readonly refuse = new Map<string, string>();

  constructor(
    readonly sim: Simulation,
    readonly argv: readonly string[] = [],
  ) {}

  /** A QMP event now, as QEMU's monitor sends it. */
  event(name: string): void {
    this.events.push({ timestampNs: this.sim.now, event: name });
  }

  qmp(command: string, args?: Readonly<Record<string, unknown>>): unknown {
    if (this.exitStatus !== undefined) throw new Error(`monitor closed: ${command} after QEMU exited`);
    this.calls.push(args === undefined ? { command } : { command, args });
    const refusal = this.refuse.get(command);
    if (refusal !== undefined) throw new Error(refusal);
    switch (command) {
      case "query-status":
        return { status: this.status, running: this.status === "running" };
      case "cont":
        this.status = "running";
        this.event("RESUME");
        return {};
      case "quit":
        this.exitStatus = 0;
        return {};
      case "query-migrate": {
        const reply = this.migrate.length > 1 ? this.migrate.shift() : this.migrate[0];
        if (reply?.status === "completed" && this.status === "running") {
          // stop-and-copy: QEMU paused the source for the last pages
          this.status = "postmigrate";
          this.event("STOP");
        }
        return reply ?? {};
      }
      case "query-machines":
        return this.machines;
      default:
        return {};
    }
  }

  /** The commands called so far, by name. */
  commands(): string[] {
    return this.calls.map((c) => c.command);
  }
}

export const DEF: DomainDef = {
  name: "vm1",
  machine: "pseries-5.1",
  vcpus: { count: 2, sockets: 1, cores: 1, threads: 2 },
  memoryKiB: 256 * 1024,
};

export interface ScriptedHost {
  readonly driver: QemuDriver;
  readonly log: string[];
  /** Every process started, in order. */
  readonly started: ScriptedQemu[];
  /** What the launcher was given, in order. */
  readonly launches: { argv: readonly string[]; name: string }[];
  /** Set to make the next launches fail with this stderr (a function: per launch). */
  refuseStart: ((argv: readonly string[], name: string) => string | undefined) | undefined;
  /** Called on each process before it is handed over. */
  onStart: ((q: ScriptedQemu) => void) | undefined;
}

/** A QemuDriver on host `hostname` whose launcher starts ScriptedQemu processes. */
export function scriptedHost(sim: Simulation, hostname: string): ScriptedHost {
  const log: string[] = [];
  const started: ScriptedQemu[] = [];
  const launches: { argv: readonly string[]; name: string }[] = [];
  const host: ScriptedHost = {
    driver: undefined as unknown as QemuDriver,
    log,
    started,
    launches,
    refuseStart: undefined,
    onStart: undefined,
  };
  const launcher: QemuLauncher = (argv, { name }) => {
    launches.push({ argv, name });
    const stderr = host.refuseStart?.(argv, name);
    if (stderr !== undefined) return { ok: false, stderr };
    const q = new ScriptedQemu(sim, argv);
    host.onStart?.(q);
    started.push(q);
    return { ok: true, process: q };
  };
  (host as { driver: QemuDriver }).driver = new QemuDriver({
    sim,
    hostname,
    launcher,
    log: (l) => log.push(l),
  });
  return host;
}

/** Two scripted hosts, h1 and h2, on one simulation. */
export function scriptedPair(): { sim: Simulation; h1: ScriptedHost; h2: ScriptedHost } {
  const sim = new Simulation({ seed: 1 });
  return { sim, h1: scriptedHost(sim, "h1"), h2: scriptedHost(sim, "h2") };
}
