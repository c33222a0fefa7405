// Shared by the XIVE suites (src/xive/*.test.ts): the interrupt lines of a thread, recorded.

/** Lines of a thread recorded (a stand-in for an HwThread where only the levels matter). */
export function lines(pir: number) {
  const l = {
    pir,
    ext: false,
    hvi: false,
    setExternalInterrupt(v: boolean) {
      l.ext = v;
    },
    setHvVirtInterrupt(v: boolean) {
      l.hvi = v;
    },
  };
  return l;
}
