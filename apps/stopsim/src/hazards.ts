// What went wrong in a run short of a crash: one record (Hazards), counted by the layer that sees
// each thing and read here once, for boot, idle, migrate, the matrix, --json and the report.
//
// Guest pauses are not hazards. QEMU stops every vCPU for a live migration's stop-and-copy and
// for QMP `stop`, and the guest's clock stops with them: on a VM state change to stopped QEMU
// saves the guest timebase (qemu: hw/ppc/ppc.c cpu_ppc_clock_vm_state_change -> timebase_save,
// guest_timebase = host ticks + tb_offset), the migration stream carries it (vmstate_ppc_timebase;
// timebase_pre_save reads it again as the device state is saved, after the last RAM pages, so the
// clock counts only while that RAM tail is sent), and when the VM runs again, on the destination
// or on the source after a failed attempt, timebase_load sets every vCPU's tb_offset (ONE_REG
// KVM_REG_PPC_TB_OFFSET) so that the guest timebase goes on from the saved value. A timer due while
// the guest was paused therefore fires as the guest resumes and the guest sees it on time. The
// simulated timebase is the hosts' (continuous across the pause, and the model saves the state at
// the stop itself, so there is no RAM tail), so the guest's wake-up log is read against the
// pauses the QMP events show (STOP, then the next RESUME of any QEMU process of the run): the
// part of a wake-up's lateness that falls inside a pause is taken off before it is judged late.
// A wake event the erratum lost keeps the rest of its lateness and still counts.
import type { Simulation } from "@stopsim/engine";
import { type GuestKernel, LATE_WAKEUP_FACTOR, STALL_NS } from "@stopsim/guest";
import type { Qemu } from "@stopsim/qemu";
import { kvmVmOf } from "./run.js";
import type { SimHost } from "./stack.js";

/**
 * What went wrong short of a crash, as the layers that see it count it: the ISA cores' guest-stop
 * erratum (wake events lost), the guest kernel (timer wake-ups later than LATE_WAKEUP_FACTOR x the
 * idle state's exit latency, stalls of STALL_NS or more, CPUs stalled at the end as another CPU's
 * stall detector sees them, lockup-watchdog near misses) and KVM (per-vCPU emulated-stop counts).
 * Lateness spent while QEMU had the guest paused is not counted (see above).
 */
export interface Hazards {
  /** Wake events the POWER9 guest-stop erratum swallowed (the hosts' cores count them). */
  lostWakeups: number;
  /** Timer wake-ups from idle later than LATE_WAKEUP_FACTOR x the state's exit latency (>= 1 us). */
  lateWakeups: number;
  /** Timer wake-ups 1 ms or more late (the vCPU had stalled and recovered). */
  stalls: number;
  /** vCPUs idle with a timer overdue by 1 ms or more when the run ended. */
  stalledVcpus: number;
  watchdogNearMisses: number;
  /** vCPUs that trapped into KVM's stop emulation once per EMULATED_STOP_STORM_NS or more often. */
  emulatedStopStorms: number;
  /** The latest timer wake-up from idle, ns after the timer was due (pauses taken off). */
  maxWakeupLatenessNs: number;
}

/** The hazard counts (every field of Hazards but the magnitude maxWakeupLatenessNs). */
export const HAZARD_KINDS = [
  "lostWakeups",
  "lateWakeups",
  "stalls",
  "stalledVcpus",
  "watchdogNearMisses",
  "emulatedStopStorms",
] as const;
export type HazardKind = (typeof HAZARD_KINDS)[number];

/**
 * A storm: a vCPU trapping to KVM's stop emulation at least once per stop0lite target residency
 * (20 us, the RFC's patch 3): every stop is then shorter than the residency that justifies it.
 */
export const EMULATED_STOP_STORM_NS = 20_000;

export const NO_HAZARDS: Hazards = {
  lostWakeups: 0,
  lateWakeups: 0,
  stalls: 0,
  stalledVcpus: 0,
  watchdogNearMisses: 0,
  emulatedStopStorms: 0,
  maxWakeupLatenessNs: 0,
};

/** An interval in which QEMU had the guest paused, ns of simulated time. */
export interface GuestPause {
  readonly fromNs: number;
  readonly toNs: number;
}

/**
 * When the guest was paused, from the QMP events of the QEMU processes that ran it: each STOP up
 * to the next RESUME of any of them (the destination's after a live migration); a pause without a
 * RESUME lasts until `nowNs`.
 */
export function guestPauses(qemus: readonly Qemu[], nowNs: number): GuestPause[] {
  const events = qemus
    .flatMap((q) => q.events)
    .filter((e) => e.event === "STOP" || e.event === "RESUME")
    .sort((a, b) => a.timestampNs - b.timestampNs || (a.event === "STOP" ? -1 : 1));
  const out: GuestPause[] = [];
  let since: number | undefined;
  for (const e of events) {
    if (e.event === "STOP") since ??= e.timestampNs;
    else if (since !== undefined) {
      out.push({ fromNs: since, toNs: e.timestampNs });
      since = undefined;
    }
  }
  if (since !== undefined) out.push({ fromNs: since, toNs: nowNs });
  return out;
}

/** How much of [fromNs, toNs] the guest spent paused. */
export function pausedWithin(fromNs: number, toNs: number, pauses: readonly GuestPause[]): number {
  let ns = 0;
  for (const p of pauses) ns += Math.max(0, Math.min(toNs, p.toNs) - Math.max(fromNs, p.fromNs));
  return ns;
}

