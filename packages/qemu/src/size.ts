// Size parsing as QEMU's qemu_strtosz (qemu: util/cutils.c do_strtosz): a number with an optional
// suffix B, K/k, M, G, T, P, E (powers of 1024); fractions allowed with a suffix.

const SUFFIX: Record<string, bigint> = {
  b: 1n,
  k: 1n << 10n,
  m: 1n << 20n,
  g: 1n << 30n,
  t: 1n << 40n,
  p: 1n << 50n,
  e: 1n << 60n,
};

/**
 * Parses "1G", "512M", "65536", "1.5G". `defaultSuffix` applies to bare numbers (-m uses "M").
 * Returns undefined for anything QEMU refuses (negative, junk, >= 2^64).
 */
export function parseSize(text: string, defaultSuffix = "b"): bigint | undefined {
  const m = /^\s*(\d+)(?:\.(\d+))?\s*([bkmgtpeBKMGTPE]?)$/.exec(text);
  if (!m) return undefined;
  const suffix = (m[3] || defaultSuffix).toLowerCase();
  const unit = SUFFIX[suffix];
  if (unit === undefined) return undefined;
  const whole = BigInt(m[1]);
  let value = whole * unit;
  if (m[2] !== undefined) {
    if (!m[3] && defaultSuffix === "b") return undefined;
    const frac = m[2];
    value += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
  }
  if (value >= 1n << 64n) return undefined;
  return value;
}

/** Formats a byte count like QEMU's size_to_str for messages ("1 GiB", "64 KiB"). */
export function formatSize(bytes: bigint | number): string {
  const b = BigInt(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let i = 0;
  let v = b;
  while (i < units.length - 1 && v >= 1024n && v % 1024n === 0n) {
    v /= 1024n;
    i++;
  }
  return `${v} ${units[i]}`;
}
