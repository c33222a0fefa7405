import { readFileSync } from "node:fs";
import { type DeviceTree, type DtNode, decodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import { SPAPR_XIVE_TM_BASE, SPAPR_XIVE_VC_BASE, TM_CPPR, TM_QW1_OS, TM_SPC_ACK_OS_REG } from "@stopsim/isa";
import * as hv from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { resolveCpuModel } from "./cpu-models.js";
import { type HostCpuInfo, SPAPR_TIMEBASE_FREQ, spaprBuildDtb } from "./fdt.js";
import {
  type ArchitectureVector,
  type IcMode,
  initialIntc,
  negotiateCas,
  OV5_INTC_BYTE,
  OV5_XIVE_EXPLOIT,
  parseIcMode,
  readArchitectureVector,
} from "./irq.js";
import { defaultCapsWithCpu, MACHINE_TYPES, machinePropertiesHelp, type QemuBuild } from "./machine.js";
import { parseCommandLine } from "./options.js";
import { Qemu } from "./spapr.js";
import { SPAPR_XIVE_SRC_SET_EISN, SPAPR_XIVE_SRC_TRIGGER } from "./spapr-xive.js";
import { bootTestHost } from "./test-helpers/hosts.js";
import { TinyGuestImage } from "./test-helpers/tiny-guest.js";

const BUILD: QemuBuild = { stopLiteCap: false, probeKvmCapStop: false };
const TCG_LIKE_HOST: HostCpuInfo = {
  timebaseFrequency: SPAPR_TIMEBASE_FREQ,
  clockFrequency: 1_000_000_000,
  dcacheSize: 0x8000,
  icacheSize: 0x8000,
  fixupHcalls: true,
  kvmCapStop: false,
};

function fixture(name: string): DeviceTree {
  return decodeDtb(new Uint8Array(readFileSync(new URL(`../fixtures/post-cas/${name}`, import.meta.url))));
}

function tree(cmdline: string, irq?: { active: "xics" | "xive"; ov5Cas?: Uint8Array }): DeviceTree {
  const r = parseCommandLine(cmdline, BUILD);
  if (r.kind !== "config") throw new Error("expected a configuration");
  const c = r.config;
  return decodeDtb(
    spaprBuildDtb({
      machineType: c.machineType,
      build: BUILD,
      caps: defaultCapsWithCpu(c.machineType, BUILD),
      cpu: resolveCpuModel(c.cpuModel, undefined),
      smp: c.smp,
      ramSize: c.ramSize,
      host: TCG_LIKE_HOST,
      rngSeed: [1, 2, 3, 4, 5, 6, 7, 8],
      irq: { mode: c.icMode, active: irq?.active ?? initialIntc(c.icMode), ov5Cas: irq?.ov5Cas },
    }),
  );
}

function intcNode(t: DeviceTree): DtNode {
  const n = t.root.children.find((c) => c.baseName === "interrupt-controller");
  if (n === undefined) throw new Error("no interrupt controller");
  return n;
}

function props(node: DtNode, skip: readonly string[] = []): Record<string, string> {
  return Object.fromEntries(
    node.properties
      .filter((p) => !skip.includes(p.name))
      .map((p) => [p.name, Buffer.from(p.rawValue).toString("hex")]),
  );
}

/** The OV5 bytes Linux 6.1's prom_init sends for its interrupt controller and MMU (prom_init.c). */
function linuxVector(platformSupportIntc: number, xiveOff = false): ArchitectureVector {
  const ov5 = new Uint8Array(27);
  // prom_parse_xive_model: either (0x80) -> XIVE unless xive=off; exploitation only (0x40) -> XIVE
  if ((platformSupportIntc === 0x80 && !xiveOff) || platformSupportIntc === 0x40)
    ov5[OV5_INTC_BYTE] = OV5_XIVE_EXPLOIT;
  ov5[24] = 0x40; // radix
  ov5[26] = 0x40; // GTSE
  return {
    pvrs: [{ mask: 0xffff0000, value: 0x004e0000 }],
    vectors: new Map([
      [1, new Uint8Array(2)],
      [5, ov5],
    ]),
  };
}

const MODES: readonly IcMode[] = ["xics", "xive", "dual"];

describe("ic-mode", () => {
  it("defaults to dual on every machine type of the model, as QEMU 7.2 reports for pseries-4.1 and later", () => {
    const real = JSON.parse(
      readFileSync(new URL("../fixtures/post-cas/ic-mode-defaults.json", import.meta.url), "utf8"),
    );
    for (const m of MACHINE_TYPES) expect(m.icModeDefault, m.name).toBe(real[m.name]);
    const r = parseCommandLine("-M pseries-5.1,ic-mode=xics", BUILD);
    expect(r.kind === "config" && r.config.icMode).toBe("xics");
  });

  it("refuses a bad value with QEMU's message and lists the property in -machine help", () => {
    expect(() => parseIcMode("legacy")).toThrow('Bad value for "ic-mode" property');
    expect(() => parseCommandLine("-M pseries-5.1,ic-mode=bogus", BUILD)).toThrow(
      /Bad value for "ic-mode" property/,
    );
    expect(machinePropertiesHelp(MACHINE_TYPES[0], BUILD)).toMatch(
      /ic-mode=<string>\s+- Specifies the interrupt controller mode \(xics, xive, dual\)/,
    );
  });

  it.each(MODES)(
    "the tree before CAS (ic-mode=%s) has real QEMU 7.2's interrupt controller, platform support and reserved priorities",
    (mode) => {
      const ours = tree(`-M pseries-5.1,ic-mode=${mode} -cpu POWER9 -smp 4 -m 1G`);
      const theirs = fixture(`pseries-5.1-${mode}-smp4-dumpdtb.dtb`);
      expect(intcNode(ours).name).toBe(intcNode(theirs).name);
      expect(props(intcNode(ours))).toEqual(props(intcNode(theirs)));
      const ps = (t: DeviceTree) =>
        Buffer.from(
          t.requireNode("/chosen").requireProp("ibm,arch-vec-5-platform-support").rawValue,
        ).toString("hex");
      expect(ps(ours)).toBe(ps(theirs));
      const pr = (t: DeviceTree) => t.root.getProp("ibm,plat-res-int-priorities")?.rawValue;
      expect(pr(ours)).toEqual(pr(theirs));
    },
  );
});

describe("CAS (h_client_architecture_support)", () => {
  it.each(MODES)(
    "ic-mode=%s: a Linux guest gets the interrupt controller of real QEMU's post-CAS tree",
    (mode) => {
      const before = tree(`-M pseries-5.1,ic-mode=${mode} -cpu POWER9 -smp 4 -m 1G`);
      const support = before.requireNode("/chosen").requireProp("ibm,arch-vec-5-platform-support")
        .rawValue[1];
      const r = negotiateCas(mode, linuxVector(support));
      expect(r.kind).toBe("ok");
      if (r.kind !== "ok") return;
      const ours = tree(`-M pseries-5.1,ic-mode=${mode} -cpu POWER9 -smp 4 -m 1G`, {
        active: r.intc,
        ov5Cas: r.ov5Cas,
      });
      const theirs = fixture(`pseries-5.1-${mode}-smp4.dtb`);
      expect(r.intc).toBe(mode === "xics" ? "xics" : "xive");
      // SLOF renumbers phandles and marks the node; everything else is QEMU's
      const skip = ["phandle", "linux,phandle", "slof,from-fdt"];
      expect(intcNode(ours).name).toBe(intcNode(theirs).name);
      expect(props(intcNode(ours), skip)).toEqual(props(intcNode(theirs), skip));
      const ov5 = (t: DeviceTree) => t.requireNode("/chosen").requireProp("ibm,architecture-vec-5").rawValue;
      for (const byte of [23, 24, 26]) expect(ov5(ours)[byte], `OV5 byte ${byte}`).toBe(ov5(theirs)[byte]);
      expect(ov5(ours)[0]).toBe(ov5(theirs)[0]);
      const pr = (t: DeviceTree) => t.root.getProp("ibm,plat-res-int-priorities")?.rawValue;
      expect(pr(ours)).toEqual(pr(theirs));
    },
  );

  it("exits where the guest asks for a mode the machine does not offer, with QEMU's message", () => {
    const xive = negotiateCas("xics", linuxVector(0x40));
    expect(xive).toEqual({
      kind: "exit",
      error:
        "Guest requested unavailable interrupt mode (XIVE), try the ic-mode=xive or ic-mode=dual machine property",
    });
    const xics = negotiateCas("xive", linuxVector(0x80, true));
    expect(xics.kind === "exit" && xics.error).toMatch(
      /unavailable interrupt mode \(XICS\), either don't set/,
    );
    const v = linuxVector(0x80);
    const bad = {
      ...v,
      vectors: new Map([...v.vectors, [5, Object.assign(new Uint8Array(27), { 23: 0xc0 })]]),
    };
    expect(negotiateCas("dual", bad)).toEqual({
      kind: "exit",
      error: "guest requested an invalid interrupt mode",
    });
    expect(negotiateCas("dual", { ...v, vectors: new Map([[1, new Uint8Array(2)]]) }).kind).toBe(
      "h_parameter",
    );
    // a guest booted with xive=off on a dual machine stays on XICS
    const off = negotiateCas("dual", linuxVector(0x80, true));
    expect(off.kind === "ok" && off.intc).toBe("xics");
  });

  it("reads the architecture vector as QEMU does: PVR pairs to the terminator, then the option vectors", () => {
    // (0xffff0000, 0x004e0000), terminator (0, 0xffffffff), 2 vectors: [len-1=0, 0x80], [len-1=1, 0x12, 0x34]
    const bytes = [
      0xff, 0xff, 0, 0, 0, 0x4e, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0x80, 1, 0x12, 0x34,
    ];
    const v = readArchitectureVector((a) => bytes[a] ?? 0, 0);
    expect(v.pvrs).toEqual([{ mask: 0xffff0000, value: 0x004e0000 }]);
    expect([...(v.vectors.get(1) ?? [])]).toEqual([0, 0x80]);
    expect([...(v.vectors.get(2) ?? [])]).toEqual([0, 0x12, 0x34]);
  });
});

describe("H_INT_* on KVM's XIVE native device", () => {
  /** Writes the vector as prom_init lays it out (ibm_architecture_vec) at `addr`. */
  function writeVector(q: Qemu, addr: number, ov5: Uint8Array): void {
    const w = (a: number, v: number) => q.ram.write32(a, v, false);
    w(addr, 0xffff0000);
    w(addr + 4, 0x004e0000);
    w(addr + 8, 0);
    w(addr + 12, 0xffffffff);
    let a = addr + 16;
    q.ram.write8(a++, 4); // five vectors
    for (let v = 1; v <= 5; v++) {
      const bytes = v === 5 ? ov5.subarray(1) : new Uint8Array(1);
      q.ram.write8(a++, bytes.length - 1);
      for (const b of bytes) q.ram.write8(a++, b);
    }
  }

  it("after CAS chose XIVE: source info, queue and source config, an IPI by ESB store lands in the queue and is acked", () => {
    const sim = new Simulation({ seed: 1 });
    const h = bootTestHost(sim, { chip: "dd2.3", firmware: "new", kernel: "fallback" }, "h");
    const image = new TinyGuestImage({ sim, stop0lite: "never" });
    const r = Qemu.create({
      sim,
      host: h.qemuHost,
      build: BUILD,
      commandLine: "-M pseries-5.1 -smp 2 -m 1G -S",
      image,
      name: "q",
    });
    if (r.kind !== "running") throw new Error(r.kind);
    const q = r.qemu;
    const args = (...a: number[]) => a.map(BigInt);
    // H_INT_* before CAS: no XIVE yet
    expect(q.irq.hcall(0, hv.H_INT_GET_SOURCE_INFO, args(0, 0))).toBe(hv.H_FUNCTION);
    const ov5 = new Uint8Array(27);
    ov5[23] = 0x40;
    writeVector(q, 0x100000, ov5);
    expect(q.irq.hcall(0, hv.KVMPPC_H_CAS, args(0x100000, 0x200000, 0x100000))).toBe(hv.H_SUCCESS);
    expect(q.irq.active).toBe("xive");
    expect(q.irq.cas?.reason).toMatch(
      /both XICS and XIVE \(ic-mode=dual\); the guest asked for XIVE exploitation/,
    );
    // the new tree is in the buffer after the 4-byte update header
    expect(q.ram.read32(0x200000, false)).toBe(1);
    const dtb = new Uint8Array(q.dtb.length);
    for (let i = 0; i < dtb.length; i++) dtb[i] = q.ram.read8(0x200004 + i);
    expect(intcNode(decodeDtb(dtb)).name).toBe("interrupt-controller@60302031b0000");
    // source 1 (the IPI of vCPU 1): its pages, then routed to vCPU 1's queue at priority 6
    const info = args(0, 1);
    expect(q.irq.hcall(0, hv.H_INT_GET_SOURCE_INFO, info)).toBe(hv.H_SUCCESS);
    expect(info[0]).toBe(SPAPR_XIVE_SRC_TRIGGER);
    expect(info[2]).toBe(BigInt(SPAPR_XIVE_VC_BASE + (1 << 17)));
    expect(info[1]).toBe(BigInt(SPAPR_XIVE_VC_BASE + (1 << 17) + (1 << 16)));
    expect(info[3]).toBe(16n);
    expect(q.irq.hcall(0, hv.H_INT_SET_QUEUE_CONFIG, args(0, 1, 6, 0x300000, 13))).toBe(hv.H_P5);
    expect(q.irq.hcall(0, hv.H_INT_SET_QUEUE_CONFIG, args(0, 1, 6, 0x301000, 16))).toBe(hv.H_P4);
    expect(q.irq.hcall(0, hv.H_INT_SET_QUEUE_CONFIG, args(0, 9, 6, 0x300000, 16))).toBe(hv.H_P2);
    expect(q.irq.hcall(0, hv.H_INT_SET_QUEUE_CONFIG, args(0, 1, 6, 0x300000, 16))).toBe(hv.H_SUCCESS);
    const cfg = [SPAPR_XIVE_SRC_SET_EISN, 1n, 1n, 6n, 16n];
    expect(q.irq.hcall(0, hv.H_INT_SET_SOURCE_CONFIG, [SPAPR_XIVE_SRC_SET_EISN, 1n, 1n, 7n, 16n])).toBe(
      hv.H_P4,
    );
    expect(q.irq.hcall(0, hv.H_INT_SET_SOURCE_CONFIG, cfg)).toBe(hv.H_SUCCESS);
    // the guest unmasks and sends the IPI with stores to the mapped ESB pages
    q.ram.mmioLoad(SPAPR_XIVE_VC_BASE + (1 << 17) + (1 << 16) + 0xc00, 8, 0);
    q.ram.mmioStore(SPAPR_XIVE_VC_BASE + (1 << 17), 8, 0n, 0);
    expect(q.ram.read32(0x300000, false)).toBe(0x80000010);
    // vCPU 1 is not dispatched: the event waits in its NVT; the TIMA of a thread answers through the OS page
    const tima = SPAPR_XIVE_TM_BASE + (2 << 16);
    const pir = h.host.cpus[0].thread.pir;
    expect(q.ram.mmioLoad(tima + TM_SPC_ACK_OS_REG, 2, pir)).toBe(0n);
    q.ram.mmioStore(tima + TM_QW1_OS + TM_CPPR, 1, 0xffn, pir);
  });

  it("ic-mode=xics: CAS keeps XICS and H_INT_* stay H_FUNCTION; a XIVE request ends QEMU with its error", () => {
    const sim = new Simulation({ seed: 1 });
    const h = bootTestHost(sim, { chip: "dd2.3", firmware: "new", kernel: "fallback" }, "h");
    const image = new TinyGuestImage({ sim, stop0lite: "never" });
    const r = Qemu.create({
      sim,
      host: h.qemuHost,
      build: BUILD,
      commandLine: "-M pseries-5.1,ic-mode=xics -smp 2 -m 1G -S",
      image,
    });
    if (r.kind !== "running") throw new Error(r.kind);
    const q = r.qemu;
    writeVector(q, 0x100000, new Uint8Array(27));
    expect(q.irq.hcall(0, hv.KVMPPC_H_CAS, [0x100000n, 0x200000n, 0x100000n])).toBe(hv.H_SUCCESS);
    expect(q.irq.active).toBe("xics");
    expect(q.irq.hcall(0, hv.H_INT_GET_SOURCE_INFO, [0n, 0n])).toBe(hv.H_FUNCTION);
    const ov5 = new Uint8Array(27);
    ov5[23] = 0x40;
    writeVector(q, 0x100000, ov5);
    q.irq.hcall(0, hv.KVMPPC_H_CAS, [0x100000n, 0x200000n, 0x100000n]);
    expect(q.exitStatus).toBe(1);
    expect(q.stderr).toMatch(
      /^qemu-system-ppc64: Guest requested unavailable interrupt mode \(XIVE\), try the ic-mode=xive or ic-mode=dual machine property$/m,
    );
  });
});
