// OPAL API constants. Values from skiboot include/opal-api.h (also copied in Linux as
// arch/powerpc/include/asm/opal-api.h) and skiboot libpore/p9_stop_api.H.

/* Return codes (skiboot: include/opal-api.h) */
export const OPAL_SUCCESS = 0;
export const OPAL_PARAMETER = -1;
export const OPAL_BUSY = -2;
export const OPAL_PARTIAL = -3;
export const OPAL_CONSTRAINED = -4;
export const OPAL_CLOSED = -5;
export const OPAL_HARDWARE = -6;
export const OPAL_UNSUPPORTED = -7;
export const OPAL_PERMISSION = -8;
export const OPAL_NO_MEM = -9;
export const OPAL_RESOURCE = -10;
export const OPAL_INTERNAL_ERROR = -11;
export const OPAL_BUSY_EVENT = -12;
export const OPAL_HARDWARE_FROZEN = -13;
export const OPAL_WRONG_STATE = -14;
export const OPAL_ASYNC_COMPLETION = -15;
export const OPAL_EMPTY = -16;

/** Names of the return codes, for traces and messages. */
export const OPAL_RC_NAMES: Readonly<Record<number, string>> = {
  [OPAL_SUCCESS]: "OPAL_SUCCESS",
  [OPAL_PARAMETER]: "OPAL_PARAMETER",
  [OPAL_BUSY]: "OPAL_BUSY",
  [OPAL_PARTIAL]: "OPAL_PARTIAL",
  [OPAL_CONSTRAINED]: "OPAL_CONSTRAINED",
  [OPAL_CLOSED]: "OPAL_CLOSED",
  [OPAL_HARDWARE]: "OPAL_HARDWARE",
  [OPAL_UNSUPPORTED]: "OPAL_UNSUPPORTED",
  [OPAL_PERMISSION]: "OPAL_PERMISSION",
  [OPAL_NO_MEM]: "OPAL_NO_MEM",
  [OPAL_RESOURCE]: "OPAL_RESOURCE",
  [OPAL_INTERNAL_ERROR]: "OPAL_INTERNAL_ERROR",
  [OPAL_BUSY_EVENT]: "OPAL_BUSY_EVENT",
  [OPAL_HARDWARE_FROZEN]: "OPAL_HARDWARE_FROZEN",
  [OPAL_WRONG_STATE]: "OPAL_WRONG_STATE",
  [OPAL_ASYNC_COMPLETION]: "OPAL_ASYNC_COMPLETION",
  [OPAL_EMPTY]: "OPAL_EMPTY",
};

/* API tokens, passed in r0 (skiboot: include/opal-api.h) */
export const OPAL_TEST = 0;
export const OPAL_CHECK_TOKEN = 80;
export const OPAL_CONFIG_CPU_IDLE_STATE = 99;
export const OPAL_SLW_SET_REG = 100;
/** Highest token of skiboot v6.6 (OPAL_SECVAR_ENQUEUE_UPDATE, 2020). */
export const OPAL_LAST = 178;

/* OPAL_CHECK_TOKEN results (skiboot: include/opal-api.h enum OpalCheckTokenStatus) */
export const OPAL_TOKEN_ABSENT = 0;
export const OPAL_TOKEN_PRESENT = 1;

/** What OPAL_TEST returns (skiboot: core/opal.c opal_test_func). */
export const OPAL_TEST_MAGIC = 0xfeedf00d;

/* Idle state flags of /ibm,opal/power-mgt ibm,cpu-idle-state-flags (skiboot: include/opal-api.h) */
export const OPAL_PM_DEC_STOP = 0x00000001;
export const OPAL_PM_TIMEBASE_STOP = 0x00000002;
export const OPAL_PM_LOSE_USER_CONTEXT = 0x00001000;
export const OPAL_PM_LOSE_HYP_CONTEXT = 0x00002000;
export const OPAL_PM_LOSE_FULL_CONTEXT = 0x00004000;
export const OPAL_PM_NAP_ENABLED = 0x00010000;
export const OPAL_PM_SLEEP_ENABLED = 0x00020000;
export const OPAL_PM_WINKLE_ENABLED = 0x00040000;
export const OPAL_PM_SLEEP_ENABLED_ER1 = 0x00080000;
export const OPAL_PM_STOP_INST_FAST = 0x00100000;
export const OPAL_PM_STOP_INST_DEEP = 0x00200000;
export const OPAL_USE_PMICR = 0x00800000;

/* PSSCR fields for the idle state table (skiboot: include/opal-api.h OPAL_PM_PSSCR_*) */
export const OPAL_PM_PSSCR_RL_MASK = 0x0000000fn;
export const OPAL_PM_PSSCR_MTL_MASK = 0x000000f0n;
export const OPAL_PM_PSSCR_TR_MASK = 0x00000300n;
export const OPAL_PM_PSSCR_EC = 0x00100000n;
export const OPAL_PM_PSSCR_ESL = 0x00200000n;
/** RL | MTL | TR | EC | ESL = 0x3003ff, the psscr-mask of every POWER9 state. */
export const OPAL_PM_PSSCR_MASK =
  OPAL_PM_PSSCR_RL_MASK |
  OPAL_PM_PSSCR_MTL_MASK |
  OPAL_PM_PSSCR_TR_MASK |
  OPAL_PM_PSSCR_EC |
  OPAL_PM_PSSCR_ESL;
export const OPAL_PM_PSSCR_RL = (rl: number): bigint => BigInt(rl) & OPAL_PM_PSSCR_RL_MASK;
export const OPAL_PM_PSSCR_MTL = (mtl: number): bigint => (BigInt(mtl) << 4n) & OPAL_PM_PSSCR_MTL_MASK;
export const OPAL_PM_PSSCR_TR = (tr: number): bigint => (BigInt(tr) << 8n) & OPAL_PM_PSSCR_TR_MASK;

/*
 * SPRs the POWER9 stop-api can restore on wakeup from deep stop (skiboot: libpore/p9_stop_api.H
 * CpuReg_t). P9_STOP_SPR_MSR is not an SPR number but the stop-api's code for the MSR.
 */
export const P9_STOP_SPR_DAWR = 180;
export const P9_STOP_SPR_HSPRG0 = 304;
export const P9_STOP_SPR_HRMOR = 313;
export const P9_STOP_SPR_LPCR = 318;
export const P9_STOP_SPR_HMEER = 337;
export const P9_STOP_SPR_LDBAR = 850;
export const P9_STOP_SPR_PSSCR = 855;
export const P9_STOP_SPR_PMCR = 884;
export const P9_STOP_SPR_HID = 1008;
export const P9_STOP_SPR_MSR = 2000;

/** Thread-scope (true) or core-scope (false) of each stop-api register (libpore: p9_stop_api.C g_sprRegister). */
export const P9_STOP_SPR_THREAD_SCOPE: ReadonlyMap<number, boolean> = new Map([
  [P9_STOP_SPR_HSPRG0, true],
  [P9_STOP_SPR_HRMOR, false],
  [P9_STOP_SPR_LPCR, true],
  [P9_STOP_SPR_HMEER, false],
  [P9_STOP_SPR_LDBAR, true],
  [P9_STOP_SPR_PSSCR, true],
  [P9_STOP_SPR_PMCR, false],
  [P9_STOP_SPR_HID, false],
  [P9_STOP_SPR_MSR, true],
  [P9_STOP_SPR_DAWR, true],
]);

/* stop-api return codes (libpore: p9_stop_api.H StopReturnCode_t) */
export const STOP_SAVE_SUCCESS = 0;
export const STOP_SAVE_ARG_INVALID_REG = 2;
