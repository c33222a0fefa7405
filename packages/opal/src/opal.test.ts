import { chipById } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import {
  bootOpal,
  FIRMWARE_VERSIONS,
  OPAL_CHECK_TOKEN,
  OPAL_CONFIG_CPU_IDLE_STATE,
  OPAL_INTERNAL_ERROR,
  OPAL_PARAMETER,
  OPAL_SLW_SET_REG,
  OPAL_SUCCESS,
  OPAL_TEST,
  OPAL_TOKEN_ABSENT,
  OPAL_TOKEN_PRESENT,
  P9_STOP_SPR_HID,
  P9_STOP_SPR_HMEER,
  P9_STOP_SPR_HSPRG0,
  P9_STOP_SPR_LPCR,
  P9_STOP_SPR_MSR,
  P9_STOP_SPR_PSSCR,
} from "./index.js";
import { p9Machine } from "./test-helpers/machine.js";

const boot = (extra: Parameters<typeof bootOpal>[0] extends infer T ? Partial<T> : never = {}) =>
  bootOpal({
    machine: p9Machine(chipById("dd2.3"), { coresPerChip: 2 }),
    firmware: FIRMWARE_VERSIONS["2020"],
    ...extra,
  });

describe("Opal calls", () => {
  it("OPAL_TEST and OPAL_CHECK_TOKEN (skiboot core/opal.c)", () => {
    const { opal } = boot();
    expect(opal.call(OPAL_TEST, 0)).toBe(0xfeedf00dn);
    expect(opal.call(OPAL_CHECK_TOKEN, OPAL_SLW_SET_REG)).toBe(BigInt(OPAL_TOKEN_PRESENT));
    expect(opal.call(OPAL_CHECK_TOKEN, OPAL_CONFIG_CPU_IDLE_STATE)).toBe(BigInt(OPAL_TOKEN_PRESENT));
    expect(opal.opalCheckToken(181)).toBe(OPAL_TOKEN_ABSENT); // beyond OPAL_LAST of 2020
    expect(opal.opalCheckToken(5)).toBe(OPAL_TOKEN_ABSENT); // not implemented by this model
    expect(opal.opalCheckToken(-1n)).toBe(OPAL_TOKEN_ABSENT);
  });

  it("an unknown token returns OPAL_PARAMETER (opal_bad_token)", () => {
    const { opal } = boot();
    expect(opal.call(12345)).toBe(-1n);
    expect(opal.call(-1)).toBe(BigInt(OPAL_PARAMETER));
    expect(opal.call(5)).toBe(BigInt(OPAL_PARAMETER));
  });

  it("saves SPRs for deep-stop wakeup like Linux pnv_save_sprs_for_deep_states", () => {
    const { opal, topology } = boot();
    expect(opal.hasDeepStates).toBe(true);
    const lpcr = 0x0040400000000000n;
    for (const t of topology.threads) {
      expect(opal.opalSlwSetReg(t.pir, P9_STOP_SPR_HSPRG0, 0xc000000001000000n + BigInt(t.pir))).toBe(
        OPAL_SUCCESS,
      );
      expect(opal.opalSlwSetReg(t.pir, P9_STOP_SPR_LPCR, lpcr)).toBe(OPAL_SUCCESS);
      expect(opal.opalSlwSetReg(t.pir, P9_STOP_SPR_MSR, 0x9000000000001003n)).toBe(OPAL_SUCCESS);
      expect(opal.opalSlwSetReg(t.pir, P9_STOP_SPR_PSSCR, 0x300375n)).toBe(OPAL_SUCCESS);
      if (t.thread === 0) {
        expect(opal.opalSlwSetReg(t.pir, P9_STOP_SPR_HMEER, 0x7n)).toBe(OPAL_SUCCESS);
        expect(opal.opalSlwSetReg(t.pir, P9_STOP_SPR_HID, 0x0880000000000000n)).toBe(OPAL_SUCCESS);
      }
    }
    // thread 2 of core 1 sees its own thread SPRs plus its core's HMEER/HID
    expect(opal.savedSprs(6)).toEqual([
      { sprn: P9_STOP_SPR_HSPRG0, value: 0xc000000001000006n },
      { sprn: P9_STOP_SPR_LPCR, value: lpcr },
      { sprn: P9_STOP_SPR_HMEER, value: 0x7n },
      { sprn: P9_STOP_SPR_PSSCR, value: 0x300375n },
      { sprn: P9_STOP_SPR_HID, value: 0x0880000000000000n },
      { sprn: P9_STOP_SPR_MSR, value: 0x9000000000001003n },
    ]);
    expect(opal.savedSprs(99)).toEqual([]);
  });

  it("rejects a bad PIR with OPAL_PARAMETER and an SPR the stop-api does not know with OPAL_INTERNAL_ERROR", () => {
    const { opal } = boot();
    expect(opal.opalSlwSetReg(0x800, P9_STOP_SPR_LPCR, 1n)).toBe(OPAL_PARAMETER); // no second chip
    expect(opal.opalSlwSetReg(-1n, P9_STOP_SPR_LPCR, 1n)).toBe(OPAL_PARAMETER);
    expect(opal.opalSlwSetReg(0, 190 /* HFSCR */, 1n)).toBe(OPAL_INTERNAL_ERROR);
    expect(opal.opalSlwSetReg(0, 1n << 40n, 1n)).toBe(OPAL_INTERNAL_ERROR);
    expect(opal.savedSprs(0)).toEqual([]);
    expect(opal.call(OPAL_SLW_SET_REG, 0, P9_STOP_SPR_LPCR)).toBe(0n); // value register reads as 0
    expect(opal.savedSprs(0)).toEqual([{ sprn: P9_STOP_SPR_LPCR, value: 0n }]);
  });

  it("without deep states OPAL_SLW_SET_REG succeeds but stores nothing (skiboot: 'Deep states not enabled')", () => {
    for (const cfg of [{ wakeupEngine: false }, { enabledStopLevels: 0xe0000000 }]) {
      const { opal } = boot(cfg);
      expect(opal.hasDeepStates).toBe(false);
      expect(opal.opalSlwSetReg(0, P9_STOP_SPR_PSSCR, 0x300375n)).toBe(OPAL_SUCCESS);
      expect(opal.savedSprs(0)).toEqual([]);
      expect(opal.opalSlwSetReg(0x4000, P9_STOP_SPR_PSSCR, 1n)).toBe(OPAL_PARAMETER);
    }
  });

  it("OPAL_CONFIG_CPU_IDLE_STATE accepts only state 1 with enter 0/1 (hw/slw.c)", () => {
    const { opal } = boot();
    expect(opal.call(OPAL_CONFIG_CPU_IDLE_STATE, 1, 1)).toBe(0n);
    expect(opal.call(OPAL_CONFIG_CPU_IDLE_STATE, 1, 0)).toBe(0n);
    expect(opal.call(OPAL_CONFIG_CPU_IDLE_STATE, 2, 1)).toBe(-1n);
    expect(opal.call(OPAL_CONFIG_CPU_IDLE_STATE, 1, 2)).toBe(-1n);
  });

  it("records every call", () => {
    const { opal } = boot();
    opal.call(OPAL_TEST, 7);
    opal.call(999);
    expect(opal.calls).toEqual([
      { token: OPAL_TEST, args: [7n], rc: 0xfeedf00dn },
      { token: 999, args: [], rc: -1n },
    ]);
  });

  it("boots with the DTB, tree, features and idle selection together", () => {
    const b = boot({ firmware: FIRMWARE_VERSIONS["idle-stop-guest"] });
    expect(b.features.some((f) => f.name === "idle-stop-guest")).toBe(true);
    expect(b.dtb.length).toBeGreaterThan(0);
    expect(b.firmware.id).toBe("idle-stop-guest");
    expect(b.idle.states.length).toBe(6);
  });
});
