-- q18, find last bid: the latest bid of each bidder on each auction.
--
-- Differs from the reference suite in form: Flink deduplicates with ROW_NUMBER() OVER
-- (PARTITION BY bidder, auction ORDER BY dateTime DESC) = 1; ksqlDB has no OVER clause, and a
-- table of LATEST_BY_OFFSET per (bidder, auction) holds the same row (bids arrive in event-time
-- order, so the latest offset is the latest time).

CREATE TABLE q18 WITH (key_format='JSON') AS
  SELECT bidder, auction,
         LATEST_BY_OFFSET(price) AS price,
         LATEST_BY_OFFSET(channel) AS channel,
         LATEST_BY_OFFSET(url) AS url,
         LATEST_BY_OFFSET(date_time) AS date_time,
         LATEST_BY_OFFSET(extra) AS extra
  FROM bid
  GROUP BY bidder, auction
  EMIT CHANGES;
