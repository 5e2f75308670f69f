import { z } from "zod";
import { stableGuid } from "../dataverse/ids.js";

/** A user of the partner's Entra ID tenant, as Microsoft Graph `/users` returns it. */
export const directoryUserSchema = z.object({
  /** Entra object id; Dataverse's `systemuser.azureactivedirectoryobjectid`. */
  id: z.string().min(1),
  displayName: z.string(),
  givenName: z.string().nullable(),
  surname: z.string().nullable(),
  mail: z.string().nullable(),
  userPrincipalName: z.string().min(1),
  mobilePhone: z.string().nullable(),
  businessPhones: z.array(z.string()),
  jobTitle: z.string().nullable(),
  officeLocation: z.string().nullable(),
  preferredLanguage: z.string().nullable(),
  accountEnabled: z.boolean(),
  /** ISO 3166 alpha-2 usage location. */
  usageLocation: z.string().nullable(),
});
/** A directory user (see {@link directoryUserSchema}). */
export type DirectoryUser = z.infer<typeof directoryUserSchema>;

/** The tenant's domain in the sandbox. */
export const SANDBOX_DIRECTORY_DOMAIN = "contoso.com";

interface Seed {
  given: string;
  surname: string;
  title: string;
  office: string;
  country: string;
  phone: string;
  mobile?: string;
  language: string;
  enabled?: boolean;
  /** False for tenant users who have no Dynamics 365 licence (not a Dataverse systemuser). */
  crmUser?: boolean;
}

const SEEDS: Seed[] = [
  {
    given: "Avery",
    surname: "Chen",
    title: "Partner Sales Executive",
    office: "Seattle",
    country: "US",
    phone: "+1 206 555 0142",
    mobile: "+1 425 555 0199",
    language: "en-US",
  },
  {
    given: "Jonas",
    surname: "Becker",
    title: "Account Executive",
    office: "Munich",
    country: "DE",
    phone: "+49 89 5550 1234",
    mobile: "+49 151 5550 4411",
    language: "de-DE",
  },
  {
    given: "Priya",
    surname: "Natarajan",
    title: "Solution Architect",
    office: "Bengaluru",
    country: "IN",
    phone: "+91 80 5550 1122",
    language: "en-IN",
  },
  {
    given: "Chloé",
    surname: "Martin",
    title: "Account Executive",
    office: "Paris",
    country: "FR",
    phone: "+33 1 55 50 12 34",
    mobile: "+33 6 55 50 98 76",
    language: "fr-FR",
  },
  {
    given: "Oliver",
    surname: "Hughes",
    title: "Sales Manager",
    office: "London",
    country: "GB",
    phone: "+44 20 7946 0123",
    language: "en-GB",
  },
  {
    given: "Mei",
    surname: "Tanaka",
    title: "Account Executive",
    office: "Tokyo",
    country: "JP",
    phone: "+81 3 5550 1234",
    language: "ja-JP",
  },
  {
    given: "Lucas",
    surname: "Oliveira",
    title: "Partner Development Manager",
    office: "São Paulo",
    country: "BR",
    phone: "+55 11 5550 1234",
    mobile: "+55 11 95550 7788",
    language: "pt-BR",
  },
  {
    given: "Sofia",
    surname: "Rossi",
    title: "Inside Sales Representative",
    office: "Milan",
    country: "IT",
    phone: "+39 02 5550 1234",
    language: "it-IT",
  },
  {
    given: "Daniel",
    surname: "Ortiz",
    title: "Account Executive",
    office: "Madrid",
    country: "ES",
    phone: "+34 91 555 0123",
    language: "es-ES",
    enabled: false,
  },
  {
    given: "Grace",
    surname: "Kim",
    title: "Marketing Manager",
    office: "Seattle",
    country: "US",
    phone: "+1 206 555 0177",
    language: "en-US",
    crmUser: false,
  },
];

function ascii(s: string): string {
  return s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase();
}

/** A directory user from its parts, with a stable object id. */
export function directoryUser(seed: Seed): DirectoryUser {
  const upn = `${ascii(seed.given)}.${ascii(seed.surname)}@${SANDBOX_DIRECTORY_DOMAIN}`;
  return {
    id: stableGuid(`entra-user:${upn}`),
    displayName: `${seed.given} ${seed.surname}`,
    givenName: seed.given,
    surname: seed.surname,
    mail: upn,
    userPrincipalName: upn,
    mobilePhone: seed.mobile ?? null,
    businessPhones: [seed.phone],
    jobTitle: seed.title,
    officeLocation: seed.office,
    preferredLanguage: seed.language,
    accountEnabled: seed.enabled ?? true,
    usageLocation: seed.country,
  };
}

/**
 * The seeded tenant users. Every user except the last (an unlicensed marketing user) is also a
 * Dataverse `systemuser` whose `azureactivedirectoryobjectid` is the user's `id`.
 */
export function seedDirectoryUsers(): DirectoryUser[] {
  return SEEDS.map(directoryUser);
}

/** The seeded users that also exist in Dataverse (licensed for Dynamics 365). */
export function seedCrmDirectoryUsers(): DirectoryUser[] {
  return SEEDS.filter((s) => s.crmUser !== false).map(directoryUser);
}
