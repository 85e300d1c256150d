export { claimDelivery, releaseDelivery } from '../store/github.js';
