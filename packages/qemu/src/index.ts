// @stopsim/qemu: the QEMU pseries machine (options, machine types, spapr capabilities, guest device
// tree, KVM vCPUs, userspace hcalls and RTAS, QMP-like API, live migration stream).

// the PAPR numbers QEMU's hcalls use, from the kernel's hvcall.h (one copy for every layer)
export {
  H_GET_TERM_CHAR,
  H_HARDWARE,
  H_P2,
  H_P3,
  H_P4,
  H_PUT_TERM_CHAR,
  H_SET_MODE_RESOURCE_LE,
} from "@stopsim/linux";
export * from "./caps.js";
export * from "./cpu-models.js";
export { MigrationError, QEMU_PROGRAM, QemuError, QmpError } from "./errors.js";
export * from "./fdt.js";
export * from "./irq.js";
export * from "./kvm.js";
export * from "./machine.js";
export * from "./migration/migration.js";
export { QemuFileReader, QemuFileWriter, type QemuFileWriterOptions } from "./migration/qemu-file.js";
export * from "./migration/savevm.js";
export {
  optionsObjectToArgv,
  type ParsedCommandLine,
  parseCommandLine,
  type QemuConfig,
  type QemuOptionsObject,
  type SmpConfig,
  splitCommandLine,
} from "./options.js";
export { GuestRam } from "./ram.js";
export * from "./rtas-tokens.js";
export { formatSize, parseSize } from "./size.js";
export {
  FDT_MAX_SIZE,
  type GuestKernelImage,
  type HostCpuProperties,
  MigrationNetwork,
  QEMU_USERSPACE_EXIT_NS,
  Qemu,
  type QemuCreateOptions,
  type QemuHost,
  type QmpEvent,
  RTAS_MAX_ADDR,
  type RunState,
  readHostCpuProperties,
  type Vcpu,
} from "./spapr.js";
export { H_SET_MODE_ENDIAN_BIG, H_SET_MODE_ENDIAN_LITTLE, H_UNSUPPORTED_FLAG } from "./spapr-hcall.js";
export * from "./spapr-irq.js";
export * from "./spapr-xive.js";
