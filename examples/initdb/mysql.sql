-- The demo "shop" database for docker-compose.yml's mysql service (MySQL
-- 8.4). The image runs this once, on the first start (an empty volume), as
-- root. `cdc check -c examples/mysql.yaml` checks what it sets up.

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
-- examples/mysql.yaml has snapshot.mode never (MySQL snapshots are not
-- built yet), so this row is not captured; changes made after cdc starts are.
INSERT INTO shop.orders (id, customer, status, total, placed_at)
  VALUES (100, 'margaret', 'shipped', 99.00, '2026-01-02 03:04:05');

-- The connector's user. REPLICATION SLAVE reads the binlog (and lists the
-- replicas, for cdc check's server_id clash test); REPLICATION CLIENT reads
-- the current binlog position; SELECT on the captured database resolves the
-- tables. The password uses MySQL 8.4's default caching_sha2_password; cdc
-- fetches the server's RSA key to send it over a plain connection.
CREATE USER 'cdc'@'%' IDENTIFIED BY 'cdc';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'cdc'@'%';
GRANT SELECT ON shop.* TO 'cdc'@'%';
