// Host idle states: /ibm,opal/power-mgt parsing as linux: arch/powerpc/platforms/powernv/idle.c
// does (pnv_parse_cpuidle_dt, pnv_arch300_idle_init, validate_psscr_val_mask), the cpuidle
// driver table as linux: drivers/cpuidle/cpuidle-powernv.c builds it (powernv_add_idle_states).
// The governor is the kernel's own menu (@stopsim/linux), the one the guest runs too.
import type { DeviceTree, DtNode } from "@stopsim/devicetree";
import {
  PSSCR_EC,
  PSSCR_ESL,
  PSSCR_MTL_MASK,
  PSSCR_PSLL_MASK,
  PSSCR_RL_MASK,
  PSSCR_TR_MASK,
} from "@stopsim/isa";
import type { CpuidleDriver, CpuidleState } from "@stopsim/linux";
import type { KernelLog } from "./log.js";

/** linux: arch/powerpc/include/asm/opal-api.h idle-state flags */
export const OPAL_PM_TIMEBASE_STOP = 0x00000002;
export const OPAL_PM_LOSE_HYP_CONTEXT = 0x00002000;
export const OPAL_PM_LOSE_FULL_CONTEXT = 0x00004000;
export const OPAL_PM_NAP_ENABLED = 0x00010000;
export const OPAL_PM_SLEEP_ENABLED = 0x00020000;
export const OPAL_PM_WINKLE_ENABLED = 0x00040000;
export const OPAL_PM_SLEEP_ENABLED_ER1 = 0x00080000;
export const OPAL_PM_STOP_INST_FAST = 0x00100000;
export const OPAL_PM_STOP_INST_DEEP = 0x00200000;

/** linux: arch/powerpc/include/asm/cpuidle.h */
export const PSSCR_HV_DEFAULT_VAL = PSSCR_ESL | PSSCR_EC | PSSCR_PSLL_MASK | PSSCR_TR_MASK | PSSCR_MTL_MASK;
export const PSSCR_HV_DEFAULT_MASK = PSSCR_HV_DEFAULT_VAL | PSSCR_RL_MASK;
export const ERR_EC_ESL_MISMATCH = -1;
export const ERR_DEEP_STATE_ESL_MISMATCH = -2;
/** linux: drivers/cpuidle/cpuidle-powernv.c: states slower to exit are not used by cpuidle. */
export const POWERNV_THRESHOLD_LATENCY_NS = 200000;
/** linux: include/linux/cpuidle.h */
export const CPUIDLE_STATE_MAX = 10;

/** One entry of the firmware table (struct pnv_idle_states_t). */
export interface PnvIdleState {
  readonly name: string;
  readonly flags: number;
  readonly latencyNs: number;
  readonly residencyNs: number;
  psscrVal: bigint;
  psscrMask: bigint;
  valid: boolean;
}

/**
 * A cpuidle state of the host (struct cpuidle_state of cpuidle-powernv, with the PSSCR value and
 * mask of its stop_psscr_table entry). exitLatencyNs / targetResidencyNs are what the cpuidle
 * core derives from the driver's us values; `firmwareLatencyNs` is the firmware's own figure,
 * the modelled wake-up time of the hardware state.
 */
export interface HostIdleState extends CpuidleState {
  /** Index in the driver table (0 = snooze). */
  readonly index: number;
  /** Firmware latency, ns (`ibm,cpu-idle-state-latencies-ns`). */
  readonly firmwareLatencyNs: number;
  /** "snooze" polls at low SMT priority; "stop" executes the stop instruction. */
  readonly kind: "snooze" | "stop";
  readonly psscrVal: bigint;
  readonly psscrMask: bigint;
  /** CPUIDLE_FLAG_TIMER_STOP: the state loses the timebase/decrementer. */
  readonly timerStop: boolean;
  readonly flags: number;
}

