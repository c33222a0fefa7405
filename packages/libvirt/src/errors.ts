// libvirt's error object and its messages.
// libvirt: include/libvirt/virterror.h (virErrorNumber, virErrorDomain, virErrorLevel),
//          src/util/virerror.c virErrorMsg (the prefix each code puts before the detail) and
//          virReportErrorHelper.

/** virErrorNumber values used here (libvirt: include/libvirt/virterror.h). */
export const VIR_ERR_OK = 0;
export const VIR_ERR_INTERNAL_ERROR = 1;
export const VIR_ERR_OPERATION_FAILED = 9;
export const VIR_ERR_NO_DOMAIN = 42;
export const VIR_ERR_OPERATION_INVALID = 55;
export const VIR_ERR_OPERATION_ABORTED = 78;

/** virErrorDomain: who raised it. */
export const VIR_FROM_NONE = 0;
export const VIR_FROM_QEMU = 10;

/** virErrorLevel. */
export const VIR_ERR_NONE = 0;
export const VIR_ERR_WARNING = 1;
export const VIR_ERR_ERROR = 2;

/** libvirt: src/util/virerror.c virErrorMsg: the text each code puts before the detail. */
export function virErrorMsg(code: number, detail: string): string {
  switch (code) {
    case VIR_ERR_INTERNAL_ERROR:
      return `internal error: ${detail}`;
    case VIR_ERR_OPERATION_FAILED:
      return `operation failed: ${detail}`;
    case VIR_ERR_NO_DOMAIN:
      return `Domain not found: ${detail}`;
    case VIR_ERR_OPERATION_INVALID:
      return `Requested operation is not valid: ${detail}`;
    case VIR_ERR_OPERATION_ABORTED:
      return `operation aborted: ${detail}`;
    default:
      return detail;
  }
}

/** A libvirt error as virGetLastError() returns it (virError: code, domain, message, level). */
export class VirError extends Error {
  override readonly name: string = "VirError";
  readonly level = VIR_ERR_ERROR;

  constructor(
    /** virErrorNumber. */
    readonly code: number,
    /** virErrorDomain (VIR_FROM_QEMU for the QEMU driver). */
    readonly domain: number,
    /** The detail virReportError was given; `message` is the full text virsh prints. */
    readonly detail: string,
  ) {
    super(virErrorMsg(code, detail));
  }

  /** The plain record of virError's public fields. */
  toJSON(): { code: number; domain: number; level: number; message: string } {
    return { code: this.code, domain: this.domain, level: this.level, message: this.message };
  }
}

/** virReportError(VIR_ERR_*, ...) from the QEMU driver (VIR_FROM_THIS = VIR_FROM_QEMU). */
export function qemuError(code: number, detail: string): VirError {
  return new VirError(code, VIR_FROM_QEMU, detail);
}
