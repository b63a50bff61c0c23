import { bootstrapProcess } from './bootstrap.js';
import { exitNotBuiltYet } from './not-built-yet.js';

// saga orchestrator: queues executions and runs the execution saga.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.saga-orchestrator.toml');
exitNotBuiltYet(logger, settings, 'saga-orchestrator', 'the execution pipeline issue');
