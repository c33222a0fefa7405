// A real Redis server for the queue tests: the one .ci/run started (STOPSIM_TEST_REDIS_URL), or one
// started here from PATH on a free port and stopped when the tests end. No mock stands in for it.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A port nothing listens on (for the unreachable-server case). */
export const closedPort = freePort;

export async function testRedis(): Promise<TestRedis> {
  const given = process.env.STOPSIM_TEST_REDIS_URL;
  if (given) return { url: given, stop: async () => {} };
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === "ENOENT"
            ? "redis-server is not on PATH: install it (apt-get install redis-server) or set STOPSIM_TEST_REDIS_URL to a running server"
            : `redis-server did not start: ${e.message}`,
        ),
      ),
    );
    child.stdout?.on("data", (d) => {
      out += d;
      if (out.includes("Ready to accept connections")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-300)}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
