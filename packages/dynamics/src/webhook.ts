import { timingSafeEqual } from "node:crypto";
import { CoSellError, type SyncTarget, WebhookVerificationError } from "@cosell/core";
import { z } from "zod";
import type { CosellColumns } from "./columns.js";
import type { DynamicsConfig } from "./config.js";
import type { WebApiClient } from "./http.js";

/**
 * Dataverse webhooks for cosell (Microsoft's "Use webhooks to create external handlers for server
 * events", "Register a WebHook"; dynamics.md §3.3). Setup registers one `serviceendpoint` (contract 8
 * Webhook, authtype 5 Http Header: Dataverse sends the secret in {@link WEBHOOK_SECRET_HEADER}) and
 * asynchronous post-operation steps on Create, Update (filtered to the columns cosell maps) and Delete
 * of opportunity. Each call names one opportunity; `cosell serve` syncs it at once.
 */

/** The header Dataverse sends the shared secret in. */
export const WEBHOOK_SECRET_HEADER = "x-cosell-webhook-secret";
/** The messages cosell registers steps for. */
export const WEBHOOK_MESSAGES = ["Create", "Update", "Delete"] as const;

const STEP_STAGE_POST_OPERATION = 40;
const STEP_MODE_ASYNC = 1;
const CONTRACT_WEBHOOK = 8;
const AUTHTYPE_HTTP_HEADER = 5;

/**
 * The opportunity columns whose change an Update step reports: everything cosell reads from the
 * record, but not the columns only cosell writes (referral id and link, sync status, last sync, last
 * error, and Partner Center's own facts: respond by, Microsoft's opportunity id, registration, sent
 * by), so cosell's own write-back does not call it back.
 */
export function filteringAttributes(c: CosellColumns): string[] {
  return [
    "name",
    "estimatedvalue",
    "transactioncurrencyid",
    "estimatedclosedate",
    "description",
    "statecode",
    "statuscode",
    "salesstage",
    "actualvalue",
    "actualclosedate",
    "parentaccountid",
    "parentcontactid",
    "campaignid",
    "ownerid",
    c.direction,
    c.syncFlag,
    c.helpRequested,
    c.helpNotes,
    c.consent,
    c.consentToContact,
    c.favorite,
    c.salesStage,
    c.helpType,
    c.coSellStatus,
    c.response,
    c.closeReasonCode,
    c.closeReason,
    c.solutions,
    c.team,
  ];
}

/** The service endpoint's name: one per solution, so two cosell installs in one environment do not collide. */
export function endpointName(cfg: DynamicsConfig): string {
  return `cosell webhook (${cfg.solutionUniqueName})`;
}

function xmlAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const odataString = (s: string) => `'${s.replace(/'/g, "''")}'`;

interface Endpoint {
  serviceendpointid: string;
  url?: string | null;
}
interface Step {
  sdkmessageprocessingstepid: string;
  filteringattributes?: string | null;
  mode?: number;
  statecode?: number;
  _sdkmessageid_value?: string;
}

async function findEndpoint(http: WebApiClient, cfg: DynamicsConfig): Promise<Endpoint | undefined> {
  const filter = `contract eq ${CONTRACT_WEBHOOK} and name eq ${odataString(endpointName(cfg))}`;
  const r = await http.getJson<{ value: Endpoint[] }>(
    `serviceendpoints?$select=serviceendpointid,url&$filter=${encodeURIComponent(filter)}`,
    "reading the webhook service endpoint",
  );
  return r.value[0];
}

async function messageIds(http: WebApiClient): Promise<Map<string, { messageId: string; filterId: string }>> {
  const out = new Map<string, { messageId: string; filterId: string }>();
  for (const name of WEBHOOK_MESSAGES) {
    const m = await http.getJson<{ value: { sdkmessageid: string }[] }>(
      `sdkmessages?$select=sdkmessageid&$filter=${encodeURIComponent(`name eq '${name}'`)}`,
      `reading the ${name} message`,
    );
    const messageId = m.value[0]?.sdkmessageid;
    if (!messageId)
      throw new CoSellError(
        "DYNAMICS_WEBHOOK_SETUP",
        `Dataverse has no "${name}" message to register a step on.`,
      );
    const f = await http.getJson<{ value: { sdkmessagefilterid: string }[] }>(
      `sdkmessagefilters?$select=sdkmessagefilterid&$filter=${encodeURIComponent(`primaryobjecttypecode eq 'opportunity' and _sdkmessageid_value eq ${messageId}`)}`,
      `reading the ${name} message filter of opportunity`,
    );
    const filterId = f.value[0]?.sdkmessagefilterid;
    if (!filterId)
      throw new CoSellError(
        "DYNAMICS_WEBHOOK_SETUP",
        `Dataverse has no "${name}" message filter for opportunity to register a step on.`,
      );
    out.set(name, { messageId, filterId });
  }
  return out;
}

