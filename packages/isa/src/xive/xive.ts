// The POWER9 XIVE interrupt controller at the level the stop story needs: interrupt sources with
// their ESB pages (PQ bits), the routing table (EAS), event queues (END) in memory, virtual
// processors (NVT) with a backlog and an escalation, and the presenter's per-thread interrupt
// management area (TIMA, one XiveTctx per hardware thread) that drives the thread's external and
// hypervisor virtualization interrupt lines.
// qemu: hw/intc/xive.c (XiveSource, XiveRouter, xive_router_end_notify, xive_presenter_notify,
// XiveTCTX, xive_tm_*), hw/intc/spapr_xive.c (sPAPR ESB and TIMA addresses);
// skiboot: hw/xive.c (escalations, single escalation per VP); linux: arch/powerpc/kvm/book3s_xive.c
// (kvmppc_xive_push_vcpu / kvmppc_xive_pull_vcpu, the escalation interrupt).
import type { Memory, MmioRegion } from "../memory.js";
import { esbLoad, esbStore, esbTrigger, XiveError } from "./esb.js";
import {
  ipbToPipr,
  priorityToIpb,
  TM_CPPR,
  TM_IPB,
  TM_NSR,
  TM_PIPR,
  TM_QW1_NSR_EO,
  TM_QW1_OS,
  TM_QW1W2_OS_CAM,
  TM_QW1W2_VO,
  TM_QW2_HV_POOL,
  TM_QW3_HV_PHYS,
  TM_QW3_NSR_HE,
  TM_QW3_NSR_HE_PHYS,
  TM_SPC_ACK_HV_REG,
  TM_SPC_ACK_OS_REG,
  TM_SPC_PULL_OS_CTX,
  TM_WORD2,
  XIVE_ESB_OFF,
  XIVE_ESB_VAL_P,
  XIVE_PRIORITY_MAX,
} from "./regs.js";

/** The interrupt lines a thread context drives (an `HwThread` has both). */
export interface XiveThreadLines {
  readonly pir: number;
  setExternalInterrupt(level: boolean): void;
  setHvVirtInterrupt(level: boolean): void;
}

/** Where an END delivers: a virtual processor (NVT) or a physical thread (the hypervisor's ring). */
export type XiveTarget =
  | { readonly kind: "nvt"; readonly nvt: number }
  | { readonly kind: "phys"; readonly pir: number };

/** A routing entry (EAS): the END (target, priority) and the event data written to its queue. */
export interface XiveEas {
  readonly target: XiveTarget;
  readonly priority: number;
  /** Event State Interrupt Number: the 31-bit value the queue entry carries (Linux: its IRQ number). */
  readonly eisn: number;
  readonly masked: boolean;
}

/** sPAPR XIVE addresses (qemu: include/hw/ppc/spapr_xive.h SPAPR_XIVE_VC_BASE, SPAPR_XIVE_TM_BASE). */
export const SPAPR_XIVE_VC_BASE = 0x0006010000000000;
export const SPAPR_XIVE_TM_BASE = 0x0006030203180000;
/** TIMA pages of 64 KiB: 0 hardware, 1 hypervisor, 2 OS, 3 user (qemu: xive.h XIVE_TM_*_PAGE). */
export const XIVE_TM_HW_PAGE = 0;
export const XIVE_TM_HV_PAGE = 1;
export const XIVE_TM_OS_PAGE = 2;
export const XIVE_TM_USER_PAGE = 3;
export const TM_SHIFT = 16;

/**
 * An event queue in memory (the queue part of an END): entries of 32 bits, big-endian, the top bit
 * the generation, which flips each time the queue wraps (qemu: xive_end_enqueue). The OS reads it
 * with a toggle bit of its own (linux: sysdev/xive/common.c xive_read_eq).
 */
export class XiveEventQueue {
  index = 0;
  /** END_W1_GENERATION: 1 after configuration, so a zeroed page reads as empty. */
  generation = 1;
  readonly entries: number;

  constructor(
    readonly memory: Memory,
    readonly addr: number,
    /** log2 of the queue size in bytes (12 = 4 KiB, 16 = 64 KiB: ibm,xive-eq-sizes). */
    readonly shift: number,
  ) {
    if (!Number.isInteger(shift) || shift < 12 || shift > 24) {
      throw new XiveError(`event queue size 2^${shift} bytes is not supported: use 12 (4 KiB) to 24`);
    }
    if (addr % (1 << shift) !== 0) {
      throw new XiveError(
        `event queue at 0x${addr.toString(16)} is not aligned to its size 0x${(1 << shift).toString(16)}`,
      );
    }
    this.entries = 1 << (shift - 2);
  }

