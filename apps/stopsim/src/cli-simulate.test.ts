// The simulating commands (boot, idle, migrate, matrix) with 1-10 ms runs: each option's default
// as --help shows it and as the run uses it, the precedence of flags over a scenario file's guest
// settings, --trace's file and metadata, --machine-opts, the refusals, Ctrl-C, and the text report
// against the --json report of the same run (every line a user reads comes from the run).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatDuration } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import {
  cellText,
  HAZARD_MARK,
  MATRIX_DEFAULT_SEEDS,
  outcomeText,
  printMatrix,
  replayCommand,
} from "./commands/simulate.js";
import { hazardText } from "./hazards.js";
import type { MatrixRow } from "./matrix.js";
import { table } from "./output.js";
import { plain, runCli } from "./test-helpers/run-cli.js";
import { checkTraceFile } from "./trace-file.js";

const tmp = () => mkdtempSync(join(tmpdir(), "stopsim-cli-sim-"));
const APP = join(dirname(fileURLToPath(import.meta.url)), "..");
const oneLine = (s: string) => s.replace(/\s+/g, " ");

async function json(args: string[]) {
  const r = await runCli([...args, "--json"]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out);
}

/** Runs `args` and sends Ctrl-C once the command listens for it; resolves with the result. */
async function interrupted(args: string[]) {
  const before = process.listenerCount("SIGINT");
  let sent = false;
  const poll = setInterval(() => {
    if (!sent && process.listenerCount("SIGINT") > before) {
      sent = true;
      process.emit("SIGINT");
    }
  }, 1);
  try {
    return await runCli(args);
  } finally {
    clearInterval(poll);
  }
}

const BOOT = ["--host", "dd2.3", "--design", "spapr-cap"];

describe("defaults as --help shows them", () => {
  it("boot and idle: seed 1, 20 ms and 100 ms, the timers workload, menu, smp 8 as the thread's guest, 1G", async () => {
    const boot = oneLine((await runCli(["boot", "--help"])).out);
    expect(boot).toContain('--seed <n> root seed of every random stream (default: "1")');
    expect(boot).toContain('--duration <time> simulated time to run (e.g. 50ms, 2s) (default: "20ms")');
    expect(boot).toContain(
      'guest workload (choices: "timers", "mixed", "ebizzy", "ctxsw", "none", default: "timers")',
    );
    expect(boot).toContain('(choices: "menu", "teo", default: "menu")');
    expect(boot).toContain('(default: "8,sockets=1,cores=2,threads=4")');
    expect(boot).toContain('--memory <size> guest memory in QEMU\'s -m syntax (default: "1G")');
    expect(boot).toContain("--machine-opts <opts> appended to -machine, e.g. cap-stop-lite=off");
    expect(boot).toContain(
      "--scenario <file> YAML or JSON file with extra hosts, designs and guest settings (explicit flags win over it)",
    );
    expect(boot).toContain("--trace <file.json> write a Chrome/Perfetto trace of the run");
    expect(boot).toContain("--json machine-readable output");
    expect(boot).toContain(
      "firmware -> host kernel -> QEMU -> guest, then idle for a while; what each layer decided",
    );
    const idle = oneLine((await runCli(["idle", "--help"])).out);
    expect(idle).toContain('(e.g. 50ms, 2s) (default: "100ms")');
    expect(idle).toContain("idle statistics per guest state and KVM exits by reason under a workload");
  });

  it("migrate and matrix: 20 ms and 10 ms under the matrix's workload; the matrix's seeds", async () => {
    const migrate = oneLine((await runCli(["migrate", "--help"])).out);
    expect(migrate).toContain('(default: "20ms")');
    expect(migrate).toContain('default: "mixed")');
    expect(migrate).toContain("--no-libvirt QEMU alone over QMP, no management layer");
    expect(migrate).toContain(
      "--dest-caps <caps> caps of the destination's definition (virsh migrate --xml)",
    );
    const matrix = oneLine((await runCli(["matrix", "--help"])).out);
    expect(matrix).toContain('(default: "10ms")');
    expect(matrix).toContain('default: "mixed")');
    expect(matrix).toContain(`(default ${MATRIX_DEFAULT_SEEDS}; --seed alone runs that one seed)`);
    expect(MATRIX_DEFAULT_SEEDS).toBe(4);
  });
});

