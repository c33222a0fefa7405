// ESB management-page offsets (esb.ts) against QEMU hw/intc/xive.c xive_source_esb_read /
// xive_source_esb_write and linux arch/powerpc/include/asm/xive-regs.h: each offset range of a
// load and a store, at both ends of the range.
import { describe, expect, it } from "vitest";
import { esbLoad, esbStore, XiveError } from "./esb.js";
import { XIVE_ESB_OFF, XIVE_ESB_PENDING, XIVE_ESB_QUEUED, XIVE_ESB_RESET } from "./regs.js";

describe("ESB loads by offset (qemu: xive_source_esb_read)", () => {
  it("0x000-0x7ff: the load EOI, anywhere in the range", () => {
    for (const off of [0x000, 0x400, 0x7ff]) {
      expect(esbLoad(XIVE_ESB_QUEUED, off), off.toString(16)).toEqual({
        pq: XIVE_ESB_PENDING,
        notify: true,
        value: 1,
      });
      expect(esbLoad(XIVE_ESB_OFF, off)).toEqual({ pq: XIVE_ESB_OFF, notify: false, value: 0 });
    }
  });

  it("0x800-0xbff: reads PQ and leaves it", () => {
    for (const off of [0x800, 0xbff])
      expect(esbLoad(XIVE_ESB_PENDING, off), off.toString(16)).toEqual({
        pq: XIVE_ESB_PENDING,
        notify: false,
        value: 2,
      });
  });

  it("0xc00-0xfff: reads the old PQ and sets the one of the offset's bits 8-9", () => {
    expect(esbLoad(XIVE_ESB_QUEUED, 0xcff)).toEqual({ pq: XIVE_ESB_RESET, notify: false, value: 3 });
    expect(esbLoad(XIVE_ESB_RESET, 0xd00)).toEqual({ pq: XIVE_ESB_OFF, notify: false, value: 0 });
    expect(esbLoad(XIVE_ESB_OFF, 0xe80)).toEqual({ pq: XIVE_ESB_PENDING, notify: false, value: 1 });
    expect(esbLoad(XIVE_ESB_RESET, 0xfff)).toEqual({ pq: XIVE_ESB_QUEUED, notify: false, value: 0 });
  });

  it("only the offset within the 4 KiB management page counts (the page is mapped at a 64 KiB stride)", () => {
    expect(esbLoad(XIVE_ESB_PENDING, 0x10800)).toEqual({ pq: XIVE_ESB_PENDING, notify: false, value: 2 });
    expect(esbLoad(XIVE_ESB_PENDING, 0x1c00).pq).toBe(XIVE_ESB_RESET);
  });
});

describe("ESB stores by offset (qemu: xive_source_esb_write)", () => {
  it("0x000-0x3ff triggers", () => {
    for (const off of [0x000, 0x3ff]) {
      expect(esbStore(XIVE_ESB_RESET, off, false)).toEqual({ pq: XIVE_ESB_PENDING, notify: true });
      expect(esbStore(XIVE_ESB_PENDING, off, true)).toEqual({ pq: XIVE_ESB_QUEUED, notify: false });
    }
  });

  it("0x400-0x7ff is the store EOI of sources with the facility", () => {
    for (const off of [0x400, 0x7ff]) {
      expect(esbStore(XIVE_ESB_QUEUED, off, true)).toEqual({ pq: XIVE_ESB_PENDING, notify: true });
      expect(() => esbStore(XIVE_ESB_QUEUED, off, false)).toThrow(
        `ESB store EOI at offset 0x${off.toString(16)} on a source without the store-EOI facility: EOI with a load (XIVE_ESB_LOAD_EOI or XIVE_ESB_SET_PQ_00)`,
      );
    }
  });

  it("0x800-0xbff is undefined for a store", () => {
    for (const off of [0x800, 0xbff]) {
      const e = (() => {
        try {
          esbStore(XIVE_ESB_PENDING, off, true);
        } catch (err) {
          return err;
        }
        return null;
      })();
      expect(e).toBeInstanceOf(XiveError);
      expect((e as Error).name).toBe("XiveError");
      expect((e as Error).message).toBe(
        `ESB store at offset 0x${off.toString(16)} is undefined: stores go to 0x000 (trigger), 0x400 (EOI) or 0xc00-0xfff (set PQ)`,
      );
    }
  });

  it("0xc00-0xfff sets PQ from the offset and forwards nothing", () => {
    expect(esbStore(XIVE_ESB_QUEUED, 0xc00, false)).toEqual({ pq: XIVE_ESB_RESET, notify: false });
    expect(esbStore(XIVE_ESB_RESET, 0xdff, false)).toEqual({ pq: XIVE_ESB_OFF, notify: false });
    expect(esbStore(XIVE_ESB_RESET, 0xe00, false)).toEqual({ pq: XIVE_ESB_PENDING, notify: false });
    expect(esbStore(XIVE_ESB_RESET, 0xf00, false)).toEqual({ pq: XIVE_ESB_QUEUED, notify: false });
  });
});
