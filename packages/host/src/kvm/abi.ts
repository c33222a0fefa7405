// Everything KVM's code names: the KVM uapi (./uapi.ts) and the kernel headers it shares with the
// pseries guest (hvcall.h, lppaca.h, xics.h, reg.h's logical PVRs, from @stopsim/linux).
export * from "@stopsim/linux";
export * from "./uapi.js";
