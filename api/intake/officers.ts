import type { Database } from '../../db/client';
import { listOfficers, type OfficerWithLoad } from '../assignment';

/**
 * `leastLoadedOfficer` for a whole run: each branch's officers and loads read once, then every
 * case the run assigns counted against its officer. The ledger shows a case only once its
 * workflow has projected it, which the intake no longer waits for: reading the loads per row
 * would hand a chunk's cases all to one officer.
 */
export function officerPicker(db: Database): (branch: string) => Promise<string | null> {
  const byBranch = new Map<string, Promise<OfficerWithLoad[]>>();
  return async (branch) => {
    let officers = byBranch.get(branch);
    if (!officers) {
      officers = listOfficers(db, branch);
      byBranch.set(branch, officers);
    }
    let best: OfficerWithLoad | undefined;
    // In id order: ties go to the first, as `leastLoadedOfficer` breaks them.
    for (const o of await officers) {
      if (o.active && o.load < o.capacity && (!best || o.load < best.load)) best = o;
    }
    if (!best) return null;
    best.load++;
    return best.id;
  };
}
