// The sPAPR XIVE interrupt controller of the pseries machine under KVM: the interrupt numbers the
// machine claims, the H_INT_* hcalls QEMU handles in userspace, and their forwarding to KVM's
// XIVE native device, whose ESB and TIMA pages QEMU maps into the guest's address space.
// qemu: hw/intc/spapr_xive.c (h_int_get_source_info, h_int_set_source_config, h_int_get_queue_info,
// h_int_set_queue_config, h_int_get_source_config, h_int_get_queue_config, h_int_esb, h_int_sync,
// h_int_reset, spapr_xive_dt, spapr_xive_priority_is_reserved, spapr_xive_target_to_nvt),
// hw/intc/spapr_xive_kvm.c (kvmppc_xive_connect, kvmppc_xive_cpu_connect,
// kvmppc_xive_source_reset_one, kvmppc_xive_set_source_config, kvmppc_xive_set_queue_config,
// kvmppc_xive_get_queue_config, kvmppc_xive_pre_save / post_load), hw/ppc/spapr_irq.c (claims).
import {
  KVM_CAP_PPC_IRQ_XIVE,
  KVM_DEV_TYPE_XIVE,
  KVM_DEV_XIVE_GRP_CTRL,
  KVM_DEV_XIVE_GRP_EQ_CONFIG,
  KVM_DEV_XIVE_GRP_SOURCE,
  KVM_DEV_XIVE_GRP_SOURCE_CONFIG,
  KVM_DEV_XIVE_GRP_SOURCE_SYNC,
  KVM_DEV_XIVE_RESET,
  KVM_REG_PPC_VP_STATE,
  KVM_XIVE_EQ_ALWAYS_NOTIFY,
  KVM_XIVE_EQ_SERVER_SHIFT,
  KVM_XIVE_ESB_PAGE_OFFSET,
  KVM_XIVE_SOURCE_EISN_SHIFT,
  KVM_XIVE_SOURCE_MASKED_MASK,
  KVM_XIVE_SOURCE_SERVER_SHIFT,
  KVM_XIVE_TIMA_PAGE_OFFSET,
} from "@stopsim/host";
import { type Memory, SPAPR_XIVE_TM_BASE, SPAPR_XIVE_VC_BASE, TM_SHIFT, XiveError } from "@stopsim/isa";
import {
  H_FUNCTION,
  H_HARDWARE,
  H_INT_ESB,
  H_INT_GET_QUEUE_CONFIG,
  H_INT_GET_QUEUE_INFO,
  H_INT_GET_SOURCE_CONFIG,
  H_INT_GET_SOURCE_INFO,
  H_INT_RESET,
  H_INT_SET_QUEUE_CONFIG,
  H_INT_SET_SOURCE_CONFIG,
  H_INT_SYNC,
  H_P2,
  H_P3,
  H_P4,
  H_P5,
  H_PARAMETER,
  H_SUCCESS,
} from "@stopsim/linux";
import { QemuError } from "./errors.js";
import type { KvmDeviceFd, KvmPpcXiveEq, KvmVcpuFd, KvmVmFd } from "./kvm.js";

/** Interrupt numbers (qemu: include/hw/ppc/spapr_irq.h). */
export const SPAPR_IRQ_IPI = 0x0;
export const SPAPR_XIRQ_BASE = 0x1000;
export const SPAPR_IRQ_EPOW = SPAPR_XIRQ_BASE + 0x0000;
export const SPAPR_IRQ_HOTPLUG = SPAPR_XIRQ_BASE + 0x0001;
export const SPAPR_IRQ_VIO = SPAPR_XIRQ_BASE + 0x0100;
/** spapr_irq_dual / spapr_irq_xive nr_xirqs: 0x1000 device interrupts after the IPIs. */
export const SPAPR_NR_XIRQS = 0x1000;
export const SPAPR_XIVE_NVT_BASE = 0x400;
/** Two 64 KiB ESB pages per source (XIVE_ESB_64K_2PAGE). */
export const SPAPR_XIVE_ESB_SHIFT = 17;

