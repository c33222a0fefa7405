// kvm-unit-tests powerpc/sprs.c on real hosts: the guest writes a pattern to the SPRs, reads them
// back, sleeps with H_CEDE (or waits for a key while the VM is live-migrated), reads them again
// and reports every difference on its console. PSSCR is written through SPR 823 as a guest can.

import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { Qemu } from "./spapr.js";
import { bootTestHost, type TestHost, type TestHostSpec } from "./test-helpers/hosts.js";
import { TinyGuestImage, type TinyGuestWorkload } from "./test-helpers/tiny-guest.js";

const CAP_BUILD = { stopLiteCap: true, probeKvmCapStop: false };
const DD23: TestHostSpec = { chip: "dd2.3", firmware: "new", kernel: "fallback" };
const DD22: TestHostSpec = { chip: "dd2.2", firmware: "new", kernel: "fallback" };
const OLD: TestHostSpec = { chip: "dd2.2", firmware: "2020", kernel: "upstream-2020" };

/**
 * The SPRs sprs.c sets and checks on POWER9 (set_sprs_book3s_300 / get_sprs_book3s_300) that KVM
 * context-switches and migrates through ONE_REG. The PMU registers (MMCR*, PMC*, SIAR, SDAR, SIER)
 * are left out: the host model's KVM neither saves them on guest exit nor offers them as ONE_REGs.
 */
const SET = [
  9, 274, 275, 3, 13, 17, 18, 19, 29, 61, 153, 157, 159, 256, 800, 801, 802, 803, 804, 805, 806, 815, 48, 144,
  823,
];
const GET = [
  9, 274, 275, 3, 13, 17, 18, 19, 29, 61, 153, 157, 159, 256, 259, 800, 801, 802, 803, 804, 805, 806, 815, 48,
  144, 823,
];
const PATTERN = 0xcafefacec0debaben;

function sprsGuest(sim: Simulation, mode: "cede" | "migrate", pattern = PATTERN): TinyGuestImage {
  const workload: TinyGuestWorkload = { kind: "sprs", mode, pattern, set: SET, get: GET };
  return new TinyGuestImage({ sim, stop0lite: "platform", workload });
}

function start(sim: Simulation, h: TestHost, image: TinyGuestImage, cmd: string, name: string): Qemu {
  const r = Qemu.create({ sim, host: h.qemuHost, build: CAP_BUILD, image, commandLine: cmd, name });
  if (r.kind !== "running") throw new Error(`expected a running QEMU, got ${r.kind}`);
  return r.qemu;
}

/** The sprs.c values the guest recorded (before[n] / after[n] are in its RAM, read by a debugger). */
function recorded(q: Qemu, table: "before" | "after"): Map<number, bigint> {
  const base = table === "before" ? 0x8000 : 0xa000;
  return new Map(GET.map((n) => [n, q.ram.read64(base + 8 * n, true)]));
}

