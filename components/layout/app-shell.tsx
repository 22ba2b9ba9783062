"use client";

import { useEffect, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useFormStatus } from "react-dom";
import {
  Bot,
  Cable,
  ClipboardCheck,
  DoorOpen,
  History,
  KeyRound,
  LayoutDashboard,
  LockKeyholeOpen,
  LogOut,
  Menu,
  Network,
  Scale,
  ScrollText,
  Server,
  Settings,
  ShieldCheck,
  Siren,
  Users,
  X,
  type LucideIcon,
} from "lucide-react";

import { cn } from "@/lib/utils";
import { api } from "@/lib/api/client";
import { attentionKeys } from "@/lib/api/query-keys";
import type { AttentionCounts, AttentionKey } from "@/lib/server/attention";
import { Badge, type BadgeVariant } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";

export type ShellRole = "admin" | "approver" | "auditor" | "viewer";

export type ShellUser = { name: string; email: string; role: ShellRole };

/** `attention`: the count from `/api/v1/me/attention` shown as a badge beside the item. */
export type NavItem = { key: string; label: string; href: string; icon: LucideIcon; attention?: AttentionKey };

export const NAV_ITEMS: readonly NavItem[] = [
  { key: "overview", label: "Overview", href: "/", icon: LayoutDashboard },
  { key: "servers", label: "Servers", href: "/servers", icon: Server },
  { key: "portals", label: "Portals", href: "/portals", icon: DoorOpen },
  { key: "roles", label: "Roles", href: "/roles", icon: ShieldCheck },
  { key: "service-accounts", label: "Service accounts", href: "/service-accounts", icon: Bot },
  { key: "gateways", label: "Gateways", href: "/gateways", icon: Network },
  { key: "config-versions", label: "Config versions", href: "/config-versions", icon: History },
  { key: "policy-explainer", label: "Policy explainer", href: "/policy-explainer", icon: Scale },
  { key: "alerts", label: "Alerts", href: "/alerts", icon: Siren, attention: "alerts" },
  { key: "approvals", label: "Approvals", href: "/approvals", icon: ClipboardCheck, attention: "approvals" },
  // Everyone's own step-up (requests, decisions, access held now); no permission, so no role hides it.
  { key: "my-access", label: "My access", href: "/step-up", icon: LockKeyholeOpen },
  { key: "audit", label: "Audit", href: "/audit", icon: ScrollText },
  { key: "users", label: "Users", href: "/users", icon: Users },
  { key: "connected-clients", label: "Connected clients", href: "/connected-clients", icon: Cable },
  { key: "tokens", label: "API tokens", href: "/tokens", icon: KeyRound },
  { key: "settings", label: "Settings", href: "/settings", icon: Settings },
];

const ROLE_BADGE: Record<ShellRole, { label: string; variant: BadgeVariant }> = {
  admin: { label: "Admin", variant: "default" },
  approver: { label: "Approver", variant: "info" },
  auditor: { label: "Auditor", variant: "secondary" },
  viewer: { label: "Viewer", variant: "outline" },
};

type AppShellProps = {
  user: ShellUser;
  /**
   * Sections this user cannot use, by href ("/users") or key ("users"). Hiding is cosmetic:
   * every page and route handler still authorizes on its own.
   */
  hiddenNav?: readonly string[];
  signOutAction: () => Promise<void>;
  children: React.ReactNode;
};

function isActive(pathname: string, href: string): boolean {
  if (href === "/") return pathname === "/";
  return pathname === href || pathname.startsWith(`${href}/`);
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0]?.[0], parts.at(-1)?.[0]] : [parts[0]?.[0], parts[0]?.[1]];
  return letters.filter(Boolean).join("").toUpperCase() || "?";
}

export function LogoMark({ className }: { className?: string }) {
  return (
    <span
      aria-hidden
      className={cn(
        "flex size-8 shrink-0 items-center justify-center rounded-lg bg-primary text-primary-foreground shadow-sm",
        className,
      )}
    >
      {/* A portico: pediment over three columns. */}
      <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" className="size-[1.125rem]">
        <path d="M3 9.5 12 4l9 5.5Z" />
        <path d="M6 12.5v6M12 12.5v6M18 12.5v6M4 20.5h16" />
      </svg>
    </span>
  );
}