const ppcBit = (n: number): bigint => 1n << BigInt(63 - n);
/** H_INT_GET_SOURCE_INFO flags (qemu: spapr_xive.c SPAPR_XIVE_SRC_*). */
export const SPAPR_XIVE_SRC_H_INT_ESB = ppcBit(60);
export const SPAPR_XIVE_SRC_LSI = ppcBit(61);
export const SPAPR_XIVE_SRC_TRIGGER = ppcBit(62);
export const SPAPR_XIVE_SRC_STORE_EOI = ppcBit(63);
/** H_INT_SET_SOURCE_CONFIG flags. */
export const SPAPR_XIVE_SRC_SET_EISN = ppcBit(62);
export const SPAPR_XIVE_SRC_MASK = ppcBit(63);
/** H_INT_SET_QUEUE_CONFIG flags. */
export const SPAPR_XIVE_END_ALWAYS_NOTIFY = ppcBit(63);
/** H_INT_ESB flags. */
export const SPAPR_XIVE_ESB_STORE = ppcBit(63);

/** Priorities the platform reserves (`ibm,plat-res-int-priorities` = <7 0xf8>): 7..254. */
export function spaprXivePriorityIsReserved(priority: number): boolean {
  return priority >= 7 && priority < 7 + 0xf8;
}

/** Valid queue sizes of H_INT_SET_QUEUE_CONFIG (qemu: spapr_xive.c h_int_set_queue_config). */
const QUEUE_SHIFTS = new Set([12, 16, 21, 24]);

interface SourceState {
  /** The EAS as the guest configured it (masked: priority 0xff). */
  target: number;
  priority: number;
  eisn: number;
  masked: boolean;
}

/** What spapr-xive sends in the migration stream (the "spapr-xive" section, simplified). */
export interface SpaprXiveMigrationState {
  readonly sources: readonly {
    lisn: number;
    pq: number;
    target: number;
    priority: number;
    eisn: number;
    masked: boolean;
  }[];
  readonly queues: readonly {
    server: number;
    priority: number;
    qshift: number;
    qaddr: bigint;
    qindex: number;
    qtoggle: number;
  }[];
  /** Per vCPU (by id): the saved OS ring words 0-1 (KVM_REG_PPC_VP_STATE, high 64 bits). */
  readonly vpState: readonly { vcpu: number; w01: bigint }[];
}

/** The sPAPR XIVE of one machine, in KVM mode (kernel_irqchip on). */
export class SpaprXive {
  readonly nrIrqs: number;
  private readonly claimed = new Set<number>();
  private readonly eas = new Map<number, SourceState>();
  private device: KvmDeviceFd | null = null;
  /** spapr->xive active (the guest negotiated XIVE at CAS, or ic-mode=xive). */
  active = false;

  constructor(
    private readonly vm: KvmVmFd,
    private readonly ram: Memory,
    private readonly vcpus: readonly { readonly id: number; readonly fd: KvmVcpuFd }[],
    /** spapr_max_server_number: the number of possible vCPU ids. */
    readonly nrServers: number,
  ) {
    this.nrIrqs = SPAPR_XIRQ_BASE + SPAPR_NR_XIRQS;
    // spapr_irq_init: one IPI per possible vCPU, then the platform's device interrupts
    for (let i = 0; i < nrServers; i++) this.claimed.add(SPAPR_IRQ_IPI + i);
    this.claimed.add(SPAPR_IRQ_EPOW);
    this.claimed.add(SPAPR_IRQ_HOTPLUG);
    this.claimed.add(SPAPR_IRQ_VIO);
  }

  /** The claimed interrupt numbers, in order. */
  claimedIrqs(): number[] {
    return [...this.claimed].sort((a, b) => a - b);
  }

