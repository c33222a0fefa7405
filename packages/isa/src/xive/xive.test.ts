import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as A from "../asm.js";
import { Memory, MemoryError } from "../memory.js";
import {
  BOOK3S_INTERRUPT_EXTERNAL,
  LPCR_LPES,
  LPCR_PECE0,
  MSR_EE,
  makePsscr,
  SPRN_LPCR,
  SPRN_PSSCR,
} from "../registers.js";
import { MSR_GUEST, setup } from "../test-helpers/setup.js";
import { lines } from "../test-helpers/xive-lines.js";
import { EXEC_STOPPED } from "../thread.js";
import { esbEoi, esbLoad, esbStore, esbTrigger, XiveError } from "./esb.js";
import {
  ipbToPipr,
  priorityToIpb,
  TM_CPPR,
  TM_IPB,
  TM_QW1_OS,
  TM_QW3_HV_PHYS,
  TM_SPC_ACK_OS_REG,
  XIVE_ESB_GET,
  XIVE_ESB_LOAD_EOI,
  XIVE_ESB_OFF,
  XIVE_ESB_PENDING,
  XIVE_ESB_QUEUED,
  XIVE_ESB_RESET,
  XIVE_ESB_SET_PQ_00,
  XIVE_ESB_SET_PQ_01,
  XIVE_ESB_SET_PQ_10,
  XIVE_ESB_STORE_EOI,
} from "./regs.js";
import {
  SPAPR_XIVE_TM_BASE,
  SPAPR_XIVE_VC_BASE,
  TM_SHIFT,
  XIVE_TM_OS_PAGE,
  Xive,
  XiveEventQueue,
} from "./xive.js";

/** Linux's reader of an event queue (sysdev/xive/common.c xive_read_eq), as the OS runs it. */
class EqReader {
  idx = 0;
  toggle = 0;
  constructor(readonly q: XiveEventQueue) {}
  read(): number {
    const cur = this.q.memory.read32(this.q.addr + 4 * this.idx, false);
    if (cur >>> 31 === this.toggle) return 0;
    this.idx = (this.idx + 1) & (this.q.entries - 1);
    if (this.idx === 0) this.toggle ^= 1;
    return cur & 0x7fffffff;
  }
}

