import { type DeviceTree, decodeDtb, encodeDtb, readU32 } from "@stopsim/devicetree";
import type { PnvMachine } from "@stopsim/isa";
import { type ChipModel, chipById, POWER9_CHIPS } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import {
  buildHost,
  buildHostDtb,
  buildHostTree,
  CPU_FEATURES_TABLE,
  CPU_P9_DD2_0_1,
  CPU_P9_DD2_2,
  CPU_P9_DD2_3,
  cpuFeatureCpuMask,
  FIRMWARE_VERSIONS,
  type FirmwareVersion,
  hostTopology,
  USABLE_HV,
  USABLE_OS,
} from "./index.js";
import { p9Machine } from "./test-helpers/machine.js";

const FW_2020 = FIRMWARE_VERSIONS["2020"];
const FW_NEW = FIRMWARE_VERSIONS["idle-stop-guest"];

/** Reads the features as Linux's dt_cpu_ftrs.c does: from the DTB bytes, node by node. */
function featuresFromDtb(dtb: Uint8Array): Map<string, Map<string, number[]>> {
  const tree = decodeDtb(dtb);
  const node = tree.requireNode("/cpus/ibm,powerpc-cpu-features");
  const out = new Map<string, Map<string, number[]>>();
  for (const f of node.children) {
    out.set(f.name, new Map(f.properties.map((p) => [p.name, p.asU32Array()])));
  }
  return out;
}

function hostDtb(chip: ChipModel, firmware: FirmwareVersion): Uint8Array {
  return buildHostDtb({ machine: p9Machine(chip), firmware });
}

