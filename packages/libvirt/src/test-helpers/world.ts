// Real hosts for this package's tests: skiboot's device tree (@stopsim/opal) booted by the host
// kernel with a KVM build (@stopsim/host), QEMU (@stopsim/qemu) started by a launcher from the
// command lines libvirt builds, and the project's guest kernel (@stopsim/guest) as the image.

import { Simulation } from "@stopsim/engine";
import { createGuestKernel, type GuestKernel, periodicTimer } from "@stopsim/guest";
import { bootHost, type Host, type KvmBuildName } from "@stopsim/host";
import { chipById, PnvMachine } from "@stopsim/isa";
import { bootOpal, parseFirmwareVersion } from "@stopsim/opal";
import { type ChannelFault, MigrationNetwork, Qemu, type QemuBuild, QemuError } from "@stopsim/qemu";
import type { DomainDef } from "../domain.js";
import { QemuDriver } from "../driver.js";

export interface HostSpec {
  readonly chip: "dd2.2" | "dd2.3";
  readonly firmware: "2020" | "new";
  readonly kernel: KvmBuildName;
}

export const OLD: HostSpec = { chip: "dd2.2", firmware: "2020", kernel: "upstream-2020" };
export const DD22: HostSpec = { chip: "dd2.2", firmware: "new", kernel: "fallback" };
export const DD23: HostSpec = { chip: "dd2.3", firmware: "new", kernel: "fallback" };
export const SPAPR_CAP: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };

export const VM1: DomainDef = {
  name: "vm1",
  machine: "pseries-5.1",
  vcpus: { count: 2, sockets: 1, cores: 1, threads: 2 },
  memoryKiB: 256 * 1024,
};

export interface World {
  readonly sim: Simulation;
  readonly network: MigrationNetwork;
  readonly hosts: Host[];
  readonly drivers: QemuDriver[];
  /** Every QEMU process started, by "<domain>@<host>". */
  readonly processes: Map<string, Qemu>;
  readonly log: string[];
  /** The guest kernel of each domain (one image object follows the guest between hosts). */
  kernel(domain: string): GuestKernel;
}

export function makeWorld(
  specs: readonly HostSpec[],
  opts: { seed?: number; fault?: ChannelFault } = {},
): World {
  const sim = new Simulation({ seed: opts.seed ?? 5 });
  const network = new MigrationNetwork(opts.fault);
  const processes = new Map<string, Qemu>();
  const kernels = new Map<string, GuestKernel>();
  const log: string[] = [];
  const kernel = (domain: string) => {
    let k = kernels.get(domain);
    if (k === undefined) {
      k = createGuestKernel({ sim, config: { stop0lite: "platform", governor: "teo" } });
      const kk = k;
      kk.whenReady(() => {
        for (const c of kk.cpus.filter((x) => x?.online)) periodicTimer(kk, c.logical, 50_000);
      });
      kernels.set(domain, k);
    }
    return k;
  };
  const hosts: Host[] = [];
  const drivers = specs.map((spec, i) => {
    const hostname = `h${i + 1}`;
    const hw = new PnvMachine(sim, { chip: chipById(spec.chip) });
    const fw = bootOpal({ machine: hw, firmware: parseFirmwareVersion(spec.firmware) });
    const host = bootHost({ machine: hw, dtb: fw.dtb, opal: fw.opal, kernel: spec.kernel, name: hostname });
    hosts.push(host);
    return new QemuDriver({
      sim,
      hostname,
      log: (l) => log.push(l),
      launcher: (argv, { name }) => {
        try {
          const r = Qemu.create({
            sim,
            host: { kvm: host.kvm, procDeviceTree: host.tree, hostname },
            build: SPAPR_CAP,
            image: kernel(name.replace(/-probe$/, "")),
            name: `${name}@${hostname}`,
            commandLine: argv,
            network,
          });
          if (r.kind !== "running")
            return { ok: false as const, stderr: `QEMU did not start a machine (${r.kind})` };
          processes.set(`${name}@${hostname}`, r.qemu);
          return { ok: true as const, process: r.qemu };
        } catch (e) {
          if (e instanceof QemuError) return { ok: false as const, stderr: e.message };
          throw e;
        }
      },
    });
  });
  return { sim, network, hosts, drivers, processes, log, kernel };
}

/** Timer wakeups the guest counted so far (its own task statistics). */
export function guestTicks(k: GuestKernel): number {
  let n = 0;
  for (const c of k.cpuidleSysfs()) for (const s of c.states) n += s.usage;
  return n;
}
