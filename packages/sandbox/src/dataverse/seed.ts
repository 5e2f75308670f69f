import { seedCrmDirectoryUsers } from "../graph/directory.js";
import type { Caller, Env } from "./env.js";
import { stableGuid } from "./ids.js";
import { closeOpportunity } from "./records/close-opportunity.js";
import { createRow } from "./records/writes.js";
import { seededForms } from "./seed-forms.js";
import type { Row, Stored } from "./store/store.js";
import { toDataverseDateTime } from "./values.js";

/**
 * Deterministic seed data: a business unit, currencies (USD base, EUR, GBP), security roles, the
 * default publisher and solution, the SYSTEM user, one systemuser per licensed directory user
 * (same Entra object ids as the Graph emulator), accounts in several countries with contacts,
 * campaigns and ~20 opportunities in every state. Ids are stable across runs; dates are relative
 * to the sandbox clock.
 */

export const SEED_IDS = {
  organization: stableGuid("organization"),
  businessUnit: stableGuid("businessunit:root"),
  systemUser: stableGuid("systemuser:SYSTEM"),
  usd: stableGuid("currency:USD"),
  eur: stableGuid("currency:EUR"),
  gbp: stableGuid("currency:GBP"),
  defaultPublisher: stableGuid("publisher:default"),
  defaultSolution: stableGuid("solution:Default"),
} as const;

/** Security roles seeded in the root business unit. */
export const SEED_ROLES = [
  "System Administrator",
  "System Customizer",
  "Salesperson",
  "Sales Manager",
  "Basic User",
  "Delegate",
] as const;

/** The stable `roleid` of a seeded security role. */
export const roleId = (name: string) => stableGuid(`role:${name}`);
/** The stable `systemuserid` of the seeded user with this Entra object id. */
export const systemUserIdFor = (entraObjectId: string) => stableGuid(`systemuser:${entraObjectId}`);

const DAY = 86_400_000;

/** Creates a row as the SYSTEM user and back-dates it `ageDays` (modified `modifiedDaysAgo` ago). */
function seedRow(
  env: Env,
  logicalName: string,
  id: string,
  body: Record<string, unknown>,
  ageDays = 400,
  modifiedDaysAgo = ageDays,
  caller: Caller = { userId: SEED_IDS.systemUser },
): Row {
  const table = env.schema.require(logicalName);
  const row = createRow(env, table, body, caller, { id, internal: true });
  return backdate(env, logicalName, row, ageDays, modifiedDaysAgo);
}

function backdate(env: Env, logicalName: string, row: Row, ageDays: number, modifiedDaysAgo: number): Row {
  const table = env.schema.require(logicalName);
  const now = env.clock.now().getTime();
  const dated: Record<string, Stored> = {
    ...row,
    createdon: toDataverseDateTime(now - ageDays * DAY),
    modifiedon: toDataverseDateTime(now - Math.min(modifiedDaysAgo, ageDays) * DAY),
  };
  env.store.put(logicalName, String(row[table.primaryId]), dated);
  return dated;
}

interface AccountSeed {
  key: string;
  name: string;
  number: string;
  line1: string;
  city: string;
  state?: string;
  postal: string;
  country: string;
  phone: string;
  web: string;
  employees: number;
  currency: "usd" | "eur" | "gbp";
  owner: number;
  contacts: [string, string, string][];
}

