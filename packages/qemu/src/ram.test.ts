// Guest RAM with KVM's dirty log (linux: virt/kvm/kvm_main.c mark_page_dirty, KVM_GET_DIRTY_LOG;
// qemu: migration/ram.c migration_bitmap_sync): every store marks the 4 KiB pages it touches.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TARGET_PAGE_SIZE } from "./migration/savevm.js";
import { GuestRam } from "./ram.js";

const PAGE = TARGET_PAGE_SIZE;

describe("GuestRam", () => {
  it("marks the pages each store touches, a store across a boundary both", () => {
    const ram = new GuestRam(16 * PAGE);
    ram.write8(3 * PAGE + 5, 1);
    ram.write32(5 * PAGE - 2, 0x01020304); // pages 4 and 5
    ram.write64(7 * PAGE - 8, 1n); // page 6 only: its last 8 bytes
    ram.write64(9 * PAGE - 7, 1n); // pages 8 and 9
    ram.load(11 * PAGE - 1, new Uint8Array(2)); // pages 10 and 11
    ram.load(13 * PAGE, new Uint8Array(0)); // nothing
    expect(ram.writtenPages()).toEqual([3, 4, 5, 6, 8, 9, 10, 11]);
    expect(ram.isWritten(6)).toBe(true);
    expect(ram.isWritten(7)).toBe(false);
    expect(ram.isWritten(13)).toBe(false);
  });

  it("logs dirty pages only while dirty logging is on, each sync handing out and clearing them", () => {
    const ram = new GuestRam(16 * PAGE);
    ram.write8(PAGE, 1);
    expect(ram.syncDirtyLog()).toEqual([]);
    ram.startDirtyLog();
    ram.write32(9 * PAGE, 1);
    ram.write8(2 * PAGE, 1);
    ram.write8(2 * PAGE + 1, 1);
    expect(ram.syncDirtyLog()).toEqual([2, 9]);
    expect(ram.syncDirtyLog()).toEqual([]);
    ram.write64(4 * PAGE, 1n);
    ram.stopDirtyLog();
    expect(ram.syncDirtyLog()).toEqual([]);
    ram.write8(5 * PAGE, 1);
    expect(ram.syncDirtyLog()).toEqual([]);
    // starting again forgets what an earlier log had not handed out
    ram.startDirtyLog();
    ram.write8(6 * PAGE, 1);
    ram.stopDirtyLog();
    ram.startDirtyLog();
    expect(ram.syncDirtyLog()).toEqual([]);
    expect(ram.writtenPages()).toEqual([1, 2, 4, 5, 6, 9]);
  });

  it("marks every page a fill (memset) covers, and dirty-logs a later store to a page it marked", () => {
    const ram = new GuestRam(16 * PAGE);
    ram.fill(2 * PAGE + 100, 3 * PAGE, 0);
    ram.fill(9 * PAGE, 0, 0xff);
    expect(ram.writtenPages()).toEqual([2, 3, 4, 5]);
    ram.startDirtyLog();
    ram.write32(5 * PAGE + 8, 1);
    ram.write32(5 * PAGE + 12, 1);
    expect(ram.syncDirtyLog()).toEqual([5]);
    ram.write8(5 * PAGE, 1);
    expect(ram.syncDirtyLog()).toEqual([5]);
    ram.stopDirtyLog();
    ram.fill(7 * PAGE, 4, 0x5a);
    expect(ram.read32(7 * PAGE, false)).toBe(0x5a5a5a5a);
    expect(ram.writtenPages()).toEqual([2, 3, 4, 5, 7]);
  });

  it("reads a page back byte for byte as the guest stored it", () => {
    const ram = new GuestRam(4 * PAGE);
    ram.write32(2 * PAGE, 0x11223344, false);
    ram.write32(2 * PAGE + 4, 0x55667788, true);
    ram.write8(3 * PAGE - 1, 0xee);
    const page = ram.readPage(2);
    expect([...page.subarray(0, 8)]).toEqual([0x11, 0x22, 0x33, 0x44, 0x88, 0x77, 0x66, 0x55]);
    expect(page[PAGE - 1]).toBe(0xee);
    expect(page.length).toBe(PAGE);
    expect(ram.readPage(0).every((b) => b === 0)).toBe(true);
  });

  it("stores little-endian by default, marks nothing for an empty load or fill anywhere in a page, and reads the last page", () => {
    const ram = new GuestRam(4 * PAGE);
    ram.write32(PAGE, 0x11223344);
    ram.write64(PAGE + 8, 0x0102030405060708n);
    expect([...ram.readPage(1).subarray(0, 4)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect([...ram.readPage(1).subarray(8, 16)]).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    ram.load(2 * PAGE + 5, new Uint8Array(0));
    ram.fill(3 * PAGE + 7, 0, 0xff);
    expect(ram.writtenPages()).toEqual([1]);
    ram.write8(4 * PAGE - 1, 0x5a);
    const last = ram.readPage(3);
    expect(last[PAGE - 1]).toBe(0x5a);
    expect(last.length).toBe(PAGE);
  });

  it("reads and tracks pages past 2 GiB", () => {
    const ram = new GuestRam(3 * 2 ** 30);
    const page = (2.5 * 2 ** 30) / PAGE;
    ram.write32(page * PAGE, 0xcafef00d, false);
    expect(ram.isWritten(page)).toBe(true);
    expect(ram.writtenPages()).toEqual([page]);
    expect([...ram.readPage(page).subarray(0, 4)]).toEqual([0xca, 0xfe, 0xf0, 0x0d]);
  });

  it("answers false for a page number outside RAM or not a page number", () => {
    const ram = new GuestRam(16 * PAGE);
    ram.fill(0, 16 * PAGE, 1);
    expect(ram.isWritten(15)).toBe(true);
    for (const p of [16, 32, 2 ** 32, -1, 1.5, Number.NaN]) expect(ram.isWritten(p)).toBe(false);
  });

  it("tracks written and dirty pages as a set of page numbers would (property)", () => {
    const size = 200 * PAGE;
    const op = fc.oneof(
      fc.record({ k: fc.constant("w8" as const), addr: fc.nat({ max: size - 1 }) }),
      fc.record({ k: fc.constant("w32" as const), addr: fc.nat({ max: size - 4 }) }),
      fc.record({ k: fc.constant("w64" as const), addr: fc.nat({ max: size - 8 }) }),
      fc.record({
        k: fc.constant("fill" as const),
        addr: fc.nat({ max: size - 1 }),
        len: fc.nat({ max: 5 * PAGE }),
      }),
      fc.constant({ k: "start" as const }),
      fc.constant({ k: "stop" as const }),
      fc.constant({ k: "sync" as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const ram = new GuestRam(size);
        const written = new Set<number>();
        let dirty: Set<number> | null = null;
        const touch = (addr: number, len: number) => {
          for (let p = Math.floor(addr / PAGE); p <= Math.floor((addr + len - 1) / PAGE); p++) {
            written.add(p);
            dirty?.add(p);
          }
        };
        const sorted = (x: Iterable<number>) => [...x].sort((a, b) => a - b);
        for (const o of ops) {
          if (o.k === "w8") {
            ram.write8(o.addr, 1);
            touch(o.addr, 1);
          } else if (o.k === "w32") {
            ram.write32(o.addr, 1);
            touch(o.addr, 4);
          } else if (o.k === "w64") {
            ram.write64(o.addr, 1n);
            touch(o.addr, 8);
          } else if (o.k === "fill") {
            const len = Math.min(o.len, size - o.addr);
            ram.fill(o.addr, len, 7);
            if (len > 0) touch(o.addr, len);
          } else if (o.k === "start") {
            ram.startDirtyLog();
            dirty = new Set();
          } else if (o.k === "stop") {
            ram.stopDirtyLog();
            dirty = null;
          } else {
            expect(ram.syncDirtyLog()).toEqual(dirty === null ? [] : sorted(dirty));
            dirty?.clear();
          }
        }
        expect(ram.writtenPages()).toEqual(sorted(written));
        for (let p = 0; p < 200; p++) expect(ram.isWritten(p)).toBe(written.has(p));
      }),
    );
  });
});