async function stepsOf(http: WebApiClient, endpointId: string): Promise<Step[]> {
  const r = await http.getJson<{ value: Step[] }>(
    `sdkmessageprocessingsteps?$select=sdkmessageprocessingstepid,filteringattributes,mode,statecode,_sdkmessageid_value&$filter=${encodeURIComponent(`_eventhandler_value eq ${endpointId}`)}`,
    "reading the webhook steps",
  );
  return r.value;
}

/**
 * Registers (or brings up to date) the service endpoint and its three steps. Idempotent: reports
 * what it created, updated or found as it should be. The secret is written on every run (Dataverse
 * does not return it, so a rotated secret cannot be compared).
 */
export async function registerWebhook(
  http: WebApiClient,
  cfg: DynamicsConfig,
  c: CosellColumns,
): Promise<{ created: string[]; unchanged: string[] }> {
  const created: string[] = [];
  const unchanged: string[] = [];
  const url = cfg.webhookUrl!;
  const secret = cfg.webhookSecret!;
  const solution = { "MSCRM.SolutionUniqueName": cfg.solutionUniqueName };
  const endpointBody = {
    name: endpointName(cfg),
    description: "cosell: Dataverse calls this on opportunity changes so they sync at once.",
    url,
    contract: CONTRACT_WEBHOOK,
    authtype: AUTHTYPE_HTTP_HEADER,
    authvalue: `<settings><setting name="${WEBHOOK_SECRET_HEADER}" value="${xmlAttr(secret)}" /></settings>`,
    messageformat: 2,
  };
  let endpoint = await findEndpoint(http, cfg);
  if (!endpoint) {
    const res = await http.ok(
      {
        method: "POST",
        url: "serviceendpoints",
        headers: { ...solution, Prefer: "return=representation" },
        body: endpointBody,
      },
      "creating the webhook service endpoint",
    );
    endpoint = JSON.parse(res.text) as Endpoint;
    created.push(`Webhook service endpoint to ${url}`);
  } else {
    await http.ok(
      { method: "PATCH", url: `serviceendpoints(${endpoint.serviceendpointid})`, body: endpointBody },
      "updating the webhook service endpoint",
    );
    (endpoint.url === url ? unchanged : created).push(
      endpoint.url === url
        ? `Webhook service endpoint to ${url} (secret refreshed)`
        : `Webhook service endpoint moved from ${endpoint.url} to ${url}`,
    );
  }

  const ids = await messageIds(http);
  const existing = await stepsOf(http, endpoint.serviceendpointid);
  const filtering = filteringAttributes(c).join(",");
  for (const name of WEBHOOK_MESSAGES) {
    const { messageId, filterId } = ids.get(name)!;
    const want = name === "Update" ? filtering : null;
    const label = `Webhook step on ${name} of opportunity`;
    const step = existing.find((s) => s._sdkmessageid_value?.toLowerCase() === messageId.toLowerCase());
    if (!step) {
      await http.ok(
        {
          method: "POST",
          url: "sdkmessageprocessingsteps",
          headers: solution,
          body: {
            name: `cosell: ${name} of opportunity`,
            description: "Tells cosell serve which opportunity changed.",
            "sdkmessageid@odata.bind": `/sdkmessages(${messageId})`,
            "sdkmessagefilterid@odata.bind": `/sdkmessagefilters(${filterId})`,
            "eventhandler_serviceendpoint@odata.bind": `/serviceendpoints(${endpoint.serviceendpointid})`,
            stage: STEP_STAGE_POST_OPERATION,
            mode: STEP_MODE_ASYNC,
            rank: 1,
            supporteddeployment: 0,
            asyncautodelete: true,
            ...(want ? { filteringattributes: want } : {}),
          },
        },
        `registering the ${name} step`,
      );
      created.push(label);
    } else if (
      (step.filteringattributes ?? null) !== want ||
      step.mode !== STEP_MODE_ASYNC ||
      step.statecode === 1
    ) {
      await http.ok(
        {
          method: "PATCH",
          url: `sdkmessageprocessingsteps(${step.sdkmessageprocessingstepid})`,
          body: { filteringattributes: want, mode: STEP_MODE_ASYNC, statecode: 0, statuscode: 1 },
        },
        `updating the ${name} step`,
      );
      created.push(`${label} (updated)`);
    } else unchanged.push(label);
  }
  return { created, unchanged };
}

