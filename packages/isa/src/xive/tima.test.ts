// The presenter's thread context (TIMA) decision by decision against QEMU hw/intc/xive.c
// (xive_tctx_notify, xive_tctx_set_cppr, xive_tctx_accept, xive_tm_raw_read, the special
// operations TM_SPC_ACK_OS_REG / TM_SPC_ACK_HV_REG / TM_SPC_PULL_OS_CTX and the pages they are
// reached from) and linux arch/powerpc/include/asm/xive-regs.h for the layout.
import { describe, expect, it } from "vitest";
import { XiveError } from "./esb.js";
import {
  TM_CPPR,
  TM_IPB,
  TM_NSR,
  TM_PIPR,
  TM_QW0_USER,
  TM_QW1_OS,
  TM_QW2_HV_POOL,
  TM_QW3_HV_PHYS,
  TM_SPC_ACK_HV_REG,
  TM_SPC_ACK_OS_REG,
  TM_SPC_PULL_OS_CTX,
  TM_WORD2,
} from "./regs.js";
import { XIVE_TM_HV_PAGE, XIVE_TM_HW_PAGE, XIVE_TM_OS_PAGE, XIVE_TM_USER_PAGE, Xive } from "./xive.js";

/** Lines of a thread, with every level change recorded. */
function lines(pir: number) {
  const l = {
    pir,
    ext: [] as boolean[],
    hvi: [] as boolean[],
    setExternalInterrupt(v: boolean) {
      l.ext.push(v);
    },
    setHvVirtInterrupt(v: boolean) {
      l.hvi.push(v);
    },
  };
  return l;
}

function ctx() {
  const xive = new Xive(64, 32);
  const l = lines(4);
  const t = xive.attachThread(l);
  return { xive, l, t };
}

describe("reset state", () => {
  it("CPPR 0 on every ring (nothing presented), PIPR 0xff on the OS and PHYS rings, no context pushed", () => {
    const { t } = ctx();
    expect(t.w01(TM_QW1_OS)).toBe(0x00000000000000ffn);
    expect(t.w01(TM_QW3_HV_PHYS)).toBe(0x00000000000000ffn);
    expect(t.osCam()).toBeNull();
    expect([t.output(TM_QW1_OS), t.output(TM_QW3_HV_PHYS)]).toEqual([false, false]);
    expect(t.pir).toBe(4);
  });
});

