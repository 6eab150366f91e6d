"""mlops-ladder: doctor and adopt."""
