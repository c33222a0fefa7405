// Test inputs: the real QEMU pseries guest device tree committed by @stopsim/devicetree
// (packages/devicetree/fixtures/qemu-pseries-power9-smp2.dtb, dumped with
// `qemu-system-ppc64 -M pseries,dumpdtb=FILE -cpu POWER9 -smp 2`), and variants built from it.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type DeviceTree, decodeDtb, encodeDtb } from "@stopsim/devicetree";

const here = dirname(fileURLToPath(import.meta.url));
const QEMU_DTB = "packages/devicetree/fixtures/qemu-pseries-power9-smp2.dtb";

/**
 * The repository's copy of the fixture, found from this file upwards: from the package's own
 * tree, or from a copy of the package inside it (a mutation-testing sandbox under
 * packages/guest/.stryker-tmp).
 */
function findQemuDtb(): string {
  for (let dir = here; ; dir = dirname(dir)) {
    const p = join(dir, QEMU_DTB);
    if (existsSync(p)) return p;
    if (dirname(dir) === dir) throw new Error(`${QEMU_DTB} not found above ${here}`);
  }
}

export const QEMU_DTB_PATH = findQemuDtb();

export function qemuDtbBytes(): Uint8Array {
  return new Uint8Array(readFileSync(QEMU_DTB_PATH));
}

export function qemuTree(): DeviceTree {
  return decodeDtb(qemuDtbBytes());
}

export interface GuestTreeOptions {
  /** vCPU cores (cpu nodes). */
  cores?: number;
  /** Threads per core (entries of ibm,ppc-interrupt-server#s). */
  threads?: number;
  /** Add ibm,stop-lite-permitted to every cpu node (the platform permission channel). */
  stopLitePermitted?: boolean;
  /** cpu-version value of every cpu node. */
  cpuVersion?: number;
}

/**
 * The QEMU tree reshaped like QEMU shapes it for `-smp cores=C,threads=T`: one cpu node per core,
 * named PowerPC,POWER9@<first server>, with T interrupt server numbers.
 */
export function guestTree(opts: GuestTreeOptions = {}): DeviceTree {
  const tree = qemuTree();
  const cpus = tree.requireNode("/cpus");
  const template = cpus.children.find((c) => c.name.startsWith("PowerPC,POWER9@"));
  if (template === undefined) throw new Error("fixture has no PowerPC,POWER9 cpu node");
  const cores = opts.cores ?? 1;
  const threads = opts.threads ?? 4;
  for (const c of [...cpus.children]) if (c.name.startsWith("PowerPC,POWER9@")) cpus.removeChild(c);
  for (let core = 0; core < cores; core++) {
    const first = core * threads;
    const node = cpus.addChild(`PowerPC,POWER9@${first.toString(16)}`);
    for (const p of template.properties) node.setProp(p.name, p.asBytes());
    node.setPropU32("reg", first);
    node.setPropU32("ibm,ppc-interrupt-server#s", ...Array.from({ length: threads }, (_, i) => first + i));
    if (opts.stopLitePermitted) node.setPropEmpty("ibm,stop-lite-permitted");
    if (opts.cpuVersion !== undefined) node.setPropU32("cpu-version", opts.cpuVersion);
  }
  return tree;
}

export function guestDtb(opts: GuestTreeOptions = {}): Uint8Array {
  return encodeDtb(guestTree(opts));
}
