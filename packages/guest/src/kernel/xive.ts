// The guest kernel's XIVE exploitation-mode backend on pseries (the sPAPR XIVE of QEMU/KVM):
// found in the tree CAS handed over, queues and sources configured through the H_INT_* hcalls,
// IPIs sent by a store to the target's IPI trigger page, taken by the TIMA acknowledge cycle, the
// queue read in memory, and EOIed by a load from the ESB management page. No doorbells with XIVE.
// linux: arch/powerpc/sysdev/xive/spapr.c (xive_spapr_init, xive_get_max_prio,
// xive_spapr_populate_irq_data, xive_spapr_configure_irq, xive_spapr_configure_queue,
// xive_spapr_update_pending, xive_spapr_get_ipi), arch/powerpc/sysdev/xive/common.c
// (xive_core_init, xive_prepare_cpu, xive_setup_cpu, xive_setup_cpu_ipi, xive_cause_ipi,
// xive_get_irq, xive_scan_interrupts, xive_read_eq, xive_do_source_eoi, xive_ipi_eoi,
// xive_do_queue_eoi), arch/powerpc/platforms/pseries/smp.c (pSeries_smp_probe).
import {
  type Memory,
  TM_CPPR,
  TM_QW1_NSR_EO,
  TM_QW1_OS,
  TM_SPC_ACK_OS_REG,
  XIVE_ESB_SET_PQ_00,
  XIVE_ESB_VAL_Q,
} from "@stopsim/isa";
import {
  H_INT_GET_QUEUE_INFO,
  H_INT_GET_SOURCE_INFO,
  H_INT_SET_QUEUE_CONFIG,
  H_INT_SET_SOURCE_CONFIG,
} from "@stopsim/linux";
import type { XiveTreeInfo } from "../boot/devtree.js";
import { XIVE_EQ_ALWAYS_NOTIFY, XIVE_SRC_SET_EISN } from "../linux/papr.js";
import type { KernelConsole } from "./console.js";
import type { GuestCosts } from "./costs.js";
import { type GuestCpu, type KCode, type KOp, SYNC } from "./cpu.js";

/** The Linux IRQ number of the IPIs (one virq for every CPU's IPI: "XIVE-IPI" in /proc/interrupts). */
export const XIVE_IPI_VIRQ = 16;
/** Guest RAM for the event queues: one 64 KiB page per CPU (xive_queue_page_alloc). */
export const XIVE_QUEUE_BASE = 0x2000000;

interface XiveQueue {
  readonly addr: number;
  readonly msk: number;
  idx: number;
  toggle: number;
}

interface XiveIrqData {
  readonly hwIrq: number;
  readonly eoiPage: number;
  readonly trigPage: number;
}

/** struct xive_cpu */
interface XiveCpu {
  cppr: number;
  pendingPrio: number;
  queue: XiveQueue | null;
  ipi: XiveIrqData | null;
}

/** What the backend needs of the kernel. */
export interface XiveKernel {
  readonly console: KernelConsole;
  readonly costs: Readonly<GuestCosts>;
  ram(): Memory;
}

export class XiveSpapr {
  /** xive_irq_priority: the most favoured priority not reserved by the platform. */
  readonly priority: number;
  readonly queueShift: number;
  private readonly freeLisns: number[] = [];
  private readonly cpus = new Map<number, XiveCpu>();
  /** IPIs sent and received (stores to a trigger page, IPIs found in a queue). */
  readonly stats = { ipisSent: 0, ipisReceived: 0, spurious: 0 };

  private constructor(
    private readonly k: XiveKernel,
    readonly info: XiveTreeInfo,
    priority: number,
  ) {
    this.priority = priority;
    // of_property_for_each_u32(ibm,xive-eq-sizes): the last size, or PAGE_SHIFT (16) when offered
    let shift = 0;
    for (const s of info.eqShifts) {
      shift = s;
      if (s === 16) break;
    }
    this.queueShift = shift;
    for (const [start, count] of info.lisnRanges)
      for (let i = 0; i < count; i++) this.freeLisns.push(start + i);
  }

  /**
   * xive_spapr_init: the TIMA OS page from the node's second reg, the priorities (the most favoured
   * one the platform does not reserve), the LISN ranges, the queue size. Null when it gives up.
   */
  static init(k: XiveKernel, info: XiveTreeInfo): XiveSpapr | null {
    const con = k.console;
    // xive_get_max_prio: the highest priority not in ibm,plat-res-int-priorities
    let max = 7;
    const reserved = (p: number) => info.reservedPrios.some(([s, n]) => p >= s && p < s + n);
    while (max >= 0 && reserved(max)) max--;
    if (max < 0) {
      con.printk("err", "xive: no valid priority found in 'ibm,plat-res-int-priorities'");
      return null;
    }
    if (info.eqShifts.length === 0) {
      con.printk("err", "xive: no ibm,xive-eq-sizes");
      return null;
    }
    const x = new XiveSpapr(k, info, max);
    for (const [start, count] of info.lisnRanges) {
      con.printk("info", `xive: Using IRQ range [${start.toString(16)}-${(start + count - 1).toString(16)}]`);
    }
    con.printk("info", "xive: Interrupt handling initialized with spapr backend");
    con.printk("info", `xive: Using priority ${max} for all interrupts`);
    con.printk("info", `xive: Using ${1 << (x.queueShift - 10)}kB queues`);
    return x;
  }