describe("dt-cpu-features gating (skiboot core/cpufeatures.c)", () => {
  it("maps each POWER9 DD level to skiboot's CPU bit", () => {
    expect(cpuFeatureCpuMask(chipById("dd2.0"))).toBe(CPU_P9_DD2_0_1);
    expect(cpuFeatureCpuMask(chipById("dd2.1"))).toBe(CPU_P9_DD2_0_1);
    expect(cpuFeatureCpuMask(chipById("dd2.2"))).toBe(CPU_P9_DD2_2);
    expect(cpuFeatureCpuMask(chipById("dd2.3"))).toBe(CPU_P9_DD2_3);
  });

  it("DD2.2 lacks idle-stop-guest whatever the firmware", () => {
    for (const fw of [FW_2020, FW_NEW]) {
      expect(featuresFromDtb(hostDtb(chipById("dd2.2"), fw)).has("idle-stop-guest")).toBe(false);
    }
  });

  it("DD2.3 has idle-stop-guest with the new firmware, not with the 2020 firmware", () => {
    const withFeature = featuresFromDtb(hostDtb(chipById("dd2.3"), FW_NEW));
    expect(withFeature.has("idle-stop-guest")).toBe(true);
    const isg = withFeature.get("idle-stop-guest");
    expect(isg?.get("isa")).toEqual([3000]);
    expect(isg?.get("usable-privilege")).toEqual([USABLE_HV | USABLE_OS]);
    expect(isg?.get("hv-support")).toEqual([0]);
    expect(isg?.has("os-support")).toBe(false);
    expect(isg?.has("hwcap-bit-nr")).toBe(false);
    expect(featuresFromDtb(hostDtb(chipById("dd2.3"), FW_2020)).has("idle-stop-guest")).toBe(false);
    for (const dd of ["dd2.0", "dd2.1"]) {
      expect(featuresFromDtb(hostDtb(chipById(dd), FW_NEW)).has("idle-stop-guest")).toBe(false);
    }
  });

  it("gates the TM workaround features by DD level as skiboot's table does", () => {
    const has = (dd: string, name: string) => featuresFromDtb(hostDtb(chipById(dd), FW_2020)).has(name);
    for (const dd of ["dd2.0", "dd2.1"]) {
      expect(has(dd, "tm-suspend-hypervisor-assist")).toBe(false);
      expect(has(dd, "tm-suspend-xer-so-bug")).toBe(false);
    }
    expect(has("dd2.2", "tm-suspend-hypervisor-assist")).toBe(true);
    expect(has("dd2.2", "tm-suspend-xer-so-bug")).toBe(true);
    expect(has("dd2.3", "tm-suspend-hypervisor-assist")).toBe(true);
    expect(has("dd2.3", "tm-suspend-xer-so-bug")).toBe(false);
  });

  it("publishes exactly the POWER9 entries (no POWER8-only, no disabled entries)", () => {
    const feats = featuresFromDtb(hostDtb(chipById("dd2.2"), FW_2020));
    for (const name of [
      "transactional-memory",
      "mmu-hash",
      "idle-nap",
      "subcore",
      "processor-control-facility",
    ]) {
      expect(feats.has(name)).toBe(false);
    }
    for (const name of ["transactional-memory-v3", "alignment-interrupt-dsisr", "group-start-register"]) {
      expect(feats.has(name)).toBe(false);
    }
    for (const name of [
      "idle-stop",
      "mmu-radix",
      "mmu-hash-v3",
      "strong-access-ordering",
      "random-number-generator",
    ]) {
      expect(feats.has(name)).toBe(true);
    }
    const expected = CPU_FEATURES_TABLE.filter((f) => f.cpusSupported & CPU_P9_DD2_2).map((f) => f.name);
    expect([...feats.keys()]).toEqual(expected);
    expect(expected.length).toBe(52);
    const count = (dd: string, fw: FirmwareVersion) => featuresFromDtb(hostDtb(chipById(dd), fw)).size;
    expect([
      count("dd2.0", FW_2020),
      count("dd2.1", FW_2020),
      count("dd2.3", FW_2020),
      count("dd2.3", FW_NEW),
    ]).toEqual([50, 50, 51, 52]);
  });

  it("writes the binding's properties with skiboot's values", () => {
    const feats = featuresFromDtb(hostDtb(chipById("dd2.3"), FW_2020));
    const props = (n: string) =>
      Object.fromEntries([...(feats.get(n) ?? new Map())].filter(([k]) => k !== "phandle"));
    expect(props("floating-point")).toEqual({
      isa: [0],
      "usable-privilege": [7],
      "hv-support": [0],
      "hfscr-bit-nr": [0],
      "os-support": [0],
      "hwcap-bit-nr": [27],
    });
    expect(props("data-stream-control-register")).toEqual({
      isa: [0],
      "usable-privilege": [7],
      "hv-support": [0],
      "hfscr-bit-nr": [2],
      "os-support": [0],
      "fscr-bit-nr": [2],
      "hwcap-bit-nr": [61],
    });
    expect(props("system-call-vectored")).toEqual({
      isa: [3000],
      "usable-privilege": [3],
      "os-support": [0],
      "fscr-bit-nr": [12],
      "hwcap-bit-nr": [52],
    });
    expect(props("processor-control-facility-v3")).toEqual({
      isa: [3000],
      "usable-privilege": [6],
      "hv-support": [0],
      "hfscr-bit-nr": [10],
    });
    expect(props("program-priority-register")).toEqual({ isa: [0], "usable-privilege": [7] });
  });

  it("resolves dependencies to phandles of the named feature nodes", () => {
    for (const fw of [FW_2020, FW_NEW]) {
      const tree = decodeDtb(hostDtb(chipById("dd2.3"), fw));
      const node = tree.requireNode("/cpus/ibm,powerpc-cpu-features");
      const deps = (name: string) =>
        (node.getChild(name)?.requireProp("dependencies").asPhandles() ?? []).map(
          (ph) => tree.findByPhandle(ph)?.name,
        );
      expect(deps("vector")).toEqual(["floating-point"]);
      expect(deps("vector-scalar-v3")).toEqual(["vector-v3", "vector-scalar"]);
      expect(deps("decimal-floating-point-v3")).toEqual(["floating-point-v3", "decimal-floating-point"]);
      expect(deps("come-from-address-register")).toEqual(["debug-facilities"]);
      if (fw.idleStopGuest) expect(deps("idle-stop-guest")).toEqual(["idle-stop"]);
      for (const f of node.children) {
        for (const ph of f.getProp("dependencies")?.asPhandles() ?? []) {
          expect(tree.findByPhandle(ph)?.parent).toBe(node);
        }
      }
    }
  });

  it("gives the container node skiboot's properties", () => {
    const tree = decodeDtb(hostDtb(chipById("dd2.0"), FW_2020));
    const n = tree.requireNode("/cpus/ibm,powerpc-cpu-features");
    expect(n.properties.map((p) => p.name)).toEqual([
      "phandle",
      "isa",
      "device_type",
      "compatible",
      "display-name",
    ]);
    expect(n.requireProp("isa").asU32()).toBe(3000);
    expect(n.requireProp("compatible").asString()).toBe("ibm,powerpc-cpu-features");
    expect(n.requireProp("device_type").asString()).toBe("cpu-features");
    expect(n.requireProp("display-name").asString()).toBe("POWER9");
  });
});