const ACCOUNTS: AccountSeed[] = [
  {
    key: "fabrikam",
    name: "Fabrikam, Inc.",
    number: "FAB-0001",
    line1: "4567 Main Street",
    city: "Redmond",
    state: "WA",
    postal: "98052",
    country: "United States",
    phone: "+1 425 555 0100",
    web: "https://www.fabrikam.com",
    employees: 5200,
    currency: "usd",
    owner: 0,
    contacts: [
      ["Nancy", "Davolio", "CIO"],
      ["Robert", "King", "IT Director"],
    ],
  },
  {
    key: "northwind",
    name: "Northwind Traders Ltd",
    number: "NWT-0002",
    line1: "12 Market Street",
    city: "London",
    postal: "EC1A 1BB",
    country: "United Kingdom",
    phone: "+44 20 7946 0958",
    web: "https://www.northwindtraders.com",
    employees: 830,
    currency: "gbp",
    owner: 4,
    contacts: [["Margaret", "Peacock", "Head of Operations"]],
  },
  {
    key: "contoso-pharma",
    name: "Contoso Pharmaceuticals GmbH",
    number: "CPH-0003",
    line1: "Friedrichstraße 123",
    city: "Berlin",
    state: "Berlin",
    postal: "10117",
    country: "Germany",
    phone: "+49 30 5550 9876",
    web: "https://www.contoso-pharma.de",
    employees: 12000,
    currency: "eur",
    owner: 1,
    contacts: [
      ["Klaus", "Wagner", "CTO"],
      ["Anna", "Schmidt", "Procurement Lead"],
    ],
  },
  {
    key: "tailspin",
    name: "Tailspin Toys SAS",
    number: "TST-0004",
    line1: "25 Rue de la République",
    city: "Lyon",
    postal: "69002",
    country: "France",
    phone: "+33 4 55 50 43 21",
    web: "https://www.tailspintoys.fr",
    employees: 410,
    currency: "eur",
    owner: 3,
    contacts: [["Camille", "Durand", "Directrice des systèmes d'information"]],
  },
  {
    key: "wideworld",
    name: "Wide World Importers",
    number: "WWI-0005",
    line1: "200 W Madison St",
    city: "Chicago",
    state: "IL",
    postal: "60606",
    country: "United States",
    phone: "+1 312 555 0164",
    web: "https://www.wideworldimporters.com",
    employees: 2300,
    currency: "usd",
    owner: 0,
    contacts: [["Hudson", "Onslow", "VP Supply Chain"]],
  },
  {
    key: "adventureworks",
    name: "Adventure Works Cycles",
    number: "AWC-0006",
    line1: "1055 W Georgia St",
    city: "Vancouver",
    state: "BC",
    postal: "V6E 3P3",
    country: "Canada",
    phone: "+1 604 555 0123",
    web: "https://www.adventure-works.com",
    employees: 640,
    currency: "usd",
    owner: 0,
    contacts: [["Terri", "Duffy", "VP Engineering"]],
  },
  {
    key: "woodgrove",
    name: "Woodgrove Bank K.K.",
    number: "WGB-0007",
    line1: "1-1 Marunouchi, Chiyoda-ku",
    city: "Tokyo",
    postal: "100-0005",
    country: "Japan",
    phone: "+81 3 5550 9988",
    web: "https://www.woodgrovebank.jp",
    employees: 9800,
    currency: "usd",
    owner: 5,
    contacts: [["Haruto", "Sato", "Head of Digital"]],
  },
  {
    key: "litware",
    name: "Litware Technologies Pvt Ltd",
    number: "LIT-0008",
    line1: "80 MG Road",
    city: "Bengaluru",
    state: "Karnataka",
    postal: "560001",
    country: "India",
    phone: "+91 80 5550 7766",
    web: "https://www.litware.in",
    employees: 1500,
    currency: "usd",
    owner: 2,
    contacts: [["Ananya", "Iyer", "Engineering Manager"]],
  },
  {
    key: "alpine",
    name: "Alpine Ski House AG",
    number: "ASH-0009",
    line1: "Bahnhofstrasse 10",
    city: "Zürich",
    state: "ZH",
    postal: "8001",
    country: "Switzerland",
    phone: "+41 44 555 12 34",
    web: "https://www.alpineskihouse.ch",
    employees: 220,
    currency: "eur",
    owner: 1,
    contacts: [["Lukas", "Meier", "CFO"]],
  },
  {
    key: "proseware",
    name: "Proseware Ltda",
    number: "PRW-0010",
    line1: "Avenida Paulista 1000",
    city: "São Paulo",
    state: "SP",
    postal: "01310-100",
    country: "Brazil",
    phone: "+55 11 5550 4321",
    web: "https://www.proseware.com.br",
    employees: 760,
    currency: "usd",
    owner: 6,
    contacts: [["Mariana", "Costa", "Diretora de TI"]],
  },
  {
    key: "coho",
    name: "Coho Winery S.r.l.",
    number: "CHW-0011",
    line1: "Via Montenapoleone 8",
    city: "Milano",
    state: "MI",
    postal: "20121",
    country: "Italy",
    phone: "+39 02 5550 8765",
    web: "https://www.cohowinery.it",
    employees: 95,
    currency: "eur",
    owner: 7,
    contacts: [["Giulia", "Bianchi", "Operations Manager"]],
  },
  {
    key: "trey",
    name: "Trey Research B.V.",
    number: "TRR-0012",
    line1: "Herengracht 500",
    city: "Amsterdam",
    state: "NH",
    postal: "1017 CB",
    country: "Netherlands",
    phone: "+31 20 555 0199",
    web: "https://www.treyresearch.nl",
    employees: 310,
    currency: "eur",
    owner: 1,
    contacts: [["Daan", "de Vries", "Head of Data"]],
  },
  // Real CRM data is messy: this one has the country as an abbreviation, not a name.
  {
    key: "wingtip",
    name: "Wingtip Toys",
    number: "WTT-0013",
    line1: "500 Congress Ave",
    city: "Austin",
    state: "TX",
    postal: "78701",
    country: "USA",
    phone: "+1 512 555 0111",
    web: "https://www.wingtiptoys.com",
    employees: 150,
    currency: "usd",
    owner: 7,
    contacts: [["Kevin", "Liu", "Owner"]],
  },
];

