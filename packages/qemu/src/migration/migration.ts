// Live migration between two QEMUs: pre-copy rounds of dirty RAM paced by the bandwidth, then
// stop-and-copy of the last pages and the device state; the destination loads the stream and checks
// the capabilities. Only with the return-path capability does the source hear how the load went:
// without it (QEMU's default) a refused stream leaves the source "completed" in postmigrate.
// qemu: migration/migration.c (migration_thread, migration_iteration_run, migration_completion,
//       MIGRATION_STATUS_*, the 32 MiB/s default max-bandwidth and 300 ms downtime-limit),
//       migration_completion + await_return_path_close_on_source (the return path),
//       migration/ram.c (ram_save_iterate, migration_bitmap_sync), hw/ppc/spapr.c spapr_post_load,
//       hw/ppc/spapr_caps.c spapr_caps_post_migration, target/ppc/kvm.c kvm_arch_get/put_registers.

import {
  KVM_REG_PPC_AMR,
  KVM_REG_PPC_BESCR,
  KVM_REG_PPC_CIABR,
  KVM_REG_PPC_DAR,
  KVM_REG_PPC_DAWR,
  KVM_REG_PPC_DAWRX,
  KVM_REG_PPC_DSCR,
  KVM_REG_PPC_DSISR,
  KVM_REG_PPC_EBBHR,
  KVM_REG_PPC_EBBRR,
  KVM_REG_PPC_FSCR,
  KVM_REG_PPC_IAMR,
  KVM_REG_PPC_LPCR_64,
  KVM_REG_PPC_MMCR0,
  KVM_REG_PPC_MMCR1,
  KVM_REG_PPC_MMCR2,
  KVM_REG_PPC_MMCRA,
  KVM_REG_PPC_PID,
  KVM_REG_PPC_PPR,
  KVM_REG_PPC_PSPB,
  KVM_REG_PPC_PSSCR,
  KVM_REG_PPC_PURR,
  KVM_REG_PPC_SDAR,
  KVM_REG_PPC_SIAR,
  KVM_REG_PPC_SIER,
  KVM_REG_PPC_SPURR,
  KVM_REG_PPC_TAR,
  KVM_REG_PPC_TIDR,
  KVM_REG_PPC_UAMOR,
  KVM_REG_PPC_VRSAVE,
  KVM_REG_PPC_WORT,
} from "@stopsim/host";
import { capByIndex, SPAPR_CAP_HPT_MAXPAGESIZE, SPAPR_CAP_NUM } from "../caps.js";
import { MigrationError } from "../errors.js";
import type { KvmRegs } from "../kvm.js";
import { capsOfBuild } from "../machine.js";
import type { Qemu } from "../spapr.js";
import { QemuFileWriter } from "./qemu-file.js";
import {
  type CpuMigrationState,
  type LoadedVmState,
  readRamPages,
  saveComplete,
  saveHeader,
  saveRamIterateFrom,
  saveRamSetup,
  TARGET_PAGE_SIZE,
} from "./savevm.js";

export type MigrationStatus = "none" | "setup" | "active" | "device" | "completed" | "failed" | "cancelled";

export interface MigrationParameters {
  /** max-bandwidth in bytes per second (QEMU's default 32 MiB/s). */
  readonly maxBandwidth: number;
  /** downtime-limit in ns (QEMU's default 300 ms). */
  readonly downtimeLimitNs: number;
  /** Pre-copy rounds before stop-and-copy is forced. */
  readonly maxIterations: number;
}

/** migrate-set-capabilities (qemu: qapi/migration.json MigrationCapability), the ones modelled. */
export interface MigrationCapabilities {
  /**
   * return-path (off by default): the destination reports back to the source, which then fails the
   * migration when the destination could not load the stream.
   */
  "return-path": boolean;
}

export const MIGRATION_CAPABILITY_NAMES: readonly (keyof MigrationCapabilities)[] = ["return-path"];

export const DEFAULT_MIGRATION_PARAMETERS: MigrationParameters = {
  maxBandwidth: 32 * 1024 * 1024,
  downtimeLimitNs: 300_000_000,
  maxIterations: 30,
};

/** query-migrate (qemu: qapi/migration.json MigrationInfo). */
export interface MigrationInfo {
  readonly status: MigrationStatus;
  readonly "error-desc"?: string;
  readonly "total-time"?: number;
  readonly downtime?: number;
  readonly ram?: {
    transferred: number;
    total: number;
    "dirty-sync-count": number;
    "dirty-pages-rate": number;
  };
}