function Brand({ onNavigate }: { onNavigate?: () => void }) {
  return (
    <Link
      href="/"
      onClick={onNavigate}
      className="flex items-center gap-2.5 rounded-md outline-none focus-visible:ring-[3px] focus-visible:ring-sidebar-ring/50"
    >
      <LogoMark />
      <span className="text-[0.9375rem] font-semibold tracking-tight text-foreground">Portico</span>
    </Link>
  );
}

function SignOutButton() {
  const { pending } = useFormStatus();
  return (
    <Button type="submit" variant="ghost" size="sm" loading={pending} className="text-sidebar-foreground">
      {pending ? null : <LogOut aria-hidden />}
      Sign out
    </Button>
  );
}

/**
 * What a badge counts, said in full: the alerts badge counts only open high and critical alerts
 * that are not snoozed (lib/server/alerts/alerts.ts), fewer than the Alerts page's Open filter
 * lists, and a bare number read as "all open alerts".
 */
export function attentionLabel(key: AttentionKey, count: number): string {
  const plural = count === 1 ? "" : "s";
  return key === "alerts" ? `${count} open high or critical alert${plural} (not snoozed)` : `${count} waiting`;
}

/** Polled, so a queue's badge moves while the person works elsewhere in the dashboard. */
function useAttention(): AttentionCounts {
  const { data } = useQuery({
    queryKey: attentionKeys.all,
    queryFn: () => api<AttentionCounts>("GET", "/me/attention"),
    refetchInterval: 5_000,
  });
  return data ?? {};
}

