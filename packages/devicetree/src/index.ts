// @stopsim/devicetree: in-memory device tree, flattened device tree (DTB v17) codec, DTS printer.
export {
  bytesEqual,
  readU32,
  readU64,
  stringListBytes,
  u32Cells,
  u64Cells,
  writeU32,
  writeU64,
} from "./bytes.js";
export {
  type DtbLayoutMode,
  decodeDtb,
  type EncodeOptions,
  encodeDtb,
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_FIRST_DECODED_VERSION,
  FDT_LAST_COMP_VERSION,
  FDT_LAST_SUPPORTED_VERSION,
  FDT_MAGIC,
  FDT_NOP,
  FDT_PROP,
  FDT_VERSION,
} from "./codec.js";
export { dtcCompile, dtcDecompile, requireDtc } from "./dtc.js";
export { type FormatDtsOptions, formatDts, formatPropertyValue, guessValueType } from "./dts.js";
export { DeviceTreeError, FDT_ERR, FdtError, type FdtErrorCode, PropertyFormatError } from "./errors.js";
export {
  DeviceTree,
  type DtbLayout,
  DtNode,
  DtProperty,
  isValidNodeName,
  isValidPropertyName,
  type MemReserve,
} from "./tree.js";
