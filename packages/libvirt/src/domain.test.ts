import { describe, expect, it } from "vitest";
import { domainCommandLine, validateDomainDef } from "./domain.js";
import {
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_INVALID,
  VirError,
  virErrorMsg,
} from "./errors.js";
import { DD22, DD23, makeWorld, OLD, VM1 } from "./test-helpers/world.js";

describe("domain definition -> QEMU command line", () => {
  it("always starts QEMU paused (-S) under KVM with the machine type, caps, CPU, topology and memory", () => {
    expect(domainCommandLine({ ...VM1, caps: { "stop-lite": "off" } }).join(" ")).toBe(
      "-S -accel kvm -M pseries-5.1,cap-stop-lite=off -cpu POWER9 -smp 2,sockets=1,cores=1,threads=2 -m 256M -nographic",
    );
    expect(domainCommandLine(VM1, { incoming: true }).slice(-2)).toEqual(["-incoming", "defer"]);
  });

  it("refuses definitions libvirt would refuse, naming the field and the fix", () => {
    expect(() => validateDomainDef({ ...VM1, name: "a b" })).toThrow(/without spaces/);
    expect(() =>
      validateDomainDef({ ...VM1, vcpus: { count: 3, sockets: 1, cores: 1, threads: 2 } }),
    ).toThrow("CPU topology doesn't match maximum vcpu count: 1 sockets x 1 cores x 2 threads != 3 vcpus");
    expect(() => validateDomainDef({ ...VM1, memoryKiB: 1000 })).toThrow(/multiple of 1024/);
  });
});

describe("virError", () => {
  it("prefixes the detail as virerror.c virErrorMsg does", () => {
    expect(virErrorMsg(VIR_ERR_INTERNAL_ERROR, "x")).toBe("internal error: x");
    expect(virErrorMsg(VIR_ERR_OPERATION_FAILED, "x")).toBe("operation failed: x");
    expect(virErrorMsg(VIR_ERR_OPERATION_INVALID, "x")).toBe("Requested operation is not valid: x");
    expect(virErrorMsg(VIR_ERR_NO_DOMAIN, "x")).toBe("Domain not found: x");
    expect(new VirError(VIR_ERR_OPERATION_FAILED, 10, "y").toJSON()).toEqual({
      code: 9,
      domain: 10,
      level: 2,
      message: "operation failed: y",
    });
  });
});

describe("domain capabilities", () => {
  it("list the machine types QEMU offers and which start on the host with their default caps", () => {
    const w = makeWorld([OLD, DD22, DD23]);
    const [old, dd22, dd23] = w.drivers.map((d) => d.getDomainCapabilities(VM1));
    expect(old.machines.map((m) => [m.name, m.usable])).toEqual([
      ["pseries-5.1", false],
      ["pseries-5.0", true],
      ["pseries-4.2", true],
    ]);
    expect(old.machines[0].error).toMatch(
      /QEMU unexpectedly closed the monitor .*Guest use of the lite stop/s,
    );
    for (const caps of [dd22, dd23]) expect(caps.machines.every((m) => m.usable)).toBe(true);
    // the probes leave no process running
    expect([...w.processes.values()].every((q) => q.exitStatus === 0)).toBe(true);
  });

  it("a domain starts as libvirt starts it: -S, then cont", () => {
    const w = makeWorld([DD23]);
    const d = w.drivers[0].createDomain(VM1);
    expect(d.getState()).toEqual({ state: "running", reason: "booted" });
    expect(w.processes.get("vm1@h1")?.config.startPaused).toBe(true);
    expect(() => w.drivers[0].createDomain(VM1)).toThrow(/already running/);
    const old = makeWorld([OLD]);
    expect(() => old.drivers[0].createDomain(VM1)).toThrow(
      /^internal error: QEMU unexpectedly closed the monitor \(vm='vm1'\): qemu-system-ppc64: Guest use/,
    );
  });
});
