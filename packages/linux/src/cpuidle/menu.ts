// The menu cpuidle governor. linux: drivers/cpuidle/governors/menu.c as of v5.7 (2020):
// correction factors per bucket of the time till the next timer, repeating-pattern detection
// over the last 8 idle intervals (get_typical_interval), the performance multiplier for tasks
// waiting on I/O, and the tick handling of menu_select / menu_update.

import type {
  CpuidleDevice,
  CpuidleGovernor,
  GovernorContext,
  GovernorSelection,
  ReflectContext,
} from "./core.js";

export const BUCKETS = 12;
export const INTERVAL_SHIFT = 3;
export const INTERVALS = 1 << INTERVAL_SHIFT;
export const RESOLUTION = 1024;
export const DECAY = 8;
/** 50 ms: longer idle periods count as perfect predictions (MAX_INTERESTING). */
export const MAX_INTERESTING = 50_000 * 1000;
const NSEC_PER_USEC = 1000;
const UINT_MAX = 0xffffffff;
/** get_typical_interval's first outlier threshold: INT_MAX (not UINT_MAX) in menu.c. */
const INT_MAX = 0x7fffffff;

// linux: menu.c which_bucket
export function whichBucket(durationNs: number, nrIowaiters: number): number {
  let bucket = 0;
  if (nrIowaiters > 0) bucket = BUCKETS / 2;
  if (durationNs < 10 * NSEC_PER_USEC) return bucket;
  if (durationNs < 100 * NSEC_PER_USEC) return bucket + 1;
  if (durationNs < 1000 * NSEC_PER_USEC) return bucket + 2;
  if (durationNs < 10000 * NSEC_PER_USEC) return bucket + 3;
  if (durationNs < 100000 * NSEC_PER_USEC) return bucket + 4;
  return bucket + 5;
}

// linux: menu.c performance_multiplier
function performanceMultiplier(nrIowaiters: number): number {
  return 1 + 10 * nrIowaiters;
}

/** Per-CPU state of the governor (struct menu_device). */
export class MenuDevice {
  needsUpdate = false;
  tickWakeup = false;
  nextTimerNs = 0;
  bucket = 0;
  readonly correctionFactor: number[] = new Array(BUCKETS).fill(RESOLUTION * DECAY);
  /** Recent idle durations, us. */
  readonly intervals: number[] = new Array(INTERVALS).fill(0);
  intervalPtr = 0;
  /** The prediction of the last selection (ns), for reports. */
  lastPredictedNs = 0;
  /** TICK_NSEC of the kernel, remembered from the last selection. */
  tickNs = 10_000_000;
}

// linux: menu.c get_typical_interval (thresh starts at INT_MAX: longer intervals never count in
// the first pass; with none left, min stays UINT_MAX and the result is UINT_MAX)
export function getTypicalInterval(data: MenuDevice, predictedUs: number): number {
  let thresh = INT_MAX;
  for (;;) {
    let min = UINT_MAX;
    let max = 0;
    let sum = 0;
    let divisor = 0;
    for (let i = 0; i < INTERVALS; i++) {
      const value = data.intervals[i];
      if (value <= thresh) {
        sum += value;
        divisor++;
        if (value > max) max = value;
        if (value < min) min = value;
      }
    }
    if (min >= predictedUs) return UINT_MAX;
    const avg = divisor === INTERVALS ? Math.floor(sum / INTERVALS) : Math.floor(sum / divisor);
    let variance = 0;
    for (let i = 0; i < INTERVALS; i++) {
      const value = data.intervals[i];
      if (value <= thresh) {
        const diff = value - avg;
        variance += diff * diff;
      }
    }
    variance = Math.floor(variance / divisor);
    if ((avg * avg > variance * 36 && divisor * 4 >= INTERVALS * 3) || variance <= 400) return avg;
    if (divisor * 4 <= INTERVALS * 3) return UINT_MAX;
    thresh = max - 1;
  }
}

export class MenuGovernor implements CpuidleGovernor {
  readonly name = "menu";
  private readonly devices = new Map<number, MenuDevice>();

  /** menu_enable_device: unity correction factors, empty history. */
  data(cpu: number): MenuDevice {
    let d = this.devices.get(cpu);
    if (d === undefined) {
      d = new MenuDevice();
      this.devices.set(cpu, d);
    }
    return d;
  }