/** What goes wrong on the migration channel. */
export interface ChannelFault {
  /** The destination dies once this many bytes reached it. */
  readonly crashDestinationAfterBytes?: number;
  /**
   * The channel alters the stream on its way (corruption, truncation): it gets the bytes the
   * source sent and the [start, end) ranges of value bytes in them (QemuFileWriter.valueRanges).
   */
  readonly alter?: (bytes: Uint8Array, valueRanges: readonly (readonly [number, number])[]) => Uint8Array;
}

// The SPRs QEMU registers with a ONE_REG id (qemu: target/ppc/cpu_init.c spr_register_kvm*), by
// env.spr[] number, with the ids of the host's uapi (linux: arch/powerpc/include/uapi/asm/kvm.h)
export const ONE_REG_SPRS: readonly (readonly [number, bigint])[] = [
  [17, KVM_REG_PPC_DSCR],
  [309, KVM_REG_PPC_PURR],
  [308, KVM_REG_PPC_SPURR],
  [19, KVM_REG_PPC_DAR],
  [18, KVM_REG_PPC_DSISR],
  [29, KVM_REG_PPC_AMR],
  [157, KVM_REG_PPC_UAMOR],
  [795, KVM_REG_PPC_MMCR0],
  [798, KVM_REG_PPC_MMCR1],
  [786, KVM_REG_PPC_MMCRA],
  [785, KVM_REG_PPC_MMCR2],
  [796, KVM_REG_PPC_SIAR],
  [797, KVM_REG_PPC_SDAR],
  [784, KVM_REG_PPC_SIER],
  [829, KVM_REG_PPC_IAMR],
  [153, KVM_REG_PPC_FSCR],
  [159, KVM_REG_PPC_PSPB],
  [804, KVM_REG_PPC_EBBHR],
  [805, KVM_REG_PPC_EBBRR],
  [806, KVM_REG_PPC_BESCR],
  [815, KVM_REG_PPC_TAR],
  [180, KVM_REG_PPC_DAWR],
  [188, KVM_REG_PPC_DAWRX],
  [187, KVM_REG_PPC_CIABR],
  [256, KVM_REG_PPC_VRSAVE],
  [318, KVM_REG_PPC_LPCR_64],
  [896, KVM_REG_PPC_PPR],
  [48, KVM_REG_PPC_PID],
  [144, KVM_REG_PPC_TIDR],
  [895, KVM_REG_PPC_WORT],
  [855, KVM_REG_PPC_PSSCR],
];
/** env.spr[] numbers of the registers of struct kvm_regs. */
const SPR_SRR0 = 26;
const SPR_SRR1 = 27;
const SPR_PID = 48;
const SPR_SPRG0 = 272;

/** kvm_arch_get_registers: the vCPU's state out of KVM. */
export function kvmGetCpuState(q: Qemu, index: number): CpuMigrationState {
  const v = q.vcpus[index];
  const regs = v.fd.getRegs();
  const spr = new Map<number, bigint>();
  spr.set(SPR_SRR0, regs.srr0);
  spr.set(SPR_SRR1, regs.srr1);
  spr.set(SPR_PID, regs.pid);
  [regs.sprg0, regs.sprg1, regs.sprg2, regs.sprg3].forEach((x, i) => {
    spr.set(SPR_SPRG0 + i, x);
  });
  for (const [n, id] of ONE_REG_SPRS) {
    const r = v.fd.getOneReg(id);
    // registers this KVM does not offer are skipped, as kvm_get_one_spr does
    if (r.ret === 0) spr.set(n, r.value);
  }
  for (const [n, x] of [...spr]) if (x === 0n) spr.delete(n);
  return {
    index,
    halted: v.halted,
    gpr: regs.gpr.slice(0, 32),
    lr: regs.lr,
    ctr: regs.ctr,
    xer: regs.xer,
    cr: regs.cr >>> 0,
    msr: regs.msr,
    nip: regs.pc,
    spr,
  };
}

/** kvm_arch_put_registers: the state into the destination's vCPU. */
export function kvmPutCpuState(q: Qemu, c: CpuMigrationState): void {
  const v = q.vcpus[c.index];
  const s = (n: number) => c.spr.get(n) ?? 0n;
  const regs: KvmRegs = {
    pc: c.nip,
    cr: c.cr,
    ctr: c.ctr,
    lr: c.lr,
    xer: c.xer,
    msr: c.msr,
    srr0: s(SPR_SRR0),
    srr1: s(SPR_SRR1),
    pid: s(SPR_PID),
    sprg0: s(SPR_SPRG0),
    sprg1: s(SPR_SPRG0 + 1),
    sprg2: s(SPR_SPRG0 + 2),
    sprg3: s(SPR_SPRG0 + 3),
    gpr: c.gpr.slice(),
  };
  const r = v.fd.setRegs(regs);
  if (r < 0) throw new MigrationError(`KVM_SET_REGS failed: errno ${-r}`);
  // every registered SPR is put (kvm_put_one_spr), errors ignored as QEMU does
  for (const [n, id] of ONE_REG_SPRS) v.fd.setOneReg(id, s(n));
  v.halted = c.halted;
}

