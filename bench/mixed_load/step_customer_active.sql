-- one 'customer_active' write on a random company (bench/mixed_load.sh)
\set c random(1, :companies)
SELECT mixed_step('customer_active', :c);
