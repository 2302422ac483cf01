// The Administration area's tabs (/administration/{tab}), apart from the lazily loaded page so the
// router can check a tab without loading it.
export const ADMIN_TABS = ['users', 'groups', 'rule-packs', 'audit', 'settings'] as const;
export type AdminTab = (typeof ADMIN_TABS)[number];
export const isAdminTab = (t: string | undefined): t is AdminTab => (ADMIN_TABS as readonly string[]).includes(t ?? '');
