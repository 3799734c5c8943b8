import { claimAndAttempt, enqueueNextSteps, type AttemptDeps, type DeliveryMessage } from './attempts.js';

/**
 * Works one delivery-queue message: a message for an attempt already made is a duplicate (one redelivered by
 * the queue re-enqueues the recorded next step); any other hands its attempt to the attempt module.
 */
export async function processDeliveryMessage(deps: AttemptDeps, message: DeliveryMessage, dequeueCount = 1): Promise<void> {
  const found = await deps.deliveries.get(message.delivery_id);
  if (!found) {
    deps.log.warn(`delivery ${message.delivery_id} not found; message dropped`);
    return;
  }
  const delivery = found.value;
  if (delivery.attempts >= message.attempt) {
    if (dequeueCount > 1 && delivery.attempts === message.attempt) await enqueueNextSteps(deps, [delivery]);
    return;
  }
  await claimAndAttempt(deps, found, message);
}
