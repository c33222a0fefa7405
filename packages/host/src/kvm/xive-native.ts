// KVM's XIVE native device (KVM_DEV_TYPE_XIVE) and the per-vCPU XIVE state of the entry/exit path:
// guest sources backed by hardware interrupts of the host's XIVE, guest event queues in guest
// memory, one virtual processor (NVT) per vCPU pushed on the thread at guest entry and pulled at
// exit, and a single escalation interrupt per vCPU that wakes it when it is ceded.
// linux: arch/powerpc/kvm/book3s_xive_native.c (kvmppc_xive_native_set_source,
// _set_source_config, _set_queue_config, _connect_vcpu, xive_native_esb_fault/tima_fault),
// arch/powerpc/kvm/book3s_xive.c (kvmppc_xive_push_vcpu, kvmppc_xive_pull_vcpu,
// kvmppc_xive_rearm_escalation, xive_esc_irq, kvmppc_xive_attach_escalation),
// arch/powerpc/kvm/book3s_hv.c (xive_interrupt_pending in kvmppc_vcpu_woken).
import {
  type Memory,
  type MmioRegion,
  TM_QW1_OS,
  TM_SHIFT,
  XIVE_ESB_SET_PQ_00,
  XIVE_ESB_SET_PQ_01,
  XIVE_ESB_SET_PQ_10,
  XIVE_ESB_VAL_P,
  XIVE_TM_OS_PAGE,
  XiveError,
  XiveEventQueue,
  type XiveTctx,
} from "@stopsim/isa";
import type { HostXive } from "../xive-host.js";
import * as U from "./abi.js";

/** struct kvm_ppc_xive_eq */
export interface KvmPpcXiveEq {
  flags: number;
  qshift: number;
  qaddr: bigint;
  qtoggle: number;
  qindex: number;
}

/** What the device needs of its VM and vCPUs (KvmVm / KvmVcpu). */
export interface XiveNativeVm {
  guestRealMemory(): Memory | null;
}
export interface XiveNativeVcpu {
  readonly id: number;
  /** The host CPU the vCPU runs on (its escalation interrupt is routed there). */
  readonly hostCpuId: number;
  /** kvmppc_fast_vcpu_kick when ceded (xive_esc_irq). */
  escalationWake(): void;
}

interface Source {
  hwIrq: number;
  config: bigint;
}

/** struct kvmppc_xive_vcpu: the XIVE state of one vCPU. */
export class XiveVcpuState {
  /** The saved OS ring words 0-1 (xive_saved_state.w01): CPPR 0 until the guest opens it. */
  w01 = 0n;
  pushed = false;
  /** xive_esc_on: the escalation is armed (or in flight). */
  escOn = false;
  /** irq_pending: the escalation fired while the vCPU was out. */
  irqPending = false;
  escIrq: number | null = null;
  escalations = 0;
  readonly queues = new Map<number, KvmPpcXiveEq>();

  constructor(
    readonly vcpu: XiveNativeVcpu,
    readonly server: number,
    readonly vpId: number,
  ) {}

  get savedCppr(): number {
    return Number((this.w01 >> 48n) & 0xffn);
  }
  get savedPipr(): number {
    return Number(this.w01 & 0xffn);
  }
}

/** Valid queue sizes (linux: book3s_xive_native.c xive_native_validate_queue_size). */
const QUEUE_SHIFTS = new Set([12, 16, 21, 24]);
/** The ESB pages of a source: two 64 KiB pages (trigger, management). */
const ESB_SHIFT = 17;

export class KvmXiveNativeDevice {
  readonly type = U.KVM_DEV_TYPE_XIVE;
  private readonly sources = new Map<number, Source>();
  private readonly vcpus = new Map<number, XiveVcpuState>();
  private nrServers = 2048;
  /** First NVT of the VM's block (xive_native_alloc_vp_block). */
  readonly vpBase: number;

  constructor(
    readonly vm: XiveNativeVm,
    readonly hostXive: HostXive,
    vmId: number,
    /** The device's fd number (KVM_CREATE_DEVICE). */
    readonly fd: number,
  ) {
    this.vpBase = 0x400 + vmId * 0x800;
  }

  /** kvmppc_xive_native_connect_vcpu (KVM_ENABLE_CAP KVM_CAP_PPC_IRQ_XIVE on the vCPU fd). */
  connectVcpu(vcpu: XiveNativeVcpu, server: number): number {
    if (!Number.isInteger(server) || server < 0 || server >= this.nrServers) return -U.EINVAL;
    if (this.vcpus.has(vcpu.id)) return -U.EBUSY;
    for (const s of this.vcpus.values()) if (s.server === server) return -U.EEXIST;
    this.vcpus.set(vcpu.id, new XiveVcpuState(vcpu, server, this.vpBase + server));
    return 0;
  }

