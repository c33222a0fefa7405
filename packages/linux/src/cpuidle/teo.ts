// The timer events oriented (TEO) cpuidle governor. linux: drivers/cpuidle/governors/teo.c of 2020
// (ns units, teo_update measuring last_residency_ns), before the 2021 rework into "hits/intercepts" bins: per state "hits", "misses" and
// "early hits" metrics decayed by 1/8 at each update, the state matching the time till the next
// timer is used unless it was missed more often than hit, then the pattern over the last 8
// non-timer wakeups may select a shallower state. As in v5.7-v5.12, that refinement and the
// retained tick's search for a shallower state apply to any candidate deeper than state 0
// (`idx > 0`); v5.13 narrowed both to candidates deeper than the first enabled state (`idx0`).

import type {
  CpuidleDevice,
  CpuidleGovernor,
  GovernorContext,
  GovernorSelection,
  ReflectContext,
} from "./core.js";

export const TEO_INTERVALS = 8;
export const PULSE = 1024;
export const DECAY_SHIFT = 3;
const U64_MAX = Number.MAX_SAFE_INTEGER;

export interface TeoIdleState {
  earlyHits: number;
  hits: number;
  misses: number;
}

/** Per-CPU state (struct teo_cpu). */
export class TeoCpu {
  timeSpanNs = 0;
  sleepLengthNs = 0;
  readonly states: TeoIdleState[];
  intervalIdx = 0;
  readonly intervals: number[] = new Array(TEO_INTERVALS).fill(U64_MAX);
  tickStopped = false;
  tickNs = 10_000_000;

  constructor(nstates: number) {
    this.states = Array.from({ length: nstates }, () => ({ earlyHits: 0, hits: 0, misses: 0 }));
  }
}

export class TeoGovernor implements CpuidleGovernor {
  readonly name = "teo";
  private readonly cpus = new Map<number, TeoCpu>();

  data(dev: CpuidleDevice): TeoCpu {
    let d = this.cpus.get(dev.cpu);
    if (d === undefined) {
      d = new TeoCpu(dev.drv.states.length);
      this.cpus.set(dev.cpu, d);
    }
    return d;
  }

  // linux: teo.c teo_time_ok
  private timeOk(cpu: TeoCpu, intervalNs: number): boolean {
    return !cpu.tickStopped || intervalNs >= cpu.tickNs;
  }

  // linux: teo.c teo_update
  private update(dev: CpuidleDevice, cpu: TeoCpu): void {
    const drv = dev.drv;
    let measuredNs: number;
    if (cpu.timeSpanNs >= cpu.sleepLengthNs) {
      measuredNs = U64_MAX;
    } else {
      const latNs = drv.states[dev.lastStateIdx].exitLatencyNs;
      measuredNs = dev.lastResidencyNs;
      if (measuredNs >= latNs) measuredNs -= Math.floor(latNs / 2);
      else measuredNs = Math.floor(measuredNs / 2);
    }
    let idxHit = -1;
    let idxTimer = -1;
    for (let i = 0; i < drv.states.length; i++) {
      const st = cpu.states[i];
      st.earlyHits -= st.earlyHits >> DECAY_SHIFT;
      if (drv.states[i].targetResidencyNs <= cpu.sleepLengthNs) {
        idxTimer = i;
        if (drv.states[i].targetResidencyNs <= measuredNs) idxHit = i;
      }
    }
    if (idxTimer >= 0) {
      const st = cpu.states[idxTimer];
      let hits = st.hits;
      let misses = st.misses;
      hits -= hits >> DECAY_SHIFT;
      misses -= misses >> DECAY_SHIFT;
      if (idxTimer > idxHit) {
        misses += PULSE;
        if (idxHit >= 0) cpu.states[idxHit].earlyHits += PULSE;
      } else {
        hits += PULSE;
      }
      st.misses = misses;
      st.hits = hits;
    }
    cpu.intervals[cpu.intervalIdx++] = measuredNs;
    if (cpu.intervalIdx >= TEO_INTERVALS) cpu.intervalIdx = 0;
  }

  // linux: teo.c teo_find_shallower_state
  private findShallowerState(dev: CpuidleDevice, stateIdx: number, durationNs: number): number {
    for (let i = stateIdx - 1; i >= 0; i--) {
      if (dev.statesUsage[i].disable) continue;
      stateIdx = i;
      if (dev.drv.states[i].targetResidencyNs <= durationNs) break;
    }
    return stateIdx;
  }

