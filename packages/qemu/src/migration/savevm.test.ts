import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MigrationError } from "../errors.js";
import { QemuFileWriter } from "./qemu-file.js";
import {
  type CpuMigrationState,
  type LoadTarget,
  loadVmState,
  QEMU_VM_CONFIGURATION,
  QEMU_VM_EOF,
  QEMU_VM_FILE_MAGIC,
  QEMU_VM_SECTION_END,
  QEMU_VM_SECTION_FOOTER,
  QEMU_VM_SECTION_FULL,
  QEMU_VM_SECTION_PART,
  QEMU_VM_SECTION_START,
  type RamPage,
  readRamPages,
  saveComplete,
  saveHeader,
  saveRamIterate,
  saveRamIterateFrom,
  saveRamSetup,
  TARGET_PAGE_SIZE,
} from "./savevm.js";

const RAM = 1 << 24;

function cpu(index: number): CpuMigrationState {
  return {
    index,
    halted: index > 0,
    gpr: Array.from({ length: 32 }, (_, i) => BigInt(i * 0x1111 + index)),
    lr: 0xc000000000001234n,
    ctr: 7n,
    xer: 0x20000000n,
    cr: 0x24000000,
    msr: 0x8000000000001033n,
    nip: 0xc000000000010000n + BigInt(index),
    spr: new Map([
      [855, 0x00000000003f0000n], // PSSCR
      [153, 0x0000000000000180n], // FSCR
    ]),
  };
}

function stream(machine = "pseries-5.1", caps = new Map<string, number>()): Uint8Array {
  const w = new QemuFileWriter();
  saveHeader(w, machine);
  saveRamSetup(w, RAM, 2);
  const data = new Uint8Array(TARGET_PAGE_SIZE).map((_, i) => i & 0xff);
  saveRamIterate(
    w,
    [
      { addr: 0, fill: 0 },
      { addr: 0x10000, data },
    ],
    2,
  );
  saveComplete(w, [{ addr: 0x20000, data }], [cpu(0), cpu(1)], {
    guestTimebase: 123456789n,
    timeOfTheDayNs: 42n,
    caps,
  });
  return w.bytes();
}

function target(over: Partial<LoadTarget> = {}): LoadTarget & { written: Map<number, RamPage> } {
  const written = new Map<number, RamPage>();
  return {
    machineType: "pseries-5.1",
    ramSize: RAM,
    nCpus: 2,
    capNames: ["htm", "stop_lite"],
    writePage: (addr, page) => written.set(addr, page),
    written,
    ...over,
  };
}

function refusal(bytes: Uint8Array, t: LoadTarget = target()): string {
  try {
    loadVmState(bytes, t);
  } catch (e) {
    if (e instanceof MigrationError) return e.message;
    throw e;
  }
  throw new Error("stream was accepted");
}

