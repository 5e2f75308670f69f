import type { SandboxClock, TokenRegistry } from "../kit/index.js";
import type { ApiUsage } from "./api-usage.js";
import type { ChangeEventBus } from "./cdc/change-events.js";
import type { OAuthService } from "./oauth.js";
import type { ResolvedOptions } from "./options.js";
import type { CursorStore } from "./rest/cursors.js";
import type { MetadataService } from "./soap/metadata-service.js";
import type { Dml } from "./store/dml.js";
import type { Org } from "./store/org.js";

/** Everything the request handlers of one emulated org share. */
export interface SalesforceContext {
  org: Org;
  dml: Dml;
  options: ResolvedOptions;
  tokens: TokenRegistry;
  clock: SandboxClock;
  usage: ApiUsage;
  cursors: CursorStore;
  oauth: OAuthService;
  metadata: MetadataService;
  /** Change Data Capture's event bus (the CometD endpoint delivers from it). */
  changeEvents: ChangeEventBus;
}