function SidebarContents({
  items,
  pathname,
  user,
  signOutAction,
  onNavigate,
}: {
  items: readonly NavItem[];
  pathname: string;
  user: ShellUser;
  signOutAction: () => Promise<void>;
  onNavigate?: () => void;
}) {
  const role = ROLE_BADGE[user.role];
  const attention = useAttention();
  return (
    <>
      <nav aria-label="Main" className="flex-1 overflow-y-auto px-3 py-2">
        <ul className="flex flex-col gap-0.5">
          {items.map((item) => {
            const active = isActive(pathname, item.href);
            const Icon = item.icon;
            const count = item.attention ? attention[item.attention] : undefined;
            return (
              <li key={item.key}>
                <Link
                  href={item.href}
                  aria-current={active ? "page" : undefined}
                  onClick={onNavigate}
                  className={cn(
                    "flex h-9 items-center gap-3 rounded-md px-3 text-sm text-sidebar-foreground transition-colors outline-none hover:bg-sidebar-accent/60 hover:text-sidebar-accent-foreground focus-visible:ring-[3px] focus-visible:ring-sidebar-ring/50",
                    active && "bg-sidebar-accent font-medium text-sidebar-accent-foreground hover:bg-sidebar-accent",
                  )}
                >
                  <Icon aria-hidden className={cn("size-4 shrink-0", active ? "text-sidebar-primary" : "opacity-70")} />
                  <span className="flex-1">{item.label}</span>
                  {count ? (
                    <span
                      title={attentionLabel(item.attention!, count)}
                      aria-label={attentionLabel(item.attention!, count)}
                      className="min-w-5 rounded-full bg-primary px-1.5 text-center text-xs leading-5 font-semibold text-primary-foreground tabular-nums"
                    >
                      {count > 99 ? "99+" : count}
                    </span>
                  ) : null}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <div className="border-t border-sidebar-border p-3">
        <div className="flex items-center gap-3 px-1 py-1.5">
          <span
            aria-hidden
            className="flex size-9 shrink-0 items-center justify-center rounded-full bg-primary/10 text-xs font-semibold text-primary dark:bg-primary/20 dark:text-sidebar-accent-foreground"
          >
            {initials(user.name)}
          </span>
          <div className="min-w-0 flex-1">
            <p className="truncate text-sm font-medium text-foreground">{user.name}</p>
            <p className="truncate text-xs text-muted-foreground" title={user.email}>
              {user.email}
            </p>
          </div>
        </div>
        <div className="mt-2 flex items-center justify-between gap-2 pl-1">
          <Badge variant={role.variant} aria-label={`Role: ${role.label}`}>
            {role.label}
          </Badge>
          <form action={signOutAction}>
            <SignOutButton />
          </form>
        </div>
      </div>
    </>
  );
}

/**
 * The dashboard frame. From `md` up the sidebar is fixed on the left; below it collapses to a top
 * bar whose menu button opens the same navigation in a native modal `<dialog>` (focus trap and Esc
 * from the browser).
 */
export function AppShell({ user, hiddenNav = [], signOutAction, children }: AppShellProps) {
  const pathname = usePathname();
  const drawerRef = useRef<HTMLDialogElement>(null);
  const [isMenuOpen, setIsMenuOpen] = useState(false);
  const items = NAV_ITEMS.filter((item) => !hiddenNav.includes(item.href) && !hiddenNav.includes(item.key));

  // A modal left open while the window widens past `lg` would keep the page inert behind a hidden drawer.
  useEffect(() => {
    const query = window.matchMedia("(min-width: 64rem)");
    const onChange = () => {
      if (query.matches) drawerRef.current?.close();
    };
    query.addEventListener("change", onChange);
    return () => query.removeEventListener("change", onChange);
  }, []);

  const openMenu = () => {
    drawerRef.current?.showModal();
    setIsMenuOpen(true);
  };
  const closeMenu = () => drawerRef.current?.close();

  return (
    <div className="min-h-dvh bg-background lg:grid lg:grid-cols-[15.5rem_minmax(0,1fr)]">
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-primary px-3 py-2 text-sm text-primary-foreground focus:not-sr-only focus:fixed focus:top-3 focus:left-3"
      >
        Skip to content
      </a>

      {/* The grid cell carries the colour and border for the full page height; the inner column sticks. */}
      <aside className="hidden border-r border-sidebar-border bg-sidebar lg:block">
        <div className="sticky top-0 flex h-dvh flex-col">
          <div className="flex h-16 shrink-0 items-center px-5">
            <Brand />
          </div>
          <SidebarContents items={items} pathname={pathname} user={user} signOutAction={signOutAction} />
        </div>
      </aside>

      <header className="sticky top-0 z-30 flex h-14 items-center gap-2 border-b bg-background/90 px-3 backdrop-blur lg:hidden">
        <Button
          variant="ghost"
          size="icon"
          aria-label="Open navigation"
          aria-haspopup="dialog"
          aria-expanded={isMenuOpen}
          aria-controls="app-shell-drawer"
          onClick={openMenu}
        >
          <Menu aria-hidden className="size-5" />
        </Button>
        <Brand />
      </header>

      <dialog
        ref={drawerRef}
        id="app-shell-drawer"
        aria-label="Navigation"
        onClose={() => setIsMenuOpen(false)}
        onClick={(event) => {
          if (event.target === event.currentTarget) closeMenu();
        }}
        className="m-0 h-dvh max-h-dvh w-72 max-w-[85vw] bg-transparent p-0 text-foreground backdrop:bg-slate-950/50 open:animate-dialog-in lg:hidden"
      >
        <div className="flex h-full flex-col border-r border-sidebar-border bg-sidebar">
          <div className="flex h-14 items-center justify-between pr-2 pl-5">
            <Brand onNavigate={closeMenu} />
            <Button variant="ghost" size="icon" aria-label="Close navigation" onClick={closeMenu}>
              <X aria-hidden className="size-5" />
            </Button>
          </div>
          <SidebarContents items={items} pathname={pathname} user={user} signOutAction={signOutAction} onNavigate={closeMenu} />
        </div>
      </dialog>

      <main id="main" tabIndex={-1} className="min-w-0 outline-none">
        <div className="mx-auto w-full max-w-[100rem] px-4 py-6 sm:px-6 lg:px-10 lg:py-8">{children}</div>
      </main>
    </div>
  );
}