describe("migration stream", () => {
  it("starts with QEMU_VM_FILE_MAGIC, version 3 and the configuration section", () => {
    const b = stream();
    expect(new DataView(b.buffer).getUint32(0)).toBe(QEMU_VM_FILE_MAGIC);
    expect(new DataView(b.buffer).getUint32(4)).toBe(3);
    expect(b[8]).toBe(0x07);
    expect(Buffer.from(b.subarray(13, 24)).toString("latin1")).toBe("pseries-5.1");
  });

  it("round-trips RAM pages, CPU state (PSSCR in spr[855]) and cap subsections", () => {
    const t = target();
    const loaded = loadVmState(stream("pseries-5.1", new Map([["stop_lite", 1]])), t);
    expect(loaded.pages).toBe(3);
    expect(t.written.get(0x10000)).toMatchObject({ addr: 0x10000 });
    expect(loaded.cpus).toEqual([cpu(0), cpu(1)]);
    expect(loaded.spapr.caps.get("stop_lite")).toBe(1);
    expect(loaded.spapr.guestTimebase).toBe(123456789n);
  });

  it("refuses streams with QEMU's messages", () => {
    const good = stream();
    const bad = good.slice();
    bad[0] = 0;
    expect(refusal(bad)).toBe(
      "qemu-system-ppc64: Not a migration stream\nqemu-system-ppc64: load of migration failed: Invalid argument",
    );
    expect(refusal(good, target({ machineType: "pseries-5.0" }))).toMatch(
      /Machine type received is 'pseries-5.1' and local is 'pseries-5.0'/,
    );
    expect(refusal(good, target({ nCpus: 1 }))).toMatch(/Unknown savevm section or instance 'cpu_common' 1/);
    expect(refusal(good, target({ ramSize: RAM * 2 }))).toMatch(
      /Length mismatch: ppc_spapr.ram: 0x1000000 in != 0x2000000/,
    );
    expect(refusal(good.subarray(0, good.length - 30))).toBe(
      "qemu-system-ppc64: load of migration failed: Input/output error",
    );
    // a QEMU without cap-stop-lite does not know the subsection
    expect(refusal(stream("pseries-5.1", new Map([["stop_lite", 1]])), target({ capNames: ["htm"] }))).toBe(
      [
        "qemu-system-ppc64: error while loading state for instance 0x0 of device 'spapr'",
        "qemu-system-ppc64: load of migration failed: No such file or directory",
      ].join("\n"),
    );
  });

  it("refuses any truncation or corruption with a MigrationError, never another exception (property)", () => {
    const good = stream("pseries-5.1", new Map([["stop_lite", 1]]));
    const golden = loadVmState(good, target());
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ kind: fc.constant("truncate" as const), at: fc.nat({ max: good.length - 1 }) }),
          fc.record({
            kind: fc.constant("flip" as const),
            at: fc.nat({ max: good.length - 1 }),
            xor: fc.integer({ min: 1, max: 255 }),
          }),
        ),
        (m) => {
          const bytes = m.kind === "truncate" ? good.slice(0, m.at) : good.slice();
          if (m.kind === "flip") bytes[m.at] ^= m.xor;
          try {
            const loaded = loadVmState(bytes, target());
            // a flip inside a page or register payload is not detectable by framing: it must then
            // have changed only data, never the structure
            expect(m.kind).toBe("flip");
            expect(loaded.cpus.length).toBe(golden.cpus.length);
          } catch (e) {
            expect(e).toBeInstanceOf(MigrationError);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

// ------------------------------------------------------------------------------------------------
// The loader decision by decision (qemu: migration/savevm.c qemu_loadvm_state_main,
// qemu_loadvm_section_start_full / _part_end, check_section_footer; migration/ram.c ram_load,
// ram_load_precopy; migration/vmstate.c vmstate_subsection_load), on streams built piece by piece
// ------------------------------------------------------------------------------------------------

const P = "qemu-system-ppc64: ";
const EINVAL = `${P}load of migration failed: Invalid argument`;

/** A stream with its header (magic, version 3, the configuration section). */
function headed(machine = "pseries-5.1"): QemuFileWriter {
  const w = new QemuFileWriter();
  saveHeader(w, machine);
  return w;
}

/** A section header as qemu_savevm_state / save_section_header writes it. */
function section(
  w: QemuFileWriter,
  type: number,
  id: number,
  name: string,
  instance: number,
  version: number,
) {
  w.putByte(type);
  w.putBe32(id);
  w.putCountedString(name);
  w.putBe32(instance);
  w.putBe32(version);
}

function footer(w: QemuFileWriter, id: number) {
  w.putByte(QEMU_VM_SECTION_FOOTER);
  w.putBe32(id);
}

const unknownSection = (name: string, instance: number) =>
  `${P}Unknown savevm section or instance '${name}' ${instance}. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices\n${EINVAL}`;
const inDevice = (lines: string[], instance: number, name: string, errno = EINVAL) =>
  [
    ...lines.map((l) => `${P}${l}`),
    `${P}error while loading state for instance 0x${instance.toString(16)} of device '${name}'`,
    errno,
  ].join("\n");

/** One vCPU's cpu_common and cpu sections (ids 1 + 2i and 2 + 2i), halted or not. */
function cpuSections(w: QemuFileWriter, c: CpuMigrationState, halted = c.halted ? 1 : 0) {
  section(w, QEMU_VM_SECTION_FULL, 1 + 2 * c.index, "cpu_common", c.index, 1);
  w.putBe32(halted);
  w.putBe32(0);
  footer(w, 1 + 2 * c.index);
  section(w, QEMU_VM_SECTION_FULL, 2 + 2 * c.index, "cpu", c.index, 5);
  for (let i = 0; i < 32; i++) w.putBe64(c.gpr[i]);
  for (const v of [c.lr, c.ctr, c.xer]) w.putBe64(v);
  w.putBe32(c.cr);
  w.putBe64(c.msr);
  w.putBe64(c.nip);
  for (let n = 0; n < 1024; n++) w.putBe64(c.spr.get(n) ?? 0n);
  footer(w, 2 + 2 * c.index);
}

describe("loading: the stream header", () => {
  const withVersion = (v: number) => {
    const b = stream();
    new DataView(b.buffer).setUint32(4, v);
    return b;
  };

  it("refuses the obsolete version 2 and any other version but 3", () => {
    expect(refusal(withVersion(2))).toBe(
      `${P}SaveVM v2 format is obsolete and don't work anymore\n${P}load of migration failed: Operation not supported`,
    );
    expect(refusal(withVersion(4))).toBe(
      `${P}Unsupported migration stream version\n${P}load of migration failed: Operation not supported`,
    );
  });

  it("needs the configuration section and a machine name of at most 256 bytes", () => {
    const b = stream();
    b[8] = QEMU_VM_SECTION_START;
    expect(refusal(b)).toBe(`${P}Configuration section missing\n${EINVAL}`);
    const w = new QemuFileWriter();
    w.putBe32(QEMU_VM_FILE_MAGIC);
    w.putBe32(3);
    w.putByte(QEMU_VM_CONFIGURATION);
    w.putBe32(257);
    w.putBuffer(new Uint8Array(257).fill(0x61));
    expect(refusal(w.bytes())).toBe(
      `${P}error while loading state for instance 0x0 of device 'configuration'\n${EINVAL}`,
    );
    // 256 bytes are read as a name (which then is not the local machine type)
    const ok = new QemuFileWriter();
    saveHeader(ok, "p".repeat(256));
    expect(refusal(ok.bytes())).toMatch(
      /^qemu-system-ppc64: Machine type received is 'p{256}' and local is 'pseries-5.1'\n/,
    );
  });
});

describe("loading: sections", () => {
  it("refuses an unknown section type and a ram PART before its START", () => {
    const w = headed();
    w.putByte(9);
    expect(refusal(w.bytes())).toBe(`${P}Unknown savevm section type 9\n${EINVAL}`);
    const part = headed();
    part.putByte(QEMU_VM_SECTION_PART);
    part.putBe32(0);
    expect(refusal(part.bytes())).toBe(`${P}Unknown savevm section 0\n${EINVAL}`);
    const end = headed();
    saveRamSetup(end, RAM, 2);
    end.putByte(QEMU_VM_SECTION_END);
    end.putBe32(1);
    expect(refusal(end.bytes())).toBe(`${P}Unknown savevm section 1\n${EINVAL}`);
  });

  it("refuses sections this machine has no device for", () => {
    const refused = (type: number, id: number, name: string, instance: number, t = target()) => {
      const w = headed();
      section(w, type, id, name, instance, 1);
      return refusal(w.bytes(), t);
    };
    expect(refused(QEMU_VM_SECTION_FULL, 0, "virtio-net", 0)).toBe(unknownSection("virtio-net", 0));
    // instances: vCPUs up to nCpus - 1, the rest only instance 0
    expect(refused(QEMU_VM_SECTION_FULL, 5, "cpu_common", 2)).toBe(unknownSection("cpu_common", 2));
    expect(refused(QEMU_VM_SECTION_FULL, 6, "cpu", 2)).toBe(unknownSection("cpu", 2));
    expect(refused(QEMU_VM_SECTION_FULL, 5, "spapr", 1)).toBe(unknownSection("spapr", 1));
    // spapr-xive only on a destination with XIVE
    expect(refused(QEMU_VM_SECTION_FULL, 6, "spapr-xive", 0)).toBe(unknownSection("spapr-xive", 0));
    expect(refused(QEMU_VM_SECTION_FULL, 6, "spapr-xive", 0, target({ xive: false }))).toBe(
      unknownSection("spapr-xive", 0),
    );
    // ram comes as START (then PART/END), every other device as FULL
    expect(refused(QEMU_VM_SECTION_FULL, 0, "ram", 0)).toBe(unknownSection("ram", 0));
    expect(refused(QEMU_VM_SECTION_START, 5, "spapr", 0)).toBe(unknownSection("spapr", 0));
  });

  it("refuses a section id that is not the one the destination registered that device under", () => {
    const w = headed();
    section(w, QEMU_VM_SECTION_FULL, 4, "spapr", 0, 3); // spapr is 1 + 2 * nCpus = 5
    expect(refusal(w.bytes())).toBe(unknownSection("spapr", 0));
    const c = headed();
    section(c, QEMU_VM_SECTION_FULL, 2, "cpu_common", 1, 1); // cpu_common 1 is 3
    expect(refusal(c.bytes())).toBe(unknownSection("cpu_common", 1));
    const x = headed();
    section(x, QEMU_VM_SECTION_FULL, 5, "spapr-xive", 0, 1); // spapr-xive is 2 + 2 * nCpus = 6
    expect(refusal(x.bytes(), target({ xive: true }))).toBe(unknownSection("spapr-xive", 0));
  });

  it("refuses newer section versions with QEMU's message and older ones in the device's load", () => {
    const versioned = (id: number, name: string, instance: number, version: number) => {
      const w = headed();
      section(w, name === "ram" ? QEMU_VM_SECTION_START : QEMU_VM_SECTION_FULL, id, name, instance, version);
      return refusal(w.bytes());
    };
    expect(versioned(2, "cpu", 0, 6)).toBe(`${P}savevm: unsupported version 6 for 'cpu' v5\n${EINVAL}`);
    expect(versioned(0, "ram", 0, 5)).toBe(`${P}savevm: unsupported version 5 for 'ram' v4\n${EINVAL}`);
    expect(versioned(0, "ram", 0, 3)).toBe(inDevice([], 0, "ram"));
    expect(versioned(4, "cpu", 1, 4)).toBe(inDevice([], 1, "cpu"));
  });

  it("refuses a section sent twice and a cpu before its cpu_common", () => {
    const cpu0 = cpu(0);
    const twice = headed();
    cpuSections(twice, cpu0);
    section(twice, QEMU_VM_SECTION_FULL, 1, "cpu_common", 0, 1);
    expect(refusal(twice.bytes())).toBe(
      inDevice(["section 'cpu_common' instance 0 sent twice"], 0, "cpu_common"),
    );
    const early = headed();
    section(early, QEMU_VM_SECTION_FULL, 4, "cpu", 1, 5);
    expect(refusal(early.bytes())).toBe(inDevice(["cpu 1 arrived before its cpu_common state"], 1, "cpu"));
    const bad = headed();
    cpuSections(bad, cpu(1), 2);
    expect(refusal(bad.bytes())).toBe(inDevice(["cpu_common: halted 2 is not 0 or 1"], 1, "cpu_common"));
  });

  it("checks every section footer: its marker and its section id", () => {
    const w = headed();
    section(w, QEMU_VM_SECTION_FULL, 1, "cpu_common", 0, 1);
    w.putBe32(0);
    w.putBe32(0);
    const missing = new QemuFileWriter();
    missing.putBuffer(w.bytes());
    missing.putByte(QEMU_VM_EOF);
    expect(refusal(missing.bytes())).toBe(`${P}Missing section footer for cpu_common\n${EINVAL}`);
    footer(w, 0x21);
    expect(refusal(w.bytes())).toBe(
      `${P}Mismatched section id in footer for cpu_common - read 0x21 expected 0x1\n${EINVAL}`,
    );
  });

  it("loads vCPU sections in any order, halted or not, and sorts the vCPUs", () => {
    const good = headed();
    saveRamSetup(good, RAM, 2);
    cpuSections(good, cpu(1));
    cpuSections(good, { ...cpu(0), halted: true });
    section(good, QEMU_VM_SECTION_FULL, 5, "spapr", 0, 3);
    good.putBe32(0);
    good.putBe64(5n);
    good.putBe64(6n);
    footer(good, 5);
    good.putByte(QEMU_VM_EOF);
    const loaded = loadVmState(good.bytes(), target());
    expect(loaded.cpus.map((c) => [c.index, c.halted])).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(loaded.cpus[1]).toEqual(cpu(1));
    expect(loaded.spapr).toEqual({ guestTimebase: 5n, timeOfTheDayNs: 6n, caps: new Map() });
    expect(loaded.pages).toBe(0);
  });

  it("needs every vCPU and the machine state before EOF, and nothing after it", () => {
    const noCpu = headed();
    saveRamSetup(noCpu, RAM, 2);
    noCpu.putByte(QEMU_VM_EOF);
    expect(refusal(noCpu.bytes())).toBe(`${P}load of migration failed: Input/output error`);
    const good = stream();
    const oneCpu = loadVmState(good, target());
    expect(oneCpu.cpus).toHaveLength(2);
    // a destination with three vCPUs waits for a third that never comes
    expect(refusal(good, target({ nCpus: 3 }))).toMatch(/Unknown savevm section or instance 'spapr' 0/);
    const garbage = new Uint8Array(good.length + 3);
    garbage.set(good);
    expect(refusal(garbage)).toBe(`${P}3 bytes of garbage after the end of the stream\n${EINVAL}`);
  });
});

describe("loading: RAM (ram_load)", () => {
  /** The ram START section with a given first word, block list and end marker. */
  function setup(first: bigint, blocks: [string, bigint][], eos = 0x10n): QemuFileWriter {
    const w = headed();
    section(w, QEMU_VM_SECTION_START, 0, "ram", 0, 4);
    w.putBe64(first);
    for (const [name, len] of blocks) {
      w.putCountedString(name);
      w.putBe64(len);
    }
    w.putBe64(eos);
    footer(w, 0);
    return w;
  }
  const ramSize = BigInt(RAM);

  it("reads the total size and the block list, which must be this machine's one RAM block", () => {
    expect(() => loadVmState(setup(ramSize | 4n, [["ppc_spapr.ram", ramSize]]).bytes(), target())).toThrow(
      "Input/output error", // no device state follows: the setup itself was accepted
    );
    expect(refusal(setup(ramSize | 8n, []).bytes())).toBe(
      inDevice(["Unknown combination of migration flags: 0x8"], 0, "ram"),
    );
    expect(refusal(setup(ramSize | 4n, [["pc.ram", ramSize]]).bytes())).toBe(
      inDevice(['Unknown ramblock "pc.ram", cannot accept migration'], 0, "ram"),
    );
    expect(refusal(setup(ramSize | 4n, [["ppc_spapr.ram", ramSize]], 0x20n).bytes())).toBe(
      inDevice(["Unknown combination of migration flags: 0x20"], 0, "ram"),
    );
    // a total of zero announces no block at all
    expect(() => loadVmState(setup(4n, []).bytes(), target())).toThrow("Input/output error");
  });

  /** A stream whose ram PART section carries the given words and bytes after the setup. */
  function part(fill: (w: QemuFileWriter) => void): Uint8Array {
    const w = headed();
    saveRamSetup(w, RAM, 2);
    w.putByte(QEMU_VM_SECTION_PART);
    w.putBe32(0);
    fill(w);
    return w.bytes();
  }

  it("accepts zero and data pages, the block named on the first page only", () => {
    const t = target();
    const data = new Uint8Array(TARGET_PAGE_SIZE).fill(0xab);
    const w = headed();
    saveRamSetup(w, RAM, 2);
    saveRamIterate(
      w,
      [
        { addr: 0x3000, fill: 7 },
        { addr: 0x5000, data },
        { addr: RAM - TARGET_PAGE_SIZE, fill: 0 }, // the last page of RAM
      ],
      2,
    );
    w.putByte(QEMU_VM_EOF);
    expect(() => loadVmState(w.bytes(), t)).toThrow("Input/output error");
    expect(t.written.get(0x3000)).toEqual({ addr: 0x3000, fill: 7 });
    expect(t.written.get(0x5000)).toEqual({ addr: 0x5000, data });
    expect(t.written.get(RAM - TARGET_PAGE_SIZE)).toEqual({ addr: RAM - TARGET_PAGE_SIZE, fill: 0 });
    expect(t.written.size).toBe(3);
  });

  it("refuses unknown page flags, EOS with other flags, a continued first page and pages outside RAM", () => {
    const refusedPart = (fill: (w: QemuFileWriter) => void) => refusal(part(fill));
    expect(refusedPart((w) => w.putBe64(0x1000n | 0x40n))).toBe(
      inDevice(["Unknown combination of migration flags: 0x40"], 0, "ram"),
    );
    expect(refusedPart((w) => w.putBe64(0x10n | 0x02n))).toBe(
      inDevice(["Unknown combination of migration flags: 0x12"], 0, "ram"),
    );
    // a page and a zero page at once
    expect(refusedPart((w) => w.putBe64(0x1000n | 0x0an))).toBe(
      inDevice(["Unknown combination of migration flags: 0xa"], 0, "ram"),
    );
    expect(refusedPart((w) => w.putBe64(0x1000n | 0x22n))).toBe(
      inDevice(["Ack, bad migration stream!"], 0, "ram"),
    );
    expect(
      refusedPart((w) => {
        w.putBe64(0x1000n | 0x02n);
        w.putCountedString("pc.ram");
      }),
    ).toBe(inDevice(['Unknown ramblock "pc.ram", cannot accept migration'], 0, "ram"));
    expect(
      refusedPart((w) => {
        w.putBe64(BigInt(RAM) | 0x02n);
        w.putCountedString("ppc_spapr.ram");
        w.putByte(0);
      }),
    ).toBe(inDevice([`Illegal RAM offset ${RAM.toString(16)}`], 0, "ram"));
    // a continued page after a named one is fine
    const t = target();
    expect(() =>
      loadVmState(
        part((w) => {
          w.putBe64(0x1000n | 0x02n);
          w.putCountedString("ppc_spapr.ram");
          w.putByte(1);
          w.putBe64(0x2000n | 0x22n);
          w.putByte(2);
          w.putBe64(0x10n);
          footer(w, 0);
          w.putByte(QEMU_VM_EOF);
        }),
        t,
      ),
    ).toThrow("Input/output error");
    expect([...t.written.values()]).toEqual([
      { addr: 0x1000, fill: 1 },
      { addr: 0x2000, fill: 2 },
    ]);
  });
});

describe("RAM pages read from guest RAM (readRamPages, saveRamIterateFrom)", () => {
  /** A page: never written, written with one repeated byte, or data differing at one byte. */
  const pageArb = fc.oneof(
    fc.constant({ kind: "unwritten" as const }),
    fc.record({ kind: fc.constant("uniform" as const), fill: fc.nat({ max: 255 }) }),
    fc.record({
      kind: fc.constant("data" as const),
      fill: fc.nat({ max: 255 }),
      at: fc.nat({ max: TARGET_PAGE_SIZE - 1 }),
      xor: fc.integer({ min: 1, max: 255 }),
    }),
  );

  it("reads pages as the stream describes them, and writes the bytes and value ranges saveRamIterate writes for them (property)", () => {
    fc.assert(
      fc.property(
        // page numbers up to 2^21: addresses past 4 GiB use the word's high half
        fc.uniqueArray(fc.tuple(fc.nat({ max: 2 ** 21 }), pageArb), { selector: ([n]) => n, maxLength: 12 }),
        (entries) => {
          const pages = new Map<number, Uint8Array | null>();
          for (const [n, p] of entries) {
            if (p.kind === "unwritten") pages.set(n, null);
            else {
              const data = new Uint8Array(TARGET_PAGE_SIZE).fill(p.fill);
              if (p.kind === "data") data[p.at] ^= p.xor;
              pages.set(n, data);
            }
          }
          const ram = {
            isWritten: (n: number) => pages.get(n) != null,
            readPage: (n: number) => {
              const d = pages.get(n);
              if (d == null) throw new Error(`page ${n} read but never written`);
              return d.slice();
            },
          };
          const numbers = entries.map(([n]) => n);
          // the reference: the RamPage list as the stream describes it
          const list: RamPage[] = numbers.map((n) => {
            const addr = n * TARGET_PAGE_SIZE;
            const d = pages.get(n);
            if (d == null) return { addr, fill: 0 };
            return d.every((b) => b === d[0]) ? { addr, fill: d[0] } : { addr, data: d };
          });
          expect(readRamPages(ram, numbers)).toEqual(list);
          const a = new QemuFileWriter();
          saveRamIterate(a, list, 2);
          const b = new QemuFileWriter();
          saveRamIterateFrom(b, ram, Uint32Array.from(numbers), 2);
          expect(Buffer.compare(b.bytes(), a.bytes())).toBe(0);
          expect(b.valueRanges()).toEqual(a.valueRanges());
          // and the destination reads each page back at its address
          const w = headed();
          saveRamSetup(w, 2 ** 34, 2);
          w.putByte(QEMU_VM_SECTION_PART);
          w.putBe32(0);
          const t = target({ ramSize: 2 ** 34 });
          const bytes = new Uint8Array([...w.bytes(), ...b.bytes().subarray(5), QEMU_VM_EOF]);
          expect(() => loadVmState(bytes, t)).toThrow("Input/output error");
          expect([...t.written.values()]).toEqual(list);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("ORs the flags into a page address's low bits, as a 64-bit OR would, aligned or not", () => {
    const w = new QemuFileWriter();
    // 0x1003: bits 0 and 1 set; ZERO is 0x02 (already set), CONTINUE 0x20
    saveRamIterate(
      w,
      [
        { addr: 0x1003, fill: 1 },
        { addr: 0x1_0000_2001, fill: 2 },
      ],
      1,
    );
    const words = Buffer.from(w.bytes());
    expect(words.subarray(5, 13).toString("hex")).toBe("0000000000001003");
    expect(words.subarray(5 + 8 + 14 + 1, 5 + 8 + 14 + 1 + 8).toString("hex")).toBe("0000000100002023");
  });

  it("writes a page past 4 GiB with its address in both halves of the word", () => {
    const w = new QemuFileWriter();
    const ram = { isWritten: () => false, readPage: () => new Uint8Array(TARGET_PAGE_SIZE) };
    saveRamIterateFrom(w, ram, [0x100001, 0x100002], 1);
    const hexOf = Buffer.from(w.bytes()).toString("hex");
    // PART, section 0, then 0x1_0000_1000 | ZERO with the block name, its fill byte, and the
    // next page | ZERO | CONTINUE
    expect(hexOf).toBe(
      `02${"00000000"}${"0000000100001002"}0d${Buffer.from("ppc_spapr.ram").toString("hex")}00${"0000000100002022"}00${"0000000000000010"}7e00000000`,
    );
  });
});

describe("loading: the machine section's subsections", () => {
  function spaprWith(fill: (w: QemuFileWriter) => void): Uint8Array {
    const w = headed();
    saveRamSetup(w, RAM, 1);
    cpuSections(w, cpu(0));
    section(w, QEMU_VM_SECTION_FULL, 3, "spapr", 0, 3);
    w.putBe32(0);
    w.putBe64(10n);
    w.putBe64(20n);
    fill(w);
    footer(w, 3);
    w.putByte(QEMU_VM_EOF);
    return w.bytes();
  }
  const one = target({ nCpus: 1 });
  const sub = (w: QemuFileWriter, name: string, version: number, bytes: number[]) => {
    w.putByte(0x05);
    w.putCountedString(name);
    w.putBe32(version);
    for (const b of bytes) w.putByte(b);
  };
  const ENOENT = `${P}load of migration failed: No such file or directory`;

  it("reads cap levels and the OV5 negotiated at CAS", () => {
    const loaded = loadVmState(
      spaprWith((w) => {
        sub(w, "spapr/cap/htm", 1, [1]);
        sub(w, "spapr_option_vector_ov5_cas", 1, [3, 0, 0x80, 0x40]);
        sub(w, "spapr/cap/stop_lite", 1, [0]);
      }),
      one,
    );
    expect(loaded.spapr.caps).toEqual(
      new Map([
        ["htm", 1],
        ["stop_lite", 0],
      ]),
    );
    expect([...(loaded.spapr.ov5Cas ?? [])]).toEqual([0, 0x80, 0x40]);
    expect(loaded.spapr.guestTimebase).toBe(10n);
    expect(loaded.spapr.timeOfTheDayNs).toBe(20n);
    expect(
      loadVmState(
        spaprWith(() => {}),
        one,
      ).spapr.ov5Cas,
    ).toBeUndefined();
  });

  it("fails the load on a subsection it does not know, of another version or outside spapr/cap/", () => {
    const refusedWith = (name: string, version: number) =>
      refusal(
        spaprWith((w) => sub(w, name, version, [1])),
        one,
      );
    const enoent = inDevice([], 0, "spapr", ENOENT);
    expect(refusedWith("spapr/cap/large_decr", 1)).toBe(enoent);
    expect(refusedWith("spapr/cap/htm", 2)).toBe(enoent);
    expect(refusedWith("htm", 1)).toBe(enoent);
    expect(refusedWith("spapr_option_vector_ov5_cas", 2)).toBe(enoent);
  });

  it("saves the OV5 only once the guest negotiated something, and each cap level as its own subsection", () => {
    const save = (ov5Cas: Uint8Array | undefined, caps = new Map<string, number>()) => {
      const w = new QemuFileWriter();
      saveComplete(w, [], [cpu(0)], {
        guestTimebase: 0n,
        timeOfTheDayNs: 0n,
        caps,
        ...(ov5Cas ? { ov5Cas } : {}),
      });
      return Buffer.from(w.bytes()).toString("latin1");
    };
    expect(save(undefined)).not.toContain("ov5_cas");
    expect(save(new Uint8Array(4))).not.toContain("ov5_cas");
    expect(save(new Uint8Array([0, 0, 0, 1]))).toContain(
      "\x05\x1bspapr_option_vector_ov5_cas\0\0\0\x01\x04\0\0\0\x01",
    );
    expect(save(undefined, new Map([["fwnmi", 1]]))).toContain("\x05\x0fspapr/cap/fwnmi\0\0\0\x01\x01");
  });
});

describe("the spapr-xive section", () => {
  const xive = {
    sources: [
      { lisn: 0x1000, pq: 1, target: 1, priority: 5, eisn: 0x1000, masked: false },
      { lisn: 0x1001, pq: 0, target: 0, priority: 0xff, eisn: 0, masked: true },
    ],
    queues: [{ server: 1, priority: 5, qshift: 16, qaddr: 0x1230000n, qindex: 3, qtoggle: 1 }],
    vpState: [
      { vcpu: 0, w01: 0x8000000000000000n },
      { vcpu: 1, w01: 0x00ff000000000001n },
    ],
  };

  it("round-trips sources, queues and the vCPUs' OS ring words on a XIVE destination", () => {
    const w = new QemuFileWriter();
    saveHeader(w, "pseries-5.1");
    saveRamSetup(w, RAM, 2);
    saveComplete(w, [], [cpu(0), cpu(1)], { guestTimebase: 1n, timeOfTheDayNs: 2n, caps: new Map() }, xive);
    const loaded = loadVmState(w.bytes(), target({ xive: true }));
    expect(loaded.xive).toEqual(xive);
    expect(loadVmState(stream(), target({ xive: true })).xive).toBeUndefined();
    expect(refusal(w.bytes(), target())).toMatch(/Unknown savevm section or instance 'spapr-xive' 0/);
  });

  it("refuses more entries than a machine has", () => {
    for (const [at, what] of [
      [0, "sources"],
      [1, "queues"],
      [2, "vCPU contexts"],
    ] as const) {
      const w = headed();
      section(w, QEMU_VM_SECTION_FULL, 6, "spapr-xive", 0, 1);
      for (let i = 0; i < at; i++) w.putBe32(0);
      w.putBe32(0x10001);
      expect(refusal(w.bytes(), target({ xive: true }))).toBe(
        inDevice([`spapr-xive: 65537 ${what} is more than the machine has`], 0, "spapr-xive"),
      );
    }
    // 0x10000 entries are read (and then the stream runs short)
    const w = headed();
    section(w, QEMU_VM_SECTION_FULL, 6, "spapr-xive", 0, 1);
    w.putBe32(0x10000);
    expect(refusal(w.bytes(), target({ xive: true }))).toBe(
      `${P}load of migration failed: Input/output error`,
    );
  });
});

describe("value ranges of a saved stream", () => {
  it("cover page contents and device state, never the framing the loader checks", () => {
    const w = new QemuFileWriter();
    saveHeader(w, "pseries-5.1");
    saveRamSetup(w, RAM, 1);
    const afterSetup = w.length;
    const data = new Uint8Array(TARGET_PAGE_SIZE).fill(1);
    saveRamIterate(w, [{ addr: 0x7000, data }], 1);
    saveComplete(w, [{ addr: 0x8000, fill: 3 }], [cpu(0)], {
      guestTimebase: 9n,
      timeOfTheDayNs: 8n,
      caps: new Map([["htm", 1]]),
    });
    const ranges = w.valueRanges();
    // nothing of the header or the ram setup is a value
    expect(ranges[0][0]).toBeGreaterThanOrEqual(afterSetup);
    // the first page: its address (7 bytes, the flags byte excluded), then its 4 KiB
    const pageWord = afterSetup + 5;
    expect(ranges[0]).toEqual([pageWord, pageWord + 7]);
    const blockName = pageWord + 8;
    expect(ranges[1]).toEqual([blockName + 14, blockName + 14 + TARGET_PAGE_SIZE]);
    // the values: 7 + 4096 (page), 7 + 1 (zero page), 8 (cpu_common), the cpu, 20 (spapr), 1 (cap)
    const total = ranges.reduce((n, [s, e]) => n + e - s, 0);
    expect(total).toBe(7 + 4096 + 7 + 1 + 8 + (32 * 8 + 3 * 8 + 4 + 8 + 8 + 1024 * 8) + 20 + 1);
  });
});
