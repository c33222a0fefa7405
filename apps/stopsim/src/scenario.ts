// Scenario files: users define their own hosts, designs and guest settings in YAML or JSON.
// Validated with zod; every error names the file, the path in it and what was expected.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { KVM_BUILDS as HOST_KVM_BUILDS, type KvmBuildName } from "@stopsim/host";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { UsageError } from "./errors.js";
import { LIMITS } from "./limits.js";
import { DESIGNS, type DesignSpec, HOSTS, type HostPreset } from "./presets.js";

/** The host package's KVM builds, in its order (the one list of their names). */
const KVM_BUILDS = Object.keys(HOST_KVM_BUILDS) as [KvmBuildName, ...KvmBuildName[]];
const CHIPS = ["dd2.0", "dd2.1", "dd2.2", "dd2.3"] as const;
const NAME = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, "a lower-case name of letters, digits, '.', '_' or '-'");

export const HostSchema = z
  .object({
    name: NAME,
    description: z.string().default("user-defined host"),
    chip: z.enum(CHIPS),
    firmware: z.enum(["2020", "new"]),
    kernel: z.enum(["old", "design", ...KVM_BUILDS]).default("design"),
    sockets: z.number().int().min(1).max(16).default(1),
    coresPerSocket: z.number().int().min(1).max(24).default(4),
    /** The guest-stop erratum's chance of losing a wake event (isa errata.ts; DD < 2.3 only). */
    lostWakeupProbability: z.number().min(0).max(1).optional(),
  })
  .strict();

export const DesignSchema = z
  .object({
    name: NAME,
    description: z.string().default("user-defined design"),
    hostKvm: z.enum(KVM_BUILDS),
    qemu: z
      .object({
        stopLiteCap: z.boolean().default(false),
        probeKvmCapStop: z.boolean().default(false),
      })
      .strict(),
    machine: z.string().regex(/^pseries(-\d+\.\d+)?$/, "a pseries machine type such as pseries-5.1"),
    guest: z.object({ stop0lite: z.enum(["never", "always", "arch300", "platform"]) }).strict(),
  })
  .strict();

// Guest settings have no defaults here: a setting the file leaves out keeps the command's value
// (explicit flag, else the command's default), and an explicit flag wins over the file.
const GuestSchema = z
  .object({
    smp: z.string().optional(),
    memory: z.string().optional(),
    workload: z.string().optional(),
    governor: z.enum(["menu", "teo"]).optional(),
    /** The guest's watchdog_thresh as a duration ("10s"; "5ms" compresses time for short runs). */
    watchdogThresh: z.string().optional(),
  })
  .strict();

export const ScenarioSchema = z
  .object({
    hosts: z.array(HostSchema).max(LIMITS.scenarioEntries).default([]),
    designs: z.array(DesignSchema).max(LIMITS.scenarioEntries).default([]),
    guest: GuestSchema.optional(),
  })
  .strict();

export type GuestSettings = z.infer<typeof GuestSchema>;

export interface Scenario {
  readonly file: string;
  readonly hosts: readonly HostPreset[];
  readonly designs: readonly DesignSpec[];
  readonly guest: GuestSettings | undefined;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(top level)";
}

/** Deepest nesting of arrays and objects in `value`, walked without recursion. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== "object") continue;
    if (d + 1 > max) max = d + 1;
    if (max > LIMITS.scenarioDepth) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

const tooDeep = (file: string) =>
  new UsageError(
    `${file}: nested deeper than ${LIMITS.scenarioDepth} levels: a scenario needs 4 (hosts, a host, its fields)`,
  );

/** Parses and validates scenario text; `file` is only used in messages. */
export function parseScenario(text: string, file: string): Scenario {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > LIMITS.scenarioBytes)
    throw new UsageError(
      `${file}: ${bytes} bytes is above the scenario limit of ${LIMITS.scenarioBytes} bytes (1 MiB)`,
    );
  let raw: unknown;
  try {
    raw = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    // the parser's own stack ran out: JSON.parse throws the RangeError, yaml (2.9) wraps it in a
    // YAMLParseError of code RESOURCE_EXHAUSTION (yaml: src/compose/compose-node.ts composeNode)
    if (e instanceof RangeError || (e as { code?: unknown }).code === "RESOURCE_EXHAUSTION")
      throw tooDeep(file);
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new UsageError(`${file}: not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${why}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (depthOf(raw) > LIMITS.scenarioDepth) throw tooDeep(file);
  for (const key of ["hosts", "designs"] as const) {
    const list = (raw as Record<string, unknown>)[key];
    if (Array.isArray(list) && list.length > LIMITS.scenarioEntries)
      throw new UsageError(
        `${file}: ${key}: ${list.length} entries is above the limit of ${LIMITS.scenarioEntries}`,
      );
  }
  const result = ScenarioSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new UsageError(`${file}: ${formatPath(issue.path)}: ${issue.message}`);
  }
  const data = result.data;
  const seen = new Set<string>();
  for (const [i, h] of data.hosts.entries()) {
    if (seen.has(h.name) || HOSTS.some((p) => p.name === h.name)) {
      throw new UsageError(`${file}: hosts[${i}].name: '${h.name}' is already defined; choose another name`);
    }
    seen.add(h.name);
  }
  seen.clear();
  for (const [i, d] of data.designs.entries()) {
    if (seen.has(d.name) || DESIGNS.some((p) => p.name === d.name)) {
      throw new UsageError(
        `${file}: designs[${i}].name: '${d.name}' is already defined; choose another name`,
      );
    }
    seen.add(d.name);
  }
  return { file, hosts: data.hosts, designs: data.designs, guest: data.guest };
}

/**
 * Reads and validates a scenario file. Reads at most the size limit plus one byte, so an endless
 * file (/dev/zero, a FIFO) is refused without reading it all.
 */
export function loadScenario(file: string): Scenario {
  const cannot = (e: unknown) =>
    new UsageError(
      `${file}: cannot read the scenario file (${(e as NodeJS.ErrnoException).code ?? "error"}): check the path`,
    );
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw cannot(e);
  }
  const buf = Buffer.alloc(LIMITS.scenarioBytes + 1);
  let n = 0;
  try {
    if (fstatSync(fd).isDirectory()) throw new UsageError(`${file} is a directory: give a scenario file`);
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > LIMITS.scenarioBytes)
        throw new UsageError(
          `${file}: larger than the scenario limit of ${LIMITS.scenarioBytes} bytes (1 MiB)`,
        );
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw cannot(e);
  } finally {
    closeSync(fd);
  }
  return parseScenario(buf.subarray(0, n).toString("utf8"), file);
}
