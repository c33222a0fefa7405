// A sweep worker process (workerpool, workerType "process"): runs the jobs it is sent, each one a
// separate simulation, so workers share nothing; each kind's code is loaded by its first job
// (jobs.ts). It ignores SIGINT: on Ctrl-C the parent decides what finished and ends the workers
// itself; it exits when the parent goes away.
import workerpool from "workerpool";
import { type Job, runJob } from "./jobs.js";

process.on("SIGINT", () => {});
process.on("disconnect", () => process.exit(0));

workerpool.worker({ run: (job: Job) => runJob(job) });
