// `stopsim fleet` on small fleets (2 hosts, an hour, one probe seed, the serial pool): the refusals
// before any work, the --json fields, the text report against the --json report of the same run,
// several seeds, the upgrade targets of old host kinds, and Ctrl-C while probing and while the
// fleet runs.
import { describe, expect, it } from "vitest";
import { interruptAt, plain, runCli } from "./test-helpers/run-cli.js";

const SMALL = [
  "fleet",
  "--hosts",
  "2",
  "--vms",
  "2",
  "--duration",
  "1h",
  "--probe-seeds",
  "1",
  "--workers",
  "1",
];

async function json(args: string[]) {
  const r = await runCli([...args, "--json"]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out);
}

describe("fleet refusals (before any run)", () => {
  it("bad mixes, sizes, batches, plans and a trace of several seeds: one line each, exit 2", async () => {
    const cases: [string[], string][] = [
      [["--mix", "x"], "stopsim: --mix: 'x' is not kind=share (e.g. dd2.2-old=0.5,dd2.3-old=0.5)\n"],
      [
        ["--mix", "dd2.3=1,dd2.2=-0.5"],
        "stopsim: --mix: 'dd2.2=-0.5' is not kind=share (e.g. dd2.2-old=0.5,dd2.3-old=0.5)\n",
      ],
      [
        ["--mix", "dd2.3=lots"],
        "stopsim: --mix: 'dd2.3=lots' is not kind=share (e.g. dd2.2-old=0.5,dd2.3-old=0.5)\n",
      ],
      [["--mix", "=0.5"], "stopsim: --mix: '=0.5' is not kind=share (e.g. dd2.2-old=0.5,dd2.3-old=0.5)\n"],
      [["--upgrade-batch", "3"], "stopsim: --upgrade-batch 3 is out of range: use 1 to 2\n"],
      [["--upgrade-batch", "0"], "stopsim: --upgrade-batch 0 is out of range: use 1 to 2\n"],
      [
        ["--seeds", "2", "--trace", "f.json"],
        "stopsim: fleet: --trace takes one fleet seed (one trace per seed would be needed); drop --seeds, or trace one seed with --seed N\n",
      ],
      [["--workers", "0"], "stopsim: --workers 0 is out of range: use 1 to 256\n"],
      [["--queue", "http://x"], ""],
    ];
    for (const [extra, err] of cases) {
      const r = await runCli([...SMALL, ...extra]);
      expect(r.code, extra.join(" ")).toBe(2);
      if (err) expect(r.err, extra.join(" ")).toBe(err);
      expect(r.err.trim().split("\n")).toHaveLength(1);
    }
    const hosts = await runCli(["fleet", "--hosts", "1", "--vms", "2"]);
    expect(hosts.err).toMatch(/^stopsim: --hosts 1 is out of range: use 2 to /);
    const kind = await runCli([...SMALL, "--mix", "dd9=1"]);
    expect(kind.err).toMatch(/^stopsim: unknown host 'dd9'/);
    const plan = await runCli([...SMALL, "--plan", "chaos"]);
    expect(plan.err).toBe(
      "stopsim: option '--plan <plan>' argument 'chaos' is invalid. Allowed choices are rolling-upgrade, evacuation. (see stopsim --help)\n",
    );
    const policy = await runCli([...SMALL, "--policy", "yolo"]);
    expect(policy.err).toMatch(/Allowed choices are pin-old, capable, naive\./);
    const trace = await runCli([...SMALL, "--trace", "/proc/stopsim-x/f.json"]);
    expect(trace.err).toMatch(/^stopsim: --trace .*\/proc\/stopsim-x\/f\.json/);
    const design = await runCli([...SMALL, "--design", "nope"]);
    expect(design.err).toMatch(/^stopsim: unknown design 'nope'/);
  });

  it("--help gives the defaults: 100 hosts, 1000 VMs, 24 h, spapr-cap, a rolling upgrade, the capable policy, pseries-5.0 before", async () => {
    const h = (await runCli(["fleet", "--help"])).out.replace(/\s+/g, " ");
    for (const d of [
      '--hosts <n> number of hosts (default: "100")',
      '--vms <n> number of VMs (default: "1000")',
      '--duration <time> simulated time (e.g. 24h) (default: "24h")',
      '--design <design> design (default: "spapr-cap")',
      '(choices: "rolling-upgrade", "evacuation", default: "rolling-upgrade")',
      '(choices: "pin-old", "capable", "naive", default: "capable")',
      '(default: "pseries-5.0")',
      '(default: "dd2.2-old=0.3,dd2.3-old=0.3,dd2.2=0.2,dd2.3=0.2")',
      '(default: "4")',
    ])
      expect(h).toContain(d);
  });
});

