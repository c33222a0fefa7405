// A sweep worker thread (piscina): runs its task's seeds through every layer and returns the
// samples; each seed is its own Simulation, so workers share nothing.
import { runSweepTask, type SweepSample, type SweepTask } from "./sweep.js";

export default function sweepWorker(task: SweepTask): SweepSample[] {
  return runSweepTask(task);
}
