// The stack's assembly on its own: the machine and firmware a host preset builds and each refusal
// of a bad one (a UsageError naming the setting, as the CLI prints it), QEMU's start on a booted
// host (its parse errors are the user's, its start refusals an outcome), libvirt's launcher on a
// host, the domain definition of a design's guest, and the small readings the reports are made of.
import { Simulation } from "@stopsim/engine";
import { MigrationNetwork } from "@stopsim/qemu";
import { describe, expect, it } from "vitest";
import { domainDefFor, manageHost, parseCaps } from "./management.js";
import { findDesign, findHost } from "./presets.js";
import {
  classifyIdle,
  createDesignGuest,
  DEFAULT_GUEST,
  diffCounts,
  guestIdleStates,
  guestRunState,
  parseWorkload,
  qemuCommandLine,
  startQemu,
  vmCounters,
} from "./run.js";
import { bootFirmware, bootSimHost } from "./stack.js";
import { usageMessage } from "./test-helpers/usage.js";

describe("the machine and its firmware", () => {
  it("builds the chips, cores and SMT4 threads first, then OPAL's tree and runtime on them", () => {
    const f = bootFirmware({ chip: "dd2.3", firmware: "new", sockets: 2, coresPerSocket: 3 });
    expect(f.machine.threads.length).toBe(2 * 3 * 4);
    expect(f.dtb.length).toBeGreaterThan(0);
    expect(f.tree.getNode("/cpus/ibm,powerpc-cpu-features/idle-stop-guest")).toBeDefined();
    // one socket of four cores by default
    expect(bootFirmware({ chip: "dd2.2", firmware: "2020" }).machine.threads.length).toBe(16);
  });

  it("each bad setting is refused in one line that names it", () => {
    expect(usageMessage(() => bootFirmware({ chip: "dd9", firmware: "new" }))).toBe(
      "unknown chip 'dd9': expected one of dd2.0, dd2.1, dd2.2, dd2.3",
    );
    expect(usageMessage(() => bootFirmware({ chip: "dd2.2", firmware: "1999" }))).toMatch(
      /^unknown firmware '1999': expected one of '2020', 'old', 'skiboot-v6.6', 'idle-stop-guest', 'new' /,
    );
    expect(usageMessage(() => bootFirmware({ chip: "dd2.2", firmware: "new", sockets: 0 }))).toBe(
      "chips must be an integer from 1 to 16, got 0",
    );
    expect(usageMessage(() => bootFirmware({ chip: "dd2.2", firmware: "new", coresPerSocket: 25 }))).toBe(
      "coresPerChip must be an integer from 1 to 24, got 25",
    );
    expect(
      usageMessage(() => bootFirmware({ chip: "dd2.2", firmware: "new", lostWakeupProbability: 2 })),
    ).toBe("lostWakeupProbability must be a number in [0, 1], got 2");
  });

  it("a host's erratum probability reaches the chips: certain loss, or none, on every core of the machine", () => {
    const lossy = bootFirmware({ chip: "dd2.2", firmware: "new", lostWakeupProbability: 1 });
    const none = bootFirmware({ chip: "dd2.2", firmware: "new", lostWakeupProbability: 0 });
    const p = (f: typeof lossy) => f.machine.chips[0].cores[0].core.errata.lostWakeupProbability;
    expect(p(lossy)).toBe(1);
    expect(p(none)).toBe(0);
    // without the setting, the ISA model's own default (errata.ts)
    const dflt = bootFirmware({ chip: "dd2.2", firmware: "new" });
    expect(p(dflt)).toBeGreaterThan(0);
    expect(p(dflt)).toBeLessThan(1);
  });

  it("the host kernel boots on the machine from the firmware's DTB, running the KVM build of the preset and design", () => {
    const sim = new Simulation();
    const h = bootSimHost(sim, findHost("dd2.2"), findDesign("rfc-as-posted"), "left");
    expect(h.machine).toBe(h.firmware.machine);
    expect(h.host.build.name).toBe("patch2-as-posted");
    expect(h.preset.name).toBe("dd2.2");
    expect(h.host.name).toBe("left");
    expect(bootSimHost(sim, findHost("dd2.2"), findDesign("rfc-as-posted")).host.name).toBe("dd2.2");
  });
});