describe("one fleet seed", () => {
  const DD23 = [...SMALL, "--mix", "dd2.3=1"];

  it("--json: the result with its seed, probe seeds, probes, full-stack runs and wall time; the options given", async () => {
    const j = await json([
      ...DD23,
      "--seed",
      "3",
      "--old-machine",
      "pseries-4.2",
      "--plan",
      "evacuation",
      "--policy",
      "naive",
    ]);
    expect(j.seed).toBe(3);
    expect(j.probeSeeds).toEqual([3]); // a count of probe seeds starts at the first fleet seed
    expect(j.hosts).toBe(2);
    expect(j.vms).toBe(2);
    expect(j.durationNs).toBe(3600e9);
    expect(j.design).toBe("spapr-cap");
    expect(j.plan).toBe("evacuation");
    expect(j.policy).toBe("naive");
    expect(j.machines).toEqual({ old: "pseries-4.2", new: "pseries-5.1" });
    expect(j.fullStackRuns).toBeGreaterThan(0);
    expect(j.probes.length).toBeGreaterThan(0);
    expect(j.wallSeconds).toBeGreaterThan(0);
    expect(j.trace).toBeUndefined();
    expect(j.boots.native + j.boots["not-used"] + j.boots.emulated).toBeGreaterThan(0);
  }, 60_000);

  it("the text report: every count of the --json report of the same run", async () => {
    const args = [...DD23, "--design", "upstream-2020"];
    const j = await json(args);
    const r = await runCli(args);
    expect(r.code, r.err).toBe(0);
    const out = plain(r.out);
    expect(
      out.startsWith(
        "fleet: 2 hosts, 2 VMs, 1 h, design upstream-2020, rolling-upgrade, policy capable (pseries-5.0 / pseries-5.0)\n",
      ),
    ).toBe(true);
    expect(out).toMatch(/│ outcome\s*│ boots │ migrations │/);
    for (const k of ["native", "emulated", "not-used", "crashed", "refused", "failed-start", "hung"])
      expect(out).toMatch(new RegExp(`│ ${k}\\s*│ ${j.boots[k]}\\s*│ ${j.migrations[k]}\\s*│`));
    const vmFinal = Object.entries(j.vmFinal)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    expect(out).toContain(`VMs at the end: ${vmFinal}; restarts ${j.restarts}\n`);
    const machines = Object.entries(j.vmMachines)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    expect(out).toContain(
      `stop0lite at the end: native ${j.stopLite.native}, emulated ${j.stopLite.emulated}, not used ${j.stopLite.notUsed}; machine types ${machines}\n`,
    );
    expect(out).toContain(
      `hosts upgraded ${j.hostsUpgraded} of ${j.upgrade.hostsToUpgrade} (${j.upgrade.batch} at a time), blocked ${j.upgradesBlocked}; upgrade took 0 ns\n`,
    );
    expect(out).toContain(`migrations refused ${j.migrations.refused}\n`);
    expect(out).toMatch(/\nlive migrations 0: downtime median 0 ns, max 0 ns, total 0 ns\n/);
    expect(out).toMatch(/\nguest downtime: total 0 ns, per VM median 0 ns, p99 0 ns, max 0 ns\n/);
    expect(out).toMatch(
      new RegExp(
        `\\n${j.fullStackRuns} full-stack runs \\(each case over probe seeds 1\\); wall time \\d+\\.\\d s\\n$`,
      ),
    );
  }, 60_000);

  it("old host kinds upgrade to the new-firmware host of their chip; the migrations they cause are reported", async () => {
    const args = [...SMALL, "--mix", "dd2.2-old=1"];
    const j = await json(args);
    expect(j.upgrade.hostsToUpgrade).toBe(2);
    expect(j.hostsUpgraded).toBeGreaterThan(0);
    expect(j.migrationDowntime.count).toBeGreaterThan(0);
  }, 120_000);

  it("the evacuation plan has no upgrade line; a mix's kinds and shares may carry spaces", async () => {
    const out = plain((await runCli([...SMALL, "--mix", " dd2.3 = 1", "--plan", "evacuation"])).out);
    expect(out).toContain(", evacuation, policy capable (");
    expect(out).not.toContain("hosts upgraded");
    expect(out).toContain("migrations refused 0\n");
  }, 60_000);
});

