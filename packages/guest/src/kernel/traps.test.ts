// An exception in kernel mode (linux: arch/powerpc/kernel/traps.c program_check_exception,
// unrecoverable_exception, die, oops_begin/oops_end; kernel/panic.c), decision by decision: the
// signal each cause gives, the oops report and the panic reason.
import { SPRN_SRR0, SPRN_SRR1, SRR1_PROGILL, SRR1_PROGPRIV, SRR1_PROGTRAP } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { type BootedGuest, bootGuest } from "../test-helpers/booted.js";
import { type GuestCpu, SYNC } from "./cpu.js";
import type { GuestKernelConfig } from "./kernel.js";
import type { TaskProgram } from "./task.js";

/** A 4-CPU guest polling in snooze (a polling CPU takes injected work), with the watchdog off. */
function guest(config: GuestKernelConfig = {}): BootedGuest {
  const g = bootGuest({ disableStates: ["stop0lite", "Shared Cede"], ...config });
  g.sim.runFor(3_000_000);
  return g;
}

/** The hardware delivers exception `vector` to `cpu`'s kernel with SRR0/SRR1 as given. */
function deliver(cpu: GuestCpu, vector: number, srr0: bigint, srr1: bigint): void {
  cpu.thread.setSpr(SPRN_SRR0, srr0);
  cpu.thread.setSpr(SPRN_SRR1, srr1);
  cpu.interrupt(cpu.thread, vector);
}

const oops = (g: BootedGuest) => g.kernel.console.lines.filter((l) => l.text.startsWith("Oops: "));

