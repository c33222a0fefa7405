import { readFileSync } from "node:fs";
import { type DeviceTree, type DtNode, decodeDtb } from "@stopsim/devicetree";
import { describe, expect, it } from "vitest";
import { SPAPR_CAP_HTM, SPAPR_CAP_STOP_LITE } from "./caps.js";
import { resolveCpuModel } from "./cpu-models.js";
import {
  type HostCpuInfo,
  rtasSize,
  SPAPR_TIMEBASE_FREQ,
  STOP_LITE_PERMITTED_PROP,
  spaprBuildDtb,
} from "./fdt.js";
import { type IcMode, initialIntc } from "./irq.js";
import { defaultCapsWithCpu, type QemuBuild } from "./machine.js";
import { parseCommandLine } from "./options.js";

const CAP_BUILD: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };
const OLD_BUILD: QemuBuild = { stopLiteCap: false, probeKvmCapStop: false };
const PROBE_BUILD: QemuBuild = { stopLiteCap: false, probeKvmCapStop: true };

/** The values TCG uses (the fixtures were made with TCG): 512 MHz timebase, 1 GHz clock, POWER9 L1. */
const TCG_LIKE_HOST: HostCpuInfo = {
  timebaseFrequency: SPAPR_TIMEBASE_FREQ,
  clockFrequency: 1_000_000_000,
  dcacheSize: 0x8000,
  icacheSize: 0x8000,
  fixupHcalls: true,
  kvmCapStop: false,
};

function build(
  cmdline: string,
  qemuBuild: QemuBuild,
  host: HostCpuInfo = TCG_LIKE_HOST,
  withIrq = false,
): DeviceTree {
  const r = parseCommandLine(cmdline, qemuBuild);
  if (r.kind !== "config") throw new Error("expected a configuration");
  const c = r.config;
  const caps = defaultCapsWithCpu(c.machineType, qemuBuild);
  for (const [i, v] of c.cmdLineCaps) caps[i] = v;
  return decodeDtb(
    spaprBuildDtb({
      machineType: c.machineType,
      build: qemuBuild,
      caps,
      // TCG has no host: -cpu POWER9 is power9_v2.0 there
      cpu: resolveCpuModel(c.cpuModel, undefined),
      smp: c.smp,
      ramSize: c.ramSize,
      host,
      rngSeed: [1, 2, 3, 4, 5, 6, 7, 8],
      // before CAS (what dumpdtb writes): the mode's initial controller, an empty OV5
      irq: withIrq ? { mode: c.icMode, active: initialIntc(c.icMode) } : undefined,
    }),
  );
}

function real(name: string): DeviceTree {
  return decodeDtb(new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url))));
}

function props(node: DtNode): [string, string][] {
  return node.properties.map((p) => [p.name, Buffer.from(p.rawValue).toString("hex")]);
}

function cpuNodes(tree: DeviceTree): DtNode[] {
  return tree.requireNode("/cpus").children.filter((n) => n.baseName === "PowerPC,POWER9");
}

