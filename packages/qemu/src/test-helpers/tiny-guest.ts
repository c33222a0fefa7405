// A tiny pseries guest kernel for this package's tests (the GuestKernelImage contract of
// docs/ARCHITECTURE.md). Its code is a list of real instruction words at guest addresses,
// executed through the vCPU's HwThread; the "C" parts (device tree scan, bookkeeping) are
// TypeScript reading guest RAM and its own registers, and they act on the machine only through the
// instruction words they produce. Kernel variables live in guest RAM, so a migration carries them
// (their layout and the reader tests use: tiny-guest-ram.ts; the assembler: tiny-guest-asm.ts).
//
// What it does, as pseries Linux would:
// - boot CPU: reads the flattened tree at r3 from RAM, takes the RTAS tokens, decides whether to
//   use stop0lite (policy never / always / arch300 / platform: `ibm,stop-lite-permitted` on the
//   boot CPU node), prints a line with H_PUT_TERM_CHAR and starts the secondaries with RTAS
//   start-cpu;
// - idle loop (nohz-style): programs DEC for the next tick, then either `stop` with PSSCR_PR = 0
//   (mtspr 823; ESL/EC are the hypervisor's) or H_CEDE (`sc 1`), then enables MSR[EE] so a pending
//   decrementer is taken; a tick found overdue by the timebase is run late
//   (arch/powerpc/kernel/irq.c decrementer_check_overflow);
// - a program check (e.g. the illegal-instruction interrupt KVM injects for a trapped `stop`) is
//   fatal: oops on the console, then RTAS ibm,os-term (the panic path of pseries Linux);
// - workload "sprs": kvm-unit-tests powerpc/sprs.c, sleeping with H_CEDE or waiting for a key
//   (H_GET_TERM_CHAR) while the VM is migrated, then RTAS power-off.

import { type DeviceTree, decodeDtb } from "@stopsim/devicetree";
import type { Simulation } from "@stopsim/engine";
import {
  BLR,
  type HwThread,
  KThread,
  li,
  lis,
  type Memory,
  mfspr,
  mftb,
  mtmsrd,
  mtspr,
  NOP,
  ori,
  RFID,
  SC1,
  SPRN_DEC,
  SPRN_PSSCR_PR,
  SPRN_SRR0,
  SPRN_SRR1,
  STOP,
  type ThreadSoftware,
} from "@stopsim/isa";
import type { GuestKernelImage } from "../spapr.js";
import {
  assemble,
  B,
  BIF,
  BL,
  C,
  type Ctx,
  DYN,
  KERNEL_BASE,
  L,
  load32Dyn,
  load64,
  load64Dyn,
  type Op,
  ORG,
  type Resolved,
  u64,
  W,
} from "./tiny-guest-asm.js";
import {
  CONSOLE,
  CONSOLE_TEXT_MAX,
  K_ARCH300,
  K_BOOT_DONE,
  K_CPU_IDS,
  K_CURRENT_SECONDARY,
  K_NCPUS,
  K_NEXT_SECONDARY,
  K_PANICKED,
  K_PERMITTED,
  K_SPRS_FAILED,
  K_TICK_TB,
  K_TOKEN_OS_TERM,
  K_TOKEN_POWER_OFF,
  K_TOKEN_QUERY_CPU,
  K_TOKEN_START_CPU,
  K_USE_STOP0LITE,
  KDATA,
  PANIC_MESSAGE,
  PC_CEDES,
  PC_DEADLINE,
  PC_DEC_INTERRUPTS,
  PC_JIFFIES,
  PC_LATE_TICKS,
  PC_ONLINE,
  PC_PROGRAM_CHECKS,
  PC_QUERIED_STATE,
  PC_STOPS,
  PERCPU,
  RTAS_ARGS,
  SPRS_AFTER,
  SPRS_BEFORE,
} from "./tiny-guest-ram.js";

export {
  PC_CEDES,
  PC_DEC_INTERRUPTS,
  PC_JIFFIES,
  PC_LATE_TICKS,
  PC_ONLINE,
  PC_PROGRAM_CHECKS,
  PC_STOPS,
  readTinyGuestState,
  type TinyGuestState,
} from "./tiny-guest-ram.js";
export { KERNEL_BASE };

