// The exported dt-cpu-features match table, row by row, against skiboot's cpu_features_table
// (skiboot: core/cpufeatures.c, 2020 entries; the POWER10-only rows added later are left out, and
// CPU_P10 is dropped from the masks, as this package models POWER9 only). The rows below are
// transcribed by hand from that file, not produced by a tool: name, CPU mask, isa,
// usable_privilege, hv_support, os_support, hfscr/fscr/hwcap bit numbers (PPC_BITLSHIFT(n) written
// as 63 - n), dependencies. The POWER8-only and disabled rows never reach a POWER9 host tree, so
// only this comparison pins them.
import { chipById } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import {
  bootOpal,
  CPU_FEATURES_TABLE,
  type CpuFeature,
  cpuFeatureCells,
  cpuFeatureCpuMask,
  FIRMWARE_VERSIONS,
} from "./index.js";
import { p9Machine } from "./test-helpers/machine.js";

// skiboot's CPU bits, usable-privilege bits and hv/os support kinds
const P8_DD1 = 1;
const P8_DD2 = 2;
const P9_DD1 = 4;
const P9_DD2_0_1 = 8;
const P9P = 16;
const P9_DD2_2 = 32;
const P9_DD2_3 = 64;
const CPUS: Record<string, number> = {
  ALL: P8_DD1 | P8_DD2 | P9_DD1 | P9_DD2_0_1 | P9_DD2_2 | P9_DD2_3 | P9P,
  "ALL&~P9_DD1": P8_DD1 | P8_DD2 | P9_DD2_0_1 | P9_DD2_2 | P9_DD2_3 | P9P,
  P8: P8_DD1 | P8_DD2,
  P8_DD2,
  P9: P9_DD1 | P9_DD2_0_1 | P9_DD2_2 | P9_DD2_3 | P9P,
  "P9_DD2_2|P9_DD2_3|P9P": P9_DD2_2 | P9_DD2_3 | P9P,
  P9_DD2_2,
  "0": 0,
};
const USABLE: Record<string, number> = { HOP: 7, HO: 6, HV: 4, OP: 3 };
const SUPPORT: Record<string, number> = { N: 0, C: 1, F: 2 };

/** name cpus isa usable hv os hfscr fscr hwcap [dependencies] */
const SKIBOOT_TABLE = `
big-endian ALL 0 HOP C C -1 -1 -1
little-endian ALL 0 HOP C C -1 -1 -1
hypervisor ALL 0 HV C N -1 -1 -1
interrupt-facilities ALL 0 HO C C -1 -1 -1
smt ALL 0 HOP C C -1 -1 14
program-priority-register ALL 0 HOP N N -1 -1 -1
virtual-page-class-key-protection ALL 0 HOP C C -1 -1 -1
strong-access-ordering ALL&~P9_DD1 0 HOP C C -1 -1 -1
no-execute ALL 0 HO C C -1 -1 -1
cache-inhibited-large-page ALL 0 HO C C -1 -1 -1
debug-facilities ALL 0 HO C C -1 -1 -1
come-from-address-register ALL 0 HO C C -1 -1 -1 debug-facilities
branch-tracing ALL 0 HO C C -1 -1 -1 debug-facilities
floating-point ALL 0 HOP C C 0 -1 27
vector ALL 0 HOP C C 1 -1 28 floating-point
vector-scalar ALL 0 HOP C C -1 -1 7 vector
vector-crypto ALL 0 HOP N N -1 -1 57 vector
quadword-load-store ALL 0 HOP N N -1 -1 -1
decimal-integer ALL 0 HOP N N -1 -1 -1
decimal-floating-point ALL 0 HOP N N -1 -1 10 floating-point
data-stream-control-register ALL 0 HOP C C 2 2 61
branch-history-rolling-buffer ALL 0 HOP C C 4 -1 -1
transactional-memory P8 0 HOP C C 5 -1 62
transactional-memory-v3 0 3000 HOP N N -1 -1 -1 transactional-memory
event-based-branch ALL 0 HOP C C 7 7 60
target-address-register ALL 0 HOP C C 8 8 58
control-register ALL 0 HO C C -1 -1 -1
processor-control-facility P8_DD2 0 HO C C -1 -1 -1
processor-utilization-of-resources-register ALL 0 HO C C -1 -1 -1
coprocessor-icswx P8 0 HO C C -1 -1 -1
mmu-hash P8 0 HO C C -1 -1 -1
machine-check-power8 P8 0 HO C C -1 -1 -1
performance-monitor-power8 P8 0 HO C C -1 -1 -1
alignment-interrupt-dsisr 0 0 HO N N -1 -1 -1
idle-nap P8 0 HV C N -1 -1 -1
wait P8 0 HOP N N -1 -1 -1
subcore P8 0 HO C C -1 -1 -1 smt
mmu-radix P9 3000 HO C C -1 -1 -1
mmu-hash-v3 P9 3000 HO C C -1 -1 -1
wait-v3 P9 3000 HOP N N -1 -1 -1
idle-stop P9 3000 HO C C -1 -1 -1
hypervisor-virtualization-interrupt P9 3000 HV C N -1 -1 -1
machine-check-power9 P9 3000 HO C C -1 -1 -1
performance-monitor-power9 P9 3000 HO C C -1 -1 -1
system-call-vectored P9 3000 OP N C -1 12 52
processor-control-facility-v3 P9 3000 HO C N 10 -1 -1
pc-relative-addressing P9 3000 HOP N N -1 -1 -1
timer-facilities ALL 0 HO N N -1 -1 -1
timer-facilities-v3 P9 3000 HO N N -1 -1 -1 timer-facilities
random-number-generator P9 3000 HOP N N -1 -1 53
fixed-point-v3 P9 3000 HOP N N -1 -1 -1
decimal-integer-v3 P9 3000 HOP N N -1 -1 -1 fixed-point-v3 decimal-integer
floating-point-v3 P9 3000 HOP N N -1 -1 -1 floating-point
decimal-floating-point-v3 P9 3000 HOP N N -1 -1 -1 floating-point-v3 decimal-floating-point
vector-v3 P9 3000 HOP N N -1 -1 -1 vector
vector-scalar-v3 P9 3000 HOP N N -1 -1 -1 vector-v3 vector-scalar
vector-binary128 P9 3000 HOP N N -1 -1 54 vector-scalar-v3
vector-binary16 P9 3000 HOP N N -1 -1 -1 vector-v3
event-based-branch-v3 P9 3000 HOP N N -1 -1 -1 event-based-branch
atomic-memory-operations P9 3000 HOP N N -1 -1 -1
copy-paste P9 3000 HOP N N -1 -1 -1
group-start-register 0 3000 HO N N -1 -1 -1
tm-suspend-hypervisor-assist P9_DD2_2|P9_DD2_3|P9P 3000 HV C N -1 -1 -1
tm-suspend-xer-so-bug P9_DD2_2 3000 HV C N -1 -1 -1
`
  .trim()
  .split("\n");

