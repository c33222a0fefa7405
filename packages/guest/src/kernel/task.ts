// Tasks: the programs that run on the guest (workloads). A task is a generator of system-level
// operations; the kernel runs each operation the way Linux would (user time on the vCPU, a
// nanosleep through an hrtimer, a blocking pipe read through a wait queue, ...).

export type TaskOp =
  /** CPU-bound user work: `ns` of execution at the thread's full single-thread speed. */
  | { readonly k: "compute"; readonly ns: number }
  /** clock_nanosleep(relative): an hrtimer on the task's CPU wakes it. */
  | { readonly k: "sleep"; readonly ns: number }
  /** clock_nanosleep(TIMER_ABSTIME) on the guest clock (CLOCK_MONOTONIC ns). */
  | { readonly k: "sleepUntil"; readonly guestNs: number }
  /** Blocking read of one token from a pipe (sleeps on its wait queue while empty). */
  | { readonly k: "read"; readonly pipe: Pipe }
  /** Write one token to a pipe and wake a reader (try_to_wake_up, with an IPI if remote). */
  | { readonly k: "write"; readonly pipe: Pipe }
  /** smp_call_function_single(cpu, fn, wait=0): fn runs in the target's IPI handler. */
  | { readonly k: "callFunction"; readonly cpu: number; readonly fn: (cpu: number) => void }
  /** Kernel time of a system call that neither sleeps nor wakes anyone. */
  | { readonly k: "syscall"; readonly ns: number }
  /** fork()+exec() of the tasks requested through GuestKernel.spawn (what init does). */
  | { readonly k: "forkPending" };

/** What the kernel hands back to the task after an operation: the virtual time, ns. */
export type TaskProgram = Generator<TaskOp, void, number>;

/** A pipe with a wait queue (fs/pipe.c): tokens written and not yet read, and sleeping readers. */
export class Pipe {
  tokens = 0;
  readonly waiters: Task[] = [];
  constructor(readonly name: string) {}
}

export type TaskState = "runnable" | "running" | "sleeping" | "dead";

export class Task {
  state: TaskState = "runnable";
  /** Virtual time the task last became runnable (wakeup latency is measured from here). */
  wokenAt = 0;
  /** Number of times the task was switched in. */
  switches = 0;
  /** Virtual time the task last started running. */
  ranAt = 0;
  /** Time accumulated on the CPU (ns of virtual time, including slowdown by SMT siblings). */
  cpuTimeNs = 0;
  /** Called each time the task is switched in (for wakeup-latency measurements). */
  onSwitchIn: ((t: Task, now: number) => void) | null = null;

  constructor(
    readonly pid: number,
    readonly name: string,
    /** The CPU it is pinned to (sched_setaffinity to one CPU, as the benchmarks do). */
    readonly cpu: number,
    readonly program: TaskProgram,
  ) {}
}
