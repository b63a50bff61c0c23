import { randomUUID } from 'node:crypto';
import type { Execution } from '../executions/execution.js';
import type { Caller, ExecutionService, SubmitInput } from '../executions/execution-service.js';
import { AppError } from '../platform/errors/app-error.js';
import type { SavedScript, SavedScriptFields } from './saved-script.js';
import type { SavedScriptRepository } from './saved-script-repository.js';

export interface SavedScriptServiceOptions {
  scripts: SavedScriptRepository;
  executions: Pick<ExecutionService, 'submit'>;
  /** EXECUTION_MAX_SCRIPT_BYTES: a saved script must stay runnable. */
  maxScriptBytes: number;
}

/** How to run a saved script: everything /execute takes except the script and its runtime. */
export type RunOptions = Omit<SubmitInput, 'script' | 'lang' | 'lang_version'>;

export interface SavedScriptQuery {
  search?: string | undefined;
  limit: number;
  offset: number;
}

/** 422 naming `script` when it is larger than an execution may be. */
export function assertScriptSize(script: string, maxBytes: number): void {
  const bytes = Buffer.byteLength(script, 'utf8');
  if (bytes <= maxBytes) return;
  throw new AppError('validation', `script is ${bytes} bytes; the limit is ${maxBytes}`, {
    details: [{ field: 'script', message: `at most ${maxBytes} bytes` }],
  });
}

/**
 * Saved scripts: create, read, replace, delete, list and run. Access as for executions: the owner
 * reads and changes; an admin may read (and run) anyone's; anyone else gets 403.
 */
export class SavedScriptService {
  constructor(private readonly o: SavedScriptServiceOptions) {}

  async create(caller: Caller, fields: SavedScriptFields): Promise<SavedScript> {
    assertScriptSize(fields.script, this.o.maxScriptBytes);
    const now = new Date();
    const script: SavedScript = {
      id: randomUUID(),
      userId: caller.id,
      ...fields,
      createdAt: now,
      updatedAt: now,
    };
    await this.o.scripts.create(script);
    return script;
  }

  async get(caller: Caller, id: string): Promise<SavedScript> {
    const script = await this.o.scripts.findById(id);
    if (!script) throw notFound(id);
    if (script.userId !== caller.id && caller.role !== 'admin') {
      throw new AppError('forbidden', 'This saved script belongs to another user');
    }
    return script;
  }

  async replace(caller: Caller, id: string, fields: SavedScriptFields): Promise<SavedScript> {
    assertScriptSize(fields.script, this.o.maxScriptBytes);
    await this.assertOwner(caller, id);
    const updated = await this.o.scripts.replace(id, caller.id, fields, new Date());
    if (!updated) throw notFound(id);
    return updated;
  }

  async delete(caller: Caller, id: string): Promise<void> {
    await this.assertOwner(caller, id);
    if (!(await this.o.scripts.delete(id, caller.id))) throw notFound(id);
  }

  /** The caller's own scripts (admins included), most recently saved first. */
  list(caller: Caller, query: SavedScriptQuery) {
    return this.o.scripts.list({
      userId: caller.id,
      nameContains: query.search,
      limit: query.limit,
      offset: query.offset,
    });
  }

  /** Submits the stored script as a new execution of the caller, like POST /execute. */
  async run(caller: Caller, id: string, options: RunOptions): Promise<Execution> {
    const saved = await this.get(caller, id);
    return this.o.executions.submit(caller, {
      ...options,
      script: saved.script,
      lang: saved.lang,
      lang_version: saved.langVersion,
    });
  }

  private async assertOwner(caller: Caller, id: string): Promise<void> {
    const script = await this.o.scripts.findById(id);
    if (!script) throw notFound(id);
    if (script.userId !== caller.id) {
      throw new AppError('forbidden', 'Only the owner may change this saved script');
    }
  }
}

function notFound(id: string): AppError {
  return new AppError('not_found', `Saved script ${id} not found`);
}