describe("die (traps.c)", () => {
  it("a program check with the trap bit: SIGTRAP, the oops report with the symbol it hit, then the panic", () => {
    const g = guest();
    const cpu1 = g.kernel.cpus[1];
    // snooze_loop's HMT_very_low
    deliver(cpu1, 0x700, 0x9204n, 0x8000_0000_0000_1033n | SRR1_PROGTRAP);
    g.sim.runFor(1_000_000);
    const lines = g.kernel.console.lines.map((l) => l.text);
    const at = lines.indexOf("Oops: Exception in kernel mode, sig: 5 [#1]");
    expect(at).toBeGreaterThanOrEqual(0);
    expect(lines.slice(at, at + 9)).toEqual([
      "Oops: Exception in kernel mode, sig: 5 [#1]",
      "LE PAGE_SIZE=64K MMU=Radix SMP NR_CPUS=2048 NUMA pSeries",
      "CPU: 1 PID: 0 Comm: swapper/1 Not tainted 5.6.0-stop0lite-always",
      "NIP:  c000000000009204 LR: c000000000009204 CTR: 0000000000000000",
      "REGS: c00000000fffbd70 TRAP: 0700   Not tainted  (5.6.0-stop0lite-always)",
      "MSR:  8000000000021033",
      "NIP [c000000000009204] snooze_loop+0x4/0xc",
      "---[ end trace 0000000000000000 ]---",
      "Kernel panic - not syncing: Fatal exception",
    ]);
    for (const l of g.kernel.console.lines.slice(at, at + 9)) expect(l.level).toBe("emerg");
    // a program check is no unrecoverable exception
    expect(lines.some((l) => l.startsWith("Unrecoverable exception"))).toBe(false);
    expect(g.kernel.state).toBe("panicked");
    expect(g.kernel.oopsCount).toBe(1);
    expect(cpu1.stats.interrupts.get(0x700)).toBe(1);
  });

  it("illegal and privileged instructions give SIGILL, and so does a program check with no reason bit", () => {
    for (const reason of [SRR1_PROGILL, SRR1_PROGPRIV, 0n]) {
      const g = guest();
      deliver(g.kernel.cpus[2], 0x700, 0x9300n, reason);
      g.sim.runFor(1_000_000);
      expect(oops(g).map((l) => l.text)).toEqual(["Oops: Exception in kernel mode, sig: 4 [#1]"]);
      expect(g.kernel.console.contains("NIP [c000000000009300] stop_loop+0x0/0x4")).toBe(true);
      // SRR1 in 16 hex digits
      expect(g.kernel.console.lines.filter((l) => l.text.startsWith("MSR:")).map((l) => l.text)).toEqual([
        `MSR:  ${reason.toString(16).padStart(16, "0")}`,
      ]);
    }
  });

  it("an address outside the kernel's text has no symbol line", () => {
    const g = guest();
    deliver(g.kernel.cpus[2], 0x700, 0x9208n + 0x10_0000n, SRR1_PROGILL);
    g.sim.runFor(1_000_000);
    expect(g.kernel.console.contains("NIP:  c000000000109208")).toBe(true);
    expect(g.kernel.console.lines.some((l) => l.text.startsWith("NIP ["))).toBe(false);
    // the last word of a symbol is still inside it
    const g2 = guest();
    deliver(g2.kernel.cpus[2], 0x700, 0x9208n, SRR1_PROGILL);
    g2.sim.runFor(1_000_000);
    expect(g2.kernel.console.contains("NIP [c000000000009208] snooze_loop+0x8/0xc")).toBe(true);
    // ... the word after it is not (snooze_loop has three)
    const g3 = guest();
    deliver(g3.kernel.cpus[2], 0x700, 0x920cn, SRR1_PROGILL);
    g3.sim.runFor(1_000_000);
    expect(g3.kernel.console.contains("NIP:  c00000000000920c")).toBe(true);
    expect(g3.kernel.console.lines.some((l) => l.text.startsWith("NIP ["))).toBe(false);
  });

  it("any other exception the kernel cannot handle is unrecoverable: SIGABRT", () => {
    const g = guest();
    deliver(g.kernel.cpus[3], 0x200, 0x9300n, 0x8000_0000_0000_1033n);
    g.sim.runFor(1_000_000);
    expect(
      g.kernel.console.lines
        .filter((l) => l.text.startsWith("Unrecoverable exception"))
        .map((l) => [l.level, l.text]),
    ).toEqual([["emerg", "Unrecoverable exception 200 at c000000000009300 (msr=8000000000001033)"]]);
    expect(oops(g).map((l) => l.text)).toEqual(["Oops: Unrecoverable exception, sig: 6 [#1]"]);
    expect(g.kernel.console.contains("TRAP: 0200")).toBe(true);
    expect(g.kernel.state).toBe("panicked");
  });

  it("a program check is taken while soft-disabled: only external, decrementer and doorbell interrupts are soft-masked", () => {
    const g = guest();
    const cpu1 = g.kernel.cpus[1];
    // kernel code on cpu 1 in a soft-disabled region; the program check comes 500 ns into it
    expect(
      cpu1.injectWork(
        (function* () {
          cpu1.localIrqDisable();
          yield { k: "delay", ns: 1_000 } as const;
          yield SYNC;
        })(),
      ),
    ).toBe(true);
    const t = g.sim.createTimer(() => {
      expect(cpu1.softEnabled).toBe(false);
      deliver(cpu1, 0x700, 0x9300n, SRR1_PROGILL);
    }, "program check");
    t.armIn(500);
    g.sim.runFor(1_000_000);
    expect(cpu1.stats.maskedInterrupts).toBe(0);
    expect(oops(g).map((l) => l.text)).toEqual(["Oops: Exception in kernel mode, sig: 4 [#1]"]);
    expect(g.kernel.state).toBe("panicked");
  });

  it("the CPU running a task names it; the panic reason follows panic_on_oops and the idle task", () => {
    // a task's oops panics with "Fatal exception" whatever panic_on_oops says here
    const g = guest({ panicOnOops: false });
    const cpu1 = g.kernel.cpus[1];
    const task = g.kernel.spawn(
      "victim",
      1,
      (function* (): TaskProgram {
        yield { k: "compute", ns: 50_000_000 };
      })(),
    );
    while (cpu1.current !== task && g.sim.now < 30_000_000) g.sim.step();
    expect(cpu1.current).toBe(task);
    deliver(cpu1, 0x700, 0x9300n, SRR1_PROGILL);
    g.sim.runFor(1_000_000);
    expect(
      g.kernel.console.contains(`CPU: 1 PID: ${task.pid} Comm: victim Not tainted 5.6.0-stop0lite-always`),
    ).toBe(true);
    expect(g.kernel.console.contains("Kernel panic - not syncing: Fatal exception")).toBe(true);
    // the idle task: with panic_on_oops=0, do_exit finds it cannot kill it
    const g2 = guest({ panicOnOops: false });
    deliver(g2.kernel.cpus[1], 0x700, 0x9300n, SRR1_PROGILL);
    g2.sim.runFor(1_000_000);
    expect(g2.kernel.console.contains("Kernel panic - not syncing: Attempted to kill the idle task!")).toBe(
      true,
    );
  });
});
