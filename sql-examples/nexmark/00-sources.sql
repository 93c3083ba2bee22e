-- Nexmark's three event streams, as `flusso nexmark generate` writes them: one JSON object per
-- record (snake_case fields, times in epoch milliseconds), persons and auctions keyed by their id
-- (8-byte big-endian BIGINT, the KAFKA format), bids unkeyed. Event time is `date_time`; the
-- record timestamp is the time the record was produced (what q12 uses as processing time).
-- Every query file in this directory runs after this one.

CREATE STREAM person (id BIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR,
    city VARCHAR, state VARCHAR, date_time BIGINT, extra VARCHAR)
  WITH (kafka_topic='person', value_format='JSON', timestamp='date_time');

CREATE STREAM auction (id BIGINT, item_name VARCHAR, description VARCHAR, initial_bid BIGINT,
    reserve BIGINT, date_time BIGINT, expires BIGINT, seller BIGINT, category BIGINT,
    extra VARCHAR)
  WITH (kafka_topic='auction', value_format='JSON', timestamp='date_time');

CREATE STREAM bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
    date_time BIGINT, extra VARCHAR)
  WITH (kafka_topic='bid', value_format='JSON', timestamp='date_time');
