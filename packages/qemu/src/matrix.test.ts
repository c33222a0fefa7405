// The design x host migration matrix on real hosts (DOMAIN.md sections 4 and 5): for every design,
// boot a guest on H1, idle, migrate to H2, idle. Outcomes are classified only from what the layers
// report: QEMU's start errors and QMP (query-status, query-migrate error-desc, GUEST_PANICKED),
// the host VM's exit counters, the guest kernel's own counters in RAM. No outcome is stored.

import { Simulation } from "@stopsim/engine";
import type { KvmBuildName } from "@stopsim/host";
import { afterAll, describe, expect, it } from "vitest";
import { QemuError, QmpError } from "./errors.js";
import type { QemuBuild } from "./machine.js";
import { Qemu } from "./spapr.js";
import { bootTestHost, type TestHost, type TestHostSpec } from "./test-helpers/hosts.js";
import { readTinyGuestState, type Stop0litePolicy, TinyGuestImage } from "./test-helpers/tiny-guest.js";

interface Design {
  readonly name: string;
  /** The KVM build an upgraded host of this design runs. */
  readonly hostKvm: KvmBuildName;
  readonly qemu: QemuBuild;
  readonly machine: string;
  readonly stop0lite: Stop0litePolicy;
}

const DESIGNS: readonly Design[] = [
  {
    name: "upstream-2020",
    hostKvm: "upstream-2020",
    qemu: { stopLiteCap: false, probeKvmCapStop: false },
    machine: "pseries-5.0",
    stop0lite: "never",
  },
  {
    name: "rfc-as-posted",
    hostKvm: "patch2-as-posted",
    qemu: { stopLiteCap: false, probeKvmCapStop: false },
    machine: "pseries-5.0",
    stop0lite: "always",
  },
  {
    name: "host-probed",
    hostKvm: "host-probed",
    qemu: { stopLiteCap: false, probeKvmCapStop: true },
    machine: "pseries-5.0",
    stop0lite: "platform",
  },
  {
    name: "emulate-fallback",
    hostKvm: "fallback",
    qemu: { stopLiteCap: false, probeKvmCapStop: false },
    machine: "pseries-5.0",
    stop0lite: "arch300",
  },
  {
    name: "spapr-cap",
    hostKvm: "fallback",
    qemu: { stopLiteCap: true, probeKvmCapStop: false },
    machine: "pseries-5.1",
    stop0lite: "platform",
  },
];

/** An old host runs the 2020 firmware and kernel whatever the design; an upgraded one the design's. */
const HOSTS: Readonly<Record<string, (d: Design) => TestHostSpec>> = {
  "DD2.2-old": () => ({ chip: "dd2.2", firmware: "2020", kernel: "upstream-2020" }),
  "DD2.2-patched": (d) => ({ chip: "dd2.2", firmware: "new", kernel: d.hostKvm }),
  "DD2.3": (d) => ({ chip: "dd2.3", firmware: "new", kernel: d.hostKvm }),
};
const HOST_NAMES = Object.keys(HOSTS);

const IDLE_NS = 30_000_000;
const SMP = "-smp 1 -m 256M -nographic";

interface Phase {
  /** How the guest idled: from its own counters and the host VM's H_FAC_UNAVAIL exits. */
  readonly idle: string;
  readonly ticks: number;
  readonly exits: Readonly<Record<string, number>>;
  readonly died: boolean;
}

interface Outcome {
  readonly design: string;
  readonly from: string;
  readonly to: string;
  /** "ok", or QEMU's error (then the run continued with the hint applied, as an operator would). */
  readonly srcStart: string;
  readonly h1?: Phase;
  readonly dstStart?: string;
  readonly migration?: string;
  readonly h2?: Phase;
  /** The destination's stderr when it refused the stream (its first line). */
  readonly dstError?: string;
  /** After a refused migration: the source guest still running and ticking. */
  readonly sourceAfterRefusal?: { status: string; ticks: number };
  readonly verdict: string;
}

