// `stopsim dtb host|guest`: write the device tree a layer produced, as DTB bytes or DTS text.
import { decodeDtb, formatDts } from "@stopsim/devicetree";
import type { Command } from "commander";
import { checkWritable, writeFileAtomic } from "../atomic.js";
import { UsageError } from "../errors.js";
import { bootFirmware } from "../stack.js";
import { parseCount } from "./args.js";

export interface DtbWriteOptions {
  out?: string;
  dts?: boolean;
}

/** Writes `dtb` to `opts.out` (or DTS text to stdout when no file and --dts). */
export function writeTree(dtb: Uint8Array, opts: DtbWriteOptions): string {
  const text = opts.dts ? formatDts(decodeDtb(dtb)) : undefined;
  if (!opts.out) {
    if (text === undefined)
      throw new UsageError("dtb: give -o FILE for the binary blob, or --dts to print DTS text");
    process.stdout.write(text);
    return "stdout";
  }
  writeFileAtomic(opts.out, text ?? dtb);
  return opts.out;
}

export function registerDtb(program: Command): void {
  const dtb = program
    .command("dtb")
    .description("write the device tree a layer produced (DTB, or DTS with --dts)");
  dtb
    .command("host")
    .description("the host device tree that OPAL firmware hands to the host kernel")
    .option("--chip <chip>", "POWER9 DD level: dd2.0, dd2.1, dd2.2, dd2.3", "dd2.3")
    .option("--firmware <fw>", "firmware version: 2020 or new (publishes idle-stop-guest on DD2.3+)", "new")
    .option("--sockets <n>", "chips", "1")
    .option("--cores <n>", "cores per chip", "4")
    .option("-o, --out <file>", "output file")
    .option("--dts", "write DTS text (dtc's format) instead of DTB bytes")
    .action(
      (opts: {
        chip: string;
        firmware: string;
        sockets: string;
        cores: string;
        out?: string;
        dts?: boolean;
      }) => {
        const sockets = parseCount(opts.sockets, "--sockets", 1, 16);
        const coresPerSocket = parseCount(opts.cores, "--cores", 1, 24);
        if (opts.out !== undefined) checkWritable(opts.out, "--out");
        const fw = bootFirmware({ chip: opts.chip, firmware: opts.firmware, sockets, coresPerSocket });
        const where = writeTree(fw.dtb, opts);
        if (where !== "stdout")
          console.error(
            `wrote ${fw.dtb.length}-byte host tree (${opts.chip}, firmware ${opts.firmware}) to ${where}`,
          );
      },
    );
}
