// The OPAL runtime calls the host kernel's idle code uses, with skiboot's return codes.
// skiboot: core/opal.c (opal_bad_token, opal_check_token, opal_test_func), hw/slw.c
// (opal_config_cpu_idle_state, opal_slw_set_reg), libpore/p9_stop_api.C (p9_stop_save_cpureg).
// Linux callers: arch/powerpc/platforms/powernv/idle.c (pnv_save_sprs_for_deep_states calls
// opal_slw_set_reg for HSPRG0, LPCR, MSR, PSSCR per thread and HMEER, HID0 per core).

import { encodeDtb } from "@stopsim/devicetree";
import type { FirmwareVersion } from "./firmware.js";
import { buildHost, type HostBuild, type HostOptions, type HostThread } from "./host-tree.js";
import {
  OPAL_CHECK_TOKEN,
  OPAL_CONFIG_CPU_IDLE_STATE,
  OPAL_INTERNAL_ERROR,
  OPAL_LAST,
  OPAL_PARAMETER,
  OPAL_SLW_SET_REG,
  OPAL_SUCCESS,
  OPAL_TEST,
  OPAL_TEST_MAGIC,
  OPAL_TOKEN_ABSENT,
  OPAL_TOKEN_PRESENT,
  P9_STOP_SPR_THREAD_SCOPE,
} from "./opal-api.js";

/** A 64-bit register argument (r3..r10 of an OPAL call). */
export type OpalArg = bigint | number;

/** One stop-api entry: an SPR value the wakeup engine restores when a thread leaves a deep state. */
export interface SavedSpr {
  readonly sprn: number;
  readonly value: bigint;
}

/** One OPAL call as the firmware saw it, for traces. */
export interface OpalCallRecord {
  readonly token: number;
  readonly args: readonly bigint[];
  readonly rc: bigint;
}

/** An implemented call: its argument count (skiboot opal_call nargs) and body. */
interface OpalHandler {
  readonly nargs: number;
  readonly fn: (args: bigint[]) => bigint;
}

const u64 = (v: OpalArg): bigint => BigInt.asUintN(64, typeof v === "bigint" ? v : BigInt(Math.trunc(v)));

/**
 * OPAL firmware runtime. Calls never throw: bad arguments get the OPAL error code skiboot
 * returns. Return values are the 64-bit r3 value as a signed bigint (OPAL_PARAMETER = -1n).
 */
export class Opal {
  readonly firmware: FirmwareVersion;
  /** skiboot has_deep_states (hw/slw.c): OPAL_SLW_SET_REG only stores values when true. */
  readonly hasDeepStates: boolean;
  private readonly threadsByPir: ReadonlyMap<bigint, HostThread>;
  /** Thread-scope stop-api entries by PIR, core-scope entries by "chip:core". */
  private readonly threadSprs = new Map<string, Map<number, bigint>>();
  private readonly coreSprs = new Map<string, Map<number, bigint>>();
  private readonly log: OpalCallRecord[] = [];
  private readonly handlers: ReadonlyMap<number, OpalHandler>;

  constructor(build: Pick<HostBuild, "topology" | "idle">, firmware: FirmwareVersion) {
    this.firmware = firmware;
    this.hasDeepStates = build.idle.hasDeepStates;
    this.threadsByPir = new Map(build.topology.threads.map((t) => [BigInt(t.pir), t]));
    this.handlers = new Map<number, OpalHandler>([
      [OPAL_TEST, { nargs: 1, fn: () => BigInt(OPAL_TEST_MAGIC) }],
      [OPAL_CHECK_TOKEN, { nargs: 1, fn: (a) => BigInt(this.opalCheckToken(a[0])) }],
      [OPAL_CONFIG_CPU_IDLE_STATE, { nargs: 2, fn: (a) => BigInt(this.opalConfigCpuIdleState(a[0], a[1])) }],
      [OPAL_SLW_SET_REG, { nargs: 3, fn: (a) => BigInt(this.opalSlwSetReg(a[0], a[1], a[2])) }],
    ]);
  }

  /**
   * An OPAL call by token (r0) with its arguments (r3...). Unknown tokens return OPAL_PARAMETER
   * (skiboot core/opal.c opal_bad_token); missing arguments read as 0 like unset registers.
   */
  call(token: OpalArg, ...args: OpalArg[]): bigint {
    const t = u64(token);
    const regs = args.map(u64);
    const h = t <= BigInt(OPAL_LAST) ? this.handlers.get(Number(t)) : undefined;
    let rc: bigint;
    if (!h) rc = BigInt(OPAL_PARAMETER);
    else {
      while (regs.length < h.nargs) regs.push(0n);
      rc = h.fn(regs);
    }
    this.log.push({ token: Number(BigInt.asIntN(64, t)), args: regs, rc });
    return rc;
  }

