// The management layer on each simulated host: libvirt's QEMU driver (@stopsim/libvirt) with a
// launcher that starts this project's QEMU on the host's KVM. libvirt sees QEMU only through the
// command lines it builds and QMP; the launcher is the host's process table.
import type { Simulation } from "@stopsim/engine";
import type { GuestKernel } from "@stopsim/guest";
import {
  type DomainDef,
  DomainDefError,
  QemuDriver,
  type QemuLauncher,
  validateDomainDef,
} from "@stopsim/libvirt";
import { type MigrationNetwork, parseSize, type Qemu } from "@stopsim/qemu";
import { UsageError } from "./errors.js";
import type { DesignSpec } from "./presets.js";
import { type GuestOptions, startQemu } from "./run.js";
import type { SimHost } from "./stack.js";

/** "stop-lite=off,htm=on" -> { "stop-lite": "off", htm: "on" } (a leading "," and "cap-" allowed). */
export function parseCaps(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const [k, v] = part.split("=");
    if (!k || v === undefined || v === "") {
      throw new UsageError(`'${part}' is not cap=value (e.g. stop-lite=off or cap-stop-lite=off)`);
    }
    out[k.trim().replace(/^cap-/, "")] = v.trim();
  }
  return out;
}

/** The domain libvirt runs for a design's guest: its machine type, caps, topology and memory. */
export function domainDefFor(
  design: DesignSpec,
  guest: GuestOptions,
  caps: Record<string, string>,
): DomainDef {
  const [countText, ...rest] = guest.smp.split(",");
  const count = Number(countText);
  const kv = Object.fromEntries(rest.map((p) => p.split("=")));
  const topo = {
    count,
    sockets: Number(kv.sockets ?? count / Number(kv.cores ?? 1) / Number(kv.threads ?? 1)),
    cores: Number(kv.cores ?? 1),
    threads: Number(kv.threads ?? 1),
  };
  const bytes = parseSize(guest.memory, "M");
  if (bytes === undefined) throw new UsageError(`--memory '${guest.memory}' is not a size (e.g. 1G, 512M)`);
  // ic-mode is a machine property, not a cap: it goes to the definition's icMode
  const { "ic-mode": icMode, ...capsOnly } = caps;
  if (icMode !== undefined && icMode !== "xics" && icMode !== "xive" && icMode !== "dual") {
    throw new UsageError(`ic-mode '${icMode}' is not xics, xive or dual`);
  }
  const def: DomainDef = {
    name: "guest",
    machine: design.machine,
    ...(icMode !== undefined ? { icMode } : {}),
    caps: capsOnly,
    vcpus: topo,
    memoryKiB: Number(bytes / 1024n),
  };
  try {
    validateDomainDef(def);
  } catch (e) {
    if (e instanceof DomainDefError) throw new UsageError(`${e.message} (check --smp and --memory)`);
    throw e;
  }
  return def;
}

export interface ManagedHost {
  readonly driver: QemuDriver;
  /** The host's process launcher itself (QEMU alone, without libvirt). */
  readonly launcher: QemuLauncher;
  /** The QEMU processes this host started, by domain name (the last one per name). */
  readonly processes: Map<string, Qemu>;
}

/**
 * libvirtd on `host`: its launcher starts QEMU of the design's build with the guest kernel image.
 * Command lines QEMU cannot parse are the user's mistake (a UsageError naming QEMU's complaint).
 */
export function manageHost(
  sim: Simulation,
  host: SimHost,
  hostname: string,
  design: DesignSpec,
  image: GuestKernel,
  network: MigrationNetwork,
  log?: (line: string) => void,
): ManagedHost {
  const processes = new Map<string, Qemu>();
  const launcher: QemuLauncher = (argv, { name }) => {
    const r = startQemu(sim, host, design, image, argv, `qemu-${name}@${hostname}`, { hostname, network });
    if (!r.ok) return { ok: false, stderr: r.error };
    processes.set(name, r.qemu);
    return { ok: true, process: r.qemu };
  };
  const driver = new QemuDriver({ sim, hostname, log, launcher });
  return { driver, launcher, processes };
}
