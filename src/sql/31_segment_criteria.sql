-- 31: the segment condition (NULL = manual segment whose members are assigned explicitly).
ALTER TABLE segext.segments ADD COLUMN criteria segext.criteria;
COMMENT ON COLUMN segext.segments.criteria IS 'segment condition (in_segment criteria name other segments of the company by id); NULL for a manual segment whose members are assigned explicitly';
