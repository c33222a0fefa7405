// The XIVE's sources, routing and event queues (xive.ts) against QEMU hw/intc/xive.c
// (xive_router_notify, xive_router_end_notify, xive_end_enqueue, xive_source_esb_read/_write),
// hw/intc/spapr_xive.c (two 64 KiB ESB pages per source) and skiboot hw/xive.c (sources start
// off, PQ 01, until Linux unmasks them; one escalation per VP on POWER9).
import { describe, expect, it } from "vitest";
import { Memory } from "../memory.js";
import { lines } from "../test-helpers/xive-lines.js";
import { XiveError } from "./esb.js";
import {
  priorityToIpb,
  TM_IPB,
  TM_QW1_OS,
  TM_QW3_HV_PHYS,
  XIVE_ESB_GET,
  XIVE_ESB_LOAD_EOI,
  XIVE_ESB_OFF,
  XIVE_ESB_PENDING,
  XIVE_ESB_QUEUED,
  XIVE_ESB_RESET,
  XIVE_ESB_SET_PQ_00,
  XIVE_ESB_SET_PQ_11,
} from "./regs.js";
import { TM_SHIFT, XIVE_TM_HV_PAGE, XIVE_TM_OS_PAGE, Xive, XiveEventQueue } from "./xive.js";

/** Big-endian queue words from the start of the queue. */
const words = (q: XiveEventQueue, n: number) =>
  Array.from({ length: n }, (_, i) => q.memory.read32(q.addr + 4 * i, false));

describe("event queues (qemu: xive_end_enqueue)", () => {
  it("sizes 2^12 to 2^24 bytes, entries of 4 bytes", () => {
    const mem = new Memory(1 << 26);
    expect(new XiveEventQueue(mem, 0, 12).entries).toBe(1024);
    expect(new XiveEventQueue(mem, 1 << 24, 24).entries).toBe(1 << 22);
    expect(() => new XiveEventQueue(mem, 0, 25)).toThrow(
      "event queue size 2^25 bytes is not supported: use 12 (4 KiB) to 24",
    );
    expect(() => new XiveEventQueue(mem, 0, 12.5)).toThrow(XiveError);
    expect(() => new XiveEventQueue(mem, 0x1000, 16)).toThrow(
      "event queue at 0x1000 is not aligned to its size 0x10000",
    );
  });

  it("the generation bit flips each time the queue wraps; the data keeps 31 bits", () => {
    const mem = new Memory(1 << 20);
    const q = new XiveEventQueue(mem, 0, 12);
    for (let i = 0; i < q.entries; i++) q.enqueue(i + 1);
    expect(q.index).toBe(0);
    expect(q.generation).toBe(0);
    q.enqueue(0xffffffff);
    expect(words(q, 2)).toEqual([0x7fffffff, 0x80000002]); // generation 0 now; the old entry 2
    expect(mem.read32(4 * (q.entries - 1), false)).toBe((0x80000000 | q.entries) >>> 0);
  });
});

