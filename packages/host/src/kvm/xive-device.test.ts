// KVM's XIVE native device decision by decision, on the host XIVE alone (no guest running):
// linux: arch/powerpc/kvm/book3s_xive_native.c (kvmppc_xive_native_connect_vcpu, _set_attr,
// _get_attr, _set_source, _set_source_config, _set_queue_config, _get_queue_config, _reset,
// xive_native_tima_fault, xive_native_esb_fault) and book3s_xive.c (kvmppc_xive_push_vcpu,
// kvmppc_xive_pull_vcpu, kvmppc_xive_rearm_escalation, xive_esc_irq), plus the host side
// arch/powerpc/sysdev/xive/common.c xive_get_irq as HostXive.handle does it.
import {
  type HwThread,
  Memory,
  TM_QW1_OS,
  TM_QW3_HV_PHYS,
  XIVE_ESB_GET,
  XIVE_ESB_OFF,
  XIVE_ESB_PENDING,
  XIVE_ESB_RESET,
  XIVE_ESB_SET_PQ_00,
  XiveError,
} from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { HOST_XIVE_PRIORITY, HostXive } from "../xive-host.js";
import * as U from "./abi.js";
import { type KvmPpcXiveEq, KvmXiveNativeDevice, type XiveNativeVcpu } from "./xive-native.js";

const lines = new Map<number, { ee: boolean; hvi: boolean }>();
function threads(n: number): HwThread[] {
  return Array.from({ length: n }, (_, pir) => {
    const l = { ee: false, hvi: false };
    lines.set(pir, l);
    return {
      pir,
      setExternalInterrupt: (v: boolean) => {
        l.ee = v;
      },
      setHvVirtInterrupt: (v: boolean) => {
        l.hvi = v;
      },
    } as unknown as HwThread;
  });
}

function setup(memory: Memory | null = new Memory(1 << 22)) {
  const host = new HostXive(threads(4));
  const dev = new KvmXiveNativeDevice({ guestRealMemory: () => memory }, host, 1, 16);
  const wakes: number[] = [];
  const vcpu = (id: number, hostCpuId = id): XiveNativeVcpu => ({
    id,
    hostCpuId,
    escalationWake: () => wakes.push(id),
  });
  return { host, dev, vcpu, wakes, memory };
}

const eqAttr = (server: number, prio: number) =>
  (BigInt(server) << U.KVM_XIVE_EQ_SERVER_SHIFT) | BigInt(prio);
const eq = (o: Partial<KvmPpcXiveEq> = {}): KvmPpcXiveEq => ({
  flags: 0,
  qshift: 16,
  qaddr: 0x100000n,
  qtoggle: 0,
  qindex: 0,
  ...o,
});
const srcCfg = (server: number, prio: number, eisn: number, masked = false) =>
  BigInt(prio) |
  (BigInt(server) << U.KVM_XIVE_SOURCE_SERVER_SHIFT) |
  (BigInt(eisn) << U.KVM_XIVE_SOURCE_EISN_SHIFT) |
  (masked ? U.KVM_XIVE_SOURCE_MASKED_MASK : 0n);

describe("the host XIVE (xive_setup_cpu, xive_native_alloc_irq, xive_get_irq)", () => {
  it("an interrupt requested for a CPU is routed to its hypervisor ring at the host priority and handled once", () => {
    const { host } = setup();
    const raised: number[] = [];
    host.onRaise = (cpu) => raised.push(cpu);
    const got: number[] = [];
    const irq = host.requestIrq(2, (cpu) => got.push(cpu));
    expect(host.hw.getEas(irq)).toEqual({
      target: { kind: "phys", pir: 2 },
      priority: HOST_XIVE_PRIORITY,
      eisn: irq,
      masked: false,
    });
    expect(host.hw.pq[irq]).toBe(XIVE_ESB_OFF);
    host.hw.esbLoad(irq, XIVE_ESB_SET_PQ_00);
    host.hw.trigger(irq);
    expect(raised).toEqual([2]);
    expect(host.pending(2)).toBe(true);
    expect(host.pending(1)).toBe(false);
    expect(lines.get(2)?.hvi).toBe(true);
    expect(host.handle(2)).toBe(1);
    expect(got).toEqual([2]);
    expect(host.handled.get(2)).toBe(1);
    // CPPR back to 0xff, nothing left
    expect(host.pending(2)).toBe(false);
    expect(host.handle(2)).toBe(0);
    expect(host.handled.get(2)).toBe(1);
    // a second event (the source is not EOIed: P still set, the trigger coalesces into Q)
    host.hw.trigger(irq);
    expect(host.handle(2)).toBe(0);
    expect(() => host.requestIrq(9, () => {})).toThrow("host CPU 9 does not exist");
    expect(host.handle(9)).toBe(0);
    host.freeIrq(irq);
    expect(host.hw.getEas(irq)).toBeNull();
  });

  it("the queue wraps: its toggle bit flips, later entries are still found", () => {
    const { host } = setup();
    let count = 0;
    const irq = host.requestIrq(0, () => count++);
    const entries = (1 << 16) / 4;
    for (let i = 0; i < entries + 3; i++) {
      host.hw.esbLoad(irq, XIVE_ESB_SET_PQ_00);
      host.hw.trigger(irq);
      host.handle(0);
    }
    expect(count).toBe(entries + 3);
    expect(host.handled.get(0)).toBe(entries + 3);
  });
});

