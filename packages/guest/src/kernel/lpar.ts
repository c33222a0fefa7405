// linux: arch/powerpc/platforms/pseries/lpar.c vpa_init / register_vpa and arch/powerpc/kernel/rtas.c
// rtas_token, rtas_busy_delay_time: the partition's VPA, the RTAS tokens of the device tree and
// the busy statuses a caller retries.

import {
  H_REGISTER_VPA,
  H_VPA_FUNC_SHIFT,
  H_VPA_REG_VPA,
  LPPACA_OLD_SHARED_PROC,
  LPPACA_OLD_STATUS_OFFSET,
  LPPACA_SIZE,
  LPPACA_SIZE_OFFSET,
} from "@stopsim/linux";
import {
  RTAS_BUSY,
  RTAS_EXTENDED_DELAY_MAX,
  RTAS_EXTENDED_DELAY_MIN,
  RTAS_UNKNOWN_SERVICE,
} from "../linux/papr.js";
import type { GuestCpu, KCode } from "./cpu.js";
import { lppacaAddr } from "./image.js";
import type { GuestKernel } from "./kernel.js";
import { readRam } from "./setup.js";

// linux: arch/powerpc/platforms/pseries/lpar.c vpa_init -> register_vpa
export function* vpaInit(kernel: GuestKernel, cpu: GuestCpu): KCode {
  const ram = readRam(kernel);
  const addr = lppacaAddr(cpu.logical);
  for (let i = 0; i < LPPACA_SIZE; i++) ram.write8(addr + i, 0);
  ram.write8(addr + LPPACA_SIZE_OFFSET, (LPPACA_SIZE >> 8) & 0xff);
  ram.write8(addr + LPPACA_SIZE_OFFSET + 1, LPPACA_SIZE & 0xff);
  const bp = kernel.boot;
  if (bp === null || !bp.fwFeatures.has("FW_FEATURE_SPLPAR")) return;
  const [rc] = yield* cpu.hcall(
    H_REGISTER_VPA,
    BigInt(H_VPA_REG_VPA) << H_VPA_FUNC_SHIFT,
    BigInt(cpu.hwId),
    BigInt(addr),
  );
  if (rc !== 0n) {
    kernel.console.printk("err", `WARNING: VPA registration for cpu ${cpu.hwId} failed with ${rc}`);
  }
}

/**
 * lppaca_shared_proc(): FW_FEATURE_SPLPAR and the bit the hypervisor set in our VPA, read back
 * from guest memory (the lppaca's __old_status byte).
 */
export function readVpaStatus(kernel: GuestKernel, cpu: GuestCpu): { shared: boolean; oldStatus: number } {
  const bp = kernel.boot;
  if (bp === null || !bp.fwFeatures.has("FW_FEATURE_SPLPAR")) return { shared: false, oldStatus: 0 };
  const b = readRam(kernel).read8(lppacaAddr(cpu.logical) + LPPACA_OLD_STATUS_OFFSET);
  return { shared: (b & LPPACA_OLD_SHARED_PROC) !== 0, oldStatus: b };
}

export function rtasToken(kernel: GuestKernel, name: string): number {
  return kernel.boot?.rtasTokens.get(name) ?? RTAS_UNKNOWN_SERVICE;
}

/**
 * How long an RTAS status asks the caller to wait before calling again, in ms; 0: not busy
 * (linux: arch/powerpc/kernel/rtas.c rtas_busy_delay_time).
 */
export function rtasBusyDelayTime(status: number): number {
  if (status === RTAS_BUSY) return 1;
  if (status >= RTAS_EXTENDED_DELAY_MIN && status <= RTAS_EXTENDED_DELAY_MAX)
    return 10 ** (status - RTAS_EXTENDED_DELAY_MIN);
  return 0;
}