describe("sources", () => {
  it("start off (PQ 01) and are handed out in order from the first dynamic one until none are left", () => {
    const x = new Xive(4, 2);
    expect(Array.from(x.pq)).toEqual([XIVE_ESB_OFF, XIVE_ESB_OFF, XIVE_ESB_OFF, XIVE_ESB_OFF]);
    x.pq[2] = XIVE_ESB_RESET;
    expect(x.allocIrq()).toBe(2);
    expect(x.pq[2]).toBe(XIVE_ESB_OFF);
    expect(x.allocIrq()).toBe(3);
    expect(() => x.allocIrq()).toThrow("all 4 interrupt sources are allocated");
    const d = new Xive();
    expect([d.nrIrqs, d.allocIrq()]).toEqual([0x2000, 0x1000]);
  });

  it("every source operation names a source that exists", () => {
    const x = new Xive(16, 8);
    for (const bad of [-1, 16, 1.5]) {
      expect(() => x.trigger(bad)).toThrow(
        `interrupt source ${bad} does not exist: this XIVE has sources 0..15`,
      );
      expect(() => x.getEas(bad)).toThrow(XiveError);
      expect(() => x.esbLoad(bad, XIVE_ESB_GET)).toThrow(XiveError);
      expect(() => x.esbStore(bad, 0)).toThrow(XiveError);
      expect(() => x.pending(bad)).toThrow(XiveError);
    }
    expect(x.getEas(15)).toBeNull();
    expect(() => x.setEnd({ kind: "phys", pir: 0 }, 7, { queue: null, escalation: 16 })).toThrow(/source 16/);
  });

  it("a routing entry's priority is 0..7", () => {
    const x = new Xive(16, 8);
    const eas = (priority: number) => ({
      target: { kind: "phys", pir: 0 } as const,
      priority,
      eisn: 1,
      masked: false,
    });
    for (const p of [-1, 8])
      expect(() => x.setEas(3, eas(p))).toThrow(`priority ${p} of source 3 is out of range 0..7`);
    x.setEas(3, eas(0));
    x.setEas(4, eas(7));
    expect(x.getEas(4)?.priority).toBe(7);
    x.setEas(4, null);
    expect(x.getEas(4)).toBeNull();
  });

  it("pending: P set from the forwarded event until its EOI", () => {
    const x = new Xive(16, 8);
    x.esbLoad(1, XIVE_ESB_SET_PQ_00);
    expect(x.pending(1)).toBe(false);
    x.trigger(1);
    expect(x.pending(1)).toBe(true);
    x.trigger(1);
    expect(x.pq[1]).toBe(XIVE_ESB_QUEUED);
    expect(x.stats.coalesced).toBe(1);
    expect(x.esbLoad(1, XIVE_ESB_LOAD_EOI)).toBe(1n); // the coalesced event forwarded
    expect(x.pending(1)).toBe(true);
    expect(x.esbLoad(1, XIVE_ESB_LOAD_EOI)).toBe(0n);
    expect(x.pending(1)).toBe(false);
    expect(x.stats.notifications).toBe(2);
  });
});