describe("notify and CPPR (qemu: xive_tctx_notify, xive_tctx_set_cppr)", () => {
  it("a priority more favoured than CPPR raises the ring's line with its NSR bit: EO on the OS ring, HE=PHYS on QW3", () => {
    const { t, l } = ctx();
    t.setCppr(TM_QW1_OS, 0xff);
    t.ipbUpdate(TM_QW1_OS, 5);
    expect(t.regs[TM_QW1_OS + TM_IPB]).toBe(0x04);
    expect(t.regs[TM_QW1_OS + TM_PIPR]).toBe(5);
    expect(t.regs[TM_QW1_OS + TM_NSR]).toBe(0x80);
    expect(l.ext).toEqual([true]);
    expect(l.hvi).toEqual([]);
    t.setCppr(TM_QW3_HV_PHYS, 0xff);
    t.ipbUpdate(TM_QW3_HV_PHYS, 7);
    expect(t.regs[TM_QW3_HV_PHYS + TM_NSR]).toBe(0x80); // TM_QW3_NSR_HE_PHYS << 6
    expect(t.regs[TM_QW3_HV_PHYS + TM_PIPR]).toBe(7);
    expect(l.hvi).toEqual([true]);
    expect(l.ext).toEqual([true]); // the OS line did not move
    expect([t.output(TM_QW1_OS), t.output(TM_QW3_HV_PHYS)]).toEqual([true, true]);
  });

  it("a priority equal to or less favoured than CPPR is recorded in IPB but not signalled", () => {
    const { t, l } = ctx();
    t.setCppr(TM_QW1_OS, 5);
    t.ipbUpdate(TM_QW1_OS, 5);
    t.ipbUpdate(TM_QW1_OS, 6);
    expect(t.regs[TM_QW1_OS + TM_IPB]).toBe(0x06);
    expect(t.regs[TM_QW1_OS + TM_PIPR]).toBe(5);
    expect(t.regs[TM_QW1_OS + TM_NSR]).toBe(0);
    expect(l.ext).toEqual([]); // the line never rose
    // opening CPPR past PIPR presents it
    t.setCppr(TM_QW1_OS, 6);
    expect(t.regs[TM_QW1_OS + TM_NSR]).toBe(0x80);
    expect(l.ext.at(-1)).toBe(true);
  });

  it("CPPR above 7 means 0xff (everything in); 7 stays 7", () => {
    const { t } = ctx();
    t.setCppr(TM_QW1_OS, 8);
    expect(t.regs[TM_QW1_OS + TM_CPPR]).toBe(0xff);
    t.setCppr(TM_QW1_OS, 7);
    expect(t.regs[TM_QW1_OS + TM_CPPR]).toBe(7);
    t.ipbUpdate(TM_QW1_OS, 7);
    expect(t.output(TM_QW1_OS)).toBe(false);
    t.setCppr(TM_QW1_OS, 0xfe);
    expect(t.regs[TM_QW1_OS + TM_CPPR]).toBe(0xff);
    expect(t.output(TM_QW1_OS)).toBe(true);
  });

  it("closing CPPR to the pending priority or below lowers the line and clears NSR", () => {
    const { t, l } = ctx();
    t.setCppr(TM_QW3_HV_PHYS, 0xff);
    t.ipbUpdate(TM_QW3_HV_PHYS, 3);
    t.setCppr(TM_QW3_HV_PHYS, 3);
    expect(t.regs[TM_QW3_HV_PHYS + TM_NSR]).toBe(0);
    expect(l.hvi).toEqual([true, false]);
    expect(t.regs[TM_QW3_HV_PHYS + TM_IPB]).toBe(0x10); // still pending
    t.setCppr(TM_QW3_HV_PHYS, 4);
    expect(l.hvi).toEqual([true, false, true]);
  });
});

describe("acknowledge (qemu: xive_tctx_accept)", () => {
  it("takes the most favoured pending priority: CPPR = PIPR, its IPB bit cleared, the next one becomes PIPR", () => {
    const { t, l } = ctx();
    t.setCppr(TM_QW1_OS, 0xff);
    t.ipbUpdate(TM_QW1_OS, 5);
    t.ipbUpdate(TM_QW1_OS, 2);
    expect(t.accept(TM_QW1_OS)).toBe(0x8002);
    expect(t.regs[TM_QW1_OS + TM_CPPR]).toBe(2);
    expect(t.regs[TM_QW1_OS + TM_IPB]).toBe(0x04);
    expect(t.regs[TM_QW1_OS + TM_PIPR]).toBe(5);
    expect(t.regs[TM_QW1_OS + TM_NSR]).toBe(0);
    expect(l.ext.at(-1)).toBe(false);
    // the EOI path: the OS restores CPPR, the remaining priority is presented and taken
    t.setCppr(TM_QW1_OS, 0xff);
    expect(l.ext.at(-1)).toBe(true);
    expect(t.accept(TM_QW1_OS)).toBe(0x8005);
    expect(t.regs[TM_QW1_OS + TM_IPB]).toBe(0);
    expect(t.regs[TM_QW1_OS + TM_PIPR]).toBe(0xff);
  });

  it("without a signalled exception the acknowledge changes nothing and returns NSR 0 and CPPR", () => {
    const { t } = ctx();
    t.setCppr(TM_QW1_OS, 3);
    t.ipbUpdate(TM_QW1_OS, 6); // pending but masked by CPPR
    expect(t.accept(TM_QW1_OS)).toBe(0x0003);
    expect(t.regs[TM_QW1_OS + TM_IPB]).toBe(0x02);
    expect(t.regs[TM_QW1_OS + TM_PIPR]).toBe(6);
  });

  it("the hypervisor ring's acknowledge clears both HE bits and returns NSR with HE=PHYS", () => {
    const { t, l } = ctx();
    t.setCppr(TM_QW3_HV_PHYS, 0xff);
    t.ipbUpdate(TM_QW3_HV_PHYS, 0);
    t.regs[TM_QW3_HV_PHYS + TM_NSR] |= 0x40; // HE = 3 (LSI), both bits set
    expect(t.accept(TM_QW3_HV_PHYS)).toBe(0xc000);
    expect(t.regs[TM_QW3_HV_PHYS + TM_NSR]).toBe(0);
    expect(l.hvi.at(-1)).toBe(false);
    // the OS ring's mask is EO only: its other NSR bits stay
    t.setCppr(TM_QW1_OS, 0xff);
    t.ipbUpdate(TM_QW1_OS, 1);
    t.regs[TM_QW1_OS + TM_NSR] |= 0x01;
    expect(t.accept(TM_QW1_OS) >> 8).toBe(0x81);
    expect(t.regs[TM_QW1_OS + TM_NSR]).toBe(0x01);
  });
});

