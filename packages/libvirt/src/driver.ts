// libvirtd's QEMU driver on one host: starts QEMU processes from domain definitions (command lines),
// talks to them over QMP only, keeps each domain's state, and answers domain capabilities.
// libvirt: src/qemu/qemu_process.c (qemuProcessStart: launch with -S, connect the monitor,
//          qemuProcessStartCPUs = QMP cont; qemuProcessStop; qemuProcessReportLogError),
//          src/qemu/qemu_monitor.c (EOF on the monitor: "QEMU unexpectedly closed the monitor"),
//          src/qemu/qemu_driver.c (virDomainCreateXML, virConnectGetDomainCapabilities),
//          include/libvirt/libvirt-domain.h (virDomainState and reasons).

import type { Simulation } from "@stopsim/engine";
import { type DomainDef, domainCommandLine } from "./domain.js";
import { qemuError, VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_DOMAIN, type VirError } from "./errors.js";

/** A QMP event as the monitor delivers it. */
export interface QmpEventRecord {
  readonly timestampNs: number;
  readonly event: string;
}

/** A running QEMU process as libvirt sees it: its monitor, its exit status, its log. */
export interface QemuProcess {
  /** A QMP command; throws when QEMU returns an error or the monitor is closed. */
  qmp(command: string, args?: Readonly<Record<string, unknown>>): unknown;
  /** Set once the process exited. */
  readonly exitStatus: number | undefined;
  /** What QEMU wrote to stderr (libvirt keeps it in /var/log/libvirt/qemu/<name>.log). */
  readonly stderr: string;
  /** Asynchronous QMP events received so far (STOP, RESUME, MIGRATION ...). */
  readonly events: readonly QmpEventRecord[];
}

/**
 * Starts `qemu-system-ppc64 <argv>` on this host. A QEMU that exits during start-up (an option it
 * refuses, a capability its apply hook refuses) gives its stderr instead of a process.
 */
export type QemuLauncher = (
  argv: readonly string[],
  opts: { readonly name: string },
) => { readonly ok: true; readonly process: QemuProcess } | { readonly ok: false; readonly stderr: string };

/** virDomainState (include/libvirt/libvirt-domain.h), by name. */
export type DomainState = "running" | "paused" | "shutoff" | "crashed";

/** The reason libvirt records with the state (virDomainRunningReason, virDomainPausedReason ...). */
export type DomainStateReason =
  | "booted"
  | "migrated"
  | "migration-canceled"
  | "unpaused"
  | "migration"
  | "user"
  | "starting-up"
  | "postcopy-failed"
  | "panicked"
  | "crashed"
  | "destroyed"
  | "failed"
  | "unknown";

/** libvirt: src/qemu/qemu_process.c qemuProcessReportLogError after an EOF on the monitor. */
export function monitorClosedError(name: string, log: string): VirError {
  const text = log.trim();
  return qemuError(VIR_ERR_INTERNAL_ERROR, `QEMU unexpectedly closed the monitor (vm='${name}'): ${text}`);
}

/** A domain on one host (virDomainObj): its definition, its QEMU process, its state. */
export class Domain {
  private _state: DomainState;
  private _reason: DomainStateReason;

  constructor(
    readonly driver: QemuDriver,
    readonly def: DomainDef,
    readonly process: QemuProcess,
    state: DomainState,
    reason: DomainStateReason,
  ) {
    this._state = state;
    this._reason = reason;
  }

  get name(): string {
    return this.def.name;
  }

  /**
   * virDomainGetState: libvirt's record, brought up to date with what the monitor says (the
   * process exited; QEMU stopped or resumed the CPUs by itself, e.g. at a failed migration with a
   * return path; the guest panicked).
   */
  getState(): { state: DomainState; reason: DomainStateReason } {
    if (this._state === "shutoff") return { state: this._state, reason: this._reason };
    if (this.process.exitStatus !== undefined) {
      this.setState("shutoff", this._reason === "migrated" ? "migrated" : "crashed");
      return { state: this._state, reason: this._reason };
    }
    const status = (this.process.qmp("query-status") as { status: string }).status;
    if (status === "guest-panicked") this.setState("crashed", "panicked");
    else if (status === "running" && this._state !== "running") this.setState("running", "unpaused");
    else if (status !== "running" && this._state === "running") {
      this.setState(
        "paused",
        status === "postmigrate" || status === "finish-migrate" ? "migration" : "unknown",
      );
    }
    return { state: this._state, reason: this._reason };
  }

  setState(state: DomainState, reason: DomainStateReason): void {
    this._state = state;
    this._reason = reason;
  }

  /** qemuProcessStartCPUs: QMP cont. */
  startCpus(reason: DomainStateReason): void {
    this.process.qmp("cont");
    this.setState("running", reason);
  }

  /** qemuProcessStop: the process is ended (QMP quit) and the domain is shut off. */
  stop(reason: DomainStateReason): void {
    if (this.process.exitStatus === undefined) this.process.qmp("quit");
    this.setState("shutoff", reason);
    this.driver.forget(this);
  }
}

/** One machine type in the domain capabilities of a host. */
export interface DomainCapabilitiesMachine {
  readonly name: string;
  readonly alias?: string;
  /** Whether a domain of this machine type with its default caps starts here. */
  readonly usable: boolean;
  /** QEMU's refusal when not. */
  readonly error?: string;
}