describe("ESB PQ state machine (qemu: hw/intc/xive.c xive_esb_trigger / xive_esb_eoi)", () => {
  it("trigger: 00 forwards and becomes 10; 10 and 11 coalesce into 11; 01 stays off", () => {
    expect(esbTrigger(XIVE_ESB_RESET)).toEqual({ pq: XIVE_ESB_PENDING, notify: true });
    expect(esbTrigger(XIVE_ESB_PENDING)).toEqual({ pq: XIVE_ESB_QUEUED, notify: false });
    expect(esbTrigger(XIVE_ESB_QUEUED)).toEqual({ pq: XIVE_ESB_QUEUED, notify: false });
    expect(esbTrigger(XIVE_ESB_OFF)).toEqual({ pq: XIVE_ESB_OFF, notify: false });
  });

  it("EOI: 10 -> 00; 11 -> 10 with the coalesced event forwarded; 01 stays off", () => {
    expect(esbEoi(XIVE_ESB_PENDING)).toEqual({ pq: XIVE_ESB_RESET, notify: false });
    expect(esbEoi(XIVE_ESB_QUEUED)).toEqual({ pq: XIVE_ESB_PENDING, notify: true });
    expect(esbEoi(XIVE_ESB_RESET)).toEqual({ pq: XIVE_ESB_RESET, notify: false });
    expect(esbEoi(XIVE_ESB_OFF)).toEqual({ pq: XIVE_ESB_OFF, notify: false });
  });

  it("management page loads: LOAD_EOI returns 1 when it forwarded, GET reads, SET_PQ_xx returns the old PQ", () => {
    expect(esbLoad(XIVE_ESB_QUEUED, XIVE_ESB_LOAD_EOI)).toEqual({
      pq: XIVE_ESB_PENDING,
      notify: true,
      value: 1,
    });
    expect(esbLoad(XIVE_ESB_PENDING, XIVE_ESB_LOAD_EOI)).toEqual({
      pq: XIVE_ESB_RESET,
      notify: false,
      value: 0,
    });
    expect(esbLoad(XIVE_ESB_QUEUED, XIVE_ESB_GET)).toEqual({ pq: XIVE_ESB_QUEUED, notify: false, value: 3 });
    expect(esbLoad(XIVE_ESB_QUEUED, XIVE_ESB_SET_PQ_00)).toEqual({
      pq: XIVE_ESB_RESET,
      notify: false,
      value: 3,
    });
    expect(esbLoad(XIVE_ESB_RESET, XIVE_ESB_SET_PQ_01)).toEqual({
      pq: XIVE_ESB_OFF,
      notify: false,
      value: 0,
    });
    expect(esbLoad(XIVE_ESB_RESET, XIVE_ESB_SET_PQ_10).pq).toBe(XIVE_ESB_PENDING);
  });

  it("a store EOI without the facility and an undefined store offset are refused with the fix", () => {
    expect(() => esbStore(XIVE_ESB_PENDING, XIVE_ESB_STORE_EOI, false)).toThrow(XiveError);
    expect(() => esbStore(XIVE_ESB_PENDING, XIVE_ESB_STORE_EOI, false)).toThrow(/EOI with a load/);
    expect(() => esbStore(XIVE_ESB_PENDING, XIVE_ESB_GET, false)).toThrow(/undefined/);
    expect(esbStore(XIVE_ESB_PENDING, XIVE_ESB_STORE_EOI, true)).toEqual({
      pq: XIVE_ESB_RESET,
      notify: false,
    });
  });

  it("property: with EOIs in between, every event is forwarded exactly once or coalesced into one that is", () => {
    // a source fed any sequence of events and EOIs (EOI only while P is set, as an OS does after
    // taking the interrupt) never loses an event: each run of events between two forwarded
    // notifications ends in exactly one notification, and P is set iff a notification is outstanding
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 200 }), (ops) => {
        let pq = XIVE_ESB_RESET;
        let outstanding = 0; // notifications forwarded and not yet EOIed
        let owed = false; // an event arrived after the last notification
        for (const isEvent of ops) {
          if (isEvent) {
            const t = esbTrigger(pq);
            pq = t.pq;
            if (t.notify) outstanding++;
            else owed = true;
          } else if (outstanding > 0) {
            const t = esbEoi(pq);
            pq = t.pq;
            outstanding--;
            if (t.notify) outstanding++;
            if (t.notify) owed = false;
            else if (owed) return false; // an owed event was lost
          }
          if (outstanding > 1) return false;
          if (((pq & 2) !== 0) !== (outstanding === 1)) return false;
        }
        return true;
      }),
    );
  });

  it("property: a source switched off (PQ 01) neither forwards nor changes, whatever it is fed", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(0x000, 0x400, 0x800), { maxLength: 50 }), (offs) => {
        let pq = XIVE_ESB_OFF;
        for (const off of offs) {
          const t = off === 0x800 ? esbLoad(pq, off) : off === 0x400 ? esbLoad(pq, 0) : esbTrigger(pq);
          if (t.notify || t.pq !== XIVE_ESB_OFF) return false;
          pq = t.pq;
        }
        return true;
      }),
    );
  });
});

describe("event queues (qemu: xive_end_enqueue; linux: xive_read_eq)", () => {
  it("entries are big-endian with the generation bit; a zeroed page reads empty", () => {
    const mem = new Memory(1 << 20);
    const q = new XiveEventQueue(mem, 0x10000, 12);
    const r = new EqReader(q);
    expect(r.read()).toBe(0);
    q.enqueue(0x1234);
    expect(mem.read32(0x10000, false)).toBe(0x80001234);
    expect(r.read()).toBe(0x1234);
    expect(r.read()).toBe(0);
  });

  it("property: whatever the interleaving, the reader gets every entry once, in order, across wraps", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 1023 })), {
          maxLength: 30,
        }),
        (steps) => {
          const mem = new Memory(1 << 20);
          const q = new XiveEventQueue(mem, 0, 12); // 1024 entries
          const r = new EqReader(q);
          let next = 1;
          let expected = 1;
          for (const [writes, reads] of steps) {
            // the OS never lets more than a queue's worth be outstanding (xive_try_pick_target)
            const room = q.entries - 1 - (next - expected);
            for (let i = 0; i < Math.min(writes, room); i++) q.enqueue(next++);
            for (let i = 0; i < reads; i++) {
              const v = r.read();
              if (v === 0) break;
              if (v !== expected) return false;
              expected++;
            }
          }
          for (let v = r.read(); v !== 0; v = r.read()) {
            if (v !== expected) return false;
            expected++;
          }
          return expected === next;
        },
      ),
    );
  });

  it("refuses a queue size the hardware has not and a misaligned page", () => {
    const mem = new Memory(1 << 20);
    expect(() => new XiveEventQueue(mem, 0, 11)).toThrow(/not supported/);
    expect(() => new XiveEventQueue(mem, 0x800, 12)).toThrow(/not aligned/);
  });
});

