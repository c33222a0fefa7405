// The QEMU driver's decisions against a scripted monitor: what it launches and logs, how it records
// a domain's state from what QEMU reports (libvirt: src/qemu/qemu_process.c qemuProcessHandleStop,
// qemuProcessHandleResume, qemuProcessHandleGuestPanic; qemuProcessStop), lookups, probes and
// domain capabilities. The same paths against a real QEMU on real hosts: domain.test.ts and
// migration.test.ts.

import { describe, expect, it } from "vitest";
import type { DomainState, DomainStateReason } from "./driver.js";
import { Domain, monitorClosedError } from "./driver.js";
import { VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, VirError } from "./errors.js";
import { DEF, ScriptedQemu, scriptedPair } from "./test-helpers/scripted-qemu.js";

const ARGV = "-S -accel kvm -M pseries-5.1 -cpu POWER9 -smp 2,sockets=1,cores=1,threads=2 -m 256M -nographic";

describe("launching QEMU", () => {
  it("starts the domain's command line, logging it as qemuProcessLaunch", () => {
    const { h1 } = scriptedPair();
    const r = h1.driver.launch(DEF, false);
    expect(r.ok).toBe(true);
    expect(h1.launches).toEqual([{ argv: ARGV.split(" "), name: "vm1" }]);
    expect(h1.log).toEqual([`h1: debug : qemuProcessLaunch: vm=vm1 qemu-system-ppc64 ${ARGV}`]);
    h1.driver.launch(DEF, true);
    expect(h1.launches[1].argv.slice(-2)).toEqual(["-incoming", "defer"]);
  });

  it("turns a QEMU that exits during start-up into libvirt's monitor error with its log", () => {
    const { h1 } = scriptedPair();
    h1.refuseStart = () => "\nqemu-system-ppc64: no KVM\n  ";
    const r = h1.driver.launch(DEF, false);
    if (r.ok) throw new Error("launched");
    expect(r.error).toBeInstanceOf(VirError);
    expect(r.error.toJSON()).toEqual({
      code: VIR_ERR_INTERNAL_ERROR,
      domain: VIR_FROM_QEMU,
      level: 2,
      message: "internal error: QEMU unexpectedly closed the monitor (vm='vm1'): qemu-system-ppc64: no KVM",
    });
    expect(h1.log[1]).toBe(`h1: debug : qemuProcessReportLogError: ${r.error.message}`);
    expect(monitorClosedError("x", " a\nb ").detail).toBe(
      "QEMU unexpectedly closed the monitor (vm='x'): a\nb",
    );
  });
});

