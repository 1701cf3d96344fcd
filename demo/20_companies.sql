-- demo/20_companies.sql: companies, segments, segment groups, channels and
-- their segment mix, with the rules that protect them.
\set ECHO queries
SET search_path = segext, public;

\echo '--- a company comes with segments 0 "All", 1 "Default" and group 0 "Ungrouped"'
SELECT segext.create_company('Acme Coffee') AS acme \gset
\echo 'company "Acme Coffee" has id' :acme
SELECT number, name, position, group_id FROM segext.segments WHERE company_id = :'acme' ORDER BY number;

\echo '--- segment groups and segments; numbers are assigned from 2'
INSERT INTO segext.segment_groups (company_id, name) VALUES (:'acme', 'Loyal') RETURNING id, name;
INSERT INTO segext.segments (company_id, name, group_id)
VALUES (:'acme', 'Platinum', 1), (:'acme', 'Gold', 1), (:'acme', 'Silver', 0)
RETURNING id, number, name, group_id;

\echo '--- reorder: position = index in the array (Silver first, then Platinum, then Gold)'
SELECT segext.reorder_segments(:'acme', ARRAY[4, 2, 3]) \g /dev/null
SELECT number, name, position FROM segext.segments WHERE company_id = :'acme' AND number >= 2 ORDER BY position, number;

\echo '--- channels: without a mix, a channel gets 100% on the first segment (by position) at commit'
INSERT INTO segext.channels (company_id, name, commission)
VALUES (:'acme', 'Content marketing', 0), (:'acme', 'Direct sales', 0.2), (:'acme', 'Events', 0)
RETURNING id, name, commission;

\echo '--- a mix is rewritten inside one transaction; it must sum to 1 at commit'
BEGIN;
DELETE FROM segext.channel_segments cs USING segext.channels c
WHERE c.company_id = cs.company_id AND c.id = cs.channel_id AND c.name = 'Content marketing';
INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)
SELECT :'acme', c.id, s.id, d.distribution
FROM (VALUES ('Platinum', 0.4), ('Gold', 0.3), ('Silver', 0.3)) AS d(segment, distribution)
JOIN segext.segments s ON s.company_id = :'acme' AND s.name = d.segment
JOIN segext.channels c ON c.company_id = :'acme' AND c.name = 'Content marketing';
COMMIT;

SELECT c.name AS channel, c.commission, s.name AS segment, cs.distribution
FROM segext.channel_segments cs
JOIN segext.channels c ON c.company_id = cs.company_id AND c.id = cs.channel_id
JOIN segext.segments s ON s.company_id = cs.company_id AND s.id = cs.segment_id
WHERE cs.company_id = :'acme'
ORDER BY c.name, s.position, s.number;

\echo '--- the same mix as the channel''s segment_mix column (kept equal to the rows); writing it replaces the rows'
UPDATE segext.channels c SET segment_mix = jsonb_build_array(jsonb_build_object('segment_id', s.id, 'distribution', 1))
FROM segext.segments s
WHERE s.company_id = c.company_id AND s.name = 'Gold' AND c.company_id = :'acme' AND c.name = 'Direct sales';
SELECT name AS channel, segment_mix FROM segext.channels
WHERE company_id = :'acme' AND name IN ('Content marketing', 'Direct sales') ORDER BY name;

\echo '--- refused: a mix that sums to 0.9 (23514 at commit)'
\set ON_ERROR_STOP 0
\echo '(expected error: 23514, the mix sums to 0.9)'
BEGIN;
UPDATE segext.channel_segments cs SET distribution = 0.2
FROM segext.segments s, segext.channels c
WHERE s.company_id = cs.company_id AND s.id = cs.segment_id AND s.name = 'Gold'
  AND c.company_id = cs.company_id AND c.id = cs.channel_id AND c.name = 'Content marketing';
COMMIT;

\echo '--- refused: deleting a segment still in a mix (23503), a built-in (PT403)'
\echo '(expected error: 23503, Platinum is in a mix)'
DELETE FROM segext.segments WHERE company_id = :'acme' AND name = 'Platinum';
\echo '(expected error: PT403, Default is built in)'
DELETE FROM segext.segments WHERE company_id = :'acme' AND number = 1;

\echo '--- refused: deleting a group that still contains segments (23503)'
\echo '(expected error: 23503, the group holds segments)'
DELETE FROM segext.segment_groups WHERE company_id = :'acme' AND id = 1;
\set ON_ERROR_STOP 1

\echo '--- tenancy: a writer granted one company sees only its own rows'
SELECT segext.create_company('Other Co') AS other \gset
\echo 'company "Other Co" has id' :other
INSERT INTO segext.segments (company_id, name) VALUES (:'other', 'Other segment');
CREATE ROLE demo_acme_writer NOLOGIN IN ROLE segext_writer;
SELECT segext.grant_company(:'acme', 'demo_acme_writer', 'writer');
SET ROLE demo_acme_writer;
SELECT set_config('segext.company_id', :'acme', false) IS NOT NULL AS company_set;
SELECT c.name AS company, count(s.*) AS segments
FROM segext.companies c LEFT JOIN segext.segments s ON s.company_id = c.id
GROUP BY c.name;
\echo '--- refused: naming a company not granted to the role (42501)'
\set ON_ERROR_STOP 0
SELECT set_config('segext.company_id', :'other', false) IS NOT NULL AS company_set;
\echo '(expected error: 42501, Other Co is not granted to demo_acme_writer)'
SELECT count(*) FROM segext.segments;
\set ON_ERROR_STOP 1
RESET ROLE;
RESET segext.company_id;
SELECT segext.revoke_company(:'acme', 'demo_acme_writer');
DROP ROLE demo_acme_writer;
