// The migration stream: framing, sections and the device states of the pseries machine.
// qemu: migration/savevm.c (QEMU_VM_* framing, qemu_savevm_state_header, section headers and
//       footers, qemu_loadvm_state and its error messages, vmstate_configuration),
//       migration/vmstate.c (subsections), migration/ram.c (RAM_SAVE_FLAG_*, block list, pages),
//       target/ppc/machine.c (the "cpu" section with env.spr[1024]), hw/core/cpu-common.c
//       ("cpu_common": halted), hw/ppc/spapr.c vmstate_spapr (+ spapr_caps.c cap subsections).

import { MigrationError } from "../errors.js";
import type { SpaprXiveMigrationState } from "../spapr-xive.js";
import { QemuFileReader, type QemuFileWriter } from "./qemu-file.js";

export const QEMU_VM_FILE_MAGIC = 0x5145564d;
export const QEMU_VM_FILE_VERSION_COMPAT = 0x00000002;
export const QEMU_VM_FILE_VERSION = 0x00000003;

export const QEMU_VM_EOF = 0x00;
export const QEMU_VM_SECTION_START = 0x01;
export const QEMU_VM_SECTION_PART = 0x02;
export const QEMU_VM_SECTION_END = 0x03;
export const QEMU_VM_SECTION_FULL = 0x04;
export const QEMU_VM_SUBSECTION = 0x05;
export const QEMU_VM_VMDESCRIPTION = 0x06;
export const QEMU_VM_CONFIGURATION = 0x07;
export const QEMU_VM_COMMAND = 0x08;
export const QEMU_VM_SECTION_FOOTER = 0x7e;

// qemu: migration/ram.c
export const RAM_SAVE_FLAG_ZERO = 0x02;
export const RAM_SAVE_FLAG_MEM_SIZE = 0x04;
export const RAM_SAVE_FLAG_PAGE = 0x08;
export const RAM_SAVE_FLAG_EOS = 0x10;
export const RAM_SAVE_FLAG_CONTINUE = 0x20;
/** TARGET_PAGE_BITS of ppc64 (qemu: target/ppc/cpu-param.h). */
export const TARGET_PAGE_BITS = 12;
export const TARGET_PAGE_SIZE = 1 << TARGET_PAGE_BITS;
/** The RAM block of the pseries machine (qemu: hw/ppc/spapr.c memory_region "ppc_spapr.ram"). */
export const SPAPR_RAM_BLOCK = "ppc_spapr.ram";

/** Section versions this QEMU saves and the highest it loads. */
export const SECTION_VERSIONS: Readonly<Record<string, number>> = {
  ram: 4,
  cpu_common: 1,
  cpu: 5,
  spapr: 3,
  "spapr-xive": 1,
};

/** CPU state of one vCPU as the "cpu" and "cpu_common" sections carry it. */
export interface CpuMigrationState {
  readonly index: number;
  readonly halted: boolean;
  readonly gpr: readonly bigint[];
  readonly lr: bigint;
  readonly ctr: bigint;
  readonly xer: bigint;
  readonly cr: number;
  readonly msr: bigint;
  readonly nip: bigint;
  /** env.spr[] entries by SPR number (only the ones synchronised from KVM are non-zero). */
  readonly spr: ReadonlyMap<number, bigint>;
}

/** The machine section ("spapr"): timebase and the capability levels of the source. */
export interface SpaprMigrationState {
  /** qemu: PPCTimebase guest_timebase and time_of_the_day_ns. */
  readonly guestTimebase: bigint;
  readonly timeOfTheDayNs: bigint;
  /**
   * Cap levels sent as "spapr/cap/<name>" subsections: only caps set on the command line to a
   * non-default level (qemu: spapr_caps.c SPAPR_CAP_MIG_STATE needed()).
   */
  readonly caps: ReadonlyMap<string, number>;
  /**
   * The OV5 negotiated at CAS (the "spapr_option_vector_ov5_cas" subsection, sent once the guest
   * made its CAS call; hw/ppc/spapr.c vmstate_spapr_ov5_cas), by OV5 byte number.
   */
  readonly ov5Cas?: Uint8Array;
}

/** One page of RAM: data (4 KiB) or a fill byte for zero/uniform pages. */
export type RamPage =
  | { readonly addr: number; readonly data: Uint8Array }
  | { readonly addr: number; readonly fill: number };

