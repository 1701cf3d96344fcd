\set ECHO none
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;

\ir helpers/errors.sql

-- mix returns a channel's mix as 'segment name=distribution' sorted by name
-- (PL/pgSQL planned with the arguments' values, which Citus can plan).
CREATE FUNCTION public.mix(company segext.objectid, channel text) RETURNS text LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    RETURN (SELECT string_agg(s.name || '=' || cs.distribution, ', ' ORDER BY s.name)
    FROM segext.channel_segments cs
    JOIN segext.channels c ON c.company_id OPERATOR(pg_catalog.=) cs.company_id AND c.id OPERATOR(pg_catalog.=) cs.channel_id
    JOIN segext.segments s ON s.company_id OPERATOR(pg_catalog.=) cs.company_id AND s.id OPERATOR(pg_catalog.=) cs.segment_id
    WHERE cs.company_id OPERATOR(pg_catalog.=) company AND c.name = channel);
END $$;

-- checked runs statements, then fires the deferred mix checks as a commit would.
CREATE FUNCTION public.checked(sql text) RETURNS text LANGUAGE sql AS $$
    SELECT sql || '; SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED'
$$;

SELECT plan(46);

SELECT segext.create_company('Acme') AS c \gset
INSERT INTO segext.segments (company_id, name) VALUES (:'c', 'Platinum'), (:'c', 'Gold'), (:'c', 'Silver');

-- Seed example: Content marketing, Direct sales (20%) and Events; no mix given.
SELECT lives_ok(checked(format($$INSERT INTO segext.channels (company_id, name, commission)
    VALUES (%L, 'Content marketing', 0), (%L, 'Direct sales', 0.2), (%L, 'Events', DEFAULT)$$, :'c', :'c', :'c')),
    'the seed channels are created');
SELECT results_eq(
    $$SELECT name, commission FROM segext.channels WHERE company_id = '$$ || :'c' || $$' ORDER BY name$$,
    $$VALUES ('Content marketing', 0::numeric), ('Direct sales', 0.2), ('Events', 0)$$,
    'commission defaults to 0 and keeps 0.2');
SELECT is(mix(:'c', 'Events'), 'Platinum=1', 'a channel created without a mix gets 100% on the first segment (by number)');

-- The first segment is the lowest position, then number.
SELECT segext.reorder_segments(:'c', ARRAY[3, 2, 4]);
SELECT lives_ok(checked(format($$INSERT INTO segext.channels (company_id, name) VALUES (%L, 'Word of mouth')$$, :'c')),
    'a channel without a mix is created after a reorder');
SELECT is(mix(:'c', 'Word of mouth'), 'Gold=1', 'the default mix goes to the first segment by position');

-- With no user segment the default mix goes to Default.
SELECT segext.create_company('Empty') AS e \gset
SELECT lives_ok(checked(format($$INSERT INTO segext.channels (company_id, name) VALUES (%L, 'Only')$$, :'e')),
    'a channel is created in a company without user segments');
SELECT is(mix(:'e', 'Only'), 'Default=1', 'with no user segment the default mix is 100% on Default');

-- Seed example: Content marketing 0.4 / 0.3 / 0.3, rewritten inside one transaction.
SELECT lives_ok(checked(format($$
    DELETE FROM segext.channel_segments WHERE company_id = %1$L
        AND channel_id = (SELECT id FROM segext.channels WHERE company_id = %1$L AND name = 'Content marketing');
    INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)
    SELECT %1$L, c.id, s.id, d.distribution FROM segext.channels c,
        (VALUES ('Platinum', 0.4), ('Gold', 0.3), ('Silver', 0.3)) AS d(name, distribution)
        JOIN segext.segments s ON s.name = d.name AND s.company_id = %1$L
    WHERE c.company_id = %1$L AND c.name = 'Content marketing'$$, :'c')),
    'the mix of Content marketing is rewritten to 0.4/0.3/0.3');
SELECT is(mix(:'c', 'Content marketing'), 'Gold=0.3, Platinum=0.4, Silver=0.3', 'Content marketing has the seed mix');