/**
 * The pauses as one vCPU lived them: after a live migration it runs again only once the
 * destination's KVM has entered it (the destination host's threads wake from their idle states
 * first), so a pause that the vCPU left by moving to another hardware thread lasts until then.
 */
function untilEntered(pauses: readonly GuestPause[], reboundAtNs: number): GuestPause[] {
  return pauses.map((p) =>
    reboundAtNs >= p.fromNs &&
    reboundAtNs > p.toNs &&
    !pauses.some((q) => q.fromNs > p.fromNs && q.fromNs <= reboundAtNs)
      ? { fromNs: p.fromNs, toNs: reboundAtNs }
      : p,
  );
}

/** Whether a wake-up this late from a state with this exit latency counts as late (the guest's rule). */
function isLate(latenessNs: number, exitLatencyNs: number): boolean {
  return latenessNs > LATE_WAKEUP_FACTOR * Math.max(exitLatencyNs, 1_000);
}

/** Reads the hazard counters of a run's layers: its hosts' cores, the guest kernel, KVM's vCPUs. */
export function observeHazards(
  sim: Simulation,
  hosts: readonly SimHost[],
  kernel: GuestKernel | undefined,
  qemus: readonly Qemu[],
): Hazards {
  const h = { ...NO_HAZARDS };
  for (const host of hosts) for (const core of host.host.cores) h.lostWakeups += core.errata.lostWakeups;
  if (kernel !== undefined) {
    let maxPunctual = 0;
    for (const c of kernel.cpus) {
      if (c === undefined) continue;
      h.lateWakeups += c.stats.lateWakeups;
      h.stalls += c.stats.stalls;
      h.maxWakeupLatenessNs = Math.max(h.maxWakeupLatenessNs, Math.round(c.stats.maxWakeupLatenessNs));
      maxPunctual = Math.max(maxPunctual, c.stats.maxPunctualLatenessNs);
    }
    const pauses = guestPauses(qemus, sim.now);
    let discounted = false;
    let maxLate = maxPunctual;
    for (const w of kernel.lateWakeupLog) {
      const raw = w.wokeNs - w.dueNs;
      const paused = pausedWithin(w.dueNs, w.wokeNs, untilEntered(pauses, w.reboundAtNs));
      const eff = raw - paused;
      maxLate = Math.max(maxLate, eff);
      if (paused === 0) continue;
      discounted = true;
      if (isLate(raw, w.exitLatencyNs) && !isLate(eff, w.exitLatencyNs)) h.lateWakeups--;
      if (raw >= STALL_NS && eff < STALL_NS) h.stalls--;
    }
    // wake-ups past the log's capacity keep their whole lateness (the maximum stays the guest's)
    if (discounted && kernel.lateWakeupLogDropped === 0) h.maxWakeupLatenessNs = Math.round(maxLate);
    // a guest still paused at the end: its clock stopped at the pause, so only what was overdue
    // before the pause counts
    const open = pauses.find((p) => p.toNs === sim.now && p.fromNs < sim.now);
    h.stalledVcpus = kernel.stalledCpus(STALL_NS + (open ? sim.now - open.fromNs : 0)).length;
    h.watchdogNearMisses = kernel.watchdogNearMisses;
  }
  for (const q of qemus) {
    for (const v of kvmVmOf(q).vcpus.values()) {
      if (v.emulatedStops > 0 && v.emulatedStops * EMULATED_STOP_STORM_NS >= sim.now) h.emulatedStopStorms++;
    }
  }
  return h;
}

/** Hazards that describe the run's state when read (not events to count between two readings). */
const SNAPSHOT_KINDS: readonly HazardKind[] = ["stalledVcpus", "emulatedStopStorms"];

/**
 * The hazards between two readings of one run: events as differences; the snapshots
 * (stalledVcpus, emulatedStopStorms) and the maximum lateness as of `after`.
 */
export function hazardsSince(after: Hazards, before: Hazards): Hazards {
  const out = { ...after };
  for (const k of HAZARD_KINDS) if (!SNAPSHOT_KINDS.includes(k)) out[k] = Math.max(0, after[k] - before[k]);
  return out;
}

/** The hazard kinds a run counted. */
export function hazardKinds(h: Hazards): HazardKind[] {
  return HAZARD_KINDS.filter((k) => h[k] > 0);
}

const HAZARD_WORDS: Record<HazardKind, [string, string]> = {
  lostWakeups: ["lost wake-up", "lost wake-ups"],
  lateWakeups: ["late wake-up", "late wake-ups"],
  stalls: ["stall", "stalls"],
  stalledVcpus: ["vCPU stalled at the end", "vCPUs stalled at the end"],
  watchdogNearMisses: ["watchdog near miss", "watchdog near misses"],
  emulatedStopStorms: ["vCPU in an emulated-stop storm", "vCPUs in an emulated-stop storm"],
};

/** One line of a run's hazards (`hazards: 3 lost wake-ups, 1 stall (latest wake-up 1.2 ms late)`), or "". */
export function hazardText(h: Hazards): string {
  const kinds = hazardKinds(h);
  if (kinds.length === 0) return "";
  const parts = kinds.map((k) => `${h[k]} ${HAZARD_WORDS[k][h[k] === 1 ? 0 : 1]}`);
  const late =
    h.lateWakeups > 0 || h.stalls > 0
      ? ` (latest wake-up ${(h.maxWakeupLatenessNs / 1000).toFixed(h.maxWakeupLatenessNs < 10_000 ? 1 : 0)} us late)`
      : "";
  return `hazards: ${parts.join(", ")}${late}`;
}
