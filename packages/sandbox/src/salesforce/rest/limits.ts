import type { SalesforceContext } from "../context.js";

const fixed = (max: number) => ({ Max: max, Remaining: max });

/** `GET limits`: the org's allocations; DailyApiRequests reflects real usage, data storage the row count. */
export function limitsBody(ctx: SalesforceContext): Record<string, { Max: number; Remaining: number }> {
  const used = ctx.usage.used();
  let rows = 0;
  for (const type of ctx.org.store.types()) rows += ctx.org.store.size(type);
  // Salesforce counts most records as 2 KB of data storage.
  const dataMax = 1024;
  const dataUsed = Math.ceil((rows * 2) / 1024);
  return {
    ConcurrentAsyncGetReportInstances: fixed(200),
    ConcurrentSyncReportRuns: fixed(20),
    DailyApiRequests: { Max: ctx.usage.limit, Remaining: Math.max(0, ctx.usage.limit - used) },
    DailyAsyncApexExecutions: fixed(250000),
    DailyBulkApiBatches: fixed(15000),
    DailyBulkV2QueryFileStorageMB: fixed(976562),
    DailyBulkV2QueryJobs: fixed(10000),
    DailyDurableGenericStreamingApiEvents: fixed(10000),
    DailyDurableStreamingApiEvents: fixed(10000),
    DailyGenericStreamingApiEvents: fixed(10000),
    DailyStandardVolumePlatformEvents: fixed(10000),
    DailyStreamingApiEvents: fixed(10000),
    DailyWorkflowEmails: fixed(2000),
    DataStorageMB: { Max: dataMax, Remaining: Math.max(0, dataMax - dataUsed) },
    FileStorageMB: fixed(2048),
    HourlyAsyncReportRuns: fixed(1200),
    HourlyDashboardRefreshes: fixed(200),
    HourlyODataCallout: fixed(10000),
    HourlySyncReportRuns: fixed(500),
    MassEmail: fixed(5000),
    MonthlyPlatformEventsUsageEntitlement: fixed(0),
    PermissionSets: fixed(1500),
    SingleEmail: fixed(5000),
    StreamingApiConcurrentClients: fixed(2000),
  };
}