const CAMPAIGNS = [
  { key: "migrate", name: "FY26 Azure Migrate & Modernize", code: "CMP-1001", status: 2 },
  { key: "copilot", name: "Copilot Readiness Webinar Series", code: "CMP-1002", status: 2 },
  { key: "summit", name: "Partner Summit 2025 Leads", code: "CMP-1003", status: 3 },
];

interface OpportunitySeed {
  name: string;
  account: string;
  value: number;
  closeInDays: number;
  stage: number;
  probability: number;
  status: 1 | 2 | 3 | 4 | 5;
  campaign?: string;
  description: string;
  age: number;
}

const OPPORTUNITIES: OpportunitySeed[] = [
  {
    name: "Azure datacenter exit",
    account: "fabrikam",
    value: 480000,
    closeInDays: 45,
    stage: 2,
    probability: 60,
    status: 1,
    campaign: "migrate",
    description: "Move 300 VMs from the Redmond datacenter to Azure before the lease ends.",
    age: 120,
  },
  {
    name: "Copilot for Sales rollout",
    account: "fabrikam",
    value: 96000,
    closeInDays: 20,
    stage: 3,
    probability: 80,
    status: 1,
    campaign: "copilot",
    description: "800 seats, change management included.",
    age: 60,
  },
  {
    name: "Dynamics 365 Customer Service upgrade",
    account: "northwind",
    value: 150000,
    closeInDays: 75,
    stage: 1,
    probability: 40,
    status: 1,
    description: "Replace the on-premises contact centre with Customer Service and Omnichannel.",
    age: 45,
  },
  {
    name: "Microsoft Fabric analytics platform",
    account: "contoso-pharma",
    value: 620000,
    closeInDays: 110,
    stage: 1,
    probability: 35,
    status: 1,
    campaign: "migrate",
    description: "Lakehouse for clinical trial data; GxP validation required.",
    age: 30,
  },
  {
    name: "Sentinel SOC modernization",
    account: "contoso-pharma",
    value: 210000,
    closeInDays: 30,
    stage: 2,
    probability: 55,
    status: 2,
    description: "On hold until the security budget is approved in Q3.",
    age: 200,
  },
  {
    name: "Teams Rooms for 40 sites",
    account: "tailspin",
    value: 88000,
    closeInDays: 14,
    stage: 3,
    probability: 90,
    status: 1,
    description: "Hardware plus managed service for three years.",
    age: 25,
  },
  {
    name: "SAP on Azure landing zone",
    account: "wideworld",
    value: 750000,
    closeInDays: 150,
    stage: 0,
    probability: 20,
    status: 1,
    campaign: "migrate",
    description: "RISE with SAP discussion; customer wants a partner-led landing zone.",
    age: 10,
  },
  {
    name: "AVD for retail stores",
    account: "wideworld",
    value: 132000,
    closeInDays: 60,
    stage: 1,
    probability: 45,
    status: 1,
    description: "Azure Virtual Desktop for 120 stores.",
    age: 50,
  },
  {
    name: "Intune and Defender rollout",
    account: "adventureworks",
    value: 54000,
    closeInDays: 35,
    stage: 2,
    probability: 65,
    status: 1,
    description: "",
    age: 40,
  },
  {
    name: "Core banking data platform",
    account: "woodgrove",
    value: 1250000,
    closeInDays: 200,
    stage: 0,
    probability: 15,
    status: 1,
    description: "Early qualification with the CDO office.",
    age: 5,
  },
  {
    name: "GitHub Copilot enterprise",
    account: "litware",
    value: 72000,
    closeInDays: 25,
    stage: 3,
    probability: 75,
    status: 1,
    campaign: "copilot",
    description: "1,000 developers.",
    age: 70,
  },
  {
    name: "Power Platform CoE",
    account: "alpine",
    value: 38000,
    closeInDays: 90,
    stage: 1,
    probability: 30,
    status: 2,
    description: "Paused: customer reorganising IT.",
    age: 160,
  },
  {
    name: "Azure OpenAI customer assistant",
    account: "proseware",
    value: 185000,
    closeInDays: 55,
    stage: 2,
    probability: 50,
    status: 1,
    campaign: "summit",
    description: "Portuguese-language assistant for the service desk.",
    age: 35,
  },
  {
    name: "Business Central migration",
    account: "coho",
    value: 64000,
    closeInDays: -20,
    stage: 3,
    probability: 100,
    status: 3,
    description: "From legacy ERP to Business Central.",
    age: 180,
  },
  {
    name: "M365 E5 security upgrade",
    account: "northwind",
    value: 240000,
    closeInDays: -45,
    stage: 3,
    probability: 100,
    status: 3,
    description: "E3 to E5 for 2,400 users.",
    age: 260,
  },
  {
    name: "Azure Arc hybrid management",
    account: "trey",
    value: 47000,
    closeInDays: -10,
    stage: 3,
    probability: 100,
    status: 3,
    description: "",
    age: 90,
  },
  {
    name: "Data estate modernization",
    account: "adventureworks",
    value: 330000,
    closeInDays: -5,
    stage: 3,
    probability: 100,
    status: 3,
    campaign: "migrate",
    description: "SQL Server 2012 estate to Azure SQL Managed Instance.",
    age: 150,
  },
  {
    name: "Contact centre AI pilot",
    account: "tailspin",
    value: 42000,
    closeInDays: -30,
    stage: 2,
    probability: 0,
    status: 4,
    description: "Customer cancelled the project.",
    age: 140,
  },
  {
    name: "Windows 11 deployment",
    account: "wingtip",
    value: 18000,
    closeInDays: -60,
    stage: 2,
    probability: 0,
    status: 4,
    description: "Budget withdrawn.",
    age: 210,
  },
  {
    name: "ERP replacement",
    account: "litware",
    value: 410000,
    closeInDays: -15,
    stage: 3,
    probability: 0,
    status: 5,
    description: "Lost to a competitor's ERP.",
    age: 230,
  },
  {
    name: "Cloud PC for contractors",
    account: "woodgrove",
    value: 76000,
    closeInDays: -40,
    stage: 2,
    probability: 0,
    status: 5,
    description: "Customer chose an incumbent VDI provider.",
    age: 190,
  },
];

