import { seededRandom } from "../kit/random.js";
import type { Value } from "./schema/types.js";
import type { Dml } from "./store/dml.js";
import type { Org } from "./store/org.js";
import { type MutableRow, OBJECT_RULES } from "./store/rules.js";
import { formatDate } from "./time.js";

const DAY = 86_400_000;

const pickOf = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

interface Person {
  first: string;
  last: string;
  email: string;
  phone: string;
  title: string;
}

const SELLERS: Person[] = [
  {
    first: "Avery",
    last: "Chen",
    email: "avery.chen@cosell.sandbox",
    phone: "+1 415 555 0134",
    title: "Account Executive",
  },
  {
    first: "Mateo",
    last: "García",
    email: "mateo.garcia@cosell.sandbox",
    phone: "+34 91 555 0199",
    title: "Partner Sales Manager",
  },
  {
    first: "Priya",
    last: "Raman",
    email: "priya.raman@cosell.sandbox",
    phone: "+44 20 7946 0321",
    title: "Solution Engineer",
  },
  {
    first: "Jonas",
    last: "Becker",
    email: "jonas.becker@cosell.sandbox",
    phone: "+49 30 5555 0178",
    title: "Regional Sales Director",
  },
];

/** Accounts with real-looking billing addresses; countries stored as names and, for some, as ISO codes. */
const ACCOUNTS: Record<string, Value>[] = [
  {
    Name: "Contoso Ltd",
    Industry: "Technology",
    Type: "Customer - Direct",
    Website: "https://www.contoso.example",
    Phone: "+1 206 555 0100",
    NumberOfEmployees: 12000,
    AnnualRevenue: 2400000000,
    BillingStreet: "4567 Main St",
    BillingCity: "Seattle",
    BillingState: "WA",
    BillingPostalCode: "98101",
    BillingCountry: "United States",
  },
  {
    Name: "Fabrikam Inc",
    Industry: "Manufacturing",
    Type: "Prospect",
    Website: "https://fabrikam.example",
    Phone: "+1 617 555 0142",
    NumberOfEmployees: 3400,
    AnnualRevenue: 610000000,
    BillingStreet: "200 Clarendon St",
    BillingCity: "Boston",
    BillingState: "MA",
    BillingPostalCode: "02116",
    BillingCountry: "US",
  },
  {
    Name: "Northwind Traders",
    Industry: "Retail",
    Type: "Customer - Channel",
    Website: "https://northwind.example",
    Phone: "+44 20 7946 0958",
    NumberOfEmployees: 860,
    AnnualRevenue: 95000000,
    BillingStreet: "12 Hammersmith Rd",
    BillingCity: "London",
    BillingPostalCode: "W14 8XJ",
    BillingCountry: "United Kingdom",
  },
  {
    Name: "Tailspin Toys GmbH",
    Industry: "Retail",
    Type: "Prospect",
    Website: "https://tailspin.example",
    Phone: "+49 30 5555 0100",
    NumberOfEmployees: 420,
    AnnualRevenue: 48000000,
    BillingStreet: "Friedrichstraße 68",
    BillingCity: "Berlin",
    BillingPostalCode: "10117",
    BillingCountry: "Germany",
  },
  {
    Name: "Woodgrove Bank",
    Industry: "Banking",
    Type: "Customer - Direct",
    Website: "https://woodgrovebank.example",
    Phone: "+1 416 555 0177",
    NumberOfEmployees: 25000,
    AnnualRevenue: 7800000000,
    BillingStreet: "100 King St W",
    BillingCity: "Toronto",
    BillingState: "ON",
    BillingPostalCode: "M5X 1A9",
    BillingCountry: "Canada",
  },
  {
    Name: "Litware Japan KK",
    Industry: "Technology",
    Type: "Prospect",
    Website: "https://litware.example",
    Phone: "+81 3 5555 0123",
    NumberOfEmployees: 1900,
    AnnualRevenue: 320000000,
    BillingStreet: "1-9-2 Marunouchi, Chiyoda-ku",
    BillingCity: "Tokyo",
    BillingPostalCode: "100-0005",
    BillingCountry: "JP",
  },
  {
    Name: "Adventure Works Cycles",
    Industry: "Manufacturing",
    Type: "Customer - Channel",
    Website: "https://adventure-works.example",
    Phone: "+33 1 55 55 01 90",
    NumberOfEmployees: 640,
    AnnualRevenue: 120000000,
    BillingStreet: "21 Rue de la Paix",
    BillingCity: "Paris",
    BillingPostalCode: "75002",
    BillingCountry: "France",
  },
  {
    Name: "Wingtip Toys Pty Ltd",
    Industry: "Retail",
    Type: "Prospect",
    Website: "https://wingtiptoys.example",
    Phone: "+61 2 5550 1234",
    NumberOfEmployees: 150,
    AnnualRevenue: 22000000,
    BillingStreet: "1 Martin Pl",
    BillingCity: "Sydney",
    BillingState: "NSW",
    BillingPostalCode: "2000",
    BillingCountry: "AU",
  },
];