describe("thread contexts (TIMA) and routing", () => {
  function world() {
    const xive = new Xive(0x2000, 0x1000);
    const mem = new Memory(1 << 24);
    const l0 = lines(0);
    const l1 = lines(1);
    const t0 = xive.attachThread(l0);
    const t1 = xive.attachThread(l1);
    return { xive, mem, l0, l1, t0, t1 };
  }

  it("priority and IPB helpers follow QEMU's", () => {
    expect(priorityToIpb(0)).toBe(0x80);
    expect(priorityToIpb(7)).toBe(0x01);
    expect(priorityToIpb(0xff)).toBe(0);
    expect(ipbToPipr(0)).toBe(0xff);
    expect(ipbToPipr(0x03)).toBe(6);
  });

  it("an IPI to a dispatched NVT is queued, presented on the OS ring (external line), acked and EOIed", () => {
    const { xive, mem, l0, t0 } = world();
    const q = new XiveEventQueue(mem, 0x100000, 16);
    xive.setEnd({ kind: "nvt", nvt: 0x400 }, 6, { queue: q });
    xive.setEas(0, { target: { kind: "nvt", nvt: 0x400 }, priority: 6, eisn: 16, masked: false });
    xive.esbLoad(0, XIVE_ESB_SET_PQ_00); // the OS unmasks the source
    t0.pushOsContext(0x400, 0n);
    t0.setCppr(TM_QW1_OS, 0xff); // the OS opens its CPPR
    xive.trigger(0);
    expect(l0.ext).toBe(true);
    // a second trigger before the EOI coalesces (Q), no second queue entry
    xive.trigger(0);
    const ack = t0.accept(TM_QW1_OS);
    expect(ack >> 8).toBe(0x80); // NSR: EO
    expect(ack & 0xff).toBe(6); // CPPR = the priority taken
    expect(l0.ext).toBe(false);
    const r = new EqReader(q);
    expect(r.read()).toBe(16);
    expect(r.read()).toBe(0);
    // EOI by load: Q was set, so the event is forwarded again: a second entry, presented once CPPR opens
    expect(xive.esbLoad(0, XIVE_ESB_LOAD_EOI)).toBe(1n);
    expect(r.read()).toBe(16);
    expect(l0.ext).toBe(false); // CPPR 6 masks priority 6
    t0.setCppr(TM_QW1_OS, 0xff);
    expect(l0.ext).toBe(true);
    expect(xive.stats).toMatchObject({ notifications: 2, coalesced: 1, presented: 2 });
  });

  it("push/pull: events for a pulled NVT go to its backlog and escalate; the next push presents them", () => {
    const { xive, mem, l0, l1, t0, t1 } = world();
    const nvt = { kind: "nvt", nvt: 0x401 } as const;
    const esc = xive.allocIrq();
    xive.setEas(esc, { target: { kind: "phys", pir: 1 }, priority: 7, eisn: esc, masked: false });
    xive.setEnd({ kind: "phys", pir: 1 }, 7, { queue: new XiveEventQueue(mem, 0x200000, 12) });
    xive.setEnd(nvt, 6, { queue: new XiveEventQueue(mem, 0x100000, 16), escalation: esc });
    xive.setEas(1, { target: nvt, priority: 6, eisn: 17, masked: false });
    xive.esbLoad(1, XIVE_ESB_SET_PQ_00);
    t1.setCppr(TM_QW3_HV_PHYS, 0xff); // the host opens its ring
    t0.pushOsContext(0x401, 0x00ff000000000000n); // CPPR 0xff in the saved words
    const w2 = t0.pullOsContext();
    expect(w2 >>> 0).toBe((0x80000000 | 0x401) >>> 0);
    expect(t0.osCam()).toBeNull();
    // escalation is off (PQ 01) until KVM arms it: the event only goes to the backlog
    xive.trigger(1);
    expect(xive.peekBacklog(0x401)).toBe(priorityToIpb(6));
    expect(l1.hvi).toBe(false);
    // KVM arms the escalation (SET_PQ_00) when the vCPU cedes; the next event escalates to the host
    xive.esbLoad(1, XIVE_ESB_LOAD_EOI);
    xive.esbLoad(esc, XIVE_ESB_SET_PQ_00);
    xive.trigger(1);
    expect(l1.hvi).toBe(true);
    expect(xive.stats.escalations).toBe(2);
    expect(t1.accept(TM_QW3_HV_PHYS) >> 8).toBe(0x80); // HE = PHYS
    // the escalation source stays P (no EOI: KVM's escalation IRQ is XIVE_IRQ_NO_EOI) until re-armed
    xive.esbLoad(1, XIVE_ESB_LOAD_EOI);
    xive.trigger(1);
    expect(l1.hvi).toBe(false);
    // the vCPU is dispatched again: the backlog is presented at once
    t0.pushOsContext(0x401, 0x00ff000000000000n);
    expect(t0.regs[TM_QW1_OS + TM_IPB]).toBe(priorityToIpb(6));
    expect(l0.ext).toBe(true);
    expect(xive.peekBacklog(0x401)).toBe(0);
  });

  it("a dispatched vCPU's notification wakes its thread from stop (LPCR[PECE0]) and is taken by the guest (LPES)", () => {
    const { t, sim, os } = setup();
    const xive = new Xive();
    const tctx = xive.attachThread(t);
    const mem = new Memory(1 << 24);
    xive.setEnd({ kind: "nvt", nvt: 7 }, 6, { queue: new XiveEventQueue(mem, 0x10000, 16) });
    xive.setEas(0, { target: { kind: "nvt", nvt: 7 }, priority: 6, eisn: 16, masked: false });
    xive.esbLoad(0, XIVE_ESB_SET_PQ_00);
    tctx.pushOsContext(7, 0x00ff000000000000n);
    // guest state, EE off as stop_loop runs it, LPES=1 (externals to the guest), PECE0 (wake on external)
    t.setSpr(SPRN_LPCR, LPCR_LPES | LPCR_PECE0);
    t.msr = MSR_GUEST;
    t.setSpr(SPRN_PSSCR, makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: false }));
    t.pc = 0x2000n;
    expect(t.execute(A.STOP)).toBe(EXEC_STOPPED);
    sim.runFor(100);
    xive.trigger(0);
    sim.runFor(100);
    expect(t.stopped).toBe(false);
    expect(os.last).toMatchObject({ kind: "resume", pc: 0x2004n });
    // the guest hard-enables: the external interrupt is taken at the OS level
    t.msr = MSR_GUEST | MSR_EE;
    t.execute(A.NOP);
    expect(os.vectors()).toContain(BOOK3S_INTERRUPT_EXTERNAL);
  });

  it("the MMIO view: an ESB trigger-page store, a TIMA ack through the OS page, and what is refused", () => {
    const { xive, mem, l0 } = world();
    mem.mapMmio(SPAPR_XIVE_VC_BASE, 0x2000 << 17, xive.esbRegion());
    mem.mapMmio(SPAPR_XIVE_TM_BASE, 4 << TM_SHIFT, xive.timaRegion());
    const q = new XiveEventQueue(mem, 0x100000, 16);
    xive.setEnd({ kind: "nvt", nvt: 3 }, 6, { queue: q });
    xive.setEas(2, { target: { kind: "nvt", nvt: 3 }, priority: 6, eisn: 18, masked: false });
    const trig = SPAPR_XIVE_VC_BASE + (2 << 17);
    const eoi = trig + (1 << 16);
    mem.mmioLoad(eoi + XIVE_ESB_SET_PQ_00, 8, 0);
    xive.tctx(0).pushOsContext(3, 0x00ff000000000000n);
    mem.mmioStore(trig, 8, 0n, 0); // out_be64(trig_mmio, 0): the IPI
    expect(l0.ext).toBe(true);
    const os = SPAPR_XIVE_TM_BASE + (XIVE_TM_OS_PAGE << TM_SHIFT);
    expect(mem.mmioLoad(os + TM_SPC_ACK_OS_REG, 2, 0)).toBe(0x8006n);
    mem.mmioStore(os + TM_QW1_OS + TM_CPPR, 1, 0xffn, 0);
    expect(mem.mmioLoad(eoi + XIVE_ESB_SET_PQ_00, 8, 0)).toBe(2n); // P was set
    expect(() => mem.mmioLoad(os + 0x818, 8, 0)).toThrow(/not an operation/); // pull from the OS page
    expect(() => mem.mmioLoad(0x1000, 8, 0)).toThrow(MemoryError);
    expect(() => mem.mapMmio(SPAPR_XIVE_TM_BASE, 0x1000, xive.timaRegion())).toThrow(/overlaps/);
    expect(() => xive.trigger(0x2000)).toThrow(/does not exist/);
  });
});