export type Stop0litePolicy = "never" | "always" | "arch300" | "platform";

export type TinyGuestWorkload =
  | { readonly kind: "idle" }
  | {
      readonly kind: "sprs";
      /** "cede": sleep with H_CEDE (sprs.c default); "migrate": wait for a key (sprs.c -w). */
      readonly mode: "cede" | "migrate";
      readonly pattern: bigint;
      /** SPRs written with the pattern, in order. */
      readonly set: readonly number[];
      /** SPRs read back before and after. */
      readonly get: readonly number[];
    };

export interface TinyGuestOptions {
  readonly sim: Simulation;
  readonly stop0lite: Stop0litePolicy;
  /** CONFIG_HZ (default 100). */
  readonly hz?: number;
  readonly workload?: TinyGuestWorkload;
}

// hcall numbers (linux: arch/powerpc/include/asm/hvcall.h)
const H_CEDE = 0xe0;
const H_GET_TERM_CHAR = 0x54;
const H_PUT_TERM_CHAR = 0x58;
const H_RTAS = 0xf000;

/** Instructions per modelled ns (the guest's code between exits is short). */
const INSN_NS = 1;
/** Instructions executed per engine event at most. */
const BATCH = 32;

/** The guest kernel: one image, one ThreadSoftware per vCPU. */
export class TinyGuestImage implements GuestKernelImage {
  readonly entryPoint = KERNEL_BASE;
  readonly sim: Simulation;
  readonly policy: Stop0litePolicy;
  readonly hz: number;
  readonly workload: TinyGuestWorkload;
  private readonly text: Map<number, Resolved>;
  readonly labels: Map<string, number>;
  private ram: Memory | undefined;
  private readonly cpus = new Map<number, TinyGuestCpu>();
  /** Keys typed at the console that the guest consumed. */
  keysRead = 0;

  constructor(options: TinyGuestOptions) {
    this.sim = options.sim;
    this.policy = options.stop0lite;
    this.hz = options.hz ?? 100;
    this.workload = options.workload ?? { kind: "idle" };
    const { text, labels } = assemble(this.program());
    this.text = text;
    this.labels = labels;
  }

  load(ram: Memory): void {
    this.ram = ram;
    // the words of the kernel text (code whose word is computed at run time shows as nop)
    for (const [addr, op] of this.text) ram.write32(addr, op.kind === "word" ? op.word : NOP, true);
  }

  cpu(vcpuId: number): ThreadSoftware {
    let c = this.cpus.get(vcpuId);
    if (c === undefined) {
      c = new TinyGuestCpu(this, vcpuId);
      this.cpus.set(vcpuId, c);
    }
    return c;
  }

  /** @internal the op at a guest address. */
  opAt(pc: number): Resolved | undefined {
    return this.text.get(pc);
  }

  /** @internal */
  memory(): Memory {
    if (this.ram === undefined) throw new Error("tiny guest: the image was never loaded into RAM");
    return this.ram;
  }

