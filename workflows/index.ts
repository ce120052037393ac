export { collectionCase } from './case/workflow';
export { guarantorClaim } from './guarantor-claim/workflow';
export { litigation } from './litigation/workflow';