describe("boot and idle", () => {
  it("the defaults reach the run: seed 1, -smp 8,sockets=1,cores=2,threads=4 -m 1G, menu", async () => {
    const r = await json(["boot", ...BOOT, "--duration", "1ms"]);
    expect(r.seed).toBe("1");
    expect(r.qemu.commandLine).toBe(
      "-M pseries-5.1 -cpu POWER9 -smp 8,sockets=1,cores=2,threads=4 -m 1G -nographic",
    );
    expect(r.guest.cpuidleTable.governor).toBe("menu");
    const s = await json([
      "boot",
      ...BOOT,
      "--duration",
      "1ms",
      "--seed",
      "7",
      "--smp",
      "2",
      "--memory",
      "2G",
      "--governor",
      "teo",
    ]);
    expect(s.seed).toBe("7");
    expect(s.qemu.commandLine).toBe("-M pseries-5.1 -cpu POWER9 -smp 2 -m 2G -nographic");
    expect(s.guest.cpuidleTable.governor).toBe("teo");
  });

  it("a scenario's guest settings replace the defaults; explicit flags win over the file", async () => {
    const dir = tmp();
    const file = join(dir, "g.yaml");
    writeFileSync(
      file,
      "guest:\n  smp: '4'\n  memory: 2G\n  governor: teo\n  workload: none\n  watchdogThresh: 10s\n",
    );
    const f = await json(["boot", ...BOOT, "--duration", "1ms", "--scenario", file]);
    expect(f.qemu.commandLine).toBe("-M pseries-5.1 -cpu POWER9 -smp 4 -m 2G -nographic");
    expect(f.guest.cpuidleTable.governor).toBe("teo");
    const flags = await json([
      "boot",
      ...BOOT,
      "--duration",
      "1ms",
      "--scenario",
      file,
      "--smp",
      "2",
      "--memory",
      "1G",
      "--governor",
      "menu",
    ]);
    expect(flags.qemu.commandLine).toBe("-M pseries-5.1 -cpu POWER9 -smp 2 -m 1G -nographic");
    expect(flags.guest.cpuidleTable.governor).toBe("menu");
    // an explicit flag equal to the default still wins
    const same = await json([
      "boot",
      ...BOOT,
      "--duration",
      "1ms",
      "--scenario",
      file,
      "--smp",
      "8,sockets=1,cores=2,threads=4",
    ]);
    expect(same.qemu.commandLine).toContain("-smp 8,sockets=1,cores=2,threads=4 -m 2G");
    const bad = join(dir, "w.yaml");
    writeFileSync(bad, "guest:\n  watchdogThresh: soon\n");
    const r = await runCli(["boot", ...BOOT, "--duration", "1ms", "--scenario", bad]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      new RegExp(`^stopsim: ${bad.replace(/[.]/g, "\\.")}: guest\\.watchdogThresh: .*soon`),
    );
    const wl = join(dir, "wl.yaml");
    writeFileSync(wl, "guest:\n  workload: bitcoin\n");
    const w = await runCli(["boot", ...BOOT, "--duration", "1ms", "--scenario", wl]);
    expect(w.code).toBe(2);
    expect(w.err).toContain("bitcoin");
  });

  it("refuses a duration past the full-stack limit, pointing at the fleet; a bad seed; an unwritable trace", async () => {
    const long = await runCli(["idle", ...BOOT, "--duration", "365d"]);
    expect(long.code).toBe(2);
    expect(long.err).toMatch(
      /^stopsim: --duration 365d is above the maximum of \S+ for full-stack runs; use `stopsim fleet` for longer spans\n$/,
    );
    const seed = await runCli(["boot", ...BOOT, "--seed", "x"]);
    expect(seed.err).toBe(
      "stopsim: --seed must be an unsigned integer (0 to 18446744073709551615), got 'x'\n",
    );
    const trace = await runCli(["boot", ...BOOT, "--duration", "1ms", "--trace", "/proc/stopsim-x/t.json"]);
    expect(trace.code).toBe(2);
    expect(trace.err).toMatch(/^stopsim: --trace .*\/proc\/stopsim-x\/t\.json/);
    const choice = await runCli(["boot", ...BOOT, "--governor", "fast"]);
    expect(choice.code).toBe(2);
    expect(choice.err).toBe(
      "stopsim: option '--governor <g>' argument 'fast' is invalid. Allowed choices are menu, teo. (see stopsim --help)\n",
    );
  });

  it("--trace: a complete Chrome trace of the run, with its seed and command", async () => {
    const dir = tmp();
    for (const cmd of ["boot", "idle"]) {
      const file = join(dir, `${cmd}.json`);
      const r = await runCli([cmd, ...BOOT, "--duration", "1ms", "--seed", "3", "--trace", file, "--json"]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/^trace written to .* events/);
      const check = await checkTraceFile(file);
      expect(check.otherData).toEqual({ generator: "stopsim", seed: "3", command: `${cmd} dd2.3 spapr-cap` });
      expect(check.events).toBeGreaterThan(100);
      // the run is the same traced or not
      const untraced = await json([cmd, ...BOOT, "--duration", "1ms", "--seed", "3"]);
      expect(JSON.parse(r.out)).toEqual(untraced);
    }
    expect(readdirSync(dir).sort()).toEqual(["boot.json", "idle.json"]);
  });

  it("--machine-opts reaches QEMU's -machine: cap-stop-lite=off lets pseries-5.1 start on a 2020 host", async () => {
    const refused = await json(["boot", "--host", "dd2.2-old", "--design", "spapr-cap", "--duration", "1ms"]);
    expect(refused.outcome).toBe("failed-start");
    const off = await json([
      "boot",
      "--host",
      "dd2.2-old",
      "--design",
      "spapr-cap",
      "--duration",
      "1ms",
      "--machine-opts",
      "cap-stop-lite=off",
    ]);
    expect(off.qemu.commandLine).toContain("-M pseries-5.1,cap-stop-lite=off ");
    expect(off.qemu.started).toBe(true);
  });

  it("the text report says what each layer decided, from the run's own figures", async () => {
    const args = ["boot", ...BOOT, "--duration", "10ms", "--seed", "2"];
    const j = await json(args);
    const r = await runCli(args);
    expect(r.code).toBe(0);
    const out = plain(r.out);
    const h = j.host;
    expect(out).toContain(`firmware and host kernel (dd2.3: ${h.chip}, firmware new)\n`);
    expect(out).toContain("  dt-cpu-feature idle-stop-guest: published; enable_guest_stop=true\n");
    expect(out).toContain(`  KVM build ${h.kvmBuild}: PSSCR policy ${h.psscrPolicy}, stop trap emulated\n`);
    expect(out).toContain(
      `  KVM_CAP_STOP=${h.kvmCapStop} KVM_CAP_PPC_GUEST_STOP=${h.kvmCapGuestStop}; host idle states ${h.hostIdleStates.join(", ")}\n`,
    );
    expect(out).toContain("QEMU (spapr-cap)\n");
    expect(out).toContain(`  qemu-system-ppc64 ${j.qemu.commandLine}\n`);
    expect(out).toContain(
      `  caps: ${Object.entries(j.qemu.caps)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}\n`,
    );
    expect(out).toContain("  guest tree: ibm,stop-lite-permitted present\n");
    const ic = j.qemu.interruptController;
    expect(out).toContain(
      `  interrupt controller: XIVE exploitation mode (ic-mode=${ic.mode}); CAS: ${ic.cas}\n`,
    );
    expect(out).toContain("guest kernel\n");
    const t = j.guest.cpuidleTable;
    expect(out).toContain(
      `  cpuidle: ${t.table} (lppaca_shared_proc() = 1: the VPA's __old_status byte read back as 0x02, LPPACA_OLD_SHARED_PROC set by the hypervisor's H_REGISTER_VPA), governor menu\n`,
    );
    expect(out).toContain(`  idle states offered: ${j.guest.idleStatesOffered.join(", ")}\n`);
    // the idle table: usage, time and share of the vCPUs' time (8 vCPUs x 10 ms)
    for (const [name, s] of Object.entries(j.guest.idleStates) as [
      string,
      { usage: number; timeNs: number },
    ][]) {
      const cells = [
        name,
        String(s.usage),
        formatDuration(s.timeNs),
        `${((100 * s.timeNs) / (8 * 10e6)).toFixed(1)}%`,
      ];
      expect(out).toMatch(
        new RegExp(`│ ${cells.map((c) => c.replace(/[.()]/g, "\\$&")).join("\\s*│ ")}\\s*│`),
      );
    }
    expect(out).toMatch(/│ guest idle state │ usage │ time \(all vCPUs\) │ share of vCPU time │/);
    // the exits: count and rate per second of the run
    for (const [k, v] of Object.entries(j.exits) as [string, number][])
      expect(out).toMatch(new RegExp(`│ ${k}\\s*│ ${v}\\s*│ ${Math.round((v * 1e9) / 10e6)}\\s*│`));
    expect(out).toMatch(/│ kvm_exit\s*│ count │ per second │/);
    expect(out.endsWith(`guest running: ${j.outcome}\n`)).toBe(true);
    expect(out).not.toContain("hazards");
  });

  it("the text report of a guest that crashed: its hazards, the console's tail, the outcome", async () => {
    const args = ["boot", "--host", "dd2.2-old", "--design", "rfc-as-posted", "--duration", "5ms"];
    const j = await json(args);
    expect(j.outcome).toBe("crashed");
    const out = plain((await runCli(args)).out);
    expect(out).toContain(`${hazardText(j.hazards)}\n`);
    expect(out).toContain(`${j.guest.consoleTail.join("\n")}\n`);
    expect(
      out.endsWith(
        `guest ${j.guest.state}: crashed${hazardText(j.hazards) ? " (with hazards, see above)" : ""}\n`,
      ),
    ).toBe(true);
    expect(out).toContain("  dt-cpu-feature idle-stop-guest: absent; enable_guest_stop=false\n");
    expect(out).toContain("stop trap not emulated\n");
  });

  it("the text report of a QEMU that refused to start: its error, indented, and the outcome", async () => {
    const out = plain(
      (await runCli(["boot", "--host", "dd2.2-old", "--design", "spapr-cap", "--duration", "1ms"])).out,
    );
    expect(out).toContain(
      "  qemu-system-ppc64: Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop)\n  Try appending -machine cap-stop-lite=off\n",
    );
    expect(out).not.toContain("guest kernel");
    expect(out.endsWith("guest not-started: failed-start\n")).toBe(true);
  });

  it("XICS: the interrupt controller line names it; no idle states yet at 1 ms: 'no KVM exits' when there are none", async () => {
    const out = plain(
      (await runCli(["boot", ...BOOT, "--duration", "1ms", "--machine-opts", "ic-mode=xics"])).out,
    );
    expect(out).toMatch(/ {2}interrupt controller: XICS \(ic-mode=xics\); /);
    // no cpuidle driver yet: the table's name alone, no lppaca detail
    expect(out).toContain("\n  cpuidle: none, governor menu\n");
    const j = await json(["boot", ...BOOT, "--duration", "1us"]);
    expect(j.exits).toEqual({});
    const first = plain((await runCli(["boot", ...BOOT, "--duration", "1us"])).out);
    expect(first).toContain("\nno KVM exits\nguest running: not-used\n");
  });

  it("Ctrl-C: the figures so far, then one line saying how much ran, exit 130", async () => {
    const r = await interrupted(["idle", ...BOOT, "--duration", "50ms"]);
    expect(r.code).toBe(130);
    expect(r.err).toContain("stopsim: interrupted; finishing the current step (Ctrl-C again to quit now)\n");
    expect(r.err).toMatch(
      /\nstopsim: interrupted: the figures cover the first [\d.]+ (ns|us|ms) of 50 ms\n$/,
    );
    expect(plain(r.out)).toMatch(/guest \w+: /);
    const j = await interrupted(["boot", ...BOOT, "--duration", "50ms", "--json"]);
    expect(j.code).toBe(130);
    expect(JSON.parse(j.out).design).toBe("spapr-cap");
  });
});

