// The hcall return codes pinned to linux: arch/powerpc/include/asm/hvcall.h (v5.7), the values
// PAPR gives them and both the pseries guest and KVM compare against.
import { describe, expect, it } from "vitest";
import {
  H_BUSY,
  H_CEDE,
  H_FUNCTION,
  H_HARDWARE,
  H_P2,
  H_P3,
  H_P4,
  H_P5,
  H_PARAMETER,
  H_PRIVILEGE,
  H_PROD,
  H_RESOURCE,
  H_SUCCESS,
} from "./hvcall.js";

describe("hvcall.h", () => {
  it("return codes: H_SUCCESS 0, H_BUSY 1, the errors negative", () => {
    expect([H_SUCCESS, H_BUSY, H_HARDWARE, H_FUNCTION, H_PRIVILEGE, H_PARAMETER]).toEqual([
      0, 1, -1, -2, -3, -4,
    ]);
    expect([H_RESOURCE, H_P2, H_P3, H_P4, H_P5]).toEqual([-16, -55, -56, -57, -58]);
  });

  it("the idle hcalls: H_CEDE 0xe0, H_PROD 0xe8", () => {
    expect([H_CEDE, H_PROD]).toEqual([0xe0, 0xe8]);
  });
});
