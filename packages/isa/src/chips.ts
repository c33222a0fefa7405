// POWER9 chip models by DD (design level).
// PVR layout follows linux: arch/powerpc/include/asm/reg.h (PVR_VER/PVR_REV) and
// skiboot: include/processor.h (PVR_TYPE_P9 = 0x004e, PVR_VERS_MAJ/PVR_VERS_MIN).

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
}

function power9(ddMajor: number, ddMinor: number): ChipModel {
  const dd = `${ddMajor}.${ddMinor}` as Power9Dd;
  // Nimbus DD2.x: PVR = 0x004e1 2 0x, revision field major in bits 8-11, minor in bits 0-7
  const pvr = ((PVR_POWER9 << 16) | 0x1000 | (ddMajor << 8) | ddMinor) >>> 0;
  return { id: `dd${dd}`, name: `POWER9 DD${dd}`, dd, ddMajor, ddMinor, pvr };
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