// the destination's definition without cap-stop-lite: its QEMU refuses the incoming stream
const CAPS = [
  "migrate",
  "--from",
  "dd2.3",
  "--to",
  "dd2.2-old",
  "--design",
  "spapr-cap",
  "--duration",
  "1ms",
  "--dest-caps",
  "stop-lite=off",
];

describe("migrate", () => {
  const M = ["migrate", "--from", "dd2.3", "--to", "dd2.2", "--design", "spapr-cap", "--duration", "1ms"];

  it("through libvirt by default: its phases, query-migrate, each side's outcome", async () => {
    const j = await json(M);
    expect(j.trace).toBeUndefined();
    expect(j.migration.managementLayer).not.toBe("none");
    const out = plain((await runCli(M)).out);
    expect(out.startsWith("spapr-cap: dd2.3 -> dd2.2\n")).toBe(true);
    expect(out).toContain(
      `  on dd2.3: ${j.source.phase.outcome}, exits ${JSON.stringify(j.source.phase.exits)}\n`,
    );
    expect(out).toContain(`  libvirt phases: ${j.migration.phases.join(" -> ")}\n`);
    expect(out).toContain(
      `  query-migrate: status completed, downtime ${formatDuration(j.migration.downtimeNs)}, total ${formatDuration(j.migration.totalTimeNs)}\n`,
    );
    expect(out).toContain(
      `  on dd2.2: ${j.destination.phase.outcome}, exits ${JSON.stringify(j.destination.phase.exits)}\n`,
    );
    expect(out.endsWith(`outcome: ${j.outcome} (${j.detail})\n`)).toBe(true);
    expect(out).not.toContain("libvirtd (");
  });

  it("--no-libvirt: QEMU alone over QMP", async () => {
    const j = await json([...M, "--no-libvirt"]);
    expect(j.migration.managementLayer).toBe("none");
    const out = plain((await runCli([...M, "--no-libvirt"])).out);
    expect(out).toContain("  management layer: none (QEMU alone over QMP)\n");
    expect(out).not.toContain("libvirt phases");
  });

  it("--verbose prints libvirtd's log; --dest-caps changes the destination's definition; a refusal says what the source did", async () => {
    const args = [...CAPS, "--verbose"];
    const j = await json(args);
    expect(j.outcome).toBe("refused");
    expect(j.migration.failedPhase).toBe("finish3");
    const out = plain((await runCli(args)).out);
    expect(out).toContain("libvirtd (virsh migrate --live)\n");
    for (const l of j.migration.log) expect(out).toContain(`  ${l}\n`);
    expect(out).toContain("-M pseries-5.1,cap-stop-lite=off ");
    expect(out).toContain(`  libvirt phases: ${j.migration.phases.join(" -> ")} (failed in finish3)\n`);
    expect(out).toContain(`  error: ${j.migration.virError.message.split("\n").join("\n         ")}\n`);
    expect(j.migration.virError.message).toContain("cap-stop-lite higher level (1) in incoming stream");
    // libvirt's job saw the stream complete (query-migrate has no downtime for it)
    expect(out).toContain("  query-migrate: status completed\n");
    const a = j.migration.sourceAfter;
    expect(out).toContain(
      `  source after the failure: ${a.status} (paused during the attempt), guest ${a.guestState}, still making progress\n`,
    );
    const quiet = await json(CAPS);
    expect(quiet.migration.log ?? []).toHaveLength(0);
  });

  it("--return-path: the source learns of the destination's refusal during perform3", async () => {
    const j = await json([...CAPS, "--return-path"]);
    expect(j.migration.failedPhase).toBe("perform3");
    expect(j.migration.virError.message).toBe("operation failed: migration out job: unexpectedly failed");
  });

  it("--machine-opts and --trace reach the migration", async () => {
    const dir = tmp();
    const file = join(dir, "m.json");
    const r = await runCli([
      ...M,
      "--machine-opts",
      "cap-stop-lite=off",
      "--trace",
      file,
      "--json",
      "--verbose",
    ]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.migration.log.join("\n")).toContain("-M pseries-5.1,cap-stop-lite=off ");
    expect((await checkTraceFile(file)).otherData).toEqual({
      generator: "stopsim",
      seed: "1",
      command: "migrate dd2.3 dd2.2 spapr-cap",
    });
  });

  it("a destination QEMU that cannot start: the error's lines indented, the source never paused", async () => {
    const args = [
      "migrate",
      "--from",
      "dd2.3",
      "--to",
      "dd2.2-old",
      "--design",
      "spapr-cap",
      "--duration",
      "1ms",
    ];
    const out = plain((await runCli(args)).out);
    expect(out).toContain(
      "  error: internal error: QEMU unexpectedly closed the monitor (vm='guest'): qemu-system-ppc64: Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop)\n         Try appending -machine cap-stop-lite=off\n",
    );
    expect(out).toContain("  query-migrate: status none\n");
    expect(out).toContain("(never paused), guest running, not progressing\n");
    expect(out).toMatch(/\noutcome: refused \(refused in prepare: /);
  });
});

describe("migrate: the text report line by line against the --json report", () => {
  it("a source QEMU that does not start: its error, query-migrate's status, the outcome, and nothing else", async () => {
    const args = [
      "migrate",
      "--from",
      "dd2.2-old",
      "--to",
      "dd2.3",
      "--design",
      "spapr-cap",
      "--duration",
      "1ms",
    ];
    const j = await json(args);
    expect(j.source.started).toBe(false);
    expect(j.outcome).toBe("failed-start");
    expect(plain((await runCli(args)).out)).toBe(
      [
        "spapr-cap: dd2.2-old -> dd2.3",
        `source QEMU refused to start: ${j.source.error}`,
        "  query-migrate: status none",
        `outcome: failed-start (${j.detail})`,
        "",
      ].join("\n"),
    );
  });

  it("QEMU alone into a destination that refuses the stream: the source's phase, query-migrate, the source left behind", async () => {
    const args = [...CAPS, "--no-libvirt"];
    const j = await json(args);
    const m = j.migration;
    expect(m.errorDesc).toBeUndefined();
    expect(m.sourceAfter.wasPaused).toBe(true);
    expect(m.sourceAfter.progressed).toBe(false);
    expect(plain((await runCli(args)).out)).toBe(
      [
        "spapr-cap: dd2.3 -> dd2.2-old",
        `  on dd2.3: ${j.source.phase.outcome}, exits ${JSON.stringify(j.source.phase.exits)}`,
        "  management layer: none (QEMU alone over QMP)",
        `  query-migrate: status ${m.status}, downtime ${formatDuration(m.downtimeNs)}, total ${formatDuration(m.totalTimeNs)}`,
        `  source after the failure: ${m.sourceAfter.status} (paused during the attempt), guest ${m.sourceAfter.guestState}, not progressing`,
        `outcome: ${j.outcome} (${j.detail})`,
        "",
      ].join("\n"),
    );
  });
});

describe("matrix", () => {
  const small = [
    "matrix",
    "--hosts",
    "dd2.3",
    "--designs",
    "spapr-cap,upstream-2020",
    "--duration",
    "1ms",
    "--workers",
    "1",
  ];

  it("a small matrix: its heading, a column per design, a row per host pair; --json without the pool's workers", async () => {
    const r = await runCli([...small, "--seeds", "2"]);
    expect(r.code, r.err).toBe(0);
    const out = plain(r.out);
    expect(out.startsWith("matrix over 2 seeds (1,2)\n")).toBe(true);
    expect(out).toMatch(/│ from -> to\s*│ spapr-cap\s*│ upstream-2020\s*│/);
    expect(out).toMatch(/│ dd2\.3 -> dd2\.3 │ \S+ 2\/2\s*│ \S+ 2\/2\s*│/);
    const j = JSON.parse((await runCli([...small, "--seeds", "2", "--json"])).out);
    expect(j.workers).toBeUndefined();
    expect(j.rows.map((x: MatrixRow) => x.design)).toEqual(["spapr-cap", "upstream-2020"]);
    expect(j.runs).toEqual({ done: 4, total: 4 });
    // --seed alone runs that one seed
    const one = plain((await runCli([...small, "--seed", "5"])).out);
    expect(one.startsWith("matrix over 1 seeds (5)\n")).toBe(true);
  });

  it("refuses empty and unknown names in --designs and --hosts, a bad --workers, and --trace", async () => {
    const cases: [string[], string][] = [
      [["--designs", ","], "stopsim: --designs: give at least one name, e.g. --designs a,b\n"],
      [["--hosts", " , "], "stopsim: --hosts: give at least one name, e.g. --hosts a,b\n"],
      [["--workers", "0"], "stopsim: --workers 0 is out of range: use 1 to 256\n"],
    ];
    for (const [extra, err] of cases) {
      const r = await runCli(["matrix", "--seeds", "1", ...extra]);
      expect(r, extra.join(" ")).toEqual({ code: 2, out: "", err });
    }
    const unknown = await runCli(["matrix", "--seeds", "1", "--designs", "spapr-cap,nope"]);
    expect(unknown.err).toMatch(/^stopsim: unknown design 'nope'/);
    const host = await runCli(["matrix", "--seeds", "1", "--hosts", " dd2.3 ,mars"]);
    expect(host.err).toMatch(/^stopsim: unknown host 'mars'/);
    const trace = await runCli(["matrix", "--trace", "m.json"]);
    expect(trace.err).toBe(
      "stopsim: matrix: --trace needs a single run; the matrix makes one simulation per cell. Trace one cell with `stopsim boot` or `stopsim migrate --trace FILE.json`\n",
    );
  });

  it("Ctrl-C: the complete cells so far, then how many runs finished, exit 130", async () => {
    const r = await interrupted([...small, "--seeds", "3"]);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(/\nstopsim: matrix interrupted: \d of 6 runs finished; \d complete cells shown\n$/);
  });
});

describe("matrix cells as text", () => {
  const seedResult = (lost: number) =>
    ({ hazards: { lostWakeups: lost } }) as unknown as MatrixRow["seeds"][number];
  const row = (fields: Partial<MatrixRow>): MatrixRow =>
    ({
      design: "spapr-cap",
      from: "dd2.2",
      to: "dd2.3",
      outcome: "native",
      detail: "",
      outcomes: { native: 2 },
      minority: [],
      seeds: [seedResult(0), seedResult(0)],
      hazards: [],
      hazardMark: false,
      ...fields,
    }) as unknown as MatrixRow;

  it("a cell: each outcome with its count over the seeds; the erratum's seeds and lost wake-ups; the hazard mark", () => {
    expect(plain(cellText(row({})))).toBe("native 2/2");
    expect(
      plain(
        cellText(
          row({ outcomes: { native: 2, crashed: 1 }, seeds: [seedResult(0), seedResult(0), seedResult(0)] }),
        ),
      ),
    ).toBe("native 2/3, crashed 1/3");
    const erratum = row({
      seeds: [seedResult(2), seedResult(0), seedResult(3)] as never,
      outcomes: { native: 3 },
    });
    expect(plain(cellText(erratum))).toBe("native 3/3 + erratum 2/3 (5 lost)");
    expect(plain(cellText(row({ hazardMark: true })))).toBe(`native 2/2 ${HAZARD_MARK}`);
    expect(HAZARD_MARK).toBe("⚠");
  });

  it("the replay command: boot on one host, migrate between two, with the options the run used", () => {
    expect(replayCommand(row({ from: "dd2.3", to: "dd2.3" }), 7)).toBe(
      "stopsim boot --host dd2.3 --design spapr-cap --seed 7",
    );
    expect(replayCommand(row({}), "18446744073709551615", "--duration 10ms")).toBe(
      "stopsim migrate --from dd2.2 --to dd2.3 --design spapr-cap --seed 18446744073709551615 --duration 10ms",
    );
  });

  it("the table, the hazards and the minority outcomes with a command to replay one", () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(" "));
    try {
      printMatrix(
        [
          row({
            hazardMark: true,
            hazards: [
              { kind: "lateWakeups", seeds: [1, 2] },
              { kind: "stalls", seeds: [2] },
            ] as never,
          }),
          row({
            from: "dd2.3",
            to: "dd2.3",
            design: "rfc-as-posted",
            outcomes: { native: 1, crashed: 2 },
            outcome: "crashed",
            minority: [{ outcome: "native", seeds: [3] }],
          }),
          row({
            from: "dd2.3",
            to: "dd2.3",
            outcomes: { emulated: 1, hung: 1 },
            minority: [{ outcome: "hung", seeds: [4, 5] }],
          }),
        ],
        { seeds: [1, 2, 3], replay: "--duration 5ms" },
      );
    } finally {
      console.log = log;
    }
    const out = plain(lines.join("\n"));
    expect(out.startsWith("matrix over 3 seeds (1..3)\n")).toBe(true);
    expect(out).toMatch(/│ from -> to\s*│ spapr-cap\s*│ rfc-as-posted\s*│/);
    expect(out).toMatch(/│ dd2\.2 -> dd2\.3 │ native 2\/2 ⚠\s*│\s*│/);
    expect(out).toContain(
      "⚠ hazards in runs with a clean outcome (seeds per hazard)\n  spapr-cap, dd2.2 -> dd2.3: lateWakeups on 1, 2; stalls on 2",
    );
    expect(out).toContain("minority outcomes (replay a seed with the command shown)");
    expect(out).toContain(
      "  rfc-as-posted, dd2.3 -> dd2.3: native on seed 3; e.g. stopsim boot --host dd2.3 --design rfc-as-posted --seed 3 --duration 5ms",
    );
    expect(out).toContain(
      "  spapr-cap, dd2.3 -> dd2.3: hung on seeds 4, 5; e.g. stopsim boot --host dd2.3 --design spapr-cap --seed 4 --duration 5ms",
    );
    // without seeds, hazards or minorities: the table alone
    lines.length = 0;
    console.log = (...a: unknown[]) => lines.push(a.join(" "));
    try {
      printMatrix([row({})]);
    } finally {
      console.log = log;
    }
    expect(lines).toHaveLength(1);
    expect(plain(lines[0])).toMatch(/^┌/);
  });

  it("each outcome's text is its name", () => {
    for (const o of ["native", "emulated", "not-used", "crashed", "refused", "failed-start", "hung"] as const)
      expect(plain(outcomeText(o))).toBe(o);
  });
});