-- Seed example: Affiliate sales, commission 0.1, mix 0.6 / 0.4, created in one transaction.
SELECT lives_ok(checked(format($$
    INSERT INTO segext.channels (company_id, name, commission) VALUES (%1$L, 'Affiliate sales', 0.1);
    INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)
    SELECT %1$L, c.id, s.id, d.distribution FROM segext.channels c,
        (VALUES ('Platinum', 0.6), ('Gold', 0.4)) AS d(name, distribution)
        JOIN segext.segments s ON s.name = d.name AND s.company_id = %1$L
    WHERE c.company_id = %1$L AND c.name = 'Affiliate sales'$$, :'c')),
    'Affiliate sales is created with its mix');
SELECT is(mix(:'c', 'Affiliate sales'), 'Gold=0.4, Platinum=0.6', 'a channel created with a mix keeps it (no default added)');

-- Seed example: Direct sales updated to commission 25 and 100% on one segment.
SELECT lives_ok(checked(format($$
    UPDATE segext.channels SET commission = 25 WHERE company_id = %1$L AND name = 'Direct sales';
    DELETE FROM segext.channel_segments WHERE company_id = %1$L
        AND channel_id = (SELECT id FROM segext.channels WHERE company_id = %1$L AND name = 'Direct sales');
    INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)
    SELECT %1$L, c.id, s.id, 1 FROM segext.channels c JOIN segext.segments s ON s.company_id = c.company_id
    WHERE c.company_id = %1$L AND c.name = 'Direct sales' AND s.name = 'Silver'$$, :'c')),
    'Direct sales is updated to commission 25 and 100% Silver');
SELECT is(mix(:'c', 'Direct sales'), 'Silver=1', 'Direct sales has its new mix');

-- A mix that does not sum to 1 is refused at commit (23514).
SELECT throws_ok(checked(format($$UPDATE segext.channel_segments SET distribution = 0.2
    WHERE company_id = %1$L AND segment_id = (SELECT id FROM segext.segments WHERE company_id = %1$L AND name = 'Gold')
    AND channel_id = (SELECT id FROM segext.channels WHERE company_id = %1$L AND name = 'Content marketing')$$, :'c')),
    '23514', 'segment mix of channel "Content marketing" sums to 0.9, not 1', 'a mix summing to 0.9 is refused');
SELECT is(rules_error(checked(format($$UPDATE segext.channel_segments SET distribution = 0.5
    WHERE company_id = %1$L AND segment_id = (SELECT id FROM segext.segments WHERE company_id = %1$L AND name = 'Platinum')
    AND channel_id = (SELECT id FROM segext.channels WHERE company_id = %1$L AND name = 'Content marketing')$$, :'c'))),
    ARRAY['23514', 'segment mix of channel "Content marketing" sums to 1.1, not 1',
          'The 3 distribution(s) of channel "Content marketing" add up to 1.1; a channel''s segment mix must add up to exactly 1 (100%) when the transaction commits.',
          'Change the distributions of channel "Content marketing" in one transaction so that they sum to 1, or delete all of its mix rows to get the default mix.'],
    'a mix summing to 1.1 is refused with a DETAIL giving the sum and a HINT');
SELECT throws_ok(checked(format($$INSERT INTO segext.channels (company_id, name) VALUES (%1$L, 'Partial');
    INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)
    SELECT %1$L, c.id, s.id, 0.5 FROM segext.channels c JOIN segext.segments s ON s.company_id = c.company_id
    WHERE c.company_id = %1$L AND c.name = 'Partial' AND s.name = 'Gold'$$, :'c')),
    '23514', NULL, 'a new channel created with a mix of 0.5 is refused');
SELECT is(mix(:'c', 'Content marketing'), 'Gold=0.3, Platinum=0.4, Silver=0.3', 'refused rewrites left the mix unchanged');

-- Within a transaction the mix may be wrong until the check runs.
SELECT lives_ok(format($$UPDATE segext.channel_segments SET distribution = 0.1
    WHERE company_id = %1$L AND channel_id = (SELECT id FROM segext.channels WHERE company_id = %1$L AND name = 'Content marketing')$$, :'c'),
    'an intermediate mix that does not sum to 1 is accepted until commit');
