-- Written by hand (Prisma cannot express storage parameters; they cause no drift).
-- Ingest adds to the overview rollups on every batch, updating the same hour and day rows over
-- and over. With pages packed full (fillfactor 100) most of those updates cannot stay on their
-- page, so each writes a new index entry and the tables bloat (measured, 30 batches of the ingest
-- bench: 8 % and 42 % of the updates to TrafficByActor and TrafficCost were HOT, heaps 3x larger).
-- Room left on every page lets an update that changes only the sums (never the key) stay on its
-- page with no index write: 87 % and 89 % HOT. Applies to pages written from now on.
ALTER TABLE "TrafficByServer" SET (fillfactor = 70);
ALTER TABLE "TrafficByTool" SET (fillfactor = 70);
ALTER TABLE "TrafficByActor" SET (fillfactor = 70);
ALTER TABLE "TrafficCost" SET (fillfactor = 70);
