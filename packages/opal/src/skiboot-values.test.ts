// The firmware's constants and its dt-cpu-features nodes pinned to skiboot's own values, written
// out here from the skiboot sources (not from this package): include/opal-api.h (return codes,
// tokens, idle-state flags, PSSCR fields), libpore/p9_stop_api.H (stop-api registers) and
// core/cpufeatures.c (cpu_features_table and add_cpu_feature_nodeps, which decide what node each
// feature gets). These tables are transcribed by hand from those files, not produced by a tool.
import { decodeDtb } from "@stopsim/devicetree";
import { chipById } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import * as opal from "./index.js";
import { p9Machine } from "./test-helpers/machine.js";

/** skiboot include/opal-api.h: return codes. */
const SKIBOOT_RETURN_CODES: Record<string, number> = {
  OPAL_SUCCESS: 0,
  OPAL_PARAMETER: -1,
  OPAL_BUSY: -2,
  OPAL_PARTIAL: -3,
  OPAL_CONSTRAINED: -4,
  OPAL_CLOSED: -5,
  OPAL_HARDWARE: -6,
  OPAL_UNSUPPORTED: -7,
  OPAL_PERMISSION: -8,
  OPAL_NO_MEM: -9,
  OPAL_RESOURCE: -10,
  OPAL_INTERNAL_ERROR: -11,
  OPAL_BUSY_EVENT: -12,
  OPAL_HARDWARE_FROZEN: -13,
  OPAL_WRONG_STATE: -14,
  OPAL_ASYNC_COMPLETION: -15,
  OPAL_EMPTY: -16,
};

/** skiboot include/opal-api.h: tokens, OpalCheckTokenStatus, idle-state flags and PSSCR fields. */
const SKIBOOT_API: Record<string, number | bigint> = {
  OPAL_TEST: 0,
  OPAL_CHECK_TOKEN: 80,
  OPAL_CONFIG_CPU_IDLE_STATE: 99,
  OPAL_SLW_SET_REG: 100,
  OPAL_TOKEN_ABSENT: 0,
  OPAL_TOKEN_PRESENT: 1,
  OPAL_PM_DEC_STOP: 0x00000001,
  OPAL_PM_TIMEBASE_STOP: 0x00000002,
  OPAL_PM_LOSE_USER_CONTEXT: 0x00001000,
  OPAL_PM_LOSE_HYP_CONTEXT: 0x00002000,
  OPAL_PM_LOSE_FULL_CONTEXT: 0x00004000,
  OPAL_PM_NAP_ENABLED: 0x00010000,
  OPAL_PM_SLEEP_ENABLED: 0x00020000,
  OPAL_PM_WINKLE_ENABLED: 0x00040000,
  OPAL_PM_SLEEP_ENABLED_ER1: 0x00080000,
  OPAL_PM_STOP_INST_FAST: 0x00100000,
  OPAL_PM_STOP_INST_DEEP: 0x00200000,
  OPAL_USE_PMICR: 0x00800000,
  OPAL_PM_PSSCR_RL_MASK: 0x0000000fn,
  OPAL_PM_PSSCR_MTL_MASK: 0x000000f0n,
  OPAL_PM_PSSCR_TR_MASK: 0x00000300n,
  OPAL_PM_PSSCR_EC: 0x00100000n,
  OPAL_PM_PSSCR_ESL: 0x00200000n,
  OPAL_PM_PSSCR_MASK: 0x003003ffn,
  // libpore/p9_stop_api.H CpuReg_t: SPR numbers (and the stop-api's code for the MSR)
  P9_STOP_SPR_DAWR: 180,
  P9_STOP_SPR_HSPRG0: 304,
  P9_STOP_SPR_HRMOR: 313,
  P9_STOP_SPR_LPCR: 318,
  P9_STOP_SPR_HMEER: 337,
  P9_STOP_SPR_LDBAR: 850,
  P9_STOP_SPR_PSSCR: 855,
  P9_STOP_SPR_PMCR: 884,
  P9_STOP_SPR_HID: 1008,
  P9_STOP_SPR_MSR: 2000,
};

/**
 * The /cpus/ibm,powerpc-cpu-features nodes skiboot writes for a POWER9 DD2.2 (CPU_P9_DD2_2), in
 * table order: cpu_features_table filtered by the CPU bit, each entry's cells as
 * add_cpu_feature_nodeps writes them (hv-support only for USABLE_HV and hv_support != HV_NONE,
 * os-support only for USABLE_OS and os_support != OS_NONE, hwcap-bit-nr only for USABLE_PR;
 * PPC_BITLSHIFT(63 - n) = n) and the dependencies resolved to names.
 */
