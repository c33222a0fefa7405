// The host kernel's side of XIVE on a powernv POWER9 host: the interrupt controller of the chip
// (@stopsim/isa `Xive`) with every hardware thread attached, a queue per CPU at the host's
// priority, and xive_get_irq on the hypervisor ring when a host interrupt (an escalation) comes in.
// linux: arch/powerpc/sysdev/xive/native.c (xive_native_setup_queue, xive_native_alloc_irq),
// arch/powerpc/sysdev/xive/common.c (xive_get_irq, xive_scan_interrupts, xive_setup_cpu).
import {
  type HwThread,
  Memory,
  TM_QW3_HV_PHYS,
  Xive,
  type XiveEas,
  XiveEventQueue,
  type XiveTctx,
} from "@stopsim/isa";

/**
 * The priority the host kernel gives its interrupts (linux: common.c xive_irq_priority, the
 * highest priority OPAL leaves to the OS: 7 on powernv) and of its per-CPU queue.
 */
export const HOST_XIVE_PRIORITY = 7;
/** Host queue: one 64 KiB page per CPU (xive_native_setup_queue, xive_queue_shift 16). */
const HOST_QUEUE_SHIFT = 16;

interface HostQueue {
  readonly q: XiveEventQueue;
  idx: number;
  toggle: number;
}

/** A host interrupt handler (request_irq): called with the IRQ on the CPU that took it. */
export type HostIrqHandler = (cpuId: number) => void;

export class HostXive {
  readonly hw = new Xive();
  private readonly queues = new Map<number, HostQueue>();
  private readonly tctxs = new Map<number, XiveTctx>();
  private readonly handlers = new Map<number, HostIrqHandler>();
  private readonly pirOf = new Map<number, number>();
  /** Interrupts handled, per CPU. */
  readonly handled = new Map<number, number>();
  /** Called when the hypervisor ring of a CPU raises its line (the CPU's irq entry). */
  onRaise: ((cpuId: number) => void) | null = null;

  /** xive_setup_cpu for every host CPU: attach its thread, give it a queue, open its CPPR. */
  constructor(threads: readonly HwThread[]) {
    const mem = new Memory(threads.length << HOST_QUEUE_SHIFT);
    threads.forEach((t, cpu) => {
      const tctx = this.hw.attachThread({
        pir: t.pir,
        setExternalInterrupt: (v) => t.setExternalInterrupt(v),
        setHvVirtInterrupt: (v) => {
          t.setHvVirtInterrupt(v);
          if (v) this.onRaise?.(cpu);
        },
      });
      const q = new XiveEventQueue(mem, cpu << HOST_QUEUE_SHIFT, HOST_QUEUE_SHIFT);
      this.hw.setEnd({ kind: "phys", pir: t.pir }, HOST_XIVE_PRIORITY, { queue: q });
      this.queues.set(cpu, { q, idx: 0, toggle: 0 });
      this.tctxs.set(cpu, tctx);
      this.pirOf.set(cpu, t.pir);
      tctx.setCppr(TM_QW3_HV_PHYS, 0xff);
    });
  }

  /**
   * Allocate a hardware interrupt and route it to host CPU `cpu` (xive_native_alloc_irq +
   * request_irq with its affinity); its event data is its number. The source starts off (PQ 01).
   */
  requestIrq(cpu: number, handler: HostIrqHandler): number {
    const pir = this.pirOf.get(cpu);
    if (pir === undefined) throw new RangeError(`host CPU ${cpu} does not exist`);
    const irq = this.hw.allocIrq();
    const eas: XiveEas = {
      target: { kind: "phys", pir },
      priority: HOST_XIVE_PRIORITY,
      eisn: irq,
      masked: false,
    };
    this.hw.setEas(irq, eas);
    this.handlers.set(irq, handler);
    return irq;
  }

  freeIrq(irq: number): void {
    this.handlers.delete(irq);
    this.hw.setEas(irq, null);
  }

  /** Whether CPU `cpu` has a host interrupt signalled on its hypervisor ring. */
  pending(cpu: number): boolean {
    const t = this.tctxs.get(cpu);
    return t?.output(TM_QW3_HV_PHYS) === true;
  }

  /**
   * xive_get_irq and the handlers, until the queue is empty: ack the ring (CPPR = the priority),
   * take each entry, run its handler; then CPPR back to 0xff (xive_scan_interrupts found nothing).
   * Escalation interrupts are not EOIed (XIVE_IRQ_FLAG_NO_EOI). Returns how many ran.
   */
  handle(cpu: number): number {
    const t = this.tctxs.get(cpu);
    const hq = this.queues.get(cpu);
    if (t === undefined || hq === undefined) return 0;
    t.accept(TM_QW3_HV_PHYS);
    let n = 0;
    for (;;) {
      const cur = hq.q.memory.read32(hq.q.addr + 4 * hq.idx, false);
      if (cur >>> 31 === hq.toggle) break;
      hq.idx = (hq.idx + 1) & (hq.q.entries - 1);
      if (hq.idx === 0) hq.toggle ^= 1;
      const irq = cur & 0x7fffffff;
      n++;
      this.handlers.get(irq)?.(cpu);
    }
    t.setCppr(TM_QW3_HV_PHYS, 0xff);
    this.handled.set(cpu, (this.handled.get(cpu) ?? 0) + n);
    return n;
  }
}
