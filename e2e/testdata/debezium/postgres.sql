-- before the connectors start (snapshot)
CREATE EXTENSION IF NOT EXISTS hstore;
DROP SCHEMA IF EXISTS dbzcap CASCADE;
CREATE SCHEMA dbzcap;
CREATE TYPE dbzcap.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN dbzcap.posint AS integer CHECK (VALUE > 0);
CREATE TABLE dbzcap.types (
 id int PRIMARY KEY,
 c_smallint smallint, c_integer integer, c_bigint bigint, c_oid oid, c_real real, c_double double precision,
 c_numeric numeric(12,3), c_numeric_var numeric, c_money money, c_text text, c_varchar varchar(10), c_char char(3),
 c_qchar "char", c_name name, c_xml xml, c_bytea bytea, c_bool boolean, c_json json, c_jsonb jsonb, c_uuid uuid,
 c_date date, c_time time, c_time3 time(3), c_timetz timetz, c_ts timestamp, c_ts3 timestamp(3), c_ts0 timestamp(0),
 c_tstz timestamptz, c_tstz3 timestamptz(3), c_interval interval, c_bit1 bit(1), c_bit5 bit(5), c_varbit varbit,
 c_inet inet, c_cidr cidr, c_macaddr macaddr, c_macaddr8 macaddr8, c_point point, c_int4arr int4[], c_textarr text[],
 c_numarr numeric[], c_int8range int8range, c_tstzrange tstzrange, c_daterange daterange, c_numrange numrange,
 c_enum dbzcap.mood, c_domain dbzcap.posint, c_hstore hstore, c_tsvector tsvector, c_int4multirange int4multirange
);
ALTER TABLE dbzcap.types REPLICA IDENTITY FULL;
-- The rows go through a copy, so that the snapshot and the stream carry the same values.
CREATE TABLE dbzcap.types_seed (LIKE dbzcap.types);
-- row 1: all NULL
INSERT INTO dbzcap.types_seed (id) VALUES (1);
-- row 2: typical values
INSERT INTO dbzcap.types_seed VALUES (2, 1, 2, 3, 4, 1.5, 2.25, 123.456, 1.5, 12.34, 'héllo wörld 😀', 'abc', 'ab', 'x', 'nm',
 '<a>1</a>', '\xdeadbeef', true, '{"a": [1, 2.50]}', '{"a": [1, 2.50]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
 '2024-02-29', '13:14:15.123456', '13:14:15.123', '13:14:15.5+02', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123', '2024-02-29 13:14:15',
 '2024-02-29 13:14:15.123456+02', '2024-02-29 13:14:15.123+02', '1 year 2 mons 3 days 04:05:06.789', B'1', B'10110', B'1011001110',
 '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', '(1.5,-2)', '{1,NULL,3}', '{"a","b c",NULL,"ü"}',
 '{1.5,NULL,-2,NaN}', '[1,10)', '["2024-01-01 00:00:00+00",)', '[2024-01-01,2024-02-01)', '(1.5,2.5]',
 'happy', 42, '"a"=>"1", "b"=>NULL', 'a fat cat:3', '{[1,3), [5,7)}');
-- row 3: minimums and negatives
INSERT INTO dbzcap.types_seed VALUES (3, -32768, -2147483648, -9223372036854775808, 0, -3.4e38, -1.7976931348623157e308,
 -999999999.999, -123456789012345678901234567890.123456789012345678901234567890, -92233720368547758.08, '', '', '', ' ', '',
 '<a/>', '\x', false, '[]', '{}', '00000000-0000-0000-0000-000000000000',
 '0044-03-15 BC', '00:00:00', '00:00:00', '00:00:00-14:59', '0044-03-15 12:00:00 BC', '4713-11-24 00:00:00 BC', '0001-01-01 00:00:00',
 '4713-11-24 00:00:00+00 BC', '0044-03-15 12:00:00.123+00 BC', '-178000000 years', B'0', B'00000', B'',
 '::1/128', '::/0', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', '(-1e300,0)', '{}', '{}',
 '{}', 'empty', 'empty', 'empty', 'empty', 'sad', 1, '', '', '{}');