const SKIBOOT_P9_DD22_FEATURES = `
big-endian isa=0 usable-privilege=7 hv-support=0 os-support=0
little-endian isa=0 usable-privilege=7 hv-support=0 os-support=0
hypervisor isa=0 usable-privilege=4 hv-support=0
interrupt-facilities isa=0 usable-privilege=6 hv-support=0 os-support=0
smt isa=0 usable-privilege=7 hv-support=0 os-support=0 hwcap-bit-nr=14
program-priority-register isa=0 usable-privilege=7
virtual-page-class-key-protection isa=0 usable-privilege=7 hv-support=0 os-support=0
strong-access-ordering isa=0 usable-privilege=7 hv-support=0 os-support=0
no-execute isa=0 usable-privilege=6 hv-support=0 os-support=0
cache-inhibited-large-page isa=0 usable-privilege=6 hv-support=0 os-support=0
debug-facilities isa=0 usable-privilege=6 hv-support=0 os-support=0
come-from-address-register isa=0 usable-privilege=6 hv-support=0 os-support=0 dependencies=debug-facilities
branch-tracing isa=0 usable-privilege=6 hv-support=0 os-support=0 dependencies=debug-facilities
floating-point isa=0 usable-privilege=7 hv-support=0 hfscr-bit-nr=0 os-support=0 hwcap-bit-nr=27
vector isa=0 usable-privilege=7 hv-support=0 hfscr-bit-nr=1 os-support=0 hwcap-bit-nr=28 dependencies=floating-point
vector-scalar isa=0 usable-privilege=7 hv-support=0 os-support=0 hwcap-bit-nr=7 dependencies=vector
vector-crypto isa=0 usable-privilege=7 hwcap-bit-nr=57 dependencies=vector
quadword-load-store isa=0 usable-privilege=7
decimal-integer isa=0 usable-privilege=7
decimal-floating-point isa=0 usable-privilege=7 hwcap-bit-nr=10 dependencies=floating-point
data-stream-control-register isa=0 usable-privilege=7 hv-support=0 hfscr-bit-nr=2 os-support=0 fscr-bit-nr=2 hwcap-bit-nr=61
branch-history-rolling-buffer isa=0 usable-privilege=7 hv-support=0 hfscr-bit-nr=4 os-support=0
event-based-branch isa=0 usable-privilege=7 hv-support=0 hfscr-bit-nr=7 os-support=0 fscr-bit-nr=7 hwcap-bit-nr=60
target-address-register isa=0 usable-privilege=7 hv-support=0 hfscr-bit-nr=8 os-support=0 fscr-bit-nr=8 hwcap-bit-nr=58
control-register isa=0 usable-privilege=6 hv-support=0 os-support=0
processor-utilization-of-resources-register isa=0 usable-privilege=6 hv-support=0 os-support=0
mmu-radix isa=3000 usable-privilege=6 hv-support=0 os-support=0
mmu-hash-v3 isa=3000 usable-privilege=6 hv-support=0 os-support=0
wait-v3 isa=3000 usable-privilege=7
idle-stop isa=3000 usable-privilege=6 hv-support=0 os-support=0
hypervisor-virtualization-interrupt isa=3000 usable-privilege=4 hv-support=0
machine-check-power9 isa=3000 usable-privilege=6 hv-support=0 os-support=0
performance-monitor-power9 isa=3000 usable-privilege=6 hv-support=0 os-support=0
system-call-vectored isa=3000 usable-privilege=3 os-support=0 fscr-bit-nr=12 hwcap-bit-nr=52
processor-control-facility-v3 isa=3000 usable-privilege=6 hv-support=0 hfscr-bit-nr=10
pc-relative-addressing isa=3000 usable-privilege=7
timer-facilities isa=0 usable-privilege=6
timer-facilities-v3 isa=3000 usable-privilege=6 dependencies=timer-facilities
random-number-generator isa=3000 usable-privilege=7 hwcap-bit-nr=53
fixed-point-v3 isa=3000 usable-privilege=7
decimal-integer-v3 isa=3000 usable-privilege=7 dependencies=fixed-point-v3,decimal-integer
floating-point-v3 isa=3000 usable-privilege=7 dependencies=floating-point
decimal-floating-point-v3 isa=3000 usable-privilege=7 dependencies=floating-point-v3,decimal-floating-point
vector-v3 isa=3000 usable-privilege=7 dependencies=vector
vector-scalar-v3 isa=3000 usable-privilege=7 dependencies=vector-v3,vector-scalar
vector-binary128 isa=3000 usable-privilege=7 hwcap-bit-nr=54 dependencies=vector-scalar-v3
vector-binary16 isa=3000 usable-privilege=7 dependencies=vector-v3
event-based-branch-v3 isa=3000 usable-privilege=7 dependencies=event-based-branch
atomic-memory-operations isa=3000 usable-privilege=7
copy-paste isa=3000 usable-privilege=7
tm-suspend-hypervisor-assist isa=3000 usable-privilege=4 hv-support=0
tm-suspend-xer-so-bug isa=3000 usable-privilege=4 hv-support=0
`
  .trim()
  .split("\n");