describe("routing (qemu: xive_router_notify, xive_router_end_notify)", () => {
  function world() {
    const x = new Xive(64, 32);
    const mem = new Memory(1 << 22);
    const l0 = lines(0);
    const l8 = lines(8);
    const t0 = x.attachThread(l0);
    const t8 = x.attachThread(l8);
    t0.setCppr(TM_QW1_OS, 0xff);
    t8.setCppr(TM_QW3_HV_PHYS, 0xff);
    return { x, mem, l0, l8, t0, t8 };
  }

  it("an event with no routing entry, a masked one, or no END is counted and dropped", () => {
    const { x, mem, l0, t0 } = world();
    const q = new XiveEventQueue(mem, 0, 12);
    t0.pushOsContext(5, 0x00ff000000000000n);
    x.esbLoad(2, XIVE_ESB_SET_PQ_00);
    x.trigger(2); // no EAS
    x.setEas(2, { target: { kind: "nvt", nvt: 5 }, priority: 4, eisn: 9, masked: true });
    x.esbLoad(2, XIVE_ESB_SET_PQ_00);
    x.trigger(2); // masked
    x.setEas(2, { target: { kind: "nvt", nvt: 5 }, priority: 4, eisn: 9, masked: false });
    x.esbLoad(2, XIVE_ESB_SET_PQ_00);
    x.trigger(2); // no END for (nvt 5, priority 4)
    x.setEnd({ kind: "nvt", nvt: 5 }, 3, { queue: q }); // another priority's END
    x.esbLoad(2, XIVE_ESB_SET_PQ_00);
    x.trigger(2);
    x.setEnd({ kind: "phys", pir: 5 }, 4, { queue: q }); // the same number as a physical thread
    x.esbLoad(2, XIVE_ESB_SET_PQ_00);
    x.trigger(2);
    expect(x.stats).toEqual({ notifications: 5, coalesced: 0, presented: 0, backlogged: 0, escalations: 0 });
    expect(words(q, 1)).toEqual([0]);
    expect(l0.ext).toBe(false);
    expect(x.getEnd({ kind: "nvt", nvt: 5 }, 4)).toBeUndefined();
    expect(x.getEnd({ kind: "nvt", nvt: 5 }, 3)).toEqual({ queue: q, escalation: null });
  });

  it("a physical target is presented on that thread's hypervisor ring, the queue gets the EISN", () => {
    const { x, mem, l0, l8, t8 } = world();
    const q = new XiveEventQueue(mem, 0x10000, 12);
    x.setEnd({ kind: "phys", pir: 8 }, 6, { queue: q });
    x.setEas(3, { target: { kind: "phys", pir: 8 }, priority: 6, eisn: 0x1003, masked: false });
    x.esbLoad(3, XIVE_ESB_SET_PQ_00);
    x.trigger(3);
    expect(l8.hvi).toBe(true);
    expect([l8.ext, l0.ext, l0.hvi]).toEqual([false, false, false]);
    expect(t8.regs[TM_QW3_HV_PHYS + TM_IPB]).toBe(priorityToIpb(6));
    expect(words(q, 2)).toEqual([0x80001003, 0]);
    expect(x.stats.presented).toBe(1);
  });

  it("an END without a queue still presents (a notification-only END)", () => {
    const { x, l0, t0 } = world();
    t0.pushOsContext(9, 0x00ff000000000000n);
    x.setEnd({ kind: "nvt", nvt: 9 }, 2, { queue: null });
    x.setEas(4, { target: { kind: "nvt", nvt: 9 }, priority: 2, eisn: 4, masked: false });
    x.esbLoad(4, XIVE_ESB_SET_PQ_00);
    x.trigger(4);
    expect(l0.ext).toBe(true);
    expect(x.stats).toMatchObject({ presented: 1, backlogged: 0 });
  });

  it("an NVT dispatched nowhere keeps each priority in its backlog; without an escalation nothing else happens", () => {
    const { x, mem, l0, l8 } = world();
    const nvt = { kind: "nvt", nvt: 0x20 } as const;
    x.setEnd(nvt, 1, { queue: new XiveEventQueue(mem, 0, 12) });
    x.setEnd(nvt, 6, { queue: new XiveEventQueue(mem, 0x1000, 12) });
    x.setEas(5, { target: nvt, priority: 1, eisn: 5, masked: false });
    x.setEas(6, { target: nvt, priority: 6, eisn: 6, masked: false });
    for (const s of [5, 6]) {
      x.esbLoad(s, XIVE_ESB_SET_PQ_00);
      x.trigger(s);
    }
    expect(x.peekBacklog(0x20)).toBe(priorityToIpb(1) | priorityToIpb(6));
    expect(x.stats).toMatchObject({ backlogged: 2, escalations: 0, presented: 0 });
    expect([l0.ext, l8.hvi]).toEqual([false, false]);
    expect(x.takeBacklog(0x20)).toBe(0x42);
    expect(x.peekBacklog(0x20)).toBe(0);
    expect(x.takeBacklog(0x21)).toBe(0);
  });

  it("attaching a thread twice returns its context; an unknown PIR is refused", () => {
    const { x, t0 } = world();
    expect(x.attachThread(lines(0))).toBe(t0);
    expect(x.tctx(8).pir).toBe(8);
    expect(() => x.tctx(3)).toThrow("no thread context for PIR 3: attach the thread first");
  });
});

