"use client";

import { useState } from "react";
import { useRouter } from "next/navigation";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { RelativeTime } from "@/components/ui/relative-time";

type DeadLettersCellProps = {
  gatewayId: string;
  gatewayName: string;
  deadLetters: { count: number; lastReason: string | null; lastAt: string | null };
  canReplay: boolean;
};

/**
 * Audit events a gateway set aside because the control plane refused them: they are not in the
 * trail until replayed, so they are shown loudly, with the reason and a way to send them again.
 */
export function DeadLettersCell({ gatewayId, gatewayName, deadLetters, canReplay }: DeadLettersCellProps) {
  const router = useRouter();
  const [isConfirmOpen, setIsConfirmOpen] = useState(false);
  if (deadLetters.count === 0) return <span className="text-sm text-muted-foreground">None</span>;
  return (
    <div className="grid gap-1">
      <div className="flex items-center gap-2">
        <Badge variant="destructive">
          {deadLetters.count} {deadLetters.count === 1 ? "event" : "events"} not in the trail
        </Badge>
        {canReplay ? (
          <Button variant="outline" size="sm" onClick={() => setIsConfirmOpen(true)} aria-label={`Replay the dead letters of ${gatewayName}`}>
            Replay
          </Button>
        ) : null}
      </div>
      {deadLetters.lastReason ? <p className="max-w-md break-words text-xs text-muted-foreground">Refused: {deadLetters.lastReason}</p> : null}
      {deadLetters.lastAt ? (
        <p className="text-xs text-muted-foreground">
          Last <RelativeTime value={deadLetters.lastAt} />
        </p>
      ) : null}
      <ConfirmDialog
        open={isConfirmOpen}
        onOpenChange={setIsConfirmOpen}
        variant="default"
        title={`Replay ${deadLetters.count} dead ${deadLetters.count === 1 ? "letter" : "letters"} of ${gatewayName}?`}
        description="The gateway sends them to the control plane again. Do this once the cause of the refusal is fixed: events refused again go back to the dead-letter file. Events already stored are not stored twice."
        confirmLabel="Replay"
        onConfirm={async () => {
          const { replayed } = await api<{ replayed: number }>("POST", `/gateways/${encodeURIComponent(gatewayId)}/replay-dead-letters`);
          toast.success(`${replayed} ${replayed === 1 ? "event" : "events"} re-queued on ${gatewayName}`);
          router.refresh();
        }}
      />
    </div>
  );
}
