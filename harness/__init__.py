"""What the template's tests, benchmarks and docs share: the render matrix derived from
copier.yml and the feature table, rendering and running projects, and a team's edits."""
