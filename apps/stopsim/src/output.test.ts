// The two output forms of every command: --json is the value as pretty JSON on stdout, one
// document ending in a newline; tables carry a header row and every cell as text.
import { afterEach, describe, expect, it, vi } from "vitest";
import { heading, printJson, table } from "./output.js";

describe("command output", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("--json writes the value as two-space indented JSON and a newline, in one write", () => {
    const writes: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
      writes.push(String(s));
      return true;
    });
    printJson({ rows: [{ seed: 1, ok: true }] });
    expect(writes).toEqual(['{\n  "rows": [\n    {\n      "seed": 1,\n      "ok": true\n    }\n  ]\n}\n']);
  });

  it("a table shows its header and every row's cells in order, numbers as text", () => {
    const lines = table(
      ["host", "cores"],
      [
        ["dd2.3", 4],
        ["dd2.2-old", 16],
      ],
    )
      .split("\n")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes of a TTY
      .map((l) => l.replace(/\u001b\[[0-9;]*m/g, ""));
    const cells = lines
      .filter((l) => l.startsWith("│"))
      .map((l) =>
        l
          .split("│")
          .slice(1, -1)
          .map((c) => c.trim()),
      );
    expect(cells).toEqual([
      ["host", "cores"],
      ["dd2.3", "4"],
      ["dd2.2-old", "16"],
    ]);
  });

  it("a heading keeps its text", () => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes of a TTY
    expect(heading("cases by seed").replace(/\u001b\[[0-9;]*m/g, "")).toBe("cases by seed");
  });
});
