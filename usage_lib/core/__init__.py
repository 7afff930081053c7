"""What counts. Takes the settings (a TOML file and the environment) and a range; hands on a
cube (tenant x agent x day, one aggregation over `requests`) and every table cut from it.

- `config`, `profiles`: the one settings object, and how a deployment stores conversations;
- `rule`: the billing rule in one place (the `$match`, tests, exclusions, attribution, what
  every stored form means);
- `periods`, `buckets`: ranges; the buckets a range is cut in (keys, labels, the server's cut);
- `metrics`: the four metrics and what the pass reads for them;
- `pipeline`, `query`, `cube`: the pass as data, running it, the cube it makes;
- `db`: the MongoDB client, its errors, and every read by name (PASSES, LOOKUPS);
  `versions`: the oldest MongoDB it supports; `source`: a database with its settings;
- `tables`: platform, organization and agent tables of any metric; `indexes`: the advisor;
- `watch`: what started, day by day, for the daily watch (the same pass, every status);
- `conversations`: each conversation of a range, streamed, for the statements.
"""