-- row 4: maximums
INSERT INTO dbzcap.types_seed VALUES (4, 32767, 2147483647, 9223372036854775807, 4294967295, 3.4e38, 1.7976931348623157e308,
 999999999.999, 99999999999999999999999999999999999999.000000000000000000000000000001, 92233720368547758.07, repeat('x', 3000), '0123456789', 'abc', '~', repeat('n', 63),
 '<x y="ü"/>', '\x00ff', true, '{"k": "\u00fc", "n": null}', '{"n": 1e400}', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
 '294276-12-31', '23:59:59.999999', '23:59:59.999', '23:59:59.999999-15:59', '294276-12-31 23:59:59.999999', '10000-01-01 00:00:00.001', '9999-12-31 23:59:59',
 '294276-12-31 23:59:59.999999+00', '12345-06-07 08:09:10.123+00', '178000000 years', B'1', B'11111', B'1111111111111111111111111111111111111111111111111111111111111111111',
 '255.255.255.255', '255.255.255.255/32', 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff', '(1e300,-1e-300)', '{{1,2},{3,4}}', '{"{}",""}',
 '{99999999999999999999.000000000001}', '(,)', '(,"2030-01-01 00:00:00+00"]', '(,2030-01-01)', '[-1.5,)', 'ok', 2147483647, '"ü"=>"ß", "k"=>""', 'ü:1A ß:2B', '{}');
-- row 5: special floats, numerics, infinities, 24:00
INSERT INTO dbzcap.types_seed (id, c_real, c_double, c_numeric, c_numeric_var, c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval, c_numarr, c_tstzrange, c_daterange, c_numrange)
 VALUES (5, 'NaN', 'NaN', 'NaN', 'NaN', 'infinity', '24:00:00', '24:00:00', '24:00:00+00', 'infinity', 'infinity', 'infinity', 'infinity', 'infinity', '0', '{Infinity,-Infinity}', '[-infinity,infinity]', '[-infinity,infinity)', '(,Infinity)');
INSERT INTO dbzcap.types_seed (id, c_real, c_double, c_numeric_var, c_date, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval)
 VALUES (6, 'Infinity', 'Infinity', 'Infinity', '-infinity', '-infinity', '-infinity', '-infinity', '-infinity', '-infinity', '-1 day -00:00:00.000001');
