import {
  type CoSellDeal,
  createPartnerCenterClient,
  dealToReferral,
  type PartnerCenterClient,
  type Referral,
} from "@cosell/core";
import { completeDeal, type MicrosoftDriver, sampleInbound } from "@cosell/core/testing";
import type { SandboxClock } from "../kit/index.js";
import { partnerCenterClientConfig } from "../partner-center/client-config.js";
import type { PartnerCenterControl, PartnerCenterCredentials } from "../partner-center/system.js";

/** What {@link partnerCenterSide} needs of a running sandbox (any sandbox that started Partner Center). */
export interface PartnerCenterSandbox {
  clock: SandboxClock;
  partnerCenter: PartnerCenterControl;
  credentials: { partnerCenter: PartnerCenterCredentials };
}

/** The Partner Center half of an adapter conformance fixture, over the sandbox's real HTTP servers. */
export interface PartnerCenterSide {
  /** Core's Partner Center client, authenticated through the sandbox's Entra ID (client secret). */
  partnerCenter: PartnerCenterClient;
  /** Microsoft, acting through the sandbox's control API. */
  microsoft: MicrosoftDriver;
  /** The sandbox clock, in the shape the conformance suite expects. */
  clock: { now(): Date; advance(ms: number): void };
}

/**
 * Builds the Partner Center side of `runAdapterConformance` for a CRM adapter tested on the sandbox:
 * the engine talks HTTP to the emulated Partner Center, the suite acts as Microsoft in-process.
 * Retries wait on real time but never longer than `maxWaitMs` (the emulator's Retry-After is seconds).
 * `strictQueries` turns on the emulator's strict mode (see `PartnerCenterControl.strictQueries`).
 */
export function partnerCenterSide(
  sb: PartnerCenterSandbox,
  options: { maxWaitMs?: number; strictQueries?: boolean } = {},
): PartnerCenterSide {
  const c = sb.credentials.partnerCenter;
  // Strict: the emulated list refuses filters Microsoft documents no example of, so the engine runs
  // on the client's fallbacks (client-side cut-off and CRM-id match), as against a service that does.
  if (options.strictQueries) sb.partnerCenter.strictQueries(true);
  const maxWaitMs = options.maxWaitMs ?? 50;
  const partnerCenter = createPartnerCenterClient(partnerCenterClientConfig(c), {
    now: () => sb.clock.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, maxWaitMs))),
  });
  const microsoft: MicrosoftDriver = {
    sendInbound: (partial?: Partial<CoSellDeal>) =>
      sb.partnerCenter.sendInboundReferral(partial ? inboundOverrides(partial) : undefined),
    engage: (id) => sb.partnerCenter.engage(id),
    decline: (id, reason) => sb.partnerCenter.decline(id, reason),
    editNotes: (id, notes) => sb.partnerCenter.updateNotes(id, notes),
    setFields: (id, changes) => sb.partnerCenter.setFields(id, changes),
    get: (id) => sb.partnerCenter.get(id),
    all: () => sb.partnerCenter.all(),
  };
  const clock = {
    now: () => sb.clock.now(),
    advance: (ms: number) => {
      sb.clock.advance(ms);
    },
  };
  return { partnerCenter, microsoft, clock };
}

/**
 * The referral fields a partial canonical deal sets, as overrides of the emulator's sample inbound
 * referral (only the keys the partial deal names, so the sample fills the rest).
 */
function inboundOverrides(partial: Partial<CoSellDeal>): Record<string, unknown> {
  const deal = completeDeal(sampleInbound(partial), new Date());
  const wire = dealToReferral({ ...deal, id: undefined, version: undefined }) as Referral &
    Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (partial.name !== undefined) out.name = wire.name;
  if (partial.value !== undefined || partial.closeDate !== undefined || partial.campaignId !== undefined)
    out.details = wire.details;
  if (partial.campaignId !== undefined && "campaignId" in wire) out.campaignId = wire.campaignId;
  if (partial.customer !== undefined) out.customerProfile = wire.customerProfile;
  if (partial.favorite !== undefined) out.favorite = partial.favorite;
  if (partial.salesStage !== undefined) out.salesStage = wire.salesStage;
  if (partial.consentToShareContact !== undefined || partial.consentToContact !== undefined)
    out.consent = {
      ...(partial.consentToShareContact !== undefined
        ? { consentToToShareInfoWithOthers: partial.consentToShareContact }
        : {}),
      ...(partial.consentToContact !== undefined ? { consentToContact: partial.consentToContact } : {}),
    };
  if (partial.invitation?.helpType !== undefined)
    out.inviteContext = { assistanceRequestCode: partial.invitation.helpType };
  return out;
}
