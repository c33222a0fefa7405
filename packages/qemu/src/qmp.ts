// qemu: qapi/qmp-dispatch.c qmp_dispatch with monitor/qmp-cmds.c (qmp_cont, qmp_stop, qmp_quit) and
// migration/migration.c (qmp_migrate, qmp_migrate_incoming, qmp_migrate_set_capabilities ...).

import { POWER9_CPU_MODELS } from "./cpu-models.js";
import { QmpError } from "./errors.js";
import { MACHINE_TYPES } from "./machine.js";
import { MIGRATION_CAPABILITY_NAMES } from "./migration/migration.js";
import type { Qemu } from "./spapr.js";

/** One QMP command on `q` (Qemu.qmp() documents the commands). */
export function qmpDispatch(q: Qemu, command: string, args: Readonly<Record<string, unknown>>): unknown {
  if (q.exitStatus !== undefined) {
    throw new QmpError("GenericError", `QEMU exited with status ${q.exitStatus}: the monitor is closed`);
  }
  switch (command) {
    case "query-status":
      return { status: q._status, singlestep: false, running: q._status === "running" };
    case "query-machines":
      return MACHINE_TYPES.map((m) => ({
        name: m.name,
        ...(m.alias ? { alias: m.alias } : {}),
        ...(m.isDefault ? { "is-default": true } : {}),
        "cpu-max": m.maxCpus,
        "hotpluggable-cpus": true,
        "numa-mem-supported": m.name !== "pseries-5.1",
        deprecated: false,
        "default-cpu-type": `${m.defaultCpuModel}-powerpc64-cpu`,
        "default-ram-id": "ppc_spapr.ram",
      }));
    case "query-cpu-definitions":
      return [
        ...POWER9_CPU_MODELS.map((c) => ({
          name: c.name,
          typename: c.typeName,
          static: false,
          deprecated: false,
        })),
        { name: "host", typename: "host-powerpc64-cpu", static: false, deprecated: false },
      ];
    case "query-migrate":
      return q.migration ? q.migration.info() : {};
    case "stop":
      q.stop();
      return {};
    // monitor/qmp-cmds.c qmp_cont: runstate_needs_reset() refuses; during finish-migrate "not
    // finalized"; in inmigrate it only sets autostart; otherwise vm_start() (also from postmigrate:
    // "Continuing after completed migration")
    case "cont":
      if (q._status === "guest-panicked" || q._status === "shutdown" || q._status === "internal-error") {
        throw new QmpError("GenericError", "Resetting the Virtual Machine is required");
      }
      if (q._status === "finish-migrate")
        throw new QmpError("GenericError", "Migration is not finalized yet");
      if (q._status === "inmigrate") {
        q.autostart = true;
        return {};
      }
      q.cont();
      return {};
    // migration/migration.c qmp_migrate_set_capabilities / qmp_query_migrate_capabilities
    case "migrate-set-capabilities": {
      const list = args.capabilities;
      if (!Array.isArray(list)) {
        throw new QmpError("GenericError", "Parameter 'capabilities' is missing");
      }
      if (q.migration && (q.migration.status === "active" || q.migration.status === "device")) {
        throw new QmpError("GenericError", "There's a migration process in progress");
      }
      for (const [i, c] of (list as { capability?: unknown; state?: unknown }[]).entries()) {
        const name = MIGRATION_CAPABILITY_NAMES.find((n) => n === c.capability);
        if (name === undefined) {
          throw new QmpError(
            "GenericError",
            `Parameter 'capability' does not accept value '${String(c.capability)}'`,
          );
        }
        // qapi/qobject-input-visitor.c: QERR_INVALID_PARAMETER_TYPE with the member's full name
        if (typeof c.state !== "boolean") {
          throw new QmpError(
            "GenericError",
            `Invalid parameter type for 'capabilities[${i}].state', expected: boolean`,
          );
        }
        q.migrationCapabilities[name] = c.state;
      }
      return {};
    }
    case "query-migrate-capabilities":
      return MIGRATION_CAPABILITY_NAMES.map((n) => ({
        capability: n,
        state: q.migrationCapabilities[n],
      }));
    // migration/migration.c qmp_migrate_incoming: only once, only after -incoming defer
    case "migrate-incoming": {
      if (q.config.incoming !== "defer" || q._status !== "inmigrate") {
        throw new QmpError("GenericError", "For use with '-incoming defer'");
      }
      if (q.incomingUri !== undefined) {
        throw new QmpError("GenericError", "The incoming migration has already been started");
      }
      const uri = args.uri;
      if (typeof uri !== "string" || uri === "") {
        throw new QmpError("GenericError", "Parameter 'uri' is missing");
      }
      q.listenIncoming(uri);
      return {};
    }
    // migration/migration.c qmp_migrate: connect to the URI, then migrate as migrate() does
    case "migrate": {
      const uri = args.uri;
      if (typeof uri !== "string" || uri === "") {
        throw new QmpError("GenericError", "Parameter 'uri' is missing");
      }
      const dst = q.network?.connect(uri);
      if (dst === undefined) {
        const m = q.migrateFailedToConnect(uri);
        return { status: m.status };
      }
      q.migrate(dst, {}, q.network?.fault);
      return {};
    }
    // monitor/qmp-cmds.c qmp_quit: the process exits (status 0)
    case "quit":
      q.exit(0);
      return {};
    default:
      throw new QmpError("CommandNotFound", `The command ${command} has not been found`);
  }
}