/**
 * The destination's post-load: spapr_caps_post_migration compares the source's levels (the
 * subsections, or this machine's defaults where none came) with this QEMU's effective levels.
 */
export function spaprCapsPostMigration(q: Qemu, loaded: LoadedVmState): string[] {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (let i = 0; i < SPAPR_CAP_NUM; i++) {
    const cap = capByIndex(i);
    const mig = loaded.spapr.caps.get(cap.migName);
    const src = mig ?? q.defaultCaps[i];
    const dst = q.caps[i];
    if (src > dst)
      errors.push(`cap-${cap.name} higher level (${src}) in incoming stream than on destination (${dst})`);
    if (src < dst)
      warnings.push(`cap-${cap.name} lower level (${src}) in incoming stream than on destination (${dst})`);
  }
  if (errors.length > 0) {
    throw new MigrationError("load of migration failed: Invalid argument", {
      preceding: [...errors, "error while loading state for instance 0x0 of device 'spapr'"],
    });
  }
  return warnings;
}

/** The source's side of one outgoing migration (qemu: MigrationState). */
export class OutgoingMigration {
  status: MigrationStatus = "setup";
  errorDesc: string | undefined;
  readonly startNs: number;
  endNs: number | undefined;
  downtimeNs: number | undefined;
  transferred = 0;
  dirtySyncCount = 0;
  dirtyPagesRate = 0;
  rounds = 0;
  /** The return-path capability as it was when the migration started. */
  readonly returnPath: boolean;
  /** The stream; it records its value ranges only for a fault that alters them. */
  private readonly stream: QemuFileWriter;
  private delivered = 0;
  private wasRunning = false;
  private stopStartNs = 0;

  constructor(
    readonly src: Qemu,
    /** The destination; undefined when the connection to `uri` was refused. */
    readonly dst: Qemu | undefined,
    readonly params: MigrationParameters,
    readonly fault: ChannelFault | undefined,
    readonly uri: string = dst?.name ?? "",
  ) {
    this.startNs = src.sim.now;
    this.returnPath = src.migrationCapabilities["return-path"];
    this.stream = new QemuFileWriter({ valueRanges: fault?.alter !== undefined });
  }

  /** query-migrate. */
  info(): MigrationInfo {
    const base = { status: this.status } as MigrationInfo & Record<string, unknown>;
    // a failure the source only learnt from its return path carries no error-desc (s->error unset)
    if (this.status === "failed")
      return this.errorDesc === undefined ? base : { ...base, "error-desc": this.errorDesc };
    const now = this.endNs ?? this.src.sim.now;
    return {
      ...base,
      "total-time": Math.round((now - this.startNs) / 1e6),
      ...(this.downtimeNs !== undefined ? { downtime: Math.round(this.downtimeNs / 1e6) } : {}),
      ram: {
        transferred: this.transferred,
        total: this.src.config.ramSize,
        "dirty-sync-count": this.dirtySyncCount,
        "dirty-pages-rate": this.dirtyPagesRate,
      },
    };
  }

  /** migrate: setup, then the first round. */
  start(): void {
    const { src, dst } = this;
    this.status = "setup";
    // the destination's socket: only a QEMU that listens (-incoming URI, or migrate-incoming after
    // -incoming defer) accepts the connection (qemu: io/channel-socket.c qio_channel_socket_connect_sync)
    if (dst?.incomingUri === undefined) {
      this.fail(`Failed to connect to '${this.uri.replace(/^tcp:/, "")}': Connection refused`);
      return;
    }
    saveHeader(this.stream, src.config.machineType.name);
    saveRamSetup(this.stream, src.config.ramSize, src.vcpus.length);
    src.ram.startDirtyLog();
    this.status = "active";
    // the bulk stage: every page of RAM (pages never written go as zero pages)
    const all = new Uint32Array(src.config.ramSize / TARGET_PAGE_SIZE);
    for (let p = 0; p < all.length; p++) all[p] = p;
    this.sendRound(all);
  }

  private sendRound(pages: ArrayLike<number>): void {
    const before = this.stream.length;
    saveRamIterateFrom(this.stream, this.src.ram, pages, this.src.vcpus.length);
    this.rounds++;
    this.transmit(before, () => this.afterRound());
  }

