-- 35: criteria may name other segments of the company (in_segment); the
-- segment rules resolve and check those references.

COMMENT ON COLUMN segext.segments.criteria IS 'segment condition (in_segment criteria name other segments of the company by id); NULL for a manual segment whose members are assigned explicitly';
COMMENT ON FUNCTION segext.segments_rules() IS 'segments: built-ins, max_segments, last segment, segment in a mix or named by in_segment criteria, number assignment, in_segment references (a segment of the same company, stored by id, never 1 "Default", no cycle), validation, updated_at';
