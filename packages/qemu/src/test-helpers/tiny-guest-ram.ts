// Where the tiny guest keeps its kernel variables in guest RAM (so a migration carries them), and
// what tests read of them: readTinyGuestState reads the RAM as a debugger reading the kernel's
// memory would, never the kernel's objects.
import type { Memory } from "@stopsim/isa";

/** Kernel variables (little-endian u64). */
export const KDATA = 0x4000;
export const K_BOOT_DONE = 0x00;
export const K_USE_STOP0LITE = 0x08;
export const K_ARCH300 = 0x10;
export const K_PERMITTED = 0x18;
export const K_TOKEN_OS_TERM = 0x20;
export const K_TOKEN_START_CPU = 0x28;
export const K_TOKEN_POWER_OFF = 0x30;
export const K_TICK_TB = 0x38;
export const K_NCPUS = 0x40;
export const K_PANICKED = 0x48;
export const K_NEXT_SECONDARY = 0x50;
export const K_SPRS_FAILED = 0x58;
export const K_TOKEN_QUERY_CPU = 0x60;
export const K_CURRENT_SECONDARY = 0x68;
export const K_CPU_IDS = 0x80;
/** Per-CPU variables at PERCPU + id * 0x80. */
export const PERCPU = 0x5000;
export const PC_JIFFIES = 0x00;
export const PC_DEADLINE = 0x08;
export const PC_STOPS = 0x10;
export const PC_CEDES = 0x18;
export const PC_DEC_INTERRUPTS = 0x20;
export const PC_LATE_TICKS = 0x28;
export const PC_PROGRAM_CHECKS = 0x30;
export const PC_ONLINE = 0x38;
/** RTAS query-cpu-stopped-state answer for this CPU + 1 (0: never asked). */
export const PC_QUERIED_STATE = 0x40;
/** RTAS argument buffers (big-endian, PAPR rtas_args) at RTAS_ARGS + id * 0x40. */
export const RTAS_ARGS = 0x6000;
/** Console buffers at CONSOLE + id * 0x100: length, position, then the text. */
export const CONSOLE = 0x7000;
export const CONSOLE_TEXT_MAX = 0xf0;
/** kvm-unit-tests sprs.c before[1024] / after[1024]. */
export const SPRS_BEFORE = 0x8000;
export const SPRS_AFTER = 0xa000;
export const PANIC_MESSAGE = 0xc000;

export interface TinyGuestState {
  readonly bootDone: boolean;
  readonly useStop0lite: boolean;
  readonly permitted: boolean;
  readonly arch300: boolean;
  readonly panicked: boolean;
  readonly sprsFailed: number;
  readonly cpus: readonly {
    readonly id: number;
    readonly online: boolean;
    readonly jiffies: number;
    readonly stops: number;
    readonly cedes: number;
    readonly decInterrupts: number;
    readonly lateTicks: number;
    readonly programChecks: number;
    /** What RTAS query-cpu-stopped-state said before the boot CPU started it (0 stopped, 2 running). */
    readonly queriedState: number | undefined;
  }[];
}

export function readTinyGuestState(ram: Memory): TinyGuestState {
  const k = (off: number) => ram.read64(KDATA + off, true);
  const n = Number(k(K_NCPUS));
  const cpus = [];
  for (let i = 0; i < n; i++) {
    const id = Number(k(K_CPU_IDS + 8 * i));
    const p = (off: number) => Number(ram.read64(PERCPU + id * 0x80 + off, true));
    cpus.push({
      id,
      online: p(PC_ONLINE) === 1,
      jiffies: p(PC_JIFFIES),
      stops: p(PC_STOPS),
      cedes: p(PC_CEDES),
      decInterrupts: p(PC_DEC_INTERRUPTS),
      lateTicks: p(PC_LATE_TICKS),
      programChecks: p(PC_PROGRAM_CHECKS),
      queriedState: p(PC_QUERIED_STATE) === 0 ? undefined : p(PC_QUERIED_STATE) - 1,
    });
  }
  return {
    bootDone: k(K_BOOT_DONE) === 1n,
    useStop0lite: k(K_USE_STOP0LITE) === 1n,
    permitted: k(K_PERMITTED) === 1n,
    arch300: k(K_ARCH300) === 1n,
    panicked: k(K_PANICKED) === 1n,
    sprsFailed: Number(k(K_SPRS_FAILED)),
    cpus,
  };
}
