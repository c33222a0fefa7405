// Halt polling of a ceded vCPU before its host thread sleeps: the per-vcore poll window and how
// it grows and shrinks. linux: arch/powerpc/kvm/book3s_hv.c (v5.8) kvmppc_vcore_blocked,
// grow_halt_poll_ns, shrink_halt_poll_ns; the module parameters of virt/kvm/kvm_main.c (v5.8);
// arch/powerpc/include/asm/kvm_host.h KVM_HALT_POLL_NS_DEFAULT.

/** The module parameters (kvm_main.c) with their 2020 values on powerpc. */
export interface HaltPollParams {
  /** halt_poll_ns = KVM_HALT_POLL_NS_DEFAULT: 10 us on powerpc (kvm_host.h). */
  readonly haltPollNs: number;
  /** halt_poll_ns_grow: "Default doubles per-vcpu halt_poll_ns". */
  readonly grow: number;
  /** halt_poll_ns_grow_start: 10 us. */
  readonly growStart: number;
  /** halt_poll_ns_shrink: unset in v5.8 ("Default resets per-vcpu halt_poll_ns"): 0. */
  readonly shrink: number;
}

export const DEFAULT_HALT_POLL: HaltPollParams = {
  haltPollNs: 10_000,
  grow: 2,
  growStart: 10_000,
  shrink: 0,
};

/** The vcore's halt-poll state and the counters kvmppc_vcore_blocked keeps (vcpu->stat). */
export interface HaltPollStats {
  /** vc->halt_poll_ns: the current poll window, ns (0: no polling). */
  pollNs: number;
  attemptedPolls: number;
  successfulPolls: number;
  successfulWaits: number;
  pollSuccessNs: number;
  pollFailNs: number;
  waitNs: number;
}

export function newHaltPollStats(): HaltPollStats {
  return {
    pollNs: 0,
    attemptedPolls: 0,
    successfulPolls: 0,
    successfulWaits: 0,
    pollSuccessNs: 0,
    pollFailNs: 0,
    waitNs: 0,
  };
}

// linux: book3s_hv.c grow_halt_poll_ns
function grow(pollNs: number, p: HaltPollParams): number {
  if (p.grow === 0) return pollNs;
  return Math.max(pollNs * p.grow, p.growStart);
}

// linux: book3s_hv.c shrink_halt_poll_ns
function shrink(pollNs: number, p: HaltPollParams): number {
  return p.shrink === 0 ? 0 : Math.floor(pollNs / p.shrink);
}

/**
 * The end of kvmppc_vcore_blocked ("Adjust poll time"): the new window after a block of
 * `blockNs` (from the start of the poll to the wake-up) with window `pollNs`.
 */
export function adjustHaltPoll(pollNs: number, blockNs: number, p: HaltPollParams): number {
  if (p.haltPollNs === 0) return 0;
  let next = pollNs;
  if (blockNs <= pollNs) {
    // the poll caught it: keep the window
  } else if (pollNs !== 0 && blockNs > p.haltPollNs) {
    // slept longer than the largest window: polling was wasted
    next = shrink(pollNs, p);
  } else if (pollNs < p.haltPollNs && blockNs < p.haltPollNs) {
    // slept, but a larger window would have caught it
    next = grow(pollNs, p);
  }
  return Math.min(next, p.haltPollNs);
}
