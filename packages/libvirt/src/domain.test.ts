import { describe, expect, it } from "vitest";
import { DomainDefError, domainCommandLine, validateDomainDef } from "./domain.js";
import {
  qemuError,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_OK,
  VIR_ERR_OPERATION_ABORTED,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_INVALID,
  VIR_FROM_QEMU,
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

describe("domain definition details", () => {
  it("puts the interrupt controller mode before the caps, takes the CPU model given, and memory in MiB", () => {
    const argv = domainCommandLine({
      ...VM1,
      icMode: "xive",
      cpu: "POWER9_v2.2",
      caps: { htm: "off", "stop-lite": "on" },
      memoryKiB: 3 * 1024 * 1024,
    });
    expect(argv.join(" ")).toBe(
      "-S -accel kvm -M pseries-5.1,ic-mode=xive,cap-htm=off,cap-stop-lite=on -cpu POWER9_v2.2 -smp 2,sockets=1,cores=1,threads=2 -m 3072M -nographic",
    );
    expect(domainCommandLine(VM1, { incoming: false })).not.toContain("-incoming");
    expect(domainCommandLine(VM1)).not.toContain("-incoming");
    // the definition is checked first
    expect(() => domainCommandLine({ ...VM1, name: "" })).toThrow(DomainDefError);
  });

  it("names the invalid field of a definition, with what it must be", () => {
    const bad = (def: object) => {
      try {
        validateDomainDef({ ...VM1, ...def });
      } catch (e) {
        expect(e).toBeInstanceOf(DomainDefError);
        expect((e as Error).name).toBe("DomainDefError");
        return (e as Error).message;
      }
      return "accepted";
    };
    expect(bad({ name: "" })).toBe("domain name '' is not valid: use a name without spaces or '/'");
    expect(bad({ name: "a/b" })).toBe("domain name 'a/b' is not valid: use a name without spaces or '/'");
    expect(bad({ name: "a\tb" })).toMatch(/^domain name 'a\tb' is not valid/);
    expect(bad({ name: "a b" })).toMatch(/^domain name 'a b' is not valid/);
    expect(bad({ name: "vm-1_x.2" })).toBe("accepted");
    const vcpus = (v: object) => ({ vcpus: { ...VM1.vcpus, ...v } });
    expect(bad(vcpus({ count: 0 }))).toBe("vcpus.count must be a whole number >= 1, got 0");
    expect(bad(vcpus({ sockets: 1.5 }))).toBe("vcpus.sockets must be a whole number >= 1, got 1.5");
    expect(bad(vcpus({ cores: Number.NaN }))).toBe("vcpus.cores must be a whole number >= 1, got NaN");
    expect(bad(vcpus({ threads: -2 }))).toBe("vcpus.threads must be a whole number >= 1, got -2");
    expect(bad(vcpus({ count: 1, threads: 1 }))).toBe("accepted");
    expect(bad(vcpus({ count: 8, sockets: 2, cores: 2, threads: 2 }))).toBe("accepted");
    expect(bad(vcpus({ count: 4, sockets: 2, cores: 2, threads: 2 }))).toBe(
      "CPU topology doesn't match maximum vcpu count: 2 sockets x 2 cores x 2 threads != 4 vcpus",
    );
    const memory = "memoryKiB must be a whole number of MiB (a multiple of 1024)";
    expect(bad({ memoryKiB: 0 })).toBe(`${memory}, got 0`);
    expect(bad({ memoryKiB: 512 })).toBe(`${memory}, got 512`);
    expect(bad({ memoryKiB: 1536 })).toBe(`${memory}, got 1536`);
    expect(bad({ memoryKiB: 2048.5 })).toBe(`${memory}, got 2048.5`);
    expect(bad({ memoryKiB: 1024 })).toBe("accepted");
  });
});

describe("virError", () => {
  it("gives the remaining codes their prefix, and none to a code without one", () => {
    expect(virErrorMsg(VIR_ERR_OPERATION_ABORTED, "x")).toBe("operation aborted: x");
    expect(virErrorMsg(VIR_ERR_OK, "x")).toBe("x");
    const e = qemuError(VIR_ERR_NO_DOMAIN, "gone");
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.domain, e.detail, e.level, e.message]).toEqual([
      "VirError",
      42,
      VIR_FROM_QEMU,
      "gone",
      2,
      "Domain not found: gone",
    ]);
  });

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
