// The QMP commands of the machine, command by command, with the answers and errors
// qemu-system-ppc64 7.2 gives on `-qmp stdio` (qemu: qapi/qmp-dispatch.c, monitor/qmp-cmds.c
// qmp_cont / qmp_stop / qmp_quit, migration/migration.c qmp_migrate*, qmp_query_migrate_capabilities).
import type { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { MigrationError, QEMU_PROGRAM, QemuError, QmpError } from "./errors.js";
import { MigrationNetwork, Qemu } from "./spapr.js";
import { bootTestHost } from "./test-helpers/hosts.js";
import { startMachine } from "./test-helpers/machines.js";
import { TinyGuestImage } from "./test-helpers/tiny-guest.js";

function machine(extra = "-S", network?: MigrationNetwork): { sim: Simulation; q: Qemu } {
  return startMachine(`-M pseries -smp 2 -m 256M ${extra}`, { seed: 2, ...(network ? { network } : {}) });
}

function qmpError(fn: () => unknown): { class: string; desc: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof QmpError) return { class: e.errorClass, desc: e.desc };
    throw e;
  }
  throw new Error("the command succeeded");
}

describe("QMP run state commands", () => {
  it("query-status, cont and stop from -S as QEMU 7.2 answers them, with RESUME and STOP events", () => {
    const { q } = machine();
    expect(q.qmp("query-status")).toEqual({ status: "prelaunch", singlestep: false, running: false });
    expect(q.qmp("cont")).toEqual({});
    expect(q.qmp("query-status")).toEqual({ status: "running", singlestep: false, running: true });
    expect(q.events.map((e) => e.event)).toEqual(["RESUME"]);
    expect(q.qmp("stop")).toEqual({});
    expect(q.qmp("query-status")).toEqual({ status: "paused", singlestep: false, running: false });
    expect(q.events.map((e) => e.event)).toEqual(["RESUME", "STOP"]);
  });

  it("cont refuses a guest that needs a reset, and a migration not finalized", () => {
    for (const status of ["guest-panicked", "shutdown", "internal-error"] as const) {
      const { q } = machine();
      q._status = status;
      expect(qmpError(() => q.qmp("cont"))).toEqual({
        class: "GenericError",
        desc: "Resetting the Virtual Machine is required",
      });
      expect(q.status).toBe(status);
    }
    const { q } = machine();
    q._status = "finish-migrate";
    expect(qmpError(() => q.qmp("cont")).desc).toBe("Migration is not finalized yet");
  });

  it("cont while an incoming migration waits only arms the start after it", () => {
    const { q } = machine("-S -incoming defer");
    expect(q.qmp("query-status")).toMatchObject({ status: "inmigrate" });
    expect(q.autostart).toBe(false);
    expect(q.qmp("cont")).toEqual({});
    expect(q.autostart).toBe(true);
    expect(q.status).toBe("inmigrate");
    expect(q.events).toEqual([]);
  });

  it("quit ends the process with status 0; then the monitor is closed", () => {
    const { q } = machine();
    expect(q.qmp("quit")).toEqual({});
    expect(q.exitStatus).toBe(0);
    expect(qmpError(() => q.qmp("query-status"))).toEqual({
      class: "GenericError",
      desc: "QEMU exited with status 0: the monitor is closed",
    });
  });

  it("an unknown command is CommandNotFound", () => {
    const { q } = machine();
    expect(qmpError(() => q.qmp("bogus"))).toEqual({
      class: "CommandNotFound",
      desc: "The command bogus has not been found",
    });
  });
});

describe("QMP queries of the machine", () => {
  it("query-machines lists the pseries types with QEMU's fields", () => {
    const { q } = machine();
    // qemu-system-ppc64 7.2 reports the same fields for these types (cpu-max 4096 there: this model
    // keeps QEMU 5.1's 1024, see machine.ts); numa-mem-supported ends with pseries-5.1
    expect(q.qmp("query-machines")).toEqual([
      {
        name: "pseries-5.1",
        alias: "pseries",
        "is-default": true,
        "cpu-max": 1024,
        "hotpluggable-cpus": true,
        "numa-mem-supported": false,
        deprecated: false,
        "default-cpu-type": "power9_v2.0-powerpc64-cpu",
        "default-ram-id": "ppc_spapr.ram",
      },
      ...["pseries-5.0", "pseries-4.2"].map((name) => ({
        name,
        "cpu-max": 1024,
        "hotpluggable-cpus": true,
        "numa-mem-supported": true,
        deprecated: false,
        "default-cpu-type": "power9_v2.0-powerpc64-cpu",
        "default-ram-id": "ppc_spapr.ram",
      })),
    ]);
  });

  it("query-cpu-definitions lists the POWER9 models and the KVM host CPU", () => {
    const { q } = machine();
    expect(q.qmp("query-cpu-definitions")).toEqual([
      { name: "power9_v1.0", typename: "power9_v1.0-powerpc64-cpu", static: false, deprecated: false },
      { name: "power9_v2.0", typename: "power9_v2.0-powerpc64-cpu", static: false, deprecated: false },
      { name: "power9_v2.2", typename: "power9_v2.2-powerpc64-cpu", static: false, deprecated: false },
      { name: "host", typename: "host-powerpc64-cpu", static: false, deprecated: false },
    ]);
  });
});

