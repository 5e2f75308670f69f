import { BlockingClient, migrateSchema, PostgresJobQueue, TenantRegistry } from "@cosell/postgres";

/** Migrates the registry, the job queue and every registered tenant's state schema. */
export async function migrateDeployment(
  url: string,
): Promise<{ tenants: { name: string; schema: string; applied: number[] }[] }> {
  const queue = await PostgresJobQueue.connect({ url });
  await queue.close();
  const registry = TenantRegistry.open(url);
  const db = new BlockingClient({ connectionString: url, applicationName: "cosell:migrate" });
  try {
    return {
      tenants: registry
        .list()
        .map((t) => ({ name: t.name, schema: t.schema, applied: migrateSchema(db, t.schema) })),
    };
  } finally {
    db.close();
    registry.close();
  }
}
