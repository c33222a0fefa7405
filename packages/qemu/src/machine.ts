// pseries machine types and their capability defaults.
// qemu: hw/ppc/spapr.c spapr_machine_class_init (defaults of the latest machine type) and the
// spapr_machine_X_Y_class_options chain, where each older type starts from the next newer one and
// turns back what changed (pseries-4.2: ccf-assist and fwnmi off).

import {
  CAPABILITY_TABLE,
  SPAPR_CAP_CCF_ASSIST,
  SPAPR_CAP_CFPC,
  SPAPR_CAP_DFP,
  SPAPR_CAP_FWNMI,
  SPAPR_CAP_HPT_MAXPAGESIZE,
  SPAPR_CAP_HTM,
  SPAPR_CAP_IBS,
  SPAPR_CAP_LARGE_DECREMENTER,
  SPAPR_CAP_NESTED_KVM_HV,
  SPAPR_CAP_NUM,
  SPAPR_CAP_OFF,
  SPAPR_CAP_ON,
  SPAPR_CAP_RPT_INVALIDATE,
  SPAPR_CAP_SBBC,
  SPAPR_CAP_STOP_LITE,
  SPAPR_CAP_VSX,
  SPAPR_CAP_WORKAROUND,
  type SpaprCapabilityInfo,
} from "./caps.js";
import { POWER9_FAMILY_DEFAULT } from "./cpu-models.js";
import { QemuError } from "./errors.js";
import type { IcMode } from "./irq.js";

/**
 * How this QEMU was built: which lite-stop design it implements (see DOMAIN.md section 4).
 * - stopLiteCap: it knows the spapr capability cap-stop-lite (the agreed design);
 * - probeKvmCapStop: it copies the host's KVM_CAP_STOP into the guest tree (the host-probed design).
 */
export interface QemuBuild {
  readonly stopLiteCap: boolean;
  readonly probeKvmCapStop: boolean;
}

/** QEMU as released in 2020: neither design. */
export const QEMU_BUILD_UPSTREAM: QemuBuild = { stopLiteCap: false, probeKvmCapStop: false };

export interface MachineType {
  /** "pseries-5.1". */
  readonly name: string;
  /** "pseries" for the newest type. */
  readonly alias: string | undefined;
  readonly isDefault: boolean;
  readonly description: string;
  readonly defaultCpuModel: string;
  /** mc->max_cpus. */
  readonly maxCpus: number;
  /** smc->default_caps, indexed by SPAPR_CAP_*. */
  readonly defaultCaps: readonly number[];
  /** pseries-5.0 and older prefer sockets when -smp leaves the split open (mc->smp_props.prefer_sockets). */
  readonly preferSockets: boolean;
  /**
   * The default ic-mode (smc->irq): spapr_irq_dual from pseries-4.1 on, spapr_irq_xics for 3.1 and
   * 4.0 (checked with QMP qom-get on QEMU 7.2: fixtures/post-cas/ic-mode-defaults.json).
   */
  readonly icModeDefault: IcMode;
}

// qemu: hw/ppc/spapr.c spapr_machine_class_init
function baseDefaultCaps(): number[] {
  const caps = new Array<number>(SPAPR_CAP_NUM).fill(SPAPR_CAP_OFF);
  caps[SPAPR_CAP_HTM] = SPAPR_CAP_OFF;
  caps[SPAPR_CAP_VSX] = SPAPR_CAP_ON;
  caps[SPAPR_CAP_DFP] = SPAPR_CAP_ON;
  caps[SPAPR_CAP_CFPC] = SPAPR_CAP_WORKAROUND;
  caps[SPAPR_CAP_SBBC] = SPAPR_CAP_WORKAROUND;
  caps[SPAPR_CAP_IBS] = SPAPR_CAP_WORKAROUND;
  caps[SPAPR_CAP_HPT_MAXPAGESIZE] = 16; // 64kiB
  caps[SPAPR_CAP_NESTED_KVM_HV] = SPAPR_CAP_OFF;
  caps[SPAPR_CAP_LARGE_DECREMENTER] = SPAPR_CAP_ON;
  caps[SPAPR_CAP_CCF_ASSIST] = SPAPR_CAP_ON;
  caps[SPAPR_CAP_FWNMI] = SPAPR_CAP_ON;
  caps[SPAPR_CAP_RPT_INVALIDATE] = SPAPR_CAP_OFF;
  caps[SPAPR_CAP_STOP_LITE] = SPAPR_CAP_ON;
  return caps;
}