  private cpu(logical: number): XiveCpu {
    let c = this.cpus.get(logical);
    if (c === undefined) {
      c = { cppr: 0, pendingPrio: 0, queue: null, ipi: null };
      this.cpus.set(logical, c);
    }
    return c;
  }

  private *load(cpu: GuestCpu, addr: number, size: number, ns: number): Generator<KOp, bigint, void> {
    yield { k: "delay", ns };
    // a cache-inhibited load other layers see (ESB PQ bits, TIMA): once the path's time has passed
    if (cpu.rt.debt > 0) yield SYNC;
    return (cpu.thread.memory ?? this.k.ram()).mmioLoad(addr, size, cpu.thread.pir);
  }

  private *store(cpu: GuestCpu, addr: number, size: number, value: bigint): KCode {
    yield { k: "delay", ns: this.k.costs.xiveMmioStoreNs };
    if (cpu.rt.debt > 0) yield SYNC;
    (cpu.thread.memory ?? this.k.ram()).mmioStore(addr, size, value, cpu.thread.pir);
  }

  /**
   * xive_prepare_cpu + xive_setup_cpu_ipi for CPU `logical` (hardware id `hwId`), run by `boot`:
   * the queue (H_INT_GET_QUEUE_INFO, H_INT_SET_QUEUE_CONFIG), an IPI source from the LISN ranges
   * (H_INT_GET_SOURCE_INFO for its pages, H_INT_SET_SOURCE_CONFIG to the CPU's queue), unmasked
   * with an ESB load (SET_PQ_00). False when the hypervisor refuses.
   */
  *prepareCpu(boot: GuestCpu, logical: number, hwId: number): Generator<KOp, boolean, void> {
    const xc = this.cpu(logical);
    const con = this.k.console;
    if (xc.queue === null) {
      const qaddr = XIVE_QUEUE_BASE + logical * (1 << this.queueShift);
      // linux: arch/powerpc/sysdev/xive/common.c xive_queue_page_alloc: memset(qpage, 0, 1 << queue_shift)
      this.k.ram().fill(qaddr, 1 << this.queueShift, 0);
      const [rcInfo] = yield* boot.hcall(H_INT_GET_QUEUE_INFO, 0n, BigInt(hwId), BigInt(this.priority));
      if (rcInfo !== 0n) {
        con.printk("err", `xive: Error ${rcInfo} getting queue info CPU ${hwId} prio ${this.priority}`);
        return false;
      }
      const [rc] = yield* boot.hcall(
        H_INT_SET_QUEUE_CONFIG,
        XIVE_EQ_ALWAYS_NOTIFY,
        BigInt(hwId),
        BigInt(this.priority),
        BigInt(qaddr),
        BigInt(this.queueShift),
      );
      if (rc !== 0n) {
        con.printk("err", `xive: Error ${rc} setting queue for CPU ${hwId} prio ${this.priority}`);
        return false;
      }
      xc.queue = { addr: qaddr, msk: (1 << (this.queueShift - 2)) - 1, idx: 0, toggle: 0 };
    }
    if (xc.ipi === null) {
      const lisn = this.freeLisns.shift();
      if (lisn === undefined) {
        con.printk("err", `xive: Failed to allocate IPI on CPU ${logical}`);
        return false;
      }
      const [rc] = yield* boot.hcall(H_INT_GET_SOURCE_INFO, 0n, BigInt(lisn));
      if (rc !== 0n) {
        // plpar_int_get_source_info, then xive_setup_cpu_ipi
        con.printk("err", `xive: H_INT_GET_SOURCE_INFO lisn=${lisn} failed ${rc}`);
        con.printk("err", `xive: Failed to populate IPI data on CPU ${logical}`);
        return false;
      }
      const t = boot.thread;
      const data: XiveIrqData = { hwIrq: lisn, eoiPage: Number(t.gpr(5)), trigPage: Number(t.gpr(6)) };
      const [rc2] = yield* boot.hcall(
        H_INT_SET_SOURCE_CONFIG,
        XIVE_SRC_SET_EISN,
        BigInt(lisn),
        BigInt(hwId),
        BigInt(this.priority),
        BigInt(XIVE_IPI_VIRQ),
      );
      if (rc2 !== 0n) {
        // plpar_int_set_source_config, then xive_setup_cpu_ipi
        con.printk(
          "err",
          `xive: H_INT_SET_SOURCE_CONFIG lisn=${lisn} target=${hwId.toString(16)} prio=${this.priority.toString(16)} failed ${rc2}`,
        );
        con.printk("err", `xive: Failed to map IPI CPU ${logical}`);
        return false;
      }
      // xive_do_source_set_mask(false): PQ 00
      yield* this.load(boot, data.eoiPage + XIVE_ESB_SET_PQ_00, 8, this.k.costs.xiveEsbLoadNs);
      xc.ipi = data;
    }
    return true;
  }

