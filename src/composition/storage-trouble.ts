/** How the HTTP layer tells storage trouble (throttling, an outage) from a defect, without importing storage. */
export { isStorageTrouble, statusCodeOf } from '../storage/rest-errors.js';
