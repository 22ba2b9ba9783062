"use client";

import { useRouter } from "next/navigation";
import { useActionState, useEffect } from "react";
import { confirmStepUpCode, type TotpState } from "@/app/(dashboard)/step-up/new/actions";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";

/** Asks for a TOTP code before the request form when the second factor is older than the step-up window. */
export function StepUpTotpPrompt({ windowMinutes }: { windowMinutes: number }) {
  const router = useRouter();
  const [state, action, isPending] = useActionState<TotpState, FormData>(confirmStepUpCode, { ok: false, error: null });
  useEffect(() => {
    if (state.ok) router.refresh();
  }, [state.ok, router]);
  return (
    <Card className="max-w-2xl">
      <CardContent className="space-y-4" data-testid="step-up-totp">
        <Alert variant="info" title="Enter your authentication code again">
          Elevated access needs a second factor from the last {windowMinutes} minutes. Enter the code from your authenticator app.
        </Alert>
        <form action={action} className="space-y-4">
          <FormField label="Authentication code" htmlFor="code" error={state.error ?? undefined} required>
            <Input id="code" name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={6} />
          </FormField>
          <Button type="submit" loading={isPending}>
            Confirm
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}
