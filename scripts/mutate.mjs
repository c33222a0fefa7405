// Mutation testing with StrykerJS and its vitest runner: `pnpm mutate` measures every target in
// TARGETS below, one after the other; `pnpm mutate <target> ...` only those named. Each target is
// one package (or the named files of a big package), mutated with concurrency 1 under `nice -n 10`
// (the machine is shared), in incremental mode: the results of the previous run live in
// <package>/.stryker/<target>.incremental.json (git-ignored), so a rerun only tests the mutants
// whose code or covering tests changed (`--force` tests them all again).
// Each target's score is written to bench-results/mutation-<target>.json beside the benchmarks.
// Exit 1 when a measured target scores below THRESHOLD (the mutation score: killed and timed-out
// mutants over all valid ones, uncovered mutants counting as survivors).
// Outside CI's time budget on purpose: a full run takes hours on the 2-core machine.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { writeBenchResult } from "@stopsim/engine";

const root = new URL("..", import.meta.url).pathname;
export const THRESHOLD = 80;

/**
 * What each target mutates. `mutate` globs are relative to the package directory; `env` is given
 * to the test runs (a package's vitest.config.ts reads STOPSIM_MUTATE to leave out suites too
 * slow to run once per mutant, and says which).
 */
export const TARGETS = {
  engine: { dir: "packages/engine", mutate: ["src/**/*.ts"] },
  devicetree: { dir: "packages/devicetree", mutate: ["src/**/*.ts"], note: "without the fuzz suite" },
  opal: { dir: "packages/opal", mutate: ["src/**/*.ts"] },
  "isa-codec": {
    dir: "packages/isa",
    mutate: ["src/codec.ts"],
    note: "the decoder/encoder/disassembler (codec.ts), measured with its suite against GNU objdump/as (codec.test.ts)",
    // the whole isa suite reruns for each of codec.ts's ~300 static mutants (its form table):
    // about 12 hours here; the suite written against binutils takes seconds
    env: { STOPSIM_MUTATE_TESTS: "src/codec.test.ts" },
  },
  "isa-asm": {
    dir: "packages/isa",
    mutate: ["src/asm.ts"],
    note: "the instruction builders (asm.ts), measured with their suite against GNU as (asm.test.ts)",
    env: { STOPSIM_MUTATE_TESTS: "src/asm.test.ts" },
  },
  // the POWER9 thread and core model of packages/isa, each group with the fast suites written for
  // it (escape.test.ts, a million random words, takes seconds a run and is left out; the codec and
  // asm suites against binutils have their own targets)
  "isa-thread": {
    dir: "packages/isa",
    mutate: ["src/thread.ts", "src/excp.ts", "src/excp-pending.ts", "src/powersave.ts", "src/decrementer.ts"],
    note: "one hardware thread (thread.ts: state, run loop, SPR access), interrupt entry and return (excp.ts), pending-interrupt selection (excp-pending.ts), stop and its wake-up (powersave.ts) and the decrementers (decrementer.ts), measured with the thread, stop, doorbell, interrupt, power-saving and decrementer suites and the programs run on a thread (kernel-run, sprs-program, interp)",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/thread.test.ts,src/thread-api.test.ts,src/stop.test.ts,src/doorbell-wake.test.ts,src/excp.test.ts,src/powersave.test.ts,src/decrementer.test.ts,src/kernel-run.test.ts,src/sprs-program.test.ts,src/interp.test.ts",
    },
  },
  "isa-core": {
    dir: "packages/isa",
    mutate: ["src/core.ts", "src/smt.ts", "src/kthread.ts", "src/chips.ts", "src/pnv.ts", "src/errata.ts"],
    note: "the SMT4 core and its issue sharing (core.ts, smt.ts), kernel code run as timed steps on a thread (kthread.ts), the POWER9 chip models, the PowerNV machine and the guest-stop erratum (chips.ts, pnv.ts, errata.ts), measured with their suites (core, smt, kthread, kthread-waits, pnv, errata, chips)",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/core.test.ts,src/smt.test.ts,src/kthread.test.ts,src/kthread-waits.test.ts,src/pnv.test.ts,src/errata.test.ts,src/chips.test.ts",
    },
  },
  // the POWER9 interpreter and its instruction table, each with the suites that execute words on a
  // thread (milliseconds a run): the table's static mutants rerun the whole selected suite each
  "isa-interp": {
    dir: "packages/isa",
    mutate: ["src/interp.ts", "src/interp/*.ts"],
    note: "the interpreter (interp.ts, interp/*.ts: fixed-point, rotate, storage, branch, system and their decode table), measured with the suites that execute instructions on a thread (interp-forms.test.ts loads the interpreter inside its test: a decode table that fails to build fails it)",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/interp-forms.test.ts,src/interp-edges.test.ts,src/interp-fixedpoint.test.ts,src/interp-storage.test.ts,src/interp-branch.test.ts,src/interp-system.test.ts,src/interp.test.ts,src/kernel-run.test.ts,src/memory.test.ts,src/sprs-program.test.ts,src/thread.test.ts",
    },
  },
  "isa-opcodes": {
    dir: "packages/isa",
    mutate: ["src/opcodes.ts"],
    note: "the instruction table (opcodes.ts: forms, fields, identify()), measured with src/opcodes.test.ts (the committed GNU objdump fixtures: every form and its neighbours, invalid forms included, and each operand field's range; it loads the table inside its tests, so a table that fails to build fails them) and src/interp.test.ts; codec.test.ts (seconds a run: random words, GNU as at test time) is left out",
    // the table is built when the module loads: each of its static mutants reruns the whole suite
    env: { STOPSIM_MUTATE_TESTS: "src/opcodes.test.ts,src/interp.test.ts" },
  },
  // the ISA core's architected state: register numbers and bits, mfspr/mtspr semantics, the
  // two-halves representation and memory
  "isa-state": {
    dir: "packages/isa",
    mutate: ["src/registers.ts", "src/spr.ts", "src/halves.ts", "src/memory.ts"],
    note: "the architected state (registers.ts: PSSCR fields, u64 checks, hypervisor vectors; spr.ts: mfspr/mtspr, each SPR's read and write; halves.ts; memory.ts), measured with the suites written for them",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/spr.test.ts,src/registers.test.ts,src/halves.test.ts,src/memory-access.test.ts,src/memory.test.ts,src/sprs-program.test.ts",
    },
  },
  // the SPR table is module-level: each of its ~370 static mutants reruns the whole suite list
  // (with isa-state's six suites, an hour and a half here), so it is measured with the table's
  // own suite, which loads no simulated machine, and spr.test.ts, which runs mfspr/mtspr of each
  // kind of SPR on a thread
  "isa-sprs": {
    dir: "packages/isa",
    mutate: ["src/sprs.ts", "src/spr-store.ts"],
    note: "the SPR table (sprs.ts: which SPRs exist, names, widths, access, views, facilities and what a read or a write does) and its storage slots (spr-store.ts), measured with src/sprs-table.test.ts (against linux reg.h and ISA v3.0B) and src/spr.test.ts (mfspr/mtspr of each kind of SPR on a thread)",
    env: { STOPSIM_MUTATE_TESTS: "src/sprs-table.test.ts,src/spr.test.ts" },
  },
  "isa-xive": {
    dir: "packages/isa",
    mutate: ["src/xive/*.ts"],
    note: "the XIVE (esb.ts: the PQ state machine and ESB pages, regs.ts: TIMA and ESB layout, xive.ts: sources, routing, queues, the presenter's thread contexts), measured with the XIVE suites",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/xive/xive.test.ts,src/xive/tima.test.ts,src/xive/router.test.ts,src/xive/esb.test.ts",
    },
  },
  linux: {
    dir: "packages/linux",
    mutate: ["src/**/*.ts"],
    note: "cputable, hvcall numbers, lppaca, XICS constants, the cpuidle core and the menu/teo governors",
  },
  "guest-cpuidle": {
    dir: "packages/guest",
    mutate: ["src/cpuidle/**/*.ts"],
    note: "cpuidle-pseries (the pseries driver and its state tables) only, measured with its own suite (src/cpuidle/driver.test.ts)",
    // the state tables are static mutants: each would rerun the whole guest suite (minutes)
    env: { STOPSIM_MUTATE_TESTS: "src/cpuidle/driver.test.ts" },
    // its test fixtures read packages/devicetree/fixtures by a relative path, which a sandbox copy
    // of the package would break: mutate the files in place (restored when Stryker ends)
    inPlace: true,
  },
  // libvirt in two file groups, each with the suites written for it: the whole suite per mutant
  // (the real-host migration and stream-fault suites take seconds a run) took about an hour
  "libvirt-driver": {
    dir: "packages/libvirt",
    mutate: ["src/domain.ts", "src/errors.ts", "src/driver.ts"],
    note: "libvirt's QEMU driver (domain command lines, virError, domain states, probes, domain capabilities) only, measured with src/driver.test.ts (a scripted QEMU monitor) and src/domain.test.ts (real QEMU on real hosts)",
    env: { STOPSIM_MUTATE_TESTS: "src/driver.test.ts,src/domain.test.ts" },
  },
  "libvirt-migration": {
    dir: "packages/libvirt",
    mutate: ["src/migration.ts"],
    note: "libvirt's migration job (begin3 .. confirm3) only, measured with src/migration-phases.test.ts (scripted QEMU monitors, milliseconds a run); the real-host suites (migration.test.ts, stream-faults.test.ts: seconds a run) are left out",
    env: { STOPSIM_MUTATE_TESTS: "src/migration-phases.test.ts" },
  },
  // the big packages, file group by file group, each with the suites written for it
  "guest-boot": {
    dir: "packages/guest",
    mutate: ["src/boot/**/*.ts"],
    note: "the guest kernel's early boot device-tree scan (src/boot) only, measured with src/boot/devtree.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/boot/devtree.test.ts" },
    inPlace: true,
  },
  "guest-papr": {
    dir: "packages/guest",
    mutate: ["src/linux/papr.ts"],
    note: "the PAPR numbers and names only the pseries guest uses (papr.ts: RTAS status codes, query-cpu-stopped-state results, the ibm,hypertas-functions table, the H_INT_* flags), measured with src/linux/papr.test.ts (pinned to Linux's rtas.h, pseries.h, firmware.c and xive/spapr.c)",
    // module-level constants only: each mutant would rerun every suite named here
    env: { STOPSIM_MUTATE_TESTS: "src/linux/papr.test.ts" },
  },
  // the guest kernel (src/kernel, src/workloads) in file groups, each with the suites that drive
  // it through the test platform (src/test-helpers/platform.ts: a fake QEMU/KVM, seconds a run)
  "guest-kernel-boot": {
    dir: "packages/guest",
    mutate: [
      "src/kernel/setup.ts",
      "src/kernel/lpar.ts",
      "src/kernel/prom-cas.ts",
      "src/kernel/smp.ts",
      "src/kernel/image.ts",
      "src/kernel/console.ts",
    ],
    note: "the guest kernel's boot (setup.ts: early setup, LE exceptions, XICS/XIVE setup, SMP bring-up; lpar.ts: VPA and RTAS tokens; prom-cas.ts: CAS; smp.ts: start-cpu and the secondaries; image.ts, console.ts), measured with the kernel suites (src/kernel/*.test.ts, boot-paths.test.ts: the boot against a failing platform)",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/kernel/boot-paths.test.ts,src/kernel/kernel.test.ts,src/kernel/boot.test.ts,src/kernel/steps.test.ts,src/kernel/xive.test.ts",
    },
    inPlace: true,
  },
  "guest-kernel-cpu": {
    dir: "packages/guest",
    mutate: ["src/kernel/cpu.ts"],
    note: "one vCPU of the guest kernel (cpu.ts: its entry and resume, interrupts from the thread, hcalls, the endian fix-up, work injected from outside, the move to another thread, halt), measured with src/kernel/cpu.test.ts and the kernel suites",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/kernel/cpu.test.ts,src/kernel/boot-paths.test.ts,src/kernel/kernel.test.ts,src/kernel/boot.test.ts,src/kernel/steps.test.ts,src/kernel/xive.test.ts",
    },
    inPlace: true,
  },
  "guest-kernel-main": {
    dir: "packages/guest",
    mutate: ["src/kernel/kernel.ts"],
    note: "the guest kernel as a whole (kernel.ts: its configuration, the image QEMU loads, the vCPUs it attaches and moves, RTAS calls, tasks, panic and ibm,os-term), measured with src/kernel/guest-kernel.test.ts and the kernel suites",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/kernel/guest-kernel.test.ts,src/kernel/boot-paths.test.ts,src/kernel/kernel.test.ts,src/kernel/boot.test.ts,src/kernel/steps.test.ts,src/kernel/xive.test.ts",
    },
    inPlace: true,
  },
  "guest-workloads": {
    dir: "packages/guest",
    mutate: ["src/workloads/**/*.ts"],
    note: "the guest workloads (periodic timer, ebizzy, context_switch2, random mix) and the wakeup-latency measurement, measured with src/workloads/workloads.test.ts and src/kernel/kernel.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/workloads/workloads.test.ts,src/kernel/kernel.test.ts" },
    inPlace: true,
  },
  // the guest kernel's interrupt paths and its timers, each with the kernel suites that drive them
  // through the test platform and the suites written for them decision by decision
  "guest-kernel-irq": {
    dir: "packages/guest",
    mutate: ["src/kernel/irq.ts", "src/kernel/traps.ts"],
    note: "the guest kernel's interrupts (irq.ts: entry, masked_interrupt, the replay, the return, the XICS and XIVE acknowledge; traps.ts: die and the oops), measured with src/kernel/irq.test.ts, src/kernel/traps.test.ts (soft-masked interrupts, replay order, the prolog's and the return's SMT priority, exceptions in kernel mode, decision by decision), src/kernel/xive-spapr.test.ts (IPIs through XIVE) and src/kernel/time.test.ts (the tick's preemption on the return to user mode)",
    // the kernel suites cover every line of irq.ts: with them each mutant took ~15 s and each
    // mutant that hangs the kernel ~50 s (a first run reached 135 of 351 mutants in 38 minutes)
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/kernel/irq.test.ts,src/kernel/traps.test.ts,src/kernel/xive-spapr.test.ts,src/kernel/time.test.ts",
    },
    inPlace: true,
  },
  "guest-kernel-xive": {
    dir: "packages/guest",
    mutate: ["src/kernel/xive.ts"],
    note: "the guest kernel's sPAPR XIVE backend (xive.ts: priorities, queues, IPIs, the acknowledge, the queue scan and the EOI), measured with src/kernel/xive.test.ts (real post-CAS QEMU trees) and src/kernel/xive-spapr.test.ts (trees and hypervisors that differ decision by decision)",
    env: { STOPSIM_MUTATE_TESTS: "src/kernel/xive.test.ts,src/kernel/xive-spapr.test.ts" },
    inPlace: true,
  },
  "guest-kernel-time": {
    dir: "packages/guest",
    mutate: ["src/kernel/time.ts", "src/kernel/watchdog.ts"],
    note: "the guest kernel's tick, hrtimers and decrementer (time.ts) and the lockup watchdog with the wake-up hazard counters (watchdog.ts), measured with src/kernel/time.test.ts and src/kernel/watchdog.test.ts (57.9% with the kernel suites alone: kernel.test.ts, steps.test.ts)",
    env: { STOPSIM_MUTATE_TESTS: "src/kernel/time.test.ts,src/kernel/watchdog.test.ts" },
    inPlace: true,
  },
  // the guest kernel's idle loop, scheduler and runner (timed steps): every boot runs them, so each
  // group is measured with the suites written for it (small guests, exact costs, milliseconds of
  // virtual time: about 4 s a run here), not the whole kernel suite per mutant (kernel.test.ts
  // and steps.test.ts add 7 s: with several mutation runs sharing the machine, an hour a target);
  // in a sandbox copy of the package (their suites find the devicetree fixture from anywhere)
  "guest-kernel-idle": {
    dir: "packages/guest",
    mutate: ["src/kernel/idle.ts"],
    note: "the guest idle loop (idle.ts: do_idle, cpuidle_idle_call, cpuidle_enter_state, the pseries snooze/stop/cede loops, arch_cpu_idle, the driver's registration), measured with src/kernel/idle.test.ts",
    // every test of the idle and scheduler suites boots a guest and covers every line of idle.ts,
    // and mutants that hang the kernel on the busy simulation take about a minute each: with
    // sched.test.ts too, a run took about an hour and a half here
    env: { STOPSIM_MUTATE_TESTS: "src/kernel/idle.test.ts" },
  },
  "guest-kernel-sched": {
    dir: "packages/guest",
    mutate: ["src/kernel/sched.ts", "src/kernel/task.ts", "src/kernel/costs.ts"],
    note: "the guest scheduler (sched.ts: try_to_wake_up, scheduler_ipi, __schedule, the task operations), tasks (task.ts) and the guest cost table (costs.ts), measured with src/kernel/sched.test.ts and src/kernel/idle.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/kernel/sched.test.ts,src/kernel/idle.test.ts" },
  },
  "guest-kernel-runner": {
    dir: "packages/guest",
    mutate: ["src/kernel/runner.ts"],
    note: "how the guest kernel's code runs (runner.ts: the operations of kernel code on the hardware thread, timed steps against one wait per cost, context switches), measured with src/kernel/runner.test.ts (also on a busy simulation where every step passes as a wait, timers expiring at each point of the way into idle, a vCPU moved to another thread), src/kernel/sched.test.ts, src/kernel/steps.test.ts (stepLocal) and src/kernel/irq.test.ts (interrupts taken at an instruction or at rfid)",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/kernel/runner.test.ts,src/kernel/sched.test.ts,src/kernel/steps.test.ts,src/kernel/irq.test.ts",
    },
  },
  "qemu-options": {
    dir: "packages/qemu",
    mutate: ["src/options.ts", "src/size.ts"],
    note: "QEMU's command-line options and size parsing only, measured with src/options.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/options.test.ts" },
  },
  "qemu-fdt": {
    dir: "packages/qemu",
    mutate: ["src/fdt.ts"],
    note: "the pseries device tree QEMU builds (spapr_build_fdt) only, measured with src/fdt.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/fdt.test.ts" },
  },
  "qemu-caps": {
    dir: "packages/qemu",
    mutate: ["src/caps.ts", "src/cpu-models.ts", "src/machine.ts", "src/kvm.ts"],
    note: "the spapr capabilities, their apply hooks and the cpu-char levels KVM reports (caps.ts, kvm.ts), the CPU models and the machine types' defaults, measured with src/caps.test.ts and src/options.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/caps.test.ts,src/options.test.ts" },
  },
  "qemu-stream": {
    dir: "packages/qemu",
    mutate: ["src/migration/qemu-file.ts", "src/migration/savevm.ts"],
    note: "the migration stream's byte codec, framing, sections and loader (qemu-file.ts, savevm.ts), measured with src/migration/qemu-file.test.ts and src/migration/savevm.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/migration/qemu-file.test.ts,src/migration/savevm.test.ts" },
  },
  "qemu-hcall": {
    dir: "packages/qemu",
    mutate: ["src/spapr-hcall.ts", "src/spapr-rtas.ts", "src/rtas-tokens.ts"],
    note: "the hypercalls and RTAS calls QEMU handles in userspace (spapr-hcall.ts, spapr-rtas.ts, rtas-tokens.ts), measured with src/spapr-hcall.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/spapr-hcall.test.ts" },
  },
  "host-build": {
    dir: "packages/host",
    mutate: ["src/build.ts", "src/dt-cpu-ftrs.ts"],
    note: "the host kernel's KVM build presets (build.ts) and dt-cpu-features parsing (dt-cpu-ftrs.ts), measured with src/dt-cpu-ftrs.test.ts",
    // boot.test.ts boots the host 400 times in its corruption property: seconds per mutant
    env: { STOPSIM_MUTATE_TESTS: "src/dt-cpu-ftrs.test.ts" },
  },
  "host-kvm-api": {
    dir: "packages/host",
    mutate: ["src/kvm/kvm.ts", "src/kvm/vm.ts", "src/kvm/one-reg.ts", "src/kvm/cpu-char.ts"],
    note: "KVM's ioctls: KVM_CHECK_EXTENSION, VM and vCPU creation, memory slots, ENABLE_CAP, ONE_REG, KVM_PPC_GET_CPU_CHAR, measured with src/kvm/ioctl.test.ts, api.test.ts and vcpu-state.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/kvm/ioctl.test.ts,src/kvm/api.test.ts,src/kvm/vcpu-state.test.ts" },
  },
  "host-idle": {
    dir: "packages/host",
    mutate: ["src/idle.ts"],
    note: "the host's idle-state table from /ibm,opal/power-mgt (powernv idle.c, cpuidle-powernv.c), measured with src/idle.test.ts and src/idle-menu.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/idle.test.ts,src/idle-menu.test.ts" },
  },
  "host-kvm-hcall": {
    dir: "packages/host",
    mutate: ["src/kvm/hcall.ts", "src/kvm/xics-on-xive.ts"],
    note: "KVM's in-kernel hcalls (dispatch, H_CEDE/H_PROD, H_REGISTER_VPA) and the XICS-on-XIVE presentation hcalls, measured with src/kvm/hcall.test.ts, cede.test.ts and realmode.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/kvm/hcall.test.ts,src/kvm/cede.test.ts,src/kvm/realmode.test.ts" },
  },
  "host-xive": {
    dir: "packages/host",
    mutate: ["src/xive-host.ts", "src/kvm/xive-native.ts"],
    note: "the host XIVE and KVM's XIVE native device (sources, queues, mmap, push/pull, escalations), measured with src/kvm/xive-device.test.ts and xive-native.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/kvm/xive-device.test.ts,src/kvm/xive-native.test.ts" },
  },
  "host-kvm-entry-exit": {
    dir: "packages/host",
    mutate: ["src/kvm/entry-exit.ts"],
    note: "KVM's guest entry and exit (kvmppc_handle_exit_hv, interrupt injection, the entry PSSCR, real-mode hcalls, doorbell emulation), measured with src/kvm/exit-handling.test.ts, src/kvm/guest-state.test.ts (the guest state kept across an exit: DEC by LPCR[LD], SRR/HSRR, the cost of each path), src/kvm/vcpu-run.test.ts and the entry/exit suites (entry-exit, stop, cede, realmode, timed-steps)",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/kvm/exit-handling.test.ts,src/kvm/guest-state.test.ts,src/kvm/vcpu-run.test.ts,src/kvm/entry-exit.test.ts,src/kvm/stop.test.ts,src/kvm/cede.test.ts,src/kvm/realmode.test.ts,src/kvm/timed-steps.test.ts",
    },
  },
  "host-kvm-vcpu": {
    dir: "packages/host",
    mutate: ["src/kvm/vcpu.ts", "src/kvm/halt-poll.ts", "src/kvm/regfile.ts"],
    note: "the vCPU (its ioctls, run loop, cede, block and halt polling) and its register files, measured with src/kvm/vcpu-ioctl.test.ts, src/kvm/vcpu-run.test.ts (the run loop, kicks, blocks and userspace exits step by step with exact costs) and the vCPU suites (halt-poll, halt-poll-cede, regfile, vcpu-state, cede)",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/kvm/vcpu-ioctl.test.ts,src/kvm/vcpu-run.test.ts,src/kvm/halt-poll.test.ts,src/kvm/halt-poll-cede.test.ts,src/kvm/regfile.test.ts,src/kvm/vcpu-state.test.ts,src/kvm/cede.test.ts",
    },
  },
  "host-kernel": {
    dir: "packages/host",
    mutate: ["src/host.ts", "src/costs.ts", "src/log.ts", "src/errors.ts", "src/kvm/trace-names.ts"],
    note: "the host kernel's boot from the DTB (bootHost: /cpus, PVR, maps, options), its cost table, log and kvm_exit names, measured with src/host.test.ts and src/boot.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/host.test.ts,src/boot.test.ts" },
  },
  "host-cpu": {
    dir: "packages/host",
    mutate: ["src/cpu.ts"],
    note: "one host CPU: hrtimers, the decrementer, task scheduling, the idle loop (menu, snooze, stop) and the interrupt entry, measured with src/cpu.test.ts, src/cpu-idle.test.ts (the idle loop decision by decision under a scripted governor), src/idle-menu.test.ts and the KVM suites that run tasks on it (vcpu-run, timed-steps, halt-poll-cede)",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/cpu.test.ts,src/cpu-idle.test.ts,src/idle-menu.test.ts,src/kvm/vcpu-run.test.ts,src/kvm/timed-steps.test.ts,src/kvm/halt-poll-cede.test.ts",
    },
  },
  "host-kvm-uapi": {
    dir: "packages/host",
    mutate: ["src/kvm/uapi.ts", "src/kvm/abi.ts"],
    note: "the KVM uapi numbers (ONE_REG ids and one_reg_size; abi.ts only re-exports, no mutant), measured with src/kvm/uapi.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/kvm/uapi.test.ts" },
  },
  "qemu-irq": {
    dir: "packages/qemu",
    mutate: ["src/irq.ts", "src/spapr-irq.ts"],
    note: "ic-mode, the option vectors and CAS (irq.ts, spapr-irq.ts), measured with src/irq.test.ts and src/spapr-irq.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/irq.test.ts,src/spapr-irq.test.ts" },
  },
  "qemu-xive": {
    dir: "packages/qemu",
    mutate: ["src/spapr-xive.ts"],
    note: "the sPAPR XIVE on KVM's XIVE device (spapr-xive.ts: the H_INT_* hcalls, the connection and its refusals, the migration state), measured with src/spapr-irq.test.ts and src/spapr-xive.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/spapr-irq.test.ts,src/spapr-xive.test.ts" },
  },
  "qemu-qmp": {
    dir: "packages/qemu",
    mutate: ["src/qmp.ts", "src/errors.ts", "src/ram.ts"],
    note: "the QMP commands, QEMU's error reports and the guest RAM's dirty log (qmp.ts, errors.ts, ram.ts), measured with src/qmp.test.ts and src/ram.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/qmp.test.ts,src/ram.test.ts" },
  },
  // the machine in two file groups, each with unit suites on paused machines of one host (the
  // suites that boot guests and migrate them, spapr.test.ts and stream-faults.test.ts, took about
  // an hour for the pair)
  "qemu-spapr": {
    dir: "packages/qemu",
    mutate: ["src/spapr.ts"],
    note: "the machine (spapr.ts: creation on KVM, run states, exits to userspace, incoming streams, the migration network), measured with src/spapr-machine.test.ts (scripted KVM_RUN exits, KVM refusals), src/migration/migration.test.ts, src/qmp.test.ts, src/spapr-hcall.test.ts and src/spapr-irq.test.ts (CAS rebuilds the tree through the machine)",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/spapr-machine.test.ts,src/migration/migration.test.ts,src/qmp.test.ts,src/spapr-hcall.test.ts,src/spapr-irq.test.ts",
    },
  },
  "qemu-migration": {
    dir: "packages/qemu",
    mutate: ["src/migration/migration.ts"],
    note: "live migration's outgoing state machine (migration.ts: rounds, downtime limit, completion, failures, registers, the cap check), measured with src/migration/migration.test.ts (paused machines), src/spapr-machine.test.ts and src/qmp.test.ts",
    env: {
      STOPSIM_MUTATE_TESTS: "src/migration/migration.test.ts,src/spapr-machine.test.ts,src/qmp.test.ts",
    },
  },
  // the app (apps/stopsim/src) in file groups, each with the suites written for it: the whole app
  // suite boots full stacks, runs the worker pool and a Redis server (minutes a run)
  "app-pure": {
    dir: "apps/stopsim",
    mutate: [
      "src/seeds.ts",
      "src/interval.ts",
      "src/limits.ts",
      "src/errors.ts",
      "src/queue-url.ts",
      "src/output.ts",
      "src/atomic.ts",
    ],
    note: "the app's pure logic (seed lists, median intervals, limits, --queue URLs, output, atomic file writes), measured with its unit suites",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/seeds.test.ts,src/interval.test.ts,src/queue-url.test.ts,src/output.test.ts,src/atomic.test.ts,src/limits.test.ts",
    },
  },
  "app-scenario": {
    dir: "apps/stopsim",
    mutate: ["src/scenario.ts"],
    note: "scenario files (fields, defaults, limits, names, reading), measured with src/scenario.test.ts, scenario-files.test.ts and presets.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/scenario.test.ts,src/scenario-files.test.ts,src/presets.test.ts" },
  },
  // the presets are a data table (DOMAIN.md's hosts and designs): their lookups are unit-tested,
  // each design's settings only by what the full stack does with them (matrix.test.ts: about a
  // minute a run, and every mutant of a module-level table reruns the whole suite)
  "app-presets": {
    dir: "apps/stopsim",
    mutate: ["src/presets.ts"],
    note: "the host and design presets (lookups, the KVM build a host runs, each design's and host's settings), measured with src/presets.test.ts and src/presets-facts.test.ts (every preset pair booted up to QEMU's start, no guest instruction run, against DOMAIN.md's designs and hosts)",
    // every mutant of the table is static: the selected suites rerun whole for each (seconds)
    env: { STOPSIM_MUTATE_TESTS: "src/presets.test.ts,src/presets-facts.test.ts" },
  },
  "app-jobs": {
    dir: "apps/stopsim",
    mutate: ["src/jobs.ts"],
    note: "the pool's jobs (each kind's runner, loaded on first use), measured with src/jobs.test.ts (one small full-stack run of each kind)",
    env: { STOPSIM_MUTATE_TESTS: "src/jobs.test.ts" },
    // its suite loads the built dist/jobs.js in a child process, which the sandbox leaves out
    inPlace: true,
  },
  "app-matrix": {
    dir: "apps/stopsim",
    mutate: ["src/matrix.ts"],
    note: "the matrix's cells, jobs, rows and one cell through the layers, measured with src/matrix-cells.test.ts (a few 1 ms runs); matrix.test.ts (the whole matrix, the CLI) is left out",
    env: { STOPSIM_MUTATE_TESTS: "src/matrix-cells.test.ts" },
  },
  "app-probe": {
    dir: "apps/stopsim",
    mutate: ["src/probe.ts"],
    note: "the fleet's full-stack probe (cases per probe seed, memo, refusals, discovery and fill, domain capabilities, summary), measured with src/probe-cases.test.ts (1 ms runs)",
    env: { STOPSIM_MUTATE_TESTS: "src/probe-cases.test.ts" },
  },
  "app-schemas": {
    dir: "apps/stopsim",
    mutate: ["src/schemas.ts"],
    note: "the --json schemas (zod), measured with src/schemas-shape.test.ts against one recorded output of each command (fixtures/json, made by fixtures/make-json.sh); schemas.test.ts runs the commands (full stacks) and is left out",
    env: { STOPSIM_MUTATE_TESTS: "src/schemas-shape.test.ts" },
  },
  // the app's full-stack runs, file group by file group, each with short runs (3 ms of guest time
  // from QEMU's start) written for it: the suites of the thread's scenarios (scenarios.test.ts,
  // guest-migration.test.ts, hazards' migrations) run 10-20 ms each, seconds per mutant
  "app-hazards": {
    dir: "apps/stopsim",
    mutate: ["src/hazards.ts"],
    note: "the hazard record (guest pauses from QMP events, lateness inside them taken off, the layers' counters read once, differences, the one-line text), measured with src/hazards-reading.test.ts (hand-made readings, decision by decision); hazards.test.ts (real migrations, seconds a run) is left out",
    env: { STOPSIM_MUTATE_TESTS: "src/hazards-reading.test.ts" },
  },
  "app-run": {
    dir: "apps/stopsim",
    mutate: ["src/run.ts", "src/stack.ts", "src/management.ts"],
    note: "the stack's assembly (stack.ts: machine, firmware, host kernel), QEMU's start, workloads and counters (run.ts), the management layer (management.ts: libvirt on a host, domain definitions), measured with src/run-stack.test.ts, src/presets-facts.test.ts and src/boot-cases.test.ts (3 ms runs)",
    env: { STOPSIM_MUTATE_TESTS: "src/run-stack.test.ts,src/presets-facts.test.ts,src/boot-cases.test.ts" },
  },
  "app-scenarios": {
    dir: "apps/stopsim",
    mutate: ["src/scenarios.ts"],
    note: "the boot scenario (scenarios.ts: its steps and slices, the host, phase and boot reports), measured with src/boot-cases.test.ts (3 ms runs) and src/presets-facts.test.ts",
    env: { STOPSIM_MUTATE_TESTS: "src/boot-cases.test.ts,src/presets-facts.test.ts" },
  },
  "app-migrate": {
    dir: "apps/stopsim",
    mutate: ["src/migrate.ts"],
    note: "the migration scenario (migrate.ts: libvirt's or QEMU's migration between two hosts, refusals, the report), measured with src/migrate-cases.test.ts (3 ms phases, a 256 MiB guest)",
    env: { STOPSIM_MUTATE_TESTS: "src/migrate-cases.test.ts" },
  },
  "app-report": {
    dir: "apps/stopsim",
    mutate: ["src/report.ts"],
    note: "the report's data (report.ts: the vCPU timeline from the trace, the sections it gathers from runs), measured with src/report-data.test.ts (hand-made trace events; a 1 ms timeline, the wakeup benchmark and a small fleet; the matrix's rows recorded)",
    env: { STOPSIM_MUTATE_TESTS: "src/report-data.test.ts" },
  },
  "app-fleet": {
    dir: "apps/stopsim",
    mutate: ["src/fleet.ts", "src/fleet-seeds.ts", "src/fleet-probe.ts"],
    note: "the fleet simulation (placement, plans, machine-type policies, upgrades, restarts, downtime), its seeds and spreads, measured with probe doubles (src/fleet.test.ts, fleet-draws.test.ts, fleet-spread.test.ts, fleet-timeline.test.ts: back-off, watchdog, upgrade timing by hand; fleet-limits.test.ts: sizes and mix; fleet-slots.test.ts: host slots on full fleets, the scheduler's choice); the full-stack probe runs of fleet-seeds.test.ts are left out",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/fleet.test.ts,src/fleet-draws.test.ts,src/fleet-spread.test.ts,src/fleet-timeline.test.ts,src/fleet-limits.test.ts,src/fleet-slots.test.ts",
    },
  },
  // the app's command line and process plumbing, each group with focused suites that stop at
  // argument parsing or run 1 ms simulations (the CLI suites that boot full stacks take minutes)
  "app-cli": {
    dir: "apps/stopsim",
    mutate: [
      "src/cli.ts",
      "src/commands/args.ts",
      "src/commands/dtb.ts",
      "src/commands/worker.ts",
      "src/commands/report.ts",
      "src/commands/demo.ts",
    ],
    note: "the command line (cli.ts: the program, exit codes, one-line errors, hosts and designs; the shared option parsers; the dtb, worker, report and demo commands: options, defaults, refusals, output), measured with src/cli-main.test.ts (exit codes, help, the listings, the parsers, dtb), cli-worker.test.ts, cli-demo-report.test.ts (the demo's steps and the report's options around recording doubles of their runs) and cli.test.ts; cli.property.test.ts (random command lines, exit codes only) is left out",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/cli-main.test.ts,src/cli-worker.test.ts,src/cli-demo-report.test.ts,src/cli.test.ts",
    },
  },
  "app-cli-run": {
    dir: "apps/stopsim",
    mutate: ["src/commands/qemu.ts", "src/commands/bench.ts"],
    note: "the qemu and bench commands (QEMU's arguments, help, dumpdtb and errors; the benchmark tables with the thread's figures and intervals; traces, Ctrl-C, refusals), measured with src/cli-run.test.ts (1 ms runs, one or two seeds, the serial pool) and cli-progress.test.ts (the bars on a TTY)",
    env: { STOPSIM_MUTATE_TESTS: "src/cli-run.test.ts,src/cli-progress.test.ts" },
  },
  "app-cli-sim": {
    dir: "apps/stopsim",
    mutate: ["src/commands/simulate.ts", "src/commands/fleet.ts"],
    note: "the simulating commands (boot, idle, migrate, matrix in simulate.ts; fleet.ts): defaults, flags over scenario files, traces, refusals, Ctrl-C, the text reports against the --json reports of the same runs, measured with src/cli-simulate.test.ts, cli-fleet.test.ts (1-10 ms runs, two-host fleets, the serial pool) and cli-progress.test.ts",
    env: {
      STOPSIM_MUTATE_TESTS: "src/cli-simulate.test.ts,src/cli-fleet.test.ts,src/cli-progress.test.ts",
    },
  },
  "app-pool": {
    dir: "apps/stopsim",
    mutate: ["src/pool.ts", "src/pool-worker.ts", "src/sweep.ts", "src/sweep-task.ts"],
    note: "the process pool (pool.ts, pool-worker.ts) and the seed sweeps on it (sweep.ts, sweep-task.ts), measured with src/pool.test.ts (job order, progress, aborts, failures and worker counts on the serial path and on worker processes), src/pool-worker.test.ts (the worker's registration and signals, in this process), src/sweep-plan.test.ts (tasks, refusals, summaries, one seed's sample) and src/sweep.test.ts",
    env: {
      STOPSIM_MUTATE_TESTS:
        "src/pool.test.ts,src/pool-worker.test.ts,src/sweep-plan.test.ts,src/sweep.test.ts",
    },
    // the pool's worker processes load the built dist/pool-worker.js: the sandbox keeps dist/
    withDist: true,
  },
  "app-queue": {
    dir: "apps/stopsim",
    mutate: ["src/queue.ts", "src/queue-thread.ts"],
    note: "the Redis/BullMQ queue (queue.ts: the client, the worker, the server check; queue-thread.ts: the job thread), measured with src/queue-jobs.test.ts (client and worker in this process against a real redis-server, 1 ms jobs and jobs finished by hand) and src/queue-thread.test.ts (the job thread's messages, in this process); queue.test.ts (the CLI's sweeps through worker processes, a worker killed mid-job: minutes) is left out",
    env: { STOPSIM_MUTATE_TESTS: "src/queue-jobs.test.ts,src/queue-thread.test.ts" },
    // the queue worker's job thread loads the built dist/queue-thread.js: the sandbox keeps dist/
    withDist: true,
  },
  "app-bench": {
    dir: "apps/stopsim",
    mutate: ["src/bench.ts", "src/bench-seeds.ts"],
    note: "the thread-shaped benchmarks (bench.ts: one case at one seed; bench-seeds.ts: the cases over seeds on the pool), measured with src/bench-cases.test.ts (each case on the full stack with a few samples and short windows, the refusals) and src/bench-seeds.test.ts (the aggregation over seeds, the thread's figures, interrupted runs: the serial pool with a recording runJob); bench.test.ts (five seeds of sixty samples per case) is left out",
    env: { STOPSIM_MUTATE_TESTS: "src/bench-cases.test.ts,src/bench-seeds.test.ts" },
  },
  "app-io": {
    dir: "apps/stopsim",
    mutate: ["src/terminal.ts", "src/trace-file.ts", "src/version.ts"],
    note: "terminal and pipe hygiene (terminal.ts), streamed Chrome trace files (trace-file.ts) and the version (version.ts), measured with src/terminal.test.ts (a TTY and not, Ctrl-C once and twice, stream errors), src/trace-file.test.ts (the Chrome trace events, the temporary file, every refusal of the check) and src/version.test.ts; streaming.test.ts and reliability.test.ts (CLI child processes) are left out",
    env: { STOPSIM_MUTATE_TESTS: "src/terminal.test.ts,src/trace-file.test.ts,src/version.test.ts" },
  },
  report: {
    dir: "packages/report",
    mutate: ["src/**/*.ts", "!src/client.ts"],
    note: "without client.ts and the browser suite: renderReport inlines the page script by its source text, which Stryker's instrumentation would turn into code the page cannot run",
  },
};