  enqueue(data: number): void {
    const word = ((this.generation << 31) | (data & 0x7fffffff)) >>> 0;
    this.memory.write32(this.addr + 4 * this.index, word, false);
    this.index = (this.index + 1) & (this.entries - 1);
    if (this.index === 0) this.generation ^= 1;
  }
}

interface End {
  queue: XiveEventQueue | null;
  /** The escalation source of a virtual processor's queue (single escalation per VP on P9). */
  escalation: number | null;
}

/** Per-thread interrupt management context (the TIMA's four rings). */
export class XiveTctx {
  readonly regs = new Uint8Array(64);
  private osOutput = false;
  private hvOutput = false;

  constructor(
    readonly xive: Xive,
    readonly lines: XiveThreadLines,
  ) {
    // the rings start with CPPR 0 (nothing presented) and no context pushed; the hypervisor's
    // physical ring is valid from reset (the host kernel opens it with its CPPR)
    this.regs[TM_QW1_OS + TM_PIPR] = 0xff;
    this.regs[TM_QW3_HV_PHYS + TM_PIPR] = 0xff;
  }

  get pir(): number {
    return this.lines.pir;
  }

  /** The NVT whose OS context is pushed here, or null. */
  osCam(): number | null {
    const w2 = this.word2(TM_QW1_OS);
    return (w2 & TM_QW1W2_VO) !== 0 ? w2 & TM_QW1W2_OS_CAM : null;
  }

  private word2(ring: number): number {
    const r = this.regs;
    const o = ring + TM_WORD2;
    return ((r[o] << 24) | (r[o + 1] << 16) | (r[o + 2] << 8) | r[o + 3]) >>> 0;
  }

  private setWord2(ring: number, v: number): void {
    const o = ring + TM_WORD2;
    this.regs[o] = v >>> 24;
    this.regs[o + 1] = (v >>> 16) & 0xff;
    this.regs[o + 2] = (v >>> 8) & 0xff;
    this.regs[o + 3] = v & 0xff;
  }

  private setOutput(ring: number, level: boolean): void {
    if (ring === TM_QW1_OS) {
      if (this.osOutput === level) return;
      this.osOutput = level;
      this.lines.setExternalInterrupt(level);
    } else {
      if (this.hvOutput === level) return;
      this.hvOutput = level;
      this.lines.setHvVirtInterrupt(level);
    }
  }

  /** The exception line of a ring (the OS ring's is the external interrupt input). */
  output(ring: number): boolean {
    return ring === TM_QW1_OS ? this.osOutput : this.hvOutput;
  }

  /** A notification at `priority` for this ring (qemu: xive_tctx_ipb_update + xive_tctx_notify). */
  ipbUpdate(ring: number, priority: number): void {
    this.regs[ring + TM_IPB] |= priorityToIpb(priority);
    this.regs[ring + TM_PIPR] = ipbToPipr(this.regs[ring + TM_IPB]);
    this.notify(ring);
  }

  /** Raise the ring's exception when its most favoured pending priority beats its CPPR. */
  notify(ring: number): void {
    const r = this.regs;
    if (r[ring + TM_PIPR] < r[ring + TM_CPPR]) {
      r[ring + TM_NSR] |= ring === TM_QW1_OS ? TM_QW1_NSR_EO : TM_QW3_NSR_HE_PHYS << 6;
      this.setOutput(ring, true);
    }
  }

  /** CPPR store (qemu: xive_tctx_set_cppr): >7 means 0xff; the line follows PIPR < CPPR. */
  setCppr(ring: number, cppr: number): void {
    const r = this.regs;
    r[ring + TM_CPPR] = cppr > XIVE_PRIORITY_MAX ? 0xff : cppr;
    if (r[ring + TM_PIPR] >= r[ring + TM_CPPR]) {
      r[ring + TM_NSR] = 0;
      this.setOutput(ring, false);
    } else {
      this.notify(ring);
    }
  }

