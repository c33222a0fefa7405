// The command line of qemu-system-ppc64 for the options this model implements, parsed with QEMU's
// own rules and messages.
// qemu: softmmu/vl.c (qemu_init option loop, "invalid option", -machine/-accel handling),
//       util/qemu-option.c (QemuOpts "key=value,key=value" with an implied first key and ",," escapes),
//       hw/core/machine-smp.c machine_parse_smp_config (topology errors),
//       softmmu/vl.c set_memory_options (-m), target/ppc/cpu_init.c ppc_cpu_class_by_name (-cpu).

import { capByName, parseCapValue } from "./caps.js";
import { isKnownCpuModelName } from "./cpu-models.js";
import { QemuError } from "./errors.js";
import { type IcMode, parseIcMode } from "./irq.js";
import {
  capsOfBuild,
  findMachine,
  type MachineType,
  machineListHelp,
  machinePropertiesHelp,
  type QemuBuild,
} from "./machine.js";
import { parseSize } from "./size.js";

export interface SmpConfig {
  readonly cpus: number;
  readonly maxCpus: number;
  readonly sockets: number;
  readonly dies: number;
  readonly cores: number;
  readonly threads: number;
}

/** Everything the command line decided. */
export interface QemuConfig {
  readonly machineType: MachineType;
  /** Caps set on the command line: SPAPR_CAP_* index -> level (qemu: spapr->cmd_line_caps + eff). */
  readonly cmdLineCaps: ReadonlyMap<number, number>;
  /** `-machine dumpdtb=FILE`: write the guest DTB and exit. */
  readonly dumpdtb: string | undefined;
  /** `-machine ic-mode=`, or the machine type's default. */
  readonly icMode: IcMode;
  /** `-cpu` as given (resolved against the host when the machine is built). */
  readonly cpuModel: string;
  readonly smp: SmpConfig;
  /** Guest RAM in bytes. */
  readonly ramSize: number;
  readonly nographic: boolean;
  /** Only KVM: this model has no TCG. */
  readonly accel: "kvm";
  /** `-S`: do not start the vCPUs (QMP `cont` starts them). */
  readonly startPaused: boolean;
  /** `-incoming URI`: wait for a migration stream instead of booting. */
  readonly incoming: string | undefined;
  /** Warnings QEMU prints and carries on (warn_report). */
  readonly warnings: readonly string[];
}

/** The result of a command line: a configuration, or the help text QEMU prints before exiting. */
export type ParsedCommandLine = { kind: "config"; config: QemuConfig } | { kind: "help"; text: string };

/** The object form of a command line; every field maps to the option of the same meaning. */
export interface QemuOptionsObject {
  /** -machine TYPE; "pseries" by default. */
  machine?: string;
  /** Machine properties: { "cap-stop-lite": "off", dumpdtb: "out.dtb" } (values as on the command line). */
  machineProps?: Readonly<Record<string, string | boolean | number>>;
  cpu?: string;
  smp?: number | { cpus?: number; sockets?: number; cores?: number; threads?: number; maxcpus?: number };
  /** -m: bytes as a number, or a size string such as "1G" (a bare number string is MiB, like -m). */
  memory?: number | string;
  nographic?: boolean;
  accel?: string;
  startPaused?: boolean;
  incoming?: string;
}

interface OptDef {
  readonly hasArg: boolean;
}

// The options this model knows (qemu: qemu-options.hx); every other option is "invalid option".
const OPTIONS: Record<string, OptDef> = {
  M: { hasArg: true },
  machine: { hasArg: true },
  cpu: { hasArg: true },
  smp: { hasArg: true },
  m: { hasArg: true },
  nographic: { hasArg: false },
  accel: { hasArg: true },
  "enable-kvm": { hasArg: false },
  S: { hasArg: false },
  incoming: { hasArg: true },
  display: { hasArg: true },
  serial: { hasArg: true },
  monitor: { hasArg: true },
};

/** One QemuOpts group: ordered key/value pairs (qemu: util/qemu-option.c opts_do_parse). */
function parseQemuOpts(text: string, impliedKey: string | undefined, location: string): [string, string][] {
  const out: [string, string][] = [];
  // split on ',' with ',,' as an escaped comma
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === ",") {
      if (text[i + 1] === ",") {
        cur += ",";
        i++;
        continue;
      }
      parts.push(cur);
      cur = "";
    } else {
      cur += ch;
    }
  }
  parts.push(cur);
  parts.forEach((part, i) => {
    const eq = part.indexOf("=");
    if (eq < 0) {
      if (part === "help" || part === "?") {
        out.push(["help", ""]);
      } else if (i === 0 && impliedKey !== undefined) {
        out.push([impliedKey, part]);
      } else if (part !== "") {
        throw new QemuError(`Expected '=' after parameter '${part}'`, { location });
      }
      return;
    }
    out.push([part.slice(0, eq), part.slice(eq + 1)]);
  });
  return out;
}

