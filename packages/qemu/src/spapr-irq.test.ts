// The interrupt controller part of the machine decision by decision: ic-mode, the option vectors
// and CAS (qemu: hw/ppc/spapr_irq.c, hw/ppc/spapr_ovec.c, hw/ppc/spapr_hcall.c
// h_client_architecture_support / do_client_architecture_support), and the H_INT_* hcalls forwarded
// to KVM's XIVE native device (qemu: hw/intc/spapr_xive.c h_int_*, hw/intc/spapr_xive_kvm.c), on
// machines started paused (-S) on a real host.
import { SPAPR_XIVE_VC_BASE } from "@stopsim/isa";
import * as hv from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import {
  type ArchitectureVector,
  casReason,
  type IcMode,
  icModeOffers,
  initialIntc,
  negotiateCas,
  ov5Property,
  parseIcMode,
  platformOv5,
  platformSupportCells,
  readArchitectureVector,
} from "./irq.js";
import type { Qemu } from "./spapr.js";
import { H_MULTI_THREADS_ACTIVE } from "./spapr-irq.js";
import {
  SPAPR_XIVE_END_ALWAYS_NOTIFY,
  SPAPR_XIVE_ESB_STORE,
  SPAPR_XIVE_SRC_MASK,
  SPAPR_XIVE_SRC_SET_EISN,
  spaprXivePriorityIsReserved,
} from "./spapr-xive.js";
import { startMachine } from "./test-helpers/machines.js";

/** An OV5 with the given bytes set (byte number -> value), 27 bytes long. */
function ov5Of(bytes: Record<number, number> = {}): Uint8Array {
  const ov5 = new Uint8Array(27);
  for (const [k, v] of Object.entries(bytes)) ov5[Number(k)] = v;
  return ov5;
}

function vector(ov5: Uint8Array | undefined, withOv1 = true): ArchitectureVector {
  const vectors = new Map<number, Uint8Array>();
  if (withOv1) vectors.set(1, new Uint8Array(2));
  if (ov5) vectors.set(5, ov5);
  return { pvrs: [{ mask: 0xffff0000, value: 0x004e0000 }], vectors };
}

describe("ic-mode and the platform's option vector 5", () => {
  it("accepts the three modes and offers XICS, XIVE or both", () => {
    expect(["xics", "xive", "dual"].map(parseIcMode)).toEqual(["xics", "xive", "dual"]);
    expect(() => parseIcMode("XICS")).toThrow('Bad value for "ic-mode" property');
    expect(icModeOffers("xics")).toEqual({ xics: true, xive: false });
    expect(icModeOffers("xive")).toEqual({ xics: false, xive: true });
    expect(icModeOffers("dual")).toEqual({ xics: true, xive: true });
    // before CAS: XICS where the mode has it
    expect(["xics", "xive", "dual"].map((m) => initialIntc(m as IcMode))).toEqual(["xics", "xive", "xics"]);
  });

  it("publishes the interrupt modes in ibm,arch-vec-5-platform-support byte 23", () => {
    // spapr_dt_ov5_platform_support on a POWER9 KVM host: 23 = 0x00 / 0x40 / 0x80, 24 = 0xc0, 25 = 0, 26 = 0x40
    expect(platformSupportCells("xics")).toEqual([0x170018c0, 0x19001a40]);
    expect(platformSupportCells("xive")).toEqual([0x174018c0, 0x19001a40]);
    expect(platformSupportCells("dual")).toEqual([0x178018c0, 0x19001a40]);
  });

  it("offers XIVE exploitation only where the mode has XIVE, radix and GTSE always", () => {
    expect(platformOv5("xics")).toEqual(ov5Of({ 24: 0x40, 26: 0x40 }));
    expect(platformOv5("xive")).toEqual(ov5Of({ 23: 0x40, 24: 0x40, 26: 0x40 }));
    expect(platformOv5("dual")).toEqual(ov5Of({ 23: 0x40, 24: 0x40, 26: 0x40 }));
  });

  it("writes ibm,architecture-vec-5 as its length minus one and bytes 1 up to the last non-zero one", () => {
    expect([...ov5Property(ov5Of())]).toEqual([0, 0]);
    expect([...ov5Property(ov5Of({ 1: 7 }))]).toEqual([0, 7]);
    expect([...ov5Property(ov5Of({ 2: 0x80 }))]).toEqual([1, 0, 0x80]);
    const full = ov5Property(ov5Of({ 23: 0x40, 26: 0x40 }));
    expect(full.length).toBe(27);
    expect([full[0], full[23], full[24], full[26]]).toEqual([25, 0x40, 0, 0x40]);
  });
});