  private program(): Op[] {
    const kr = (c: Ctx, off: number) => c.ram.read64(KDATA + off, true);
    const kw = (c: Ctx, off: number, v: bigint) => c.ram.write64(KDATA + off, v, true);
    const pr = (c: Ctx, off: number) => c.ram.read64(PERCPU + c.cpu.id * 0x80 + off, true);
    const pw = (c: Ctx, off: number, v: bigint) => c.ram.write64(PERCPU + c.cpu.id * 0x80 + off, v, true);
    const inc = (c: Ctx, off: number) => pw(c, off, pr(c, off) + 1n);
    const rtasArgs = (c: Ctx) => RTAS_ARGS + c.cpu.id * 0x40;
    const tick = (c: Ctx) => kr(c, K_TICK_TB);

    // the timer: run every tick due at timebase `now`, return the DEC value for the next one
    const runTimers = (c: Ctx, now: bigint): void => {
      let deadline = pr(c, PC_DEADLINE);
      while (now >= deadline) {
        pw(c, PC_JIFFIES, pr(c, PC_JIFFIES) + 1n);
        deadline += tick(c);
      }
      pw(c, PC_DEADLINE, deadline);
    };
    const decValue = (c: Ctx): number => {
      const rem = pr(c, PC_DEADLINE) - c.t.gpr(9);
      return rem <= 0n ? 1 : Number(rem > 0x7fffffffn ? 0x7fffffffn : rem);
    };
    const programDec = (): Op[] => [...load32Dyn(10, decValue), W(mtspr(SPRN_DEC, 10))];

    const consoleSet = (c: Ctx, text: string) => {
      const base = CONSOLE + c.cpu.id * 0x100;
      const s = text.slice(0, CONSOLE_TEXT_MAX);
      c.ram.write64(base, BigInt(s.length), true);
      c.ram.write64(base + 8, 0n, true);
      for (let i = 0; i < s.length; i++) c.ram.write8(base + 16 + i, s.charCodeAt(i) & 0xff);
    };
    const consoleChunk = (c: Ctx): { len: number; hi: bigint; lo: bigint } => {
      const base = CONSOLE + c.cpu.id * 0x100;
      const len = Number(c.ram.read64(base, true));
      const pos = Number(c.ram.read64(base + 8, true));
      const n = Math.min(16, len - pos);
      let hi = 0n;
      let lo = 0n;
      for (let i = 0; i < 16; i++) {
        const byte = BigInt(i < n ? c.ram.read8(base + 16 + pos + i) : 0);
        if (i < 8) hi |= byte << BigInt(8 * (7 - i));
        else lo |= byte << BigInt(8 * (15 - i));
      }
      return { len: n, hi, lo };
    };
    const rtasSet = (c: Ctx, token: bigint, args: number[], nret: number) => {
      const a = rtasArgs(c);
      c.ram.write32(a, Number(token), false);
      c.ram.write32(a + 4, args.length, false);
      c.ram.write32(a + 8, nret, false);
      args.forEach((v, i) => {
        c.ram.write32(a + 12 + 4 * i, v >>> 0, false);
      });
      for (let i = 0; i < nret; i++) c.ram.write32(a + 12 + 4 * (args.length + i), 0xffffffff, false);
    };
    const rtasStatus = (c: Ctx, nargs: number) => c.ram.read32(rtasArgs(c) + 12 + 4 * nargs, false) | 0;

    const sprsTexts = new Map<number, string>();
    const w = this.workload;

    const ops: Op[] = [
      // ---- exception vectors: the ones this kernel handles, everything else is fatal
      ...vectors(),

      // ---- boot CPU entry (ePAPR: r3 = the flattened device tree)
      ORG(Number(KERNEL_BASE)),
      L("entry"),
      C((c) => this.earlyInitDevtree(c), 50_000),
      BL("console_write"),
      C((c) => kw(c, K_NEXT_SECONDARY, 0n)),
      // pseries smp_startup_cpu: query-cpu-stopped-state, then start-cpu if it is stopped
      L("smp_loop"),
      BIF((c) => !this.nextSecondary(c), "smp_done"),
      C((c) => rtasSet(c, kr(c, K_TOKEN_QUERY_CPU), [Number(kr(c, K_CURRENT_SECONDARY))], 2)),
      ...load32Dyn(4, rtasArgs),
      BL("rtas_call"),
      C((c) => {
        const id = Number(kr(c, K_CURRENT_SECONDARY));
        const state = rtasStatus(c, 1) === 0 ? c.ram.read32(rtasArgs(c) + 12 + 8, false) : 0xff;
        c.ram.write64(PERCPU + id * 0x80 + PC_QUERIED_STATE, BigInt(state + 1), true);
      }),
      BIF((c) => {
        const id = Number(kr(c, K_CURRENT_SECONDARY));
        return c.ram.read64(PERCPU + id * 0x80 + PC_QUERIED_STATE, true) !== 1n;
      }, "smp_loop"),
      C((c) => {
        const id = Number(kr(c, K_CURRENT_SECONDARY));
        rtasSet(c, kr(c, K_TOKEN_START_CPU), [id, this.labels.get("secondary_entry") ?? 0, id], 1);
      }),
      ...load32Dyn(4, rtasArgs),
      BL("rtas_call"),
      B("smp_loop"),
      L("smp_done"),
      C((c) => kw(c, K_BOOT_DONE, 1n)),
      BIF(() => w.kind === "sprs", "sprs_test"),
      B("idle_loop"),

      // ---- secondary entry from RTAS start-cpu (r3 = its id)
      L("secondary_entry"),
      C((c) => {
        pw(c, PC_ONLINE, 1n);
        pw(c, PC_DEADLINE, c.t.timebase + tick(c));
      }),
      B("idle_loop"),

      // ---- the idle loop, entered with MSR[EE] = 0
      L("idle_loop"),
      W(mftb(9)),
      C((c) => runTimers(c, c.t.gpr(9))),
      ...programDec(),
      BIF((c) => kr(c, K_USE_STOP0LITE) === 0n, "cede"),
      // stop0lite (cpuidle-pseries patch 3): PSSCR_PR with RL = MTL = 0, then stop
      W(li(4, 0)),
      W(mtspr(SPRN_PSSCR_PR, 4)),
      C((c) => inc(c, PC_STOPS), 1),
      W(STOP),
      B("irq_enable"),
      L("cede"),
      C((c) => inc(c, PC_CEDES), 1),
      W(li(3, H_CEDE)),
      W(SC1),
      L("irq_enable"),
      // local_irq_enable: MSR[EE|RI]; a pending decrementer is taken before the nop
      W(li(11, 0)),
      W(ori(11, 11, 0x8002)),
      W(mtmsrd(11, 1)),
      W(NOP),
      // hard-disable again, and run a tick the decrementer did not deliver (late DEC)
      W(li(11, 2)),
      W(mtmsrd(11, 1)),
      W(mftb(9)),
      C((c) => {
        if (c.t.gpr(9) >= pr(c, PC_DEADLINE)) {
          inc(c, PC_LATE_TICKS);
          runTimers(c, c.t.gpr(9));
        }
      }),
      B("idle_loop"),

      // ---- decrementer interrupt (timer_interrupt)
      L("dec_interrupt"),
      W(mftb(9)),
      C((c) => {
        inc(c, PC_DEC_INTERRUPTS);
        runTimers(c, c.t.gpr(9));
      }),
      ...programDec(),
      W(RFID),

      // ---- program check: fatal in the kernel (die -> panic -> ibm,os-term)
      L("program_check"),
      W(mfspr(9, SPRN_SRR0)),
      W(mfspr(10, SPRN_SRR1)),
      C((c) => inc(c, PC_PROGRAM_CHECKS)),
      // another CPU already panicking stops this one (panic -> smp_send_stop)
      BIF((c) => kr(c, K_PANICKED) !== 0n, "halt"),
      C((c) => this.die(c, "Oops: Exception in kernel mode, sig: 4 [#1]", consoleSet, rtasSet)),
      B("panic"),
      L("unexpected"),
      W(mfspr(9, SPRN_SRR0)),
      W(mfspr(10, SPRN_SRR1)),
      BIF((c) => kr(c, K_PANICKED) !== 0n, "halt"),
      C((c) => this.die(c, `Unrecoverable exception ${c.cpu.lastVector.toString(16)}`, consoleSet, rtasSet)),
      L("panic"),
      BL("console_write"),
      ...load32Dyn(4, rtasArgs),
      BL("rtas_call"),
      L("halt"),
      B("halt"),

      // ---- console_write: the CPU's console buffer through H_PUT_TERM_CHAR, 16 bytes a call
      L("console_write"),
      BIF((c) => consoleChunk(c).len <= 0, "console_done"),
      W(li(3, H_PUT_TERM_CHAR)),
      W(li(4, 0)),
      DYN((c) => li(5, consoleChunk(c).len)),
      ...load64Dyn(6, (c) => consoleChunk(c).hi),
      ...load64Dyn(7, (c) => consoleChunk(c).lo),
      W(SC1),
      C((c) => {
        const base = CONSOLE + c.cpu.id * 0x100;
        c.ram.write64(base + 8, c.ram.read64(base + 8, true) + BigInt(c.t.gpr(5)), true);
      }),
      B("console_write"),
      L("console_done"),
      W(BLR),

      // ---- rtas_call: H_RTAS with r4 = the rtas_args block
      L("rtas_call"),
      W(lis(3, 0)),
      W(ori(3, 3, H_RTAS)),
      W(SC1),
      W(BLR),
    ];

    if (w.kind === "sprs") {
      const store = (table: number, n: number) => C((c) => c.ram.write64(table + 8 * n, c.t.gpr(6), true), 1);
      const readAll = (table: number): Op[] => w.get.flatMap((n) => [W(mfspr(6, n)), store(table, n)]);
      ops.push(
        L("sprs_test"),
        C((c) => consoleSet(c, `Settings SPRs to 0x${u64(w.pattern).toString(16)}...\n`)),
        BL("console_write"),
        ...load64(5, w.pattern),
        ...w.set.map((n) => W(mtspr(n, 5))),
        ...readAll(SPRS_BEFORE),
        BIF(() => w.mode === "cede", "sprs_cede"),
        C((c) => consoleSet(c, "Now migrate the VM, then press a key to continue...\n")),
        BL("console_write"),
        L("sprs_wait"),
        W(li(3, H_GET_TERM_CHAR)),
        W(li(4, 0)),
        W(SC1),
        BIF((c) => c.t.gpr(4) === 0n, "sprs_wait"),
        C(() => {
          this.keysRead++;
        }),
        B("sprs_after"),
        L("sprs_cede"),
        C((c) => consoleSet(c, "Sleeping...\n")),
        BL("console_write"),
        W(lis(9, 0x3fff)),
        W(ori(9, 9, 0xffff)),
        W(mtspr(SPRN_DEC, 9)),
        W(li(3, H_CEDE)),
        W(SC1),
        // the decrementer that ended the cede is taken here (MSR[EE] is set by H_CEDE)
        W(NOP),
        W(li(11, 2)),
        W(mtmsrd(11, 1)),
        L("sprs_after"),
        ...readAll(SPRS_AFTER),
        C((c) => {
          const lines: string[] = [];
          let failed = 0;
          for (const n of w.get) {
            const before = c.ram.read64(SPRS_BEFORE + 8 * n, true);
            const after = c.ram.read64(SPRS_AFTER + 8 * n, true);
            if (before !== after) {
              failed++;
              lines.push(`FAIL: SPR ${n}: 0x${before.toString(16)} <==> 0x${after.toString(16)}`);
            }
          }
          kw(c, K_SPRS_FAILED, BigInt(failed));
          lines.push(`SUMMARY: ${w.get.length} tests, ${failed} unexpected failures`);
          sprsTexts.set(c.cpu.id, `${lines.join("\n")}\n`);
        }),
        L("sprs_print"),
        C((c) => {
          const rest = sprsTexts.get(c.cpu.id) ?? "";
          consoleSet(c, rest);
          sprsTexts.set(c.cpu.id, rest.slice(CONSOLE_TEXT_MAX));
        }),
        BL("console_write"),
        BIF((c) => (sprsTexts.get(c.cpu.id) ?? "").length > 0, "sprs_print"),
        // exit(): RTAS power-off
        C((c) => rtasSet(c, kr(c, K_TOKEN_POWER_OFF), [0, 0], 1)),
        ...load32Dyn(4, rtasArgs),
        BL("rtas_call"),
        B("halt"),
      );
    } else {
      ops.push(L("sprs_test"), B("idle_loop"));
    }
    return ops;
  }

