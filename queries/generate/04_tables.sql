-- The shop tables (the DESIGN data contract), created empty; the block steps (10_ to 17_) fill
-- them one block of customers at a time. customers keeps three extra columns with the planted
-- behaviour (archetype, time_pref, device_pref) so that tests and demos can check segments.
-- products is written whole by 03_products.sql.

CREATE TABLE customers (
    customer_id  BIGINT,
    created_at   TIMESTAMP,
    country      VARCHAR,
    city         VARCHAR,
    birth_date   DATE,
    gender       VARCHAR,
    email_opt_in BOOLEAN,
    email        VARCHAR,
    first_name   VARCHAR,
    last_name    VARCHAR,
    phone        VARCHAR,
    archetype    VARCHAR,
    time_pref    VARCHAR,
    device_pref  VARCHAR
);

CREATE TABLE orders (
    order_id       BIGINT,
    customer_id    BIGINT,
    ordered_at     TIMESTAMP,
    total          DOUBLE,
    discount       DOUBLE,
    channel        VARCHAR,
    device         VARCHAR,
    payment_method VARCHAR
);

CREATE TABLE order_items (
    order_id   BIGINT,
    product_id BIGINT,
    quantity   INTEGER,
    price      DOUBLE
);

CREATE TABLE events (
    customer_id BIGINT,
    occurred_at TIMESTAMP,
    type        VARCHAR,
    product_id  BIGINT,
    device      VARCHAR,
    os          VARCHAR,
    session_id  BIGINT
);

CREATE TABLE returns (
    order_id    BIGINT,
    returned_at TIMESTAMP,
    amount      DOUBLE,
    reason      VARCHAR
);

CREATE TABLE reviews (
    customer_id BIGINT,
    created_at  TIMESTAMP,
    rating      INTEGER,
    kind        VARCHAR
);