/** Files that are never mutated: tests, test helpers and the re-exporting entry. */
const NEVER = ["!src/**/*.test.ts", "!src/**/test-helpers/**", "!src/index.ts"];

function usage(message) {
  if (message) console.error(`mutate: ${message}`);
  console.error(
    `usage: pnpm mutate [--force] [target ...]   targets: ${Object.keys(TARGETS).join(", ")} (default: all)`,
  );
  process.exit(2);
}

/** Scores of a mutation-testing-report-schema JSON report, per file and in total. */
export function scoreReport(report, pkgDir) {
  const count = () => ({ killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0, ignored: 0 });
  const total = count();
  const files = {};
  const survivors = [];
  for (const [file, { mutants }] of Object.entries(report.files)) {
    const name = relative(pkgDir, file.startsWith("/") ? file : join(pkgDir, file));
    const c = count();
    for (const m of mutants) {
      const key = {
        Killed: "killed",
        Timeout: "timeout",
        Survived: "survived",
        NoCoverage: "noCoverage",
        CompileError: "errors",
        RuntimeError: "errors",
        Ignored: "ignored",
      }[m.status];
      if (!key) throw new Error(`mutate: unknown mutant status ${m.status} in ${name}`);
      c[key] += 1;
      total[key] += 1;
      if (key === "survived" || key === "noCoverage")
        survivors.push({
          file: name,
          line: m.location.start.line,
          mutator: m.mutatorName,
          replacement: m.replacement ?? "",
          status: m.status,
        });
    }
    files[name] = { ...c, score: score(c) };
  }
  return { total: { ...total, score: score(total) }, files, survivors };
}