describe("reading ibm,architecture-vec (cas_check_pvr, spapr_ovec_parse_vector)", () => {
  const be32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  const read = (bytes: number[]) => readArchitectureVector((a) => bytes[a] ?? 0, 0);

  it("reads PVR pairs until one with a value bit outside its mask", () => {
    const v = read([
      ...be32(0xffffffff),
      ...be32(0x004e1202),
      ...be32(0xffff0000),
      ...be32(0x004e0000),
      ...be32(0xfffffffe),
      ...be32(0x00000001), // a value bit outside the mask: the terminator
      0, // one vector
      1,
      0xaa,
      0xbb,
    ]);
    expect(v.pvrs).toEqual([
      { mask: 0xffffffff, value: 0x004e1202 },
      { mask: 0xffff0000, value: 0x004e0000 },
    ]);
    expect([...v.vectors.keys()]).toEqual([1]);
    expect([...(v.vectors.get(1) ?? [])]).toEqual([0, 0xaa, 0xbb]);
  });

  it("stops after 512 PVR pairs even without a terminator", () => {
    const bytes: number[] = [];
    for (let i = 0; i < 512; i++) bytes.push(...be32(0xffffffff), ...be32(0x004e0000 + i));
    bytes.push(1, 0, 0x11, 0, 0x22); // two one-byte vectors right after the 512th pair
    const v = read(bytes);
    expect(v.pvrs).toHaveLength(512);
    expect(v.pvrs[511]).toEqual({ mask: 0xffffffff, value: 0x004e01ff });
    expect([...(v.vectors.get(1) ?? [])]).toEqual([0, 0x11]);
    expect([...(v.vectors.get(2) ?? [])]).toEqual([0, 0x22]);
  });
});

describe("CAS negotiation (do_client_architecture_support)", () => {
  it("answers H_PARAMETER with QEMU's warning when option vector 1 or 5 is missing", () => {
    expect(negotiateCas("dual", vector(ov5Of(), false))).toEqual({
      kind: "h_parameter",
      warning: "guest didn't provide option vector 1",
    });
    expect(negotiateCas("dual", vector(undefined))).toEqual({
      kind: "h_parameter",
      warning: "guest didn't provide option vector 5",
    });
  });

  it("exits on a guest asking for hash and radix at once, or for both interrupt modes", () => {
    expect(negotiateCas("dual", vector(ov5Of({ 24: 0x80 })))).toEqual({
      kind: "exit",
      error: "guest requested hash and radix MMU, which is invalid.",
    });
    expect(negotiateCas("dual", vector(ov5Of({ 23: 0x80 })))).toEqual({
      kind: "exit",
      error: "guest requested an invalid interrupt mode",
    });
  });

  it("negotiates the intersection of the platform's and the guest's OV5", () => {
    const r = negotiateCas("dual", vector(ov5Of({ 1: 0xff, 23: 0x40, 24: 0x40, 25: 0xff, 26: 0x40 })));
    expect(r).toEqual({
      kind: "ok",
      intc: "xive",
      ov5Cas: ov5Of({ 23: 0x40, 24: 0x40, 26: 0x40 }),
      guestXive: true,
    });
    const hash = negotiateCas("dual", vector(ov5Of({})));
    expect(hash).toEqual({ kind: "ok", intc: "xics", ov5Cas: ov5Of(), guestXive: false });
    // a short guest vector: the bytes it lacks count as zero
    const short = negotiateCas("xive", vector(new Uint8Array(3)));
    expect(short.kind === "exit" && short.error).toMatch(/unavailable interrupt mode \(XICS\)/);
    const xiveOnly = new Uint8Array(24);
    xiveOnly[23] = 0x40;
    const onXive = negotiateCas("xive", vector(xiveOnly));
    expect(onXive).toEqual({ kind: "ok", intc: "xive", ov5Cas: ov5Of({ 23: 0x40 }), guestXive: true });
  });

  it("refuses a mode the machine does not offer, with QEMU's hint", () => {
    expect(negotiateCas("xics", vector(ov5Of({ 23: 0x40 })))).toEqual({
      kind: "exit",
      error:
        "Guest requested unavailable interrupt mode (XIVE), try the ic-mode=xive or ic-mode=dual machine property",
    });
    expect(negotiateCas("xive", vector(ov5Of({ 24: 0x40 })))).toEqual({
      kind: "exit",
      error:
        "Guest requested unavailable interrupt mode (XICS), either don't set the ic-mode machine property or try ic-mode=xics or ic-mode=dual",
    });
    expect(negotiateCas("xics", vector(ov5Of({ 24: 0x40 }))).kind).toBe("ok");
  });

  it("says why CAS chose its controller", () => {
    expect(casReason("dual", { intc: "xive", guestXive: true })).toBe(
      "the platform offered both XICS and XIVE (ic-mode=dual); the guest asked for XIVE exploitation (OV5 byte 23 = 0x40)",
    );
    expect(casReason("xics", { intc: "xics", guestXive: false })).toBe(
      "the platform offered only XICS (ic-mode=xics); the guest did not ask for XIVE (OV5 byte 23 = 0x00)",
    );
  });
});

