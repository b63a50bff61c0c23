import type { PlatformEvent, PlatformEventCatalog } from '../events/definitions.js';
import { AppError } from '../platform/errors/app-error.js';
import type { Logger } from '../platform/logging/logger.js';
import type {
  SettingsHistoryRepository,
  SettingsSnapshot,
  StoredSettingsEvent,
} from './settings-history-repository.js';
import {
  applyPatch,
  diffSettings,
  foldEvents,
  limitViolation,
  type SettingChange,
  type SettingsPatch,
  type SettingsState,
  type UserSettings,
} from './user-settings.js';

export interface UserSettingsServiceOptions {
  history: SettingsHistoryRepository;
  catalog: PlatformEventCatalog;
  publish: (event: PlatformEvent) => Promise<void>;
  service: { name: string; version: string };
  logger: Logger;
  /** A snapshot is written at every multiple of this version, so a read folds fewer changes. */
  snapshotEvery?: number;
  /** Attempts of one change when concurrent changes keep taking its version. */
  maxAttempts?: number;
}

/** The settings of one user as of a version, and when that version was written. */
export interface CurrentSettings extends SettingsState {
  updatedAt: Date | null;
}

export interface SettingsHistoryEntry {
  version: number;
  at: Date;
  changes: SettingChange[];
  restoredFrom: number | null;
}

const DEFAULT_SNAPSHOT_EVERY = 10;
const DEFAULT_MAX_ATTEMPTS = 10;

/** The user-settings use cases: read, change (by patch or restore), list the history. */
export class UserSettingsService {
  private readonly snapshotEvery: number;
  private readonly maxAttempts: number;

  constructor(private readonly options: UserSettingsServiceOptions) {
    this.snapshotEvery = options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  }

  /** The current settings: the latest snapshot plus the changes after it (defaults at version 0). */
  async current(userId: string): Promise<CurrentSettings> {
    const { history } = this.options;
    const snapshot = await history.snapshot(userId);
    const events = await history.eventsBetween(userId, snapshot?.version ?? 0);
    const state = foldEvents(snapshot, events);
    return { ...state, updatedAt: events.at(-1)?.at ?? snapshot?.at ?? null };
  }

  /** Applies a partial change; a change that changes nothing records nothing. */
  async update(userId: string, patch: SettingsPatch, correlationId: string): Promise<CurrentSettings> {
    return this.change(userId, correlationId, null, (settings) => applyPatch(settings, patch));
  }

  /** Removes one custom key; not_found when the user has no such key. */
  async removeCustomKey(userId: string, key: string, correlationId: string): Promise<CurrentSettings> {
    return this.change(userId, correlationId, null, (settings) => {
      if (!Object.hasOwn(settings.custom, key)) {
        throw new AppError('not_found', `No custom setting "${key}"`);
      }
      return applyPatch(settings, { custom: { [key]: null } });
    });
  }

  /** Makes the settings what they were at `version`, recorded as a new change. */
  async restore(userId: string, version: number, correlationId: string): Promise<CurrentSettings> {
    const target = await this.stateAt(userId, version);
    return this.change(userId, correlationId, version, () => target.settings);
  }

  async history(
    userId: string,
    page: { limit: number; offset: number },
  ): Promise<{ entries: SettingsHistoryEntry[]; total: number }> {
    const { events, total } = await this.options.history.history(userId, page);
    return {
      entries: events.map(({ version, at, changes, restoredFrom }) => ({
        version,
        at,
        changes,
        restoredFrom,
      })),
      total,
    };
  }

  /** The settings as of an earlier version (0 = the defaults); not_found past the latest one. */
  private async stateAt(userId: string, version: number): Promise<SettingsState> {
    const { history } = this.options;
    const latest = await history.latestVersion(userId);
    if (version > latest) {
      throw new AppError('not_found', `No settings version ${version}; the latest is ${latest}`);
    }
    const snapshot = await history.snapshot(userId, version);
    const events = await history.eventsBetween(userId, snapshot?.version ?? 0, version);
    return foldEvents(snapshot, events);
  }

  /**
   * Read the current state, compute the next one, and take the next version. When a concurrent
   * change took that version first, start over from the state that includes it, so neither is lost.
   */
  private async change(
    userId: string,
    correlationId: string,
    restoredFrom: number | null,
    next: (settings: UserSettings) => UserSettings,
  ): Promise<CurrentSettings> {
    const { history, logger } = this.options;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const current = await this.current(userId);
      const settings = next(current.settings);
      const violation = limitViolation(settings);
      if (violation) throw new AppError('validation', violation.message, { details: [violation] });
      const changes = diffSettings(current.settings, settings);
      if (changes.length === 0) return current;
      const stored = await history.append({
        userId,
        version: current.version + 1,
        at: new Date(),
        changes,
        restoredFrom,
      });
      if (stored === null) {
        logger.debug(
          { user_id: userId, version: current.version + 1, attempt },
          'settings version taken; retrying',
        );
        continue;
      }
      const state = { version: stored.version, settings, at: stored.at };
      if (stored.version % this.snapshotEvery === 0) await this.snapshot(userId, state);
      await this.publishPending(userId, correlationId);
      return { version: state.version, settings, updatedAt: stored.at };
    }
    throw new AppError('conflict', 'Settings are being changed concurrently; try again');
  }

  /** Snapshots only speed reads up: a failed write is logged, the change stands without it. */
  private async snapshot(userId: string, state: SettingsSnapshot): Promise<void> {
    try {
      await this.options.history.saveSnapshot(userId, state);
    } catch (err) {
      this.options.logger.warn(
        { err, user_id: userId, version: state.version },
        'settings snapshot not written',
      );
    }
  }

  /**
   * Publishes the user's changes not yet on Kafka, this one and any an earlier outage left behind,
   * in version order. The change is already stored, so a Kafka outage is logged rather than failing
   * the request; the next change of the same user publishes what is left (same event ids).
   */
  private async publishPending(userId: string, correlationId: string): Promise<void> {
    const { history, logger } = this.options;
    try {
      for (const event of await history.unpublished(userId)) {
        await this.options.publish(this.eventOf(event, correlationId));
        await history.markPublished(userId, event.version);
      }
    } catch (err) {
      logger.error(
        { err, user_id: userId },
        'could not publish user_settings_updated; retried on the next change',
      );
    }
  }

  private eventOf(event: StoredSettingsEvent, correlationId: string): PlatformEvent {
    const { catalog, service } = this.options;
    return catalog.build(
      'user_settings_updated',
      event.userId,
      {
        user_id: event.userId,
        version: event.version,
        changes: event.changes,
        restored_from: event.restoredFrom,
      },
      {
        service_name: service.name,
        service_version: service.version,
        user_id: event.userId,
        correlation_id: correlationId,
      },
      { eventId: event.eventId },
    );
  }
}
