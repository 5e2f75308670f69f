import {
  type CoSellDeal,
  type CrmWrite,
  closeReasonText,
  type Person,
  RemoteApiError,
  type Stage,
  type SyncField,
} from "@cosell/core";
import type { BatchOperation } from "./batch.js";
import { DIRECTION_CHOICE } from "./choice-columns.js";
import { CLOSE_REASON_CHOICE, type CosellColumns, choiceOf, choiceValue } from "./columns.js";
import type { DynamicsConfig } from "./config.js";
import { etagOrAny, guid, isGuid } from "./ids.js";
import {
  answerColumns,
  coSellStageValue,
  coSellStatusOf,
  LOST,
  OPEN,
  plainFieldColumns,
  type Row,
  stateOfStage,
  statusColumns,
  WON,
} from "./mapping.js";
import { ACCOUNT_SELECT, CONTACT_SELECT, chunks, orEq, q, quote } from "./query.js";

/** The plain fields an opportunity created from a referral starts with (lookups are bound apart). */
const CREATE_FIELDS: readonly SyncField[] = [
  "name",
  "closeDate",
  "notes",
  "consentToShareContact",
  "consentToContact",
  "solutions",
  "invitation",
  "team",
  "favorite",
  "salesStage",
  "expiresAt",
  "microsoftOpportunityId",
  "microsoftAnswer",
  "registration",
  "sentBy",
];

/** What the change-set builder needs from the adapter. */
export interface ChangeSetDeps {
  cfg: DynamicsConfig;
  c: CosellColumns;
  /** Absolute Web API URL of a path. */
  url(path: string): string;
  now(): Date;
  /** Several GETs in one round trip. */
  getMany(urls: readonly string[]): Promise<Row[][]>;
  loadCurrencies(): Promise<{ byCode: Map<string, string> }>;
  /** Last row read per opportunity (etag, state). */
  seen: Map<string, Row>;
  /** Operations on cosell's related rows (solutions, Microsoft's team) a write needs, after the opportunity's. */
  relatedOps?(w: CrmWrite, opportunity: { url: string; bind: string }): BatchOperation[];
}

/**
 * Turns canonical writes into `$batch` change sets, one atomic change set per record: customer rows
 * first (referenced as `$n`), then the opportunity PATCH with If-Match (or the alternate-key upsert of
 * an inbound create), then WinOpportunity/LoseOpportunity. Closed rows are reopened first, because
 * Won/Lost opportunities are read-only (dynamics.md §2.3).
 */
