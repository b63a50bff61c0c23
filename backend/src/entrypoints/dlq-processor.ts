import { createDlqProcessorProcess } from '../dlq/dlq-processor-process.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { bootstrapProcess } from './bootstrap.js';

// DLQ processor: stores every dead-lettered message, retries it by DLQ_RETRY_POLICIES, archives it
// after DLQ_RETRY_MAX_ATTEMPTS and alerts on the queue-size thresholds.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.dlq-processor.toml');
const { host } = createDlqProcessorProcess(settings, logger);
void runProcess({ logger, host });