  // linux: menu.c menu_select
  select(dev: CpuidleDevice, ctx: GovernorContext): GovernorSelection {
    const drv = dev.drv;
    const data = this.data(dev.cpu);
    let latencyReq = ctx.latencyReqNs;
    if (data.needsUpdate) {
      this.update(dev, data);
      data.needsUpdate = false;
    }
    data.nextTimerNs = ctx.sleepLengthNs;
    data.tickNs = ctx.tickNs;
    const deltaNext = ctx.deltaNextNs;
    data.bucket = whichBucket(data.nextTimerNs, ctx.nrIowaiters);

    if (
      drv.states.length <= 1 ||
      latencyReq === 0 ||
      ((data.nextTimerNs < drv.states[1].targetResidencyNs || latencyReq < drv.states[1].exitLatencyNs) &&
        !dev.statesUsage[0].disable)
    ) {
      data.lastPredictedNs = data.nextTimerNs;
      return { index: 0, stopTick: !drv.states[0].polling };
    }

    const predictedUs = Math.floor(
      (data.nextTimerNs * data.correctionFactor[data.bucket] + (RESOLUTION * DECAY * NSEC_PER_USEC) / 2) /
        (RESOLUTION * DECAY * NSEC_PER_USEC),
    );
    let predictedNs = Math.min(predictedUs, getTypicalInterval(data, predictedUs)) * NSEC_PER_USEC;

    if (ctx.tickStopped) {
      if (predictedNs < ctx.tickNs) predictedNs = deltaNext;
    } else {
      const interactivityReq = predictedNs / performanceMultiplier(ctx.nrIowaiters);
      if (latencyReq > interactivityReq) latencyReq = interactivityReq;
    }

    let idx = -1;
    for (let i = 0; i < drv.states.length; i++) {
      const s = drv.states[i];
      if (dev.statesUsage[i].disable) continue;
      if (idx === -1) idx = i;
      if (s.targetResidencyNs > predictedNs) {
        if (
          drv.states[idx].polling &&
          s.exitLatencyNs <= latencyReq &&
          s.targetResidencyNs <= data.nextTimerNs
        ) {
          predictedNs = s.targetResidencyNs;
          idx = i;
          break;
        }
        if (predictedNs < ctx.tickNs) break;
        if (!ctx.tickStopped) {
          predictedNs = drv.states[idx].targetResidencyNs;
          break;
        }
        if (drv.states[idx].targetResidencyNs < ctx.tickNs && s.targetResidencyNs <= deltaNext) idx = i;
        data.lastPredictedNs = predictedNs;
        return { index: idx, stopTick: true };
      }
      if (s.exitLatencyNs > latencyReq) break;
      idx = i;
    }
    if (idx === -1) idx = 0;

    let stopTick = true;
    if ((drv.states[idx].polling || predictedNs < ctx.tickNs) && !ctx.tickStopped) {
      stopTick = false;
      if (idx > 0 && drv.states[idx].targetResidencyNs > deltaNext) {
        for (let i = idx - 1; i >= 0; i--) {
          if (dev.statesUsage[i].disable) continue;
          idx = i;
          if (drv.states[i].targetResidencyNs <= deltaNext) break;
        }
      }
    }
    data.lastPredictedNs = predictedNs;
    return { index: idx, stopTick };
  }

  // linux: menu.c menu_reflect
  reflect(dev: CpuidleDevice, index: number, ctx: ReflectContext): void {
    const data = this.data(dev.cpu);
    dev.lastStateIdx = index;
    data.needsUpdate = true;
    data.tickWakeup = ctx.gotTick;
  }

  // linux: menu.c menu_update
  private update(dev: CpuidleDevice, data: MenuDevice): void {
    const drv = dev.drv;
    const lastIdx = Math.max(dev.lastStateIdx, 0);
    const target = drv.states[lastIdx];
    const tickNs = data.tickNs;
    let measuredNs: number;
    if (data.tickWakeup && data.nextTimerNs > tickNs) {
      measuredNs = (9 * MAX_INTERESTING) / 10;
    } else if (target.polling && dev.pollTimeLimit) {
      measuredNs = data.nextTimerNs;
    } else {
      measuredNs = dev.lastResidencyNs;
      if (measuredNs > 2 * target.exitLatencyNs) measuredNs -= target.exitLatencyNs;
      else measuredNs = Math.floor(measuredNs / 2);
    }
    if (measuredNs > data.nextTimerNs) measuredNs = data.nextTimerNs;

    let newFactor = data.correctionFactor[data.bucket];
    newFactor -= Math.floor(newFactor / DECAY);
    if (data.nextTimerNs > 0 && measuredNs < MAX_INTERESTING) {
      newFactor += Math.floor((RESOLUTION * measuredNs) / data.nextTimerNs);
    } else {
      newFactor += RESOLUTION;
    }
    data.correctionFactor[data.bucket] = newFactor;

    data.intervals[data.intervalPtr++] = Math.floor(measuredNs / NSEC_PER_USEC);
    if (data.intervalPtr >= INTERVALS) data.intervalPtr = 0;
  }
}
