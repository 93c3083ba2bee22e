-- q22, URL directories: the first three directories of each bid's URL.
--
-- Differs from the reference suite in the function: ksqlDB has no SPLIT_INDEX; SPLIT returns an
-- array indexed from 1, so Flink's SPLIT_INDEX(url, '/', 3) (from 0) is SPLIT(url, '/')[4]. An
-- index past the end is NULL in both.

CREATE STREAM q22 AS
  SELECT auction, bidder, price, channel,
         SPLIT(url, '/')[4] AS dir1,
         SPLIT(url, '/')[5] AS dir2,
         SPLIT(url, '/')[6] AS dir3
  FROM bid
  EMIT CHANGES;