/** Section ids in registration order (qemu: savevm_state.global_section_id). */
interface SectionIds {
  readonly ram: number;
  cpuCommon(i: number): number;
  cpu(i: number): number;
  readonly spapr: number;
  readonly xive: number;
}

function sectionIds(nCpus: number): SectionIds {
  return {
    ram: 0,
    cpuCommon: (i) => 1 + 2 * i,
    cpu: (i) => 2 + 2 * i,
    spapr: 1 + 2 * nCpus,
    xive: 2 + 2 * nCpus,
  };
}

function putSectionFull(
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

function putFooter(w: QemuFileWriter, id: number): void {
  w.putByte(QEMU_VM_SECTION_FOOTER);
  w.putBe32(id);
}

/** Writes the stream header and the configuration section (qemu: qemu_savevm_state_header). */
export function saveHeader(w: QemuFileWriter, machineType: string): void {
  w.putBe32(QEMU_VM_FILE_MAGIC);
  w.putBe32(QEMU_VM_FILE_VERSION);
  w.putByte(QEMU_VM_CONFIGURATION);
  // vmstate_configuration: VMSTATE_VBUFFER_ALLOC_UINT32(name, ..., len)
  w.putBe32(machineType.length);
  for (let i = 0; i < machineType.length; i++) w.putByte(machineType.charCodeAt(i));
}

/** The ram START section: total size and the block list (qemu: migration/ram.c ram_save_setup). */
export function saveRamSetup(w: QemuFileWriter, ramSize: number, nCpus: number): void {
  const id = sectionIds(nCpus).ram;
  putSectionFull(w, QEMU_VM_SECTION_START, id, "ram", 0, SECTION_VERSIONS.ram);
  w.putBe64(BigInt(ramSize) | BigInt(RAM_SAVE_FLAG_MEM_SIZE));
  w.putCountedString(SPAPR_RAM_BLOCK);
  w.putBe64(BigInt(ramSize));
  w.putBe64(BigInt(RAM_SAVE_FLAG_EOS));
  putFooter(w, id);
}

/** One page record of a ram section (qemu: migration/ram.c save_zero_page, save_normal_page). */
function putPage(
  w: QemuFileWriter,
  first: boolean,
  addr: number,
  data: Uint8Array | null,
  fill: number,
): void {
  const at = w.length;
  // the page address is a value (its top bytes); the low byte holds the flags, ORed in (the
  // low 12 bits of a safe integer are those of its low 32, so no BigInt is needed per page)
  const flags =
    (data !== null ? RAM_SAVE_FLAG_PAGE : RAM_SAVE_FLAG_ZERO) | (first ? 0 : RAM_SAVE_FLAG_CONTINUE);
  const low = addr & (TARGET_PAGE_SIZE - 1);
  w.putBe64Number(addr + ((low | flags) - low));
  w.markValue(at, at + 7);
  if (first) w.putCountedString(SPAPR_RAM_BLOCK);
  const start = w.length;
  if (data !== null) w.putBuffer(data);
  else w.putByte(fill);
  w.markValue(start, w.length);
}

function putPages(w: QemuFileWriter, pages: readonly RamPage[]): void {
  for (let i = 0; i < pages.length; i++) {
    const p = pages[i];
    if ("data" in p) putPage(w, i === 0, p.addr, p.data, 0);
    else putPage(w, i === 0, p.addr, null, p.fill);
  }
  w.putBe64(BigInt(RAM_SAVE_FLAG_EOS));
}

/** The guest RAM a source reads its pages from. */
export interface RamPageReader {
  /** False for a page never written (it reads as zero). */
  isWritten(page: number): boolean;
  /** The TARGET_PAGE_SIZE bytes of a page. */
  readPage(page: number): Uint8Array;
}

/** The fill byte of a page of one repeated byte (sent as a fill), or null (sent as its data). */
function uniformFill(data: Uint8Array): number | null {
  const b0 = data[0];
  for (let j = 1; j < data.length; j++) if (data[j] !== b0) return null;
  return b0;
}

/**
 * Visits RAM pages by number as the stream carries them: a page never written as a zero page
 * (data null, fill 0), a written page of one repeated byte as that fill byte, any other as its
 * data.
 */
function forEachRamPage(
  ram: RamPageReader,
  pages: ArrayLike<number>,
  visit: (i: number, addr: number, data: Uint8Array | null, fill: number) => void,
): void {
  for (let i = 0; i < pages.length; i++) {
    const page = pages[i];
    const addr = page * TARGET_PAGE_SIZE;
    if (!ram.isWritten(page)) {
      visit(i, addr, null, 0);
      continue;
    }
    const data = ram.readPage(page);
    const fill = uniformFill(data);
    if (fill !== null) visit(i, addr, null, fill);
    else visit(i, addr, data, 0);
  }
}

/** RAM pages by number as the stream carries them (see forEachRamPage), as RamPages. */
export function readRamPages(ram: RamPageReader, pages: ArrayLike<number>): RamPage[] {
  const out: RamPage[] = [];
  forEachRamPage(ram, pages, (_i, addr, data, fill) => {
    out.push(data !== null ? { addr, data } : { addr, fill });
  });
  return out;
}

/**
 * The page records of readRamPages(ram, pages), written as putPages writes them, without an
 * object per page (a 1 GiB guest's bulk round is 262,144 pages).
 */
function putRamPages(w: QemuFileWriter, ram: RamPageReader, pages: ArrayLike<number>): void {
  // every page record is at least its address word and a fill byte
  w.reserve(pages.length * 9);
  forEachRamPage(ram, pages, (i, addr, data, fill) => putPage(w, i === 0, addr, data, fill));
  w.putBe64(BigInt(RAM_SAVE_FLAG_EOS));
}

/** A ram PART section of one pre-copy round (qemu: ram_save_iterate). */
export function saveRamIterate(w: QemuFileWriter, pages: readonly RamPage[], nCpus: number): void {
  const id = sectionIds(nCpus).ram;
  w.putByte(QEMU_VM_SECTION_PART);
  w.putBe32(id);
  putPages(w, pages);
  putFooter(w, id);
}

/** saveRamIterate of RAM pages by number, read from `ram` (see RamPageReader). */
export function saveRamIterateFrom(
  w: QemuFileWriter,
  ram: RamPageReader,
  pages: ArrayLike<number>,
  nCpus: number,
): void {
  const id = sectionIds(nCpus).ram;
  w.putByte(QEMU_VM_SECTION_PART);
  w.putBe32(id);
  putRamPages(w, ram, pages);
  putFooter(w, id);
}

function putCpu(w: QemuFileWriter, c: CpuMigrationState): void {
  for (let i = 0; i < 32; i++) w.putBe64(c.gpr[i] ?? 0n);
  w.putBe64(c.lr);
  w.putBe64(c.ctr);
  w.putBe64(c.xer);
  w.putBe32(c.cr);
  w.putBe64(c.msr);
  w.putBe64(c.nip);
  for (let n = 0; n < 1024; n++) w.putBe64(c.spr.get(n) ?? 0n);
}

/**
 * The completion stage after the vCPUs stopped: the last dirty pages (ram END), every device's
 * state (FULL sections) and EOF (qemu: qemu_savevm_state_complete_precopy).
 */
export function saveComplete(
  w: QemuFileWriter,
  pages: readonly RamPage[],
  cpus: readonly CpuMigrationState[],
  spapr: SpaprMigrationState,
  /** The "spapr-xive" device state when the guest runs on XIVE (hw/intc/spapr_xive.c vmstate_spapr_xive). */
  xive?: SpaprXiveMigrationState,
): void {
  const ids = sectionIds(cpus.length);
  w.putByte(QEMU_VM_SECTION_END);
  w.putBe32(ids.ram);
  putPages(w, pages);
  putFooter(w, ids.ram);
  for (const c of cpus) {
    putSectionFull(
      w,
      QEMU_VM_SECTION_FULL,
      ids.cpuCommon(c.index),
      "cpu_common",
      c.index,
      SECTION_VERSIONS.cpu_common,
    );
    w.value(() => {
      w.putBe32(c.halted ? 1 : 0);
      w.putBe32(0); // exception_index
    });
    putFooter(w, ids.cpuCommon(c.index));
    putSectionFull(w, QEMU_VM_SECTION_FULL, ids.cpu(c.index), "cpu", c.index, SECTION_VERSIONS.cpu);
    w.value(() => putCpu(w, c));
    putFooter(w, ids.cpu(c.index));
  }
  putSectionFull(w, QEMU_VM_SECTION_FULL, ids.spapr, "spapr", 0, SECTION_VERSIONS.spapr);
  w.value(() => {
    w.putBe32(0); // VMSTATE_UNUSED_BUFFER of the old rtc_offset field
    w.putBe64(spapr.guestTimebase);
    w.putBe64(spapr.timeOfTheDayNs);
  });
  for (const [name, level] of spapr.caps) {
    w.putByte(QEMU_VM_SUBSECTION);
    w.putCountedString(`spapr/cap/${name}`);
    w.putBe32(1);
    w.value(() => w.putByte(level));
  }
  const ov5 = spapr.ov5Cas ?? new Uint8Array(0);
  if (ov5.some((b) => b !== 0)) {
    w.putByte(QEMU_VM_SUBSECTION);
    w.putCountedString(OV5_CAS_SUBSECTION);
    w.putBe32(1);
    w.value(() => {
      w.putByte(ov5.length);
      for (const b of ov5) w.putByte(b);
    });
  }
  putFooter(w, ids.spapr);
  if (xive !== undefined) {
    putSectionFull(w, QEMU_VM_SECTION_FULL, ids.xive, "spapr-xive", 0, SECTION_VERSIONS["spapr-xive"]);
    w.value(() => putXive(w, xive));
    putFooter(w, ids.xive);
  }
  w.putByte(QEMU_VM_EOF);
}

// ------------------------------------------------------------------------------------------------
// Loading (qemu: migration/savevm.c qemu_loadvm_state)
// ------------------------------------------------------------------------------------------------

/** What the destination offers the stream: its machine, its RAM and its vCPUs. */
export interface LoadTarget {
  readonly machineType: string;
  readonly ramSize: number;
  readonly nCpus: number;
  /** Known cap subsection names (the migName of every cap this QEMU knows). */
  readonly capNames: readonly string[];
  /** The destination has a "spapr-xive" device (its ic-mode is xive or dual). */
  readonly xive?: boolean;
  writePage(addr: number, page: RamPage): void;
}

export interface LoadedVmState {
  readonly cpus: CpuMigrationState[];
  readonly spapr: SpaprMigrationState;
  readonly pages: number;
  readonly xive?: SpaprXiveMigrationState;
}

const STRERROR: Record<string, string> = {
  EINVAL: "Invalid argument",
  EIO: "Input/output error",
  ENOENT: "No such file or directory",
  ENOTSUP: "Operation not supported",
};

function loadFailed(errno: keyof typeof STRERROR, preceding: string[]): MigrationError {
  return new MigrationError(`load of migration failed: ${STRERROR[errno]}`, { preceding });
}

/** Errors inside a section's load function (vmstate_load_state returning an errno). */
class SectionLoadError extends Error {
  constructor(
    readonly errno: keyof typeof STRERROR,
    readonly lines: string[],
  ) {
    super(lines.join("; "));
  }
}

function checkFooter(r: QemuFileReader, name: string, id: number): void {
  const b = r.getByte();
  if (b !== QEMU_VM_SECTION_FOOTER) throw loadFailed("EINVAL", [`Missing section footer for ${name}`]);
  const readId = r.getBe32();
  if (readId !== id) {
    throw loadFailed("EINVAL", [
      `Mismatched section id in footer for ${name} - read 0x${readId.toString(16)} expected 0x${id.toString(16)}`,
    ]);
  }
}

function loadPages(r: QemuFileReader, t: LoadTarget): number {
  let n = 0;
  let haveBlock = false;
  for (;;) {
    // the be64 address-and-flags word as two halves (no BigInt per page)
    const hi = r.getBe32();
    const lo = r.getBe32();
    const flags = lo & (TARGET_PAGE_SIZE - 1);
    const addr = hi * 0x1_0000_0000 + (lo - flags);
    if (flags & RAM_SAVE_FLAG_EOS) {
      if (flags !== RAM_SAVE_FLAG_EOS)
        throw new SectionLoadError("EINVAL", [
          `Unknown combination of migration flags: 0x${flags.toString(16)}`,
        ]);
      return n;
    }
    const kind = flags & ~RAM_SAVE_FLAG_CONTINUE;
    if (kind !== RAM_SAVE_FLAG_PAGE && kind !== RAM_SAVE_FLAG_ZERO) {
      throw new SectionLoadError("EINVAL", [
        `Unknown combination of migration flags: 0x${flags.toString(16)}`,
      ]);
    }
    if (!(flags & RAM_SAVE_FLAG_CONTINUE)) {
      const block = r.getCountedString();
      if (block !== SPAPR_RAM_BLOCK) {
        throw new SectionLoadError("EINVAL", [`Unknown ramblock "${block}", cannot accept migration`]);
      }
      haveBlock = true;
    } else if (!haveBlock) {
      throw new SectionLoadError("EINVAL", ["Ack, bad migration stream!"]);
    }
    if (addr + TARGET_PAGE_SIZE > t.ramSize) {
      throw new SectionLoadError("EINVAL", [`Illegal RAM offset ${addr.toString(16)}`]);
    }
    if (kind === RAM_SAVE_FLAG_PAGE) t.writePage(addr, { addr, data: r.getBuffer(TARGET_PAGE_SIZE) });
    else t.writePage(addr, { addr, fill: r.getByte() });
    n++;
  }
}

function loadRamSetup(r: QemuFileReader, t: LoadTarget): void {
  const word = r.getBe64();
  const flags = Number(word & BigInt(TARGET_PAGE_SIZE - 1));
  if (flags !== RAM_SAVE_FLAG_MEM_SIZE) {
    throw new SectionLoadError("EINVAL", [`Unknown combination of migration flags: 0x${flags.toString(16)}`]);
  }
  // the block list runs until the announced total is used up (an unsigned count in QEMU: a total
  // that does not match the blocks makes it read on into what follows)
  let total = Number(word & ~BigInt(TARGET_PAGE_SIZE - 1));
  while (total !== 0) {
    const id = r.getCountedString();
    const length = Number(r.getBe64());
    if (id !== SPAPR_RAM_BLOCK) {
      throw new SectionLoadError("EINVAL", [`Unknown ramblock "${id}", cannot accept migration`]);
    }
    if (length !== t.ramSize) {
      throw new SectionLoadError("EINVAL", [
        `Length mismatch: ${id}: 0x${length.toString(16)} in != 0x${t.ramSize.toString(16)}: Invalid argument`,
      ]);
    }
    total -= length;
  }
  const eos = r.getBe64();
  if (eos !== BigInt(RAM_SAVE_FLAG_EOS)) {
    throw new SectionLoadError("EINVAL", [`Unknown combination of migration flags: 0x${eos.toString(16)}`]);
  }
}

function loadCpu(r: QemuFileReader, index: number, halted: boolean): CpuMigrationState {
  const gpr: bigint[] = [];
  for (let i = 0; i < 32; i++) gpr.push(r.getBe64());
  const lr = r.getBe64();
  const ctr = r.getBe64();
  const xer = r.getBe64();
  const cr = r.getBe32();
  const msr = r.getBe64();
  const nip = r.getBe64();
  const spr = new Map<number, bigint>();
  for (let n = 0; n < 1024; n++) {
    const v = r.getBe64();
    if (v !== 0n) spr.set(n, v);
  }
  return { index, halted, gpr, lr, ctr, xer, cr, msr, nip, spr };
}

/**
 * Parses a complete incoming stream into the destination (qemu: qemu_loadvm_state). RAM pages go
 * to `target.writePage` as they are read; device states are returned for the machine to check
 * (caps) and apply. Throws MigrationError with QEMU's messages.
 */
export function loadVmState(bytes: Uint8Array, target: LoadTarget): LoadedVmState {
  const r = new QemuFileReader(bytes);
  const magic = r.getBe32();
  if (magic !== QEMU_VM_FILE_MAGIC) throw loadFailed("EINVAL", ["Not a migration stream"]);
  const version = r.getBe32();
  if (version === QEMU_VM_FILE_VERSION_COMPAT) {
    throw loadFailed("ENOTSUP", ["SaveVM v2 format is obsolete and don't work anymore"]);
  }
  if (version !== QEMU_VM_FILE_VERSION) throw loadFailed("ENOTSUP", ["Unsupported migration stream version"]);

  // configuration section (qemu: savevm.c qemu_loadvm_state: "Configuration section missing")
  if (r.getByte() !== QEMU_VM_CONFIGURATION) throw loadFailed("EINVAL", ["Configuration section missing"]);
  const nameLen = r.getBe32();
  if (nameLen > 256)
    throw loadFailed("EINVAL", ["error while loading state for instance 0x0 of device 'configuration'"]);
  const nameBytes = r.getBuffer(nameLen);
  const name = String.fromCharCode(...nameBytes);
  if (name !== target.machineType) {
    throw loadFailed("EINVAL", [
      `Machine type received is '${name}' and local is '${target.machineType}'`,
      "error while loading state for instance 0x0 of device 'configuration'",
    ]);
  }

  const ids = sectionIds(target.nCpus);
  const halted = new Map<number, boolean>();
  const cpus: CpuMigrationState[] = [];
  let spapr: SpaprMigrationState | undefined;
  let xive: SpaprXiveMigrationState | undefined;
  let ramStarted = false;
  let pages = 0;
  const seen = new Set<string>();
  for (;;) {
    const type = r.getByte();
    if (type === QEMU_VM_EOF) break;
    let idstr = "";
    let instance = 0;
    let id: number;
    try {
      switch (type) {
        case QEMU_VM_SECTION_START:
        case QEMU_VM_SECTION_FULL: {
          id = r.getBe32();
          idstr = r.getCountedString();
          instance = r.getBe32();
          const versionId = r.getBe32();
          const known = SECTION_VERSIONS[idstr];
          const expectedId =
            idstr === "ram"
              ? ids.ram
              : idstr === "spapr"
                ? ids.spapr
                : idstr === "spapr-xive"
                  ? ids.xive
                  : idstr === "cpu"
                    ? ids.cpu(instance)
                    : idstr === "cpu_common"
                      ? ids.cpuCommon(instance)
                      : -1;
          const instanceOk =
            idstr === "cpu" || idstr === "cpu_common" ? instance < target.nCpus : instance === 0;
          if (
            known === undefined ||
            !instanceOk ||
            (idstr === "spapr-xive" && target.xive !== true) ||
            (type === QEMU_VM_SECTION_START) !== (idstr === "ram")
          ) {
            throw loadFailed("EINVAL", [
              `Unknown savevm section or instance '${idstr}' ${instance}. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices`,
            ]);
          }
          if (versionId > known) {
            throw loadFailed("EINVAL", [`savevm: unsupported version ${versionId} for '${idstr}' v${known}`]);
          }
          // ram_load accepts version 4 only; vmstate_load_state refuses versions below
          // minimum_version_id (the current version for every section here)
          if (versionId < known) throw new SectionLoadError("EINVAL", []);
          if (id !== expectedId) {
            throw loadFailed("EINVAL", [
              `Unknown savevm section or instance '${idstr}' ${instance}. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices`,
            ]);
          }
          const key = `${idstr}/${instance}`;
          if (seen.has(key)) {
            throw new SectionLoadError("EINVAL", [`section '${idstr}' instance ${instance} sent twice`]);
          }
          seen.add(key);
          if (idstr === "ram") {
            loadRamSetup(r, target);
            ramStarted = true;
          } else if (idstr === "cpu_common") {
            const h = r.getBe32();
            r.getBe32();
            if (h > 1) throw new SectionLoadError("EINVAL", [`cpu_common: halted ${h} is not 0 or 1`]);
            halted.set(instance, h === 1);
          } else if (idstr === "cpu") {
            if (!halted.has(instance)) {
              throw new SectionLoadError("EINVAL", [`cpu ${instance} arrived before its cpu_common state`]);
            }
            cpus.push(loadCpu(r, instance, halted.get(instance) === true));
          } else if (idstr === "spapr-xive") {
            xive = loadXive(r);
          } else {
            r.getBe32();
            const guestTimebase = r.getBe64();
            const timeOfTheDayNs = r.getBe64();
            const caps = new Map<string, number>();
            let ov5Cas: Uint8Array | undefined;
            while (r.peekByte() === QEMU_VM_SUBSECTION) {
              r.getByte();
              const sub = r.getCountedString();
              const subVersion = r.getBe32();
              if (sub === OV5_CAS_SUBSECTION && subVersion === 1) {
                const n = r.getByte();
                ov5Cas = new Uint8Array(n);
                for (let i = 0; i < n; i++) ov5Cas[i] = r.getByte();
                continue;
              }
              const capName = sub.startsWith("spapr/cap/") ? sub.slice("spapr/cap/".length) : undefined;
              // qemu: vmstate_subsection_load: an unknown subsection fails the load with -ENOENT
              if (capName === undefined || !target.capNames.includes(capName) || subVersion !== 1) {
                throw new SectionLoadError("ENOENT", []);
              }
              caps.set(capName, r.getByte());
            }
            spapr = { guestTimebase, timeOfTheDayNs, caps, ...(ov5Cas !== undefined ? { ov5Cas } : {}) };
          }
          checkFooter(r, idstr, id);
          break;
        }
        case QEMU_VM_SECTION_PART:
        case QEMU_VM_SECTION_END: {
          id = r.getBe32();
          idstr = "ram";
          if (id !== ids.ram || !ramStarted) {
            throw loadFailed("EINVAL", [`Unknown savevm section ${id}`]);
          }
          pages += loadPages(r, target);
          checkFooter(r, "ram", id);
          break;
        }
        default:
          throw loadFailed("EINVAL", [`Unknown savevm section type ${type}`]);
      }
    } catch (e) {
      if (e instanceof SectionLoadError) {
        throw loadFailed(e.errno, [
          ...e.lines,
          `error while loading state for instance 0x${instance.toString(16)} of device '${idstr}'`,
        ]);
      }
      throw e;
    }
  }
  if (r.remaining > 0)
    throw loadFailed("EINVAL", [`${r.remaining} bytes of garbage after the end of the stream`]);
  if (!spapr || cpus.length !== target.nCpus) {
    // the source never sent the device state: the stream ended early
    throw loadFailed("EIO", []);
  }
  cpus.sort((a, b) => a.index - b.index);
  return { cpus, spapr, pages, ...(xive !== undefined ? { xive } : {}) };
}

/** The subsection of the negotiated OV5 (qemu: hw/ppc/spapr.c vmstate_spapr_ov5_cas). */
export const OV5_CAS_SUBSECTION = "spapr_option_vector_ov5_cas";

// The "spapr-xive" section: the sources (routing and PQ), the queues (address, size, index,
// toggle) and each vCPU's saved OS ring words (the model's layout of spapr_xive's EAT/ENDT and the
// vCPUs' xive-tctx state)
function putXive(w: QemuFileWriter, x: SpaprXiveMigrationState): void {
  w.putBe32(x.sources.length);
  for (const s of x.sources) {
    w.putBe32(s.lisn);
    w.putByte(s.pq);
    w.putBe32(s.target);
    w.putByte(s.priority);
    w.putBe32(s.eisn);
    w.putByte(s.masked ? 1 : 0);
  }
  w.putBe32(x.queues.length);
  for (const q of x.queues) {
    w.putBe32(q.server);
    w.putByte(q.priority);
    w.putByte(q.qshift);
    w.putBe64(q.qaddr);
    w.putBe32(q.qindex);
    w.putByte(q.qtoggle);
  }
  w.putBe32(x.vpState.length);
  for (const v of x.vpState) {
    w.putBe32(v.vcpu);
    w.putBe64(v.w01);
  }
}

function loadXive(r: QemuFileReader): SpaprXiveMigrationState {
  const sources: SpaprXiveMigrationState["sources"][number][] = [];
  const queues: SpaprXiveMigrationState["queues"][number][] = [];
  const vpState: { vcpu: number; w01: bigint }[] = [];
  const count = (what: string) => {
    const n = r.getBe32();
    if (n > 0x10000)
      throw new SectionLoadError("EINVAL", [`spapr-xive: ${n} ${what} is more than the machine has`]);
    return n;
  };
  for (let i = count("sources"); i > 0; i--) {
    const lisn = r.getBe32();
    const pq = r.getByte();
    const target = r.getBe32();
    const priority = r.getByte();
    const eisn = r.getBe32();
    sources.push({ lisn, pq, target, priority, eisn, masked: r.getByte() !== 0 });
  }
  for (let i = count("queues"); i > 0; i--) {
    const server = r.getBe32();
    const priority = r.getByte();
    const qshift = r.getByte();
    const qaddr = r.getBe64();
    const qindex = r.getBe32();
    queues.push({ server, priority, qshift, qaddr, qindex, qtoggle: r.getByte() });
  }
  for (let i = count("vCPU contexts"); i > 0; i--) {
    const vcpu = r.getBe32();
    vpState.push({ vcpu, w01: r.getBe64() });
  }
  return { sources, queues, vpState };
}