describe("OS context push and pull (qemu: xive_tm_push_os_ctx, xive_tm_pull_os_ctx)", () => {
  it("push: words 0-1 restored, NSR cleared, word 2 = VO | NVT; pull: word 2 returned, VO cleared, line down", () => {
    const { t, l } = ctx();
    t.pushOsContext(0x1234, 0x80ff0400000000ffn); // a saved NSR, CPPR 0xff, IPB 0x04
    expect(t.regs[TM_QW1_OS + TM_NSR]).toBe(0x80); // signalled again by the push itself
    expect(t.regs[TM_QW1_OS + TM_CPPR]).toBe(0xff);
    expect(t.regs[TM_QW1_OS + TM_IPB]).toBe(0x04);
    expect(t.regs[TM_QW1_OS + TM_PIPR]).toBe(5); // recomputed from IPB
    expect(t.osCam()).toBe(0x1234);
    expect(l.ext).toEqual([true]); // the saved pending priority is presented at once
    expect(t.w01(TM_QW1_OS)).toBe(0x80ff040000000005n);
    expect(t.pullOsContext()).toBe(0x80001234);
    expect(t.osCam()).toBeNull();
    expect(t.regs[TM_QW1_OS + TM_WORD2 + 3]).toBe(0x34); // the CAM stays, only VO drops
    expect(l.ext).toEqual([true, false]);
  });

  it("a saved NSR is not restored: with nothing pending the pushed context signals nothing", () => {
    const { t, l } = ctx();
    t.pushOsContext(0x10, 0x80ff0000000000ffn);
    expect(t.regs[TM_QW1_OS + TM_NSR]).toBe(0);
    expect(l.ext).toEqual([]);
  });

  it("the NVT's CAM is 24 bits", () => {
    const { t } = ctx();
    t.pushOsContext(0x1abcdef, 0x00ff000000000000n);
    expect(t.osCam()).toBe(0xabcdef);
  });
});

