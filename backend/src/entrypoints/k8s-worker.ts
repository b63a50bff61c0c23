import { bootstrapProcess } from './bootstrap.js';
import { exitNotBuiltYet } from './not-built-yet.js';

// k8s worker (pod manager): runs scripts through an executor backend.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.k8s-worker.toml');
exitNotBuiltYet(
  logger,
  settings,
  'k8s-worker',
  'the execution pipeline issue (local executor) and the Kubernetes backend issue',
);
