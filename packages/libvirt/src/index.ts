// @stopsim/libvirt: libvirt's QEMU driver as a management layer over @stopsim/qemu: domain
// definitions turned into QEMU command lines, QMP as the only channel to a running QEMU, live
// migration in libvirt's phases with libvirt's errors.
export * from "./domain.js";
export * from "./driver.js";
export * from "./errors.js";
export * from "./migration.js";