describe("KVM XIVE device: vCPUs and servers", () => {
  it("connect_vcpu: servers below the device's count, one vCPU per server, one server per vCPU", () => {
    const { dev, vcpu } = setup();
    expect(dev.connectVcpu(vcpu(0), 0)).toBe(0);
    expect(dev.vcpuState(0)?.vpId).toBe(dev.vpBase);
    expect(dev.vpBase).toBe(0x400 + 0x800);
    expect(dev.connectVcpu(vcpu(0), 1)).toBe(-U.EBUSY);
    expect(dev.connectVcpu(vcpu(1), 0)).toBe(-U.EEXIST);
    expect(dev.connectVcpu(vcpu(1), -1)).toBe(-U.EINVAL);
    expect(dev.connectVcpu(vcpu(1), 1.5)).toBe(-U.EINVAL);
    expect(dev.connectVcpu(vcpu(1), 2048)).toBe(-U.EINVAL);
    expect(dev.connectVcpu(vcpu(1), 2047)).toBe(0);
    expect(dev.vcpuState(1)?.vpId).toBe(dev.vpBase + 2047);
    expect(dev.vcpuState(5)).toBeUndefined();
  });

  it("KVM_DEV_XIVE_NR_SERVERS limits the servers, and only before a vCPU connects", () => {
    const { dev, vcpu } = setup();
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_CTRL, BigInt(U.KVM_DEV_XIVE_NR_SERVERS), 4n)).toBe(0);
    expect(dev.connectVcpu(vcpu(0), 4)).toBe(-U.EINVAL);
    expect(dev.connectVcpu(vcpu(0), 3)).toBe(0);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_CTRL, BigInt(U.KVM_DEV_XIVE_NR_SERVERS), 8n)).toBe(-U.EBUSY);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_CTRL, BigInt(U.KVM_DEV_XIVE_EQ_SYNC))).toBe(0);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_CTRL, 99n)).toBe(-U.ENXIO);
    expect(dev.setAttr(99, 0n)).toBe(-U.ENXIO);
    expect(dev.getAttr(99, 0n)).toBe(-U.ENXIO);
  });
});

