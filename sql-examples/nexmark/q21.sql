-- q21, add channel id: the channel's id, from a fixed list for the four big channels or from
-- the URL's `channel_id` parameter.
--
-- As in the reference suite, with ksqlDB's names: LCASE for LOWER, and REGEXP_EXTRACT takes
-- the pattern first.

CREATE STREAM q21 AS
  SELECT auction, bidder, price, channel,
         CASE
           WHEN LCASE(channel) = 'apple' THEN '0'
           WHEN LCASE(channel) = 'google' THEN '1'
           WHEN LCASE(channel) = 'facebook' THEN '2'
           WHEN LCASE(channel) = 'baidu' THEN '3'
           ELSE REGEXP_EXTRACT('(&|^)channel_id=([^&]*)', url, 2)
         END AS channel_id
  FROM bid
  WHERE REGEXP_EXTRACT('(&|^)channel_id=([^&]*)', url, 2) IS NOT NULL
     OR LCASE(channel) IN ('apple', 'google', 'facebook', 'baidu')
  EMIT CHANGES;