describe("guest device tree", () => {
  it("has the cpu nodes of real QEMU's pseries-5.1 dumpdtb, property for property and in order", () => {
    const ours = cpuNodes(build("-M pseries-5.1 -cpu POWER9 -smp 2 -m 1G -nographic", OLD_BUILD));
    const theirs = cpuNodes(real("qemu-pseries-5.1-power9-smp2.dtb"));
    expect(ours.map((n) => n.name)).toEqual(["PowerPC,POWER9@0", "PowerPC,POWER9@1"]);
    expect(ours.map((n) => n.name)).toEqual(theirs.map((n) => n.name));
    for (let i = 0; i < ours.length; i++) expect(props(ours[i])).toEqual(props(theirs[i]));
  });

  it("differs from `-M pseries` of QEMU 7.2 only in ibm,chip-id (7.2 prefers cores over sockets)", () => {
    const ours = cpuNodes(build("-M pseries -cpu POWER9 -smp 2 -m 1G -nographic", OLD_BUILD));
    const theirs = cpuNodes(real("qemu-pseries-power9-smp2.dtb"));
    for (let i = 0; i < ours.length; i++) {
      const a = props(ours[i]).filter(([n]) => n !== "ibm,chip-id");
      const b = props(theirs[i]).filter(([n]) => n !== "ibm,chip-id");
      expect(a).toEqual(b);
    }
    expect(theirs[1].requireProp("ibm,chip-id").asU32()).toBe(0);
    expect(ours[1].requireProp("ibm,chip-id").asU32()).toBe(1);
    // the same topology spelled out gives 7.2's value
    const oneSocket = cpuNodes(build("-M pseries -cpu POWER9 -smp 2,sockets=1 -m 1G", OLD_BUILD));
    expect(props(oneSocket[1])).toEqual(props(theirs[1]));
  });

  it("has real QEMU's RTAS tokens, memory node and per-machine-type reference points", () => {
    for (const [cmd, fixture] of [
      ["-M pseries-5.1 -cpu POWER9 -smp 2 -m 1G", "qemu-pseries-5.1-power9-smp2.dtb"],
      ["-M pseries-4.2 -cpu POWER9 -smp 2 -m 1G", "qemu-pseries-4.2-power9-smp2.dtb"],
    ] as const) {
      const ours = build(cmd, OLD_BUILD);
      const theirs = real(fixture);
      const rtas = ours.requireNode("/rtas");
      const realRtas = theirs.requireNode("/rtas");
      for (const p of rtas.properties) {
        const q = realRtas.getProp(p.name);
        expect(q, `/rtas/${p.name} in ${fixture}`).toBeDefined();
        if (p.name !== "ibm,hypertas-functions") {
          expect(Buffer.from(p.rawValue).toString("hex"), p.name).toBe(
            Buffer.from(q?.rawValue ?? []).toString("hex"),
          );
        }
      }
      expect(props(ours.requireNode("/memory@0"))).toEqual(props(theirs.requireNode("/memory@0")));
      expect(props(ours.requireNode("/interrupt-controller"))).toEqual(
        props(theirs.requireNode("/interrupt-controller")),
      );
      expect(ours.root.getProp("compatible")?.asString()).toBe("qemu,pseries");
    }
  });

  it("computes rtas-size from the CPU count as real QEMU does (RTAS_MIN_SIZE + error log + 16 per CPU + 8)", () => {
    for (const [smp, fixture] of [
      [2, "qemu-pseries-power9-smp2.dtb"],
      [4, "qemu-pseries-power9-smp4.dtb"],
    ] as const) {
      const ours = build(`-M pseries -cpu POWER9 -smp ${smp} -m 1G`, OLD_BUILD).requireNode("/rtas");
      const theirs = real(fixture).requireNode("/rtas");
      expect(ours.requireProp("rtas-size").asU32()).toBe(theirs.requireProp("rtas-size").asU32());
      expect(ours.requireProp("rtas-size").asU32()).toBe(rtasSize(smp));
    }
    expect(rtasSize(4)).toBe(0x85c);
  });

  it("publishes ibm,stop-lite-permitted exactly when cap-stop-lite is on (capability design)", () => {
    const on = cpuNodes(build("-M pseries-5.1 -smp 4,threads=2", CAP_BUILD));
    expect(on.length).toBe(2);
    for (const n of on) expect(n.getProp(STOP_LITE_PERMITTED_PROP)?.length).toBe(0);
    expect(on[1].requireProp("ibm,ppc-interrupt-server#s").asU32Array()).toEqual([2, 3]);
    for (const cmd of ["-M pseries-5.1,cap-stop-lite=off", "-M pseries-5.0", "-M pseries-4.2"]) {
      for (const n of cpuNodes(build(cmd, CAP_BUILD)))
        expect(n.hasProp(STOP_LITE_PERMITTED_PROP), cmd).toBe(false);
    }
    for (const n of cpuNodes(build("-M pseries-5.0,cap-stop-lite=on", CAP_BUILD))) {
      expect(n.hasProp(STOP_LITE_PERMITTED_PROP)).toBe(true);
    }
  });

  it("copies KVM_CAP_STOP from the host in the host-probed design, whatever the machine type", () => {
    const yes = build("-M pseries-4.2", PROBE_BUILD, { ...TCG_LIKE_HOST, kvmCapStop: true });
    const no = build("-M pseries-4.2", PROBE_BUILD, { ...TCG_LIKE_HOST, kvmCapStop: false });
    expect(cpuNodes(yes)[0].hasProp(STOP_LITE_PERMITTED_PROP)).toBe(true);
    expect(cpuNodes(no)[0].hasProp(STOP_LITE_PERMITTED_PROP)).toBe(false);
    // a build without the probe ignores the host
    const old = build("-M pseries", OLD_BUILD, { ...TCG_LIKE_HOST, kvmCapStop: true });
    expect(cpuNodes(old)[0].hasProp(STOP_LITE_PERMITTED_PROP)).toBe(false);
  });

  it("follows the caps: HTM in pa-features, page sizes, large decrementer", () => {
    const htm = cpuNodes(
      build("-M pseries,cap-htm=on,cap-hpt-max-page-size=16M,cap-large-decr=off", OLD_BUILD),
    )[0];
    expect(htm.requireProp("ibm,pa-features").rawValue[24]).toBe(0x80);
    expect(htm.requireProp("ibm,segment-page-sizes").asU32Array()).toEqual([
      12, 0, 2, 12, 0, 24, 0x38, 16, 0x110, 2, 16, 1, 24, 8, 24, 0x100, 1, 24, 0,
    ]);
    expect(htm.hasProp("ibm,dec-bits")).toBe(false);
    expect(SPAPR_CAP_HTM).toBe(0);
    expect(SPAPR_CAP_STOP_LITE).toBe(12);
  });

  it("adds /hypervisor for KVM and the boot kernel in /chosen", () => {
    const t = build("-M pseries", OLD_BUILD);
    expect(t.requireNode("/hypervisor").requireProp("compatible").asString()).toBe("linux,kvm");
    expect(t.requireNode("/hypervisor").requireProp("hcall-instructions").length).toBe(16);
    expect(t.requireNode("/chosen").requireProp("stdout-path").asString()).toBe("/vdevice/vty@71000000");
  });
});

