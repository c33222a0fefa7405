// The machine's interrupt controller state: ic-mode, the active controller, the OV5 negotiated at
// CAS, and the KVMPPC_H_CAS / H_INT_* hypercalls QEMU handles in userspace.
// qemu: hw/ppc/spapr_irq.c (spapr_irq_init, spapr_irq_reset, spapr_irq_update_active_intc,
// spapr_irq_post_load), hw/ppc/spapr_hcall.c (h_client_architecture_support).
import type { Memory } from "@stopsim/isa";
import {
  H_FUNCTION,
  H_INT_GET_SOURCE_INFO,
  H_INT_RESET,
  H_PARAMETER,
  H_SUCCESS,
  KVMPPC_H_CAS,
} from "@stopsim/linux";
import {
  type ActiveIntc,
  CAS_FDT_HEADER_SIZE,
  casReason,
  type IcMode,
  initialIntc,
  negotiateCas,
  readArchitectureVector,
} from "./irq.js";
import type { KvmVcpuFd, KvmVmFd } from "./kvm.js";
import { SpaprXive, type SpaprXiveMigrationState } from "./spapr-xive.js";

/** H_MULTI_THREADS_ACTIVE (qemu: include/hw/ppc/spapr.h): CAS with secondaries running. */
export const H_MULTI_THREADS_ACTIVE = -9005;

/** What the machine provides to the interrupt controller code. */
export interface SpaprIrqMachine {
  /** spapr_build_fdt with the current interrupt state. */
  buildDtb(): Uint8Array;
  /** The machine's current tree becomes `dtb` (spapr->fdt_blob). */
  setDtb(dtb: Uint8Array): void;
  /** error_report(msg) + exit(EXIT_FAILURE). */
  fatal(message: string): void;
  warn(message: string): void;
  /** Whether a vCPU other than `vcpuId` is running (not halted). */
  otherVcpusActive(vcpuId: number): boolean;
}

/** What CAS decided, for `stopsim boot`. */
export interface CasRecord {
  readonly intc: ActiveIntc;
  readonly reason: string;
  readonly guestXive: boolean;
}

export class SpaprIrq {
  active: ActiveIntc;
  /** spapr->ov5_cas by byte number (empty before CAS). */
  ov5Cas: Uint8Array = new Uint8Array(27);
  /** The last CAS, or null before any. */
  cas: CasRecord | null = null;
  readonly xive: SpaprXive;

  constructor(
    readonly mode: IcMode,
    vm: KvmVmFd,
    private readonly ram: Memory,
    vcpus: readonly { readonly id: number; readonly fd: KvmVcpuFd }[],
    nrServers: number,
    private readonly machine: SpaprIrqMachine,
  ) {
    this.active = initialIntc(mode);
    this.xive = new SpaprXive(vm, ram, vcpus, nrServers);
  }

  /** The fdt input's `irq`. */
  fdt(): { mode: IcMode; active: ActiveIntc; ov5Cas: Uint8Array } {
    return { mode: this.mode, active: this.active, ov5Cas: this.ov5Cas };
  }

  /** spapr_irq_reset: ic-mode=xive connects XIVE at once (dual and xics start with XICS). */
  reset(): void {
    if (this.active === "xive") this.xive.activate();
  }

  /** The hcalls of this part of the machine; undefined for the others. */
  hcall(vcpuId: number, nr: number, args: bigint[]): number | undefined {
    if (nr === KVMPPC_H_CAS) return this.hCas(vcpuId, args);
    if (nr >= H_INT_GET_SOURCE_INFO && nr <= H_INT_RESET && (nr & 3) === 0) return this.xive.hcall(nr, args);
    return undefined;
  }

  // h_client_architecture_support(vec = r4, fdt_buf = r5, fdt_bufsize = r6)
  private hCas(vcpuId: number, args: bigint[]): number {
    const vec = Number(BigInt.asUintN(60, args[0] ?? 0n)); // ppc64_phys_to_real
    const fdtBuf = Number(args[1] ?? 0n);
    let bufSize = Number(args[2] ?? 0n);
    if (bufSize < CAS_FDT_HEADER_SIZE) {
      this.machine.fatal(`SLOF provided insufficient CAS buffer ${bufSize} (min: ${CAS_FDT_HEADER_SIZE})`);
      return H_PARAMETER;
    }
    bufSize -= CAS_FDT_HEADER_SIZE;
    if (this.machine.otherVcpusActive(vcpuId)) {
      this.machine.warn("guest has multiple active vCPUs at CAS, which is not allowed");
      return H_MULTI_THREADS_ACTIVE;
    }
    if (!this.ram.contains(vec, 8)) return H_PARAMETER;
    const r = negotiateCas(
      this.mode,
      readArchitectureVector((a) => (this.ram.contains(a, 1) ? this.ram.read8(a) : 0), vec),
    );
    if (r.kind === "h_parameter") {
      this.machine.warn(r.warning);
      return H_PARAMETER;
    }
    if (r.kind === "exit") {
      this.machine.fatal(r.error);
      return H_PARAMETER;
    }
    this.ov5Cas = r.ov5Cas;
    this.cas = { intc: r.intc, guestXive: r.guestXive, reason: casReason(this.mode, r) };
    this.updateActiveIntc(r.intc);
    const dtb = this.machine.buildDtb();
    if (dtb.length > bufSize) return H_PARAMETER;
    this.machine.setDtb(dtb);
    // SpaprDeviceTreeUpdateHeader { version_id = 1 } then the packed tree
    this.ram.write32(fdtBuf, 1, false);
    this.ram.load(fdtBuf + CAS_FDT_HEADER_SIZE, dtb);
    return H_SUCCESS;
  }

  /** spapr_irq_update_active_intc */
  private updateActiveIntc(intc: ActiveIntc): void {
    if (intc === this.active && (intc !== "xive" || this.xive.active)) return;
    if (intc === "xive") this.xive.activate();
    else this.xive.deactivate();
    this.active = intc;
  }

  /** The interrupt part of the migration stream: ov5_cas and, with XIVE, its state. */
  saveState(): IrqMigrationState {
    return { ov5Cas: this.ov5Cas.slice(), xive: this.active === "xive" ? this.xive.saveState() : null };
  }

  /**
   * spapr_post_load -> spapr_irq_post_load: the destination takes the source's negotiated OV5 and
   * active controller. Returns an error message when this machine cannot provide it.
   */
  loadState(s: IrqMigrationState): string | null {
    this.ov5Cas = s.ov5Cas.slice();
    if (s.xive !== null) {
      if (this.mode === "xics") {
        // the destination has no spapr-xive device: its section is unknown
        return "Unknown savevm section or instance 'spapr-xive' 0. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices";
      }
      this.xive.loadState(s.xive);
      this.active = "xive";
    } else {
      if (this.mode === "xive") {
        return "Unknown savevm section or instance 'icp' 0. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices";
      }
      this.xive.deactivate();
      this.active = "xics";
    }
    this.machine.setDtb(this.machine.buildDtb());
    return null;
  }

  /** H_FUNCTION for hcalls of a controller not active (what the tables answer). */
  static readonly NOT_ACTIVE = H_FUNCTION;
}

export interface IrqMigrationState {
  readonly ov5Cas: Uint8Array;
  readonly xive: SpaprXiveMigrationState | null;
}