/** The powernv_idle driver (linux: drivers/cpuidle/cpuidle-powernv.c powernv_idle_driver). */
export interface PowernvIdleDriver extends CpuidleDriver<HostIdleState> {
  readonly name: "powernv_idle";
  /**
   * snooze_timeout_en: more than snooze registered (powernv_idle_probe); without it snooze_loop
   * has no timeout and polls until need_resched (get_snooze_timeout's default_snooze_timeout =
   * TICK_USEC is for a driver whose later states are all disabled).
   */
  readonly snoozeTimeoutEnabled: boolean;
}

export interface PowerMgtResult {
  readonly states: PnvIdleState[];
  /** The cpuidle driver table, snooze first. */
  readonly cpuidle: HostIdleState[];
  readonly defaultStop: { val: bigint; mask: bigint } | undefined;
  readonly deepestStop: { val: bigint; mask: bigint } | undefined;
}

function readU32s(node: DtNode, name: string, n: number): number[] | undefined {
  const p = node.getProp(name);
  // of_property_read_u32_array: -EINVAL if absent, -EOVERFLOW if shorter than n elements
  if (p === undefined || p.length < 4 * n) return undefined;
  return p.asU32Array().slice(0, n);
}

function readU64s(node: DtNode, name: string, n: number): bigint[] | undefined {
  const p = node.getProp(name);
  if (p === undefined || p.length < 8 * n) return undefined;
  const raw = p.asBytes();
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(dv.getBigUint64(8 * i, false));
  return out;
}

function readStrings(node: DtNode, name: string, n: number): string[] | undefined {
  const p = node.getProp(name);
  if (p === undefined) return undefined;
  let list: string[];
  try {
    list = p.asStringList();
  } catch {
    return undefined;
  }
  return list.length < n ? undefined : list.slice(0, n);
}

// linux: powernv/idle.c validate_psscr_val_mask
export function validatePsscrValMask(state: { psscrVal: bigint; psscrMask: bigint; flags: number }): number {
  if (state.psscrMask === 0xfn) {
    // older firmware: only RL populated
    state.psscrVal |= PSSCR_HV_DEFAULT_VAL;
    state.psscrMask = PSSCR_HV_DEFAULT_MASK;
    return 0;
  }
  const esl = (state.psscrVal & PSSCR_ESL) !== 0n;
  const ec = (state.psscrVal & PSSCR_EC) !== 0n;
  if (esl !== ec) return ERR_EC_ESL_MISMATCH;
  if ((state.flags & OPAL_PM_LOSE_FULL_CONTEXT) !== 0 && !esl) return ERR_DEEP_STATE_ESL_MISMATCH;
  return 0;
}

const hex16 = (v: bigint): string => `0x${v.toString(16).padStart(16, "0")}`;

/**
 * pnv_parse_cpuidle_dt: reads the firmware idle table. Returns undefined (no platform idle
 * states: the host keeps only snooze) when the node or a required array is missing or shorter
 * than ibm,cpu-idle-state-flags, as Linux does.
 */