  /** early_init_devtree + the pseries setup that reads it (C). */
  private earlyInitDevtree(c: Ctx): void {
    const fdt = Number(c.t.gpr(3));
    const kw = (off: number, v: bigint) => c.ram.write64(KDATA + off, v, true);
    let tree: DeviceTree;
    try {
      const size = c.ram.read32(fdt + 4, false);
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = c.ram.read8(fdt + i);
      tree = decodeDtb(bytes);
    } catch (e) {
      throw new Error(`tiny guest: no valid device tree at r3 = 0x${fdt.toString(16)}: ${String(e)}`);
    }
    const cpuNodes = (tree.getNode("/cpus")?.children ?? []).filter((n) => {
      const t = n.getProp("device_type");
      return t !== undefined && t.asString() === "cpu";
    });
    const ids = cpuNodes.map((n) => n.requireProp("reg").asU32());
    const boot = cpuNodes.find((n) => n.requireProp("reg").asU32() === tree.bootCpuidPhys) ?? cpuNodes[0];
    const pvr = boot.requireProp("cpu-version").asU32();
    // CPU_FTR_ARCH_300: POWER9 (or a logical PVR for ISA 3.00)
    const arch300 = pvr >>> 16 === 0x004e || pvr >>> 0 === 0x0f000005;
    const permitted = boot.hasProp("ibm,stop-lite-permitted");
    const use =
      this.policy === "always" ||
      (this.policy === "arch300" && arch300) ||
      (this.policy === "platform" && permitted);
    const tbFreq = boot.requireProp("timebase-frequency").asU32();
    const rtas = tree.requireNode("/rtas");
    const token = (name: string) => BigInt(rtas.requireProp(name).asU32());
    kw(K_ARCH300, arch300 ? 1n : 0n);
    kw(K_PERMITTED, permitted ? 1n : 0n);
    kw(K_USE_STOP0LITE, use ? 1n : 0n);
    kw(K_TOKEN_OS_TERM, token("ibm,os-term"));
    kw(K_TOKEN_START_CPU, token("start-cpu"));
    kw(K_TOKEN_QUERY_CPU, token("query-cpu-stopped-state"));
    kw(K_TOKEN_POWER_OFF, token("power-off"));
    kw(K_TICK_TB, BigInt(Math.round(tbFreq / this.hz)));
    kw(K_NCPUS, BigInt(ids.length));
    ids.forEach((id, i) => {
      kw(K_CPU_IDS + 8 * i, BigInt(id));
    });
    const me = PERCPU + c.cpu.id * 0x80;
    c.ram.write64(me + PC_ONLINE, 1n, true);
    c.ram.write64(me + PC_DEADLINE, c.t.timebase + BigInt(Math.round(tbFreq / this.hz)), true);
    const base = CONSOLE + c.cpu.id * 0x100;
    const line = `cpuidle: using ${use ? "stop0lite" : "CEDE"} (${this.policy}, ${cpuNodes.length} cpus)\n`;
    c.ram.write64(base, BigInt(line.length), true);
    c.ram.write64(base + 8, 0n, true);
    for (let i = 0; i < line.length; i++) c.ram.write8(base + 16 + i, line.charCodeAt(i));
  }