describe("QMP migration commands", () => {
  it("migrate-set-capabilities checks its arguments as QEMU 7.2's QAPI visitor does", () => {
    const { q } = machine();
    expect(q.qmp("query-migrate")).toEqual({});
    expect(qmpError(() => q.qmp("migrate-set-capabilities", {})).desc).toBe(
      "Parameter 'capabilities' is missing",
    );
    expect(
      qmpError(() =>
        q.qmp("migrate-set-capabilities", { capabilities: [{ capability: "bogus", state: true }] }),
      ).desc,
    ).toBe("Parameter 'capability' does not accept value 'bogus'");
    const typeError = qmpError(() =>
      q.qmp("migrate-set-capabilities", {
        capabilities: [
          { capability: "return-path", state: true },
          { capability: "return-path", state: 1 },
        ],
      }),
    );
    expect(typeError.desc).toBe("Invalid parameter type for 'capabilities[1].state', expected: boolean");
    expect(
      q.qmp("migrate-set-capabilities", { capabilities: [{ capability: "return-path", state: true }] }),
    ).toEqual({});
    expect(q.qmp("query-migrate-capabilities")).toEqual([{ capability: "return-path", state: true }]);
    q.qmp("migrate-set-capabilities", { capabilities: [{ capability: "return-path", state: false }] });
    expect(q.qmp("query-migrate-capabilities")).toEqual([{ capability: "return-path", state: false }]);
  });

  it("migrate-incoming only after -incoming defer, once, with a URI", () => {
    const running = machine().q;
    expect(qmpError(() => running.qmp("migrate-incoming", { uri: "tcp:[::]:49152" })).desc).toBe(
      "For use with '-incoming defer'",
    );
    const listening = machine("-incoming tcp:[::]:49153").q;
    expect(qmpError(() => listening.qmp("migrate-incoming", { uri: "tcp:[::]:49152" })).desc).toBe(
      "For use with '-incoming defer'",
    );
    const { q } = machine("-incoming defer");
    expect(qmpError(() => q.qmp("migrate-incoming", {})).desc).toBe("Parameter 'uri' is missing");
    expect(qmpError(() => q.qmp("migrate-incoming", { uri: "" })).desc).toBe("Parameter 'uri' is missing");
    expect(q.incomingUri).toBeUndefined();
    expect(q.qmp("migrate-incoming", { uri: "tcp:[::]:49152" })).toEqual({});
    expect(q.incomingUri).toBe("tcp:[::]:49152");
    expect(qmpError(() => q.qmp("migrate-incoming", { uri: "tcp:[::]:49154" })).desc).toBe(
      "The incoming migration has already been started",
    );
  });

  it("migrate needs a URI, fails without a listener there, and refuses capability changes while active", () => {
    const network = new MigrationNetwork();
    const { sim, q } = machine("", network);
    expect(qmpError(() => q.qmp("migrate", {})).desc).toBe("Parameter 'uri' is missing");
    expect(qmpError(() => q.qmp("migrate", { uri: "" })).desc).toBe("Parameter 'uri' is missing");
    expect(q.qmp("migrate", { uri: "tcp:nowhere:49152" })).toEqual({ status: "failed" });
    expect(q.qmp("query-migrate")).toMatchObject({ status: "failed" });
    expect(q.status).toBe("running");
    sim.runFor(1_000_000);
    const h2 = bootTestHost(sim, { chip: "dd2.3", firmware: "new", kernel: "fallback" }, "h2");
    const dst = Qemu.create({
      sim,
      host: { ...h2.qemuHost, hostname: "h2" },
      build: { stopLiteCap: true, probeKvmCapStop: false },
      commandLine: "-M pseries -smp 2 -m 256M -incoming defer",
      image: new TinyGuestImage({ sim, stop0lite: "platform" }),
      name: "dst",
      network,
    });
    if (dst.kind !== "running") throw new Error(dst.kind);
    dst.qemu.qmp("migrate-incoming", { uri: "tcp:[::]:49152" });
    expect(q.qmp("migrate", { uri: "tcp:h2:49152" })).toEqual({});
    expect(q.qmp("query-migrate")).toMatchObject({ status: "active" });
    expect(
      qmpError(() =>
        q.qmp("migrate-set-capabilities", { capabilities: [{ capability: "return-path", state: true }] }),
      ).desc,
    ).toBe("There's a migration process in progress");
  });
});

describe("QEMU's error reports", () => {
  it("print the program name, the location, the reason and the hint lines, after earlier reports", () => {
    expect(QEMU_PROGRAM).toBe("qemu-system-ppc64");
    const plain = new QemuError("unsupported machine type");
    expect([plain.message, plain.reason, plain.hint, plain.location, plain.name]).toEqual([
      "qemu-system-ppc64: unsupported machine type",
      "unsupported machine type",
      undefined,
      undefined,
      "QemuError",
    ]);
    expect(plain.preceding).toEqual([]);
    const full = new QemuError("Parameter 'size' expects a non-negative number below 2^64", {
      location: "-m foo",
      hint: "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.",
      preceding: ["warning: one", "two"],
    });
    expect(full.message).toBe(
      [
        "qemu-system-ppc64: warning: one",
        "qemu-system-ppc64: two",
        "qemu-system-ppc64: -m foo: Parameter 'size' expects a non-negative number below 2^64",
        "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-",
        "and exabytes, respectively.",
      ].join("\n"),
    );
    expect(full.location).toBe("-m foo");
    const m = new MigrationError("load of migration failed: Invalid argument", {
      preceding: ["Not a migration stream"],
    });
    expect(m).toBeInstanceOf(QemuError);
    expect(m.name).toBe("MigrationError");
    expect(m.message).toBe(
      "qemu-system-ppc64: Not a migration stream\nqemu-system-ppc64: load of migration failed: Invalid argument",
    );
    const e = new QmpError("DeviceNotActive", "No migration in progress");
    expect([e.name, e.errorClass, e.desc, e.message]).toEqual([
      "QmpError",
      "DeviceNotActive",
      "No migration in progress",
      "No migration in progress",
    ]);
  });
});