// ------------------------------------------------------------------------------------------------
// The machine's hcalls
// ------------------------------------------------------------------------------------------------

/** A 2-vCPU machine of the given ic-mode started paused: vCPU 0 at its entry point, vCPU 1 stopped. */
function machine(icMode: IcMode = "dual"): Qemu {
  return startMachine(`-M pseries-5.1,ic-mode=${icMode} -smp 2 -m 256M -S`, {
    build: { stopLiteCap: false, probeKvmCapStop: false },
    stop0lite: "never",
  }).q;
}

const VEC = 0x100000;
const BUF = 0x200000;

/** Writes an ibm,architecture-vec with option vectors 1..5 (the fifth = `ov5` bytes 1..). */
function writeVector(q: Qemu, ov5: Uint8Array, vectors = 5): void {
  q.ram.write32(VEC, 0xffff0000, false);
  q.ram.write32(VEC + 4, 0x004e0000, false);
  q.ram.write32(VEC + 8, 0, false);
  q.ram.write32(VEC + 12, 0xffffffff, false);
  let a = VEC + 16;
  q.ram.write8(a++, vectors - 1);
  for (let v = 1; v <= vectors; v++) {
    const bytes = v === 5 ? ov5.subarray(1) : new Uint8Array(1);
    q.ram.write8(a++, bytes.length - 1);
    for (const b of bytes) q.ram.write8(a++, b);
  }
}

const cas = (q: Qemu, vcpu = 0, vec = VEC, size = 0x100000) =>
  q.irq.hcall(vcpu, hv.KVMPPC_H_CAS, [BigInt(vec), BigInt(BUF), BigInt(size)]);

