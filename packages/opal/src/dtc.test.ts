// Real-tool check: every host DTB the firmware model writes (each POWER9 DD level x firmware) is
// accepted by dtc 1.6.1 and decompiles to exactly formatDts's text (no normalisation; formatDts
// leaves out the redundant /ibm,opal/firmware "name" property as dtc's checks do), and dtc
// compiles that text back to a blob with the same tree.
import { decodeDtb, dtcCompile, dtcDecompile, encodeDtb, formatDts, requireDtc } from "@stopsim/devicetree";
import { POWER9_CHIPS } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { buildHostDtb, FIRMWARE_VERSIONS } from "./index.js";
import { p9Machine } from "./test-helpers/machine.js";

describe("host DTBs through the real dtc", () => {
  it("dtc is installed", () => {
    expect(() => requireDtc()).not.toThrow();
  });

  for (const chip of POWER9_CHIPS) {
    for (const firmware of Object.values(FIRMWARE_VERSIONS)) {
      it(`${chip.name}, firmware ${firmware.id}`, () => {
        const dtb = buildHostDtb({ machine: p9Machine(chip, { chips: 2, coresPerChip: 3 }), firmware });
        const tree = decodeDtb(dtb);
        const dts = dtcDecompile(dtb);
        expect(dts).toBe(formatDts(tree));
        expect(dts.includes("idle-stop-guest {")).toBe(firmware.idleStopGuest && chip.dd === "2.3");
        // dtc's text compiles back to the same tree (dtc's own layout, so compare via our decoder)
        const again = decodeDtb(dtcCompile(dts));
        expect(formatDts(again, { nameProperties: "keep" })).toBe(formatDts(tree, { nameProperties: "dtc" }));
        expect(Buffer.from(encodeDtb(again))).toEqual(Buffer.from(dtcCompile(dts)));
      });
    }
  }
});
