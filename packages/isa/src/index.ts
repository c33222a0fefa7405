export * from "./chips.js";