describe("KVMPPC_H_CAS (h_client_architecture_support)", () => {
  it("needs room for the update header, one active vCPU and a vector in RAM", () => {
    const q = machine();
    writeVector(q, ov5Of({ 23: 0x40 }));
    expect(cas(q, 0, VEC, 3)).toBe(hv.H_PARAMETER);
    expect(q.exitStatus).toBe(1);
    expect(q.stderr).toBe("qemu-system-ppc64: SLOF provided insufficient CAS buffer 3 (min: 4)");
    // exactly the header passes that check (fdt_bufsize < sizeof(hdr)); no tree fits in the 0 bytes left
    const bare = machine();
    writeVector(bare, ov5Of({ 23: 0x40 }));
    expect(cas(bare, 0, VEC, 4)).toBe(hv.H_PARAMETER);
    expect(bare.exitStatus).toBeUndefined();
    expect(bare.ram.read32(BUF, false)).toBe(0);

    const busy = machine();
    writeVector(busy, ov5Of({ 23: 0x40 }));
    // vCPU 0 runs (the boot CPU): a CAS from vCPU 1 finds another active vCPU
    expect(cas(busy, 1)).toBe(H_MULTI_THREADS_ACTIVE);
    // qemu: include/hw/ppc/spapr.h
    expect(H_MULTI_THREADS_ACTIVE).toBe(-9005);
    expect(busy.warnings).toContain("guest has multiple active vCPUs at CAS, which is not allowed");
    expect(busy.irq.cas).toBeNull();
    // the vector address is a real address: ppc64_phys_to_real drops the top 4 bits
    expect(cas(busy, 0, 256 << 20)).toBe(hv.H_PARAMETER);
    expect(busy.irq.hcall(0, hv.KVMPPC_H_CAS, [(0xcn << 60n) | BigInt(VEC), BigInt(BUF), 0x100000n])).toBe(
      hv.H_SUCCESS,
    );
    expect(busy.irq.active).toBe("xive");
  });

  it("warns and answers H_PARAMETER without option vector 5, exits on an unavailable mode", () => {
    const q = machine();
    writeVector(q, ov5Of(), 4);
    expect(cas(q)).toBe(hv.H_PARAMETER);
    expect(q.warnings).toContain("guest didn't provide option vector 5");
    expect(q.exitStatus).toBeUndefined();
    const xics = machine("xics");
    writeVector(xics, ov5Of({ 23: 0x40 }));
    expect(cas(xics)).toBe(hv.H_PARAMETER);
    expect(xics.exitStatus).toBe(1);
  });

  it("writes the update header and the new tree into the buffer, when it fits", () => {
    const q = machine();
    writeVector(q, ov5Of({ 23: 0x40, 24: 0x40, 26: 0x40 }));
    const size = q.dtb.length; // the tree before CAS: the new one is no smaller
    expect(cas(q, 0, VEC, size)).toBe(hv.H_PARAMETER);
    expect(q.ram.read32(BUF, false)).toBe(0);
    expect(cas(q)).toBe(hv.H_SUCCESS);
    expect(q.ram.read32(BUF, false)).toBe(1);
    expect(q.irq.cas).toMatchObject({ intc: "xive", guestXive: true });
    expect([...q.irq.ov5Cas.subarray(23, 27)]).toEqual([0x40, 0x40, 0, 0x40]);
    const dtb = new Uint8Array(q.dtb.length);
    for (let i = 0; i < dtb.length; i++) dtb[i] = q.ram.read8(BUF + 4 + i);
    expect(Buffer.compare(dtb, q.dtb)).toBe(0);
    // exactly header + tree fits
    const again = machine();
    writeVector(again, ov5Of({ 23: 0x40, 24: 0x40, 26: 0x40 }));
    expect(cas(again)).toBe(hv.H_SUCCESS);
    const exact = machine();
    writeVector(exact, ov5Of({ 23: 0x40, 24: 0x40, 26: 0x40 }));
    // one byte less does not: the header's 4 bytes come off the buffer first
    const short = machine();
    writeVector(short, ov5Of({ 23: 0x40, 24: 0x40, 26: 0x40 }));
    expect(cas(short, 0, VEC, again.dtb.length + 3)).toBe(hv.H_PARAMETER);
    expect(short.ram.read32(BUF, false)).toBe(0);
    expect(cas(exact, 0, VEC, again.dtb.length + 4)).toBe(hv.H_SUCCESS);
  });

  it("switches between the controllers on a second CAS, and routes only the H_INT_* numbers to XIVE", () => {
    const q = machine();
    expect(q.irq.active).toBe("xics");
    writeVector(q, ov5Of({ 23: 0x40 }));
    expect(cas(q)).toBe(hv.H_SUCCESS);
    expect(q.irq.active).toBe("xive");
    expect(q.irq.xive.active).toBe(true);
    expect(q.irq.hcall(0, hv.H_INT_SYNC, [0n, 0n])).toBe(hv.H_SUCCESS);
    for (const nr of [0x3a4, 0x3a9, 0x3d4, 0x3ca])
      expect(q.irq.hcall(0, nr, [0n, 0n]), `0x${nr.toString(16)}`).toBeUndefined();
    expect(q.irq.hcall(0, hv.H_INT_GET_OS_REPORTING_LINE, [])).toBe(hv.H_FUNCTION);
    writeVector(q, ov5Of());
    expect(cas(q)).toBe(hv.H_SUCCESS);
    expect(q.irq.active).toBe("xics");
    expect(q.irq.xive.active).toBe(false);
    expect(q.irq.hcall(0, hv.H_INT_SYNC, [0n, 0n])).toBe(hv.H_FUNCTION);
  });

  it("ic-mode=xive connects XIVE at reset", () => {
    const q = machine("xive");
    expect(q.irq.active).toBe("xive");
    expect(q.irq.xive.active).toBe(true);
    expect(q.irq.hcall(0, hv.H_INT_SYNC, [0n, 0n])).toBe(hv.H_SUCCESS);
  });
});