  /** Calls made so far, oldest first. */
  get calls(): readonly OpalCallRecord[] {
    return this.log;
  }

  /** OPAL_CHECK_TOKEN (skiboot core/opal.c opal_check_token): OPAL_TOKEN_PRESENT if implemented here. */
  opalCheckToken(token: OpalArg): number {
    const t = u64(token);
    if (t > BigInt(OPAL_LAST)) return OPAL_TOKEN_ABSENT;
    return this.handlers.has(Number(t)) ? OPAL_TOKEN_PRESENT : OPAL_TOKEN_ABSENT;
  }

  /**
   * OPAL_CONFIG_CPU_IDLE_STATE (skiboot hw/slw.c opal_config_cpu_idle_state): only state 1
   * (POWER8 fast-sleep workaround) with enter 0 or 1 is accepted. The workaround's XSCOM writes
   * concern POWER8 L2 FIR registers and change nothing modelled on POWER9.
   */
  opalConfigCpuIdleState(state: OpalArg, enter: OpalArg): number {
    if (u64(state) !== 1n) return OPAL_PARAMETER;
    const e = u64(enter);
    if (e !== 0n && e !== 1n) return OPAL_PARAMETER;
    return OPAL_SUCCESS;
  }

  /**
   * OPAL_SLW_SET_REG (skiboot hw/slw.c opal_slw_set_reg): records `value` for `sprn` in the
   * stop-api image so the wakeup engine restores it on wakeup from a deep stop state.
   * - unknown PIR: OPAL_PARAMETER;
   * - no deep states enabled: OPAL_SUCCESS without storing anything ("Deep states not enabled");
   * - SPR not supported by p9_stop_save_cpureg (STOP_SAVE_ARG_INVALID_REG): OPAL_INTERNAL_ERROR.
   * Core-scope registers (HRMOR, HMEER, PMCR, HID) are kept once per core.
   */
  opalSlwSetReg(cpuPir: OpalArg, sprn: OpalArg, value: OpalArg): number {
    const thread = this.threadsByPir.get(u64(cpuPir));
    if (!thread) return OPAL_PARAMETER;
    if (!this.hasDeepStates) return OPAL_SUCCESS;
    const spr = u64(sprn);
    const scope = spr <= 0xffffn ? P9_STOP_SPR_THREAD_SCOPE.get(Number(spr)) : undefined;
    if (scope === undefined) return OPAL_INTERNAL_ERROR;
    const v = u64(value);
    const key = scope ? `${thread.pir}` : `${thread.chipId}:${thread.coreId}`;
    const table = scope ? this.threadSprs : this.coreSprs;
    const entries = table.get(key) ?? new Map<number, bigint>();
    entries.set(Number(spr), v);
    table.set(key, entries);
    return OPAL_SUCCESS;
  }

  /**
   * What the wakeup engine restores on `pir` after a deep stop state: its thread-scope entries and
   * its core's core-scope entries, sorted by SPR number. Empty for an unknown PIR.
   */
  savedSprs(pir: number): SavedSpr[] {
    const thread = this.threadsByPir.get(BigInt(pir));
    if (!thread) return [];
    const out = new Map<number, bigint>([
      ...(this.coreSprs.get(`${thread.chipId}:${thread.coreId}`) ?? []),
      ...(this.threadSprs.get(`${pir}`) ?? []),
    ]);
    return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([sprn, value]) => ({ sprn, value }));
  }
}

export interface OpalBoot extends HostBuild {
  /** The DTB bytes handed to the host kernel (skiboot create_dtb layout). */
  readonly dtb: Uint8Array;
  readonly opal: Opal;
  readonly firmware: FirmwareVersion;
}

/** Boots the firmware: builds the host tree and DTB and returns the OPAL runtime. */
export function bootOpal(opts: HostOptions): OpalBoot {
  const build = buildHost(opts);
  return {
    ...build,
    dtb: encodeDtb(build.tree, { layout: "libfdt-sw" }),
    opal: new Opal(build, opts.firmware),
    firmware: opts.firmware,
  };
}