  /**
   * kvmppc_xive_connect (spapr_xive_activate): create KVM's XIVE device, map its ESB and TIMA pages
   * into the guest, connect every vCPU, set up the claimed sources. Throws QemuError as QEMU fails
   * ("IRQ_XIVE capability must be present for KVM").
   */
  activate(): void {
    if (this.active) return;
    if (this.device === null) {
      if (this.vm.checkExtension(KVM_CAP_PPC_IRQ_XIVE) <= 0) {
        throw new QemuError("IRQ_XIVE capability must be present for KVM");
      }
      const dev = this.vm.createDevice(KVM_DEV_TYPE_XIVE);
      if (typeof dev === "number") throw new QemuError(`XIVE: error creating KVM device: ${-dev}`);
      this.device = dev;
      const esb = dev.mmap(KVM_XIVE_ESB_PAGE_OFFSET);
      const tima = dev.mmap(KVM_XIVE_TIMA_PAGE_OFFSET);
      if (typeof esb === "number" || typeof tima === "number")
        throw new QemuError("XIVE: unable to mmap the KVM device");
      this.ram.mapMmio(SPAPR_XIVE_VC_BASE, this.nrIrqs << SPAPR_XIVE_ESB_SHIFT, esb);
      this.ram.mapMmio(SPAPR_XIVE_TM_BASE, 4 << TM_SHIFT, tima);
      for (const v of this.vcpus) {
        const r = v.fd.enableCap(KVM_CAP_PPC_IRQ_XIVE, [dev.fd, v.id, 0]);
        if (r < 0) throw new QemuError(`XIVE: unable to connect CPU${v.id} to KVM device: ${-r}`);
      }
    }
    // kvmppc_xive_source_reset: every claimed source, masked
    for (const lisn of this.claimedIrqs()) this.device.setAttr(KVM_DEV_XIVE_GRP_SOURCE, BigInt(lisn), 0n);
    this.active = true;
  }

  /** The guest left XIVE (a machine reset, or CAS chose XICS): reset the device's state. */
  deactivate(): void {
    if (!this.active) return;
    this.device?.setAttr(KVM_DEV_XIVE_GRP_CTRL, BigInt(KVM_DEV_XIVE_RESET));
    this.eas.clear();
    this.active = false;
  }

  private checkLisn(lisn: bigint): number | null {
    const n = Number(lisn);
    return lisn >= 0n && lisn < BigInt(this.nrIrqs) && this.claimed.has(n) ? n : null;
  }

  private serverOk(target: bigint): boolean {
    return this.vcpus.some((v) => BigInt(v.id) === target);
  }