describe("KVM XIVE device: sources", () => {
  it("set_source backs a guest source with a host interrupt, masked (PQ 01, no route); again reuses it", () => {
    const { dev, host } = setup();
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, 5n)).toBe(0);
    const hw = dev.hwIrqOf(5);
    if (hw === undefined) throw new Error("no hw irq");
    expect(host.hw.pq[hw]).toBe(XIVE_ESB_OFF);
    expect(host.hw.getEas(hw)).toBeNull();
    expect(dev.getAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 5n)).toBe(U.KVM_XIVE_SOURCE_MASKED_MASK);
    host.hw.esbLoad(hw, XIVE_ESB_SET_PQ_00);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, 5n)).toBe(0);
    expect(dev.hwIrqOf(5)).toBe(hw);
    expect(host.hw.pq[hw]).toBe(XIVE_ESB_OFF);
    expect(dev.sourcePq(5)).toBe(XIVE_ESB_OFF);
    expect(dev.sourcePq(6)).toBeUndefined();
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, 0x1fffn)).toBe(0);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, 2n)).toBe(0);
    expect(dev.sourceNumbers()).toEqual([2, 5, 0x1fff]);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_SYNC, 5n)).toBe(0);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_SYNC, 6n)).toBe(-U.ENOENT);
  });

  it("source numbers from 0 below 0x2000 (KVMPPC_XIVE_NR_IRQS); out of host interrupts is -ENOSPC", () => {
    const { dev } = setup();
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, 0x2000n)).toBe(-U.E2BIG);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, -1n)).toBe(-U.E2BIG);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, 0n)).toBe(0);
    // the host XIVE hands out 0x1000 dynamic interrupts (0x1000..0x1fff); one is taken already
    let r = 0;
    let n = 1;
    for (; n < 0x2000 && r === 0; n++) r = dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, BigInt(n));
    expect(r).toBe(-U.ENOSPC);
    expect(n - 1).toBe(0x1000);
  });

  it("set_source_config routes an unmasked source to the server's virtual processor with priority and EISN", () => {
    const { dev, host, vcpu } = setup();
    expect(dev.connectVcpu(vcpu(0), 3)).toBe(0);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 5n, srcCfg(3, 6, 0x42))).toBe(-U.ENOENT);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, 5n)).toBe(0);
    const hw = dev.hwIrqOf(5) as number;
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 5n, srcCfg(3, 6, 0x42))).toBe(0);
    expect(host.hw.getEas(hw)).toEqual({
      target: { kind: "nvt", nvt: dev.vpBase + 3 },
      priority: 6,
      eisn: 0x42,
      masked: false,
    });
    expect(dev.getAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 5n)).toBe(srcCfg(3, 6, 0x42));
    // masked: unrouted, the configuration kept for migration
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 5n, srcCfg(3, 6, 0x42, true))).toBe(0);
    expect(host.hw.getEas(hw)).toBeNull();
    expect(dev.getAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 5n)).toBe(srcCfg(3, 6, 0x42, true));
    // a server no vCPU has
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 5n, srcCfg(4, 6, 0x42))).toBe(-U.EINVAL);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 5n, eq() as never)).toBe(-U.EINVAL);
    expect(dev.getAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 6n)).toBe(-U.ENOENT);
  });
});