/**
 * virConnectGetDomainCapabilities (<domainCapabilities>): the machine types QEMU offers on this
 * host (QMP query-machines of a probe process, as virQEMUCapsInitQMP does), each with whether it
 * starts here with its default capabilities. libvirt itself does not probe spapr caps per machine
 * type; this model does so with a `-S` process per machine type, which is what a scheduler filter
 * needs to know (OpenStack Nova asks the same of its hosts).
 */
export interface DomainCapabilities {
  readonly host: string;
  readonly machines: readonly DomainCapabilitiesMachine[];
}

export interface QemuDriverOptions {
  readonly sim: Simulation;
  /** The host's name (the migration URI's host part: tcp:<hostname>:<port>). */
  readonly hostname: string;
  readonly launcher: QemuLauncher;
  /** Debug log lines (libvirtd's log with log_filters="1:qemu"). */
  readonly log?: (line: string) => void;
}

/** libvirtd's QEMU driver on one host (the connection qemu+ssh://<hostname>/system). */
export class QemuDriver {
  readonly sim: Simulation;
  readonly hostname: string;
  private readonly launcher: QemuLauncher;
  private readonly domains = new Map<string, Domain>();
  private readonly logSink: ((line: string) => void) | undefined;

  constructor(opts: QemuDriverOptions) {
    this.sim = opts.sim;
    this.hostname = opts.hostname;
    this.launcher = opts.launcher;
    this.logSink = opts.log;
  }

  /** VIR_DEBUG in the QEMU driver: "<function>: <message>". */
  debug(fn: string, message: string): void {
    this.logSink?.(`${this.hostname}: debug : ${fn}: ${message}`);
  }

  /** qemuProcessLaunch: the process with this command line; a start failure is its log. */
  launch(
    def: DomainDef,
    incoming: boolean,
  ): { ok: true; process: QemuProcess } | { ok: false; error: VirError } {
    const argv = domainCommandLine(def, { incoming });
    this.debug("qemuProcessLaunch", `vm=${def.name} qemu-system-ppc64 ${argv.join(" ")}`);
    const r = this.launcher(argv, { name: def.name });
    if (!r.ok) {
      const error = monitorClosedError(def.name, r.stderr);
      this.debug("qemuProcessReportLogError", error.message);
      return { ok: false, error };
    }
    return r;
  }

  /** virDomainCreateXML: launch with -S, then QMP cont (qemuProcessStartCPUs, reason booted). */
  createDomain(def: DomainDef): Domain {
    if (this.domains.has(def.name)) {
      throw qemuError(VIR_ERR_INTERNAL_ERROR, `domain '${def.name}' is already running on ${this.hostname}`);
    }
    const r = this.launch(def, false);
    if (!r.ok) throw r.error;
    const dom = new Domain(this, def, r.process, "paused", "starting-up");
    this.domains.set(def.name, dom);
    dom.startCpus("booted");
    return dom;
  }

  /** Registers a domain started for an incoming migration (paused, reason migration). */
  adoptIncoming(def: DomainDef, process: QemuProcess): Domain {
    const dom = new Domain(this, def, process, "paused", "migration");
    this.domains.set(def.name, dom);
    return dom;
  }

  /** virDomainLookupByName. */
  lookup(name: string): Domain {
    const d = this.domains.get(name);
    if (!d) throw qemuError(VIR_ERR_NO_DOMAIN, `no domain with matching name '${name}'`);
    return d;
  }

  /** The domains this driver runs (virConnectListAllDomains, active only). */
  list(): Domain[] {
    return [...this.domains.values()];
  }

  /** Drops a stopped domain (transient domains disappear when shut off). */
  forget(dom: Domain): void {
    if (this.domains.get(dom.name) === dom) this.domains.delete(dom.name);
  }

  /**
   * Whether `def` starts on this host: a `-S` probe process, quit at once. Returns QEMU's refusal
   * wrapped as libvirt reports it, or undefined.
   */
  probeDomain(def: DomainDef): VirError | undefined {
    const r = this.launch({ ...def, name: `${def.name}-probe` }, false);
    if (!r.ok) return r.error;
    r.process.qmp("quit");
    return undefined;
  }

  /** virConnectGetDomainCapabilities for `template` (its vCPUs and memory) on each machine type. */
  getDomainCapabilities(template: DomainDef): DomainCapabilities {
    // libvirt probes with "-machine none"; this QEMU has no such machine, so the probe is the
    // template, with QEMU's own "Try appending -machine cap-X=off" hints applied if it refuses
    const caps: Record<string, string> = {};
    let probe = this.launch({ ...template, name: "domcaps-probe", caps }, false);
    for (let i = 0; i < 8 && !probe.ok; i++) {
      const hint = /Try appending -machine cap-([a-z0-9-]+)=(\S+)/.exec(probe.error.message);
      if (!hint) break;
      caps[hint[1]] = hint[2];
      probe = this.launch({ ...template, name: "domcaps-probe", caps }, false);
    }
    if (!probe.ok) throw probe.error;
    const machines = probe.process.qmp("query-machines") as { name: string; alias?: string }[];
    probe.process.qmp("quit");
    return {
      host: this.hostname,
      machines: machines.map((m) => {
        const err = this.probeDomain({ ...template, machine: m.name, caps: {} });
        return {
          name: m.name,
          ...(m.alias ? { alias: m.alias } : {}),
          usable: err === undefined,
          ...(err ? { error: err.message } : {}),
        };
      }),
    };
  }
}
