import { describe, expect, it } from "vitest";
import { DeviceTree, formatDts, guessValueType } from "./index.js";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe("guessValueType (dtc treesource.c guess_value_type)", () => {
  it("guesses like dtc", () => {
    expect(guessValueType(bytes(0x61, 0))).toBe("string");
    expect(guessValueType(bytes(0x41, 0x41, 0x41, 0, 0, 0, 0, 0))).toBe("u32"); // more NULs than chars
    expect(guessValueType(bytes(0x41, 0x42, 0x43, 0x44, 0, 0, 0, 0))).toBe("string"); // as many
    expect(guessValueType(bytes(0))).toBe("u8");
    expect(guessValueType(bytes(0, 0, 0, 1))).toBe("u32");
    expect(guessValueType(bytes(0x80, 0))).toBe("u8");
    expect(guessValueType(bytes(9, 0x41, 0))).toBe("string"); // \t is a string character
    expect(guessValueType(bytes(1, 2, 3))).toBe("u8");
  });
});

describe("formatDts", () => {
  it("prints dtc's layout", () => {
    const t = new DeviceTree();
    t.memReserves = [{ address: 0x1000n, size: 0x20n }];
    t.root.setPropString("compatible", "x");
    const n = t.root.addChild("child@1");
    n.setPropEmpty("flag");
    n.setPropU32("cells", 0, 0x1e848000);
    n.setPropBytes("raw", bytes(0xde, 0xad, 0x01));
    n.setPropStrings("list", ["a", "b"]);
    n.setPropString("esc", 'q"\\\t\n');
    n.addChild("leaf");
    expect(formatDts(t)).toBe(
      [
        "/dts-v1/;",
        "",
        "/memreserve/\t0x0000000000001000 0x0000000000000020;",
        "/ {",
        '\tcompatible = "x";',
        "",
        "\tchild@1 {",
        "\t\tflag;",
        "\t\tcells = <0x00 0x1e848000>;",
        "\t\traw = [de ad 01];",
        '\t\tlist = "a\\0b";',
        '\t\tesc = "q\\"\\\\\\t\\n";',
        "",
        "\t\tleaf {",
        "\t\t};",
        "\t};",
        "};",
        "",
      ].join("\n"),
    );
    expect(formatDts(t, { stringLists: "split" })).toContain('list = "a", "b";');
  });

  it("leaves out a redundant name property as dtc does (checks.c name_properties)", () => {
    const t = new DeviceTree();
    const fw = t.root.addChild("firmware@0");
    fw.setPropString("compatible", "ibm,opal-firmware");
    fw.setPropString("name", "firmware");
    const other = t.root.addChild("other");
    other.setPropString("name", "something-else");
    expect(formatDts(t)).not.toContain('name = "firmware"');
    expect(formatDts(t)).toContain('name = "something-else"');
    expect(formatDts(t, { nameProperties: "keep" })).toContain('name = "firmware"');
  });

  it("handles deep trees without recursion", () => {
    const t = new DeviceTree();
    let n = t.root;
    for (let i = 0; i < 20000; i++) n = n.addChild("d");
    const s = formatDts(t);
    expect(s.split("\n").length).toBeGreaterThan(40000);
  });
});
