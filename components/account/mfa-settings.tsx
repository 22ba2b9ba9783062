"use client";

import { useId, useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { Building2, ShieldCheck, ShieldOff } from "lucide-react";
import { toast } from "sonner";

import { confirmMfaEnrolmentAction, disableMfaAction, startMfaEnrolmentAction } from "@/app/(dashboard)/account/security/actions";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardAction, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy-button";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";

type Enrolment = { secret: string; uri: string; qrDataUrl: string };
type Phase = { name: "idle" } | { name: "enrolling"; enrolment: Enrolment } | { name: "codes"; codes: string[] } | { name: "disabling" };

function CodeInput({ id, label, value, onChange, error }: { id: string; label: string; value: string; onChange: (v: string) => void; error?: string }) {
  return (
    <FormField label={label} htmlFor={id} error={error} description="The 6-digit code your authenticator app shows now.">
      <Input
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern="[0-9 ]*"
        maxLength={7}
        className="w-40 font-mono tracking-widest"
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    </FormField>
  );
}

export function MfaSettings({ isSso, isEnabled, recoveryCodesLeft }: { isSso: boolean; isEnabled: boolean; recoveryCodesLeft: number }) {
  const router = useRouter();
  const formId = useId();
  const [phase, setPhase] = useState<Phase>({ name: "idle" });
  const [code, setCode] = useState("");
  const [codeError, setCodeError] = useState<string | undefined>();
  const [isPending, startTransition] = useTransition();

  const reset = (next: Phase = { name: "idle" }) => {
    setPhase(next);
    setCode("");
    setCodeError(undefined);
  };

  if (isSso) {
    return (
      <Card className="max-w-3xl">
        <CardHeader>
          <CardTitle className="flex items-center gap-2">
            <Building2 aria-hidden className="size-4 text-muted-foreground" />
            Two-factor authentication
          </CardTitle>
          <CardDescription>Your company sign-in handles two-factor authentication.</CardDescription>
        </CardHeader>
        <CardContent className="text-sm text-muted-foreground">
          You sign in to Portico through your company&apos;s identity provider, so your second factor is managed there. Ask your IT team to
          change it.
        </CardContent>
      </Card>
    );
  }

  const start = () =>
    startTransition(async () => {
      const result = await startMfaEnrolmentAction();
      if (!result.ok) {
        toast.error(result.message);
        return;
      }
      reset({ name: "enrolling", enrolment: { secret: result.secret, uri: result.uri, qrDataUrl: result.qrDataUrl } });
    });

  const confirm = (event: React.FormEvent) => {
    event.preventDefault();
    startTransition(async () => {
      const result = await confirmMfaEnrolmentAction({ code });
      if (!result.ok) {
        setCodeError(result.fieldErrors?.code ?? result.message);
        return;
      }
      toast.success("Two-factor authentication is on");
      reset({ name: "codes", codes: result.recoveryCodes });
    });
  };

  const disable = (event: React.FormEvent) => {
    event.preventDefault();
    startTransition(async () => {
      const result = await disableMfaAction({ code });
      if (!result.ok) {
        setCodeError(result.fieldErrors?.code ?? result.message);
        return;
      }
      toast.success("Two-factor authentication is off");
      reset();
      router.refresh();
    });
  };

  const id = (s: string) => `${formId}-${s}`;

  if (phase.name === "codes") {
    return (
      <Card className="max-w-3xl">
        <CardHeader>
          <CardTitle>Save your recovery codes</CardTitle>
          <CardDescription>Each code signs you in once if you lose your authenticator.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <Alert variant="warning" title="You will not see these codes again">
            Store them somewhere safe, such as your password manager, before you leave this page.
          </Alert>
          <ol aria-label="Recovery codes" className="grid grid-cols-2 gap-2 rounded-lg border bg-muted/40 p-4 font-mono text-sm sm:grid-cols-5">
            {phase.codes.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ol>
        </CardContent>
        <CardFooter className="flex-wrap justify-between gap-2">
          <CopyButton value={phase.codes.join("\n")} label="Copy codes" variant="outline" />
          <Button
            onClick={() => {
              reset();
              router.refresh();
            }}
          >
            I have saved my recovery codes
          </Button>
        </CardFooter>
      </Card>
    );
  }

  if (phase.name === "enrolling") {
    const { enrolment } = phase;
    return (
      <Card className="max-w-3xl">
        <CardHeader>
          <CardTitle>Set up two-factor authentication</CardTitle>
          <CardDescription>Use an authenticator app such as 1Password, Google Authenticator, Microsoft Authenticator or Aegis.</CardDescription>
        </CardHeader>
        <CardContent>
          <form id={id("confirm")} onSubmit={confirm} noValidate className="grid gap-6 md:grid-cols-[auto_minmax(0,1fr)]">
            <div className="grid justify-items-start gap-2">
              <p className="text-sm font-medium">1. Scan this QR code</p>
              {/* A data: URL generated on the server; next/image adds nothing for it. */}
              {/* eslint-disable-next-line @next/next/no-img-element */}
              <img
                src={enrolment.qrDataUrl}
                alt="QR code to add Portico to your authenticator app"
                width={220}
                height={220}
                className="rounded-lg border bg-white p-1"
              />
            </div>
            <div className="grid content-start gap-5">
              <div className="grid gap-2">
                <p className="text-sm font-medium">2. Or enter the key by hand</p>
                <div className="flex items-start gap-2">
                  <FormField label="Secret key" htmlFor={id("secret")} className="flex-1" description="Time-based (TOTP), 6 digits, every 30 seconds.">
                    <Input readOnly value={enrolment.secret} spellCheck={false} className="font-mono" onFocus={(e) => e.currentTarget.select()} />
                  </FormField>
                  <CopyButton value={enrolment.secret} variant="outline" label="Copy" className="mt-6" />
                </div>
              </div>
              <div className="grid gap-2">
                <p className="text-sm font-medium">3. Enter the code it shows</p>
                <CodeInput
                  id={id("code")}
                  label="Verification code"
                  value={code}
                  error={codeError}
                  onChange={(v) => {
                    setCode(v);
                    setCodeError(undefined);
                  }}
                />
              </div>
            </div>
          </form>
        </CardContent>
        <CardFooter className="justify-end gap-2">
          <Button variant="ghost" disabled={isPending} onClick={() => reset()}>
            Cancel
          </Button>
          <Button type="submit" form={id("confirm")} loading={isPending}>
            Verify and turn on
          </Button>
        </CardFooter>
      </Card>
    );
  }

  return (
    <Card className="max-w-3xl">
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          {isEnabled ? <ShieldCheck aria-hidden className="size-4 text-success-strong" /> : <ShieldOff aria-hidden className="size-4 text-muted-foreground" />}
          Two-factor authentication
        </CardTitle>
        <CardDescription>
          {isEnabled
            ? "Signing in asks for a code from your authenticator app after your password."
            : "Add a second step to signing in: a code from an app on your phone. Some portal roles require it."}
        </CardDescription>
        <CardAction>
          <Badge variant={isEnabled ? "success" : "outline"}>{isEnabled ? "On" : "Off"}</Badge>
        </CardAction>
      </CardHeader>
      {isEnabled ? (
        <CardContent className="grid gap-4">
          <p className="text-sm text-muted-foreground">
            {recoveryCodesLeft === 1 ? "1 recovery code left." : `${recoveryCodesLeft} recovery codes left.`}
            {recoveryCodesLeft <= 3 ? " To get new ones, turn two-factor authentication off and on again." : null}
          </p>
          {phase.name === "disabling" ? (
            <form id={id("disable")} onSubmit={disable} noValidate className="grid gap-3 rounded-lg border p-4">
              <p className="text-sm">Confirm with a current code. Your recovery codes stop working.</p>
              <CodeInput
                id={id("disable-code")}
                label="Current code"
                value={code}
                error={codeError}
                onChange={(v) => {
                  setCode(v);
                  setCodeError(undefined);
                }}
              />
              <div className="flex gap-2">
                <Button type="submit" variant="destructive" loading={isPending}>
                  Turn off two-factor authentication
                </Button>
                <Button type="button" variant="ghost" disabled={isPending} onClick={() => reset()}>
                  Cancel
                </Button>
              </div>
            </form>
          ) : null}
        </CardContent>
      ) : null}
      {phase.name === "disabling" ? null : (
        <CardFooter className="justify-end">
          {isEnabled ? (
            <Button variant="outline" onClick={() => reset({ name: "disabling" })}>
              Turn off
            </Button>
          ) : (
            <Button onClick={start} loading={isPending}>
              Set up two-factor authentication
            </Button>
          )}
        </CardFooter>
      )}
    </Card>
  );
}