  vcpuState(vcpuId: number): XiveVcpuState | undefined {
    return this.vcpus.get(vcpuId);
  }

  private byServer(server: number): XiveVcpuState | undefined {
    for (const s of this.vcpus.values()) if (s.server === server) return s;
    return undefined;
  }

  /** KVM_SET_DEVICE_ATTR. Returns 0 or a negative errno. */
  setAttr(group: number, attr: bigint, value: bigint | KvmPpcXiveEq = 0n): number {
    switch (group) {
      case U.KVM_DEV_XIVE_GRP_CTRL:
        if (attr === BigInt(U.KVM_DEV_XIVE_RESET)) return this.reset();
        if (attr === BigInt(U.KVM_DEV_XIVE_EQ_SYNC)) return 0;
        if (attr === BigInt(U.KVM_DEV_XIVE_NR_SERVERS)) {
          if (this.vcpus.size > 0) return -U.EBUSY;
          this.nrServers = Number(value);
          return 0;
        }
        return -U.ENXIO;
      case U.KVM_DEV_XIVE_GRP_SOURCE:
        return this.setSource(Number(attr), typeof value === "bigint" ? value : 0n);
      case U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG:
        return typeof value === "bigint" ? this.setSourceConfig(Number(attr), value) : -U.EINVAL;
      case U.KVM_DEV_XIVE_GRP_EQ_CONFIG:
        return typeof value === "bigint" ? -U.EINVAL : this.setQueueConfig(attr, value);
      case U.KVM_DEV_XIVE_GRP_SOURCE_SYNC:
        return this.sources.has(Number(attr)) ? 0 : -U.ENOENT;
      default:
        return -U.ENXIO;
    }
  }

  /** KVM_GET_DEVICE_ATTR for the source and queue configuration (migration). */
  getAttr(group: number, attr: bigint): bigint | KvmPpcXiveEq | number {
    if (group === U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG)
      return this.sources.get(Number(attr))?.config ?? -U.ENOENT;
    if (group === U.KVM_DEV_XIVE_GRP_EQ_CONFIG) {
      const server = Number((attr & U.KVM_XIVE_EQ_SERVER_MASK) >> U.KVM_XIVE_EQ_SERVER_SHIFT);
      const prio = Number(attr & U.KVM_XIVE_EQ_PRIORITY_MASK);
      const st = this.byServer(server);
      if (st === undefined) return -U.ENOENT;
      const eq = st.queues.get(prio);
      if (eq === undefined) return { flags: 0, qshift: 0, qaddr: 0n, qtoggle: 0, qindex: 0 };
      const hw = this.hostXive.hw.getEnd({ kind: "nvt", nvt: st.vpId }, prio)?.queue;
      return { ...eq, qtoggle: hw?.generation ?? 1, qindex: hw?.index ?? 0 };
    }
    return -U.ENXIO;
  }

  // kvmppc_xive_native_set_source: back the guest source with a host IPI, masked (PQ 01)
  private setSource(lisn: number, _flags: bigint): number {
    if (!Number.isInteger(lisn) || lisn < 0 || lisn >= 0x2000) return -U.E2BIG;
    let s = this.sources.get(lisn);
    if (s === undefined) {
      let hwIrq: number;
      try {
        hwIrq = this.hostXive.hw.allocIrq();
      } catch (e) {
        if (e instanceof XiveError) return -U.ENOSPC;
        throw e;
      }
      s = { hwIrq, config: U.KVM_XIVE_SOURCE_MASKED_MASK };
      this.sources.set(lisn, s);
    }
    this.hostXive.hw.esbLoad(s.hwIrq, XIVE_ESB_SET_PQ_01);
    this.hostXive.hw.setEas(s.hwIrq, null);
    return 0;
  }

  // kvmppc_xive_native_set_source_config -> xive_native_configure_irq(hw, vp, prio, eisn)
  private setSourceConfig(lisn: number, cfg: bigint): number {
    const s = this.sources.get(lisn);
    if (s === undefined) return -U.ENOENT;
    const prio = Number((cfg & U.KVM_XIVE_SOURCE_PRIORITY_MASK) >> U.KVM_XIVE_SOURCE_PRIORITY_SHIFT);
    const server = Number((cfg & U.KVM_XIVE_SOURCE_SERVER_MASK) >> U.KVM_XIVE_SOURCE_SERVER_SHIFT);
    const masked = (cfg & U.KVM_XIVE_SOURCE_MASKED_MASK) !== 0n;
    const eisn = Number((cfg & U.KVM_XIVE_SOURCE_EISN_MASK) >> U.KVM_XIVE_SOURCE_EISN_SHIFT);
    s.config = cfg;
    if (masked) {
      this.hostXive.hw.setEas(s.hwIrq, null);
      return 0;
    }
    const st = this.byServer(server);
    if (st === undefined) return -U.EINVAL; // kvmppc_xive_compute_vp_id: no vCPU with that server
    this.hostXive.hw.setEas(s.hwIrq, {
      target: { kind: "nvt", nvt: st.vpId },
      priority: prio,
      eisn,
      masked: false,
    });
    return 0;
  }

