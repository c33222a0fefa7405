// Engine benchmark: events per second of the Simulation queue for a schedule/cancel/dispatch mix,
// against a minimal binary-heap loop doing the same mix, measured in the same run.
import { Simulation, type Timer, writeBenchResult } from "@stopsim/engine";

const EVENTS = Number(process.env.ENGINE_BENCH_EVENTS ?? 10_000_000);
const LIVE = 1024;
const SEED = 2020;

/** xorshift32 shared by both loops so they see the same delays. */
function makeDelays(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % 10_000;
  };
}

/**
 * The mix: LIVE timers; each dispatch re-arms its own timer (schedule), and every fourth dispatch
 * also cancels another live timer and re-arms it (cancel + schedule).
 */
function runEngine(): number {
  const sim = new Simulation({ seed: SEED });
  const delay = makeDelays(SEED);
  const timers: Timer[] = [];
  let dispatched = 0;
  for (let i = 0; i < LIVE; i++) {
    const t = sim.createTimer(() => {
      dispatched++;
      t.armIn(delay());
      if ((dispatched & 3) === 0) {
        const other = timers[delay() % LIVE];
        other.cancel();
        other.armIn(delay());
      }
    });
    timers.push(t);
    t.armIn(delay());
  }
  sim.runAll(EVENTS);
  return dispatched;
}

/**
 * Baseline: a bare binary heap in typed arrays (time, seq, id, generation), sifting with a hole
 * (no swaps), cancellation by bumping the timer's generation (lazy deletion): the least a queue
 * with stable ordering and cancellation can do.
 */
function runBaseline(): number {
  const delay = makeDelays(SEED);
  const CAP = 1 << 22;
  const times = new Float64Array(CAP);
  const seqs = new Float64Array(CAP);
  const ids = new Int32Array(CAP);
  const gens = new Int32Array(CAP);
  const gen = new Int32Array(LIVE);
  let n = 0;
  let seq = 0;
  const push = (time: number, id: number) => {
    const s = seq++;
    const g = gen[id];
    let i = n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p] < time || (times[p] === time && seqs[p] < s)) break;
      times[i] = times[p];
      seqs[i] = seqs[p];
      ids[i] = ids[p];
      gens[i] = gens[p];
      i = p;
    }
    times[i] = time;
    seqs[i] = s;
    ids[i] = id;
    gens[i] = g;
  };
  /** Removes the top; its fields stay readable in topTime/topId/topGen. */
  let topTime = 0;
  let topId = 0;
  let topGen = 0;
  const pop = () => {
    topTime = times[0];
    topId = ids[0];
    topGen = gens[0];
    n--;
    const time = times[n];
    const s = seqs[n];
    const id = ids[n];
    const g = gens[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (times[c + 1] < times[c] || (times[c + 1] === times[c] && seqs[c + 1] < seqs[c]))) c++;
      if (time < times[c] || (time === times[c] && s < seqs[c])) break;
      times[i] = times[c];
      seqs[i] = seqs[c];
      ids[i] = ids[c];
      gens[i] = gens[c];
      i = c;
    }
    times[i] = time;
    seqs[i] = s;
    ids[i] = id;
    gens[i] = g;
  };
  for (let i = 0; i < LIVE; i++) push(delay(), i);
  let dispatched = 0;
  while (dispatched < EVENTS) {
    pop();
    if (topGen !== gen[topId]) continue; // cancelled entry
    const now = topTime;
    dispatched++;
    gen[topId]++;
    push(now + delay(), topId);
    if ((dispatched & 3) === 0) {
      const other = delay() % LIVE;
      gen[other]++;
      push(now + delay(), other);
    }
  }
  return dispatched;
}

function measure(fn: () => number): number {
  fn(); // warm-up run, same size, so both loops are optimised before timing
  const t0 = process.hrtime.bigint();
  const n = fn();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return n / secs;
}

const baselineEventsPerSecond = measure(runBaseline);
const eventsPerSecond = measure(runEngine);
const ratio = baselineEventsPerSecond / eventsPerSecond;
const path = writeBenchResult("engine", SEED, {
  events: EVENTS,
  liveTimers: LIVE,
  eventsPerSecond: Math.round(eventsPerSecond),
  baselineEventsPerSecond: Math.round(baselineEventsPerSecond),
  ratio: Number(ratio.toFixed(3)),
  targets: { minEventsPerSecond: 10_000_000, maxRatio: 1.5 },
});
console.log(
  `engine: ${(eventsPerSecond / 1e6).toFixed(2)} M events/s, baseline ${(baselineEventsPerSecond / 1e6).toFixed(2)} M events/s, ratio ${ratio.toFixed(2)} -> ${path}`,
);
