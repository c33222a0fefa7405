// The app's version, from its package.json (dist/version.js and src/version.ts both sit one level
// below it), for --version and the report's footer.
import { readFileSync } from "node:fs";

export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