describe("host tree", () => {
  const tree = (): DeviceTree =>
    buildHostTree({
      machine: p9Machine(chipById("dd2.3"), { chips: 2, coresPerChip: 3, threadsPerCore: 4 }),
      firmware: FW_NEW,
    });

  it("has one cpu node per core with skiboot's PIR layout and threads", () => {
    const t = tree();
    const cpus = t
      .requireNode("/cpus")
      .children.filter((n) => n.getProp("device_type")?.asString() === "cpu");
    expect(cpus.map((n) => n.name)).toEqual([
      "PowerPC,POWER9@0",
      "PowerPC,POWER9@4",
      "PowerPC,POWER9@8",
      "PowerPC,POWER9@800",
      "PowerPC,POWER9@804",
      "PowerPC,POWER9@808",
    ]);
    const c = t.requireNode("/cpus/PowerPC,POWER9@804");
    expect(c.requireProp("reg").asU32()).toBe(0x804);
    expect(c.requireProp("ibm,pir").asU32()).toBe(0x804);
    expect(c.requireProp("ibm,chip-id").asU32()).toBe(8);
    expect(c.requireProp("ibm,ppc-interrupt-server#s").asU32Array()).toEqual([0x804, 0x805, 0x806, 0x807]);
    expect(c.requireProp("cpu-version").asU32()).toBe(0x004e1203);
    expect(c.requireProp("timebase-frequency").asU32()).toBe(512_000_000);
    expect(c.requireProp("ibm,extended-timebase-frequency").asU64()).toBe(512_000_000n);
    expect(c.requireProp("clock-frequency").asU32()).toBe(3_800_000_000);
    expect(c.requireProp("ibm,dec-bits").asU32()).toBe(56);
    expect(c.requireProp("status").asString()).toBe("okay");
    expect(c.requireProp("d-cache-size").asU32()).toBe(32768);
    expect(c.hasProp("ibm,ppc-interrupt-gserver#s")).toBe(false); // PowerVM/pseries only
    expect(c.properties[0].name).toBe("phandle");
  });

  it("shares one L2/L3 cache node per core pair and links cpu -> l2 -> l3 by phandle", () => {
    const t = tree();
    const cpus = t.requireNode("/cpus");
    expect(cpus.children.filter((n) => n.baseName === "l2-cache").map((n) => n.name)).toEqual([
      "l2-cache@20000000",
      "l2-cache@20000008",
      "l2-cache@20000800",
      "l2-cache@20000808",
    ]);
    const l2Of = (name: string) =>
      t.findByPhandle(t.requireNode(`/cpus/${name}`).requireProp("l2-cache").asU32());
    expect(l2Of("PowerPC,POWER9@0")?.name).toBe("l2-cache@20000000");
    expect(l2Of("PowerPC,POWER9@4")?.name).toBe("l2-cache@20000000");
    expect(l2Of("PowerPC,POWER9@8")?.name).toBe("l2-cache@20000008");
    const l3 = t.findByPhandle(l2Of("PowerPC,POWER9@804")?.requireProp("l2-cache").asU32() ?? 0);
    expect(l3?.name).toBe("l3-cache@30000800");
    expect(l3?.requireProp("d-cache-size").asU32()).toBe(10 * 1024 * 1024);
  });

  it("has memory per chip, the OPAL node and the boot CPU", () => {
    const t = tree();
    expect(t.requireNode("/memory@0").requireProp("reg").asU64Array()).toEqual([0n, 2n << 30n]);
    expect(t.requireNode("/memory@200000000000").requireProp("ibm,chip-id").asU32()).toBe(8);
    const opal = t.requireNode("/ibm,opal");
    expect(opal.requireProp("compatible").asStringList()).toEqual(["ibm,opal-v3"]);
    expect(opal.requireProp("opal-base-address").asU64()).toBe(0x30000000n);
    expect(opal.requireProp("opal-runtime-size").asU64()).toBe(0x01c10000n + (0x80bn + 1n) * 0x8000n);
    expect(t.requireNode("/ibm,opal/firmware").requireProp("version").asString()).toBe(
      "skiboot-v6.6-idle-stop-guest",
    );
    expect(t.bootCpuidPhys).toBe(0);
  });

  it("publishes the idle states the way Linux powernv/idle.c reads them", () => {
    const t = decodeDtb(buildHostDtb({ machine: p9Machine(chipById("dd2.2")), firmware: FW_2020 }));
    const pm = t.requireNode("/ibm,opal/power-mgt");
    const names = pm.requireProp("ibm,cpu-idle-state-names").asStringList();
    const flags = pm.requireProp("ibm,cpu-idle-state-flags").asU32Array();
    const lat = pm.requireProp("ibm,cpu-idle-state-latencies-ns").asU32Array();
    const res = pm.requireProp("ibm,cpu-idle-state-residency-ns").asU32Array();
    const psscr = pm.requireProp("ibm,cpu-idle-state-psscr").asU64Array();
    const mask = pm.requireProp("ibm,cpu-idle-state-psscr-mask").asU64Array();
    expect(names).toEqual(["stop0_lite", "stop0", "stop1", "stop2", "stop4", "stop5"]);
    for (const arr of [flags, lat, res, psscr, mask]) expect(arr.length).toBe(names.length);
    expect(psscr[0]).toBe(0x330n);
    expect(flags[4]).toBe(0x207000);
    expect(pm.requireProp("ibm,enabled-stop-levels").asU32()).toBe(0xec000000);
  });

  it("is written in skiboot's create_dtb layout (libfdt sequential write) and deterministically", () => {
    const a = buildHostDtb({ machine: p9Machine(chipById("dd2.3")), firmware: FW_NEW });
    const b = buildHostDtb({ machine: p9Machine(chipById("dd2.3")), firmware: FW_NEW });
    expect(Buffer.from(a)).toEqual(Buffer.from(b));
    expect(readU32(a, 16)).toBe(48); // reserve map after the header aligned to 16
    expect(readU32(a, 20)).toBe(17);
    expect(readU32(a, 24)).toBe(16);
    const d = decodeDtb(a);
    expect(Buffer.from(encodeDtb(d))).toEqual(Buffer.from(a));
    // libfdt puts each new name in front of the strings block: the first name used comes last
    const strings = Buffer.from(d.layout?.strings ?? []).toString("latin1");
    expect(strings.endsWith("phandle\0")).toBe(true);
  });

  it("probes the machine: PIRs and PVRs are read from the threads, not taken from options", () => {
    const machine = p9Machine("dd2.2", { chips: 2, coresPerChip: 1, threadsPerCore: 2 });
    const topo = hostTopology(machine);
    expect(topo.threads.map((t) => t.pir)).toEqual([0x000, 0x001, 0x800, 0x801]);
    expect(topo.cores.map((c) => c.pvr)).toEqual([0x004e1202, 0x004e1202]);
    expect(topo.bootPvr).toBe(0x004e1202);
    expect(topo.chipMemoryBytes).toEqual([2n << 30n, 2n << 30n]);
    const t = buildHostTree({ machine, firmware: FW_2020 });
    expect(
      t.requireNode("/cpus/PowerPC,POWER9@800").requireProp("ibm,ppc-interrupt-server#s").asU32Array(),
    ).toEqual([0x800, 0x801]);
    expect(t.requireNode("/cpus/PowerPC,POWER9@800").requireProp("cpu-version").asU32()).toBe(0x004e1202);
    for (const bad of [undefined, null, {}, 7])
      expect(() => hostTopology(bad as unknown as PnvMachine)).toThrow(/machine is required/);
    expect(() => buildHost({ machine: undefined as unknown as PnvMachine, firmware: FW_2020 })).toThrow(
      /machine is required/,
    );
  });

  it("a machine of another DD level gives another tree: cpu-version, features and fw-features follow its PVR", () => {
    const dd22 = buildHostTree({ machine: p9Machine("dd2.2"), firmware: FW_NEW });
    const dd23 = buildHostTree({ machine: p9Machine("dd2.3"), firmware: FW_NEW });
    const cpuVersion = (t: DeviceTree) =>
      t.requireNode("/cpus/PowerPC,POWER9@0").requireProp("cpu-version").asU32();
    expect([cpuVersion(dd22), cpuVersion(dd23)]).toEqual([0x004e1202, 0x004e1203]);
    const feats = (t: DeviceTree) =>
      t.requireNode("/cpus/ibm,powerpc-cpu-features").children.map((n) => n.name);
    expect(feats(dd22)).not.toContain("idle-stop-guest");
    expect(feats(dd23)).toContain("idle-stop-guest");
    const fw = (t: DeviceTree, name: string) =>
      t.requireNode(`/ibm,opal/fw-features/${name}`).hasProp("enabled") ? "enabled" : "disabled";
    expect(fw(dd22, "fw-count-cache-disabled")).toBe("enabled");
    expect(fw(dd23, "fw-count-cache-disabled")).toBe("disabled");
    expect(fw(dd22, "fw-count-cache-flush-bcctr2,0,0")).toBe("disabled");
    expect(fw(dd23, "fw-count-cache-flush-bcctr2,0,0")).toBe("enabled");
  });

  it("omits clock-frequency when it does not fit a cell, as skiboot does", () => {
    const t = buildHostTree({ machine: p9Machine(chipById("dd2.3"), { clockMhz: 5000 }), firmware: FW_2020 });
    const c = t.requireNode("/cpus/PowerPC,POWER9@0");
    expect(c.hasProp("clock-frequency")).toBe(false);
    expect(c.requireProp("ibm,extended-clock-frequency").asU64()).toBe(5_000_000_000n);
  });

  it("builds for every chip model", () => {
    for (const chip of POWER9_CHIPS)
      expect(buildHostDtb({ machine: p9Machine(chip), firmware: FW_NEW }).length).toBeGreaterThan(1000);
  });
});
