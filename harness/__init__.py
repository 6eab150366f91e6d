"""What the template's tests, benchmarks and docs share: the render matrix derived from
copier.yml and the feature table, rendering and running projects, a team's edits, and
running a project's GitHub workflows as GitHub runs them (actions.py, with a fake of
GitHub's API in github_api.py and of its CLI in fake_gh.py)."""
