// Machines for the unit suites of the machine's parts: a pseries machine with the tiny guest on a
// real POWER9 DD2.3 host, its vCPUs not run unless a test runs the simulation (usually -S).

import { Simulation } from "@stopsim/engine";
import type { QemuBuild } from "../machine.js";
import { type MigrationNetwork, Qemu } from "../spapr.js";
import { bootTestHost, type TestHost } from "./hosts.js";
import { type Stop0litePolicy, TinyGuestImage } from "./tiny-guest.js";

export interface MachineOptions {
  readonly seed?: number;
  readonly build?: QemuBuild;
  readonly network?: MigrationNetwork;
  readonly stop0lite?: Stop0litePolicy;
}

/** `qemu-system-ppc64 <commandLine>` on a fresh simulation and host (a fallback-kernel DD2.3). */
export function startMachine(
  commandLine: string,
  opts: MachineOptions = {},
): { sim: Simulation; h: TestHost; q: Qemu } {
  const sim = new Simulation({ seed: opts.seed ?? 1 });
  const h = bootTestHost(sim, { chip: "dd2.3", firmware: "new", kernel: "fallback" }, "h");
  const r = Qemu.create({
    sim,
    host: h.qemuHost,
    build: opts.build ?? { stopLiteCap: true, probeKvmCapStop: false },
    commandLine,
    image: new TinyGuestImage({ sim, stop0lite: opts.stop0lite ?? "platform" }),
    name: "q",
    ...(opts.network ? { network: opts.network } : {}),
  });
  if (r.kind !== "running") throw new Error(`expected a running machine, got ${r.kind}`);
  return { sim, h, q: r.qemu };
}