function parseUint(value: string): number | undefined {
  if (!/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

// qemu: hw/core/machine-smp.c machine_parse_smp_config (QEMU 7.2 wording)
function parseSmp(
  pairs: readonly [string, string][],
  machineType: MachineType,
  warnings: string[],
): SmpConfig {
  const v: Record<string, number> = {};
  for (const [key, value] of pairs) {
    if (!["cpus", "sockets", "dies", "clusters", "cores", "threads", "maxcpus"].includes(key)) {
      throw new QemuError(`Parameter 'smp.${key}' is unexpected`);
    }
    const n = parseUint(value);
    if (n === undefined) throw new QemuError(`Parameter 'smp.${key}' expects integer`);
    v[key] = n;
  }
  if (Object.entries(v).some(([k, n]) => k !== "cpus" && k !== "maxcpus" && n === 0) || v.cpus === 0) {
    warnings.push(
      "Deprecated CPU topology (considered invalid): CPU topology parameters must be greater than zero",
    );
  }
  if (v.dies !== undefined && v.dies > 1) {
    throw new QemuError("dies not supported by this machine's CPU topology");
  }
  let cpus = v.cpus ?? 0;
  let maxcpus = v.maxcpus ?? 0;
  let sockets = v.sockets ?? 0;
  let cores = v.cores ?? 0;
  let threads = v.threads ?? 0;
  const dies = 1;
  if (cpus === 0 && maxcpus === 0) {
    sockets = sockets > 0 ? sockets : 1;
    cores = cores > 0 ? cores : 1;
    threads = threads > 0 ? threads : 1;
  } else {
    maxcpus = maxcpus > 0 ? maxcpus : cpus;
    if (machineType.preferSockets) {
      if (sockets === 0) {
        cores = cores > 0 ? cores : 1;
        threads = threads > 0 ? threads : 1;
        sockets = Math.floor(maxcpus / (dies * cores * threads));
      } else if (cores === 0) {
        threads = threads > 0 ? threads : 1;
        cores = Math.floor(maxcpus / (dies * sockets * threads));
      }
    } else if (cores === 0) {
      sockets = sockets > 0 ? sockets : 1;
      threads = threads > 0 ? threads : 1;
      cores = Math.floor(maxcpus / (sockets * dies * threads));
    } else if (sockets === 0) {
      threads = threads > 0 ? threads : 1;
      sockets = Math.floor(maxcpus / (dies * cores * threads));
    }
    if (threads === 0) threads = Math.floor(maxcpus / (sockets * dies * cores));
  }
  maxcpus = maxcpus > 0 ? maxcpus : sockets * dies * cores * threads;
  cpus = cpus > 0 ? cpus : maxcpus;
  const topo = `sockets (${sockets}) * cores (${cores}) * threads (${threads})`;
  if (sockets * dies * cores * threads !== maxcpus) {
    throw new QemuError(
      `Invalid CPU topology: product of the hierarchy must match maxcpus: ${topo} != maxcpus (${maxcpus})`,
    );
  }
  if (maxcpus < cpus) {
    throw new QemuError(
      `Invalid CPU topology: maxcpus must be equal to or greater than smp: ${topo} == maxcpus (${maxcpus}) < smp_cpus (${cpus})`,
    );
  }
  if (maxcpus > machineType.maxCpus) {
    throw new QemuError(
      `Invalid SMP CPUs ${maxcpus}. The max CPUs supported by machine '${machineType.name}' is ${machineType.maxCpus}`,
    );
  }
  // qemu: hw/ppc/spapr.c spapr_set_vsmt_mode: threads per core must be a power of 2; POWER9 KVM
  // offers virtual SMT modes up to 8 (KVM_CAP_PPC_SMT_POSSIBLE)
  if ((threads & (threads - 1)) !== 0 || threads > 8) {
    throw new QemuError(`Cannot support ${threads} threads/core on a pseries machine`, {
      hint: "Try a power of 2 up to 8 for threads= in -smp",
    });
  }
  return { cpus, maxCpus: maxcpus, sockets, dies, cores, threads };
}

const SIZE_HINT =
  "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.";

// qemu: softmmu/vl.c set_memory_options; hw/ppc/spapr.c spapr_rma_size (SLOF needs 128 MiB of RMA)
function parseMemory(pairs: readonly [string, string][], location: string): number {
  let size: bigint | undefined = 128n << 20n;
  for (const [key, value] of pairs) {
    if (key === "size") {
      size = parseSize(value, "M");
      if (size === undefined) {
        throw new QemuError("Parameter 'size' expects a non-negative number below 2^64", {
          location,
          hint: SIZE_HINT,
        });
      }
    } else if (key === "slots" || key === "maxmem") {
      if (key === "slots" && parseUint(value) === undefined) {
        throw new QemuError(`Parameter '${key}' expects a number`, { location });
      }
      // qemu: the -m option's sizes (size and maxmem) are QEMU_OPT_SIZE: the same message and hint
      if (key === "maxmem" && parseSize(value, "M") === undefined) {
        throw new QemuError(`Parameter '${key}' expects a non-negative number below 2^64`, {
          location,
          hint: SIZE_HINT,
        });
      }
    } else {
      throw new QemuError(`Invalid parameter '${key}'`, { location });
    }
  }
  if (size === 0n) size = 128n << 20n; // "-m 0" means the default (qemu: set_memory_options)
  if (size < 128n << 20n) {
    throw new QemuError("pSeries SLOF firmware requires >= 128MiB guest RMA (Real Mode Area memory)");
  }
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new QemuError(`cannot set up guest memory 'ppc_spapr.ram': Cannot allocate memory`);
  }
  return Number(size);
}

/** Splits a command line string like a POSIX shell does for plain words and simple quotes. */
export function splitCommandLine(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null = re.exec(text);
  while (m !== null) {
    out.push(m[1] ?? m[2] ?? m[3]);
    m = re.exec(text);
  }
  return out;
}

/** Turns the object form into the argv it stands for (so both forms give identical results and errors). */
export function optionsObjectToArgv(o: QemuOptionsObject): string[] {
  const argv: string[] = [];
  const mparts: string[] = [(o.machine ?? "pseries").replaceAll(",", ",,")];
  for (const [k, v] of Object.entries(o.machineProps ?? {})) {
    const value = typeof v === "boolean" ? (v ? "on" : "off") : String(v);
    mparts.push(`${k}=${value.replaceAll(",", ",,")}`);
  }
  argv.push("-machine", mparts.join(","));
  if (o.cpu !== undefined) argv.push("-cpu", o.cpu);
  if (o.smp !== undefined) {
    if (typeof o.smp === "number") argv.push("-smp", String(o.smp));
    else {
      const parts: string[] = [];
      if (o.smp.cpus !== undefined) parts.push(String(o.smp.cpus));
      for (const k of ["sockets", "cores", "threads", "maxcpus"] as const) {
        const val = o.smp[k];
        if (val !== undefined) parts.push(`${k}=${val}`);
      }
      argv.push("-smp", parts.join(","));
    }
  }
  if (o.memory !== undefined) argv.push("-m", typeof o.memory === "number" ? `${o.memory}B` : o.memory);
  if (o.nographic) argv.push("-nographic");
  if (o.accel !== undefined) argv.push("-accel", o.accel);
  if (o.startPaused) argv.push("-S");
  if (o.incoming !== undefined) argv.push("-incoming", o.incoming);
  return argv;
}

/**
 * Parses a qemu-system-ppc64 command line (a string, an argv array without the program name, or the
 * object form) for a QEMU of build `build`. Throws QemuError with QEMU's message on bad input.
 */
export function parseCommandLine(
  input: string | readonly string[] | QemuOptionsObject,
  build: QemuBuild,
): ParsedCommandLine {
  let argv: readonly string[];
  if (typeof input === "string") {
    argv = splitCommandLine(input);
    if (argv[0]?.endsWith("qemu-system-ppc64")) argv = argv.slice(1);
  } else if (Array.isArray(input)) {
    argv = input as readonly string[];
  } else {
    argv = optionsObjectToArgv(input as QemuOptionsObject);
  }

  const warnings: string[] = [];
  let machineText: string | undefined;
  let machineLocation: string | undefined;
  let cpuModel: string | undefined;
  let smpText: string | undefined;
  let memText: string | undefined;
  let nographic = false;
  let accel: string | undefined;
  let startPaused = false;
  let incoming: string | undefined;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("-") || arg === "-" || arg === "--") {
      // qemu: a non-option argument is the legacy disk image (-hda): not modelled
      throw new QemuError(`${arg}: disk images are not modelled; boot a guest kernel image instead`);
    }
    const name = arg.replace(/^--?/, "");
    const def = OPTIONS[name];
    if (!def) throw new QemuError("invalid option", { location: arg });
    let value = "";
    if (def.hasArg) {
      if (i + 1 >= argv.length) throw new QemuError("requires an argument", { location: arg });
      value = argv[++i];
    }
    const location = def.hasArg ? `${arg} ${value}` : arg;
    switch (name) {
      case "M":
      case "machine":
        // later -machine options merge into earlier ones (qemu_opts_parse_noisily on "machine")
        machineText = machineText === undefined ? value : `${machineText},${value}`;
        machineLocation = machineLocation ?? location;
        break;
      case "cpu":
        cpuModel = value;
        break;
      case "smp":
        smpText = value;
        break;
      case "m":
        memText = value;
        break;
      case "nographic":
        nographic = true;
        break;
      case "enable-kvm":
        accel = "kvm";
        break;
      case "accel": {
        const pairs = parseQemuOpts(value, "accel", location);
        for (const [k, v] of pairs) {
          if (k === "accel") {
            if (v !== "kvm") throw new QemuError(`invalid accelerator ${v}`, { location });
            accel = "kvm";
          } else if (k === "help") {
            return { kind: "help", text: "Accelerators supported in QEMU binary:\nkvm" };
          } else {
            throw new QemuError(`Property 'kvm-accel.${k}' not found`, { location });
          }
        }
        break;
      }
      case "S":
        startPaused = true;
        break;
      case "incoming":
        incoming = value;
        break;
      // -display/-serial/-monitor only select host-side plumbing that is not modelled
      default:
        break;
    }
  }

  // -machine: type first, then properties (qemu: vl.c machine_parse_property_opt / qemu_apply_machine_options)
  const mpairs = parseQemuOpts(machineText ?? "pseries", "type", machineLocation ?? "-machine");
  let typeName = "pseries";
  for (const [k, v] of mpairs) {
    if (k === "type") typeName = v;
    if (k === "help" && mpairs[0][0] === "help") return { kind: "help", text: machineListHelp() };
  }
  if (typeName === "help" || typeName === "?") return { kind: "help", text: machineListHelp() };
  const machineType = findMachine(typeName);
  if (mpairs.some(([k]) => k === "help")) {
    return { kind: "help", text: machinePropertiesHelp(machineType, build) };
  }
  const known = capsOfBuild(build);
  const cmdLineCaps = new Map<number, number>();
  let dumpdtb: string | undefined;
  let icMode: IcMode = machineType.icModeDefault;
  for (const [k, v] of mpairs) {
    if (k === "type") continue;
    if (k === "dumpdtb") {
      dumpdtb = v;
      continue;
    }
    if (k === "ic-mode") {
      icMode = parseIcMode(v);
      continue;
    }
    if (k === "accel") {
      if (v !== "kvm") throw new QemuError(`invalid accelerator ${v}`);
      accel = "kvm";
      continue;
    }
    const cap = k.startsWith("cap-") ? capByName(k) : undefined;
    if (!cap || !known.includes(cap)) {
      throw new QemuError(`Property '${machineType.name}-machine.${k}' not found`);
    }
    cmdLineCaps.set(cap.index, parseCapValue(cap, v));
  }

  if (cpuModel !== undefined && (cpuModel === "help" || cpuModel === "?")) {
    return { kind: "help", text: cpuHelp() };
  }
  if (cpuModel !== undefined && !isKnownCpuModelName(cpuModel)) {
    throw new QemuError(`unable to find CPU model '${cpuModel}'`);
  }

  const smp = parseSmp(
    smpText === undefined ? [] : parseQemuOpts(smpText, "cpus", `-smp ${smpText}`),
    machineType,
    warnings,
  );
  const ramSize = parseMemory(
    memText === undefined ? [] : parseQemuOpts(memText, "size", `-m ${memText}`),
    `-m ${memText ?? ""}`,
  );

  return {
    kind: "config",
    config: {
      machineType,
      cmdLineCaps,
      dumpdtb,
      icMode,
      cpuModel: cpuModel ?? machineType.defaultCpuModel,
      smp,
      ramSize,
      nographic,
      accel: accel === undefined ? "kvm" : "kvm",
      startPaused,
      incoming,
      warnings,
    },
  };
}

function cpuHelp(): string {
  return [
    "PowerPC power9_v1.0      PVR 004e0100",
    "PowerPC power9_v2.0      PVR 004e1200",
    "PowerPC power9_v2.2      PVR 004e1202",
    "PowerPC power9           (alias for power9_v2.0)",
    "PowerPC host",
  ].join("\n");
}