  /** The next secondary CPU to bring up (K_CURRENT_SECONDARY); false when all were tried. */
  private nextSecondary(c: Ctx): boolean {
    const kr = (off: number) => c.ram.read64(KDATA + off, true);
    const n = Number(kr(K_NCPUS));
    let i = Number(kr(K_NEXT_SECONDARY));
    while (i < n && Number(kr(K_CPU_IDS + 8 * i)) === c.cpu.id) i++;
    if (i >= n) return false;
    c.ram.write64(KDATA + K_NEXT_SECONDARY, BigInt(i + 1), true);
    c.ram.write64(KDATA + K_CURRENT_SECONDARY, kr(K_CPU_IDS + 8 * i), true);
    return true;
  }

  /** die() + panic(): console text and the ibm,os-term call. */
  private die(
    c: Ctx,
    what: string,
    consoleSet: (c: Ctx, text: string) => void,
    rtasSet: (c: Ctx, token: bigint, args: number[], nret: number) => void,
  ): void {
    c.ram.write64(KDATA + K_PANICKED, 1n, true);
    const nip = c.t.gpr(9);
    const msg = "Kernel panic - not syncing: Fatal exception";
    for (let i = 0; i < msg.length; i++) c.ram.write8(PANIC_MESSAGE + i, msg.charCodeAt(i));
    c.ram.write8(PANIC_MESSAGE + msg.length, 0);
    consoleSet(c, `${what}\nNIP: 0x${nip.toString(16)} MSR: 0x${c.t.gpr(10).toString(16)}\n${msg}\n`);
    rtasSet(c, c.ram.read64(KDATA + K_TOKEN_OS_TERM, true), [PANIC_MESSAGE], 1);
  }

