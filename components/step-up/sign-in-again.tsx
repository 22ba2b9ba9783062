"use client";

import { signIn } from "next-auth/react";
import { useState } from "react";
import { Button } from "@/components/ui/button";

/**
 * For an SSO account whose second factor is older than the step-up window: a fresh sign-in at the
 * IdP (`prompt=login`, `max_age=0`, so the IdP asks again instead of answering from its own
 * session), back to this very page, which then finds the factor fresh (its `auth_time`).
 */
export function SignInAgain({ label = "Sign in again" }: { label?: string }) {
  const [busy, setBusy] = useState(false);
  return (
    <Button
      type="button"
      loading={busy}
      data-testid="step-up-sign-in-again-button"
      onClick={() => {
        setBusy(true);
        void signIn("oidc", { redirectTo: window.location.href }, { prompt: "login", max_age: "0" });
      }}
    >
      {label}
    </Button>
  );
}