describe("KVM XIVE device: event queues", () => {
  it("set_queue_config: a queue in guest memory and the vCPU's escalation, once", () => {
    const { dev, host, vcpu } = setup();
    expect(dev.connectVcpu(vcpu(0, 2), 1)).toBe(0);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(1, 6), eq({ flags: 1 }))).toBe(0);
    const st = dev.vcpuState(0);
    const esc = st?.escIrq;
    if (esc == null) throw new Error("no escalation");
    const end = host.hw.getEnd({ kind: "nvt", nvt: dev.vpBase + 1 }, 6);
    expect(end?.escalation).toBe(esc);
    expect(end?.queue?.addr).toBe(0x100000);
    expect(end?.queue?.entries).toBe((1 << 16) / 4);
    // the escalation is a host interrupt on the vCPU's host CPU, off until the first cede
    expect(host.hw.getEas(esc)?.target).toEqual({ kind: "phys", pir: 2 });
    expect(host.hw.pq[esc]).toBe(XIVE_ESB_OFF);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(1, 5), eq({ qaddr: 0x200000n }))).toBe(0);
    expect(dev.vcpuState(0)?.escIrq).toBe(esc);
    expect(dev.getAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(1, 6))).toEqual({
      flags: 1,
      qshift: 16,
      qaddr: 0x100000n,
      qtoggle: 1,
      qindex: 0,
    });
    // an unconfigured priority reads as zeros; an unknown server -ENOENT
    expect(dev.getAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(1, 2))).toEqual({
      flags: 0,
      qshift: 0,
      qaddr: 0n,
      qtoggle: 0,
      qindex: 0,
    });
    expect(dev.getAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(0, 6))).toBe(-U.ENOENT);
    // qshift 0 resets the queue
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(1, 6), eq({ qshift: 0 }))).toBe(0);
    expect(host.hw.getEnd({ kind: "nvt", nvt: dev.vpBase + 1 }, 6)?.queue).toBeNull();
    expect(dev.getAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(1, 6))).toMatchObject({ qshift: 0 });
  });

  it("queue sizes 4K, 64K, 2M, 16M; aligned to their size, inside guest memory", () => {
    const { dev, vcpu } = setup(new Memory(1 << 25));
    expect(dev.connectVcpu(vcpu(0), 0)).toBe(0);
    const set = (o: Partial<KvmPpcXiveEq>) => dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(0, 6), eq(o));
    for (const qshift of [12, 16, 21, 24])
      expect([qshift, set({ qshift, qaddr: 1n << 24n })]).toEqual([qshift, 0]);
    for (const qshift of [11, 13, 17, 25])
      expect([qshift, set({ qshift, qaddr: 1n << 24n })]).toEqual([qshift, -U.EINVAL]);
    expect(set({ qshift: 16, qaddr: 0x101000n })).toBe(-U.EINVAL);
    expect(set({ qshift: 24, qaddr: 1n << 25n })).toBe(-U.EINVAL); // past the end of guest memory
    expect(set({ qshift: 16, qaddr: (1n << 25n) - 0x10000n })).toBe(0); // the last 64K
    expect(set({ qshift: 16, qaddr: 0x100000n })).toBe(0);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(0, 6), 5n)).toBe(-U.EINVAL);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(3, 6), eq())).toBe(-U.ENOENT);
    const none = setup(null);
    expect(none.dev.connectVcpu(none.vcpu(0), 0)).toBe(0);
    expect(none.dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(0, 6), eq())).toBe(-U.EINVAL);
  });

  it("a migrated queue's index and toggle are restored (xive_native_set_queue_state)", () => {
    const { dev, host, vcpu } = setup();
    expect(dev.connectVcpu(vcpu(0), 0)).toBe(0);
    const entries = (1 << 12) / 4;
    expect(
      dev.setAttr(
        U.KVM_DEV_XIVE_GRP_EQ_CONFIG,
        eqAttr(0, 6),
        eq({ qshift: 12, qindex: entries + 5, qtoggle: 3 }),
      ),
    ).toBe(0);
    const q = host.hw.getEnd({ kind: "nvt", nvt: dev.vpBase }, 6)?.queue;
    expect([q?.index, q?.generation]).toEqual([5, 1]);
    expect(dev.getAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(0, 6))).toMatchObject({ qindex: 5, qtoggle: 1 });
    // only the toggle given
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(0, 5), eq({ qshift: 12, qtoggle: 1 }))).toBe(0);
    const q5 = host.hw.getEnd({ kind: "nvt", nvt: dev.vpBase }, 5)?.queue;
    expect([q5?.index, q5?.generation]).toEqual([0, 1]);
    // neither: a fresh queue (generation 1 is the hardware's start: entries of toggle 0 are empty)
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(0, 4), eq({ qshift: 12 }))).toBe(0);
    const q4 = host.hw.getEnd({ kind: "nvt", nvt: dev.vpBase }, 4)?.queue;
    expect(q4?.index).toBe(0);
  });

  it("KVM_DEV_XIVE_RESET masks every source and drops every queue", () => {
    const { dev, host, vcpu } = setup();
    expect(dev.connectVcpu(vcpu(0), 0)).toBe(0);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, 1n)).toBe(0);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(0, 6), eq())).toBe(0);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 1n, srcCfg(0, 6, 1))).toBe(0);
    const hw = dev.hwIrqOf(1) as number;
    host.hw.esbLoad(hw, XIVE_ESB_SET_PQ_00);
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_CTRL, BigInt(U.KVM_DEV_XIVE_RESET))).toBe(0);
    expect(host.hw.pq[hw]).toBe(XIVE_ESB_OFF);
    expect(host.hw.getEas(hw)).toBeNull();
    expect(dev.getAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 1n)).toBe(U.KVM_XIVE_SOURCE_MASKED_MASK);
    expect(host.hw.getEnd({ kind: "nvt", nvt: dev.vpBase }, 6)?.queue).toBeNull();
    expect(dev.getAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(0, 6))).toMatchObject({ qshift: 0 });
  });
});