  /** xive_setup_cpu on the CPU itself: CPPR 0xff lets every priority in. */
  *setupCpu(cpu: GuestCpu): KCode {
    this.cpu(cpu.logical).cppr = 0xff;
    yield* this.store(cpu, this.info.timaOs + TM_QW1_OS + TM_CPPR, 1, 0xffn);
  }

  /** xive_cause_ipi: a store to the target's IPI trigger page (out_be64(trig_mmio, 0)). */
  *causeIpi(from: GuestCpu, target: GuestCpu): KCode {
    const ipi = this.cpus.get(target.logical)?.ipi;
    if (ipi === undefined || ipi === null) return;
    this.stats.ipisSent++;
    yield* this.store(from, ipi.trigPage, 8, 0n);
  }

  /**
   * xive_get_irq: the acknowledge cycle (xive_spapr_update_pending: the 16-bit load of
   * TM_SPC_ACK_OS_REG gives NSR and the new CPPR), then xive_scan_interrupts over the pending
   * priorities. Returns the Linux IRQ found, or 0.
   */
  *getIrq(cpu: GuestCpu): Generator<KOp, number, void> {
    const xc = this.cpu(cpu.logical);
    const ack = Number(
      yield* this.load(cpu, this.info.timaOs + TM_SPC_ACK_OS_REG, 2, this.k.costs.xiveTimaLoadNs),
    );
    const nsr = ack >> 8;
    const cppr = ack & 0xff;
    if ((nsr & TM_QW1_NSR_EO) !== 0 && cppr !== 0xff) {
      xc.pendingPrio |= 1 << cppr;
      xc.cppr = cppr;
    }
    return yield* this.scan(cpu, xc, false);
  }

  // xive_scan_interrupts (the 2020 form: with nothing found, CPPR back to 0xff)
  private *scan(cpu: GuestCpu, xc: XiveCpu, justPeek: boolean): Generator<KOp, number, void> {
    let irq = 0;
    let prio = 0;
    while (xc.pendingPrio !== 0) {
      prio = 31 - Math.clz32(xc.pendingPrio & -xc.pendingPrio);
      irq = prio === this.priority && xc.queue !== null ? this.readEq(xc.queue, justPeek) : 0;
      if (irq !== 0) break;
      xc.pendingPrio &= ~(1 << prio);
    }
    if (irq === 0) prio = 0xff;
    if (prio !== xc.cppr) {
      xc.cppr = prio;
      yield* this.store(cpu, this.info.timaOs + TM_QW1_OS + TM_CPPR, 1, BigInt(prio));
    }
    return irq;
  }

  // xive_read_eq: an entry whose generation bit differs from our toggle is new
  private readEq(q: XiveQueue, justPeek: boolean): number {
    const cur = this.k.ram().read32(q.addr + 4 * q.idx, false);
    if (cur >>> 31 === q.toggle) return 0;
    if (!justPeek) {
      q.idx = (q.idx + 1) & q.msk;
      if (q.idx === 0) q.toggle ^= 1;
    }
    return cur & 0x7fffffff;
  }

  /**
   * xive_ipi_eoi: EOI the IPI source with the load that sets PQ to 00 and returns the old PQ
   * (xive_do_source_eoi), re-triggering it when Q was set; then xive_do_queue_eoi: peek the queue,
   * which puts CPPR back to 0xff when it is empty. True when more is pending (a replay).
   */
  *ipiEoi(cpu: GuestCpu): Generator<KOp, boolean, void> {
    const xc = this.cpu(cpu.logical);
    this.stats.ipisReceived++;
    const ipi = xc.ipi;
    if (ipi !== null) {
      const old = Number(
        yield* this.load(cpu, ipi.eoiPage + XIVE_ESB_SET_PQ_00, 8, this.k.costs.xiveEsbLoadNs),
      );
      if ((old & XIVE_ESB_VAL_Q) !== 0) yield* this.store(cpu, ipi.trigPage, 8, 0n);
    }
    return (yield* this.scan(cpu, xc, true)) !== 0;
  }

  /** Whether CPU `logical` has its queue and IPI (for diagnostics and tests). */
  ready(logical: number): boolean {
    const c = this.cpus.get(logical);
    return c !== undefined && c.queue !== null && c.ipi !== null;
  }
}
