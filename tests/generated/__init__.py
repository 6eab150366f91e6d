"""The checks of generated projects, a module per feature (or a few close ones): each
`<Feature>Checks` class is composed into the test class of every variant that has the
feature, in tests/test_generated.py."""
