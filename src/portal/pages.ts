// The portal's pages: the paths the server answers with the app, and the app's routes, in one list.

export const PAGES = {
  home: "/",
  vms: "/vms",
  vm: "/vms/:id",
  deploy: "/deploy",
  keys: "/keys",
  admin: "/admin",
  adminHosts: "/admin/hosts",
  adminAudit: "/admin/audit",
} as const;

/** Whether a path is one of the administrators' pages. */
export function isAdminPage(path: string): boolean {
  return path === PAGES.admin || path.startsWith(`${PAGES.admin}/`) || path.startsWith(`${PAGES.admin}?`);
}
