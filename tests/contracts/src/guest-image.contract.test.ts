// Contract: qemu's tiny guest (packages/qemu/src/test-helpers/tiny-guest.ts) stands in for the
// guest Linux kernel (@stopsim/guest) behind the GuestKernelImage interface of
// docs/ARCHITECTURE.md. The same cases boot both through the real QEMU on real hosts and must end
// the same way as QEMU and KVM see it (QEMU's run state, KVM's exits) and as the guest reports it
// (stop0lite used or not). QEMU's own tests use the tiny guest: a drift (a permission read from
// elsewhere, a stop sequence KVM treats otherwise) fails here.
import { Simulation } from "@stopsim/engine";
import { createGuestKernel, type GuestKernel } from "@stopsim/guest";
import { type GuestKernelImage, Qemu, type QemuBuild } from "@stopsim/qemu";
import { describe, expect, it } from "vitest";
import { bootTestHost, type TestHostSpec } from "../../../packages/qemu/src/test-helpers/hosts.js";
import {
  readTinyGuestState,
  type Stop0litePolicy,
  TinyGuestImage,
} from "../../../packages/qemu/src/test-helpers/tiny-guest.js";

const CAP_BUILD: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };
const SMP = "-smp 2 -m 1G";
const RUN_NS = 60_000_000;

interface ImageCase {
  readonly name: string;
  readonly host: TestHostSpec;
  readonly commandLine: string;
  readonly stop0lite: Stop0litePolicy;
  readonly expect: {
    readonly status: "running" | "guest-panicked";
    /** Whether the guest decided to use stop0lite (and entered it when it kept running). */
    readonly usesStop0lite: boolean;
    /** KVM's H_FAC_UNAVAIL exits: none, or some (every stop trapped). */
    readonly stopTraps: "none" | "some";
  };
}

const CASES: readonly ImageCase[] = [
  {
    name: "permitted and native (DD2.3, new firmware, fallback KVM, pseries-5.1)",
    host: { chip: "dd2.3", firmware: "new", kernel: "fallback" },
    commandLine: `-M pseries ${SMP}`,
    stop0lite: "platform",
    expect: { status: "running", usesStop0lite: true, stopTraps: "none" },
  },
  {
    name: "permitted and emulated (DD2.2, fallback KVM)",
    host: { chip: "dd2.2", firmware: "new", kernel: "fallback" },
    commandLine: `-M pseries ${SMP}`,
    stop0lite: "platform",
    expect: { status: "running", usesStop0lite: true, stopTraps: "some" },
  },
  {
    name: "not permitted (cap-stop-lite=off): no stop0lite, no trap",
    host: { chip: "dd2.3", firmware: "new", kernel: "fallback" },
    commandLine: `-M pseries,cap-stop-lite=off ${SMP}`,
    stop0lite: "platform",
    expect: { status: "running", usesStop0lite: false, stopTraps: "none" },
  },
  {
    name: "stop0lite always on KVM of 2020: program check, panic, ibm,os-term",
    host: { chip: "dd2.2", firmware: "2020", kernel: "upstream-2020" },
    commandLine: `-M pseries,cap-stop-lite=off ${SMP}`,
    stop0lite: "always",
    expect: { status: "guest-panicked", usesStop0lite: true, stopTraps: "some" },
  },
];

interface Outcome {
  status: string;
  usesStop0lite: boolean;
  stopTraps: number;
}

function run(
  c: ImageCase,
  image: (sim: Simulation) => GuestKernelImage,
  usesStop0lite: (q: Qemu, img: GuestKernelImage) => boolean,
): Outcome {
  const sim = new Simulation({ seed: 4 });
  const h = bootTestHost(sim, c.host, "h");
  const img = image(sim);
  const r = Qemu.create({ sim, host: h.qemuHost, build: CAP_BUILD, image: img, commandLine: c.commandLine });
  if (r.kind !== "running") throw new Error(`${c.name}: QEMU did not start (${r.kind})`);
  sim.runFor(RUN_NS);
  return {
    status: r.qemu.status,
    usesStop0lite: usesStop0lite(r.qemu, img),
    stopTraps: h.host.kvm.vmList[0].exitCountsRecord().H_FAC_UNAVAIL ?? 0,
  };
}

function check(c: ImageCase, o: Outcome, layer: string): void {
  const what = `${layer}: ${c.name} ${JSON.stringify(o)}`;
  expect(o.status, what).toBe(c.expect.status);
  expect(o.usesStop0lite, what).toBe(c.expect.usesStop0lite);
  if (c.expect.stopTraps === "none") expect(o.stopTraps, what).toBe(0);
  else expect(o.stopTraps, what).toBeGreaterThan(0);
}

describe("the tiny guest keeps the contract of the guest kernel (GuestKernelImage)", () => {
  for (const c of CASES) {
    it(c.name, () => {
      const real = run(
        c,
        (sim) => createGuestKernel({ sim, config: { stop0lite: c.stop0lite, watchdogThreshS: 0 } }),
        (_q, img) => {
          const k = img as GuestKernel;
          const sysfs = k.cpuidleSysfs();
          // a running guest shows its entries; a panicked one shows the state it chose
          return k.state === "panicked"
            ? sysfs[0].states.some((s) => s.name === "stop0lite")
            : sysfs.some((cpu) => cpu.states.some((s) => s.name === "stop0lite" && s.usage > 0));
        },
      );
      check(c, real, "guest kernel");
      const tiny = run(
        c,
        (sim) => new TinyGuestImage({ sim, stop0lite: c.stop0lite }),
        (q) => {
          const st = readTinyGuestState(q.ram);
          return st.panicked ? st.useStop0lite : st.useStop0lite && st.cpus.some((cpu) => cpu.stops > 0);
        },
      );
      check(c, tiny, "tiny guest");
    });
  }
});