describe("several fleet seeds", () => {
  it("--json: each seed's result and the spread; text: medians and ranges over the seeds", async () => {
    const args = [...SMALL, "--mix", "dd2.3=1", "--seeds", "2..3"];
    const j = await json(args);
    expect(j.seeds).toEqual([2, 3]);
    expect(j.probeSeeds).toEqual([2]);
    expect(j.statistic).toBe("median [min-max] over the fleet seeds");
    expect(j.runs.map((r: { seed: number }) => r.seed)).toEqual([2, 3]);
    expect(j.runs[0].result.hosts).toBe(2);
    expect(Object.keys(j.spread)).toContain("boots");
    expect(j.fullStackRuns).toBeGreaterThan(0);
    expect(j.wallSeconds).toBeGreaterThan(0);
    expect(j.probes.length).toBeGreaterThan(0);
    const out = plain((await runCli(args)).out);
    expect(
      out.startsWith(
        "fleet over 2 seeds (2,3): 2 hosts, 2 VMs, 1 h, design spapr-cap, rolling-upgrade, policy capable (pseries-5.0 / pseries-5.1)\ncounts: median [min-max] over the fleet seeds\n",
      ),
    ).toBe(true);
    expect(out).toMatch(/│ native\s*│ 2\s*│ 0\s*│/);
    expect(out).toContain("VMs at the end: running 2, crashed 0, failed-start 0, hung 0; restarts 0\n");
    expect(out).toContain("stop0lite at the end: native 2, emulated 0, not used 0\n");
    expect(out).toContain("hosts upgraded 0, blocked 0\n");
    expect(out).toContain("guest downtime, whole fleet: 0 ns; of live migrations 0 ns\n");
    expect(out).toMatch(/\n\d+ full-stack runs \(each case over probe seeds 2\); wall time \d+\.\d s\n$/);
  }, 120_000);
});

describe("Ctrl-C", () => {
  it("while probing: no fleet result, how many full-stack runs finished, exit 130", async () => {
    const r = await interruptAt(1, [...SMALL, "--mix", "dd2.2-old=0.5,dd2.3=0.5"]);
    expect(r.code).toBe(130);
    expect(r.out).toBe("");
    expect(r.err).toMatch(
      /\nstopsim: fleet interrupted while probing its cases \(\d+ full-stack runs finished\); no fleet result\n$/,
    );
  }, 60_000);

  it("while the fleet runs: the results so far and how much of the time they cover, exit 130", async () => {
    const r = await interruptAt(2, [...SMALL, "--mix", "dd2.3=1"]);
    expect(r.code).toBe(130);
    expect(plain(r.out)).toContain("fleet: 2 hosts, 2 VMs, 1 h,");
    expect(r.err).toMatch(
      /\nstopsim: interrupted: the results cover the first [\d.]+ (ms|s|min|h) of 1 h\n$/,
    );
    const j = await interruptAt(2, [...SMALL, "--mix", "dd2.3=1", "--json"]);
    expect(j.code).toBe(130);
    expect(JSON.parse(j.out).hosts).toBe(2);
  }, 60_000);
});
