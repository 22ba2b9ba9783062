import { describe, expect, it } from "vitest";
import { SearchParamsTrail } from "./search-params-trail";

/** A router whose navigations land only when told, as the App Router's do (after a render). */
function fakeRouter(start: string) {
  const trail = new SearchParamsTrail();
  const state = { live: start, inFlight: [] as string[] };
  const set = (key: string, value: string) => {
    const base = trail.base(state.live);
    const url = new URL(base, "http://x");
    url.searchParams.set(key, value);
    const to = `${url.pathname}${url.search}`;
    trail.navigated(base, to);
    state.inFlight.push(to);
  };
  const landNext = () => (state.live = state.inFlight.shift()!);
  const externalNavigation = (to: string) => {
    state.inFlight = [];
    state.live = to;
  };
  return { set, landNext, externalNavigation, state };
}

describe("SearchParamsTrail", () => {
  it("keeps both of two changes made before the first navigation landed", () => {
    const r = fakeRouter("/audit");
    r.set("range", "7d");
    r.set("outcome", "deny");
    r.landNext();
    r.landNext();
    expect(r.state.live).toBe("/audit?range=7d&outcome=deny");
  });

  it("keeps a third change made after the first landed and the second did not", () => {
    const r = fakeRouter("/audit");
    r.set("range", "7d");
    r.set("outcome", "deny");
    r.landNext();
    r.set("tool", "set_budget");
    r.landNext();
    r.landNext();
    expect(r.state.live).toBe("/audit?range=7d&outcome=deny&tool=set_budget");
  });

  it("starts from the live URL once everything landed", () => {
    const r = fakeRouter("/audit");
    r.set("range", "7d");
    r.landNext();
    r.set("outcome", "deny");
    r.landNext();
    expect(r.state.live).toBe("/audit?range=7d&outcome=deny");
  });

  it("lets a navigation from elsewhere (Back, a link) win over the trail", () => {
    const r = fakeRouter("/audit?range=7d");
    r.set("outcome", "deny");
    r.externalNavigation("/audit?session=s-1");
    r.set("tool", "x");
    r.landNext();
    expect(r.state.live).toBe("/audit?session=s-1&tool=x");
  });
});
