// The hcall return codes pinned to linux: arch/powerpc/include/asm/hvcall.h (v5.7), the values
// PAPR gives them and both the pseries guest and KVM compare against.
import { describe, expect, it } from "vitest";
import * as hv from "./hvcall.js";

describe("hvcall.h", () => {
  it("return codes: H_SUCCESS 0, H_BUSY 1, the errors negative", () => {
    expect([hv.H_SUCCESS, hv.H_BUSY, hv.H_HARDWARE, hv.H_FUNCTION, hv.H_PRIVILEGE, hv.H_PARAMETER]).toEqual([
      0, 1, -1, -2, -3, -4,
    ]);
    expect([hv.H_RESOURCE, hv.H_P2, hv.H_P3, hv.H_P4, hv.H_P5]).toEqual([-16, -55, -56, -57, -58]);
  });

  it("the idle hcalls: H_CEDE 0xe0, H_PROD 0xe8", () => {
    expect([hv.H_CEDE, hv.H_PROD]).toEqual([0xe0, 0xe8]);
  });

  it("the console hcalls: H_GET_TERM_CHAR 0x54, H_PUT_TERM_CHAR 0x58", () => {
    expect([hv.H_GET_TERM_CHAR, hv.H_PUT_TERM_CHAR]).toEqual([0x54, 0x58]);
  });

  it("the sPAPR XIVE hcalls run 0x3a8..0x3d0 in steps of 4 (hvcall.h; qemu: include/hw/ppc/spapr.h)", () => {
    expect([
      hv.H_INT_GET_SOURCE_INFO,
      hv.H_INT_SET_SOURCE_CONFIG,
      hv.H_INT_GET_SOURCE_CONFIG,
      hv.H_INT_GET_QUEUE_INFO,
      hv.H_INT_SET_QUEUE_CONFIG,
      hv.H_INT_GET_QUEUE_CONFIG,
      hv.H_INT_SET_OS_REPORTING_LINE,
      hv.H_INT_GET_OS_REPORTING_LINE,
      hv.H_INT_ESB,
      hv.H_INT_SYNC,
      hv.H_INT_RESET,
    ]).toEqual([0x3a8, 0x3ac, 0x3b0, 0x3b4, 0x3b8, 0x3bc, 0x3c0, 0x3c4, 0x3c8, 0x3cc, 0x3d0]);
  });

  it("the platform hcalls KVM leaves to userspace: H_RTAS 0xf000, KVMPPC_H_CAS 0xf002 (qemu: spapr.h)", () => {
    expect([hv.H_RTAS, hv.KVMPPC_H_CAS]).toEqual([0xf000, 0xf002]);
  });
});