describe("KVM XIVE device: mmap", () => {
  it("the ESB pages: even page triggers, odd page manages the PQ; loads on the trigger page read all ones", () => {
    const { dev, host } = setup();
    expect(dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, 3n)).toBe(0);
    const hw = dev.hwIrqOf(3) as number;
    const esb = dev.mmap(U.KVM_XIVE_ESB_PAGE_OFFSET);
    if (typeof esb === "number") throw new Error("mmap");
    const trig = 3 << 17;
    const mgmt = trig + (1 << 16);
    expect(esb.load(mgmt + XIVE_ESB_GET, 8, 0)).toBe(BigInt(XIVE_ESB_OFF));
    expect(esb.load(mgmt + XIVE_ESB_SET_PQ_00, 8, 0)).toBe(BigInt(XIVE_ESB_OFF));
    expect(host.hw.pq[hw]).toBe(XIVE_ESB_RESET);
    expect(esb.load(trig, 8, 0)).toBe(0xffffffffffffffffn);
    esb.store(trig, 8, 0n, 0);
    expect(host.hw.pq[hw]).toBe(XIVE_ESB_PENDING);
    esb.store(mgmt + XIVE_ESB_SET_PQ_00, 8, 0n, 0);
    expect(host.hw.pq[hw]).toBe(XIVE_ESB_RESET);
    expect(() => esb.load((4 << 17) + (1 << 16), 8, 0)).toThrow(XiveError);
    expect(() => esb.store(4 << 17, 8, 0n, 0)).toThrow(/guest source 4, which KVM has not set up/);
    expect(dev.mmap(2)).toBe(-U.EINVAL);
  });

  it("the TIMA: only the OS page, for loads and stores", () => {
    const { dev } = setup();
    const tima = dev.mmap(U.KVM_XIVE_TIMA_PAGE_OFFSET);
    if (typeof tima === "number") throw new Error("mmap");
    const os = 2 << 16;
    expect(() => tima.load(os + TM_QW1_OS, 1, 0)).not.toThrow();
    expect(() => tima.store(os + TM_QW1_OS + 1, 1, 0xffn, 0)).not.toThrow();
    for (const page of [0, 1, 3]) {
      expect(() => tima.load((page << 16) + TM_QW1_OS, 1, 0)).toThrow(`TIMA page ${page} is not mapped`);
      expect(() => tima.store((page << 16) + TM_QW1_OS, 1, 0n, 0)).toThrow(XiveError);
    }
  });
});

/** vCPU 0 (server 0, on host CPU `hostCpu`) with a queue at priority 6 and source 1 routed to it, unmasked. */
function ready(hostCpu = 1) {
  const s = setup();
  expect(s.dev.connectVcpu(s.vcpu(0, hostCpu), 0)).toBe(0);
  expect(s.dev.setAttr(U.KVM_DEV_XIVE_GRP_EQ_CONFIG, eqAttr(0, 6), eq())).toBe(0);
  expect(s.dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE, 1n)).toBe(0);
  expect(s.dev.setAttr(U.KVM_DEV_XIVE_GRP_SOURCE_CONFIG, 1n, srcCfg(0, 6, 0x10))).toBe(0);
  const hw = s.dev.hwIrqOf(1) as number;
  s.host.hw.esbLoad(hw, XIVE_ESB_SET_PQ_00);
  const st = s.dev.vcpuState(0);
  if (st === undefined) throw new Error("state");
  return { ...s, hw, st, tctx: s.host.hw.tctx(hostCpu) };
}

