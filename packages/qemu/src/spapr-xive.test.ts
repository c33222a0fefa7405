// The sPAPR XIVE device of the machine under KVM beyond its hcalls: its connection to KVM's XIVE
// native device and how it fails (qemu: hw/intc/spapr_xive_kvm.c kvmppc_xive_connect: the
// KVM_CAP_PPC_IRQ_XIVE check, KVM_CREATE_DEVICE, the ESB and TIMA mmaps, kvmppc_xive_cpu_connect),
// its reset, and its state in a migration (kvmppc_xive_pre_save / kvmppc_xive_post_load: the
// sources' routing and PQ bits, the queues, each vCPU's OS context), on machines started paused
// (-S) on a real POWER9 host, the KVM calls seen through recording file descriptors.
import {
  KVM_CAP_PPC_IRQ_XIVE,
  KVM_DEV_XIVE_GRP_CTRL,
  KVM_DEV_XIVE_GRP_EQ_CONFIG,
  KVM_DEV_XIVE_GRP_SOURCE,
  KVM_DEV_XIVE_GRP_SOURCE_CONFIG,
  KVM_DEV_XIVE_RESET,
  KVM_REG_PPC_VP_STATE,
  KVM_XIVE_ESB_PAGE_OFFSET,
  KVM_XIVE_TIMA_PAGE_OFFSET,
} from "@stopsim/host";
import { SPAPR_XIVE_TM_BASE } from "@stopsim/isa";
import {
  H_FUNCTION,
  H_INT_ESB,
  H_INT_GET_QUEUE_CONFIG,
  H_INT_GET_QUEUE_INFO,
  H_INT_GET_SOURCE_CONFIG,
  H_INT_SET_QUEUE_CONFIG,
  H_INT_SET_SOURCE_CONFIG,
  H_P2,
  H_PARAMETER,
  H_SUCCESS,
} from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { QemuError } from "./errors.js";
import type { KvmDeviceFd, KvmPpcXiveEq, KvmVcpuFd, KvmVmFd } from "./kvm.js";
import type { Qemu } from "./spapr.js";
import {
  SPAPR_IRQ_EPOW,
  SPAPR_IRQ_HOTPLUG,
  SPAPR_IRQ_VIO,
  SPAPR_XIVE_SRC_SET_EISN,
  SpaprXive,
} from "./spapr-xive.js";
import { qemuErrorOf } from "./test-helpers/errors.js";
import { startMachine } from "./test-helpers/machines.js";

/** A paused machine; ic-mode=xics never touches KVM's XIVE device, so a test can make its own. */
function machine(icMode: "xics" | "xive" = "xive"): Qemu {
  return startMachine(`-M pseries-5.1,ic-mode=${icMode} -smp 2 -m 256M -S`, {
    build: { stopLiteCap: false, probeKvmCapStop: false },
    stop0lite: "never",
  }).q;
}

interface AttrCall {
  group: number;
  attr: bigint;
  value?: bigint | KvmPpcXiveEq;
}

/** The machine's VM fd with KVM's XIVE device calls recorded and the given ones overridden. */
function recordingVm(
  q: Qemu,
  over: { vm?: Partial<KvmVmFd>; dev?: (dev: KvmDeviceFd) => Partial<KvmDeviceFd> } = {},
) {
  const calls: AttrCall[] = [];
  let created = 0;
  const vm: KvmVmFd = Object.assign(Object.create(q.vm) as KvmVmFd, {
    checkExtension: (c: number) => q.vm.checkExtension(c),
    createDevice: (type: number) => {
      created++;
      const dev = q.vm.createDevice(type);
      if (typeof dev === "number") return dev;
      const rec: KvmDeviceFd = Object.assign(Object.create(dev) as KvmDeviceFd, {
        setAttr: (group: number, attr: bigint, value?: bigint | KvmPpcXiveEq) => {
          calls.push({ group, attr, value });
          return dev.setAttr(group, attr, value);
        },
        getAttr: (group: number, attr: bigint) => dev.getAttr(group, attr),
        mmap: (off: number) => dev.mmap(off),
      });
      return Object.assign(rec, over.dev?.(dev) ?? {});
    },
    ...over.vm,
  });
  return { vm, calls, created: () => created };
}

function xiveOf(q: Qemu, vm: KvmVmFd, vcpus: readonly { id: number; fd: KvmVcpuFd }[] = q.vcpus): SpaprXive {
  return new SpaprXive(vm, q.ram, vcpus, q.vcpus.length);
}

const h = (x: SpaprXive, nr: number, ...a: (number | bigint)[]) => {
  const args = a.map(BigInt);
  return { rc: x.hcall(nr, args), args };
};

