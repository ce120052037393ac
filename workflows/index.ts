export { collectionCase } from './case/workflow';
export { guarantorClaim } from './guarantor-claim/workflow';
export { litigation } from './litigation/workflow';
export { riskWatch } from './watch/workflow';
export { personalDataRetention } from './retention/workflow';
export { dailyIntake } from './intake/workflow';
