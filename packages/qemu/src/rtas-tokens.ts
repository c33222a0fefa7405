// RTAS tokens of the pseries machine: QEMU numbers the calls it registers from RTAS_TOKEN_BASE in
// the order of the RTAS_* enumeration and publishes each in /rtas as "<name> = <token>".
// qemu: include/hw/ppc/spapr.h (RTAS_TOKEN_BASE, RTAS_DISPLAY_CHARACTER ... RTAS_IBM_NMI_INTERLOCK),
//       hw/ppc/spapr_rtas.c spapr_dt_rtas_tokens, spapr_rtas_register.

export const RTAS_TOKEN_BASE = 0x2000;

/** The RTAS calls in token order (token = RTAS_TOKEN_BASE + index). */
export const RTAS_CALL_NAMES: readonly string[] = [
  "display-character",
  "get-time-of-day",
  "set-time-of-day",
  "power-off",
  "system-reboot",
  "query-cpu-stopped-state",
  "start-cpu",
  "stop-self",
  "ibm,get-system-parameter",
  "ibm,set-system-parameter",
  "ibm,set-xive",
  "ibm,get-xive",
  "ibm,int-off",
  "ibm,int-on",
  "check-exception",
  "event-scan",
  "ibm,set-tce-bypass",
  "quiesce",
  "nvram-fetch",
  "nvram-store",
  "read-pci-config",
  "write-pci-config",
  "ibm,read-pci-config",
  "ibm,write-pci-config",
  "ibm,query-interrupt-source-number",
  "ibm,change-msi",
  "set-indicator",
  "set-power-level",
  "get-power-level",
  "get-sensor-state",
  "ibm,configure-connector",
  "ibm,os-term",
  "ibm,set-eeh-option",
  "ibm,get-config-addr-info2",
  "ibm,read-slot-reset-state2",
  "ibm,set-slot-reset",
  "ibm,configure-pe",
  "ibm,slot-error-detail",
  "ibm,query-pe-dma-window",
  "ibm,create-pe-dma-window",
  "ibm,remove-pe-dma-window",
  "ibm,reset-pe-dma-window",
  "ibm,suspend-me",
  "ibm,nmi-register",
  "ibm,nmi-interlock",
];

export function rtasToken(name: string): number {
  const i = RTAS_CALL_NAMES.indexOf(name);
  if (i < 0) throw new RangeError(`unknown RTAS call '${name}'`);
  return RTAS_TOKEN_BASE + i;
}

/** RTAS status codes (qemu: include/hw/ppc/spapr.h RTAS_OUT_*). */
export const RTAS_OUT_SUCCESS = 0;
export const RTAS_OUT_NO_ERRORS_FOUND = 1;
export const RTAS_OUT_HW_ERROR = -1;
export const RTAS_OUT_BUSY = -2;
export const RTAS_OUT_PARAM_ERROR = -3;
export const RTAS_OUT_NOT_SUPPORTED = -3;
export const RTAS_OUT_NOT_AUTHORIZED = -9002;
