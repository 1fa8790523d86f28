-- The demo "shop" database for docker-compose.yml's postgres service. The
-- image runs this once, on the first start (an empty volume), as the
-- superuser in database shop. `cdc check -c examples/postgres.yaml` checks
-- what it sets up.

-- The application's tables, owned by the superuser (the "application").
CREATE SCHEMA shop;
CREATE TABLE shop.orders (
  id        bigint PRIMARY KEY,
  customer  text NOT NULL,
  status    text NOT NULL,
  total     numeric(12,2) NOT NULL,
  placed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shop.order_lines (
  order_id bigint REFERENCES shop.orders,
  line     int,
  sku      text,
  qty      int,
  PRIMARY KEY (order_id, line)
);
-- Rows that exist before cdc's first start: its snapshot reads them (op "r").
INSERT INTO shop.orders (id, customer, status, total, placed_at)
  VALUES (100, 'margaret', 'shipped', 99.00, '2026-01-02 03:04:05+00');
INSERT INTO shop.order_lines VALUES (100, 1, 'lamp', 1);

-- The connector's role: REPLICATION for the slot and the stream, SELECT for
-- the snapshot and the table descriptions. Not a superuser, not the owner.
CREATE ROLE cdc WITH LOGIN REPLICATION PASSWORD 'cdc';
GRANT USAGE ON SCHEMA shop TO cdc;
GRANT SELECT ON shop.orders, shop.order_lines TO cdc;

-- Only a table's owner (or a superuser) may publish it, so the owner
-- creates the publication and examples/postgres.yaml says
-- create_publication: false. cdc creates its slot (cdc_pg_shop) itself.
CREATE PUBLICATION cdc_pg_shop FOR TABLE shop.orders, shop.order_lines;
