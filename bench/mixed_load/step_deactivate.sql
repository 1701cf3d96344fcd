-- one 'deactivate' write on a random company (bench/mixed_load.sh)
\set c random(1, :companies)
SELECT mixed_step('deactivate', :c);
