export { UsageError } from "./errors.js";
export {
  DESIGNS,
  type DesignSpec,
  type FirmwareName,
  findDesign,
  findHost,
  type GuestStopPolicy,
  HOSTS,
  type HostPreset,
  hostKvmBuild,
  type KvmBuildName,
} from "./presets.js";
export { loadScenario, parseScenario, type Scenario, ScenarioSchema } from "./scenario.js";
