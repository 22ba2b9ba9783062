"use client";

import { useRef, useState } from "react";
import { signIn } from "next-auth/react";
import { Building2 } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Alert } from "@/components/ui/alert";

const MESSAGES: Record<string, string> = {
  invalid_credentials: "That email and password do not match.",
  locked: "Too many failed attempts: this account is locked for a while. Try later or ask an admin to unlock it.",
  mfa_invalid: "That code is not valid. Check your authenticator app, or use a recovery code.",
  disabled: "This account is disabled. Ask an admin.",
};

export function SignInForm({ ssoName, callbackUrl, initialError }: { ssoName: string | null; callbackUrl: string; initialError?: string }) {
  const [step, setStep] = useState<"password" | "code">("password");
  const [error, setError] = useState<string | undefined>(initialError);
  const [pending, setPending] = useState(false);
  const codeRef = useRef<HTMLInputElement>(null);

  async function onSubmit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(undefined);
    const result = await signIn("credentials", {
      email: String(form.get("email") ?? ""),
      password: String(form.get("password") ?? ""),
      code: String(form.get("code") ?? ""),
      redirect: false,
    });
    if (result?.error) {
      setPending(false);
      if (result.code === "mfa_required") {
        setStep("code");
        setTimeout(() => codeRef.current?.focus(), 0);
        return;
      }
      setError(MESSAGES[result.code ?? ""] ?? MESSAGES.invalid_credentials);
      return;
    }
    window.location.assign(callbackUrl);
  }

  return (
    <Card>
      <CardContent className="space-y-4 pt-6">
        {error ? <Alert variant="destructive">{error}</Alert> : null}
        {ssoName ? (
          <>
            <Button type="button" variant="outline" className="w-full" onClick={() => signIn("oidc", { redirectTo: callbackUrl })}>
              <Building2 aria-hidden />
              Continue with {ssoName}
            </Button>
            <div className="flex items-center gap-3 text-xs text-muted-foreground">
              <span className="h-px flex-1 bg-border" /> or with a local account <span className="h-px flex-1 bg-border" />
            </div>
          </>
        ) : null}
        <form onSubmit={onSubmit} className="space-y-4" noValidate>
          <div className={step === "code" ? "hidden" : "space-y-4"}>
            <FormField label="Email" htmlFor="email">
              <Input id="email" name="email" type="email" autoComplete="username" required autoFocus />
            </FormField>
            <FormField label="Password" htmlFor="password">
              <Input id="password" name="password" type="password" autoComplete="current-password" required />
            </FormField>
          </div>
          {step === "code" ? (
            <FormField label="Authentication code" htmlFor="code" description="The 6-digit code from your authenticator app, or a recovery code.">
              <Input id="code" name="code" ref={codeRef} inputMode="numeric" autoComplete="one-time-code" required />
            </FormField>
          ) : null}
          <Button type="submit" className="w-full" loading={pending}>
            {step === "code" ? "Verify" : "Sign in"}
          </Button>
          {step === "code" ? (
            <Button type="button" variant="link" className="w-full" onClick={() => setStep("password")}>
              Use a different account
            </Button>
          ) : null}
        </form>
      </CardContent>
    </Card>
  );
}