/** [first, last, title, account index]; emails are derived from the account's website. */
const CONTACTS: [string, string, string, number][] = [
  ["Dana", "Whitfield", "CIO", 0],
  ["Marcus", "Oyelaran", "Director of Cloud Infrastructure", 0],
  ["Elena", "Sokolova", "VP Operations", 1],
  ["Tom", "Harrington", "Head of IT", 2],
  ["Grace", "Mbeki", "Procurement Lead", 2],
  ["Lukas", "Hoffmann", "Geschäftsführer", 3],
  ["Sophie", "Tremblay", "Chief Data Officer", 4],
  ["Raj", "Malhotra", "Enterprise Architect", 4],
  ["Haruto", "Sato", "IT Manager", 5],
  ["Camille", "Laurent", "Directrice Financière", 6],
  ["Olivia", "Nguyen", "Operations Manager", 7],
  ["Noah", "Fraser", "CTO", 7],
];

const CAMPAIGNS: Record<string, Value>[] = [
  { Name: "Microsoft Co-sell Q3 Launch", Type: "Partners", Status: "In Progress", IsActive: true },
  { Name: "Azure Migration Webinar Series", Type: "Webinar", Status: "Planned", IsActive: true },
  { Name: "Ignite Follow-up", Type: "Conference", Status: "Completed", IsActive: false },
];

const PRODUCTS = [
  "Azure Migration",
  "Data Platform Modernisation",
  "Copilot Rollout",
  "Security Assessment",
  "Dynamics 365 Implementation",
  "AVD Deployment",
  "Fabric Analytics",
  "SAP on Azure",
];

/** [stage, amount, days from now to close] for the demo opportunities. */
const DEMO_OPPORTUNITIES: [string, number, number][] = [
  ["Prospecting", 45000, 90],
  ["Qualification", 120000, 75],
  ["Co-sell Review", 250000, 60],
  ["Co-sell Review", 80000, 45],
  ["Needs Analysis", 310000, 70],
  ["Value Proposition", 95000, 40],
  ["Id. Decision Makers", 180000, 35],
  ["Perception Analysis", 60000, 50],
  ["Proposal/Price Quote", 420000, 20],
  ["Proposal/Price Quote", 150000, 25],
  ["Negotiation/Review", 275000, 10],
  ["Negotiation/Review", 38000, 14],
  ["Closed Won", 200000, -10],
  ["Closed Won", 520000, -30],
  ["Closed Won", 72000, -5],
  ["Closed Lost", 90000, -20],
  ["Closed Lost", 130000, -45],
  ["Closed - Partner Declined", 65000, -3],
  ["Prospecting", 15000, 120],
  ["Qualification", 340000, 100],
];

const ROLES = ["Decision Maker", "Economic Buyer", "Technical Buyer", "Evaluator", "Influencer"];
const TEAM_ROLES = ["Sales Manager", "Pre-Sales Consultant", "Channel Manager"];