  /** Sends stream bytes from `from` to the end at max-bandwidth, then calls `then`. */
  private transmit(from: number, then: () => void): void {
    const bytes = this.stream.length - from;
    const ns = Math.ceil((bytes / this.params.maxBandwidth) * 1e9);
    this.src.sim.schedule(
      ns,
      () => {
        if (this.status === "failed" || this.status === "cancelled") return;
        const dst = this.peer();
        const limit = this.fault?.crashDestinationAfterBytes;
        if ((limit !== undefined && this.stream.length > limit) || dst.exitStatus !== undefined) {
          this.transferred = Math.min(limit ?? this.delivered, this.stream.length);
          if (dst.exitStatus === undefined) {
            dst.incomingFailed("destination terminated while receiving the stream");
          }
          this.fail("Unable to write to socket: Connection reset by peer");
          return;
        }
        this.transferred = this.stream.length;
        this.delivered = this.stream.length;
        then();
      },
      `${this.src.name}.migration.send`,
    );
  }

  // qemu: migration_iteration_run: sync the dirty bitmap, then iterate or complete
  private afterRound(): void {
    const dirty = this.src.ram.syncDirtyLog();
    this.dirtySyncCount++;
    const pendingNs = ((dirty.length * (TARGET_PAGE_SIZE + 8)) / this.params.maxBandwidth) * 1e9;
    this.dirtyPagesRate = dirty.length;
    if (pendingNs <= this.params.downtimeLimitNs || this.rounds >= this.params.maxIterations) {
      this.complete(dirty);
    } else {
      this.sendRound(dirty);
    }
  }

  // qemu: migration_completion: stop the guest, send the rest and the devices
  private complete(alreadyDirty: number[]): void {
    const { src } = this;
    this.wasRunning = src.running;
    this.stopStartNs = src.sim.now;
    this.status = "device";
    src.stop("finish-migrate", () => {
      const last = new Set([...alreadyDirty, ...src.ram.syncDirtyLog()]);
      const cpus = src.vcpus.map((_, i) => kvmGetCpuState(src, i));
      const caps = new Map<string, number>();
      // SPAPR_CAP_MIG_STATE needed(): caps set on the command line to a non-default level, and
      // always hpt-max-page-size for machine types from pseries-4.1 (hw/ppc/spapr_caps.c
      // cap_hpt_maxpagesize_migrate_needed: !pre_4_1_migration; every machine type modelled here)
      for (const cap of capsOfBuild(src.build)) {
        const set = src.config.cmdLineCaps.has(cap.index);
        if (
          cap.index === SPAPR_CAP_HPT_MAXPAGESIZE ||
          (set && src.caps[cap.index] !== src.defaultCaps[cap.index])
        )
          caps.set(cap.migName, src.caps[cap.index]);
      }
      const tb = BigInt(Math.floor((src.sim.now * 512) / 1000));
      const from = this.stream.length;
      saveComplete(
        this.stream,
        readRamPages(
          src.ram,
          [...last].sort((a, b) => a - b),
        ),
        cpus,
        {
          guestTimebase: tb,
          timeOfTheDayNs: BigInt(src.sim.now),
          caps,
          ov5Cas: src.irq.ov5Cas,
        },
        // kvmppc_xive_pre_save: the XIVE state, synchronised from KVM with the vCPUs stopped
        src.irq.active === "xive" ? src.irq.xive.saveState() : undefined,
      );
      this.transmit(from, () => this.finish());
    });
  }

  /** The destination this migration connected to. */
  private peer(): Qemu {
    if (this.dst === undefined) throw new MigrationError("migration without a connected destination");
    return this.dst;
  }

  private finish(): void {
    const { src } = this;
    const dst = this.peer();
    src.ram.stopDirtyLog();
    // a view: nothing writes to the stream once it is delivered (alter gets its own copy)
    let bytes = this.stream.since(0).subarray(0, this.delivered);
    if (this.fault?.alter) bytes = this.fault.alter(bytes.slice(), this.stream.valueRanges());
    try {
      dst.loadIncoming(bytes);
    } catch (e) {
      if (!(e instanceof MigrationError)) throw e;
      // the destination printed its error and exited. With a return path the source sees the
      // channel close without the "shut" message (await_return_path_close_on_source returns an
      // error): the migration fails and migration_iteration_finish restarts the guest. Without
      // one the source has sent everything it had: it completes and stays in postmigrate.
      if (this.returnPath) {
        this.fail(undefined);
        return;
      }
    }
    this.status = "completed";
    this.endNs = src.sim.now;
    this.downtimeNs = src.sim.now - this.stopStartNs;
    src.migratedAway();
  }

  private fail(desc: string | undefined): void {
    this.status = "failed";
    this.errorDesc = desc;
    this.endNs = this.src.sim.now;
    this.src.ram.stopDirtyLog();
    if (this.src.status === "finish-migrate") {
      this.src.resumeAfterFailedMigration(this.wasRunning);
    }
  }
}