  /**
   * The H_INT_* hcalls (args = r4..; return values written back into args as QEMU's args[]).
   * Without XIVE negotiated at CAS every one of them is H_FUNCTION.
   */
  hcall(nr: number, args: bigint[]): number {
    if (!this.active || this.device === null) return H_FUNCTION;
    const dev = this.device;
    const a = (i: number) => args[i] ?? 0n;
    switch (nr) {
      case H_INT_GET_SOURCE_INFO: {
        // H_INT_GET_SOURCE_INFO(flags, lisn)
        if (a(0) !== 0n) return H_PARAMETER;
        const lisn = this.checkLisn(a(1));
        if (lisn === null) return H_P2;
        const page = BigInt(SPAPR_XIVE_VC_BASE) + (BigInt(lisn) << BigInt(SPAPR_XIVE_ESB_SHIFT));
        args[0] = SPAPR_XIVE_SRC_TRIGGER;
        args[1] = page + (1n << BigInt(SPAPR_XIVE_ESB_SHIFT - 1)); // EOI (management) page
        args[2] = page; // trigger page
        args[3] = BigInt(SPAPR_XIVE_ESB_SHIFT - 1);
        return H_SUCCESS;
      }
      case H_INT_SET_SOURCE_CONFIG: {
        // H_INT_SET_SOURCE_CONFIG(flags, lisn, target, priority, eisn)
        if ((a(0) & ~(SPAPR_XIVE_SRC_SET_EISN | SPAPR_XIVE_SRC_MASK)) !== 0n) return H_PARAMETER;
        const lisn = this.checkLisn(a(1));
        if (lisn === null) return H_P2;
        const prio = Number(a(3));
        const prev = this.eas.get(lisn);
        let st: SourceState;
        if (prio === 0xff) {
          st = { target: 0, priority: 0xff, eisn: prev?.eisn ?? 0, masked: true };
        } else {
          if (spaprXivePriorityIsReserved(prio) || prio > 0xff) return H_P4;
          if (!this.serverOk(a(2))) return H_P3;
          const eisn =
            (a(0) & SPAPR_XIVE_SRC_SET_EISN) !== 0n ? Number(a(4) & 0x7fffffffn) : (prev?.eisn ?? 0);
          st = { target: Number(a(2)), priority: prio, eisn, masked: (a(0) & SPAPR_XIVE_SRC_MASK) !== 0n };
        }
        // kvmppc_xive_set_source_config
        const cfg =
          BigInt(st.masked ? 0 : st.priority) |
          (BigInt(st.target) << KVM_XIVE_SOURCE_SERVER_SHIFT) |
          (st.masked ? KVM_XIVE_SOURCE_MASKED_MASK : 0n) |
          (BigInt(st.eisn) << KVM_XIVE_SOURCE_EISN_SHIFT);
        const r = dev.setAttr(KVM_DEV_XIVE_GRP_SOURCE_CONFIG, BigInt(lisn), cfg);
        if (r < 0) return H_PARAMETER;
        this.eas.set(lisn, st);
        return H_SUCCESS;
      }
      case H_INT_GET_SOURCE_CONFIG: {
        // H_INT_GET_SOURCE_CONFIG(flags, lisn)
        if (a(0) !== 0n) return H_PARAMETER;
        const lisn = this.checkLisn(a(1));
        if (lisn === null) return H_P2;
        const st = this.eas.get(lisn);
        args[0] = BigInt(st?.target ?? 0);
        args[1] = BigInt(st === undefined || st.masked ? 0xff : st.priority);
        args[2] = BigInt(st?.eisn ?? 0);
        return H_SUCCESS;
      }
      case H_INT_GET_QUEUE_INFO: {
        // H_INT_GET_QUEUE_INFO(flags, target, priority): the END's ESB page, the queue size
        if (a(0) !== 0n) return H_PARAMETER;
        if (!this.serverOk(a(1))) return H_P2;
        const prio = Number(a(2));
        if (spaprXivePriorityIsReserved(prio) || prio > 0xff) return H_P3;
        const eq = dev.getAttr(
          KVM_DEV_XIVE_GRP_EQ_CONFIG,
          (a(1) << KVM_XIVE_EQ_SERVER_SHIFT) | BigInt(prio & 7),
        );
        const endIdx = ((SPAPR_XIVE_NVT_BASE + Number(a(1))) << 3) + prio;
        args[0] =
          BigInt(SPAPR_XIVE_VC_BASE) +
          (BigInt(this.nrIrqs) << BigInt(SPAPR_XIVE_ESB_SHIFT)) +
          (BigInt(endIdx) << 17n);
        args[1] = typeof eq === "object" ? BigInt(eq.qshift) : 0n;
        return H_SUCCESS;
      }
      case H_INT_SET_QUEUE_CONFIG: {
        // H_INT_SET_QUEUE_CONFIG(flags, target, priority, qpage, qsize)
        if ((a(0) & ~SPAPR_XIVE_END_ALWAYS_NOTIFY) !== 0n) return H_PARAMETER;
        if (!this.serverOk(a(1))) return H_P2;
        const prio = Number(a(2));
        if (spaprXivePriorityIsReserved(prio) || prio > 0xff) return H_P3;
        const qsize = Number(a(4));
        if (qsize !== 0 && !QUEUE_SHIFTS.has(qsize)) return H_P5;
        const qpage = a(3);
        if (qsize !== 0) {
          if (qpage % (1n << BigInt(qsize)) !== 0n) return H_P4;
          if (!this.ram.contains(Number(qpage), 1 << qsize)) return H_P4;
        }
        const eq: KvmPpcXiveEq = {
          flags: (a(0) & SPAPR_XIVE_END_ALWAYS_NOTIFY) !== 0n ? KVM_XIVE_EQ_ALWAYS_NOTIFY : 0,
          qshift: qsize,
          qaddr: qsize === 0 ? 0n : qpage,
          qtoggle: 0,
          qindex: 0,
        };
        const r = dev.setAttr(
          KVM_DEV_XIVE_GRP_EQ_CONFIG,
          (a(1) << KVM_XIVE_EQ_SERVER_SHIFT) | BigInt(prio),
          eq,
        );
        return r < 0 ? H_PARAMETER : H_SUCCESS;
      }
      case H_INT_GET_QUEUE_CONFIG: {
        // H_INT_GET_QUEUE_CONFIG(flags, target, priority)
        if (a(0) !== 0n) return H_PARAMETER;
        if (!this.serverOk(a(1))) return H_P2;
        const prio = Number(a(2));
        if (spaprXivePriorityIsReserved(prio) || prio > 0xff) return H_P3;
        const eq = dev.getAttr(KVM_DEV_XIVE_GRP_EQ_CONFIG, (a(1) << KVM_XIVE_EQ_SERVER_SHIFT) | BigInt(prio));
        if (typeof eq !== "object") return H_P2;
        args[0] = 0n;
        args[1] = eq.qaddr;
        args[2] = BigInt(eq.qshift);
        args[3] = BigInt(eq.qindex);
        return H_SUCCESS;
      }
      case H_INT_ESB: {
        // H_INT_ESB(flags, lisn, offset, data): ESB access through the hypervisor
        if ((a(0) & ~SPAPR_XIVE_ESB_STORE) !== 0n) return H_PARAMETER;
        const lisn = this.checkLisn(a(1));
        if (lisn === null) return H_P2;
        const offset = Number(a(2));
        if (offset > 0xfff) return H_P3;
        const addr =
          SPAPR_XIVE_VC_BASE + (lisn << SPAPR_XIVE_ESB_SHIFT) + (1 << (SPAPR_XIVE_ESB_SHIFT - 1)) + offset;
        try {
          if ((a(0) & SPAPR_XIVE_ESB_STORE) !== 0n) this.ram.mmioStore(addr, 8, a(3), 0);
          else args[0] = this.ram.mmioLoad(addr, 8, 0);
        } catch (e) {
          if (e instanceof XiveError) return H_HARDWARE;
          throw e;
        }
        return H_SUCCESS;
      }
      case H_INT_SYNC: {
        // H_INT_SYNC(flags, lisn)
        if (a(0) !== 0n) return H_PARAMETER;
        const lisn = this.checkLisn(a(1));
        if (lisn === null) return H_P2;
        dev.setAttr(KVM_DEV_XIVE_GRP_SOURCE_SYNC, BigInt(lisn));
        return H_SUCCESS;
      }
      case H_INT_RESET: {
        // H_INT_RESET(flags)
        if (a(0) !== 0n) return H_PARAMETER;
        dev.setAttr(KVM_DEV_XIVE_GRP_CTRL, BigInt(KVM_DEV_XIVE_RESET));
        for (const lisn of this.claimedIrqs()) dev.setAttr(KVM_DEV_XIVE_GRP_SOURCE, BigInt(lisn), 0n);
        this.eas.clear();
        return H_SUCCESS;
      }
      default:
        // H_INT_SET_OS_REPORTING_LINE / H_INT_GET_OS_REPORTING_LINE: not supported
        return H_FUNCTION;
    }
  }