function emailFor(first: string, last: string, website: Value): string {
  const domain = String(website ?? "example.com").replace(/^https?:\/\/(www\.)?/, "");
  const ascii = (s: string) => s.normalize("NFD").replace(/[^\w]/g, "").toLowerCase();
  return `${ascii(first)}.${ascii(last)}@${domain}`;
}

/** Creates the integration user every org has (its username is the connected app's run-as user). */
export function createIntegrationUser(org: Org, dml: Dml, username: string): string {
  // The id is known up front so the user can be its own creator.
  org.integrationUserId = org.ids.peek("005");
  const email = /@/.test(username) ? username : "integration@cosell.sandbox";
  return dml.insert(
    "User",
    {
      Username: username,
      FirstName: "Integration",
      LastName: "User",
      Alias: "integ",
      Email: email,
      Title: "API Integration",
    },
    org.systemActor(),
  );
}

/** Loads the demo data set: sellers, accounts, contacts, campaigns, 20 opportunities with roles and teams. */
export function seedDemoData(org: Org, dml: Dml): void {
  const actor = org.systemActor();
  const today = Math.floor(org.clock.now().getTime() / DAY) * DAY;
  const sellers = SELLERS.map((p) =>
    dml.insert(
      "User",
      {
        Username: p.email,
        FirstName: p.first,
        LastName: p.last,
        Alias: (p.first[0]! + p.last).slice(0, 8).toLowerCase(),
        Email: p.email,
        Phone: p.phone,
        Title: p.title,
      },
      actor,
    ),
  );
  const accounts = ACCOUNTS.map((a, i) =>
    dml.insert("Account", { ...a, OwnerId: sellers[i % sellers.length]! }, actor),
  );
  const contactsByAccount = new Map<number, string[]>();
  CONTACTS.forEach(([first, last, title, ai], i) => {
    const id = dml.insert(
      "Contact",
      {
        FirstName: first,
        LastName: last,
        Title: title,
        AccountId: accounts[ai]!,
        Email: emailFor(first, last, ACCOUNTS[ai]!.Website ?? null),
        Phone: `${String(ACCOUNTS[ai]!.Phone).slice(0, -2)}${String(10 + i)}`,
        MailingCity: ACCOUNTS[ai]!.BillingCity ?? null,
        MailingCountry: ACCOUNTS[ai]!.BillingCountry ?? null,
      },
      actor,
    );
    contactsByAccount.set(ai, [...(contactsByAccount.get(ai) ?? []), id]);
  });
  const campaigns = CAMPAIGNS.map((c, i) =>
    dml.insert(
      "Campaign",
      {
        ...c,
        StartDate: formatDate(today - (60 - i * 20) * DAY),
        EndDate: formatDate(today + (30 + i * 15) * DAY),
      },
      actor,
    ),
  );
  DEMO_OPPORTUNITIES.forEach(([stage, amount, closeIn], i) => {
    const ai = i % accounts.length;
    const oppId = dml.insert(
      "Opportunity",
      {
        Name: `${String(ACCOUNTS[ai]!.Name)} - ${PRODUCTS[i % PRODUCTS.length]}`,
        AccountId: accounts[ai]!,
        StageName: stage,
        Amount: amount,
        CloseDate: formatDate(today + closeIn * DAY),
        OwnerId: sellers[i % sellers.length]!,
        CampaignId: i % 3 === 0 ? campaigns[i % campaigns.length]! : null,
        LeadSource: i % 2 === 0 ? "Partner Referral" : "Web",
        Type: i % 4 === 0 ? "Existing Customer - Upgrade" : "New Customer",
        NextStep: stage.startsWith("Closed") ? null : "Schedule architecture workshop with the customer",
        Description: `${PRODUCTS[i % PRODUCTS.length]} for ${String(ACCOUNTS[ai]!.Name)}, jointly sold with Microsoft.`,
      },
      actor,
    );
    for (const [k, contactId] of (contactsByAccount.get(ai) ?? []).entries())
      dml.insert(
        "OpportunityContactRole",
        {
          OpportunityId: oppId,
          ContactId: contactId,
          Role: ROLES[(i + k) % ROLES.length]!,
          IsPrimary: k === 0,
        },
        actor,
      );
    if (i % 2 === 0)
      dml.insert(
        "OpportunityTeamMember",
        {
          OpportunityId: oppId,
          UserId: sellers[(i + 1) % sellers.length]!,
          TeamMemberRole: TEAM_ROLES[i % TEAM_ROLES.length]!,
          OpportunityAccessLevel: "Edit",
        },
        actor,
      );
  });
}

