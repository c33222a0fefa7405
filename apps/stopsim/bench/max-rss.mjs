// Preloaded into a measured CLI run (node --import): writes the process's peak RSS (KiB) to the
// file named by STOPSIM_RSS_FILE when it exits.
import { writeFileSync } from "node:fs";

process.on("exit", () => {
  if (process.env.STOPSIM_RSS_FILE)
    writeFileSync(process.env.STOPSIM_RSS_FILE, String(process.resourceUsage().maxRSS));
});
