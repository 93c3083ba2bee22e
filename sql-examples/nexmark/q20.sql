-- q20, expand bid with auction: bids on auctions of category 10, with the auction's columns.
--
-- Differs from the reference suite as q3 does: Flink's regular join also matches a bid with an
-- auction created after it; here auctions are a table keyed by id and each bid looks its auction
-- up when it arrives. Bids drawn for one of the (up to 10) auctions ahead of the newest find
-- none.

CREATE TABLE q20_auction (id BIGINT PRIMARY KEY, item_name VARCHAR, description VARCHAR,
    initial_bid BIGINT, reserve BIGINT, date_time BIGINT, expires BIGINT, seller BIGINT,
    category BIGINT, extra VARCHAR)
  WITH (kafka_topic='auction', value_format='JSON', timestamp='date_time');

CREATE STREAM q20 AS
  SELECT b.auction, b.bidder, b.price, b.channel, b.url, b.date_time AS bid_date_time,
         b.extra AS bid_extra, a.item_name, a.description, a.initial_bid, a.reserve,
         a.date_time AS auction_date_time, a.expires, a.seller, a.category,
         a.extra AS auction_extra
  FROM bid b JOIN q20_auction a ON b.auction = a.id
  WHERE a.category = 10
  EMIT CHANGES;
