/**
 * The URL a table's next change should start from.
 *
 * A router navigation is asynchronous: `window.location` shows a pushed URL only once the
 * navigation has rendered. Two changes made less than a navigation apart (two filters picked in
 * quick succession, a debounced search landing while a select's navigation is in flight) would
 * both start from the same old URL, and the second would silently drop the first.
 *
 * The trail remembers the URLs this tab asked for and has not seen land yet. While the live URL
 * is still one of the trail's (the one the first pending change started from, or one of the
 * pending ones that has landed), the next change starts from the newest one asked for. Any other
 * live URL means something else navigated (Back, a link, a reload): the trail is dropped and
 * the live URL wins.
 */
export class SearchParamsTrail {
  private trail: string[] = [];

  /** The href (path and query) the next change should build on, given the live one. */
  base(live: string): string {
    const at = this.trail.indexOf(live);
    if (at === -1) {
      this.trail = [];
      return live;
    }
    // What has landed is no longer pending; the newest asked-for URL is the base.
    this.trail = this.trail.slice(at);
    if (this.trail.length === 1) this.trail = [];
    return this.trail.at(-1) ?? live;
  }

  /** Records a navigation from `from` (a value `base` returned, or the live URL) to `to`. */
  navigated(from: string, to: string): void {
    if (this.trail.length === 0) this.trail = [from];
    if (this.trail.at(-1) !== to) this.trail.push(to);
  }
}

/** One trail per tab: every table hook instance on a page navigates the same URL. */
export const searchParamsTrail = new SearchParamsTrail();
