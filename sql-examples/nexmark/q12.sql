-- q12, processing-time windows: bids per bidder per 10-second tumbling window of processing
-- time.
--
-- Differs from the reference suite: ksqlDB has no PROCTIME(). The closest is the record's own
-- timestamp, which the generator (like any producer) sets to the time it produced the record: a
-- stream over the bid topic declared without `timestamp='date_time'` takes it as ROWTIME. So the
-- windows are those of the time the bids were written, not of the time the query read them.

CREATE STREAM q12_bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
    date_time BIGINT, extra VARCHAR)
  WITH (kafka_topic='bid', value_format='JSON');

CREATE TABLE q12 AS
  SELECT bidder, COUNT(*) AS bid_count, WINDOWSTART AS starttime, WINDOWEND AS endtime
  FROM q12_bid
  WINDOW TUMBLING (SIZE 10 SECONDS)
  GROUP BY bidder
  EMIT CHANGES;