describe("QEMU on a booted host", () => {
  const design = findDesign("spapr-cap");
  const setup = () => {
    const sim = new Simulation();
    const h = bootSimHost(sim, findHost("dd2.3"), design);
    return { sim, h, image: createDesignGuest(sim, design, DEFAULT_GUEST) };
  };

  it("the design's command line: its machine type, the guest's -smp and -m; -incoming defer for a destination", () => {
    expect(qemuCommandLine(design, DEFAULT_GUEST)).toBe(
      "-M pseries-5.1 -cpu POWER9 -smp 8,sockets=1,cores=2,threads=4 -m 1G -nographic",
    );
    expect(qemuCommandLine(design, { ...DEFAULT_GUEST, smp: "2", memory: "2G" }, ",ic-mode=xics", true)).toBe(
      "-M pseries-5.1,ic-mode=xics -cpu POWER9 -smp 2 -m 2G -nographic -incoming defer",
    );
  });

  it("a command line QEMU cannot parse is the user's mistake: one line, QEMU's lines joined", () => {
    const { sim, h, image } = setup();
    expect(usageMessage(() => startQemu(sim, h, design, image, "-M pseries-5.1 -bogus", "q"))).toBe(
      "qemu-system-ppc64: -bogus: invalid option",
    );
    expect(usageMessage(() => startQemu(sim, h, design, image, "-M pseries-5.1 -smp 7,threads=4", "q"))).toBe(
      "qemu-system-ppc64: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (1) * cores (1) * threads (4) != maxcpus (7)",
    );
  });

  it("a complaint of several lines is one line, QEMU's lines joined; -M help starts no machine", () => {
    const { sim, h, image } = setup();
    // qemu-system-ppc64 7.2 on an unknown machine type (packages/qemu/fixtures/qemu-errors.json)
    expect(usageMessage(() => startQemu(sim, h, design, image, "-M pseries-9.9", "q"))).toBe(
      "qemu-system-ppc64: unsupported machine type / Use -machine help to list supported machines",
    );
    // QEMU prints the machine types and exits: no machine, and no usage error either
    expect(startQemu(sim, h, design, image, "-M help", "q")).toEqual({
      ok: false,
      error: "QEMU did not start a machine (help)",
    });
  });

  it("the guest image is the design's kernel: its stop0lite mode, the governor, the watchdog threshold when given", () => {
    const sim = new Simulation();
    const old = findDesign("upstream-2020");
    const k = createDesignGuest(sim, old, { ...DEFAULT_GUEST, governor: "teo", watchdogThreshS: 0.5 });
    expect(k.config).toMatchObject({ stop0lite: old.guest.stop0lite, governor: "teo", watchdogThreshS: 0.5 });
    expect(k.config.stop0lite).not.toBe(design.guest.stop0lite);
    // without it, Linux's default watchdog_thresh of 10 s (kernel/watchdog.c)
    const d = createDesignGuest(sim, design, DEFAULT_GUEST);
    expect(d.config).toMatchObject({
      stop0lite: design.guest.stop0lite,
      governor: "menu",
      watchdogThreshS: 10,
    });
  });

  it("a machine KVM refuses is an outcome with QEMU's message; a started one is running with the guest's image", () => {
    const { sim, h, image } = setup();
    const refused = startQemu(sim, h, design, image, "-M pseries-5.1 -cpu POWER9 -smp 300", "q");
    expect(refused).toEqual({
      ok: false,
      error: "qemu-system-ppc64: kvm_init_vcpu: kvm_get_vcpu failed (16): errno 22",
    });
    const ok = startQemu(sim, h, design, image, qemuCommandLine(design, DEFAULT_GUEST), "q");
    if (!ok.ok) throw new Error(ok.error);
    expect(ok.qemu.status).toBe("running");
    expect(vmCounters(ok.qemu)).toEqual({ exits: {}, emulatedStops: 0 });
    expect(guestRunState(image, ok.qemu)).toBe("running");
  });

  it("a guest that ran: its idle statistics summed over CPUs in ns, KVM's exits and emulated stops", () => {
    const sim = new Simulation({ seed: 1 });
    const d = findDesign("emulate-fallback");
    const h = bootSimHost(sim, findHost("dd2.2"), d);
    const image = createDesignGuest(sim, d, DEFAULT_GUEST);
    const q = startQemu(sim, h, d, image, qemuCommandLine(d, DEFAULT_GUEST), "q");
    if (!q.ok) throw new Error(q.error);
    sim.runFor(3_000_000);
    const idle = guestIdleStates(image);
    const perCpu = image.cpuidleSysfs();
    expect(perCpu).toHaveLength(8);
    for (const name of ["snooze", "stop0lite", "Shared Cede"]) {
      const states = perCpu.map((c) => c.states.find((s) => s.name === name));
      expect(idle[name]).toEqual({
        usage: states.reduce((a, s) => a + (s?.usage ?? 0), 0),
        timeNs: states.reduce((a, s) => a + (s?.time ?? 0), 0) * 1000,
        above: states.reduce((a, s) => a + (s?.above ?? 0), 0),
        below: states.reduce((a, s) => a + (s?.below ?? 0), 0),
      });
    }
    expect(idle.snooze.below).toBeGreaterThan(0);
    const c = vmCounters(q.qemu);
    expect(c.emulatedStops).toBe(idle.stop0lite.usage);
    expect(c.emulatedStops).toBeGreaterThan(0);
    expect(c.exits.H_FAC_UNAVAIL).toBe(c.emulatedStops);
  });

  it("a guest that panicked reads panicked from the kernel or from QEMU's run state", () => {
    const k = (state: string) => ({ state }) as Parameters<typeof guestRunState>[0];
    const q = (status: string) => ({ status }) as Parameters<typeof guestRunState>[1];
    expect(guestRunState(k("panicked"), q("running"))).toBe("panicked");
    expect(guestRunState(k("running"), q("guest-panicked"))).toBe("panicked");
    expect(guestRunState(k("hung"), q("running"))).toBe("hung");
    expect(guestRunState(k("running"), q("running"))).toBe("running");
  });
});

