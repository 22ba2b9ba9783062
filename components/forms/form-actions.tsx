import { Button } from "@/components/ui/button";

type FormActionsProps = {
  /** The submit button's text, e.g. "Save" or "Create token". */
  submitLabel: React.ReactNode;
  /** While the save runs: the submit button spins and Cancel is disabled. */
  isPending: boolean;
  onCancel: () => void;
};

/** A form's Cancel and submit buttons, stacked on small screens and right-aligned from `sm` up. */
export function FormActions({ submitLabel, isPending, onCancel }: FormActionsProps) {
  return (
    <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
      <Button type="button" variant="outline" disabled={isPending} onClick={onCancel}>
        Cancel
      </Button>
      <Button type="submit" loading={isPending}>
        {submitLabel}
      </Button>
    </div>
  );
}
