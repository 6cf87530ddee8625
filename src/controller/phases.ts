// Release phases as the controller's shell cares about them (the engine owns the phases).

/** A release runs: its router is kept, and the controller looks again at least every resync. */
export const IN_FLIGHT = new Set(['waiting', 'progressing', 'paused', 'promoting', 'rollingBack']);
/** Phases whose steps need a complete route before they start. */
export const STEP_PHASES = new Set(['waiting', 'progressing', 'paused']);
