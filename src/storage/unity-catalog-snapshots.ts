import type { TableClient } from '@azure/data-tables';
import { sha256Hex } from '../shared/ids.js';
import { fromRanges, toRanges, type PendingEvent } from '../unity-catalog/model-changes.js';
import { EMPTY_RUN_STATE, type ModelSnapshot, type RunState, type SnapshotStore } from '../unity-catalog/snapshot-store.js';
import { scopeKeyOf } from './key-encoding.js';
import { isConflict, isPreconditionFailed, readOrUndefined } from './rest-errors.js';

/** A string property holds at most 32K UTF-16 characters: longer text is split over `Name0`, `Name1`, … */
const PART_CHARS = 30_000;
const MAX_PARTS = 30;

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

function splitText(name: string, text: string): Record<string, string> {
  const parts: Record<string, string> = {};
  for (let index = 0; index * PART_CHARS < Math.max(text.length, 1); index += 1) {
    if (index >= MAX_PARTS) throw new Error(`${name} is too large to store (${text.length} characters)`);
    parts[`${name}${index}`] = text.slice(index * PART_CHARS, (index + 1) * PART_CHARS);
  }
  return parts;
}

function joinText(entity: Entity, name: string): string {
  let text = '';
  for (let index = 0; typeof entity[`${name}${index}`] === 'string'; index += 1) text += entity[`${name}${index}`] as string;
  return text;
}

const RUN_STATE_ROW = 's_run';

/**
 * Table `unitycatalog`: one partition per workspace; a row per model (key as for webhooks' model names) holding its
 * generation, state and outbox, and the run-state row.
 */
export class TableSnapshotStore implements SnapshotStore {
  private readonly partition: string;

  constructor(
    private readonly table: TableClient,
    workspaceUrl: string,
  ) {
    this.partition = `w_${sha256Hex(workspaceUrl).slice(0, 32)}`;
  }

  async read(fullName: string): Promise<ModelSnapshot | undefined> {
    const entity = await readOrUndefined(() => this.table.getEntity<Entity>(this.partition, scopeKeyOf(fullName)));
    if (!entity) return undefined;
    const createdAt = entity.CreatedAt;
    return {
      generation: Number(entity.Generation),
      state: {
        createdAt: typeof createdAt === 'number' ? createdAt : undefined,
        ready: fromRanges(joinText(entity, 'Ready')),
        aliases: JSON.parse(joinText(entity, 'Aliases') || '{}') as Record<string, number>,
      },
      outbox: JSON.parse(joinText(entity, 'Outbox') || '[]') as PendingEvent[],
      etag: entity.etag,
    };
  }

  private entityOf(fullName: string, snapshot: Omit<ModelSnapshot, 'etag'>): Entity {
    return {
      partitionKey: this.partition,
      rowKey: scopeKeyOf(fullName),
      FullName: fullName,
      Generation: snapshot.generation,
      ...(snapshot.state.createdAt !== undefined ? { CreatedAt: snapshot.state.createdAt } : {}),
      ...splitText('Ready', toRanges(snapshot.state.ready)),
      ...splitText('Aliases', JSON.stringify(snapshot.state.aliases)),
      ...splitText('Outbox', JSON.stringify(snapshot.outbox)),
    };
  }

  async create(fullName: string, snapshot: Omit<ModelSnapshot, 'etag'>): Promise<string | false> {
    try {
      return (await this.table.createEntity(this.entityOf(fullName, snapshot))).etag ?? '';
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  async replace(fullName: string, snapshot: Omit<ModelSnapshot, 'etag'>, etag: string): Promise<string | false> {
    try {
      return (await this.table.updateEntity(this.entityOf(fullName, snapshot), 'Replace', { etag })).etag ?? '';
    } catch (error) {
      if (isPreconditionFailed(error) || isConflict(error)) return false;
      throw error;
    }
  }

  async readRunState(): Promise<RunState> {
    const entity = await readOrUndefined(() => this.table.getEntity<Entity>(this.partition, RUN_STATE_ROW));
    if (!entity) return EMPTY_RUN_STATE;
    return { ...EMPTY_RUN_STATE, ...(JSON.parse(joinText(entity, 'State') || '{}') as Partial<RunState>), ...(entity.etag ? { etag: entity.etag } : {}) };
  }

  async writeRunState(state: RunState): Promise<void> {
    const { etag: _etag, ...rest } = state;
    await this.table.upsertEntity({ partitionKey: this.partition, rowKey: RUN_STATE_ROW, ...splitText('State', JSON.stringify(rest)) }, 'Replace');
  }
}