function firstLine(e: QemuError): string {
  return e.message.split("\n")[0].replace(/^qemu-system-ppc64: /, "");
}

/** Starts QEMU; on a refusal with a "Try appending" hint, starts again with the hint applied. */
function startWithHint(
  create: (extra: string) => Qemu,
): { qemu: Qemu; start: string } | { error: QemuError; start: string } {
  try {
    return { qemu: create(""), start: "ok" };
  } catch (e) {
    if (!(e instanceof QemuError)) throw e;
    const hint = /Try appending -machine (\S+)/.exec(e.message);
    if (hint === null) return { error: e, start: `refused: ${firstLine(e)}` };
    return { qemu: create(`,${hint[1]}`), start: `refused: ${firstLine(e)}; started with ${hint[1]}` };
  }
}

function vmExits(h: TestHost): Record<string, number> {
  const vm = h.host.kvm.vmList.at(-1);
  return vm ? vm.exitCountsRecord() : {};
}

interface Baseline {
  readonly guest: { readonly stops: number; readonly cedes: number; readonly jiffies: number };
  readonly exits: Readonly<Record<string, number>>;
}

/**
 * Runs the guest on `q` for `ns` and classifies what it did there since `baseline` (default: now;
 * after a migration: the guest's counters as the source left them, and no exit yet on H2).
 */
function idlePhase(sim: Simulation, q: Qemu, h: TestHost, ns: number, baseline?: Baseline): Phase {
  // before boot the kernel has not counted anything yet
  const before = baseline?.guest ?? readTinyGuestState(q.ram).cpus[0] ?? { stops: 0, cedes: 0, jiffies: 0 };
  const exitsBefore = baseline?.exits ?? vmExits(h);
  sim.runFor(ns);
  const g = readTinyGuestState(q.ram);
  const after = g.cpus[0];
  const exitsAfter = vmExits(h);
  const exits: Record<string, number> = {};
  for (const [k, v] of Object.entries(exitsAfter)) {
    const d = v - (exitsBefore[k] ?? 0);
    if (d > 0) exits[k] = d;
  }
  const died = q.status === "guest-panicked";
  const stops = after.stops - before.stops;
  const cedes = after.cedes - before.cedes;
  const trapped = exits.H_FAC_UNAVAIL ?? 0;
  let idle: string;
  if (died) idle = `died: program check (${after.programChecks}) -> ibm,os-term`;
  else if (stops > 0 && trapped === 0) idle = "stop0lite native";
  else if (stops > 0 && trapped >= stops - 1) idle = "stop0lite emulated";
  else if (stops > 0) idle = `stop0lite, ${trapped}/${stops} trapped`;
  else if (cedes > 0) idle = "CEDE";
  else idle = "no idle entry";
  return { idle, ticks: after.jiffies - before.jiffies, exits, died };
}

