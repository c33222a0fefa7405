// Build a small tree, encode it as dtc would, decode the blob, read properties back, re-encode
// the decoded tree byte for byte, and print it as DTS.
import assert from "node:assert/strict";
import { bytesEqual, DeviceTree, decodeDtb, encodeDtb, FdtError, formatDts } from "@stopsim/devicetree";

const t = new DeviceTree();
t.root.setPropU32("#address-cells", 2);
t.root.setPropU32("#size-cells", 2);
t.root.setPropString("compatible", "ibm,powernv");
const cpus = t.root.addChild("cpus");
cpus.setPropU32("#address-cells", 1);
cpus.setPropU32("#size-cells", 0);
const cpu = cpus.addChild("PowerPC,POWER9@8");
cpu.setPropString("device_type", "cpu");
cpu.setPropU32("reg", 8);
cpu.setPropU32("cpu-version", 0x004e1202);
cpu.setPropU32("ibm,ppc-interrupt-server#s", 8, 9, 10, 11);
t.root.addChild("memory@0").setPropU64("reg", 0n, 0x80000000n);

const blob = encodeDtb(t); // dtc's layout
const back = decodeDtb(blob);
assert.equal(back.requireNode("/cpus/PowerPC,POWER9@8").requireProp("cpu-version").asU32(), 0x004e1202);
assert.deepEqual(
  back.requireNode("/cpus/PowerPC,POWER9").requireProp("ibm,ppc-interrupt-server#s").asU32Array(),
  [8, 9, 10, 11],
);
assert.deepEqual(back.requireNode("/memory@0").requireProp("reg").asU64Array(), [0n, 0x80000000n]);
assert.ok(bytesEqual(encodeDtb(back), blob), "a decoded blob re-encodes byte for byte");

// a damaged blob is reported with libfdt's error code, never another exception
const bad = blob.slice();
bad[0] = 0;
assert.throws(
  () => decodeDtb(bad),
  (e: unknown) => e instanceof FdtError && e.code === "FDT_ERR_BADMAGIC",
);

console.log(formatDts(back));
console.log(`${blob.length} bytes, re-encoded identically`);