  /**
   * The acknowledge cycle (qemu: xive_tctx_accept): lowers the line; if an exception was signalled,
   * CPPR takes PIPR, that priority's IPB bit is cleared. Returns NSR << 8 | CPPR.
   */
  accept(ring: number): number {
    const r = this.regs;
    const nsr = r[ring + TM_NSR];
    const mask = ring === TM_QW1_OS ? TM_QW1_NSR_EO : TM_QW3_NSR_HE;
    this.setOutput(ring, false);
    if ((nsr & mask) !== 0) {
      const cppr = r[ring + TM_PIPR];
      r[ring + TM_CPPR] = cppr;
      r[ring + TM_IPB] &= ~priorityToIpb(cppr) & 0xff;
      r[ring + TM_PIPR] = ipbToPipr(r[ring + TM_IPB]);
      r[ring + TM_NSR] &= ~mask & 0xff;
    }
    return (nsr << 8) | r[ring + TM_CPPR];
  }

  /** Words 0-1 of a ring (NSR CPPR IPB LSMFB ACK# INC AGE PIPR), as a 64-bit big-endian load reads them. */
  w01(ring: number): bigint {
    let v = 0n;
    for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(this.regs[ring + i]);
    return v;
  }

  /**
   * Push a virtual processor's OS context (KVM at guest entry: the saved words 0-1, then word 2 with
   * the valid bit and the NVT): the NVT's backlog (events that arrived while it was not dispatched)
   * is merged into the IPB and presented at once (qemu: xive_tm_push_os_ctx, xive_tctx_need_resend).
   */
  pushOsContext(nvt: number, w01: bigint): void {
    for (let i = 0; i < 8; i++) this.regs[TM_QW1_OS + i] = Number((w01 >> BigInt(56 - 8 * i)) & 0xffn);
    this.regs[TM_QW1_OS + TM_NSR] = 0;
    this.setWord2(TM_QW1_OS, (TM_QW1W2_VO | (nvt & TM_QW1W2_OS_CAM)) >>> 0);
    const backlog = this.xive.takeBacklog(nvt);
    this.regs[TM_QW1_OS + TM_IPB] |= backlog;
    this.regs[TM_QW1_OS + TM_PIPR] = ipbToPipr(this.regs[TM_QW1_OS + TM_IPB]);
    this.notify(TM_QW1_OS);
  }

  /**
   * Pull the OS context (TM_SPC_PULL_OS_CTX, KVM at guest exit): returns word 2 as it was and
   * invalidates it; the line drops. Read words 0-1 with `w01(TM_QW1_OS)` to save the state.
   */
  pullOsContext(): number {
    const w2 = this.word2(TM_QW1_OS);
    this.setWord2(TM_QW1_OS, w2 & ~TM_QW1W2_VO);
    this.setOutput(TM_QW1_OS, false);
    return w2;
  }

  /** A load from the TIMA page `page` at `offset` (qemu: xive_tctx_tm_read and the special ops). */
  load(page: number, offset: number, size: number): bigint {
    const hv = page === XIVE_TM_HW_PAGE || page === XIVE_TM_HV_PAGE;
    if (offset === TM_SPC_ACK_OS_REG && size === 2) return BigInt(this.accept(TM_QW1_OS));
    if (offset === TM_SPC_ACK_HV_REG && size === 2 && hv) return BigInt(this.accept(TM_QW3_HV_PHYS));
    if (offset === TM_SPC_PULL_OS_CTX && (size === 4 || size === 8) && hv)
      return BigInt(this.pullOsContext());
    if (offset < 0x40) {
      const ring = offset & 0x30;
      if (!hv && ring >= TM_QW2_HV_POOL) {
        throw new XiveError(
          `TIMA load at 0x${offset.toString(16)} of a hypervisor ring from the OS page: use the HV page`,
        );
      }
      let v = 0n;
      for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(this.regs[offset + i] ?? 0);
      return v;
    }
    throw new XiveError(
      `TIMA load of ${size} bytes at 0x${offset.toString(16)} is not an operation of page ${page}`,
    );
  }

