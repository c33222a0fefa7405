export { escapeHtml, jsonForScript, scriptForInline } from "./html.js";
export {
  FLEET_STATES,
  type FleetData,
  type FleetOverSeeds,
  type FleetPoint,
  fleetStateCounts,
  type LatencyData,
  type LatencyReference,
  type LatencySamples,
  type LatencyState,
  MATRIX_OUTCOMES,
  type MatrixOutcome,
  type MatrixRow,
  parseReportData,
  type ReportData,
  ReportDataError,
  type SeedInterval,
  TIMELINE_STATES,
  type TimelineData,
  type TimelineMarker,
  type TimelineSegment,
  type TimelineState,
  type TimelineVcpu,
} from "./model.js";
export { POWER9_WAKEUP_REFERENCE } from "./reference.js";
export { CHARTING_LIBRARY, HAZARD_MARK, OUTCOME_STYLE, renderReport } from "./render.js";
