import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SignInForm } from "@/components/auth/sign-in-form";
import { LogoMark } from "@/components/layout/app-shell";
import { env, isOidcConfigured } from "@/lib/server/env";
import { getActor } from "@/lib/server/auth/current";

export const metadata: Metadata = { title: "Sign in" };

const ERRORS: Record<string, string> = {
  AccessDenied: "Your company account is not allowed into Portico. Ask an admin to map one of your groups to a role.",
  Configuration: "Sign-in is not configured correctly. Ask an admin to check the identity provider settings.",
  OAuthCallbackError: "The identity provider did not complete the sign-in. Try again.",
};

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const params = await searchParams;
  if (await getActor()) redirect("/");
  // Only same-site paths: an absolute callbackUrl would make this page an open redirect.
  const callbackUrl = params.callbackUrl?.startsWith("/") && !params.callbackUrl.startsWith("//") ? params.callbackUrl : "/";
  const error = params.error ? (ERRORS[params.error] ?? "Sign-in failed. Try again.") : undefined;
  return (
    <main className="flex min-h-screen items-center justify-center bg-muted/40 px-4 py-12">
      <div className="w-full max-w-sm space-y-6">
        <div className="flex flex-col items-center gap-3 text-center">
          <LogoMark className="size-10" />
          <div>
            <h1 className="text-xl font-semibold tracking-tight">Sign in to Portico</h1>
            <p className="text-sm text-muted-foreground">The front door to your MCP servers</p>
          </div>
        </div>
        <SignInForm ssoName={isOidcConfigured() ? env().OIDC_NAME : null} callbackUrl={callbackUrl} initialError={error} />
      </div>
    </main>
  );
}