describe("readings", () => {
  it("an idle phase's outcome: crashed, hung, then not-used without stop0lite, else emulated or native", () => {
    expect(classifyIdle("panicked", 5, 5)).toBe("crashed");
    expect(classifyIdle("hung", 5, 0)).toBe("hung");
    expect(classifyIdle("running", 0, 3)).toBe("not-used");
    expect(classifyIdle("running", 1, 1)).toBe("emulated");
    expect(classifyIdle("running", 1, 0)).toBe("native");
  });

  it("counter differences keep only what grew, including counters new since the first reading", () => {
    expect(diffCounts({ a: 5, b: 2, c: 3 }, { a: 1, b: 2 })).toEqual({ a: 4, c: 3 });
    expect(diffCounts({ a: 1 }, { a: 2 })).toEqual({});
  });

  it("workloads are named as the CLI takes them", () => {
    expect(parseWorkload("ctxsw")).toBe("ctxsw");
    expect(usageMessage(() => parseWorkload("idle"))).toBe(
      "unknown workload 'idle': expected one of timers, mixed, ebizzy, ctxsw, none",
    );
  });
});

describe("the management layer", () => {
  it("--caps: cap=value pairs, a leading comma and the cap- prefix allowed, blanks trimmed", () => {
    expect(parseCaps(",cap-stop-lite=off, htm = on ,")).toEqual({ "stop-lite": "off", htm: "on" });
    expect(parseCaps("")).toEqual({});
    // a blank entry (a trailing ", ") is skipped, not refused
    expect(parseCaps("stop-lite=off, ")).toEqual({ "stop-lite": "off" });
    for (const bad of ["stop-lite", "stop-lite=", "=on"])
      expect(usageMessage(() => parseCaps(bad))).toBe(
        `'${bad}' is not cap=value (e.g. stop-lite=off or cap-stop-lite=off)`,
      );
  });

  it("the domain of a design's guest: machine type, caps, ic-mode apart, topology from -smp, memory in KiB", () => {
    const d = findDesign("spapr-cap");
    expect(domainDefFor(d, DEFAULT_GUEST, { "stop-lite": "off", "ic-mode": "xics" })).toEqual({
      name: "guest",
      machine: "pseries-5.1",
      icMode: "xics",
      caps: { "stop-lite": "off" },
      vcpus: { count: 8, sockets: 1, cores: 2, threads: 4 },
      memoryKiB: 1024 * 1024,
    });
    // -smp 4: four sockets of one core of one thread, as QEMU fills the topology; no ic-mode given,
    // none in the definition
    expect(domainDefFor(d, { ...DEFAULT_GUEST, smp: "4", memory: "512M" }, {})).toStrictEqual({
      name: "guest",
      machine: "pseries-5.1",
      caps: {},
      vcpus: { count: 4, sockets: 4, cores: 1, threads: 1 },
      memoryKiB: 512 * 1024,
    });
    expect(domainDefFor(d, { ...DEFAULT_GUEST, smp: "8,cores=2,threads=4" }, {}).vcpus.sockets).toBe(1);
    // -m without a suffix is MiB (qemu: softmmu/vl.c parse_memory_options, the legacy suffix-less form)
    expect(domainDefFor(d, { ...DEFAULT_GUEST, memory: "512" }, {}).memoryKiB).toBe(512 * 1024);
    expect(domainDefFor(d, DEFAULT_GUEST, { "ic-mode": "dual" }).icMode).toBe("dual");
    expect(domainDefFor(d, DEFAULT_GUEST, { "ic-mode": "xive" }).icMode).toBe("xive");
  });

  it("refuses a memory size, an ic-mode or a topology libvirt would not take, naming the option", () => {
    const d = findDesign("spapr-cap");
    expect(usageMessage(() => domainDefFor(d, { ...DEFAULT_GUEST, memory: "lots" }, {}))).toBe(
      "--memory 'lots' is not a size (e.g. 1G, 512M)",
    );
    expect(usageMessage(() => domainDefFor(d, DEFAULT_GUEST, { "ic-mode": "foo" }))).toBe(
      "ic-mode 'foo' is not xics, xive or dual",
    );
    expect(
      usageMessage(() => domainDefFor(d, { ...DEFAULT_GUEST, smp: "8,sockets=3,cores=2,threads=4" }, {})),
    ).toBe(
      "CPU topology doesn't match maximum vcpu count: 3 sockets x 2 cores x 4 threads != 8 vcpus (check --smp and --memory)",
    );
  });

  it("libvirtd's launcher starts QEMU on the host's KVM and keeps the process by name; a refusal is QEMU's stderr", () => {
    const sim = new Simulation();
    const d = findDesign("spapr-cap");
    const h = bootSimHost(sim, findHost("dd2.3"), d);
    const image = createDesignGuest(sim, d, DEFAULT_GUEST);
    const m = manageHost(sim, h, "left", d, image, new MigrationNetwork());
    const argv = qemuCommandLine(d, DEFAULT_GUEST).split(" ");
    const r = m.launcher(argv, { name: "guest" });
    expect(r.ok).toBe(true);
    expect(m.processes.get("guest")).toBe(r.ok ? r.process : undefined);
    expect(m.processes.get("guest")?.name).toBe("qemu-guest@left");
    const refused = m.launcher([...argv.slice(0, 4), "-smp", "300"], { name: "big" });
    expect(refused).toEqual({
      ok: false,
      stderr: "qemu-system-ppc64: kvm_init_vcpu: kvm_get_vcpu failed (16): errno 22",
    });
    expect(m.processes.has("big")).toBe(false);
  });

  it("libvirtd on the host: its driver has the host's name, starts a domain through the launcher and logs to the caller", () => {
    const sim = new Simulation();
    const d = findDesign("spapr-cap");
    const h = bootSimHost(sim, findHost("dd2.3"), d);
    const lines: string[] = [];
    const m = manageHost(
      sim,
      h,
      "left",
      d,
      createDesignGuest(sim, d, DEFAULT_GUEST),
      new MigrationNetwork(),
      (l) => lines.push(l),
    );
    expect(m.driver.hostname).toBe("left");
    m.driver.createDomain(domainDefFor(d, DEFAULT_GUEST, {}));
    expect(m.processes.get("guest")?.name).toBe("qemu-guest@left");
    expect(m.processes.get("guest")?.status).toBe("running");
    expect(
      lines.some((l) => l.startsWith("left: debug : qemuProcessLaunch: vm=guest qemu-system-ppc64 ")),
    ).toBe(true);
  });

  it("a QEMU the launcher started listens on the migration network under the host's name", () => {
    const sim = new Simulation();
    const d = findDesign("spapr-cap");
    const h = bootSimHost(sim, findHost("dd2.3"), d);
    const network = new MigrationNetwork();
    const m = manageHost(sim, h, "right", d, createDesignGuest(sim, d, DEFAULT_GUEST), network);
    const r = m.launcher(qemuCommandLine(d, DEFAULT_GUEST, "", true).split(" "), { name: "guest" });
    if (!r.ok) throw new Error(r.stderr);
    expect(network.connect("tcp:right:49152")).toBeUndefined();
    r.process.qmp("migrate-incoming", { uri: "tcp:[::]:49152" });
    // migrate-incoming on tcp:[::] listens at the host's name (gethostname), not the process's
    expect(network.connect("tcp:right:49152")).toBe(r.process);
    expect(network.connect("tcp:qemu-guest@right:49152")).toBeUndefined();
  });
});
