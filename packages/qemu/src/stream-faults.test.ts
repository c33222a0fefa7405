// Faults on the migration channel between two real hosts: the destination refuses every truncated
// stream and every stream whose framing was corrupted, and the source guest is neither killed nor
// changed by the attempt. With the return-path capability the source fails the migration and runs
// on; without it (QEMU's default) the source completes and waits paused in postmigrate, its state
// intact for a management layer's cont. Corrupted values (page contents, register values) cannot be recognised
// by QEMU's format, which has no checksum; they are outside this property.

import { Simulation } from "@stopsim/engine";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MigrationError } from "./errors.js";
import { QEMU_VM_SECTION_END, QEMU_VM_SECTION_PART } from "./migration/savevm.js";
import { Qemu } from "./spapr.js";
import { bootTestHost, type TestHostSpec } from "./test-helpers/hosts.js";
import { readTinyGuestState, TinyGuestImage } from "./test-helpers/tiny-guest.js";

const DD23: TestHostSpec = { chip: "dd2.3", firmware: "new", kernel: "fallback" };
const CMD = "-M pseries -smp 2 -m 256M -nographic";

type Fault =
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "flip"; readonly structural: boolean; readonly pick: number; readonly xor: number };

interface Applied {
  readonly offset: number;
  readonly before: number;
  readonly after: number;
}

/** Offsets of the framing bytes (everything not in a value range); `structural` leaves out page flags. */
function framingOffsets(length: number, values: readonly (readonly [number, number])[], structural: boolean) {
  const isValue = new Uint8Array(length);
  for (const [s, e] of values) isValue.fill(1, s, Math.min(e, length));
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    if (isValue[i]) continue;
    // the flags byte after a page's 7 address bytes
    const pageFlags =
      i >= 7 && isValue[i - 1] === 1 && isValue[i - 7] === 1 && (i < 8 || isValue[i - 8] === 0);
    if (structural && pageFlags) continue;
    out.push(i);
  }
  return out;
}

function run(fault: Fault, returnPath: boolean) {
  const sim = new Simulation({ seed: 11 });
  const h1 = bootTestHost(sim, DD23, "h1");
  const h2 = bootTestHost(sim, DD23, "h2");
  const image = () => new TinyGuestImage({ sim, stop0lite: "platform" });
  const create = (host: typeof h1, cmd: string, name: string) => {
    const r = Qemu.create({
      sim,
      host: host.qemuHost,
      build: { stopLiteCap: true, probeKvmCapStop: false },
      image: image(),
      commandLine: cmd,
      name,
    });
    if (r.kind !== "running") throw new Error("no machine");
    return r.qemu;
  };
  const src = create(h1, CMD, "src");
  const dst = create(h2, `${CMD} -incoming defer`, "dst");
  dst.qmp("migrate-incoming", { uri: "tcp:[::]:49152" });
  src.qmp("migrate-set-capabilities", { capabilities: [{ capability: "return-path", state: returnPath }] });
  sim.runFor(12_000_000);
  const before = readTinyGuestState(src.ram);
  const consoleBefore = src.console;
  let applied: Applied | undefined;
  const m = src.migrate(
    dst,
    {},
    {
      alter: (bytes, values) => {
        if (fault.kind === "truncate") return bytes.subarray(0, Math.floor(fault.at * bytes.length));
        const where = framingOffsets(bytes.length, values, fault.structural);
        const offset = where[Math.floor(fault.pick * where.length)];
        applied = { offset, before: bytes[offset], after: bytes[offset] ^ fault.xor };
        bytes[offset] = applied.after;
        return bytes;
      },
    },
  );
  while (m.status === "active" || m.status === "device") sim.runFor(1_000_000);
  return { sim, src, dst, m, before, consoleBefore, applied };
}

describe("a corrupted or truncated migration stream between real hosts", () => {
  it("is refused by the destination with QEMU's error; the source guest runs on unchanged, after a cont without return-path (property)", () => {
    const fault = fc.oneof(
      fc.record({
        kind: fc.constant("truncate" as const),
        at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      }),
      fc.record({
        kind: fc.constant("flip" as const),
        structural: fc.boolean(),
        pick: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        xor: fc.integer({ min: 1, max: 255 }),
      }),
    );
    fc.assert(
      fc.property(fault, fc.boolean(), (f, returnPath) => {
        const { sim, src, dst, m, before, consoleBefore, applied } = run(f, returnPath);
        const info = m.info();
        // a ram PART section turned into END (or back) is the same to QEMU's loader: both carry pages
        const equivalent =
          applied !== undefined &&
          [QEMU_VM_SECTION_PART, QEMU_VM_SECTION_END].includes(applied.before) &&
          [QEMU_VM_SECTION_PART, QEMU_VM_SECTION_END].includes(applied.after);
        if (equivalent && info.status === "completed") {
          sim.runFor(20_000_000);
          expect(dst.status).toBe("running");
          expect(readTinyGuestState(dst.ram).cpus[0].jiffies).toBeGreaterThan(before.cpus[0].jiffies);
          return;
        }
        expect(dst.incomingError).toBeInstanceOf(MigrationError);
        expect(dst.incomingError?.message).toMatch(/^qemu-system-ppc64: .*load of migration failed: /s);
        expect(dst.exitStatus).toBe(1);
        expect(info).not.toHaveProperty("error-desc");
        if (returnPath) {
          expect(info.status).toBe("failed");
        } else {
          // QEMU alone: the source believes it is done and stays paused, its guest frozen
          expect(info.status).toBe("completed");
          expect(src.status).toBe("postmigrate");
          const frozen = readTinyGuestState(src.ram).cpus.map((c) => c.jiffies);
          sim.runFor(10_000_000);
          expect(readTinyGuestState(src.ram).cpus.map((c) => c.jiffies)).toEqual(frozen);
          src.qmp("cont");
        }
        // the source: running (again), same kernel, no oops, still ticking on every CPU
        expect(src.status).toBe("running");
        sim.runFor(25_000_000);
        const after = readTinyGuestState(src.ram);
        expect(after.panicked).toBe(false);
        expect(after.useStop0lite).toBe(before.useStop0lite);
        expect(after.cpus.map((c) => c.programChecks)).toEqual([0, 0]);
        after.cpus.forEach((c, i) => {
          expect(c.jiffies).toBeGreaterThan(before.cpus[i].jiffies);
        });
        expect(src.console).toBe(consoleBefore);
      }),
      { numRuns: 40 },
    );
  });
});
