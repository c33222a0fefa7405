// linux: arch/powerpc/kernel/traps.c program_check_exception / die / oops_end and kernel/panic.c
// panic: an exception in kernel mode, the oops, and the panic that follows.

import { BOOK3S_INTERRUPT_PROGRAM, SRR1_PROGILL, SRR1_PROGPRIV, SRR1_PROGTRAP } from "@stopsim/isa";
import type { GuestCpu, KCode } from "./cpu.js";
import { TEXT } from "./image.js";
import type { GuestKernel } from "./kernel.js";

export function* die(kernel: GuestKernel, cpu: GuestCpu, vector: number, srr0: bigint, srr1: bigint): KCode {
  const con = kernel.console;
  const nip = `c${srr0.toString(16).padStart(15, "0")}`;
  let sig = 4;
  let what = "Exception in kernel mode";
  if (vector === BOOK3S_INTERRUPT_PROGRAM) {
    if (srr1 & SRR1_PROGTRAP) sig = 5;
    else if (srr1 & SRR1_PROGILL || srr1 & SRR1_PROGPRIV) sig = 4;
  } else {
    // linux: arch/powerpc/kernel/traps.c unrecoverable_exception: die(..., SIGABRT)
    sig = 6;
    what = "Unrecoverable exception";
  }
  yield { k: "delay", ns: kernel.costs.interruptEntryNs };
  // oops_begin: the die lock; a CPU that finds it taken spins until the panic stops it
  if (kernel.dieOwner !== null && kernel.dieOwner !== cpu) {
    yield { k: "park" };
    return;
  }
  kernel.dieOwner = cpu;
  kernel.oopsCount++;
  if (vector !== BOOK3S_INTERRUPT_PROGRAM)
    con.printk(
      "emerg",
      `Unrecoverable exception ${vector.toString(16)} at ${nip} (msr=${srr1.toString(16)})`,
    );
  const sym = Object.values(TEXT).find(
    (s) => Number(srr0) >= s.addr && Number(srr0) < s.addr + 4 * s.words.length,
  );
  con.printk("emerg", `Oops: ${what}, sig: ${sig} [#${kernel.oopsCount}]`);
  con.printk("emerg", `LE PAGE_SIZE=64K MMU=Radix SMP NR_CPUS=2048 NUMA pSeries`);
  con.printk(
    "emerg",
    `CPU: ${cpu.logical} PID: ${cpu.current?.pid ?? 0} Comm: ${cpu.current?.name ?? `swapper/${cpu.logical}`} Not tainted ${kernel.release}`,
  );
  con.printk("emerg", `NIP:  ${nip} LR: ${nip} CTR: 0000000000000000`);
  con.printk(
    "emerg",
    `REGS: c00000000fffbd70 TRAP: ${vector.toString(16).padStart(4, "0")}   Not tainted  (${kernel.release})`,
  );
  con.printk("emerg", `MSR:  ${srr1.toString(16).padStart(16, "0")}`);
  if (sym !== undefined)
    con.printk(
      "emerg",
      `NIP [${nip}] ${sym.name}+0x${(Number(srr0) - sym.addr).toString(16)}/0x${(4 * sym.words.length).toString(16)}`,
    );
  con.printk("emerg", "---[ end trace 0000000000000000 ]---");
  const reason =
    cpu.current === null && !kernel.config.panicOnOops
      ? "Attempted to kill the idle task!"
      : "Fatal exception";
  yield* kernel.panic(cpu, reason);
}