  // kvmppc_xive_native_set_queue_config: the END's queue in guest memory, then its escalation
  private setQueueConfig(attr: bigint, eq: KvmPpcXiveEq): number {
    const server = Number((attr & U.KVM_XIVE_EQ_SERVER_MASK) >> U.KVM_XIVE_EQ_SERVER_SHIFT);
    const prio = Number(attr & U.KVM_XIVE_EQ_PRIORITY_MASK);
    const st = this.byServer(server);
    if (st === undefined) return -U.ENOENT;
    const target = { kind: "nvt", nvt: st.vpId } as const;
    if (eq.qshift === 0) {
      // reset the queue
      st.queues.delete(prio);
      this.hostXive.hw.setEnd(target, prio, { queue: null });
      return 0;
    }
    if (!QUEUE_SHIFTS.has(eq.qshift)) return -U.EINVAL;
    const mem = this.vm.guestRealMemory();
    const addr = Number(eq.qaddr);
    if (mem === null || eq.qaddr % (1n << BigInt(eq.qshift)) !== 0n || !mem.contains(addr, 1 << eq.qshift)) {
      return -U.EINVAL; // "Invalid queue address"
    }
    const q = new XiveEventQueue(mem, addr, eq.qshift);
    if (eq.qindex !== 0 || eq.qtoggle !== 0) {
      // xive_native_set_queue_state (restore on the migration destination)
      q.index = eq.qindex & (q.entries - 1);
      q.generation = eq.qtoggle & 1;
    }
    st.queues.set(prio, { ...eq });
    if (st.escIrq === null) {
      // kvmppc_xive_attach_escalation: single escalation, an interrupt of the host routed to the
      // CPU of the vCPU (request_irq xive_esc_irq, IRQ_NO_AUTOEN: off until the first cede)
      st.escIrq = this.hostXive.requestIrq(st.vcpu.hostCpuId, () => this.escIrq(st));
    }
    this.hostXive.hw.setEnd(target, prio, { queue: q, escalation: st.escIrq });
    return 0;
  }

  private reset(): number {
    for (const s of this.sources.values()) {
      this.hostXive.hw.esbLoad(s.hwIrq, XIVE_ESB_SET_PQ_01);
      this.hostXive.hw.setEas(s.hwIrq, null);
      s.config = U.KVM_XIVE_SOURCE_MASKED_MASK;
    }
    for (const st of this.vcpus.values()) {
      for (const prio of st.queues.keys())
        this.hostXive.hw.setEnd({ kind: "nvt", nvt: st.vpId }, prio, { queue: null });
      st.queues.clear();
    }
    return 0;
  }

  /**
   * The device's mmap (xive_native_tima_fault / xive_native_esb_fault): page offset 0 is the TIMA
   * (the thread's own context), from page 4 the ESB pages of the guest's sources, which fault in
   * the pages of the hardware interrupts backing them. QEMU maps these into the guest's address
   * space.
   */
  mmap(pageOffset: number): MmioRegion | number {
    const hw = this.hostXive.hw;
    if (pageOffset === U.KVM_XIVE_TIMA_PAGE_OFFSET) {
      const tima = hw.timaRegion();
      // xive_native_tima_fault: only the OS page (2) is mapped; HW and HV pages are SIGBUS
      const osPage = (offset: number): number => {
        const page = offset >>> TM_SHIFT;
        if (page !== XIVE_TM_OS_PAGE) {
          throw new XiveError(
            `TIMA page ${page} is not mapped for a guest (xive_native_tima_fault: only the OS page ${XIVE_TM_OS_PAGE})`,
          );
        }
        return offset;
      };
      return {
        load: (offset, size, pir) => tima.load(osPage(offset), size, pir),
        store: (offset, size, value, pir) => tima.store(osPage(offset), size, value, pir),
      };
    }
    if (pageOffset === U.KVM_XIVE_ESB_PAGE_OFFSET) {
      const hwIrq = (offset: number): number => {
        const lisn = Math.floor(offset / (1 << ESB_SHIFT));
        const s = this.sources.get(lisn);
        if (s === undefined)
          throw new XiveError(
            `ESB access to guest source ${lisn}, which KVM has not set up (KVM_DEV_XIVE_GRP_SOURCE)`,
          );
        return s.hwIrq;
      };
      return {
        load: (offset) => {
          if (((offset >> 16) & 1) === 0) return 0xffffffffffffffffn;
          return hw.esbLoad(hwIrq(offset), offset & 0xfff);
        },
        store: (offset) => {
          if (((offset >> 16) & 1) === 0) hw.trigger(hwIrq(offset));
          else hw.esbStore(hwIrq(offset), offset & 0xfff);
        },
      };
    }
    return -U.EINVAL;
  }

