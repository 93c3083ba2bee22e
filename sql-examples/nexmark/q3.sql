-- q3, local item suggestion: auctions of category 10 by sellers in Oregon, Idaho or California.
--
-- Differs from the reference suite: Flink joins the two streams with an unbounded regular join,
-- which also matches an auction with a person who arrives after it. Here persons are a table
-- keyed by id (the person topic's key) and each auction looks its seller up when it arrives: the
-- stream-table join of ksqlDB. The generator creates a person before any auction names it as
-- seller, except the few sellers drawn up to 10 persons ahead of the newest; those auctions
-- (about one in 400, more while fewer than 1,000 persons exist) find no seller and produce
-- nothing. ksqlDB's join must select the join key
-- (`a.seller`). Filters on the auction side and the seller's state are applied after the join,
-- as WHERE on a join is.

CREATE TABLE q3_person (id BIGINT PRIMARY KEY, name VARCHAR, city VARCHAR, state VARCHAR,
    date_time BIGINT)
  WITH (kafka_topic='person', value_format='JSON', timestamp='date_time');

CREATE STREAM q3 AS
  SELECT a.seller, p.name, p.city, p.state, a.id
  FROM auction a JOIN q3_person p ON a.seller = p.id
  WHERE a.category = 10 AND (p.state = 'OR' OR p.state = 'ID' OR p.state = 'CA')
  EMIT CHANGES;