describe("domains on one host", () => {
  it("creates a domain paused, then starts its CPUs (cont): running, booted", () => {
    const { h1 } = scriptedPair();
    const dom = h1.driver.createDomain(DEF);
    expect(h1.started[0].commands()).toEqual(["cont"]);
    expect(dom.getState()).toEqual({ state: "running", reason: "booted" });
    expect(h1.driver.lookup("vm1")).toBe(dom);
    expect(h1.driver.list()).toEqual([dom]);
    expect(dom.name).toBe("vm1");
    expect(dom.driver).toBe(h1.driver);
  });

  it("refuses a second domain of the same name and registers none when QEMU does not start", () => {
    const { h1 } = scriptedPair();
    h1.driver.createDomain(DEF);
    expect(() => h1.driver.createDomain(DEF)).toThrow(
      new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "domain 'vm1' is already running on h1"),
    );
    expect(h1.launches).toHaveLength(1);
    h1.refuseStart = () => "qemu-system-ppc64: refused";
    expect(() => h1.driver.createDomain({ ...DEF, name: "vm2" })).toThrow(
      /closed the monitor \(vm='vm2'\): qemu-system-ppc64: refused$/,
    );
    expect(() => h1.driver.lookup("vm2")).toThrow(VirError);
    expect(h1.driver.list().map((d) => d.name)).toEqual(["vm1"]);
  });

  it("looks domains up by name as virDomainLookupByName reports a missing one", () => {
    const { h1 } = scriptedPair();
    try {
      h1.driver.lookup("nope");
      throw new Error("found");
    } catch (e) {
      expect((e as VirError).toJSON()).toMatchObject({
        code: VIR_ERR_NO_DOMAIN,
        domain: VIR_FROM_QEMU,
        message: "Domain not found: no domain with matching name 'nope'",
      });
    }
  });

  it("registers an incoming domain paused for the migration", () => {
    const { sim, h2 } = scriptedPair();
    const q = new ScriptedQemu(sim);
    q.status = "inmigrate";
    const dom = h2.driver.adoptIncoming(DEF, q);
    expect(h2.driver.lookup("vm1")).toBe(dom);
    expect(dom.process).toBe(q);
    // QEMU waits for the stream: still paused, reason migration
    expect(dom.getState()).toEqual({ state: "paused", reason: "migration" });
  });

  it("stops a domain: quit to a live QEMU, shut off with the reason, forgotten by its driver", () => {
    const { h1 } = scriptedPair();
    const dom = h1.driver.createDomain(DEF);
    dom.stop("destroyed");
    expect(h1.started[0].commands()).toEqual(["cont", "quit"]);
    expect(dom.getState()).toEqual({ state: "shutoff", reason: "destroyed" });
    expect(h1.driver.list()).toEqual([]);
    // a QEMU that already exited is not asked to quit (its monitor is closed)
    const again = h1.driver.createDomain(DEF);
    h1.started[1].exitStatus = 1;
    again.stop("crashed");
    expect(h1.started[1].commands()).toEqual(["cont"]);
    expect(again.getState()).toEqual({ state: "shutoff", reason: "crashed" });
  });

  it("forgets only the domain object it is given, not a newer one of the same name", () => {
    const { h1 } = scriptedPair();
    const old = h1.driver.createDomain(DEF);
    old.stop("destroyed");
    const current = h1.driver.createDomain(DEF);
    h1.driver.forget(old);
    expect(h1.driver.lookup("vm1")).toBe(current);
  });
});

describe("a domain's state from what QEMU reports", () => {
  function domain(state: DomainState, reason: DomainStateReason, status: string) {
    const { sim, h1 } = scriptedPair();
    const q = new ScriptedQemu(sim);
    q.status = status;
    return { dom: new Domain(h1.driver, DEF, q, state, reason), q };
  }
  const cases: [DomainState, DomainStateReason, string, DomainState, DomainStateReason][] = [
    ["running", "booted", "running", "running", "booted"],
    // QEMU paused the CPUs itself: for the last pages of a migration, or for some other reason
    ["running", "booted", "postmigrate", "paused", "migration"],
    ["running", "booted", "finish-migrate", "paused", "migration"],
    ["running", "booted", "paused", "paused", "unknown"],
    ["running", "booted", "inmigrate", "paused", "unknown"],
    // QEMU resumed them itself (a failed migration with a return path)
    ["paused", "migration", "running", "running", "unpaused"],
    ["paused", "user", "paused", "paused", "user"],
    ["paused", "migration", "postmigrate", "paused", "migration"],
    ["running", "booted", "guest-panicked", "crashed", "panicked"],
    ["paused", "migration", "guest-panicked", "crashed", "panicked"],
  ];
  for (const [state, reason, status, wantState, wantReason] of cases) {
    it(`${state} (${reason}) with QEMU ${status}: ${wantState} (${wantReason})`, () => {
      const { dom } = domain(state, reason, status);
      expect(dom.getState()).toEqual({ state: wantState, reason: wantReason });
    });
  }

  it("shuts off a domain whose QEMU exited: crashed, unless it had migrated away", () => {
    const a = domain("running", "booted", "running");
    a.q.exitStatus = 1;
    expect(a.dom.getState()).toEqual({ state: "shutoff", reason: "crashed" });
    const b = domain("paused", "migrated", "postmigrate");
    b.q.exitStatus = 0;
    expect(b.dom.getState()).toEqual({ state: "shutoff", reason: "migrated" });
  });

  it("does not ask the monitor of a shut-off domain", () => {
    const { dom, q } = domain("shutoff", "destroyed", "running");
    expect(dom.getState()).toEqual({ state: "shutoff", reason: "destroyed" });
    expect(q.calls).toEqual([]);
  });

  it("starts the CPUs with QMP cont and records the reason given", () => {
    const { dom, q } = domain("paused", "migration", "paused");
    dom.startCpus("migration-canceled");
    expect(q.commands()).toEqual(["cont"]);
    expect(dom.getState()).toEqual({ state: "running", reason: "migration-canceled" });
  });
});