describe("connecting to KVM's XIVE device (kvmppc_xive_connect)", () => {
  it("needs KVM_CAP_PPC_IRQ_XIVE, then creates the device once and masks every claimed source", () => {
    const q = machine("xics");
    const none = recordingVm(q, { vm: { checkExtension: (c) => (c === KVM_CAP_PPC_IRQ_XIVE ? 0 : 1) } });
    const e = qemuErrorOf(() => xiveOf(q, none.vm).activate());
    expect(e.reason).toBe("IRQ_XIVE capability must be present for KVM");
    expect(none.created()).toBe(0);

    const r = recordingVm(q);
    const x = xiveOf(q, r.vm);
    expect(x.hcall(H_INT_GET_SOURCE_CONFIG, [0n, BigInt(SPAPR_IRQ_EPOW)])).toBe(H_FUNCTION);
    x.activate();
    expect(x.active).toBe(true);
    // spapr_irq_init's claims: one IPI per vCPU, then EPOW, hotplug and VIO
    const claimed = [0, 1, SPAPR_IRQ_EPOW, SPAPR_IRQ_HOTPLUG, SPAPR_IRQ_VIO];
    expect(x.claimedIrqs()).toEqual(claimed);
    expect(r.calls).toEqual(
      claimed.map((l) => ({ group: KVM_DEV_XIVE_GRP_SOURCE, attr: BigInt(l), value: 0n })),
    );
    // the TIMA is mapped at its base: the OS ring's words read through it
    expect(() => q.ram.mmioLoad(SPAPR_XIVE_TM_BASE + 0x20000, 8, 0)).not.toThrow();
    // twice: nothing more
    x.activate();
    expect([r.created(), r.calls.length]).toEqual([1, claimed.length]);
  });

  it("deactivates with a device reset and forgets the routing; activating again reuses the device", () => {
    const q = machine("xics");
    const r = recordingVm(q);
    const x = xiveOf(q, r.vm);
    x.deactivate(); // never active: nothing to reset
    expect(r.calls).toEqual([]);
    x.activate();
    expect(h(x, H_INT_SET_SOURCE_CONFIG, 0, SPAPR_IRQ_EPOW, 1, 5, 0).rc).toBe(H_SUCCESS);
    r.calls.length = 0;
    x.deactivate();
    expect(x.active).toBe(false);
    expect(r.calls).toEqual([
      { group: KVM_DEV_XIVE_GRP_CTRL, attr: BigInt(KVM_DEV_XIVE_RESET), value: undefined },
    ]);
    expect(h(x, H_INT_GET_SOURCE_CONFIG, 0, SPAPR_IRQ_EPOW).rc).toBe(H_FUNCTION);
    x.activate();
    expect(r.created()).toBe(1);
    expect(h(x, H_INT_GET_SOURCE_CONFIG, 0, SPAPR_IRQ_EPOW).args.slice(0, 3)).toEqual([0n, 0xffn, 0n]);
  });

  it("fails as QEMU does when KVM refuses the device, one of its mmaps or a vCPU's connection", () => {
    // KVM gives a VM one XIVE device: a fresh machine for each refusal
    const fail = (over: Parameters<typeof recordingVm>[1], refuseCpu?: number) => {
      const q = machine("xics");
      const vcpus = q.vcpus.map((v) =>
        v.id === refuseCpu
          ? { id: v.id, fd: Object.assign(Object.create(v.fd) as KvmVcpuFd, { enableCap: () => -16 }) }
          : v,
      );
      return qemuErrorOf(() => xiveOf(q, recordingVm(q, over).vm, vcpus).activate()).reason;
    };
    expect(fail({ vm: { createDevice: () => -19 } })).toBe("XIVE: error creating KVM device: 19");
    for (const off of [KVM_XIVE_ESB_PAGE_OFFSET, KVM_XIVE_TIMA_PAGE_OFFSET]) {
      expect(
        fail({ dev: (dev) => ({ mmap: (o: number) => (o === off ? -12 : dev.mmap(o)) }) }),
        `mmap at page ${off}`,
      ).toBe("XIVE: unable to mmap the KVM device");
    }
    expect(fail({}, 1)).toBe("XIVE: unable to connect CPU1 to KVM device: 16");
  });

  it("answers H_PARAMETER when KVM refuses a source or queue configuration, H_P2 an unreadable queue", () => {
    const q = machine("xics");
    const r = recordingVm(q, {
      dev: () => ({
        setAttr: (group: number) => (group === KVM_DEV_XIVE_GRP_SOURCE ? 0 : -22),
        getAttr: () => -22,
      }),
    });
    const x = xiveOf(q, r.vm);
    x.activate();
    expect(h(x, H_INT_SET_SOURCE_CONFIG, 0, SPAPR_IRQ_EPOW, 1, 5, 0).rc).toBe(H_PARAMETER);
    // the refused routing is not kept
    expect(h(x, H_INT_GET_SOURCE_CONFIG, 0, SPAPR_IRQ_EPOW).args.slice(0, 2)).toEqual([0n, 0xffn]);
    expect(h(x, H_INT_SET_QUEUE_CONFIG, 0, 1, 5, 0x300000, 16).rc).toBe(H_PARAMETER);
    expect(h(x, H_INT_GET_QUEUE_CONFIG, 0, 1, 5).rc).toBe(H_P2);
    // GET_QUEUE_INFO still gives the END's page, with no queue size
    const info = h(x, H_INT_GET_QUEUE_INFO, 0, 1, 5);
    expect([info.rc, info.args[1]]).toEqual([H_SUCCESS, 0n]);
  });
});