describe("--help: every option of the simulating commands as a user reads it", () => {
  it("boot: the guest's options, the host and design it needs, --machine-opts", async () => {
    const boot = oneLine((await runCli(["boot", "--help"])).out);
    for (const line of [
      "Usage: stopsim boot [options]",
      '--governor <g> guest cpuidle governor (menu, the 2020 default, unless teo is chosen) (choices: "menu", "teo", default: "menu")',
      '--smp <spec> guest topology in QEMU\'s -smp syntax (default: "8,sockets=1,cores=2,threads=4")',
      "--host <host> host preset (see `stopsim hosts`)",
      "--design <design> design (see `stopsim designs`)",
    ])
      expect(boot).toContain(line);
    const missing = await runCli(["boot", "--design", "spapr-cap"]);
    expect(missing).toEqual({
      code: 2,
      out: "",
      err: "stopsim: required option '--host <host>' not specified (see stopsim --help)\n",
    });
  });

  it("migrate: its description and each option's line", async () => {
    const migrate = oneLine((await runCli(["migrate", "--help"])).out);
    for (const line of [
      "Usage: stopsim migrate [options] boot on one host, migrate live to another, run there Options:",
      "--from <host> source host preset --to <host> destination host preset --design <design> design --machine-opts <opts>",
      "--machine-opts <opts> appended to -machine of the domain, e.g. cap-stop-lite=off",
      "--dest-caps <caps> caps of the destination's definition (virsh migrate --xml), e.g. stop-lite=off",
      "--return-path migrate-set-capabilities return-path on both QEMUs",
      "--no-libvirt QEMU alone over QMP, no management layer (shows what QEMU leaves behind)",
      "--verbose print the migration's steps as libvirtd logs them",
    ])
      expect(migrate).toContain(line);
    const missing = await runCli(["migrate", "--from", "dd2.3", "--design", "spapr-cap"]);
    expect(missing.err).toBe("stopsim: required option '--to <host>' not specified (see stopsim --help)\n");
  });

  it("matrix: its description, the seeds, workers, queue, designs and hosts", async () => {
    const matrix = oneLine((await runCli(["matrix", "--help"])).out);
    for (const line of [
      "every design x every ordered host pair, each cell from real runs over several seeds (the distribution of outcomes)",
      "--seeds <spec> seeds of every cell: a count (from --seed on), FIRST..LAST or a list a,b,c (default 4; --seed alone runs that one seed)",
      "--workers <n> worker processes (default: every core; 1 runs serially in this process)",
      "--queue <redis://host:port> run the jobs through this Redis server's queue (stopsim worker processes anywhere) instead of local worker processes",
      "--designs <list> only these designs, comma-separated (default: all, scenario ones first)",
      "--hosts <list> only these hosts, comma-separated (default: all, scenario ones first)",
    ])
      expect(matrix).toContain(line);
  });
});

