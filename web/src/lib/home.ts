// Which screens a user's roles open, and where they land after signing in. Department
// specialists answer their department line's calls as agents answer theirs: the agent desktop is
// theirs too (the server's routes for it take both roles: hotline/agents/api.py).

import type { Me, Role } from "../api/types";

/** The roles whose holders answer contacts, and so work on the agent desktop. */
export const ANSWERING_ROLES: readonly Role[] = ["agent", "department_specialist"];

export function answersContacts(roles: readonly Role[]): boolean {
  return roles.some((r) => ANSWERING_ROLES.includes(r));
}

/** The start page of a user: the desktop for whoever answers contacts (agents, department
 *  specialists), the wallboard for supervisors, administration for admins, the task list for
 *  field workers. */
export function homePath(me: Me): string {
  if (me.user.must_change_password) return "/password";
  const roles = me.user.roles;
  if (answersContacts(roles)) return "/agent";
  if (roles.includes("supervisor")) return "/wallboard";
  if (roles.includes("admin")) return "/admin";
  if (roles.includes("field_worker")) return "/field";
  return "/";
}
