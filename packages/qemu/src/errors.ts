// Errors as QEMU reports them: one line on stderr prefixed with the program name, an optional hint
// on the following lines (qemu: util/error-report.c error_report, qapi/error.c error_append_hint).

/** The program name QEMU prefixes its messages with (qemu: util/error-report.c error_vprintf). */
export const QEMU_PROGRAM = "qemu-system-ppc64";

/**
 * An error QEMU reports before exiting (or, for QMP commands and migration, returns as error-desc).
 * `message` is exactly what real QEMU prints on stderr (without the final newline): the program name,
 * an optional location (the option being parsed, e.g. "-m foo"), the reason, then any hint lines.
 */
export class QemuError extends Error {
  override readonly name: string = "QemuError";
  /** The reason alone, as error_setg() formats it (QMP's "desc"). */
  readonly reason: string;
  /** Hint lines appended with error_append_hint(), e.g. "Try appending -machine cap-htm=off". */
  readonly hint: string | undefined;
  /** The command-line location QEMU names, e.g. "-m foo" (loc_push_none otherwise). */
  readonly location: string | undefined;

  /** Earlier error_report() lines QEMU printed on the way to this error (e.g. the cause of a failed load). */
  readonly preceding: readonly string[];

  constructor(
    reason: string,
    options: { hint?: string; location?: string; preceding?: readonly string[] } = {},
  ) {
    const loc = options.location === undefined ? "" : `${options.location}: `;
    const hint = options.hint === undefined ? "" : `\n${options.hint}`;
    const before = (options.preceding ?? []).map((l) => `${QEMU_PROGRAM}: ${l}\n`).join("");
    super(`${before}${QEMU_PROGRAM}: ${loc}${reason}${hint}`);
    this.preceding = options.preceding ?? [];
    this.reason = reason;
    this.hint = options.hint;
    this.location = options.location;
  }
}

/** Errors of the incoming or outgoing migration stream (qemu: migration/savevm.c, migration/migration.c). */
export class MigrationError extends QemuError {
  override readonly name: string = "MigrationError";
}

/** A QMP command error: class and desc as QMP returns them (qemu: qapi/qmp-dispatch.c). */
export class QmpError extends Error {
  override readonly name: string = "QmpError";
  constructor(
    readonly errorClass: "GenericError" | "CommandNotFound" | "DeviceNotActive",
    readonly desc: string,
  ) {
    super(desc);
  }
}