// pseries-5.1: the latest, the base class defaults.
function spaprMachine51ClassOptions(): number[] {
  return baseDefaultCaps();
}

// pseries-5.0: guests keep the lite stop instruction off (the new capability is new in 5.1).
function spaprMachine50ClassOptions(): number[] {
  const caps = spaprMachine51ClassOptions();
  caps[SPAPR_CAP_STOP_LITE] = SPAPR_CAP_OFF;
  return caps;
}

// qemu: hw/ppc/spapr.c spapr_machine_4_2_class_options
function spaprMachine42ClassOptions(): number[] {
  const caps = spaprMachine50ClassOptions();
  caps[SPAPR_CAP_CCF_ASSIST] = SPAPR_CAP_OFF;
  caps[SPAPR_CAP_FWNMI] = SPAPR_CAP_OFF;
  return caps;
}

const DESCRIPTION = "pSeries Logical Partition (PAPR compliant)";

function machine(version: string, latest: boolean, defaultCaps: number[]): MachineType {
  return {
    name: `pseries-${version}`,
    alias: latest ? "pseries" : undefined,
    isDefault: latest,
    description: DESCRIPTION,
    defaultCpuModel: POWER9_FAMILY_DEFAULT,
    maxCpus: 1024,
    defaultCaps,
    preferSockets: true,
    icModeDefault: "dual",
  };
}

/** The machine types this QEMU offers, newest first (pseries is an alias of pseries-5.1). */
export const MACHINE_TYPES: readonly MachineType[] = [
  machine("5.1", true, spaprMachine51ClassOptions()),
  machine("5.0", false, spaprMachine50ClassOptions()),
  machine("4.2", false, spaprMachine42ClassOptions()),
];

/** Looks a machine type up by name or alias (qemu: softmmu/vl.c find_machine). */
export function findMachine(name: string): MachineType {
  const m = MACHINE_TYPES.find((t) => t.name === name || t.alias === name);
  if (!m) {
    throw new QemuError("unsupported machine type", { hint: "Use -machine help to list supported machines" });
  }
  return m;
}

/** The caps a build of QEMU knows: cap-stop-lite only exists in builds of the capability design. */
export function capsOfBuild(build: QemuBuild): readonly SpaprCapabilityInfo[] {
  return CAPABILITY_TABLE.filter((c) => build.stopLiteCap || c.index !== SPAPR_CAP_STOP_LITE);
}

/**
 * The default caps for this machine type and CPU as this build sees them
 * (qemu: hw/ppc/spapr_caps.c default_caps_with_cpu; every model here is ISA 3.00 so no cap is lowered).
 * A build without cap-stop-lite has no such capability: its level is off.
 */
export function defaultCapsWithCpu(machineType: MachineType, build: QemuBuild): number[] {
  const caps = machineType.defaultCaps.slice();
  if (!build.stopLiteCap) caps[SPAPR_CAP_STOP_LITE] = SPAPR_CAP_OFF;
  return caps;
}

/**
 * `-machine help` (qemu: softmmu/vl.c machine_help_func): the types in strcmp order of their names
 * (machine_class_cmp), each alias on the line just before the type it names, as QEMU 7.2 prints
 * "pseries ... (alias of pseries-7.2)" right above "pseries-7.2 ... (default)".
 */
export function machineListHelp(): string {
  const lines = ["Supported machines are:"];
  const sorted = [...MACHINE_TYPES].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const m of sorted) {
    if (m.alias) lines.push(`${m.alias.padEnd(20)} ${m.description} (alias of ${m.name})`);
    lines.push(`${m.name.padEnd(20)} ${m.description}${m.isDefault ? " (default)" : ""}`);
  }
  return lines.join("\n");
}

/** `-machine pseries,help`: the machine properties this model implements. */
export function machinePropertiesHelp(machineType: MachineType, build: QemuBuild): string {
  const props: [string, string, string][] = capsOfBuild(build).map((c) => [
    `cap-${c.name}`,
    c.type === "int" ? "int" : c.type,
    c.description,
  ]);
  props.push(["dumpdtb", "string", "Dump current dtb to a file and quit"]);
  props.push(["ic-mode", "string", "Specifies the interrupt controller mode (xics, xive, dual)"]);
  props.sort((a, b) => a[0].localeCompare(b[0]));
  const lines = [`${machineType.name}-machine options:`];
  for (const [name, type, desc] of props) lines.push(`  ${`${name}=<${type}>`.padEnd(22)} - ${desc}`);
  return lines.join("\n");
}