function runScenario(design: Design, from: string, to: string, seed: number): Outcome {
  const sim = new Simulation({ seed });
  const h1 = bootTestHost(sim, HOSTS[from](design), "h1");
  const h2 = bootTestHost(sim, HOSTS[to](design), "h2");
  const base = { design: design.name, from, to };
  const image = () => new TinyGuestImage({ sim, stop0lite: design.stop0lite });
  const qemuOn = (h: TestHost, name: string, extra: string, incoming: boolean) => {
    const r = Qemu.create({
      sim,
      host: h.qemuHost,
      build: design.qemu,
      image: image(),
      name,
      commandLine: `-M ${design.machine}${extra} ${SMP}${incoming ? " -incoming defer" : ""}`,
    });
    if (r.kind !== "running") throw new Error(`QEMU did not start a machine: ${r.kind}`);
    return r.qemu;
  };

  const s = startWithHint((extra) => qemuOn(h1, "src", extra, false));
  if (!("qemu" in s)) return { ...base, srcStart: s.start, verdict: "does not start on H1" };
  const src = s.qemu;
  const p1 = idlePhase(sim, src, h1, IDLE_NS);
  if (p1.died) return { ...base, srcStart: s.start, h1: p1, verdict: "guest dies on H1" };

  const d = startWithHint((extra) => qemuOn(h2, "dst", extra, true));
  if (!("qemu" in d)) {
    return { ...base, srcStart: s.start, h1: p1, dstStart: d.start, verdict: "destination does not start" };
  }
  const dst = d.qemu;
  // QEMU alone: the destination listens after migrate-incoming, and only the return path lets the
  // source see a refusal (without it the source would complete and wait in postmigrate; the
  // management layer of @stopsim/libvirt handles that case)
  dst.qmp("migrate-incoming", { uri: "tcp:[::]:49152" });
  src.qmp("migrate-set-capabilities", { capabilities: [{ capability: "return-path", state: true }] });
  let migration: string;
  try {
    const m = src.migrate(dst);
    while (m.status === "active" || m.status === "device") sim.runFor(1_000_000);
    const info = m.info();
    migration =
      info.status === "failed" && info["error-desc"] !== undefined
        ? `failed: ${info["error-desc"]}`
        : info.status;
  } catch (e) {
    if (!(e instanceof QmpError)) throw e;
    migration = `QMP error: ${e.message}`;
  }
  const common = { ...base, srcStart: s.start, h1: p1, dstStart: d.start, migration };
  if (migration !== "completed") {
    const before = readTinyGuestState(src.ram).cpus[0].jiffies;
    sim.runFor(IDLE_NS);
    const status = src.status;
    const ticks = readTinyGuestState(src.ram).cpus[0].jiffies - before;
    return {
      ...common,
      dstError: dst.incomingError?.message.split("\n")[0].replace(/^qemu-system-ppc64: /, ""),
      sourceAfterRefusal: { status, ticks },
      verdict:
        status === "running" && ticks > 0
          ? "migration refused, source keeps running"
          : `migration refused, source ${status}`,
    };
  }
  // the destination's VM ran only since the migration completed; the source's RAM is as it left it
  const p2 = idlePhase(sim, dst, h2, IDLE_NS, { guest: readTinyGuestState(src.ram).cpus[0], exits: {} });
  return {
    ...common,
    h2: p2,
    verdict: p2.died ? "guest dies after migration" : `runs (${p1.idle} -> ${p2.idle})`,
  };
}

const outcomes: Outcome[] = [];
const find = (design: string, from: string, to: string): Outcome => {
  const o = outcomes.find((x) => x.design === design && x.from === from && x.to === to);
  if (!o) throw new Error(`no outcome for ${design} ${from} -> ${to}`);
  return o;
};