export function parsePowerMgt(
  tree: DeviceTree,
  arch300: boolean,
  log: KernelLog,
): PnvIdleState[] | undefined {
  const np = tree.getNode("/ibm,opal/power-mgt");
  if (np === undefined) {
    log.warn("opal: PowerMgmt Node not found");
    return undefined;
  }
  const flagsProp = np.getProp("ibm,cpu-idle-state-flags");
  const n = flagsProp === undefined ? 0 : Math.floor(flagsProp.length / 4);
  const flags = readU32s(np, "ibm,cpu-idle-state-flags", n);
  if (flags === undefined || n === 0) {
    log.warn("cpuidle-powernv: missing ibm,cpu-idle-state-flags in DT");
    return undefined;
  }
  const lat = readU32s(np, "ibm,cpu-idle-state-latencies-ns", n);
  if (lat === undefined) {
    log.warn("cpuidle-powernv: missing ibm,cpu-idle-state-latencies-ns in DT");
    return undefined;
  }
  const res = readU32s(np, "ibm,cpu-idle-state-residency-ns", n);
  if (res === undefined) {
    log.warn("cpuidle-powernv: missing ibm,cpu-idle-state-residency-ns in DT");
    return undefined;
  }
  let vals: bigint[] = new Array<bigint>(n).fill(0n);
  let masks: bigint[] = new Array<bigint>(n).fill(0n);
  if (arch300) {
    const v = readU64s(np, "ibm,cpu-idle-state-psscr", n);
    if (v === undefined) {
      log.warn("cpuidle-powernv: missing ibm,cpu-idle-state-psscr in DT");
      return undefined;
    }
    const m = readU64s(np, "ibm,cpu-idle-state-psscr-mask", n);
    if (m === undefined) {
      log.warn("cpuidle-powernv: missing ibm,cpu-idle-state-psscr-mask in DT");
      return undefined;
    }
    vals = v;
    masks = m;
  }
  const names = readStrings(np, "ibm,cpu-idle-state-names", n);
  if (names === undefined) {
    log.warn("cpuidle-powernv: missing ibm,cpu-idle-state-names in DT");
    return undefined;
  }
  const states: PnvIdleState[] = [];
  for (let i = 0; i < n; i++) {
    states.push({
      name: names[i].slice(0, 15),
      flags: flags[i],
      latencyNs: lat[i],
      residencyNs: res[i],
      psscrVal: vals[i],
      psscrMask: masks[i],
      valid: false,
    });
  }
  return states;
}

/** pnv_arch300_idle_init: validates each state's PSSCR and finds the default/deepest stop. */
export function arch300IdleInit(
  states: PnvIdleState[],
  log: KernelLog,
): Pick<PowerMgtResult, "defaultStop" | "deepestStop"> {
  let maxResidency = 0;
  let defaultStop: { val: bigint; mask: bigint } | undefined;
  let deepestStop: { val: bigint; mask: bigint } | undefined;
  let firstTbLoss = 16;
  let deepSprLoss = 16;
  for (const s of states) {
    const rl = Number(s.psscrVal & PSSCR_RL_MASK);
    if ((s.flags & OPAL_PM_TIMEBASE_STOP) !== 0 && firstTbLoss > rl) firstTbLoss = rl;
    if ((s.flags & OPAL_PM_LOSE_FULL_CONTEXT) !== 0 && deepSprLoss > rl) deepSprLoss = rl;
    if ((s.flags & OPAL_PM_TIMEBASE_STOP) !== 0 && deepSprLoss > rl) deepSprLoss = rl;
    const err = validatePsscrValMask(s);
    if (err === ERR_EC_ESL_MISMATCH) {
      log.warn(`Invalid psscr ${hex16(s.psscrVal)} : ESL,EC bits unequal`);
      continue;
    }
    if (err === ERR_DEEP_STATE_ESL_MISMATCH) {
      log.warn(`Invalid psscr ${hex16(s.psscrVal)} : ESL cleared for deep stop-state`);
      continue;
    }
    s.valid = true;
    if (maxResidency < s.residencyNs) {
      maxResidency = s.residencyNs;
      deepestStop = { val: s.psscrVal, mask: s.psscrMask };
    }
    if (defaultStop === undefined && (s.flags & OPAL_PM_STOP_INST_FAST) !== 0) {
      defaultStop = { val: s.psscrVal, mask: s.psscrMask };
    }
  }
  if (defaultStop === undefined) {
    log.warn("cpuidle-powernv: No suitable default stop state found. Disabling platform idle.");
  } else {
    log.info(
      `cpuidle-powernv: Default stop: psscr = ${hex16(defaultStop.val)},mask=${hex16(defaultStop.mask)}`,
    );
  }
  if (deepestStop === undefined) {
    log.warn("cpuidle-powernv: No suitable stop state for CPU-Hotplug. Offlining will busy-wait.");
  } else {
    log.info(
      `cpuidle-powernv: Deepest stop: psscr = ${hex16(deepestStop.val)},mask=${hex16(deepestStop.mask)}`,
    );
  }
  log.info(`cpuidle-powernv: First stop level that may lose SPRs = 0x${deepSprLoss.toString(16)}`);
  log.info(`cpuidle-powernv: First stop level that may lose timebase = 0x${firstTbLoss.toString(16)}`);
  return { defaultStop, deepestStop };
}

