-- q4, average price per category: the highest bid of each auction among the bids made while it
-- was open, averaged per category.
--
-- Differs from the reference suite in form, not in result: Flink writes an interval join of the
-- two streams in one statement with two nested GROUP BYs. ksqlDB has neither nested queries nor
-- interval joins, so the pipeline is three statements: bids look their auction up in a table of
-- auctions (keyed by id; only the columns used) and keep those made between the auction's start
-- and its expiry; the highest price per auction is a table; its average per category is a table
-- aggregation, which retracts an auction's previous maximum when it rises. A bid can only fall in
-- its auction's interval if the auction came first, so the lookup finds every pair the interval
-- join does. AVG is a DOUBLE (Flink: the BIGINT average, truncated).

CREATE TABLE q4_auction (id BIGINT PRIMARY KEY, date_time BIGINT, expires BIGINT, category BIGINT)
  WITH (kafka_topic='auction', value_format='JSON', timestamp='date_time');

CREATE STREAM q4_bids AS
  SELECT b.auction AS auction, a.category AS category, b.price AS price
  FROM bid b JOIN q4_auction a ON b.auction = a.id
  WHERE b.date_time BETWEEN a.date_time AND a.expires
  EMIT CHANGES;

CREATE TABLE q4_max AS
  SELECT auction, LATEST_BY_OFFSET(category) AS category, MAX(price) AS final
  FROM q4_bids
  GROUP BY auction
  EMIT CHANGES;

CREATE TABLE q4 AS
  SELECT category, AVG(final) AS avg_final
  FROM q4_max
  GROUP BY category
  EMIT CHANGES;
