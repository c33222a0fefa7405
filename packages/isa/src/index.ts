export * from "./asm.js";
export * from "./chips.js";
export * from "./codec.js";
export * from "./core.js";
export * from "./errata.js";
export * from "./kthread.js";
export * from "./memory.js";
export {
  BO_KIND_BC,
  BO_KIND_CTR,
  BO_KIND_LR,
  boValid,
  type FieldDef,
  FORMS,
  type Form,
  formId,
  identify,
} from "./opcodes.js";
export * from "./pnv.js";
export * from "./registers.js";
export * from "./smt.js";
export {
  ACC_HV,
  ACC_OS,
  ACC_UNDEFINED,
  ACC_USER,
  implementedSprs,
  type SprAccess,
  type SprInfo,
  sprInfo,
  sprIsPrivilegedNumber,
} from "./sprs.js";
export {
  EXEC_INTERRUPT,
  EXEC_OK,
  EXEC_STOPPED,
  type ExecResult,
  HwThread,
  type HwThreadOptions,
  InstructionWordError,
  type InterruptRecord,
  type RunResult,
  type SoftwareLevel,
  SprAccessError,
  type StopState,
  sprStoreIndex,
  type ThreadSoftware,
  ThreadStateError,
  UnknownSprError,
  type WakeReason,
} from "./thread.js";
export * from "./xive/index.js";