/** The idle table and the exits table of a boot report, from its --json form. */
function bootTables(
  j: {
    guest: { cpus: number; idleStates: Record<string, { usage: number; timeNs: number }> };
    exits: Record<string, number>;
  },
  durationNs: number,
): string[] {
  const cpuNs = durationNs * Math.max(1, j.guest.cpus);
  const idle = table(
    ["guest idle state", "usage", "time (all vCPUs)", "share of vCPU time"],
    Object.entries(j.guest.idleStates).map(([name, s]) => [
      name,
      s.usage,
      formatDuration(s.timeNs),
      `${((100 * s.timeNs) / cpuNs).toFixed(1)}%`,
    ]),
  );
  const exits = Object.entries(j.exits);
  return [
    plain(idle),
    exits.length === 0
      ? "no KVM exits"
      : plain(
          table(
            ["kvm_exit", "count", "per second"],
            exits.map(([k, v]) => [k, v, Math.round((v * 1e9) / durationNs)]),
          ),
        ),
  ];
}

describe("boot: the whole text report against the --json report of the same run", () => {
  it("boot's default 20 ms runs to its end: exit 0, idle time past what 10 ms of 8 vCPUs could hold", async () => {
    const r = await runCli(["boot", ...BOOT, "--json"]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.stoppedAtNs).toBeUndefined();
    const idleNs = Object.values(j.guest.idleStates as Record<string, { timeNs: number }>).reduce(
      (a, s) => a + s.timeNs,
      0,
    );
    expect(idleNs).toBeGreaterThan(8 * 10e6);
    expect(idleNs).toBeLessThanOrEqual(8 * 20e6);
  });

  it("an explicit --workload wins over the scenario's workload, as the other guest flags do", async () => {
    const file = join(tmp(), "none.yaml");
    writeFileSync(file, "guest:\n  workload: none\n");
    const args = ["boot", ...BOOT, "--duration", "10ms", "--scenario", file];
    expect((await json(args)).guest.workload).toEqual({});
    const ctxsw = await json([...args, "--workload", "ctxsw"]);
    expect(ctxsw.guest.workload.switchesPerSecond).toBeGreaterThan(0);
  });

  it("a guest that has not made its CAS call yet on a host without stop-lite in the tree (1 us, upstream-2020)", async () => {
    const args = ["boot", "--host", "dd2.3", "--design", "upstream-2020", "--duration", "1us"];
    const j = await json(args);
    const h = j.host;
    expect(j.qemu.stopLitePermitted).toBe(false);
    expect(j.qemu.interruptController.cas).toBeNull();
    expect(j.guest.state).toBe("running");
    const r = await runCli(args);
    expect(r.code).toBe(0);
    expect(plain(r.out)).toBe(
      [
        `firmware and host kernel (dd2.3: ${h.chip}, firmware new)`,
        "  dt-cpu-feature idle-stop-guest: published; enable_guest_stop=false",
        `  KVM build ${h.kvmBuild}: PSSCR policy ${h.psscrPolicy}, stop trap not emulated`,
        `  KVM_CAP_STOP=${h.kvmCapStop} KVM_CAP_PPC_GUEST_STOP=${h.kvmCapGuestStop}; host idle states ${h.hostIdleStates.join(", ")}`,
        "QEMU (upstream-2020)",
        `  qemu-system-ppc64 ${j.qemu.commandLine}`,
        `  caps: ${Object.entries(j.qemu.caps)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")}`,
        "  guest tree: ibm,stop-lite-permitted absent",
        `  interrupt controller: ${j.qemu.interruptController.active === "xive" ? "XIVE exploitation mode" : "XICS"} (ic-mode=dual); the guest made no CAS call`,
        "guest kernel",
        "  cpuidle: none, governor menu",
        "  idle states offered: ",
        ...bootTables(j, 1000),
        `guest running: ${j.outcome}`,
        "",
      ].join("\n"),
    );
  });

  it("a guest running its cpuidle driver for 10 ms: every line, the tables' rows from the run", async () => {
    const args = ["idle", ...BOOT, "--duration", "10ms", "--seed", "2", "--governor", "teo"];
    const j = await json(args);
    const h = j.host;
    const t = j.guest.cpuidleTable;
    expect(t.table).not.toBe("none");
    expect(Object.keys(j.exits).length).toBeGreaterThan(0);
    const r = await runCli(args);
    expect(r.code).toBe(0);
    expect(plain(r.out)).toBe(
      [
        `firmware and host kernel (dd2.3: ${h.chip}, firmware new)`,
        "  dt-cpu-feature idle-stop-guest: published; enable_guest_stop=true",
        `  KVM build ${h.kvmBuild}: PSSCR policy ${h.psscrPolicy}, stop trap emulated`,
        `  KVM_CAP_STOP=${h.kvmCapStop} KVM_CAP_PPC_GUEST_STOP=${h.kvmCapGuestStop}; host idle states ${h.hostIdleStates.join(", ")}`,
        "QEMU (spapr-cap)",
        `  qemu-system-ppc64 ${j.qemu.commandLine}`,
        `  caps: ${Object.entries(j.qemu.caps)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")}`,
        "  guest tree: ibm,stop-lite-permitted present",
        `  interrupt controller: XIVE exploitation mode (ic-mode=${j.qemu.interruptController.mode}); CAS: ${j.qemu.interruptController.cas}`,
        "guest kernel",
        `  cpuidle: ${t.table} (lppaca_shared_proc() = 1: the VPA's __old_status byte read back as 0x02, LPPACA_OLD_SHARED_PROC set by the hypervisor's H_REGISTER_VPA), governor teo`,
        `  idle states offered: ${j.guest.idleStatesOffered.join(", ")}`,
        ...bootTables(j, 10e6),
        `guest running: ${j.outcome}`,
        "",
      ].join("\n"),
    );
  });

  it("a scenario's guest.watchdogThresh reaches the guest's lockup watchdog: 4 ms sees the lost wake-up's vCPU hang, 10 s does not", async () => {
    // the erratum loses a wake event on seed 5 of the lost-wakeup scenario (matrix.test.ts's rare cell)
    const scenario = join(APP, "scenarios", "lost-wakeup.yaml");
    const args = ["boot", "--host", "dd2.2-flaky", "--design", "rfc-as-posted", "--duration", "10ms"];
    const run = ["--workload", "mixed", "--seed", "5", "--scenario"];
    const short = await json([...args, ...run, scenario]);
    expect(short.hazards.lostWakeups).toBeGreaterThan(0);
    expect(short.outcome).toBe("hung");
    const dir = tmp();
    const long = join(dir, "wd.yaml");
    writeFileSync(long, readFileSync(scenario, "utf8").replace("watchdogThresh: 4ms", "watchdogThresh: 10s"));
    const l = await json([...args, ...run, long]);
    expect(l.hazards.lostWakeups).toBe(short.hazards.lostWakeups);
    expect(l.guest.state).toBe("running");
    expect(l.hazards.watchdogNearMisses).toBe(0);
  });
});

