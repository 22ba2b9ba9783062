import { AppShell } from "@/components/layout/app-shell";
import { requireUser } from "@/lib/server/auth/current";
import { signOut } from "@/lib/server/auth/next-auth";
import { roleCan, type Permission } from "@/lib/auth/permissions";

// Sections and the permission each needs; hiding is cosmetic, pages and APIs check again.
const SECTION_PERMISSION: Record<string, Permission> = {
  "/gateways": "registry:read",
  "/config-versions": "config:read",
  "/policy-explainer": "config:read",
  "/approvals": "approvals:read",
  "/users": "users:read",
  "/audit": "audit:read",
  "/alerts": "alerts:read",
  "/settings": "settings:read",
};

export default async function DashboardLayout({ children }: { children: React.ReactNode }) {
  const user = await requireUser();
  const hiddenNav = Object.entries(SECTION_PERMISSION)
    .filter(([, permission]) => !roleCan(user.role, permission))
    .map(([href]) => href);

  async function signOutAction() {
    "use server";
    await signOut({ redirectTo: "/sign-in" });
  }

  return (
    <AppShell user={{ name: user.name, email: user.email, role: user.role }} hiddenNav={hiddenNav} signOutAction={signOutAction}>
      {children}
    </AppShell>
  );
}