  // linux: teo.c teo_select
  select(dev: CpuidleDevice, ctx: GovernorContext): GovernorSelection {
    const drv = dev.drv;
    const cpu = this.data(dev);
    cpu.tickStopped = ctx.tickStopped;
    cpu.tickNs = ctx.tickNs;
    const latencyReq = ctx.latencyReqNs;
    if (dev.lastStateIdx >= 0) {
      this.update(dev, cpu);
      dev.lastStateIdx = -1;
    }
    cpu.timeSpanNs = ctx.now;
    let durationNs = ctx.sleepLengthNs;
    cpu.sleepLengthNs = durationNs;

    let hits = 0;
    let misses = 0;
    let earlyHits = 0;
    let maxEarlyIdx = -1;
    let prevMaxEarlyIdx = -1;
    let constraintIdx = drv.states.length;
    let idx = -1;

    for (let i = 0; i < drv.states.length; i++) {
      const s = drv.states[i];
      const st = cpu.states[i];
      if (dev.statesUsage[i].disable) {
        if (s.targetResidencyNs > durationNs) continue;
        hits = st.hits;
        misses = st.misses;
        if (earlyHits >= st.earlyHits || idx < 0) continue;
        if (maxEarlyIdx === idx) {
          earlyHits = st.earlyHits;
          continue;
        }
        if (this.timeOk(cpu, drv.states[idx].targetResidencyNs)) {
          prevMaxEarlyIdx = maxEarlyIdx;
          earlyHits = st.earlyHits;
          maxEarlyIdx = idx;
        }
        continue;
      }
      if (idx < 0) {
        idx = i;
        hits = st.hits;
        misses = st.misses;
      }
      if (s.targetResidencyNs > durationNs) break;
      if (s.exitLatencyNs > latencyReq && constraintIdx > i) constraintIdx = i;
      idx = i;
      hits = st.hits;
      misses = st.misses;
      if (earlyHits < st.earlyHits && this.timeOk(cpu, s.targetResidencyNs)) {
        prevMaxEarlyIdx = maxEarlyIdx;
        earlyHits = st.earlyHits;
        maxEarlyIdx = i;
      }
    }

    if (hits <= misses) {
      if (idx === maxEarlyIdx) maxEarlyIdx = prevMaxEarlyIdx;
      if (maxEarlyIdx >= 0) {
        idx = maxEarlyIdx;
        durationNs = drv.states[idx].targetResidencyNs;
      }
    }
    if (constraintIdx < idx) idx = constraintIdx;

    if (idx < 0) {
      idx = 0;
    } else if (idx > 0) {
      let count = 0;
      let sum = 0;
      for (let i = 0; i < TEO_INTERVALS; i++) {
        const val = cpu.intervals[i];
        if (val >= durationNs) continue;
        count++;
        sum += val;
      }
      if (count > TEO_INTERVALS / 2) {
        const avgNs = Math.floor(sum / count);
        if (this.timeOk(cpu, avgNs)) {
          durationNs = avgNs;
          if (drv.states[idx].targetResidencyNs > avgNs) idx = this.findShallowerState(dev, idx, avgNs);
        }
      }
    }

    let stopTick = true;
    if ((drv.states[idx].polling || durationNs < ctx.tickNs) && !ctx.tickStopped) {
      stopTick = false;
      if (idx > 0 && drv.states[idx].targetResidencyNs > ctx.deltaNextNs) {
        idx = this.findShallowerState(dev, idx, ctx.deltaNextNs);
      }
    }
    return { index: idx, stopTick };
  }

  // linux: teo.c teo_reflect
  reflect(dev: CpuidleDevice, index: number, ctx: ReflectContext): void {
    const cpu = this.data(dev);
    dev.lastStateIdx = index;
    if (dev.pollTimeLimit || (ctx.gotTick && cpu.sleepLengthNs > ctx.tickNs)) {
      dev.pollTimeLimit = false;
      cpu.timeSpanNs = cpu.sleepLengthNs;
    } else {
      cpu.timeSpanNs = ctx.now - cpu.timeSpanNs;
    }
  }
}
