"""The repositories here are test data: pytest collects nothing from them."""

collect_ignore_glob = ["*"]
