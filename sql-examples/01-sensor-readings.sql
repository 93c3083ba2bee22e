-- 01-sensor-readings.sql: from raw sensor readings to a stream of hot readings.
--
-- Temperature sensors publish one JSON record per reading to the Kafka topic 'sensor-readings',
-- keyed by the sensor's id, e.g.
--   key: sensor-1   value: {"LOCATION": "greenhouse", "TEMPERATURE_C": 35.5, "HUMIDITY": 61.0}
-- We declare that topic as a stream, derive a stream that keeps only the hot readings (with the
-- temperature converted to Fahrenheit and the location upper-cased), and feed it a few readings.
-- See README.md in this directory for how to run this file and read the result.

-- Step 1: read new queries' input from the beginning of their topics.
-- (The default is 'latest': a query would only see records written after it started.)
SET 'auto.offset.reset' = 'earliest';

-- Step 2: the source stream. This declares the schema of the records in 'sensor-readings' and
-- creates that topic (one partition) if it does not exist yet. SENSOR_ID is the record key (a
-- plain string); the other columns are fields of the JSON value. Unquoted names are
-- upper-cased, so the JSON fields are LOCATION, TEMPERATURE_C and HUMIDITY.
CREATE STREAM sensor_readings (
    sensor_id     VARCHAR KEY,
    location      VARCHAR,
    temperature_c DOUBLE,
    humidity      DOUBLE
) WITH (
    kafka_topic  = 'sensor-readings',
    partitions   = 1,
    value_format = 'JSON'
);

-- Step 3: a persistent query. It runs in the server until it is terminated, reads every record
-- of SENSOR_READINGS, keeps those hotter than 30 °C and writes the projected columns to a new
-- stream, HOT_READINGS, backed by the topic HOT_READINGS (the stream's name, upper-cased).
-- The key column SENSOR_ID stays the record key; the other columns become the JSON value.
-- Arithmetic on a DOUBLE gives a DOUBLE; ROUND(x, 1) keeps one decimal.
CREATE STREAM hot_readings AS
    SELECT sensor_id,
           UCASE(location)                           AS location,
           temperature_c,
           ROUND(temperature_c * 9 / 5 + 32, 1)      AS temperature_f
    FROM sensor_readings
    WHERE temperature_c > 30;

-- Step 4: some readings. INSERT INTO writes records to the stream's topic, just as any Kafka
-- producer could. Three of these six are hotter than 30 °C.
INSERT INTO sensor_readings (sensor_id, location, temperature_c, humidity) VALUES ('sensor-1', 'greenhouse', 35.5, 61.0);
INSERT INTO sensor_readings (sensor_id, location, temperature_c, humidity) VALUES ('sensor-2', 'cellar', 12.25, 80.0);
INSERT INTO sensor_readings (sensor_id, location, temperature_c, humidity) VALUES ('sensor-3', 'server room', 31.2, 20.5);
INSERT INTO sensor_readings (sensor_id, location, temperature_c, humidity) VALUES ('sensor-1', 'greenhouse', 29.9, 63.0);
INSERT INTO sensor_readings (sensor_id, location, temperature_c, humidity) VALUES ('sensor-4', 'roof', 30.0, 35.0);
INSERT INTO sensor_readings (sensor_id, location, temperature_c, humidity) VALUES ('sensor-4', 'roof', 41.0, 30.0);

-- What the topic HOT_READINGS then holds, one record per line as {"key": ..., "value": ...}
-- (tests/clients/test_sql_examples.py checks these lines; 30.0 is not > 30, so sensor-4's first
-- reading is dropped):
-- expect HOT_READINGS: {"key": "sensor-1", "value": {"LOCATION": "GREENHOUSE", "TEMPERATURE_C": 35.5, "TEMPERATURE_F": 95.9}}
-- expect HOT_READINGS: {"key": "sensor-3", "value": {"LOCATION": "SERVER ROOM", "TEMPERATURE_C": 31.2, "TEMPERATURE_F": 88.2}}
-- expect HOT_READINGS: {"key": "sensor-4", "value": {"LOCATION": "ROOF", "TEMPERATURE_C": 41.0, "TEMPERATURE_F": 105.8}}
