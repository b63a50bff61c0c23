import { bootstrapProcess } from './bootstrap.js';
import { exitNotBuiltYet } from './not-built-yet.js';

// pod monitor: watches executor pods and reports their lifecycle.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.pod-monitor.toml');
exitNotBuiltYet(logger, settings, 'pod-monitor', 'the Kubernetes backend issue');
