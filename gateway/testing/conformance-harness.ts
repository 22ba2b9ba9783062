import { startConformanceUpstream } from "./conformance-upstream";
import { startConformanceUpstreamV2 } from "./conformance-upstream-v2";
import { startHarness } from "./harness";

/**
 * The harness (harness.ts) with both conformance servers in its portal as well: the SDK 1.x one
 * as `conf` (`v1`), the SDK 2.x one as `conf2` (`v2`). `close()` stops them with the rest.
 */
export async function startConformanceHarness() {
  const v1 = await startConformanceUpstream();
  const v2 = await startConformanceUpstreamV2().catch(async (error: unknown) => {
    await v1.close();
    throw error;
  });
  const h = await startHarness({ extraServers: [{ slug: "conf", url: v1.url }, { slug: "conf2", url: v2.url }] }).catch(async (error: unknown) => {
    await v1.close();
    await v2.close();
    throw error;
  });
  const closeHarness = h.close;
  return Object.assign(h, {
    v1,
    v2,
    async close() {
      await closeHarness();
      await v1.close();
      await v2.close();
    },
  });
}

export type ConformanceHarness = Awaited<ReturnType<typeof startConformanceHarness>>;