// Real QEMU 7.2 `-M pseries-5.1,ic-mode=<mode> -cpu POWER9 -smp 4 -m 1G -machine dumpdtb=...`
// (fixtures/post-cas/*-dumpdtb.dtb, fixtures/post-cas/make-post-cas.sh): the tree before CAS.
// Compared node by node, property by property and in order, for every node this model builds.
// What the fixture has and the model does not build: the PCI host bridge, event-sources, the
// other VIO devices (nvram, l-lan, v-scsi), the persistent-memory and DRC properties of
// unplugged devices, the random rng-seed, /hypervisor (KVM only; the fixtures ran under TCG) and hcall-watchdog (QEMU >= 6.2 offers it; the modelled
// pseries-5.1 list stops at hcall-hpt-resize).
describe("guest device tree against real QEMU 7.2 dumpdtb, per ic-mode", () => {
  const UNMODELLED_DRC = ["ibm,drc-indexes", "ibm,drc-power-domains", "ibm,drc-names", "ibm,drc-types"];
  const nodesWeBuild = (t: DeviceTree): DtNode[] => {
    const out: DtNode[] = [];
    const walk = (n: DtNode): void => {
      out.push(n);
      for (const c of n.children) walk(c);
    };
    walk(t.root);
    return out;
  };
  const pathOf = (t: DeviceTree, n: DtNode): string => {
    const names: string[] = [];
    const find = (cur: DtNode, path: string[]): boolean => {
      if (cur === n) {
        names.push(...path);
        return true;
      }
      return cur.children.some((c) => find(c, [...path, c.name]));
    };
    find(t.root, []);
    return `/${names.join("/")}`;
  };

  for (const mode of ["xics", "xive", "dual"] as const satisfies readonly IcMode[]) {
    it(`ic-mode=${mode}: every node and property we build is QEMU's, in QEMU's order`, () => {
      const ours = build(
        `-M pseries-5.1,ic-mode=${mode} -cpu POWER9 -smp 4 -m 1G`,
        OLD_BUILD,
        TCG_LIKE_HOST,
        true,
      );
      const theirs = real(`post-cas/pseries-5.1-${mode}-smp4-dumpdtb.dtb`);
      for (const node of nodesWeBuild(ours)) {
        const path = pathOf(ours, node);
        // the fixtures are TCG: QEMU writes /hypervisor only under KVM (spapr_dt_hypervisor)
        if (path === "/hypervisor") continue;
        const real = theirs.getNode(path);
        expect(real, `${path} in the ${mode} fixture`).toBeDefined();
        if (real === undefined) continue;
        const skip = new Set<string>(path === "/chosen" ? ["rng-seed"] : UNMODELLED_DRC);
        const a = props(node).filter(([n]) => !skip.has(n));
        const b = props(real).filter(([n]) => !skip.has(n));
        if (path === "/rtas") {
          // QEMU 7.2 adds hcall-watchdog to the same list
          const hyp = (l: [string, string][]) => l.find(([n]) => n === "ibm,hypertas-functions")?.[1] ?? "";
          expect(Buffer.from(hyp(b), "hex").toString("latin1")).toBe(
            `${Buffer.from(hyp(a), "hex").toString("latin1")}hcall-watchdog\0`,
          );
          expect(a.map(([n]) => n)).toEqual(b.map(([n]) => n));
          expect(a.filter(([n]) => n !== "ibm,hypertas-functions")).toEqual(
            b.filter(([n]) => n !== "ibm,hypertas-functions"),
          );
        } else {
          expect(a, path).toEqual(b);
        }
        // every child QEMU writes under a node we build is one we build, except the unmodelled ones
        if (path === "/cpus" || path === "/vdevice") {
          const wanted = real.children.map((c) => c.name).filter((n) => !/^(nvram|l-lan|v-scsi)@/.test(n));
          expect(
            node.children.map((c) => c.name),
            path,
          ).toEqual(wanted);
        }
      }
    });
  }

  it("ic-mode=xive replaces the XICS presentation controller by the XIVE TIMA pages", () => {
    const xive = build("-M pseries-5.1,ic-mode=xive -smp 4,maxcpus=8", OLD_BUILD, TCG_LIKE_HOST, true);
    expect(xive.root.children.map((c) => c.name).filter((n) => n.startsWith("interrupt-controller"))).toEqual(
      ["interrupt-controller@60302031b0000"],
    );
    const intc = xive.requireNode("/interrupt-controller@60302031b0000");
    // one IPI interrupt number per possible vCPU
    expect(intc.requireProp("ibm,xive-lisn-ranges").asU32Array()).toEqual([0, 8]);
    expect(xive.root.requireProp("ibm,plat-res-int-priorities").asU32Array()).toEqual([7, 0xf8]);
    const xics = build("-M pseries-5.1,ic-mode=xics -smp 4,maxcpus=8", OLD_BUILD, TCG_LIKE_HOST, true);
    expect(
      xics.requireNode("/interrupt-controller").requireProp("ibm,interrupt-server-ranges").asU32Array(),
    ).toEqual([0, 8]);
    expect(xics.root.hasProp("ibm,plat-res-int-priorities")).toBe(false);
    // the XICS RTAS calls (hw/intc/xics_spapr.c ics_spapr_realize) exist only with a XICS
    for (const call of ["ibm,set-xive", "ibm,get-xive", "ibm,int-off", "ibm,int-on"]) {
      expect(xive.requireNode("/rtas").hasProp(call), call).toBe(false);
      expect(xics.requireNode("/rtas").hasProp(call), call).toBe(true);
    }
  });
});
