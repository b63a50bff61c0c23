/**
 * npm run bench:k8s — how fast the k8s worker launches executor pods against the real API server
 * (scripts/k8s/k8s-infra.sh: kube-apiserver + etcd + KWOK), and what latency our code adds.
 *
 * Two ways to create the same objects (script ConfigMap + hardened pod), measured in one run:
 *   baseline  the two API calls alone, with prebuilt objects (what any launcher must pay)
 *   worker    KubernetesPodManager.launch(): Mongo lookup of the execution, runtime lookup, pod
 *             spec build, the same two API calls (as the worker ServiceAccount of
 *             deploy/executor/rbac.yaml), pod_created published to Kafka
 * For the worker, the time inside API calls is measured separately, so "added" = launch − API
 * time is our code plus Mongo and Kafka, excluding the API server's own time. Each mode runs at
 * concurrency 1 and 8. RUNS defaults to 200 per cell; BENCH_RUNS overrides it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { createPlatformCatalog } from '../src/events/definitions.js';
import { ExecutionEvents } from '../src/executions/execution-events.js';
import { ExecutionRepository } from '../src/executions/execution-repository.js';
import { kubeApis, type KubeApis } from '../src/executor/kubernetes/kube-client.js';
import { podSpecConfigOf } from '../src/executor/kubernetes/kubernetes-settings.js';
import { buildExecutorObjects, EXECUTOR_SELECTOR, withOwner } from '../src/executor/kubernetes/pod-spec.js';
import { parseRuntimeImages } from '../src/executor/kubernetes/runtime-images.js';
import { KafkaAdminComponent } from '../src/platform/kafka/admin-component.js';
import { createKafka } from '../src/platform/kafka/client.js';
import { EventProducer } from '../src/platform/kafka/producer.js';
import { MongoConnection } from '../src/platform/mongo/mongo-connection.js';
import { findBaseDir } from '../src/settings/settings.js';
import { KubernetesPodManager } from '../src/worker/kubernetes-pod-manager.js';
import { createLogger } from '../src/platform/logging/logger.js';
import { testSettings, uniqueSuffix } from '../test/test-settings.js';
import { LIMITS } from '../test/worker/worker-harness.js';
import {
  adminKubeConfig,
  applyManifests,
  kubeConfigForToken,
  serviceAccountToken,
  uniqueNamespace,
} from '../test/k8s/cluster.js';
import { fmt, percentiles } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const root = findBaseDir(process.cwd());

function run(script: string, ...args: string[]): void {
  const result = spawnSync('bash', [join(root, 'scripts', ...script.split('/')), ...args], {
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`${script} ${args.join(' ')} failed`);
}

/** Wraps the core API so every call's time is added to `spent.ms`. */
function timed(apis: KubeApis, spent: { ms: number }): KubeApis {
  const core = new Proxy(apis.core, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          const call = value as (...a: unknown[]) => Promise<unknown>;
          return await call.apply(target, args);
        } finally {
          spent.ms += performance.now() - t0;
        }
      };
    },
  });
  return { ...apis, core };
}

async function pool(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
  return total / ((performance.now() - began) / 1000);
}