describe("kvm-unit-tests sprs: SPR values survive H_CEDE and live migration", () => {
  for (const spec of [DD23, OLD]) {
    it(`after H_CEDE on a ${spec.chip} host (KVM ${spec.kernel})`, () => {
      const sim = new Simulation({ seed: 3 });
      const h = bootTestHost(sim, spec, "h");
      const q = start(sim, h, sprsGuest(sim, "cede"), "-M pseries-5.0 -smp 1 -m 256M -nographic", "q");
      const idleBefore = h.host.cpus[0].residencyNs.get("stop0_lite") ?? 0;
      sim.runFor(2_500_000_000);
      expect(q.console).toMatch(/^cpuidle: .*\nSettings SPRs to 0xcafefacec0debabe\.\.\.\nSleeping\.\.\.\n/);
      expect(q.console).toContain(`SUMMARY: ${GET.length} tests, 0 unexpected failures\n`);
      // the guest ended with RTAS power-off, as kvm-unit-tests' exit() does
      expect(q.status).toBe("shutdown");
      // the values are the pattern as each SPR keeps it, PSSCR_PR with only RL, MTL, TR
      const before = recorded(q, "before");
      expect(before.get(823)).toBe(PATTERN & 0x3ffn);
      expect(before.get(9)).toBe(PATTERN);
      expect(recorded(q, "after")).toEqual(before);
      // the sleep was long and the host CPU idled meanwhile (its own stop states use PSSCR)
      const cpu0 = h.host.cpus[0];
      const hostIdle = [...cpu0.residencyNs.values()].reduce((a, x) => a + x, 0);
      expect(hostIdle).toBeGreaterThan(1_000_000_000);
      expect(cpu0.residencyNs.get("stop0_lite") ?? 0).toBeGreaterThanOrEqual(idleBefore);
    });
  }

  function migrateRun(
    alter?: (bytes: Uint8Array, values: readonly (readonly [number, number])[]) => Uint8Array,
  ) {
    const sim = new Simulation({ seed: 4 });
    const h1 = bootTestHost(sim, DD23, "h1");
    const h2 = bootTestHost(sim, DD22, "h2");
    const cmd = "-M pseries -smp 1 -m 256M -nographic";
    const src = start(sim, h1, sprsGuest(sim, "migrate", ~PATTERN), cmd, "src");
    const dstImage = sprsGuest(sim, "migrate", ~PATTERN);
    const dst = start(sim, h2, dstImage, `${cmd} -incoming defer`, "dst");
    dst.qmp("migrate-incoming", { uri: "tcp:[::]:49152" });
    let waited = 0;
    while (!src.console.includes("Now migrate the VM") && waited < 100) {
      sim.runFor(1_000_000);
      waited++;
    }
    expect(src.console).toContain("Now migrate the VM, then press a key to continue...\n");
    const m = src.migrate(dst, {}, alter ? { alter } : undefined);
    while (m.status === "active" || m.status === "device") sim.runFor(1_000_000);
    expect(m.info().status).toBe("completed");
    expect(dst.status).toBe("running");
    sim.runFor(5_000_000);
    // still waiting for the key on the destination
    expect(dst.console).toBe("");
    dst.consoleInput("\n");
    sim.runFor(20_000_000);
    return { src, dst, dstImage };
  }

  it("after a live migration from a DD2.3 to a DD2.2 host (sprs.c -w, a key pressed on the destination)", () => {
    const { dst, dstImage } = migrateRun();
    expect(dstImage.keysRead).toBe(1);
    expect(dst.console).toBe(`SUMMARY: ${GET.length} tests, 0 unexpected failures\n`);
    expect(dst.status).toBe("shutdown");
    expect(recorded(dst, "before").get(823)).toBe(~PATTERN & 0x3ffn);
    expect(recorded(dst, "after")).toEqual(recorded(dst, "before"));
  });

  it("catches a register the migration did not carry (PSSCR altered in the stream's cpu section)", () => {
    // the cpu section's values: 32 GPRs, LR, CTR, XER, CR (4 bytes), MSR, NIP, env.spr[1024]
    const cpuValues = 32 * 8 + 3 * 8 + 4 + 2 * 8 + 1024 * 8;
    const { dst } = migrateRun((bytes, values) => {
      const cpu = values.find(([s, e]) => e - s === cpuValues);
      if (cpu === undefined) throw new Error("no cpu section in the stream");
      // spr[855] (PSSCR) is big-endian: its last byte holds RL and MTL's low bits
      bytes[cpu[0] + 32 * 8 + 3 * 8 + 4 + 2 * 8 + 855 * 8 + 7] ^= 0x01;
      return bytes;
    });
    expect(dst.console).toMatch(/^FAIL: SPR 823: 0x[0-9a-f]+ <==> 0x[0-9a-f]+\n/);
    expect(dst.console).toContain(`SUMMARY: ${GET.length} tests, 1 unexpected failures\n`);
  });
});
