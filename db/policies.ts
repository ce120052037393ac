import { and, asc, desc, eq } from 'drizzle-orm';
import type { CollectionPolicy } from '../domain';
import type { Database } from './client';
import { collectionPolicies } from './schema';

function toPolicy(row: typeof collectionPolicies.$inferSelect): CollectionPolicy {
  return {
    name: row.name,
    version: row.version,
    description: row.description,
    dayMs: row.dayMs,
    maxPromiseDays: row.maxPromiseDays,
    hands: row.hands,
    ...(row.measureRules ? { measureRules: row.measureRules } : {}),
    ...(row.allocationOrder ? { allocationOrder: row.allocationOrder } : {}),
    ...(row.classification ? { classification: row.classification } : {}),
    ...(row.amountTiers ? { amountTiers: row.amountTiers } : {}),
    ...(row.followUps ? { followUps: row.followUps } : {}),
    ...(row.personalDataRetentionDays !== null ? { personalDataRetentionDays: row.personalDataRetentionDays } : {}),
  };
}

/** The newest version of a named policy, which new cases open with; undefined when unknown. */
export async function latestPolicy(db: Database, name: string): Promise<CollectionPolicy | undefined> {
  const [row] = await db
    .select()
    .from(collectionPolicies)
    .where(eq(collectionPolicies.name, name))
    .orderBy(desc(collectionPolicies.version))
    .limit(1);
  return row && toPolicy(row);
}

export async function policyVersion(db: Database, name: string, version: number): Promise<CollectionPolicy | undefined> {
  const [row] = await db
    .select()
    .from(collectionPolicies)
    .where(and(eq(collectionPolicies.name, name), eq(collectionPolicies.version, version)));
  return row && toPolicy(row);
}

/** Adds the next version of a policy; running cases keep the version they opened with. */
export async function addPolicyVersion(
  db: Database,
  policy: Omit<CollectionPolicy, 'version'>,
): Promise<CollectionPolicy> {
  return db.transaction(async (tx) => {
    const [latest] = await tx
      .select({ version: collectionPolicies.version })
      .from(collectionPolicies)
      .where(eq(collectionPolicies.name, policy.name))
      .orderBy(desc(collectionPolicies.version))
      .limit(1)
      .for('update');
    const [row] = await tx
      .insert(collectionPolicies)
      .values({ ...policy, version: (latest?.version ?? 0) + 1 })
      .returning();
    return toPolicy(row!);
  });
}

export interface StoredPolicy extends CollectionPolicy {
  createdAt: Date;
}

/** One version as stored, with when it was written; undefined when unknown. */
export async function storedPolicyVersion(db: Database, name: string, version: number): Promise<StoredPolicy | undefined> {
  const [row] = await db
    .select()
    .from(collectionPolicies)
    .where(and(eq(collectionPolicies.name, name), eq(collectionPolicies.version, version)));
  return row && { ...toPolicy(row), createdAt: row.createdAt };
}

/** Every policy with its versions, oldest version first. */
export async function listPolicyVersions(db: Database): Promise<StoredPolicy[]> {
  const rows = await db.select().from(collectionPolicies).orderBy(asc(collectionPolicies.name), asc(collectionPolicies.version));
  return rows.map((row) => ({ ...toPolicy(row), createdAt: row.createdAt }));
}