INSERT INTO dbzcap.types_seed (id, c_real, c_double, c_numeric_var, c_interval, c_numeric, c_money, c_date, c_ts, c_tstz)
 VALUES (7, '-Infinity', '-Infinity', '-Infinity', '1 mon', 0, 0, '1970-01-01', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00');
INSERT INTO dbzcap.types_seed (id, c_real, c_double, c_numeric, c_numeric_var, c_money, c_interval, c_date, c_ts, c_ts3, c_tstz, c_time)
 VALUES (8, 1.17549435e-38, 5e-324, -0.001, 0.000000000000000000000000000000000000000000000000000000000000000000000000000001, -0.01, '1 year', '10000-01-01', '1969-12-31 23:59:59.999999', '1969-12-31 23:59:59.999', '1969-12-31 23:59:59.999999+00', '00:00:00.000001');
INSERT INTO dbzcap.types SELECT * FROM dbzcap.types_seed;
-- Default replica identity, and a TOASTed column that an update leaves unchanged.
CREATE TABLE dbzcap.ridef (id int PRIMARY KEY, note text, big text, n int);
ALTER TABLE dbzcap.ridef ALTER COLUMN big SET STORAGE EXTERNAL;
-- Columns the handling modes change (connectors dbzpga, dbzpgb).
CREATE TABLE dbzcap.modes (id int PRIMARY KEY, c_numeric numeric(12,3), c_numeric_var numeric, c_money money, c_numarr numeric[],
 c_bytea bytea, c_byteaarr bytea[], c_bit5 bit(5), c_time time, c_time3 time(3), c_time0 time(0), c_timetz timetz,
 c_ts timestamp, c_ts3 timestamp(3), c_ts0 timestamp(0), c_tstz timestamptz, c_date date, c_interval interval,
 c_hstore hstore, c_tsvector tsvector, c_int4multirange int4multirange);
ALTER TABLE dbzcap.modes REPLICA IDENTITY FULL;
CREATE TABLE dbzcap.modes_seed (LIKE dbzcap.modes);
INSERT INTO dbzcap.modes_seed (id) VALUES (1);
INSERT INTO dbzcap.modes_seed VALUES (2, 123.456, 1.5, 12.34, '{1.5,-2}', '\xdeadbeef', '{"\\x01","\\xff"}', B'10110',
 '13:14:15.123456', '13:14:15.123', '13:14:15', '13:14:15.5+02', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123', '2024-02-29 13:14:15',
 '2024-02-29 13:14:15.123456+02', '2024-02-29', '1 year 2 mons 3 days 04:05:06.789', '"a"=>"1", "b"=>NULL', 'a fat cat:3', '{[1,3), [5,7)}');
INSERT INTO dbzcap.modes_seed VALUES (3, 'NaN', 'NaN', -92233720368547758.08, '{NaN,Infinity}', '\x', '{}', B'00001',
 '24:00:00', '23:59:59.999', '00:00:00', '24:00:00+00', 'infinity', '-infinity', '4713-11-24 00:00:00 BC',
 'infinity', '0044-03-15 BC', '-1 day -00:00:00.000001', '', '', '{}');
INSERT INTO dbzcap.modes_seed VALUES (4, -999999999.999, 'Infinity', 92233720368547758.07, '{}', '\x00', NULL, B'11111',
 '00:00:00.000001', NULL, NULL, '00:00:00-14:59', '10000-01-01 00:00:00', '1969-12-31 23:59:59.999', '0001-01-01 00:00:00',
 '-infinity', '10000-01-01', '178000000 years', NULL, NULL, NULL);
INSERT INTO dbzcap.modes SELECT * FROM dbzcap.modes_seed;

-- streamed
-- The snapshot's rows again, ids + 100, in one transaction.
UPDATE dbzcap.types_seed SET id = id + 100;
INSERT INTO dbzcap.types SELECT * FROM dbzcap.types_seed ORDER BY id;
-- Every column of row 102 (typical values) becomes row 103's (minimums, empties).
UPDATE dbzcap.types SET (c_smallint, c_integer, c_bigint, c_oid, c_real, c_double, c_numeric, c_numeric_var, c_money, c_text, c_varchar, c_char, c_qchar, c_name, c_xml, c_bytea, c_bool, c_json, c_jsonb, c_uuid, c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval, c_bit1, c_bit5, c_varbit, c_inet, c_cidr, c_macaddr, c_macaddr8, c_point, c_int4arr, c_textarr, c_numarr, c_int8range, c_tstzrange, c_daterange, c_numrange, c_enum, c_domain, c_hstore, c_tsvector, c_int4multirange) = (SELECT c_smallint, c_integer, c_bigint, c_oid, c_real, c_double, c_numeric, c_numeric_var, c_money, c_text, c_varchar, c_char, c_qchar, c_name, c_xml, c_bytea, c_bool, c_json, c_jsonb, c_uuid, c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval, c_bit1, c_bit5, c_varbit, c_inet, c_cidr, c_macaddr, c_macaddr8, c_point, c_int4arr, c_textarr, c_numarr, c_int8range, c_tstzrange, c_daterange, c_numrange, c_enum, c_domain, c_hstore, c_tsvector, c_int4multirange FROM dbzcap.types WHERE id = 103) WHERE id = 102;
-- Every column of row 101 (NULLs) becomes row 105's (NaN, infinities, 24:00).
UPDATE dbzcap.types SET (c_smallint, c_integer, c_bigint, c_oid, c_real, c_double, c_numeric, c_numeric_var, c_money, c_text, c_varchar, c_char, c_qchar, c_name, c_xml, c_bytea, c_bool, c_json, c_jsonb, c_uuid, c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval, c_bit1, c_bit5, c_varbit, c_inet, c_cidr, c_macaddr, c_macaddr8, c_point, c_int4arr, c_textarr, c_numarr, c_int8range, c_tstzrange, c_daterange, c_numrange, c_enum, c_domain, c_hstore, c_tsvector, c_int4multirange) = (SELECT c_smallint, c_integer, c_bigint, c_oid, c_real, c_double, c_numeric, c_numeric_var, c_money, c_text, c_varchar, c_char, c_qchar, c_name, c_xml, c_bytea, c_bool, c_json, c_jsonb, c_uuid, c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval, c_bit1, c_bit5, c_varbit, c_inet, c_cidr, c_macaddr, c_macaddr8, c_point, c_int4arr, c_textarr, c_numarr, c_int8range, c_tstzrange, c_daterange, c_numrange, c_enum, c_domain, c_hstore, c_tsvector, c_int4multirange FROM dbzcap.types WHERE id = 105) WHERE id = 101;
DELETE FROM dbzcap.types WHERE id = 104;
UPDATE dbzcap.types SET id = 200 WHERE id = 106;
INSERT INTO dbzcap.ridef VALUES (1, 'a', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 400) AS i), 1);
UPDATE dbzcap.ridef SET note = 'b' WHERE id = 1;
UPDATE dbzcap.ridef SET id = 2, n = 2 WHERE id = 1;
DELETE FROM dbzcap.ridef WHERE id = 2;
UPDATE dbzcap.modes_seed SET id = id + 100;
INSERT INTO dbzcap.modes SELECT * FROM dbzcap.modes_seed ORDER BY id;
UPDATE dbzcap.modes SET (c_numeric, c_numeric_var, c_money, c_numarr, c_bytea, c_byteaarr, c_bit5, c_time, c_time3, c_time0, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_date, c_interval, c_hstore, c_tsvector, c_int4multirange) = (SELECT c_numeric, c_numeric_var, c_money, c_numarr, c_bytea, c_byteaarr, c_bit5, c_time, c_time3, c_time0, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_date, c_interval, c_hstore, c_tsvector, c_int4multirange FROM dbzcap.modes WHERE id = 103) WHERE id = 102;
DELETE FROM dbzcap.modes WHERE id = 104;
