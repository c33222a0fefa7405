// POWER9 chip models by DD (design level).
// PVR layout follows linux: arch/powerpc/include/asm/reg.h (PVR_VER/PVR_REV) and
// skiboot: include/processor.h (PVR_TYPE_P9 = 0x004e, PVR_VERS_MAJ = bits 8-11, PVR_VERS_MIN =
// bits 0-7). Values checked against qemu: target/ppc/cpu-models.h
// (CPU_POWERPC_POWER9_DD20 = 0x004E1200, CPU_POWERPC_POWER9_DD22 = 0x004E1202); DD2.1 and DD2.3
// follow the same layout (0x004E1201, 0x004E1203); skiboot's external/mambo/skiboot.tcl configures
// "POWER9 DD2.3 Scale out 24 Core (ie SMT4)" with PVR 0x4e1203.

/** PVR version field of POWER9 (linux: arch/powerpc/include/asm/reg.h PVR_POWER9). */
export const PVR_POWER9 = 0x004e;

export type Power9Dd = "2.0" | "2.1" | "2.2" | "2.3";

export interface ChipModel {
  /** Short preset name used on command lines, e.g. "dd2.3". */
  readonly id: string;
  /** Human name, e.g. "POWER9 DD2.3". */
  readonly name: string;
  readonly dd: Power9Dd;
  readonly ddMajor: number;
  readonly ddMinor: number;
  /** Processor Version Register value (cpu-version in device trees). */
  readonly pvr: number;
  /** Hardware threads per core (POWER9 "Nimbus" SMT4 cores). */
  readonly threadsPerCore: number;
  /**
   * Power-saving levels the core implements (skiboot: hw/slw.c POWER9 stop states: stop0, 1, 2,
   * 4, 5, 8, 11). A requested level that is not implemented enters the deepest implemented
   * level below it (model assumption, see README).
   */
  readonly stopLevels: readonly number[];
  /** First level at which hypervisor state is lost (wake reports SRR1_WS_HVLOSS). */
  readonly hvLossLevel: number;
  /**
   * Guest (MSR[HV]=0) `stop` with PSSCR[ESL]=PSSCR[EC]=0 is unreliable on this DD level; the
   * failure mode modelled is in errata.ts. Public record: "guest stop has bugs before DD2.3".
   */
  readonly guestStopErratum: boolean;
  /** Human description of the features that differ between DD levels. */
  readonly features: readonly string[];
}

function power9(ddMajor: number, ddMinor: number): ChipModel {
  const dd = `${ddMajor}.${ddMinor}` as Power9Dd;
  // Nimbus DD2.x: PVR = 0x004e1 2 0x, revision field major in bits 8-11, minor in bits 0-7
  const pvr = ((PVR_POWER9 << 16) | 0x1000 | (ddMajor << 8) | ddMinor) >>> 0;
  const guestStopErratum = ddMajor === 2 && ddMinor < 3;
  const features = [
    "ISA v3.0B (CPU_FTR_ARCH_300)",
    "SMT4 cores",
    "stop instruction with PSSCR, levels 0-11",
    "large decrementer (56 bits with LPCR[LD])",
    guestStopErratum
      ? "guest stop (PSSCR[ESL]=PSSCR[EC]=0, MSR[HV]=0) unreliable: erratum modelled as lost wakeups"
      : "guest stop (PSSCR[ESL]=PSSCR[EC]=0, MSR[HV]=0) reliable",
  ];
  return {
    id: `dd${dd}`,
    name: `POWER9 DD${dd}`,
    dd,
    ddMajor,
    ddMinor,
    pvr,
    threadsPerCore: 4,
    stopLevels: [0, 1, 2, 4, 5, 8, 11],
    hvLossLevel: 8,
    guestStopErratum,
    features,
  };
}

export const POWER9_DD20: ChipModel = power9(2, 0);
export const POWER9_DD21: ChipModel = power9(2, 1);
export const POWER9_DD22: ChipModel = power9(2, 2);
export const POWER9_DD23: ChipModel = power9(2, 3);

export const POWER9_CHIPS: readonly ChipModel[] = [POWER9_DD20, POWER9_DD21, POWER9_DD22, POWER9_DD23];

export class UnknownChipError extends Error {
  override readonly name = "UnknownChipError";
}

/** Looks a chip model up by id ("dd2.3"), dd ("2.3") or name ("POWER9 DD2.3"). */
export function chipById(id: string): ChipModel {
  const key = id.trim().toLowerCase();
  const chip = POWER9_CHIPS.find(
    (c) => c.id === key || c.dd === key || c.name.toLowerCase() === key || `power9-${c.id}` === key,
  );
  if (!chip) {
    throw new UnknownChipError(
      `unknown chip '${id}': expected one of ${POWER9_CHIPS.map((c) => c.id).join(", ")}`,
    );
  }
  return chip;
}

/** Looks a chip model up by PVR value. */
export function chipByPvr(pvr: number): ChipModel {
  const chip = POWER9_CHIPS.find((c) => c.pvr === pvr >>> 0);
  if (!chip) {
    throw new UnknownChipError(
      `unknown PVR 0x${(pvr >>> 0).toString(16).padStart(8, "0")}: expected one of ${POWER9_CHIPS.map((c) => `0x${c.pvr.toString(16).padStart(8, "0")}`).join(", ")}`,
    );
  }
  return chip;
}

/** The power-saving level a request of `level` enters on `chip` (deepest implemented <= level). */
export function implementedStopLevel(chip: ChipModel, level: number): number {
  let best = chip.stopLevels[0];
  for (const l of chip.stopLevels) if (l <= level && l > best) best = l;
  return best;
}
