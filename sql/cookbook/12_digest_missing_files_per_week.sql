-- Log files CloudTrail's digests list that the bucket never had, per week (Monday) of delivery and
-- trail folder: each missing file, with how many went missing that week in that folder.
-- (source_files rows with digest_verdict 'missing'; files altered or left out of a digest show as
-- 'hash_mismatch' and 'unlisted'.)
select cast(date_trunc('week', f.delivery_date) as date) as week,
       f.account_id, f.region, f.source_file, f.delivered_at,
       count(*) over (partition by cast(date_trunc('week', f.delivery_date) as date), f.account_id, f.region) as missing_that_week
from source_files f
where f.digest_verdict = 'missing'
order by week nulls last, f.account_id nulls last, f.region nulls last, f.source_file nulls last
