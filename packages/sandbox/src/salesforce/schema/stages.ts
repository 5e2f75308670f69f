/** Forecast categories as shown on stages and opportunities (`ForecastCategoryName`). */
export type ForecastCategoryName = "Pipeline" | "Best Case" | "Most Likely" | "Commit" | "Omitted" | "Closed";

/** One opportunity stage of the org (a row of `OpportunityStage`, value of `StageName`). */
export interface StageDefinition {
  /** The picklist value stored in `StageName`. */
  apiName: string;
  /** Shown label; defaults to `apiName`. */
  label?: string;
  isActive?: boolean;
  isClosed: boolean;
  isWon: boolean;
  defaultProbability: number;
  forecastCategoryName: ForecastCategoryName;
  description?: string;
}

/** `ForecastCategory` (API value) for a `ForecastCategoryName`. */
export function forecastCategoryApiValue(name: string): string {
  switch (name) {
    case "Best Case":
      return "BestCase";
    case "Commit":
      return "Forecast";
    case "Most Likely":
      return "MostLikely";
    default:
      return name;
  }
}

/**
 * A new org's stages plus two custom ones a co-sell org typically adds: an open review stage and a
 * closed-not-won stage for partner declines (salesforce.md §7.2: map on IsClosed/IsWon, not labels).
 */
export const DEFAULT_STAGES: readonly StageDefinition[] = [
  {
    apiName: "Prospecting",
    isClosed: false,
    isWon: false,
    defaultProbability: 10,
    forecastCategoryName: "Pipeline",
  },
  {
    apiName: "Qualification",
    isClosed: false,
    isWon: false,
    defaultProbability: 10,
    forecastCategoryName: "Pipeline",
  },
  {
    apiName: "Co-sell Review",
    isClosed: false,
    isWon: false,
    defaultProbability: 20,
    forecastCategoryName: "Pipeline",
  },
  {
    apiName: "Needs Analysis",
    isClosed: false,
    isWon: false,
    defaultProbability: 20,
    forecastCategoryName: "Pipeline",
  },
  {
    apiName: "Value Proposition",
    isClosed: false,
    isWon: false,
    defaultProbability: 50,
    forecastCategoryName: "Pipeline",
  },
  {
    apiName: "Id. Decision Makers",
    isClosed: false,
    isWon: false,
    defaultProbability: 60,
    forecastCategoryName: "Pipeline",
  },
  {
    apiName: "Perception Analysis",
    isClosed: false,
    isWon: false,
    defaultProbability: 70,
    forecastCategoryName: "Pipeline",
  },
  {
    apiName: "Proposal/Price Quote",
    isClosed: false,
    isWon: false,
    defaultProbability: 75,
    forecastCategoryName: "Pipeline",
  },
  {
    apiName: "Negotiation/Review",
    isClosed: false,
    isWon: false,
    defaultProbability: 90,
    forecastCategoryName: "Commit",
  },
  {
    apiName: "Closed Won",
    isClosed: true,
    isWon: true,
    defaultProbability: 100,
    forecastCategoryName: "Closed",
  },
  {
    apiName: "Closed Lost",
    isClosed: true,
    isWon: false,
    defaultProbability: 0,
    forecastCategoryName: "Omitted",
  },
  {
    apiName: "Closed - Partner Declined",
    isClosed: true,
    isWon: false,
    defaultProbability: 0,
    forecastCategoryName: "Omitted",
    description: "The co-sell partner declined the referral.",
  },
];