async function main(): Promise<void> {
  run('infra.sh', 'up', '--profile', 'test');
  run('k8s/k8s-infra.sh', 'build');
  run('k8s/k8s-infra.sh', 'up');
  const logger = createLogger({ level: 'warn', service: 'bench-k8s', version: '0' });
  const namespace = await uniqueNamespace('bench', { restricted: false });
  await applyManifests(
    [join(root, 'deploy', 'executor', 'rbac.yaml'), join(root, 'deploy', 'executor', 'networkpolicy.yaml')],
    { namespace },
  );
  const suffix = uniqueSuffix();
  const settings = testSettings({
    INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `bk-${suffix}.`,
    INTEGR8SCODE_K8S_NAMESPACE: namespace,
    INTEGR8SCODE_EXECUTOR_BACKEND: 'kubernetes',
  });
  const workerApis = kubeApis(
    kubeConfigForToken(await serviceAccountToken(namespace, 'integr8scode-k8s-worker')),
  );
  const admin = adminKubeConfig().makeApiClient(CoreV1Api);
  const kafka = createKafka(settings, logger);
  const catalog = createPlatformCatalog(settings.KAFKA_TOPIC_PREFIX);
  const mongo = new MongoConnection({ url: settings.MONGODB_URL, dbName: `bench_k8s_${suffix}`, logger });
  const producer = new EventProducer({ kafka, catalog, logger });
  const kafkaAdmin = new KafkaAdminComponent(kafka, { topics: catalog.topics(), settings, logger });
  await Promise.all([mongo.start(), kafkaAdmin.start(), producer.start()]);
  const events = new ExecutionEvents(producer, catalog, { serviceName: 'bench', serviceVersion: '0' });
  const runtimes = parseRuntimeImages(settings.K8S_RUNTIME_IMAGES);
  const podConfig = podSpecConfigOf(settings);
  const spent = { ms: 0 };
  const manager = new KubernetesPodManager({
    kafka,
    catalog,
    producer,
    events,
    apis: timed(workerApis, spent),
    runtimes,
    podConfig,
    executions: new ExecutionRepository(mongo),
    settings,
    logger,
  });

  const command = (id: string) =>
    events.build('create_pod_command', id, {
      execution_id: id,
      user_id: 'bench-user',
      lang: 'python',
      lang_version: '3.12',
      script: 'print("hello")\n',
      stdin: '',
      args: [],
      limits: LIMITS,
      saga_id: id,
    });
  const clean = async () => {
    await admin.deleteCollectionNamespacedPod({
      namespace,
      labelSelector: EXECUTOR_SELECTOR,
      gracePeriodSeconds: 0,
    });
    await admin.deleteCollectionNamespacedConfigMap({ namespace, labelSelector: EXECUTOR_SELECTOR });
  };

  console.log(`bench:k8s — ${RUNS} launches per cell, namespace ${namespace}, kube-apiserver on loopback\n`);
  console.log('mode       conc  launches/s   p50 ms   p95 ms   API p50 ms   added p50 ms   added p95 ms');
  const rows: Record<string, number> = {};
  for (const concurrency of [1, 8]) {
    // Baseline: the same two calls with objects built beforehand.
    await clean();
    const prebuilt = Array.from({ length: RUNS }, () => {
      const id = `b-${uniqueSuffix()}-${uniqueSuffix()}`;
      const p = command(id).payload;
      return buildExecutorObjects(
        {
          executionId: id,
          runtime: { lang: 'python', version: '3.12' },
          script: p.script,
          limits: {
            wallSeconds: LIMITS.wall_seconds,
            cpuSeconds: LIMITS.cpu_seconds,
            memoryBytes: LIMITS.memory_bytes,
            maxProcesses: LIMITS.max_processes,
            maxFileBytes: LIMITS.max_file_bytes,
            maxOutputBytes: LIMITS.max_output_bytes,
          },
        },
        runtimes[0]!,
        { userId: 'bench-user' },
        podConfig,
      );
    });
    const base: number[] = [];
    const baseRate = await pool(RUNS, concurrency, async (i) => {
      const { pod, configMap } = prebuilt[i]!;
      const t0 = performance.now();
      const created: V1Pod = await workerApis.core.createNamespacedPod({ namespace, body: pod });
      await workerApis.core.createNamespacedConfigMap({
        namespace,
        body: withOwner(configMap, { name: created.metadata!.name!, uid: created.metadata!.uid! }),
      });
      base.push(performance.now() - t0);
    });
    const b = percentiles(base);
    console.log(
      `baseline   ${String(concurrency).padStart(4)}  ${fmt(baseRate).padStart(10)}  ${fmt(b.p50).padStart(7)}  ${fmt(b.p95).padStart(7)}`,
    );

    // The worker's launch.
    await clean();
    const total: number[] = [];
    const added: number[] = [];
    const api: number[] = [];
    const ctx = { logger, headers: {} };
    const rate = await pool(RUNS, concurrency, async () => {
      const id = `w-${uniqueSuffix()}-${uniqueSuffix()}`;
      // Per-launch API time needs launches one at a time; at concurrency > 1 it is apportioned.
      const before = spent.ms;
      const t0 = performance.now();
      await manager.launch(command(id), ctx);
      const took = performance.now() - t0;
      total.push(took);
      if (concurrency === 1) {
        api.push(spent.ms - before);
        added.push(took - (spent.ms - before));
      }
    });
    const t = percentiles(total);
    if (concurrency === 1) {
      const a = percentiles(api);
      const d = percentiles(added);
      console.log(
        `worker     ${String(concurrency).padStart(4)}  ${fmt(rate).padStart(10)}  ${fmt(t.p50).padStart(7)}  ${fmt(t.p95).padStart(7)}  ${fmt(a.p50).padStart(11)}  ${fmt(d.p50).padStart(13)}  ${fmt(d.p95).padStart(13)}`,
      );
      rows.added = d.p50;
    } else {
      console.log(
        `worker     ${String(concurrency).padStart(4)}  ${fmt(rate).padStart(10)}  ${fmt(t.p50).padStart(7)}  ${fmt(t.p95).padStart(7)}`,
      );
    }
    rows[`ratio${concurrency}`] = rate / baseRate;
  }
  await clean();
  console.log(
    `\nworker/baseline launches/s: c1 ${rows.ratio1!.toFixed(2)}, c8 ${rows.ratio8!.toFixed(2)}; worker-added latency p50 ${fmt(rows.added!)} ms`,
  );
  await producer.stop();
  await kafkaAdmin.stop();
  await mongo.connection.dropDatabase().catch(() => undefined);
  await mongo.stop();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