const STEP = ["1-Qualify", "2-Develop", "3-Propose", "4-Close"];

/**
 * What every environment has: the root business unit, the SYSTEM user, currencies, security roles
 * and the default publisher and solution.
 */
/** The messages (and the tables they are filtered to) steps can be registered on. */
const SEED_MESSAGES: Record<string, string[]> = {
  Create: ["opportunity", "account", "contact"],
  Update: ["opportunity", "account", "contact"],
  Delete: ["opportunity", "account", "contact"],
  Win: ["opportunity"],
  Lose: ["opportunity"],
};
/** The stable `sdkmessageid` of a seeded message. */
export const sdkMessageId = (name: string) => stableGuid(`sdkmessage:${name}`);
/** The stable `sdkmessagefilterid` of a seeded message on a table. */
export const sdkMessageFilterId = (message: string, table: string) =>
  stableGuid(`sdkmessagefilter:${message}:${table}`);

export function seedOrganization(env: Env): void {
  seedRow(env, "businessunit", SEED_IDS.businessUnit, { name: "cosell-sandbox" });
  seedRow(env, "systemuser", SEED_IDS.systemUser, {
    firstname: "",
    lastname: "SYSTEM",
    accessmode: 1,
    "businessunitid@odata.bind": `/businessunits(${SEED_IDS.businessUnit})`,
  });
  for (const [key, iso, name, symbol, rate] of [
    ["usd", "USD", "US Dollar", "$", 1],
    ["eur", "EUR", "Euro", "€", 0.92],
    ["gbp", "GBP", "Pound Sterling", "£", 0.79],
  ] as const)
    seedRow(env, "transactioncurrency", SEED_IDS[key], {
      isocurrencycode: iso,
      currencyname: name,
      currencysymbol: symbol,
      exchangerate: rate,
      currencyprecision: 2,
    });
  for (const role of SEED_ROLES)
    seedRow(env, "role", roleId(role), {
      name: role,
      "businessunitid@odata.bind": `/businessunits(${SEED_IDS.businessUnit})`,
    });
  env.store.link("systemuserroles", SEED_IDS.systemUser, roleId("System Administrator"));
  seedRow(env, "publisher", SEED_IDS.defaultPublisher, {
    uniquename: "DefaultPublishercosellsandbox",
    friendlyname: "Default Publisher for cosell-sandbox",
    customizationprefix: "new",
    customizationoptionvalueprefix: 10000,
  });
  seedRow(env, "solution", SEED_IDS.defaultSolution, {
    uniquename: "Default",
    friendlyname: "Default Solution",
    version: "1.0",
    "publisherid@odata.bind": `/publishers(${SEED_IDS.defaultPublisher})`,
  });
  // The out-of-the-box opportunity forms, published when the environment was made.
  for (const [id, body] of seededForms()) {
    const form = seedRow(env, "systemform", id, body);
    env.store.put("systemform", id, { ...form, publishedon: form.createdon ?? null });
  }
  for (const [message, tables] of Object.entries(SEED_MESSAGES)) {
    seedRow(env, "sdkmessage", sdkMessageId(message), { name: message });
    for (const t of tables)
      seedRow(env, "sdkmessagefilter", sdkMessageFilterId(message, t), {
        name: `${message} of ${t}`,
        primaryobjecttypecode: t,
        secondaryobjecttypecode: "none",
        "sdkmessageid@odata.bind": `/sdkmessages(${sdkMessageId(message)})`,
      });
  }
}

