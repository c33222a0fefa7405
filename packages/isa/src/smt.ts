// SMT4 issue-resource sharing model of a POWER9 core.
//
// ASSUMPTIONS (documented in the README):
// - Core throughput with n threads running at equal priority, relative to one thread alone:
//   T(1)=1.0, T(2)=1.6, T(3)=2.15, T(4)=2.7. T(2): IBM's claim of a 60% gain from 2-way SMT on
//   POWER8, with a single thread at ~80% of its solo speed (AnandTech, "Assessing IBM's POWER8,
//   Part 1", 2016). T(4) has no public POWER9 figure: it is calibrated on the only measurement of
//   the RFC cover letter where all four threads of a core run code at medium priority, the
//   emulated stop0lite wakeups (three siblings loop through H_FAC_UNAVAIL round trips while the
//   woken thread handles its interrupt: each thread at T(4)/4 = 0.675 of its solo speed); T(3)
//   lies halfway. The sharing applies to every code a thread runs, user, kernel or hypervisor.
// - Threads share T(n) in proportion to a weight per SMT priority (PPR[PRI], set by
//   `or Rx,Rx,Rx` hints or mtspr PPR): w(p) = W1^((4-p)/3), medium (4) = 1. W1, the weight of
//   very-low priority (`or 31,31,31`, what the pseries snooze loop polls at), is calibrated on
//   the RFC cover letter's measurement: single-threaded ebizzy with three idle siblings polls in
//   snooze at 1,379,032 records/s and runs alone (siblings in stop0lite) at 1,561,906 records/s.
// - A thread never runs faster than alone (speed capped at 1); a stopped thread issues nothing.

/** ebizzy records/s with three snoozing siblings over records/s with three stopped siblings. */
export const EBIZZY_SNOOZE_OVER_STOP = 1_379_032 / 1_561_906;

export interface SmtSharingModel {
  /** T(n) for n = 0..4 running threads (T(0) unused). */
  readonly coreThroughput: readonly number[];
  /** Weight per PPR priority 0..7 (0 = thread shut off). */
  readonly priorityWeight: readonly number[];
}

function power9Sharing(): SmtSharingModel {
  const coreThroughput = [0, 1.0, 1.6, 2.15, 2.7];
  // Solve T(4) * 1 / (1 + 3 * W1) = EBIZZY_SNOOZE_OVER_STOP for W1.
  const w1 = (coreThroughput[4] / EBIZZY_SNOOZE_OVER_STOP - 1) / 3;
  const priorityWeight = [0, 1, 2, 3, 4, 5, 6, 7].map((p) => (p === 0 ? 0 : w1 ** ((4 - p) / 3)));
  return { coreThroughput, priorityWeight };
}

export const POWER9_SMT4_SHARING: SmtSharingModel = power9Sharing();

/**
 * Speed of thread `i` (work per ns relative to running alone) given which threads run and their
 * priorities.
 */
export function sharedSpeed(
  model: SmtSharingModel,
  running: readonly boolean[],
  priority: readonly number[],
  i: number,
): number {
  if (!running[i]) return 0;
  let n = 0;
  let sum = 0;
  for (let j = 0; j < running.length; j++) {
    if (!running[j]) continue;
    n++;
    sum += model.priorityWeight[priority[j]] ?? 0;
  }
  const w = model.priorityWeight[priority[i]] ?? 0;
  if (sum === 0 || w === 0) return 0;
  const t = model.coreThroughput[Math.min(n, model.coreThroughput.length - 1)];
  return Math.min(1, (t * w) / sum);
}