describe("probes and domain capabilities", () => {
  it("probes a definition with a -probe process it quits at once", () => {
    const { h1 } = scriptedPair();
    expect(h1.driver.probeDomain(DEF)).toBeUndefined();
    expect(h1.launches.map((l) => l.name)).toEqual(["vm1-probe"]);
    expect(h1.started[0].commands()).toEqual(["quit"]);
    expect(h1.driver.list()).toEqual([]);
    h1.refuseStart = () => "qemu-system-ppc64: no";
    expect(h1.driver.probeDomain(DEF)?.message).toBe(
      "internal error: QEMU unexpectedly closed the monitor (vm='vm1-probe'): qemu-system-ppc64: no",
    );
  });

  it("follows QEMU's 'Try appending' hints to a probe that starts, then probes each machine type with its default caps", () => {
    const { h1 } = scriptedPair();
    const machineOf = (argv: readonly string[]) => argv[argv.indexOf("-M") + 1];
    h1.refuseStart = (argv, name) => {
      const m = machineOf(argv);
      if (name === "domcaps-probe" && !m.includes("cap-ccf-assist=off"))
        return "qemu-system-ppc64: ccf\nTry appending -machine cap-ccf-assist=off";
      if (name === "domcaps-probe" && !m.includes("cap-htm=workaround"))
        return "qemu-system-ppc64: htm\nTry appending -machine cap-htm=workaround";
      if (name === "vm1-probe" && m.startsWith("pseries-5.1")) return "qemu-system-ppc64: stop-lite refused";
      return undefined;
    };
    h1.onStart = (q) => {
      q.machines = [{ name: "pseries-5.1", alias: "pseries" }, { name: "pseries-5.0" }];
    };
    const caps = h1.driver.getDomainCapabilities({ ...DEF, caps: { "large-decr": "off" } });
    expect(caps).toEqual({
      host: "h1",
      machines: [
        {
          name: "pseries-5.1",
          alias: "pseries",
          usable: false,
          error:
            "internal error: QEMU unexpectedly closed the monitor (vm='vm1-probe'): qemu-system-ppc64: stop-lite refused",
        },
        { name: "pseries-5.0", usable: true },
      ],
    });
    // the template's own caps are replaced by the hints, then by the machine type's defaults
    expect(h1.launches.map((l) => [l.name, machineOf(l.argv)])).toEqual([
      ["domcaps-probe", "pseries-5.1"],
      ["domcaps-probe", "pseries-5.1,cap-ccf-assist=off"],
      ["domcaps-probe", "pseries-5.1,cap-ccf-assist=off,cap-htm=workaround"],
      ["vm1-probe", "pseries-5.1"],
      ["vm1-probe", "pseries-5.0"],
    ]);
    // every probe that started was quit
    expect(h1.started.every((q) => q.exitStatus === 0)).toBe(true);
    expect(h1.started[0].commands()).toEqual(["query-machines", "quit"]);
  });

  it("gives up with QEMU's refusal when it has no hint, or after eight hints", () => {
    const { h1 } = scriptedPair();
    h1.refuseStart = () => "qemu-system-ppc64: nothing to try";
    expect(() => h1.driver.getDomainCapabilities(DEF)).toThrow(/: qemu-system-ppc64: nothing to try$/);
    expect(h1.launches).toHaveLength(1);
    const { h2 } = scriptedPair();
    let n = 0;
    h2.refuseStart = () => `qemu-system-ppc64: again\nTry appending -machine cap-c${n++}=off`;
    expect(() => h2.driver.getDomainCapabilities(DEF)).toThrow(/cap-c8=off$/);
    expect(h2.launches).toHaveLength(9);
  });
});