  /** The hardware interrupt backing guest source `lisn` (for tests and diagnostics). */
  hwIrqOf(lisn: number): number | undefined {
    return this.sources.get(lisn)?.hwIrq;
  }

  // -------------------------------------------------------------------------------------------
  // Entry / exit / cede (book3s_xive.c)
  // -------------------------------------------------------------------------------------------

  /** kvmppc_xive_push_vcpu: at guest entry. */
  push(vcpuId: number, tctx: XiveTctx): void {
    const st = this.vcpus.get(vcpuId);
    if (st === undefined) return;
    tctx.pushOsContext(st.vpId, st.w01);
    st.pushed = true;
    st.irqPending = false;
    if (st.escOn && st.escIrq !== null) {
      // mask the escalation; if it already fired (P set) its handler clears xive_esc_on
      const pq = this.hostXive.hw.esbLoad(st.escIrq, XIVE_ESB_SET_PQ_01);
      if ((Number(pq) & XIVE_ESB_VAL_P) === 0) st.escOn = false;
    }
  }

  /** kvmppc_xive_pull_vcpu: at guest exit; saves the OS ring's words 0-1. */
  pull(vcpuId: number, tctx: XiveTctx): void {
    const st = this.vcpus.get(vcpuId);
    if (st === undefined || !st.pushed) return;
    tctx.pullOsContext();
    // "Fixup some of the state for the next load": LSMFB, ACK# and INC cleared, NSR left to the push
    st.w01 = tctx.w01(TM_QW1_OS) & 0xffffff00000000ffn;
    st.pushed = false;
  }

  /**
   * kvmppc_xive_rearm_escalation at H_CEDE: arm the escalation (PQ 00) so that an event for the
   * vCPU wakes it, or, when one is already in flight, set PQ 10 and abort the cede (false). The
   * model arms after the pull (the kernel arms before it): events the NVT backlog caught in between
   * count as pending, which is what arming first achieves.
   */
  rearmEscalation(vcpuId: number): boolean {
    const st = this.vcpus.get(vcpuId);
    if (st === undefined || st.escIrq === null) return true;
    if (st.escOn) {
      this.hostXive.hw.esbLoad(st.escIrq, XIVE_ESB_SET_PQ_10);
      return false;
    }
    st.escOn = true;
    this.hostXive.hw.esbLoad(st.escIrq, XIVE_ESB_SET_PQ_00);
    return this.hostXive.hw.peekBacklog(st.vpId) === 0;
  }

  /** xive_interrupt_pending (kvmppc_vcpu_woken): the escalation fired, or PIPR < CPPR when pulled. */
  interruptPending(vcpuId: number): boolean {
    const st = this.vcpus.get(vcpuId);
    if (st === undefined) return false;
    return st.irqPending || st.savedPipr < st.savedCppr || this.hostXive.hw.peekBacklog(st.vpId) !== 0;
  }

  // xive_esc_irq: the vCPU's escalation interrupt, on the host CPU it is routed to
  private escIrq(st: XiveVcpuState): void {
    st.escalations++;
    st.irqPending = true;
    st.vcpu.escalationWake();
    // the escalation is not EOIed (XIVE_IRQ_NO_EOI): it stays P until the next cede re-arms it
    st.escOn = false;
  }

  /** KVM_REG_PPC_VP_STATE get: words 0-1 of the OS ring as saved (migration). */
  getVpState(vcpuId: number): bigint | number {
    const st = this.vcpus.get(vcpuId);
    if (st === undefined) return -U.ENOENT;
    return st.w01 << 64n;
  }

  /** KVM_REG_PPC_VP_STATE set (on the migration destination, before the first run). */
  setVpState(vcpuId: number, value: bigint): number {
    const st = this.vcpus.get(vcpuId);
    if (st === undefined) return -U.ENOENT;
    st.w01 = (value >> 64n) & 0xffffffffffffffffn;
    return 0;
  }

  /** Source numbers set up, for migration (kvmppc_xive_source_reset / pre_save). */
  sourceNumbers(): number[] {
    return [...this.sources.keys()].sort((a, b) => a - b);
  }

  /** The PQ of a guest source (as QEMU reads it with an ESB load of XIVE_ESB_GET). */
  sourcePq(lisn: number): number | undefined {
    const s = this.sources.get(lisn);
    return s === undefined ? undefined : this.hostXive.hw.pq[s.hwIrq];
  }
}