describe("KVM XIVE device: entry, exit and cede", () => {
  it("VP_STATE round-trips words 0-1 of the OS ring; unknown vCPUs -ENOENT", () => {
    const { dev } = ready();
    const w01 = 0x00ff0000000000ffn;
    expect(dev.setVpState(0, (w01 << 64n) | 0x1234n)).toBe(0);
    expect(dev.vcpuState(0)?.w01).toBe(w01);
    expect(dev.vcpuState(0)?.savedCppr).toBe(0xff);
    expect(dev.vcpuState(0)?.savedPipr).toBe(0xff);
    expect(dev.getVpState(0)).toBe(w01 << 64n);
    expect(dev.getVpState(1)).toBe(-U.ENOENT);
    expect(dev.setVpState(1, 0n)).toBe(-U.ENOENT);
  });

  it("push loads the VP on the thread, pull saves the ring with LSMFB, ACK# and INC cleared", () => {
    const { dev, st, tctx } = ready();
    expect(dev.setVpState(0, 0x00ff0000000000ffn << 64n)).toBe(0);
    dev.push(0, tctx);
    expect(st.pushed).toBe(true);
    expect(tctx.osCam()).toBe(st.vpId);
    dev.pull(0, tctx);
    expect(st.pushed).toBe(false);
    expect(tctx.osCam()).toBeNull();
    expect(st.w01 & 0x000000ffffffff00n).toBe(0n);
    expect(st.savedCppr).toBe(0xff);
    // pulling again, or an unknown vCPU, does nothing
    st.w01 = 0x1234n;
    dev.pull(0, tctx);
    expect(st.w01).toBe(0x1234n);
    dev.push(7, tctx);
    dev.pull(7, tctx);
    expect(tctx.osCam()).toBeNull();
  });

  it("an event while the vCPU is ceded fires its escalation on its host CPU, which wakes it once", () => {
    const { dev, host, hw, st, wakes } = ready();
    expect(dev.interruptPending(0)).toBe(false);
    // H_CEDE: arm the escalation (PQ 00); nothing in the backlog, so the cede goes on
    expect(dev.rearmEscalation(0)).toBe(true);
    expect(st.escOn).toBe(true);
    expect(host.hw.pq[st.escIrq as number]).toBe(XIVE_ESB_RESET);
    host.hw.trigger(hw);
    // the VP is not on a thread: the event is in the backlog and escalates to host CPU 1
    expect(dev.interruptPending(0)).toBe(true);
    expect(host.pending(1)).toBe(true);
    expect(host.handle(1)).toBe(1);
    expect(wakes).toEqual([0]);
    expect([st.escalations, st.irqPending, st.escOn]).toEqual([1, true, false]);
    // the next entry clears irq_pending; the escalation stays P until the next cede re-arms it
    dev.push(0, host.hw.tctx(1));
    expect(st.irqPending).toBe(false);
  });

  it("a cede with an escalation still armed sets PQ 10 and is aborted; pushing masks an armed escalation", () => {
    const { dev, host, st } = ready();
    expect(dev.rearmEscalation(0)).toBe(true);
    expect(dev.rearmEscalation(0)).toBe(false);
    expect(host.hw.pq[st.escIrq as number]).toBe(XIVE_ESB_PENDING); // PQ 10
    // push with xive_esc_on: mask it (PQ 01); P was set so esc_on stays for its handler
    dev.push(0, host.hw.tctx(1));
    expect(st.escOn).toBe(true);
    dev.pull(0, host.hw.tctx(1));
    // now armed with P clear: the push masks it and clears esc_on
    st.escOn = true;
    host.hw.esbLoad(st.escIrq as number, XIVE_ESB_SET_PQ_00);
    dev.push(0, host.hw.tctx(1));
    expect(st.escOn).toBe(false);
    expect(host.hw.pq[st.escIrq as number]).toBe(XIVE_ESB_OFF);
  });

  it("a cede with events already in the backlog is aborted; a vCPU without escalation always cedes", () => {
    const { dev, host, hw } = ready();
    host.hw.trigger(hw); // escalation still off (PQ 01): the event only waits in the backlog
    expect(dev.interruptPending(0)).toBe(true);
    expect(dev.rearmEscalation(0)).toBe(false);
    const bare = setup();
    expect(bare.dev.connectVcpu(bare.vcpu(0), 0)).toBe(0);
    expect(bare.dev.rearmEscalation(0)).toBe(true);
    expect(bare.dev.rearmEscalation(9)).toBe(true);
    expect(bare.dev.interruptPending(9)).toBe(false);
  });

  it("xive_interrupt_pending: PIPR more favoured than CPPR in the saved ring", () => {
    const { dev, st } = ready();
    st.w01 = (0x07n << 48n) | 0x06n;
    expect(dev.interruptPending(0)).toBe(true);
    st.w01 = (0x06n << 48n) | 0x06n;
    expect(dev.interruptPending(0)).toBe(false);
  });
});

describe("the host ring after an escalation", () => {
  it("the escalation is presented on the hypervisor ring (QW3), not the OS ring", () => {
    const { dev, host, hw } = ready(3);
    expect(dev.rearmEscalation(0)).toBe(true);
    host.hw.trigger(hw);
    expect(host.hw.tctx(3).output(TM_QW3_HV_PHYS)).toBe(true);
    expect(host.hw.tctx(3).output(TM_QW1_OS)).toBe(false);
    expect(lines.get(3)?.hvi).toBe(true);
    // a second cede after the handler ran arms it again (PQ 00), but the first event still waits
    // in the backlog: the cede is aborted
    host.handle(3);
    expect(dev.rearmEscalation(0)).toBe(false);
    expect(host.hw.pq[dev.vcpuState(0)?.escIrq as number]).toBe(XIVE_ESB_RESET);
  });
});
