export * from "./esb.js";
export * from "./regs.js";
export * from "./xive.js";
