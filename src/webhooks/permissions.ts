import { ApiError } from '../shared/errors.js';
import { describeGrant, matchesPattern, type Grant, type Role } from '../auth/grants.js';
import type { Principal } from '../auth/principal.js';

/** The one place that decides who may touch which model, so a scoped grant holds alike on every endpoint (docs/auth.md). */
export type Access = 'manage' | 'publish';

const ROLES_FOR: Record<Access, readonly Role[]> = { manage: ['admin', 'manager'], publish: ['admin', 'publisher'] };

/** The principal's grants; a principal built without them holds each of its roles for every model. */
export const grantsOf = (principal: Principal): readonly Grant[] => principal.grants ?? principal.roles.map((role) => ({ role, via: 'role' }));

/** Admins cover everything; other grants cover a model their patterns match (or any model, unscoped), never registry-wide. */
const covers = (grant: Grant, modelName: string | undefined): boolean =>
  grant.role === 'admin' || (modelName !== undefined && (grant.models === undefined || grant.models.some((pattern) => matchesPattern(pattern, modelName))));

const accessGrants = (principal: Principal, access: Access): Grant[] => grantsOf(principal).filter((grant) => ROLES_FOR[access].includes(grant.role));

/** The grant that lets the principal act on this model (undefined: registry-wide), admin grants first; or none. */
export function grantFor(principal: Principal, access: Access, modelName: string | undefined): Grant | undefined {
  const grants = accessGrants(principal, access).sort((a, b) => Number(b.role === 'admin') - Number(a.role === 'admin'));
  return grants.find((grant) => covers(grant, modelName));
}

/** Which models' webhooks the principal may manage; undefined: every webhook, registry-wide ones too (admins). */
export function managedModels(principal: Principal): ((modelName: string | undefined) => boolean) | undefined {
  const grants = accessGrants(principal, 'manage');
  if (grants.some((grant) => grant.role === 'admin')) return undefined;
  return (modelName) => grants.some((grant) => covers(grant, modelName));
}

/** Fails with PERMISSION_DENIED unless the principal holds one of the roles. */
export function requireRole(principal: Principal, roles: readonly Role[], action: string): void {
  if (!principal.roles.some((role) => roles.includes(role))) {
    throw new ApiError('PERMISSION_DENIED', `Role${principal.roles.length === 1 ? '' : 's'} '${principal.roles.join("', '")}' may not ${action}`);
  }
}

/**
 * The grant that lets the principal `access` this model, or PERMISSION_DENIED naming the model. Registry-wide
 * webhooks (no model) need an admin.
 */
export function requireAccess(principal: Principal, access: Access, modelName: string | undefined, action: string): Grant {
  requireRole(principal, ROLES_FOR[access], action);
  const grant = grantFor(principal, access, modelName);
  if (grant) return grant;
  if (modelName === undefined) throw new ApiError('PERMISSION_DENIED', `Only an admin may ${action} without a model_name (registry-wide)`);
  const held = accessGrants(principal, access).map(describeGrant).join(', ');
  throw new ApiError('PERMISSION_DENIED', `${principal.id} may not ${action} for model_name '${modelName}': its grant${held.includes(', ') ? 's' : ''} ${held} do${held.includes(', ') ? '' : 'es'} not cover that model`);
}

/** Admins manage every webhook; managers only those of models their grant covers, never registry-wide ones. */
export const requireScopeAccess = (principal: Principal, modelName: string | undefined, action: string): Grant =>
  requireAccess(principal, 'manage', modelName, action);