function row(f: CpuFeature): string {
  return [
    f.name,
    f.cpusSupported,
    f.isa,
    f.usablePrivilege,
    f.hvSupport,
    f.osSupport,
    f.hfscrBitNr,
    f.fscrBitNr,
    f.hwcapBitNr,
    ...f.dependencies,
  ].join(" ");
}

function skibootRow(line: string): string {
  const [name, cpus, isa, usable, hv, os, ...rest] = line.split(" ");
  return [name, CPUS[cpus], isa, USABLE[usable], SUPPORT[hv], SUPPORT[os], ...rest].join(" ");
}

describe("the dt-cpu-features match table is skiboot's", () => {
  it("every row, in skiboot's order", () => {
    expect(CPU_FEATURES_TABLE.map(row)).toEqual(SKIBOOT_TABLE.map(skibootRow));
  });

  it("add_cpu_feature_nodeps writes hv-support/os-support 1 for HFSCR/FSCR-enabled features", () => {
    // skiboot's prefix-instructions row (POWER10): HV_HFSCR, OS_FSCR, bits 13, 13, no hwcap
    const prefix: CpuFeature = {
      name: "prefix-instructions",
      cpusSupported: 0,
      isa: 3100,
      usablePrivilege: 7,
      hvSupport: 2,
      osSupport: 2,
      hfscrBitNr: 13,
      fscrBitNr: 13,
      hwcapBitNr: -1,
      dependencies: [],
    };
    expect(cpuFeatureCells(prefix)).toEqual([
      ["isa", 3100],
      ["usable-privilege", 7],
      ["hv-support", 1],
      ["hfscr-bit-nr", 13],
      ["os-support", 1],
      ["fscr-bit-nr", 13],
    ]);
  });

  it("a PVR that is not a POWER9 Nimbus DD2.0-2.3 is refused as skiboot would assert", () => {
    const chip = (pvr: number) => ({ ...chipById("dd2.3"), pvr });
    expect(() => cpuFeatureCpuMask(chip(0x004d0200))).toThrow("PVR 0x4d0200 is not a POWER9 (type 0x4e)");
    expect(() => cpuFeatureCpuMask(chip(0x004e2202))).toThrow(
      "PVR 0x4e2202: only POWER9 Nimbus DD2.x is modelled (skiboot asserts otherwise)",
    );
    expect(() => cpuFeatureCpuMask(chip(0x004e0102))).toThrow(
      "PVR 0x4e0102: only POWER9 Nimbus DD2.x is modelled (skiboot asserts otherwise)",
    );
    expect(() => cpuFeatureCpuMask(chip(0x004e0204))).toThrow(
      "PVR 0x4e0204: unknown POWER9 DD2.4 (skiboot asserts)",
    );
    expect(cpuFeatureCpuMask(chip(0x004e0201))).toBe(P9_DD2_0_1);
  });
});

describe("the stop-api's registers and their scope are libpore's", () => {
  it("a core-scope register set on one thread is restored on its siblings, a thread-scope one only on it", () => {
    // transcribed from skiboot libpore/p9_stop_api.C (the P9 list of 2020): SPR number, thread scope
    const LIBPORE: [number, boolean][] = [
      [304, true], // HSPRG0
      [313, false], // HRMOR
      [318, true], // LPCR
      [337, false], // HMEER
      [850, true], // LDBAR
      [855, true], // PSSCR
      [884, false], // PMCR
      [1008, false], // HID
      [2000, true], // MSR
      [180, true], // DAWR
    ];
    const { opal, topology } = bootOpal({
      machine: p9Machine(chipById("dd2.3")),
      firmware: FIRMWARE_VERSIONS["2020"],
    });
    const [t0, t1] = topology.threads;
    expect(t1.coreId).toBe(t0.coreId);
    for (const [sprn] of LIBPORE) expect(opal.opalSlwSetReg(t0.pir, sprn, 0x1234n)).toBe(0);
    const seenOnSibling = opal.savedSprs(t1.pir).map((r) => r.sprn);
    const seenOnSelf = opal.savedSprs(t0.pir).map((r) => r.sprn);
    expect(seenOnSelf).toEqual(LIBPORE.map(([n]) => n).sort((a, b) => a - b));
    expect(seenOnSibling).toEqual(
      LIBPORE.filter(([, thread]) => !thread)
        .map(([n]) => n)
        .sort((a, b) => a - b),
    );
  });
});