function score(c) {
  const detected = c.killed + c.timeout;
  const valid = detected + c.survived + c.noCoverage;
  return valid === 0 ? 100 : Math.round((1000 * detected) / valid) / 10;
}

function run(name, force) {
  const t = TARGETS[name];
  const pkgDir = join(root, t.dir);
  const work = join(pkgDir, ".stryker");
  mkdirSync(work, { recursive: true });
  const reportFile = join(work, `${name}.report.json`);
  rmSync(reportFile, { force: true });
  const config = {
    testRunner: "vitest",
    plugins: ["@stryker-mutator/vitest-runner"],
    mutate: [...t.mutate, ...NEVER],
    concurrency: 1,
    coverageAnalysis: "perTest",
    incremental: true,
    incrementalFile: `.stryker/${name}.incremental.json`,
    force,
    reporters: ["json", "clear-text", "progress-append-only"],
    jsonReporter: { fileName: `.stryker/${name}.report.json` },
    clearTextReporter: { reportMutants: false, reportTests: false, logTests: false },
    // `withDist`: the sandbox keeps the package's built dist/ (child processes and worker threads
    // load it), so the suites can run there instead of in the worktree (`inPlace`)
    ignorePatterns: [
      ...(t.withDist ? [] : ["dist"]),
      ".stryker",
      "bench",
      "test-results.json",
      "node_modules",
    ],
    tempDirName: ".stryker-tmp",
    inPlace: t.inPlace ?? false,
    cleanTempDir: "always",
    // a loaded machine: generous timeouts rather than mutants reported as timeouts by accident
    timeoutMS: 8_000,
    timeoutFactor: 3,
    // the initial run of a target's suites with per-test coverage took over Stryker's default 5
    // minutes at load 35 (app-cli's)
    dryRunTimeoutMinutes: 30,
    thresholds: { high: THRESHOLD, low: 60, break: null },
  };
  const configFile = join(work, `${name}.config.json`);
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  console.log(`== mutate ${name}: ${t.dir} ${t.mutate.join(" ")}${t.note ? ` (${t.note})` : ""}`);
  const started = Date.now();
  const r = spawnSync("nice", ["-n", "10", "npx", "stryker", "run", configFile], {
    cwd: pkgDir,
    stdio: "inherit",
    env: { ...process.env, ...(t.env ?? {}), STOPSIM_MUTATE: "1", FORCE_COLOR: "0" },
  });
  if (r.status !== 0) throw new Error(`mutate: stryker failed on ${name} (exit ${r.status})`);
  const report = JSON.parse(readFileSync(reportFile, "utf8"));
  const s = scoreReport(report, pkgDir);
  const stryker = JSON.parse(
    readFileSync(join(root, "node_modules/@stryker-mutator/core/package.json"), "utf8"),
  ).version;
  const path = writeBenchResult(`mutation-${name}`, "none", {
    package: t.dir,
    mutated: t.mutate,
    note: t.note ?? null,
    stryker,
    wallSeconds: Math.round((Date.now() - started) / 1000),
    score: s.total.score,
    threshold: THRESHOLD,
    counts: s.total,
    files: s.files,
    survivors: s.survivors,
  });
  console.log(`   ${name}: ${s.total.score}% (${relative(root, path)})`);
  return s.total.score;
}

const args = process.argv.slice(2);
const force = args.includes("--force");
const names = args.filter((a) => a !== "--force");
for (const a of names) if (!(a in TARGETS)) usage(`unknown target "${a}"`);
const results = [];
for (const name of names.length > 0 ? names : Object.keys(TARGETS)) results.push([name, run(name, force)]);
console.log("\nmutation scores:");
for (const [name, s] of results)
  console.log(
    `  ${name.padEnd(14)} ${String(s).padStart(5)}%${s < THRESHOLD ? `  below ${THRESHOLD}%` : ""}`,
  );
process.exit(results.every(([, s]) => s >= THRESHOLD) ? 0 : 1);
