"""Fleet updates: bring template changes into many app repos, safely and in parallel.

Modules, one job each:

- `gitcmd`: running git with a quiet, non-interactive environment.
- `discovery`: which app repos to work on (`--repos`, a folder of clones, `studio.yml`).
- `answers`: reading a repo's `.copier-answers.yml`.
- `mirror`: the one local bare mirror of the template per run, its versions and changelog.
- `checks`: finding conflicts, binary edits and dropped-but-edited files after an update.
- `copier_guard`: running Copier inside a worker process with its sharp edges guarded.
- `worker`: one repo's update in its own fresh clone (runs in a child process).
- `github`: the pull-request calls of the GitHub REST API.
- `pullrequest`: the branch name and the pull-request body.
- `update`: the whole `fleet update` run; `status`: the `fleet status` report.
- `report`: rich tables, live progress and JSON output.
"""
