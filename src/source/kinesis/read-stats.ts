/**
 * Counters of a Kinesis source's read path, across all its shard readers: what the GetRecords
 * calls brought, how long readers waited for the shared byte budget, how many calls and response
 * bodies were in flight, and how many sockets the HTTP agent had open or queued. They say where a
 * slow or large read comes from (bench/notes.md item 26) and cost a few additions per call.
 */

import { leanTransportOf } from './get-records-http.js';

/** A snapshot of {@link ReadStats}, as logged (`kinesis: read stats`). */
export interface ReadStatsSnapshot {
  /** GetRecords calls answered (successes). */
  calls: number;
  /** Calls answered with no record. */
  emptyCalls: number;
  /** Kinesis records fetched (before KPL de-aggregation). */
  records: number;
  /** Sum of the `Limit` of every call answered. */
  limitSum: number;
  /** Response body bytes read (JSON), when the lean parser saw them. */
  responseBytes: number;
  /** Largest response body seen. */
  largestResponseBytes: number;
  /** Times a reader had room in its own buffer but waited for the source-wide budget. */
  budgetWaits: number;
  /** Total time readers spent in those waits, ms. */
  budgetWaitMs: number;
  /** Calls whose `Limit` was cut by the reader's fair share of the budget. */
  shareCapped: number;
  /** Most GetRecords calls in flight at once. */
  peakInFlight: number;
  /** Most bytes reserved for responses in flight at once. */
  peakReservedBytes: number;
  /** Most bytes reserved plus buffered at once (what the budget bounds). */
  peakBudgetBytes: number;
  /** Most sockets the HTTP agent had open at a call's start. */
  peakSockets: number;
  /** Most requests queued in the HTTP agent, waiting for a socket, at a call's start. */
  peakQueuedRequests: number;
  /** Waits of an idle shard longer than the first idle delay (empty, caught-up responses in a row). */
  idleBackoffs: number;
}

/** Mutable counters; see {@link ReadStatsSnapshot} for their meaning. */
export class ReadStats implements ReadStatsSnapshot {
  calls = 0;
  emptyCalls = 0;
  records = 0;
  limitSum = 0;
  responseBytes = 0;
  largestResponseBytes = 0;
  budgetWaits = 0;
  budgetWaitMs = 0;
  shareCapped = 0;
  inFlight = 0;
  peakInFlight = 0;
  peakReservedBytes = 0;
  peakBudgetBytes = 0;
  peakSockets = 0;
  peakQueuedRequests = 0;
  idleBackoffs = 0;

  /** A plain copy for logs and tests. */
  snapshot(): ReadStatsSnapshot {
    const { inFlight: _inFlight, ...rest } = this;
    return { ...rest };
  }
}

/** What an HTTP agent (`node:http` Agent) exposes about its sockets, as far as we read it. */
interface AgentLike {
  sockets?: Record<string, unknown[] | undefined>;
  requests?: Record<string, unknown[] | undefined>;
}

/**
 * A function returning the sockets open and the requests queued in the HTTP agent of `client`
 * (the SDK's NodeHttpHandler), or undefined when the client's handler is not one we can read.
 */
export function agentProbe(client: unknown): () => { sockets: number; queued: number } | undefined {
  const handler = (client as { config?: { requestHandler?: { httpHandlerConfigs?: () => { httpAgent?: unknown; httpsAgent?: unknown } } } })?.config
    ?.requestHandler;
  if (typeof handler?.httpHandlerConfigs !== 'function') return () => undefined;
  const count = (m: Record<string, unknown[] | undefined> | undefined): number => {
    let n = 0;
    if (m) for (const k in m) n += m[k]?.length ?? 0;
    return n;
  };
  // The readers' GetRecords on floe's own connections (`wire-http.ts`) count beside the agents'.
  const wire = leanTransportOf(client)?.counts;
  return () => {
    const c = handler.httpHandlerConfigs?.();
    const w = wire?.();
    if (!c && !w) return undefined;
    let sockets = w?.sockets ?? 0;
    let queued = w?.queued ?? 0;
    if (!c) return { sockets, queued };
    for (const a of [c.httpAgent, c.httpsAgent] as (AgentLike | undefined)[]) {
      if (a === undefined || typeof a !== 'object') continue;
      sockets += count(a.sockets);
      queued += count(a.requests);
    }
    return { sockets, queued };
  };
}
