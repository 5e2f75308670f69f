import type { CallStats } from "@cosell/core";

/** API calls by kind and by endpoint (e.g. `GET query`, `PATCH composite/sobjects`, `SOAP readMetadata`). */
export interface SalesforceCallStats extends CallStats {
  /** Token requests (logins and session refreshes); not part of `total`. */
  auth: number;
  byEndpoint: Record<string, number>;
}

/** Counts every API call the adapter makes (one collection request = one call, as Salesforce counts). */
export class CallCounter {
  private readonly s: SalesforceCallStats = { total: 0, reads: 0, writes: 0, auth: 0, byEndpoint: {} };

  count(kind: "reads" | "writes", endpoint: string): void {
    this.s.total++;
    this.s[kind]++;
    this.s.byEndpoint[endpoint] = (this.s.byEndpoint[endpoint] ?? 0) + 1;
  }

  auth(): void {
    this.s.auth++;
    this.s.byEndpoint["POST oauth2/token"] = (this.s.byEndpoint["POST oauth2/token"] ?? 0) + 1;
  }

  snapshot(): SalesforceCallStats {
    return { ...this.s, byEndpoint: { ...this.s.byEndpoint } };
  }
}
