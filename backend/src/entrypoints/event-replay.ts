import { bootstrapProcess } from './bootstrap.js';
import { exitNotBuiltYet } from './not-built-yet.js';

// event replay: re-publishes stored events in bounded, resumable sessions.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.event-replay.toml');
exitNotBuiltYet(logger, settings, 'event-replay', 'a later replay issue');