  /** A store to the TIMA: a byte to a ring's CPPR, or the context words of a push (HV pages). */
  store(page: number, offset: number, size: number, value: bigint): void {
    const hv = page === XIVE_TM_HW_PAGE || page === XIVE_TM_HV_PAGE;
    if (size === 1 && (offset & 0xf) === TM_CPPR && offset < 0x40) {
      const ring = offset & 0x30;
      if (!hv && ring >= TM_QW2_HV_POOL) {
        throw new XiveError(`TIMA CPPR store of a hypervisor ring from the OS page: use the HV page`);
      }
      this.setCppr(ring, Number(value & 0xffn));
      return;
    }
    throw new XiveError(
      `TIMA store of ${size} bytes at 0x${offset.toString(16)} is not modelled: CPPR byte stores only (push contexts with pushOsContext)`,
    );
  }
}

/** Counters of what the controller did. */
export interface XiveStats {
  /** Events forwarded by a source's PQ (00 -> 10). */
  notifications: number;
  /** Events coalesced by PQ (already pending). */
  coalesced: number;
  /** Notifications presented to a thread at once. */
  presented: number;
  /** Notifications for a virtual processor not dispatched (kept in its backlog). */
  backlogged: number;
  /** Escalation events triggered for those. */
  escalations: number;
}

/**
 * One XIVE: sources 0..nrIrqs-1 with their PQ and routing, ENDs, NVT backlogs, thread contexts.
 */
export class Xive {
  readonly pq: Uint8Array;
  private readonly eas: (XiveEas | null)[];
  private readonly ends = new Map<string, End>();
  private readonly backlog = new Map<number, number>();
  private readonly tctxs = new Map<number, XiveTctx>();
  private nextIrq: number;
  readonly stats: XiveStats = { notifications: 0, coalesced: 0, presented: 0, backlogged: 0, escalations: 0 };

  constructor(
    readonly nrIrqs = 0x2000,
    /** First LISN `allocIrq` hands out (the ones below are the platform's: IPIs, devices). */
    firstDynamicIrq = 0x1000,
  ) {
    this.pq = new Uint8Array(nrIrqs).fill(XIVE_ESB_OFF); // "ints off" at reset
    this.eas = new Array<XiveEas | null>(nrIrqs).fill(null);
    this.nextIrq = firstDynamicIrq;
  }

  private checkIrq(lisn: number): void {
    if (!Number.isInteger(lisn) || lisn < 0 || lisn >= this.nrIrqs) {
      throw new XiveError(
        `interrupt source ${String(lisn)} does not exist: this XIVE has sources 0..${this.nrIrqs - 1}`,
      );
    }
  }

  /** Attach a hardware thread: its context (TIMA) drives the thread's interrupt lines. */
  attachThread(lines: XiveThreadLines): XiveTctx {
    const existing = this.tctxs.get(lines.pir);
    if (existing !== undefined) return existing;
    const t = new XiveTctx(this, lines);
    this.tctxs.set(lines.pir, t);
    return t;
  }

  tctx(pir: number): XiveTctx {
    const t = this.tctxs.get(pir);
    if (t === undefined) throw new XiveError(`no thread context for PIR ${pir}: attach the thread first`);
    return t;
  }

  /** A new source (xive_native_alloc_irq): its PQ is 01 (off) until configured and unmasked. */
  allocIrq(): number {
    if (this.nextIrq >= this.nrIrqs)
      throw new XiveError(`all ${this.nrIrqs} interrupt sources are allocated`);
    const lisn = this.nextIrq++;
    this.pq[lisn] = XIVE_ESB_OFF;
    return lisn;
  }

  setEas(lisn: number, eas: XiveEas | null): void {
    this.checkIrq(lisn);
    if (eas !== null && (eas.priority < 0 || eas.priority > XIVE_PRIORITY_MAX)) {
      throw new XiveError(`priority ${eas.priority} of source ${lisn} is out of range 0..7`);
    }
    this.eas[lisn] = eas;
  }

  getEas(lisn: number): XiveEas | null {
    this.checkIrq(lisn);
    return this.eas[lisn];
  }

  private endKey(target: XiveTarget, priority: number): string {
    return target.kind === "nvt" ? `n${target.nvt}/${priority}` : `p${target.pir}/${priority}`;
  }

  /** Configure the END of (target, priority): its queue (null: none) and escalation source. */
  setEnd(
    target: XiveTarget,
    priority: number,
    end: { queue: XiveEventQueue | null; escalation?: number | null },
  ): void {
    if (end.escalation != null) this.checkIrq(end.escalation);
    this.ends.set(this.endKey(target, priority), { queue: end.queue, escalation: end.escalation ?? null });
  }