describe("the XIVE state in a migration (kvmppc_xive_pre_save, kvmppc_xive_post_load)", () => {
  // XIVE ESB offsets (qemu: include/hw/ppc/xive_regs.h): GET 0x800, SET_PQ_xx 0xc00 + (PQ << 8)
  const setPq = (q: Qemu, lisn: number, pq: number) =>
    q.irq.hcall(0, H_INT_ESB, [0n, BigInt(lisn), BigInt(0xc00 + (pq << 8)), 0n]);

  /** A source machine with routings, PQ bits, queues and OS contexts set. */
  function configured(): Qemu {
    const q = machine();
    const hc = (nr: number, ...a: (number | bigint)[]) => q.irq.hcall(0, nr, a.map(BigInt));
    expect(hc(H_INT_SET_SOURCE_CONFIG, SPAPR_XIVE_SRC_SET_EISN, SPAPR_IRQ_EPOW, 1, 5, 0x42)).toBe(H_SUCCESS);
    expect(hc(H_INT_SET_SOURCE_CONFIG, 0, SPAPR_IRQ_VIO, 0, 6, 0)).toBe(H_SUCCESS);
    expect(hc(H_INT_SET_QUEUE_CONFIG, 0, 1, 5, 0x300000, 16)).toBe(H_SUCCESS);
    expect(hc(H_INT_SET_QUEUE_CONFIG, 0, 0, 6, 0x310000, 12)).toBe(H_SUCCESS);
    // PQ 00, 01, 10, 11 on four sources
    for (const [pq, lisn] of [0, 1, SPAPR_IRQ_HOTPLUG, SPAPR_IRQ_VIO].entries()) {
      expect(setPq(q, lisn, pq)).toBe(H_SUCCESS);
    }
    for (const [i, v] of q.vcpus.entries()) {
      expect(v.fd.setOneReg(KVM_REG_PPC_VP_STATE, BigInt(0x1111 * (i + 1)) << 64n)).toBe(0);
    }
    return q;
  }

  it("saves every claimed source (routing and PQ), each configured queue and each vCPU's OS context", () => {
    const q = configured();
    const s = q.irq.xive.saveState();
    expect(s.sources).toEqual([
      { lisn: 0, pq: 0, target: 0, priority: 0xff, eisn: 0, masked: true },
      { lisn: 1, pq: 1, target: 0, priority: 0xff, eisn: 0, masked: true },
      // a source keeps the PQ its reset gave it (01) when routed
      { lisn: SPAPR_IRQ_EPOW, pq: 1, target: 1, priority: 5, eisn: 0x42, masked: false },
      { lisn: SPAPR_IRQ_HOTPLUG, pq: 2, target: 0, priority: 0xff, eisn: 0, masked: true },
      { lisn: SPAPR_IRQ_VIO, pq: 3, target: 0, priority: 6, eisn: 0, masked: false },
    ]);
    // only the priorities below 7 that have a queue; index and toggle as KVM reports them
    expect(s.queues).toMatchObject([
      { server: 0, priority: 6, qshift: 12, qaddr: 0x310000n, qindex: 0 },
      { server: 1, priority: 5, qshift: 16, qaddr: 0x300000n, qindex: 0 },
    ]);
    expect(s.vpState).toEqual([
      { vcpu: 0, w01: 0x1111n },
      { vcpu: 1, w01: 0x2222n },
    ]);
    // inactive (XICS negotiated): nothing
    expect(machine("xics").irq.xive.saveState()).toEqual({ sources: [], queues: [], vpState: [] });
  });

  it("leaves out a vCPU whose context KVM does not give", () => {
    const q = configured();
    const vcpus = q.vcpus.map((v) =>
      v.id === 0
        ? {
            id: 0,
            fd: Object.assign(Object.create(v.fd) as KvmVcpuFd, {
              getOneReg: () => ({ ret: -6, value: 0n }),
            }),
          }
        : v,
    );
    const x = new SpaprXive(q.vm, q.ram, vcpus, 2);
    // the machine's own device is the VM's only one: read the state through a second view of it
    Object.assign(x, { device: (q.irq.xive as unknown as { device: KvmDeviceFd }).device, active: true });
    expect(x.saveState().vpState).toEqual([{ vcpu: 1, w01: 0x2222n }]);
  });

  it("restores the state on the destination: the same hcall answers, PQ bits, queues and contexts", () => {
    const src = configured();
    const state = src.irq.xive.saveState();
    const dst = machine("xics");
    const r = recordingVm(dst);
    const x = new SpaprXive(r.vm, dst.ram, dst.vcpus, 2);
    // the destination connects as it loads
    x.loadState(state);
    expect(x.active).toBe(true);
    expect(x.saveState()).toEqual(state);
    const sourceConfig = (hcall: (args: bigint[]) => number, lisn: number) => {
      const args = [0n, BigInt(lisn)];
      expect(hcall(args)).toBe(H_SUCCESS);
      return args.slice(0, 3);
    };
    for (const lisn of [SPAPR_IRQ_EPOW, SPAPR_IRQ_VIO, SPAPR_IRQ_HOTPLUG]) {
      expect(sourceConfig((a) => x.hcall(H_INT_GET_SOURCE_CONFIG, a), lisn)).toEqual(
        sourceConfig((a) => src.irq.hcall(0, H_INT_GET_SOURCE_CONFIG, a) ?? H_FUNCTION, lisn),
      );
    }
    // queues come back with ALWAYS_NOTIFY, their index and toggle
    const eqs = r.calls.filter((c) => c.group === KVM_DEV_XIVE_GRP_EQ_CONFIG);
    expect(eqs.map((c) => c.value)).toEqual(
      state.queues.map((qu) => ({
        flags: 1,
        qshift: qu.qshift,
        qaddr: qu.qaddr,
        qtoggle: qu.qtoggle,
        qindex: qu.qindex,
      })),
    );
    expect(eqs.map((c) => c.attr)).toEqual([(0n << 3n) | 6n, (1n << 3n) | 5n]);
    expect(dst.vcpus.map((v) => v.fd.getOneReg(KVM_REG_PPC_VP_STATE).value >> 64n)).toEqual([
      0x1111n,
      0x2222n,
    ]);
  });

  it("configures KVM's sources exactly as the guest's hcalls did on the source", () => {
    const q = machine("xics");
    const rs = recordingVm(q);
    const a = new SpaprXive(rs.vm, q.ram, q.vcpus, 2);
    a.activate();
    expect(h(a, H_INT_SET_SOURCE_CONFIG, SPAPR_XIVE_SRC_SET_EISN, SPAPR_IRQ_EPOW, 1, 5, 0x42).rc).toBe(
      H_SUCCESS,
    );
    expect(h(a, H_INT_SET_SOURCE_CONFIG, SPAPR_XIVE_SRC_SET_EISN, SPAPR_IRQ_VIO, 0, 0xff, 0x7).rc).toBe(
      H_SUCCESS,
    );
    const byHcall = rs.calls.filter((c) => c.group === KVM_DEV_XIVE_GRP_SOURCE_CONFIG);
    const state = a.saveState();
    const d = machine("xics");
    const rd = recordingVm(d);
    new SpaprXive(rd.vm, d.ram, d.vcpus, 2).loadState({
      ...state,
      sources: state.sources.filter((s) => s.lisn === SPAPR_IRQ_EPOW || s.lisn === SPAPR_IRQ_VIO),
    });
    expect(rd.calls.filter((c) => c.group === KVM_DEV_XIVE_GRP_SOURCE_CONFIG)).toEqual(byHcall);
  });

  it("fails the load when KVM refuses a queue, naming its server and priority", () => {
    const state = configured().irq.xive.saveState();
    const dst = machine("xics");
    const r = recordingVm(dst, {
      dev: (dev) => ({
        setAttr: (g: number, attr: bigint, v?: bigint | KvmPpcXiveEq) =>
          g === KVM_DEV_XIVE_GRP_EQ_CONFIG ? -22 : dev.setAttr(g, attr, v),
      }),
    });
    const e = qemuErrorOf(() => new SpaprXive(r.vm, dst.ram, dst.vcpus, 2).loadState(state));
    expect(e).toBeInstanceOf(QemuError);
    expect(e.reason).toBe("XIVE: could not restore the queue of server 0 priority 6: 22");
  });
});