/** Options of {@link seedOpportunities}. */
export interface SeedOpportunitiesOptions {
  /** PRNG seed (default 42): the same seed and count give the same records. */
  seed?: number;
  /** Stage values to draw from (default: every active stage). */
  stages?: string[];
  /** Accounts to attach to (default: every live account; none when the org has no accounts). */
  accountIds?: string[];
  /** Owners to draw from (default: every active user). */
  ownerIds?: string[];
  /** Prefix of generated names (default `"Bulk"`). */
  namePrefix?: string;
  /** Extra field values per record (custom fields included), e.g. an external id. */
  fields?: (index: number) => Record<string, Value>;
}

/**
 * Bulk-creates `n` realistic opportunities straight into the store (100k in a second or two):
 * values are generated valid, derived fields (IsClosed, Probability, ForecastCategory…) and audit
 * stamps are set like a normal insert, but per-record validation is skipped.
 */
export function seedOpportunities(org: Org, n: number, opts: SeedOpportunitiesOptions = {}): string[] {
  const rand = seededRandom(opts.seed ?? 42);
  const def = org.object("Opportunity")!;
  const stages = opts.stages ?? org.schema.stages.filter((s) => s.isActive !== false).map((s) => s.apiName);
  const accounts =
    opts.accountIds ??
    [...org.store.rows("Account")].filter((r) => r.IsDeleted !== true).map((r) => r.Id as string);
  const owners =
    opts.ownerIds ??
    [...org.store.rows("User")].filter((r) => r.IsActive !== false).map((r) => r.Id as string);
  const accountNames = new Map(
    accounts.map((id) => [id, String(org.store.get("Account", id)?.Name ?? "Account")]),
  );
  const template: MutableRow = {};
  for (const f of def.fields) template[f.name] = f.defaultValue ?? (f.type === "boolean" ? false : null);
  const now = org.now();
  const today = Math.floor(org.clock.now().getTime() / DAY) * DAY;
  const derive = OBJECT_RULES.Opportunity!.derive!;
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const extra = opts.fields?.(i) ?? {};
    const stage = pickOf(rand, stages);
    const accountId = accounts.length ? pickOf(rand, accounts) : null;
    const closed = org.schema.stage(stage)?.isClosed ?? false;
    const row: MutableRow = {
      ...template,
      Id: org.ids.next(def.keyPrefix),
      Name: `${opts.namePrefix ?? "Bulk"} ${accountId ? accountNames.get(accountId) : "Opportunity"} - ${pickOf(rand, PRODUCTS)} #${i + 1}`,
      AccountId: accountId,
      StageName: stage,
      Amount: Math.round(5 + rand() * 995) * 1000,
      CloseDate: formatDate(today + Math.round((closed ? -1 : 1) * (1 + rand() * 120)) * DAY),
      OwnerId: owners.length ? pickOf(rand, owners) : org.integrationUserId,
      LeadSource: rand() < 0.5 ? "Partner Referral" : pickOf(rand, ["Web", "Phone Inquiry", "Other"]),
      Type: rand() < 0.7 ? "New Customer" : "Existing Customer - Upgrade",
      CreatedDate: now,
      CreatedById: org.integrationUserId,
      LastModifiedDate: now,
      LastModifiedById: org.integrationUserId,
      SystemModstamp: now,
      ...extra,
    };
    // Given Probability / ForecastCategoryName win over the stage defaults, as in an insert.
    derive(row, undefined, new Set(Object.keys(extra)), org);
    org.store.put("Opportunity", Object.freeze(row));
    ids.push(row.Id as string);
  }
  return ids;
}
