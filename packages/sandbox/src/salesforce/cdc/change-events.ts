import { randomUUID } from "node:crypto";
import type { SandboxClock } from "../../kit/index.js";
import type { Row, RowChange } from "../store/record-store.js";

/**
 * Change Data Capture as the org publishes it (Change Data Capture Developer Guide: "Change Event
 * Message Structure", "Change Event Storage and Delivery"): one event per committed record change
 * of a selected entity, on `/data/<Object>ChangeEvent` and `/data/ChangeEvents`, each with a
 * replay id, kept on the event bus for the retention window (72 hours) and then purged.
 */

/** `ChangeEventHeader.changeType` values this org publishes (GAP_* and OVERFLOW are not emulated). */
export type ChangeType = "CREATE" | "UPDATE" | "DELETE" | "UNDELETE";

/** The header every change event carries. */
export interface ChangeEventHeader {
  entityName: string;
  recordIds: string[];
  changeType: ChangeType;
  /** Set only when the writing client sends a `Sforce-Call-Options` client name; empty here. */
  changeOrigin: string;
  transactionKey: string;
  sequenceNumber: number;
  /** Epoch milliseconds of the commit. */
  commitTimestamp: number;
  commitNumber: number;
  commitUser: string;
  nulledFields: string[];
  diffFields: string[];
  changedFields: string[];
}

/** The `data` of a delivered CometD message: schema id, payload (header + fields), replay id. */
export interface ChangeEventData {
  schema: string;
  payload: { ChangeEventHeader: ChangeEventHeader } & Record<string, unknown>;
  event: { replayId: number };
}

/** One retained event. */
export interface RetainedEvent {
  /** The entity's own channel, e.g. `/data/OpportunityChangeEvent`. */
  channel: string;
  data: ChangeEventData;
  publishedAt: number;
}

/** The standard channel carrying every selected entity's events. */
export const ALL_CHANGE_EVENTS = "/data/ChangeEvents";

/** Fields a change event never includes (Change Event Fields: IsDeleted, SystemModstamp). */
const NEVER_IN_EVENT = new Set(["Id", "IsDeleted", "SystemModstamp"]);

/** Salesforce's 72-hour retention of high-volume events. */
export const DEFAULT_RETENTION_MS = 72 * 3600 * 1000;

export interface ChangeEventBusOptions {
  clock: SandboxClock;
  /** Change event names selected for Change Data Capture, e.g. `OpportunityChangeEvent`. */
  selectedEntities: Iterable<string>;
  retentionMs?: number;
}

/** A replay id that names no retained event (purged, or never published). */
export class InvalidReplayIdError extends Error {
  constructor(readonly replayId: string) {
    // Streaming API's wording, as subscribers report it (forcedotcom/EMP-Connector#14).
    super(
      `400::The replayId {${replayId}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`,
    );
  }
}

/** Schema ids are opaque to subscribers; one stable id per entity is enough. */
function schemaIdOf(entity: string): string {
  return Buffer.from(`${entity}-cdc-schema`).toString("base64url").slice(0, 22);
}