describe("the interrupt state in a migration (spapr_irq_post_load)", () => {
  it("takes the source's controller where this machine has it, and names the section it lacks", () => {
    const src = machine();
    writeVector(src, ov5Of({ 23: 0x40 }));
    cas(src);
    const state = src.irq.saveState();
    expect(state.xive).not.toBeNull();
    expect(state.ov5Cas[23]).toBe(0x40);
    expect(machine("xics").irq.loadState(state)).toBe(
      "Unknown savevm section or instance 'spapr-xive' 0. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices",
    );
    const dst = machine();
    expect(dst.irq.loadState(state)).toBeNull();
    expect(dst.irq.active).toBe("xive");
    expect(dst.irq.ov5Cas[23]).toBe(0x40);

    const xicsState = machine().irq.saveState();
    expect(xicsState.xive).toBeNull();
    expect(machine("xive").irq.loadState(xicsState)).toBe(
      "Unknown savevm section or instance 'icp' 0. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices",
    );
    expect(dst.irq.loadState(xicsState)).toBeNull();
    expect(dst.irq.active).toBe("xics");
    expect(dst.irq.xive.active).toBe(false);
  });
});

describe("the H_INT_* hcalls (hw/intc/spapr_xive.c)", () => {
  /** A dual machine whose guest negotiated XIVE. */
  function onXive(): Qemu {
    const q = machine();
    writeVector(q, ov5Of({ 23: 0x40 }));
    expect(cas(q)).toBe(hv.H_SUCCESS);
    return q;
  }
  const h = (q: Qemu, nr: number, ...a: (number | bigint)[]) => {
    const args = a.map(BigInt);
    return { rc: q.irq.hcall(0, nr, args), args };
  };
  const EPOW = 0x1000;
  const UNCLAIMED = 0x1002;

  it("reserves priorities 7 to 254 as ibm,plat-res-int-priorities <7 0xf8> says", () => {
    expect([0, 6, 7, 254, 255].map(spaprXivePriorityIsReserved)).toEqual([false, false, true, true, false]);
  });

  it("H_INT_GET_SOURCE_INFO: flags 0, a claimed source, its pages", () => {
    const q = onXive();
    expect(h(q, hv.H_INT_GET_SOURCE_INFO, 1, 0).rc).toBe(hv.H_PARAMETER);
    expect(h(q, hv.H_INT_GET_SOURCE_INFO, 0, UNCLAIMED).rc).toBe(hv.H_P2);
    expect(h(q, hv.H_INT_GET_SOURCE_INFO, 0, 0x2000).rc).toBe(hv.H_P2);
    expect(h(q, hv.H_INT_GET_SOURCE_INFO, 0, -1n).rc).toBe(hv.H_P2);
    const { rc, args } = h(q, hv.H_INT_GET_SOURCE_INFO, 0, EPOW);
    expect(rc).toBe(hv.H_SUCCESS);
    const page = BigInt(SPAPR_XIVE_VC_BASE) + (BigInt(EPOW) << 17n);
    expect(args).toEqual([1n << 1n, page + (1n << 16n), page, 16n]);
  });

  it("H_INT_SET_SOURCE_CONFIG / GET_SOURCE_CONFIG: routing, masking and the EISN", () => {
    const q = onXive();
    const set = (flags: bigint, lisn: number, target: number, prio: number, eisn: number) =>
      h(q, hv.H_INT_SET_SOURCE_CONFIG, flags, lisn, target, prio, eisn).rc;
    const get = (lisn: number) => h(q, hv.H_INT_GET_SOURCE_CONFIG, 0, lisn).args.slice(0, 3);
    expect(set(4n, EPOW, 1, 5, 0)).toBe(hv.H_PARAMETER); // only SET_EISN (PPC_BIT(62)) and MASK (PPC_BIT(63))
    expect(set(0n, UNCLAIMED, 1, 5, 0)).toBe(hv.H_P2);
    expect(set(0n, EPOW, 1, 7, 0)).toBe(hv.H_P4);
    expect(set(0n, EPOW, 1, 0x100, 0)).toBe(hv.H_P4);
    expect(set(0n, EPOW, 9, 5, 0)).toBe(hv.H_P3);
    // never configured: masked
    expect(get(EPOW)).toEqual([0n, 0xffn, 0n]);
    expect(set(SPAPR_XIVE_SRC_SET_EISN, EPOW, 1, 5, 0x80000123)).toBe(hv.H_SUCCESS);
    expect(get(EPOW)).toEqual([1n, 5n, 0x123n]);
    // without SET_EISN the EISN stays; MASK keeps the routing but reads back as priority 0xff
    expect(set(SPAPR_XIVE_SRC_MASK, EPOW, 0, 6, 0x999)).toBe(hv.H_SUCCESS);
    expect(get(EPOW)).toEqual([0n, 0xffn, 0x123n]);
    expect(set(0n, EPOW, 1, 6, 0)).toBe(hv.H_SUCCESS);
    expect(get(EPOW)).toEqual([1n, 6n, 0x123n]);
    // priority 0xff masks whatever the target, keeping the EISN
    expect(set(0n, EPOW, 9, 0xff, 0)).toBe(hv.H_SUCCESS);
    expect(get(EPOW)).toEqual([0n, 0xffn, 0x123n]);
    expect(h(q, hv.H_INT_GET_SOURCE_CONFIG, 1, EPOW).rc).toBe(hv.H_PARAMETER);
    expect(h(q, hv.H_INT_GET_SOURCE_CONFIG, 0, UNCLAIMED).rc).toBe(hv.H_P2);
  });

  it("H_INT_SET_QUEUE_CONFIG / GET_QUEUE_CONFIG / GET_QUEUE_INFO: sizes, alignment, RAM, priorities", () => {
    const q = onXive();
    const setq = (flags: bigint, target: number, prio: number, qpage: number, qsize: number) =>
      h(q, hv.H_INT_SET_QUEUE_CONFIG, flags, target, prio, qpage, qsize).rc;
    expect(setq(2n, 1, 6, 0x300000, 16)).toBe(hv.H_PARAMETER); // only ALWAYS_NOTIFY (PPC_BIT(63))
    expect(setq(0n, 2, 6, 0x300000, 16)).toBe(hv.H_P2);
    expect(setq(0n, 1, 7, 0x300000, 16)).toBe(hv.H_P3);
    expect(setq(0n, 1, 0x100, 0x300000, 16)).toBe(hv.H_P3);
    for (const bad of [11, 13, 15, 17, 20, 22, 25])
      expect(setq(0n, 1, 6, 0, bad), `qsize ${bad}`).toBe(hv.H_P5);
    expect(setq(0n, 1, 6, 0x301000, 16)).toBe(hv.H_P4); // not aligned on its size
    expect(setq(0n, 1, 6, 256 << 20, 12)).toBe(hv.H_P4); // outside RAM
    expect(setq(0n, 1, 6, (256 << 20) - 0x1000, 16)).toBe(hv.H_P4); // runs past the end of RAM
    for (const size of [12, 16, 21, 24])
      expect(setq(0n, 1, 5, 0x1000000, size), `qsize ${size}`).toBe(hv.H_SUCCESS);
    expect(setq(SPAPR_XIVE_END_ALWAYS_NOTIFY, 1, 6, 0x300000, 16)).toBe(hv.H_SUCCESS);
    const getq = h(q, hv.H_INT_GET_QUEUE_CONFIG, 0, 1, 6);
    expect(getq.rc).toBe(hv.H_SUCCESS);
    expect(getq.args).toEqual([0n, 0x300000n, 16n, 0n]);
    expect(h(q, hv.H_INT_GET_QUEUE_CONFIG, 1, 1, 6).rc).toBe(hv.H_PARAMETER);
    expect(h(q, hv.H_INT_GET_QUEUE_CONFIG, 0, 3, 6).rc).toBe(hv.H_P2);
    expect(h(q, hv.H_INT_GET_QUEUE_CONFIG, 0, 1, 7).rc).toBe(hv.H_P3);
    expect(h(q, hv.H_INT_GET_QUEUE_CONFIG, 0, 1, 0x100).rc).toBe(hv.H_P3);
    // qsize 0 resets the queue
    expect(setq(0n, 1, 6, 0x300000, 0)).toBe(hv.H_SUCCESS);
    expect(h(q, hv.H_INT_GET_QUEUE_CONFIG, 0, 1, 6).args.slice(1, 3)).toEqual([0n, 0n]);

    const info = h(q, hv.H_INT_GET_QUEUE_INFO, 0, 1, 5);
    expect(info.rc).toBe(hv.H_SUCCESS);
    const endIdx = ((0x400 + 1) << 3) + 5;
    expect(info.args[0]).toBe(BigInt(SPAPR_XIVE_VC_BASE) + (BigInt(0x2000) << 17n) + (BigInt(endIdx) << 17n));
    expect(info.args[1]).toBe(24n);
    expect(h(q, hv.H_INT_GET_QUEUE_INFO, 1, 1, 5).rc).toBe(hv.H_PARAMETER);
    expect(h(q, hv.H_INT_GET_QUEUE_INFO, 0, 4, 5).rc).toBe(hv.H_P2);
    expect(h(q, hv.H_INT_GET_QUEUE_INFO, 0, 1, 7).rc).toBe(hv.H_P3);
    expect(h(q, hv.H_INT_GET_QUEUE_INFO, 0, 1, 0x100).rc).toBe(hv.H_P3);
  });

  it("H_INT_ESB loads and stores the management page of a source; H_INT_SYNC and H_INT_RESET", () => {
    const q = onXive();
    expect(h(q, hv.H_INT_ESB, 2, EPOW, 0x800, 0).rc).toBe(hv.H_PARAMETER); // only STORE (PPC_BIT(63))
    expect(h(q, hv.H_INT_ESB, 0, UNCLAIMED, 0x800, 0).rc).toBe(hv.H_P2);
    expect(h(q, hv.H_INT_ESB, 0, EPOW, 0x1000, 0).rc).toBe(hv.H_P3);
    // XIVE_ESB_GET (0x800): a reset source is masked, PQ = 01
    const get = h(q, hv.H_INT_ESB, 0, EPOW, 0x800, 0);
    expect(get.rc).toBe(hv.H_SUCCESS);
    expect(get.args[0]).toBe(1n);
    // XIVE_ESB_SET_PQ_00 (0xc00) then GET: 00
    expect(h(q, hv.H_INT_ESB, 0, EPOW, 0xc00, 0).rc).toBe(hv.H_SUCCESS);
    expect(h(q, hv.H_INT_ESB, 0, EPOW, 0x800, 0).args[0]).toBe(0n);
    // a store the ESB page refuses (the GET offset is a load) is a hardware error
    expect(h(q, hv.H_INT_ESB, SPAPR_XIVE_ESB_STORE, EPOW, 0x800, 0).rc).toBe(hv.H_HARDWARE);
    // the trigger-on-management-page store: PQ 00 -> 10, read back with a GET
    expect(h(q, hv.H_INT_ESB, SPAPR_XIVE_ESB_STORE, EPOW, 0, 0).rc).toBe(hv.H_SUCCESS);
    expect(h(q, hv.H_INT_ESB, 0, EPOW, 0x800, 0).args[0]).toBe(2n);
    expect(h(q, hv.H_INT_SYNC, 1, EPOW).rc).toBe(hv.H_PARAMETER);
    expect(h(q, hv.H_INT_SYNC, 0, UNCLAIMED).rc).toBe(hv.H_P2);
    expect(h(q, hv.H_INT_SYNC, 0, EPOW).rc).toBe(hv.H_SUCCESS);
    // H_INT_RESET forgets every routing
    expect(h(q, hv.H_INT_SET_SOURCE_CONFIG, 0, EPOW, 1, 5, 0).rc).toBe(hv.H_SUCCESS);
    expect(h(q, hv.H_INT_RESET, 1).rc).toBe(hv.H_PARAMETER);
    expect(h(q, hv.H_INT_RESET, 0).rc).toBe(hv.H_SUCCESS);
    expect(h(q, hv.H_INT_GET_SOURCE_CONFIG, 0, EPOW).args.slice(0, 3)).toEqual([0n, 0xffn, 0n]);
  });
});
