/**
 * A slug suggestion from a display name, in the alphabet of the slug schemas: lowercase letters,
 * digits and single dashes, no dash at either end, at most `maxLength` characters.
 */
export function slugify(name: string, maxLength: number): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, maxLength)
    .replace(/-+$/, "");
}