  /** kvmppc_xive_pre_save: the sources' routing and PQ, the queues' state, every vCPU's context. */
  saveState(): SpaprXiveMigrationState {
    const dev = this.device;
    const sources: SpaprXiveMigrationState["sources"][number][] = [];
    const queues: SpaprXiveMigrationState["queues"][number][] = [];
    const vpState: { vcpu: number; w01: bigint }[] = [];
    if (dev === null || !this.active) return { sources, queues, vpState };
    const esb = SPAPR_XIVE_VC_BASE + (1 << (SPAPR_XIVE_ESB_SHIFT - 1));
    for (const lisn of this.claimedIrqs()) {
      const st = this.eas.get(lisn) ?? { target: 0, priority: 0xff, eisn: 0, masked: true };
      const pq = Number(this.ram.mmioLoad(esb + (lisn << SPAPR_XIVE_ESB_SHIFT) + 0x800, 8, 0)); // XIVE_ESB_GET
      sources.push({ lisn, pq, ...st });
    }
    for (const v of this.vcpus) {
      for (let prio = 0; prio < 7; prio++) {
        const eq = dev.getAttr(
          KVM_DEV_XIVE_GRP_EQ_CONFIG,
          (BigInt(v.id) << KVM_XIVE_EQ_SERVER_SHIFT) | BigInt(prio),
        );
        if (typeof eq === "object" && eq.qshift !== 0) {
          queues.push({
            server: v.id,
            priority: prio,
            qshift: eq.qshift,
            qaddr: eq.qaddr,
            qindex: eq.qindex,
            qtoggle: eq.qtoggle,
          });
        }
      }
      const r = v.fd.getOneReg(KVM_REG_PPC_VP_STATE);
      if (r.ret === 0) vpState.push({ vcpu: v.id, w01: r.value >> 64n });
    }
    return { sources, queues, vpState };
  }