  /** @internal a kernel message (printk). */
  log(_c: Ctx, _text: string): void {}
}

function vectors(): Op[] {
  const out: Op[] = [];
  for (let v = 0x100; v <= 0xf80; v += 0x20) {
    const target = v === 0x700 ? "program_check" : v === 0x900 ? "dec_interrupt" : "unexpected";
    out.push(ORG(v), B(target));
  }
  return out;
}

/** What the tiny kernel's runtime re-issues: the rest of a batch's time, nothing to run, or the code at the PC. */
type TinyOp =
  | { readonly k: "delay"; readonly ns: number }
  | { readonly k: "park" }
  /** Run the instructions from the PC (an instruction that took control away, retried). */
  | { readonly k: "pc" };

const AT_PC: TinyOp = { k: "pc" };

const TINY_OPS = {
  delay: (ns: number): TinyOp => ({ k: "delay", ns }),
  work: (ns: number): TinyOp => ({ k: "delay", ns }),
  poll: (): TinyOp => ({ k: "delay", ns: 0 }),
  park: (): TinyOp => ({ k: "park" }),
};

/**
 * The kernel's code as seen from one vCPU: instructions from the PC in batches, each batch's time
 * spent through the runtime of software on a hardware thread (@stopsim/isa KThread: SMT speed,
 * frozen while the hypervisor has the thread, dropped when an interrupt moves the PC).
 */