describe("TIMA loads and stores by page (qemu: xive_tm_operations, xive_tm_raw_read)", () => {
  function presented() {
    const c = ctx();
    c.t.setCppr(TM_QW1_OS, 0xff);
    c.t.ipbUpdate(TM_QW1_OS, 6);
    c.t.setCppr(TM_QW3_HV_PHYS, 0xff);
    c.t.ipbUpdate(TM_QW3_HV_PHYS, 4);
    return c;
  }

  it("TM_SPC_ACK_OS_REG: a 2-byte load from the OS (or a more privileged) page acknowledges the OS ring", () => {
    for (const page of [XIVE_TM_OS_PAGE, XIVE_TM_HV_PAGE, XIVE_TM_HW_PAGE]) {
      const { t } = presented();
      expect(t.load(page, TM_SPC_ACK_OS_REG, 2), `page ${page}`).toBe(0x8006n);
      expect(t.regs[TM_QW3_HV_PHYS + TM_CPPR]).toBe(0xff); // the HV ring untouched
    }
    const { t } = presented();
    expect(() => t.load(XIVE_TM_OS_PAGE, TM_SPC_ACK_OS_REG, 4)).toThrow(
      "TIMA load of 4 bytes at 0x810 is not an operation of page 2",
    );
    expect(t.regs[TM_QW1_OS + TM_CPPR]).toBe(0xff);
  });

  it("TM_SPC_ACK_HV_REG acknowledges the PHYS ring from the HV and HW pages only", () => {
    for (const page of [XIVE_TM_HV_PAGE, XIVE_TM_HW_PAGE]) {
      const { t } = presented();
      expect(t.load(page, TM_SPC_ACK_HV_REG, 2)).toBe(0x8004n);
      expect(t.regs[TM_QW1_OS + TM_CPPR]).toBe(0xff);
    }
    const { t } = presented();
    expect(() => t.load(XIVE_TM_OS_PAGE, TM_SPC_ACK_HV_REG, 2)).toThrow(XiveError);
    expect(() => t.load(XIVE_TM_HV_PAGE, TM_SPC_ACK_HV_REG, 8)).toThrow(/not an operation of page 1/);
    expect(t.regs[TM_QW3_HV_PHYS + TM_CPPR]).toBe(0xff);
  });

  it("TM_SPC_PULL_OS_CTX: a 4- or 8-byte load from an HV page pulls the context", () => {
    for (const size of [4, 8]) {
      const { t } = ctx();
      t.pushOsContext(0x42, 0x00ff000000000000n);
      expect(t.load(XIVE_TM_HV_PAGE, TM_SPC_PULL_OS_CTX, size)).toBe(0x80000042n);
      expect(t.osCam()).toBeNull();
    }
    const { t } = ctx();
    t.pushOsContext(0x42, 0x00ff000000000000n);
    expect(() => t.load(XIVE_TM_HV_PAGE, TM_SPC_PULL_OS_CTX, 2)).toThrow(XiveError);
    expect(() => t.load(XIVE_TM_OS_PAGE, TM_SPC_PULL_OS_CTX, 8)).toThrow(XiveError);
    expect(t.osCam()).toBe(0x42);
    expect(t.load(XIVE_TM_HW_PAGE, TM_SPC_PULL_OS_CTX, 8)).toBe(0x80000042n);
  });

  it("raw loads read the ring bytes big-endian; the OS and user pages see the user and OS rings only", () => {
    const { t } = presented();
    t.pushOsContext(0x77, t.w01(TM_QW1_OS));
    expect(t.load(XIVE_TM_OS_PAGE, TM_QW1_OS, 8)).toBe(t.w01(TM_QW1_OS));
    expect(t.load(XIVE_TM_OS_PAGE, TM_QW1_OS, 8)).toBe(0x80ff020000000006n);
    expect(t.load(XIVE_TM_OS_PAGE, TM_QW1_OS + TM_WORD2, 4)).toBe(0x80000077n);
    expect(t.load(XIVE_TM_USER_PAGE, TM_QW1_OS + TM_CPPR, 1)).toBe(0xffn);
    expect(t.load(XIVE_TM_OS_PAGE, TM_QW0_USER, 4)).toBe(0n);
    expect(t.load(XIVE_TM_HV_PAGE, TM_QW3_HV_PHYS, 8)).toBe(0x80ff080000000004n);
    expect(t.load(XIVE_TM_HW_PAGE, TM_QW3_HV_PHYS + TM_PIPR, 1)).toBe(4n);
    expect(t.load(XIVE_TM_HV_PAGE, TM_QW2_HV_POOL, 8)).toBe(0n);
    // past the last ring: the bytes beyond the 64-byte area read as zero
    expect(t.load(XIVE_TM_HV_PAGE, TM_QW3_HV_PHYS + 0xc, 8)).toBe(0n);
    for (const off of [TM_QW2_HV_POOL, TM_QW3_HV_PHYS + TM_CPPR]) {
      for (const page of [XIVE_TM_OS_PAGE, XIVE_TM_USER_PAGE])
        expect(() => t.load(page, off, 1)).toThrow(
          `TIMA load at 0x${off.toString(16)} of a hypervisor ring from the OS page: use the HV page`,
        );
    }
    expect(() => t.load(XIVE_TM_HV_PAGE, 0x40, 1)).toThrow(
      "TIMA load of 1 bytes at 0x40 is not an operation of page 1",
    );
  });

  it("stores: a CPPR byte of the user/OS rings from any page, of the hypervisor rings from HV pages only", () => {
    const { t, l } = ctx();
    t.ipbUpdate(TM_QW1_OS, 3);
    t.store(XIVE_TM_OS_PAGE, TM_QW1_OS + TM_CPPR, 1, 0x1ffn); // the byte: 0xff
    expect(t.regs[TM_QW1_OS + TM_CPPR]).toBe(0xff);
    expect(l.ext).toEqual([true]);
    t.store(XIVE_TM_HV_PAGE, TM_QW3_HV_PHYS + TM_CPPR, 1, 5n);
    expect(t.regs[TM_QW3_HV_PHYS + TM_CPPR]).toBe(5);
    t.store(XIVE_TM_HW_PAGE, TM_QW2_HV_POOL + TM_CPPR, 1, 6n);
    expect(t.regs[TM_QW2_HV_POOL + TM_CPPR]).toBe(6);
    for (const page of [XIVE_TM_OS_PAGE, XIVE_TM_USER_PAGE]) {
      expect(() => t.store(page, TM_QW3_HV_PHYS + TM_CPPR, 1, 0n)).toThrow(
        "TIMA CPPR store of a hypervisor ring from the OS page: use the HV page",
      );
      expect(() => t.store(page, TM_QW2_HV_POOL + TM_CPPR, 1, 0n)).toThrow(XiveError);
    }
    expect(t.regs[TM_QW3_HV_PHYS + TM_CPPR]).toBe(5);
    const refused = "is not modelled: CPPR byte stores only (push contexts with pushOsContext)";
    expect(() => t.store(XIVE_TM_HV_PAGE, TM_QW1_OS + TM_CPPR, 2, 0n)).toThrow(
      `TIMA store of 2 bytes at 0x11 ${refused}`,
    );
    expect(() => t.store(XIVE_TM_HV_PAGE, TM_QW1_OS + TM_IPB, 1, 0n)).toThrow(XiveError);
    expect(() => t.store(XIVE_TM_HV_PAGE, 0x41, 1, 0n)).toThrow(/at 0x41 is not modelled/);
    expect(t.regs[TM_QW1_OS + TM_CPPR]).toBe(0xff);
  });
});

describe("each ring's own line", () => {
  it("the hypervisor ring's line is the HV virtualization interrupt, apart from the OS ring's", () => {
    const { t, l } = ctx();
    t.setCppr(TM_QW3_HV_PHYS, 0xff);
    t.ipbUpdate(TM_QW3_HV_PHYS, 2);
    expect([t.output(TM_QW1_OS), t.output(TM_QW3_HV_PHYS)]).toEqual([false, true]);
    expect(l.ext).toEqual([]);
    t.accept(TM_QW3_HV_PHYS);
    t.setCppr(TM_QW1_OS, 0xff);
    t.ipbUpdate(TM_QW1_OS, 2);
    expect([t.output(TM_QW1_OS), t.output(TM_QW3_HV_PHYS)]).toEqual([true, false]);
  });
});
