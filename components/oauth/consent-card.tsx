import { Globe, Laptop, ShieldCheck } from "lucide-react";
import { LogoMark } from "@/components/layout/app-shell";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import type { AuthorizationRequestView } from "@/lib/server/oauth/interactions";

const SCOPE_TEXT: Record<string, string> = {
  mcp: "Use the portal's tools that your role allows, as you",
  openid: "Know who you are (your Portico user id)",
  email: "See your email address",
  profile: "See your name",
  offline_access: "Stay connected until you revoke it (refresh tokens)",
};

const KIND_TEXT = {
  metadata_document: "Identified by its metadata document at",
  dynamic: "Registered itself with Portico",
  registered: "Registered by a Portico admin",
} as const;

export function Frame({ children }: { children: React.ReactNode }) {
  return (
    <main className="flex min-h-screen items-center justify-center bg-muted/40 px-4 py-12">
      <div className="w-full max-w-md space-y-6">
        <div className="flex justify-center">
          <LogoMark className="size-10" />
        </div>
        {children}
      </div>
    </main>
  );
}

export function InteractionProblem({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Frame>
      <div className="rounded-xl border bg-card p-6 shadow-xs">
        <h1 className="text-lg font-semibold">{title}</h1>
        <p className="mt-2 text-sm text-muted-foreground">{children}</p>
      </div>
    </Frame>
  );
}

/** The card's question and who is answering it. */
function CardHeading({ email, children }: { email: string; children: React.ReactNode }) {
  return (
    <div>
      <h1 className="text-lg font-semibold" data-testid="consent-title">
        {children}
      </h1>
      <p className="mt-1 text-sm text-muted-foreground">
        Signed in as <span className="font-medium text-foreground">{email}</span>
      </p>
    </div>
  );
}

/**
 * A person with no role on the portal: nothing to approve. Going back tells the client
 * `access_denied` with the same words, so it can show them too.
 */
export function NoRoleCard({ request, user, message, formToken }: { request: AuthorizationRequestView; user: { email: string }; message: string; formToken: string }) {
  const action = `/oauth/interaction/${encodeURIComponent(request.uid)}/decision`;
  return (
    <Frame>
      <div className="space-y-5 rounded-xl border bg-card p-6 shadow-xs">
        <CardHeading email={user.email}>You hold no role on {request.portal?.name}</CardHeading>
        <Alert variant="warning" title="Ask an admin for access" data-testid="no-role-message">
          {message} <span className="break-all">{request.client.name}</span> cannot use this portal&apos;s tools for you until a role grants you access.
        </Alert>
        <form method="post" action={action}>
          <input type="hidden" name="token" value={formToken} />
          <Button type="submit" name="decision" value="deny" variant="outline" className="w-full">
            Back to {request.client.name}
          </Button>
        </form>
      </div>
    </Frame>
  );
}

/** The first-time approval of an MCP client: who asks, where the answer goes, for which portal and what. */
export function ConsentCard({ request, user, formToken }: { request: AuthorizationRequestView; user: { email: string; name: string }; formToken: string }) {
  const action = `/oauth/interaction/${encodeURIComponent(request.uid)}/decision`;
  return (
    <Frame>
      <div className="space-y-5 rounded-xl border bg-card p-6 shadow-xs">
        <CardHeading email={user.email}>
          Connect <span className="break-all">{request.client.name}</span> to {request.portal?.name}?
        </CardHeading>

        <dl className="space-y-3 text-sm">
          <div>
            <dt className="text-muted-foreground">Client</dt>
            <dd className="break-all">
              {request.client.name}{" "}
              <span className="text-muted-foreground">
                · {KIND_TEXT[request.client.kind]}
                {request.client.kind === "metadata_document" ? <> {request.client.id}</> : null}
              </span>
            </dd>
          </div>
          <div>
            <dt className="text-muted-foreground">Sends you back to</dt>
            <dd className="flex items-center gap-2 font-mono text-xs" data-testid="consent-redirect-host">
              {request.redirectIsLoopback ? <Laptop className="size-4" aria-hidden /> : <Globe className="size-4" aria-hidden />}
              {request.redirectHost}
            </dd>
          </div>
          <div>
            <dt className="text-muted-foreground">Portal</dt>
            <dd>
              {request.portal?.name} <span className="font-mono text-xs text-muted-foreground">{request.portal?.url}</span>
            </dd>
          </div>
          <div>
            <dt className="text-muted-foreground">It will be able to</dt>
            <dd>
              <ul className="mt-1 space-y-1">
                {request.scopes.map((scope) => (
                  <li key={scope} className="flex items-start gap-2">
                    <ShieldCheck className="mt-0.5 size-4 shrink-0 text-muted-foreground" aria-hidden />
                    <span>
                      {SCOPE_TEXT[scope] ?? scope} <Badge variant="outline">{scope}</Badge>
                    </span>
                  </li>
                ))}
              </ul>
            </dd>
          </div>
        </dl>

        {request.redirectIsLoopback ? (
          <Alert variant="warning" title="The answer goes to this computer only">
            Approve only if you started this from a program on this computer (Claude Code, VS Code, the MCP Inspector). A website asking you to approve a local address is suspicious.
          </Alert>
        ) : null}

        <form method="post" action={action} className="flex gap-3">
          <input type="hidden" name="token" value={formToken} />
          <Button type="submit" name="decision" value="approve" className="flex-1">
            Approve
          </Button>
          <Button type="submit" name="decision" value="deny" variant="outline" className="flex-1">
            Deny
          </Button>
        </form>
        <p className="text-xs text-muted-foreground">You can disconnect this client at any time under Connected clients in Portico.</p>
      </div>
    </Frame>
  );
}
