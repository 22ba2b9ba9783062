import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { PromptListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

import { startConformanceUpstream, type ConformanceUpstream } from "./testing/conformance-upstream";
import { startHarness, type Harness } from "./testing/harness";

/**
 * A portal's settings for prompts and resources, as tools have them: a prompt under an alias (its
 * old name no longer answers), a prompt turned off (neither listed nor served), a description
 * overridden, a resource renamed or turned off. Real gateway, real upstream, real SDK client.
 */

let h: Harness;
let upstream: ConformanceUpstream;
let client: Client;

beforeAll(async () => {
  upstream = await startConformanceUpstream();
  h = await startHarness({ extraServers: [{ slug: "conf", url: upstream.url }] });
  client = await h.connect(await h.mintToken());
});

afterAll(async () => {
  await client?.close();
  await h?.close();
  await upstream?.close();
});

async function applySettings(version: number, prompts: unknown[], resources: unknown[]) {
  await h.publish(version, (snapshot) => {
    Object.assign(snapshot.portals[0]!.servers.find((s) => s.slug === "conf")!, { prompts, resources });
  });
}

describe("prompt and resource settings of a portal", () => {
  it("lists, serves and completes a prompt by its alias, hides a prompt turned off, and tells the session its prompts changed", async () => {
    const before = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(before).toEqual(expect.arrayContaining(["conf_test_simple_prompt", "conf_test_prompt_with_arguments", "conf_test_prompt_with_image"]));

    let changed = 0;
    client.setNotificationHandler(PromptListChangedNotificationSchema, () => void (changed += 1));
    await applySettings(2, [
      { key: "test_prompt_with_arguments", enabled: true, alias: "trip_planner", description: "Plans a trip (portal's words)." },
      { key: "test_prompt_with_image", enabled: false },
    ], [{ key: "test://static-binary", enabled: false }, { key: "test://static-text", enabled: true, alias: "Readme" }]);
    for (let i = 0; i < 200 && changed === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(changed).toBeGreaterThan(0);

    const prompts = (await client.listPrompts()).prompts;
    const names = prompts.map((p) => p.name);
    expect(names).toContain("trip_planner");
    expect(names).not.toContain("conf_test_prompt_with_arguments");
    expect(names).not.toContain("conf_test_prompt_with_image");
    expect(prompts.find((p) => p.name === "trip_planner")?.description).toBe("Plans a trip (portal's words).");

    const got = await client.getPrompt({ name: "trip_planner", arguments: { arg1: "paris", arg2: "rome" } });
    expect(got.messages[0]?.content).toMatchObject({ text: "Prompt with arguments: arg1='paris', arg2='rome'" });
    await expect(client.getPrompt({ name: "conf_test_prompt_with_arguments", arguments: { arg1: "a", arg2: "b" } })).rejects.toThrow(/not available in this portal/);
    await expect(client.getPrompt({ name: "conf_test_prompt_with_image" })).rejects.toThrow(/not available in this portal/);
    const completion = await client.complete({ ref: { type: "ref/prompt", name: "trip_planner" }, argument: { name: "arg1", value: "par" } });
    expect(completion.completion.values).toEqual(["paris", "park", "party"]);
  });

  it("renames a resource in lists and keeps one turned off out of lists and reads", async () => {
    const resources = (await client.listResources()).resources;
    expect(resources.find((r) => r.uri === "test://static-text")?.name).toBe("Readme");
    expect(resources.map((r) => r.uri)).not.toContain("test://static-binary");
    await expect(client.readResource({ uri: "test://static-binary" })).rejects.toThrow(/not available in this portal/);
    const text = await client.readResource({ uri: "test://static-text" });
    expect(text.contents[0]).toMatchObject({ text: "This is the content of the static text resource." });
  });
});