SELECT lives_ok(checked(format($$UPDATE segext.channel_segments cs SET distribution = CASE s.name WHEN 'Platinum' THEN 0.5 ELSE 0.25 END
    FROM segext.segments s WHERE s.company_id = cs.company_id AND s.id = cs.segment_id AND cs.company_id = %1$L
    AND cs.channel_id = (SELECT id FROM segext.channels WHERE company_id = %1$L AND name = 'Content marketing')$$, :'c')),
    'the mix is fixed before commit and the check passes');

-- Deleting every mix row gives the default mix back.
SELECT lives_ok(checked(format($$DELETE FROM segext.channel_segments
    WHERE company_id = %1$L AND channel_id = (SELECT id FROM segext.channels WHERE company_id = %1$L AND name = 'Affiliate sales')$$, :'c')),
    'every mix row of a channel can be deleted');
SELECT is(mix(:'c', 'Affiliate sales'), 'Gold=1', 'a channel left without a mix gets the default mix');

-- Distribution: greater than 0, at most 1.
SELECT throws_ok(format($$UPDATE segext.channel_segments SET distribution = 0 WHERE company_id = %L$$, :'c'),
    '22023', NULL, 'a distribution of 0 is refused');
SELECT throws_ok(format($$UPDATE segext.channel_segments SET distribution = -0.5 WHERE company_id = %L$$, :'c'),
    '22023', NULL, 'a negative distribution is refused');
SELECT throws_ok(format($$UPDATE segext.channel_segments SET distribution = 1.5 WHERE company_id = %1$L
    AND channel_id = (SELECT id FROM segext.channels WHERE company_id = %1$L AND name = 'Events')$$, :'c'),
    '22023', 'invalid distribution 1.5 in the segment mix of channel "Events"', 'a distribution above 1 is refused');
SELECT throws_ok(format($$UPDATE segext.channel_segments SET distribution = 'NaN' WHERE company_id = %L$$, :'c'),
    '22023', NULL, 'a NaN distribution is refused');
SELECT throws_ok(format($$INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)
    SELECT %1$L, c.id, s.id, 0.5 FROM segext.channels c JOIN segext.segments s ON s.company_id = c.company_id
    WHERE c.company_id = %1$L AND c.name = 'Events' AND s.number = 0$$, :'c'),
    '22023', 'segment 0 "All" cannot be in a channel segment mix', 'segment All cannot be in a mix');
SELECT throws_ok(format($$INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)
    SELECT %1$L, c.id, s.id, 0.5 FROM segext.channels c, segext.segments s
    WHERE c.company_id = %1$L AND c.name = 'Events' AND s.company_id = %2$L AND s.number = 1$$, :'c', :'e'),
    '23503', NULL, 'a mix cannot use a segment of another company');
SELECT throws_ok(format($$INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)
    SELECT %1$L, c.id, s.id, 0.5 FROM segext.channels c JOIN segext.segments s ON s.company_id = c.company_id
    WHERE c.company_id = %1$L AND c.name = 'Events' AND s.name = 'Platinum'$$, :'c'),
    '23505', NULL, 'a segment appears once in a channel mix');

-- Commission: 0 or more, may exceed 1.
SELECT throws_ok(format($$INSERT INTO segext.channels (company_id, name, commission) VALUES (%L, 'Negative', -0.1)$$, :'c'),
    '22023', 'invalid commission -0.1 for channel "Negative"', 'a negative commission is refused');
SELECT is((rules_error(format($$UPDATE segext.channels SET commission = -1 WHERE company_id = %L AND name = 'Events'$$, :'c')))[3:4],
    ARRAY['A commission is a rate of 0 or more applied to revenue (0.2 = 20%); it may exceed 1.',
          'Give channel "Events" a commission of 0 or more.'],
    'an update to a negative commission is refused with a DETAIL and a HINT');
SELECT throws_ok(format($$UPDATE segext.channels SET commission = 'NaN' WHERE company_id = %L AND name = 'Events'$$, :'c'),
    '22023', NULL, 'a NaN commission is refused');