  getEnd(
    target: XiveTarget,
    priority: number,
  ): { queue: XiveEventQueue | null; escalation: number | null } | undefined {
    return this.ends.get(this.endKey(target, priority));
  }

  /** An event on source `lisn` (its line, or a store to its trigger page). */
  trigger(lisn: number): void {
    this.checkIrq(lisn);
    const t = esbTrigger(this.pq[lisn]);
    this.pq[lisn] = t.pq;
    if (t.notify) this.route(lisn);
    else this.stats.coalesced++;
  }

  /** A load from the source's management page. */
  esbLoad(lisn: number, offset: number): bigint {
    this.checkIrq(lisn);
    const t = esbLoad(this.pq[lisn], offset);
    this.pq[lisn] = t.pq;
    if (t.notify) this.route(lisn);
    return BigInt(t.value);
  }

  /** A store to the source's management page (trigger, or PQ set). */
  esbStore(lisn: number, offset: number): void {
    this.checkIrq(lisn);
    const t = esbStore(this.pq[lisn], offset, false);
    this.pq[lisn] = t.pq;
    if (t.notify) this.route(lisn);
  }

  /** The events of an NVT not yet presented (IPB bits), taken by a context push. */
  takeBacklog(nvt: number): number {
    const b = this.backlog.get(nvt) ?? 0;
    this.backlog.delete(nvt);
    return b;
  }

  peekBacklog(nvt: number): number {
    return this.backlog.get(nvt) ?? 0;
  }

  /** xive_router_notify -> xive_router_end_notify: EAS lookup, enqueue, present or escalate. */
  private route(lisn: number): void {
    this.stats.notifications++;
    const eas = this.eas[lisn];
    if (eas === null || eas.masked) return; // an unrouted or masked source: the event is dropped
    const end = this.ends.get(this.endKey(eas.target, eas.priority));
    if (end === undefined) return;
    end.queue?.enqueue(eas.eisn);
    const target = eas.target;
    if (target.kind === "phys") {
      this.tctx(target.pir).ipbUpdate(TM_QW3_HV_PHYS, eas.priority);
      this.stats.presented++;
      return;
    }
    for (const t of this.tctxs.values()) {
      if (t.osCam() === target.nvt) {
        t.ipbUpdate(TM_QW1_OS, eas.priority);
        this.stats.presented++;
        return;
      }
    }
    // not dispatched: keep it in the NVT (backlog) and escalate
    this.backlog.set(target.nvt, (this.backlog.get(target.nvt) ?? 0) | priorityToIpb(eas.priority));
    this.stats.backlogged++;
    if (end.escalation !== null) {
      this.stats.escalations++;
      this.trigger(end.escalation);
    }
  }

  /**
   * The sPAPR ESB pages of every source: two 64 KiB pages per source at `lisn << 17`, the even one
   * the trigger page (any store triggers), the odd one the management page (qemu: spapr_xive.c,
   * XIVE_ESB_64K_2PAGE).
   */
  esbRegion(): MmioRegion {
    return {
      load: (offset: number) => {
        const lisn = Math.floor(offset / (1 << 17));
        if (((offset >> 16) & 1) === 0) return -1n & 0xffffffffffffffffn; // loads of the trigger page read all ones
        return this.esbLoad(lisn, offset & 0xfff);
      },
      store: (offset: number) => {
        const lisn = Math.floor(offset / (1 << 17));
        if (((offset >> 16) & 1) === 0) this.trigger(lisn);
        else this.esbStore(lisn, offset & 0xfff);
      },
    };
  }

  /** The TIMA (4 pages of 64 KiB): the access reaches the context of the thread that makes it. */
  timaRegion(): MmioRegion {
    return {
      load: (offset, size, pir) => this.tctx(pir).load(offset >>> TM_SHIFT, offset & 0xffff, size),
      store: (offset, size, value, pir) =>
        this.tctx(pir).store(offset >>> TM_SHIFT, offset & 0xffff, size, value),
    };
  }

  /** Whether source `lisn` has P set (an event in a queue, not yet EOIed). */
  pending(lisn: number): boolean {
    this.checkIrq(lisn);
    return (this.pq[lisn] & XIVE_ESB_VAL_P) !== 0;
  }
}
