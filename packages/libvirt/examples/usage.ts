// libvirt's QEMU driver on one POWER9 host: the launcher starts `qemu-system-ppc64 <argv>` (here
// @stopsim/qemu on the host kernel's KVM), libvirt builds the command line from the domain
// definition, starts it paused (-S), resumes it over QMP and reports the domain's state.
// npm install @stopsim/libvirt @stopsim/qemu @stopsim/host @stopsim/opal @stopsim/guest @stopsim/isa @stopsim/engine
import assert from "node:assert/strict";
import { NS_PER_MS, Simulation } from "@stopsim/engine";
import { createGuestKernel } from "@stopsim/guest";
import { bootHost } from "@stopsim/host";
import { chipById, PnvMachine } from "@stopsim/isa";
import { type DomainDef, domainCommandLine, QemuDriver } from "@stopsim/libvirt";
import { bootOpal, parseFirmwareVersion } from "@stopsim/opal";
import { Qemu, QemuError } from "@stopsim/qemu";

const sim = new Simulation({ seed: 5 });
const hw = new PnvMachine(sim, { chip: chipById("dd2.3") });
const fw = bootOpal({ machine: hw, firmware: parseFirmwareVersion("new") });
const host = bootHost({ machine: hw, dtb: fw.dtb, opal: fw.opal, kernel: "fallback", name: "h1" });
const log: string[] = [];

const driver = new QemuDriver({
  sim,
  hostname: "h1",
  log: (l) => log.push(l),
  launcher: (argv) => {
    try {
      const r = Qemu.create({
        sim,
        host: { kvm: host.kvm, procDeviceTree: host.tree, hostname: "h1" },
        build: { stopLiteCap: true, probeKvmCapStop: false },
        image: createGuestKernel({ sim, config: { stop0lite: "platform", governor: "teo" } }),
        commandLine: argv,
      });
      if (r.kind !== "running")
        return { ok: false as const, stderr: `QEMU did not start a machine (${r.kind})` };
      return { ok: true as const, process: r.qemu };
    } catch (e) {
      if (e instanceof QemuError) return { ok: false as const, stderr: e.message };
      throw e;
    }
  },
});

const def: DomainDef = {
  name: "vm1",
  machine: "pseries-5.1",
  vcpus: { count: 2, sockets: 1, cores: 1, threads: 2 },
  memoryKiB: 256 * 1024,
};
console.log(`qemu-system-ppc64 ${domainCommandLine(def, { incoming: false }).join(" ")}`);
const dom = driver.createDomain(def);
sim.runFor(100 * NS_PER_MS);
assert.equal(dom.getState().state, "running");

const caps = driver.getDomainCapabilities(def);
assert.ok(caps.machines.some((m) => m.name === "pseries-5.1" && m.usable));
console.log(
  `vm1: ${JSON.stringify(dom.getState())}; machines here: ${caps.machines.map((m) => m.name).join(", ")}`,
);
