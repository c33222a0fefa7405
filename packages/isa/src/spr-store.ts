// qemu: target/ppc/cpu.h CPUPPCState spr[]: where each implemented SPR's value lives in a thread.

import { implementedSprs, SPR_CANONICAL } from "./sprs.js";

/** Dense slot per implemented SPR number (-1 otherwise): the per-thread bigint caches' index. */
export const SPR_SLOT = new Int16Array(1024).fill(-1);
export const SPR_SLOTS = implementedSprs().length;
implementedSprs().forEach((info, i) => {
  SPR_SLOT[info.spr] = i;
});

/**
 * Where an SPR's value lives in HwThread.sprHi/sprLo: the dense slot of its canonical SPR (aliases
 * such as PPR32 share PPR's), -1 for numbers the model does not implement. Dense storage keeps a
 * thread's SPR file at a few hundred words, which matters when thousands of threads are simulated.
 */
export const SPR_STORE = new Int16Array(1024).fill(-1);
for (let n = 0; n < 1024; n++) if (SPR_SLOT[n] >= 0) SPR_STORE[n] = SPR_SLOT[SPR_CANONICAL[n]];

export function storeOf(spr: number): number {
  const slot = SPR_SLOT[spr];
  if (slot < 0) throw new Error(`internal: SPR ${spr} is used by the thread but not implemented`);
  return slot;
}

export const S_XER = storeOf(1);
export const S_LR = storeOf(8);
export const S_CTR = storeOf(9);
export const S_SRR0 = storeOf(26);
export const S_SRR1 = storeOf(27);
export const S_FSCR = storeOf(153);
export const S_UAMOR = storeOf(157);
export const S_HFSCR = storeOf(190);
export const S_HDSISR = storeOf(306);
export const S_HDAR = storeOf(307);
export const S_HSRR0 = storeOf(314);
export const S_HSRR1 = storeOf(315);
export const S_LPCR = storeOf(318);
export const S_HEIR = storeOf(339);
export const S_AMOR = storeOf(349);
export const S_BESCR = storeOf(806);
export const S_PSSCR = storeOf(855);
export const S_PPR = storeOf(896);
export const S_CTRL = storeOf(152);
export const S_DAR = storeOf(19);
export const S_TAR = storeOf(815);

/** Index of SPR `spr` in HwThread.sprHi/sprLo (aliases share their canonical SPR's), -1 if not implemented. */
export function sprStoreIndex(spr: number): number {
  return spr >>> 0 === spr && spr < 1024 ? SPR_STORE[spr] : -1;
}
