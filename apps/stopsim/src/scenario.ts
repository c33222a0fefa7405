// Scenario files: users define their own hosts, designs and guest settings in YAML or JSON.
// Validated with zod; every error names the file, the path in it and what was expected.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { UsageError } from "./errors.js";
import { DESIGNS, type DesignSpec, HOSTS, type HostPreset } from "./presets.js";

const KVM_BUILDS = ["upstream-2020", "patch1", "patch2-as-posted", "host-probed", "fallback"] as const;
const CHIPS = ["dd2.0", "dd2.1", "dd2.2", "dd2.3"] as const;
const NAME = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, "a lower-case name of letters, digits, '.', '_' or '-'");

const HostSchema = z
  .object({
    name: NAME,
    description: z.string().default("user-defined host"),
    chip: z.enum(CHIPS),
    firmware: z.enum(["2020", "new"]),
    kernel: z.enum(["old", "design", ...KVM_BUILDS]).default("design"),
    sockets: z.number().int().min(1).max(16).default(1),
    coresPerSocket: z.number().int().min(1).max(24).default(4),
  })
  .strict();

const DesignSchema = z
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

const GuestSchema = z
  .object({
    smp: z.string().default("8,sockets=1,cores=2,threads=4"),
    memory: z.string().default("1G"),
    workload: z.string().optional(),
    governor: z.enum(["menu", "teo"]).default("menu"),
  })
  .strict();

export const ScenarioSchema = z
  .object({
    hosts: z.array(HostSchema).default([]),
    designs: z.array(DesignSchema).default([]),
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

/** Parses and validates scenario text; `file` is only used in messages. */
export function parseScenario(text: string, file: string): Scenario {
  let raw: unknown;
  try {
    raw = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new UsageError(`${file}: not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${why}`);
  }
  if (raw === null || raw === undefined) raw = {};
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

/** Reads and validates a scenario file. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: cannot read the scenario file (${code ?? "error"}): check the path`);
  }
  return parseScenario(text, file);
}