/** The snooze state every powernv cpuidle table starts with. */
export const SNOOZE_STATE: HostIdleState = {
  index: 0,
  name: "snooze",
  desc: "snooze",
  exitLatencyUs: 0,
  targetResidencyUs: 0,
  exitLatencyNs: 0,
  targetResidencyNs: 0,
  firmwareLatencyNs: 0,
  // the 2020 powernv snooze has no CPUIDLE_FLAG_POLLING (cpuidle-powernv.c powernv_states[])
  polling: false,
  kind: "snooze",
  psscrVal: 0n,
  psscrMask: 0n,
  timerStop: false,
  flags: 0,
};

// linux: drivers/cpuidle/cpuidle-powernv.c powernv_add_idle_states
export function powernvAddIdleStates(states: PnvIdleState[] | undefined, log: KernelLog): HostIdleState[] {
  const table: HostIdleState[] = [SNOOZE_STATE];
  if (states === undefined || states.length === 0) {
    log.warn("cpuidle-powernv : Only Snooze is available");
    return table;
  }
  let dt = states.length;
  if (dt > CPUIDLE_STATE_MAX - 1) {
    log.warn("cpuidle-powernv: discovered idle states more than allowed");
    dt = CPUIDLE_STATE_MAX - 1;
  }
  const hasStop = (states[0].flags & (OPAL_PM_STOP_INST_FAST | OPAL_PM_STOP_INST_DEEP)) !== 0;
  let supported = 0;
  for (const s of states) supported |= s.flags;
  for (let i = 0; i < dt; i++) {
    const s = states[i];
    // Stryker disable next-line ConditionalExpression,BlockStatement: supported is the OR of every state's flags (pnv_get_supported_cpuidle_states), so this kernel check never skips a state
    if ((s.flags & supported) !== s.flags) continue;
    if (s.latencyNs > POWERNV_THRESHOLD_LATENCY_NS) continue;
    if (hasStop && !s.valid) continue;
    const stopsTb = (s.flags & OPAL_PM_TIMEBASE_STOP) !== 0;
    if (!hasStop) continue; // nap/fastsleep are POWER8 states: not modelled
    // firmware ns to cpuidle us (DIV_ROUND_UP), then the core's ns (__cpuidle_driver_init)
    const exitLatencyUs = Math.ceil(s.latencyNs / 1000);
    const targetResidencyUs = Math.ceil(s.residencyNs / 1000);
    table.push({
      index: table.length,
      name: s.name,
      desc: s.name,
      exitLatencyUs,
      targetResidencyUs,
      exitLatencyNs: exitLatencyUs * 1000,
      targetResidencyNs: targetResidencyUs * 1000,
      firmwareLatencyNs: s.latencyNs,
      polling: false,
      kind: "stop",
      psscrVal: s.psscrVal,
      psscrMask: s.psscrMask,
      timerStop: stopsTb,
      flags: s.flags,
    });
  }
  log.info(
    `cpuidle: using governor menu; powernv_idle driver with ${table.length} states: ${table.map((t) => t.name).join(", ")}`,
  );
  return table;
}

/** The driver powernv_idle_probe registers from the table. */
export function powernvIdleDriver(states: readonly HostIdleState[]): PowernvIdleDriver {
  return { name: "powernv_idle", states, snoozeTimeoutEnabled: states.length > 1 };
}

/** Builds the host's idle configuration from the tree. */
export function initIdleStates(tree: DeviceTree, arch300: boolean, log: KernelLog): PowerMgtResult {
  const states = parsePowerMgt(tree, arch300, log);
  let init: Pick<PowerMgtResult, "defaultStop" | "deepestStop"> = {
    defaultStop: undefined,
    deepestStop: undefined,
  };
  if (states !== undefined && arch300) init = arch300IdleInit(states, log);
  const cpuidle = powernvAddIdleStates(states, log);
  return { states: states ?? [], cpuidle, ...init };
}
