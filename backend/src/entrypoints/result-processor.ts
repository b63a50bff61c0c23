import { bootstrapProcess } from './bootstrap.js';
import { exitNotBuiltYet } from './not-built-yet.js';

// result processor: stores each execution's terminal result once.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.result-processor.toml');
exitNotBuiltYet(logger, settings, 'result-processor', 'the execution pipeline issue');