export class TinyGuestCpu implements ThreadSoftware {
  lastVector = 0;
  private rt: KThread<TinyOp> | null = null;

  constructor(
    readonly image: TinyGuestImage,
    readonly id: number,
  ) {}

  /** The runtime on `thread` (created on first use, moved when the vCPU runs on another thread). */
  private runtime(thread: HwThread): KThread<TinyOp> {
    if (this.rt === null) {
      this.rt = new KThread<TinyOp>({
        thread,
        level: "os",
        label: `tiny guest cpu${this.id}`,
        rng: null,
        jitterSigma: 0,
        pollPeriodNs: INSN_NS,
        ops: TINY_OPS,
        run: (op) => this.run(op),
        pollDone: () => true,
      });
    } else if (this.rt.thread !== thread) this.rt.rebind(thread);
    return this.rt;
  }

  resume(thread: HwThread): void {
    const rt = this.runtime(thread);
    if (rt.wait.k === "entry") {
      rt.wait = { k: "frozen", op: null };
      rt.continueSoon(null);
      return;
    }
    rt.resumeAt(Number(thread.pc & 0x0fffffffffffffffn));
  }

  interrupt(thread: HwThread, vector: number): void {
    const rt = this.runtime(thread);
    this.lastVector = vector;
    if (rt.deferIfStepping(vector)) return;
    // the PC is at the vector now: what was left of the batch does not run
    rt.capture();
    rt.wait = { k: "frozen", op: null };
    rt.continueSoon(null);
  }

  private run(op: TinyOp | null): void {
    const rt = this.rt as KThread<TinyOp>;
    if (op !== null && op.k === "delay" && op.ns > 0 && !rt.runCode(op.ns)) return;
    if (op !== null && op.k === "park") {
      rt.park();
      return;
    }
    this.step(rt);
  }

  private step(rt: KThread<TinyOp>): void {
    const t = rt.thread;
    const ctx: Ctx = { t, cpu: this, k: this.image, ram: this.image.memory() };
    for (;;) {
      let spent = 0;
      for (let n = 0; n < BATCH && spent < 200; n++) {
        const pc = Number(t.pc & 0x0fffffffffffffffn);
        const op = this.image.opAt(pc);
        if (op === undefined)
          throw new Error(`tiny guest: cpu ${this.id} executes outside its text at 0x${pc.toString(16)}`);
        let word: number;
        if (op.kind === "word") {
          word = op.word;
          spent += INSN_NS;
        } else if (op.kind === "dyn") {
          word = op.fn(ctx);
          spent += INSN_NS;
        } else {
          op.fn(ctx);
          word = NOP;
          spent += op.ns;
        }
        const r = rt.exec(null, word, AT_PC);
        if (r === "interrupt") {
          // an interrupt of this kernel's own taken by the instruction: continue at its vector
          rt.takeDeferredVector();
          rt.continueSoon(null);
          return;
        }
        // control went elsewhere (an exit to the hypervisor, a stop): it comes back by resume()
        if (r !== "ok") return;
      }
      // the batch's time: inline when nothing else is due before it ends
      if (!rt.runCode(spent)) return;
    }
  }
}

/** What the kernel's variables say, read from a machine's RAM (a debugger's view). */
