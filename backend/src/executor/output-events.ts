/**
 * Default of EXECUTION_MAX_OUTPUT_EVENTS: live execution_output events per run, after which live
 * output stops (the result still holds all of it). See docs/architecture.md, "Live output".
 */
export const DEFAULT_MAX_OUTPUT_EVENTS = 1000;