describe("migrate: a destination guest with hazards, line by line against the --json report", () => {
  it("rfc-as-posted into a 2020 DD2.2 host: the destination's outcome with its hazards under it", async () => {
    const args = [
      "migrate",
      "--from",
      "dd2.3",
      "--to",
      "dd2.2-old",
      "--design",
      "rfc-as-posted",
      "--duration",
      "5ms",
    ];
    const j = await json(args);
    const m = j.migration;
    expect(hazardText(j.destination.phase.hazards)).not.toBe("");
    expect(hazardText(j.source.phase.hazards)).toBe("");
    expect(plain((await runCli(args)).out)).toBe(
      [
        "rfc-as-posted: dd2.3 -> dd2.2-old",
        `  on dd2.3: ${j.source.phase.outcome}, exits ${JSON.stringify(j.source.phase.exits)}`,
        `  libvirt phases: ${m.phases.join(" -> ")}`,
        `  query-migrate: status ${m.status}, downtime ${formatDuration(m.downtimeNs)}, total ${formatDuration(m.totalTimeNs)}`,
        `  on dd2.2-old: ${j.destination.phase.outcome}, exits ${JSON.stringify(j.destination.phase.exits)}`,
        `    ${hazardText(j.destination.phase.hazards)}`,
        `outcome: ${j.outcome} (${j.detail})`,
        "",
      ].join("\n"),
    );
  });
});

