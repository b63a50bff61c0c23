import cluster from 'node:cluster';
import { createApiProcess } from '../http/api-process.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { bootstrapProcess } from './bootstrap.js';
import { superviseWorkers } from './api-cluster.js';

// API: REST + SSE over express. With WEB_CONCURRENCY > 1 the primary forks that many API
// processes sharing the port (node:cluster) and only supervises them.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), undefined);

if (cluster.isPrimary && settings.WEB_CONCURRENCY > 1) {
  superviseWorkers({ count: settings.WEB_CONCURRENCY, threads: settings.WEB_THREADS, logger });
} else {
  const { host } = createApiProcess(settings, logger.child({ worker: cluster.worker?.id ?? 0 }));
  void runProcess({ logger, host });
}
