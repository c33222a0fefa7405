// Runs the stopsim CLI (apps/stopsim) with the arguments given: `npx -y pnpm@10 stopsim --help`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const cli = new URL("../apps/stopsim/dist/cli.js", import.meta.url).pathname;
if (!existsSync(cli)) {
  console.error(
    "stopsim: the CLI is not built (apps/stopsim/dist/cli.js is missing): run `npx -y pnpm@10 build` first",
  );
  process.exit(2);
}
const r = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { stdio: "inherit" });
// a child ended by Ctrl-C exits like a shell reports it (128 + SIGINT)
process.exit(r.status ?? (r.signal === "SIGINT" ? 130 : 1));
