// The POWER9 chip models against their sources: the PVRs of qemu target/ppc/cpu-models.h
// (CPU_POWERPC_POWER9_DD20 0x004E1200, CPU_POWERPC_POWER9_DD22 0x004E1202) and skiboot
// external/mambo/skiboot.tcl (DD2.3: 0x4e1203), the stop levels skiboot hw/slw.c describes for
// POWER9 (stop0, 1, 2, 4, 5, 8, 11), the guest-stop erratum before DD2.3 (linuxppc-dev RFC
// "Add support for stop instruction inside KVM guest", 2020) and the look-ups by name and PVR.
import { describe, expect, it } from "vitest";
import {
  chipById,
  chipByPvr,
  implementedStopLevel,
  POWER9_CHIPS,
  POWER9_DD20,
  POWER9_DD21,
  POWER9_DD22,
  POWER9_DD23,
  PVR_POWER9,
  UnknownChipError,
} from "./chips.js";

describe("POWER9 chip models", () => {
  it("carry the PVRs QEMU and skiboot's mambo configure", () => {
    expect(PVR_POWER9).toBe(0x004e);
    expect(POWER9_CHIPS.map((c) => c.pvr)).toEqual([0x004e1200, 0x004e1201, 0x004e1202, 0x004e1203]);
    expect(POWER9_CHIPS.map((c) => [c.id, c.name, c.dd, c.ddMajor, c.ddMinor])).toEqual([
      ["dd2.0", "POWER9 DD2.0", "2.0", 2, 0],
      ["dd2.1", "POWER9 DD2.1", "2.1", 2, 1],
      ["dd2.2", "POWER9 DD2.2", "2.2", 2, 2],
      ["dd2.3", "POWER9 DD2.3", "2.3", 2, 3],
    ]);
  });

  it("are SMT4 with skiboot's POWER9 stop levels; hypervisor state is lost from stop8", () => {
    for (const c of POWER9_CHIPS) {
      expect(c.threadsPerCore).toBe(4);
      expect(c.stopLevels).toEqual([0, 1, 2, 4, 5, 8, 11]);
      expect(c.hvLossLevel).toBe(8);
    }
  });

  it("have the guest-stop erratum before DD2.3 only, and say so in their features", () => {
    expect(POWER9_CHIPS.map((c) => c.guestStopErratum)).toEqual([true, true, true, false]);
    expect(POWER9_DD22.features).toContain(
      "guest stop (PSSCR[ESL]=PSSCR[EC]=0, MSR[HV]=0) unreliable: erratum modelled as lost wakeups",
    );
    expect(POWER9_DD23.features).toContain("guest stop (PSSCR[ESL]=PSSCR[EC]=0, MSR[HV]=0) reliable");
    expect(POWER9_DD23.features).toEqual([
      "ISA v3.0B (CPU_FTR_ARCH_300)",
      "SMT4 cores",
      "stop instruction with PSSCR, levels 0-11",
      "large decrementer (56 bits with LPCR[LD])",
      "guest stop (PSSCR[ESL]=PSSCR[EC]=0, MSR[HV]=0) reliable",
    ]);
  });
});

describe("chip look-ups", () => {
  it("by id, DD level, name or power9-id, whatever the case and spaces around", () => {
    for (const key of ["dd2.1", "2.1", "POWER9 DD2.1", "power9 dd2.1", " DD2.1 ", "power9-dd2.1"]) {
      expect(chipById(key)).toBe(POWER9_DD21);
    }
    expect(chipById("dd2.0")).toBe(POWER9_DD20);
  });

  it("an unknown name lists the ids", () => {
    expect(() => chipById("dd1.0")).toThrow(
      new UnknownChipError("unknown chip 'dd1.0': expected one of dd2.0, dd2.1, dd2.2, dd2.3"),
    );
    expect(() => chipById("power9")).toThrow(UnknownChipError);
  });

  it("by PVR, as a host kernel reads it; an unknown PVR lists the known ones", () => {
    expect(chipByPvr(0x004e1202)).toBe(POWER9_DD22);
    expect(chipByPvr(0x004e1203 | 0)).toBe(POWER9_DD23);
    expect(() => chipByPvr(0x004e0100)).toThrow(
      new UnknownChipError(
        "unknown PVR 0x004e0100: expected one of 0x004e1200, 0x004e1201, 0x004e1202, 0x004e1203",
      ),
    );
    // a PVR with the top bit set is printed unsigned
    expect(() => chipByPvr(0x80000000)).toThrow(/^unknown PVR 0x80000000:/);
  });

  it("an unknown name is an UnknownChipError", () => {
    let err: unknown = null;
    try {
      chipById("x");
    } catch (e) {
      err = e;
    }
    expect((err as Error | null)?.name).toBe("UnknownChipError");
  });
});

describe("implementedStopLevel", () => {
  it("enters the deepest implemented level at or below the request", () => {
    const got = Array.from({ length: 16 }, (_, l) => implementedStopLevel(POWER9_DD23, l));
    expect(got).toEqual([0, 1, 2, 2, 4, 5, 5, 5, 8, 8, 8, 11, 11, 11, 11, 11]);
  });

  it("a chip whose shallowest level is not 0 enters that one for shallower requests", () => {
    const chip = { ...POWER9_DD23, stopLevels: [1, 4] };
    expect([0, 1, 3, 4, 9].map((l) => implementedStopLevel(chip, l))).toEqual([1, 1, 1, 4, 4]);
  });
});
