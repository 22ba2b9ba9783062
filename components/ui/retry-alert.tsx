import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";

type RetryAlertProps = {
  /** What failed, e.g. "Could not load the servers". */
  title: React.ReactNode;
  onRetry: () => void;
  className?: string;
  /** Usually the error's message. */
  children?: React.ReactNode;
};

/** A failed load, with a "Try again" button. */
export function RetryAlert({ title, onRetry, className, children }: RetryAlertProps) {
  return (
    <Alert
      variant="destructive"
      title={title}
      className={className}
      action={
        // type="button": the alert may stand inside a form.
        <Button type="button" variant="outline" size="sm" onClick={onRetry}>
          Try again
        </Button>
      }
    >
      {children}
    </Alert>
  );
}