  /** kvmppc_xive_post_load: connect, restore queues (index, toggle), sources (routing, PQ), contexts. */
  loadState(s: SpaprXiveMigrationState): void {
    this.activate();
    const dev = this.device;
    if (dev === null) return;
    for (const q of s.queues) {
      const eq: KvmPpcXiveEq = {
        flags: KVM_XIVE_EQ_ALWAYS_NOTIFY,
        qshift: q.qshift,
        qaddr: q.qaddr,
        qtoggle: q.qtoggle,
        qindex: q.qindex,
      };
      const r = dev.setAttr(
        KVM_DEV_XIVE_GRP_EQ_CONFIG,
        (BigInt(q.server) << KVM_XIVE_EQ_SERVER_SHIFT) | BigInt(q.priority),
        eq,
      );
      if (r < 0)
        throw new QemuError(
          `XIVE: could not restore the queue of server ${q.server} priority ${q.priority}: ${-r}`,
        );
    }
    const esb = SPAPR_XIVE_VC_BASE + (1 << (SPAPR_XIVE_ESB_SHIFT - 1));
    for (const src of s.sources) {
      const st: SourceState = {
        target: src.target,
        priority: src.priority,
        eisn: src.eisn,
        masked: src.masked,
      };
      this.eas.set(src.lisn, st);
      const cfg =
        BigInt(st.masked ? 0 : st.priority) |
        (BigInt(st.target) << KVM_XIVE_SOURCE_SERVER_SHIFT) |
        (st.masked ? KVM_XIVE_SOURCE_MASKED_MASK : 0n) |
        (BigInt(st.eisn) << KVM_XIVE_SOURCE_EISN_SHIFT);
      dev.setAttr(KVM_DEV_XIVE_GRP_SOURCE_CONFIG, BigInt(src.lisn), cfg);
      // the PQ through the ESB special loads (kvmppc_xive_source_reset_one / post_load)
      this.ram.mmioLoad(esb + (src.lisn << SPAPR_XIVE_ESB_SHIFT) + 0xc00 + ((src.pq & 3) << 8), 8, 0);
    }
    for (const vp of s.vpState) {
      const v = this.vcpus.find((x) => x.id === vp.vcpu);
      v?.fd.setOneReg(KVM_REG_PPC_VP_STATE, vp.w01 << 64n);
    }
  }
}