/** Each feature node of a host DTB as one line in the format above (phandles resolved to names). */
function featureLines(dtb: Uint8Array): string[] {
  const node = decodeDtb(dtb).requireNode("/cpus/ibm,powerpc-cpu-features");
  const byPhandle = new Map(node.children.map((c) => [c.phandle, c.name]));
  return node.children.map((f) => {
    const cells = f.properties
      .filter((p) => p.name !== "phandle")
      .map((p) =>
        p.name === "dependencies"
          ? `dependencies=${p
              .asU32Array()
              .map((h) => byPhandle.get(h))
              .join(",")}`
          : `${p.name}=${p.asU32Array().join(",")}`,
      );
    return [f.name, ...cells].join(" ");
  });
}

describe("OPAL API values are skiboot's", () => {
  it("every return code has skiboot's value and its name in OPAL_RC_NAMES", () => {
    const exported = opal as unknown as Record<string, unknown>;
    for (const [name, value] of Object.entries(SKIBOOT_RETURN_CODES)) {
      expect([name, exported[name]]).toEqual([name, value]);
      expect(opal.OPAL_RC_NAMES[value]).toBe(name);
    }
    expect(Object.keys(opal.OPAL_RC_NAMES).length).toBe(Object.keys(SKIBOOT_RETURN_CODES).length);
  });

  it("tokens, idle-state flags, PSSCR fields and stop-api registers have skiboot's values", () => {
    const exported = opal as unknown as Record<string, unknown>;
    for (const [name, value] of Object.entries(SKIBOOT_API))
      expect([name, exported[name]]).toEqual([name, value]);
    // the field helpers place a value in its field and mask it there (OPAL_PM_PSSCR_RL/MTL/TR)
    expect(opal.OPAL_PM_PSSCR_RL(0x13)).toBe(0x3n);
    expect(opal.OPAL_PM_PSSCR_MTL(0x13)).toBe(0x30n);
    expect(opal.OPAL_PM_PSSCR_TR(0x7)).toBe(0x300n);
  });

  it("OPAL_TEST answers opal_test_func's magic and a bad token answers OPAL_PARAMETER (-1)", () => {
    const { opal: fw } = opal.bootOpal({
      machine: p9Machine(chipById("dd2.2")),
      firmware: opal.FIRMWARE_VERSIONS["2020"],
    });
    expect(fw.call(0, 0)).toBe(0xfeedf00dn); // skiboot core/opal.c opal_test_func
    expect(fw.call(3)).toBe(-1n); // OPAL_RTC_READ: not registered by this model
    expect(fw.call(80, 100)).toBe(1n); // OPAL_CHECK_TOKEN(OPAL_SLW_SET_REG) = OPAL_TOKEN_PRESENT
  });
});

describe("dt-cpu-features nodes are the ones skiboot writes", () => {
  it("a POWER9 DD2.2 gets exactly skiboot's 52 nodes with skiboot's cells, in table order", () => {
    const dtb = opal.buildHostDtb({
      machine: p9Machine(chipById("dd2.2")),
      firmware: opal.FIRMWARE_VERSIONS["2020"],
    });
    expect(featureLines(dtb)).toEqual(SKIBOOT_P9_DD22_FEATURES);
  });

  it("DD2.3 drops tm-suspend-xer-so-bug (CPU_P9_DD2_2 only); DD2.0/2.1 also drop the TM assist", () => {
    const lines = (dd: string) =>
      featureLines(
        opal.buildHostDtb({ machine: p9Machine(chipById(dd)), firmware: opal.FIRMWARE_VERSIONS["2020"] }),
      );
    const without = (...names: string[]) =>
      SKIBOOT_P9_DD22_FEATURES.filter((l) => !names.includes(l.split(" ")[0]));
    expect(lines("dd2.3")).toEqual(without("tm-suspend-xer-so-bug"));
    expect(lines("dd2.1")).toEqual(without("tm-suspend-xer-so-bug", "tm-suspend-hypervisor-assist"));
    expect(lines("dd2.0")).toEqual(without("tm-suspend-xer-so-bug", "tm-suspend-hypervisor-assist"));
  });
});