export function createChangeSets(d: ChangeSetDeps) {
  const { cfg, c, seen, getMany, loadCurrencies, now, relatedOps } = d;
  const http = { url: d.url };

  const lookups = {
    accounts: new Map<string, string>(),
    contacts: new Map<string, string>(),
    campaigns: new Map<string, string>(),
  };
  const accountKey = (d: CoSellDeal) =>
    `${d.customer.name.toLowerCase()}|${d.customer.address.postalCode ?? ""}`;

  /** Finds existing accounts (name + postal code, as the Microsoft connector does), contacts (email) and campaigns (code or id). */
  async function prepareLookups(writes: readonly CrmWrite[]): Promise<void> {
    const deals = writes.flatMap((w) =>
      w.op === "create"
        ? [w.deal]
        : w.op === "update" && (w.fields.includes("customer") || w.fields.includes("campaignId"))
          ? [w.deal]
          : [],
    );
    const names = [...new Set(deals.map((d) => d.customer.name).filter(Boolean))];
    const emails = [...new Set(deals.map((d) => d.customer.contact?.email).filter((e): e is string => !!e))];
    const campaigns = [...new Set(deals.map((d) => d.campaignId).filter((x): x is string => !!x))];
    const urls: { kind: "accounts" | "contacts" | "campaigns"; url: string }[] = [];
    for (const chunk of chunks(names, 20))
      urls.push({
        kind: "accounts",
        url: `accounts?$select=${ACCOUNT_SELECT}&$filter=${q(orEq("name", chunk, quote))}`,
      });
    for (const chunk of chunks(emails, 20))
      urls.push({
        kind: "contacts",
        url: `contacts?$select=${CONTACT_SELECT}&$filter=${q(orEq("emailaddress1", chunk, quote))}`,
      });
    for (const chunk of chunks(campaigns, 20)) {
      const guids = chunk.filter(isGuid);
      const filter = [orEq("codename", chunk, quote), guids.length ? orEq("campaignid", guids) : ""]
        .filter(Boolean)
        .join(" or ");
      urls.push({ kind: "campaigns", url: `campaigns?$select=campaignid,codename&$filter=${q(filter)}` });
    }
    const results = await getMany(urls.map((u) => u.url));
    results.forEach((rows, i) => {
      for (const r of rows) {
        if (urls[i]!.kind === "accounts")
          lookups.accounts.set(
            `${String(r.name).toLowerCase()}|${String(r.address1_postalcode ?? "")}`,
            String(r.accountid),
          );
        if (urls[i]!.kind === "contacts")
          lookups.contacts.set(String(r.emailaddress1).toLowerCase(), String(r.contactid));
        if (urls[i]!.kind === "campaigns") {
          lookups.campaigns.set(String(r.campaignid), String(r.campaignid));
          if (r.codename) lookups.campaigns.set(String(r.codename), String(r.campaignid));
        }
      }
    });
  }

  const accountBody = (d: CoSellDeal): Row => ({
    name: d.customer.name,
    address1_line1: d.customer.address.street ?? null,
    address1_line2: d.customer.address.street2 ?? null,
    address1_city: d.customer.address.city ?? null,
    address1_stateorprovince: d.customer.address.state ?? null,
    address1_postalcode: d.customer.address.postalCode ?? null,
    address1_country: d.customer.address.country || null,
  });
  const contactBody = (p: Person): Row => ({
    firstname: p.firstName || null,
    lastname: p.lastName || p.email,
    emailaddress1: p.email || null,
    telephone1: p.phone || null,
  });

  /** Ops that make the customer exist (account, contact), and the binds the opportunity then needs. */
  function customerOps(d: CoSellDeal, ops: BatchOperation[], current?: Row): Row {
    const binds: Row = {};
    const accountId =
      (current?._parentaccountid_value as string | undefined) ?? lookups.accounts.get(accountKey(d));
    let accountRef: string;
    if (accountId) {
      if (current?._parentaccountid_value)
        ops.push({
          method: "PATCH",
          url: http.url(`accounts(${guid(accountId, "account id")})`),
          headers: { "If-Match": "*" },
          body: accountBody(d),
        });
      accountRef = `/accounts(${guid(accountId, "account id")})`;
    } else if (d.customer.name) {
      ops.push({ method: "POST", url: http.url("accounts"), body: accountBody(d) });
      accountRef = `$${ops.length}`;
    } else return binds;
    binds["parentaccountid@odata.bind"] = accountRef;
    binds["customerid_account@odata.bind"] = accountRef;
    const p = d.customer.contact;
    if (p?.email || p?.lastName) {
      const contactId =
        (current?._parentcontactid_value as string | undefined) ??
        lookups.contacts.get((p.email ?? "").toLowerCase());
      if (contactId) {
        if (current?._parentcontactid_value)
          ops.push({
            method: "PATCH",
            url: http.url(`contacts(${guid(contactId, "contact id")})`),
            headers: { "If-Match": "*" },
            body: contactBody(p),
          });
        binds["parentcontactid@odata.bind"] = `/contacts(${guid(contactId, "contact id")})`;
      } else {
        ops.push({
          method: "POST",
          url: http.url("contacts"),
          body: { ...contactBody(p), "parentcustomerid_account@odata.bind": accountRef },
        });
        binds["parentcontactid@odata.bind"] = `$${ops.length}`;
      }
    }
    return binds;
  }

  async function valueColumns(d: CoSellDeal): Promise<Row> {
    if (!d.value) return { estimatedvalue: null };
    const cur = await loadCurrencies();
    const id = cur.byCode.get(d.value.currency.toUpperCase());
    if (!id)
      throw new RemoteApiError(
        "CURRENCY_NOT_FOUND",
        `Currency ${d.value.currency} is not set up in Dataverse. Add it under Settings → Business Management → Currencies.`,
      );
    return {
      estimatedvalue: d.value.amount,
      "transactioncurrencyid@odata.bind": `/transactioncurrencies(${guid(id, "currency id")})`,
    };
  }

  const closeStatus = (stage: Stage): number =>
    stage === "won"
      ? cfg.stageMap.won
      : stage === "declined"
        ? cfg.stageMap.declined
        : stage === "expired"
          ? cfg.stageMap.expired
          : cfg.stageMap.lost;

  function closeOp(
    id: string,
    state: number,
    statusCode: number,
    d: CoSellDeal | undefined,
    current: Row,
    reclose: boolean,
  ): BatchOperation {
    const won = state === WON;
    const reason = d?.closeReason ?? closeReasonOfRow(current);
    const end =
      reclose && typeof current.actualclosedate === "string"
        ? `${current.actualclosedate.slice(0, 10)}T12:00:00Z`
        : now().toISOString();
    const revenue =
      reclose && typeof current.actualvalue === "number"
        ? current.actualvalue
        : won
          ? (d?.value?.amount ?? current.estimatedvalue)
          : 0;
    return {
      method: "POST",
      url: http.url(won ? "WinOpportunity" : "LoseOpportunity"),
      body: {
        Status: statusCode,
        OpportunityClose: {
          subject:
            `${won ? "Won" : "Lost"}${reclose ? " (co-sell status update)" : ""}: ${String(d?.name ?? current.name ?? "")}`.slice(
              0,
              200,
            ),
          "opportunityid@odata.bind": `/opportunities(${id})`,
          actualrevenue: typeof revenue === "number" ? revenue : 0,
          actualend: end,
          ...(reason ? { description: reason } : {}),
        },
      },
    };
  }

  /** The change set of one write (empty when there is nothing to change). */
  async function opsFor(w: CrmWrite): Promise<BatchOperation[]> {
    const ops: BatchOperation[] = [];
    if (w.op === "create") {
      const d = w.deal;
      const binds = customerOps(d, ops);
      const campaign = d.campaignId ? lookups.campaigns.get(d.campaignId) : undefined;
      const { [c.referralId]: _key, ...status } = statusColumns(w.status, c, cfg.optionValuePrefix);
      ops.push({
        method: "PATCH",
        // The referral id is Partner Center's text: quoted as an OData literal, then URL-encoded, so
        // no character of it can end the key, the request line or the part.
        url: http.url(`opportunities(${c.referralId}=${q(quote(w.referralId))})?$select=opportunityid`),
        headers: { Prefer: "return=representation" },
        body: {
          ...plainFieldColumns(d, CREATE_FIELDS, c, cfg.optionValuePrefix),
          ...(await valueColumns(d)),
          ...binds,
          ...(campaign ? { "campaignid@odata.bind": `/campaigns(${guid(campaign, "campaign id")})` } : {}),
          [c.syncFlag]: true,
          [c.direction]: choiceValue(DIRECTION_CHOICE, cfg.optionValuePrefix, d.direction),
          salesstage: cfg.stageMap.inboundSalesStage,
          ...answerColumns(d, c, cfg.optionValuePrefix),
          ...status,
          [c.coSellStatus]: coSellStageValue(w.status.coSellStage ?? d.stage, cfg.optionValuePrefix),
        },
      });
      ops.push(
        ...(relatedOps?.(w, {
          url: `opportunities(${c.referralId}=${q(quote(w.referralId))})`,
          bind: `/opportunities(${c.referralId}=${quote(w.referralId)})`,
        }) ?? []),
      );
      return ops;
    }
    const id = guid(w.crmId, "opportunity id");
    const current = seen.get(id)!;
    const body: Row = {};
    let target = current.statecode as number;
    let stage: Stage | undefined;
    if (w.op === "update") {
      Object.assign(body, plainFieldColumns(w.deal, w.fields, c, cfg.optionValuePrefix));
      if (w.fields.includes("value")) Object.assign(body, await valueColumns(w.deal));
      if (w.fields.includes("campaignId")) {
        const campaign = w.deal.campaignId ? lookups.campaigns.get(w.deal.campaignId) : undefined;
        if (campaign) body["campaignid@odata.bind"] = `/campaigns(${guid(campaign, "campaign id")})`;
        else if (!w.deal.campaignId) body.campaignid = null;
      }
      if (w.fields.includes("customer")) Object.assign(body, customerOps(w.deal, ops, current));
      if (w.fields.includes("stage")) {
        stage = w.deal.stage;
        target = stateOfStage(stage);
        body[c.coSellStatus] = coSellStageValue(stage, cfg.optionValuePrefix);
        Object.assign(body, answerColumns(w.deal, c, cfg.optionValuePrefix));
      }
    }
    if (w.status) Object.assign(body, statusColumns(w.status, c, cfg.optionValuePrefix));
    if (stage) body[c.coSellStatus] = coSellStageValue(stage, cfg.optionValuePrefix);
    const state = current.statecode as number;
    const etag = etagOrAny(current["@odata.etag"]);
    const patch = (extra: Row): BatchOperation => ({
      method: "PATCH",
      url: http.url(`opportunities(${id})`),
      headers: { "If-Match": etag },
      body: { ...body, ...extra },
    });
    const related = relatedOps?.(w, { url: `opportunities(${id})`, bind: `/opportunities(${id})` }) ?? [];
    const hasChanges = Object.keys(body).length > 0 || ops.length > 0 || related.length > 0;
    if (state === OPEN) {
      if (Object.keys(body).length) ops.push(patch({}));
      ops.push(...related);
      if (target !== OPEN)
        ops.push(
          closeOp(id, target, closeStatus(stage!), w.op === "update" ? w.deal : undefined, current, false),
        );
      return ops;
    }
    // Won/Lost rows are read-only until reopened ("When you close an opportunity, the opportunity is
    // marked as complete, and can't be changed. To make further changes to an opportunity, you can
    // reopen it": learn.microsoft.com/troubleshoot/dynamics-365/sales/troubleshoot-opportunities-issues).
    // Reopening sets statecode Open with an open status reason and changes no other field
    // (learn.microsoft.com/dynamics365/developer/reference/mcp-tools/reopen_opportunity). Whether one
    // PATCH may reopen and change other columns is not documented: the state goes alone, then the
    // fields, then the close action — all in the record's change set, so nothing half-happens.
    const reopen: BatchOperation = {
      method: "PATCH",
      url: http.url(`opportunities(${id})`),
      headers: { "If-Match": etag },
      body: { statecode: OPEN, statuscode: cfg.stageMap.reopen },
    };
    // After the reopen the row's etag has moved on; the change set already checked ours.
    const fields = (): BatchOperation[] => [
      ...(Object.keys(body).length
        ? [
            {
              method: "PATCH" as const,
              url: http.url(`opportunities(${id})`),
              headers: { "If-Match": "*" },
              body,
            },
          ]
        : []),
      ...related,
    ];
    if (target === OPEN) {
      ops.push(reopen, ...fields());
      return ops;
    }
    if (!hasChanges && target === state) return ops;
    ops.push(reopen, ...fields());
    const sameClose =
      target === state && (!stage || stageOfRow(current) === stage || (target === LOST && !stage));
    const statusCode =
      sameClose && typeof current.statuscode === "number"
        ? current.statuscode
        : closeStatus(stage ?? (target === WON ? "won" : "lost"));
    ops.push(
      closeOp(id, target, statusCode, w.op === "update" ? w.deal : undefined, current, target === state),
    );
    return ops;
  }

  /** The reason a row already holds (listed reason and details), for re-closing it as it was. */
  const closeReasonOfRow = (r: Row): string | undefined => {
    const code = r[c.closeReasonCode];
    return closeReasonText(
      typeof code === "number" ? choiceOf(CLOSE_REASON_CHOICE, cfg.optionValuePrefix, code) : undefined,
      typeof r[c.closeReason] === "string" ? (r[c.closeReason] as string) : undefined,
    );
  };

  const stageOfRow = (r: Row): Stage =>
    r.statecode === WON
      ? "won"
      : r.statecode === LOST
        ? (coSellStatusOf(r, c, cfg.optionValuePrefix) ?? "lost")
        : "accepted";

  return { prepareLookups, opsFor };
}