/** The sample business data: users (matching the Graph directory), accounts, contacts, campaigns, opportunities. */
export function seedSampleData(env: Env): void {
  const now = env.clock.now().getTime();
  const users = seedCrmDirectoryUsers();
  const userIds = users.map((u) => {
    const id = systemUserIdFor(u.id);
    seedRow(env, "systemuser", id, {
      firstname: u.givenName,
      lastname: u.surname,
      internalemailaddress: u.mail,
      domainname: u.userPrincipalName,
      azureactivedirectoryobjectid: u.id,
      address1_telephone1: u.businessPhones[0] ?? null,
      mobilephone: u.mobilePhone,
      title: u.jobTitle,
      isdisabled: !u.accountEnabled,
      accessmode: 0,
      "businessunitid@odata.bind": `/businessunits(${SEED_IDS.businessUnit})`,
    });
    const roles =
      u.jobTitle === "Sales Manager" ? ["Sales Manager", "Basic User"] : ["Salesperson", "Basic User"];
    for (const r of roles) env.store.link("systemuserroles", id, roleId(r));
    return id;
  });
  const owner = (i: number) => userIds[i % userIds.length]!;

  const campaignIds = new Map<string, string>();
  for (const c of CAMPAIGNS) {
    const id = stableGuid(`campaign:${c.key}`);
    campaignIds.set(c.key, id);
    seedRow(env, "campaign", id, {
      name: c.name,
      codename: c.code,
      statuscode: c.status,
      "ownerid@odata.bind": `/systemusers(${owner(0)})`,
    });
  }

  const accountIds = new Map<string, string>();
  const contactIds = new Map<string, string>();
  ACCOUNTS.forEach((a, i) => {
    const id = stableGuid(`account:${a.key}`);
    accountIds.set(a.key, id);
    seedRow(
      env,
      "account",
      id,
      {
        name: a.name,
        accountnumber: a.number,
        telephone1: a.phone,
        websiteurl: a.web,
        address1_line1: a.line1,
        address1_city: a.city,
        address1_stateorprovince: a.state ?? null,
        address1_postalcode: a.postal,
        address1_country: a.country,
        numberofemployees: a.employees,
        "transactioncurrencyid@odata.bind": `/transactioncurrencies(${SEED_IDS[a.currency]})`,
        "ownerid@odata.bind": `/systemusers(${owner(a.owner)})`,
      },
      500 - i * 10,
      100 - i,
    );
    a.contacts.forEach(([first, last, title], j) => {
      const cid = stableGuid(`contact:${a.key}:${j}`);
      if (j === 0) contactIds.set(a.key, cid);
      const domain = new URL(a.web).hostname.replace(/^www\./, "");
      seedRow(
        env,
        "contact",
        cid,
        {
          firstname: first,
          lastname: last,
          jobtitle: title,
          emailaddress1: `${first.toLowerCase()}.${last.toLowerCase().replace(/\s+/g, "")}@${domain}`,
          telephone1: a.phone.replace(/\d{2}$/, String(10 + j * 7).padStart(2, "0")),
          "parentcustomerid_account@odata.bind": `/accounts(${id})`,
          "ownerid@odata.bind": `/systemusers(${owner(a.owner)})`,
        },
        480 - i * 10,
        200 - i,
      );
    });
    const account = env.store.get("account", id)!;
    env.store.put("account", id, {
      ...account,
      primarycontactid: { id: contactIds.get(a.key)!, table: "contact" },
    });
  });

  OPPORTUNITIES.forEach((o, i) => {
    const account = ACCOUNTS.find((a) => a.key === o.account)!;
    const accountId = accountIds.get(o.account)!;
    const id = stableGuid(`opportunity:${i}`);
    const ownerId = owner(account.owner);
    const closeDate = new Date(now + o.closeInDays * DAY).toISOString().slice(0, 10);
    const open = o.status <= 2;
    const body: Record<string, unknown> = {
      name: o.name,
      estimatedvalue: o.value,
      estimatedclosedate: closeDate,
      closeprobability: o.probability,
      salesstage: o.stage,
      stepname: STEP[o.stage],
      description: o.description || null,
      statuscode: open ? o.status : 1,
      "transactioncurrencyid@odata.bind": `/transactioncurrencies(${SEED_IDS[account.currency]})`,
      "customerid_account@odata.bind": `/accounts(${accountId})`,
      "parentaccountid@odata.bind": `/accounts(${accountId})`,
      "parentcontactid@odata.bind": `/contacts(${contactIds.get(o.account)})`,
      "ownerid@odata.bind": `/systemusers(${ownerId})`,
    };
    if (o.campaign) body["campaignid@odata.bind"] = `/campaigns(${campaignIds.get(o.campaign)})`;
    const caller: Caller = { userId: ownerId };
    seedRow(env, "opportunity", id, body, o.age, Math.min(o.age, 3 + (i % 11)), caller);
    if (!open) {
      const won = o.status === 3;
      closeOpportunity(
        env,
        won ? "Won" : "Lost",
        {
          Status: o.status,
          OpportunityClose: {
            subject: won ? `Won: ${o.name}` : `Lost: ${o.name}`,
            "opportunityid@odata.bind": `/opportunities(${id})`,
            actualrevenue: won ? o.value : 0,
            actualend: `${closeDate}T12:00:00Z`,
            description: o.description || null,
          },
        },
        caller,
      );
      const closed = env.store.get("opportunity", id)!;
      backdate(env, "opportunity", closed, o.age, Math.max(0, -o.closeInDays));
    }
  });
}