SELECT throws_ok(format($$UPDATE segext.channels SET commission = 'Infinity' WHERE company_id = %L AND name = 'Events'$$, :'c'),
    '22023', NULL, 'an infinite commission is refused');
SELECT lives_ok(format($$UPDATE segext.channels SET commission = 1.5 WHERE company_id = %L AND name = 'Events'$$, :'c'),
    'a commission above 1 is allowed');

-- Names.
SELECT throws_ok(format($$INSERT INTO segext.channels (company_id, name) VALUES (%L, 'Events')$$, :'c'),
    '23505', 'duplicate key value violates unique constraint "channels_company_id_name_key"', 'a channel name is unique per company');
SELECT throws_ok(format($$INSERT INTO segext.channels (company_id, name) VALUES (%L, repeat('c', 101))$$, :'c'),
    '22023', 'channel name must have 1 to 100 characters', 'a channel name of 101 characters is refused');
UPDATE segext.channels SET updated_at = '2000-01-01' WHERE company_id = :'c' AND name = 'Events';
SELECT is((SELECT updated_at FROM segext.channels WHERE company_id = :'c' AND name = 'Events'), now(),
    'updated_at of a channel is maintained');

-- max_channels.
SELECT segext.create_company('Small', 50, 2) AS s \gset
INSERT INTO segext.segments (company_id, name) VALUES (:'s', 'Only segment');
SELECT lives_ok(checked(format($$INSERT INTO segext.channels (company_id, name) VALUES (%L, 'One'), (%L, 'Two')$$, :'s', :'s')),
    'a company can have max_channels channels');
SELECT is(rules_error(format($$INSERT INTO segext.channels (company_id, name) VALUES (%L, 'Three')$$, :'s')),
    ARRAY['PT403', 'company "Small" already has its maximum of 2 channels',
          'Company "Small" has 2 channels and its max_channels is 2, so channel "Three" cannot be created.',
          'Delete a channel of company "Small" first, or have an administrator raise its max_channels.'],
    'one more than max_channels is refused (PT403) with a DETAIL and a HINT');

-- The last channel.
SELECT lives_ok(checked(format($$DELETE FROM segext.channels WHERE company_id = %L AND name = 'One'$$, :'s')),
    'a channel can be deleted while another remains, its mix with it');
SELECT is((SELECT count(*)::int FROM segext.channel_segments WHERE company_id = :'s'), 1,
    'the mix of a deleted channel is deleted with it');
SELECT throws_ok(format($$DELETE FROM segext.channels WHERE company_id = %L$$, :'s'),
    'PT403', 'cannot delete the last channel of company "Small"', 'the last channel cannot be deleted');
SELECT throws_ok(format($$DELETE FROM segext.channels WHERE company_id = %L$$, :'c'),
    'PT403', NULL, 'deleting every channel at once is refused');

-- A segment in a mix names its channel when deleted; after the mix moves, it can go.
SELECT throws_ok(format($$DELETE FROM segext.segments WHERE company_id = %L AND name = 'Silver'$$, :'c'),
    '23503', 'segment "Silver" is still used by the segment mix of channel "Content marketing"',
    'a segment in a mix cannot be deleted');
SELECT throws_ok(format($$DELETE FROM segext.segments WHERE company_id = %L AND name = 'Only segment'$$, :'s'),
    '23503', 'segment "Only segment" is still used by the segment mix of channel "Two"',
    'the default mix keeps its segment from being deleted');
SELECT lives_ok(checked(format($$
    DELETE FROM segext.channel_segments WHERE company_id = %1$L;
    INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)
    SELECT %1$L, c.id, s.id, 1 FROM segext.channels c JOIN segext.segments s ON s.company_id = c.company_id
    WHERE c.company_id = %1$L AND s.number = 1$$, :'s')),
    'a mix can be 100% on Default');
SELECT throws_ok(format($$DELETE FROM segext.segments WHERE company_id = %L AND name = 'Only segment'$$, :'s'),
    'PT403', 'cannot delete the last segment of company "Small"',
    'out of every mix, the last user segment is still kept');

SELECT * FROM finish();
ROLLBACK;
