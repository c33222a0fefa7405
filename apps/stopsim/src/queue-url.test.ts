// `--queue redis://HOST:PORT`: the address is checked when the command line is read, and anything
// but a host and a port is refused in one line that shows the form to write.
import { describe, expect, it } from "vitest";
import { parseQueueOption, parseQueueUrl } from "./queue-url.js";
import { usageMessage } from "./test-helpers/usage.js";

const refusal = (text: string, option?: string) => usageMessage(() => parseQueueUrl(text, option));

describe("--queue URLs", () => {
  it("reads host and port, Redis's 6379 when no port is given, and IPv6 hosts without brackets", () => {
    expect(parseQueueUrl("redis://10.0.0.5:7000")).toEqual({
      host: "10.0.0.5",
      port: 7000,
      url: "redis://10.0.0.5:7000",
    });
    expect(parseQueueUrl("redis://cache.lab")).toEqual({
      host: "cache.lab",
      port: 6379,
      url: "redis://cache.lab",
    });
    expect(parseQueueUrl("redis://cache.lab/")).toEqual({
      host: "cache.lab",
      port: 6379,
      url: "redis://cache.lab/",
    });
    expect(parseQueueUrl("redis://[::1]:6380")).toEqual({
      host: "::1",
      port: 6380,
      url: "redis://[::1]:6380",
    });
  });

  it("refuses what is not a URL, another scheme, no host, a database, user or options, naming the fix", () => {
    expect(refusal("localhost:6379")).toBe(
      "--queue: 'localhost:6379' is not a redis:// URL; give the Redis server as redis://HOST:PORT (e.g. redis://127.0.0.1:6379)",
    );
    expect(refusal("no url at all")).toBe(
      "--queue: 'no url at all' is not a URL; give the Redis server as redis://HOST:PORT (e.g. redis://127.0.0.1:6379)",
    );
    expect(refusal("http://127.0.0.1:6379")).toMatch(
      /^--queue: 'http:\/\/127\.0\.0\.1:6379' is not a redis:\/\/ URL/,
    );
    expect(refusal("redis://")).toBe("--queue: 'redis://' names no host; write redis://HOST:PORT");
    const more = /has more than a host and port; write redis:\/\/HOST:PORT \(no database, user or options\)$/;
    for (const bad of ["redis://h:1/0", "redis://h:1?db=2", "redis://u@h:1", "redis://:pw@h:1"])
      expect(refusal(bad), bad).toMatch(more);
  });

  it("names the option the user typed", () => {
    expect(refusal("x", "--server")).toMatch(/^--server: 'x' is not a URL/);
    expect(refusal("redis://", "--server")).toMatch(/^--server: /);
    expect(refusal("redis://h/1", "--server")).toMatch(/^--server: /);
  });

  it("an absent --queue stays absent; a given one is checked and kept as typed", () => {
    expect(parseQueueOption(undefined)).toBeUndefined();
    expect(parseQueueOption("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
    expect(() => parseQueueOption("redis://h:1/2", "--q")).toThrow(/^--q: 'redis:\/\/h:1\/2' has more/);
  });
});
