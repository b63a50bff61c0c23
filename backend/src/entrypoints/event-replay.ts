import { createEventReplayProcess } from '../events-store/event-replay-process.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { bootstrapProcess } from './bootstrap.js';

// Event replay: stores every catalog event in Mongo (the event store it will replay from);
// replay sessions are not built yet.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.event-replay.toml');
const { host } = createEventReplayProcess(settings, logger);
void runProcess({ logger, host });