describe("migration matrix on real hosts (boot on H1, idle, migrate to H2, idle)", () => {
  let seed = 1;
  for (const design of DESIGNS) {
    it(`runs design ${design.name} across ${HOST_NAMES.join(", ")}`, () => {
      for (const from of HOST_NAMES)
        for (const to of HOST_NAMES) outcomes.push(runScenario(design, from, to, seed++));
      // every run ends in an observed state: nothing is left undecided
      for (const o of outcomes.filter((x) => x.design === design.name)) expect(o.verdict).not.toBe("");
    });
  }

  it("upstream-2020: guests idle with CEDE and migrate everywhere", () => {
    for (const from of HOST_NAMES) {
      for (const to of HOST_NAMES) {
        const o = find("upstream-2020", from, to);
        expect(o.migration).toBe("completed");
        expect(o.h1?.idle).toBe("CEDE");
        expect(o.h2?.idle).toBe("CEDE");
        expect(o.h2?.ticks).toBeGreaterThan(0);
      }
    }
  });

  it("a stop0lite guest on a host that sets ESL|EC without patch 1 dies with a program check", () => {
    const o = find("rfc-as-posted", "DD2.2-old", "DD2.3");
    expect(o.verdict).toBe("guest dies on H1");
    expect(o.h1?.exits.H_FAC_UNAVAIL).toBeGreaterThan(0);
  });

  it("with patch 1 the same guest keeps running, each stop a trap and an emulated wakeup", () => {
    const o = find("emulate-fallback", "DD2.2-patched", "DD2.2-patched");
    expect(o.h1?.idle).toBe("stop0lite emulated");
    expect(o.h1?.ticks).toBeGreaterThan(0);
    expect(o.h2?.idle).toBe("stop0lite emulated");
  });

  it("DD2.3 with idle-stop-guest and the clearing policy runs stop natively, without exits", () => {
    for (const design of ["emulate-fallback", "spapr-cap", "host-probed"]) {
      const o = find(design, "DD2.3", "DD2.3");
      expect([design, o.h1?.idle, o.h1?.exits.H_FAC_UNAVAIL ?? 0]).toEqual([design, "stop0lite native", 0]);
      expect(o.h2?.idle).toBe("stop0lite native");
    }
  });

  it("host-probed: a guest booted on DD2.3 dies after migrating to DD2.2-old", () => {
    const o = find("host-probed", "DD2.3", "DD2.2-old");
    expect(o.h1?.idle).toBe("stop0lite native");
    expect(o.migration).toBe("completed");
    expect(o.verdict).toBe("guest dies after migration");
    // the old host's KVM trapped the guest's first stop and queued the program check
    expect(o.h2?.exits.H_FAC_UNAVAIL).toBeGreaterThan(0);
  });

  it("spapr-cap: DD2.3 -> DD2.2-old is refused up front with a clear error, the source keeps running", () => {
    const o = find("spapr-cap", "DD2.3", "DD2.2-old");
    expect(o.h1?.idle).toBe("stop0lite native");
    // the destination QEMU cannot provide the machine type's default: it says so and how to start
    expect(o.dstStart).toBe(
      "refused: Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop); started with cap-stop-lite=off",
    );
    // started as the hint says, it refuses the incoming stream before the guest runs there
    expect(o.migration).toBe("failed");
    expect(o.dstError).toBe("cap-stop-lite higher level (1) in incoming stream than on destination (0)");
    expect(o.sourceAfterRefusal?.status).toBe("running");
    expect(o.sourceAfterRefusal?.ticks).toBeGreaterThan(0);
    expect(o.verdict).toBe("migration refused, source keeps running");
  });

  it("spapr-cap on DD2.2-old: QEMU refuses to start; with cap-stop-lite=off the guest starts and uses CEDE", () => {
    const o = find("spapr-cap", "DD2.2-old", "DD2.2-old");
    expect(o.srcStart).toBe(
      "refused: Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop); started with cap-stop-lite=off",
    );
    expect(o.h1?.idle).toBe("CEDE");
    expect(o.h1?.ticks).toBeGreaterThan(0);
  });

  afterAll(() => {
    const exits = (p: Phase | undefined) =>
      p === undefined
        ? "-"
        : Object.entries(p.exits)
            .sort(([, a], [, b]) => b - a)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ");
    const rows = outcomes.map((o) => [
      o.design,
      `${o.from} -> ${o.to}`,
      o.h1?.idle ?? "-",
      exits(o.h1),
      o.migration ?? "-",
      o.h2?.idle ?? (o.sourceAfterRefusal ? `source ${o.sourceAfterRefusal.status}` : "-"),
      exits(o.h2),
      o.verdict,
    ]);
    const header = [
      "design",
      "H1 -> H2",
      "idle on H1",
      "exits on H1",
      "migration",
      "idle on H2",
      "exits on H2",
      "outcome",
    ];
    const lines = [header, ...rows].map((r) => `| ${r.join(" | ")} |`);
    lines.splice(1, 0, `|${header.map(() => "---").join("|")}|`);
    const starts = outcomes
      .filter((o) => o.srcStart !== "ok" || (o.dstStart !== undefined && o.dstStart !== "ok"))
      .map(
        (o) =>
          `${o.design} ${o.from} -> ${o.to}: H1 ${o.srcStart}; H2 ${o.dstStart ?? "-"}${o.dstError ? `; H2 stderr: ${o.dstError}` : ""}`,
      );
    console.log(`${lines.join("\n")}\n\nstart refusals:\n${starts.join("\n")}`);
  });
});
