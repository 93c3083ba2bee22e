-- q7, highest bid: the bids whose price is the highest of their 10-second tumbling window.
--
-- Differs from the reference suite in form: Flink joins the bids to the per-window MAX in one
-- statement. Here (1) the maximum per window is a windowed table over every bid (grouped by a
-- constant), emitted once when the window closes (EMIT FINAL, grace 0); (2) a stream over those
-- final maxima, timestamped by the window's end; (3) a stream-stream join of the bids to it on
-- price, WITHIN (0 SECONDS, 10 SECONDS): a bid joins the maximum of a window ending at most 10 s
-- after it, which is Flink's `B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND
-- B1.dateTime` (a bid exactly at the window's end included, as there). The grace period lets the
-- maximum, emitted when the window closes, still meet the bids it waited for. The window still
-- open when the input ends is not emitted (Flink's bounded run fires it at the end).

CREATE TABLE q7_max AS
  SELECT 1 AS k, WINDOWSTART AS starttime, WINDOWEND AS endtime, MAX(price) AS maxprice
  FROM bid
  WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS)
  GROUP BY 1
  EMIT FINAL;

CREATE STREAM q7_final (starttime BIGINT, endtime BIGINT, maxprice BIGINT)
  WITH (kafka_topic='Q7_MAX', value_format='JSON', timestamp='endtime');

CREATE STREAM q7 AS
  SELECT b.price, b.auction, b.bidder, b.date_time, b.extra
  FROM bid b JOIN q7_final m WITHIN (0 SECONDS, 10 SECONDS) GRACE PERIOD 2 SECONDS
    ON b.price = m.maxprice
  EMIT CHANGES;