describe("MMIO pages (qemu: hw/intc/spapr_xive.c, xive_source_esb_read/_write)", () => {
  it("trigger page: any store triggers, a load reads all ones; management page: ESB loads and stores", () => {
    const x = new Xive(16, 8);
    const esb = x.esbRegion();
    const trig = (lisn: number) => lisn << 17;
    const mgmt = (lisn: number) => (lisn << 17) | (1 << 16);
    esb.store(mgmt(3) + XIVE_ESB_SET_PQ_00, 8, 0n, 0);
    expect(x.pq[3]).toBe(XIVE_ESB_RESET);
    esb.store(trig(3) + 0x10, 8, 0n, 0);
    expect(x.pq[3]).toBe(XIVE_ESB_PENDING);
    expect(esb.load(trig(3), 8, 0)).toBe(0xffffffffffffffffn);
    expect(x.pq[3]).toBe(XIVE_ESB_PENDING); // a trigger-page load changes nothing
    expect(esb.load(mgmt(3) + XIVE_ESB_GET, 8, 0)).toBe(BigInt(XIVE_ESB_PENDING));
    esb.store(mgmt(3), 8, 0n, 0); // management page offset 0: a trigger as well
    expect(x.pq[3]).toBe(XIVE_ESB_QUEUED);
    expect(esb.load(mgmt(3) + XIVE_ESB_SET_PQ_11, 8, 0)).toBe(BigInt(XIVE_ESB_QUEUED));
    expect(x.pq[3]).toBe(XIVE_ESB_QUEUED);
    expect(x.pq[2]).toBe(XIVE_ESB_OFF); // the neighbours untouched
    expect(x.pq[4]).toBe(XIVE_ESB_OFF);
    expect(() => esb.store(mgmt(3) + 0x400, 8, 0n, 0)).toThrow(/store-EOI facility/); // no store EOI here
  });

  it("a store to the management page's SET_PQ offset that forwards routes the event", () => {
    const x = new Xive(16, 8);
    const l = lines(0);
    const t = x.attachThread(l);
    t.setCppr(TM_QW3_HV_PHYS, 0xff);
    x.setEnd({ kind: "phys", pir: 0 }, 3, { queue: null });
    x.setEas(1, { target: { kind: "phys", pir: 0 }, priority: 3, eisn: 1, masked: false });
    x.esbStore(1, XIVE_ESB_SET_PQ_00);
    x.esbStore(1, 0); // trigger at offset 0 of the management page
    expect(l.hvi).toBe(true);
    expect(x.stats.notifications).toBe(1);
  });

  it("the TIMA region answers with the context of the accessing PIR, page by page", () => {
    const x = new Xive(16, 8);
    const a = x.attachThread(lines(1));
    const b = x.attachThread(lines(2));
    const tima = x.timaRegion();
    tima.store((XIVE_TM_OS_PAGE << TM_SHIFT) | (TM_QW1_OS + 1), 1, 4n, 2);
    expect(b.regs[TM_QW1_OS + 1]).toBe(4);
    expect(a.regs[TM_QW1_OS + 1]).toBe(0);
    expect(tima.load((XIVE_TM_HV_PAGE << TM_SHIFT) | (TM_QW1_OS + 1), 1, 2)).toBe(4n);
    expect(() => tima.load((XIVE_TM_OS_PAGE << TM_SHIFT) | TM_QW3_HV_PHYS, 1, 1)).toThrow(/use the HV page/);
    expect(tima.load((XIVE_TM_HV_PAGE << TM_SHIFT) | TM_QW3_HV_PHYS, 1, 1)).toBe(0n);
  });
});

describe("ENDs by target (qemu: an END per (NVT or thread, priority))", () => {
  it("each NVT and each physical thread has its own ENDs, even where their numbers are equal", () => {
    const x = new Xive(64, 32);
    const mem = new Memory(1 << 22);
    const t0 = x.attachThread(lines(0));
    const t1 = x.attachThread(lines(1));
    t0.setCppr(TM_QW3_HV_PHYS, 0xff);
    t1.setCppr(TM_QW3_HV_PHYS, 0xff);
    const q = [0, 1, 2, 3].map((i) => new XiveEventQueue(mem, i << 12, 12));
    x.setEnd({ kind: "phys", pir: 0 }, 6, { queue: q[0] });
    x.setEnd({ kind: "phys", pir: 1 }, 6, { queue: q[1] });
    x.setEnd({ kind: "nvt", nvt: 0 }, 6, { queue: q[2] });
    x.setEnd({ kind: "nvt", nvt: 1 }, 6, { queue: q[3] });
    const route = [
      { kind: "phys", pir: 0 },
      { kind: "phys", pir: 1 },
      { kind: "nvt", nvt: 0 },
      { kind: "nvt", nvt: 1 },
    ] as const;
    route.forEach((target, i) => {
      x.setEas(i, { target, priority: 6, eisn: 0x100 + i, masked: false });
      x.esbLoad(i, XIVE_ESB_SET_PQ_00);
      x.trigger(i);
    });
    expect(q.map((qq) => words(qq, 1)[0])).toEqual([0x80000100, 0x80000101, 0x80000102, 0x80000103]);
  });

  it("a store anywhere in the trigger page triggers, even at the management page's SET_PQ offsets", () => {
    const x = new Xive(16, 8);
    x.esbLoad(5, XIVE_ESB_SET_PQ_00);
    x.esbRegion().store((5 << 17) + XIVE_ESB_SET_PQ_00, 8, 0n, 0);
    expect(x.pq[5]).toBe(XIVE_ESB_PENDING);
    x.esbRegion().store((5 << 17) + 0x800, 8, 0n, 0);
    expect(x.pq[5]).toBe(XIVE_ESB_QUEUED);
  });
});
