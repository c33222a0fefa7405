// Error types of the flattened device tree codec and of the in-memory tree.
// Error codes follow libfdt (dtc: libfdt/libfdt.h, FDT_ERR_*), so a decoding failure names
// the same class of problem libfdt's fdt_check_header()/fdt_check_full() would report.

/** libfdt error numbers (dtc: libfdt/libfdt.h). libfdt functions return their negation. */
export const FDT_ERR = {
  FDT_ERR_NOTFOUND: 1,
  FDT_ERR_EXISTS: 2,
  FDT_ERR_NOSPACE: 3,
  FDT_ERR_BADOFFSET: 4,
  FDT_ERR_BADPATH: 5,
  FDT_ERR_BADPHANDLE: 6,
  FDT_ERR_BADSTATE: 7,
  FDT_ERR_TRUNCATED: 8,
  FDT_ERR_BADMAGIC: 9,
  FDT_ERR_BADVERSION: 10,
  FDT_ERR_BADSTRUCTURE: 11,
  FDT_ERR_BADLAYOUT: 12,
  FDT_ERR_INTERNAL: 13,
  FDT_ERR_BADNCELLS: 14,
  FDT_ERR_BADVALUE: 15,
  FDT_ERR_BADOVERLAY: 16,
  FDT_ERR_NOPHANDLES: 17,
  FDT_ERR_BADFLAGS: 18,
  FDT_ERR_ALIGNMENT: 19,
} as const;

export type FdtErrorCode = keyof typeof FDT_ERR;

/**
 * The only error decodeDtb() throws: the blob is not a valid flattened device tree.
 * `code` is the libfdt error name, `offset` the byte offset in the blob where the problem
 * was found, `reason` a sentence saying what is wrong there.
 */
export class FdtError extends Error {
  override readonly name = "FdtError";
  readonly code: FdtErrorCode;
  readonly offset: number;
  readonly reason: string;

  constructor(code: FdtErrorCode, offset: number, reason: string) {
    super(`${code} at offset ${offset}: ${reason}`);
    this.code = code;
    this.offset = offset;
    this.reason = reason;
  }

  /** The libfdt errno (positive; libfdt returns -errno). */
  get errno(): number {
    return FDT_ERR[this.code];
  }
}

/** Misuse of the in-memory tree API: invalid names, missing nodes, wrong property sizes. */
export class DeviceTreeError extends Error {
  override readonly name: string = "DeviceTreeError";
}

/** A property was read as a type its length or content does not allow. */
export class PropertyFormatError extends DeviceTreeError {
  override readonly name = "PropertyFormatError";
}
