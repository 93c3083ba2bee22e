-- q5, hot items: in every 10-second window sliding by 2 seconds, the auctions with the most
-- bids.
--
-- Differs from the reference suite in form: Flink joins the HOP window's count per auction to
-- the per-window MAX of the same counts, in one statement. ksqlDB cannot join a windowed table to
-- an aggregate over it, so the pipeline is four queries:
--  1. the bid count per auction and hopping window, emitted once when the window closes
--     (EMIT FINAL, grace 0, as Flink's window fires on the watermark); the window's bounds are
--     copied into the value;
--  2. a stream over those final counts (no query, a declaration), from which
--  3. the highest count per window (a table keyed by window start), and
--  4. the counts re-keyed by (auction, window start) as a table, joined to (3) with a
--     foreign-key join on the window start, keeping the rows whose count reaches the maximum.
-- The result is a table: its rows, once the input has been read, are Flink's output rows (an
-- auction whose count was the maximum until another passed it is deleted again). Windows still
-- open when the input ends are not emitted (Flink's bounded run fires them at the end).

CREATE TABLE q5_counts AS
  SELECT auction, AS_VALUE(auction) AS auction_id, WINDOWSTART AS starttime,
         WINDOWEND AS endtime, COUNT(*) AS num
  FROM bid
  WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 2 SECONDS, GRACE PERIOD 0 SECONDS)
  GROUP BY auction
  EMIT FINAL;

CREATE STREAM q5_final (auction_id BIGINT, starttime BIGINT, endtime BIGINT, num BIGINT)
  WITH (kafka_topic='Q5_COUNTS', value_format='JSON', timestamp='endtime');

CREATE TABLE q5_max AS
  SELECT starttime, MAX(num) AS maxn
  FROM q5_final
  GROUP BY starttime
  EMIT CHANGES;

CREATE TABLE q5_by_window WITH (key_format='JSON') AS
  SELECT auction_id, starttime, LATEST_BY_OFFSET(num) AS num
  FROM q5_final
  GROUP BY auction_id, starttime
  EMIT CHANGES;

CREATE TABLE q5 AS
  SELECT w.auction_id, w.starttime, w.num, m.maxn
  FROM q5_by_window w JOIN q5_max m ON w.starttime = m.starttime
  WHERE w.num >= m.maxn
  EMIT CHANGES;
