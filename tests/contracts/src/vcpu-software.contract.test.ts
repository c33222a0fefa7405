// Contract: the host package's TestGuest (packages/host/src/test-helpers/guest.ts) stands in for a
// guest kernel on a vCPU in KVM's own tests: it executes the words it is given. The case every KVM
// build is judged on is the guest's stop0lite entry (PSSCR_PR cleared, then `stop`, as
// cpuidle-pseries does). Run by TestGuest on the host's KVM alone and by the guest kernel through
// QEMU on the same host, each build must end the same way for both: the stop runs natively (no
// exit), or traps and is emulated (one H_FAC_UNAVAIL exit per stop, execution goes on), or traps
// and KVM answers with a program interrupt (the guest kernel then panics).
import { Simulation } from "@stopsim/engine";
import { createGuestKernel } from "@stopsim/guest";
import type { KvmBuildName } from "@stopsim/host";
import { BOOK3S_INTERRUPT_PROGRAM, li, mtspr, NOP, SPRN_PSSCR_PR, STOP } from "@stopsim/isa";
import { Qemu, type QemuBuild } from "@stopsim/qemu";
import { describe, expect, it } from "vitest";
import { setDec, TestGuest } from "../../../packages/host/src/test-helpers/guest.js";
import { machine, start, vcpu } from "../../../packages/host/src/test-helpers/setup.js";
import { bootTestHost } from "../../../packages/qemu/src/test-helpers/hosts.js";

type Verdict = "native" | "emulated" | "program-check";

const CASES: readonly {
  chip: "dd2.2" | "dd2.3";
  firmware: "2020" | "new";
  kernel: KvmBuildName;
  expect: Verdict;
}[] = [
  { chip: "dd2.3", firmware: "new", kernel: "fallback", expect: "native" },
  { chip: "dd2.2", firmware: "new", kernel: "fallback", expect: "emulated" },
  { chip: "dd2.3", firmware: "new", kernel: "patch1", expect: "emulated" },
  { chip: "dd2.2", firmware: "2020", kernel: "upstream-2020", expect: "program-check" },
];

/** TestGuest on the host's KVM: arm DEC far off, clear PSSCR_PR, stop, then one more word. */
function testGuestVerdict(chip: string, firmware: "2020" | "new", kernel: KvmBuildName): Verdict {
  const m = machine(chip, firmware, kernel);
  const program = [...setDec(512 * 100), li(9, 0), mtspr(SPRN_PSSCR_PR, 9), STOP, NOP];
  const g = new TestGuest(m.sim, program, 10, (guest) => {
    guest.halted = true;
  });
  const v = vcpu(m, 0, g);
  start(m, v);
  m.sim.runFor(1_000_000);
  const traps = v.exitCountsRecord().H_FAC_UNAVAIL ?? 0;
  if (g.interrupts.some((i) => i.vector === BOOK3S_INTERRUPT_PROGRAM)) return "program-check";
  expect(g.executed, "the word after stop ran").toBe(program.length);
  if (traps === 0) return "native";
  expect(traps, "one trap per stop").toBe(1);
  return "emulated";
}

/** The guest kernel (stop0lite always) through QEMU on the same host. */
function guestKernelVerdict(
  chip: "dd2.2" | "dd2.3",
  firmware: "2020" | "new",
  kernel: KvmBuildName,
): Verdict {
  const sim = new Simulation({ seed: 2 });
  const h = bootTestHost(sim, { chip, firmware, kernel }, "h");
  const guest = createGuestKernel({ sim, config: { stop0lite: "always", watchdogThreshS: 0 } });
  const build: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };
  const r = Qemu.create({
    sim,
    host: h.qemuHost,
    build,
    image: guest,
    commandLine: "-M pseries,cap-stop-lite=off -smp 2 -m 1G",
  });
  if (r.kind !== "running") throw new Error(`QEMU did not start (${r.kind})`);
  sim.runFor(60_000_000);
  if (guest.state === "panicked") return "program-check";
  expect(guest.state).toBe("running");
  const traps = h.host.kvm.vmList[0].exitCountsRecord().H_FAC_UNAVAIL ?? 0;
  let entries = 0;
  for (const c of guest.cpuidleSysfs())
    for (const s of c.states) if (s.name === "stop0lite") entries += s.usage;
  expect(entries, "the guest entered stop0lite").toBeGreaterThan(0);
  if (traps === 0) return "native";
  expect(Math.abs(traps - entries), "one trap per entry").toBeLessThanOrEqual(2);
  return "emulated";
}

describe("TestGuest keeps the contract of a guest kernel's stop0lite entry", () => {
  for (const c of CASES) {
    it(`${c.chip}, ${c.firmware} firmware, ${c.kernel} KVM: ${c.expect}`, () => {
      expect(testGuestVerdict(c.chip, c.firmware, c.kernel), "TestGuest").toBe(c.expect);
      expect(guestKernelVerdict(c.chip, c.firmware, c.kernel), "guest kernel").toBe(c.expect);
    });
  }
});
