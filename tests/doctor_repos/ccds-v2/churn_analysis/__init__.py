from churn_analysis import config  # noqa: F401