function epochOf(row: Row | undefined): number | undefined {
  const raw = row?.LastModifiedDate;
  if (typeof raw !== "string") return undefined;
  const t = Date.parse(raw.replace(/\+0000$/, "Z"));
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The org's event bus for change events: captures committed row changes, assigns replay ids,
 * retains events for the retention window and answers replay requests.
 */
export class ChangeEventBus {
  private readonly events: RetainedEvent[] = [];
  private nextReplayId = 1;
  private commitNumber = 1_000_000;
  private readonly selected: Set<string>;
  readonly retentionMs: number;
  private readonly listeners = new Set<(e: RetainedEvent) => void>();
  /** While > 0, writes publish nothing (state import, a benchmark's bulk seed). */
  private muted = 0;

  constructor(private readonly o: ChangeEventBusOptions) {
    this.selected = new Set(o.selectedEntities);
    this.retentionMs = o.retentionMs ?? DEFAULT_RETENTION_MS;
  }

  /** Whether `entity` (an sObject name) is selected for Change Data Capture. */
  isSelected(entity: string): boolean {
    return this.selected.has(`${entity}ChangeEvent`) || this.selected.has(`${entity}__ChangeEvent`);
  }

  /** Selects (or deselects) a change event name, as the Setup page or PlatformEventChannelMember does. */
  select(changeEventName: string, on = true): void {
    if (on) this.selected.add(changeEventName);
    else this.selected.delete(changeEventName);
  }

  selectedEntities(): string[] {
    return [...this.selected];
  }

  /** Whether `channel` exists: a selectable entity's change channel or the all-changes channel. */
  channelExists(channel: string): boolean {
    return channel === ALL_CHANGE_EVENTS || /^\/data\/[A-Za-z0-9_]+ChangeEvent$/.test(channel);
  }

  /** Calls `fn` for every event published from now on. */
  subscribe(fn: (e: RetainedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Runs `fn` without publishing the writes it makes. */
  quietly<T>(fn: () => T): T {
    this.muted++;
    try {
      return fn();
    } finally {
      this.muted--;
    }
  }

  /** One committed transaction's row changes → one event per changed row of a selected entity. */
  capture(changes: RowChange[]): void {
    if (this.muted) return;
    const transactionKey = randomUUID();
    let sequence = 0;
    for (const c of changes) {
      if (!this.isSelected(c.type)) continue;
      const built = this.build(c);
      if (!built) continue;
      sequence++;
      this.publish(c.type, {
        ...built,
        ChangeEventHeader: { ...built.ChangeEventHeader, transactionKey, sequenceNumber: sequence },
      });
    }
  }

  /**
   * Retained events after `replayId` on `channel`: -1 none (new events only), -2 every retained
   * one, otherwise those after that id, which must still be retained.
   */
  replayFrom(channel: string, replayId: number | string): RetainedEvent[] {
    this.purge();
    const n = Number(replayId);
    const on = this.events.filter((e) => channel === ALL_CHANGE_EVENTS || e.channel === channel);
    if (n === -1) return [];
    if (n === -2) return on;
    if (!Number.isInteger(n) || !this.events.some((e) => e.data.event.replayId === n))
      throw new InvalidReplayIdError(String(replayId));
    return on.filter((e) => e.data.event.replayId > n);
  }

  /** Every retained event (tests, diagnostics). */
  retained(): RetainedEvent[] {
    this.purge();
    return [...this.events];
  }

  private build(
    c: RowChange,
  ): ({ ChangeEventHeader: ChangeEventHeader } & Record<string, unknown>) | undefined {
    const { before, after } = c;
    const wasLive = before !== undefined && before.IsDeleted !== true;
    const isLive = after !== undefined && after.IsDeleted !== true;
    let changeType: ChangeType;
    if (!wasLive && isLive) changeType = before ? "UNDELETE" : "CREATE";
    else if (wasLive && !isLive) changeType = "DELETE";
    else if (wasLive && isLive) changeType = "UPDATE";
    else return undefined;
    const row = after ?? before!;
    const fields: Record<string, unknown> = {};
    const changedFields: string[] = [];
    const nulledFields: string[] = [];
    if (changeType === "CREATE" || changeType === "UNDELETE") {
      for (const [k, v] of Object.entries(after!))
        if (!NEVER_IN_EVENT.has(k) && v !== null && v !== undefined) fields[k] = v;
    } else if (changeType === "UPDATE") {
      for (const [k, v] of Object.entries(after!)) {
        if (NEVER_IN_EVENT.has(k) || before![k] === v) continue;
        changedFields.push(k);
        if (v === null) nulledFields.push(k);
        else fields[k] = v;
      }
      // A write that changed nothing but the audit stamps still commits and still publishes.
    }
    const at = epochOf(after) ?? this.o.clock.now().getTime();
    return {
      ChangeEventHeader: {
        entityName: c.type,
        recordIds: [String(row.Id)],
        changeType,
        changeOrigin: "",
        transactionKey: "",
        sequenceNumber: 0,
        commitTimestamp: at,
        commitNumber: ++this.commitNumber,
        commitUser: String(after?.LastModifiedById ?? before?.LastModifiedById ?? ""),
        nulledFields,
        diffFields: [],
        changedFields,
      },
      ...fields,
    };
  }

  private publish(entity: string, payload: ChangeEventData["payload"]): void {
    this.purge();
    const e: RetainedEvent = {
      channel: `/data/${entity.endsWith("__c") ? `${entity.slice(0, -3)}__ChangeEvent` : `${entity}ChangeEvent`}`,
      data: { schema: schemaIdOf(entity), payload, event: { replayId: this.nextReplayId++ } },
      publishedAt: this.o.clock.now().getTime(),
    };
    this.events.push(e);
    for (const fn of this.listeners) fn(e);
  }

  private purge(): void {
    const oldest = this.o.clock.now().getTime() - this.retentionMs;
    let i = 0;
    while (i < this.events.length && this.events[i]!.publishedAt < oldest) i++;
    if (i) this.events.splice(0, i);
  }
}
