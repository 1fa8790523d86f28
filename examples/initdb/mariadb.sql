-- The demo "shop" database for docker-compose.yml's mariadb service. The
-- image runs this once, on the first start (an empty volume), as root.
-- `cdc check -c examples/mariadb.yaml` checks what it sets up.

CREATE DATABASE IF NOT EXISTS shop;
CREATE TABLE shop.orders (
  id        BIGINT PRIMARY KEY,
  customer  VARCHAR(100) NOT NULL,
  status    VARCHAR(20) NOT NULL,
  total     DECIMAL(12,2) NOT NULL,
  placed_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB;
CREATE TABLE shop.order_lines (
  order_id BIGINT NOT NULL,
  line     INT NOT NULL,
  sku      VARCHAR(100),
  qty      INT,
  PRIMARY KEY (order_id, line),
  FOREIGN KEY (order_id) REFERENCES shop.orders (id)
) ENGINE=InnoDB;
-- Rows that exist before cdc's first start: its snapshot reads them (op "r").
INSERT INTO shop.orders (id, customer, status, total, placed_at)
  VALUES (100, 'margaret', 'shipped', 99.00, '2026-01-02 03:04:05');
INSERT INTO shop.order_lines VALUES (100, 1, 'lamp', 1);

-- The connector's user. REPLICATION SLAVE reads the binlog; BINLOG MONITOR
-- (MariaDB's name for REPLICATION CLIENT) reads the current binlog position;
-- REPLICATION MASTER ADMIN lets cdc check list the server's replicas for a
-- server_id clash (without it, check warns); SELECT on the captured database
-- resolves the tables and reads the snapshot.
CREATE USER 'cdc'@'%' IDENTIFIED BY 'cdc';
GRANT REPLICATION SLAVE, BINLOG MONITOR, REPLICATION MASTER ADMIN ON *.* TO 'cdc'@'%';
GRANT SELECT ON shop.* TO 'cdc'@'%';