describe("matrix: the default seeds", () => {
  it("without --seed or --seeds a cell runs over seeds 1 to 4, as --help says", async () => {
    const r = await runCli([
      "matrix",
      "--hosts",
      "dd2.3",
      "--designs",
      "spapr-cap",
      "--duration",
      "1ms",
      "--workers",
      "1",
    ]);
    expect(r.code, r.err).toBe(0);
    expect(plain(r.out).startsWith("matrix over 4 seeds (1..4)\n")).toBe(true);
    expect(plain(r.out)).toMatch(/│ dd2\.3 -> dd2\.3 │ \S+ 4\/4\s*│/);
  });
});

describe("matrix: the command shown for a minority seed replays that seed", () => {
  // the lost-wakeup scenario with a wake event lost in twenty and the timers workload in its guest
  // section: on 4 vCPUs most seeds hang within 10 ms, seed 6 does not
  const lossy = () => {
    const file = join(tmp(), "lw.yaml");
    const original = readFileSync(join(APP, "scenarios", "lost-wakeup.yaml"), "utf8");
    writeFileSync(
      file,
      `${original.replace("lostWakeupProbability: 0.005", "lostWakeupProbability: 0.05")}  workload: timers\n`,
    );
    return file;
  };
  const CELL = ["--designs", "rfc-as-posted", "--hosts", "dd2.2-flaky", "--seeds", "6", "--workers", "1"];

  async function replayOf(args: string[]) {
    const j = await json(args);
    const [row] = j.rows as MatrixRow[];
    expect(row.minority.length, JSON.stringify(row.outcomes)).toBeGreaterThan(0);
    const seed = row.minority[0].seeds[0];
    const out = plain((await runCli(args)).out);
    const line = out
      .split("\n")
      .find((l) => l.includes(`on seed ${seed}; e.g. `) || l.includes(`on seeds ${seed},`));
    const command = line?.split("; e.g. ")[1] ?? "";
    const replay = await json(command.split(" ").slice(1));
    const ran = row.seeds.find((s) => s.seed === seed);
    expect(replay.outcome).toBe(ran?.outcome);
    expect(replay.hazards).toEqual(ran?.hazards);
    return command;
  }

  it("flags the user typed are passed on; settings from the scenario come from the same file", async () => {
    const file = lossy();
    // --smp typed, the workload from the file: the replay needs --smp and must not override the file
    expect(await replayOf(["matrix", "--scenario", file, ...CELL, "--smp", "4"])).toMatch(
      new RegExp(
        `^stopsim boot --host dd2\\.2-flaky --design rfc-as-posted --seed \\d+ --duration 10ms --smp 4 --scenario ${file.replace(/[.]/g, "\\.")}$`,
      ),
    );
    // every guest flag typed, even those equal to a default: each passed on, in --help's order
    expect(
      await replayOf([
        "matrix",
        "--scenario",
        file,
        ...CELL,
        "--memory",
        "1G",
        "--smp",
        "4",
        "--governor",
        "teo",
        "--workload",
        "timers",
      ]),
    ).toMatch(
      / --seed \d+ --duration 10ms --workload timers --governor teo --smp 4 --memory 1G --scenario \S+$/,
    );
  });
});