/** Throws with what to do when the endpoint or a step is missing or points elsewhere. */
export async function verifyWebhook(http: WebApiClient, cfg: DynamicsConfig): Promise<void> {
  const fix = "Run `cosell setup` to register it.";
  const endpoint = await findEndpoint(http, cfg);
  if (!endpoint)
    throw new CoSellError(
      "DYNAMICS_WEBHOOK_NOT_REGISTERED",
      `Dataverse has no webhook service endpoint "${endpointName(cfg)}" for crm.webhookUrl. ${fix}`,
    );
  if (endpoint.url !== cfg.webhookUrl)
    throw new CoSellError(
      "DYNAMICS_WEBHOOK_NOT_REGISTERED",
      `Dataverse's webhook calls ${endpoint.url}, not crm.webhookUrl (${cfg.webhookUrl}). ${fix}`,
    );
  const ids = await messageIds(http);
  const steps = await stepsOf(http, endpoint.serviceendpointid);
  const missing = WEBHOOK_MESSAGES.filter((name) => {
    const id = ids.get(name)!.messageId.toLowerCase();
    return !steps.some((s) => s._sdkmessageid_value?.toLowerCase() === id && s.statecode !== 1);
  });
  if (missing.length)
    throw new CoSellError(
      "DYNAMICS_WEBHOOK_NOT_REGISTERED",
      `The webhook steps on ${missing.join(", ")} of opportunity are missing or disabled. ${fix}`,
    );
}

/** The part of the `RemoteExecutionContext` cosell reads; everything else is ignored. */
const RemoteExecutionContextSchema = z
  .object({
    MessageName: z.string(),
    PrimaryEntityName: z.string(),
    PrimaryEntityId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i),
  })
  .loose();

function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const v = headers[name] ?? headers[Object.keys(headers).find((k) => k.toLowerCase() === name) ?? ""];
  return Array.isArray(v) ? v[0] : v;
}

function sameSecret(got: string, want: string): boolean {
  const a = Buffer.from(got);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Reads one Dataverse webhook call: checks the secret header (401 when missing or wrong) and the body
 * (400 when it is not a `RemoteExecutionContext`), and returns the opportunity it names (nothing for
 * other tables or messages). Never logs or echoes the secret.
 */
export function parseWebhookCall(
  cfg: DynamicsConfig,
  rawBody: Buffer,
  headers: Record<string, string | string[] | undefined>,
): SyncTarget[] {
  const got = headerValue(headers, WEBHOOK_SECRET_HEADER);
  if (!got)
    throw new WebhookVerificationError(
      "WEBHOOK_SECRET_MISSING",
      `The call carries no ${WEBHOOK_SECRET_HEADER} header; it was ignored.`,
      401,
    );
  if (!sameSecret(got, cfg.webhookSecret ?? ""))
    throw new WebhookVerificationError(
      "WEBHOOK_BAD_SECRET",
      `The call's ${WEBHOOK_SECRET_HEADER} does not match crm.webhookSecret; it was ignored. Run \`cosell setup\` after changing the secret.`,
      401,
    );
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString("utf8"));
  } catch {
    throw new WebhookVerificationError("WEBHOOK_BAD_BODY", "The call's body is not JSON.", 400);
  }
  const parsed = RemoteExecutionContextSchema.safeParse(json);
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path.map(String).join(".") || "(body)";
    throw new WebhookVerificationError(
      "WEBHOOK_BAD_BODY",
      `The call's field "${field}" is missing or invalid; a RemoteExecutionContext was expected.`,
      400,
      { field },
    );
  }
  const ctx = parsed.data;
  if (ctx.PrimaryEntityName !== "opportunity") return [];
  if (!["Create", "Update", "Delete", "Win", "Lose"].includes(ctx.MessageName)) return [];
  return [{ side: "crm", id: ctx.PrimaryEntityId.toLowerCase() }];
}
